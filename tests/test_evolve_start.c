/* qdml_problem_evolve measures its start and refuses a state at fault (a norm beyond double precision,
 * or a scale at which the energy sums overflow though at norm 1 they are finite) before any step. A
 * start that the last successful evolve left is not measured again (it was measured at that run's
 * end), so a caller that evolves a few steps per call pays no extra pass: every change of the states,
 * the potential, hbar or the mass must make the next evolve measure again, which these tests check
 * one change at a time. And evolving in pieces is evolving at once (to rounding), random start.
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context): the checks are the library's, above
 * every backend. */
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 64

static double bowl(const double *x, int dim, void *user) {
    (void)dim;
    (void)user;
    return 0.5 * x[0] * x[0];
}

static double steep(const double *x, int dim, void *user) {
    (void)dim;
    (void)user;
    return 1e12 * (1.0 + x[0] * x[0]);
}

static qdml_grid line(void) {
    const int64_t n[1] = {N};
    const double lo[1] = {-8}, hi[1] = {8};
    return qt_grid(1, n, lo, hi);
}

/* A Gaussian of amplitude `amp` (norm amp^2 sqrt(pi) ~ 1.8 amp^2). */
static void gaussian(const qdml_grid *g, double amp, double *psi) {
    for (int64_t j = 0; j < N; ++j) {
        const double x = qt_x(g, 0, j);
        psi[2 * j] = amp * exp(-0.5 * x * x);
        psi[2 * j + 1] = 0.0;
    }
}

static qdml_status evolve(qdml_problem *p, qdml_time_mode mode, int64_t steps) {
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = mode;
    o.dt = 0.01;
    o.steps = steps;
    return qdml_problem_evolve(p, &o, NULL);
}

static void expect_refused(qdml_problem *p, const char *why) {
    cr_assert_eq(evolve(p, QDML_REAL_TIME, 2), QDML_ERR_INVALID_ARGUMENT, "%s: evolve was not refused", why);
    cr_assert_not_null(strstr(qdml_last_error_message(), "rescale"), "%s: %s", why, qdml_last_error_message());
}

/* amp = 1e150: the norm (~1.8e300 x dV-free sums) is finite, <V> and <T> sums of the bowl are too
 * (|V| <= 32); with V ~ 1e12 or a mass of 1e-12 they overflow, while at norm 1 they are ~1e14. */
#define BIG 1e150

Test(evolve_start, a_norm_beyond_double_precision_is_refused_before_any_step) {
    qdml_context *ctx = qt_context();
    qdml_grid g = line();
    qdml_problem *p = qt_problem(ctx, &g, 1);
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, bowl, NULL);
    double psi[2 * N];
    gaussian(&g, 1e160, psi);
    cr_assert_eq(qdml_problem_set_state(p, 0, psi), QDML_OK, "%s", qdml_last_error_message());
    expect_refused(p, "norm 1e320");
    double *after = qt_get_state(p, 0);
    cr_assert_eq(memcmp(after, psi, sizeof psi), 0, "a refused start was stepped");
    free(after);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(evolve_start, every_change_after_a_run_makes_the_next_run_measure_its_start) {
    qdml_context *ctx = qt_context();
    qdml_grid g = line();
    qdml_problem *p = qt_problem(ctx, &g, 1);
    double psi[2 * N], big[2 * N];
    gaussian(&g, 1.0, psi);
    gaussian(&g, BIG, big);

    /* The state changed: a sound run, then a state at fault set. */
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, bowl, NULL);
    cr_assert_eq(qdml_problem_set_state(p, 0, psi), QDML_OK);
    cr_assert_eq(evolve(p, QDML_REAL_TIME, 3), QDML_OK, "%s", qdml_last_error_message());
    gaussian(&g, 1e160, psi);
    cr_assert_eq(qdml_problem_set_state(p, 0, psi), QDML_OK);
    expect_refused(p, "state set after a run");

    /* The potential changed: a sound run at amplitude 1e150 in the bowl, then V ~ 1e12. */
    cr_assert_eq(qdml_problem_set_state(p, 0, big), QDML_OK);
    cr_assert_eq(evolve(p, QDML_REAL_TIME, 3), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(evolve(p, QDML_REAL_TIME, 3), QDML_OK, "%s", qdml_last_error_message());
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, steep, NULL);
    expect_refused(p, "potential set after a run");

    /* The same through the objective setters: a callback evaluated on the grid, and a built-in
     * objective ("harmonic:k=1e12": V = 1e12 x^2 / 2, <V> ~ 1e12 per unit norm). */
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, bowl, NULL);
    cr_assert_eq(qdml_problem_set_state(p, 0, big), QDML_OK);
    cr_assert_eq(evolve(p, QDML_REAL_TIME, 3), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(qdml_problem_set_objective_fn(p, QDML_ALL_MEMBERS, steep, NULL), QDML_OK, "%s",
                 qdml_last_error_message());
    expect_refused(p, "objective callback set after a run");
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, bowl, NULL);
    cr_assert_eq(evolve(p, QDML_REAL_TIME, 3), QDML_OK, "%s", qdml_last_error_message());
    qdml_objective harmonic;
    cr_assert_eq(qdml_objective_parse("harmonic:k=1e12", 1, &harmonic), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(qdml_problem_set_objective(p, QDML_ALL_MEMBERS, &harmonic), QDML_OK, "%s",
                 qdml_last_error_message());
    expect_refused(p, "built-in objective set after a run");

    /* The mass changed: back to the bowl, a sound run, then m = 1e-12 multiplies <T> by 1e12. */
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, bowl, NULL);
    cr_assert_eq(qdml_problem_set_state(p, 0, big), QDML_OK);
    cr_assert_eq(evolve(p, QDML_REAL_TIME, 3), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(qdml_problem_set_mass(p, QDML_ALL_MEMBERS, 1e-12), QDML_OK);
    expect_refused(p, "mass set after a run");
    cr_assert_eq(qdml_problem_set_mass(p, QDML_ALL_MEMBERS, 1.0), QDML_OK);

    /* hbar likewise (<T> goes as hbar^2). */
    cr_assert_eq(evolve(p, QDML_REAL_TIME, 3), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(qdml_problem_set_hbar(p, QDML_ALL_MEMBERS, 1e6), QDML_OK);
    expect_refused(p, "hbar set after a run");
    cr_assert_eq(qdml_problem_set_hbar(p, QDML_ALL_MEMBERS, 1.0), QDML_OK);

    /* A checkpoint loaded after a run: one saved with the steep potential brings it back. */
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, steep, NULL);
    cr_assert_eq(qdml_problem_set_state(p, 0, big), QDML_OK);
    char *dir = qt_tmpdir("evolve-start"), *ck = qt_path(dir, "steep.qdml");
    cr_assert_eq(qdml_checkpoint_save(p, ck), QDML_OK, "%s", qdml_last_error_message());
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, bowl, NULL);
    cr_assert_eq(evolve(p, QDML_REAL_TIME, 3), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(qdml_checkpoint_load(p, ck), QDML_OK, "%s", qdml_last_error_message());
    expect_refused(p, "checkpoint loaded after a run");
    qt_rm_rf(dir);
    free(ck);
    free(dir);

    /* A refused run leaves nothing known: refused again. */
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, bowl, NULL);
    cr_assert_eq(qdml_problem_set_state(p, 0, big), QDML_OK);
    cr_assert_eq(evolve(p, QDML_REAL_TIME, 3), QDML_OK, "%s", qdml_last_error_message());
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, steep, NULL);
    expect_refused(p, "first try");
    expect_refused(p, "second try");

    /* A ground-state search in between (it moves the states) leaves nothing known either. */
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, bowl, NULL);
    gaussian(&g, 1.0, psi);
    cr_assert_eq(qdml_problem_set_state(p, 0, psi), QDML_OK);
    cr_assert_eq(evolve(p, QDML_REAL_TIME, 3), QDML_OK, "%s", qdml_last_error_message());
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.max_steps = 50;
    cr_assert_eq(qdml_problem_ground(p, &go, NULL), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(qdml_problem_set_state(p, 0, big), QDML_OK);
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, steep, NULL);
    expect_refused(p, "after a ground search");

    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

/* Evolving 7 steps as 3 + 4 (the second call's start not measured) is evolving 7 at once, to the
 * rounding of a different chunking of the same steps (~1e-15 per step of a norm-1 state). */
Test(evolve_start, evolving_in_pieces_is_evolving_at_once) {
    qdml_context *ctx = qt_context();
    qdml_grid g = line();
    qt_rng rng;
    qt_rng_seed(&rng, 20261204);
    double *psi = qt_random_state(&g, &rng);
    const double s = 1.0 / sqrt(qt_norm(psi, N, 16.0 / N));
    for (int64_t j = 0; j < 2 * N; ++j) psi[j] *= s;
    const qdml_time_mode modes[2] = {QDML_REAL_TIME, QDML_IMAGINARY_TIME};
    for (int m = 0; m < 2; ++m) {
        qdml_problem *a = qt_problem(ctx, &g, 1), *b = qt_problem(ctx, &g, 1);
        qt_set_potential_fn(a, QDML_ALL_MEMBERS, bowl, NULL);
        qt_set_potential_fn(b, QDML_ALL_MEMBERS, bowl, NULL);
        cr_assert_eq(qdml_problem_set_state(a, 0, psi), QDML_OK);
        cr_assert_eq(qdml_problem_set_state(b, 0, psi), QDML_OK);
        cr_assert_eq(evolve(a, modes[m], 7), QDML_OK, "%s", qdml_last_error_message());
        cr_assert_eq(evolve(b, modes[m], 3), QDML_OK, "%s", qdml_last_error_message());
        cr_assert_eq(evolve(b, modes[m], 4), QDML_OK, "%s", qdml_last_error_message());
        double *pa = qt_get_state(a, 0), *pb = qt_get_state(b, 0);
        const double d = qt_max_abs_diff(pa, pb, N), scale = qt_max_abs(pa, N);
        cr_assert(d <= 1e-13 * scale, "mode %d: pieces differ from at once by %g (max |psi| %g)", m, d, scale);
        free(pa);
        free(pb);
        qdml_problem_destroy(a);
        qdml_problem_destroy(b);
    }
    free(psi);
    qdml_context_destroy(ctx);
}

/* options.no_statistics: a loop of one-step calls without statistics leaves the states a loop with
 * them leaves, bit for bit (measuring and backing up never touch a state), in real and in renormalised
 * imaginary time; its results carry the clocks and NaN; a measured call after it measures again; it
 * refuses monitoring. */
Test(evolve_start, steps_without_statistics_are_the_same_steps) {
    for (int mode = 0; mode < 2; ++mode) {
        qdml_context *ctx = qt_context();
        int64_t n = N;
        double lo = -8, hi = 8;
        qdml_grid g = qt_grid(1, &n, &lo, &hi);
        qdml_problem *p = qt_problem(ctx, &g, 2);
        qt_set_potential_fn(p, QDML_ALL_MEMBERS, bowl, NULL);
        double *psi = qt_calloc(2 * N, sizeof(double)), *a = qt_calloc(2 * N, sizeof(double)),
               *b = qt_calloc(2 * N, sizeof(double));
        qt_rng rng;
        qt_rng_seed(&rng, 11);
        for (int i = 0; i < 2 * N; ++i) psi[i] = qt_uniform(&rng) - 0.3;
        cr_assert_eq(qdml_problem_set_state(p, QDML_ALL_MEMBERS, psi), QDML_OK);
        qdml_evolve_options with, without;
        qdml_evolve_options_default(&with);
        with.mode = mode ? QDML_IMAGINARY_TIME : QDML_REAL_TIME;
        with.dt = 0.01;
        with.steps = 1;
        without = with;
        without.no_statistics = 1;
        qdml_run_result res[2];
        for (int k = 0; k < 40; ++k) {
            /* calls with and without statistics in turn, against all measured on q below */
            cr_assert_eq(qdml_problem_evolve(p, k % 2 ? &without : &with, res), QDML_OK, "%s",
                         qdml_context_last_error(ctx));
        }
        cr_assert(isnan(res[0].final.energy) && res[0].final.step == 40 && fabs(res[0].final.time - 0.4) < 1e-12,
                  "unmeasured results: energy %g step %lld time %g", res[0].final.energy, (long long)res[0].final.step,
                  res[0].final.time);
        /* the same 40 steps on a fresh copy, all measured */
        qdml_problem *q = qt_problem(ctx, &g, 2);
        qt_set_potential_fn(q, QDML_ALL_MEMBERS, bowl, NULL);
        cr_assert_eq(qdml_problem_set_state(q, QDML_ALL_MEMBERS, psi), QDML_OK);
        for (int k = 0; k < 40; ++k) cr_assert_eq(qdml_problem_evolve(q, &with, NULL), QDML_OK);
        cr_assert_eq(qdml_problem_get_state(p, 1, a), QDML_OK);
        cr_assert_eq(qdml_problem_get_state(q, 1, b), QDML_OK);
        cr_assert(memcmp(a, b, 2 * N * sizeof(double)) == 0, "mode %d: the states differ", mode);
        cr_assert_eq(qdml_problem_evolve(p, &with, res), QDML_OK);
        cr_assert(isfinite(res[0].final.energy) && res[0].final.step == 41, "measured again after");
        without.monitor_every = 5;
        cr_assert_eq(qdml_problem_evolve(p, &without, NULL), QDML_ERR_INVALID_ARGUMENT);
        cr_assert_not_null(strstr(qdml_last_error_message(), "no_statistics takes no monitoring"));
        free(psi);
        free(a);
        free(b);
        qdml_problem_destroy(p);
        qdml_problem_destroy(q);
        qdml_context_destroy(ctx);
    }
}
