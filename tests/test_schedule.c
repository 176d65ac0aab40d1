/* Time-dependent Hamiltonians H(t) = a(t) T + b(t) V (qdml_problem_set_schedule) against a closed form.
 *
 * For the oscillator H = a(t) p^2 / 2 + b(t) x^2 / 2 (hbar = m = 1) the second moments X = <x^2>,
 * C = <(xp + px) / 2>, P = <p^2> obey, for any state (Heisenberg: x' = a p, p' = -b x),
 *     X' = 2 a C,   C' = a P - b X,   P' = -2 b C,
 * the moment form of the Ermakov equation (a Gaussian stays Gaussian, its width sqrt(X) obeying
 * Ermakov's). We integrate it by classical Runge-Kutta with h = 1e-4 (error O(h^4) ~ 1e-16 per unit
 * time; checked below against h / 2 to 1e-12) and compare qdml's <x^2> = width^2 at t = 1.5: the
 * split step with the schedules at each step's midpoint is second order, so the error falls by 4 (3.5
 * to 4.5) from dt = 0.01 to 0.005 to 0.0025, and stays under 5e-6 at the last (the constant of the
 * dt^2 term is ~ 0.1 here; the space error is spectral: 256 points on [-16, 16), the state's
 * |k| < 8 at 1e-16, the grid's 25). A ramp (linear kinetic and potential schedules) and a callback
 * b(t) = 1 + 0.5 sin 3t.
 *
 * Constant schedules a = 1/2, b = 2 run the problem with mass 2 and potential 2 V: the same states to
 * 1e-12 (random potential and state, 2D, real time). Imaginary time with b = 4 reaches the oscillator's
 * ground state of frequency 2: <x^2> = 1/4. Refusals name what is wrong; a callback that turns NaN
 * stops the run after the last whole block of 256 steps.
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static double half_x2(const double *x, int dim, void *user) {
    (void)dim, (void)user;
    return 0.5 * x[0] * x[0];
}

typedef struct {
    int kind; /* 0: ramp (linear a 1 -> 0.5 and b 1 -> 3 over 2), 1: b = 1 + 0.5 sin 3t, a = 1 */
} coef_case;

static double wobble(double t, void *user) {
    (void)user;
    return 1.0 + 0.5 * sin(3.0 * t);
}

static void coefs(const coef_case *c, double t, double *a, double *b) {
    if (c->kind == 0) {
        *a = 1.0 + (0.5 - 1.0) * fmin(t / 2.0, 1.0);
        *b = 1.0 + (3.0 - 1.0) * fmin(t / 2.0, 1.0);
    } else {
        *a = 1.0;
        *b = wobble(t, NULL);
    }
}

static void moments_rhs(const coef_case *c, double t, const double *y, double *f) {
    double a, b;
    coefs(c, t, &a, &b);
    f[0] = 2.0 * a * y[1];
    f[1] = a * y[2] - b * y[0];
    f[2] = -2.0 * b * y[1];
}

/* X(t_end) from X0, C0 = 0, P0 by RK4 with step h. */
static double ermakov_x2(const coef_case *c, double x0, double p0, double t_end, double h) {
    double y[3] = {x0, 0.0, p0};
    const int64_t n = (int64_t)llround(t_end / h);
    for (int64_t i = 0; i < n; ++i) {
        const double t = i * h;
        double k1[3], k2[3], k3[3], k4[3], z[3];
        moments_rhs(c, t, y, k1);
        for (int j = 0; j < 3; ++j) z[j] = y[j] + 0.5 * h * k1[j];
        moments_rhs(c, t + 0.5 * h, z, k2);
        for (int j = 0; j < 3; ++j) z[j] = y[j] + 0.5 * h * k2[j];
        moments_rhs(c, t + 0.5 * h, z, k3);
        for (int j = 0; j < 3; ++j) z[j] = y[j] + h * k3[j];
        moments_rhs(c, t + h, z, k4);
        for (int j = 0; j < 3; ++j) y[j] += h / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j]);
    }
    return y[0];
}

/* qdml's <x^2> at t_end from psi = exp(-x^2 / 4 s0^2) under the case's schedules, step dt. */
static double qdml_x2(const coef_case *c, double s0, double t_end, double dt) {
    qdml_context *ctx = qt_context();
    int64_t n = 256;
    double lo = -16, hi = 16;
    qdml_grid g = qt_grid(1, &n, &lo, &hi);
    qdml_problem *p = qt_problem(ctx, &g, 1);
    qt_set_potential_fn(p, 0, half_x2, NULL);
    double *psi = qt_calloc(2 * (size_t)n, sizeof(double));
    for (int64_t j = 0; j < n; ++j) {
        const double x = qt_x(&g, 0, j);
        psi[2 * j] = exp(-x * x / (4.0 * s0 * s0));
    }
    cr_assert_eq(qdml_problem_set_state(p, 0, psi), QDML_OK);
    free(psi);
    qdml_stats st0;
    cr_assert_eq(qdml_problem_stats(p, 0, &st0), QDML_OK);
    const double norm0 = st0.norm;
    qdml_schedule ka, vb;
    if (c->kind == 0) {
        ka = (qdml_schedule){QDML_SCHEDULE_LINEAR, {1.0, 0.5, 2.0}, NULL, NULL};
        vb = (qdml_schedule){QDML_SCHEDULE_LINEAR, {1.0, 3.0, 2.0}, NULL, NULL};
        cr_assert_eq(qdml_problem_set_schedule(p, 0, &ka, &vb), QDML_OK, "%s", qdml_last_error_message());
    } else {
        vb = (qdml_schedule){QDML_SCHEDULE_CALLBACK, {0, 0, 0}, wobble, NULL};
        cr_assert_eq(qdml_problem_set_schedule(p, 0, NULL, &vb), QDML_OK, "%s", qdml_last_error_message());
    }
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.dt = dt;
    o.steps = llround(t_end / dt);
    o.monitor_every = 100;
    qdml_run_result res;
    cr_assert_eq(qdml_problem_evolve(p, &o, &res), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_float_eq(res.final.time, t_end, 1e-9);
    cr_assert(fabs(res.final.norm / norm0 - 1.0) < 1e-12, "real time keeps the norm: %.17g", res.final.norm / norm0);
    const double x2 = res.final.width[0] * res.final.width[0] + res.final.mean[0] * res.final.mean[0];
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
    return x2;
}

static void second_order_against_ermakov(int kind) {
    const coef_case c = {kind};
    const double s0 = 0.7, t_end = 1.5;
    const double x0 = s0 * s0, p0 = 1.0 / (4.0 * s0 * s0);
    const double ref = ermakov_x2(&c, x0, p0, t_end, 1e-4), ref2 = ermakov_x2(&c, x0, p0, t_end, 5e-5);
    cr_assert(fabs(ref - ref2) < 1e-12, "the reference itself: h 1e-4 %.17g, h 5e-5 %.17g", ref, ref2);
    double err[3];
    const double dts[3] = {0.01, 0.005, 0.0025};
    for (int i = 0; i < 3; ++i) err[i] = fabs(qdml_x2(&c, s0, t_end, dts[i]) - ref);
    for (int i = 0; i + 1 < 3; ++i) {
        const double ratio = err[i] / err[i + 1];
        cr_assert(ratio > 3.5 && ratio < 4.5, "case %d: errors %.3e at dt %g, %.3e at %g: ratio %.3f, not 4", kind,
                  err[i], dts[i], err[i + 1], dts[i + 1], ratio);
    }
    cr_assert(err[2] < 5e-6, "case %d: <x^2> off the Ermakov moments by %.3e at dt 0.0025 (reference %.12f)", kind,
              err[2], ref);
}

Test(schedule, ramp_is_second_order_against_the_ermakov_moments) { second_order_against_ermakov(0); }
Test(schedule, callback_is_second_order_against_the_ermakov_moments) { second_order_against_ermakov(1); }

static double random_v(const double *x, int dim, void *user) {
    (void)dim, (void)user;
    return 0.3 * x[0] * x[0] + 0.2 * x[1] * x[1] + 0.4 * sin(2.0 * x[0] + x[1]);
}

static double twice_random_v(const double *x, int dim, void *user) { return 2.0 * random_v(x, dim, user); }

Test(schedule, constant_schedules_equal_a_scaled_mass_and_potential) {
    qdml_context *ctx = qt_context();
    int64_t n[2] = {32, 24};
    double lo[2] = {-6, -5}, hi[2] = {6, 5};
    qdml_grid g = qt_grid(2, n, lo, hi);
    const int64_t N = qdml_grid_points(&g);
    qdml_problem *p = qt_problem(ctx, &g, 2);
    qt_set_potential_fn(p, 0, random_v, NULL);
    qt_set_potential_fn(p, 1, twice_random_v, NULL);
    cr_assert_eq(qdml_problem_set_mass(p, 1, 2.0), QDML_OK);
    double *psi = qt_calloc(2 * (size_t)N, sizeof(double)), *out = qt_calloc(4 * (size_t)N, sizeof(double));
    qt_rng rng;
    qt_rng_seed(&rng, 2026);
    for (int64_t i = 0; i < N; ++i) {
        double x[2];
        qt_coords(&g, i, x);
        const double env = exp(-(x[0] * x[0] + x[1] * x[1]) / 4.0);
        psi[2 * i] = env * (1.0 + 0.3 * qt_uniform(&rng));
        psi[2 * i + 1] = env * 0.3 * qt_uniform(&rng);
    }
    cr_assert_eq(qdml_problem_set_state(p, QDML_ALL_MEMBERS, psi), QDML_OK);
    const qdml_schedule ka = {QDML_SCHEDULE_CONSTANT, {0.5, 0, 0}, NULL, NULL};
    const qdml_schedule vb = {QDML_SCHEDULE_CONSTANT, {2.0, 0, 0}, NULL, NULL};
    cr_assert_eq(qdml_problem_set_schedule(p, 0, &ka, &vb), QDML_OK, "%s", qdml_last_error_message());
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.dt = 0.01;
    o.steps = 300; /* a block of 256 steps and one of 44 */
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(qdml_problem_get_state(p, 0, out), QDML_OK);
    cr_assert_eq(qdml_problem_get_state(p, 1, out + 2 * N), QDML_OK);
    double diff = 0.0, size = 0.0;
    for (int64_t i = 0; i < 2 * N; ++i) {
        diff = fmax(diff, fabs(out[i] - out[2 * N + i]));
        size = fmax(size, fabs(out[2 * N + i]));
    }
    const double tol = qdml_problem_precision(p) == QDML_FLOAT32 ? 1e-4 : 1e-12;
    cr_assert(diff <= tol * size, "scheduled and scaled members differ by %.3e (max |psi| %.3e)", diff, size);
    free(psi);
    free(out);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(schedule, imaginary_time_finds_the_ground_state_of_the_scaled_oscillator) {
    qdml_context *ctx = qt_context();
    int64_t n = 128;
    double lo = -8, hi = 8;
    qdml_grid g = qt_grid(1, &n, &lo, &hi);
    qdml_problem *p = qt_problem(ctx, &g, 1);
    qt_set_potential_fn(p, 0, half_x2, NULL);
    const double c = 1.0, w = 1.5;
    cr_assert_eq(qdml_problem_set_state_gaussian(p, 0, &c, &w, NULL), QDML_OK);
    const qdml_schedule vb = {QDML_SCHEDULE_CONSTANT, {4.0, 0, 0}, NULL, NULL};
    cr_assert_eq(qdml_problem_set_schedule(p, 0, NULL, &vb), QDML_OK);
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = QDML_IMAGINARY_TIME;
    o.dt = 0.005;
    o.steps = 3000; /* tau = 15: the first excitation (4 above, frequency 2) decays as e^{-4 tau} */
    qdml_run_result res;
    cr_assert_eq(qdml_problem_evolve(p, &o, &res), QDML_OK, "%s", qdml_last_error_message());
    /* H = p^2/2 + 2 x^2, omega = 2: <x^2> = 1/(2 omega) = 1/4; Strang's O(dt^2) shift is ~ 1e-5 here. */
    const double x2 = res.final.width[0] * res.final.width[0] + res.final.mean[0] * res.final.mean[0];
    cr_assert_float_eq(x2, 0.25, 1e-4, "<x^2> = %.8f", x2);
    cr_assert_float_eq(res.final.norm, 1.0, 1e-9);
    /* Unscaled statistics: <V> = <x^2>/2, <T> = omega/4 = 1/2. */
    cr_assert_float_eq(res.final.potential, 0.125, 1e-4, "<V> %.8f", res.final.potential);
    cr_assert_float_eq(res.final.kinetic, 0.5, 1e-4, "<T> %.8f", res.final.kinetic);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

static void expect_refused(qdml_status st, const char *what, const char *needle) {
    const char *msg = qdml_last_error_message();
    cr_assert_eq(st, QDML_ERR_INVALID_ARGUMENT, "%s: status %d, message \"%s\"", what, (int)st, msg);
    cr_assert_not_null(strstr(msg, needle), "%s: message \"%s\" lacks \"%s\"", what, msg, needle);
}

static double nan_after_one(double t, void *user) {
    (void)user;
    return t < 1.0 ? 1.0 : NAN;
}

Test(schedule, values_and_refusals) {
    qdml_schedule s;
    double v;
    cr_assert_eq(qdml_schedule_default(QDML_SCHEDULE_QHD_KINETIC, &s), QDML_OK);
    cr_assert_eq(qdml_schedule_value(&s, 1.0, &v), QDML_OK);
    cr_assert_float_eq(v, 2.0 / 1.001, 1e-15);
    cr_assert_eq(qdml_schedule_value(&s, 0.0, &v), QDML_OK);
    cr_assert_float_eq(v, 2000.0, 1e-12);
    cr_assert_eq(qdml_schedule_default(QDML_SCHEDULE_QHD_POTENTIAL, &s), QDML_OK);
    cr_assert_eq(qdml_schedule_value(&s, 1.5, &v), QDML_OK);
    cr_assert_float_eq(v, 2.0 * 3.375, 1e-15);
    cr_assert_eq(qdml_schedule_default(QDML_SCHEDULE_GEOMETRIC, &s), QDML_OK);
    cr_assert_eq(qdml_schedule_value(&s, 0.5, &v), QDML_OK);
    cr_assert_float_eq(v, sqrt(1e-3), 1e-15);
    cr_assert_eq(qdml_schedule_value(&s, 7.0, &v), QDML_OK);
    cr_assert_float_eq(v, 1e-3, 1e-18);
    s = (qdml_schedule){QDML_SCHEDULE_LINEAR, {2.0, 4.0, 4.0}, NULL, NULL};
    cr_assert_eq(qdml_schedule_value(&s, 1.0, &v), QDML_OK);
    cr_assert_float_eq(v, 2.5, 1e-15);

    expect_refused(qdml_schedule_default(QDML_SCHEDULE_CALLBACK, &s), "default callback", "fn");
    expect_refused(qdml_schedule_default((qdml_schedule_kind)9, &s), "default kind 9", "kind = 9");
    s = (qdml_schedule){QDML_SCHEDULE_CONSTANT, {-1.0, 0, 0}, NULL, NULL};
    expect_refused(qdml_schedule_value(&s, 0.0, &v), "negative constant", "p[0] = -1");
    s = (qdml_schedule){QDML_SCHEDULE_LINEAR, {0.0, 1.0, 0.0}, NULL, NULL};
    expect_refused(qdml_schedule_value(&s, 0.0, &v), "linear over 0", "over p[2] = 0");
    s = (qdml_schedule){QDML_SCHEDULE_CALLBACK, {0, 0, 0}, NULL, NULL};
    expect_refused(qdml_schedule_value(&s, 0.0, &v), "callback NULL", "fn = NULL");
    s = (qdml_schedule){QDML_SCHEDULE_CONSTANT, {1.0, 0, 0}, NULL, NULL};
    expect_refused(qdml_schedule_value(&s, -1.0, &v), "t < 0", "t = -1");
    expect_refused(qdml_schedule_value(NULL, 0.0, &v), "NULL", "schedule is NULL");

    qdml_context *ctx = qt_context();
    int64_t n = 64;
    double lo = -8, hi = 8;
    qdml_grid g = qt_grid(1, &n, &lo, &hi);
    qdml_problem *p = qt_problem(ctx, &g, 2);
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, half_x2, NULL);
    const double c = 0.0, w = 1.0;
    cr_assert_eq(qdml_problem_set_state_gaussian(p, QDML_ALL_MEMBERS, &c, &w, NULL), QDML_OK);
    expect_refused(qdml_problem_set_schedule(NULL, 0, NULL, NULL), "NULL problem", "problem is NULL");
    expect_refused(qdml_problem_set_schedule(p, 2, NULL, NULL), "member 2", "member 2");
    s = (qdml_schedule){QDML_SCHEDULE_GEOMETRIC, {0.0, 1.0, 1.0}, NULL, NULL};
    expect_refused(qdml_problem_set_schedule(p, 0, &s, NULL), "geometric from 0", "kinetic schedule");
    s = (qdml_schedule){QDML_SCHEDULE_CALLBACK, {0, 0, 0}, nan_after_one, NULL};
    cr_assert_eq(qdml_problem_set_schedule(p, 1, NULL, &s), QDML_OK);
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.dt = 0.001;
    o.steps = 2000;
    o.splitting = QDML_SPLIT_YOSHIDA4;
    expect_refused(qdml_problem_evolve(p, &o, NULL), "yoshida", "QDML_SPLIT_STRANG only");
    o.splitting = QDML_SPLIT_STRANG;
    /* NaN from t = 1 on: step 1000's midpoint is 1.0005, in the block of steps 768 .. 1023. */
    expect_refused(qdml_problem_evolve(p, &o, NULL), "NaN callback", "member 1's potential schedule at its step 1000");
    qdml_stats st;
    cr_assert_eq(qdml_problem_stats(p, 1, &st), QDML_OK);
    cr_assert_eq(st.step, 768, "member 1 stopped after step %lld", (long long)st.step);
    cr_assert_float_eq(st.norm, 1.0, 1e-10, "and its state is sound: norm %g", st.norm);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

/* The CPU backend's scheduled steps on its member path (each member through a block of steps while in
 * cache, its tables rebuilt step by step: steps_scheduled in backend.h) against the single ops on the
 * plain path: QHD's schedule on a batch of three 2D members (different potentials), real time, and a
 * geometric kinetic schedule in renormalised imaginary time; states to 1e-12 of their largest value
 * (the same sequence of factors, FFTs of other plans: rounding). 300 steps: a block of 256 and one of 44.
 * Backend: the CPU backend whatever QDML_TEST_BACKEND says (its own paths, forced by QDML_CPU_PATH). */
static double ramp_v(const double *x, int dim, void *user) {
    (void)dim;
    const double s = *(const double *)user;
    return s * (x[0] * x[0] + 0.5 * x[1] * x[1]) + 0.3 * cos(3.0 * x[0] * s);
}

static void path_run(const char *path, qdml_time_mode mode, int qhd, double *out, int64_t N) {
    qdml_context *ctx = qt_cpu_context();
    int64_t n[2] = {32, 32};
    double lo[2] = {-4, -4}, hi[2] = {4, 4};
    qdml_grid g = qt_grid(2, n, lo, hi);
    cr_assert_eq(setenv("QDML_CPU_PATH", path, 1), 0);
    qdml_problem *p = NULL;
    const qdml_status st = qdml_problem_create(ctx, &g, 3, &p);
    unsetenv("QDML_CPU_PATH");
    cr_assert_eq(st, QDML_OK, "QDML_CPU_PATH=%s: %s", path, qdml_context_last_error(ctx));
    for (int b = 0; b < 3; ++b) {
        double s = 0.5 + 0.4 * b;
        qt_set_potential_fn(p, b, ramp_v, &s);
    }
    const double c[2] = {0.5, -0.3}, w[2] = {0.8, 1.1}, k[2] = {1.0, 0.5};
    cr_assert_eq(qdml_problem_set_state_gaussian(p, QDML_ALL_MEMBERS, c, w, k), QDML_OK);
    qdml_schedule ka, vb;
    if (qhd) {
        cr_assert_eq(qdml_schedule_default(QDML_SCHEDULE_QHD_KINETIC, &ka), QDML_OK);
        cr_assert_eq(qdml_schedule_default(QDML_SCHEDULE_QHD_POTENTIAL, &vb), QDML_OK);
    } else {
        ka = (qdml_schedule){QDML_SCHEDULE_GEOMETRIC, {1.0, 0.01, 1.5}, NULL, NULL};
        vb = (qdml_schedule){QDML_SCHEDULE_LINEAR, {0.5, 2.0, 1.5}, NULL, NULL};
    }
    cr_assert_eq(qdml_problem_set_schedule(p, QDML_ALL_MEMBERS, &ka, &vb), QDML_OK);
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = mode;
    o.dt = 0.005;
    o.steps = 300;
    o.monitor_every = 150;
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK, "%s: %s", path, qdml_context_last_error(ctx));
    for (int b = 0; b < 3; ++b) cr_assert_eq(qdml_problem_get_state(p, b, out + 2 * b * N), QDML_OK);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(schedule, member_path_equals_the_single_ops) {
    const int64_t N = 32 * 32;
    double *a = qt_calloc(6 * (size_t)N, sizeof(double)), *b = qt_calloc(6 * (size_t)N, sizeof(double));
    for (int run = 0; run < 2; ++run) {
        const qdml_time_mode mode = run ? QDML_IMAGINARY_TIME : QDML_REAL_TIME;
        path_run("plain", mode, !run, a, N);
        path_run("members", mode, !run, b, N);
        double diff = 0.0, size = 0.0;
        for (int64_t i = 0; i < 6 * N; ++i) {
            diff = fmax(diff, fabs(a[i] - b[i]));
            size = fmax(size, fabs(a[i]));
        }
        cr_assert(size > 0 && diff <= 1e-12 * size, "%s time: member path and plain differ by %.3e (max %.3e)",
                  run ? "imaginary" : "real", diff, size);
    }
    free(a);
    free(b);
}
