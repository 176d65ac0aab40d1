/* Softmax and sigmoid from imaginary time with no diffusion (DESIGN.md: the D -> 0 limit).
 *
 * With potential_only = 1 the kinetic factor is omitted, so each step multiplies psi pointwise by
 * e^{-V dt / 2 hbar} twice (or once by e^{-V dt / hbar} when half-steps are fused): starting from
 * the uniform state L^(-1/2) (L the box volume), after N steps of dt, tau = N dt,
 *     psi_k = L^(-1/2) exp(-tau E_k / hbar)      (renormalize = 0: no rescaling at all),
 * so psi normalised in L1 is softmax(-tau E / hbar) and |psi|^2 normalised (the Born rule) is
 * softmax(-2 tau E / hbar); K = 2 cells give sigmoid(-tau (E1 - E0) / hbar) and
 * sigmoid(-2 tau (E1 - E0) / hbar).
 *
 * Tolerance (relative, per component): the only error is rounding. Each of the <= 2N + 2 multiplies
 * costs <= 2 ulp, and the exponent E dt / (2 hbar) is computed with relative error ~2 ulp, i.e. an
 * absolute error <= 2 eps |y| in the exponent, which sums to <= 2 eps |tau E / hbar| over the run.
 * Bound: (4N + 4) eps (1 + max |tau E / hbar|), ~5e-14 for the sizes below; the normalised
 * quantities at most double it.
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context; the CPU by default): the behaviour tested here
 * is every backend's, with float64 bounds.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "support.h"

/* softmax(beta * z) into out, shifted by the max for stability. */
static void softmax(const double *z, int64_t k, double beta, double *out) {
    double zmax = -INFINITY, sum = 0.0;
    for (int64_t i = 0; i < k; ++i) zmax = fmax(zmax, beta * z[i]);
    for (int64_t i = 0; i < k; ++i) sum += (out[i] = exp(beta * z[i] - zmax));
    for (int64_t i = 0; i < k; ++i) out[i] /= sum;
}

/* Run potential-only imaginary time on `batch` members with energies E (batch x K), check the
 * closed forms for each member. */
static void run_softmax(const qdml_grid *g, int64_t batch, const double *E, double hbar, double dt, int64_t steps,
                        int renormalize) {
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, g, batch);
    const int64_t K = qdml_problem_points(p);
    double vol = 1.0;
    for (int d = 0; d < g->dim; ++d) vol *= g->hi[d] - g->lo[d];
    const double dv = qdml_grid_dv(g), tau = dt * (double)steps;
    for (int64_t b = 0; b < batch; ++b) cr_assert_eq(qdml_problem_set_potential(p, b, E + b * K), QDML_OK);
    cr_assert_eq(qdml_problem_set_hbar(p, QDML_ALL_MEMBERS, hbar), QDML_OK);
    cr_assert_eq(qdml_problem_set_state_uniform(p, QDML_ALL_MEMBERS), QDML_OK);
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = QDML_IMAGINARY_TIME;
    o.potential_only = 1;
    o.renormalize = renormalize;
    o.dt = dt;
    o.steps = steps;
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));

    double ymax = 0.0;
    for (int64_t i = 0; i < batch * K; ++i) ymax = fmax(ymax, fabs(tau * E[i] / hbar));
    const double tol = (4.0 * (double)steps + 4.0) * DBL_EPSILON * (1.0 + ymax);
    double *psi = qt_calloc(2 * (size_t)K, sizeof *psi);
    double *rho = qt_calloc((size_t)K, sizeof *rho);
    double *sm1 = qt_calloc((size_t)K, sizeof *sm1);
    double *sm2 = qt_calloc((size_t)K, sizeof *sm2);
    double worst = 0.0;
    for (int64_t b = 0; b < batch; ++b) {
        const double *e = E + b * K;
        cr_assert_eq(qdml_problem_get_state(p, b, psi), QDML_OK);
        cr_assert_eq(qdml_problem_get_density(p, b, rho), QDML_OK);
        softmax(e, K, -tau / hbar, sm1);
        softmax(e, K, -2.0 * tau / hbar, sm2);
        double l1 = 0.0, l2 = 0.0;
        for (int64_t k = 0; k < K; ++k) {
            l1 += psi[2 * k];
            l2 += rho[k];
        }
        for (int64_t k = 0; k < K; ++k) {
            cr_assert_leq(fabs(psi[2 * k + 1]), tol * psi[2 * k], "member %lld cell %lld: Im psi = %g (Re %g)",
                          (long long)b, (long long)k, psi[2 * k + 1], psi[2 * k]);
            if (!renormalize) {
                double exact = exp(-tau * e[k] / hbar) / sqrt(vol);
                double rel = fabs(psi[2 * k] - exact) / exact;
                worst = fmax(worst, rel);
                cr_assert_leq(rel, tol, "member %lld cell %lld (E = %.6g): psi = %.17g, exact %.17g, rel %.3g > %.3g",
                              (long long)b, (long long)k, e[k], psi[2 * k], exact, rel, tol);
            }
            double r1 = fabs(psi[2 * k] / l1 - sm1[k]) / sm1[k];
            double r2 = fabs(rho[k] / l2 - sm2[k]) / sm2[k];
            worst = fmax(worst, fmax(r1, r2));
            cr_assert_leq(r1, 2.0 * tol,
                          "member %lld cell %lld: psi/sum psi = %.17g, softmax(-tau E/hbar) = %.17g (rel %.3g)",
                          (long long)b, (long long)k, psi[2 * k] / l1, sm1[k], r1);
            cr_assert_leq(r2, 2.0 * tol,
                          "member %lld cell %lld: |psi|^2/sum = %.17g, softmax(-2 tau E/hbar) = %.17g (rel %.3g)",
                          (long long)b, (long long)k, rho[k] / l2, sm2[k], r2);
        }
        if (renormalize) {
            double nrm = l2 * dv;
            cr_assert_leq(fabs(nrm - 1.0), 1e-13, "member %lld: renormalised norm %.17g", (long long)b, nrm);
        }
    }
    cr_log_info("softmax K = %lld, batch %lld, renormalize %d: worst relative error %.3g (bound %.3g)", (long long)K,
                (long long)batch, renormalize, worst, tol);
    free(psi);
    free(rho);
    free(sm1);
    free(sm2);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(softmax, potential_only_imaginary_time_is_softmax_1d) {
    /* K = 10 cells, random energies in [-2, 2], hbar = 0.37, tau = 6 x 0.25 = 1.5 (exact in binary):
     * exponents tau E / hbar up to ~8, i.e. probabilities spread over ~7 decades. */
    const int64_t n[1] = {10};
    const double lo[1] = {-1.5}, hi[1] = {2.0};
    qdml_grid g = qt_grid(1, n, lo, hi);
    qt_rng r;
    qt_rng_seed(&r, 7);
    double E[30];
    for (int i = 0; i < 30; ++i) E[i] = 4.0 * qt_uniform(&r) - 2.0;
    for (int renorm = 0; renorm <= 1; ++renorm) run_softmax(&g, 3, E, 0.37, 0.25, 6, renorm);
}

Test(softmax, potential_only_imaginary_time_is_softmax_2d_cells) {
    /* The cells need not be a line: a 6 x 7 grid of random energies behaves pointwise the same. */
    const int64_t n[2] = {6, 7};
    const double lo[2] = {0.0, -1.0}, hi[2] = {3.0, 2.5};
    qdml_grid g = qt_grid(2, n, lo, hi);
    qt_rng r;
    qt_rng_seed(&r, 8);
    double E[42];
    for (int i = 0; i < 42; ++i) E[i] = 3.0 * qt_normal(&r);
    for (int renorm = 0; renorm <= 1; ++renorm) run_softmax(&g, 1, E, 1.9, 0.125, 5, renorm);
}

Test(softmax, two_cells_give_the_sigmoid) {
    /* 16 random pairs (E0, E1), one per batch member; hbar = 0.8, tau = 4 x 0.5 = 2. The cell-1
     * probability is sigmoid(-tau (E1 - E0)/hbar) in L1 and sigmoid(-2 tau (E1 - E0)/hbar) under the
     * Born rule; the bound is the softmax bound with N = 4 (cell probabilities, not 1 - p, so no
     * cancellation). */
    const int64_t n[1] = {2};
    const double lo[1] = {0.0}, hi[1] = {1.0};
    qdml_grid g = qt_grid(1, n, lo, hi);
    enum { B = 16 };
    const double hbar = 0.8, dt = 0.5, tau = 2.0;
    const int64_t steps = 4;
    qt_rng r;
    qt_rng_seed(&r, 9);
    double E[2 * B];
    for (int i = 0; i < 2 * B; ++i) E[i] = 2.0 * qt_uniform(&r) - 1.0;
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, &g, B);
    for (int b = 0; b < B; ++b) cr_assert_eq(qdml_problem_set_potential(p, b, E + 2 * b), QDML_OK);
    cr_assert_eq(qdml_problem_set_hbar(p, QDML_ALL_MEMBERS, hbar), QDML_OK);
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = QDML_IMAGINARY_TIME;
    o.potential_only = 1;
    o.dt = dt;
    o.steps = steps;
    for (int renorm = 0; renorm <= 1; ++renorm) {
        cr_assert_eq(qdml_problem_set_state_uniform(p, QDML_ALL_MEMBERS), QDML_OK);
        o.renormalize = renorm;
        cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
        for (int b = 0; b < B; ++b) {
            double psi[4], rho[2];
            cr_assert_eq(qdml_problem_get_state(p, b, psi), QDML_OK);
            cr_assert_eq(qdml_problem_get_density(p, b, rho), QDML_OK);
            double dE = E[2 * b + 1] - E[2 * b];
            double ymax = fmax(fabs(tau * E[2 * b] / hbar), fabs(tau * E[2 * b + 1] / hbar));
            double tol = 2.0 * (4.0 * (double)steps + 4.0) * DBL_EPSILON * (1.0 + ymax);
            double s1 = 1.0 / (1.0 + exp(tau * dE / hbar));       /* sigmoid(-tau dE / hbar) */
            double s2 = 1.0 / (1.0 + exp(2.0 * tau * dE / hbar)); /* sigmoid(-2 tau dE / hbar) */
            double p1 = psi[2] / (psi[0] + psi[2]), q1 = rho[1] / (rho[0] + rho[1]);
            cr_assert_leq(fabs(p1 - s1), tol * s1, "member %d (dE = %.6g, renorm %d): p1 = %.17g, sigmoid %.17g", b, dE,
                          renorm, p1, s1);
            cr_assert_leq(fabs(q1 - s2), tol * s2,
                          "member %d (dE = %.6g, renorm %d): Born p1 = %.17g, sigmoid %.17g", b,
                          dE, renorm, q1, s2);
        }
    }
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}
