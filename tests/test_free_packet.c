/* Free Gaussian packets (V = 0) in real time against the closed form of the full complex psi(x, t).
 *
 * Closed form (DESIGN.md, "Correctness ground truth"), per axis, with Theta = hbar t / (2 m s0^2),
 * v = hbar k0 / m, omega = hbar k0^2 / (2 m):
 *   psi = (2 pi s0^2)^(-1/4) (1 + i Theta)^(-1/2)
 *         exp[-(x - x0 - v t)^2 / (4 s0^2 (1 + i Theta)) + i k0 (x - x0) - i omega t],
 * and the ND packet is the product over axes. At t = 0 it is exactly what
 * qdml_problem_set_state_gaussian builds, so the comparison needs no fitting.
 *
 * Error budget: with V = 0 the split-step map is the exact propagator of the sampled, band-limited
 * state (the kinetic factor exp(-i hbar k^2 dt / 2m) composes exactly over steps), so the only errors
 * are (a) aliasing in k: the sampled packet's transform carries the tail of psi_hat beyond the
 * Nyquist wavenumber k_N, relative weight exp(-a^2) per axis with a = s0 (k_N - |k0|) (|psi_hat| ~
 * exp(-s0^2 (k - k0)^2)), (b) the periodic images of the packet: an image whose centre is `dist`
 * beyond the nearer edge contributes exp(-dist^2 / (4 sigma(t)^2)) of the peak, and (c) rounding,
 * ~1e-15 per FFT. Each setup asserts that (a) + (b), summed over the axes at the start and at the
 * end, is below a quarter of its tolerance: 1e-10 where the grid has room (even sizes and 97, 45 x 51),
 * 1e-8 on 31 x 33 x 35, where a Gaussian cannot be both 10 widths from the edges and resolved to
 * 1e-16 (that would need about 45 points per axis). A wrong wavenumber, sign or step moves psi by
 * O(1). Odd sizes leave the highest mode of an axis unpaired; a resolved packet carries no weight
 * there, so any_state_... below checks every mode with a random state.
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context; the CPU by default): the behaviour tested here
 * is every backend's, with float64 bounds.
 */
#include <complex.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "support.h"

typedef struct {
    double s0, x0, k0; /* width (std of |psi|^2), centre, wavenumber at t = 0 */
} axis_packet;

static double complex packet_1d(double x, double t, double hbar, double m, const axis_packet *a) {
    double theta = hbar * t / (2.0 * m * a->s0 * a->s0);
    double v = hbar * a->k0 / m;
    double omega = hbar * a->k0 * a->k0 / (2.0 * m);
    double complex q = 1.0 + I * theta;
    double y = x - a->x0 - v * t;
    return pow(2.0 * QT_PI * a->s0 * a->s0, -0.25) / csqrt(q) *
           cexp(-y * y / (4.0 * a->s0 * a->s0 * q) + I * (a->k0 * (x - a->x0) - omega * t));
}

static double sigma_t(double t, double hbar, double m, const axis_packet *a) {
    double theta = hbar * t / (2.0 * m * a->s0 * a->s0);
    return a->s0 * sqrt(1.0 + theta * theta);
}

/* Evolve the packet for `steps` steps of dt on grid g and compare with the closed form to tol. */
static void run_free_packet(const qdml_grid *g, double hbar, double m, const axis_packet *ax, double dt, int64_t steps,
                            double tol) {
    const int dim = g->dim;
    const double T = dt * (double)steps;

    /* Preconditions on the setup (see the file comment): the predicted error is a quarter of tol. */
    double predicted = 0.0;
    for (int d = 0; d < dim; ++d) {
        const double kn = QT_PI / qdml_grid_spacing(g, d);
        const double a = ax[d].s0 * (kn - fabs(ax[d].k0));
        cr_assert_gt(a, 0.0, "setup: axis %d: |k0| = %g beyond k_N = %g", d, ax[d].k0, kn);
        const double v = hbar * ax[d].k0 / m;
        const double c0 = ax[d].x0, c1 = ax[d].x0 + v * T;
        const double dist = fmin(fmin(c0 - g->lo[d], g->hi[d] - c0), fmin(c1 - g->lo[d], g->hi[d] - c1));
        const double st = sigma_t(T, hbar, m, &ax[d]);
        predicted += exp(-a * a) + exp(-dist * dist / (4.0 * st * st));
    }
    cr_assert_leq(predicted, 0.25 * tol, "setup: aliasing and images predict %.3g, more than a quarter of tol %.3g",
                  predicted, tol);

    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, g, 1);
    qt_set_zero_potential(p);
    cr_assert_eq(qdml_problem_set_hbar(p, 0, hbar), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, 0, m), QDML_OK);
    double c[3], w[3], k[3];
    for (int d = 0; d < dim; ++d) {
        c[d] = ax[d].x0;
        w[d] = ax[d].s0;
        k[d] = ax[d].k0;
    }
    cr_assert_eq(qdml_problem_set_state_gaussian(p, 0, c, w, k), QDML_OK, "%s", qdml_context_last_error(ctx));

    const int64_t npts = qdml_problem_points(p);
    double *exact = qt_calloc(2 * (size_t)npts, sizeof *exact);
    /* The initial state must be the t = 0 closed form (same formula, so rounding only). */
    for (int pass = 0; pass < 2; ++pass) {
        double t = pass == 0 ? 0.0 : T;
        for (int64_t i = 0; i < npts; ++i) {
            double x[3];
            qt_coords(g, i, x);
            double complex z = 1.0;
            for (int d = 0; d < dim; ++d) z *= packet_1d(x[d], t, hbar, m, &ax[d]);
            exact[2 * i] = creal(z);
            exact[2 * i + 1] = cimag(z);
        }
        if (pass == 0) {
            double *psi0 = qt_get_state(p, 0);
            double e0 = qt_max_abs_diff(psi0, exact, npts);
            free(psi0);
            cr_assert_leq(e0, 1e-13, "%dD initial state differs from the t = 0 closed form by %.3g", dim, e0);
            qdml_evolve_options o;
            qdml_evolve_options_default(&o);
            o.mode = QDML_REAL_TIME;
            o.dt = dt;
            o.steps = steps;
            qdml_run_result r;
            qdml_status st = qdml_problem_evolve(p, &o, &r);
            cr_assert_eq(st, QDML_OK, "evolve: %s", qdml_context_last_error(ctx));
            cr_assert_eq(r.steps, steps, "steps taken %lld, asked %lld", (long long)r.steps, (long long)steps);
        }
    }

    double *psi = qt_get_state(p, 0);
    double err = qt_max_abs_diff(psi, exact, npts);
    double peak = qt_max_abs(exact, npts);
    cr_log_info("free packet %dD: max |psi - exact| = %.3g (peak %.3g, predicted %.3g) after t = %g", dim, err, peak,
                predicted, T);
    cr_assert_leq(err, tol, "%dD free packet: max |psi - exact| = %.3g > %.3g at t = %g (peak |psi| = %.3g)", dim, err,
                  tol, T, peak);

    /* Statistics: the norm is conserved, <x> = x0 + v t, width = s0 sqrt(1 + Theta^2), and
     * <H> = sum over axes of hbar^2 (k0^2 + 1/(4 s0^2)) / 2m (constant in time). The sums are spectrally
     * accurate for these resolved packets, so the same budget tol applies (relative for <H>). */
    qdml_stats s;
    cr_assert_eq(qdml_problem_stats(p, 0, &s), QDML_OK);
    cr_assert_float_eq(s.norm, 1.0, 1e-12, "norm %.16g (expected 1)", s.norm);
    double e_exact = 0.0;
    for (int d = 0; d < dim; ++d) {
        double mean = ax[d].x0 + hbar * ax[d].k0 / m * T;
        double width = sigma_t(T, hbar, m, &ax[d]);
        cr_assert_float_eq(s.mean[d], mean, tol, "axis %d: <x> = %.15g, expected %.15g", d, s.mean[d], mean);
        cr_assert_float_eq(s.width[d], width, tol, "axis %d: width = %.15g, expected %.15g", d, s.width[d], width);
        e_exact += hbar * hbar * (ax[d].k0 * ax[d].k0 + 1.0 / (4.0 * ax[d].s0 * ax[d].s0)) / (2.0 * m);
    }
    cr_assert_leq(fabs(s.energy - e_exact), tol * e_exact, "<H> = %.15g, expected %.15g", s.energy, e_exact);
    cr_assert_leq(fabs(s.potential), 1e-300, "<V> = %g with V = 0", s.potential);
    cr_assert_float_eq(s.time, T, 1e-12 * T, "stats.time = %.15g, expected %.15g", s.time, T);
    cr_assert_eq(s.step, steps, "stats.step = %lld", (long long)s.step);

    free(psi);
    free(exact);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(free_packet, matches_closed_form_1d) {
    /* hbar = 0.7, m = 1.9: Theta(T) = 1.47, so the packet spreads to 1.8 s0 and moves by 2.2. */
    const int64_t n[1] = {256};
    const double lo[1] = {-16.0}, hi[1] = {16.0};
    qdml_grid g = qt_grid(1, n, lo, hi);
    axis_packet ax[1] = {{0.5, -1.1, 3.0}};
    run_free_packet(&g, 0.7, 1.9, ax, 0.125, 16, 1e-10);
}

Test(free_packet, matches_closed_form_2d) {
    /* Different n, box, width and momentum per axis (one negative) exercise the axis order. */
    const int64_t n[2] = {96, 80};
    const double lo[2] = {-10.0, -11.0}, hi[2] = {10.0, 11.0};
    qdml_grid g = qt_grid(2, n, lo, hi);
    axis_packet ax[2] = {{0.6, -0.8, 2.0}, {0.8, 0.5, -1.5}};
    run_free_packet(&g, 0.7, 1.9, ax, 0.1, 15, 1e-10);
}

Test(free_packet, matches_closed_form_3d) {
    const int64_t n[3] = {64, 48, 48};
    const double lo[3] = {-9.0, -9.5, -10.5}, hi[3] = {9.0, 9.5, 10.5};
    qdml_grid g = qt_grid(3, n, lo, hi);
    axis_packet ax[3] = {{0.8, -0.4, 1.5}, {0.9, 0.2, -0.4}, {1.0, -0.1, 0.3}};
    run_free_packet(&g, 0.7, 1.9, ax, 0.125, 8, 1e-10);
}

/* Odd and prime sizes: the wavenumbers of an odd axis run from -(n-1)/2 to (n-1)/2, with no Nyquist
 * mode. The same closed forms on 97 points, 45 x 51 and 31 x 33 x 35 (boxes and widths chosen for the
 * budget of the file comment). */
Test(free_packet, matches_closed_form_1d_prime_97) {
    const int64_t n[1] = {97};
    const double lo[1] = {-14.25}, hi[1] = {14.25};
    qdml_grid g = qt_grid(1, n, lo, hi);
    axis_packet ax[1] = {{0.9, -1.1, 3.0}};
    run_free_packet(&g, 0.7, 1.9, ax, 0.125, 12, 1e-10);
}

Test(free_packet, matches_closed_form_2d_odd_45x51) {
    const int64_t n[2] = {45, 51};
    const double lo[2] = {-9.5, -8.5}, hi[2] = {9.5, 8.5};
    qdml_grid g = qt_grid(2, n, lo, hi);
    axis_packet ax[2] = {{0.825, -0.8, 1.0}, {0.7, 0.5, -1.5}};
    run_free_packet(&g, 0.7, 1.9, ax, 0.1, 6, 1e-10);
}

Test(free_packet, matches_closed_form_3d_odd_31x33x35) {
    const int64_t n[3] = {31, 33, 35};
    const double lo[3] = {-7.0, -6.25, -6.0}, hi[3] = {7.0, 6.25, 6.0};
    qdml_grid g = qt_grid(3, n, lo, hi);
    axis_packet ax[3] = {{0.725, -0.2, 0.5}, {0.625, 0.2, -0.6}, {0.575, -0.1, 0.5}};
    run_free_packet(&g, 0.7, 1.9, ax, 0.1, 3, 1e-8);
}

Test(free_packet, one_long_step_equals_many_short_steps) {
    /* With V = 0 the step size is irrelevant: one step of T and 16 steps of T/16 give the same state
     * up to rounding (bound 1e-12: ~20 FFT round trips at ~1e-15 each, on |psi| <= 0.8). */
    const int64_t n[1] = {256};
    const double lo[1] = {-16.0}, hi[1] = {16.0};
    qdml_grid g = qt_grid(1, n, lo, hi);
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, &g, 2);
    qt_set_zero_potential(p);
    cr_assert_eq(qdml_problem_set_hbar(p, QDML_ALL_MEMBERS, 0.7), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, QDML_ALL_MEMBERS, 1.9), QDML_OK);
    const double c = -1.1, w = 0.5, k = 3.0;
    cr_assert_eq(qdml_problem_set_state_gaussian(p, QDML_ALL_MEMBERS, &c, &w, &k), QDML_OK);
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.dt = 2.0;
    o.steps = 1;
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK);
    double *one = qt_get_state(p, 0);
    cr_assert_eq(qdml_problem_set_state_gaussian(p, QDML_ALL_MEMBERS, &c, &w, &k), QDML_OK);
    o.dt = 0.125;
    o.steps = 16;
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK);
    double *many = qt_get_state(p, 1);
    double err = qt_max_abs_diff(one, many, 256);
    cr_assert_leq(err, 1e-12, "1 step of 2.0 vs 16 steps of 0.125: max difference %.3g", err);
    free(one);
    free(many);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

/* Any state, not only a resolved packet: with a constant V = v0 every Fourier mode of the grid moves
 * by exactly exp(-i (hbar k^2 / 2m + v0 / hbar) t), whatever the state (the split-step factors of a
 * constant V commute with the kinetic ones). A random state puts weight on every mode, up to the
 * highest one of an odd axis, (n-1)/2, whose wavenumber only a state with weight there can check;
 * qt_exact_flat_evolution computes the closed form with direct sums, not FFTW. Bound 1e-12 of
 * max |psi|: two FFTs and two multiplies per step round at ~1e-15 relative each (10 steps), and the
 * direct sums at ~1e-15 x sqrt(n) per axis. */
static void run_any_state(int dim, const int64_t *n, const double *half, uint64_t seed) {
    double lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1};
    for (int d = 0; d < dim; ++d) {
        lo[d] = -half[d] + 0.1 * d;
        hi[d] = half[d] + 0.1 * d;
    }
    qdml_grid g = qt_grid(dim, n, lo, hi);
    const double hbar = 0.7, m = 1.9, v0 = 0.37, dt = 0.01;
    const int64_t steps = 10;
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
    o.mode = QDML_REAL_TIME;
    o.dt = dt;
    o.steps = steps;
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
    double *exact = qt_calloc(2 * (size_t)npts, sizeof *exact);
    qt_exact_flat_evolution(&g, psi0, exact, hbar, m, v0, dt * (double)steps, 0);
    double *psi = qt_get_state(p, 0);
    const double err = qt_max_abs_diff(psi, exact, npts), mx = qt_max_abs(exact, npts);
    /* The closed form is not the identity: the state really moved (phases of several radians). */
    const double moved = qt_max_abs_diff(psi0, exact, npts);
    char shape[64];
    int len = 0;
    for (int d = 0; d < dim; ++d)
        len += snprintf(shape + len, sizeof shape - (size_t)len, "%s%lld", d ? "x" : "", (long long)n[d]);
    cr_log_info("any state %s: max |psi - exact| = %.3g of max |psi| %.3g (moved by %.3g)", shape, err / mx, mx,
                moved / mx);
    cr_assert_geq(moved, 0.5 * mx, "%s: the exact evolution moved the state by only %.3g", shape, moved);
    cr_assert_leq(err, 1e-12 * mx, "%s: max |psi - exact| = %.3g, max |psi| = %.3g (relative %.3g > 1e-12)", shape, err,
                  mx, err / mx);
    free(psi);
    free(exact);
    free(psi0);
    free(v);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(free_packet, any_state_moves_by_the_exact_propagator_on_odd_prime_and_mixed_grids) {
    static const struct {
        int dim;
        int64_t n[3];
        double half[3];
    } grids[] = {
        {1, {97, 0, 0}, {5.0, 0, 0}},      {1, {63, 0, 0}, {4.0, 0, 0}},    {1, {64, 0, 0}, {4.0, 0, 0}},
        {2, {45, 51, 0}, {3.0, 3.5, 0}},   {2, {48, 45, 0}, {3.0, 2.5, 0}}, {3, {31, 33, 35}, {3.0, 3.5, 4.0}},
        {3, {16, 15, 9}, {2.0, 2.0, 1.5}},
    };
    for (size_t k = 0; k < sizeof grids / sizeof grids[0]; ++k)
        run_any_state(grids[k].dim, grids[k].n, grids[k].half, 700 + k);
}
