/* qdml_problem_success_probability: how much of a member's density lies near the known minimisers of
 * its objective, the figure of merit of optimisation by quantum dynamics (e.g. Quantum Hamiltonian
 * Descent's benchmark: the probability within radius r of a global minimiser). */
#include <math.h>
#include <stdlib.h>

#include "internal.h"

qdml_status qdml_problem_success_probability(const qdml_problem *p, int64_t member, const double *centers,
                                             int64_t ncenters, double radius, double *probability) {
    static const char fn[] = "qdml_problem_success_probability";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    if (!centers || !probability)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: centers or probability is NULL", fn);
    if (member < 0 || member >= p->batch)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: member %lld is outside 0 .. %lld", fn,
                         (long long)member, (long long)(p->batch - 1));
    if (ncenters < 1 || ncenters > 1000000)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: ncenters = %lld: give 1 .. 1000000", fn,
                         (long long)ncenters);
    if (!isfinite(radius) || radius < 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: radius = %g: must be finite and >= 0", fn, radius);
    const qdml_grid *g = &p->grid;
    const int dim = g->dim;
    for (int64_t c = 0; c < ncenters * dim; ++c)
        if (!isfinite(centers[c]))
            return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: center %lld has a coordinate that is not finite",
                             fn, (long long)(c / dim));
    double *rho = qdml_calloc_array((size_t)p->npoints, sizeof(double));
    if (!rho) return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate the density", fn);
    qdml_status st = qdml_problem_get_density(p, member, rho);
    if (st != QDML_OK) {
        free(rho);
        return st;
    }
    const double r2 = radius * radius;
    double in = 0.0, all = 0.0;
    for (int64_t i = 0; i < p->npoints; ++i) {
        double x[QDML_MAX_DIM];
        int64_t q = i;
        for (int d = dim - 1; d >= 0; --d) {
            x[d] = g->lo[d] + (double)(q % g->n[d]) * (g->hi[d] - g->lo[d]) / (double)g->n[d];
            q /= g->n[d];
        }
        all += rho[i];
        for (int64_t c = 0; c < ncenters; ++c) {
            double d2 = 0.0;
            for (int d = 0; d < dim; ++d)
                d2 += (x[d] - centers[c * dim + d]) * (x[d] - centers[c * dim + d]);
            if (d2 <= r2) {
                in += rho[i];
                break;
            }
        }
    }
    free(rho);
    if (!(all > 0) || !isfinite(all))
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: member %lld's state is zero or not finite", fn,
                         (long long)member);
    *probability = in / all;
    return QDML_OK;
}
