/* The CUDA backend against the CPU backend (the reference), in float64 and float32.
 *
 *  (a) cuda_ops: every op of the backend table (host/backend.h) on random inputs, one op at a time
 *      (test-backend-ops style): before each op the CPU state is given the CUDA state, so only the
 *      op's own error is measured. Relative error <= 1e-12 in float64, <= 1e-5 in float32.
 *      Needs the ops table: compiled where the build defines QDML_TEST_HAVE_CUDA_BACKEND.
 *  (b) cuda_runs: whole runs through the public API (ground states in 1D/2D/3D and a batch of
 *      three potentials, real-time packets, imaginary-time evolution) on both backends.
 *      float64: states and energies within 1e-10. float32: the bounds derived below.
 *  (c) cuda_memory: qdml_problem_bytes_needed by precision, and a problem larger than any device
 *      fails with QDML_ERR_OUT_OF_MEMORY and both numbers in the message.
 *
 * Without a CUDA device every test that needs one reports itself skipped with the reason. The
 * tests of the precision setting on the CPU backend and of the CLI flag run everywhere.
 *
 * float32 bounds for whole runs (u = 2^-24 = 6.0e-8; see kernels/NOTES.md, "float32 accuracy"):
 *  - Real time. Each float32 op rounds its products to float and the FFT adds about u log2 N; the
 *    step factors are the exact (double) factors rounded once, so their error repeats identically
 *    every step and the phase and modulus errors of a mode add up linearly, not as a random walk.
 *    The state after n steps is within c n u of the float64 state, relative to its largest
 *    amplitude, with c a few units (measured with the kernels' loop bodies and FFTW in float:
 *    c = 0.6 .. 1.6 in 1D and 2D, 2.1 in 3D, linear from 100 to 6400 steps). Bound:
 *    REAL_F32_TOL(n) = 1e-5 + 8 n u (3.9e-4 after 800 steps) for the state, the energy, <x> and
 *    the width; twice that for the norm (quadratic in the state).
 *  - Imaginary time contracts: the rounding of one step is damped by the next, so errors do not
 *    grow with the number of steps (fixed-step runs: 4e-6 measured; bound IMAG_F32_STATE_TOL).
 *    The residual ||H psi - E psi|| has a float32 floor near u times the larger of the grid's
 *    largest kinetic energy and about hbar/dtau (the rounding noise a step leaves in mode k decays
 *    as exp(-T_k dtau)): 2e-5 .. 1e-4 on the grids below. Float32 ground states therefore run with
 *    GROUND_F32_TOL = 1e-4 (float64 with 1e-8) and stop at a distance ~ tolerance / gap from the
 *    ground state: states within GROUND_F32_STATE_TOL = 1e-3 (1.9e-4 measured, small-gap double
 *    well), energies within IMAG_F32_E_TOL = 1e-5 relative (E is stationary at the ground state:
 *    6e-8 measured).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "io_npy.h"
#include "support.h"

#ifdef QDML_TEST_HAVE_CUDA_BACKEND
/* Defined in kernels/backend_cuda_table.cu and backend_cuda_blas.cu (part of libqdml when the CUDA
 * toolkit was found). */
extern const qdml_backend_ops qdml_backend_cuda_ops;
int qdml_cuda_blas_load(char *err, size_t errlen);
#endif

#define NO_DEVICE "no CUDA device: qdml_backend_available(QDML_BACKEND_CUDA) is 0"
#define REQUIRE_CUDA_DEVICE()                                                                                          \
    do {                                                                                                               \
        if (!qdml_backend_available(QDML_BACKEND_CUDA)) cr_skip_test("%s", NO_DEVICE);                                 \
    } while (0)

#define U32 5.9604644775390625e-08 /* 2^-24, float32 unit roundoff */

#define OP_TOL_F64 1e-12
#define OP_TOL_F32 1e-5
#define RUN_TOL_F64 1e-10
#define REAL_F32_TOL(steps) (1e-5 + 8.0 * (double)(steps)*U32)
#define IMAG_F32_STATE_TOL 1e-4
#define GROUND_F32_STATE_TOL 1e-3
#define IMAG_F32_E_TOL 1e-5

static const char *prec_name(qdml_precision p) { return p == QDML_FLOAT32 ? "float32" : "float64"; }

static qdml_context *make_ctx(qdml_backend backend, qdml_precision prec) {
    qdml_context *ctx = NULL;
    qdml_status st = qdml_context_create(&ctx, backend, 1);
    cr_assert_eq(st, QDML_OK, "qdml_context_create(%s): %s", qdml_backend_name(backend), qdml_last_error_message());
    cr_assert_eq(qdml_context_set_fft_effort(ctx, QDML_FFT_ESTIMATE), QDML_OK);
    cr_assert_eq(qdml_context_set_precision(ctx, prec), QDML_OK, "%s", qdml_context_last_error(ctx));
    return ctx;
}

/* max_i |a_i - b_i| / max_i |a_i| over n doubles (0 when both are zero). */
static double rel_diff(const double *a, const double *b, int64_t n) {
    double d = 0.0, m = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double x = fabs(a[i] - b[i]);
        if (x > d || x != x) d = x;
        if (fabs(a[i]) > m) m = fabs(a[i]);
    }
    return d == 0.0 ? 0.0 : d / (m > 0 ? m : 1e-300);
}

/* |a - b| <= tol * scale, scale > 0. */
static int near(double a, double b, double tol, double scale) { return fabs(a - b) <= tol * scale; }

/* ==============================================================================================
 * (a) the op walk
 * ============================================================================================ */

#ifdef QDML_TEST_HAVE_CUDA_BACKEND

typedef struct walk {
    const qdml_backend_ops *cpu, *gpu;
    qdml_backend_state *cs, *gs;
    qdml_precision prec;
    int64_t N, B;
    double tol;
    double *a, *b; /* 2N scratch each */
    double vmax;   /* max |V| */
    double xmax;   /* max |x| over the internal axes */
    double k2max;  /* sum over the internal axes of the largest k^2 */
    const double *hbar, *mass;
    char where[96];
} walk;

/* CPU state := CUDA state (every member), so the next op starts from the same values. */
static void walk_sync(walk *w) {
    for (int64_t m = 0; m < w->B; ++m) {
        cr_assert_eq(w->gpu->get_state(w->gs, m, w->a), QDML_OK, "%s: get_state: %s", w->where,
                     w->gpu->last_error(w->gs));
        cr_assert_eq(w->cpu->set_state(w->cs, m, w->a), QDML_OK);
    }
}

static void walk_compare_states(walk *w, const char *op) {
    for (int64_t m = 0; m < w->B; ++m) {
        cr_assert_eq(w->cpu->get_state(w->cs, m, w->a), QDML_OK);
        cr_assert_eq(w->gpu->get_state(w->gs, m, w->b), QDML_OK, "%s %s: get_state: %s", w->where, op,
                     w->gpu->last_error(w->gs));
        const double d = rel_diff(w->a, w->b, 2 * w->N);
        cr_assert(d <= w->tol, "%s: %s: member %lld: relative difference %.3g > %.1g (%s)", w->where, op, (long long)m,
                  d, w->tol, prec_name(w->prec));
    }
}

static void walk_compare_sums(walk *w, const char *op, const double *x, const double *y, const unsigned char *mask) {
    for (int64_t m = 0; m < w->B; ++m) {
        if (mask && !mask[m]) continue;
        const double sc = fabs(x[m]) > 0 ? fabs(x[m]) : 1e-300;
        cr_assert(near(x[m], y[m], w->tol, sc), "%s: %s: member %lld: cpu %.17g cuda %.17g (%s)", w->where, op,
                  (long long)m, x[m], y[m], prec_name(w->prec));
    }
}

static void walk_compare_moments(walk *w, const char *op, const qdml_moments *x, const qdml_moments *y,
                                 const unsigned char *want) {
    for (int64_t m = 0; m < w->B; ++m) {
        const qdml_moments *p = x + m, *q = y + m;
        if (want && !want[m]) {
            /* Members not wanted: the values the CPU backend leaves (zeros, rmax -1, imax -1). */
            cr_assert(q->s0 == 0 && q->rmax == -1.0 && q->imax == -1 && q->finite == 1,
                      "%s: %s: unwanted member %lld: s0 %g rmax %g imax %lld finite %d", w->where, op, (long long)m,
                      q->s0, q->rmax, (long long)q->imax, q->finite);
            continue;
        }
        const double s0 = p->s0;
        cr_assert(near(p->s0, q->s0, w->tol, s0), "%s: %s m%lld s0 %.17g %.17g", w->where, op, (long long)m, p->s0,
                  q->s0);
        cr_assert(near(p->sv, q->sv, w->tol, s0 * w->vmax), "%s: %s m%lld sv %.17g %.17g", w->where, op, (long long)m,
                  p->sv, q->sv);
        cr_assert(near(p->st, q->st, w->tol, fabs(p->st)), "%s: %s m%lld st %.17g %.17g", w->where, op, (long long)m,
                  p->st, q->st);
        for (int d = 0; d < 3; ++d) {
            cr_assert(near(p->sx[d], q->sx[d], w->tol, s0 * w->xmax), "%s: %s m%lld sx[%d] %.17g %.17g", w->where, op,
                      (long long)m, d, p->sx[d], q->sx[d]);
            cr_assert(near(p->sxx[d], q->sxx[d], w->tol, s0 * w->xmax * w->xmax), "%s: %s m%lld sxx[%d] %.17g %.17g",
                      w->where, op, (long long)m, d, p->sxx[d], q->sxx[d]);
        }
        /* sres = ||T psi + (V - E) psi||^2 may be a small difference of large terms: its error is
         * relative to sqrt(sres) (||T psi|| + ||(V - E) psi||), bounded with the largest T and V. */
        const double e = p->s0 > 0 ? (p->st + p->sv) / p->s0 : 0.0;
        const double tmax = w->hbar[m] * w->hbar[m] / (2.0 * w->mass[m]) * w->k2max;
        const double hnorm = sqrt(s0) * (tmax + w->vmax + fabs(e));
        cr_assert(near(p->sres, q->sres, w->tol, fabs(p->sres) + sqrt(fabs(p->sres)) * hnorm),
                  "%s: %s m%lld sres %.17g %.17g (||H psi|| scale %.3g)", w->where, op, (long long)m, p->sres, q->sres,
                  hnorm);
        cr_assert_eq(p->finite, q->finite, "%s: %s m%lld finite %d %d", w->where, op, (long long)m, p->finite,
                     q->finite);
        cr_assert(near(p->rmax, q->rmax, w->tol, fabs(p->rmax)), "%s: %s m%lld rmax %.17g %.17g", w->where, op,
                  (long long)m, p->rmax, q->rmax);
        /* argmax: any index whose density equals rmax (ties may break differently). */
        cr_assert(q->imax >= 0 && q->imax < w->N, "%s: %s m%lld imax %lld out of range", w->where, op, (long long)m,
                  (long long)q->imax);
        cr_assert_eq(w->cpu->get_state(w->cs, m, w->a), QDML_OK);
        const double re = w->a[2 * q->imax], im = w->a[2 * q->imax + 1];
        cr_assert(near(re * re + im * im, p->rmax, w->tol, p->rmax),
                  "%s: %s m%lld: cuda argmax %lld has density %.17g, cpu max %.17g at %lld", w->where, op, (long long)m,
                  (long long)q->imax, re * re + im * im, p->rmax, (long long)p->imax);
    }
}

/* The float64 description of an n0 x n1 x n2 grid (boxes [-2.5, 2.5), [0.5, 3.5), [-4, 4); an axis
 * of one point is a padding axis: lower edge 0, length 1), B members, volume element dv. */
static qdml_backend_desc case_desc(int64_t n0, int64_t n1, int64_t n2, int64_t B, double dv) {
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    const int64_t n[3] = {n0, n1, n2};
    const double lo[3] = {-2.5, 0.5, -4.0}, len[3] = {5.0, 3.0, 8.0};
    for (int a = 0; a < 3; ++a) {
        d.n[a] = n[a];
        d.lo[a] = n[a] > 1 ? lo[a] : 0.0;
        d.length[a] = n[a] > 1 ? len[a] : 1.0;
    }
    d.npoints = n0 * n1 * n2;
    d.batch = B;
    d.dv = dv;
    d.nthreads = 1;
    d.effort = QDML_FFT_ESTIMATE;
    d.precision = QDML_FLOAT64;
    return d;
}

static void walk_case(qdml_precision prec, int64_t n0, int64_t n1, int64_t n2, int64_t B, uint64_t seed) {
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    qdml_backend_desc d = case_desc(n0, n1, n2, B, 1.0);
    walk w;
    memset(&w, 0, sizeof w);
    for (int a = 0; a < 3; ++a) {
        const double far = fmax(fabs(d.lo[a]), fabs(d.lo[a] + d.length[a]));
        if (far > w.xmax) w.xmax = far;
        const double kmax = 3.14159265358979323846 * (double)d.n[a] / d.length[a];
        if (d.n[a] > 1) w.k2max += kmax * kmax;
    }
    qdml_backend_desc dg = d;
    dg.precision = prec;
    w.cpu = &qdml_backend_cpu_ops;
    w.gpu = &qdml_backend_cuda_ops;
    w.prec = prec;
    w.N = d.npoints;
    w.B = B;
    w.tol = prec == QDML_FLOAT32 ? OP_TOL_F32 : OP_TOL_F64;
    snprintf(w.where, sizeof w.where, "%s %lldx%lldx%lld B=%lld", prec_name(prec), (long long)n0, (long long)n1,
             (long long)n2, (long long)B);
    char err[512] = "";
    cr_assert_eq(w.cpu->create(&d, &w.cs, err, sizeof err), QDML_OK, "cpu create: %s", err);
    cr_assert_eq(w.gpu->create(&dg, &w.gs, err, sizeof err), QDML_OK, "%s: cuda create: %s", w.where, err);
    const int64_t N = w.N;
    w.a = qt_calloc((size_t)(2 * N), sizeof(double));
    w.b = qt_calloc((size_t)(2 * N), sizeof(double));
    double *psi = qt_calloc((size_t)(2 * N), sizeof(double));
    double *v = qt_calloc((size_t)N, sizeof(double));
    double *v2 = qt_calloc((size_t)N, sizeof(double));
    double *hbar = qt_calloc((size_t)B, sizeof(double)), *mass = qt_calloc((size_t)B, sizeof(double));
    double *sc = qt_calloc((size_t)B, sizeof(double));
    double *r1 = qt_calloc((size_t)B, sizeof(double)), *r2 = qt_calloc((size_t)B, sizeof(double));
    unsigned char *mask = qt_calloc((size_t)B, 1), *want = qt_calloc((size_t)B, 1);
    qdml_moments *m1 = qt_calloc((size_t)B, sizeof(qdml_moments)), *m2 = qt_calloc((size_t)B, sizeof(qdml_moments));
    w.hbar = hbar;
    w.mass = mass;

    /* set_state / get_state, set_potential / get_potential: float64 exact; float32 exactly the
     * rounding to float (to nearest; 3e-201 becomes 0). */
    const int f32 = prec == QDML_FLOAT32;
    for (int64_t m = 0; m < B; ++m) {
        for (int64_t i = 0; i < 2 * N; ++i)
            psi[i] = 2.0 * qt_uniform(&rng) - 1.0;
        if (N > 4) psi[2] = 3e-201; /* a tiny amplitude for the flush */
        for (int64_t i = 0; i < N; ++i) {
            v[i] = 6.0 * qt_uniform(&rng) - 3.0;
            if (fabs(v[i]) > w.vmax) w.vmax = fabs(v[i]);
        }
        cr_assert_eq(w.gpu->set_state(w.gs, m, psi), QDML_OK, "%s: set_state: %s", w.where, w.gpu->last_error(w.gs));
        cr_assert_eq(w.gpu->set_potential(w.gs, m, v), QDML_OK, "%s: set_potential: %s", w.where,
                     w.gpu->last_error(w.gs));
        cr_assert_eq(w.gpu->get_state(w.gs, m, w.b), QDML_OK);
        cr_assert_eq(w.gpu->get_potential(w.gs, m, v2), QDML_OK);
        for (int64_t i = 0; i < 2 * N; ++i)
            cr_assert(w.b[i] == (f32 ? (double)(float)psi[i] : psi[i]),
                      "%s: state round trip m%lld [%lld]: %.17g -> %.17g", w.where, (long long)m, (long long)i, psi[i],
                      w.b[i]);
        for (int64_t i = 0; i < N; ++i)
            cr_assert(v2[i] == (f32 ? (double)(float)v[i] : v[i]),
                      "%s: potential round trip m%lld [%lld]: %.17g -> %.17g", w.where, (long long)m, (long long)i,
                      v[i], v2[i]);
        /* The CPU gets what the CUDA side holds. */
        cr_assert_eq(w.cpu->set_state(w.cs, m, w.b), QDML_OK);
        cr_assert_eq(w.cpu->set_potential(w.cs, m, v2), QDML_OK);
    }

    /* set_step: real and imaginary time, random hbar, m, dt, shifts, potential_only, flush. */
    for (int64_t m = 0; m < B; ++m) {
        qdml_step_params p;
        memset(&p, 0, sizeof p);
        p.imaginary = (int)(m % 2);
        p.dt = 0.01 + 0.1 * qt_uniform(&rng);
        p.hbar = hbar[m] = 0.5 + 2.0 * qt_uniform(&rng);
        p.mass = mass[m] = 0.3 + 2.0 * qt_uniform(&rng);
        p.vshift = p.imaginary ? -3.0 : 0.0;
        p.potential_only = m % 3 == 2;
        p.flush_tiny = p.imaginary && m % 4 == 1;
        cr_assert_eq(w.cpu->set_step(w.cs, m, &p), QDML_OK);
        cr_assert_eq(w.gpu->set_step(w.gs, m, &p), QDML_OK, "%s: set_step: %s", w.where, w.gpu->last_error(w.gs));
        mask[m] = (unsigned char)(qt_uniform(&rng) < 0.6);
        want[m] = (unsigned char)(qt_uniform(&rng) < 0.5);
        sc[m] = 0.5 + qt_uniform(&rng);
    }
    mask[0] = 1;

    /* kick: half / full, all / masked, with and without norms */
    cr_assert_eq(w.cpu->kick(w.cs, 0, NULL, NULL), QDML_OK);
    cr_assert_eq(w.gpu->kick(w.gs, 0, NULL, NULL), QDML_OK, "%s: kick: %s", w.where, w.gpu->last_error(w.gs));
    walk_compare_states(&w, "kick half");
    walk_sync(&w);
    cr_assert_eq(w.cpu->kick(w.cs, 1, mask, r1), QDML_OK);
    cr_assert_eq(w.gpu->kick(w.gs, 1, mask, r2), QDML_OK, "%s: kick: %s", w.where, w.gpu->last_error(w.gs));
    walk_compare_states(&w, "kick full masked norms");
    walk_compare_sums(&w, "kick norms", r1, r2, mask);
    for (int64_t m = 0; m < B; ++m)
        if (!mask[m])
            cr_assert_eq(r2[m], 0.0, "%s: kick norm of inactive member %lld is %g", w.where, (long long)m, r2[m]);
    walk_sync(&w);
    cr_assert_eq(w.cpu->kick(w.cs, 0, NULL, r1), QDML_OK);
    cr_assert_eq(w.gpu->kick(w.gs, 0, NULL, r2), QDML_OK);
    walk_compare_states(&w, "kick half norms");
    walk_compare_sums(&w, "kick half norms", r1, r2, NULL);
    walk_sync(&w);
    cr_assert_eq(w.cpu->kick(w.cs, 1, mask, NULL), QDML_OK);
    cr_assert_eq(w.gpu->kick(w.gs, 1, mask, NULL), QDML_OK);
    walk_compare_states(&w, "kick full masked");
    walk_sync(&w);

    /* fft forward, kinetic (scales, masks), fft backward */
    cr_assert_eq(w.cpu->fft(w.cs, 1), QDML_OK);
    cr_assert_eq(w.gpu->fft(w.gs, 1), QDML_OK, "%s: fft: %s", w.where, w.gpu->last_error(w.gs));
    walk_compare_states(&w, "fft forward");
    walk_sync(&w);
    cr_assert_eq(w.cpu->kinetic(w.cs, sc, mask), QDML_OK);
    cr_assert_eq(w.gpu->kinetic(w.gs, sc, mask), QDML_OK, "%s: kinetic: %s", w.where, w.gpu->last_error(w.gs));
    walk_compare_states(&w, "kinetic masked");
    walk_sync(&w);
    cr_assert_eq(w.cpu->kinetic(w.cs, sc, NULL), QDML_OK);
    cr_assert_eq(w.gpu->kinetic(w.gs, sc, NULL), QDML_OK);
    walk_compare_states(&w, "kinetic all");
    walk_sync(&w);
    cr_assert_eq(w.cpu->fft(w.cs, 0), QDML_OK);
    cr_assert_eq(w.gpu->fft(w.gs, 0), QDML_OK);
    walk_compare_states(&w, "fft backward");
    walk_sync(&w);

    /* scale */
    cr_assert_eq(w.cpu->scale(w.cs, sc, mask), QDML_OK);
    cr_assert_eq(w.gpu->scale(w.gs, sc, mask), QDML_OK, "%s: scale: %s", w.where, w.gpu->last_error(w.gs));
    walk_compare_states(&w, "scale masked");
    walk_sync(&w);
    cr_assert_eq(w.cpu->scale(w.cs, sc, NULL), QDML_OK);
    cr_assert_eq(w.gpu->scale(w.gs, sc, NULL), QDML_OK);
    walk_compare_states(&w, "scale all");
    walk_sync(&w);

    /* moments: all fields, all members and a subset */
    cr_assert_eq(w.cpu->moments(w.cs, hbar, mass, NULL, m1), QDML_OK);
    cr_assert_eq(w.gpu->moments(w.gs, hbar, mass, NULL, m2), QDML_OK, "%s: moments: %s", w.where,
                 w.gpu->last_error(w.gs));
    walk_compare_moments(&w, "moments", m1, m2, NULL);
    walk_compare_states(&w, "state after moments");
    cr_assert_eq(w.cpu->moments(w.cs, hbar, mass, want, m1), QDML_OK);
    cr_assert_eq(w.gpu->moments(w.gs, hbar, mass, want, m2), QDML_OK);
    walk_compare_moments(&w, "moments (want)", m1, m2, want);

    /* backup save, a kick, distance (masked and all), restore (masked), save masked + restore all */
    cr_assert_eq(w.cpu->backup(w.cs, 0, NULL), QDML_OK);
    cr_assert_eq(w.gpu->backup(w.gs, 0, NULL), QDML_OK, "%s: backup: %s", w.where, w.gpu->last_error(w.gs));
    cr_assert_eq(w.cpu->kick(w.cs, 1, NULL, NULL), QDML_OK);
    cr_assert_eq(w.gpu->kick(w.gs, 1, NULL, NULL), QDML_OK);
    walk_sync(&w);
    for (int64_t m = 0; m < B; ++m)
        r1[m] = r2[m] = -5.0;
    cr_assert_eq(w.cpu->distance(w.cs, mask, r1), QDML_OK);
    cr_assert_eq(w.gpu->distance(w.gs, mask, r2), QDML_OK, "%s: distance: %s", w.where, w.gpu->last_error(w.gs));
    walk_compare_sums(&w, "distance masked", r1, r2, mask);
    for (int64_t m = 0; m < B; ++m)
        if (!mask[m]) cr_assert_eq(r2[m], -5.0, "%s: distance wrote unmasked member %lld", w.where, (long long)m);
    cr_assert_eq(w.cpu->distance(w.cs, NULL, r1), QDML_OK);
    cr_assert_eq(w.gpu->distance(w.gs, NULL, r2), QDML_OK);
    walk_compare_sums(&w, "distance", r1, r2, NULL);
    cr_assert_eq(w.cpu->backup(w.cs, 1, mask), QDML_OK);
    cr_assert_eq(w.gpu->backup(w.gs, 1, mask), QDML_OK);
    walk_compare_states(&w, "restore masked");
    walk_sync(&w);
    cr_assert_eq(w.cpu->kick(w.cs, 1, NULL, NULL), QDML_OK);
    cr_assert_eq(w.gpu->kick(w.gs, 1, NULL, NULL), QDML_OK);
    walk_sync(&w);
    cr_assert_eq(w.cpu->backup(w.cs, 0, want), QDML_OK);
    cr_assert_eq(w.gpu->backup(w.gs, 0, want), QDML_OK);
    cr_assert_eq(w.cpu->backup(w.cs, 1, NULL), QDML_OK);
    cr_assert_eq(w.gpu->backup(w.gs, 1, NULL), QDML_OK);
    walk_compare_states(&w, "save masked, restore all");

    /* Gram matrix and triangular combination (lowest states) of the first `count` members. The
     * CUDA Gram matrix is a cuBLAS gemm in the state's precision: in float32 its sums of N terms
     * round with errors up to about sqrt(N) u relative to the largest entry. */
    for (int pass = 0; pass < 2; ++pass) {
        const int64_t count = pass == 0 ? B : 1;
        const size_t cc = (size_t)(count * count);
        double *g1 = qt_calloc(2 * cc, sizeof(double)), *g2 = qt_calloc(2 * cc, sizeof(double));
        double *tm = qt_calloc(2 * cc, sizeof(double));
        cr_assert_eq(w.cpu->gram(w.cs, count, g1), QDML_OK);
        cr_assert_eq(w.gpu->gram(w.gs, count, g2), QDML_OK, "%s: gram: %s", w.where, w.gpu->last_error(w.gs));
        double gmax = 0.0, gdiff = 0.0;
        for (size_t k = 0; k < 2 * cc; ++k) {
            gmax = fmax(gmax, fabs(g1[k]));
            gdiff = fmax(gdiff, fabs(g1[k] - g2[k]));
        }
        const double gtol = prec == QDML_FLOAT32 ? OP_TOL_F32 * sqrt((double)N) : OP_TOL_F64;
        cr_assert(gdiff <= gtol * gmax, "%s: gram (count %lld): difference %.3g of %.3g > %.1g", w.where,
                  (long long)count, gdiff, gmax, gtol);
        for (int64_t i = 0; i < count; ++i)
            for (int64_t j = 0; j < count; ++j) {
                /* Random upper triangle; the lower one must be ignored by both. */
                tm[2 * (i * count + j)] = i <= j ? qt_normal(&rng) : 1e300;
                tm[2 * (i * count + j) + 1] = i <= j ? qt_normal(&rng) : -1e300;
            }
        cr_assert_eq(w.cpu->combine(w.cs, count, tm), QDML_OK);
        cr_assert_eq(w.gpu->combine(w.gs, count, tm), QDML_OK, "%s: combine: %s", w.where, w.gpu->last_error(w.gs));
        walk_compare_states(&w, "combine");
        walk_sync(&w);
        free(g1);
        free(g2);
        free(tm);
    }

    /* A non-finite state: finite 0 on both, the same NaN index (the CPU keeps the last NaN). */
    for (int64_t i = 0; i < 2 * N; ++i)
        psi[i] = qt_uniform(&rng);
    psi[2 * (N / 2)] = NAN;
    cr_assert_eq(w.cpu->set_state(w.cs, 0, psi), QDML_OK);
    cr_assert_eq(w.gpu->set_state(w.gs, 0, psi), QDML_OK);
    cr_assert_eq(w.cpu->moments(w.cs, hbar, mass, NULL, m1), QDML_OK);
    cr_assert_eq(w.gpu->moments(w.gs, hbar, mass, NULL, m2), QDML_OK);
    cr_assert(m1[0].finite == 0 && m2[0].finite == 0, "%s: NaN state: finite cpu %d cuda %d", w.where, m1[0].finite,
              m2[0].finite);
    cr_assert(m2[0].imax == m1[0].imax && m2[0].rmax != m2[0].rmax, "%s: NaN argmax cpu %lld cuda %lld (%g)", w.where,
              (long long)m1[0].imax, (long long)m2[0].imax, m2[0].rmax);

    cr_assert_str_eq(w.gpu->last_error(w.gs), "", "%s: an op left a message: %s", w.where, w.gpu->last_error(w.gs));
    w.cpu->destroy(w.cs);
    w.gpu->destroy(w.gs);
    free(w.a);
    free(w.b);
    free(psi);
    free(v);
    free(v2);
    free(hbar);
    free(mass);
    free(sc);
    free(r1);
    free(r2);
    free(mask);
    free(want);
    free(m1);
    free(m2);
}

static void walk_all(qdml_precision prec) {
    static const int64_t shapes[][4] = {
        {1, 1, 1, 3}, {1, 1, 64, 3}, {1, 1, 1000, 2}, {1, 1, 4096, 1}, {1, 24, 20, 2},  {1, 33, 31, 3},   {6, 5, 7, 2},
        {8, 8, 8, 4}, {9, 1, 13, 2}, {1, 1, 2, 40},   {16, 16, 16, 1}, {1, 1, 300, 60}, {1, 128, 128, 2}, {3, 1, 1, 7},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; ++k)
        walk_case(prec, shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3], 1000 + k);
}

/* fill_objective: every kind on every grid dimension the shape allows (a shape with n0 = 1 is also a
 * 2D grid, and so on), with the defaults and with every parameter moved by up to 5%, against the
 * CPU backend: values within tol of the largest |V| (the GPU's exp, cos, ... and its fused
 * multiply-adds differ from the host's in the last bits; float32 rounds each value once), min and
 * max likewise, no bad index. Then a harmonic stiffness of 1e308 (float64) or 1e39 (float32) on the
 * last axis, centred on its lower edge, which overflows the storage type from some point of each
 * row on: the same first bad index as the CPU's values give, and the member's potential kept. */
static void fill_case(qdml_precision prec, int64_t n0, int64_t n1, int64_t n2, int64_t B, uint64_t seed) {
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    const int64_t n[3] = {n0, n1, n2};
    const double lo[3] = {-2.5, 0.5, -4.0}, len[3] = {5.0, 3.0, 8.0};
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    for (int a = 0; a < 3; ++a) {
        d.n[a] = n[a];
        d.lo[a] = lo[a];
        d.length[a] = len[a];
    }
    d.npoints = n0 * n1 * n2;
    d.batch = B;
    d.dv = 1.0;
    d.nthreads = 1;
    d.effort = QDML_FFT_ESTIMATE;
    d.precision = QDML_FLOAT64;
    qdml_backend_desc dg = d;
    dg.precision = prec;
    const qdml_backend_ops *cpu = &qdml_backend_cpu_ops, *gpu = &qdml_backend_cuda_ops;
    qdml_backend_state *cs = NULL, *gs = NULL;
    char err[512] = "";
    cr_assert_eq(cpu->create(&d, &cs, err, sizeof err), QDML_OK, "cpu create: %s", err);
    cr_assert_eq(gpu->create(&dg, &gs, err, sizeof err), QDML_OK, "cuda create: %s", err);
    const int64_t N = d.npoints;
    const int f32 = prec == QDML_FLOAT32;
    const double tol = f32 ? OP_TOL_F32 : OP_TOL_F64;
    double *a = qt_calloc((size_t)N, sizeof(double)), *b = qt_calloc((size_t)N, sizeof(double));
    double *keep = qt_calloc((size_t)N, sizeof(double));
    const int dim_min = n0 > 1 ? 3 : n1 > 1 ? 2 : 1;
    for (int dim = dim_min; dim <= 3; ++dim)
        for (int kind = 0; kind < QDML_OBJECTIVE_COUNT; ++kind)
            for (int pass = 0; pass < 2; ++pass) {
                qdml_objective o;
                if (qdml_objective_default((qdml_objective_kind)kind, dim, &o) != QDML_OK) continue;
                if (pass == 1)
                    for (int k = 0; k < QDML_OBJECTIVE_MAX_PARAMS; ++k)
                        o.p[k] *= 1.0 + 0.1 * (qt_uniform(&rng) - 0.5);
                if (qdml_objective_validate(&o, dim) != QDML_OK) continue;
                const char *name = qdml_objective_name((qdml_objective_kind)kind);
                const int64_t m = (int64_t)(qt_uniform(&rng) * (double)B);
                qdml_fill_result r1, r2;
                cr_assert_eq(cpu->fill_objective(cs, m, &o, dim, &r1), QDML_OK);
                cr_assert_eq(gpu->fill_objective(gs, m, &o, dim, &r2), QDML_OK, "%s %dD: fill_objective: %s", name, dim,
                             gpu->last_error(gs));
                cr_assert_eq(cpu->get_potential(cs, m, a), QDML_OK);
                cr_assert_eq(gpu->get_potential(gs, m, b), QDML_OK);
                double scale = 0.0, diff = 0.0;
                for (int64_t i = 0; i < N; ++i) {
                    scale = fmax(scale, fabs(a[i]));
                    diff = fmax(diff, fabs(a[i] - b[i]));
                }
                cr_assert(diff <= tol * scale, "%s %s %dD (%lldx%lldx%lld): values differ by %.3g of %.3g > %.1g",
                          prec_name(prec), name, dim, (long long)n0, (long long)n1, (long long)n2, diff, scale, tol);
                cr_assert(fabs(r1.vmin - r2.vmin) <= tol * scale && fabs(r1.vmax - r2.vmax) <= tol * scale,
                          "%s %s %dD: min/max cpu (%.17g, %.17g) cuda (%.17g, %.17g)", prec_name(prec), name, dim,
                          r1.vmin, r1.vmax, r2.vmin, r2.vmax);
                cr_assert(r1.first_bad == -1 && r2.first_bad == -1, "%s %s %dD: bad index cpu %lld cuda %lld",
                          prec_name(prec), name, dim, (long long)r1.first_bad, (long long)r2.first_bad);
            }
    for (int dim = dim_min; dim <= 3; ++dim) {
        qdml_objective o;
        cr_assert_eq(qdml_objective_default(QDML_OBJECTIVE_HARMONIC, dim, &o), QDML_OK);
        o.p[dim - 1] = f32 ? 1e39 : 1e308;
        o.p[3 + dim - 1] = lo[2];
        const int64_t m = B - 1;
        cr_assert_eq(gpu->get_potential(gs, m, keep), QDML_OK);
        qdml_fill_result r1, r2;
        cr_assert_eq(cpu->fill_objective(cs, m, &o, dim, &r1), QDML_OK);
        cr_assert_eq(gpu->fill_objective(gs, m, &o, dim, &r2), QDML_OK, "overflow: %s", gpu->last_error(gs));
        int64_t want = r1.first_bad;
        if (want < 0) { /* float32: the CPU's double values that do not fit a float */
            cr_assert_eq(cpu->get_potential(cs, m, a), QDML_OK);
            for (int64_t i = 0; i < N && want < 0; ++i)
                if (!isfinite(f32 ? (double)(float)a[i] : a[i])) want = i;
        }
        cr_assert_eq(r2.first_bad, want, "%s overflow %dD: first bad cuda %lld, cpu %lld", prec_name(prec), dim,
                     (long long)r2.first_bad, (long long)want);
        cr_assert(n2 < 2 || want > 0, "overflow %dD: no overflow inside the first row (%lld)", dim, (long long)want);
        cr_assert_eq(gpu->get_potential(gs, m, b), QDML_OK);
        cr_assert(memcmp(keep, b, (size_t)N * sizeof(double)) == 0, "%s overflow %dD: the refused fill changed V",
                  prec_name(prec), dim);
    }
    cr_assert_str_eq(gpu->last_error(gs), "", "fill_objective left a message: %s", gpu->last_error(gs));
    cpu->destroy(cs);
    gpu->destroy(gs);
    free(a);
    free(b);
    free(keep);
}

static void fill_all(qdml_precision prec) {
    static const int64_t shapes[][4] = {{1, 1, 1, 2}, {1, 1, 1000, 2}, {1, 24, 20, 3},
                                        {6, 5, 7, 2}, {9, 1, 13, 2},   {1, 128, 128, 1}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; ++k)
        fill_case(prec, shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3], 2000 + k);
}

/* The steps op's n steps issued as single ops, scales on the host as the solver computes them
 * (host/solver.c, advance, m = 1) and stop as backend.h defines it; unlike the solver it goes on
 * past a bad norm (members never mix), so every member's state can be compared. */
static void single_op_steps(const qdml_backend_ops *o, qdml_backend_state *st, int64_t B, int64_t n,
                            const unsigned char *mask, int renorm, double dv, int64_t *stop) {
    double *norms = qt_calloc((size_t)B, sizeof(double)), *sc = qt_calloc((size_t)B, sizeof(double));
    for (int64_t b = 0; b < B; ++b) {
        sc[b] = 1.0;
        stop[b] = -1;
    }
    for (int64_t i = 0; i <= n; ++i) {
        if (i > 0) {
            cr_assert_eq(o->fft(st, 1), QDML_OK, "%s fft: %s", o->name, o->last_error(st));
            cr_assert_eq(o->kinetic(st, sc, mask), QDML_OK, "%s kinetic: %s", o->name, o->last_error(st));
            cr_assert_eq(o->fft(st, 0), QDML_OK, "%s fft: %s", o->name, o->last_error(st));
        }
        const int full = i > 0 && i < n;
        cr_assert_eq(o->kick(st, full, mask, renorm ? norms : NULL), QDML_OK, "%s kick: %s", o->name,
                     o->last_error(st));
        for (int64_t b = 0; renorm && b < B; ++b) {
            if (mask && !mask[b]) continue;
            if (!(isfinite(norms[b]) && norms[b] > 0) && stop[b] < 0) stop[b] = i;
            sc[b] = 1.0 / sqrt(norms[b] * dv);
        }
    }
    if (renorm) cr_assert_eq(o->scale(st, sc, mask), QDML_OK, "%s scale: %s", o->name, o->last_error(st));
    free(norms);
    free(sc);
}

/* Members of steps_case with a bad norm after the second substep, in float64 (at least one must
 * occur, or the substep count of replayed steps goes untested). */
static int late_stops;

/* The steps op on a device, with CUDA graphs required (QDML_CUDA_GRAPHS=1: a step that cannot be
 * captured fails the op) and without them (0), against the same steps as single ops on the device:
 * states bit for bit (the same kernels, and scales that are the same correctly rounded expression of
 * the same sums) and the same stops; in float64 also against the CPU backend's single ops, within
 * 1e-12 of each member's largest amplitude, for members whose state stays finite. Imaginary time
 * with random steps, masks and flush flags. Member 1 starts at zero (stop 0 with renormalisation).
 * With renormalisation, member 2 has a negative step whose kinetic factor overflows (stop 1 where
 * the grid's wavenumbers are large enough), and member 3 (potential only) a factor of e^360 at one
 * point whose start value is 1e-300: renormalised, that point grows by e^360 relative to the rest
 * each step until its norm overflows, two or three substeps in, on a step replayed from a graph
 * when n >= 4 (float64; in float32 the factor itself overflows: stop 0). The second call changes the
 * mask, dv and the flush flags, so other graphs are captured. A composition (m = 3) is declined:
 * done = 0 and the state untouched. */
static void steps_case(qdml_precision prec, int64_t n0, int64_t n1, int64_t n2, int64_t B, int64_t nsteps, int renorm,
                       uint64_t seed) {
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    qdml_backend_desc d = case_desc(n0, n1, n2, B, 0.37);
    qdml_backend_desc dg = d;
    dg.precision = prec;
    const qdml_backend_ops *cpu = &qdml_backend_cpu_ops, *gpu = &qdml_backend_cuda_ops;
    char where[128], err[512] = "";
    snprintf(where, sizeof where, "%s %lldx%lldx%lld B=%lld n=%lld renorm=%d", prec_name(prec), (long long)n0,
             (long long)n1, (long long)n2, (long long)B, (long long)nsteps, renorm);
    qdml_backend_state *cs = NULL, *gs[3] = {NULL, NULL, NULL}; /* steps op with graphs, without, single ops */
    cr_assert_eq(cpu->create(&d, &cs, err, sizeof err), QDML_OK, "cpu create: %s", err);
    for (int k = 0; k < 3; ++k) {
        if (k < 2) cr_assert_eq(setenv("QDML_CUDA_GRAPHS", k == 0 ? "1" : "0", 1), 0);
        cr_assert_eq(gpu->create(&dg, &gs[k], err, sizeof err), QDML_OK, "%s: cuda create: %s", where, err);
        cr_assert_eq(unsetenv("QDML_CUDA_GRAPHS"), 0);
    }
    const int64_t N = d.npoints;
    double *psi = qt_calloc((size_t)(2 * N), sizeof(double)), *v = qt_calloc((size_t)N, sizeof(double));
    double *a = qt_calloc((size_t)(2 * N), sizeof(double)), *c = qt_calloc((size_t)(2 * N), sizeof(double));
    int64_t *stop[4];
    for (int k = 0; k < 4; ++k)
        stop[k] = qt_calloc((size_t)B, sizeof(int64_t));
    unsigned char *mask = qt_calloc((size_t)B, 1);
    qdml_step_params *pp = qt_calloc((size_t)B, sizeof(qdml_step_params));
    for (int64_t b = 0; b < B; ++b) {
        const int overflow = renorm && b == 2, grows = renorm && b == 3;
        for (int64_t i = 0; i < 2 * N; ++i)
            psi[i] = b == 1 ? 0.0 : grows ? (i % 2 ? 0.0 : 1.0) : 2.0 * qt_uniform(&rng) - 1.0;
        for (int64_t i = 0; i < N; ++i)
            v[i] = grows ? 0.0 : 6.0 * qt_uniform(&rng) - 3.0;
        if (grows) {
            psi[2 * (N / 2)] = 1e-300;
            v[N / 2] = -360.0;
        }
        qdml_step_params *p = &pp[b];
        p->imaginary = 1;
        p->dt = overflow ? -50.0 : grows ? 1.0 : 0.01 + 0.1 * qt_uniform(&rng);
        p->hbar = grows ? 1.0 : 0.5 + 2.0 * qt_uniform(&rng); /* grows: factors e^180 (half), e^360 */
        p->mass = 0.3 + 2.0 * qt_uniform(&rng);
        p->vshift = overflow ? 3.0 : grows ? 0.0 : -3.0; /* dt < 0: potential factors <= 1 */
        p->potential_only = grows;
        p->flush_tiny = b % 4 == 1;
        for (int k = 0; k < 3; ++k) {
            cr_assert_eq(gpu->set_state(gs[k], b, psi), QDML_OK, "%s: %s", where, gpu->last_error(gs[k]));
            cr_assert_eq(gpu->set_potential(gs[k], b, v), QDML_OK, "%s: %s", where, gpu->last_error(gs[k]));
            cr_assert_eq(gpu->set_step(gs[k], b, p), QDML_OK, "%s: %s", where, gpu->last_error(gs[k]));
        }
        /* the CPU gets what the device holds */
        cr_assert_eq(gpu->get_state(gs[0], b, a), QDML_OK);
        cr_assert_eq(gpu->get_potential(gs[0], b, v), QDML_OK);
        cr_assert_eq(cpu->set_state(cs, b, a), QDML_OK);
        cr_assert_eq(cpu->set_potential(cs, b, v), QDML_OK);
        cr_assert_eq(cpu->set_step(cs, b, p), QDML_OK);
        mask[b] = (unsigned char)(b < 4 || qt_uniform(&rng) < 0.6);
    }
    const unsigned char *m = B > 4 ? mask : NULL;
    const unsigned char sub1[1] = {0}, sub3[3] = {0, 1, 0};
    double dv = d.dv;
    for (int call = 0; call < 2; ++call) {
        if (call == 1) { /* other graphs: another mask, dv, and no member flushing */
            if (B > 4) mask[B - 1] = (unsigned char)!mask[B - 1];
            dv = 0.41;
            for (int64_t b = 0; b < B; ++b) {
                pp[b].flush_tiny = 0;
                for (int k = 0; k < 3; ++k)
                    cr_assert_eq(gpu->set_step(gs[k], b, &pp[b]), QDML_OK, "%s: %s", where, gpu->last_error(gs[k]));
                cr_assert_eq(cpu->set_step(cs, b, &pp[b]), QDML_OK);
            }
        }
        for (int k = 0; k < 2; ++k) {
            int done = -1;
            cr_assert_eq(gpu->steps(gs[k], nsteps, 1, sub1, m, renorm, dv, stop[k], &done), QDML_OK, "%s: steps: %s",
                         where, gpu->last_error(gs[k]));
            cr_assert_eq(done, 1, "%s: the steps op declined a Strang step", where);
        }
        single_op_steps(gpu, gs[2], B, nsteps, m, renorm, dv, stop[2]);
        single_op_steps(cpu, cs, B, nsteps, m, renorm, dv, stop[3]);
        for (int64_t b = 0; b < B; ++b) {
            const int on = !m || m[b];
            for (int k = 0; k < 4; ++k) {
                if (k == 3 && prec == QDML_FLOAT32) continue; /* float overflows earlier than double */
                cr_assert_eq(stop[k][b], stop[2][b],
                             "%s call %d: member %lld: stop %lld (%s) against %lld (single ops)", where, call,
                             (long long)b, (long long)stop[k][b],
                             k == 0 ? "steps" : k == 1 ? "steps, no graphs" : "cpu", (long long)stop[2][b]);
            }
            if (renorm && b == 1 && on)
                cr_assert_eq(stop[0][b], 0, "%s: the zero member's stop is %lld", where, (long long)stop[0][b]);
            if (prec == QDML_FLOAT64 && stop[0][b] >= 2) ++late_stops;
            cr_assert_eq(gpu->get_state(gs[2], b, c), QDML_OK);
            for (int k = 0; k < 2; ++k) {
                cr_assert_eq(gpu->get_state(gs[k], b, a), QDML_OK);
                for (int64_t i = 0; i < 2 * N; ++i)
                    cr_assert(a[i] == c[i] || (a[i] != a[i] && c[i] != c[i]),
                              "%s call %d: member %lld value %lld: steps op%s %.17g, single ops %.17g", where, call,
                              (long long)b, (long long)i, k ? " without graphs" : "", a[i], c[i]);
            }
            int finite = 1;
            for (int64_t i = 0; i < 2 * N; ++i)
                finite = finite && isfinite(c[i]);
            if (prec == QDML_FLOAT32 || stop[2][b] >= 0 || !finite) continue;
            cr_assert_eq(cpu->get_state(cs, b, a), QDML_OK);
            const double diff = rel_diff(a, c, 2 * N);
            cr_assert(diff <= OP_TOL_F64, "%s call %d: member %lld: cpu and cuda differ by %.3g", where, call,
                      (long long)b, diff);
        }
    }
    /* A composition: declined, nothing done. */
    int done = -1;
    cr_assert_eq(gpu->get_state(gs[0], 0, c), QDML_OK);
    cr_assert_eq(gpu->steps(gs[0], nsteps, 3, sub3, m, renorm, dv, stop[0], &done), QDML_OK);
    cr_assert_eq(done, 0, "%s: the steps op took a composition with one table set", where);
    cr_assert_eq(gpu->get_state(gs[0], 0, a), QDML_OK);
    cr_assert(memcmp(a, c, (size_t)(2 * N) * sizeof(double)) == 0, "%s: a declined call changed the state", where);
    cr_assert_str_eq(gpu->last_error(gs[0]), "", "%s: an op left a message: %s", where, gpu->last_error(gs[0]));
    cpu->destroy(cs);
    for (int k = 0; k < 3; ++k)
        gpu->destroy(gs[k]);
    for (int k = 0; k < 4; ++k)
        free(stop[k]);
    free(psi);
    free(v);
    free(a);
    free(c);
    free(mask);
    free(pp);
}

static void steps_all(qdml_precision prec) {
    static const int64_t shapes[][4] = {{1, 1, 1, 2}, {1, 1, 64, 4}, {1, 24, 20, 5}, {8, 8, 8, 4}, {1, 128, 128, 6}};
    static const int64_t counts[] = {1, 2, 7};
    uint64_t seed = 3000;
    late_stops = 0;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; ++k)
        for (size_t j = 0; j < sizeof counts / sizeof counts[0]; ++j)
            for (int renorm = 0; renorm < 2; ++renorm)
                steps_case(prec, shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3], counts[j], renorm, seed++);
    if (prec == QDML_FLOAT64)
        cr_assert(late_stops > 0, "no member met a bad norm after its second substep: the substep count of replayed "
                                  "steps went untested");
}
#endif /* QDML_TEST_HAVE_CUDA_BACKEND */

static void require_op_walk(void) {
    REQUIRE_CUDA_DEVICE();
#ifndef QDML_TEST_HAVE_CUDA_BACKEND
    cr_skip_test("%s", "the op walk needs the CUDA ops table: this test build does not define "
                       "QDML_TEST_HAVE_CUDA_BACKEND (tests/CMakeLists.txt sets it when the CUDA backend is built)");
#endif
}

Test(cuda_ops, every_op_float64_within_1e_12) {
    require_op_walk();
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    walk_all(QDML_FLOAT64);
#endif
}

Test(cuda_ops, every_op_float32_within_1e_5) {
    require_op_walk();
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    walk_all(QDML_FLOAT32);
#endif
}

Test(cuda_ops, fill_objective_float64_within_1e_12) {
    require_op_walk();
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    fill_all(QDML_FLOAT64);
#endif
}

Test(cuda_ops, fill_objective_float32_within_1e_5) {
    require_op_walk();
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    fill_all(QDML_FLOAT32);
#endif
}

Test(cuda_ops, steps_op_float64_matches_the_single_ops) {
    require_op_walk();
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    steps_all(QDML_FLOAT64);
#endif
}

Test(cuda_ops, steps_op_float32_matches_the_single_ops) {
    require_op_walk();
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    steps_all(QDML_FLOAT32);
#endif
}

/* A value of QDML_CUDA_GRAPHS other than 0 or 1 is refused at create, with the variable named. */
Test(cuda_ops, graphs_setting_is_checked) {
    require_op_walk();
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    d.n[0] = d.n[1] = 1;
    d.n[2] = 16;
    d.length[0] = d.length[1] = 1.0;
    d.length[2] = 4.0;
    d.npoints = 16;
    d.batch = 1;
    d.dv = 0.25;
    d.nthreads = 1;
    d.effort = QDML_FFT_ESTIMATE;
    char err[512] = "";
    qdml_backend_state *gs = NULL;
    cr_assert_eq(setenv("QDML_CUDA_GRAPHS", "yes", 1), 0);
    const qdml_status st = qdml_backend_cuda_ops.create(&d, &gs, err, sizeof err);
    cr_assert_eq(st, QDML_ERR_INVALID_ARGUMENT, "create with QDML_CUDA_GRAPHS=yes: %d (%s)", (int)st, err);
    cr_assert(strstr(err, "QDML_CUDA_GRAPHS") && strstr(err, "'yes'"), "message: %s", err);
    cr_assert_eq(setenv("QDML_CUDA_GRAPHS", "1", 1), 0);
    cr_assert_eq(qdml_backend_cuda_ops.create(&d, &gs, err, sizeof err), QDML_OK, "%s", err);
    qdml_backend_cuda_ops.destroy(gs);
#endif
}

/* Runs without a device where the CUDA backend is compiled in: the sizes it reports, and a clean
 * refusal to create. */
/* cuBLAS is loaded on first use (the lowest-states search), not linked: the loader must find the
 * library and every function it needs. Needs no device. */
Test(cuda_ops, cublas_is_loaded_on_first_use) {
#ifndef QDML_TEST_HAVE_CUDA_BACKEND
    cr_skip_test("this build has no CUDA backend");
#else
    char err[1024];
    cr_assert_eq(qdml_cuda_blas_load(err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(err, "");
    cr_assert_eq(qdml_cuda_blas_load(NULL, 0), 0, "a second call gives the first outcome");
#endif
}

Test(cuda_ops, bytes_needed_without_a_device_and_create_refuses) {
#ifndef QDML_TEST_HAVE_CUDA_BACKEND
    cr_skip_test("%s", "the CUDA backend is not part of this test build (QDML_TEST_HAVE_CUDA_BACKEND undefined)");
#else
    if (qdml_backend_available(QDML_BACKEND_CUDA))
        cr_skip_test("%s", "a CUDA device is present: cuda_memory covers the sizes on the device");
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    d.n[0] = 1;
    d.n[1] = 64;
    d.n[2] = 96;
    d.lo[1] = d.lo[2] = -1.0;
    d.length[0] = 1.0;
    d.length[1] = d.length[2] = 2.0;
    d.npoints = 64 * 96;
    d.batch = 5;
    d.dv = 1.0;
    d.nthreads = 1;
    d.effort = QDML_FFT_ESTIMATE;
    size_t b64 = 0, b32 = 0;
    d.precision = QDML_FLOAT64;
    cr_assert_eq(qdml_backend_cuda_ops.bytes_needed(&d, &b64), QDML_OK);
    d.precision = QDML_FLOAT32;
    cr_assert_eq(qdml_backend_cuda_ops.bytes_needed(&d, &b32), QDML_OK);
    const size_t total = (size_t)(d.npoints * d.batch);
    /* float64: 5 complex buffers + V + the estimated cuFFT work area (one complex buffer) = 104 bytes
     * per point; float32 half of it: 52. The tables and scratch are small. */
    cr_assert(b64 >= 104 * total && b64 < 104 * total + (1u << 20), "float64 bytes %zu for %zu points", b64, total);
    cr_assert(b32 >= 52 * total && b32 < 52 * total + (1u << 20), "float32 bytes %zu for %zu points", b32, total);
    cr_assert(b64 - b32 >= 52 * total, "float64 %zu - float32 %zu < 52 x %zu", b64, b32, total);
    d.precision = (qdml_precision)7;
    cr_assert_eq(qdml_backend_cuda_ops.bytes_needed(&d, &b32), QDML_ERR_INVALID_ARGUMENT);
    d.precision = QDML_FLOAT32;
    qdml_backend_state *s = NULL;
    char err[512] = "";
    cr_assert_eq(qdml_backend_cuda_ops.create(&d, &s, err, sizeof err), QDML_ERR_UNAVAILABLE);
    cr_assert_null(s);
    cr_assert(strstr(err, "no CUDA device") != NULL, "create without a device: \"%s\"", err);
#endif
}

/* ==============================================================================================
 * (b) whole runs through the public API
 * ============================================================================================ */

typedef struct run_spec {
    const char *name;
    int dim;
    int64_t n[3];
    double lo[3], hi[3];
    int64_t batch;
    void (*setup)(qdml_problem *p); /* potentials, states, hbar, mass */
    int ground;                     /* 1: qdml_problem_ground; 0: qdml_problem_evolve */
    double tol64, tol32;            /* ground-state tolerances per precision */
    qdml_evolve_options eo;
} run_spec;

typedef struct run_out {
    double *psi; /* batch x 2N */
    qdml_run_result *res;
    int64_t N, B;
} run_out;

static run_out run_on(qdml_backend backend, qdml_precision prec, const run_spec *rs) {
    qdml_context *ctx = make_ctx(backend, prec);
    qdml_grid g = qt_grid(rs->dim, rs->n, rs->lo, rs->hi);
    qdml_problem *p = qt_problem(ctx, &g, rs->batch);
    cr_assert_eq(qdml_problem_precision(p), prec);
    rs->setup(p);
    run_out o;
    o.N = qdml_problem_points(p);
    o.B = rs->batch;
    o.res = qt_calloc((size_t)o.B, sizeof(qdml_run_result));
    o.psi = qt_calloc((size_t)(2 * o.N * o.B), sizeof(double));
    qdml_status st;
    if (rs->ground) {
        qdml_ground_options go;
        qdml_ground_options_default(&go);
        go.tolerance = prec == QDML_FLOAT32 ? rs->tol32 : rs->tol64;
        go.max_steps = 50000;
        st = qdml_problem_ground(p, &go, o.res);
    } else {
        st = qdml_problem_evolve(p, &rs->eo, o.res);
    }
    cr_assert_eq(st, QDML_OK, "%s on %s/%s: %s", rs->name, qdml_backend_name(backend), prec_name(prec),
                 qdml_context_last_error(ctx));
    for (int64_t b = 0; b < o.B; ++b)
        cr_assert_eq(qdml_problem_get_state(p, b, o.psi + 2 * o.N * b), QDML_OK);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
    return o;
}

static void run_free(run_out *o) {
    free(o->psi);
    free(o->res);
}

/* Both backends, one precision on CUDA; states and energies within the bounds. */
static void compare_runs(const run_spec *rs, qdml_precision prec, double state_tol, double energy_tol) {
    run_out c = run_on(QDML_BACKEND_CPU, QDML_FLOAT64, rs);
    run_out g = run_on(QDML_BACKEND_CUDA, prec, rs);
    for (int64_t b = 0; b < c.B; ++b) {
        const qdml_stats *x = &c.res[b].final, *y = &g.res[b].final;
        if (rs->ground) {
            cr_assert(c.res[b].converged && g.res[b].converged,
                      "%s m%lld (%s): converged cpu %d (residual %.3g) cuda %d (residual %.3g, tolerance %g)", rs->name,
                      (long long)b, prec_name(prec), c.res[b].converged, x->residual, g.res[b].converged, y->residual,
                      prec == QDML_FLOAT32 ? rs->tol32 : rs->tol64);
            if (prec == QDML_FLOAT64)
                cr_assert_eq(c.res[b].steps, g.res[b].steps,
                             "%s m%lld: the step schedules differ (cpu %lld steps, cuda %lld): a decision flipped",
                             rs->name, (long long)b, (long long)c.res[b].steps, (long long)g.res[b].steps);
        } else {
            cr_assert_eq(c.res[b].steps, g.res[b].steps);
        }
        const double ds = rel_diff(c.psi + 2 * c.N * b, g.psi + 2 * c.N * b, 2 * c.N);
        const double escale = fmax(fabs(x->energy), x->kinetic);
        const double de = fabs(x->energy - y->energy) / escale;
        cr_log_info("%s m%lld %s: state %.3g (bound %.3g), energy %.3g (bound %.3g), steps cpu %lld cuda %lld",
                    rs->name, (long long)b, prec_name(prec), ds, state_tol, de, energy_tol, (long long)c.res[b].steps,
                    (long long)g.res[b].steps);
        cr_assert(ds <= state_tol, "%s m%lld (%s): states differ by %.3g of the largest amplitude (bound %.3g)",
                  rs->name, (long long)b, prec_name(prec), ds, state_tol);
        cr_assert(de <= energy_tol, "%s m%lld (%s): energy cpu %.15g cuda %.15g (relative %.3g, bound %.3g)", rs->name,
                  (long long)b, prec_name(prec), x->energy, y->energy, de, energy_tol);
        /* The norm is quadratic in the state: twice its relative error. Moments relative to the box. */
        cr_assert(near(x->norm, y->norm, 2.0 * state_tol, fabs(x->norm)), "%s m%lld: norm cpu %.15g cuda %.15g",
                  rs->name, (long long)b, x->norm, y->norm);
        for (int d = 0; d < rs->dim; ++d) {
            const double box = rs->hi[d] - rs->lo[d];
            cr_assert(near(x->mean[d], y->mean[d], state_tol, box), "%s m%lld: <x_%d> cpu %.15g cuda %.15g", rs->name,
                      (long long)b, d, x->mean[d], y->mean[d]);
            cr_assert(near(x->width[d], y->width[d], state_tol, box), "%s m%lld: width_%d cpu %.15g cuda %.15g",
                      rs->name, (long long)b, d, x->width[d], y->width[d]);
        }
    }
    run_free(&c);
    run_free(&g);
}

static double v_harmonic(const double *x, int dim, void *user) {
    (void)user;
    static const double w2[3] = {1.0, 4.0, 2.25};
    double v = 0.0;
    for (int d = 0; d < dim; ++d)
        v += 0.5 * w2[d] * x[d] * x[d];
    return v;
}
static double v_double_well(const double *x, int dim, void *user) {
    (void)user;
    double v = 0.25 * (x[0] * x[0] - 2.0) * (x[0] * x[0] - 2.0) + 0.2 * x[0];
    for (int d = 1; d < dim; ++d)
        v += 0.5 * x[d] * x[d];
    return v;
}
static double v_sech(const double *x, int dim, void *user) {
    (void)user;
    (void)dim;
    const double c = cosh(x[0]);
    return -3.0 / (c * c);
}
static double v_weak_harmonic(const double *x, int dim, void *user) {
    (void)user;
    double v = 0.0;
    for (int d = 0; d < dim; ++d)
        v += 0.02 * x[d] * x[d];
    return v;
}

static void setup_harmonic(qdml_problem *p) { qt_set_potential_fn(p, QDML_ALL_MEMBERS, v_harmonic, NULL); }

static void setup_batch3(qdml_problem *p) {
    qt_set_potential_fn(p, 0, v_harmonic, NULL);
    qt_set_potential_fn(p, 1, v_double_well, NULL);
    qt_set_potential_fn(p, 2, v_sech, NULL);
    cr_assert_eq(qdml_problem_set_hbar(p, 1, 0.7), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, 2, 2.0), QDML_OK);
}

static void setup_packet(qdml_problem *p) {
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, v_weak_harmonic, NULL);
    const double c[3] = {-4.0, 1.0, 0.5}, s[3] = {1.0, 0.8, 0.9}, k[3] = {2.0, -1.5, 1.0};
    cr_assert_eq(qdml_problem_set_state_gaussian(p, QDML_ALL_MEMBERS, c, s, k), QDML_OK);
}

static void setup_imag(qdml_problem *p) {
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, v_double_well, NULL);
    const double c[3] = {1.0, 0.3, 0.0}, s[3] = {0.7, 1.2, 1.0};
    cr_assert_eq(qdml_problem_set_state_gaussian(p, QDML_ALL_MEMBERS, c, s, NULL), QDML_OK);
}

static run_spec spec_ground(const char *name, int dim, int64_t n, double half, int64_t batch,
                            void (*setup)(qdml_problem *), double tol32) {
    run_spec r;
    memset(&r, 0, sizeof r);
    r.name = name;
    r.dim = dim;
    for (int d = 0; d < dim; ++d) {
        r.n[d] = n;
        r.lo[d] = -half;
        r.hi[d] = half;
    }
    r.batch = batch;
    r.setup = setup;
    r.ground = 1;
    r.tol64 = 1e-8;
    r.tol32 = tol32;
    return r;
}

static run_spec spec_evolve(const char *name, int dim, int64_t n, double half, void (*setup)(qdml_problem *),
                            qdml_time_mode mode, double dt, int64_t steps, int renormalize) {
    run_spec r;
    memset(&r, 0, sizeof r);
    r.name = name;
    r.dim = dim;
    for (int d = 0; d < dim; ++d) {
        r.n[d] = n;
        r.lo[d] = -half;
        r.hi[d] = half;
    }
    r.batch = 1;
    r.setup = setup;
    qdml_evolve_options_default(&r.eo);
    r.eo.mode = mode;
    r.eo.dt = dt;
    r.eo.steps = steps;
    r.eo.monitor_every = steps / 8 > 0 ? steps / 8 : 1;
    r.eo.renormalize = renormalize;
    return r;
}

/* float32 ground-state tolerance: above the float32 residual floor (see the top). */
#define GROUND_F32_TOL 1e-4
static run_spec ground_1d(void) {
    return spec_ground("ground 1D harmonic", 1, 128, 8.0, 1, setup_harmonic, GROUND_F32_TOL);
}
static run_spec ground_2d(void) {
    return spec_ground("ground 2D harmonic", 2, 32, 6.0, 1, setup_harmonic, GROUND_F32_TOL);
}
static run_spec ground_3d(void) {
    return spec_ground("ground 3D harmonic", 3, 24, 6.0, 1, setup_harmonic, GROUND_F32_TOL);
}
static run_spec ground_batch(void) {
    return spec_ground("ground batch of 3", 1, 128, 8.0, 3, setup_batch3, GROUND_F32_TOL);
}
static run_spec real_1d(void) {
    return spec_evolve("real-time packet 1D", 1, 256, 20.0, setup_packet, QDML_REAL_TIME, 0.005, 800, 1);
}
static run_spec real_2d(void) {
    return spec_evolve("real-time packet 2D", 2, 64, 10.0, setup_packet, QDML_REAL_TIME, 0.01, 300, 1);
}
static run_spec imag_2d(void) {
    return spec_evolve("imaginary-time 2D double well", 2, 48, 6.0, setup_imag, QDML_IMAGINARY_TIME, 0.005, 400, 1);
}
static run_spec heat_1d(void) {
    return spec_evolve("imaginary-time 1D, not renormalised", 1, 128, 8.0, setup_imag, QDML_IMAGINARY_TIME, 0.01, 100,
                       0);
}

Test(cuda_runs, ground_states_float64) {
    REQUIRE_CUDA_DEVICE();
    const run_spec specs[] = {ground_1d(), ground_2d(), ground_3d(), ground_batch()};
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; ++k)
        compare_runs(&specs[k], QDML_FLOAT64, RUN_TOL_F64, RUN_TOL_F64);
}

Test(cuda_runs, ground_states_float32) {
    REQUIRE_CUDA_DEVICE();
    const run_spec specs[] = {ground_1d(), ground_2d(), ground_3d(), ground_batch()};
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; ++k)
        compare_runs(&specs[k], QDML_FLOAT32, GROUND_F32_STATE_TOL, IMAG_F32_E_TOL);
}

Test(cuda_runs, real_time_packets_float64) {
    REQUIRE_CUDA_DEVICE();
    const run_spec specs[] = {real_1d(), real_2d()};
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; ++k)
        compare_runs(&specs[k], QDML_FLOAT64, RUN_TOL_F64, RUN_TOL_F64);
}

Test(cuda_runs, real_time_packets_float32) {
    REQUIRE_CUDA_DEVICE();
    const run_spec specs[] = {real_1d(), real_2d()};
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; ++k) {
        const double tol = REAL_F32_TOL(specs[k].eo.steps);
        compare_runs(&specs[k], QDML_FLOAT32, tol, tol);
    }
}

Test(cuda_runs, imaginary_time_float64) {
    REQUIRE_CUDA_DEVICE();
    const run_spec specs[] = {imag_2d(), heat_1d()};
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; ++k)
        compare_runs(&specs[k], QDML_FLOAT64, RUN_TOL_F64, RUN_TOL_F64);
}

Test(cuda_runs, imaginary_time_float32) {
    REQUIRE_CUDA_DEVICE();
    const run_spec specs[] = {imag_2d(), heat_1d()};
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; ++k)
        compare_runs(&specs[k], QDML_FLOAT32, IMAG_F32_STATE_TOL, IMAG_F32_E_TOL);
}

/* The 4th-order compositions (qdml_evolve_options.splitting) run the same ops with substeps of other
 * lengths, negative ones included. Real time in float32: the error grows with the number of FFT
 * pairs, 3 (Yoshida) or 5 (Suzuki) per step, so the bound is REAL_F32_TOL of that many. Imaginary
 * time: the negative substep's amplification in these runs is at most e^2.6 (far inside the float32
 * limit e^8), so the fixed-step bounds hold; the heat-kernel run (Suzuki, e^6.3 over its potential's
 * range) is compared in float64 only. */
static run_spec with_splitting(run_spec r, qdml_splitting split, const char *name) {
    r.eo.splitting = split;
    r.name = name;
    return r;
}

Test(cuda_runs, order4_float64) {
    REQUIRE_CUDA_DEVICE();
    const run_spec specs[] = {with_splitting(real_1d(), QDML_SPLIT_YOSHIDA4, "real-time packet 1D, yoshida4"),
                              with_splitting(real_2d(), QDML_SPLIT_SUZUKI4, "real-time packet 2D, suzuki4"),
                              with_splitting(imag_2d(), QDML_SPLIT_YOSHIDA4, "imaginary-time 2D well, yoshida4"),
                              with_splitting(heat_1d(), QDML_SPLIT_SUZUKI4, "imaginary-time 1D heat, suzuki4")};
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; ++k)
        compare_runs(&specs[k], QDML_FLOAT64, RUN_TOL_F64, RUN_TOL_F64);
}

Test(cuda_runs, order4_float32) {
    REQUIRE_CUDA_DEVICE();
    const run_spec real[] = {with_splitting(real_1d(), QDML_SPLIT_YOSHIDA4, "real-time packet 1D, yoshida4"),
                             with_splitting(real_2d(), QDML_SPLIT_SUZUKI4, "real-time packet 2D, suzuki4")};
    const int64_t substeps[] = {3, 5};
    for (size_t k = 0; k < sizeof real / sizeof real[0]; ++k) {
        const double tol = REAL_F32_TOL(substeps[k] * real[k].eo.steps);
        compare_runs(&real[k], QDML_FLOAT32, tol, tol);
    }
    const run_spec imag[] = {with_splitting(imag_2d(), QDML_SPLIT_YOSHIDA4, "imaginary-time 2D well, yoshida4"),
                             with_splitting(imag_2d(), QDML_SPLIT_SUZUKI4, "imaginary-time 2D well, suzuki4")};
    for (size_t k = 0; k < sizeof imag / sizeof imag[0]; ++k)
        compare_runs(&imag[k], QDML_FLOAT32, IMAG_F32_STATE_TOL, IMAG_F32_E_TOL);
}

/* ==============================================================================================
 * (c) device memory
 * ============================================================================================ */

Test(cuda_memory, bytes_needed_by_precision) {
    REQUIRE_CUDA_DEVICE();
    const int64_t n = 4096, B = 8;
    const double lo = -1.0, hi = 1.0;
    qdml_grid g = qt_grid(1, &n, &lo, &hi);
    size_t b64 = 0, b32 = 0, bcpu = 0;
    qdml_context *c64 = make_ctx(QDML_BACKEND_CUDA, QDML_FLOAT64), *c32 = make_ctx(QDML_BACKEND_CUDA, QDML_FLOAT32);
    qdml_context *cpu = make_ctx(QDML_BACKEND_CPU, QDML_FLOAT64);
    cr_assert_eq(qdml_problem_bytes_needed(c64, &g, B, &b64), QDML_OK, "%s", qdml_context_last_error(c64));
    cr_assert_eq(qdml_problem_bytes_needed(c32, &g, B, &b32), QDML_OK, "%s", qdml_context_last_error(c32));
    cr_assert_eq(qdml_problem_bytes_needed(cpu, &g, B, &bcpu), QDML_OK);
    const size_t total = (size_t)(n * B);
    /* 5 complex buffers and V: 88 bytes per point in float64, 44 in float32, plus cuFFT's area. */
    cr_assert(b64 >= 88 * total, "float64: %zu bytes for %zu points", b64, total);
    cr_assert(b32 >= 44 * total, "float32: %zu bytes for %zu points", b32, total);
    /* cuFFT's work areas differ by precision too, but not by enough to matter at this size. */
    cr_assert(b32 <= b64 / 4 * 3, "float32 %zu bytes is not well below float64 %zu", b32, b64);
    /* A problem of that size is created, and a float32 one too. */
    qdml_problem *p = NULL;
    cr_assert_eq(qdml_problem_create(c32, &g, B, &p), QDML_OK, "%s", qdml_context_last_error(c32));
    cr_assert_eq(qdml_problem_precision(p), QDML_FLOAT32);
    qdml_problem_destroy(p);
    qdml_context_destroy(c64);
    qdml_context_destroy(c32);
    qdml_context_destroy(cpu);
}

/* Does msg contain the decimal number v as a whole token? */
static int has_number(const char *msg, unsigned long long v) {
    char num[32];
    snprintf(num, sizeof num, "%llu", v);
    const size_t len = strlen(num);
    for (const char *s = msg; (s = strstr(s, num)) != NULL; ++s) {
        const int before = s > msg && s[-1] >= '0' && s[-1] <= '9';
        const int after = s[len] >= '0' && s[len] <= '9';
        if (!before && !after) return 1;
    }
    return 0;
}

Test(cuda_memory, problem_larger_than_the_device_fails_with_both_numbers) {
    REQUIRE_CUDA_DEVICE();
    /* 2^20 points x 2^15 members: about 3e12 bytes in float64, more than any single GPU holds. */
    const int64_t n = (int64_t)1 << 20, B = (int64_t)1 << 15;
    const double lo = -1.0, hi = 1.0;
    qdml_grid g = qt_grid(1, &n, &lo, &hi);
    qdml_context *ctx = make_ctx(QDML_BACKEND_CUDA, QDML_FLOAT64);
    size_t need = 0;
    cr_assert_eq(qdml_problem_bytes_needed(ctx, &g, B, &need), QDML_OK, "%s", qdml_context_last_error(ctx));
    cr_assert(need >= (size_t)88 << 35, "bytes_needed %zu for 2^35 points", need);
    qdml_problem *p = (qdml_problem *)&need; /* must be reset to NULL */
    const qdml_status st = qdml_problem_create(ctx, &g, B, &p);
    const char *msg = qdml_context_last_error(ctx);
    cr_assert_eq(st, QDML_ERR_OUT_OF_MEMORY, "create returned %s: %s", qdml_status_string(st), msg);
    cr_assert_null(p);
    const char *at = strstr(msg, " has ");
    unsigned long long free_b = 0;
    cr_assert(at && sscanf(at, " has %llu bytes free", &free_b) == 1, "no free byte count in \"%s\"", msg);
    cr_assert(free_b < (unsigned long long)need, "free %llu >= needed %zu in \"%s\"", free_b, need, msg);
    cr_assert(has_number(msg, (unsigned long long)need), "the message does not give the %zu bytes needed: \"%s\"", need,
              msg);
    /* The context still works. */
    const int64_t n2 = 64;
    qdml_grid g2 = qt_grid(1, &n2, &lo, &hi);
    p = qt_problem(ctx, &g2, 2);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

/* ==============================================================================================
 * Precision on the CPU backend and in the CLI (run everywhere)
 * ============================================================================================ */

Test(precision, float32_on_the_cpu_backend_is_unavailable_with_a_message) {
    qdml_context *ctx = make_ctx(QDML_BACKEND_CPU, QDML_FLOAT32);
    cr_assert_eq(qdml_context_precision(ctx), QDML_FLOAT32);
    const int64_t n = 32;
    const double lo = -1.0, hi = 1.0;
    qdml_grid g = qt_grid(1, &n, &lo, &hi);
    qdml_problem *p = NULL;
    const qdml_status st = qdml_problem_create(ctx, &g, 1, &p);
    const char *msg = qdml_context_last_error(ctx);
    cr_assert_eq(st, QDML_ERR_UNAVAILABLE, "returned %s: %s", qdml_status_string(st), msg);
    cr_assert_null(p);
    cr_assert(strstr(msg, "float32") && strstr(msg, "cpu"), "message does not explain: \"%s\"", msg);
    /* Back to float64: the same context creates the problem. */
    cr_assert_eq(qdml_context_set_precision(ctx, QDML_FLOAT64), QDML_OK);
    p = qt_problem(ctx, &g, 1);
    cr_assert_eq(qdml_problem_precision(p), QDML_FLOAT64);
    qdml_problem_destroy(p);
    cr_assert_eq(qdml_context_set_precision(ctx, (qdml_precision)3), QDML_ERR_INVALID_ARGUMENT);
    qdml_context_destroy(ctx);
}

#ifdef QDML_CLI_PATH
typedef struct cli_run {
    int status;
    char out[8192], err[4096];
} cli_run;

static void slurp_into(const char *path, char *buf, size_t n) {
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    const size_t got = fread(buf, 1, n - 1, f);
    buf[got] = '\0';
    fclose(f);
}

/* Runs the qdml program with args (NULL-terminated) in dir, stdout and stderr captured. */
static void run_cli(const char *dir, const char *const *args, cli_run *r) {
    char outp[600], errp[600], *argv[40];
    snprintf(outp, sizeof outp, "%s/stdout", dir);
    snprintf(errp, sizeof errp, "%s/stderr", dir);
    size_t k = 0;
    argv[k++] = (char *)QDML_CLI_PATH;
    for (; args[k - 1] && k < 39; ++k)
        argv[k] = (char *)args[k - 1];
    argv[k] = NULL;
    fflush(NULL);
    const pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "r", stdin) || !freopen(outp, "w", stdout) || !freopen(errp, "w", stderr)) _exit(126);
        setenv("OMP_NUM_THREADS", "1", 0);
        execv(QDML_CLI_PATH, argv);
        _exit(127);
    }
    int ws = 0;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128;
    slurp_into(outp, r->out, sizeof r->out);
    slurp_into(errp, r->err, sizeof r->err);
}

/* A harmonic potential V.npy of 128 points in a fresh directory; returns the directory. */
static char *cli_setup(void) {
    char *dir = qt_calloc(512, 1);
    const char *base = getenv("TMPDIR");
    snprintf(dir, 512, "%s/qdml-precision-XXXXXX", base && *base ? base : "/tmp");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp failed");
    const int64_t n = 128;
    double v[128];
    for (int i = 0; i < 128; ++i) {
        const double x = -8.0 + 16.0 * i / 128.0;
        v[i] = 0.5 * x * x;
    }
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/V.npy", dir);
    cr_assert_eq(qdml_npy_write(path, QDML_NPY_F64, 1, &n, v, err, sizeof err), 0, "%s", err);
    return dir;
}

static void cli_cleanup(char *dir) {
    const char *names[] = {"V.npy", "stdout", "stderr"};
    char path[600];
    for (size_t k = 0; k < 3; ++k) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        unlink(path);
    }
    rmdir(dir);
    free(dir);
}

static double json_energy(const char *out) {
    const char *e = strstr(out, "\"energy\": ");
    cr_assert_not_null(e, "no energy in the JSON output: %s", out);
    return strtod(e + 10, NULL);
}

Test(precision, cli_precision_flag) {
    char *dir = cli_setup();
    char vpath[600];
    snprintf(vpath, sizeof vpath, "%s/V.npy", dir);
    cli_run r;
    /* float32 on the cpu backend: a usage problem (exit 2) with the library's reason. */
    run_cli(dir,
            (const char *const[]){"ground", "--potential", vpath, "--box", "-8:8", "--backend", "cpu", "--precision",
                                  "float32", NULL},
            &r);
    cr_assert_eq(r.status, 2, "exit %d; stderr: %s", r.status, r.err);
    cr_assert(strstr(r.err, "float32") && strstr(r.err, "cuda"), "stderr does not explain: %s", r.err);
    cr_assert_eq(r.out[0], '\0', "stdout: %s", r.out);
    /* An unknown precision. */
    run_cli(dir, (const char *const[]){"ground", "--potential", vpath, "--box", "-8:8", "--precision", "float16", NULL},
            &r);
    cr_assert_eq(r.status, 2, "exit %d; stderr: %s", r.status, r.err);
    cr_assert(strstr(r.err, "--precision") && strstr(r.err, "float16"), "stderr: %s", r.err);
    /* float64 explicitly on the cpu. */
    run_cli(dir,
            (const char *const[]){"ground", "--potential", vpath, "--box", "-8:8", "--backend", "cpu", "--precision",
                                  "float64", "--json", NULL},
            &r);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    const double e_cpu = json_energy(r.out);
    cr_assert(fabs(e_cpu - 0.5) < 1e-6, "energy %.15g", e_cpu);
    /* float32 on a CUDA device: the same ground-state energy to float32 accuracy. */
    if (qdml_backend_available(QDML_BACKEND_CUDA)) {
        run_cli(dir,
                (const char *const[]){"ground", "--potential", vpath, "--box", "-8:8", "--backend", "cuda",
                                      "--precision", "float32", "--tol", "1e-3", "--json", NULL},
                &r);
        cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
        const double e32 = json_energy(r.out);
        cr_assert(fabs(e32 - e_cpu) <= IMAG_F32_E_TOL * fabs(e_cpu), "float32 energy %.15g, float64 %.15g", e32, e_cpu);
    } else {
        cr_log_info("%s: the float32 CLI run on CUDA was not checked", NO_DEVICE);
    }
    cli_cleanup(dir);
}
#endif
