/* The op cases of the steps op (several steps in one call, host/backend.h): against the same steps
 * issued as single ops, on the tested backend and on the reference, with and without renormalisation,
 * masks, bad norms, the CUDA graph settings, and a composition it declines. The table is in
 * op_cases.c.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

/* The steps op's n steps issued as single ops, scales on the host as the solver computes them
 * (host/solver.c, advance, m = 1) and stop as backend.h defines it; unlike the solver it goes on
 * past a bad norm (members never mix), so every member's state can be compared. */
static void single_op_steps(const op_env *e, int reference, qdml_backend_state *st, int64_t n,
                            const unsigned char *mask, int renorm, double dv, int64_t *stop) {
    const qdml_backend_ops *o = reference ? e->ref_ops : e->ops;
    const int64_t B = e->B;
    double *norms = qt_calloc((size_t)B, sizeof(double)), *sc = qt_calloc((size_t)B, sizeof(double));
    for (int64_t b = 0; b < B; ++b) {
        sc[b] = 1.0;
        stop[b] = -1;
    }
    for (int64_t i = 0; i <= n; ++i) {
        if (i > 0) {
            op_ok(e, o->fft(st, 1), "fft", reference, st);
            op_ok(e, o->kinetic(st, sc, mask), "kinetic", reference, st);
            op_ok(e, o->fft(st, 0), "fft", reference, st);
        }
        const int full = i > 0 && i < n;
        op_ok(e, o->kick(st, full, mask, renorm ? norms : NULL), "kick", reference, st);
        for (int64_t b = 0; renorm && b < B; ++b) {
            if (mask && !mask[b]) continue;
            if (!(isfinite(norms[b]) && norms[b] > 0) && stop[b] < 0) stop[b] = i;
            sc[b] = 1.0 / sqrt(norms[b] * dv);
        }
    }
    if (renorm) op_ok(e, o->scale(st, sc, mask), "scale", reference, st);
    free(norms);
    free(sc);
}

/* Every member's state of the tested backend's state st, into all (B x 2N doubles). */
static void get_all(const op_env *e, qdml_backend_state *st, double *all) {
    for (int64_t b = 0; b < e->B; ++b)
        op_ok(e, e->ops->get_state(st, b, all + 2 * e->N * b), "get_state", 0, st);
}

/* One call of the steps op on the tested state st, or, where the backend declines Strang calls
 * (op_backend.steps_op = 0), the declined call (state untouched) and then the same steps as single ops. */
static void steps_call(const op_env *e, qdml_backend_state *st, int64_t n, const unsigned char *mask, int renorm,
                       double dv, int64_t *stop, double *before, double *after) {
    static const unsigned char sub1[1] = {0};
    if (!e->tested->steps_op) get_all(e, st, before);
    int done = -1;
    op_ok(e, e->ops->steps(st, n, 1, sub1, mask, renorm, dv, stop, &done), "steps", 0, st);
    cr_assert_eq(done, e->tested->steps_op, "%s%s: the steps op answered done = %d to a Strang call (expected %d)",
                 e->where, e->detail, done, e->tested->steps_op);
    if (done) return;
    get_all(e, st, after);
    cr_assert(memcmp(before, after, (size_t)(2 * e->N * e->B) * sizeof(double)) == 0,
              "%s%s: a declined call changed the state", e->where, e->detail);
    single_op_steps(e, 0, st, n, mask, renorm, dv, stop);
}

/* The steps op on the tested backend, with CUDA graphs required (QDML_CUDA_GRAPHS=1: a step that
 * cannot be captured fails the op) and without them (0), against the same steps as single ops on
 * the tested backend: states bit for bit (the same kernels, and scales that are the same correctly
 * rounded expression of the same sums) and the same stops; in float64 also against the reference's
 * single ops, within the case's bound of each member's largest amplitude, for members whose state
 * stays finite. Imaginary time with random steps, masks and flush flags. Member 1 starts at zero
 * (stop 0 with renormalisation). With renormalisation, member 2 has a negative step whose kinetic
 * factor overflows (stop 1 where the grid's wavenumbers are large enough), and member 3 (potential
 * only) a factor of e^360 at one point whose start value is 1e-300: renormalised, that point grows
 * by e^360 relative to the rest each step until its norm overflows, two or three substeps in, on a
 * step replayed from a graph when n >= 4 (float64; in float32 the factor itself overflows: stop 0).
 * The second call changes the mask, dv and the flush flags, so other graphs are captured; the third
 * changes dv alone, so the graph of the second call's kind is captured again with the new dv. */
static void steps_case(op_env *e, int64_t nsteps, int renorm) {
    snprintf(e->detail, sizeof e->detail, ", n=%lld renorm=%d", (long long)nsteps, renorm);
    const qdml_backend_desc d = op_desc(e, 0.37, 0);
    const int64_t N = e->N, B = e->B;
    qdml_backend_state *cs = op_new_ref(e, &d);
    qdml_backend_state *gs[3] = {NULL, NULL, NULL}; /* steps op with graphs, without, single ops */
    for (int k = 0; k < 3; ++k) {
        if (k < 2) cr_assert_eq(setenv("QDML_CUDA_GRAPHS", k == 0 ? "1" : "0", 1), 0);
        gs[k] = op_new_tested(e, &d);
        cr_assert_eq(unsetenv("QDML_CUDA_GRAPHS"), 0);
    }
    double *psi = qt_calloc((size_t)(2 * N), sizeof(double)), *v = qt_calloc((size_t)N, sizeof(double));
    double *a = qt_calloc((size_t)(2 * N), sizeof(double)), *c = qt_calloc((size_t)(2 * N), sizeof(double));
    double *before = qt_calloc((size_t)(2 * N * B), sizeof(double)),
           *after = qt_calloc((size_t)(2 * N * B), sizeof(double));
    int64_t *stop[4];
    for (int k = 0; k < 4; ++k)
        stop[k] = qt_calloc((size_t)B, sizeof(int64_t));
    unsigned char *mask = qt_calloc((size_t)B, 1);
    qdml_step_params *pp = qt_calloc((size_t)B, sizeof(qdml_step_params));
    for (int64_t b = 0; b < B; ++b) {
        const int overflow = renorm && b == 2, grows = renorm && b == 3;
        for (int64_t i = 0; i < 2 * N; ++i)
            psi[i] = b == 1 ? 0.0 : grows ? (i % 2 ? 0.0 : 1.0) : 2.0 * qt_uniform(&e->rng) - 1.0;
        for (int64_t i = 0; i < N; ++i)
            v[i] = grows ? 0.0 : 6.0 * qt_uniform(&e->rng) - 3.0;
        if (grows) {
            psi[2 * (N / 2)] = 1e-300;
            v[N / 2] = -360.0;
        }
        qdml_step_params *p = &pp[b];
        p->imaginary = 1;
        p->dt = overflow ? -50.0 : grows ? 1.0 : 0.01 + 0.1 * qt_uniform(&e->rng);
        p->hbar = grows ? 1.0 : 0.5 + 2.0 * qt_uniform(&e->rng); /* grows: factors e^180 (half), e^360 */
        p->mass = 0.3 + 2.0 * qt_uniform(&e->rng);
        p->vshift = overflow ? 3.0 : grows ? 0.0 : -3.0; /* dt < 0: potential factors <= 1 */
        p->potential_only = grows;
        p->flush_tiny = b % 4 == 1;
        for (int k = 0; k < 3; ++k) {
            op_ok(e, e->ops->set_state(gs[k], b, psi), "set_state", 0, gs[k]);
            op_ok(e, e->ops->set_potential(gs[k], b, v), "set_potential", 0, gs[k]);
            op_ok(e, e->ops->set_step(gs[k], b, p), "set_step", 0, gs[k]);
        }
        /* the reference gets what the tested backend holds */
        op_ok(e, e->ops->get_state(gs[0], b, a), "get_state", 0, gs[0]);
        op_ok(e, e->ops->get_potential(gs[0], b, v), "get_potential", 0, gs[0]);
        op_ok(e, e->ref_ops->set_state(cs, b, a), "set_state", 1, cs);
        op_ok(e, e->ref_ops->set_potential(cs, b, v), "set_potential", 1, cs);
        op_ok(e, e->ref_ops->set_step(cs, b, p), "set_step", 1, cs);
        mask[b] = (unsigned char)(b < 4 || qt_uniform(&e->rng) < 0.6);
    }
    const unsigned char *m = B > 4 ? mask : NULL;
    double dv = d.dv;
    for (int call = 0; call < 3; ++call) {
        if (call == 2) dv = 0.29; /* the same kind of call with another dv: that graph captured again */
        if (call == 1) { /* other graphs: another mask, dv, and no member flushing */
            if (B > 4) mask[B - 1] = (unsigned char)!mask[B - 1];
            dv = 0.41;
            for (int64_t b = 0; b < B; ++b) {
                pp[b].flush_tiny = 0;
                for (int k = 0; k < 3; ++k)
                    op_ok(e, e->ops->set_step(gs[k], b, &pp[b]), "set_step", 0, gs[k]);
                op_ok(e, e->ref_ops->set_step(cs, b, &pp[b]), "set_step", 1, cs);
            }
        }
        for (int k = 0; k < 2; ++k)
            steps_call(e, gs[k], nsteps, m, renorm, dv, stop[k], before, after);
        single_op_steps(e, 0, gs[2], nsteps, m, renorm, dv, stop[2]);
        single_op_steps(e, 1, cs, nsteps, m, renorm, dv, stop[3]);
        for (int64_t b = 0; b < B; ++b) {
            const int on = !m || m[b];
            for (int k = 0; k < 4; ++k) {
                if (k == 3 && e->prec == QDML_FLOAT32) continue; /* float overflows earlier than double */
                cr_assert_eq(stop[k][b], stop[2][b],
                             "%s%s, call %d: member %lld: stop %lld (%s) against %lld (single ops)", e->where,
                             e->detail, call, (long long)b, (long long)stop[k][b],
                             k == 0   ? "steps"
                             : k == 1 ? "steps, no graphs"
                                      : "reference",
                             (long long)stop[2][b]);
            }
            if (renorm && b == 1 && on)
                cr_assert_eq(stop[0][b], 0, "%s%s: the zero member's stop is %lld", e->where, e->detail,
                             (long long)stop[0][b]);
            if (e->prec == QDML_FLOAT64 && stop[0][b] >= 2) ++e->tally;
            op_ok(e, e->ops->get_state(gs[2], b, c), "get_state", 0, gs[2]);
            for (int k = 0; k < 2; ++k) {
                op_ok(e, e->ops->get_state(gs[k], b, a), "get_state", 0, gs[k]);
                for (int64_t i = 0; i < 2 * N; ++i)
                    cr_assert(a[i] == c[i] || (a[i] != a[i] && c[i] != c[i]),
                              "%s%s, call %d: member %lld value %lld: steps op%s %.17g, single ops %.17g", e->where,
                              e->detail, call, (long long)b, (long long)i, k ? " without graphs" : "", a[i], c[i]);
            }
            int finite = 1;
            for (int64_t i = 0; i < 2 * N; ++i)
                finite = finite && isfinite(c[i]);
            if (e->prec == QDML_FLOAT32 || stop[2][b] >= 0 || !finite) continue;
            op_ok(e, e->ref_ops->get_state(cs, b, a), "get_state", 1, cs);
            const double diff = qt_rel_diff(a, c, 2 * N);
            cr_assert(diff <= e->tol, "%s%s, call %d: member %lld: reference and %s differ by %.3g (bound %.3g)",
                      e->where, e->detail, call, (long long)b, e->tested->name, diff, e->tol);
        }
    }
    cr_assert_str_eq(qdml_last_error_message(), "", "%s%s: an op that succeeded left a message: %s", e->where,
                     e->detail, qdml_last_error_message());
    e->ref_ops->destroy(cs);
    for (int k = 0; k < 3; ++k)
        e->ops->destroy(gs[k]);
    for (int k = 0; k < 4; ++k)
        free(stop[k]);
    free(psi);
    free(v);
    free(a);
    free(c);
    free(before);
    free(after);
    free(mask);
    free(pp);
}

static void steps_counts(op_env *e, int renorm) {
    static const int64_t counts[] = {1, 2, 7};
    for (size_t j = 0; j < sizeof counts / sizeof counts[0]; ++j)
        steps_case(e, counts[j], renorm);
}

void op_case_steps(op_env *e) { steps_counts(e, 0); }
void op_case_steps_renorm(op_env *e) { steps_counts(e, 1); }

/* At least one member of the renormalised case met a bad norm after its second substep in float64,
 * or the substep count of replayed steps went untested. */
void op_case_steps_late_stops(op_env *e) {
    if (e->prec == QDML_FLOAT64)
        cr_assert(e->tally > 0,
                  "%s: no member met a bad norm after its second substep: the substep count of replayed "
                  "steps went untested",
                  e->c->name);
}

/* A composition (m = 3, the middle substep on the other table set), with and without
 * renormalisation: a backend keeping one table set declines it: done = 0 and the state untouched. */
void op_case_steps_composition(op_env *e) {
    static const unsigned char sub3[3] = {0, 1, 0};
    op_start(e);
    const size_t bytes = (size_t)(2 * e->N * e->B) * sizeof(double);
    double *before = qt_calloc(bytes, 1), *after = qt_calloc(bytes, 1);
    int64_t *stop = qt_calloc((size_t)e->B, sizeof(int64_t));
    for (int renorm = 0; renorm < 2; ++renorm) {
        snprintf(e->detail, sizeof e->detail, ", renorm=%d", renorm);
        get_all(e, e->st, before);
        int done = -1;
        OP_TESTED(e, steps, 3, 3, sub3, e->B > 4 ? e->mask : NULL, renorm, 1.0, stop, &done);
        cr_assert_eq(done, 0, "%s%s: the steps op took a composition with one table set", e->where, e->detail);
        get_all(e, e->st, after);
        cr_assert(memcmp(before, after, bytes) == 0, "%s%s: a declined call changed the state", e->where, e->detail);
    }
    free(before);
    free(after);
    free(stop);
}
