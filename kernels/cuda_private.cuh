/* Private to the CUDA backend (kernels/backend_cuda*.cu): the problem state and its geometry, the
 * layout of its device allocation, the error macros, the kernel launcher, and what the backend's
 * files call across each other. Host C code sees the backend through backend_cuda.h only. */
#ifndef QDML_CUDA_PRIVATE_CUH
#define QDML_CUDA_PRIVATE_CUH

#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <cufft.h>

#include <stddef.h>
#include <stdint.h>

#include "backend_cuda.h"
#include "backend_cuda_math.cuh"
#include "pointwise.h"
#include "status.h"

namespace qdml_cuda {

/* ---- constants and layouts ------------------------------------------------------------------- */

enum {
    kBlock = 256,                    /* threads per block, every kernel */
    kWarpsPerBlock = kBlock / kWarp, /* segments or members per block in warp-per-item kernels */
    kRing = 4,                       /* parameter upload slots in flight */
    kGraphKinds = 8,                 /* steps op graphs: renormalised x masked x flushing */
    kAlign = 256                     /* sub-allocation alignment (cuFFT and 16-byte vector access) */
};

/* Fields of the per-segment partial sums: part[field * P + segment]. */
enum {
    F_S0 = 0,
    F_SV = 1,
    F_SX = 2,  /* 2, 3, 4 */
    F_SXX = 5, /* 5, 6, 7 */
    F_RMAX = 8,
    F_ST = 9,
    F_SRES = 10,
    kFields = 11
};

const size_t kStageMax = (size_t)8 << 20; /* bytes per staging half */

/* Sub-buffers of the single device allocation. */
enum {
    L_PSI,
    L_WORK,
    L_BACKUP,
    L_EVH,
    L_EVF,
    L_V,
    L_KTAB,
    L_XT,
    L_K2T,
    L_PART,
    L_PIMAX,
    L_RED,
    L_ENERGY,
    L_MOM,
    L_PARAMS,
    L_FLUSH,
    L_SCALE,
    L_STOP,
    L_FFTWORK,
    L_COUNT
};

/* ---- checked size arithmetic (products and sums: qdml_mul_size, qdml_add_size of status.h) ---- */

inline bool align_sz(size_t a, size_t *out) {
    if (a > SIZE_MAX - (kAlign - 1)) return false;
    *out = (a + kAlign - 1) / kAlign * kAlign;
    return true;
}

/* ---- geometry (backend_cuda_geometry.cu) ----------------------------------------------------- */

/* Problem geometry derived from a desc. */
struct geometry {
    i64 N, B, total, ksum, cpm, P;
    int f32;                                /* desc->precision == QDML_FLOAT32 */
    size_t csz, rsz;                        /* bytes of a complex and of a real element of the state arrays */
    size_t par_bytes, par_off_b, par_off_m; /* parameter slot: doubles A at 0, doubles B, mask bytes */
};

/* The cuFFT transform type of the problem's precision. */
inline cufftType fft_type(const geometry &g) { return g.f32 ? CUFFT_C2C : CUFFT_Z2Z; }

/* Validate a desc and derive its geometry. */
qdml_status make_geometry(const qdml_backend_desc *d, geometry *g);

/* Sizes, offsets and total of the device allocation for a cuFFT work area of fft_ws bytes. */
bool device_layout(const geometry &g, size_t fft_ws, size_t off[L_COUNT], size_t *total);

/* cuFFT work area of the batched plan, asked of cuFFT where a device is present, else estimated.
 * false on overflow. */
bool fft_work_estimate(const qdml_backend_desc *desc, const geometry &g, size_t *ws);

/* Transform axes: the internal axes of more than one point into dims; the rank (0: N == 1, no FFT). */
int fft_dims(const qdml_backend_desc *d, long long dims[3]);

/* The batched in-place plan of a problem (on a handle made with auto-allocation off); *ws its work
 * area. Used by create and by the benchmarks' reference, so both time one plan. */
cufftResult make_plan(cufftHandle h, const qdml_backend_desc *d, const geometry &g, size_t *ws);

/* The name of a cuFFT result, for messages (backend_cuda_errors.cu). */
const char *cufft_name(cufftResult r);

} /* namespace qdml_cuda */

/* The backend's files name the loop bodies' types and constants (i64, c32, kWarp, ...) unqualified. */
using namespace qdml_cuda;

/* ---- backend state --------------------------------------------------------------------------- */

struct qdml_backend_state {
    qdml_backend_desc d;
    geometry g;
    shape3 sh;
    int dev;
    int flat_blocks; /* grid size cap of the flat grid-stride kernels */
    cudaStream_t stream;
    cufftHandle plan;
    int have_plan;
    size_t fft_ws;

    /* device: one allocation, carved. The state arrays hold qdml_c64 / double (float64) or
     * c32 / float (float32): see cbuf() and rbuf(). */
    void *dmem;
    size_t dbytes;
    void *psi, *work, *backup, *evh, *evf, *ktab, *v;
    double *xt, *k2t, *part, *red, *energy;
    i64 *pimax;
    qdml_moments *mom;
    unsigned char *dpar;   /* parameter buffer: doubles at 0, doubles at par_off_b, mask at par_off_m */
    unsigned char *dflush; /* per member: flush tiny amplitudes (qdml_step_params.flush_tiny) */
    unsigned char *hflush; /* host mirror of dflush (malloc) */
    i64 nflush;            /* members with the flag set: 0 lets the kernels skip the test */
    double *sscale;        /* steps op: per-member scale of the next kinetic factor (renormalisation) */
    i64 *sstop;            /* steps op: per-member first bad norm (B entries), then the substeps done */

    /* steps op: one captured step per kind of call (renormalised, masked, flushing), replayed as a
     * CUDA graph so that a step costs one launch. graphs: QDML_CUDA_GRAPHS at create, 0 (off), 1
     * (required: a failed capture is an error) or -1 (unset: on, and off for good after a failed
     * capture). */
    cudaGraphExec_t graph[kGraphKinds];
    double graph_dv[kGraphKinds]; /* the volume element the renormalising kernel of graph[k] was captured with */
    int graphs;
    int sync_ops; /* QDML_CUDA_SYNC=1 at create: every op waits for its device work and checks it */

    /* pinned host: one allocation, carved */
    void *hmem;
    unsigned char *stage[2];
    size_t stage_bytes;
    cudaEvent_t stage_ev[2];
    int stage_next;
    unsigned char *ring[kRing];
    cudaEvent_t ring_ev[kRing];
    int ring_next;
    void *hres;

    /* Block orthonormalisation (gram / combine, excited states): a cuBLAS handle on the stream and a
     * small device buffer of count x count complex values, made on first use and grown as needed. */
    /* Block vectors of the LOBPCG eigensolver (backend_cuda_vectors.cu; float64): nvslot work slots of B
     * members beside the state in one allocation; a device scratch for the list ops (pointer lists,
     * coefficients, partial sums, combinations) and a pinned host buffer for their uploads and
     * results, both grown as needed. */
    void *vmem;
    int nvslot;
    void *vscratch, *vhost;
    size_t vscratch_bytes, vhost_bytes;

    cublasHandle_t blas;
    int have_blas;
    decltype(&cublasDestroy_v2) blas_destroy; /* the loaded cublasDestroy, set with have_blas (for destroy) */
    void *dsmall;
    size_t dsmall_bytes;
};

namespace qdml_cuda {

/* ---- errors: the status, and the message in the thread's slot (status.h; backend_cuda_errors.cu) */

qdml_status fail_cuda(const char *call, cudaError_t e);
qdml_status fail_fft(const char *call, cufftResult r);
qdml_status fail_internal(const char *what);

} /* namespace qdml_cuda */

/* Call a CUDA runtime function; on failure record "fn failed: ..." and return from the caller. */
#define CUDA_TRY(fn, args)                                                                                             \
    do {                                                                                                               \
        const cudaError_t e_ = fn args;                                                                                \
        if (e_ != cudaSuccess) return fail_cuda(#fn, e_);                                                              \
    } while (0)

#define CUFFT_TRY(fn, args)                                                                                            \
    do {                                                                                                               \
        const cufftResult r_ = fn args;                                                                                \
        if (r_ != CUFFT_SUCCESS) return fail_fft(#fn, r_);                                                             \
    } while (0)

/* Kernels are launched through cudaLaunchKernel (see launch() below), not <<< >>>: the launch
 * stubs nvcc writes for <<< >>> need the C++ runtime (a guarded static per kernel), and
 * libqdml is linked as C. */
#define LAUNCH(kernel, grid, ...)                                                                                      \
    do {                                                                                                               \
        const cudaError_t e_ = launch(kernel, grid, s->stream, __VA_ARGS__);                                           \
        if (e_ != cudaSuccess) return fail_cuda("cudaLaunchKernel (" #kernel ")", e_);                                 \
    } while (0)

/* ---- launch geometry ------------------------------------------------------------------------- */

namespace qdml_cuda {

inline unsigned flat_grid(const qdml_backend_state *s, i64 n) {
    i64 blocks = (n + kBlock - 1) / kBlock;
    if (blocks > s->flat_blocks) blocks = s->flat_blocks;
    return (unsigned)(blocks < 1 ? 1 : blocks);
}

inline unsigned warp_grid(i64 items) { return (unsigned)((items + kWarpsPerBlock - 1) / kWarpsPerBlock); }

/* The finalisation kernels (k_fin_sum, k_fin_scale): one block of kFinBlock = kBlock threads per
 * member. B <= P, whose warp grid make_geometry checked against gridDim.x. */
static_assert((int)kFinBlock == (int)kBlock, "the finalisation kernels run one block of kBlock threads per member");
inline unsigned fin_grid(const geometry &g) { return (unsigned)g.B; }

template <typename T> struct same_type { typedef T type; };

/* kernel<<<grid, kBlock, 0, stream>>>(args...) with every argument converted to the kernel's
 * parameter type first (same_type<> keeps P from being deduced from the arguments), so the
 * pointers handed to cudaLaunchKernel point at values of exactly the types the kernel expects. */
template <typename... P>
cudaError_t launch(void (*kernel)(P...), unsigned grid, cudaStream_t stream, typename same_type<P>::type... args) {
    void *ptrs[] = {const_cast<void *>(static_cast<const void *>(&args))...};
    return cudaLaunchKernel(reinterpret_cast<const void *>(kernel), dim3(grid), dim3(kBlock), ptrs, 0, stream);
}

} /* namespace qdml_cuda */

/* ---- device selection (backend_cuda_errors.cu) ----------------------------------------------- */

namespace qdml_cuda {

/* Make the state's device current for the duration of an op; *prev is restored by dev_leave. */
qdml_status dev_enter(qdml_backend_state *s, int *prev);
void dev_leave(const qdml_backend_state *s, int prev);
/* QDML_CUDA_SYNC=1: wait for the stream and check for a device error after op `name`. */
qdml_status op_sync(qdml_backend_state *s, const char *name);

} /* namespace qdml_cuda */

/* Op entry points: select the state's device around the work and restore the caller's; with
 * QDML_CUDA_SYNC=1, wait for the op's device work and check it, so that a fault is named by the op
 * that caused it (op_sync). */
#define OP_WRAP(name, call)                                                                                            \
    do {                                                                                                               \
        int prev_;                                                                                                     \
        qdml_status st_ = dev_enter(s, &prev_);                                                                        \
        if (st_ != QDML_OK) return st_;                                                                                \
        st_ = call;                                                                                                    \
        if (st_ == QDML_OK && s->sync_ops) st_ = op_sync(s, name);                                                     \
        dev_leave(s, prev_);                                                                                           \
        return st_;                                                                                                    \
    } while (0)

/* The float64 or float32 instantiation of an op, by the problem's precision. */
#define BY_PRECISION(fn, ...) (s->g.f32 ? fn<c32>(__VA_ARGS__) : fn<qdml_c64>(__VA_ARGS__))

/* ---- host <-> device transfers (backend_cuda.cu) --------------------------------------------- */

namespace qdml_cuda {

/* Per-call parameters: a pinned ring slot to fill (doubles A at 0, doubles B at par_off_b, the mask
 * at par_off_m), then its copy to the device parameter buffer on the stream. */
qdml_status params_acquire(qdml_backend_state *s, unsigned char **slot, int *k);
qdml_status params_commit(qdml_backend_state *s, int k);

/* The device parameter buffer's doubles A and mask. */
inline const double *dpar_a(const qdml_backend_state *s) { return (const double *)s->dpar; }
inline const unsigned char *dpar_mask(const qdml_backend_state *s) { return s->dpar + s->g.par_off_m; }

/* Copy B results (bytes each) from the device to the pinned result buffer and wait. */
qdml_status fetch_results(qdml_backend_state *s, const void *src, size_t bytes);

} /* namespace qdml_cuda */

/* ---- launches shared by the single ops and the steps op (backend_cuda.cu) -------------------- */

namespace qdml_cuda {

/* In-place transform of every member of a state array (psi or work) with the problem's plan. */
qdml_status exec_fft(qdml_backend_state *s, void *data, int direction);

/* The kernels of a kick (with per-segment norms where `norms`), of the kinetic factor (count: the
 * substeps counter of a renormalised steps call, else NULL) and of a scale, on the members of the
 * device mask dmask (NULL: all); instantiated for qdml_c64 and c32. */
template <typename C> qdml_status launch_kick(qdml_backend_state *s, int full, const unsigned char *dmask, int norms);
template <typename C>
qdml_status launch_kinetic(qdml_backend_state *s, const double *dscale, const unsigned char *dmask, i64 *count);
template <typename C> qdml_status launch_scale(qdml_backend_state *s, const double *dscale, const unsigned char *dmask);

/* Steps op: the next kinetic scales and the stop record from the kick's norms (k_fin_scale). */
qdml_status launch_fin_scale(qdml_backend_state *s, const unsigned char *dmask, double dv, const i64 *count);

} /* namespace qdml_cuda */

/* ---- the ops, gathered into qdml_backend_cuda_ops by backend_cuda_table.cu ------------------- */

namespace qdml_cuda {

/* backend_cuda.cu */
qdml_status cu_create(const qdml_backend_desc *desc, qdml_backend_state **out);
void cu_destroy(qdml_backend_state *s);
qdml_status cu_set_state(qdml_backend_state *s, int64_t b, const double *psi);
qdml_status cu_get_state(qdml_backend_state *s, int64_t b, double *psi);
qdml_status cu_set_potential(qdml_backend_state *s, int64_t b, const double *v);
qdml_status cu_get_potential(qdml_backend_state *s, int64_t b, double *v);
qdml_status cu_set_step(qdml_backend_state *s, int64_t b, const qdml_step_params *p);
qdml_status cu_kick(qdml_backend_state *s, int full, const unsigned char *active, double *norms);
qdml_status cu_fft(qdml_backend_state *s, int forward);
qdml_status cu_kinetic(qdml_backend_state *s, const double *scale, const unsigned char *active);
qdml_status cu_scale(qdml_backend_state *s, const double *scale, const unsigned char *active);
qdml_status cu_moments(qdml_backend_state *s, const double *hbar, const double *mass, const unsigned char *want,
                       qdml_moments *out);
qdml_status cu_distance(qdml_backend_state *s, const unsigned char *mask, double *out);
qdml_status cu_backup(qdml_backend_state *s, int restore, const unsigned char *mask);
qdml_status cu_fill_objective(qdml_backend_state *s, int64_t b, const qdml_objective *o, int dim,
                              qdml_fill_result *out);

/* backend_cuda_blas.cu */
qdml_status cu_gram(qdml_backend_state *s, int64_t count, double *g);
qdml_status cu_combine(qdml_backend_state *s, int64_t count, const double *t);

/* backend_cuda_vectors.cu */
qdml_status cu_vectors(qdml_backend_state *s, int n);
qdml_status cu_apply_h(qdml_backend_state *s, int src, int dst, const double *hbar, const double *mass);
qdml_status cu_precondition(qdml_backend_state *s, int src, int dst, const double *hbar, const double *mass,
                            const double *shift, const double *vmin);
qdml_status cu_vdot(qdml_backend_state *s, int ni, const int *uslot, const int64_t *umem, int nj, const int *wslot,
                    const int64_t *wmem, int hermitian, double *g);
qdml_status cu_vcombine(qdml_backend_state *s, int ni, const int *uslot, const int64_t *umem, int nj, const int *wslot,
                        const int64_t *wmem, const double *c);
qdml_status cu_vset(qdml_backend_state *s, int slot, int64_t member, const double *psi);

/* backend_cuda_steps.cu */
qdml_status cu_steps(qdml_backend_state *s, int64_t n, int m, const unsigned char *sub, const unsigned char *active,
                     int renorm, double dv, int64_t *stop, int *done);

} /* namespace qdml_cuda */

#endif
