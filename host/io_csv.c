/* Monitored history as CSV (see io_csv.h). */
#include "io_csv.h"
#include "io_npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void axis_columns(FILE *f, const char *name, int dim) {
    for (int d = 0; d < dim; ++d)
        fprintf(f, ",%s_%d", name, d);
}

static void axis_values(FILE *f, const double *v, int dim) {
    for (int d = 0; d < dim; ++d)
        fprintf(f, ",%.17g", v[d]);
}

int qdml_csv_write_history(const char *path, int dim, int64_t batch, const qdml_stats *const *histories,
                           const size_t *counts, char *err, size_t errlen) {
    if (!path) {
        set_err(err, errlen, "qdml_csv_write_history: path is NULL");
        return -1;
    }
    if (dim < 1 || dim > QDML_MAX_DIM) {
        set_err(err, errlen, "%s: dim %d outside 1..%d", path, dim, QDML_MAX_DIM);
        return -1;
    }
    if (batch < 0) {
        set_err(err, errlen, "%s: batch %lld is negative", path, (long long)batch);
        return -1;
    }
    if (batch > 0 && (!histories || !counts)) {
        set_err(err, errlen, "%s: %s is NULL", path, !histories ? "histories" : "counts");
        return -1;
    }
    for (int64_t b = 0; b < batch; ++b) {
        if (counts[b] > 0 && !histories[b]) {
            set_err(err, errlen, "%s: histories[%lld] is NULL with %zu entries", path, (long long)b, counts[b]);
            return -1;
        }
    }

    size_t tlen = strlen(path) + 32;
    char *tmp = malloc(tlen);
    if (!tmp) {
        set_err(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        set_err(err, errlen, "%s: cannot create '%s': %s", path, tmp, strerror(errno));
        free(tmp);
        return -1;
    }
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
    return qdml_io_commit(f, tmp, path, !ferror(f), err, errlen);
}
