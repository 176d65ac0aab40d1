/* Per-element physics shared by every backend.
 *
 * Compiled as C11 by the host compiler (CPU backend) and as CUDA C++ by nvcc (GPU kernels), so
 * the formulas exist once. Everything here is a static inline function of plain values.
 */
#ifndef QDML_POINTWISE_H
#define QDML_POINTWISE_H

#include <math.h>

#if defined(__CUDACC__)
#define QDML_HD __host__ __device__ __forceinline__
#else
#define QDML_HD static inline
#endif

/* Layout-compatible with fftw_complex, cufftDoubleComplex and C99 double complex. */
typedef struct qdml_c64 {
    double re, im;
} qdml_c64;

QDML_HD qdml_c64 qdml_c64_make(double re, double im) {
    qdml_c64 z;
    z.re = re;
    z.im = im;
    return z;
}

QDML_HD qdml_c64 qdml_cmul(qdml_c64 a, qdml_c64 b) {
    return qdml_c64_make(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
}

QDML_HD qdml_c64 qdml_cscale(qdml_c64 a, double s) { return qdml_c64_make(a.re * s, a.im * s); }

QDML_HD double qdml_abs2(qdml_c64 a) { return a.re * a.re + a.im * a.im; }

/* Amplitudes below this are set to zero in renormalised imaginary time. Imaginary time drives the
 * high-wavenumber modes and the far tails of a normalised state towards zero; left alone they
 * become subnormal numbers, on which FFTs run tens of times slower. Flushing them changes the
 * state by less than 1e-190 of its norm. */
#define QDML_TINY 1e-200

QDML_HD qdml_c64 qdml_flush_tiny(qdml_c64 z) {
    z.re = fabs(z.re) < QDML_TINY ? 0.0 : z.re;
    z.im = fabs(z.im) < QDML_TINY ? 0.0 : z.im;
    return z;
}

/* Propagator factor exp(-i * theta) in real time, exp(-theta) in imaginary time, where theta is
 * (energy * step / hbar). Real-time factors have modulus 1 exactly up to rounding of cos/sin;
 * imaginary-time factors are real. */
QDML_HD qdml_c64 qdml_propagator(int imaginary, double theta) {
    if (imaginary) return qdml_c64_make(exp(-theta), 0.0);
    return qdml_c64_make(cos(theta), -sin(theta));
}

/* Wavenumber of FFT bin j of an axis of n points and length L (FFTW/cuFFT ordering:
 * 0, 1, ..., n/2 - 1 (or (n-1)/2), then negative frequencies). The Nyquist bin of an even n is
 * taken as -n/2; only k^2 enters the kinetic energy, so its sign does not matter. */
QDML_HD double qdml_wavenumber(long long j, long long n, double length) {
    long long m = (2 * j < n) ? j : j - n;
    return 6.283185307179586476925286766559 * (double)m / length;
}

/* Coordinate of point j of an axis of n points on the periodic box [lo, lo + length): the grid
 * convention of qdml.h, x_j = lo + j (hi - lo) / n. */
QDML_HD double qdml_grid_point(double lo, double length, long long j, long long n) {
    return lo + (double)j * length / (double)n;
}

/* psi at x on one axis of a Gaussian packet: (2 pi s^2)^(-1/4) exp(-(x-c)^2/(4 s^2) + i k (x-c)). */
QDML_HD qdml_c64 qdml_gaussian_factor(double x, double c, double s, double k) {
    double u = x - c;
    double amp = pow(6.283185307179586476925286766559 * s * s, -0.25) * exp(-u * u / (4.0 * s * s));
    return qdml_c64_make(amp * cos(k * u), amp * sin(k * u));
}

#endif
