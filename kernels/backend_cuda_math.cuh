/* Index arithmetic and per-thread (per-lane) loop bodies of the CUDA backend.
 *
 * Everything here is a plain function of values and pointers, compiled by nvcc for the device
 * (backend_cuda_kernels.cuh wraps each body in a __global__ kernel that adds the thread indexing
 * and the warp reductions) and by a host C++ compiler, so the index math and the masks can be
 * exercised on a machine without a GPU by calling the bodies for every (segment, lane) in turn.
 *
 * Layout (backend.h): B members of N points, member outermost; inside a member the internal grid
 * is (n0, n1, n2) in C order. The per-axis tables (coordinates x, squared wavenumbers k^2, kinetic
 * factors) are stored concatenated: axis 0 at [0, n0), axis 1 at [n0, n0 + n1), axis 2 at
 * [n0 + n1, n0 + n1 + n2).
 *
 * Precision: every loop body is a template on the complex element type C, qdml_c64 (float64: the
 * pointwise.h functions themselves, so float64 results are those of the CPU backend's expressions)
 * or c32 (float32 storage; products in float, every sum, norm and moment accumulated in double).
 * real_of<C>::type is the matching real type of the potential array.
 *
 * Two loop shapes:
 *  - flat: one grid-stride loop over the B * N elements; the thread's (b, i0, i1, i2) is found by
 *    division once and then advanced by the fixed stride with carries (no division per element);
 *  - segmented: member b is split into `cpm` interleaved segments; a segment is one warp; lane l
 *    of segment c visits i = c * 32 + l, then steps by cpm * 32. A warp never crosses members, so
 *    per-member sums need no atomics; the per-segment partials are summed in a fixed order.
 */
#ifndef QDML_BACKEND_CUDA_MATH_CUH
#define QDML_BACKEND_CUDA_MATH_CUH

#include <stdint.h>

#include "objectives.h"
#include "pointwise.h"
#include "step.h"

#if defined(__CUDACC__)
#define QDML_CU_HD __host__ __device__ __forceinline__
#else
#define QDML_CU_HD static inline
#endif

namespace qdml_cuda {

typedef long long i64;

enum { kWarp = 32 };

/* ---- element types ----------------------------------------------------------------------------- */

/* Single-precision complex: the layout of cufftComplex, float2 and C99 float complex. */
struct c32 {
    float re, im;
};

template <typename C> struct real_of;
template <> struct real_of<qdml_c64> { typedef double type; };
template <> struct real_of<c32> { typedef float type; };

/* Amplitudes below this are set to zero in float32 where qdml_flush_tiny applies in float64. The
 * float64 threshold (QDML_TINY = 1e-200) is below the smallest float; 1e-30 keeps float32 states
 * clear of subnormals (< 1.2e-38) with the same kind of margin and changes a normalised state by
 * far less than float32 rounding (6e-8). */
#define QDML_CU_TINY_F32 1e-30f

/* ---- complex loads and stores: one 16-byte (float64) or 8-byte (float32) access on the device -- */

QDML_CU_HD qdml_c64 ldc(const qdml_c64 *p, i64 i) {
#if defined(__CUDA_ARCH__)
    const double2 v = reinterpret_cast<const double2 *>(p)[i];
    return qdml_c64_make(v.x, v.y);
#else
    return p[i];
#endif
}

QDML_CU_HD void stc(qdml_c64 *p, i64 i, qdml_c64 z) {
#if defined(__CUDA_ARCH__)
    reinterpret_cast<double2 *>(p)[i] = make_double2(z.re, z.im);
#else
    p[i] = z;
#endif
}

QDML_CU_HD c32 ldc(const c32 *p, i64 i) {
#if defined(__CUDA_ARCH__)
    const float2 v = reinterpret_cast<const float2 *>(p)[i];
    c32 z;
    z.re = v.x;
    z.im = v.y;
    return z;
#else
    return p[i];
#endif
}

QDML_CU_HD void stc(c32 *p, i64 i, c32 z) {
#if defined(__CUDA_ARCH__)
    reinterpret_cast<float2 *>(p)[i] = make_float2(z.re, z.im);
#else
    p[i] = z;
#endif
}

/* ---- complex arithmetic per element type ----------------------------------------------------------
 * float64: exactly the pointwise.h functions. float32: the same formulas in float; a double factor
 * is rounded to float once; |z|^2 is formed in double (exact: a float square fits a double). */

QDML_CU_HD qdml_c64 cmul(qdml_c64 a, qdml_c64 b) { return qdml_cmul(a, b); }
QDML_CU_HD qdml_c64 cscale(qdml_c64 a, double s) { return qdml_cscale(a, s); }
QDML_CU_HD double abs2(qdml_c64 a) { return qdml_abs2(a); }
QDML_CU_HD qdml_c64 flush_tiny(qdml_c64 z) { return qdml_flush_tiny(z); }

QDML_CU_HD c32 c32_make(float re, float im) {
    c32 z;
    z.re = re;
    z.im = im;
    return z;
}
QDML_CU_HD c32 cmul(c32 a, c32 b) { return c32_make(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re); }
QDML_CU_HD c32 cscale(c32 a, double s) {
    const float f = (float)s;
    return c32_make(a.re * f, a.im * f);
}
QDML_CU_HD double abs2(c32 a) {
    const double re = a.re, im = a.im;
    return re * re + im * im;
}
QDML_CU_HD c32 flush_tiny(c32 z) {
    z.re = fabsf(z.re) < QDML_CU_TINY_F32 ? 0.0f : z.re;
    z.im = fabsf(z.im) < QDML_CU_TINY_F32 ? 0.0f : z.im;
    return z;
}

/* A float64 value stored as element type C (rounded to nearest for float32). */
QDML_CU_HD void round_to(qdml_c64 z, qdml_c64 &out) { out = z; }
QDML_CU_HD void round_to(qdml_c64 z, c32 &out) { out = c32_make((float)z.re, (float)z.im); }

template <typename C> QDML_CU_HD C from_c64(qdml_c64 z) {
    C out;
    round_to(z, out);
    return out;
}

/* ---- mixed-radix positions -------------------------------------------------------------------- */

struct shape3 {
    i64 n0, n1, n2; /* internal axes */
    i64 n12;        /* n1 * n2 */
    i64 N;          /* n0 * n1 * n2 */
};

struct pos3 {
    i64 i0, i1, i2;
};

QDML_CU_HD shape3 make_shape3(i64 n0, i64 n1, i64 n2) {
    shape3 s;
    s.n0 = n0;
    s.n1 = n1;
    s.n2 = n2;
    s.n12 = n1 * n2;
    s.N = n0 * s.n12;
    return s;
}

/* Digits of a within-member flat index i (0 <= i < N for meaningful digits). */
QDML_CU_HD pos3 pos_of(i64 i, const shape3 &s) {
    pos3 p;
    p.i0 = i / s.n12;
    const i64 r = i - p.i0 * s.n12;
    p.i1 = r / s.n2;
    p.i2 = r - p.i1 * s.n2;
    return p;
}

/* p += d digit-wise with carries; every digit of d must be below its radix except d.i0, which may
 * be anything when the caller stops before using digits of a flat index >= N. Returns the carry
 * out of axis 0 (1 when the flat index passed N). */
QDML_CU_HD i64 pos_advance(pos3 &p, const pos3 &d, const shape3 &s) {
    i64 c = 0;
    p.i2 += d.i2;
    if (p.i2 >= s.n2) {
        p.i2 -= s.n2;
        c = 1;
    }
    p.i1 += d.i1 + c;
    c = 0;
    if (p.i1 >= s.n1) {
        p.i1 -= s.n1;
        c = 1;
    }
    p.i0 += d.i0 + c;
    c = 0;
    if (p.i0 >= s.n0) {
        p.i0 -= s.n0;
        c = 1;
    }
    return c;
}

/* A flat grid-stride walk over B * N elements tracking (b, i) or (b, i0, i1, i2). */
struct flat_stride {
    i64 S;   /* total stride (threads in the grid) */
    i64 sb;  /* S / N */
    i64 sr;  /* S % N */
    pos3 sd; /* digits of sr */
};

QDML_CU_HD flat_stride make_flat_stride(i64 S, const shape3 &s) {
    flat_stride f;
    f.S = S;
    f.sb = S / s.N;
    f.sr = S - f.sb * s.N;
    f.sd = pos_of(f.sr, s);
    return f;
}

/* ---- argmax with the CPU backend's semantics ---------------------------------------------------
 * Scanning in increasing index with `if (rho > rmax || rho != rho)` from (-1, -1) keeps the first
 * index of the largest value and, once a NaN is seen, the last NaN. The same selection as an
 * associative, commutative combination of (value, index) pairs: a NaN beats any number, of two
 * NaNs the higher index wins, otherwise the larger value, and of equal values the lower index.
 * (-1, -1) is the empty element. */
QDML_CU_HD void amax_combine(double &r, i64 &i, double r2, i64 i2) {
    const bool nan1 = r != r, nan2 = r2 != r2;
    bool take;
    if (nan1 || nan2)
        take = nan2 && (!nan1 || i2 > i);
    else
        take = r2 > r || (r2 == r && i2 < i);
    if (take) {
        r = r2;
        i = i2;
    }
}

/* ---- flat element loops (one call per thread) -------------------------------------------------- */

/* psi *= f for members with mask[b] (mask NULL: all); members with flush[b] then have amplitudes
 * below the tiny threshold set to zero (flush NULL: none). */
template <typename C>
QDML_CU_HD void flat_kick(C *psi, const C *f, i64 total, i64 N, const unsigned char *mask, const unsigned char *flush,
                          i64 start, const flat_stride &fs) {
    if (!mask && !flush) {
        for (i64 idx = start; idx < total; idx += fs.S)
            stc(psi, idx, cmul(ldc(psi, idx), ldc(f, idx)));
        return;
    }
    i64 b = start / N, i = start - (start / N) * N;
    for (i64 idx = start; idx < total; idx += fs.S) {
        if (!mask || mask[b]) {
            const C z = cmul(ldc(psi, idx), ldc(f, idx));
            stc(psi, idx, (flush && flush[b]) ? flush_tiny(z) : z);
        }
        b += fs.sb;
        i += fs.sr;
        if (i >= N) {
            i -= N;
            ++b;
        }
    }
}

/* psi *= scale[b] for members with mask[b] (mask NULL: all). */
template <typename C>
QDML_CU_HD void flat_scale(C *psi, const double *scale, i64 total, i64 N, const unsigned char *mask, i64 start,
                           const flat_stride &fs) {
    i64 b = start / N, i = start - (start / N) * N;
    for (i64 idx = start; idx < total; idx += fs.S) {
        if (!mask || mask[b]) stc(psi, idx, cscale(ldc(psi, idx), scale[b]));
        b += fs.sb;
        i += fs.sr;
        if (i >= N) {
            i -= N;
            ++b;
        }
    }
}

/* dst = src for members with mask[b] (mask required). */
template <typename C>
QDML_CU_HD void flat_copy_masked(C *dst, const C *src, i64 total, i64 N, const unsigned char *mask, i64 start,
                                 const flat_stride &fs) {
    i64 b = start / N, i = start - (start / N) * N;
    for (i64 idx = start; idx < total; idx += fs.S) {
        if (mask[b]) stc(dst, idx, ldc(src, idx));
        b += fs.sb;
        i += fs.sr;
        if (i >= N) {
            i -= N;
            ++b;
        }
    }
}

/* Kinetic factor in Fourier space, as the CPU backend: active members
 *   psi_hat *= (kt0[i0] * kt1[i1] * (scale[b] / N)) * kt2[i2]
 * (then amplitudes below the tiny threshold set to zero where flush[b]; flush NULL: none),
 * inactive members psi_hat *= 1 / N. scale NULL counts as 1 for every member. */
template <typename C>
QDML_CU_HD void flat_kinetic(C *psi, const C *ktab, i64 ksum, const double *scale, const unsigned char *mask,
                             const unsigned char *flush, double invn, i64 total, const shape3 &sh, i64 start,
                             const flat_stride &fs) {
    if (start >= total) return;
    i64 b = start / sh.N;
    pos3 p = pos_of(start - b * sh.N, sh);
    /* The next element's load is issued before this one's arithmetic and store (software
     * pipelining): two 16-byte loads in flight per thread where the float64 kernel's 56 registers
     * allow 4 blocks of 256 threads per SM (bounding the registers lower spilled 272 bytes). */
    C z = ldc(psi, start);
    for (i64 idx = start; idx < total;) {
        const i64 next = idx + fs.S;
        const C z_next = next < total ? ldc(psi, next) : z;
        if (mask && !mask[b]) {
            stc(psi, idx, cscale(z, invn));
        } else {
            const C *kt = ktab + b * ksum;
            const double sc = scale ? scale[b] : 1.0;
            const C rf = cscale(cmul(ldc(kt, p.i0), ldc(kt, sh.n0 + p.i1)), sc * invn);
            const C y = cmul(z, cmul(rf, ldc(kt, sh.n0 + sh.n1 + p.i2)));
            stc(psi, idx, (flush && flush[b]) ? flush_tiny(y) : y);
        }
        b += fs.sb + pos_advance(p, fs.sd, sh);
        idx = next;
        z = z_next;
    }
}

/* ---- segmented (per-lane) loops ---------------------------------------------------------------
 * psi etc. point at the member's first element; i = c * 32 + lane; T = cpm * 32. Sums in double
 * for either element type. */

/* psi *= f (then tiny amplitudes flushed to zero if `flush`) and return sum |psi|^2 over the
 * lane's elements after the multiply. */
template <typename C> QDML_CU_HD double lane_kick_norm(C *psi, const C *f, int flush, i64 N, i64 i, i64 T) {
    double acc = 0.0;
    for (; i < N; i += T) {
        C z = cmul(ldc(psi, i), ldc(f, i));
        if (flush) z = flush_tiny(z);
        stc(psi, i, z);
        acc += abs2(z);
    }
    return acc;
}

/* Per-member finalisation of the segment partials (k_fin_sum, k_fin_scale): one block of kFinBlock
 * threads per member; thread t's share, summed in increasing c: part[b cpm + c], c = t, t + kFinBlock,
 * ... The block then adds the threads' shares in a tree (backend_cuda_kernels.cuh). */
enum { kFinBlock = 256 };

QDML_CU_HD double fin_thread_sum(const double *part, i64 cpm, i64 b, int t) {
    double acc = 0.0;
    for (i64 c = t; c < cpm; c += kFinBlock)
        acc += part[b * cpm + c];
    return acc;
}

/* Renormalisation of one member inside the steps op, from the norm s = sum |psi|^2 its kick has
 * just produced: the scale 1 / sqrt(s dv) of the next kinetic factor (the solver's expression on the
 * host; division and square root are correctly rounded in double on both sides, so the bits agree),
 * and, at the first norm that is not finite and positive, the substeps completed so far (`done`) in
 * *stop (which starts at -1; later bad norms keep the first). */
QDML_CU_HD void renorm_member(double s, double dv, i64 done, double *scale, i64 *stop) {
    if (!(isfinite(s) && s > 0) && *stop < 0) *stop = done;
    *scale = 1.0 / sqrt(s * dv);
}

/* sum |x - y|^2 over the lane's elements (differences formed in double). */
template <typename C> QDML_CU_HD double lane_distance(const C *x, const C *y, i64 N, i64 i, i64 T) {
    double acc = 0.0;
    for (; i < N; i += T) {
        const C a = ldc(x, i), c = ldc(y, i);
        const double re = (double)a.re - (double)c.re, im = (double)a.im - (double)c.im;
        acc += re * re + im * im;
    }
    return acc;
}

/* Density moments of the first monitoring pass. */
struct mom1_acc {
    double s0, sv, sx[3], sxx[3];
    double rmax;
    i64 imax;
};

QDML_CU_HD void mom1_init(mom1_acc &a) {
    a.s0 = a.sv = 0.0;
    for (int d = 0; d < 3; ++d)
        a.sx[d] = a.sxx[d] = 0.0;
    a.rmax = -1.0;
    a.imax = -1;
}

/* Pass 1: s0, sv, sx, sxx, argmax of |psi|^2, and w = psi. xt holds the concatenated coordinate
 * tables; i0..i2 are tracked from i and the lane stride T. */
template <typename C>
QDML_CU_HD void lane_mom1(const C *psi, C *w, const typename real_of<C>::type *v, const double *xt, const shape3 &sh,
                          i64 i, i64 T, mom1_acc &a) {
    if (i >= sh.N) return;
    const double *x0t = xt, *x1t = xt + sh.n0, *x2t = xt + sh.n0 + sh.n1;
    pos3 p = pos_of(i, sh);
    const pos3 d = pos_of(T, sh);
    for (; i < sh.N; i += T) {
        const C z = ldc(psi, i);
        stc(w, i, z);
        const double rho = abs2(z);
        const double x0 = x0t[p.i0], x1 = x1t[p.i1], x2 = x2t[p.i2];
        a.s0 += rho;
        a.sv += (double)v[i] * rho;
        a.sx[0] += x0 * rho;
        a.sxx[0] += x0 * x0 * rho;
        a.sx[1] += x1 * rho;
        a.sxx[1] += x1 * x1 * rho;
        a.sx[2] += x2 * rho;
        a.sxx[2] += x2 * x2 * rho;
        if (rho > a.rmax || rho != rho) {
            a.rmax = rho;
            a.imax = i;
        }
        pos_advance(p, d, sh);
    }
}

/* Pass 2 (on the forward transform of psi in w): st += ek |w|^2 and w *= ek / N, where
 * ek = c * ((k0^2 + k1^2) + k2^2), c = hbar^2 / 2m of the member. */
template <typename C>
QDML_CU_HD double lane_mom2(C *w, const double *k2t, double c, double invn, const shape3 &sh, i64 i, i64 T) {
    double st = 0.0;
    if (i >= sh.N) return st;
    const double *k0t = k2t, *k1t = k2t + sh.n0, *k2 = k2t + sh.n0 + sh.n1;
    pos3 p = pos_of(i, sh);
    const pos3 d = pos_of(T, sh);
    for (; i < sh.N; i += T) {
        const double ek = c * ((k0t[p.i0] + k1t[p.i1]) + k2[p.i2]);
        const C z = ldc(w, i);
        st += ek * abs2(z);
        stc(w, i, cscale(z, ek * invn));
        pos_advance(p, d, sh);
    }
    return st;
}

/* Pass 3 (w = T psi): sum |w + (V - E) psi|^2 (formed in double). */
template <typename C>
QDML_CU_HD double lane_mom3(const C *psi, const C *w, const typename real_of<C>::type *v, double e, i64 N, i64 i,
                            i64 T) {
    double acc = 0.0;
    for (; i < N; i += T) {
        const C z = ldc(psi, i), t = ldc(w, i);
        const double f = (double)v[i] - e;
        const double re = (double)t.re + f * (double)z.re, im = (double)t.im + f * (double)z.im;
        acc += re * re + im * im;
    }
    return acc;
}

/* ---- set_step ---------------------------------------------------------------------------------
 * The factors are computed in double from the stored potential and rounded once to C. */

/* Potential factors of one element: h = propagator((V - shift) * dt / (2 hbar)), evh = h and
 * evf = h * h (the CPU backend's full step). */
template <typename C>
QDML_CU_HD void step_potential_elem(const typename real_of<C>::type *v, C *evh, C *evf, i64 i, double c, double shift,
                                    int imaginary) {
    const qdml_c64 h = qdml_potential_factor(imaginary, (double)v[i], shift, c);
    stc(evh, i, from_c64<C>(h));
    stc(evf, i, from_c64<C>(qdml_cmul(h, h)));
}

/* Kinetic axis factor j of one member: theta = hbar k^2 dt / 2m (1 with potential_only). */
QDML_CU_HD qdml_c64 step_kinetic_elem(const double *k2t, i64 j, int imaginary, double hbar, double mass, double dt,
                                      int potential_only) {
    return qdml_kinetic_factor(imaginary, potential_only, k2t[j], hbar, mass, dt);
}

/* ---- fill_objective ---------------------------------------------------------------------------
 * A member's potential from a built-in objective (core/objectives.h), evaluated in double at the
 * coordinate tables and rounded once to R, with a summary reduced over lanes, segments and the
 * member: the least and largest finite value (of the double values, as the CPU backend reports
 * them) and the first index whose stored value is not finite. min, max and the least index are
 * exact, order-free operations, so the summary does not depend on the segment count. */

struct fill_acc {
    double vmin, vmax; /* +inf / -inf: no finite value yet */
    i64 bad;           /* -1: none */
};

QDML_CU_HD void fill_init(fill_acc &a) {
    a.vmin = INFINITY;
    a.vmax = -INFINITY;
    a.bad = -1;
}

QDML_CU_HD void fill_combine(fill_acc &a, double vmin, double vmax, i64 bad) {
    if (vmin < a.vmin) a.vmin = vmin;
    if (vmax > a.vmax) a.vmax = vmax;
    if (bad >= 0 && (a.bad < 0 || bad < a.bad)) a.bad = bad;
}

/* v (the member's first element) at the lane's points i, i + T, ...; the lane's first bad index is
 * its least, as it visits increasing i. dim: the grid's dimension (user axis d is internal axis
 * 3 - dim + d). */
template <typename R>
QDML_CU_HD void lane_fill_objective(R *v, const qdml_objective &o, int dim, const double *xt, const shape3 &sh, i64 i,
                                    i64 T, fill_acc &a) {
    if (i >= sh.N) return;
    const double *x0t = xt, *x1t = xt + sh.n0, *x2t = xt + sh.n0 + sh.n1;
    pos3 p = pos_of(i, sh);
    const pos3 d = pos_of(T, sh);
    for (; i < sh.N; i += T) {
        double x[3];
        x[0] = x0t[p.i0];
        x[1] = x1t[p.i1];
        x[2] = x2t[p.i2];
        const double f = qdml_objective_value(&o, x + (3 - dim), dim);
        const R r = (R)f;
        v[i] = r;
        if (isfinite((double)r)) {
            if (f < a.vmin) a.vmin = f;
            if (f > a.vmax) a.vmax = f;
        } else if (a.bad < 0) {
            a.bad = i;
        }
        pos_advance(p, d, sh);
    }
}

/* ---- segment geometry ---------------------------------------------------------------------------
 * Segments (warps) per member: enough to fill a device, each lane doing at least 8 elements when
 * the member is large. A fixed target (not the device's SM count) keeps the summation order, and
 * so the rounding of every reduction, the same on every GPU. */
enum { kTargetSegments = 16384, kMinPerSegment = 256 };

QDML_CU_HD i64 segments_per_member(i64 N, i64 B) {
    const i64 by_size = (N + kMinPerSegment - 1) / kMinPerSegment;
    const i64 by_fill = (kTargetSegments + B - 1) / B;
    i64 c = by_size < by_fill ? by_size : by_fill;
    return c < 1 ? 1 : c;
}

} /* namespace qdml_cuda */

#endif
