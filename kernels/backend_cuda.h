/* The CUDA backend as seen from the host C code (context.c, problem.c, tests): the ops table
 * and a few device queries. Defined in kernels/backend_cuda*.cu; present only in builds with the
 * CUDA backend (QDML_HAVE_CUDA). Plain C11. */
#ifndef QDML_BACKEND_CUDA_H
#define QDML_BACKEND_CUDA_H

#include <stddef.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The ops of backend.h on the current CUDA device of the thread that creates the problem
 * (cuFFT, one stream per problem). desc->precision selects float64 (double storage, Z2Z
 * transforms) or float32 (float storage of the state, work, backup, potential factors, potential
 * and kinetic factor tables, C2C transforms; sums accumulated in double). Host arrays are double
 * in both. Failing ops leave their message (the CUDA, cuFFT or cuBLAS call and its error string) in
 * the thread's slot, as backend.h says. */
extern const qdml_backend_ops qdml_backend_cuda_ops;

/* Number of usable CUDA devices; 0 when there is no driver, no device, or any error. Never
 * aborts; leaves no CUDA error pending. */
int qdml_cuda_device_count(void);

/* Name (NUL-terminated, truncated to namelen - 1 characters; name may be NULL or namelen 0) and
 * total memory in bytes (total_bytes may be NULL) of device `index`. Returns 0 on success, -1 for
 * an index out of range or a CUDA error (then name is "" where it has room and *total_bytes 0). */
int qdml_cuda_device_info(int index, char *name, size_t namelen, size_t *total_bytes);
/* Why no device is usable, into buf (len bytes): the driver's error by name and text, or "no CUDA
 * device"; returns 0 (buf "") where a device is. */
int qdml_cuda_why_none(char *buf, size_t len);

/* Device bytes a problem of this shape and precision needs on the current device: five complex
 * buffers (state, work, backup, half- and full-step potential factors; 16 bytes per element in
 * float64, 8 in float32), the potential (8 or 4 bytes), the per-axis tables, the reduction
 * scratch, the parameter buffer and the cuFFT work area (asked of cuFFT when a device is present,
 * else estimated as one more complex buffer). cuFFT's own plan data are not included.
 * Errors: QDML_ERR_INVALID_ARGUMENT (NULL pointers, an inconsistent desc, an unknown precision),
 * QDML_ERR_OVERFLOW. */
qdml_status qdml_cuda_bytes_needed(const qdml_backend_desc *desc, size_t *bytes);

/* References for the benchmarks (perf/bench_steps.c), on the current device, on buffers of their
 * own holding random data: *ms_two_ffts = milliseconds of one forward plus one inverse transform
 * with the batched plan the backend makes for desc (the mean of `pairs` >= 1 pairs after one to warm
 * up, each timed alone; 0 where every axis has one point), and *copy_bytes_per_s = bytes read plus
 * written per second by device-to-device copies of the state's size (in L2 where the state fits).
 * Needs room for two more states and the plan's work area. Errors (NaN results, the failing call in
 * qdml_last_error_message()): INVALID_ARGUMENT, BACKEND, OUT_OF_MEMORY. */
qdml_status qdml_cuda_reference_times(const qdml_backend_desc *desc, int pairs, double *ms_two_ffts,
                                      double *copy_bytes_per_s);

/* The device's memory bandwidth: bytes read plus written per second by `copies` >= 1
 * device-to-device copies of `bytes` of random data (after one to warm up). With bytes well beyond
 * the L2 (1 GiB), the HBM floor of a step. Errors as qdml_cuda_reference_times. */
qdml_status qdml_cuda_copy_bandwidth(size_t bytes, int copies, double *bytes_per_s);

/* Load cuBLAS (dlopen of libcublas.so.<major>, then from the toolkit directory found at build time)
 * and look up the functions the lowest-states search uses, once per process; later calls return
 * the first outcome. UNAVAILABLE, with the loader's reason in qdml_last_error_message(), when it
 * cannot. Needs no device. */
qdml_status qdml_cuda_blas_load(void);

#ifdef __cplusplus
}
#endif

#endif
