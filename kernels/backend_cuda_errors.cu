/* CUDA backend: how it fails (the status and the message in the thread's slot, for a CUDA, cuFFT
 * or internal error; cuFFT's results by name) and which device an op runs on (dev_enter / dev_leave), with the wait of
 * QDML_CUDA_SYNC=1 that names the op behind a device fault (op_sync). Declared in cuda_private.cuh;
 * every other file of the backend uses these. */
#include <cuda_runtime.h>
#include <cufft.h>

#include "cuda_private.cuh"

/* ---- errors ---------------------------------------------------------------------------------- */

namespace qdml_cuda {

const char *cufft_name(cufftResult r) {
    switch (r) {
    case CUFFT_SUCCESS: return "CUFFT_SUCCESS";
    case CUFFT_INVALID_PLAN: return "CUFFT_INVALID_PLAN";
    case CUFFT_ALLOC_FAILED: return "CUFFT_ALLOC_FAILED (out of device memory)";
    case CUFFT_INVALID_TYPE: return "CUFFT_INVALID_TYPE";
    case CUFFT_INVALID_VALUE: return "CUFFT_INVALID_VALUE";
    case CUFFT_INTERNAL_ERROR: return "CUFFT_INTERNAL_ERROR";
    case CUFFT_EXEC_FAILED: return "CUFFT_EXEC_FAILED";
    case CUFFT_SETUP_FAILED: return "CUFFT_SETUP_FAILED";
    case CUFFT_INVALID_SIZE: return "CUFFT_INVALID_SIZE";
    case CUFFT_UNALIGNED_DATA: return "CUFFT_UNALIGNED_DATA";
    case CUFFT_INVALID_DEVICE: return "CUFFT_INVALID_DEVICE";
    case CUFFT_NO_WORKSPACE: return "CUFFT_NO_WORKSPACE";
    case CUFFT_NOT_IMPLEMENTED: return "CUFFT_NOT_IMPLEMENTED";
    case CUFFT_NOT_SUPPORTED: return "CUFFT_NOT_SUPPORTED";
    default: return "unrecognised cuFFT error";
    }
}

qdml_status fail_cuda(const char *call, cudaError_t e) {
    return qdml_fail(NULL, e == cudaErrorMemoryAllocation ? QDML_ERR_OUT_OF_MEMORY : QDML_ERR_BACKEND,
                     "%s failed: %s (%s)", call, cudaGetErrorName(e), cudaGetErrorString(e));
}

qdml_status fail_fft(const char *call, cufftResult r) {
    return qdml_fail(NULL, r == CUFFT_ALLOC_FAILED ? QDML_ERR_OUT_OF_MEMORY : QDML_ERR_BACKEND,
                     "%s failed: %s (cufftResult %d)", call, cufft_name(r), (int)r);
}

qdml_status fail_internal(const char *what) { return qdml_fail(NULL, QDML_ERR_INTERNAL, "%s", what); }

} /* namespace qdml_cuda */

/* ---- device selection ------------------------------------------------------------------------ */

namespace qdml_cuda {

/* Make the state's device current for the duration of an op; *prev is restored by dev_leave. */
qdml_status dev_enter(qdml_backend_state *s, int *prev) {
    *prev = -1;
    if (cudaGetDevice(prev) != cudaSuccess) *prev = -1;
    if (*prev != s->dev) CUDA_TRY(cudaSetDevice, (s->dev));
    return QDML_OK;
}

void dev_leave(const qdml_backend_state *s, int prev) {
    if (prev >= 0 && prev != s->dev) (void)cudaSetDevice(prev);
}

qdml_status op_sync(qdml_backend_state *s, const char *name) {
    cudaError_t e = cudaStreamSynchronize(s->stream);
    if (e == cudaSuccess) e = cudaGetLastError();
    if (e == cudaSuccess) return QDML_OK;
    return qdml_fail(NULL, e == cudaErrorMemoryAllocation ? QDML_ERR_OUT_OF_MEMORY : QDML_ERR_BACKEND,
                     "QDML_CUDA_SYNC: the device work of op %s failed: %s (%s)", name, cudaGetErrorName(e),
                     cudaGetErrorString(e));
}

} /* namespace qdml_cuda */
