/* The CUDA backend against the CPU backend (the reference) through the public API, in float64 and
 * float32: whole runs, device memory, and the precision setting where no device is needed. (The
 * backend ops one at a time are in test_cuda_ops.c.)
 *
 *  (b) cuda_runs: whole runs through the public API (ground states in 1D/2D/3D and a batch of
 *      three potentials, real-time packets, imaginary-time evolution) on both backends.
 *      float64: states and energies within 1e-10. float32: the bounds derived below.
 *  (c) cuda_memory: qdml_problem_bytes_needed by precision, and a problem larger than any device
 *      fails with QDML_ERR_OUT_OF_MEMORY and both numbers in the message.
 *
 * Without a CUDA device every test that needs one reports itself skipped with the reason. The
 * tests of the precision setting on the CPU backend and of the CLI flag run everywhere.
 *
 * Backends: each test names its contexts' backends (QDML_TEST_BACKEND does not apply). Suite
 * precision runs on the CPU everywhere (ctest entry test_cuda_runs); cuda_runs and cuda_memory need
 * a device (test_cuda_runs_device: "Skipped" without one).
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

#include "io_npy.h"
#include "support.h"

#define NO_DEVICE "no CUDA device: qdml_backend_available(QDML_BACKEND_CUDA) is 0"
#define REQUIRE_CUDA_DEVICE()                                                                                          \
    do {                                                                                                               \
        if (!qdml_backend_available(QDML_BACKEND_CUDA)) cr_skip_test("%s", NO_DEVICE);                                 \
    } while (0)

#define U32 5.9604644775390625e-08 /* 2^-24, float32 unit roundoff */

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

/* |a - b| <= tol * scale, scale > 0. */
static int near(double a, double b, double tol, double scale) { return fabs(a - b) <= tol * scale; }

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
        const double ds = qt_rel_diff(c.psi + 2 * c.N * b, g.psi + 2 * c.N * b, 2 * c.N);
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
    char path[600];
    snprintf(path, sizeof path, "%s/V.npy", dir);
    cr_assert_eq(qdml_npy_write(path, QDML_NPY_F64, 1, &n, v), QDML_OK, "%s", qdml_last_error_message());
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
    cli_cleanup(dir);
}

/* float32 on a CUDA device from the command line: the float64 CPU run's ground-state energy to
 * float32 accuracy (needs a device: suite cuda_runs). */
Test(cuda_runs, cli_float32_ground_energy_matches_float64_cpu) {
    REQUIRE_CUDA_DEVICE();
    char *dir = cli_setup();
    char vpath[600];
    snprintf(vpath, sizeof vpath, "%s/V.npy", dir);
    cli_run r;
    run_cli(dir,
            (const char *const[]){"ground", "--potential", vpath, "--box", "-8:8", "--backend", "cpu", "--precision",
                                  "float64", "--json", NULL},
            &r);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    const double e_cpu = json_energy(r.out);
    run_cli(dir,
            (const char *const[]){"ground", "--potential", vpath, "--box", "-8:8", "--backend", "cuda", "--precision",
                                  "float32", "--tol", "1e-3", "--json", NULL},
            &r);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    const double e32 = json_energy(r.out);
    cr_assert(fabs(e32 - e_cpu) <= IMAG_F32_E_TOL * fabs(e_cpu), "float32 energy %.15g, float64 %.15g", e32, e_cpu);
    cli_cleanup(dir);
}
#endif
