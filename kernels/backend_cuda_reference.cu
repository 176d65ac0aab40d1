/* CUDA backend: the benchmarks' reference times (qdml_cuda_reference_times in backend_cuda.h), the
 * floors a step is measured against: two transforms with the backend's own plan, and the device's
 * copy bandwidth. Not used by the ops. */
#include <math.h>
#include <stdio.h>

#include "cuda_private.cuh"

/* Benchmark references (backend_cuda.h): two transforms with the problem's plan, and the copy
 * bandwidth, on buffers of this function's own, timed with events on a stream of its own. */
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
    REF_CUDA(cudaMemsetAsync, (buf, 0, bytes, stream));
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
        /* a pair to warm up, then `pairs` timed; zeros stay zeros, and cuFFT's time does not depend
         * on the values */
        for (int k = 0; k <= pairs; ++k) {
            if (k == 1) REF_CUDA(cudaEventRecord, (e0, stream));
            if (g.f32) {
                REF_CUFFT(cufftExecC2C, (plan, (cufftComplex *)buf, (cufftComplex *)buf, CUFFT_FORWARD));
                REF_CUFFT(cufftExecC2C, (plan, (cufftComplex *)buf, (cufftComplex *)buf, CUFFT_INVERSE));
            } else {
                REF_CUFFT(cufftExecZ2Z,
                          (plan, (cufftDoubleComplex *)buf, (cufftDoubleComplex *)buf, CUFFT_FORWARD));
                REF_CUFFT(cufftExecZ2Z,
                          (plan, (cufftDoubleComplex *)buf, (cufftDoubleComplex *)buf, CUFFT_INVERSE));
            }
        }
        REF_CUDA(cudaEventRecord, (e1, stream));
        REF_CUDA(cudaEventSynchronize, (e1));
        REF_CUDA(cudaEventElapsedTime, (&ms, e0, e1));
        *ms_two_ffts = (double)ms / (double)pairs;
    } else {
        *ms_two_ffts = 0.0; /* one point per member: no transform */
    }
    /* copy bandwidth: device-to-device copies of the state's size (each reads and writes it) */
    REF_CUDA(cudaMalloc, (&copy, bytes));
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
