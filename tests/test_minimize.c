/* Annealing (qdml_problem_minimize) on the zero-point trap: a narrow deep well beside a wide
 * shallower one,
 *     V(x) = -1.0 exp(-(x + 2)^2 / 2) - 1.3 exp(-(x - 2)^2 / (2 * 0.15^2)).
 * Harmonic estimates: the wide well has curvature 1 (omega = 1 at m = 1), the narrow one 1.3 / 0.15^2
 * (omega = 7.6). At hbar = 1 the narrow well's zero-point energy hbar omega / 2 = 3.8 exceeds its depth:
 * it holds no state, and the ground state (E ~ -0.5) sits in the wide well, so a fixed large hbar
 * finds the wrong minimum. The levels cross near hbar = 0.3 / (3.8 - 0.5) ~ 0.09; below, the ground
 * state sits in the narrow well. Annealing from hbar = 1 to 0.02 must end there, on the grid point
 * nearest the minimiser (which the deep well's minimum, shifted by the other well's tail by ~1e-20,
 * puts at x = 2 to rounding).
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context; the CPU by default): the behaviour tested here
 * is every backend's, with float64 bounds.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* The wells at -c and +c (c = 2 unless user points to another). */
static double trap(const double *x, int dim, void *user) {
    (void)dim;
    const double c = user ? *(const double *)user : 2.0;
    const double a = x[0] + c, b = x[0] - c;
    return -1.0 * exp(-a * a / 2.0) - 1.3 * exp(-b * b / (2.0 * 0.15 * 0.15));
}

static qdml_problem *trap_problem_at(qdml_context *ctx, int64_t batch, qdml_grid *g, const double *c) {
    const int64_t n = 512;
    const double L = c ? *c + 6.0 : 8.0;
    const double lo = -L, hi = L;
    *g = qt_grid(1, &n, &lo, &hi);
    qdml_problem *p = qt_problem(ctx, g, batch);
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, trap, (void *)c);
    return p;
}

static qdml_problem *trap_problem(qdml_context *ctx, int64_t batch, qdml_grid *g) {
    return trap_problem_at(ctx, batch, g, NULL);
}

Test(minimize, fixed_large_hbar_is_trapped) {
    qdml_context *ctx = qt_context();
    qdml_grid g;
    qdml_problem *p = trap_problem(ctx, 1, &g);
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    qdml_run_result r;
    cr_assert_eq(qdml_problem_ground(p, &go, &r), QDML_OK, "%s", qdml_context_last_error(ctx));
    cr_log_info("fixed hbar = 1: E = %.6f, argmax %.4f, <x> = %.4f", r.final.energy, r.final.argmax[0],
                r.final.mean[0]);
    cr_assert(r.converged);
    cr_assert_lt(fabs(r.final.argmax[0] + 2.0), 0.3, "hbar = 1 should settle in the wide well at -2, not at %g",
                 r.final.argmax[0]);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(minimize, annealing_escapes_the_zero_point_trap) {
    qdml_context *ctx = qt_context();
    qdml_grid g;
    /* Member 0 anneals 1 -> 0.02; member 1, in the same run, keeps hbar = 1 through every stage
     * (its own schedule), and stays trapped. */
    qdml_problem *p = trap_problem(ctx, 2, &g);
    qdml_minimize_options o;
    qdml_minimize_options_default(&o);
    const double h0[2] = {1.0, 1.0}, h1[2] = {0.02, 1.0};
    o.member_hbar_start = h0;
    o.member_hbar_end = h1;
    o.stages = 8;
    qdml_minimize_result res[2];
    qdml_minimize_stage *st = qt_calloc((size_t)(o.stages * 2), sizeof *st);
    cr_assert_eq(qdml_problem_minimize(p, &o, res, st), QDML_OK, "%s", qdml_context_last_error(ctx));
    const double h = qdml_grid_spacing(&g, 0);
    for (int64_t k = 0; k < o.stages; ++k)
        for (int64_t b = 0; b < 2; ++b) {
            const qdml_minimize_stage *s = &st[k * 2 + b];
            cr_log_info("member %lld stage %lld: hbar %.4f E = %.6f <x> = %.4f width %.4f argmax %.4f f %.6f, %lld "
                        "steps%s",
                        (long long)b, (long long)k, s->hbar, s->stats.energy, s->stats.mean[0], s->stats.width[0],
                        s->stats.argmax[0], s->f_argmax, (long long)s->steps, s->converged ? "" : " (not converged)");
            cr_assert(s->converged);
            /* f at the argmax is the potential there: recompute it. */
            cr_assert_float_eq(s->f_argmax, trap(s->stats.argmax, 1, NULL), 1e-15);
        }
    /* The schedules: geometric from 1 to 0.02 for member 0, constant for member 1. */
    cr_assert_float_eq(st[0].hbar, 1.0, 1e-15);
    cr_assert_float_eq(st[(o.stages - 1) * 2].hbar, 0.02, 1e-15);
    cr_assert_float_eq(st[3 * 2].hbar, pow(0.02, 3.0 / 7.0), 1e-14);
    cr_assert_float_eq(st[(o.stages - 1) * 2 + 1].hbar, 1.0, 1e-15);
    double hb;
    cr_assert_eq(qdml_problem_get_hbar(p, 0, &hb), QDML_OK);
    cr_assert_float_eq(hb, 0.02, 1e-15, "the member keeps the last stage's hbar");

    cr_log_info("annealed: argmin %.5f (f = %.6f, stage %lld), %lld steps; fixed: argmin %.5f (f = %.6f)",
                res[0].argmin[0], res[0].f_min, (long long)res[0].stage, (long long)res[0].steps, res[1].argmin[0],
                res[1].f_min);
    cr_assert_leq(fabs(res[0].argmin[0] - 2.0), h, "annealing ended at %g, not within a grid spacing %g of 2",
                  res[0].argmin[0], h);
    cr_assert_leq(fabs(res[0].final_argmax[0] - 2.0), h);
    cr_assert_float_eq(res[0].f_min, trap(res[0].argmin, 1, NULL), 1e-15);
    cr_assert_lt(res[0].f_min, -1.29);
    cr_assert(res[0].converged);
    cr_assert_lt(fabs(res[1].argmin[0] + 2.0), 0.3, "fixed hbar should stay trapped at -2, got %g", res[1].argmin[0]);
    /* Steps add up over the stages. */
    int64_t total = 0;
    for (int64_t k = 0; k < o.stages; ++k) total += st[k * 2].steps;
    cr_assert_eq(total, res[0].steps);
    free(st);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(minimize, crosses_a_wide_barrier_with_and_without_reseeding) {
    /* Wells at -7 and +7 in a box of +-13: at the crossing (hbar ~ 0.09) the wide well's state
     * overlaps the narrow well's ground state only through the tail it carried from the early,
     * large-hbar stages (at hbar = 1 the tail decays as exp(-1.1 |x|): ~1e-7 at the narrow well).
     * Imaginary time amplifies that tail once the narrow well's level is the lower one, so annealing
     * finds the global minimum without reseeding here too; options.reseed (1% of the uniform state
     * at each stage start) is the insurance for a tail that was never there, and must not change the
     * answer. */
    qdml_context *ctx = qt_context();
    qdml_grid g;
    const double c = 7.0;
    qdml_minimize_options o;
    qdml_minimize_options_default(&o);
    o.hbar_start = 1.0;
    o.hbar_end = 0.02;
    qdml_minimize_result res[2];
    for (int k = 0; k < 2; ++k) {
        qdml_problem *p = trap_problem_at(ctx, 1, &g, &c);
        o.reseed = k == 0 ? 0.0 : 0.01;
        cr_assert_eq(qdml_problem_minimize(p, &o, &res[k], NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
        qdml_problem_destroy(p);
    }
    cr_log_info("wells at -7 and 7: without reseeding %.5f (f = %.6f, %lld steps), with %.5f (f = %.6f, %lld steps)",
                res[0].argmin[0], res[0].f_min, (long long)res[0].steps, res[1].argmin[0], res[1].f_min,
                (long long)res[1].steps);
    for (int k = 0; k < 2; ++k)
        cr_assert_leq(fabs(res[k].argmin[0] - c), qdml_grid_spacing(&g, 0), "run %d ended at %g, not at 7", k,
                      res[k].argmin[0]);
    qdml_context_destroy(ctx);
}

Test(minimize, refuses_bad_options) {
    qdml_context *ctx = qt_context();
    qdml_grid g;
    qdml_problem *p = trap_problem(ctx, 1, &g);
    qdml_minimize_options o;
    qdml_minimize_options_default(&o);
    o.stages = 0;
    cr_assert_eq(qdml_problem_minimize(p, &o, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(qdml_context_last_error(ctx), "stages"), "%s", qdml_context_last_error(ctx));
    qdml_minimize_options_default(&o);
    o.tolerance = -1;
    cr_assert_eq(qdml_problem_minimize(p, &o, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(qdml_context_last_error(ctx), "tolerance"), "%s", qdml_context_last_error(ctx));
    qdml_minimize_options_default(&o);
    o.hbar_start = 0.1;
    o.hbar_end = 0.5;
    cr_assert_eq(qdml_problem_minimize(p, &o, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(qdml_context_last_error(ctx), "hbar_end"), "%s", qdml_context_last_error(ctx));
    qdml_minimize_options_default(&o);
    o.hbar_start = NAN;
    cr_assert_eq(qdml_problem_minimize(p, &o, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    qdml_minimize_options_default(&o);
    o.reseed = 1.0;
    cr_assert_eq(qdml_problem_minimize(p, &o, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(qdml_context_last_error(ctx), "reseed"), "%s", qdml_context_last_error(ctx));
    qdml_minimize_options_default(&o);
    o.max_steps = 0;
    cr_assert_eq(qdml_problem_minimize(p, &o, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    double bad[1] = {-1.0};
    qdml_minimize_options_default(&o);
    o.member_hbar_end = bad;
    cr_assert_eq(qdml_problem_minimize(p, &o, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(qdml_context_last_error(ctx), "member 0"), "%s", qdml_context_last_error(ctx));
    cr_assert_eq(qdml_problem_minimize(NULL, &o, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_minimize(p, NULL, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    qdml_problem_destroy(p);
    /* No potential. */
    qdml_problem *q = qt_problem(ctx, &g, 1);
    qdml_minimize_options_default(&o);
    cr_assert_eq(qdml_problem_minimize(q, &o, NULL, NULL), QDML_ERR_NOT_READY);
    qdml_problem_destroy(q);
    qdml_context_destroy(ctx);
}

/* The known minimisers of 2D benchmark functions, each on its usual domain with n points per axis,
 * annealed from hbar = 1 to 0.01 (m = 1): the estimate must be within a grid spacing of the
 * minimiser on each axis. n = 64 where the spacing is well below the distance to the nearest local
 * minimum (Rastrigin 0.16 against 1, Styblinski-Tang 0.16 against 5.6, Levy 0.31 against ~4); 128
 * for Ackley, whose local minima lie about 1 apart on a domain of 65.5 (spacing 0.51, not 1.02). */
static void benchmark(const char *spec, int64_t npa) {
    qdml_objective obj;
    cr_assert_eq(qdml_objective_parse(spec, 2, &obj), QDML_OK, "%s", qdml_last_error_message());
    double lo[2], hi[2], xs[2], fs;
    cr_assert_eq(qdml_objective_domain(&obj, 2, lo, hi), QDML_OK);
    cr_assert_eq(qdml_objective_minimum(&obj, 2, xs, &fs), QDML_OK);
    const int64_t n[2] = {npa, npa};
    qdml_grid g = qt_grid(2, n, lo, hi);
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, &g, 1);
    cr_assert_eq(qdml_problem_set_objective(p, 0, &obj), QDML_OK, "%s", qdml_context_last_error(ctx));
    qdml_minimize_options o;
    qdml_minimize_options_default(&o);
    o.hbar_start = 1.0;
    o.hbar_end = 0.01;
    qdml_minimize_result r;
    cr_assert_eq(qdml_problem_minimize(p, &o, &r, NULL), QDML_OK, "%s: %s", spec, qdml_context_last_error(ctx));
    const double h0 = qdml_grid_spacing(&g, 0), h1 = qdml_grid_spacing(&g, 1);
    cr_log_info("%s: argmin (%.6f, %.6f), f = %.6g; known (%.6f, %.6f), f* = %.6g; grid spacing %.4f; %lld steps%s",
                spec, r.argmin[0], r.argmin[1], r.f_min, xs[0], xs[1], fs, h0, (long long)r.steps,
                r.converged ? "" : " (a stage did not converge)");
    cr_assert_leq(fabs(r.argmin[0] - xs[0]), h0, "%s: argmin x %g vs %g (spacing %g)", spec, r.argmin[0], xs[0], h0);
    cr_assert_leq(fabs(r.argmin[1] - xs[1]), h1, "%s: argmin y %g vs %g (spacing %g)", spec, r.argmin[1], xs[1], h1);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(minimize, rastrigin_2d) { benchmark("rastrigin", 64); }
Test(minimize, ackley_2d) { benchmark("ackley", 128); }
Test(minimize, styblinski_tang_2d) { benchmark("styblinski_tang", 64); }
Test(minimize, levy_2d) { benchmark("levy", 64); }
