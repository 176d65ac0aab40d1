/* CUDA backend: the steps op, several Strang steps per call with no host round trip, the steps
 * between the first and the last replayed from CUDA graphs. */
#include <stdio.h>
#include <string.h>

#include "cuda_private.cuh"

/* ---- steps: several Strang steps with no host round trip ---------------------------------------
 * The single ops wait for the host once per step in renormalised imaginary time (the kick's norms
 * go to the host, which sends back the next kinetic scales) and launch four to six kernels per
 * step. The steps op keeps the scales on the device (k_fin_scale) and replays every step but the
 * first and the last from a CUDA graph: one launch per step, and one wait per call, for the first
 * bad norm of each member. One table set is kept, so compositions (m > 1) answer done = 0. */

namespace {

/* The device pointers one call's kernels read, fixed for the call. */
struct step_args {
    const unsigned char *mask; /* the call's mask in the parameter buffer, or NULL: all members */
    const double *scale;       /* kinetic scales: sscale (renormalised) or the parameter buffer's ones */
    i64 *count;                /* substeps completed (renormalised), else NULL */
    int renorm;
    double dv;
};

/* A kick (half or full), then with renormalisation the next scales and the stop record. */
template <typename C> qdml_status step_kick(qdml_backend_state *s, const step_args &a, int full) {
    const qdml_status st = launch_kick<C>(s, full, a.mask, a.renorm);
    if (st != QDML_OK || !a.renorm) return st;
    return launch_fin_scale(s, a.mask, a.dv, a.count);
}

/* One step after its opening kick: forward FFT, kinetic factor, backward FFT, then a full kick, or
 * the closing half kick of the call's last step. */
template <typename C> qdml_status step_body(qdml_backend_state *s, const step_args &a, int last) {
    qdml_status st;
    if ((st = exec_fft(s, s->psi, CUFFT_FORWARD)) != QDML_OK) return st;
    if ((st = launch_kinetic<C>(s, a.scale, a.mask, a.count)) != QDML_OK) return st;
    if ((st = exec_fft(s, s->psi, CUFFT_INVERSE)) != QDML_OK) return st;
    return step_kick<C>(s, a, !last);
}

/* The executable graph of step_body (not last) for these arguments: captured from the stream the
 * first time, kept until destroy (the pointers it holds are fixed for the state's life; the mask
 * and scales it reads are refreshed in place by each call). *ex = NULL where graphs are off, or
 * when capture fails and graphs are not required: capturing is an optimisation, so a failure then
 * turns graphs off for this state and the steps are launched one by one (any real fault shows in
 * those launches). With QDML_CUDA_GRAPHS=1 a failed capture is the op's error. */
template <typename C> qdml_status step_graph(qdml_backend_state *s, const step_args &a, cudaGraphExec_t *ex) {
    *ex = NULL;
    if (s->graphs == 0) return QDML_OK;
    const int key = (a.renorm ? 1 : 0) | (a.mask ? 2 : 0) | (s->nflush > 0 ? 4 : 0);
    if (s->graph[key] && (!a.renorm || s->graph_dv[key] == a.dv)) {
        *ex = s->graph[key];
        return QDML_OK;
    }
    if (s->graph[key]) { /* captured with another dv (an in-flight launch still completes) */
        (void)cudaGraphExecDestroy(s->graph[key]);
        s->graph[key] = NULL;
    }
    /* A failed capture is not the op's failure where graphs are optional: the thread's message slot
     * is put back as it was (a successful op leaves it alone). */
    char before[QDML_ERRLEN];
    qdml_save_error(before);
    const char *what = "cudaStreamBeginCapture";
    cudaError_t e = cudaStreamBeginCapture(s->stream, cudaStreamCaptureModeThreadLocal);
    qdml_status st = QDML_OK;
    cudaGraph_t gr = NULL;
    cudaGraphExec_t made = NULL;
    if (e == cudaSuccess) {
        st = step_body<C>(s, a, 0);
        e = cudaStreamEndCapture(s->stream, &gr);
        what = "cudaStreamEndCapture";
        if (st == QDML_OK && e == cudaSuccess && gr) {
            e = cudaGraphInstantiate(&made, gr, 0);
            what = "cudaGraphInstantiate";
        }
    }
    if (gr) (void)cudaGraphDestroy(gr);
    if (st == QDML_OK && e == cudaSuccess && made) {
        s->graph[key] = made;
        s->graph_dv[key] = a.dv;
        *ex = made;
        return QDML_OK;
    }
    (void)cudaGetLastError();
    if (s->graphs == 1) {
        if (st == QDML_OK)
            st = qdml_fail(NULL, QDML_ERR_BACKEND,
                           "capturing a step into a CUDA graph failed (QDML_CUDA_GRAPHS=1 requires it): %s: %s (%s)",
                           what, cudaGetErrorName(e), cudaGetErrorString(e));
        return st;
    }
    s->graphs = 0;
    qdml_restore_error(before);
    return QDML_OK;
}

template <typename C>
qdml_status steps_impl(qdml_backend_state *s, int64_t n, int m, const unsigned char *sub, const unsigned char *active,
                       int renorm, double dv, int64_t *stop, int *done) {
    (void)sub; /* m = 1 only: sub[0] = 0 */
    if (!done || !stop || n < 1 || m < 1) return fail_internal("steps: n or m below 1, or stop or done NULL");
    *done = 0;
    if (m > 1) return QDML_OK;
    const geometry &g = s->g;
    /* The call's parameters: scales of 1 (without renormalisation) and the mask. */
    unsigned char *slot = NULL;
    int k;
    qdml_status st = params_acquire(s, &slot, &k);
    if (st != QDML_OK) return st;
    double *ones = (double *)slot;
    for (i64 b = 0; !renorm && b < g.B; ++b)
        ones[b] = 1.0;
    if (active) memcpy(slot + g.par_off_m, active, (size_t)g.B);
    if ((st = params_commit(s, k)) != QDML_OK) return st;
    step_args a;
    a.mask = active ? dpar_mask(s) : NULL;
    a.scale = renorm ? s->sscale : dpar_a(s);
    a.count = renorm ? s->sstop + g.B : NULL;
    a.renorm = renorm;
    a.dv = dv;
    if (renorm) {
        CUDA_TRY(cudaMemsetAsync, (s->sstop, 0xff, (size_t)g.B * sizeof(i64), s->stream)); /* -1 */
        CUDA_TRY(cudaMemsetAsync, (s->sstop + g.B, 0, sizeof(i64), s->stream));
    }
    if ((st = step_kick<C>(s, a, 0)) != QDML_OK) return st;
    for (i64 i = 0; i < n; ++i) {
        const int last = i + 1 == n;
        /* The first step runs directly: every kernel it needs is loaded before any capture. */
        cudaGraphExec_t ex = NULL;
        if (i > 0 && !last && (st = step_graph<C>(s, a, &ex)) != QDML_OK) return st;
        if (ex)
            CUDA_TRY(cudaGraphLaunch, (ex, s->stream));
        else if ((st = step_body<C>(s, a, last)) != QDML_OK)
            return st;
    }
    if (!renorm) {
        for (i64 b = 0; b < g.B; ++b)
            stop[b] = -1;
        *done = 1;
        return QDML_OK;
    }
    if ((st = launch_scale<C>(s, s->sscale, a.mask)) != QDML_OK) return st;
    if ((st = fetch_results(s, s->sstop, (size_t)g.B * sizeof(i64))) != QDML_OK) return st;
    const i64 *r = (const i64 *)s->hres;
    for (i64 b = 0; b < g.B; ++b)
        stop[b] = (!active || active[b]) ? r[b] : -1;
    *done = 1;
    return QDML_OK;
}

} /* namespace */

namespace qdml_cuda {

qdml_status cu_steps(qdml_backend_state *s, int64_t n, int m, const unsigned char *sub, const unsigned char *active,
                     int renorm, double dv, int64_t *stop, int *done) {
    OP_WRAP("steps", BY_PRECISION(steps_impl, s, n, m, sub, active, renorm, dv, stop, done));
}

} /* namespace qdml_cuda */
