/* CUDA backend: the block orthonormalisation ops of the lowest-states search (gram, combine) on
 * cuBLAS, and the loader that brings cuBLAS in with dlopen the first time a problem needs it. */
#include <dlfcn.h>
#include <pthread.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_private.cuh"

/* ---- cuBLAS, loaded on first use ------------------------------------------------------------------
 * Only the lowest-states search (gram / combine) uses cuBLAS. Linking it would load libcublas and
 * libcublasLt (over 500 MB) into every program that links libqdml, at about 0.09 s per process
 * start measured on the build machine, whether or not it ever uses them; so the functions are
 * looked up with dlopen/dlsym the first time a problem needs them, by soname and then from the
 * toolkit directory found at build time (QDML_CUBLAS_DIR). */
namespace {

struct blas_api {
    decltype(&cublasCreate_v2) create;
    decltype(&cublasDestroy_v2) destroy;
    decltype(&cublasSetStream_v2) set_stream;
    decltype(&cublasSetPointerMode_v2) set_pointer_mode;
    decltype(&cublasZgemm_v2_64) zgemm;
    decltype(&cublasCgemm_v2_64) cgemm;
    decltype(&cublasZtrmm_v2_64) ztrmm;
    decltype(&cublasCtrmm_v2_64) ctrmm;
    decltype(&cublasGetStatusString) status_string;
};

#define QDML_STR2(x) #x
#define QDML_STR(x) QDML_STR2(x)
const char kBlasSoname[] = "libcublas.so." QDML_STR(CUBLAS_VER_MAJOR);

blas_api g_blas;
int g_blas_ok = 0;
char g_blas_err[1024];
pthread_once_t g_blas_once = PTHREAD_ONCE_INIT;

void *blas_symbol(void *lib, const char *name, int *ok) {
    dlerror();
    void *f = dlsym(lib, name);
    if (!f && *ok) {
        const char *why = dlerror();
        snprintf(g_blas_err, sizeof g_blas_err, "%s has no symbol %s (%s)", kBlasSoname, name, why ? why : "");
        *ok = 0;
    }
    return f;
}

void blas_load(void) {
    char tried[640];
    void *lib = dlopen(kBlasSoname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        int used = snprintf(tried, sizeof tried, "dlopen(%s): %.200s", kBlasSoname, why ? why : "failed");
#ifdef QDML_CUBLAS_DIR
        char path[256];
        snprintf(path, sizeof path, "%.200s/%s", QDML_CUBLAS_DIR, kBlasSoname);
        lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!lib && used > 0 && (size_t)used < sizeof tried) {
            why = dlerror();
            snprintf(tried + used, sizeof tried - (size_t)used, "; dlopen(%s): %.200s", path, why ? why : "failed");
        }
#else
        (void)used;
#endif
    }
    if (!lib) {
        snprintf(g_blas_err, sizeof g_blas_err,
                 "cuBLAS could not be loaded (%.600s); the lowest-states search needs it on the CUDA backend: install "
                 "the CUDA toolkit's libcublas or add its directory to LD_LIBRARY_PATH",
                 tried);
        return;
    }
    /* The library stays loaded for the life of the process (handles made from it may live as long). */
    int ok = 1;
    g_blas.create = (decltype(g_blas.create))blas_symbol(lib, "cublasCreate_v2", &ok);
    g_blas.destroy = (decltype(g_blas.destroy))blas_symbol(lib, "cublasDestroy_v2", &ok);
    g_blas.set_stream = (decltype(g_blas.set_stream))blas_symbol(lib, "cublasSetStream_v2", &ok);
    g_blas.set_pointer_mode = (decltype(g_blas.set_pointer_mode))blas_symbol(lib, "cublasSetPointerMode_v2", &ok);
    g_blas.zgemm = (decltype(g_blas.zgemm))blas_symbol(lib, "cublasZgemm_v2_64", &ok);
    g_blas.cgemm = (decltype(g_blas.cgemm))blas_symbol(lib, "cublasCgemm_v2_64", &ok);
    g_blas.ztrmm = (decltype(g_blas.ztrmm))blas_symbol(lib, "cublasZtrmm_v2_64", &ok);
    g_blas.ctrmm = (decltype(g_blas.ctrmm))blas_symbol(lib, "cublasCtrmm_v2_64", &ok);
    g_blas.status_string = (decltype(g_blas.status_string))blas_symbol(lib, "cublasGetStatusString", &ok);
    g_blas_ok = ok;
}

} /* namespace */

extern "C" qdml_status qdml_cuda_blas_load(void) {
    (void)pthread_once(&g_blas_once, blas_load);
    return g_blas_ok ? QDML_OK : qdml_fail(NULL, QDML_ERR_UNAVAILABLE, "%s", g_blas_err);
}

/* ---- gram and combine ------------------------------------------------------------------------ */

/* Call a cuBLAS function through the loaded table (g_blas.member), named `name` in messages. */
#define CUBLAS_TRY(member, name, args)                                                                                 \
    do {                                                                                                               \
        const cublasStatus_t r_ = g_blas.member args;                                                                  \
        if (r_ != CUBLAS_STATUS_SUCCESS) return fail_blas(name, r_);                                                   \
    } while (0)

namespace {

qdml_status fail_blas(const char *call, cublasStatus_t r) {
    return qdml_fail(NULL, r == CUBLAS_STATUS_ALLOC_FAILED ? QDML_ERR_OUT_OF_MEMORY : QDML_ERR_BACKEND,
                     "%s failed: %s (cublasStatus_t %d)", call, g_blas.status_string(r), (int)r);
}

/* The cuBLAS handle (bound to the state's stream) and a device buffer of at least `bytes`, made on
 * first use: problems that never orthonormalise do not pay for cuBLAS. */
qdml_status blas_ready(qdml_backend_state *s, size_t bytes) {
    if (!s->have_blas) {
        const qdml_status st = qdml_cuda_blas_load();
        if (st != QDML_OK) return st;
        CUBLAS_TRY(create, "cublasCreate", (&s->blas));
        s->have_blas = 1;
        s->blas_destroy = g_blas.destroy;
        CUBLAS_TRY(set_stream, "cublasSetStream", (s->blas, s->stream));
        CUBLAS_TRY(set_pointer_mode, "cublasSetPointerMode", (s->blas, CUBLAS_POINTER_MODE_HOST));
    }
    if (s->dsmall_bytes < bytes) {
        if (s->dsmall) {
            CUDA_TRY(cudaStreamSynchronize, (s->stream));
            CUDA_TRY(cudaFree, (s->dsmall));
            s->dsmall = NULL;
            s->dsmall_bytes = 0;
        }
        CUDA_TRY(cudaMalloc, (&s->dsmall, bytes));
        s->dsmall_bytes = bytes;
    }
    return QDML_OK;
}

/* G = Psi^H Psi over members 0 .. count-1: Psi is column-major N x count (member b's points are
 * contiguous), so G[i + j count] = sum conj(psi_i) psi_j; copied back and widened to double. */
template <typename C> qdml_status gram_impl(qdml_backend_state *s, int64_t count, double *g) {
    if (!g || count < 1 || count > s->g.B) return fail_internal("gram: count out of range or NULL output");
    const size_t n2 = (size_t)count * (size_t)count;
    qdml_status st = blas_ready(s, n2 * sizeof(C));
    if (st != QDML_OK) return st;
    const int64_t N = s->g.N;
    if (s->g.f32) {
        const cuComplex one = make_cuComplex(1.0f, 0.0f), zero = make_cuComplex(0.0f, 0.0f);
        const cuComplex *psi = (const cuComplex *)s->psi;
        CUBLAS_TRY(cgemm, "cublasCgemm_64", (s->blas, CUBLAS_OP_C, CUBLAS_OP_N, count, count, N, &one, psi, N, psi, N, &zero,
                                    (cuComplex *)s->dsmall, count));
    } else {
        const cuDoubleComplex one = make_cuDoubleComplex(1.0, 0.0), zero = make_cuDoubleComplex(0.0, 0.0);
        const cuDoubleComplex *psi = (const cuDoubleComplex *)s->psi;
        CUBLAS_TRY(zgemm, "cublasZgemm_64", (s->blas, CUBLAS_OP_C, CUBLAS_OP_N, count, count, N, &one, psi, N, psi, N, &zero,
                                    (cuDoubleComplex *)s->dsmall, count));
    }
    C *host = (C *)malloc(n2 * sizeof(C));
    if (!host) return fail_internal("gram: cannot allocate host memory for the Gram matrix");
    cudaError_t e = cudaMemcpyAsync(host, s->dsmall, n2 * sizeof(C), cudaMemcpyDeviceToHost, s->stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(s->stream);
    if (e != cudaSuccess) {
        free(host);
        return fail_cuda("cudaMemcpyAsync (Gram matrix)", e);
    }
    for (int64_t i = 0; i < count; ++i)
        for (int64_t j = 0; j < count; ++j) { /* column-major G(i, j) -> row-major g[i count + j] */
            const C v = host[i + j * count];
            g[2 * (i * count + j)] = (double)v.re;
            g[2 * (i * count + j) + 1] = (double)v.im;
        }
    free(host);
    return QDML_OK;
}

/* Psi <- Psi T with T upper triangular (count x count, row-major interleaved on the host): cuBLAS
 * trmm on the right, in place (cuBLAS allows C = B), rounded to the state's precision. */
template <typename C> qdml_status combine_impl(qdml_backend_state *s, int64_t count, const double *t) {
    if (!t || count < 1 || count > s->g.B) return fail_internal("combine: count out of range or NULL matrix");
    const size_t n2 = (size_t)count * (size_t)count;
    qdml_status st = blas_ready(s, n2 * sizeof(C));
    if (st != QDML_OK) return st;
    C *host = (C *)malloc(n2 * sizeof(C));
    if (!host) return fail_internal("combine: cannot allocate host memory for the matrix");
    for (int64_t i = 0; i < count; ++i)
        for (int64_t j = 0; j < count; ++j) { /* row-major t[i count + j] -> column-major T(i, j) */
            C v;
            v.re = (decltype(v.re))(i <= j ? t[2 * (i * count + j)] : 0.0);
            v.im = (decltype(v.im))(i <= j ? t[2 * (i * count + j) + 1] : 0.0);
            host[i + j * count] = v;
        }
    /* Synchronous copy: the host buffer is freed right after. */
    cudaError_t e = cudaMemcpyAsync(s->dsmall, host, n2 * sizeof(C), cudaMemcpyHostToDevice, s->stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(s->stream);
    free(host);
    if (e != cudaSuccess) return fail_cuda("cudaMemcpyAsync (combination matrix)", e);
    const int64_t N = s->g.N;
    if (s->g.f32) {
        const cuComplex one = make_cuComplex(1.0f, 0.0f);
        cuComplex *psi = (cuComplex *)s->psi;
        CUBLAS_TRY(ctrmm, "cublasCtrmm_64", (s->blas, CUBLAS_SIDE_RIGHT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N,
                                    CUBLAS_DIAG_NON_UNIT, N, count, &one, (const cuComplex *)s->dsmall, count, psi, N,
                                    psi, N));
    } else {
        const cuDoubleComplex one = make_cuDoubleComplex(1.0, 0.0);
        cuDoubleComplex *psi = (cuDoubleComplex *)s->psi;
        CUBLAS_TRY(ztrmm, "cublasZtrmm_64", (s->blas, CUBLAS_SIDE_RIGHT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N,
                                    CUBLAS_DIAG_NON_UNIT, N, count, &one, (const cuDoubleComplex *)s->dsmall, count,
                                    psi, N, psi, N));
    }
    return QDML_OK;
}

} /* namespace */

namespace qdml_cuda {

qdml_status cu_gram(qdml_backend_state *s, int64_t count, double *g) {
    OP_WRAP("gram", BY_PRECISION(gram_impl, s, count, g));
}
qdml_status cu_combine(qdml_backend_state *s, int64_t count, const double *t) {
    OP_WRAP("combine", BY_PRECISION(combine_impl, s, count, t));
}

} /* namespace qdml_cuda */
