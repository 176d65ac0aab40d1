/* Contexts: the backend chosen from the registry, threads, planning effort, precision, the last
 * error message. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "registry.h"

const char *qdml_backend_name(qdml_backend backend) {
    if (backend == QDML_BACKEND_AUTO) return "auto";
    const qdml_backend_entry *e = qdml_registry_find(backend);
    return e ? e->name : NULL;
}

int qdml_backend_available(qdml_backend backend) {
    return backend == QDML_BACKEND_AUTO || qdml_registry_usable(qdml_registry_find(backend));
}

int qdml_backend_unavailable_reason(qdml_backend backend, char *buf, size_t len) {
    const qdml_backend_entry *e = qdml_registry_find(backend);
    if (!buf || !len || (!e && backend != QDML_BACKEND_AUTO)) return -1;
    buf[0] = '\0';
    if (backend == QDML_BACKEND_AUTO) return 0; /* the CPU backend is always there */
    if (!e->ops) {
        snprintf(buf, len, "not compiled into this build (%s)", e->how_to_build ? e->how_to_build : "no build option");
        return 1;
    }
    if (!e->why_none) return 0;
    return e->why_none(buf, len) ? 1 : 0;
}

/* Devices of every device backend in registry order: device `index` of the whole list is device
 * index - (devices before it) of its backend. */
int qdml_device_count(void) {
    size_t n;
    const qdml_backend_entry *e = qdml_registry(&n);
    int count = 0;
    for (size_t i = 0; i < n; ++i)
        if (e[i].ops && e[i].device_count) count += e[i].device_count();
    return count;
}

qdml_status qdml_device_info(int index, char *name, size_t namelen, size_t *total_bytes) {
    if (name && namelen) name[0] = '\0';
    if (total_bytes) *total_bytes = 0;
    size_t n;
    const qdml_backend_entry *e = qdml_registry(&n);
    int first = 0;
    for (size_t i = 0; i < n && index >= first; ++i) {
        if (!e[i].ops || !e[i].device_count) continue;
        const int count = e[i].device_count();
        if (index < first + count) {
            if (e[i].device_info(index - first, name, namelen, total_bytes) != 0)
                return qdml_fail(NULL, QDML_ERR_BACKEND, "qdml_device_info: the %s driver failed to describe device %d",
                                 e[i].name, index - first);
            return QDML_OK;
        }
        first += count;
    }
    return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_device_info: index = %d: %s", index,
                     first ? "out of range" : "this build sees no device");
}

/* The registry entry a context on `backend` uses: AUTO takes the first usable one. */
static qdml_status choose_backend(qdml_backend backend, const qdml_backend_entry **out) {
    if (backend == QDML_BACKEND_AUTO) {
        size_t n;
        const qdml_backend_entry *e = qdml_registry(&n);
        for (size_t i = 0; i < n; ++i)
            if (qdml_registry_usable(&e[i])) {
                *out = &e[i];
                return QDML_OK;
            }
        return qdml_fail(NULL, QDML_ERR_INTERNAL, "backend 'auto': no backend of this build is usable");
    }
    const qdml_backend_entry *e = qdml_registry_find(backend);
    if (!e)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "backend = %d: expected QDML_BACKEND_CPU (0), CUDA (1) or AUTO (2)", (int)backend);
    if (!e->ops)
        return qdml_fail(NULL, QDML_ERR_UNAVAILABLE,
                         "backend '%s' is not compiled into this build of qdml (%s); use QDML_BACKEND_CPU or "
                         "QDML_BACKEND_AUTO",
                         e->name, e->how_to_build);
    if (!qdml_registry_usable(e)) {
        char why[384] = "";
        if (e->why_none) (void)e->why_none(why, sizeof why);
        return qdml_fail(NULL, QDML_ERR_UNAVAILABLE,
                         "backend '%s': this build has the %s backend but %s%s%s; use QDML_BACKEND_CPU or "
                         "QDML_BACKEND_AUTO",
                         e->name, e->name, e->no_device_hint, why[0] ? ": " : "", why);
    }
    *out = e;
    return QDML_OK;
}

qdml_status qdml_context_create(qdml_context **out, qdml_backend backend, int nthreads) {
    if (!out) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_context_create: out is NULL");
    *out = NULL;
    const qdml_backend_entry *entry = NULL;
    const qdml_status st = choose_backend(backend, &entry);
    if (st != QDML_OK) return st;
    qdml_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "qdml_context_create: cannot allocate %zu bytes", sizeof *ctx);
    ctx->backend = entry->id;
    ctx->ops = entry->ops;
    ctx->nthreads = nthreads > 0 ? nthreads : omp_get_max_threads();
    if (ctx->nthreads < 1) ctx->nthreads = 1;
    ctx->effort = QDML_FFT_MEASURE;
    ctx->precision = QDML_FLOAT64;
    ctx->device = -1;
    *out = ctx;
    return QDML_OK;
}

void qdml_context_destroy(qdml_context *ctx) {
    if (ctx && ctx->par && ctx->par->release) ctx->par->release(ctx->par);
    free(ctx);
}

int qdml_par_max(const qdml_context *ctx, int v) { return ctx && ctx->par ? ctx->par->max_int(ctx->par, v) : v; }

int qdml_par_rank(const qdml_context *ctx) { return ctx && ctx->par ? ctx->par->rank : 0; }

int qdml_context_rank(const qdml_context *ctx) { return qdml_par_rank(ctx); }

int qdml_context_ranks(const qdml_context *ctx) { return ctx && ctx->par ? ctx->par->size : 1; }

qdml_backend qdml_context_backend(const qdml_context *ctx) { return ctx ? ctx->backend : QDML_BACKEND_CPU; }

int qdml_context_threads(const qdml_context *ctx) { return ctx ? ctx->nthreads : 0; }

qdml_status qdml_context_set_fft_effort(qdml_context *ctx, qdml_fft_effort effort) {
    if (!ctx) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_context_set_fft_effort: ctx is NULL");
    if (effort != QDML_FFT_ESTIMATE && effort != QDML_FFT_MEASURE && effort != QDML_FFT_PATIENT)
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "effort = %d: expected QDML_FFT_ESTIMATE, MEASURE or PATIENT",
                         (int)effort);
    ctx->effort = effort;
    qdml_clear_error(ctx);
    return QDML_OK;
}

qdml_status qdml_context_set_precision(qdml_context *ctx, qdml_precision precision) {
    if (!ctx) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_context_set_precision: ctx is NULL");
    if (precision != QDML_FLOAT64 && precision != QDML_FLOAT32)
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT,
                         "qdml_context_set_precision: precision = %d: expected QDML_FLOAT64 (0) or QDML_FLOAT32 (1)",
                         (int)precision);
    ctx->precision = precision;
    qdml_clear_error(ctx);
    return QDML_OK;
}

qdml_precision qdml_context_precision(const qdml_context *ctx) { return ctx ? ctx->precision : QDML_FLOAT64; }

qdml_status qdml_context_set_fft_wisdom(qdml_context *ctx, const char *path) {
    if (!ctx) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_context_set_fft_wisdom: ctx is NULL");
    if (!path) path = "";
    size_t len = strlen(path);
    if (len >= sizeof ctx->wisdom)
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT,
                         "qdml_context_set_fft_wisdom: path is %zu bytes long (at most %zu)", len,
                         sizeof ctx->wisdom - 1);
    memcpy(ctx->wisdom, path, len + 1);
    qdml_clear_error(ctx);
    return QDML_OK;
}

const char *qdml_context_last_error(const qdml_context *ctx) { return ctx ? ctx->error : "context is NULL"; }
