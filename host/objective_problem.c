/* Setting a problem's potential from a built-in objective (evaluated by the backend, where the state
 * lives) or from a caller's callback (on the host). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "objectives.h"

static qdml_status check_problem_member(const qdml_problem *p, int64_t member, const char *fn) {
    if (member == QDML_ALL_MEMBERS || (member >= 0 && member < p->batch)) return QDML_OK;
    return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                     "%s: member = %lld: must be in 0..%lld or QDML_ALL_MEMBERS (-1)", fn, (long long)member,
                     (long long)(p->batch - 1));
}

/* Coordinates of flat C-order grid index idx, formatted "(x0, x1, ...)"; x gets them. */
static void grid_point(const qdml_grid *g, int64_t idx, double *x, char *buf, size_t len) {
    int64_t rest = idx;
    for (int d = g->dim - 1; d >= 0; --d) {
        const int64_t j = rest % g->n[d];
        rest /= g->n[d];
        x[d] = qdml_grid_point(g->lo[d], g->hi[d] - g->lo[d], j, g->n[d]);
    }
    size_t used = 0;
    int w = snprintf(buf, len, "(");
    if (w > 0) used = (size_t)w;
    for (int d = 0; d < g->dim && used < len; ++d) {
        w = snprintf(buf + used, len - used, "%s%.17g", d ? ", " : "", x[d]);
        if (w < 0) return;
        used += (size_t)w;
    }
    if (used < len) snprintf(buf + used, len - used, ")");
}

qdml_status qdml_problem_set_objective(qdml_problem *p, int64_t member, const qdml_objective *o) {
    static const char fn[] = "qdml_problem_set_objective";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    qdml_status st = check_problem_member(p, member, fn);
    if (st != QDML_OK) return st;
    st = qdml_objective_check(p->ctx, o, p->grid.dim, fn);
    if (st != QDML_OK) return st;
    const int64_t b0 = member == QDML_ALL_MEMBERS ? 0 : member;
    const int64_t b1 = member == QDML_ALL_MEMBERS ? p->batch : member + 1;
    for (int64_t b = b0; b < b1; ++b) {
        qdml_fill_result r;
        st = p->ops->fill_objective(p->bs, b, o, p->grid.dim, &r);
        if (st != QDML_OK)
            return qdml_fail_from(p->ctx, st, "%s: the %s backend failed to fill the potential of member %lld", fn,
                                  p->ops->name, (long long)b);
        if (r.first_bad >= 0) {
            double x[QDML_MAX_DIM];
            char where[256];
            grid_point(&p->grid, r.first_bad, x, where, sizeof where);
            const double v = qdml_objective_value(o, x, p->grid.dim);
            return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                             "%s: %s at grid point %lld, x = %s, is %g%s: the potential must be finite everywhere "
                             "(first bad index %lld; member %lld keeps its potential)",
                             fn, qdml_objective_name(o->kind), (long long)r.first_bad, where, v,
                             !isfinite(v)                        ? ""
                             : p->desc.precision == QDML_FLOAT32 ? " on the host, not finite in float32"
                                                                 : " on the host, not finite on the backend",
                             (long long)r.first_bad, (long long)b);
        }
        p->vmin[b] = r.vmin;
        p->has_potential[b] = 1;
        p->built_ok[b] = 0;
    }
    p->ground_valid = 0;
    p->start_known = 0;
    qdml_clear_error(p->ctx);
    return QDML_OK;
}

qdml_status qdml_problem_set_objective_fn(qdml_problem *p, int64_t member, qdml_objective_fn fnc, void *user) {
    static const char fn[] = "qdml_problem_set_objective_fn";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    qdml_status st = check_problem_member(p, member, fn);
    if (st != QDML_OK) return st;
    if (!fnc) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: fn is NULL", fn);
    const qdml_grid *g = &p->grid;
    const int dim = g->dim;
    double *v = qdml_calloc_array((size_t)p->npoints, sizeof(double));
    if (!v)
        return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate a host array of %lld doubles", fn,
                         (long long)p->npoints);
    int64_t idx[QDML_MAX_DIM] = {0, 0, 0};
    double vmin = INFINITY;
    for (int64_t i = 0; i < p->npoints; ++i) {
        double x[QDML_MAX_DIM];
        for (int d = 0; d < dim; ++d)
            x[d] = g->lo[d] + (double)idx[d] * (g->hi[d] - g->lo[d]) / (double)g->n[d];
        const double f = fnc(x, dim, user);
        if (!isfinite(f)) {
            double xx[QDML_MAX_DIM];
            char where[256];
            grid_point(g, i, xx, where, sizeof where);
            free(v);
            return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                             "%s: fn returned %g at grid point %lld, x = %s: the potential must be finite everywhere "
                             "(first bad index %lld; no member was changed)",
                             fn, f, (long long)i, where, (long long)i);
        }
        v[i] = f;
        if (f < vmin) vmin = f;
        for (int d = dim - 1; d >= 0; --d) {
            if (++idx[d] < g->n[d]) break;
            idx[d] = 0;
        }
    }
    const int64_t b0 = member == QDML_ALL_MEMBERS ? 0 : member;
    const int64_t b1 = member == QDML_ALL_MEMBERS ? p->batch : member + 1;
    for (int64_t b = b0; b < b1; ++b) {
        st = p->ops->set_potential(p->bs, b, v);
        if (st != QDML_OK) {
            free(v);
            return qdml_fail_from(p->ctx, st, "%s: the %s backend failed to store the potential of member %lld", fn,
                                  p->ops->name, (long long)b);
        }
        p->vmin[b] = vmin;
        p->has_potential[b] = 1;
        p->built_ok[b] = 0;
    }
    free(v);
    p->ground_valid = 0;
    p->start_known = 0;
    qdml_clear_error(p->ctx);
    return QDML_OK;
}
