/* Annealing as an optimiser: ground states at a decreasing sequence of hbar, each stage started
 * from the last one's state. Written on top of the ground-state search (ground.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void qdml_minimize_options_default(qdml_minimize_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->hbar_start = 0.0;
    o->hbar_end = 0.0;
    o->stages = 8;
    o->tolerance = 1e-5;
    o->max_steps = 100000;
    o->reseed = 1e-2;
}

static qdml_status check_hbar_pair(qdml_problem *p, const char *fn, const char *what, double h0, double h1) {
    if (!isfinite(h0) || h0 < 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: %shbar_start = %g: must be > 0 (or 0: automatic)", fn,
                         what, h0);
    if (!isfinite(h1) || h1 < 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: %shbar_end = %g: must be > 0 (or 0: automatic)", fn,
                         what, h1);
    return QDML_OK;
}

/* hbar of stage k (0 .. K-1): geometric from h0 to h1. */
static double stage_hbar(double h0, double h1, int64_t k, int64_t K) {
    if (K == 1 || k == 0) return h0;
    if (k == K - 1) return h1;
    return h0 * pow(h1 / h0, (double)k / (double)(K - 1));
}

/* psi <- (1 - eps) psi + eps u, u the normalised uniform state (the start state of qdml_problem_create), then
 * normalised. Through the backend's copies, so the member's clock and history stay. */
static qdml_status reseed_member(qdml_problem *p, int64_t b, double eps, double *buf, const char *fn) {
    const int64_t N = p->npoints;
    qdml_status st = p->ops->get_state(p->bs, b, buf);
    if (st != QDML_OK) return qdml_fail_from(p->ctx, st, "%s: reading member %lld failed", fn, (long long)b);
    double vol = 1.0;
    for (int d = 0; d < p->grid.dim; ++d) vol *= p->grid.hi[d] - p->grid.lo[d];
    const double u = 1.0 / sqrt(vol);
    double norm = 0.0;
    for (int64_t i = 0; i < N; ++i) {
        buf[2 * i] = (1.0 - eps) * buf[2 * i] + eps * u;
        buf[2 * i + 1] = (1.0 - eps) * buf[2 * i + 1];
        norm += buf[2 * i] * buf[2 * i] + buf[2 * i + 1] * buf[2 * i + 1];
    }
    norm *= p->desc.dv;
    if (!(norm > 0) || !isfinite(norm))
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: the state of member %lld has norm %g", fn,
                         (long long)b, norm);
    const double c = 1.0 / sqrt(norm);
    for (int64_t i = 0; i < 2 * N; ++i) buf[i] *= c;
    st = p->ops->set_state(p->bs, b, buf);
    if (st != QDML_OK) return qdml_fail_from(p->ctx, st, "%s: writing member %lld failed", fn, (long long)b);
    return QDML_OK;
}

qdml_status qdml_problem_minimize(qdml_problem *p, const qdml_minimize_options *o, qdml_minimize_result *results,
                                  qdml_minimize_stage *stages) {
    static const char fn[] = "qdml_problem_minimize";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    if (!o) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options is NULL", fn);
    if (o->stages < 1 || o->stages > 100000)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.stages = %lld: must be 1 .. 100000", fn,
                         (long long)o->stages);
    if (!isfinite(o->tolerance) || !(o->tolerance > 0))
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.tolerance = %g: must be positive and finite",
                         fn, o->tolerance);
    if (o->max_steps < 1)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.max_steps = %lld: must be >= 1", fn,
                         (long long)o->max_steps);
    if (!isfinite(o->reseed) || o->reseed < 0 || o->reseed >= 1)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.reseed = %g: must be in [0, 1)", fn,
                         o->reseed);
    qdml_status st = check_hbar_pair(p, fn, "options.", o->hbar_start, o->hbar_end);
    if (st != QDML_OK) return st;
    for (int64_t b = 0; b < p->batch; ++b)
        if (!p->has_potential[b])
            return qdml_fail(p->ctx, QDML_ERR_NOT_READY,
                             "%s: member %lld has no potential: call qdml_problem_set_potential first", fn, (long long)b);

    const int64_t B = p->batch, K = o->stages;
    double *h0 = qdml_calloc_array((size_t)B, sizeof(double));
    double *h1 = qdml_calloc_array((size_t)B, sizeof(double));
    double *buf = qdml_calloc_array((size_t)p->npoints, 2 * sizeof(double));
    qdml_run_result *rr = qdml_calloc_array((size_t)B, sizeof(qdml_run_result));
    qdml_minimize_result *best = qdml_calloc_array((size_t)B, sizeof(qdml_minimize_result));
    if (!h0 || !h1 || !buf || !rr || !best) {
        st = qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate scratch (%lld points, batch %lld)", fn,
                       (long long)p->npoints, (long long)B);
        goto done;
    }
    for (int64_t b = 0; b < B; ++b) {
        double a = o->member_hbar_start ? o->member_hbar_start[b] : o->hbar_start;
        double e = o->member_hbar_end ? o->member_hbar_end[b] : o->hbar_end;
        char what[64];
        snprintf(what, sizeof what, "member %lld: ", (long long)b);
        if ((st = check_hbar_pair(p, fn, what, a, e)) != QDML_OK) goto done;
        if (a == 0) a = p->hbar[b];
        if (e == 0) e = a / 100.0;
        if (!(e <= a)) {
            st = qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                           "%s: member %lld: hbar_end = %g exceeds hbar_start = %g: annealing lowers hbar", fn,
                           (long long)b, e, a);
            goto done;
        }
        h0[b] = a;
        h1[b] = e;
        best[b].f_min = INFINITY;
        best[b].converged = 1;
    }

    for (int64_t k = 0; k < K; ++k) {
        for (int64_t b = 0; b < B; ++b) {
            const double h = stage_hbar(h0[b], h1[b], k, K);
            if ((st = qdml_problem_set_hbar(p, b, h)) != QDML_OK) goto done;
            /* A stage starts from the last one's ground state, with a little of the uniform state
             * mixed in: should the ground state have moved to another well (the levels of two wells
             * cross as hbar falls), the old state alone overlaps the new one only through a tunnelling
             * tail and its residual is tiny, so the search could stop in the old well; the uniform
             * part overlaps every well, keeps the residual up until the new ground state dominates. */
            if (o->reseed > 0 && (k > 0 || o->reseed_first))
                if ((st = reseed_member(p, b, o->reseed, buf, fn)) != QDML_OK) goto done;
        }
        qdml_ground_options go;
        qdml_ground_options_default(&go);
        /* Energies (and residuals) scale as hbar: each stage is asked for the same relative accuracy. */
        double ratio = 1.0; /* (members with their own schedules: the strictest) */
        for (int64_t b = 0; b < B; ++b) ratio = fmin(ratio, stage_hbar(h0[b], h1[b], k, K) / h0[b]);
        go.tolerance = o->tolerance * ratio;
        go.max_steps = o->max_steps;
        go.monitor = o->monitor;
        go.monitor_user = o->monitor_user;
        if ((st = qdml_problem_ground(p, &go, rr)) != QDML_OK) goto done;
        for (int64_t b = 0; b < B; ++b) {
            const qdml_stats *s = &rr[b].final;
            if ((st = p->ops->get_potential(p->bs, b, buf)) != QDML_OK) {
                st = qdml_fail_from(p->ctx, st, "%s: reading the potential of member %lld failed", fn, (long long)b);
                goto done;
            }
            const double f = buf[s->argmax_index];
            if (stages) {
                qdml_minimize_stage *sg = &stages[k * B + b];
                sg->hbar = p->hbar[b];
                sg->stats = *s;
                sg->f_argmax = f;
                sg->steps = rr[b].steps;
                sg->converged = rr[b].converged;
            }
            best[b].steps += rr[b].steps;
            if (!rr[b].converged) best[b].converged = 0;
            /* The estimate: the lowest f seen at a density maximum (ties: the later, smaller-hbar stage). */
            if (f <= best[b].f_min) {
                best[b].f_min = f;
                best[b].argmin_index = s->argmax_index;
                for (int d = 0; d < QDML_MAX_DIM; ++d) best[b].argmin[d] = s->argmax[d];
                best[b].stage = k;
            }
            best[b].final_argmax_index = s->argmax_index;
            for (int d = 0; d < QDML_MAX_DIM; ++d) best[b].final_argmax[d] = s->argmax[d];
            best[b].final_f = f;
        }
    }
    if (results) memcpy(results, best, (size_t)B * sizeof *best);
    qdml_clear_error(p->ctx);
done:
    free(h0);
    free(h1);
    free(buf);
    free(rr);
    free(best);
    return st;
}
