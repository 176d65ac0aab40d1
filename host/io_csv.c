/* Monitored history as CSV (see io_csv.h). */
#include "io_csv.h"

#include <stdio.h>

#include "atomic_file.h"
#include "status.h"

static void axis_columns(FILE *f, const char *name, int dim) {
    for (int d = 0; d < dim; ++d)
        fprintf(f, ",%s_%d", name, d);
}

static void axis_values(FILE *f, const double *v, int dim) {
    for (int d = 0; d < dim; ++d)
        fprintf(f, ",%.17g", v[d]);
}

qdml_status qdml_csv_write_history(const char *path, int dim, int64_t batch, const qdml_stats *const *histories,
                                   const size_t *counts) {
    if (!path) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_csv_write_history: path is NULL");
    if (dim < 1 || dim > QDML_MAX_DIM)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: dim %d outside 1..%d", path, dim, QDML_MAX_DIM);
    if (batch < 0)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: batch %lld is negative", path, (long long)batch);
    if (batch > 0 && (!histories || !counts))
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: %s is NULL", path, !histories ? "histories" : "counts");
    for (int64_t b = 0; b < batch; ++b) {
        if (counts[b] > 0 && !histories[b])
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: histories[%lld] is NULL with %zu entries", path,
                             (long long)b, counts[b]);
    }

    qdml_atomic_file af;
    const qdml_status st = qdml_atomic_open(&af, path, 0, path);
    if (st != QDML_OK) return st;
    FILE *f = af.f;
    fprintf(f, "member,step,time,dt,norm,kinetic,potential,energy,residual");
    axis_columns(f, "mean", dim);
    axis_columns(f, "width", dim);
    fprintf(f, ",density_max");
    axis_columns(f, "argmax", dim);
    fputc('\n', f);
    for (int64_t b = 0; b < batch; ++b) {
        for (size_t i = 0; i < counts[b]; ++i) {
            const qdml_stats *s = &histories[b][i];
            fprintf(f, "%lld,%lld,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g", (long long)b, (long long)s->step, s->time,
                    s->dt, s->norm, s->kinetic, s->potential, s->energy, s->residual);
            axis_values(f, s->mean, dim);
            axis_values(f, s->width, dim);
            fprintf(f, ",%.17g", s->density_max);
            axis_values(f, s->argmax, dim);
            fputc('\n', f);
        }
    }
    return qdml_atomic_commit(&af, !ferror(f));
}
