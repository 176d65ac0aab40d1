/* The CPU backend's pointwise kernels: the loops that multiply the state by the potential and
 * kinetic factors (with the flush of tiny values and the norm sums) and scale it, in a default
 * version and, chosen at run time where the processor has it, an AVX2 one. The passes call them
 * through the kernel_set pointers (cpu_private.h), one call per row or block.
 *
 * Plain loops over interleaved (re, im) doubles with restrict pointers; the norm sums through an
 * OpenMP simd reduction. `flush`, `norm` and `bits` are constants after inlining, so every
 * combination becomes its own loop. The flush of tiny values is written as a comparison of
 * |x| with QDML_TINY in the default version (which the compiler turns into branches) and as the
 * same comparison on the bit patterns (monotonic for non-negative doubles, NaN and infinity
 * included) in the AVX2 version, where it becomes a vector compare and mask. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu_private.h"

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
/* ---- phase factors ----------------------------------------------------------------------------
 * exp(-i theta) = (cos theta, -sin theta) for theta = (v - shift) rate, and its square, for the tables of
 * the scheduled steps (backend_cpu_sched.c), which rebuild them every step: a sine and cosine per point
 * that libm computes one at a time. Here: theta reduced by k pi/2 (k = round(theta 2/pi)) in three parts
 * of pi/2 of 33, 33 and 53 bits (fdlibm's pio2_1, pio2_2, pio2_2t: k pio2_1 and k pio2_2 are exact for
 * |k| < 2^20), fdlibm's kernels of sine and cosine on [-pi/4, pi/4] (errors under 1 ulp there), and the
 * quadrant k mod 4; |theta| > 1e6 (and NaN) goes to libm. One expression per operation, written twice:
 * for one point here and for four in the AVX2 version below, which therefore gives the same bits. Checked
 * against libm to 2^-52 absolute over |theta| <= 1e6 (tests/test_cpu_paths.c). */
#define QDML_PHASE_LIMIT 1.0e6
static const double PH_INVPIO2 = 6.36619772367581382433e-01, PH_PIO2_1 = 1.57079632673412561417e+00,
                    PH_PIO2_2 = 6.07710050630396597660e-11, PH_PIO2_2T = 2.02226624879595063154e-21,
                    PH_ROUND = 6755399441055744.0; /* 1.5 2^52: x + it - it rounds x to an integer */
static const double PH_S1 = -1.66666666666666324348e-01, PH_S2 = 8.33333333332248946124e-03,
                    PH_S3 = -1.98412698298579493134e-04, PH_S4 = 2.75573137070700676789e-06,
                    PH_S5 = -2.50507602534068634195e-08, PH_S6 = 1.58969099521155010221e-10;
static const double PH_C1 = 4.16666666666666019037e-02, PH_C2 = -1.38888888888741095749e-03,
                    PH_C3 = 2.48015872894767294178e-05, PH_C4 = -2.75573143513906633035e-07,
                    PH_C5 = 2.08757232129817482790e-09, PH_C6 = -1.13596475577881948265e-11;

/* cos theta and sin theta by the reduction and kernels above (|theta| <= QDML_PHASE_LIMIT). */
QDML_INLINE void phase_point(double th, double *co, double *si) {
    const double t = th * PH_INVPIO2 + PH_ROUND;
    const double k = t - PH_ROUND;
    int64_t bits;
    memcpy(&bits, &t, sizeof bits);
    const int64_t q = bits & 3;
    const double r = ((th - k * PH_PIO2_1) - k * PH_PIO2_2) - k * PH_PIO2_2T;
    const double z = r * r;
    const double ps = PH_S2 + z * (PH_S3 + z * (PH_S4 + z * (PH_S5 + z * PH_S6)));
    const double sr = r + (z * r) * (PH_S1 + z * ps);
    const double pc = z * (PH_C1 + z * (PH_C2 + z * (PH_C3 + z * (PH_C4 + z * (PH_C5 + z * PH_C6)))));
    const double hz = 0.5 * z, w = 1.0 - hz;
    const double cr = w + (((1.0 - w) - hz) + z * pc);
    const double a = (q & 1) ? cr : sr, b = (q & 1) ? sr : cr; /* sin, cos of theta up to sign */
    *si = (q & 2) ? -a : a;
    *co = ((q + 1) & 2) ? -b : b;
}

/* evh[i] = (cos theta, -sin theta), evf[i] = evh[i]^2 as qdml_cmul forms it, theta = (v[i] - shift) rate. */
QDML_INLINE void phase_store(double th, qdml_c64 *restrict h, qdml_c64 *restrict f) {
    double co, si;
    if (fabs(th) <= QDML_PHASE_LIMIT) {
        phase_point(th, &co, &si);
    } else {
        co = cos(th);
        si = sin(th);
    }
    const double re = co, im = -si;
    h->re = re;
    h->im = im;
    f->re = re * re - im * im;
    f->im = re * im + im * re;
}

static void phases_default(const double *restrict v, int64_t n, double shift, double rate, qdml_c64 *restrict evh,
                           qdml_c64 *restrict evf) {
    for (int64_t i = 0; i < n; ++i) phase_store((v[i] - shift) * rate, evh + i, evf + i);
}

void qdml_cpu_phase_point(double theta, double *co, double *si) {
    if (fabs(theta) <= QDML_PHASE_LIMIT) {
        phase_point(theta, co, si);
    } else {
        *co = cos(theta);
        *si = sin(theta);
    }
}

#define QDML_KERNEL_SET(SUFFIX, ATTR, BITS, MUL_REAL_BODY, MUL_CPLX_BODY, KIN_CPLX_BODY, PHASES)                       \
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
                                                kin_real_##SUFFIX, PHASES};

QDML_KERNEL_SET(default, , 0, mul_real_body, mul_cplx_body, kin_cplx_body, phases_default)

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

/* phases_default four points at a time: the same operations in the same order, so the same bits; a
 * vector with a lane beyond QDML_PHASE_LIMIT (or NaN) is done point by point. */
__attribute__((target("avx2"))) static void phases_avx2(const double *restrict v, int64_t n, double shift, double rate,
                                                        qdml_c64 *restrict evh, qdml_c64 *restrict evf) {
    const __m256d sh = _mm256_set1_pd(shift), ra = _mm256_set1_pd(rate), lim = _mm256_set1_pd(QDML_PHASE_LIMIT);
    const __m256d absmask = _mm256_castsi256_pd(_mm256_set1_epi64x(INT64_MAX));
    const __m256d inv = _mm256_set1_pd(PH_INVPIO2), rnd = _mm256_set1_pd(PH_ROUND), one = _mm256_set1_pd(1.0),
                  half = _mm256_set1_pd(0.5), p1 = _mm256_set1_pd(PH_PIO2_1), p2 = _mm256_set1_pd(PH_PIO2_2),
                  p3 = _mm256_set1_pd(PH_PIO2_2T);
    const __m256i one_i = _mm256_set1_epi64x(1), two_i = _mm256_set1_epi64x(2), three_i = _mm256_set1_epi64x(3);
    const __m256d sign = _mm256_castsi256_pd(_mm256_set1_epi64x(INT64_MIN));
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m256d th = _mm256_mul_pd(_mm256_sub_pd(_mm256_loadu_pd(v + i), sh), ra);
        const __m256d far = _mm256_cmp_pd(_mm256_and_pd(th, absmask), lim, _CMP_NLE_UQ);
        if (_mm256_movemask_pd(far)) {
            for (int j = 0; j < 4; ++j) phase_store((v[i + j] - shift) * rate, evh + i + j, evf + i + j);
            continue;
        }
        const __m256d t = _mm256_add_pd(_mm256_mul_pd(th, inv), rnd);
        const __m256d k = _mm256_sub_pd(t, rnd);
        const __m256i q = _mm256_and_si256(_mm256_castpd_si256(t), three_i);
        const __m256d r =
            _mm256_sub_pd(_mm256_sub_pd(_mm256_sub_pd(th, _mm256_mul_pd(k, p1)), _mm256_mul_pd(k, p2)), _mm256_mul_pd(k, p3));
        const __m256d z = _mm256_mul_pd(r, r);
#define PH_FMA(a, b, c) _mm256_add_pd(a, _mm256_mul_pd(b, c)) /* a + b c, two roundings as the scalar code */
        __m256d ps = PH_FMA(_mm256_set1_pd(PH_S5), z, _mm256_set1_pd(PH_S6));
        ps = PH_FMA(_mm256_set1_pd(PH_S4), z, ps);
        ps = PH_FMA(_mm256_set1_pd(PH_S3), z, ps);
        ps = PH_FMA(_mm256_set1_pd(PH_S2), z, ps);
        const __m256d sr = PH_FMA(r, _mm256_mul_pd(z, r), PH_FMA(_mm256_set1_pd(PH_S1), z, ps));
        __m256d pc = PH_FMA(_mm256_set1_pd(PH_C5), z, _mm256_set1_pd(PH_C6));
        pc = PH_FMA(_mm256_set1_pd(PH_C4), z, pc);
        pc = PH_FMA(_mm256_set1_pd(PH_C3), z, pc);
        pc = PH_FMA(_mm256_set1_pd(PH_C2), z, pc);
        pc = _mm256_mul_pd(z, PH_FMA(_mm256_set1_pd(PH_C1), z, pc));
#undef PH_FMA
        const __m256d hz = _mm256_mul_pd(half, z), w = _mm256_sub_pd(one, hz);
        const __m256d cr = _mm256_add_pd(w, _mm256_add_pd(_mm256_sub_pd(_mm256_sub_pd(one, w), hz), _mm256_mul_pd(z, pc)));
        const __m256d odd = _mm256_castsi256_pd(_mm256_cmpeq_epi64(_mm256_and_si256(q, one_i), one_i));
        const __m256d a = _mm256_blendv_pd(sr, cr, odd), b = _mm256_blendv_pd(cr, sr, odd);
        const __m256d sneg = _mm256_castsi256_pd(_mm256_cmpeq_epi64(_mm256_and_si256(q, two_i), two_i));
        const __m256d cneg = _mm256_castsi256_pd(
            _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_add_epi64(q, one_i), two_i), two_i));
        const __m256d si = _mm256_xor_pd(a, _mm256_and_pd(sneg, sign));
        const __m256d re = _mm256_xor_pd(b, _mm256_and_pd(cneg, sign));
        const __m256d im = _mm256_xor_pd(si, sign); /* -sin */
        const __m256d fre = _mm256_sub_pd(_mm256_mul_pd(re, re), _mm256_mul_pd(im, im));
        const __m256d fim = _mm256_add_pd(_mm256_mul_pd(re, im), _mm256_mul_pd(im, re));
        /* interleave (re, im) pairs: lanes 0 1 2 3 of re and im to two vectors of two points each */
        const __m256d lo = _mm256_unpacklo_pd(re, im), hi = _mm256_unpackhi_pd(re, im);
        _mm256_storeu_pd((double *)(evh + i), _mm256_permute2f128_pd(lo, hi, 0x20));
        _mm256_storeu_pd((double *)(evh + i + 2), _mm256_permute2f128_pd(lo, hi, 0x31));
        const __m256d flo = _mm256_unpacklo_pd(fre, fim), fhi = _mm256_unpackhi_pd(fre, fim);
        _mm256_storeu_pd((double *)(evf + i), _mm256_permute2f128_pd(flo, fhi, 0x20));
        _mm256_storeu_pd((double *)(evf + i + 2), _mm256_permute2f128_pd(flo, fhi, 0x31));
    }
    for (; i < n; ++i) phase_store((v[i] - shift) * rate, evh + i, evf + i);
}

QDML_KERNEL_SET(avx2, __attribute__((target("avx2"))), 1, mul_real_body_avx2, mul_cplx_body_avx2, kin_cplx_body_avx2,
                phases_avx2)
#endif

const kernel_set *qdml_cpu_choose_kernels(void) {
#ifdef QDML_HAVE_AVX2_KERNELS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) return &kernels_avx2;
#endif
    return &kernels_default;
}
