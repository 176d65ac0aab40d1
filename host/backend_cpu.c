/* CPU backend: FFTW (batched, threaded through OpenMP) and OpenMP loops around the per-element
 * math of kernels/pointwise.h. The reference every other backend is compared with.
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
 * Layout of a member in the fused path: `phys[b]` = 0 means psi holds the member as the solver
 * sees it; 1 means psi holds the unnormalised forward transform of every plane of it (an inverse
 * plane transform and a factor 1/P give it back). One-dimensional problems, and grids whose last
 * axis is not a multiple of 4, take the plain path: batched FFTW plans and one OpenMP pass per op.
 * Which path a shape takes is measured at creation (choose_path); QDML_FFT_ESTIMATE keeps the
 * plain path. The fused path's results equal the plain path's to rounding (~1e-15 relative), not
 * bit for bit; a shape takes the same path for the life of the process.
 *
 * Build-time options, for measurements and tests only: QDML_CPU_PATH (0 plain path everywhere,
 * 1 fused with in-place columns, 2 fused with gathered columns, instead of measuring),
 * QDML_CPU_TRACE (print the timings of choose_path to stderr), QDML_PLANE_BLOCK_BYTES,
 * QDML_COLUMN_BLOCK_BYTES, QDML_MAX_COLUMNS (block sizes of the fused passes).
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

enum { PATH_PLAIN = 0, PATH_PLANES = 1 };

/* What the solver last asked of the transform, in the fused path. */
enum {
    SEM_X = 0,       /* position space (planes of members with phys[b] = 1 still transformed) */
    SEM_K_LAZY = 1,  /* a forward FFT was requested and not yet performed */
    SEM_K_KIN = 2,   /* forward FFT and kinetic factor performed; the inverse column transforms too,
                        so only the inverse plane transforms (phys[b] = 1) remain of the inverse FFT */
    SEM_K_PLAIN = 3  /* momentum space, plainly (after a materialized forward FFT) */
};

/* The pointwise kernels; a version for AVX2 where the processor has it (chosen at run time). */
typedef struct kernel_set {
    /* p[i] *= c * f[i], f real stored as pairs (f, f); optional flush of tiny values; returns
     * sum |p|^2 when norm */
    double (*mul_pairs)(double *restrict p, const double *restrict f, int64_t n, double c, int flush, int norm);
    /* p[i] *= c * f[i], f complex */
    double (*mul_cplx)(double *restrict p, const double *restrict f, int64_t n, double c, int flush, int norm);
    /* p[i] *= (cr + i ci) * f[i], f complex */
    void (*row_cplx)(double *restrict p, const double *restrict f, int64_t n, double cr, double ci, int flush);
    /* p[i] *= c over n complex values */
    void (*scale)(double *restrict p, int64_t n, double c);
} kernel_set;

struct qdml_backend_state {
    qdml_backend_desc d;
    int nt;              /* threads used for loops and FFTs: 1 for small problems, else d.nthreads */
    int64_t total;       /* B * N */
    int64_t ksum;        /* n0 + n1 + n2: length of one member's kinetic table */
    qdml_c64 *psi, *work, *backup, *evh, *evf, *ktab;
    double *v;
    double *x[3];        /* coordinates per internal axis */
    double *k2[3];       /* k^2 per internal axis (FFT order) */
    partial_sums *part;  /* nthreads * B */
    unsigned char *flush; /* per member: flush tiny amplitudes (qdml_step_params.flush_tiny) */
    unsigned char *imag;  /* per member: imaginary-time tables (real factors) */
    double *kreal;       /* B * ksum pairs: real kinetic factors of imaginary-time members, each twice */
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
    int64_t rb;          /* planes per block of the plane pass */
    int64_t w;           /* columns per block of the column pass (divides n2) */
    fftw_plan pf, pb;    /* rb planes, in place in psi (single-threaded; run per block) */
    fftw_plan cf, cb;    /* w columns of nout points, stride P, in place in psi (single-threaded) */
    int gather;          /* column pass: 1 copies each block into a per-thread buffer first */
    fftw_plan gf, gb;    /* w columns of nout points in a contiguous buffer (stride w) */
    qdml_c64 *cbuf;      /* nthreads buffers of nout * w points */
    int64_t *items;      /* work list of a pass: B * max(blocks per member) */
    int sem;
    unsigned char *phys; /* per member: planes held transformed */
    int kick_pending;    /* 0 none, 1 half-step factor, 2 full-step factor */
    unsigned char *kick_active; /* members the pending kick applies to */
    unsigned char *fwd_set;     /* scratch: members a plane pass leaves transformed */
};

static pthread_once_t fftw_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t fftw_plan_lock = PTHREAD_MUTEX_INITIALIZER;
static int fftw_threads_ok = 0;
static const kernel_set *kernels_chosen = NULL;
static const kernel_set *choose_kernels(void);
static void choose_path(qdml_backend_state *s);

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

/* p[i] *= c * f[i] for n complex values and a real factor stored twice per point (f[2i] = f[2i+1]).
 * The result is the complex product z * (g, 0), g = c * f[2i], exactly as qdml_cmul computes it
 * (re = zr g - zi 0, im = zr 0 + zi g): for finite z that equals (zr g, zi g), which the main loop
 * computes over plain doubles; a chunk holding an infinity or NaN takes the complex formula, whose
 * zi 0 and zr 0 terms turn a non-finite part into NaN in both parts. */
#define QDML_PAIR_CHUNK 256
QDML_INLINE double mul_pairs_body(double *restrict p, const double *restrict f, int64_t n, double c, const int flush,
                                  const int norm, const int bits) {
    double acc = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += QDML_PAIR_CHUNK) {
        const int64_t m = n - i0 < QDML_PAIR_CHUNK ? n - i0 : QDML_PAIR_CHUNK;
        double *restrict q = p + 2 * i0;
        const double *restrict g = f + 2 * i0;
        if (any_nonfinite(q, 2 * m)) {
            for (int64_t i = 0; i < m; ++i) {
                const double h = c * g[2 * i], zr = q[2 * i], zi = q[2 * i + 1];
                double re = zr * h - zi * 0.0, im = zr * 0.0 + zi * h;
                if (flush) {
                    re = flush_value(re, bits);
                    im = flush_value(im, bits);
                }
                q[2 * i] = re;
                q[2 * i + 1] = im;
                if (norm) acc += re * re + im * im;
            }
            continue;
        }
        if (norm) {
#pragma omp simd reduction(+ : acc)
            for (int64_t j = 0; j < 2 * m; ++j) {
                double x = q[j] * (c * g[j]);
                if (flush) x = flush_value(x, bits);
                q[j] = x;
                acc += x * x;
            }
        } else {
            for (int64_t j = 0; j < 2 * m; ++j) {
                double x = q[j] * (c * g[j]);
                if (flush) x = flush_value(x, bits);
                q[j] = x;
            }
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
        double re = pr * fr - pi * fi, im = pr * fi + pi * fr;
        if (flush) {
            re = flush_value(re, bits);
            im = flush_value(im, bits);
        }
        p[2 * i] = re;
        p[2 * i + 1] = im;
        if (norm) acc += re * re + im * im;
    }
    return acc;
}

QDML_INLINE void row_cplx_body(double *restrict p, const double *restrict f, int64_t n, double cr, double ci,
                               const int flush, const int bits) {
    for (int64_t i = 0; i < n; ++i) {
        const double fr = cr * f[2 * i] - ci * f[2 * i + 1], fi = cr * f[2 * i + 1] + ci * f[2 * i];
        const double pr = p[2 * i], pi = p[2 * i + 1];
        double re = pr * fr - pi * fi, im = pr * fi + pi * fr;
        if (flush) {
            re = flush_value(re, bits);
            im = flush_value(im, bits);
        }
        p[2 * i] = re;
        p[2 * i + 1] = im;
    }
}

QDML_INLINE void scale_body(double *restrict p, int64_t n, double c) {
    for (int64_t i = 0; i < 2 * n; ++i) p[i] *= c;
}

#define QDML_KERNEL_SET(SUFFIX, ATTR, BITS)                                                                          \
    ATTR static double mul_pairs_##SUFFIX(double *restrict p, const double *restrict f, int64_t n, double c,          \
                                          int flush, int norm) {                                                     \
        if (flush) return norm ? mul_pairs_body(p, f, n, c, 1, 1, BITS) : mul_pairs_body(p, f, n, c, 1, 0, BITS);    \
        return norm ? mul_pairs_body(p, f, n, c, 0, 1, BITS) : mul_pairs_body(p, f, n, c, 0, 0, BITS);               \
    }                                                                                                                \
    ATTR static double mul_cplx_##SUFFIX(double *restrict p, const double *restrict f, int64_t n, double c,           \
                                         int flush, int norm) {                                                      \
        if (flush) return norm ? mul_cplx_body(p, f, n, c, 1, 1, BITS) : mul_cplx_body(p, f, n, c, 1, 0, BITS);      \
        return norm ? mul_cplx_body(p, f, n, c, 0, 1, BITS) : mul_cplx_body(p, f, n, c, 0, 0, BITS);                 \
    }                                                                                                                \
    ATTR static void row_cplx_##SUFFIX(double *restrict p, const double *restrict f, int64_t n, double cr, double ci, \
                                       int flush) {                                                                  \
        if (flush) row_cplx_body(p, f, n, cr, ci, 1, BITS);                                                          \
        else row_cplx_body(p, f, n, cr, ci, 0, BITS);                                                                \
    }                                                                                                                \
    ATTR static void scale_##SUFFIX(double *restrict p, int64_t n, double c) { scale_body(p, n, c); }                 \
    static const kernel_set kernels_##SUFFIX = {mul_pairs_##SUFFIX, mul_cplx_##SUFFIX, row_cplx_##SUFFIX,             \
                                                scale_##SUFFIX};

QDML_KERNEL_SET(default, , 0)

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define QDML_HAVE_AVX2_KERNELS 1
QDML_KERNEL_SET(avx2, __attribute__((target("avx2"))), 1)
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
    fftw_plan plans[] = {s->fwd, s->bwd, s->pf, s->pb, s->cf, s->cb, s->gf, s->gb};
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; ++i)
        if (plans[i]) fftw_destroy_plan(plans[i]);
    pthread_mutex_unlock(&fftw_plan_lock);
    fftw_free(s->psi);
    fftw_free(s->work);
    fftw_free(s->backup);
    fftw_free(s->evh);
    fftw_free(s->evf);
    fftw_free(s->cbuf);
    free(s->ktab);
    fftw_free(s->v);
    for (int a = 0; a < 3; ++a) {
        free(s->x[a]);
        free(s->k2[a]);
    }
    free(s->part);
    free(s->norm_part);
    free(s->flush);
    free(s->imag);
    free(s->kreal);
    free(s->items);
    free(s->phys);
    free(s->kick_active);
    free(s->fwd_set);
    free(s);
}

static void *fft_alloc(int64_t count, size_t elem, size_t *bytes_out) {
    size_t bytes;
    if (count < 0 || !qdml_mul_size((size_t)count, elem, &bytes)) return NULL;
    *bytes_out = bytes;
    return fftw_malloc(bytes ? bytes : 1);
}

/* Fused-path geometry of a problem: the outer axis, plane size and block sizes. Returns 0 where
 * the plain path is used. Block sizes aim at a few hundred KiB per block (in L2) and at enough
 * blocks to keep every thread busy. */
typedef struct fused_geometry {
    int oaxis;
    int64_t nout, P, prow, rb, w;
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

static int fused_geometry_of(const qdml_backend_desc *d, int nthreads, fused_geometry *g) {
    const int64_t n0 = d->n[0], n1 = d->n[1], n2 = d->n[2];
    memset(g, 0, sizeof *g);
#if defined(QDML_CPU_PATH) && QDML_CPU_PATH == 0
    return 0; /* build option for comparisons: the plain path everywhere */
#endif
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
    g->rb = 1;
    for (int64_t r = g->nout; r >= 1; --r) {
        if (g->nout % r) continue;
        if (r * g->P * 16 > QDML_PLANE_BLOCK_BYTES && r > 1) continue;
        if (r > 1 && d->batch * (g->nout / r) < want_blocks) continue;
        g->rb = r;
        break;
    }
    /* Columns per block: a divisor of n2, a multiple of 4, at most QDML_MAX_COLUMNS. */
    g->w = 4;
    for (int64_t c = QDML_MAX_COLUMNS; c >= 4; c -= 4) {
        if (n2 % c) continue;
        if (c > 4 && g->nout * c * 16 > QDML_COLUMN_BLOCK_BYTES) continue;
        if (c > 4 && d->batch * g->prow * (n2 / c) < want_blocks) continue;
        g->w = c;
        break;
    }
    /* Long columns: rows of fewer than 16 points (256 bytes) make every row of a block touch its
     * own page; 16 columns with a block of up to 1 MiB (still in L2) measured much faster on 4096^2. */
    if (g->w < 16 && n2 % 16 == 0 && g->nout * 16 * 16 <= 1024 * 1024) g->w = 16;
    return 1;
}

static qdml_status cpu_bytes_needed(const qdml_backend_desc *desc, size_t *bytes) {
    int64_t total, per;
    if (desc->precision != QDML_FLOAT64) return QDML_ERR_UNAVAILABLE;
    /* psi, work, backup, evh, evf (complex) and V (real): 88 bytes per point and member, plus
     * the per-axis tables and coordinates, and where the fused path applies a column buffer per
     * thread. FFTW's in-place plans need no separate work area. */
    if (!qdml_mul_i64(desc->npoints, desc->batch, &total) || !qdml_mul_i64(total, 5 * 16 + 8, &per)) return QDML_ERR_OVERFLOW;
    const int64_t ksum = desc->n[0] + desc->n[1] + desc->n[2];
    *bytes = (size_t)per + (size_t)ksum * (size_t)desc->batch * 32u + (size_t)ksum * 16u;
    fused_geometry g;
    if (desc->effort != QDML_FFT_ESTIMATE && fused_geometry_of(desc, desc->nthreads, &g))
        *bytes += (size_t)desc->nthreads * (size_t)g.nout * (size_t)g.w * 16u;
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
    qdml_c64 **cbufs[] = {&s->psi, &s->work, &s->backup, &s->evh, &s->evf};
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
    if (ok) s->ktab = qdml_calloc_array((size_t)ktotal, sizeof(qdml_c64));
    size_t nparts = (size_t)desc->nthreads * (size_t)desc->batch;
    if (ok && s->ktab) {
        s->part = qdml_calloc_array(nparts, sizeof(partial_sums));
        s->norm_part = qdml_calloc_array(nparts, sizeof(double));
        s->flush = qdml_calloc_array((size_t)desc->batch, 1);
        s->imag = qdml_calloc_array((size_t)desc->batch, 1);
        s->kreal = qdml_calloc_array((size_t)ktotal, 2 * sizeof(double));
        s->phys = qdml_calloc_array((size_t)desc->batch, 1);
        s->kick_active = qdml_calloc_array((size_t)desc->batch, 1);
        s->fwd_set = qdml_calloc_array((size_t)desc->batch, 1);
    }
    for (int a = 0; a < 3 && ok; ++a) {
        s->x[a] = qdml_calloc_array((size_t)desc->n[a], sizeof(double));
        s->k2[a] = qdml_calloc_array((size_t)desc->n[a], sizeof(double));
        ok = s->x[a] && s->k2[a];
    }
    if (!ok || !s->ktab || !s->part || !s->norm_part || !s->flush || !s->imag || !s->kreal || !s->phys ||
        !s->kick_active || !s->fwd_set) {
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
        s->ktab[i] = qdml_c64_make(1.0, 0.0);
        s->kreal[2 * i] = s->kreal[2 * i + 1] = 1.0;
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
     * identical op for op to the reference arithmetic (kernels/backend_cuda_math.cuh checks). */
    s->planes_ok = desc->effort != QDML_FFT_ESTIMATE && fused_geometry_of(desc, desc->nthreads, &g);
    if (s->planes_ok) {
        s->oaxis = g.oaxis;
        s->nout = g.nout;
        s->P = g.P;
        s->prow = g.prow;
        s->rb = g.rb;
        s->w = g.w;
        const int64_t pblocks = desc->batch * (g.nout / g.rb), cblocks = desc->batch * g.prow * (desc->n[2] / g.w);
        s->items = qdml_calloc_array((size_t)(pblocks > cblocks ? pblocks : cblocks), sizeof(int64_t));
        s->cbuf = fft_alloc((int64_t)desc->nthreads * g.nout * g.w, sizeof(qdml_c64), &bytes);
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
        s->pf = fftw_plan_many_dft(prank, pdims, (int)s->rb, buf, NULL, 1, (int)s->P, buf, NULL, 1, (int)s->P,
                                   FFTW_FORWARD, flags);
        s->pb = fftw_plan_many_dft(prank, pdims, (int)s->rb, buf, NULL, 1, (int)s->P, buf, NULL, 1, (int)s->P,
                                   FFTW_BACKWARD, flags);
        int cn = (int)s->nout;
        s->cf = fftw_plan_many_dft(1, &cn, (int)s->w, buf, NULL, (int)s->P, 1, buf, NULL, (int)s->P, 1, FFTW_FORWARD,
                                   flags);
        s->cb = fftw_plan_many_dft(1, &cn, (int)s->w, buf, NULL, (int)s->P, 1, buf, NULL, (int)s->P, 1, FFTW_BACKWARD,
                                   flags);
        fftw_complex *cb = (fftw_complex *)s->cbuf;
        s->gf = fftw_plan_many_dft(1, &cn, (int)s->w, cb, NULL, (int)s->w, 1, cb, NULL, (int)s->w, 1, FFTW_FORWARD,
                                   flags);
        s->gb = fftw_plan_many_dft(1, &cn, (int)s->w, cb, NULL, (int)s->w, 1, cb, NULL, (int)s->w, 1, FFTW_BACKWARD,
                                   flags);
        if (!s->pf || !s->pb || !s->cf || !s->cb || !s->gf || !s->gb) s->planes_ok = 0; /* the plain path still works */
    }
    if (s->fwd && s->bwd) wisdom_export(desc->wisdom_path);
    /* The kick factors are read by the timed trial steps below. */
    memset(s->evh, 0, (size_t)s->total * sizeof(qdml_c64));
    memset(s->evf, 0, (size_t)s->total * sizeof(qdml_c64));
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
    if (s->planes_ok) choose_path(s);
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

static qdml_status cpu_set_potential(qdml_backend_state *s, int64_t b, const double *v) {
    memcpy(s->v + b * s->d.npoints, v, (size_t)s->d.npoints * sizeof(double));
    return QDML_OK;
}

static qdml_status cpu_get_potential(qdml_backend_state *s, int64_t b, double *v) {
    memcpy(v, s->v + b * s->d.npoints, (size_t)s->d.npoints * sizeof(double));
    return QDML_OK;
}

/* Potential factors of a member: complex (real time) or, in imaginary time, real numbers stored
 * twice per point (f, f), so that both are multiplied as plain arrays of doubles. */
static const double *kick_factor(const qdml_backend_state *s, int full, int64_t b) {
    return (const double *)((full ? s->evf : s->evh) + b * s->d.npoints);
}

static qdml_status cpu_set_step(qdml_backend_state *s, int64_t b, const qdml_step_params *p) {
    materialize(s); /* a queued kick uses the tables about to change */
    const int64_t N = s->d.npoints;
    const double *v = s->v + b * N;
    const double c = p->dt / (2.0 * p->hbar);
    const int imag = p->imaginary;
    const double shift = p->vshift;
    if (imag) {
        double *restrict evh = (double *)(s->evh + b * N), *restrict evf = (double *)(s->evf + b * N);
#pragma omp parallel for num_threads(s->nt) schedule(static)
        for (int64_t i = 0; i < N; ++i) {
            const double h = qdml_propagator(1, (v[i] - shift) * c).re;
            evh[2 * i] = evh[2 * i + 1] = h;
            evf[2 * i] = evf[2 * i + 1] = h * h;
        }
    } else {
        qdml_c64 *evh = s->evh + b * N, *evf = s->evf + b * N;
#pragma omp parallel for num_threads(s->nt) schedule(static)
        for (int64_t i = 0; i < N; ++i) {
            const qdml_c64 h = qdml_propagator(0, (v[i] - shift) * c);
            evh[i] = h;
            evf[i] = qdml_cmul(h, h);
        }
    }
    s->flush[b] = (unsigned char)(p->flush_tiny != 0);
    s->imag[b] = (unsigned char)(imag != 0);
    qdml_c64 *kt = s->ktab + b * s->ksum;
    double *kr = s->kreal + 2 * b * s->ksum;
    for (int a = 0; a < 3; ++a) {
        for (int64_t j = 0; j < s->d.n[a]; ++j) {
            /* theta = (hbar^2 k^2 / 2m) dt / hbar */
            kt[j] = p->potential_only ? qdml_c64_make(1.0, 0.0)
                                      : qdml_propagator(imag, p->hbar * s->k2[a][j] * p->dt / (2.0 * p->mass));
            kr[2 * j] = kr[2 * j + 1] = kt[j].re;
        }
        kt += s->d.n[a];
        kr += 2 * s->d.n[a];
    }
    return QDML_OK;
}

/* ---- fused passes ---------------------------------------------------------------------------- */

/* One pass over blocks of planes. For every member b it performs, in this order: the inverse plane
 * transform if phys[b] (with the factor 1/P), the potential factor `kick` (0 none, 1 half, 2 full)
 * if kact[b] (NULL: all), summing |psi|^2 into norms[b] when norms != NULL (0 for members not
 * kicked), and the forward plane transform if the member ends transformed. A member ends
 * transformed if fwd and fset[b] (NULL: all); otherwise untransformed if `plain` or it was kicked;
 * otherwise it keeps its layout. Members with nothing to do are skipped. */
static void plane_pass(qdml_backend_state *s, int kick, const unsigned char *kact, double *norms, int fwd,
                       const unsigned char *fset, int plain) {
    const int64_t B = s->d.batch, N = s->d.npoints, P = s->P, len = s->rb * P, nblk = s->nout / s->rb;
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
        const kernel_set *K = s->k;
        const double invp = 1.0 / (double)P;
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
                fftw_complex *z = (fftw_complex *)(s->psi + b * N + off);
                double *p = (double *)z;
                double c = 1.0;
                if (s->phys[b]) {
                    fftw_execute_dft(s->pb, z, z);
                    c = invp;
                }
                if (dk[b] & 1) {
                    const double *f = kick_factor(s, kick == 2, b);
                    const double acc = s->imag[b] ? K->mul_pairs(p, f + 2 * off, len, c, s->flush[b], norms != NULL)
                                                  : K->mul_cplx(p, f + 2 * off, len, c, s->flush[b], norms != NULL);
                    if (norms) np[(size_t)t * B + b] += acc;
                } else if (c != 1.0) {
                    K->scale(p, len, c);
                }
                if (dk[b] & 2) fftw_execute_dft(s->pf, z, z);
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

/* Column pass of the kinetic step for members with active[b] (NULL: all), whose planes are held
 * transformed: forward transform along the outer axis, kinetic factor times scale[b] / nout, inverse
 * transform along the outer axis, on blocks of w adjacent columns in place (strided by P; a block
 * of nout x w points stays in cache between the transforms). The planes stay transformed: the
 * inverse plane transforms of the backward FFT come in the next plane pass (1/nout here instead of
 * 1/N: that pass divides by P). */
static void column_pass(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    const int64_t B = s->d.batch, N = s->d.npoints, P = s->P, nout = s->nout, w = s->w;
    const int64_t n0 = s->d.n[0], n1 = s->d.n[1], n2 = s->d.n[2];
    const int64_t per_row = n2 / w, nblk = s->prow * per_row;
    int64_t m = 0;
    for (int64_t b = 0; b < B; ++b) {
        if (active && !active[b]) continue;
        assert(s->phys[b]);
        for (int64_t k = 0; k < nblk; ++k) s->items[m++] = b * nblk + k;
    }
    if (m == 0) return;
    const kernel_set *K = s->k;
    const double invout = 1.0 / (double)nout;
    /* Offsets of the outer and plane-row axes in a member's kinetic tables. */
    const int64_t o_off = s->oaxis == 0 ? 0 : n0, r_off = s->oaxis == 0 ? n0 : 0, t_off = n0 + n1;
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t a, e;
        chunk(m, t, nt, &a, &e);
        for (int64_t it = a; it < e; ++it) {
            const int64_t b = s->items[it] / nblk, blk = s->items[it] % nblk;
            const int64_t ip = blk / per_row, c2 = (blk % per_row) * w;
            qdml_c64 *base = s->psi + b * N + ip * n2 + c2;
            /* The block: rows of w points, `stride` apart, in psi or in this thread's buffer. */
            qdml_c64 *blkp = base;
            int64_t stride = P;
            if (s->gather) {
                blkp = s->cbuf + (int64_t)t * nout * w;
                stride = w;
                for (int64_t io = 0; io < nout; ++io) memcpy(blkp + io * w, base + io * P, (size_t)w * sizeof(qdml_c64));
                fftw_execute_dft(s->gf, (fftw_complex *)blkp, (fftw_complex *)blkp);
            } else {
                fftw_execute_dft(s->cf, (fftw_complex *)blkp, (fftw_complex *)blkp);
            }
            const double sc = scale[b] * invout;
            if (s->imag[b]) {
                const double *kr = s->kreal + 2 * b * s->ksum;
                const double rp = kr[2 * (r_off + ip)] * sc;
                for (int64_t io = 0; io < nout; ++io)
                    K->mul_pairs((double *)(blkp + io * stride), kr + 2 * (t_off + c2), w, kr[2 * (o_off + io)] * rp,
                                 s->flush[b], 0);
            } else {
                const qdml_c64 *kt = s->ktab + b * s->ksum;
                const qdml_c64 rp = qdml_cscale(kt[r_off + ip], sc);
                for (int64_t io = 0; io < nout; ++io) {
                    const qdml_c64 rf = qdml_cmul(kt[o_off + io], rp);
                    K->row_cplx((double *)(blkp + io * stride), (const double *)(kt + t_off + c2), w, rf.re, rf.im,
                                s->flush[b]);
                }
            }
            if (s->gather) {
                fftw_execute_dft(s->gb, (fftw_complex *)blkp, (fftw_complex *)blkp);
                for (int64_t io = 0; io < nout; ++io) memcpy(base + io * P, blkp + io * w, (size_t)w * sizeof(qdml_c64));
            } else {
                fftw_execute_dft(s->cb, (fftw_complex *)blkp, (fftw_complex *)blkp);
            }
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

/* Perform whatever the fused path has deferred, leaving psi in the plain layout. */
static void materialize(qdml_backend_state *s) {
    if (s->path != PATH_PLANES || s->sem == SEM_K_PLAIN) return;
    int pending = s->kick_pending != 0;
    for (int64_t b = 0; b < s->d.batch && !pending; ++b) pending = s->phys[b];
    if (pending) plane_pass(s, s->kick_pending, s->kick_active, NULL, 0, NULL, 1);
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

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Choose between the plain path and the two column-pass variants of the fused path by timing a
 * step of each on the problem's own buffers (best of three), as FFTW_MEASURE chooses among plans.
 * Which is fastest depends on the shape and the machine's caches: power-of-two strides make the
 * in-place column transforms of some shapes slow, and the copies of the gathered variant cost a
 * pass of memory traffic. With QDML_FFT_ESTIMATE a rule of thumb chooses instead. */
/* Path choices made in this process, by shape: a problem of a shape seen before takes the same path
 * (as FFTW's wisdom gives it the same plans), so runs repeated in one process round the same way. */
typedef struct path_memo {
    int64_t n[3], batch;
    int nt, effort, path, gather;
} path_memo;
#define QDML_PATH_MEMO 64
static path_memo path_memos[QDML_PATH_MEMO];
static int path_memo_count = 0;

static int path_memo_find(const qdml_backend_state *s, int *path, int *gather) {
    int found = 0;
    pthread_mutex_lock(&fftw_plan_lock);
    for (int i = 0; i < path_memo_count && !found; ++i) {
        const path_memo *m = &path_memos[i];
        if (m->n[0] == s->d.n[0] && m->n[1] == s->d.n[1] && m->n[2] == s->d.n[2] && m->batch == s->d.batch &&
            m->nt == s->nt && m->effort == (int)s->d.effort) {
            *path = m->path;
            *gather = m->gather;
            found = 1;
        }
    }
    pthread_mutex_unlock(&fftw_plan_lock);
    return found;
}

/* Record the choice, or adopt one another thread recorded meanwhile. */
static void path_memo_store(qdml_backend_state *s) {
    int path, gather;
    if (path_memo_find(s, &path, &gather)) {
        s->path = path;
        s->gather = gather;
        return;
    }
    pthread_mutex_lock(&fftw_plan_lock);
    if (path_memo_count < QDML_PATH_MEMO) {
        path_memo *m = &path_memos[path_memo_count++];
        memcpy(m->n, s->d.n, sizeof m->n);
        m->batch = s->d.batch;
        m->nt = s->nt;
        m->effort = (int)s->d.effort;
        m->path = s->path;
        m->gather = s->gather;
    }
    pthread_mutex_unlock(&fftw_plan_lock);
}

static void choose_path(qdml_backend_state *s) {
    /* candidates: path and column variant */
    static const int cand[3][2] = {{PATH_PLAIN, 0}, {PATH_PLANES, 0}, {PATH_PLANES, 1}};
    const int nc = 3;
#if defined(QDML_CPU_PATH) /* build option for comparisons: 1 in-place columns, 2 gathered */
    s->path = PATH_PLANES;
    s->gather = QDML_CPU_PATH == 2;
    return;
#endif
    if (path_memo_find(s, &s->path, &s->gather)) return;
    double *ones = malloc((size_t)s->d.batch * sizeof *ones);
    if (!ones) {
        s->path = PATH_PLAIN;
        return;
    }
    for (int64_t b = 0; b < s->d.batch; ++b) ones[b] = 1.0;
    double best[3] = {INFINITY, INFINITY, INFINITY};
    /* Best of 2 to 7 trials, as many as fit in about 0.15 s: timings on a shared machine are noisy. */
    int trials = 7;
    for (int trial = 0; trial < trials; ++trial) {
        if (trial == 1) {
            const double per = best[0] + best[1] + best[2];
            trials = per > 0 ? (int)(0.15 / per) : 7;
            trials = trials < 2 ? 2 : trials > 7 ? 7 : trials;
        }
        for (int v = 0; v < nc; ++v) {
            s->path = cand[v][0];
            s->gather = cand[v][1];
            /* a step to reach the steady layout, then a timed one */
            for (int k = 0; k < 2; ++k) {
                const double t0 = seconds_now();
                cpu_kick(s, 1, NULL, NULL);
                cpu_fft(s, 1);
                cpu_kinetic(s, ones, NULL);
                cpu_fft(s, 0);
                const double t = seconds_now() - t0;
                if (k == 1 && t < best[v]) best[v] = t;
            }
            materialize(s);
        }
    }
    free(ones);
    int v = 0;
    for (int i = 1; i < nc; ++i)
        if (best[i] < best[v]) v = i;
    s->path = cand[v][0];
    s->gather = cand[v][1];
    path_memo_store(s);
    memset(s->psi, 0, (size_t)s->total * sizeof(qdml_c64));
#ifdef QDML_CPU_TRACE
    fprintf(stderr, "qdml cpu: %lld x %lld x %lld, batch %lld:", (long long)s->d.n[0], (long long)s->d.n[1],
            (long long)s->d.n[2], (long long)s->d.batch);
    static const char *names[] = {"plain", "planes, in-place columns", "planes, gathered columns"};
    for (int i = 0; i < nc; ++i) fprintf(stderr, " %s %.3f ms%s,", names[i], best[i] * 1e3, i == v ? " (chosen)" : "");
    fprintf(stderr, "\n");
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
        for (int64_t idx = a; idx < e;) {
            const int64_t b = idx / N;
            const int64_t end = (b + 1) * N < e ? (b + 1) * N : e;
            if (!(active && !active[b])) {
                const double *f = kick_factor(s, full, b);
                const int64_t off = idx - b * N;
                const double acc = s->imag[b] ? K->mul_pairs(psi + 2 * idx, f + 2 * off, end - idx, 1.0, s->flush[b], norms != NULL)
                                              : K->mul_cplx(psi + 2 * idx, f + 2 * off, end - idx, 1.0, s->flush[b], norms != NULL);
                if (norms) np[(size_t)t * B + b] += acc;
            }
            idx = end;
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
    if (s->path == PATH_PLANES && s->sem == SEM_X) {
        if (s->kick_pending) materialize(s);
        if (!norms) {
            /* Queued: performed by the next plane pass. */
            s->kick_pending = full ? 2 : 1;
            for (int64_t b = 0; b < s->d.batch; ++b) s->kick_active[b] = (unsigned char)(!active || active[b]);
            return QDML_OK;
        }
        /* The norms are needed now. A full-step kick is followed by a forward FFT in the solver's
         * step: transform the planes in the same pass. */
        plane_pass(s, full ? 2 : 1, active, norms, full, active, 0);
        return QDML_OK;
    }
    materialize(s);
    plain_kick(s, full, active, norms);
    return QDML_OK;
}

static qdml_status cpu_fft(qdml_backend_state *s, int forward) {
    if (s->path == PATH_PLANES) {
        if (forward && s->sem == SEM_X) {
            s->sem = SEM_K_LAZY;
            return QDML_OK;
        }
        if (!forward && s->sem == SEM_K_KIN) {
            s->sem = SEM_X;
            return QDML_OK;
        }
        materialize(s);
        s->sem = forward ? SEM_K_PLAIN : SEM_X;
    }
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
                const double *kr = s->kreal + 2 * b * s->ksum;
                K->mul_pairs(p, kr + 2 * (n0 + n1 + i2), len, kr[2 * i0] * kr[2 * (n0 + i1)] * (scale[b] * invn),
                             s->flush[b], 0);
            } else {
                const qdml_c64 *kt = s->ktab + b * s->ksum;
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
        for (int64_t idx = a; idx < e;) {
            const int64_t b = idx / N;
            const int64_t end = (b + 1) * N < e ? (b + 1) * N : e;
            if (!(active && !active[b])) K->scale(psi + 2 * idx, end - idx, scale[b]);
            idx = end;
        }
    }
    return QDML_OK;
}

static qdml_status cpu_moments(qdml_backend_state *s, const double *hbar, const double *mass, const unsigned char *want,
                               qdml_moments *out) {
    materialize(s);
    const int64_t N = s->d.npoints, B = s->d.batch;
    const int64_t n0 = s->d.n[0], n1 = s->d.n[1], n2 = s->d.n[2];
    const int64_t rpm = n0 * n1;
    const double invn = 1.0 / (double)N;
    const qdml_c64 *psi = s->psi;
    qdml_c64 *w = s->work;
    const double *v = s->v;
    partial_sums *part = s->part;
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
            int64_t i2 = idx - row * n2;
            const int64_t rend = (row + 1) * n2 < e ? (row + 1) * n2 : e;
            const int64_t b = row / rpm, r = row - b * rpm;
            const int64_t i0 = r / n1, i1 = r - (r / n1) * n1;
            if (want && !want[b]) {
                idx = rend;
                continue;
            }
            const double x0 = s->x[0][i0], x1 = s->x[1][i1];
            double s0 = 0, sv = 0, sx2 = 0, sxx2 = 0, rmax = my[b].rmax;
            int64_t imax = my[b].imax;
            for (; idx < rend; ++idx, ++i2) {
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
            my[b].s0 += s0;
            my[b].sv += sv;
            my[b].sx[0] += x0 * s0;
            my[b].sxx[0] += x0 * x0 * s0;
            my[b].sx[1] += x1 * s0;
            my[b].sxx[1] += x1 * x1 * s0;
            my[b].sx[2] += sx2;
            my[b].sxx[2] += sxx2;
            my[b].rmax = rmax;
            my[b].imax = imax;
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
            int64_t i2 = idx - row * n2;
            const int64_t rend = (row + 1) * n2 < e ? (row + 1) * n2 : e;
            const int64_t b = row / rpm, r = row - b * rpm;
            const int64_t i0 = r / n1, i1 = r - (r / n1) * n1;
            if (want && !want[b]) {
                idx = rend;
                continue;
            }
            const double c = hbar[b] * hbar[b] / (2.0 * mass[b]);
            const double k01 = s->k2[0][i0] + s->k2[1][i1];
            double st = 0.0;
            for (; idx < rend; ++idx, ++i2) {
                const double ek = c * (k01 + s->k2[2][i2]);
                st += ek * qdml_abs2(w[idx]);
                w[idx] = qdml_cscale(w[idx], ek * invn);
            }
            my[b].st += st;
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
        for (int64_t idx = a; idx < e;) {
            const int64_t b = idx / N;
            const int64_t end = (b + 1) * N < e ? (b + 1) * N : e;
            if (want && !want[b]) {
                idx = end;
                continue;
            }
            const double eb = energy[b];
            double acc = 0.0;
            for (; idx < end; ++idx) {
                const double f = v[idx] - eb;
                const double re = w[idx].re + f * psi[idx].re, im = w[idx].im + f * psi[idx].im;
                acc += re * re + im * im;
            }
            my[b].sres += acc;
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
    for (int64_t b = 0; b < s->d.batch; ++b) {
        if (mask && !mask[b]) continue;
        qdml_c64 *src = restore ? s->backup + b * N : s->psi + b * N;
        qdml_c64 *dst = restore ? s->psi + b * N : s->backup + b * N;
        memcpy(dst, src, (size_t)N * sizeof(qdml_c64));
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
    if (bad == INT64_MAX) memcpy(s->v + b * N, tmp, (size_t)N * sizeof(double));
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
};
