#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifdef QDML_HAVE_CUDA
#include "backend_cuda.h"
#endif

/* Usable CUDA devices in this build (0 without the CUDA backend). */
static int cuda_devices(void) {
#ifdef QDML_HAVE_CUDA
    return qdml_cuda_device_count();
#else
    return 0;
#endif
}

const char *qdml_backend_name(qdml_backend backend) {
    switch (backend) {
    case QDML_BACKEND_CPU: return "cpu";
    case QDML_BACKEND_CUDA: return "cuda";
    case QDML_BACKEND_AUTO: return "auto";
    }
    return NULL;
}

int qdml_backend_available(qdml_backend backend) {
    switch (backend) {
    case QDML_BACKEND_CPU: return 1;
    case QDML_BACKEND_AUTO: return 1;
    case QDML_BACKEND_CUDA: return cuda_devices() > 0;
    }
    return 0;
}

int qdml_device_count(void) { return cuda_devices(); }

qdml_status qdml_device_info(int index, char *name, size_t namelen, size_t *total_bytes) {
    if (name && namelen) name[0] = '\0';
    if (total_bytes) *total_bytes = 0;
    const int count = cuda_devices();
    if (index < 0 || index >= count)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_device_info: index = %d: %s", index,
                         count ? "out of range" : "this build sees no CUDA device");
#ifdef QDML_HAVE_CUDA
    if (qdml_cuda_device_info(index, name, namelen, total_bytes) != 0)
        return qdml_fail(NULL, QDML_ERR_BACKEND, "qdml_device_info: the CUDA driver failed to describe device %d", index);
#endif
    return QDML_OK;
}

qdml_status qdml_context_create(qdml_context **out, qdml_backend backend, int nthreads) {
    if (!out) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_context_create: out is NULL");
    *out = NULL;
    const qdml_backend_ops *ops = NULL;
    qdml_backend chosen = backend;
    switch (backend) {
    case QDML_BACKEND_CPU: ops = &qdml_backend_cpu_ops; break;
    case QDML_BACKEND_AUTO:
        chosen = QDML_BACKEND_CPU;
        ops = &qdml_backend_cpu_ops;
#ifdef QDML_HAVE_CUDA
        if (cuda_devices() > 0) {
            chosen = QDML_BACKEND_CUDA;
            ops = &qdml_backend_cuda_ops;
        }
#endif
        break;
    case QDML_BACKEND_CUDA:
#ifdef QDML_HAVE_CUDA
        if (cuda_devices() > 0) {
            ops = &qdml_backend_cuda_ops;
            break;
        }
        return qdml_fail(NULL, QDML_ERR_UNAVAILABLE,
                         "backend 'cuda': this build has the CUDA backend but no usable CUDA device or driver was "
                         "found; use QDML_BACKEND_CPU or QDML_BACKEND_AUTO");
#else
        return qdml_fail(NULL, QDML_ERR_UNAVAILABLE,
                         "backend 'cuda' is not compiled into this build of qdml (configure with nvcc on PATH and "
                         "-DQDML_ENABLE_CUDA=ON); use QDML_BACKEND_CPU or QDML_BACKEND_AUTO");
#endif
    default:
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "backend = %d: expected QDML_BACKEND_CPU (0), CUDA (1) or AUTO (2)",
                         (int)backend);
    }
    qdml_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "qdml_context_create: cannot allocate %zu bytes", sizeof *ctx);
    ctx->backend = chosen;
    ctx->ops = ops;
    ctx->nthreads = nthreads > 0 ? nthreads : omp_get_max_threads();
    if (ctx->nthreads < 1) ctx->nthreads = 1;
    ctx->effort = QDML_FFT_MEASURE;
    ctx->precision = QDML_FLOAT64;
    *out = ctx;
    return QDML_OK;
}

void qdml_context_destroy(qdml_context *ctx) { free(ctx); }

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
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "qdml_context_set_fft_wisdom: path is %zu bytes long (at most %zu)",
                         len, sizeof ctx->wisdom - 1);
    memcpy(ctx->wisdom, path, len + 1);
    qdml_clear_error(ctx);
    return QDML_OK;
}

const char *qdml_context_last_error(const qdml_context *ctx) { return ctx ? ctx->error : "context is NULL"; }
