/* CUDA backend: the ops of host/backend.h on one GPU, float64 or float32 (desc->precision).
 *
 * - Memory: one device allocation per problem (state, work, backup, evh, evf, potential, tables,
 *   reduction scratch, parameters, cuFFT work area) made in create and freed in destroy, and one
 *   pinned host allocation (staging for member copies, a ring of parameter slots, results).
 * - Precision: float32 stores psi, work, backup, evh, evf, V and the kinetic factor tables as
 *   float (complex: float2) and transforms with C2C plans; float64 stores double and uses Z2Z.
 *   The kernels are templates on the element type. Step factors are computed in double and rounded
 *   once; every reduction (norms, moments, distances) accumulates in double in both precisions.
 *   The coordinate and k^2 tables (n0 + n1 + n2 entries) stay double. Host arrays are double in
 *   both: float32 transfers convert on the host, inside the pinned staging buffers.
 * - FFT: one batched cuFFT plan (B transforms of the grid, distance N) with our work area,
 *   executed in place on psi (fft op) or on work (moments).
 * - Everything runs on one stream owned by the state; the host waits only where it reads results
 *   (kick norms, moments, distance, get_state/get_potential, the stops of a renormalised steps
 *   call). The steps op keeps renormalisation on the device and replays steps from CUDA graphs.
 * - Per-element math comes from pointwise.h; loop bodies and index math from backend_cuda_math.cuh.
 *   Per-member reductions: one warp per (member, segment) writes partials, then one warp per
 *   member sums them in a fixed order, so results do not depend on scheduling.
 *
 * The CPU backend (host/backend_cpu.c) is the reference: each op computes the same quantities.
 *
 * This file: transfers, create/destroy and the ops, with the kernels (backend_cuda_kernels.cuh)
 * they launch. Elsewhere: the private state and shared declarations (cuda_private.cuh), errors and
 * device selection (backend_cuda_errors.cu), sizes, geometry and device queries
 * (backend_cuda_geometry.cu), gram / combine and the cuBLAS loader (backend_cuda_blas.cu), the
 * steps op (backend_cuda_steps.cu), the block-vector ops of LOBPCG (backend_cuda_vectors.cu), the
 * exported ops table (backend_cuda_table.cu), the benchmarks' reference times
 * (backend_cuda_reference.cu). The files use each other one way, without circles: errors, then
 * geometry, then this file, then blas, steps and vectors, then the table; the reference uses the
 * geometry and the errors only.
 */
#include <cuda_runtime.h>
#include <cufft.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_private.cuh"
#include "backend_cuda_kernels.cuh"

static_assert(sizeof(qdml_c64) == sizeof(cufftDoubleComplex), "qdml_c64 must match cufftDoubleComplex");
static_assert(sizeof(qdml_c64) == sizeof(double2), "qdml_c64 must match double2");
static_assert(sizeof(c32) == sizeof(cufftComplex) && sizeof(c32) == sizeof(float2), "c32 must match float2");

namespace {

/* ---- host <-> device transfers --------------------------------------------------------------- */

/* Host array -> device through the pinned staging halves, without waiting for the copies: a half
 * is refilled only after the copy that last used it has finished. */
qdml_status upload(qdml_backend_state *s, void *dst, const void *src, size_t bytes) {
    size_t off = 0;
    while (off < bytes) {
        const int k = s->stage_next;
        s->stage_next ^= 1;
        const size_t len = bytes - off < s->stage_bytes ? bytes - off : s->stage_bytes;
        CUDA_TRY(cudaEventSynchronize, (s->stage_ev[k]));
        memcpy(s->stage[k], (const unsigned char *)src + off, len);
        CUDA_TRY(cudaMemcpyAsync, ((unsigned char *)dst + off, s->stage[k], len, cudaMemcpyHostToDevice, s->stream));
        CUDA_TRY(cudaEventRecord, (s->stage_ev[k], s->stream));
        off += len;
    }
    return QDML_OK;
}

/* Device -> host array through the staging halves, double-buffered; returns when all is copied. */
qdml_status download(qdml_backend_state *s, void *dst, const void *src, size_t bytes) {
    size_t off = 0, prev_off = 0, prev_len = 0;
    int prev_k = -1;
    while (off < bytes) {
        const int k = s->stage_next;
        s->stage_next ^= 1;
        const size_t len = bytes - off < s->stage_bytes ? bytes - off : s->stage_bytes;
        /* Stream order puts this copy after any earlier upload from the same half. */
        CUDA_TRY(cudaMemcpyAsync,
                 (s->stage[k], (const unsigned char *)src + off, len, cudaMemcpyDeviceToHost, s->stream));
        CUDA_TRY(cudaEventRecord, (s->stage_ev[k], s->stream));
        if (prev_k >= 0) {
            CUDA_TRY(cudaEventSynchronize, (s->stage_ev[prev_k]));
            memcpy((unsigned char *)dst + prev_off, s->stage[prev_k], prev_len);
        }
        prev_k = k;
        prev_off = off;
        prev_len = len;
        off += len;
    }
    if (prev_k >= 0) {
        CUDA_TRY(cudaEventSynchronize, (s->stage_ev[prev_k]));
        memcpy((unsigned char *)dst + prev_off, s->stage[prev_k], prev_len);
    }
    return QDML_OK;
}

/* float32: `count` host doubles -> device floats. Each chunk is rounded to float on the host
 * straight into a pinned staging half (so the copy moves 4 bytes per value), then copied without
 * waiting, as upload(). */
qdml_status upload_f32(qdml_backend_state *s, float *dst, const double *src, size_t count) {
    const size_t per = s->stage_bytes / sizeof(float);
    size_t off = 0;
    while (off < count) {
        const int k = s->stage_next;
        s->stage_next ^= 1;
        const size_t len = count - off < per ? count - off : per;
        CUDA_TRY(cudaEventSynchronize, (s->stage_ev[k]));
        float *st = (float *)s->stage[k];
        const double *from = src + off;
        for (size_t j = 0; j < len; ++j)
            st[j] = (float)from[j];
        CUDA_TRY(cudaMemcpyAsync, (dst + off, st, len * sizeof(float), cudaMemcpyHostToDevice, s->stream));
        CUDA_TRY(cudaEventRecord, (s->stage_ev[k], s->stream));
        off += len;
    }
    return QDML_OK;
}

/* float32: `count` device floats -> host doubles, double-buffered as download(); each chunk is
 * widened from the staging half once its copy has finished. */
qdml_status download_f32(qdml_backend_state *s, double *dst, const float *src, size_t count) {
    const size_t per = s->stage_bytes / sizeof(float);
    size_t off = 0, prev_off = 0, prev_len = 0;
    int prev_k = -1;
    for (;;) {
        int k = -1;
        size_t len = 0;
        if (off < count) {
            k = s->stage_next;
            s->stage_next ^= 1;
            len = count - off < per ? count - off : per;
            CUDA_TRY(cudaMemcpyAsync, (s->stage[k], src + off, len * sizeof(float), cudaMemcpyDeviceToHost, s->stream));
            CUDA_TRY(cudaEventRecord, (s->stage_ev[k], s->stream));
        }
        if (prev_k >= 0) {
            CUDA_TRY(cudaEventSynchronize, (s->stage_ev[prev_k]));
            const float *st = (const float *)s->stage[prev_k];
            double *to = dst + prev_off;
            for (size_t j = 0; j < prev_len; ++j)
                to[j] = (double)st[j];
        }
        if (k < 0) break;
        prev_k = k;
        prev_off = off;
        prev_len = len;
        off += len;
    }
    return QDML_OK;
}

} /* namespace */

namespace qdml_cuda {

/* Per-call parameters (scales, masks): fill a pinned ring slot, then copy it to the device
 * parameter buffer on the stream. Stream order keeps the previous op's kernels ahead of the
 * overwrite; the slot's event keeps the host from refilling a slot still being copied. */
qdml_status params_acquire(qdml_backend_state *s, unsigned char **slot, int *k) {
    *k = s->ring_next;
    s->ring_next = (s->ring_next + 1) % kRing;
    CUDA_TRY(cudaEventSynchronize, (s->ring_ev[*k]));
    *slot = s->ring[*k];
    return QDML_OK;
}

qdml_status params_commit(qdml_backend_state *s, int k) {
    CUDA_TRY(cudaMemcpyAsync, (s->dpar, s->ring[k], s->g.par_bytes, cudaMemcpyHostToDevice, s->stream));
    CUDA_TRY(cudaEventRecord, (s->ring_ev[k], s->stream));
    return QDML_OK;
}

/* Copy B results (bytes each) from the device to the pinned result buffer and wait. */
qdml_status fetch_results(qdml_backend_state *s, const void *src, size_t bytes) {
    CUDA_TRY(cudaMemcpyAsync, (s->hres, src, bytes, cudaMemcpyDeviceToHost, s->stream));
    CUDA_TRY(cudaStreamSynchronize, (s->stream));
    return QDML_OK;
}

} /* namespace qdml_cuda */

namespace {

/* Upload up to two per-member double arrays (a -> doubles A, bb -> doubles B) and a mask. */
qdml_status params_upload(qdml_backend_state *s, const double *a, const double *bb, const unsigned char *mask) {
    unsigned char *slot = NULL;
    int k;
    qdml_status st = params_acquire(s, &slot, &k);
    if (st != QDML_OK) return st;
    const size_t B = (size_t)s->g.B;
    if (a) memcpy(slot, a, B * sizeof(double));
    if (bb) memcpy(slot + s->g.par_off_b, bb, B * sizeof(double));
    if (mask) memcpy(slot + s->g.par_off_m, mask, B);
    return params_commit(s, k);
}

/* A state array as the element type of the problem's precision. */
template <typename C> C *cbuf(void *p) { return static_cast<C *>(p); }
template <typename C> typename real_of<C>::type *rbuf(void *p) { return static_cast<typename real_of<C>::type *>(p); }

/* ---- create / destroy ------------------------------------------------------------------------ */

void destroy_state(qdml_backend_state *s) {
    if (!s) return;
    int prev = -1;
    if (cudaGetDevice(&prev) != cudaSuccess) prev = -1;
    if (prev != s->dev) (void)cudaSetDevice(s->dev);
    if (s->stream) (void)cudaStreamSynchronize(s->stream);
    for (int k = 0; k < kGraphKinds; ++k)
        if (s->graph[k]) (void)cudaGraphExecDestroy(s->graph[k]);
    if (s->have_plan) (void)cufftDestroy(s->plan);
    if (s->have_blas) (void)s->blas_destroy(s->blas);
    if (s->dsmall) (void)cudaFree(s->dsmall);
    if (s->vmem) (void)cudaFree(s->vmem);
    if (s->vscratch) (void)cudaFree(s->vscratch);
    if (s->vhost) (void)cudaFreeHost(s->vhost);
    if (s->dmem) (void)cudaFree(s->dmem);
    if (s->hmem) (void)cudaFreeHost(s->hmem);
    for (int k = 0; k < 2; ++k)
        if (s->stage_ev[k]) (void)cudaEventDestroy(s->stage_ev[k]);
    for (int k = 0; k < kRing; ++k)
        if (s->ring_ev[k]) (void)cudaEventDestroy(s->ring_ev[k]);
    if (s->stream) (void)cudaStreamDestroy(s->stream);
    free(s->hflush);
    /* A failure above leaves an error that is not the caller's: clear it. */
    (void)cudaGetLastError();
    if (prev >= 0 && prev != s->dev) (void)cudaSetDevice(prev);
    free(s);
}

/* The problem does not fit in the device's free memory. */
qdml_status fail_too_big(qdml_backend_state *s, size_t free_b, size_t total_b, size_t needed, size_t fft_ws) {
    return qdml_fail(
        NULL, QDML_ERR_OUT_OF_MEMORY,
        "CUDA device %d has %zu bytes free (of %zu) but this problem needs %zu bytes (%lld points x %lld "
        "members, %s: 5 complex buffers, potential, tables, reduction scratch, cuFFT work area of %zu bytes)",
        s->dev, free_b, total_b, needed, (long long)s->g.N, (long long)s->g.B, s->g.f32 ? "float32" : "float64",
        fft_ws);
}

/* Identity potential factors and kinetic tables, so an unset member is harmless. */
template <typename C> qdml_status fill_identity(qdml_backend_state *s) {
    const geometry &g = s->g;
    LAUNCH(k_fill<C>, flat_grid(s, g.total), cbuf<C>(s->evh), g.total, 1.0, 0.0);
    LAUNCH(k_fill<C>, flat_grid(s, g.total), cbuf<C>(s->evf), g.total, 1.0, 0.0);
    LAUNCH(k_fill<C>, flat_grid(s, g.B * g.ksum), cbuf<C>(s->ktab), g.B * g.ksum, 1.0, 0.0);
    return QDML_OK;
}

/* Everything of create after the state exists. */
qdml_status create_body(qdml_backend_state *s) {
    const geometry &g = s->g;
    const qdml_backend_desc *d = &s->d;

    /* A context that names its device (an MPI rank takes the device of its node-local rank) makes it the
     * calling thread's current device; otherwise the current one is used. */
    if (d->device >= 0) CUDA_TRY(cudaSetDevice, (d->device));
    CUDA_TRY(cudaGetDevice, (&s->dev));
    int sms = 0;
    CUDA_TRY(cudaDeviceGetAttribute, (&sms, cudaDevAttrMultiProcessorCount, s->dev));
    s->flat_blocks = (sms > 0 ? sms : 1) * (2048 / kBlock) * 2;
    {
        const char *gv = getenv("QDML_CUDA_GRAPHS");
        if (gv && *gv && strcmp(gv, "0") != 0 && strcmp(gv, "1") != 0) {
            return qdml_fail(
                NULL, QDML_ERR_INVALID_ARGUMENT,
                "the environment variable QDML_CUDA_GRAPHS is '%.100s': it must be 0 (launch every kernel of "
                "a step on its own) or 1 (replay captured steps, and fail where a step cannot be captured); "
                "unset, steps are replayed where capture works",
                gv);
        }
        s->graphs = (gv && *gv) ? (gv[0] == '1') : -1;
        const char *sv = getenv("QDML_CUDA_SYNC");
        if (sv && *sv && strcmp(sv, "0") != 0 && strcmp(sv, "1") != 0)
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                             "the environment variable QDML_CUDA_SYNC is '%.100s': it must be 1 (wait for every op's "
                             "device work and check it, to name the op behind a device fault) or 0 (unset: ops "
                             "return without waiting)",
                             sv);
        s->sync_ops = sv && sv[0] == '1';
    }
    CUDA_TRY(cudaStreamCreateWithFlags, (&s->stream, cudaStreamNonBlocking));

    size_t off[L_COUNT];
    size_t free_b = 0, total_b = 0;
    CUDA_TRY(cudaMemGetInfo, (&free_b, &total_b));
    /* A problem whose buffers alone exceed the free memory fails before anything is planned, with
     * the numbers (the total reported is qdml_cuda_bytes_needed's), not inside cuFFT's planner. */
    {
        size_t lower = 0;
        if (!device_layout(g, 0, off, &lower)) {
            return qdml_fail(NULL, QDML_ERR_OVERFLOW, "device memory size of %lld points x %lld members overflows",
                             (long long)g.N, (long long)g.B);
        }
        if (lower > free_b) {
            size_t ws = 0, est = 0;
            if (!fft_work_estimate(d, g, &ws) || !device_layout(g, ws, off, &est)) {
                ws = 0;
                est = lower;
            }
            return fail_too_big(s, free_b, total_b, est, ws);
        }
    }

    /* FFT plan: its exact work size is part of what must fit. */
    long long dims[3];
    const int rank = fft_dims(d, dims);
    s->fft_ws = 0;
    if (rank > 0) {
        CUFFT_TRY(cufftCreate, (&s->plan));
        s->have_plan = 1;
        CUFFT_TRY(cufftSetAutoAllocation, (s->plan, 0));
        size_t ws = 0;
        const cufftResult made = make_plan(s->plan, d, g, &ws);
        if (made != CUFFT_SUCCESS) return fail_fft("cufftMakePlanMany64", made);
        s->fft_ws = ws;
        CUFFT_TRY(cufftSetStream, (s->plan, s->stream));
    }

    if (!device_layout(g, s->fft_ws, off, &s->dbytes)) {
        return qdml_fail(NULL, QDML_ERR_OVERFLOW, "device memory size of %lld points x %lld members overflows",
                         (long long)g.N, (long long)g.B);
    }
    CUDA_TRY(cudaMemGetInfo, (&free_b, &total_b)); /* again: the plan may hold device memory */
    if (s->dbytes > free_b) return fail_too_big(s, free_b, total_b, s->dbytes, s->fft_ws);
    {
        const cudaError_t e = cudaMalloc(&s->dmem, s->dbytes);
        if (e != cudaSuccess) {
            s->dmem = NULL;
            (void)cudaGetLastError();
            return qdml_fail(NULL, e == cudaErrorMemoryAllocation ? QDML_ERR_OUT_OF_MEMORY : QDML_ERR_BACKEND,
                             "cudaMalloc of %zu bytes on CUDA device %d failed: %s (%s; %zu bytes were "
                             "reported free)",
                             s->dbytes, s->dev, cudaGetErrorName(e), cudaGetErrorString(e), free_b);
        }
    }
    unsigned char *base = (unsigned char *)s->dmem;
    s->psi = base + off[L_PSI];
    s->work = base + off[L_WORK];
    s->backup = base + off[L_BACKUP];
    s->evh = base + off[L_EVH];
    s->evf = base + off[L_EVF];
    s->v = base + off[L_V];
    s->ktab = base + off[L_KTAB];
    s->xt = (double *)(base + off[L_XT]);
    s->k2t = (double *)(base + off[L_K2T]);
    s->part = (double *)(base + off[L_PART]);
    s->pimax = (i64 *)(base + off[L_PIMAX]);
    s->red = (double *)(base + off[L_RED]);
    s->energy = (double *)(base + off[L_ENERGY]);
    s->mom = (qdml_moments *)(base + off[L_MOM]);
    s->dpar = base + off[L_PARAMS];
    s->dflush = base + off[L_FLUSH];
    s->sscale = (double *)(base + off[L_SCALE]);
    s->sstop = (i64 *)(base + off[L_STOP]);
    s->hflush = (unsigned char *)calloc((size_t)g.B, 1);
    if (!s->hflush) {
        return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "cannot allocate %lld bytes of host flags", (long long)g.B);
    }
    if (s->have_plan && s->fft_ws > 0) CUFFT_TRY(cufftSetWorkArea, (s->plan, base + off[L_FFTWORK]));

    /* Pinned host memory: 2 staging halves, kRing parameter slots, the result buffer. */
    size_t stage = 0, member_bytes = 0, hres = 0, hbytes = 0;
    (void)qdml_mul_size((size_t)g.N, g.csz, &member_bytes); /* <= 16 * total: checked in make_geometry */
    stage = member_bytes < kStageMax ? member_bytes : kStageMax;
    (void)align_sz(stage, &stage);
    (void)qdml_mul_size((size_t)g.B, sizeof(qdml_moments), &hres); /* <= device layout sizes: no overflow */
    (void)align_sz(hres, &hres);
    size_t ring_total = 0;
    if (!qdml_mul_size(g.par_bytes, kRing, &ring_total) || !qdml_add_size(2 * stage, ring_total, &hbytes) ||
        !qdml_add_size(hbytes, hres, &hbytes)) {
        return qdml_fail(NULL, QDML_ERR_OVERFLOW, "pinned host buffer size overflows (batch %lld)", (long long)g.B);
    }
    {
        const cudaError_t e = cudaMallocHost(&s->hmem, hbytes);
        if (e != cudaSuccess) {
            s->hmem = NULL;
            (void)cudaGetLastError();
            return qdml_fail(NULL, e == cudaErrorMemoryAllocation ? QDML_ERR_OUT_OF_MEMORY : QDML_ERR_BACKEND,
                             "cudaMallocHost of %zu bytes of pinned host memory failed: %s (%s)", hbytes,
                             cudaGetErrorName(e), cudaGetErrorString(e));
        }
    }
    unsigned char *h = (unsigned char *)s->hmem;
    s->stage_bytes = stage;
    s->stage[0] = h;
    s->stage[1] = h + stage;
    for (int k = 0; k < kRing; ++k)
        s->ring[k] = h + 2 * stage + (size_t)k * g.par_bytes;
    s->hres = h + 2 * stage + ring_total;
    memset(s->hmem, 0, hbytes);
    for (int k = 0; k < 2; ++k)
        CUDA_TRY(cudaEventCreateWithFlags, (&s->stage_ev[k], cudaEventDisableTiming));
    for (int k = 0; k < kRing; ++k)
        CUDA_TRY(cudaEventCreateWithFlags, (&s->ring_ev[k], cudaEventDisableTiming));

    /* Initial contents: zeros everywhere (psi 0 like the CPU backend), identity factors and
     * kinetic tables so an unset member is harmless, the coordinate and k^2 tables. */
    CUDA_TRY(cudaMemsetAsync, (s->dmem, 0, s->dbytes, s->stream));
    const qdml_status fst = g.f32 ? fill_identity<c32>(s) : fill_identity<qdml_c64>(s);
    if (fst != QDML_OK) return fst;

    double *tab = (double *)malloc(2 * (size_t)g.ksum * sizeof(double));
    if (!tab) {
        return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes of host tables",
                         2 * (size_t)g.ksum * sizeof(double));
    }
    /* Same expressions as the CPU backend, on the host, so the tables agree to the last bit. */
    i64 at = 0;
    for (int a = 0; a < 3; ++a)
        for (i64 j = 0; j < d->n[a]; ++j, ++at) {
            tab[at] = qdml_grid_point(d->lo[a], d->length[a], j, d->n[a]);
            const double k = qdml_wavenumber(j, d->n[a], d->length[a]);
            tab[g.ksum + at] = k * k;
        }
    cudaError_t e1 = cudaMemcpyAsync(s->xt, tab, (size_t)g.ksum * sizeof(double), cudaMemcpyHostToDevice, s->stream);
    cudaError_t e2 = e1 == cudaSuccess ? cudaMemcpyAsync(s->k2t, tab + g.ksum, (size_t)g.ksum * sizeof(double),
                                                         cudaMemcpyHostToDevice, s->stream)
                                       : e1;
    /* The pageable source must outlive the copies: wait before freeing it. */
    cudaError_t e3 = cudaStreamSynchronize(s->stream);
    free(tab);
    if (e2 != cudaSuccess) return fail_cuda("cudaMemcpyAsync", e2);
    if (e3 != cudaSuccess) return fail_cuda("cudaStreamSynchronize", e3);
    return QDML_OK;
}

} /* namespace */

/* ---- ops ------------------------------------------------------------------------------------- */

namespace qdml_cuda {

qdml_status cu_create(const qdml_backend_desc *desc, qdml_backend_state **out) {
    if (!desc || !out) return fail_internal("cuda backend create: desc or out is NULL");
    *out = NULL;
    qdml_backend_state *s = (qdml_backend_state *)calloc(1, sizeof *s);
    if (!s) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "cannot allocate the CUDA backend state");
    s->d = *desc;
    s->dev = -1;
    qdml_status st = make_geometry(desc, &s->g);
    if (st == QDML_OK && qdml_cuda_device_count() < 1)
        st = qdml_fail(NULL, QDML_ERR_UNAVAILABLE,
                       "no CUDA device is available (no driver, no device, or CUDA_VISIBLE_DEVICES hides them)");
    if (st == QDML_OK) {
        s->sh = make_shape3(desc->n[0], desc->n[1], desc->n[2]);
        /* On failure the current device is the one create found; restore nothing else. */
        st = create_body(s);
    }
    if (st != QDML_OK) {
        if (s->dev < 0) {
            /* Never reached cudaGetDevice: no CUDA resources were made. */
            free(s);
        } else {
            destroy_state(s);
        }
        return st;
    }
    *out = s;
    return QDML_OK;
}

void cu_destroy(qdml_backend_state *s) { destroy_state(s); }

} /* namespace qdml_cuda */

namespace {

bool member_ok(const qdml_backend_state *s, int64_t b) { return b >= 0 && b < s->g.B; }

qdml_status set_state_impl(qdml_backend_state *s, int64_t b, const double *psi) {
    if (!member_ok(s, b) || !psi) return fail_internal("set_state: member out of range or NULL array");
    const i64 N = s->g.N;
    if (s->g.f32) return upload_f32(s, (float *)(cbuf<c32>(s->psi) + b * N), psi, 2 * (size_t)N);
    return upload(s, cbuf<qdml_c64>(s->psi) + b * N, psi, (size_t)N * sizeof(qdml_c64));
}

qdml_status get_state_impl(qdml_backend_state *s, int64_t b, double *psi) {
    if (!member_ok(s, b) || !psi) return fail_internal("get_state: member out of range or NULL array");
    const i64 N = s->g.N;
    if (s->g.f32) return download_f32(s, psi, (const float *)(cbuf<c32>(s->psi) + b * N), 2 * (size_t)N);
    return download(s, psi, cbuf<qdml_c64>(s->psi) + b * N, (size_t)N * sizeof(qdml_c64));
}

qdml_status set_potential_impl(qdml_backend_state *s, int64_t b, const double *v) {
    if (!member_ok(s, b) || !v) return fail_internal("set_potential: member out of range or NULL array");
    const i64 N = s->g.N;
    if (s->g.f32) return upload_f32(s, rbuf<c32>(s->v) + b * N, v, (size_t)N);
    return upload(s, rbuf<qdml_c64>(s->v) + b * N, v, (size_t)N * sizeof(double));
}

qdml_status get_potential_impl(qdml_backend_state *s, int64_t b, double *v) {
    if (!member_ok(s, b) || !v) return fail_internal("get_potential: member out of range or NULL array");
    const i64 N = s->g.N;
    if (s->g.f32) return download_f32(s, v, rbuf<c32>(s->v) + b * N, (size_t)N);
    return download(s, v, rbuf<qdml_c64>(s->v) + b * N, (size_t)N * sizeof(double));
}

template <typename C> qdml_status set_step_impl(qdml_backend_state *s, int64_t b, const qdml_step_params *p) {
    if (!member_ok(s, b) || !p) return fail_internal("set_step: member out of range or NULL params");
    if (p->vgrad != 0.0)
        return qdml_fail(NULL, QDML_ERR_UNAVAILABLE,
                         "set_step: Chin's modified potential V + c |grad V|^2 (QDML_SPLIT_CHIN4) is not written for "
                         "the CUDA backend yet: use the CPU backend, or another splitting");
    const i64 N = s->g.N;
    const double c = qdml_half_step_rate(p->dt, p->hbar);
    const double kdt = p->kdt != 0.0 ? p->kdt : p->dt;
    LAUNCH(k_step_potential<C>, flat_grid(s, N), rbuf<C>(s->v) + b * N, cbuf<C>(s->evh) + b * N,
           cbuf<C>(s->evf) + b * N, N, c, p->vshift, p->imaginary);
    LAUNCH(k_step_kinetic<C>, flat_grid(s, s->g.ksum), cbuf<C>(s->ktab) + b * s->g.ksum, s->k2t, s->g.ksum,
           p->imaginary, p->hbar, p->mass, kdt, p->potential_only);
    const unsigned char flag = p->flush_tiny ? 1 : 0;
    if (flag != s->hflush[b]) {
        CUDA_TRY(cudaMemsetAsync, (s->dflush + b, flag, 1, s->stream));
        s->nflush += flag ? 1 : -1;
        s->hflush[b] = flag;
    }
    return QDML_OK;
}

} /* namespace */

/* ---- launches shared by the single ops and the steps op -------------------------------------- */

namespace qdml_cuda {

/* The kick kernels on the device mask dmask (NULL: all members): psi *= the half or full factor,
 * with the per-segment norms in part where `norms`. */
template <typename C> qdml_status launch_kick(qdml_backend_state *s, int full, const unsigned char *dmask, int norms) {
    const geometry &g = s->g;
    C *psi = cbuf<C>(s->psi);
    const C *f = cbuf<C>(full ? s->evf : s->evh);
    const unsigned char *dflush = s->nflush > 0 ? s->dflush : NULL;
    if (norms) {
        LAUNCH(k_kick_norm<C>, warp_grid(g.P), psi, f, g.N, g.cpm, g.P, dmask, dflush, s->part);
    } else {
        const unsigned grid = flat_grid(s, g.total);
        LAUNCH(k_kick<C>, grid, psi, f, g.total, g.N, dmask, dflush, make_flat_stride((i64)grid * kBlock, s->sh));
    }
    return QDML_OK;
}

/* The kinetic kernel with per-member scales `dscale` and mask `dmask` (device pointers); count as
 * k_kinetic. */
template <typename C>
qdml_status launch_kinetic(qdml_backend_state *s, const double *dscale, const unsigned char *dmask, i64 *count) {
    const geometry &g = s->g;
    const unsigned grid = flat_grid(s, g.total);
    LAUNCH(k_kinetic<C>, grid, cbuf<C>(s->psi), cbuf<C>(s->ktab), g.ksum, dscale, dmask,
           s->nflush > 0 ? s->dflush : NULL, 1.0 / (double)g.N, g.total, s->sh,
           make_flat_stride((i64)grid * kBlock, s->sh), count);
    return QDML_OK;
}

/* The scale kernel: psi *= dscale[b] on the members of the device mask dmask (NULL: all). */
template <typename C>
qdml_status launch_scale(qdml_backend_state *s, const double *dscale, const unsigned char *dmask) {
    const geometry &g = s->g;
    const unsigned grid = flat_grid(s, g.total);
    LAUNCH(k_scale<C>, grid, cbuf<C>(s->psi), dscale, g.total, g.N, dmask, make_flat_stride((i64)grid * kBlock, s->sh));
    return QDML_OK;
}

/* Steps op: the kick's norms turned into the scales of the next kinetic factor and the stop record
 * (k_fin_scale) on the members of dmask (NULL: all); count as k_kinetic. */
qdml_status launch_fin_scale(qdml_backend_state *s, const unsigned char *dmask, double dv, const i64 *count) {
    const geometry &g = s->g;
    LAUNCH(k_fin_scale, fin_grid(g), s->part, g.cpm, g.B, dmask, dv, count, s->sscale, s->sstop);
    return QDML_OK;
}

/* In-place transform of every member of a state array (psi or work) with the problem's plan. */
qdml_status exec_fft(qdml_backend_state *s, void *data, int direction) {
    if (!s->have_plan) return QDML_OK; /* one point per member: the DFT is the identity */
    if (s->g.f32) {
        cufftComplex *p = static_cast<cufftComplex *>(data);
        CUFFT_TRY(cufftExecC2C, (s->plan, p, p, direction));
    } else {
        cufftDoubleComplex *p = static_cast<cufftDoubleComplex *>(data);
        CUFFT_TRY(cufftExecZ2Z, (s->plan, p, p, direction));
    }
    return QDML_OK;
}

template qdml_status launch_kick<qdml_c64>(qdml_backend_state *, int, const unsigned char *, int);
template qdml_status launch_kick<c32>(qdml_backend_state *, int, const unsigned char *, int);
template qdml_status launch_kinetic<qdml_c64>(qdml_backend_state *, const double *, const unsigned char *, i64 *);
template qdml_status launch_kinetic<c32>(qdml_backend_state *, const double *, const unsigned char *, i64 *);
template qdml_status launch_scale<qdml_c64>(qdml_backend_state *, const double *, const unsigned char *);
template qdml_status launch_scale<c32>(qdml_backend_state *, const double *, const unsigned char *);

} /* namespace qdml_cuda */

namespace {

template <typename C>
qdml_status kick_impl(qdml_backend_state *s, int full, const unsigned char *active, double *norms) {
    const geometry &g = s->g;
    const unsigned char *dmask = NULL;
    if (active) {
        const qdml_status st = params_upload(s, NULL, NULL, active);
        if (st != QDML_OK) return st;
        dmask = dpar_mask(s);
    }
    qdml_status st = launch_kick<C>(s, full, dmask, norms != NULL);
    if (st != QDML_OK || !norms) return st;
    LAUNCH(k_fin_sum, fin_grid(g), s->part, g.cpm, g.B, dmask, s->red);
    if ((st = fetch_results(s, s->red, (size_t)g.B * sizeof(double))) != QDML_OK) return st;
    memcpy(norms, s->hres, (size_t)g.B * sizeof(double));
    return QDML_OK;
}

qdml_status fft_impl(qdml_backend_state *s, int forward) {
    return exec_fft(s, s->psi, forward ? CUFFT_FORWARD : CUFFT_INVERSE);
}

template <typename C>
qdml_status kinetic_impl(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    if (!scale) return fail_internal("kinetic: scale is NULL");
    const qdml_status st = params_upload(s, scale, NULL, active);
    if (st != QDML_OK) return st;
    return launch_kinetic<C>(s, dpar_a(s), active ? dpar_mask(s) : NULL, NULL);
}

template <typename C> qdml_status scale_impl(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    if (!scale) return fail_internal("scale: scale is NULL");
    const qdml_status st = params_upload(s, scale, NULL, active);
    if (st != QDML_OK) return st;
    return launch_scale<C>(s, dpar_a(s), active ? dpar_mask(s) : NULL);
}

template <typename C>
qdml_status moments_impl(qdml_backend_state *s, const double *hbar, const double *mass, const unsigned char *want,
                         qdml_moments *out) {
    if (!hbar || !mass || !out) return fail_internal("moments: hbar, mass or out is NULL");
    const geometry &g = s->g;
    const double invn = 1.0 / (double)g.N;
    /* hbar^2 / 2m per member, the CPU backend's expression, into parameter array A. */
    unsigned char *slot = NULL;
    int k;
    qdml_status st = params_acquire(s, &slot, &k);
    if (st != QDML_OK) return st;
    double *cpar = (double *)slot;
    for (i64 b = 0; b < g.B; ++b)
        cpar[b] = qdml_kinetic_coefficient(hbar[b], mass[b]);
    if (want) memcpy(slot + g.par_off_m, want, (size_t)g.B);
    if ((st = params_commit(s, k)) != QDML_OK) return st;
    const unsigned char *dwant = want ? dpar_mask(s) : NULL;
    const C *psi = cbuf<C>(s->psi);
    C *w = cbuf<C>(s->work);
    const typename real_of<C>::type *v = rbuf<C>(s->v);

    LAUNCH(k_mom1<C>, warp_grid(g.P), psi, w, v, s->xt, s->sh, g.cpm, g.P, dwant, s->part, g.P, s->pimax);
    if ((st = exec_fft(s, w, CUFFT_FORWARD)) != QDML_OK) return st;
    LAUNCH(k_mom2<C>, warp_grid(g.P), w, s->k2t, dpar_a(s), invn, s->sh, g.cpm, g.P, dwant, s->part, g.P);
    LAUNCH(k_mom_fin1, warp_grid(g.B), s->part, s->pimax, g.P, g.cpm, g.B, dwant, invn, s->mom, s->energy);
    if ((st = exec_fft(s, w, CUFFT_INVERSE)) != QDML_OK) return st;
    LAUNCH(k_mom3<C>, warp_grid(g.P), psi, w, v, s->energy, g.N, g.cpm, g.P, dwant, s->part, g.P);
    LAUNCH(k_mom_fin2, warp_grid(g.B), s->part, g.P, g.cpm, g.B, dwant, s->mom);
    if ((st = fetch_results(s, s->mom, (size_t)g.B * sizeof(qdml_moments))) != QDML_OK) return st;
    memcpy(out, s->hres, (size_t)g.B * sizeof(qdml_moments));
    return QDML_OK;
}

template <typename C> qdml_status distance_impl(qdml_backend_state *s, const unsigned char *mask, double *out) {
    if (!out) return fail_internal("distance: out is NULL");
    const geometry &g = s->g;
    const unsigned char *dmask = NULL;
    if (mask) {
        const qdml_status st = params_upload(s, NULL, NULL, mask);
        if (st != QDML_OK) return st;
        dmask = dpar_mask(s);
    }
    LAUNCH(k_distance<C>, warp_grid(g.P), cbuf<C>(s->psi), cbuf<C>(s->backup), g.N, g.cpm, g.P, dmask, s->part);
    LAUNCH(k_fin_sum, fin_grid(g), s->part, g.cpm, g.B, dmask, s->red);
    const qdml_status st = fetch_results(s, s->red, (size_t)g.B * sizeof(double));
    if (st != QDML_OK) return st;
    const double *r = (const double *)s->hres;
    for (i64 b = 0; b < g.B; ++b)
        if (!mask || mask[b]) out[b] = r[b]; /* unmasked entries untouched */
    return QDML_OK;
}

template <typename C> qdml_status backup_impl(qdml_backend_state *s, int restore, const unsigned char *mask) {
    const geometry &g = s->g;
    C *src = cbuf<C>(restore ? s->backup : s->psi);
    C *dst = cbuf<C>(restore ? s->psi : s->backup);
    if (!mask) {
        CUDA_TRY(cudaMemcpyAsync, (dst, src, (size_t)g.total * sizeof(C), cudaMemcpyDeviceToDevice, s->stream));
        return QDML_OK;
    }
    const qdml_status st = params_upload(s, NULL, NULL, mask);
    if (st != QDML_OK) return st;
    const unsigned grid = flat_grid(s, g.total);
    LAUNCH(k_copy_masked<C>, grid, dst, src, g.total, g.N, dpar_mask(s), make_flat_stride((i64)grid * kBlock, s->sh));
    return QDML_OK;
}

/* Potential of member b from a built-in objective, evaluated on the device: into the member's slice
 * of the work buffer (scratch between ops; N complex values hold N reals), reduced to the summary,
 * and copied into V only when every stored value is finite. */
static_assert(sizeof(fill_acc) <= sizeof(qdml_moments), "the fill summary is returned through the moments buffer");
template <typename C>
qdml_status fill_objective_impl(qdml_backend_state *s, int64_t b, const qdml_objective *o, int dim,
                                qdml_fill_result *out) {
    if (!member_ok(s, b) || !o || !out || dim < 1 || dim > 3)
        return fail_internal("fill_objective: member out of range, NULL argument or dim outside 1..3");
    typedef typename real_of<C>::type R;
    const geometry &g = s->g;
    /* As many segments as for a batch of one (part and pimax hold P >= that many). */
    i64 nseg = segments_per_member(g.N, 1);
    if (nseg > g.P) nseg = g.P;
    R *tmp = reinterpret_cast<R *>(cbuf<C>(s->work) + b * g.N);
    fill_acc *res = reinterpret_cast<fill_acc *>(s->mom);
    LAUNCH(k_fill_objective<R>, warp_grid(nseg), tmp, *o, dim, s->xt, s->sh, nseg, s->part, g.P, s->pimax);
    LAUNCH(k_fill_fin, 1u, s->part, s->pimax, g.P, nseg, res);
    const qdml_status st = fetch_results(s, res, sizeof(fill_acc));
    if (st != QDML_OK) return st;
    fill_acc a;
    memcpy(&a, s->hres, sizeof a);
    out->vmin = a.vmin;
    out->vmax = a.vmax;
    out->first_bad = a.bad;
    if (a.bad < 0)
        CUDA_TRY(cudaMemcpyAsync, (rbuf<C>(s->v) + b * g.N, tmp, (size_t)g.N * sizeof(R), cudaMemcpyDeviceToDevice,
                                   s->stream));
    return QDML_OK;
}

} /* namespace */

namespace qdml_cuda {

qdml_status cu_set_state(qdml_backend_state *s, int64_t b, const double *psi) {
    OP_WRAP("set_state", set_state_impl(s, b, psi));
}
qdml_status cu_get_state(qdml_backend_state *s, int64_t b, double *psi) {
    OP_WRAP("get_state", get_state_impl(s, b, psi));
}
qdml_status cu_set_potential(qdml_backend_state *s, int64_t b, const double *v) {
    OP_WRAP("set_potential", set_potential_impl(s, b, v));
}
qdml_status cu_get_potential(qdml_backend_state *s, int64_t b, double *v) {
    OP_WRAP("get_potential", get_potential_impl(s, b, v));
}

qdml_status cu_set_step(qdml_backend_state *s, int64_t b, const qdml_step_params *p) {
    OP_WRAP("set_step", BY_PRECISION(set_step_impl, s, b, p));
}
qdml_status cu_kick(qdml_backend_state *s, int full, const unsigned char *active, double *norms) {
    OP_WRAP("kick", BY_PRECISION(kick_impl, s, full, active, norms));
}
qdml_status cu_fft(qdml_backend_state *s, int forward) { OP_WRAP("fft", fft_impl(s, forward)); }
qdml_status cu_kinetic(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    OP_WRAP("kinetic", BY_PRECISION(kinetic_impl, s, scale, active));
}
qdml_status cu_scale(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    OP_WRAP("scale", BY_PRECISION(scale_impl, s, scale, active));
}
qdml_status cu_moments(qdml_backend_state *s, const double *hbar, const double *mass, const unsigned char *want,
                       qdml_moments *out) {
    OP_WRAP("moments", BY_PRECISION(moments_impl, s, hbar, mass, want, out));
}
qdml_status cu_distance(qdml_backend_state *s, const unsigned char *mask, double *out) {
    OP_WRAP("distance", BY_PRECISION(distance_impl, s, mask, out));
}
qdml_status cu_backup(qdml_backend_state *s, int restore, const unsigned char *mask) {
    OP_WRAP("backup", BY_PRECISION(backup_impl, s, restore, mask));
}
qdml_status cu_fill_objective(qdml_backend_state *s, int64_t b, const qdml_objective *o, int dim,
                              qdml_fill_result *out) {
    OP_WRAP("fill_objective", BY_PRECISION(fill_objective_impl, s, b, o, dim, out));
}

} /* namespace qdml_cuda */

/* ---- exported -------------------------------------------------------------------------------- */
