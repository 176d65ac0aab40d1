/* CUDA backend: the benchmarks' reference times (qdml_cuda_reference_times and
 * qdml_cuda_copy_bandwidth in backend_cuda.h), the floors a step is measured against: two transforms
 * with the backend's own plan, and the device's copy bandwidth, both on random data (never time on
 * zeros: a kernel can run faster on them than on real data). Not used by the ops. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "cuda_private.cuh"

namespace {

/* p[i] = a number in [-1, 1) from a hash of (seed, i) (splitmix64), for i < n: the same data on every
 * run, different in every element. */
template <typename R> __global__ void __launch_bounds__(kBlock) k_random(R *p, i64 n, unsigned long long seed) {
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x) {
        unsigned long long z = seed + 0x9E3779B97F4A7C15ull * (unsigned long long)(i + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        p[i] = (R)((double)(z >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
    }
}

template <typename R> __global__ void __launch_bounds__(kBlock) k_scale_real(R *p, i64 n, double c) {
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
        p[i] = (R)((double)p[i] * c);
}

/* `bytes` of device memory as values of type R, times c. */
template <typename R> cudaError_t scale_buffer(void *p, size_t bytes, double c, cudaStream_t stream) {
    const i64 n = (i64)(bytes / sizeof(R));
    i64 blocks = (n + kBlock - 1) / kBlock;
    if (blocks > 65536) blocks = 65536;
    return launch(k_scale_real<R>, (unsigned)(blocks < 1 ? 1 : blocks), stream, (R *)p, n, c);
}

/* Fill `bytes` of device memory with random values of type R (bytes a multiple of sizeof(R)). */
template <typename R> cudaError_t fill_random(void *p, size_t bytes, unsigned long long seed, cudaStream_t stream) {
    const i64 n = (i64)(bytes / sizeof(R));
    i64 blocks = (n + kBlock - 1) / kBlock;
    if (blocks > 65536) blocks = 65536;
    return launch(k_random<R>, (unsigned)(blocks < 1 ? 1 : blocks), stream, (R *)p, n, seed);
}

} /* namespace */

/* Copy bandwidth: `copies` >= 1 device-to-device copies of `bytes` (after one to warm up), timed with
 * events on a stream of its own, counting bytes read plus written; the source holds random data. */
extern "C" qdml_status qdml_cuda_copy_bandwidth(size_t bytes, int copies, double *bytes_per_s) {
    if (bytes_per_s) *bytes_per_s = NAN;
    if (!bytes_per_s || copies < 1 || bytes < 8)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "qdml_cuda_copy_bandwidth: bytes_per_s NULL, copies = %d < 1 or bytes = %zu < 8", copies,
                         bytes);
    bytes &= ~(size_t)7;
    void *src = NULL, *dst = NULL;
    cudaStream_t stream = NULL;
    cudaEvent_t e0 = NULL, e1 = NULL;
    float ms = 0.0f;
    const char *what = NULL;
    cudaError_t ce = cudaSuccess;
#define BW_CUDA(call, args)                                                                                            \
    do {                                                                                                               \
        if ((ce = call args) != cudaSuccess) {                                                                         \
            what = #call;                                                                                              \
            goto done;                                                                                                 \
        }                                                                                                              \
    } while (0)
    BW_CUDA(cudaStreamCreateWithFlags, (&stream, cudaStreamNonBlocking));
    BW_CUDA(cudaEventCreate, (&e0));
    BW_CUDA(cudaEventCreate, (&e1));
    BW_CUDA(cudaMalloc, (&src, bytes));
    BW_CUDA(cudaMalloc, (&dst, bytes));
    BW_CUDA(fill_random<double>, (src, bytes, 1, stream));
    BW_CUDA(fill_random<double>, (dst, bytes, 2, stream));
    for (int k = 0; k <= copies; ++k) {
        if (k == 1) BW_CUDA(cudaEventRecord, (e0, stream));
        BW_CUDA(cudaMemcpyAsync, (dst, src, bytes, cudaMemcpyDeviceToDevice, stream));
    }
    BW_CUDA(cudaEventRecord, (e1, stream));
    BW_CUDA(cudaEventSynchronize, (e1));
    BW_CUDA(cudaEventElapsedTime, (&ms, e0, e1));
    if (ms > 0) *bytes_per_s = 2.0 * (double)bytes * (double)copies / ((double)ms * 1e-3);
done:
#undef BW_CUDA
    qdml_status st = what ? fail_cuda(what, ce) : QDML_OK;
    if (stream) (void)cudaStreamSynchronize(stream);
    (void)cudaFree(src);
    (void)cudaFree(dst);
    if (e0) (void)cudaEventDestroy(e0);
    if (e1) (void)cudaEventDestroy(e1);
    if (stream) (void)cudaStreamDestroy(stream);
    (void)cudaGetLastError();
    return st;
}

/* Benchmark references (backend_cuda.h): two transforms with the problem's plan, and the copy
 * bandwidth at the state's size, on buffers of this function's own holding random data, timed with
 * events on a stream of its own. */
extern "C" qdml_status qdml_cuda_reference_times(const qdml_backend_desc *desc, int pairs, double *ms_two_ffts,
                                                 double *copy_bytes_per_s) {
    if (ms_two_ffts) *ms_two_ffts = NAN;
    if (copy_bytes_per_s) *copy_bytes_per_s = NAN;
    if (!desc || !ms_two_ffts || !copy_bytes_per_s || pairs < 1)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "qdml_cuda_reference_times: desc, ms_two_ffts or copy_bytes_per_s NULL, or pairs = %d < 1",
                         pairs);
    geometry g;
    const qdml_status gst = make_geometry(desc, &g);
    if (gst != QDML_OK) return gst;
    size_t bytes = 0;
    (void)qdml_mul_size((size_t)g.total, g.csz, &bytes); /* checked by make_geometry */
    long long dims[3];
    const int rank = fft_dims(desc, dims);
    void *buf = NULL, *copy = NULL, *work = NULL;
    cufftHandle plan = 0;
    bool have_plan = false;
    cudaStream_t stream = NULL;
    cudaEvent_t e0 = NULL, e1 = NULL;
    const char *what = NULL; /* the failing call */
    cudaError_t ce = cudaSuccess;
    cufftResult fr = CUFFT_SUCCESS;
    float ms = 0.0f;
/* Call; on a result other than `ok` (kept in `res`), name the call and leave. */
#define REF_TRY(res, ok, call, args)                                                                                   \
    do {                                                                                                               \
        if ((res = call args) != ok) {                                                                                 \
            what = #call;                                                                                              \
            goto done;                                                                                                 \
        }                                                                                                              \
    } while (0)
#define REF_CUDA(call, args) REF_TRY(ce, cudaSuccess, call, args)
#define REF_CUFFT(call, args) REF_TRY(fr, CUFFT_SUCCESS, call, args)
    REF_CUDA(cudaStreamCreateWithFlags, (&stream, cudaStreamNonBlocking));
    REF_CUDA(cudaEventCreate, (&e0));
    REF_CUDA(cudaEventCreate, (&e1));
    REF_CUDA(cudaMalloc, (&buf, bytes));
    if (g.f32)
        REF_CUDA(fill_random<float>, (buf, bytes, 3, stream));
    else
        REF_CUDA(fill_random<double>, (buf, bytes, 3, stream));
    if (rank > 0) {
        size_t ws = 0;
        REF_CUFFT(cufftCreate, (&plan));
        have_plan = true;
        REF_CUFFT(cufftSetAutoAllocation, (plan, 0));
        REF_CUFFT(make_plan, (plan, desc, g, &ws));
        if (ws > 0) {
            REF_CUDA(cudaMalloc, (&work, ws));
            REF_CUFFT(cufftSetWorkArea, (plan, work));
        }
        REF_CUFFT(cufftSetStream, (plan, stream));
        /* A pair to warm up, then `pairs` pairs timed one by one, the data brought back to its size
         * after each, outside the timed part: an unnormalised pair multiplies it by N, which would
         * overflow float32 data to infinities within a few pairs of a large grid. */
        const double back = 1.0 / (double)g.N;
        double total_ms = 0.0;
        for (int k = 0; k <= pairs; ++k) {
            REF_CUDA(cudaEventRecord, (e0, stream));
            if (g.f32) {
                REF_CUFFT(cufftExecC2C, (plan, (cufftComplex *)buf, (cufftComplex *)buf, CUFFT_FORWARD));
                REF_CUFFT(cufftExecC2C, (plan, (cufftComplex *)buf, (cufftComplex *)buf, CUFFT_INVERSE));
            } else {
                REF_CUFFT(cufftExecZ2Z,
                          (plan, (cufftDoubleComplex *)buf, (cufftDoubleComplex *)buf, CUFFT_FORWARD));
                REF_CUFFT(cufftExecZ2Z,
                          (plan, (cufftDoubleComplex *)buf, (cufftDoubleComplex *)buf, CUFFT_INVERSE));
            }
            REF_CUDA(cudaEventRecord, (e1, stream));
            if (g.f32)
                REF_CUDA(scale_buffer<float>, (buf, bytes, back, stream));
            else
                REF_CUDA(scale_buffer<double>, (buf, bytes, back, stream));
            REF_CUDA(cudaEventSynchronize, (e1));
            REF_CUDA(cudaEventElapsedTime, (&ms, e0, e1));
            if (k > 0) total_ms += (double)ms;
        }
        *ms_two_ffts = total_ms / (double)pairs;
    } else {
        *ms_two_ffts = 0.0; /* one point per member: no transform */
    }
    /* copy bandwidth: device-to-device copies of the state's size (each reads and writes it; in L2
     * where the state fits), from the random data */
    REF_CUDA(cudaMalloc, (&copy, bytes));
    REF_CUDA(fill_random<double>, (copy, bytes & ~(size_t)7, 4, stream));
    for (int k = 0; k <= pairs; ++k) {
        if (k == 1) REF_CUDA(cudaEventRecord, (e0, stream));
        REF_CUDA(cudaMemcpyAsync, (copy, buf, bytes, cudaMemcpyDeviceToDevice, stream));
    }
    REF_CUDA(cudaEventRecord, (e1, stream));
    REF_CUDA(cudaEventSynchronize, (e1));
    REF_CUDA(cudaEventElapsedTime, (&ms, e0, e1));
    if (ms > 0) *copy_bytes_per_s = 2.0 * (double)bytes * (double)pairs / ((double)ms * 1e-3);
done:
#undef REF_CUDA
#undef REF_CUFFT
#undef REF_TRY
    qdml_status st = QDML_OK;
    if (what) st = ce != cudaSuccess ? fail_cuda(what, ce) : fail_fft(what, fr);
    if (have_plan) (void)cufftDestroy(plan);
    if (stream) (void)cudaStreamSynchronize(stream);
    (void)cudaFree(work);
    (void)cudaFree(copy);
    (void)cudaFree(buf);
    if (e0) (void)cudaEventDestroy(e0);
    if (e1) (void)cudaEventDestroy(e1);
    if (stream) (void)cudaStreamDestroy(stream);
    (void)cudaGetLastError();
    return st;
}
