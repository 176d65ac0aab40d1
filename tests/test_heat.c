/* The heat kernel: imaginary time with V = 0 and renormalize = 0 is the diffusion equation
 * d psi / d tau = D lap psi, D = hbar / 2m, so a Gaussian exp(-(x-c)^2 / 2 s^2) becomes
 * sqrt(s^2 / (s^2 + 2 D tau)) exp(-(x-c)^2 / 2 (s^2 + 2 D tau)) on each axis (DESIGN.md).
 *
 * Why 1e-10: the kinetic factor exp(-D k^2 dtau) is the exact propagator of the sampled state, so
 * as for the free packet the only errors are aliasing (the setup asserts |psi_hat| at Nyquist
 * < 1e-16), periodic images (the setup keeps the centre >= 8 widths s_tau from the edges, an image
 * contributes <= exp(-32) ~ 1e-14) and rounding (~1e-15 per FFT).
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context; the CPU by default): the behaviour tested here
 * is every backend's, with float64 bounds.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "support.h"

static void run_heat(const qdml_grid *g, double hbar, double m, const double *s, const double *c, double dt,
                     int64_t steps) {
    const int dim = g->dim;
    const double tau = dt * (double)steps, D = hbar / (2.0 * m);
    double st[3];
    for (int d = 0; d < dim; ++d) {
        st[d] = sqrt(s[d] * s[d] + 2.0 * D * tau);
        double kn = QT_PI / qdml_grid_spacing(g, d);
        /* continuum FT of exp(-x^2/2s^2) is sqrt(2 pi) s exp(-s^2 k^2 / 2); the others at their peak */
        double nyq = sqrt(2.0 * QT_PI) * s[d] * exp(-s[d] * s[d] * kn * kn / 2.0);
        for (int e = 0; e < dim; ++e)
            if (e != d) nyq *= sqrt(2.0 * QT_PI) * s[e];
        cr_assert_lt(nyq, 1e-16, "setup: |psi_hat| at Nyquist on axis %d is %.3g", d, nyq);
        double dist = fmin(c[d] - g->lo[d], g->hi[d] - c[d]);
        cr_assert_geq(dist, 8.0 * st[d], "setup: axis %d centre %g from the edge, s_tau = %g", d, dist, st[d]);
    }

    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, g, 1);
    qt_set_zero_potential(p);
    cr_assert_eq(qdml_problem_set_hbar(p, 0, hbar), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, 0, m), QDML_OK);
    const int64_t npts = qdml_problem_points(p);
    double *psi0 = qt_calloc(2 * (size_t)npts, sizeof *psi0);
    double *exact = qt_calloc(2 * (size_t)npts, sizeof *exact);
    for (int64_t i = 0; i < npts; ++i) {
        double x[3], a = 1.0, b = 1.0;
        qt_coords(g, i, x);
        for (int d = 0; d < dim; ++d) {
            double y = x[d] - c[d];
            a *= exp(-y * y / (2.0 * s[d] * s[d]));
            b *= s[d] / st[d] * exp(-y * y / (2.0 * st[d] * st[d]));
        }
        psi0[2 * i] = a;
        exact[2 * i] = b;
    }
    cr_assert_eq(qdml_problem_set_state(p, 0, psi0), QDML_OK);

    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = QDML_IMAGINARY_TIME;
    o.renormalize = 0;
    o.dt = dt;
    o.steps = steps;
    qdml_status status = qdml_problem_evolve(p, &o, NULL);
    cr_assert_eq(status, QDML_OK, "evolve: %s", qdml_context_last_error(ctx));

    double *psi = qt_get_state(p, 0);
    double err = qt_max_abs_diff(psi, exact, npts);
    cr_log_info("heat %dD: max |psi - exact| = %.3g after tau = %g", dim, err, tau);
    cr_assert_leq(err, 1e-10, "%dD heat kernel: max |psi - exact| = %.3g at tau = %g (peak %.3g)", dim, err, tau,
                  qt_max_abs(exact, npts));

    /* No rescaling: the norm is the closed form's, prod sqrt(pi) s^2 / s_tau; the width of
     * |psi|^2 is s_tau / sqrt(2). Spectrally accurate sums: 1e-12 relative, 1e-10 absolute. */
    qdml_stats sts;
    cr_assert_eq(qdml_problem_stats(p, 0, &sts), QDML_OK);
    double norm = 1.0;
    for (int d = 0; d < dim; ++d) norm *= sqrt(QT_PI) * s[d] * s[d] / st[d];
    cr_assert_leq(fabs(sts.norm - norm), 1e-12 * norm, "norm %.16g, expected %.16g", sts.norm, norm);
    for (int d = 0; d < dim; ++d) {
        cr_assert_float_eq(sts.mean[d], c[d], 1e-10, "axis %d: <x> = %.15g, expected %.15g", d, sts.mean[d], c[d]);
        cr_assert_float_eq(sts.width[d], st[d] / sqrt(2.0), 1e-10, "axis %d: width %.15g, expected %.15g", d,
                           sts.width[d], st[d] / sqrt(2.0));
    }
    free(psi);
    free(psi0);
    free(exact);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(heat, gaussian_matches_heat_kernel_1d) {
    const int64_t n[1] = {256};
    const double lo[1] = {-12.0}, hi[1] = {12.0};
    qdml_grid g = qt_grid(1, n, lo, hi);
    const double s[1] = {0.7}, c[1] = {0.4};
    run_heat(&g, 0.8, 1.3, s, c, 0.1, 20); /* D = 0.3077, 2 D tau = 1.23: the width nearly doubles */
}

Test(heat, gaussian_matches_heat_kernel_2d) {
    const int64_t n[2] = {96, 80};
    const double lo[2] = {-10.0, -11.0}, hi[2] = {10.0, 11.0};
    qdml_grid g = qt_grid(2, n, lo, hi);
    const double s[2] = {0.6, 0.9}, c[2] = {0.5, -0.3};
    run_heat(&g, 0.8, 1.3, s, c, 0.1, 15);
}

Test(heat, random_state_keeps_its_mean_and_steps_compose) {
    /* For ANY state, V = 0 imaginary time without renormalisation multiplies the k = 0 Fourier mode by
     * exp(0) = 1, so sum psi dV is invariant, and exp(-D k^2 tau) is a semigroup, so one step of tau
     * equals 10 steps of tau/10. Random complex values at every point (not resolved at all) make
     * this hold for a generic input. Bounds: 1e-12 relative to sum |psi| dV (rounding of ~20 FFTs
     * of 256 values of size ~1), 1e-12 absolute on the states (|psi| <= sqrt 2). */
    const int64_t n[1] = {256};
    const double lo[1] = {-3.0}, hi[1] = {5.0};
    qdml_grid g = qt_grid(1, n, lo, hi);
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, &g, 2);
    qt_set_zero_potential(p);
    cr_assert_eq(qdml_problem_set_hbar(p, QDML_ALL_MEMBERS, 1.3), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, QDML_ALL_MEMBERS, 0.45), QDML_OK);
    qt_rng rng;
    qt_rng_seed(&rng, 11);
    double psi0[512];
    double sre = 0.0, sim = 0.0, sabs = 0.0;
    for (int i = 0; i < 256; ++i) {
        psi0[2 * i] = 2.0 * qt_uniform(&rng) - 1.0;
        psi0[2 * i + 1] = 2.0 * qt_uniform(&rng) - 1.0;
        sre += psi0[2 * i];
        sim += psi0[2 * i + 1];
        sabs += hypot(psi0[2 * i], psi0[2 * i + 1]);
    }
    cr_assert_eq(qdml_problem_set_state(p, QDML_ALL_MEMBERS, psi0), QDML_OK);
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = QDML_IMAGINARY_TIME;
    o.renormalize = 0;
    o.dt = 0.3;
    o.steps = 1;
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK);
    double *one = qt_get_state(p, 0);
    cr_assert_eq(qdml_problem_set_state(p, QDML_ALL_MEMBERS, psi0), QDML_OK);
    o.dt = 0.03;
    o.steps = 10;
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK);
    double *ten = qt_get_state(p, 1);
    double re1 = 0.0, im1 = 0.0;
    for (int i = 0; i < 256; ++i) {
        re1 += one[2 * i];
        im1 += one[2 * i + 1];
    }
    double dmean = hypot(re1 - sre, im1 - sim);
    cr_assert_leq(dmean, 1e-12 * sabs, "sum psi changed from (%.15g, %.15g) to (%.15g, %.15g)", sre, sim, re1, im1);
    double err = qt_max_abs_diff(one, ten, 256);
    cr_assert_leq(err, 1e-12, "1 step of 0.3 vs 10 steps of 0.03: max difference %.3g", err);
    /* And diffusion really happened: the random state is smoothed a lot (not a no-op). */
    double diff0 = qt_max_abs_diff(one, psi0, 256);
    cr_assert_geq(diff0, 0.1, "the state barely changed (%.3g): no diffusion?", diff0);
    free(one);
    free(ten);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

/* Any state, on odd, prime and mixed grids: with a constant V = v0 every Fourier mode decays by exactly
 * exp(-(hbar k^2 / 2m + v0 / hbar) tau) without renormalisation, and renormalised runs end at that
 * state scaled to norm 1. tau is short enough that the highest mode keeps about e^-2 of its weight, so a
 * wrong wavenumber there shows. Bound 1e-12 of max |psi| (rounding, as in test_free_packet.c). */
static void run_any_state_heat(int dim, const int64_t *n, const double *half, int renormalize, uint64_t seed) {
    double lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1};
    for (int d = 0; d < dim; ++d) {
        lo[d] = -half[d];
        hi[d] = half[d];
    }
    qdml_grid g = qt_grid(dim, n, lo, hi);
    const double hbar = 0.7, m = 1.9, v0 = -0.8, dt = 0.002;
    const int64_t steps = 5;
    double kmax2 = 0.0;
    for (int d = 0; d < dim; ++d) {
        const double k = QT_PI / qdml_grid_spacing(&g, d);
        kmax2 += k * k;
    }
    const double top = exp(-hbar * kmax2 * dt * (double)steps / (2.0 * m));
    cr_assert(top > 1e-3 && top < 0.5, "setup: the highest mode decays by %.3g", top);
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, &g, 1);
    const int64_t npts = qdml_problem_points(p);
    double *v = qt_calloc((size_t)npts, sizeof *v);
    for (int64_t i = 0; i < npts; ++i)
        v[i] = v0;
    cr_assert_eq(qdml_problem_set_potential(p, 0, v), QDML_OK);
    cr_assert_eq(qdml_problem_set_hbar(p, 0, hbar), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, 0, m), QDML_OK);
    qt_rng r;
    qt_rng_seed(&r, seed);
    double *psi0 = qt_random_state(&g, &r);
    cr_assert_eq(qdml_problem_set_state(p, 0, psi0), QDML_OK);
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = QDML_IMAGINARY_TIME;
    o.renormalize = renormalize;
    o.dt = dt;
    o.steps = steps;
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
    double *exact = qt_calloc(2 * (size_t)npts, sizeof *exact);
    qt_exact_flat_evolution(&g, psi0, exact, hbar, m, v0, dt * (double)steps, 1);
    if (renormalize) {
        const double f = 1.0 / sqrt(qt_norm(exact, npts, qdml_grid_dv(&g)));
        for (int64_t i = 0; i < 2 * npts; ++i)
            exact[i] *= f;
    }
    double *psi = qt_get_state(p, 0);
    const double err = qt_max_abs_diff(psi, exact, npts), mx = qt_max_abs(exact, npts);
    cr_log_info("heat, any state, %dD, renormalize %d: max |psi - exact| = %.3g of max |psi|", dim, renormalize,
                err / mx);
    cr_assert_leq(err, 1e-12 * mx, "%dD (n0 = %lld), renormalize %d: max |psi - exact| = %.3g, max |psi| = %.3g", dim,
                  (long long)n[0], renormalize, err, mx);
    free(psi);
    free(exact);
    free(psi0);
    free(v);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(heat, any_state_decays_by_the_exact_factor_on_odd_prime_and_mixed_grids) {
    static const struct {
        int dim;
        int64_t n[3];
        double half[3];
    } grids[] = {
        {1, {97, 0, 0}, {5.0, 0, 0}},    {1, {63, 0, 0}, {3.5, 0, 0}},       {2, {45, 51, 0}, {4.0, 4.5, 0}},
        {2, {48, 45, 0}, {4.5, 4.0, 0}}, {3, {31, 33, 35}, {4.0, 4.5, 5.0}},
    };
    for (size_t k = 0; k < sizeof grids / sizeof grids[0]; ++k)
        for (int renormalize = 0; renormalize < 2; ++renormalize)
            run_any_state_heat(grids[k].dim, grids[k].n, grids[k].half, renormalize,
                               800 + 2 * k + (uint64_t)renormalize);
}
