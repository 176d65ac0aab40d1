/* qdml_problem_split_energy: the energy the imaginary-time split-step operator assigns to a state (the
 * splitting error estimate of qdml evolve). Its value against the oscillator's closed form, for
 * Strang and a composition; and that it leaves the problem exactly as it was: states, clocks,
 * histories, and a ground search that resumes bit for bit as if it had not been called.
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context): every backend's, with float64 bounds. */
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double bowl(const double *x, int dim, void *user) {
    (void)user;
    double v = 0;
    for (int d = 0; d < dim; ++d)
        v += 0.5 * x[d] * x[d];
    return v;
}

/* The oscillator (hbar = m = w = 1) on 128 points of [-12, 12): its low states resolved to far below
 * the bounds used here. */
static qdml_problem *oscillator(qdml_context *ctx, int64_t batch) {
    const int64_t n[1] = {128};
    const double lo[1] = {-12}, hi[1] = {12};
    qdml_grid g = qt_grid(1, n, lo, hi);
    qdml_problem *p = qt_problem(ctx, &g, batch);
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, bowl, NULL);
    return p;
}

static void imaginary(qdml_problem *p, double dt, int64_t steps, qdml_splitting sp) {
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = QDML_IMAGINARY_TIME;
    o.dt = dt;
    o.steps = steps;
    o.monitor_every = 10;
    o.splitting = sp;
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK, "%s", qdml_last_error_message());
}

Test(split_energy, matches_the_closed_form_of_strang_at_its_fixed_point) {
    /* At the fixed point of Strang's operator for the oscillator, ||S psi|| / ||psi|| = exp(-E_s dt)
     * with E_s = arccosh(1 + dt^2/2) / (2 dt) (DESIGN.md). 60 units of imaginary time reach it to e^-60;
     * the grid's error is far below 1e-10. */
    qdml_context *ctx = qt_context();
    static const double dts[] = {0.05, 0.4, 2.0};
    for (int i = 0; i < 3; ++i) {
        qdml_problem *p = oscillator(ctx, 1);
        const double dt = dts[i];
        imaginary(p, dt, (int64_t)ceil(60.0 / dt), QDML_SPLIT_STRANG);
        double e = 0;
        cr_assert_eq(qdml_problem_split_energy(p, 0, dt, QDML_SPLIT_STRANG, &e), QDML_OK, "%s",
                     qdml_context_last_error(ctx));
        const double closed = acosh(1.0 + dt * dt / 2.0) / (2.0 * dt);
        cr_assert_float_eq(e, closed, 1e-10, "dt %g: E_split %.15g, closed form %.15g", dt, e, closed);
        qdml_problem_destroy(p);
    }
    /* A fourth-order composition at its own fixed point: E_split differs from 1/2 by O(dt^4), far less
     * than Strang's O(dt^2) at the same dt (0.04, half Yoshida's imaginary-time limit on this grid:
     * Strang's is dt^2 / 48 = 3.3e-5 below, Yoshida's measured 8.5e-8). */
    qdml_problem *p = oscillator(ctx, 1);
    imaginary(p, 0.04, 1500, QDML_SPLIT_YOSHIDA4);
    double e4 = 0;
    cr_assert_eq(qdml_problem_split_energy(p, 0, 0.04, QDML_SPLIT_YOSHIDA4, &e4), QDML_OK, "%s",
                 qdml_context_last_error(ctx));
    cr_assert_lt(fabs(e4 - 0.5), 1e-6, "Yoshida's E_split %.12g is not within O(dt^4) of 1/2", e4);
    /* And a step evolve would refuse is refused here too. */
    cr_assert_eq(qdml_problem_split_energy(p, 0, 0.4, QDML_SPLIT_YOSHIDA4, &e4), QDML_ERR_INVALID_ARGUMENT);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(split_energy, leaves_the_problem_as_it_was) {
    qdml_context *ctx = qt_context();
    /* Two ground searches on two members, one interrupted by a call, both resumed: equal bit for bit. */
    qdml_problem *a = oscillator(ctx, 2), *b = oscillator(ctx, 2);
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = 1e-9;
    go.max_steps = 40; /* a multiple of the monitoring interval (20): resumption is exact there */
    cr_assert_eq(qdml_problem_ground(a, &go, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
    cr_assert_eq(qdml_problem_ground(b, &go, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
    double *before = qt_get_state(a, 1);
    qdml_stats s0;
    cr_assert_eq(qdml_problem_stats(a, 1, &s0), QDML_OK);
    size_t h0 = 0;
    cr_assert_eq(qdml_problem_history(a, 1, NULL, 0, &h0), QDML_OK);
    double e = 0;
    cr_assert_eq(qdml_problem_split_energy(a, 1, 0.1, QDML_SPLIT_SUZUKI4, &e), QDML_OK, "%s",
                 qdml_context_last_error(ctx));
    cr_assert(isfinite(e) && e > 0.4 && e < 0.6, "E_split %g", e);
    double *after = qt_get_state(a, 1);
    cr_assert_eq(memcmp(before, after, 2 * 128 * sizeof(double)), 0, "the state changed");
    qdml_stats s1;
    cr_assert_eq(qdml_problem_stats(a, 1, &s1), QDML_OK);
    cr_assert(s1.step == s0.step && s1.time == s0.time && s1.dt == s0.dt,
              "clocks changed: step %lld -> %lld, dt %g -> %g", (long long)s0.step, (long long)s1.step, s0.dt, s1.dt);
    size_t h1 = 0;
    cr_assert_eq(qdml_problem_history(a, 1, NULL, 0, &h1), QDML_OK);
    cr_assert_eq(h1, h0, "the history grew");
    go.resume = 1;
    go.max_steps = 200;
    cr_assert_eq(qdml_problem_ground(a, &go, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
    cr_assert_eq(qdml_problem_ground(b, &go, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
    for (int64_t m = 0; m < 2; ++m) {
        double *sa = qt_get_state(a, m), *sb = qt_get_state(b, m);
        cr_assert_eq(memcmp(sa, sb, 2 * 128 * sizeof(double)), 0, "member %lld: the resumed searches differ",
                     (long long)m);
        free(sa);
        free(sb);
    }
    /* Errors. */
    cr_assert_eq(qdml_problem_split_energy(a, 2, 0.1, QDML_SPLIT_STRANG, &e), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_split_energy(a, 0, 0.0, QDML_SPLIT_STRANG, &e), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_split_energy(a, 0, 0.1, (qdml_splitting)7, &e), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_split_energy(a, 0, 0.1, QDML_SPLIT_STRANG, NULL), QDML_ERR_INVALID_ARGUMENT);
    free(before);
    free(after);
    qdml_problem_destroy(a);
    qdml_problem_destroy(b);
    qdml_context_destroy(ctx);
}
