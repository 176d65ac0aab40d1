/* CUDA backend: what follows from a problem's description alone, before any state exists: its
 * geometry and device memory layout, its cuFFT plan, the bytes it needs, and the device queries. */
#include <cuda_runtime.h>
#include <cufft.h>

#include <stdint.h>
#include <stdio.h>

#include "cuda_private.cuh"

/* ---- sizes and geometry ---------------------------------------------------------------------- */

namespace qdml_cuda {

/* Validate a desc and derive its geometry. */
qdml_status make_geometry(const qdml_backend_desc *d, geometry *g) {
    for (int a = 0; a < 3; ++a)
        if (d->n[a] < 1) {
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "internal axis %d has %lld points (must be >= 1)", a,
                             (long long)d->n[a]);
        }
    if (d->batch < 1) {
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "batch = %lld (must be >= 1)", (long long)d->batch);
    }
    size_t n01, n012, tot;
    if (!qdml_mul_size((size_t)d->n[0], (size_t)d->n[1], &n01) || !qdml_mul_size(n01, (size_t)d->n[2], &n012) ||
        n012 > (size_t)INT64_MAX) {
        return qdml_fail(NULL, QDML_ERR_OVERFLOW, "%lld x %lld x %lld points overflow", (long long)d->n[0],
                         (long long)d->n[1], (long long)d->n[2]);
    }
    if ((i64)n012 != d->npoints) {
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "npoints = %lld but the axes give %lld x %lld x %lld = %lld",
                         (long long)d->npoints, (long long)d->n[0], (long long)d->n[1], (long long)d->n[2],
                         (long long)n012);
    }
    if (!qdml_mul_size(n012, (size_t)d->batch, &tot) || tot > (size_t)INT64_MAX / 16) {
        return qdml_fail(NULL, QDML_ERR_OVERFLOW, "points (%lld) x batch (%lld) x 16 bytes overflows",
                         (long long)d->npoints, (long long)d->batch);
    }
    if (d->precision != QDML_FLOAT64 && d->precision != QDML_FLOAT32) {
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "precision = %d: expected QDML_FLOAT64 (0) or QDML_FLOAT32 (1)", (int)d->precision);
    }
    g->f32 = d->precision == QDML_FLOAT32;
    g->csz = g->f32 ? sizeof(c32) : sizeof(qdml_c64);
    g->rsz = g->f32 ? sizeof(float) : sizeof(double);
    g->N = d->npoints;
    g->B = d->batch;
    g->total = (i64)tot;
    g->ksum = d->n[0] + d->n[1] + d->n[2];
    g->cpm = segments_per_member(g->N, g->B);
    g->P = g->B * g->cpm; /* <= kTargetSegments + B - 1: no overflow */
    /* Grid sizes of the warp-per-item kernels must fit gridDim.x. */
    if ((g->P + kWarpsPerBlock - 1) / kWarpsPerBlock > (i64)0x7fffffff) {
        return qdml_fail(NULL, QDML_ERR_OVERFLOW, "batch %lld is too large for one kernel launch", (long long)d->batch);
    }
    size_t a8, m;
    if (!qdml_mul_size((size_t)g->B, sizeof(double), &a8) || !align_sz(a8, &a8) || !align_sz((size_t)g->B, &m) ||
        !qdml_add_size(a8, a8, &g->par_off_m) || !qdml_add_size(g->par_off_m, m, &g->par_bytes)) {
        return qdml_fail(NULL, QDML_ERR_OVERFLOW, "batch %lld overflows the parameter buffer size",
                         (long long)d->batch);
    }
    g->par_off_b = a8;
    return QDML_OK;
}

/* Sizes, offsets and total of the device allocation for a cuFFT work area of fft_ws bytes. */
bool device_layout(const geometry &g, size_t fft_ws, size_t off[L_COUNT], size_t *total) {
    size_t sz[L_COUNT];
    size_t t = (size_t)g.total;
    bool ok = qdml_mul_size(t, g.csz, &sz[L_PSI]);
    sz[L_WORK] = sz[L_BACKUP] = sz[L_EVH] = sz[L_EVF] = sz[L_PSI];
    ok = ok && qdml_mul_size(t, g.rsz, &sz[L_V]);
    size_t kt;
    ok = ok && qdml_mul_size((size_t)g.B, (size_t)g.ksum, &kt) && qdml_mul_size(kt, g.csz, &sz[L_KTAB]);
    ok = ok && qdml_mul_size((size_t)g.ksum, sizeof(double), &sz[L_XT]);
    sz[L_K2T] = sz[L_XT];
    size_t pf;
    ok = ok && qdml_mul_size((size_t)g.P, kFields, &pf) && qdml_mul_size(pf, sizeof(double), &sz[L_PART]);
    ok = ok && qdml_mul_size((size_t)g.P, sizeof(i64), &sz[L_PIMAX]);
    ok = ok && qdml_mul_size((size_t)g.B, sizeof(double), &sz[L_RED]);
    sz[L_ENERGY] = sz[L_RED];
    ok = ok && qdml_mul_size((size_t)g.B, sizeof(qdml_moments), &sz[L_MOM]);
    sz[L_PARAMS] = g.par_bytes;
    sz[L_FLUSH] = (size_t)g.B;
    sz[L_SCALE] = sz[L_RED];
    ok = ok && qdml_mul_size((size_t)g.B + 1, sizeof(i64), &sz[L_STOP]);
    sz[L_FFTWORK] = fft_ws;
    if (!ok) return false;
    size_t at = 0;
    for (int k = 0; k < L_COUNT; ++k) {
        off[k] = at;
        size_t a;
        if (!align_sz(sz[k], &a) || !qdml_add_size(at, a, &at)) return false;
    }
    *total = at;
    return true;
}

/* Transform axes: the internal axes of more than one point (a length-1 DFT is the identity, and
 * dropping such axes leaves the C-order layout of the others unchanged). rank 0: N == 1, no FFT. */
int fft_dims(const qdml_backend_desc *d, long long dims[3]) {
    int r = 0;
    for (int a = 0; a < 3; ++a)
        if (d->n[a] > 1) dims[r++] = d->n[a];
    return r;
}

/* The batched in-place plan of a problem (on a handle made with auto-allocation off); *ws its work
 * area. One function for the backend and for the benchmarks' reference, so both time one plan. */
cufftResult make_plan(cufftHandle h, const qdml_backend_desc *d, const geometry &g, size_t *ws) {
    long long dims[3];
    const int rank = fft_dims(d, dims);
    return cufftMakePlanMany64(h, rank, dims, NULL, 1, (long long)g.N, NULL, 1, (long long)g.N, fft_type(g),
                               (long long)g.B, ws);
}

/* cuFFT work area of the batched plan as cuFFT estimates it before planning (asked of cuFFT when a
 * device is present), else one more complex buffer, typical of cuFFT's in-place multi-dimensional
 * and Bluestein work areas. false on overflow. */
bool fft_work_estimate(const qdml_backend_desc *desc, const geometry &g, size_t *ws) {
    long long dims[3];
    const int rank = fft_dims(desc, dims);
    *ws = 0;
    if (rank == 0) return true;
    if (qdml_cuda_device_count() > 0) {
        int have = 0;
        cufftHandle h;
        if (cufftCreate(&h) == CUFFT_SUCCESS) {
            size_t w = 0;
            if (cufftGetSizeMany64(h, rank, dims, NULL, 1, (long long)g.N, NULL, 1, (long long)g.N, fft_type(g),
                                   (long long)g.B, &w) == CUFFT_SUCCESS) {
                *ws = w;
                have = 1;
            }
            (void)cufftDestroy(h);
        }
        (void)cudaGetLastError();
        if (have) return true;
    }
    return qdml_mul_size((size_t)g.total, g.csz, ws);
}

} /* namespace qdml_cuda */

/* ---- device queries -------------------------------------------------------------------------- */

extern "C" int qdml_cuda_device_count(void) {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return n > 0 ? n : 0;
}

extern "C" int qdml_cuda_why_none(char *buf, size_t len) {
    if (buf && len) buf[0] = '\0';
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaSuccess && n > 0) return 0;
    if (buf && len) {
        if (e == cudaSuccess || e == cudaErrorNoDevice)
            snprintf(buf, len, "no CUDA device: the driver reports none");
        else if (e == cudaErrorInsufficientDriver)
            snprintf(buf, len, "no CUDA driver, or one older than this CUDA runtime (%s: %s)", cudaGetErrorName(e),
                     cudaGetErrorString(e));
        else
            snprintf(buf, len, "the CUDA driver failed (%s: %s)", cudaGetErrorName(e), cudaGetErrorString(e));
    }
    (void)cudaGetLastError();
    return 1;
}

extern "C" int qdml_cuda_device_info(int index, char *name, size_t namelen, size_t *total_bytes) {
    if (name && namelen) name[0] = '\0';
    if (total_bytes) *total_bytes = 0;
    const int n = qdml_cuda_device_count();
    if (index < 0 || index >= n) return -1;
    cudaDeviceProp prop;
    const cudaError_t e = cudaGetDeviceProperties(&prop, index);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return -1;
    }
    if (name && namelen) snprintf(name, namelen, "%s", prop.name);
    if (total_bytes) *total_bytes = prop.totalGlobalMem;
    return 0;
}

extern "C" qdml_status qdml_cuda_bytes_needed(const qdml_backend_desc *desc, size_t *bytes) {
    if (!desc || !bytes) return QDML_ERR_INVALID_ARGUMENT;
    *bytes = 0;
    geometry g;
    const qdml_status st = make_geometry(desc, &g);
    if (st != QDML_OK) return st;
    size_t ws = 0;
    if (!fft_work_estimate(desc, g, &ws)) return QDML_ERR_OVERFLOW;
    size_t off[L_COUNT];
    if (!device_layout(g, ws, off, bytes)) return QDML_ERR_OVERFLOW;
    return QDML_OK;
}
