#include <float.h>
#include <math.h>

#include "internal.h"

qdml_status qdml_grid_validate(const qdml_grid *g) {
    if (!g) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "grid is NULL");
    if (g->dim < 1 || g->dim > QDML_MAX_DIM)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "grid.dim = %d: must be 1 to %d", g->dim, QDML_MAX_DIM);
    int64_t total = 1;
    for (int d = 0; d < g->dim; ++d) {
        if (g->n[d] < 1)
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "grid.n[%d] = %lld: must be >= 1", d,
                             (long long)g->n[d]);
        if (!isfinite(g->lo[d]) || !isfinite(g->hi[d]))
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "grid box on axis %d is [%g, %g): bounds must be finite",
                             d, g->lo[d], g->hi[d]);
        if (!(g->lo[d] < g->hi[d]))
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                             "grid box on axis %d is [%g, %g): lo must be less than hi", d, g->lo[d], g->hi[d]);
        if (!isfinite(g->hi[d] - g->lo[d]))
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "grid box on axis %d is [%g, %g): length overflows", d,
                             g->lo[d], g->hi[d]);
        if (!qdml_mul_i64(total, g->n[d], &total))
            return qdml_fail(NULL, QDML_ERR_OVERFLOW, "grid point count overflows at axis %d (n = %lld)", d,
                             (long long)g->n[d]);
    }
    /* Spacings double precision can compute with: each a normal number (a subnormal spacing has lost
     * its digits, and its sums come out NaN), the squares of the largest wavenumbers pi / h summed
     * over the axes finite (the kinetic energies), and a volume element dV that neither underflows
     * nor overflows (norms). */
    double k2 = 0.0, dv = 1.0;
    for (int d = 0; d < g->dim; ++d) {
        const double h = (g->hi[d] - g->lo[d]) / (double)g->n[d];
        if (!(h >= DBL_MIN))
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                             "grid box on axis %d is [%g, %g) with %lld points: the spacing %g is below the smallest "
                             "normal double (%g)",
                             d, g->lo[d], g->hi[d], (long long)g->n[d], h, DBL_MIN);
        const double k = 3.14159265358979323846 / h;
        k2 += k * k;
        dv *= h;
        if (!isfinite(k2))
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                             "grid box on axis %d is [%g, %g) with %lld points: the spacing %g is too small, the "
                             "squared largest wavenumber (pi / spacing)^2 overflows double precision",
                             d, g->lo[d], g->hi[d], (long long)g->n[d], h);
    }
    if (!(dv >= DBL_MIN) || !isfinite(dv))
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "grid: the volume element dV (the product of the spacings) is %g, %s double precision", dv,
                         isfinite(dv) ? "below the smallest normal" : "beyond");
    return QDML_OK;
}

qdml_status qdml_grid_init(qdml_grid *grid, int dim, const int64_t *n, const double *lo, const double *hi) {
    if (!grid || !n || !lo || !hi)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_grid_init: %s is NULL",
                         !grid ? "grid" : !n ? "n" : !lo ? "lo" : "hi");
    if (dim < 1 || dim > QDML_MAX_DIM)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "dim = %d: must be 1 to %d", dim, QDML_MAX_DIM);
    qdml_grid g = {0};
    g.dim = dim;
    for (int d = 0; d < dim; ++d) {
        g.n[d] = n[d];
        g.lo[d] = lo[d];
        g.hi[d] = hi[d];
    }
    qdml_status st = qdml_grid_validate(&g);
    if (st != QDML_OK) return st;
    *grid = g;
    return QDML_OK;
}

int64_t qdml_grid_points(const qdml_grid *g) {
    if (!g || g->dim < 1 || g->dim > QDML_MAX_DIM) return 0;
    int64_t total = 1;
    for (int d = 0; d < g->dim; ++d)
        if (g->n[d] < 1 || !qdml_mul_i64(total, g->n[d], &total)) return 0;
    return total;
}

double qdml_grid_spacing(const qdml_grid *g, int axis) {
    if (!g || axis < 0 || axis >= g->dim || g->n[axis] < 1) return 0.0;
    return (g->hi[axis] - g->lo[axis]) / (double)g->n[axis];
}

double qdml_grid_dv(const qdml_grid *g) {
    if (!g || g->dim < 1 || g->dim > QDML_MAX_DIM) return 0.0;
    double dv = 1.0;
    for (int d = 0; d < g->dim; ++d) dv *= qdml_grid_spacing(g, d);
    return dv;
}
