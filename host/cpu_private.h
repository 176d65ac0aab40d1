/* The CPU backend's private state, shared by its files, and the functions they call across each
 * other. The backend (FFTW + OpenMP) is one struct qdml_backend_state worked on by files named for
 * their concern:
 *   backend_cpu.c          create, destroy, host copies, backup, fill_objective, the ops table
 *   backend_cpu_fftw.c     FFTW's one-time set-up, the plan lock, wisdom, a problem's plans
 *   backend_cpu_simd.c     the pointwise kernels (a default set and an AVX2 one, chosen at run time)
 *   backend_cpu_tables.c   the step tables (potential and kinetic factors) of every member
 *   backend_cpu_fused.c    the fused passes of two- and three-dimensional grids, and materialize
 *   backend_cpu_paths.c    which path a shape takes (geometry, QDML_CPU_PATH, timing, paths file)
 *   backend_cpu_steps.c    the step ops (kick, fft, kinetic, scale) and the steps op
 *   backend_cpu_sched.c    the steps under time-dependent coefficients (steps_scheduled)
 *   backend_cpu_moments.c  the monitoring sums and the distance to the backup
 *   backend_cpu_block.c    gram and combine (orthonormalising a block of states)
 *   backend_cpu_vectors.c  work slots, H and the kinetic preconditioner on them, list products
 * Functions called from another file carry the prefix qdml_cpu_ (the static library exports them);
 * none of this is public. The files call each other in one direction only (no circles): backend_cpu.c
 * calls the others; sched calls tables and steps, tables calls paths, paths calls steps, and these and
 * moments, block and vectors call fused; tables, paths and backend_cpu.c call fftw, which calls simd; fused and simd call none.
 */
#ifndef QDML_CPU_PRIVATE_H
#define QDML_CPU_PRIVATE_H

#include <fftw3.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "pointwise.h"
#include "status.h"
#include "step.h"

/* Always inlined: the per-element loop bodies (pointwise kernels, monitoring rows), so that constant
 * flags become separate loops. */
#if defined(__GNUC__)
#define QDML_INLINE static inline __attribute__((always_inline))
#else
#define QDML_INLINE static inline
#endif


/* Per-thread, per-member partial sums of the monitoring passes. Padded to a cache line multiple
 * so threads do not share lines. */
typedef struct partial_sums {
    double s0, sv, st, sres;
    double sx[3], sxx[3];
    double rmax;
    int64_t imax;
    double pad[3];
} partial_sums;

/* The plain path and the two fused ones (see backend_cpu_paths.c). */
enum { PATH_PLAIN = 0, PATH_PLANES = 1, PATH_MEMBERS = 2 };

/* qdml_backend_state.edge: 1 in millionths, and the largest value kept (10^6). */
#define EDGE_ONE INT64_C(1000000)
#define EDGE_MAX (EDGE_ONE * EDGE_ONE)

/* What the solver last asked of the transform, in the fused path. */
enum {
    SEM_X = 0,       /* position space (planes of members with phys[b] = 1 still transformed) */
    SEM_K_LAZY = 1,  /* a forward FFT was requested and not yet performed */
    SEM_K_KIN = 2,   /* forward FFT and kinetic factor performed; the inverse column transforms too,
                        so only the inverse plane transforms (phys[b] = 1) remain of the inverse FFT,
                        or (PATH_MEMBERS) the kinetic factor is pending on the whole transform */
    SEM_K_PLAIN = 3  /* momentum space, plainly (after a materialized forward FFT) */
};

/* The pointwise kernels; a version for AVX2 where the processor has it (chosen at run time). */
typedef struct kernel_set {
    /* p[i] *= c * g[i], g real (one double per point); optional flush of tiny values; returns
     * sum |p|^2 when norm */
    double (*mul_real)(double *restrict p, const double *restrict g, int64_t n, double c, int flush, int norm);
    /* the same without the exact treatment of infinities and NaNs (the fused paths) */
    double (*mul_real_fast)(double *restrict p, const double *restrict g, int64_t n, double c, int flush, int norm);
    /* p[i] *= c * f[i], f complex */
    double (*mul_cplx)(double *restrict p, const double *restrict f, int64_t n, double c, int flush, int norm);
    /* p[i] *= (cr + i ci) * f[i], f complex */
    void (*row_cplx)(double *restrict p, const double *restrict f, int64_t n, double cr, double ci, int flush);
    /* p[i] *= c over n complex values */
    void (*scale)(double *restrict p, int64_t n, double c);
    /* Kinetic factor of a block of `rows` rows of w points, `stride` points apart (the column
     * stage): row r times (ko[r] rp) t[j], complex, as row_cplx with that row factor; or, real,
     * times ko[r] rp t[j] as mul_real_fast. One call per block: rows are often short. */
    void (*kin_cplx)(double *restrict p, int64_t stride, int64_t rows, const qdml_c64 *ko, qdml_c64 rp,
                     const double *restrict t, int64_t w, int flush);
    void (*kin_real)(double *restrict p, int64_t stride, int64_t rows, const double *ko, double rp,
                     const double *restrict t, int64_t w, int flush);
    /* evh[i] = exp(-i theta) = (cos theta, -sin theta) and evf[i] = evh[i]^2, theta = (v[i] - shift) rate,
     * by a vectorised sine and cosine (backend_cpu_simd.c; within 2^-52 of libm's, not its bits) */
    void (*phases)(const double *restrict v, int64_t n, double shift, double rate, qdml_c64 *restrict evh,
                   qdml_c64 *restrict evf);
} kernel_set;

/* cos theta and sin theta as the phases kernels compute them (for the tests). */
void qdml_cpu_phase_point(double theta, double *co, double *si);

/* Block sizes of the fused passes and FFTW plans for one block (single-threaded: a thread runs
 * one block at a time). */
typedef struct blocking {
    int64_t rb;          /* planes per block of the plane stage (divides nout) */
    int64_t w;           /* columns per block of the column stage (divides n2) */
    fftw_plan pf, pb;    /* rb planes, in place in psi */
    fftw_plan cf, cb;    /* w columns of nout points, stride P, in place in psi */
    fftw_plan gf, gb;    /* w columns of nout points in a contiguous buffer (stride w) */
} blocking;

/* The step tables of every member: potential factors for a half and a full step, and the per-axis
 * kinetic tables (complex; and their real parts, which imaginary time uses). */
typedef struct table_set {
    qdml_c64 *evh, *evf; /* B * N each; in imaginary time one real per point in the first half */
    qdml_c64 *ktab;      /* B * ksum */
    double *kreal;       /* B * ksum */
} table_set;

struct qdml_backend_state {
    qdml_backend_desc d;
    int nt;              /* threads used for loops and FFTs: 1 for small problems, else d.nthreads */
    int64_t total;       /* B * N */
    int64_t ksum;        /* n0 + n1 + n2: length of one member's kinetic table */
    qdml_c64 *psi, *work, *backup;
    /* Table sets: [0] always, [1] allocated when a member's step parameters alternate between two
     * sets (the substeps of a 4th-order composition), so that each switch selects a set instead of
     * computing a transcendental function per point again. Member b uses tab[slot[b]]; held[2b + k]
     * are the parameters tab[k] holds for it (held_ok[2b + k]), evicted[b] the last ones overwritten
     * while tab[1] did not exist (evicted_ok[b]): asked for again, they show the alternation. */
    table_set tab[2];
    unsigned char *slot, *held_ok, *evicted_ok;
    qdml_step_params *held, *evicted;
    double *v;
    double *x[3];        /* coordinates per internal axis */
    double *k2[3];       /* k^2 per internal axis (FFT order) */
    partial_sums *part;  /* nthreads * B */
    unsigned char *flush; /* per member: flush tiny amplitudes (qdml_step_params.flush_tiny) */
    unsigned char *imag;  /* per member: imaginary-time tables (real factors) */
    double *norm_part;   /* nthreads * B */
    fftw_plan fwd, bwd;  /* whole batched transforms (threaded) */
    const kernel_set *k;

    /* Which path the step ops take (PATH_*), and which ones this problem's shape allows. */
    int path;
    int planes_ok;
    int oaxis;           /* outer internal axis: 0 (3D) or 1 (2D) */
    int64_t nout;        /* points on the outer axis */
    int64_t P;           /* points per plane (product of the axes after the outer one) */
    int64_t prow;        /* rows of n2 points per plane */
    blocking blk[2];     /* blocks and their plans: [0] PATH_PLANES, [1] PATH_MEMBERS */
    unsigned member_passes; /* passes of PATH_MEMBERS so far (their order of members alternates) */
    int members_ok;      /* blk[1] planned: a batch of at least as many members as threads */
    int gather;          /* column stages with the kinetic factor copy each block into a per-thread
                            buffer first (else in place) */
    int choice[2][2];    /* {path, gather} measured fastest for real-time [0] and imaginary-time [1]
                            steps (use_path takes one) */
    int pgather[2];      /* the faster column variant of PATH_PLANES, per kind of step */
    int64_t edge[2];     /* where the member path was chosen: how much slower a member is on
                            PATH_PLANES than on it (time per member, threads kept busy), per kind,
                            in units of EDGE_ONE (an integer, so the paths file keeps it exactly) */
    int adaptive;        /* the choice was measured or read (not forced): a steps call with too few
                            active members to keep every thread busy on the member path runs on
                            PATH_PLANES (cpu_steps) */
    qdml_c64 *cbuf;      /* nthreads buffers of nout * max(w) points */
    int64_t *items;      /* work list of a pass: B * max(blocks per member) */
    int sem;
    unsigned char *phys; /* per member: 0 plain, 1 planes held transformed, 2 planes and columns
                            (the whole forward transform, PATH_MEMBERS only) */
    unsigned char *kin_pending; /* per member (PATH_MEMBERS): the kinetic factor times kin_scale[b]
                                   is still to be applied to the transform held (phys[b] = 2) */
    double *kin_scale;
    double *steps_buf;   /* 2B doubles: the norms and scales of a steps call run on PATH_PLANES */
    int kick_pending;    /* 0 none, 1 half-step factor, 2 full-step factor */
    unsigned char *kick_active; /* members the pending kick applies to */
    unsigned char *fwd_set;     /* scratch: members a plane pass leaves transformed */
    double *grad2;       /* B * N: |grad V|^2 of each member (made on first use by a set_step with vgrad) */
    unsigned char *grad2_ok; /* per member: grad2 holds the current potential's */
    qdml_c64 **vslot;    /* the work slots of the block-vector ops (slot k >= 1 is vslot[k - 1]) */
    double *pweight;     /* B * N: the preconditioner's point-wise weights D^1/2 (backend_cpu_vectors.c), */
    double *pw_shift, *pw_vmin; /* made for these shifts and minima per member, */
    unsigned char *pw_ok;       /* and valid (cleared with the member's potential) */
    int nvslot;
};

/* Stages of a column block, in this order: forward transform along the outer axis, the kinetic
 * factor times `sc` (or, with COL_SCALE instead, `sc` alone), inverse transform along the outer axis. */
enum { COL_FWD = 1, COL_KIN = 2, COL_SCALE = 4, COL_INV = 8 };

static inline void chunk(int64_t total, int t, int nt, int64_t *a, int64_t *e) {
    /* Split as q*nt + r without overflowing total * t. */
    const int64_t q = total / nt, r = total % nt;
    *a = q * t + (t < r ? t : r);
    *e = *a + q + (t < r ? 1 : 0);
}

/* A thread's range [idx, e) of the whole batch taken one member at a time: the end of the piece
 * that starts at idx and lies in one member (of N points), that member in *b. */
static inline int64_t member_piece(int64_t idx, int64_t e, int64_t N, int64_t *b) {
    *b = idx / N;
    return (*b + 1) * N < e ? (*b + 1) * N : e;
}

/* Potential factors of a member: complex (real time) or, in imaginary time, one real number per
 * point in the first half of the member's slot (half the bytes a step reads). */
static inline const double *kick_factor(const qdml_backend_state *s, int full, int64_t b) {
    const table_set *t = &s->tab[s->slot[b]];
    return (const double *)((full ? t->evf : t->evh) + b * s->d.npoints);
}

/* Kinetic tables of a member (n0 + n1 + n2 entries): complex, and their real parts (imaginary time). */
static inline const qdml_c64 *kin_table(const qdml_backend_state *s, int64_t b) {
    return s->tab[s->slot[b]].ktab + b * s->ksum;
}
static inline const double *kin_real_table(const qdml_backend_state *s, int64_t b) {
    return s->tab[s->slot[b]].kreal + b * s->ksum;
}

/* Fused-path geometry of a problem (qdml_cpu_fused_geometry_of): the outer axis, plane size and the
 * block sizes of the two fused paths ([0] PATH_PLANES, [1] PATH_MEMBERS). */
typedef struct fused_geometry {
    int oaxis;
    int64_t nout, P, prow, rb[2], w[2];
} fused_geometry;

/* ---- backend_cpu_fftw.c: FFTW's set-up, lock and plans --------------------------------------- */

/* Held around every FFTW plan and destroy, and around the path memo and the paths file. */
extern pthread_mutex_t qdml_cpu_fftw_plan_lock;
int qdml_cpu_fftw_init(const kernel_set **kernels);
/* 64-byte aligned arrays of count elements, released with free(); NULL on overflow or failure. */
void *qdml_cpu_fft_alloc(int64_t count, size_t elem, size_t *bytes_out);
void qdml_cpu_plan_transforms(qdml_backend_state *s, const char *wisdom_path, const int n[3]);
void qdml_cpu_destroy_plans(qdml_backend_state *s);

/* ---- backend_cpu_simd.c: pointwise kernels -------------------------------------------------- */

/* The AVX2 kernels where the processor has AVX2, else the default ones. */
const kernel_set *qdml_cpu_choose_kernels(void);

/* ---- backend_cpu_tables.c: step tables ------------------------------------------------------ */

qdml_status qdml_cpu_set_step(qdml_backend_state *s, int64_t b, const qdml_step_params *p);
/* Tables built from member b's old potential are of no further use. */
void qdml_cpu_forget_tables(qdml_backend_state *s, int64_t b);
/* Member b's tables in the set in use rebuilt for p by the calling thread alone, the real-time potential
 * factors by the phases kernel, p recorded as what the set holds (the scheduled steps: inside their
 * parallel region). */
void qdml_cpu_rebuild_tables(qdml_backend_state *s, int64_t b, const qdml_step_params *p);

/* ---- backend_cpu_fused.c: fused passes ------------------------------------------------------ */

double qdml_cpu_plane_block(const qdml_backend_state *s, const blocking *q, int64_t b, int64_t off, int from,
                            int kick, int to, int norm);
void qdml_cpu_column_block(const qdml_backend_state *s, const blocking *q, int64_t b, int64_t blk, int t, int stages,
                           double sc, int gather);
void qdml_cpu_plane_pass(qdml_backend_state *s, int kick, const unsigned char *kact, double *norms, int fwd,
                         const unsigned char *fset, int plain);
void qdml_cpu_column_pass(qdml_backend_state *s, const double *scale, const unsigned char *active);
void qdml_cpu_member_pass(qdml_backend_state *s, int kick, const unsigned char *kact, double *norms, int up,
                          const unsigned char *uset, int plain, const double *kscale);
/* Perform whatever the fused paths have deferred, leaving psi in the plain layout. */
void qdml_cpu_materialize(qdml_backend_state *s);

/* ---- backend_cpu_paths.c: which path a shape takes ------------------------------------------ */

int qdml_cpu_fused_geometry_of(const qdml_backend_desc *d, int nthreads, fused_geometry *g);
int qdml_cpu_forced_path(void);
int qdml_cpu_fused_wanted(const qdml_backend_desc *d, int forced);
void qdml_cpu_choose_path(qdml_backend_state *s, const char *wisdom_path);
void qdml_cpu_use_path(qdml_backend_state *s);

/* ---- backend_cpu_steps.c: the step ops ------------------------------------------------------ */

qdml_status qdml_cpu_kick(qdml_backend_state *s, int full, const unsigned char *active, double *norms);
qdml_status qdml_cpu_fft(qdml_backend_state *s, int forward);
qdml_status qdml_cpu_kinetic(qdml_backend_state *s, const double *scale, const unsigned char *active);
qdml_status qdml_cpu_scale(qdml_backend_state *s, const double *scale, const unsigned char *active);
qdml_status qdml_cpu_steps(qdml_backend_state *s, int64_t n, int m, const unsigned char *sub,
                           const unsigned char *active, int renorm, double dv, int64_t *stop, int *done);
/* Whether a renormalisation norm is one the steps can go on with (finite and positive). */
int qdml_cpu_norm_ok(double norm);
/* Whether `a` active members would leave threads idle on the member path (backend_cpu_steps.c). */
int qdml_cpu_too_few_members(const qdml_backend_state *s, int64_t a);
/* backend_cpu_sched.c */
qdml_status qdml_cpu_steps_scheduled(qdml_backend_state *s, int64_t n, const unsigned char *active, const double *kdt,
                                     const double *vh, int renorm, double dv, int64_t *stop, int *done);
/* The kind of step the members are set up for: imaginary time (1) if every member is, else real time (0). */
int qdml_cpu_step_kind(const qdml_backend_state *s);

/* ---- backend_cpu_moments.c: monitoring ------------------------------------------------------ */

qdml_status qdml_cpu_moments(qdml_backend_state *s, const double *hbar, const double *mass, const unsigned char *want,
                             qdml_moments *out);
qdml_status qdml_cpu_distance(qdml_backend_state *s, const unsigned char *mask, double *out);

/* ---- backend_cpu_block.c: block orthonormalisation ------------------------------------------ */

qdml_status qdml_cpu_gram(qdml_backend_state *s, int64_t count, double *g);
qdml_status qdml_cpu_combine(qdml_backend_state *s, int64_t count, const double *t);

/* ---- backend_cpu_vectors.c: block-vector ops (the eigensolver's) ---------------------------- */

qdml_status qdml_cpu_vectors(qdml_backend_state *s, int n);
void qdml_cpu_vectors_free(qdml_backend_state *s);
qdml_status qdml_cpu_apply_h(qdml_backend_state *s, int src, int dst, const double *hbar, const double *mass);
qdml_status qdml_cpu_precondition(qdml_backend_state *s, int src, int dst, const double *hbar, const double *mass,
                                  const double *shift, const double *vmin);
qdml_status qdml_cpu_vdot(qdml_backend_state *s, int ni, const int *uslot, const int64_t *umem, int nj,
                          const int *wslot, const int64_t *wmem, int hermitian, double *g);
qdml_status qdml_cpu_vcombine(qdml_backend_state *s, int ni, const int *uslot, const int64_t *umem, int nj,
                              const int *wslot, const int64_t *wmem, const double *c);
qdml_status qdml_cpu_vset(qdml_backend_state *s, int slot, int64_t member, const double *psi);

#endif
