/* CPU backend: FFTW (batched, threaded through OpenMP) and OpenMP loops around the per-element
 * math of core/pointwise.h. The reference every other backend is compared with.
 *
 * A split-step step is two FFTs and two pointwise passes (potential factor, kinetic factor). On
 * grids of two or three dimensions this backend fuses them: the multi-dimensional transform is
 * split into transforms of the planes (the trailing axes, contiguous) and transforms along the
 * leading ("outer") axis, and
 *   - the plane pass applies the pending inverse plane transform, the potential factor (with the
 *     norm sum and the flush of tiny values) and the forward plane transform, one block of planes
 *     at a time while it is in cache;
 *   - the column pass gathers a block of columns along the outer axis into a per-thread buffer,
 *     transforms it, multiplies by the kinetic factor, transforms back and scatters it.
 * So a step reads and writes the state twice instead of six or more times. The solver still calls
 * kick, fft, kinetic, fft, kick in order; the backend defers the work (a forward FFT is only noted,
 * a kick without norms is queued) and performs it in these passes. Every op that looks at the
 * state any other way first brings it to the plain layout ("materialize").
 *
 * Two fused paths: PATH_PLANES runs each pass over blocks of all members, shared among the threads
 * (one member, or a few large ones). PATH_MEMBERS (batches) gives each thread whole members. Runs
 * of steps come through the steps op (cpu_steps): a thread takes a member through all the steps up
 * to the next monitoring point, plane and column stages back to back, before it starts the next
 * member, so the member stays in its core's cache across steps and only the factor tables stream
 * in (4th-order compositions too, switching between the two table sets; see table_set). The single
 * ops (potential-only steps, a composition while a member lacks its second table set) take one
 * pass over the members per step (member_pass), which reads and writes each member once; in
 * imaginary time its column stage is split between the end of one pass and the start of the next,
 * because the solver needs the kick's norms before it gives the kinetic factor its scale.
 *
 * Layout of a member in the fused paths: `phys[b]` = 0 means psi holds the member as the solver
 * sees it; 1 means psi holds the unnormalised forward transform of every plane of it (an inverse
 * plane transform and a factor 1/P give it back); 2 (PATH_MEMBERS) the whole unnormalised forward
 * transform, perhaps with the kinetic factor still to apply (kin_pending[b]). One-dimensional
 * problems, and grids whose last axis is not a multiple of 4, take the plain path: batched FFTW
 * plans and one OpenMP pass per op. Which path a shape takes is measured at creation, separately
 * for real- and imaginary-time steps (choose_path; set_step takes the one for the members' mode);
 * QDML_FFT_ESTIMATE keeps the plain path. Where the member path was measured fastest, a steps call
 * with too few active members to keep every thread busy on it (a ground search whose other members
 * have converged) runs on PATH_PLANES (too_few_members, planes_steps), which depends on that call's
 * active members alone. The fused paths' results equal the plain path's to rounding (~1e-15
 * relative), not bit for bit; a shape takes the same paths for the life of the process, and, with a
 * wisdom file, on that machine ("<wisdom>.paths", see paths_read).
 *
 * For tests and measurements, the environment variable QDML_CPU_PATH, read when a problem is
 * created, replaces the measurement: `plain`, `planes`, `planes-gather`, `members`,
 * `members-gather` (gather: column blocks copied to a per-thread buffer). It applies whatever the
 * FFT effort (with QDML_FFT_ESTIMATE the block plans are estimated too); a shape the fused paths
 * cannot take stays plain, and `members*` where the member path cannot run (one member, or fewer
 * members than threads) takes `planes*`. Any other value makes problem creation fail.
 * Build-time options, for measurements only: QDML_CPU_TRACE (print the timings of choose_path to
 * stderr), QDML_PLANE_BLOCK_BYTES, QDML_COLUMN_BLOCK_BYTES, QDML_MAX_COLUMNS,
 * QDML_MEMBER_PLANE_BYTES, QDML_MEMBER_COLUMN_BYTES, QDML_MEMBER_MAX_COLUMNS (block sizes of the
 * fused paths).
 */
#include <assert.h>
#include <fftw3.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"
#include "objectives.h"
#include "pointwise.h"

/* Per-thread, per-member partial sums of the monitoring passes. Padded to a cache line multiple
 * so threads do not share lines. */
typedef struct partial_sums {
    double s0, sv, st, sres;
    double sx[3], sxx[3];
    double rmax;
    int64_t imax;
    double pad[3];
} partial_sums;

/* The plain path and the two fused ones (see the top of the file). */
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
} kernel_set;

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
};

static pthread_once_t fftw_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t fftw_plan_lock = PTHREAD_MUTEX_INITIALIZER;
static int fftw_threads_ok = 0;
static const kernel_set *kernels_chosen = NULL;
static const kernel_set *choose_kernels(void);
static void choose_path(qdml_backend_state *s, const char *wisdom_path);
static void use_path(qdml_backend_state *s);

static void fftw_global_init(void) {
    fftw_threads_ok = fftw_init_threads();
    /* Planning from several contexts at once must not corrupt FFTW's planner state. */
    fftw_make_planner_thread_safe();
    kernels_chosen = choose_kernels();
}

static void chunk(int64_t total, int t, int nt, int64_t *a, int64_t *e) {
    /* Split as q*nt + r without overflowing total * t. */
    const int64_t q = total / nt, r = total % nt;
    *a = q * t + (t < r ? t : r);
    *e = *a + q + (t < r ? 1 : 0);
}

/* A thread's range [idx, e) of the whole batch taken one member at a time: the end of the piece
 * that starts at idx and lies in one member (of N points), that member in *b. */
static int64_t member_piece(int64_t idx, int64_t e, int64_t N, int64_t *b) {
    *b = idx / N;
    return (*b + 1) * N < e ? (*b + 1) * N : e;
}

/* ---- pointwise kernels ------------------------------------------------------------------------
 * Plain loops over interleaved (re, im) doubles with restrict pointers; the norm sums through an
 * OpenMP simd reduction. `flush`, `norm` and `bits` are constants after inlining, so every
 * combination becomes its own loop. The flush of tiny values is written as a comparison of
 * |x| with QDML_TINY in the default version (which the compiler turns into branches) and as the
 * same comparison on the bit patterns (monotonic for non-negative doubles, NaN and infinity
 * included) in the AVX2 version, where it becomes a vector compare and mask. */

#if defined(__GNUC__)
#define QDML_INLINE static inline __attribute__((always_inline))
#else
#define QDML_INLINE static inline
#endif

QDML_INLINE double flush_value(double x, const int bits) {
    if (!bits) return fabs(x) < QDML_TINY ? 0.0 : x;
    const double tiny = QDML_TINY;
    int64_t u, t;
    memcpy(&u, &x, sizeof u);
    memcpy(&t, &tiny, sizeof t);
    u &= -(int64_t)((u & INT64_MAX) >= t);
    memcpy(&x, &u, sizeof x);
    return x;
}

/* 1 if any of the n doubles is infinite or NaN (exponent bits all set); an OR over integers, so the
 * loop vectorises without reassociating floating-point sums. */
QDML_INLINE int any_nonfinite(const double *restrict p, int64_t n) {
    uint64_t hit = 0;
    for (int64_t j = 0; j < n; ++j) {
        uint64_t u;
        memcpy(&u, &p[j], sizeof u);
        hit |= (uint64_t)((u & 0x7ff0000000000000ull) == 0x7ff0000000000000ull);
    }
    return hit != 0;
}

/* Store one complex value, flushed to 0 where tiny if `flush`; returns its |z|^2 (for the norm sums). */
QDML_INLINE double store_value(double *restrict q, double re, double im, const int flush, const int bits) {
    if (flush) {
        re = flush_value(re, bits);
        im = flush_value(im, bits);
    }
    q[0] = re;
    q[1] = im;
    return re * re + im * im;
}

/* p[i] *= c * g[i] for n complex values and a real factor g[i] per point (imaginary time).
 * With `exact` the result is the complex product z * (h, 0), h = c * g[i], exactly as qdml_cmul
 * computes it (re = zr h - zi 0, im = zr 0 + zi h): for finite z that equals (zr h, zi h), which the
 * main loop computes; a chunk holding an infinity or NaN takes the complex formula, whose zi 0 and
 * zr 0 terms turn a non-finite part into NaN in both parts. The plain path keeps that op-for-op
 * equality with the reference arithmetic (tests/cuda_emulation.cpp). The fused paths, which equal
 * it only to rounding anyway, leave the check out: it cost about as much as the product itself, and
 * a state holding an infinity or NaN has diverged whatever its other part becomes (norms and
 * statistics are not finite either way). */
#define QDML_REAL_CHUNK 256
QDML_INLINE double mul_real_exact_chunk(double *restrict q, const double *restrict g, int64_t m, double c,
                                        const int flush, const int norm, const int bits) {
    double acc = 0.0;
    for (int64_t i = 0; i < m; ++i) {
        const double h = c * g[i], zr = q[2 * i], zi = q[2 * i + 1];
        const double a2 = store_value(q + 2 * i, zr * h - zi * 0.0, zr * 0.0 + zi * h, flush, bits);
        if (norm) acc += a2;
    }
    return acc;
}

QDML_INLINE double mul_real_body(double *restrict p, const double *restrict g, int64_t n, double c, const int flush,
                                 const int norm, const int bits, const int exact) {
    double acc = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += QDML_REAL_CHUNK) {
        const int64_t m = n - i0 < QDML_REAL_CHUNK ? n - i0 : QDML_REAL_CHUNK;
        double *restrict q = p + 2 * i0;
        const double *restrict gg = g + i0;
        if (exact && any_nonfinite(q, 2 * m)) {
            acc += mul_real_exact_chunk(q, gg, m, c, flush, norm, bits);
            continue;
        }
#pragma omp simd reduction(+ : acc)
        for (int64_t i = 0; i < m; ++i) {
            const double h = c * gg[i];
            const double a2 = store_value(q + 2 * i, q[2 * i] * h, q[2 * i + 1] * h, flush, bits);
            if (norm) acc += a2;
        }
    }
    return acc;
}

QDML_INLINE double mul_cplx_body(double *restrict p, const double *restrict f, int64_t n, double c, const int flush,
                                 const int norm, const int bits) {
    double acc = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double fr = c * f[2 * i], fi = c * f[2 * i + 1];
        const double pr = p[2 * i], pi = p[2 * i + 1];
        const double a2 = store_value(p + 2 * i, pr * fr - pi * fi, pr * fi + pi * fr, flush, bits);
        if (norm) acc += a2;
    }
    return acc;
}

QDML_INLINE void row_cplx_body(double *restrict p, const double *restrict f, int64_t n, double cr, double ci,
                               const int flush, const int bits) {
    for (int64_t i = 0; i < n; ++i) {
        const double fr = cr * f[2 * i] - ci * f[2 * i + 1], fi = cr * f[2 * i + 1] + ci * f[2 * i];
        const double pr = p[2 * i], pi = p[2 * i + 1];
        (void)store_value(p + 2 * i, pr * fr - pi * fi, pr * fi + pi * fr, flush, bits);
    }
}

QDML_INLINE void scale_body(double *restrict p, int64_t n, double c) {
    for (int64_t i = 0; i < 2 * n; ++i) p[i] *= c;
}

QDML_INLINE void kin_cplx_body(double *restrict p, int64_t stride, int64_t rows, const qdml_c64 *ko, qdml_c64 rp,
                               const double *restrict t, int64_t w, const int flush, const int bits) {
    for (int64_t r = 0; r < rows; ++r) {
        const qdml_c64 rf = qdml_cmul(ko[r], rp);
        row_cplx_body(p + 2 * r * stride, t, w, rf.re, rf.im, flush, bits);
    }
}

/* One set of kernels per instruction set: BITS selects the flush written on bit patterns, and
 * MUL_REAL_BODY, MUL_CPLX_BODY and KIN_CPLX_BODY the loops of the real factors, the complex potential
 * factor and the complex kinetic factor. */
#define QDML_KERNEL_SET(SUFFIX, ATTR, BITS, MUL_REAL_BODY, MUL_CPLX_BODY, KIN_CPLX_BODY)                               \
    ATTR static double mul_real_##SUFFIX(double *restrict p, const double *restrict g, int64_t n, double c,            \
                                         int flush, int norm) {                                                        \
        if (flush) return norm ? MUL_REAL_BODY(p, g, n, c, 1, 1, BITS, 1) : MUL_REAL_BODY(p, g, n, c, 1, 0, BITS, 1);  \
        return norm ? MUL_REAL_BODY(p, g, n, c, 0, 1, BITS, 1) : MUL_REAL_BODY(p, g, n, c, 0, 0, BITS, 1);             \
    }                                                                                                                  \
    ATTR static double mul_real_fast_##SUFFIX(double *restrict p, const double *restrict g, int64_t n, double c,       \
                                              int flush, int norm) {                                                   \
        if (flush) return norm ? MUL_REAL_BODY(p, g, n, c, 1, 1, BITS, 0) : MUL_REAL_BODY(p, g, n, c, 1, 0, BITS, 0);  \
        return norm ? MUL_REAL_BODY(p, g, n, c, 0, 1, BITS, 0) : MUL_REAL_BODY(p, g, n, c, 0, 0, BITS, 0);             \
    }                                                                                                                  \
    ATTR static double mul_cplx_##SUFFIX(double *restrict p, const double *restrict f, int64_t n, double c,            \
                                         int flush, int norm) {                                                        \
        if (flush) return norm ? MUL_CPLX_BODY(p, f, n, c, 1, 1, BITS) : MUL_CPLX_BODY(p, f, n, c, 1, 0, BITS);        \
        return norm ? MUL_CPLX_BODY(p, f, n, c, 0, 1, BITS) : MUL_CPLX_BODY(p, f, n, c, 0, 0, BITS);                   \
    }                                                                                                                  \
    ATTR static void row_cplx_##SUFFIX(double *restrict p, const double *restrict f, int64_t n, double cr, double ci,  \
                                       int flush) {                                                                    \
        if (flush) row_cplx_body(p, f, n, cr, ci, 1, BITS);                                                            \
        else row_cplx_body(p, f, n, cr, ci, 0, BITS);                                                                  \
    }                                                                                                                  \
    ATTR static void scale_##SUFFIX(double *restrict p, int64_t n, double c) { scale_body(p, n, c); }                  \
    ATTR static void kin_cplx_##SUFFIX(double *restrict p, int64_t stride, int64_t rows, const qdml_c64 *ko,           \
                                       qdml_c64 rp, const double *restrict t, int64_t w, int flush) {                  \
        if (flush) KIN_CPLX_BODY(p, stride, rows, ko, rp, t, w, 1, BITS);                                              \
        else KIN_CPLX_BODY(p, stride, rows, ko, rp, t, w, 0, BITS);                                                    \
    }                                                                                                                  \
    ATTR static void kin_real_##SUFFIX(double *restrict p, int64_t stride, int64_t rows, const double *ko, double rp,  \
                                       const double *restrict t, int64_t w, int flush) {                               \
        for (int64_t r = 0; r < rows; ++r)                                                                             \
            (void)(flush ? MUL_REAL_BODY(p + 2 * r * stride, t, w, ko[r] * rp, 1, 0, BITS, 0)                          \
                         : MUL_REAL_BODY(p + 2 * r * stride, t, w, ko[r] * rp, 0, 0, BITS, 0));                        \
    }                                                                                                                  \
    static const kernel_set kernels_##SUFFIX = {mul_real_##SUFFIX, mul_real_fast_##SUFFIX, mul_cplx_##SUFFIX,          \
                                                row_cplx_##SUFFIX, scale_##SUFFIX,         kin_cplx_##SUFFIX,          \
                                                kin_real_##SUFFIX};

QDML_KERNEL_SET(default, , 0, mul_real_body, mul_cplx_body, kin_cplx_body)

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define QDML_HAVE_AVX2_KERNELS 1
#include <immintrin.h>

/* flush_value(x, 1) on each lane: x where its magnitude bits are at least those of QDML_TINY, else +0 */
__attribute__((always_inline, target("avx2"))) static inline __m256d flush_avx2(__m256d x) {
    const double tiny = QDML_TINY;
    int64_t tiny_bits;
    memcpy(&tiny_bits, &tiny, sizeof tiny_bits);
    const __m256i u = _mm256_castpd_si256(x);
    const __m256i keep = _mm256_cmpgt_epi64(_mm256_and_si256(u, _mm256_set1_epi64x(INT64_MAX)),
                                            _mm256_set1_epi64x(tiny_bits - 1));
    return _mm256_castsi256_pd(_mm256_and_si256(u, keep));
}

/* (a0 + a1) + (a2 + a3) */
__attribute__((always_inline, target("avx2"))) static inline double sum_avx2(__m256d a) {
    double lanes[4];
    _mm256_storeu_pd(lanes, a);
    return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

/* kin_cplx_body written with AVX2 intrinsics, two points per vector: the same operations in the
 * same order (f = (cr tr - ci ti, cr ti + ci tr), then re = pr fr - pi fi, im = pi fr + pr fi, no
 * fused multiply-adds), so the same bits; the compiler's vectorisation of the C loop spends half
 * as long again on shuffles, which on rows of 16 points (the column blocks) made the kinetic factor
 * cost a quarter of the column transforms. */
__attribute__((always_inline, target("avx2"))) static inline void
kin_cplx_body_avx2(double *restrict p, int64_t stride, int64_t rows, const qdml_c64 *ko, qdml_c64 rp,
                   const double *restrict t, int64_t w, const int flush, const int bits) {
    const int64_t w2 = w & ~(int64_t)1;
    for (int64_t r = 0; r < rows; ++r) {
        const qdml_c64 rf = qdml_cmul(ko[r], rp);
        const __m256d cr = _mm256_set1_pd(rf.re), ci = _mm256_set1_pd(rf.im);
        double *restrict q = p + 2 * r * stride;
        for (int64_t j = 0; j < w2; j += 2) {
            const __m256d tv = _mm256_loadu_pd(t + 2 * j);
            const __m256d f = _mm256_addsub_pd(_mm256_mul_pd(cr, tv), _mm256_mul_pd(ci, _mm256_permute_pd(tv, 0x5)));
            const __m256d z = _mm256_loadu_pd(q + 2 * j);
            __m256d x = _mm256_addsub_pd(_mm256_mul_pd(z, _mm256_movedup_pd(f)),
                                         _mm256_mul_pd(_mm256_permute_pd(z, 0x5), _mm256_permute_pd(f, 0xf)));
            if (flush) x = flush_avx2(x);
            _mm256_storeu_pd(q + 2 * j, x);
        }
        if (w2 < w) row_cplx_body(q + 2 * w2, t + 2 * w2, w - w2, rf.re, rf.im, flush, bits);
    }
}

/* mul_real_body with AVX2 intrinsics, four points (two vectors) at a time: the compiler's
 * vectorisation of the C loop, which reads one factor per two doubles, took about twice as long.
 * The same products and flush, so the same bits; the norm is summed in eight lanes. */
__attribute__((always_inline, target("avx2"))) static inline double
mul_real_body_avx2(double *restrict p, const double *restrict g, int64_t n, double c, const int flush, const int norm,
                   const int bits, const int exact) {
    const __m256d cv = _mm256_set1_pd(c);
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    double acc = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += QDML_REAL_CHUNK) {
        const int64_t m = n - i0 < QDML_REAL_CHUNK ? n - i0 : QDML_REAL_CHUNK;
        double *restrict q = p + 2 * i0;
        const double *restrict gg = g + i0;
        if (exact && any_nonfinite(q, 2 * m)) {
            acc += mul_real_exact_chunk(q, gg, m, c, flush, norm, bits);
            continue;
        }
        int64_t i = 0;
        for (; i + 4 <= m; i += 4) {
            const __m256d h = _mm256_mul_pd(cv, _mm256_loadu_pd(gg + i));
            __m256d x0 = _mm256_mul_pd(_mm256_loadu_pd(q + 2 * i), _mm256_permute4x64_pd(h, 0x50));
            __m256d x1 = _mm256_mul_pd(_mm256_loadu_pd(q + 2 * i + 4), _mm256_permute4x64_pd(h, 0xfa));
            if (flush) {
                x0 = flush_avx2(x0);
                x1 = flush_avx2(x1);
            }
            _mm256_storeu_pd(q + 2 * i, x0);
            _mm256_storeu_pd(q + 2 * i + 4, x1);
            if (norm) {
                acc0 = _mm256_add_pd(acc0, _mm256_mul_pd(x0, x0));
                acc1 = _mm256_add_pd(acc1, _mm256_mul_pd(x1, x1));
            }
        }
        for (; i < m; ++i) {
            const double h = c * gg[i];
            const double a2 = store_value(q + 2 * i, q[2 * i] * h, q[2 * i + 1] * h, flush, bits);
            if (norm) acc += a2;
        }
    }
    return norm ? acc + sum_avx2(_mm256_add_pd(acc0, acc1)) : 0.0;
}

/* mul_cplx_body with AVX2 intrinsics, two points per vector: the same products and sums (the
 * imaginary part summed as pi fr + pr fi), so the same bits; the norm is summed in four lanes. */
__attribute__((always_inline, target("avx2"))) static inline double
mul_cplx_body_avx2(double *restrict p, const double *restrict f, int64_t n, double c, const int flush, const int norm,
                   const int bits) {
    const __m256d cv = _mm256_set1_pd(c);
    __m256d accv = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 2 <= n; i += 2) {
        const __m256d fv = _mm256_mul_pd(cv, _mm256_loadu_pd(f + 2 * i));
        const __m256d z = _mm256_loadu_pd(p + 2 * i);
        __m256d x = _mm256_addsub_pd(_mm256_mul_pd(z, _mm256_movedup_pd(fv)),
                                     _mm256_mul_pd(_mm256_permute_pd(z, 0x5), _mm256_permute_pd(fv, 0xf)));
        if (flush) x = flush_avx2(x);
        _mm256_storeu_pd(p + 2 * i, x);
        if (norm) accv = _mm256_add_pd(accv, _mm256_mul_pd(x, x));
    }
    const double tail = i < n ? mul_cplx_body(p + 2 * i, f + 2 * i, n - i, c, flush, norm, bits) : 0.0;
    return norm ? tail + sum_avx2(accv) : 0.0;
}

QDML_KERNEL_SET(avx2, __attribute__((target("avx2"))), 1, mul_real_body_avx2, mul_cplx_body_avx2, kin_cplx_body_avx2)
#endif

static const kernel_set *choose_kernels(void) {
#ifdef QDML_HAVE_AVX2_KERNELS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) return &kernels_avx2;
#endif
    return &kernels_default;
}

/* ---- creation -------------------------------------------------------------------------------- */

static void cpu_destroy(qdml_backend_state *s) {
    if (!s) return;
    pthread_mutex_lock(&fftw_plan_lock);
    if (s->fwd) fftw_destroy_plan(s->fwd);
    if (s->bwd) fftw_destroy_plan(s->bwd);
    for (int k = 0; k < 2; ++k) {
        blocking *q = &s->blk[k];
        fftw_plan plans[] = {q->pf, q->pb, q->cf, q->cb, q->gf, q->gb};
        for (size_t i = 0; i < sizeof plans / sizeof plans[0]; ++i)
            if (plans[i]) fftw_destroy_plan(plans[i]);
    }
    pthread_mutex_unlock(&fftw_plan_lock);
    free(s->psi);
    free(s->work);
    free(s->backup);
    for (int k = 0; k < 2; ++k) {
        free(s->tab[k].evh);
        free(s->tab[k].evf);
        free(s->tab[k].ktab);
        free(s->tab[k].kreal);
    }
    free(s->slot);
    free(s->held_ok);
    free(s->evicted_ok);
    free(s->held);
    free(s->evicted);
    free(s->cbuf);
    free(s->v);
    for (int a = 0; a < 3; ++a) {
        free(s->x[a]);
        free(s->k2[a]);
    }
    free(s->part);
    free(s->norm_part);
    free(s->flush);
    free(s->imag);
    free(s->items);
    free(s->phys);
    free(s->kin_pending);
    free(s->kin_scale);
    free(s->steps_buf);
    free(s->kick_active);
    free(s->fwd_set);
    free(s);
}

/* The state and factor arrays, released with free(): 64-byte aligned (FFTW's SIMD plans need 16 or
 * 32). Transparent huge pages were tried for the large arrays: the steps of 64 x 256^2 gained at
 * most a few per cent, within the machine's noise, and the bare FFTs of the benchmark's own buffer
 * in the same process became up to 15 % slower, so the advice is not given. */
static void *fft_alloc(int64_t count, size_t elem, size_t *bytes_out) {
    size_t bytes;
    void *p = NULL;
    if (count < 0 || !qdml_mul_size((size_t)count, elem, &bytes)) return NULL;
    *bytes_out = bytes;
    return posix_memalign(&p, 64, bytes ? bytes : 1) == 0 ? p : NULL;
}

/* Fused-path geometry of a problem: the outer axis, plane size and block sizes. Returns 0 where
 * the plain path is used. PATH_PLANES spreads every member over all threads: its blocks aim at a few
 * hundred KiB (in L2) and at enough blocks to keep every thread busy. PATH_MEMBERS gives a thread
 * whole members, already in its core's L2: its blocks aim at L1 (planes of up to 16 KiB; a column
 * buffer of up to 32 KiB and at most 16 columns, which FFTW transforms with its plain codelets,
 * without copying through a buffer of its own as it does for longer batches of columns). */
typedef struct fused_geometry {
    int oaxis;
    int64_t nout, P, prow, rb[2], w[2];
} fused_geometry;

#ifndef QDML_PLANE_BLOCK_BYTES
#define QDML_PLANE_BLOCK_BYTES (128 * 1024)
#endif
#ifndef QDML_COLUMN_BLOCK_BYTES
#define QDML_COLUMN_BLOCK_BYTES (256 * 1024)
#endif
#ifndef QDML_MAX_COLUMNS
#define QDML_MAX_COLUMNS 64
#endif
#define QDML_MAX_PLANE_BYTES (4 * 1024 * 1024)
#ifndef QDML_MEMBER_PLANE_BYTES
#define QDML_MEMBER_PLANE_BYTES (16 * 1024)
#endif
#ifndef QDML_MEMBER_COLUMN_BYTES
#define QDML_MEMBER_COLUMN_BYTES (32 * 1024)
#endif
#ifndef QDML_MEMBER_MAX_COLUMNS
#define QDML_MEMBER_MAX_COLUMNS 16
#endif

static int fused_geometry_of(const qdml_backend_desc *d, int nthreads, fused_geometry *g) {
    const int64_t n0 = d->n[0], n1 = d->n[1], n2 = d->n[2];
    memset(g, 0, sizeof *g);
    if (n0 > 1) g->oaxis = 0;
    else if (n1 > 1) g->oaxis = 1;
    else return 0; /* one dimension */
    g->nout = d->n[g->oaxis];
    g->P = g->oaxis == 0 ? n1 * n2 : n2;
    g->prow = g->P / n2;
    /* Block starts must keep FFTW's alignment: offsets in multiples of 4 points (64 bytes). */
    if (n2 % 4 != 0 || n2 < 4) return 0;
    if (g->P > QDML_MAX_PLANE_BYTES / 16) return 0;
    if (g->nout * 4 * 16 > 4 * QDML_COLUMN_BLOCK_BYTES) return 0;
    const int64_t want_blocks = 4 * (int64_t)nthreads;
    /* Planes per block: a divisor of nout. */
    g->rb[0] = g->rb[1] = 1;
    for (int64_t r = g->nout; r >= 1; --r) {
        if (g->nout % r) continue;
        if (r * g->P * 16 > QDML_PLANE_BLOCK_BYTES && r > 1) continue;
        if (r > 1 && d->batch * (g->nout / r) < want_blocks) continue;
        g->rb[0] = r;
        break;
    }
    for (int64_t r = g->nout; r > 1; --r)
        if (g->nout % r == 0 && r * g->P * 16 <= QDML_MEMBER_PLANE_BYTES) {
            g->rb[1] = r;
            break;
        }
    /* Columns per block: a divisor of n2, a multiple of 4, at most QDML_MAX_COLUMNS. */
    g->w[0] = g->w[1] = 4;
    for (int64_t c = QDML_MAX_COLUMNS; c >= 4; c -= 4) {
        if (n2 % c) continue;
        if (c > 4 && g->nout * c * 16 > QDML_COLUMN_BLOCK_BYTES) continue;
        if (c > 4 && d->batch * g->prow * (n2 / c) < want_blocks) continue;
        g->w[0] = c;
        break;
    }
    /* Long columns: rows of fewer than 16 points (256 bytes) make every row of a block touch its
     * own page; 16 columns with a block of up to 1 MiB (still in L2) measured much faster on 4096^2. */
    if (g->w[0] < 16 && n2 % 16 == 0 && g->nout * 16 * 16 <= 1024 * 1024) g->w[0] = 16;
    for (int64_t c = QDML_MEMBER_MAX_COLUMNS; c > 4; c -= 4)
        if (n2 % c == 0 && g->nout * c * 16 <= QDML_MEMBER_COLUMN_BYTES) {
            g->w[1] = c;
            break;
        }
    return 1;
}

/* QDML_CPU_PATH (see the top of the file): -1 unset, else the index of the forced candidate in
 * choose_path's list (0 plain, 1 planes, 2 planes-gather, 3 members, 4 members-gather); -2 for a
 * value that names none of them. */
static const char *const path_names[5] = {"plain", "planes", "planes-gather", "members", "members-gather"};

static int forced_path(void) {
    const char *v = getenv("QDML_CPU_PATH");
    if (!v || !*v) return -1;
    for (int i = 0; i < 5; ++i)
        if (strcmp(v, path_names[i]) == 0) return i;
    return -2;
}

/* Whether the fused paths are planned for this problem: measured unless QDML_FFT_ESTIMATE, or
 * forced by QDML_CPU_PATH. */
static int fused_wanted(const qdml_backend_desc *d, int forced) {
    return forced > 0 || (forced < 0 && d->effort != QDML_FFT_ESTIMATE);
}

static qdml_status cpu_bytes_needed(const qdml_backend_desc *desc, size_t *bytes) {
    int64_t total, per;
    if (desc->precision != QDML_FLOAT64) return QDML_ERR_UNAVAILABLE;
    /* psi, work, backup, evh, evf (complex) and V (real): 88 bytes per point and member, plus
     * the per-axis tables and coordinates, and where the fused path applies a column buffer per
     * thread. FFTW's in-place plans need no separate work area. Not counted: the second table set
     * (32 bytes per point and member), allocated only when a member's 4th-order substeps alternate
     * and done without where it cannot be had (second_tables). */
    if (!qdml_mul_i64(desc->npoints, desc->batch, &total) || !qdml_mul_i64(total, 5 * 16 + 8, &per)) return QDML_ERR_OVERFLOW;
    const int64_t ksum = desc->n[0] + desc->n[1] + desc->n[2];
    *bytes = (size_t)per + (size_t)ksum * (size_t)desc->batch * 32u + (size_t)ksum * 16u;
    fused_geometry g;
    if (fused_wanted(desc, forced_path()) && fused_geometry_of(desc, desc->nthreads, &g))
        *bytes += (size_t)desc->nthreads * (size_t)g.nout * (size_t)(g.w[0] > g.w[1] ? g.w[0] : g.w[1]) * 16u;
    return QDML_OK;
}

/* FFTW wisdom: read before planning (a missing or unreadable file is ignored: FFTW keeps its
 * wisdom unchanged when an import fails), written after planning to "<path>.tmp.<pid>" and renamed
 * over the file, so readers never see a partial file. Failing to write is not an error. Called
 * with fftw_plan_lock held. */
static void wisdom_import(const char *path) {
    if (path && path[0]) (void)fftw_import_wisdom_from_filename(path);
}

static void wisdom_export(const char *path) {
    if (!path || !path[0]) return;
    char tmp[4096 + 64];
    int len = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (len < 0 || (size_t)len >= sizeof tmp) return;
    if (fftw_export_wisdom_to_filename(tmp)) {
        if (rename(tmp, path) != 0) remove(tmp);
    } else {
        remove(tmp);
    }
}

static qdml_status cpu_create(const qdml_backend_desc *desc, qdml_backend_state **out, char *err, size_t errlen) {
    pthread_once(&fftw_once, fftw_global_init);
    if (!fftw_threads_ok) {
        snprintf(err, errlen, "FFTW threads could not be initialised (fftw_init_threads failed)");
        return QDML_ERR_BACKEND;
    }
    if (desc->precision != QDML_FLOAT64) {
        snprintf(err, errlen, "float32 is offered by the cuda backend only; the cpu backend computes in float64");
        return QDML_ERR_UNAVAILABLE;
    }
    qdml_backend_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "cannot allocate the CPU backend state");
        return QDML_ERR_OUT_OF_MEMORY;
    }
    s->d = *desc;
    s->d.wisdom_path = NULL; /* valid during create only */
    s->k = kernels_chosen;
    if (!qdml_mul_i64(desc->npoints, desc->batch, &s->total)) {
        cpu_destroy(s);
        snprintf(err, errlen, "points (%lld) x batch (%lld) overflows", (long long)desc->npoints,
                 (long long)desc->batch);
        return QDML_ERR_OVERFLOW;
    }
    s->ksum = desc->n[0] + desc->n[1] + desc->n[2];
    /* Below ~2^15 points a pass takes microseconds, less than waking and joining a thread team
     * (far less on a loaded machine, where a spinning team can cost 10-50x). */
    s->nt = s->total < 32768 ? 1 : desc->nthreads;
    size_t bytes = 0, total_bytes = 0;
    qdml_c64 **cbufs[] = {&s->psi, &s->work, &s->backup, &s->tab[0].evh, &s->tab[0].evf};
    for (size_t i = 0; i < sizeof cbufs / sizeof cbufs[0]; ++i) {
        *cbufs[i] = fft_alloc(s->total, sizeof(qdml_c64), &bytes);
        total_bytes += bytes;
        if (!*cbufs[i]) {
            cpu_destroy(s);
            snprintf(err, errlen, "cannot allocate %zu bytes for the state buffers (%lld points x %lld members)",
                     bytes, (long long)desc->npoints, (long long)desc->batch);
            return QDML_ERR_OUT_OF_MEMORY;
        }
    }
    s->v = fft_alloc(s->total, sizeof(double), &bytes);
    int64_t ktotal = 0;
    int ok = s->v && qdml_mul_i64(s->ksum, desc->batch, &ktotal);
    if (ok) s->tab[0].ktab = qdml_calloc_array((size_t)ktotal, sizeof(qdml_c64));
    size_t nparts = (size_t)desc->nthreads * (size_t)desc->batch;
    if (ok && s->tab[0].ktab) {
        s->part = qdml_calloc_array(nparts, sizeof(partial_sums));
        s->norm_part = qdml_calloc_array(nparts, sizeof(double));
        s->flush = qdml_calloc_array((size_t)desc->batch, 1);
        s->imag = qdml_calloc_array((size_t)desc->batch, 1);
        s->tab[0].kreal = qdml_calloc_array((size_t)ktotal, sizeof(double));
        s->slot = qdml_calloc_array((size_t)desc->batch, 1);
        s->held_ok = qdml_calloc_array((size_t)desc->batch, 2);
        s->evicted_ok = qdml_calloc_array((size_t)desc->batch, 1);
        s->held = qdml_calloc_array((size_t)desc->batch, 2 * sizeof(qdml_step_params));
        s->evicted = qdml_calloc_array((size_t)desc->batch, sizeof(qdml_step_params));
        s->phys = qdml_calloc_array((size_t)desc->batch, 1);
        s->kin_pending = qdml_calloc_array((size_t)desc->batch, 1);
        s->kin_scale = qdml_calloc_array((size_t)desc->batch, sizeof(double));
        s->steps_buf = qdml_calloc_array((size_t)desc->batch, 2 * sizeof(double));
        s->kick_active = qdml_calloc_array((size_t)desc->batch, 1);
        s->fwd_set = qdml_calloc_array((size_t)desc->batch, 1);
    }
    for (int a = 0; a < 3 && ok; ++a) {
        s->x[a] = qdml_calloc_array((size_t)desc->n[a], sizeof(double));
        s->k2[a] = qdml_calloc_array((size_t)desc->n[a], sizeof(double));
        ok = s->x[a] && s->k2[a];
    }
    if (!ok || !s->tab[0].ktab || !s->part || !s->norm_part || !s->flush || !s->imag || !s->tab[0].kreal ||
        !s->slot || !s->held_ok || !s->evicted_ok || !s->held || !s->evicted || !s->phys || !s->kin_pending ||
        !s->kin_scale || !s->steps_buf || !s->kick_active || !s->fwd_set) {
        cpu_destroy(s);
        snprintf(err, errlen, "cannot allocate the potential and table buffers (%lld points x %lld members)",
                 (long long)desc->npoints, (long long)desc->batch);
        return QDML_ERR_OUT_OF_MEMORY;
    }
    for (int a = 0; a < 3; ++a)
        for (int64_t j = 0; j < desc->n[a]; ++j) {
            s->x[a][j] = desc->lo[a] + (double)j * desc->length[a] / (double)desc->n[a];
            double k = qdml_wavenumber(j, desc->n[a], desc->length[a]);
            s->k2[a][j] = k * k;
        }
    /* Kinetic tables start as the identity so an unset member is harmless. */
    for (int64_t i = 0; i < ktotal; ++i) {
        s->tab[0].ktab[i] = qdml_c64_make(1.0, 0.0);
        s->tab[0].kreal[i] = 1.0;
    }

    unsigned flags = desc->effort == QDML_FFT_ESTIMATE  ? FFTW_ESTIMATE
                     : desc->effort == QDML_FFT_PATIENT ? FFTW_PATIENT
                                                        : FFTW_MEASURE;
    int n[3];
    for (int a = 0; a < 3; ++a) {
        if (desc->n[a] > 0x7fffffff) {
            cpu_destroy(s);
            snprintf(err, errlen, "axis size %lld exceeds FFTW's int range", (long long)desc->n[a]);
            return QDML_ERR_OVERFLOW;
        }
        n[a] = (int)desc->n[a];
    }
    if (desc->batch > 0x7fffffff || desc->npoints > 0x7fffffff) {
        cpu_destroy(s);
        snprintf(err, errlen, "batch (%lld) or points per member (%lld) exceed FFTW's int range",
                 (long long)desc->batch, (long long)desc->npoints);
        return QDML_ERR_OVERFLOW;
    }
    fused_geometry g;
    /* The fused path is taken where a measurement shows it faster (choose_path), as FFTW chooses
     * plans; QDML_FFT_ESTIMATE measures nothing and keeps the plain path, whose ops give results
     * identical op for op to the reference arithmetic (kernels/backend_cuda_math.cuh checks),
     * unless QDML_CPU_PATH forces a path. */
    const int forced = forced_path();
    if (forced == -2) {
        cpu_destroy(s);
        snprintf(err, errlen,
                 "the environment variable QDML_CPU_PATH is '%s': it must be plain, planes, planes-gather, "
                 "members or members-gather (or unset, to measure)",
                 getenv("QDML_CPU_PATH"));
        return QDML_ERR_INVALID_ARGUMENT;
    }
    s->planes_ok = fused_wanted(desc, forced) && fused_geometry_of(desc, desc->nthreads, &g);
    if (s->planes_ok) {
        s->oaxis = g.oaxis;
        s->nout = g.nout;
        s->P = g.P;
        s->prow = g.prow;
        for (int k = 0; k < 2; ++k) {
            s->blk[k].rb = g.rb[k];
            s->blk[k].w = g.w[k];
        }
        /* The member path runs where every thread can have a member; below 2^15 points the
         * problem runs on one thread (s->nt), which then takes the members one after another. */
        s->members_ok = desc->batch >= 2 && desc->batch >= s->nt;
        const int64_t pblocks = desc->batch * (g.nout / g.rb[0]);
        const int64_t cblocks = desc->batch * g.prow * (desc->n[2] / g.w[0]);
        s->items = qdml_calloc_array((size_t)(pblocks > cblocks ? pblocks : cblocks), sizeof(int64_t));
        s->cbuf = fft_alloc((int64_t)desc->nthreads * g.nout * (g.w[0] > g.w[1] ? g.w[0] : g.w[1]), sizeof(qdml_c64),
                            &bytes);
        if (!s->items || !s->cbuf) {
            cpu_destroy(s);
            snprintf(err, errlen, "cannot allocate the work list of %lld blocks", (long long)(pblocks + cblocks));
            return QDML_ERR_OUT_OF_MEMORY;
        }
    }
    pthread_mutex_lock(&fftw_plan_lock);
    wisdom_import(desc->wisdom_path);
    fftw_plan_with_nthreads(s->nt);
    fftw_complex *buf = (fftw_complex *)s->psi;
    s->fwd = fftw_plan_many_dft(3, n, (int)desc->batch, buf, NULL, 1, (int)desc->npoints, buf, NULL, 1,
                                (int)desc->npoints, FFTW_FORWARD, flags);
    s->bwd = fftw_plan_many_dft(3, n, (int)desc->batch, buf, NULL, 1, (int)desc->npoints, buf, NULL, 1,
                                (int)desc->npoints, FFTW_BACKWARD, flags);
    if (s->planes_ok && s->fwd && s->bwd) {
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
    if (s->fwd && s->bwd) wisdom_export(desc->wisdom_path);
    /* The kick factors are read by the timed trial steps below. */
    memset(s->tab[0].evh, 0, (size_t)s->total * sizeof(qdml_c64));
    memset(s->tab[0].evf, 0, (size_t)s->total * sizeof(qdml_c64));
    pthread_mutex_unlock(&fftw_plan_lock);
    if (!s->fwd || !s->bwd) {
        cpu_destroy(s);
        snprintf(err, errlen, "FFTW could not plan a batched transform of %d x %d x %d points, batch %lld", n[0], n[1],
                 n[2], (long long)desc->batch);
        return QDML_ERR_BACKEND;
    }
    /* Planning with FFTW_MEASURE overwrites the buffers. */
    memset(s->psi, 0, (size_t)s->total * sizeof(qdml_c64));
    s->sem = SEM_X;
    s->path = PATH_PLAIN;
    if (s->planes_ok) choose_path(s, desc->wisdom_path);
    *out = s;
    return QDML_OK;
}

/* ---- host copies ----------------------------------------------------------------------------- */

static void materialize(qdml_backend_state *s);

static qdml_status cpu_set_state(qdml_backend_state *s, int64_t b, const double *psi) {
    materialize(s);
    memcpy(s->psi + b * s->d.npoints, psi, (size_t)s->d.npoints * sizeof(qdml_c64));
    return QDML_OK;
}

static qdml_status cpu_get_state(qdml_backend_state *s, int64_t b, double *psi) {
    materialize(s);
    memcpy(psi, s->psi + b * s->d.npoints, (size_t)s->d.npoints * sizeof(qdml_c64));
    return QDML_OK;
}

/* Tables built from a member's old potential are of no further use. */
static void forget_tables(qdml_backend_state *s, int64_t b) {
    s->held_ok[2 * b] = s->held_ok[2 * b + 1] = 0;
    s->evicted_ok[b] = 0;
}

static qdml_status cpu_set_potential(qdml_backend_state *s, int64_t b, const double *v) {
    memcpy(s->v + b * s->d.npoints, v, (size_t)s->d.npoints * sizeof(double));
    forget_tables(s, b);
    return QDML_OK;
}

static qdml_status cpu_get_potential(qdml_backend_state *s, int64_t b, double *v) {
    memcpy(v, s->v + b * s->d.npoints, (size_t)s->d.npoints * sizeof(double));
    return QDML_OK;
}

/* Potential factors of a member: complex (real time) or, in imaginary time, one real number per
 * point in the first half of the member's slot (half the bytes a step reads). */
static const double *kick_factor(const qdml_backend_state *s, int full, int64_t b) {
    const table_set *t = &s->tab[s->slot[b]];
    return (const double *)((full ? t->evf : t->evh) + b * s->d.npoints);
}

/* Kinetic tables of a member (n0 + n1 + n2 entries): complex, and their real parts (imaginary time). */
static const qdml_c64 *kin_table(const qdml_backend_state *s, int64_t b) {
    return s->tab[s->slot[b]].ktab + b * s->ksum;
}
static const double *kin_real_table(const qdml_backend_state *s, int64_t b) {
    return s->tab[s->slot[b]].kreal + b * s->ksum;
}

static int same_params(const qdml_step_params *a, const qdml_step_params *b) {
    return a->imaginary == b->imaginary && a->dt == b->dt && a->hbar == b->hbar && a->mass == b->mass &&
           a->vshift == b->vshift && a->potential_only == b->potential_only && a->flush_tiny == b->flush_tiny;
}

/* The second table set (see table_set); 0 where memory is short, and then tables are rebuilt. */
static int second_tables(qdml_backend_state *s) {
    table_set *t = &s->tab[1];
    if (t->evh) return 1;
    size_t bytes;
    const size_t ktotal = (size_t)s->ksum * (size_t)s->d.batch;
    t->evh = fft_alloc(s->total, sizeof(qdml_c64), &bytes);
    t->evf = fft_alloc(s->total, sizeof(qdml_c64), &bytes);
    t->ktab = qdml_calloc_array(ktotal, sizeof(qdml_c64));
    t->kreal = qdml_calloc_array(ktotal, sizeof(double));
    if (t->evh && t->evf && t->ktab && t->kreal) return 1;
    free(t->evh);
    free(t->evf);
    free(t->ktab);
    free(t->kreal);
    memset(t, 0, sizeof *t);
    return 0;
}

/* Member b's tables in set t for the parameters p: a transcendental function per point. */
static void build_tables(qdml_backend_state *s, const table_set *t, int64_t b, const qdml_step_params *p) {
    const int64_t N = s->d.npoints;
    const double *v = s->v + b * N;
    const double c = p->dt / (2.0 * p->hbar);
    const int imag = p->imaginary;
    const double shift = p->vshift;
    if (imag) {
        double *restrict evh = (double *)(t->evh + b * N), *restrict evf = (double *)(t->evf + b * N);
#pragma omp parallel for num_threads(s->nt) schedule(static)
        for (int64_t i = 0; i < N; ++i) {
            const double h = qdml_propagator(1, (v[i] - shift) * c).re;
            evh[i] = h;
            evf[i] = h * h;
        }
    } else {
        qdml_c64 *evh = t->evh + b * N, *evf = t->evf + b * N;
#pragma omp parallel for num_threads(s->nt) schedule(static)
        for (int64_t i = 0; i < N; ++i) {
            const qdml_c64 h = qdml_propagator(0, (v[i] - shift) * c);
            evh[i] = h;
            evf[i] = qdml_cmul(h, h);
        }
    }
    qdml_c64 *kt = t->ktab + b * s->ksum;
    double *kr = t->kreal + b * s->ksum;
    for (int a = 0; a < 3; ++a) {
        for (int64_t j = 0; j < s->d.n[a]; ++j) {
            /* theta = (hbar^2 k^2 / 2m) dt / hbar */
            kt[j] = p->potential_only ? qdml_c64_make(1.0, 0.0)
                                      : qdml_propagator(imag, p->hbar * s->k2[a][j] * p->dt / (2.0 * p->mass));
            kr[j] = kt[j].re;
        }
        kt += s->d.n[a];
        kr += s->d.n[a];
    }
}

/* The tables of member b for p: those held already if either set holds them, else built into the
 * set not in use where there are two (the one in use stays for the next switch back), else into
 * the only one. The tables are the same numbers whichever set holds them. */
static qdml_status cpu_set_step(qdml_backend_state *s, int64_t b, const qdml_step_params *p) {
    materialize(s); /* a queued kick uses the tables in use */
    const int cur = s->slot[b];
    int target = cur;
    if (s->held_ok[2 * b + cur] && same_params(&s->held[2 * b + cur], p)) {
        target = cur;
    } else if (s->tab[1].evh && s->held_ok[2 * b + 1 - cur] && same_params(&s->held[2 * b + 1 - cur], p)) {
        target = 1 - cur;
    } else {
        if (s->held_ok[2 * b + cur]) {
            /* the set in use holds other parameters: keep them where a second set is (or, the caller
             * having come back to parameters overwritten before, can be) had */
            if (!s->tab[1].evh && s->evicted_ok[b] && same_params(&s->evicted[b], p)) (void)second_tables(s);
            if (s->tab[1].evh) {
                target = 1 - cur;
            } else {
                s->evicted[b] = s->held[2 * b + cur];
                s->evicted_ok[b] = 1;
            }
        }
        build_tables(s, &s->tab[target], b, p);
        s->held[2 * b + target] = *p;
        s->held_ok[2 * b + target] = 1;
    }
    s->slot[b] = (unsigned char)target;
    s->flush[b] = (unsigned char)(p->flush_tiny != 0);
    s->imag[b] = (unsigned char)(p->imaginary != 0);
    use_path(s);
    return QDML_OK;
}

/* ---- fused passes ---------------------------------------------------------------------------- */

/* One block of q->rb planes of member b, at point offset `off` in the member: the inverse plane
 * transforms with the factor 1/P if `from`, the potential factor `kick` (0 none, 1 half, 2 full)
 * times that factor, and the forward plane transforms if `to`. Returns sum |psi|^2 of the kicked
 * block when `norm`. */
static double plane_block(const qdml_backend_state *s, const blocking *q, int64_t b, int64_t off, int from, int kick,
                          int to, int norm) {
    const kernel_set *K = s->k;
    const int64_t len = q->rb * s->P;
    fftw_complex *z = (fftw_complex *)(s->psi + b * s->d.npoints + off);
    double *p = (double *)z;
    double c = 1.0, acc = 0.0;
    if (from) {
        fftw_execute_dft(q->pb, z, z);
        c = 1.0 / (double)s->P;
    }
    if (kick) {
        const double *f = kick_factor(s, kick == 2, b);
        acc = s->imag[b] ? K->mul_real_fast(p, f + off, len, c, s->flush[b], norm)
                         : K->mul_cplx(p, f + 2 * off, len, c, s->flush[b], norm);
    } else if (c != 1.0) {
        K->scale(p, len, c);
    }
    if (to) fftw_execute_dft(q->pf, z, z);
    return acc;
}

/* rows x w complex values (w a multiple of 4) between arrays with row strides ds and ss (points),
 * in fixed 64-byte pieces the compiler turns into vector moves: a memcpy call per row of a few
 * hundred bytes spent more on the call than on the copy. */
static void copy_rows(double *restrict dst, int64_t ds, const double *restrict src, int64_t ss, int64_t rows,
                      int64_t w) {
    assert(w % 4 == 0);
    for (int64_t r = 0; r < rows; ++r) {
        double *restrict d = dst + 2 * r * ds;
        const double *restrict q = src + 2 * r * ss;
        for (int64_t j = 0; j < 2 * w; j += 8) memcpy(d + j, q + j, 8 * sizeof(double));
    }
}

/* Stages of a column block, in this order: forward transform along the outer axis, the kinetic
 * factor times `sc` (or, with COL_SCALE instead, `sc` alone), inverse transform along the outer axis. */
enum { COL_FWD = 1, COL_KIN = 2, COL_SCALE = 4, COL_INV = 8 };

/* Block `blk` of q->w adjacent columns of member b (planes held transformed), worked on in place
 * (strided by P) or, with `gather`, in thread t's buffer; a block of nout x w points stays in
 * cache between its stages. */
static void column_block(const qdml_backend_state *s, const blocking *q, int64_t b, int64_t blk, int t, int stages,
                         double sc, int gather) {
    const kernel_set *K = s->k;
    const int64_t P = s->P, nout = s->nout, w = q->w;
    const int64_t n0 = s->d.n[0], n1 = s->d.n[1], n2 = s->d.n[2], per_row = n2 / w;
    /* Offsets of the outer and plane-row axes in a member's kinetic tables. */
    const int64_t o_off = s->oaxis == 0 ? 0 : n0, r_off = s->oaxis == 0 ? n0 : 0, t_off = n0 + n1;
    const int64_t ip = blk / per_row, c2 = (blk % per_row) * w;
    qdml_c64 *base = s->psi + b * s->d.npoints + ip * n2 + c2;
    /* The block: rows of w points, `stride` apart, in psi or in this thread's buffer. */
    qdml_c64 *blkp = base;
    int64_t stride = P;
    if (gather) {
        blkp = s->cbuf + (int64_t)t * nout * w;
        stride = w;
        copy_rows((double *)blkp, w, (const double *)base, P, nout, w);
    }
    if (stages & COL_FWD) fftw_execute_dft(gather ? q->gf : q->cf, (fftw_complex *)blkp, (fftw_complex *)blkp);
    if (stages & COL_KIN) {
        if (s->imag[b]) {
            const double *kr = kin_real_table(s, b);
            K->kin_real((double *)blkp, stride, nout, kr + o_off, kr[r_off + ip] * sc, kr + t_off + c2, w, s->flush[b]);
        } else {
            const qdml_c64 *kt = kin_table(s, b);
            K->kin_cplx((double *)blkp, stride, nout, kt + o_off, qdml_cscale(kt[r_off + ip], sc),
                        (const double *)(kt + t_off + c2), w, s->flush[b]);
        }
    } else if (stages & COL_SCALE) {
        for (int64_t io = 0; io < nout; ++io) K->scale((double *)(blkp + io * stride), w, sc);
    }
    if (stages & COL_INV) fftw_execute_dft(gather ? q->gb : q->cb, (fftw_complex *)blkp, (fftw_complex *)blkp);
    if (gather)
        copy_rows((double *)base, P, (const double *)blkp, w, nout, w);
}

/* One pass over blocks of planes (PATH_PLANES). For every member b it performs, in this order: the
 * inverse plane transform if phys[b] (with the factor 1/P), the potential factor `kick` (0 none, 1
 * half, 2 full) if kact[b] (NULL: all), summing |psi|^2 into norms[b] when norms != NULL (0 for
 * members not kicked), and the forward plane transform if the member ends transformed. A member
 * ends transformed if fwd and fset[b] (NULL: all); otherwise untransformed if `plain` or it was
 * kicked; otherwise it keeps its layout. Members with nothing to do are skipped. */
static void plane_pass(qdml_backend_state *s, int kick, const unsigned char *kact, double *norms, int fwd,
                       const unsigned char *fset, int plain) {
    const blocking *q = &s->blk[0];
    const int64_t B = s->d.batch, len = q->rb * s->P, nblk = s->nout / q->rb;
    unsigned char *dk = s->fwd_set; /* B bytes of scratch: bit 0 kick, bit 1 target layout */
    int64_t m = 0;
    for (int64_t b = 0; b < B; ++b) {
        const int kicked = kick && (!kact || kact[b]);
        int target;
        if (fwd && (!fset || fset[b])) target = 1;
        else if (plain || kicked) target = 0;
        else target = s->phys[b];
        dk[b] = (unsigned char)(kicked | (target << 1));
        if (!kicked && s->phys[b] == target) continue;
        for (int64_t k = 0; k < nblk; ++k) s->items[m++] = b * nblk + k;
    }
    double *np = s->norm_part;
    int used = 1;
    if (m > 0) {
#pragma omp parallel num_threads(s->nt)
        {
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#pragma omp single
            used = nt;
            if (norms)
                for (int64_t b = 0; b < B; ++b) np[(size_t)t * B + b] = 0.0;
            int64_t a, e;
            chunk(m, t, nt, &a, &e);
            for (int64_t it = a; it < e; ++it) {
                const int64_t b = s->items[it] / nblk, off = (s->items[it] % nblk) * len;
                const int kb = (dk[b] & 1) ? kick : 0;
                const double acc = plane_block(s, q, b, off, s->phys[b], kb, dk[b] >> 1, norms != NULL);
                if (norms) np[(size_t)t * B + b] += acc;
            }
        }
    }
    if (norms)
        for (int64_t b = 0; b < B; ++b) {
            double acc = 0.0;
            if (m > 0)
                for (int t = 0; t < used; ++t) acc += np[(size_t)t * B + b];
            norms[b] = acc;
        }
    for (int64_t b = 0; b < B; ++b) s->phys[b] = (unsigned char)(dk[b] >> 1);
}

/* Column pass of the kinetic step (PATH_PLANES) for members with active[b] (NULL: all), whose
 * planes are held transformed: forward transform along the outer axis, kinetic factor times
 * scale[b] / nout, inverse transform along the outer axis, block by block. The planes stay
 * transformed: the inverse plane transforms of the backward FFT come in the next plane pass (1/nout
 * here instead of 1/N: that pass divides by P). */
static void column_pass(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    const blocking *q = &s->blk[0];
    const int64_t B = s->d.batch, nblk = s->prow * (s->d.n[2] / q->w);
    int64_t m = 0;
    for (int64_t b = 0; b < B; ++b) {
        if (active && !active[b]) continue;
        assert(s->phys[b] == 1);
        for (int64_t k = 0; k < nblk; ++k) s->items[m++] = b * nblk + k;
    }
    if (m == 0) return;
    const double invout = 1.0 / (double)s->nout;
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t a, e;
        chunk(m, t, nt, &a, &e);
        for (int64_t it = a; it < e; ++it) {
            const int64_t b = s->items[it] / nblk;
            column_block(s, q, b, s->items[it] % nblk, t, COL_FWD | COL_KIN | COL_INV, scale[b] * invout, s->gather);
        }
    }
}

/* One pass of PATH_MEMBERS, each thread taking whole members (a static split of the members with
 * work, so every run splits alike). For member b, in this order, while it stays in the cache of the
 * thread's core:
 *   - if it holds the whole transform (phys[b] = 2) and anything follows: the column stage down,
 *     the pending kinetic factor times kin_scale[b] / nout (or 1/nout alone) between the transforms;
 *   - the plane stage, as in plane_pass: inverse plane transforms (1/P), the potential factor `kick`
 *     if kact[b] (NULL: all) with the norm sum into norms[b], forward plane transforms;
 *   - the column stage up: forward column transforms, and with `kscale` the kinetic factor times
 *     kscale[b] / nout and the inverse column transforms.
 * Members in uset (NULL: all) go up if `up`: without kscale they end holding the whole transform;
 * with kscale they get the kinetic factor and end with their planes transformed, except a member
 * already holding the whole transform with nothing to do, whose kinetic factor is left pending for
 * the next pass. Other members end plain if `plain`, or if they were kicked or had a kinetic factor
 * pending; otherwise they keep their layout. So a step is one pass over each member: in real time
 * (the kick queued) the kinetic op's pass does it all; in imaginary time the kick op needs its
 * norms before the solver gives the kinetic op its scale, so the kick's pass ends with the forward
 * column transforms and the next one starts with that kinetic factor. A column stage with the
 * three steps works in the thread's buffer where s->gather says so; the halves of a split one work
 * in place, where FFTW's plan for a single in-place transform already copies through a buffer of
 * its own if that pays (measured faster than gathering for a single transform). */
static void member_pass(qdml_backend_state *s, int kick, const unsigned char *kact, double *norms, int up,
                        const unsigned char *uset, int plain, const double *kscale) {
    const blocking *q = &s->blk[1];
    const int64_t B = s->d.batch, len = q->rb * s->P, pblk = s->nout / q->rb, cblk = s->prow * (s->d.n[2] / q->w);
    const double invout = 1.0 / (double)s->nout;
    unsigned char *dk = s->fwd_set; /* B bytes of scratch: bit 0 kick, bits 1-2 target layout, bit 3 kinetic */
    int64_t m = 0;
    for (int64_t b = 0; b < B; ++b) {
        const int kicked = kick && (!kact || kact[b]), going_up = up && (!uset || uset[b]);
        if (norms) norms[b] = 0.0;
        if (going_up && kscale && s->phys[b] == 2 && !kicked && !s->kin_pending[b]) {
            s->kin_pending[b] = 1;
            s->kin_scale[b] = kscale[b];
            continue;
        }
        int target, kin = 0;
        if (going_up) {
            target = kscale ? 1 : 2;
            kin = kscale != NULL;
        } else if (plain || kicked || s->kin_pending[b]) {
            target = 0;
        } else {
            target = s->phys[b];
        }
        dk[b] = (unsigned char)(kicked | (target << 1) | (kin << 3));
        if (!kicked && !kin && !s->kin_pending[b] && s->phys[b] == target) continue;
        s->items[m++] = b;
    }
    if (m == 0) return;
    ++s->member_passes;
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t a, e;
        chunk(m, t, nt, &a, &e);
        /* Every other pass goes through the thread's members backwards: the members it ended with
         * are still in its cache when the next pass starts with them. */
        const int back = (s->member_passes & 1) != 0;
        for (int64_t i = a; i < e; ++i) {
            const int64_t it = back ? a + e - 1 - i : i;
            const int64_t b = s->items[it];
            const int kicked = dk[b] & 1, target = (dk[b] >> 1) & 3, kin = dk[b] >> 3;
            int ph = s->phys[b];
            if (ph == 2 && (s->kin_pending[b] || kicked || target < 2)) {
                const int st = (s->kin_pending[b] ? COL_KIN : COL_SCALE) | COL_INV;
                const double sc = (s->kin_pending[b] ? s->kin_scale[b] : 1.0) * invout;
                for (int64_t k = 0; k < cblk; ++k) column_block(s, q, b, k, t, st, sc, 0);
                ph = 1;
            }
            if (kicked || (ph >= 1) != (target >= 1)) {
                double acc = 0.0;
                for (int64_t k = 0; k < pblk; ++k)
                    acc += plane_block(s, q, b, k * len, ph >= 1, kicked ? kick : 0, target >= 1, norms != NULL);
                if (norms) norms[b] = acc;
                ph = target >= 1;
            }
            if (ph == 1 && (target == 2 || kin)) {
                const int st = kin ? COL_FWD | COL_KIN | COL_INV : COL_FWD;
                const double sc = kin ? kscale[b] * invout : 1.0;
                for (int64_t k = 0; k < cblk; ++k) column_block(s, q, b, k, t, st, sc, kin && s->gather);
                ph = kin ? 1 : 2;
            }
            s->phys[b] = (unsigned char)ph;
            s->kin_pending[b] = 0;
        }
    }
}

static void scale_all(qdml_backend_state *s, double c) {
    double *psi = (double *)s->psi;
    const kernel_set *K = s->k;
#pragma omp parallel num_threads(s->nt)
    {
        int64_t a, e;
        chunk(s->total, omp_get_thread_num(), omp_get_num_threads(), &a, &e);
        K->scale(psi + 2 * a, e - a, c);
    }
}

/* Perform whatever the fused paths have deferred, leaving psi in the plain layout. */
static void materialize(qdml_backend_state *s) {
    if (s->path == PATH_PLAIN || s->sem == SEM_K_PLAIN) return;
    int pending = s->kick_pending != 0;
    for (int64_t b = 0; b < s->d.batch && !pending; ++b) pending = s->phys[b] || s->kin_pending[b];
    if (pending) {
        if (s->path == PATH_MEMBERS) member_pass(s, s->kick_pending, s->kick_active, NULL, 0, NULL, 1, NULL);
        else plane_pass(s, s->kick_pending, s->kick_active, NULL, 0, NULL, 1);
    }
    s->kick_pending = 0;
    if (s->sem == SEM_K_LAZY || s->sem == SEM_K_KIN) {
        fftw_execute(s->fwd);
        /* After the kinetic step every member holds F(x)/N, where x is what the backward FFT gives. */
        if (s->sem == SEM_K_KIN) scale_all(s, 1.0 / (double)s->d.npoints);
        s->sem = SEM_K_PLAIN;
    }
}

/* ---- step ops -------------------------------------------------------------------------------- */

static qdml_status cpu_kick(qdml_backend_state *s, int full, const unsigned char *active, double *norms);
static qdml_status cpu_fft(qdml_backend_state *s, int forward);
static qdml_status cpu_kinetic(qdml_backend_state *s, const double *scale, const unsigned char *active);
static qdml_status cpu_scale(qdml_backend_state *s, const double *scale, const unsigned char *active);
static qdml_status cpu_steps(qdml_backend_state *s, int64_t n, int m, const unsigned char *sub,
                             const unsigned char *active, int renorm, double dv, int64_t *stop, int *done);

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Path choices made in this process, by shape: a problem of a shape seen before takes the same path
 * (as FFTW's wisdom gives it the same plans), so runs repeated in one process round the same way. */
typedef struct path_memo {
    int64_t n[3], batch;
    int nt, effort, choice[2][2], pgather[2];
    int64_t edge[2];
} path_memo;
#define QDML_PATH_MEMO 64
static path_memo path_memos[QDML_PATH_MEMO];
static int path_memo_count = 0;

static path_memo memo_of(const qdml_backend_state *s) {
    path_memo m;
    memset(&m, 0, sizeof m);
    memcpy(m.n, s->d.n, sizeof m.n);
    m.batch = s->d.batch;
    m.nt = s->nt;
    m.effort = (int)s->d.effort;
    memcpy(m.choice, s->choice, sizeof m.choice);
    memcpy(m.pgather, s->pgather, sizeof m.pgather);
    memcpy(m.edge, s->edge, sizeof m.edge);
    return m;
}

/* Take a recorded choice. */
static void adopt(qdml_backend_state *s, const path_memo *m) {
    memcpy(s->choice, m->choice, sizeof s->choice);
    memcpy(s->pgather, m->pgather, sizeof s->pgather);
    memcpy(s->edge, m->edge, sizeof s->edge);
}

static int memo_same_shape(const path_memo *a, const path_memo *b) {
    return a->n[0] == b->n[0] && a->n[1] == b->n[1] && a->n[2] == b->n[2] && a->batch == b->batch && a->nt == b->nt &&
           a->effort == b->effort;
}

static int path_memo_find(const qdml_backend_state *s, path_memo *out) {
    const path_memo me = memo_of(s);
    int found = 0;
    pthread_mutex_lock(&fftw_plan_lock);
    for (int i = 0; i < path_memo_count && !found; ++i)
        if (memo_same_shape(&path_memos[i], &me)) {
            *out = path_memos[i];
            found = 1;
        }
    pthread_mutex_unlock(&fftw_plan_lock);
    return found;
}

/* Record the choice, or adopt one another thread recorded meanwhile. */
static void path_memo_store(qdml_backend_state *s) {
    path_memo m;
    if (path_memo_find(s, &m)) {
        adopt(s, &m);
        return;
    }
    pthread_mutex_lock(&fftw_plan_lock);
    if (path_memo_count < QDML_PATH_MEMO) path_memos[path_memo_count++] = memo_of(s);
    pthread_mutex_unlock(&fftw_plan_lock);
}

/* Values a choice may hold: paths, column variants, and an edge of at least 1 (in millionths) where
 * the member path was chosen (measured, it is never below: the member path won). */
static int choice_in_range(const int *choice, const int pgather[2], const int64_t edge[2]) {
    for (int kind = 0; kind < 2; ++kind) {
        const int path = choice[2 * kind], gather = choice[2 * kind + 1]; /* choice[kind][0], [kind][1] */
        if (path < PATH_PLAIN || path > PATH_MEMBERS || gather < 0 || gather > 1 || pgather[kind] < 0 ||
            pgather[kind] > 1 || edge[kind] < (path == PATH_MEMBERS ? EDGE_ONE : 0) || edge[kind] > EDGE_MAX)
            return 0;
    }
    return 1;
}

/* A choice this problem can run: the member path only where it was planned. */
static int choice_valid(const qdml_backend_state *s, const path_memo *m) {
    for (int kind = 0; kind < 2; ++kind)
        if (m->choice[kind][0] == PATH_MEMBERS && !s->members_ok) return 0;
    return choice_in_range(&m->choice[0][0], m->pgather, m->edge);
}

/* Path choices kept beside the FFTW wisdom file, in "<wisdom>.paths", so that a shape is timed once
 * per machine as its plans are (and every run takes the same path, so rounds the same way). A first
 * line "qdml-cpu-paths 3" (version 1 was timed before the member path ran several steps per member
 * at once; version 2 lacked the last four fields), then one line per shape (the axes padded to
 * three with leading 1s):
 *   n0 n1 n2 batch threads effort real-path real-gather imaginary-path imaginary-gather
 *   real-planes-gather imaginary-planes-gather real-edge imaginary-edge
 * (effort: 1 measure, 2 patient; path: 0 plain, 1 planes, 2 members; gather 0 or 1; edge: see
 * qdml_backend_state.edge, in millionths, at least 1000000 where the member path was chosen, else 0).
 * A file with
 * another first line is ignored, and replaced when a choice is next recorded; a line that does not
 * parse or holds values out of range is left out, and a choice this problem cannot run is measured
 * again. Read and written under fftw_plan_lock, written to a temporary file and renamed. */
#define QDML_PATHS_HEADER "qdml-cpu-paths 3"

static int paths_file_name(const char *wisdom, char *out, size_t len) {
    if (!wisdom || !wisdom[0]) return 0;
    const int n = snprintf(out, len, "%s.paths", wisdom);
    return n > 0 && (size_t)n < len;
}

static int paths_read(const char *file, path_memo *out, int max) {
    FILE *f = fopen(file, "r");
    if (!f) return 0;
    char line[512];
    int count = 0;
    if (!fgets(line, sizeof line, f) || strcmp(line, QDML_PATHS_HEADER "\n") != 0) {
        fclose(f);
        return 0;
    }
    while (count < max && fgets(line, sizeof line, f)) {
        long long n0, n1, n2, batch, e[2];
        int nt, effort, c[2][2], pg[2];
        char extra;
        if (sscanf(line, "%lld %lld %lld %lld %d %d %d %d %d %d %d %d %lld %lld %c", &n0, &n1, &n2, &batch, &nt,
                   &effort, &c[0][0], &c[0][1], &c[1][0], &c[1][1], &pg[0], &pg[1], &e[0], &e[1], &extra) != 14)
            continue;
        const int64_t edge[2] = {e[0], e[1]};
        if (!(n0 >= 1 && n1 >= 1 && n2 >= 1 && batch >= 1 && nt >= 1 && effort >= 0 && effort <= 2) ||
            !choice_in_range(&c[0][0], pg, edge))
            continue;
        path_memo *m = &out[count++];
        m->n[0] = n0;
        m->n[1] = n1;
        m->n[2] = n2;
        m->batch = batch;
        m->nt = nt;
        m->effort = effort;
        for (int k = 0; k < 2; ++k) {
            m->choice[k][0] = c[k][0];
            m->choice[k][1] = c[k][1];
            m->pgather[k] = pg[k];
            m->edge[k] = edge[k];
        }
    }
    fclose(f);
    return count;
}

/* The choice saved for this shape in `file`, if any. */
static int paths_lookup(const qdml_backend_state *s, const char *file, path_memo *out) {
    path_memo saved[QDML_PATH_MEMO];
    const path_memo me = memo_of(s);
    int found = 0;
    pthread_mutex_lock(&fftw_plan_lock);
    const int n = paths_read(file, saved, QDML_PATH_MEMO);
    pthread_mutex_unlock(&fftw_plan_lock);
    for (int i = 0; i < n && !found; ++i)
        if (memo_same_shape(&saved[i], &me) && choice_valid(s, &saved[i])) {
            *out = saved[i];
            found = 1;
        }
    return found;
}

/* Add (or replace) this shape's choice in `file`. A failure to write only costs a measurement in
 * the next process. */
static void paths_save(const qdml_backend_state *s, const char *file) {
    path_memo saved[QDML_PATH_MEMO];
    const path_memo me = memo_of(s);
    char tmp[4096 + 128];
    const int len = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", file, (long)getpid());
    if (len < 0 || (size_t)len >= sizeof tmp) return;
    pthread_mutex_lock(&fftw_plan_lock);
    int n = paths_read(file, saved, QDML_PATH_MEMO - 1), kept = 0;
    for (int i = 0; i < n; ++i)
        if (!memo_same_shape(&saved[i], &me)) saved[kept++] = saved[i];
    saved[kept++] = me;
    FILE *f = fopen(tmp, "w");
    if (f) {
        int ok = fputs(QDML_PATHS_HEADER "\n", f) >= 0;
        for (int i = 0; i < kept && ok; ++i) {
            const path_memo *m = &saved[i];
            ok = fprintf(f, "%lld %lld %lld %lld %d %d %d %d %d %d %d %d %lld %lld\n", (long long)m->n[0],
                         (long long)m->n[1], (long long)m->n[2], (long long)m->batch, m->nt, m->effort, m->choice[0][0],
                         m->choice[0][1], m->choice[1][0], m->choice[1][1], m->pgather[0], m->pgather[1],
                         (long long)m->edge[0], (long long)m->edge[1]) > 0;
        }
        ok = fclose(f) == 0 && ok;
        if (!ok || rename(tmp, file) != 0) remove(tmp);
    }
    pthread_mutex_unlock(&fftw_plan_lock);
}

/* The kind of step the members are set up for: imaginary time (1) if every member is, else real
 * time (0). */
static int step_kind(const qdml_backend_state *s) {
    int kind = 1;
    for (int64_t b = 0; b < s->d.batch && kind; ++b) kind = s->imag[b];
    return kind;
}

/* Take the path chosen for the kind of step the members are set up for. Called with nothing
 * deferred (the layout is plain). */
static void use_path(qdml_backend_state *s) {
    const int kind = step_kind(s);
    s->path = s->choice[kind][0];
    s->gather = s->choice[kind][1];
}

/* Whether `a` active members would leave threads idle on the member path (a static split of whole
 * members: ceil(a / nt) on the busiest thread) by more than PATH_PLANES loses per member (edge),
 * with a margin of 1.25. Measured on 2 threads, 8 x 256^2 imaginary time: one active member takes
 * 0.52 ms a step on the member path, 0.33 ms on PATH_PLANES; three, 1.03 and 0.85 ms; all eight,
 * 2.19 and 2.28 ms. 16 x 128^2: 0.082 and 0.079 ms for one, where the planes path's own overhead
 * eats most of the gain. */
static int too_few_members(const qdml_backend_state *s, int64_t a) {
    const int64_t nt = s->nt;
    if (!s->adaptive || a < 1) return 0;
    const double idle = (double)(((a + nt - 1) / nt) * nt) / (double)a; /* busiest thread / mean */
    return idle > 1.25 * ((double)s->edge[step_kind(s)] / (double)EDGE_ONE);
}

/* Choose between the plain path and the column variants of the fused paths by timing steps of each
 * on the problem's own buffers, as FFTW_MEASURE chooses among plans: a real-time step (complex
 * factors, the kick queued) and, where the member path is a candidate, an imaginary-time one (real
 * factors, the kick returning norms), chosen separately. Which is fastest depends on the shape and
 * the machine's caches: power-of-two strides make the in-place column transforms of some shapes
 * slow, the copies of the gathered variant cost a pass of memory traffic, a batch of members that
 * fit in a core's cache gains from the member path. The member path is timed as runs take it,
 * several Strang steps per member in cache (cpu_steps; on 64 x 256^2 here 20-25 % faster than
 * PATH_PLANES, where one pass per step, member_pass, timed as fast as PATH_PLANES in real time and
 * 10-15 % slower in imaginary time). 4th-order steps take the same choice. QDML_FFT_ESTIMATE keeps
 * the plain path. */
static void choose_path(qdml_backend_state *s, const char *wisdom_path) {
    /* candidates: path and column variant; the member path only for batches of at least as many
     * members as threads */
    static const int cand[5][2] = {
        {PATH_PLAIN, 0}, {PATH_PLANES, 0}, {PATH_PLANES, 1}, {PATH_MEMBERS, 0}, {PATH_MEMBERS, 1}};
    const int nc = s->members_ok ? 5 : 3;
    const int forced = forced_path();
    if (forced >= 0) { /* QDML_CPU_PATH; `members*` falls back to `planes*` where it cannot run */
        const int v = forced >= nc ? forced - 2 : forced;
        for (int kind = 0; kind < 2; ++kind) {
            s->choice[kind][0] = cand[v][0];
            s->choice[kind][1] = cand[v][1];
        }
        use_path(s);
        return;
    }
    /* A choice made earlier in this process comes first (so a process keeps to one choice per
     * shape), then the file's, which is added to the file where it lacks one. */
    char file[4096 + 16];
    const int keep = paths_file_name(wisdom_path, file, sizeof file);
    path_memo found;
    int have = path_memo_find(s, &found) && choice_valid(s, &found);
    if (have) adopt(s, &found);
    if (keep) {
        path_memo saved;
        if (!have && paths_lookup(s, file, &saved)) {
            have = 1;
            adopt(s, &saved);
            path_memo_store(s);
        } else if (have && !paths_lookup(s, file, &saved)) {
            paths_save(s, file);
        }
    }
    if (have) {
        s->adaptive = 1;
        use_path(s);
        return;
    }
    /* The two kinds of step differ in the structure of a pass on the member path only; elsewhere
     * the real-time choice serves both. */
    const int kinds = s->members_ok ? 2 : 1;
    const int64_t B = s->d.batch;
    enum { TIMED_STEPS = 4 };
    double *ones = malloc(2 * (size_t)B * sizeof *ones);
    int64_t *stop = malloc((size_t)B * sizeof *stop);
    if (!ones || !stop) {
        free(ones);
        free(stop);
        s->path = PATH_PLAIN; /* choice[][] stays all plain (calloc) */
        return;
    }
    double *norms = ones + B;
    for (int64_t b = 0; b < B; ++b) ones[b] = 1.0;
    double best[2][5];
    for (int kind = 0; kind < 2; ++kind)
        for (int v = 0; v < 5; ++v) best[kind][v] = INFINITY;
    /* Best of 2 to 7 trials, as many as fit in about 0.15 s: timings on a shared machine are noisy.
     * Where the choice is kept in a file (measured once per machine), 3 to 9 in about 1 s: the
     * candidates of a batch of small members differ by 5-10 %, as much as one timing's noise. */
    const double budget = keep ? 1.0 : 0.15;
    const int min_trials = keep ? 3 : 2, max_trials = keep ? 9 : 7;
    int trials = max_trials;
    for (int trial = 0; trial < trials; ++trial) {
        if (trial == 1) {
            double per = 0.0;
            for (int kind = 0; kind < kinds; ++kind)
                for (int v = 0; v < nc; ++v) per += best[kind][v];
            trials = per > 0 ? (int)(budget / per) : max_trials;
            trials = trials < min_trials ? min_trials : trials > max_trials ? max_trials : trials;
        }
        for (int kind = 0; kind < kinds; ++kind) {
            /* the factor tables hold zeros: complex in real time, real in imaginary time */
            memset(s->imag, kind, (size_t)B);
            memset(s->flush, kind, (size_t)B);
            for (int v = 0; v < nc; ++v) {
                s->path = cand[v][0];
                s->gather = cand[v][1];
                /* a step to reach the steady layout, then a timed one; the member path as the
                 * solver runs Strang steps on it, through cpu_steps: members in cache for several
                 * steps (timed over TIMED_STEPS, per step; without renormalisation, which would stop
                 * at the zero norms of these tables, so without its norm sums, while the other paths'
                 * imaginary-time kicks sum norms: the edge below leans a little towards the member
                 * path, so too_few_members leaves it a little later than the timings alone would) */
                for (int k = 0; k < 2; ++k) {
                    const double t0 = seconds_now();
                    if (s->path == PATH_MEMBERS) {
                        static const unsigned char strang = 0;
                        int done = 0;
                        cpu_steps(s, TIMED_STEPS, 1, &strang, NULL, 0, 1.0, stop, &done);
                    } else {
                        cpu_kick(s, 1, NULL, kind ? norms : NULL);
                        cpu_fft(s, 1);
                        cpu_kinetic(s, ones, NULL);
                        cpu_fft(s, 0);
                    }
                    const double t = (seconds_now() - t0) / (s->path == PATH_MEMBERS ? TIMED_STEPS : 1);
                    if (k == 1 && t < best[kind][v]) best[kind][v] = t;
                }
                materialize(s);
            }
        }
    }
    free(ones);
    free(stop);
    memset(s->imag, 0, (size_t)B);
    memset(s->flush, 0, (size_t)B);
    /* Threads on the member path: the busiest one takes ceil(B / nt) members, against B / nt on
     * PATH_PLANES. */
    const double idle = (double)(((B + s->nt - 1) / s->nt) * s->nt) / (double)B;
    for (int kind = 0; kind < 2; ++kind) {
        const int k = kind < kinds ? kind : 0;
        int v = 0;
        for (int i = 1; i < nc; ++i)
            if (best[k][i] < best[k][v]) v = i;
        s->choice[kind][0] = cand[v][0];
        s->choice[kind][1] = cand[v][1];
        const int pv = best[k][2] < best[k][1] ? 2 : 1; /* the faster PATH_PLANES variant */
        s->pgather[kind] = cand[pv][1];
        /* at least 1 where the member path won (the timings of one run can say less only through
         * the imbalance factor's rounding) */
        const double e = best[k][pv] / best[k][v] * idle * (double)EDGE_ONE;
        s->edge[kind] = cand[v][0] != PATH_MEMBERS    ? 0
                        : e < (double)EDGE_ONE        ? EDGE_ONE
                        : e > (double)EDGE_MAX        ? EDGE_MAX
                                                      : llround(e);
    }
    s->adaptive = 1;
    path_memo_store(s); /* the choice in force: another thread's, if it recorded one meanwhile */
    if (keep) paths_save(s, file);
    use_path(s);
    memset(s->psi, 0, (size_t)s->total * sizeof(qdml_c64));
#ifdef QDML_CPU_TRACE
    for (int kind = 0; kind < kinds; ++kind) {
        fprintf(stderr, "qdml cpu: %lld x %lld x %lld, batch %lld, %s time:", (long long)s->d.n[0],
                (long long)s->d.n[1], (long long)s->d.n[2], (long long)B, kind ? "imaginary" : "real");
        for (int i = 0; i < nc; ++i)
            fprintf(stderr, " %s %.3f ms%s,", path_names[i], best[kind][i] * 1e3,
                    cand[i][0] == s->choice[kind][0] && cand[i][1] == s->choice[kind][1] ? " (chosen)" : "");
        fprintf(stderr, "\n");
    }
#endif
}

static void plain_kick(qdml_backend_state *s, int full, const unsigned char *active, double *norms) {
    const int64_t N = s->d.npoints, B = s->d.batch, total = s->total;
    double *psi = (double *)s->psi;
    double *np = s->norm_part;
    const kernel_set *K = s->k;
    int used = 1;
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#pragma omp single
        used = nt;
        int64_t a, e;
        chunk(total, t, nt, &a, &e);
        if (norms)
            for (int64_t b = 0; b < B; ++b) np[(size_t)t * B + b] = 0.0;
        for (int64_t idx = a, end, b; idx < e; idx = end) {
            end = member_piece(idx, e, N, &b);
            if (!(active && !active[b])) {
                const double *f = kick_factor(s, full, b);
                const int64_t off = idx - b * N;
                const double acc = s->imag[b] ? K->mul_real(psi + 2 * idx, f + off, end - idx, 1.0, s->flush[b], norms != NULL)
                                              : K->mul_cplx(psi + 2 * idx, f + 2 * off, end - idx, 1.0, s->flush[b], norms != NULL);
                if (norms) np[(size_t)t * B + b] += acc;
            }
        }
    }
    if (norms)
        for (int64_t b = 0; b < B; ++b) {
            double acc = 0.0;
            for (int t = 0; t < used; ++t) acc += np[(size_t)t * B + b];
            norms[b] = acc;
        }
}

static qdml_status cpu_kick(qdml_backend_state *s, int full, const unsigned char *active, double *norms) {
    if (s->path != PATH_PLAIN && s->sem == SEM_X) {
        if (s->kick_pending) materialize(s);
        if (!norms) {
            /* Queued: performed by the next plane pass. */
            s->kick_pending = full ? 2 : 1;
            for (int64_t b = 0; b < s->d.batch; ++b) s->kick_active[b] = (unsigned char)(!active || active[b]);
            return QDML_OK;
        }
        /* The norms are needed now. A full-step kick is followed by a forward FFT in the solver's
         * step: transform the planes (the member path: the columns too) in the same pass. */
        if (s->path == PATH_MEMBERS) member_pass(s, full ? 2 : 1, active, norms, full, active, 0, NULL);
        else plane_pass(s, full ? 2 : 1, active, norms, full, active, 0);
        return QDML_OK;
    }
    materialize(s);
    plain_kick(s, full, active, norms);
    return QDML_OK;
}

static qdml_status cpu_fft(qdml_backend_state *s, int forward) {
    if (s->path != PATH_PLAIN) {
        if (forward && s->sem == SEM_X) {
            s->sem = SEM_K_LAZY;
            return QDML_OK;
        }
        if (!forward && s->sem == SEM_K_KIN) {
            s->sem = SEM_X;
            return QDML_OK;
        }
        materialize(s);
    }
    s->sem = forward ? SEM_K_PLAIN : SEM_X; /* kept on the plain path too: use_path may change paths */
    fftw_execute(forward ? s->fwd : s->bwd);
    return QDML_OK;
}

static qdml_status cpu_kinetic(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    if (s->path == PATH_PLANES && s->sem == SEM_K_LAZY) {
        plane_pass(s, s->kick_pending, s->kick_active, NULL, 1, active, 0);
        s->kick_pending = 0;
        column_pass(s, scale, active);
        s->sem = SEM_K_KIN;
        return QDML_OK;
    }
    if (s->path == PATH_MEMBERS && s->sem == SEM_K_LAZY) {
        /* With the queued kick and the forward transform, or left pending where a kick with norms
         * already brought the member to the whole transform (see member_pass). */
        member_pass(s, s->kick_pending, s->kick_active, NULL, 1, active, 0, scale);
        s->kick_pending = 0;
        s->sem = SEM_K_KIN;
        return QDML_OK;
    }
    materialize(s);
    const int64_t n0 = s->d.n[0], n1 = s->d.n[1], n2 = s->d.n[2];
    const int64_t rows_per_member = n0 * n1;
    const double invn = 1.0 / (double)s->d.npoints;
    double *psi = (double *)s->psi;
    const kernel_set *K = s->k;
#pragma omp parallel num_threads(s->nt)
    {
        int64_t a, e;
        chunk(s->total, omp_get_thread_num(), omp_get_num_threads(), &a, &e);
        for (int64_t idx = a; idx < e;) {
            const int64_t row = idx / n2;
            const int64_t i2 = idx - row * n2;
            const int64_t rend = (row + 1) * n2 < e ? (row + 1) * n2 : e;
            const int64_t b = row / rows_per_member;
            const int64_t r = row - b * rows_per_member;
            const int64_t i0 = r / n1, i1 = r - (r / n1) * n1;
            double *p = psi + 2 * idx;
            const int64_t len = rend - idx;
            if (active && !active[b]) {
                K->scale(p, len, invn);
            } else if (s->imag[b]) {
                const double *kr = kin_real_table(s, b);
                K->mul_real(p, kr + n0 + n1 + i2, len, kr[i0] * kr[n0 + i1] * (scale[b] * invn),
                             s->flush[b], 0);
            } else {
                const qdml_c64 *kt = kin_table(s, b);
                const qdml_c64 rf = qdml_cscale(qdml_cmul(kt[i0], kt[n0 + i1]), scale[b] * invn);
                K->row_cplx(p, (const double *)(kt + n0 + n1 + i2), len, rf.re, rf.im, s->flush[b]);
            }
            idx = rend;
        }
    }
    return QDML_OK;
}

static qdml_status cpu_scale(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    materialize(s);
    const int64_t N = s->d.npoints;
    double *psi = (double *)s->psi;
    const kernel_set *K = s->k;
#pragma omp parallel num_threads(s->nt)
    {
        int64_t a, e;
        chunk(s->total, omp_get_thread_num(), omp_get_num_threads(), &a, &e);
        for (int64_t idx = a, end, b; idx < e; idx = end) {
            end = member_piece(idx, e, N, &b);
            if (!(active && !active[b])) K->scale(psi + 2 * idx, end - idx, scale[b]);
        }
    }
    return QDML_OK;
}

/* A renormalisation norm the steps can go on with (else the member's steps stop, backend.h). */
static int norm_ok(double norm) { return isfinite(norm) && norm > 0; }

/* All n steps of member b on the member path (see cpu_steps), by thread t; the member starts and
 * ends plain. Substep j uses table set `set[j]` (the member's slot[b] points at the set in use while
 * it runs, and at set[0] again at the end). Returns -1, or the substeps completed when a
 * renormalisation norm was not finite and positive. */
static int64_t member_steps(qdml_backend_state *s, int64_t b, int t, int64_t n, int m, const unsigned char *set,
                            int renorm, double dv) {
    const blocking *q = &s->blk[1];
    const int64_t len = q->rb * s->P, pblk = s->nout / q->rb, cblk = s->prow * (s->d.n[2] / q->w);
    const double invout = 1.0 / (double)s->nout;
    double norm = 0.0;
    int64_t done = -1;
    s->slot[b] = set[0];
    /* the half kick, and the forward plane transforms that begin the first step's FFT */
    for (int64_t k = 0; k < pblk; ++k) norm += plane_block(s, q, b, k * len, 0, 1, 1, renorm);
    for (int64_t i = 0; i < n && done < 0; ++i)
        for (int j = 0; j < m; ++j) {
            double sc = 1.0;
            if (renorm) {
                if (!norm_ok(norm)) {
                    done = i * m + j;
                    break;
                }
                sc = 1.0 / sqrt(norm * dv);
            }
            s->slot[b] = set[j];
            for (int64_t k = 0; k < cblk; ++k)
                column_block(s, q, b, k, t, COL_FWD | COL_KIN | COL_INV, sc * invout, s->gather);
            const int last = i + 1 == n && j + 1 == m, next = set[(j + 1) % m];
            norm = 0.0;
            if (last || next == set[j]) {
                for (int64_t k = 0; k < pblk; ++k)
                    norm += plane_block(s, q, b, k * len, 1, last ? 1 : 2, !last, renorm);
            } else {
                /* the half kick of this substep's tables, then the next one's, block by block */
                for (int64_t k = 0; k < pblk; ++k) {
                    s->slot[b] = set[j];
                    (void)plane_block(s, q, b, k * len, 1, 1, 0, 0);
                    s->slot[b] = (unsigned char)next;
                    norm += plane_block(s, q, b, k * len, 0, 1, 1, renorm);
                }
            }
        }
    s->slot[b] = set[0];
    if (done >= 0) return done;
    if (renorm) {
        if (!norm_ok(norm)) return n * m;
        s->k->scale((double *)(s->psi + b * s->d.npoints), s->d.npoints, 1.0 / sqrt(norm * dv));
    }
    return -1;
}

/* The renormalisation of a steps call run with the single ops (planes_steps), as the solver does it
 * (host/solver.c, renorm_scales): sc[b] = 1 / sqrt(norms[b] dv) for the active members, and the
 * substeps completed (`done`) at the first norm that is not finite and positive. */
static void steps_scales(const qdml_backend_state *s, const unsigned char *active, const double *norms, double dv,
                         int64_t done, double *sc, int64_t *stop) {
    for (int64_t b = 0; b < s->d.batch; ++b) {
        if (active && !active[b]) continue;
        if (!norm_ok(norms[b]) && stop[b] < 0) stop[b] = done;
        sc[b] = 1.0 / sqrt(norms[b] * dv);
    }
}

/* A steps call with too few active members for the member path (too_few_members): the single ops on
 * PATH_PLANES, which shares each member's blocks among the threads, in the solver's order (host/
 * solver.c, advance); between substeps of different lengths the table sets are switched as set_step
 * switches them, after the queued kick has been applied. So the states are those of a problem on
 * PATH_PLANES given the same calls. A member whose norm turns bad records the substeps completed (as
 * member_steps) and goes on with a scale that is not finite. The member path is taken again after. */
static void planes_steps(qdml_backend_state *s, int64_t n, int m, const unsigned char *sub, const unsigned char *active,
                         int renorm, double dv, int64_t *stop) {
    const int64_t B = s->d.batch;
    const int path = s->path, gather = s->gather;
    double *norms = renorm ? s->steps_buf : NULL, *sc = s->steps_buf + B;
    s->path = PATH_PLANES;
    s->gather = s->pgather[step_kind(s)];
    for (int64_t b = 0; b < B; ++b) {
        sc[b] = 1.0;
        if (!active || active[b]) stop[b] = -1;
    }
    (void)cpu_kick(s, 0, active, norms);
    for (int64_t i = 0; i < n; ++i)
        for (int j = 0; j < m; ++j) {
            if (renorm) steps_scales(s, active, norms, dv, i * m + j, sc, stop);
            (void)cpu_fft(s, 1);
            (void)cpu_kinetic(s, sc, active);
            (void)cpu_fft(s, 0);
            const int last = i + 1 == n && j + 1 == m, next = sub[(j + 1) % m];
            if (last || next == sub[j]) {
                (void)cpu_kick(s, !last, active, norms);
            } else {
                (void)cpu_kick(s, 0, active, NULL);
                materialize(s);
                for (int64_t b = 0; b < B; ++b)
                    if (!active || active[b]) s->slot[b] = (unsigned char)(1 - s->slot[b]);
                (void)cpu_kick(s, 0, active, norms);
            }
        }
    if (renorm) {
        steps_scales(s, active, norms, dv, n * m, sc, stop);
        (void)cpu_scale(s, sc, active);
    }
    materialize(s);
    s->path = path;
    s->gather = gather;
}

/* Several steps at once (backend.h): on the member path each thread takes whole members through all
 * n steps while a member stays in its core's cache, instead of one pass over every member per step;
 * with too few active members to keep the threads busy that way, the steps run on PATH_PLANES
 * (planes_steps). Composed steps (m > 1) switch between the two table sets, so every member must
 * hold the other one; elsewhere, or off the member path, nothing is gained: *done = 0. */
static qdml_status cpu_steps(qdml_backend_state *s, int64_t n, int m, const unsigned char *sub,
                             const unsigned char *active, int renorm, double dv, int64_t *stop, int *done) {
    *done = 0;
    const int64_t B = s->d.batch;
    if (s->path != PATH_MEMBERS || m > 8) return QDML_OK;
    int other = 0;
    for (int j = 0; j < m; ++j) other |= sub[j];
    if (other && !s->tab[1].evh) return QDML_OK;
    for (int64_t b = 0; other && b < B; ++b)
        if ((!active || active[b]) && !s->held_ok[2 * b + 1 - s->slot[b]]) return QDML_OK;
    materialize(s);
    assert(s->sem == SEM_X);
    int64_t count = 0;
    for (int64_t b = 0; b < B; ++b)
        if (!active || active[b]) s->items[count++] = b;
    if (too_few_members(s, count)) {
        planes_steps(s, n, m, sub, active, renorm, dv, stop);
        *done = 1;
        return QDML_OK;
    }
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        unsigned char set[8];
        int64_t a, e;
        chunk(count, t, nt, &a, &e);
        for (int64_t i = a; i < e; ++i) {
            const int64_t b = s->items[i];
            for (int j = 0; j < m; ++j) set[j] = (unsigned char)(sub[j] ? 1 - s->slot[b] : s->slot[b]);
            stop[b] = member_steps(s, b, t, n, m, set, renorm, dv);
        }
    }
    *done = 1;
    return QDML_OK;
}

/* The loops of the monitoring sums, shared by the plain path's passes over pieces of the whole
 * batch and the member path's passes over one member. idx .. end are flat indices of one row of
 * member b (internal coordinates i0, i1 and i2 at idx). */

/* Pass 1: density moments of the piece into *my (s0, sv, sx, sxx; the first maximum of |psi|^2,
 * a NaN replacing it), and a copy of psi into the work buffer. */
QDML_INLINE void moments_row1(const qdml_backend_state *s, int64_t b, int64_t i0, int64_t i1, int64_t i2, int64_t idx,
                              int64_t end, partial_sums *my) {
    const qdml_c64 *psi = s->psi;
    qdml_c64 *w = s->work;
    const double *v = s->v;
    const int64_t N = s->d.npoints;
    const double x0 = s->x[0][i0], x1 = s->x[1][i1];
    double s0 = 0, sv = 0, sx2 = 0, sxx2 = 0, rmax = my->rmax;
    int64_t imax = my->imax;
    for (; idx < end; ++idx, ++i2) {
        const double rho = qdml_abs2(psi[idx]);
        const double x2 = s->x[2][i2];
        w[idx] = psi[idx];
        s0 += rho;
        sv += v[idx] * rho;
        sx2 += x2 * rho;
        sxx2 += x2 * x2 * rho;
        if (rho > rmax || rho != rho) {
            rmax = rho;
            imax = idx - b * N;
        }
    }
    my->s0 += s0;
    my->sv += sv;
    my->sx[0] += x0 * s0;
    my->sxx[0] += x0 * x0 * s0;
    my->sx[1] += x1 * s0;
    my->sxx[1] += x1 * x1 * s0;
    my->sx[2] += sx2;
    my->sxx[2] += sxx2;
    my->rmax = rmax;
    my->imax = imax;
}

/* Pass 2, on the transformed copy: returns sum ek |w|^2 (ek = c |k|^2, c = hbar^2 / 2m) and leaves
 * w * ek / N, which the inverse transform makes T psi. */
QDML_INLINE double moments_row2(const qdml_backend_state *s, double c, int64_t i0, int64_t i1, int64_t i2, int64_t idx,
                                int64_t end) {
    qdml_c64 *w = s->work;
    const double invn = 1.0 / (double)s->d.npoints;
    const double k01 = s->k2[0][i0] + s->k2[1][i1];
    double st = 0.0;
    for (; idx < end; ++idx, ++i2) {
        const double ek = c * (k01 + s->k2[2][i2]);
        st += ek * qdml_abs2(w[idx]);
        w[idx] = qdml_cscale(w[idx], ek * invn);
    }
    return st;
}

/* Pass 3: sum |T psi + (V - E) psi|^2 over idx .. end (any piece of one member). */
QDML_INLINE double moments_res(const qdml_backend_state *s, double energy, int64_t idx, int64_t end) {
    const qdml_c64 *psi = s->psi, *w = s->work;
    const double *v = s->v;
    double acc = 0.0;
    for (; idx < end; ++idx) {
        const double f = v[idx] - energy;
        const double re = w[idx].re + f * psi[idx].re, im = w[idx].im + f * psi[idx].im;
        acc += re * re + im * im;
    }
    return acc;
}

/* Monitoring sums of member b on the member path: the three passes over this member alone, its
 * transforms made of the member path's plane and column plans run on the work buffer, so that the
 * member and its copy stay in the core's cache from the first pass to the last (on the plain path
 * each pass and each batched transform goes over the whole batch). Sums run over the member's rows
 * in order: equal to the plain path's to rounding. */
static void member_moments(const qdml_backend_state *s, int64_t b, double c, qdml_moments *out) {
    const blocking *q = &s->blk[1];
    const int64_t N = s->d.npoints, n1 = s->d.n[1], n2 = s->d.n[2], rows = s->d.n[0] * n1, base = b * N;
    const int64_t len = q->rb * s->P, pblk = s->nout / q->rb, per_row = n2 / q->w, cblk = s->prow * per_row;
    fftw_complex *z = (fftw_complex *)(s->work + base);
    partial_sums acc;
    memset(&acc, 0, sizeof acc);
    acc.rmax = -1.0;
    acc.imax = -1;
    for (int64_t r = 0; r < rows; ++r) moments_row1(s, b, r / n1, r % n1, 0, base + r * n2, base + (r + 1) * n2, &acc);
    for (int64_t k = 0; k < pblk; ++k) fftw_execute_dft(q->pf, z + k * len, z + k * len);
    for (int64_t k = 0; k < cblk; ++k) {
        fftw_complex *col = z + (k / per_row) * n2 + (k % per_row) * q->w;
        fftw_execute_dft(q->cf, col, col);
    }
    double st = 0.0;
    for (int64_t r = 0; r < rows; ++r) st += moments_row2(s, c, r / n1, r % n1, 0, base + r * n2, base + (r + 1) * n2);
    for (int64_t k = 0; k < cblk; ++k) {
        fftw_complex *col = z + (k / per_row) * n2 + (k % per_row) * q->w;
        fftw_execute_dft(q->cb, col, col);
    }
    for (int64_t k = 0; k < pblk; ++k) fftw_execute_dft(q->pb, z + k * len, z + k * len);
    out->s0 = acc.s0;
    out->sv = acc.sv;
    for (int a = 0; a < 3; ++a) {
        out->sx[a] = acc.sx[a];
        out->sxx[a] = acc.sxx[a];
    }
    out->rmax = acc.rmax;
    out->imax = acc.imax;
    out->st = st / (double)N;
    const double energy = out->s0 > 0 ? (out->st + out->sv) / out->s0 : 0.0;
    out->sres = moments_res(s, energy, base, base + N);
    out->finite = isfinite(out->s0) && isfinite(out->sv) && isfinite(out->st) && isfinite(out->sres);
}

static qdml_status cpu_moments(qdml_backend_state *s, const double *hbar, const double *mass, const unsigned char *want,
                               qdml_moments *out) {
    materialize(s);
    const int64_t N = s->d.npoints, B = s->d.batch;
    const int64_t n1 = s->d.n[1], n2 = s->d.n[2];
    const int64_t rpm = s->d.n[0] * n1;
    const double invn = 1.0 / (double)N;
    qdml_c64 *w = s->work;
    partial_sums *part = s->part;
    if (s->path == PATH_MEMBERS) {
        int64_t m = 0;
        for (int64_t b = 0; b < B; ++b) {
            memset(&out[b], 0, sizeof out[b]);
            out[b].rmax = -1.0;
            out[b].imax = -1;
            out[b].finite = 1;
            if (!want || want[b]) s->items[m++] = b;
        }
#pragma omp parallel num_threads(s->nt)
        {
            int64_t a, e;
            chunk(m, omp_get_thread_num(), omp_get_num_threads(), &a, &e);
            for (int64_t i = a; i < e; ++i) {
                const int64_t b = s->items[i];
                member_moments(s, b, hbar[b] * hbar[b] / (2.0 * mass[b]), &out[b]);
            }
        }
        return QDML_OK;
    }
    int used = 1;
    /* Pass 1: density moments, and a copy of psi into the work buffer for H psi. */
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#pragma omp single
        used = nt;
        partial_sums *my = part + (size_t)t * B;
        for (int64_t b = 0; b < B; ++b) {
            memset(&my[b], 0, sizeof my[b]);
            my[b].rmax = -1.0;
            my[b].imax = -1;
        }
        int64_t a, e;
        chunk(s->total, t, nt, &a, &e);
        for (int64_t idx = a; idx < e;) {
            const int64_t row = idx / n2;
            const int64_t rend = (row + 1) * n2 < e ? (row + 1) * n2 : e;
            const int64_t b = row / rpm, r = row - b * rpm;
            if (!want || want[b]) moments_row1(s, b, r / n1, r % n1, idx - row * n2, idx, rend, &my[b]);
            idx = rend;
        }
    }
    for (int64_t b = 0; b < B; ++b) {
        qdml_moments m;
        memset(&m, 0, sizeof m);
        m.rmax = -1.0;
        m.imax = -1;
        for (int t = 0; t < used; ++t) {
            const partial_sums *p = part + (size_t)t * B + b;
            m.s0 += p->s0;
            m.sv += p->sv;
            for (int a = 0; a < 3; ++a) {
                m.sx[a] += p->sx[a];
                m.sxx[a] += p->sxx[a];
            }
            /* Ties go to the lowest index: threads cover increasing ranges. */
            if (p->imax >= 0 && (p->rmax > m.rmax || p->rmax != p->rmax)) {
                m.rmax = p->rmax;
                m.imax = p->imax;
            }
        }
        out[b] = m;
    }
    /* Pass 2: kinetic energy spectrally; work becomes T psi after the inverse transform. */
    memset(part, 0, (size_t)s->d.nthreads * (size_t)B * sizeof *part);
    fftw_execute_dft(s->fwd, (fftw_complex *)w, (fftw_complex *)w);
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        partial_sums *my = part + (size_t)t * B;
        for (int64_t b = 0; b < B; ++b) my[b].st = 0.0;
        int64_t a, e;
        chunk(s->total, t, nt, &a, &e);
        for (int64_t idx = a; idx < e;) {
            const int64_t row = idx / n2;
            const int64_t rend = (row + 1) * n2 < e ? (row + 1) * n2 : e;
            const int64_t b = row / rpm, r = row - b * rpm;
            if (!want || want[b])
                my[b].st += moments_row2(s, hbar[b] * hbar[b] / (2.0 * mass[b]), r / n1, r % n1, idx - row * n2, idx, rend);
            idx = rend;
        }
    }
    for (int64_t b = 0; b < B; ++b) {
        double st = 0.0;
        for (int t = 0; t < used; ++t) st += part[(size_t)t * B + b].st;
        out[b].st = st * invn;
    }
    fftw_execute_dft(s->bwd, (fftw_complex *)w, (fftw_complex *)w);
    /* Pass 3: residual || T psi + V psi - E psi ||^2. */
    memset(part, 0, (size_t)s->d.nthreads * (size_t)B * sizeof *part);
    double *energy = s->norm_part; /* B doubles of scratch (nthreads * B available) */
    for (int64_t b = 0; b < B; ++b) energy[b] = out[b].s0 > 0 ? (out[b].st + out[b].sv) / out[b].s0 : 0.0;
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        partial_sums *my = part + (size_t)t * B;
        for (int64_t b = 0; b < B; ++b) my[b].sres = 0.0;
        int64_t a, e;
        chunk(s->total, t, nt, &a, &e);
        for (int64_t idx = a, end, b; idx < e; idx = end) {
            end = member_piece(idx, e, N, &b);
            if (!want || want[b]) my[b].sres += moments_res(s, energy[b], idx, end);
        }
    }
    for (int64_t b = 0; b < B; ++b) {
        double sres = 0.0;
        for (int t = 0; t < used; ++t) sres += part[(size_t)t * B + b].sres;
        out[b].sres = sres;
        out[b].finite = isfinite(out[b].s0) && isfinite(out[b].sv) && isfinite(out[b].st) && isfinite(sres);
    }
    return QDML_OK;
}

static qdml_status cpu_distance(qdml_backend_state *s, const unsigned char *mask, double *out) {
    materialize(s);
    const int64_t N = s->d.npoints;
    for (int64_t b = 0; b < s->d.batch; ++b) {
        if (mask && !mask[b]) continue;
        const qdml_c64 *x = s->psi + b * N, *y = s->backup + b * N;
        double acc = 0.0;
#pragma omp parallel for num_threads(s->nt) schedule(static) reduction(+ : acc)
        for (int64_t i = 0; i < N; ++i) {
            const double re = x[i].re - y[i].re, im = x[i].im - y[i].im;
            acc += re * re + im * im;
        }
        out[b] = acc;
    }
    return QDML_OK;
}

static qdml_status cpu_backup(qdml_backend_state *s, int restore, const unsigned char *mask) {
    materialize(s);
    const int64_t N = s->d.npoints;
    const qdml_c64 *src = restore ? s->backup : s->psi;
    qdml_c64 *dst = restore ? s->psi : s->backup;
    /* split over the threads as the other whole-state passes are: one thread's copy does not reach
     * the memory bandwidth of the machine (64 x 256^2 here: 9.4 ms on one thread) */
#pragma omp parallel num_threads(s->nt)
    {
        int64_t a, e;
        chunk(s->total, omp_get_thread_num(), omp_get_num_threads(), &a, &e);
        for (int64_t idx = a, end, b; idx < e; idx = end) {
            end = member_piece(idx, e, N, &b);
            if (!mask || mask[b]) memcpy(dst + idx, src + idx, (size_t)(end - idx) * sizeof(qdml_c64));
        }
    }
    return QDML_OK;
}

/* Gram matrix of members 0 .. count-1: per-thread partial sums over a static split of the points
 * (the same split every call, so the result is reproducible), added in thread order. */
static qdml_status cpu_gram(qdml_backend_state *s, int64_t count, double *g) {
    materialize(s);
    const int64_t N = s->d.npoints;
    const size_t pairs = (size_t)count * (size_t)count;
    const int nt = s->nt;
    double *part = calloc((size_t)nt * pairs, 2 * sizeof(double));
    if (!part) return QDML_ERR_OUT_OF_MEMORY;
    const qdml_c64 *psi = s->psi;
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
        int64_t a, e;
        chunk(N, t, omp_get_num_threads(), &a, &e);
        double *acc = part + 2 * (size_t)t * pairs;
        for (int64_t i = 0; i < count; ++i) {
            const qdml_c64 *x = psi + i * N;
            for (int64_t j = i; j < count; ++j) {
                const qdml_c64 *y = psi + j * N;
                double re = 0.0, im = 0.0;
                for (int64_t q = a; q < e; ++q) {
                    re += x[q].re * y[q].re + x[q].im * y[q].im;
                    im += x[q].re * y[q].im - x[q].im * y[q].re;
                }
                acc[2 * (i * count + j)] = re;
                acc[2 * (i * count + j) + 1] = im;
            }
        }
    }
    for (int64_t i = 0; i < count; ++i)
        for (int64_t j = i; j < count; ++j) {
            double re = 0.0, im = 0.0;
            for (int t = 0; t < nt; ++t) {
                re += part[2 * ((size_t)t * pairs + (size_t)(i * count + j))];
                im += part[2 * ((size_t)t * pairs + (size_t)(i * count + j)) + 1];
            }
            g[2 * (i * count + j)] = re;
            g[2 * (i * count + j) + 1] = im;
            g[2 * (j * count + i)] = re; /* Hermitian */
            g[2 * (j * count + i) + 1] = -im;
        }
    free(part);
    return QDML_OK;
}

/* In place, point by point: the new psi_j needs the old psi_i for i <= j only, so going from the
 * last member down overwrites nothing still needed. */
static qdml_status cpu_combine(qdml_backend_state *s, int64_t count, const double *t) {
    materialize(s);
    const int64_t N = s->d.npoints;
    qdml_c64 *psi = s->psi;
#pragma omp parallel for num_threads(s->nt) schedule(static)
    for (int64_t q = 0; q < N; ++q) {
        for (int64_t j = count - 1; j >= 0; --j) {
            double re = 0.0, im = 0.0;
            for (int64_t i = 0; i <= j; ++i) {
                const qdml_c64 x = psi[i * N + q];
                const double tr = t[2 * (i * count + j)], ti = t[2 * (i * count + j) + 1];
                re += x.re * tr - x.im * ti;
                im += x.re * ti + x.im * tr;
            }
            psi[j * N + q] = qdml_c64_make(re, im);
        }
    }
    return QDML_OK;
}

/* Potential of member b from a built-in objective: evaluated into the member's slice of the work
 * buffer (scratch between ops: 2N doubles), copied into V only when every value is finite. Min and
 * max are exact operations, so the result does not depend on how the threads split the loop. */
static qdml_status cpu_fill_objective(qdml_backend_state *s, int64_t b, const qdml_objective *o, int dim,
                                      qdml_fill_result *out) {
    assert(b >= 0 && b < s->d.batch && o && out && dim >= 1 && dim <= 3);
    const int64_t N = s->d.npoints, n2 = s->d.n[2], n12 = s->d.n[1] * s->d.n[2];
    const double *x0 = s->x[0], *x1 = s->x[1], *x2 = s->x[2];
    double *tmp = (double *)(s->work + b * N);
    const int off = 3 - dim;
    double vmin = INFINITY, vmax = -INFINITY;
    int64_t bad = INT64_MAX;
#pragma omp parallel num_threads(s->nt)
    {
        double lmin = INFINITY, lmax = -INFINITY;
        int64_t lbad = INT64_MAX;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < N; ++i) {
            const int64_t i0 = i / n12, r = i - i0 * n12, i1 = r / n2;
            double x[3];
            x[0] = x0[i0];
            x[1] = x1[i1];
            x[2] = x2[r - i1 * n2];
            const double f = qdml_objective_value(o, x + off, dim);
            tmp[i] = f;
            if (isfinite(f)) {
                if (f < lmin) lmin = f;
                if (f > lmax) lmax = f;
            } else if (i < lbad) {
                lbad = i;
            }
        }
#pragma omp critical(qdml_cpu_fill_objective)
        {
            if (lmin < vmin) vmin = lmin;
            if (lmax > vmax) vmax = lmax;
            if (lbad < bad) bad = lbad;
        }
    }
    out->vmin = vmin;
    out->vmax = vmax;
    out->first_bad = bad == INT64_MAX ? -1 : bad;
    if (bad == INT64_MAX) {
        memcpy(s->v + b * N, tmp, (size_t)N * sizeof(double));
        forget_tables(s, b);
    }
    return QDML_OK;
}

/* FFTW and OpenMP report no errors once a plan exists; create() writes its own message. */
static const char *cpu_last_error(const qdml_backend_state *s) {
    (void)s;
    return "";
}

const qdml_backend_ops qdml_backend_cpu_ops = {
    .name = "cpu",
    .bytes_needed = cpu_bytes_needed,
    .create = cpu_create,
    .destroy = cpu_destroy,
    .set_state = cpu_set_state,
    .get_state = cpu_get_state,
    .set_potential = cpu_set_potential,
    .get_potential = cpu_get_potential,
    .set_step = cpu_set_step,
    .kick = cpu_kick,
    .fft = cpu_fft,
    .kinetic = cpu_kinetic,
    .scale = cpu_scale,
    .moments = cpu_moments,
    .distance = cpu_distance,
    .backup = cpu_backup,
    .last_error = cpu_last_error,
    .gram = cpu_gram,
    .combine = cpu_combine,
    .fill_objective = cpu_fill_objective,
    .steps = cpu_steps,
};
