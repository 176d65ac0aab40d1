/* qdml_problem_success_probability against closed forms: a Gaussian density N(c, s^2) per axis holds
 * erf(r / (s sqrt 2)) within r of c in 1D and 1 - exp(-r^2 / 2 s^2) in 2D. The grid sum is a midpoint
 * rule over the cells [x_j - dx/2, x_j + dx/2]; with c on a grid point and, in 1D, r = (k + 1/2) dx the
 * cells tile [c - r, c + r] exactly and the error is (dx^2 / 24) (|p'(c - r)| + |p'(c + r)|), at most
 * 1.3e-4 for dx = 1/16 and s = 0.8 (|p'| <= 0.38; bound 2e-4). In 2D the disc's edge cuts cells: the error is of order
 * dx times the density on the edge over its length, about 1e-3 at dx = 1/16 (bound 5e-3). Several centers count a point
 * once; the nearest one decides. Random states: the probability is in [0, 1], 1 for a radius that covers the box, and
 * grows with the radius.
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context): the density is read from it.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "cli_support.h"
#include "support.h"

static void gaussian(qdml_problem *p, const qdml_grid *g, const double *c, double s) {
    const int64_t N = qdml_grid_points(g);
    double *psi = qt_calloc(2 * (size_t)N, sizeof(double));
    for (int64_t i = 0; i < N; ++i) {
        double x[3] = {0, 0, 0}, e = 0.0;
        qt_coords(g, i, x);
        for (int d = 0; d < g->dim; ++d)
            e += (x[d] - c[d]) * (x[d] - c[d]);
        psi[2 * i] = exp(-e / (4.0 * s * s)); /* |psi|^2 = exp(-e / 2 s^2) */
    }
    cr_assert_eq(qdml_problem_set_state(p, 0, psi), QDML_OK);
    free(psi);
}

Test(success, gaussian_closed_forms_in_1d_and_2d) {
    qdml_context *ctx = qt_context();
    /* 1D: 256 points on [-8, 8), dx = 1/16, c = 0.5 (a grid point), s = 0.8. */
    int64_t n = 256;
    double lo = -8, hi = 8;
    qdml_grid g = qt_grid(1, &n, &lo, &hi);
    qdml_problem *p = qt_problem(ctx, &g, 1);
    const double c1[1] = {0.5}, s = 0.8;
    gaussian(p, &g, c1, s);
    for (int k = 2; k < 40; k += 7) {
        const double r = (k + 0.5) / 16.0, want = erf(r / (s * sqrt(2.0)));
        double got = -1;
        cr_assert_eq(qdml_problem_success_probability(p, 0, c1, 1, r, &got), QDML_OK);
        cr_assert_float_eq(got, want, 2e-4, "1D r = %g: %.8f, erf %.8f", r, got, want);
    }
    qdml_problem_destroy(p);
    /* 2D: 256 x 256 on [-8, 8)^2, c = (0.5, -1), s = 0.7. */
    int64_t n2[2] = {256, 256};
    double lo2[2] = {-8, -8}, hi2[2] = {8, 8};
    g = qt_grid(2, n2, lo2, hi2);
    p = qt_problem(ctx, &g, 1);
    const double c2[2] = {0.5, -1.0}, s2 = 0.7;
    gaussian(p, &g, c2, s2);
    for (double r = 0.3; r < 3.0; r += 0.6) {
        const double want = 1.0 - exp(-r * r / (2.0 * s2 * s2));
        double got = -1;
        cr_assert_eq(qdml_problem_success_probability(p, 0, c2, 1, r, &got), QDML_OK);
        cr_assert_float_eq(got, want, 5e-3, "2D r = %g: %.6f, closed form %.6f", r, got, want);
    }
    /* Two centers, the second far away: the same as the first alone; the Gaussian's mirror point adds its
     * own disc (disjoint at this radius). */
    const double two[4] = {0.5, -1.0, 6.0, 6.0};
    double one = 0, both = 0;
    cr_assert_eq(qdml_problem_success_probability(p, 0, two, 1, 1.0, &one), QDML_OK);
    cr_assert_eq(qdml_problem_success_probability(p, 0, two, 2, 1.0, &both), QDML_OK);
    cr_assert_float_eq(both, one, 1e-12, "a center where the density is ~0 adds nothing: %.15g %.15g", both, one);
    const double overlap[4] = {0.5, -1.0, 0.5, -1.0};
    cr_assert_eq(qdml_problem_success_probability(p, 0, overlap, 2, 1.0, &both), QDML_OK);
    cr_assert_eq(both, one, "a point near two centers counts once");
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(success, random_states_monotone_and_bounded_and_arguments_checked) {
    qdml_context *ctx = qt_context();
    int64_t n[2] = {24, 20};
    double lo[2] = {-3, -2}, hi[2] = {3, 2};
    qdml_grid g = qt_grid(2, n, lo, hi);
    qdml_problem *p = qt_problem(ctx, &g, 2);
    qt_rng rng;
    qt_rng_seed(&rng, 77);
    for (int b = 0; b < 2; ++b) {
        double *psi = qt_random_state(&g, &rng);
        cr_assert_eq(qdml_problem_set_state(p, b, psi), QDML_OK);
        free(psi);
    }
    const double c[2] = {0.3, -0.4};
    double prev = -1;
    for (double r = 0.0; r <= 8.0; r += 0.25) {
        double got = -1;
        cr_assert_eq(qdml_problem_success_probability(p, 1, c, 1, r, &got), QDML_OK);
        cr_assert(got >= 0 && got <= 1 + 1e-15, "r = %g: %g", r, got);
        cr_assert_geq(got, prev, "not monotone in r");
        prev = got;
    }
    cr_assert_float_eq(prev, 1.0, 1e-14, "a radius over the whole box holds everything: %.17g", prev);
    double x;
    cr_assert_eq(qdml_problem_success_probability(p, 2, c, 1, 1.0, &x), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_success_probability(p, 0, c, 0, 1.0, &x), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_success_probability(p, 0, c, 1, -1.0, &x), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_success_probability(p, 0, c, 1, NAN, &x), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_success_probability(p, 0, NULL, 1, 1.0, &x), QDML_ERR_INVALID_ARGUMENT);
    const double bad[2] = {NAN, 0};
    cr_assert_eq(qdml_problem_success_probability(p, 0, bad, 1, 1.0, &x), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_success_probability(NULL, 0, c, 1, 1.0, &x), QDML_ERR_INVALID_ARGUMENT);
    double *zero = qt_calloc(2 * 24 * 20, sizeof(double));
    cr_assert_eq(qdml_problem_set_state(p, 0, zero), QDML_OK);
    cr_assert_eq(qdml_problem_success_probability(p, 0, c, 1, 1.0, &x), QDML_ERR_INVALID_ARGUMENT);
    free(zero);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

/* The program's --radius: the ground state of the oscillator (hbar = m = w = 1) is N(0, 1/2) per axis,
 * erf(r) within r of the minimiser in 1D; on 256 points of [-8, 8) with r = 16.5 dx the midpoint rule's
 * error is at most (dx^2 / 24) 2 |p'|max = 1.6e-4 (bound 3e-4). */
Test(success_cli, radius_reports_the_success_probability) {
    char *dir = qt_tmpdir("success");
    cli_result r = RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "256", "--box", "-8:8",
                       "--radius", "1.03125", "--tol", "1e-10", "--json");
    expect_ok(&r);
    const double p = json_num(r.out, "success_probability", 0);
    cr_assert_float_eq(p, erf(1.03125), 3e-4, "success probability %.8f, erf %.8f", p, erf(1.03125));
    cr_assert_float_eq(json_num(r.out, "radius", 0), 1.03125, 0.0);
    cli_free(&r);
    r = RUN(dir, "minimize", "--objective", "rastrigin", "--dim", "2", "--n", "64", "--radius", "0.1", "--json");
    expect_ok(&r);
    const double pm = json_num(r.out, "success_probability", 0);
    cr_assert(pm > 0.5 && pm <= 1.0, "annealing on rastrigin ends near its minimiser: %g", pm);
    cli_free(&r);
    char *v = qt_path(dir, "v.npy");
    const int64_t shape[1] = {16};
    double vals[16] = {0};
    char *vp = write_f64(dir, "v.npy", 1, shape, vals);
    expect_fail(RUN(dir, "ground", "--potential", vp, "--box", "-1:1", "--radius", "0.5"), 2,
                "--radius 0.5 needs --objective");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "16", "--radius", "-1"), 2,
                "--radius");
    free(v);
    free(vp);
    qt_rm_rf(dir);
    free(dir);
}
