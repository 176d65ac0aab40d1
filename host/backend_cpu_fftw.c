/* FFTW in the CPU backend: the process-wide set-up (FFTW's threads, initialised once, and the
 * pointwise kernels chosen with them), the lock every planner call is made under, the wisdom file,
 * the 64-byte aligned arrays FFTW's SIMD plans want, and a problem's plans (the batched transforms
 * and the fused paths' block plans), made and destroyed under that lock. */
#include <fftw3.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cpu_private.h"

static pthread_once_t fftw_once = PTHREAD_ONCE_INIT;
pthread_mutex_t qdml_cpu_fftw_plan_lock = PTHREAD_MUTEX_INITIALIZER;
static int fftw_threads_ok = 0;
static const kernel_set *kernels_chosen = NULL;

static void fftw_global_init(void) {
    fftw_threads_ok = fftw_init_threads();
    /* Planning from several contexts at once must not corrupt FFTW's planner state. */
    fftw_make_planner_thread_safe();
    kernels_chosen = qdml_cpu_choose_kernels();
}

/* FFTW's threads, initialised once per process (1 where that succeeded), and the pointwise kernels
 * chosen then. */
int qdml_cpu_fftw_init(const kernel_set **kernels) {
    pthread_once(&fftw_once, fftw_global_init);
    *kernels = kernels_chosen;
    return fftw_threads_ok;
}

/* The state and factor arrays, released with free(): 64-byte aligned (FFTW's SIMD plans need 16 or
 * 32). Transparent huge pages were tried for the large arrays: the steps of 64 x 256^2 gained at
 * most a few per cent, within the machine's noise, and the bare FFTs of the benchmark's own buffer
 * in the same process became up to 15 % slower, so the advice is not given. */
void *qdml_cpu_fft_alloc(int64_t count, size_t elem, size_t *bytes_out) {
    size_t bytes;
    void *p = NULL;
    if (count < 0 || !qdml_mul_size((size_t)count, elem, &bytes)) return NULL;
    *bytes_out = bytes;
    return posix_memalign(&p, 64, bytes ? bytes : 1) == 0 ? p : NULL;
}

/* FFTW wisdom: read before planning (a missing or unreadable file is ignored: FFTW keeps its
 * wisdom unchanged when an import fails), written after planning atomically (atomic_file.h), so
 * readers never see a partial file. Failing to write is not an error (and leaves no message).
 * Called with fftw_plan_lock held. */
static void wisdom_import(const char *path) {
    if (path && path[0]) (void)fftw_import_wisdom_from_filename(path);
}

static void wisdom_export(const char *path) {
    if (!path || !path[0]) return;
    char before[QDML_ERRLEN];
    qdml_save_error(before);
    qdml_atomic_file af;
    if (qdml_atomic_open(&af, path, 0, path) == QDML_OK) {
        fftw_export_wisdom_to_file(af.f);
        (void)qdml_atomic_commit(&af, 1);
    }
    qdml_restore_error(before);
}

static unsigned fftw_flags(qdml_fft_effort effort) {
    return effort == QDML_FFT_ESTIMATE  ? FFTW_ESTIMATE
           : effort == QDML_FFT_PATIENT ? FFTW_PATIENT
                                        : FFTW_MEASURE;
}

/* The block plans of the fused paths, for PATH_PLANES and, where it runs, PATH_MEMBERS; a block plan
 * FFTW cannot make leaves out the path that needs it. Called with qdml_cpu_fftw_plan_lock held. */
static void plan_blocks(qdml_backend_state *s, unsigned flags) {
    const qdml_backend_desc *desc = &s->d;
    fftw_complex *buf = (fftw_complex *)s->psi;
    /* Block transforms run one per thread. */
    fftw_plan_with_nthreads(1);
    int pn[2] = {(int)desc->n[1], (int)desc->n[2]};
    const int prank = s->oaxis == 0 ? 2 : 1;
    int *pdims = s->oaxis == 0 ? pn : pn + 1;
    int cn = (int)s->nout;
    fftw_complex *cb = (fftw_complex *)s->cbuf;
    for (int k = 0; k < 1 + s->members_ok; ++k) {
        blocking *q = &s->blk[k];
        const int rb = (int)q->rb, w = (int)q->w, P = (int)s->P;
        q->pf = fftw_plan_many_dft(prank, pdims, rb, buf, NULL, 1, P, buf, NULL, 1, P, FFTW_FORWARD, flags);
        q->pb = fftw_plan_many_dft(prank, pdims, rb, buf, NULL, 1, P, buf, NULL, 1, P, FFTW_BACKWARD, flags);
        q->cf = fftw_plan_many_dft(1, &cn, w, buf, NULL, P, 1, buf, NULL, P, 1, FFTW_FORWARD, flags);
        q->cb = fftw_plan_many_dft(1, &cn, w, buf, NULL, P, 1, buf, NULL, P, 1, FFTW_BACKWARD, flags);
        q->gf = fftw_plan_many_dft(1, &cn, w, cb, NULL, w, 1, cb, NULL, w, 1, FFTW_FORWARD, flags);
        q->gb = fftw_plan_many_dft(1, &cn, w, cb, NULL, w, 1, cb, NULL, w, 1, FFTW_BACKWARD, flags);
        if (!q->pf || !q->pb || !q->cf || !q->cb || !q->gf || !q->gb) {
            if (k == 0) s->planes_ok = 0; /* the plain path still works */
            s->members_ok = 0;
        }
    }
}

/* The whole batched transforms (threaded) and the block plans, under qdml_cpu_fftw_plan_lock, the
 * wisdom file read before and written after; s->fwd or s->bwd stays NULL where FFTW cannot plan. */
void qdml_cpu_plan_transforms(qdml_backend_state *s, const char *wisdom_path, const int n[3]) {
    const qdml_backend_desc *desc = &s->d;
    const unsigned flags = fftw_flags(desc->effort);
    pthread_mutex_lock(&qdml_cpu_fftw_plan_lock);
    wisdom_import(wisdom_path);
    fftw_plan_with_nthreads(s->nt);
    fftw_complex *buf = (fftw_complex *)s->psi;
    s->fwd = fftw_plan_many_dft(3, n, (int)desc->batch, buf, NULL, 1, (int)desc->npoints, buf, NULL, 1,
                                (int)desc->npoints, FFTW_FORWARD, flags);
    s->bwd = fftw_plan_many_dft(3, n, (int)desc->batch, buf, NULL, 1, (int)desc->npoints, buf, NULL, 1,
                                (int)desc->npoints, FFTW_BACKWARD, flags);
    if (s->planes_ok && s->fwd && s->bwd) plan_blocks(s, flags);
    if (s->fwd && s->bwd) wisdom_export(wisdom_path);
    /* The kick factors are read by the timed trial steps of choose_path. */
    memset(s->tab[0].evh, 0, (size_t)s->total * sizeof(qdml_c64));
    memset(s->tab[0].evf, 0, (size_t)s->total * sizeof(qdml_c64));
    pthread_mutex_unlock(&qdml_cpu_fftw_plan_lock);
}

/* Every plan of the problem, under the lock. */
void qdml_cpu_destroy_plans(qdml_backend_state *s) {
    pthread_mutex_lock(&qdml_cpu_fftw_plan_lock);
    if (s->fwd) fftw_destroy_plan(s->fwd);
    if (s->bwd) fftw_destroy_plan(s->bwd);
    for (int k = 0; k < 2; ++k) {
        blocking *q = &s->blk[k];
        fftw_plan plans[] = {q->pf, q->pb, q->cf, q->cb, q->gf, q->gb};
        for (size_t i = 0; i < sizeof plans / sizeof plans[0]; ++i)
            if (plans[i]) fftw_destroy_plan(plans[i]);
    }
    pthread_mutex_unlock(&qdml_cpu_fftw_plan_lock);
}
