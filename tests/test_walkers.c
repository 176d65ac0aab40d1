/* The walkers (qdml_walkers.h) against closed forms, with statistical bounds that can fail:
 *  - the d-dimensional harmonic oscillator, anisotropic: plain diffusion (d = 1, 10) against the exact
 *    energies of the algorithm at finite dt (below); importance sampling (d = 100) extrapolated to
 *    dt -> 0 against sum hbar w_i / 2; the exact trial function (zero variance) and an inexact one;
 *  - the grid solver's ground energy (qdml_problem_ground) for a double well and a Morse potential in
 *    1D, 2D and 3D, against the walkers' energy extrapolated to dt -> 0;
 *  - the walkers' histogram in 1D against psi_0 (plain, the exact density at finite dt) and psi_T psi_0
 *    (importance sampled): chi^2 with the bins' errors from a blocking analysis over time;
 *  - the same numbers for the same seed whatever the number of threads, and for a callback that
 *    computes what a built-in does.
 * (test_walkers_anneal.c: the minimisers found by annealing; test_walkers_stats.c: the pieces.)
 *
 * The plain algorithm at finite dt, for V = k x^2 / 2 per axis: the symmetric weight makes a step the
 * operator exp(-dt V / 2hbar) exp(dt (hbar / 2m) lap) exp(-dt V / 2hbar), whose ground state is a
 * Gaussian exp(-a x^2 / 2) with, for s^2 = hbar dt / m and c = k dt / (2 hbar),
 *    b = c + sqrt(c^2 + 2 c / s^2),  a = b - c,  eigenvalue (1 + b s^2)^(-1/2) exp(E_ref dt / hbar),
 * so the growth estimator converges to hbar ln(1 + b s^2) / (2 dt) and the mixed one (<V> over the
 * walkers' density exp(-a x^2 / 2)) to k / (2 a); both -> hbar w / 2 as dt -> 0 (docs/walkers.md).
 * Each comparison allows 4 standard errors (blocking analysis), plus, where said, the population
 * control's bias. */
#include <criterion/criterion.h>
#include <math.h>
#include <qdml/qdml_walkers.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static qdml_walkers *make(qdml_context *ctx, int dim, int64_t batch, int64_t w, uint64_t seed, double alpha) {
    qdml_walkers_config c = {dim, batch, w, 0.0, seed, alpha};
    qdml_walkers *p = NULL;
    cr_assert_eq(qdml_walkers_create(&p, ctx, &c), QDML_OK, "%s", qdml_context_last_error(ctx));
    return p;
}

/* harmonic with per-axis k (c = 0) */
static void set_harmonic(qdml_walkers *w, int dim, const double *k) {
    qdml_objective o;
    cr_assert_eq(qdml_objective_default(QDML_OBJECTIVE_HARMONIC, dim < 3 ? dim : 3, &o), QDML_OK);
    double *ax = calloc(2 * (size_t)dim, sizeof *ax);
    memcpy(ax, k, (size_t)dim * sizeof *ax);
    cr_assert_eq(qdml_walkers_set_objective(w, -1, &o, ax), QDML_OK, "%s", qdml_last_error_message());
    free(ax);
}

static void box(int dim, double h, double **lo, double **hi) {
    *lo = malloc((size_t)dim * sizeof **lo), *hi = malloc((size_t)dim * sizeof **hi);
    for (int a = 0; a < dim; ++a)
        (*lo)[a] = -h, (*hi)[a] = h;
}

static void exact_plain(const double *k, int dim, double hbar, double m, double dt, double *growth, double *mixed,
                        double *e0) {
    *growth = *mixed = *e0 = 0.0;
    for (int a = 0; a < dim; ++a) {
        const double s2 = hbar * dt / m, c = k[a] * dt / (2 * hbar), r = sqrt(c * c + 2 * c / s2);
        *growth += hbar * log(1 + (c + r) * s2) / (2 * dt);
        *mixed += k[a] / (2 * r);
        *e0 += 0.5 * hbar * sqrt(k[a] / m);
    }
}

/* Plain diffusion, d = 1 and 10, k_i drawn from [0.5, 2], hbar 0.8, m 1.3: growth and mixed energies
 * within 4 errors plus 0.2 % of the algorithm's exact values at this dt. The 0.2 % is an allowance for
 * the population control's bias, O(1/W) and growing with d (docs/walkers.md: at W = 2000 we measured
 * about 0.3 % at d = 10, with an error of 0.1 %, and 19 % at d = 100, where plain diffusion is not
 * usable and importance sampling is: the next test). The exact values are within 0.3 % of the dt -> 0
 * energy, printed as the time-step bias. */
Test(walkers, harmonic_anisotropic_plain_d1_d10) {
    qdml_context *ctx = qt_cpu_context();
    const int dims[2] = {1, 10};
    const int64_t pop[2] = {2000, 4000}, steps[2] = {8000, 3000};
    const double hbar = 0.8, m = 1.3, dts[2] = {0.1, 0.05};
    qt_rng rng;
    qt_rng_seed(&rng, 5);
    for (int t = 0; t < 2; ++t) {
        const int dim = dims[t];
        const double dt = dts[t];
        double *k = malloc((size_t)dim * sizeof *k), *lo, *hi;
        for (int a = 0; a < dim; ++a)
            k[a] = 0.5 + 1.5 * qt_uniform(&rng);
        qdml_walkers *w = make(ctx, dim, 1, pop[t], 11 + (uint64_t)t, 0.0);
        set_harmonic(w, dim, k);
        box(dim, 1.0, &lo, &hi);
        cr_assert_eq(qdml_walkers_place(w, -1, 0, NULL, lo, hi), QDML_OK, "%s", qdml_last_error_message());
        qdml_walkers_run_options o = {dt, hbar, m, steps[t], 400, 0, NULL, 0, NULL};
        qdml_walkers_result r;
        cr_assert_eq(qdml_walkers_run(w, &o, &r, NULL), QDML_OK, "%s", qdml_last_error_message());
        double eg, em, e0;
        exact_plain(k, dim, hbar, m, dt, &eg, &em, &e0);
        cr_log_info("plain, d = %d, W = %lld, dt %g: growth %.6f +- %.6f (exact at dt %.6f), mixed %.6f +- %.6f (exact "
                    "%.6f), E0 %.6f, time-step bias %.3g, correlation %.1f steps, population %.1f",
                    dim, (long long)pop[t], dt, r.energy, r.energy_error, eg, r.mixed_energy, r.mixed_error, em, e0,
                    eg - e0, r.correlation_steps, r.mean_population);
        cr_expect(fabs(r.energy - eg) < 4 * r.energy_error + 2e-3 * e0, "d = %d: growth %.6f +- %.6f, exact %.6f", dim,
                  r.energy, r.energy_error, eg);
        cr_expect(fabs(r.mixed_energy - em) < 4 * r.mixed_error + 2e-3 * e0, "d = %d: mixed %.6f +- %.6f, exact %.6f",
                  dim, r.mixed_energy, r.mixed_error, em);
        cr_expect(r.energy_error < 0.005 * e0 && r.energy_error > 0, "d = %d: error %g", dim, r.energy_error);
        cr_expect(fabs(eg - e0) < 0.003 * e0 && fabs(em - e0) < 0.003 * e0);
        cr_expect(fabs(r.mean_population - (double)pop[t]) < 0.1 * (double)pop[t], "population %g", r.mean_population);
        cr_expect(r.acceptance == 1.0);
        qdml_walkers_destroy(w);
        free(k), free(lo), free(hi);
    }
    qdml_context_destroy(ctx);
}

/* d = 100, k_i drawn from [0.5, 2], with the trial function exp(-alpha f / hbar), alpha = sqrt(m / 1.25)
 * (exact for k = 1.25 only): the growth energies at dt = 0.04 and 0.02 extrapolated to dt -> 0 (leading
 * order dt) within 4 errors of sum hbar w_i / 2, and each within 0.1 % of it. */
Test(walkers, harmonic_anisotropic_d100_importance) {
    qdml_context *ctx = qt_cpu_context();
    const int dim = 100;
    const double hbar = 0.8, m = 1.3;
    double k[100], e0 = 0.0, *lo, *hi;
    qt_rng rng;
    qt_rng_seed(&rng, 6);
    for (int a = 0; a < dim; ++a)
        k[a] = 0.5 + 1.5 * qt_uniform(&rng), e0 += 0.5 * hbar * sqrt(k[a] / m);
    box(dim, 1.0, &lo, &hi);
    double dts[2] = {0.04, 0.02}, es[2], errs[2];
    for (int i = 0; i < 2; ++i) {
        qdml_walkers *w = make(ctx, dim, 1, 1000, 31, sqrt(m / 1.25));
        set_harmonic(w, dim, k);
        cr_assert_eq(qdml_walkers_place(w, -1, 0, NULL, lo, hi), QDML_OK);
        qdml_walkers_run_options o = {dts[i], hbar, m, (int64_t)(40 / dts[i]), (int64_t)(8 / dts[i]), 0, NULL, 0, NULL};
        qdml_walkers_result r;
        cr_assert_eq(qdml_walkers_run(w, &o, &r, NULL), QDML_OK, "%s", qdml_last_error_message());
        es[i] = r.energy, errs[i] = r.energy_error;
        cr_log_info("d = 100, importance sampled, dt %g: growth %.6f +- %.6f, mixed %.6f +- %.6f, E0 %.6f, "
                    "acceptance %.4f, correlation %.1f steps",
                    dts[i], r.energy, r.energy_error, r.mixed_energy, r.mixed_error, e0, r.acceptance,
                    r.correlation_steps);
        cr_expect(fabs(r.energy - e0) < 1e-3 * e0, "dt %g: growth %.6f, E0 %.6f", dts[i], r.energy, e0);
        qdml_walkers_destroy(w);
    }
    double ex, exe;
    cr_assert_eq(qdml_walkers_extrapolate(dts, es, errs, 2, 1, &ex, &exe), QDML_OK);
    cr_log_info("d = 100: extrapolated %.6f +- %.6f, E0 %.6f, time-step bias at dt %g: %.3g", ex, exe, e0, dts[0],
                es[0] - ex);
    cr_expect(fabs(ex - e0) < 4 * exe, "extrapolated %.6f +- %.6f, E0 %.6f", ex, exe, e0);
    free(lo), free(hi);
    qdml_context_destroy(ctx);
}

/* The exact trial function exp(-f / (hbar w)) for isotropic k = m w^2 (alpha = 1 / w): E_L is the
 * constant d hbar w / 2 at every point, so both estimators equal it to rounding, at any dt, with zero
 * error. An inexact one (alpha = 0.6 / w, anisotropic k): the energies at dt and dt / 2 extrapolated
 * (leading order dt) agree with sum hbar w_i / 2 within 4 errors. */
Test(walkers, harmonic_importance_sampling) {
    qdml_context *ctx = qt_cpu_context();
    const int dim = 10;
    const double hbar = 0.8, m = 1.3, kk = 2.0, w0 = sqrt(kk / m);
    double k[10], *lo, *hi;
    for (int a = 0; a < dim; ++a)
        k[a] = kk;
    box(dim, 1.0, &lo, &hi);
    qdml_walkers *w = make(ctx, dim, 1, 500, 3, 1.0 / w0);
    set_harmonic(w, dim, k);
    cr_assert_eq(qdml_walkers_place(w, -1, 0, NULL, lo, hi), QDML_OK);
    qdml_walkers_run_options o = {0.05, hbar, m, 200, 50, 0, NULL, 0, NULL};
    qdml_walkers_result r;
    cr_assert_eq(qdml_walkers_run(w, &o, &r, NULL), QDML_OK, "%s", qdml_last_error_message());
    const double e0 = dim * hbar * w0 / 2;
    cr_log_info("exact trial: growth %.15g, mixed %.15g, E0 %.15g, acceptance %.4f", r.energy, r.mixed_energy, e0,
                r.acceptance);
    cr_expect(fabs(r.mixed_energy - e0) < 1e-12 * e0, "mixed %.15g, E0 %.15g", r.mixed_energy, e0);
    cr_expect(fabs(r.energy - e0) < 1e-10 * e0, "growth %.15g, E0 %.15g", r.energy, e0);
    cr_expect(r.acceptance > 0.9 && r.acceptance < 1.0, "acceptance %g", r.acceptance);
    qdml_walkers_destroy(w);

    qt_rng rng;
    qt_rng_seed(&rng, 8);
    double e0b = 0.0;
    for (int a = 0; a < dim; ++a)
        k[a] = 0.5 + 1.5 * qt_uniform(&rng), e0b += 0.5 * hbar * sqrt(k[a] / m);
    double dts[2] = {0.08, 0.04}, es[2], errs[2];
    for (int i = 0; i < 2; ++i) {
        w = make(ctx, dim, 1, 1000, 21, 0.6 / w0);
        set_harmonic(w, dim, k);
        cr_assert_eq(qdml_walkers_place(w, -1, 0, NULL, lo, hi), QDML_OK);
        qdml_walkers_run_options oi = {dts[i], hbar, m, (int64_t)(200 / dts[i]), (int64_t)(20 / dts[i]), 0, NULL, 0,
                                       NULL};
        cr_assert_eq(qdml_walkers_run(w, &oi, &r, NULL), QDML_OK, "%s", qdml_last_error_message());
        es[i] = r.energy, errs[i] = r.energy_error;
        cr_log_info("inexact trial, dt %g: growth %.6f +- %.6f, mixed %.6f +- %.6f, acceptance %.4f", dts[i], r.energy,
                    r.energy_error, r.mixed_energy, r.mixed_error, r.acceptance);
        qdml_walkers_destroy(w);
    }
    double ex, exe;
    cr_assert_eq(qdml_walkers_extrapolate(dts, es, errs, 2, 1, &ex, &exe), QDML_OK);
    cr_log_info("inexact trial: extrapolated %.6f +- %.6f, E0 %.6f, time-step bias at dt %g: %.3g", ex, exe, e0b,
                dts[0], es[0] - ex);
    cr_expect(fabs(ex - e0b) < 4 * exe, "extrapolated %.6f +- %.6f, E0 %.6f", ex, exe, e0b);
    free(lo), free(hi);
    qdml_context_destroy(ctx);
}

/* The grid solver's ground energy (LOBPCG to residual 1e-8 on a grid of the objective's domain)
 * against the walkers' growth energy at dt = 0.02 and 0.01 extrapolated to dt -> 0 (order dt^2, the
 * symmetric weight): within 4 errors plus 0.2 % (the population control's allowance, as above); and the
 * energy at dt = 0.02 within 3 of its errors plus the measured time-step bias E(0.02) - E(0). The
 * double well (a = 2, s = 1, tilt 0.3, harmonic k = 2 across) has two minima and tunnels; the Morse
 * potential (D = 1, a = 1) one bound state per axis, E0 = d (hbar w / 2 - (hbar w)^2 / (16 D)),
 * w = a sqrt(2 D / m), which the grid's energy is also checked against (to 1e-5: the domain's periodic
 * box cuts the state's tail). */
static double grid_energy(qdml_context *ctx, const qdml_objective *o, int dim, int64_t n) {
    double lo[3], hi[3];
    cr_assert_eq(qdml_objective_domain(o, dim, lo, hi), QDML_OK);
    const int64_t nn[3] = {n, n, n};
    const qdml_grid g = qt_grid(dim, nn, lo, hi);
    qdml_problem *p = qt_problem(ctx, &g, 1);
    cr_assert_eq(qdml_problem_set_objective(p, 0, o), QDML_OK);
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = 1e-8;
    go.method = QDML_GROUND_LOBPCG;
    qdml_run_result r;
    cr_assert_eq(qdml_problem_ground(p, &go, &r), QDML_OK, "%s", qdml_context_last_error(ctx));
    cr_assert(r.converged, "%dD grid: residual %g after %lld steps", dim, r.final.residual, (long long)r.steps);
    qdml_problem_destroy(p);
    return r.final.energy;
}

static void walkers_extrapolated(qdml_context *ctx, const qdml_objective *o, int dim, double *e0, double *err,
                                 double *bias, double *e_dt, double *err_dt) {
    const double dts[2] = {0.02, 0.01};
    double es[2], errs[2];
    for (int i = 0; i < 2; ++i) {
        qdml_walkers *w = make(ctx, dim, 1, 2000, 77, 0.0);
        cr_assert_eq(qdml_walkers_set_objective(w, -1, o, NULL), QDML_OK, "%s", qdml_last_error_message());
        double lo[3] = {-2, -2, -2}, hi[3] = {2, 2, 2};
        cr_assert_eq(qdml_walkers_place(w, -1, 0, NULL, lo, hi), QDML_OK);
        qdml_walkers_run_options r = {dts[i], 1.0, 1.0, (int64_t)(50 / dts[i]), (int64_t)(5 / dts[i]), 0, NULL, 0, NULL};
        qdml_walkers_result res;
        cr_assert_eq(qdml_walkers_run(w, &r, &res, NULL), QDML_OK, "%s", qdml_last_error_message());
        es[i] = res.energy, errs[i] = res.energy_error;
        qdml_walkers_destroy(w);
    }
    cr_assert_eq(qdml_walkers_extrapolate(dts, es, errs, 2, 2, e0, err), QDML_OK);
    *bias = es[0] - *e0;
    *e_dt = es[0], *err_dt = errs[0];
}

Test(walkers, grid_ground_energy_double_well_and_morse_1d_2d_3d) {
    qdml_context *ctx = qt_cpu_context();
    const qdml_objective_kind kinds[2] = {QDML_OBJECTIVE_DOUBLE_WELL, QDML_OBJECTIVE_MORSE};
    const int64_t n[4] = {0, 256, 96, 48};
    for (int k = 0; k < 2; ++k)
        for (int dim = 1; dim <= 3; ++dim) {
            qdml_objective o;
            cr_assert_eq(qdml_objective_default(kinds[k], dim, &o), QDML_OK);
            const double eg = grid_energy(ctx, &o, dim, n[dim]);
            if (kinds[k] == QDML_OBJECTIVE_MORSE) {
                const double w = sqrt(2.0), exact = dim * (w / 2 - w * w / 16);
                /* the periodic box of the objective's domain cuts the state's tail: 1.5e-6 to 3.6e-6 here */
                cr_expect(fabs(eg - exact) < 1e-5, "morse %dD: grid %.12f, closed form %.12f", dim, eg, exact);
            }
            double e0, err, bias, edt, errdt;
            walkers_extrapolated(ctx, &o, dim, &e0, &err, &bias, &edt, &errdt);
            cr_log_info("%s %dD: grid %.8f, walkers (dt -> 0) %.6f +- %.6f, %.2f errors apart, time-step bias at dt 0.02: "
                        "%.3g",
                        qdml_objective_name(kinds[k]), dim, eg, e0, err, fabs(e0 - eg) / err, bias);
            cr_expect(fabs(e0 - eg) < 4 * err + 2e-3 * fabs(eg), "%s %dD: walkers %.6f +- %.6f, grid %.8f",
                      qdml_objective_name(kinds[k]), dim, e0, err, eg);
            cr_expect(err < 5e-3 * fabs(eg), "error %g", err);
            /* and as the issue put it: the energy at dt within 3 errors plus the measured time-step bias */
            cr_log_info("%s %dD at dt 0.02: %.6f +- %.6f, |E - grid| %.3g, 3 errors + |bias| %.3g",
                        qdml_objective_name(kinds[k]), dim, edt, errdt, fabs(edt - eg), 3 * errdt + fabs(bias));
            cr_expect(fabs(edt - eg) < 3 * errdt + fabs(bias), "%s %dD: at dt 0.02 %.6f +- %.6f (bias %.3g), grid %.8f",
                      qdml_objective_name(kinds[k]), dim, edt, errdt, bias, eg);
        }
    qdml_context_destroy(ctx);
}

/* The walkers' positions in 1D, hbar = m = 1, k = 1, 400 snapshots 5 steps apart after equilibration:
 * the share in each of 12 bins of [-3, 3], averaged over the snapshots, with its error from a blocking
 * analysis of the snapshot series, against the density's closed form: chi^2 over the 12 bins below its
 * 99.9 % quantile (32.9). Plain: exp(-a x^2 / 2), a = sqrt(c^2 + 2c / s^2) at dt (psi_0 itself as
 * dt -> 0; psi_0^2 would have a = 2 and fail by far). Importance sampled with exp(-alpha f / hbar),
 * alpha = 0.5: psi_T psi_0 = exp(-(1 + alpha) x^2 / 2) at dt -> 0; dt = 0.01 (its bias, O(dt), is well
 * below the bins' errors). */
static double chi2_histogram(qdml_context *ctx, double alpha, double dt, double a, int64_t gap) {
    enum { NB = 12, SNAP = 400 };
    qdml_walkers *w = make(ctx, 1, 1, 4000, 123, alpha);
    double k = 1.0;
    set_harmonic(w, 1, &k);
    double lo = -2, hi = 2;
    cr_assert_eq(qdml_walkers_place(w, -1, 0, NULL, &lo, &hi), QDML_OK);
    qdml_walkers_run_options o = {dt, 1.0, 1.0, (int64_t)(10 / dt), 0, 0, NULL, 0, NULL};
    cr_assert_eq(qdml_walkers_run(w, &o, NULL, NULL), QDML_OK); /* equilibrate */
    double *share = calloc((size_t)NB * SNAP, sizeof *share), *x = malloc(4 * 4000 * sizeof *x);
    for (int s = 0; s < SNAP; ++s) {
        qdml_walkers_run_options g = {dt, 1.0, 1.0, gap, 0, 0, NULL, 0, NULL};
        cr_assert_eq(qdml_walkers_run(w, &g, NULL, NULL), QDML_OK);
        int64_t n;
        cr_assert_eq(qdml_walkers_positions(w, 0, x, 4 * 4000, &n), QDML_OK);
        for (int64_t i = 0; i < n; ++i) {
            const int b = (int)floor((x[i] + 3.0) / 0.5);
            if (b >= 0 && b < NB) share[b * SNAP + s] += 1.0 / (double)n;
        }
    }
    double chi2 = 0.0;
    for (int b = 0; b < NB; ++b) {
        double mean, err;
        cr_assert_eq(qdml_blocking_error(share + b * SNAP, SNAP, &mean, &err, NULL), QDML_OK);
        const double x0 = -3.0 + 0.5 * b, x1 = x0 + 0.5, sa = sqrt(a);
        const double p = 0.5 * (erf(x1 * sa / sqrt(2.0)) - erf(x0 * sa / sqrt(2.0)));
        chi2 += (mean - p) * (mean - p) / (err * err);
    }
    free(share), free(x);
    qdml_walkers_destroy(w);
    return chi2;
}

Test(walkers, histogram_chi2_plain_and_importance_sampled) {
    qdml_context *ctx = qt_cpu_context();
    const double dt = 0.1, c = dt / 2, s2 = dt, a = sqrt(c * c + 2 * c / s2);
    const double chi_plain = chi2_histogram(ctx, 0.0, dt, a, 5);
    const double chi_wrong = chi2_histogram(ctx, 0.0, dt, 2.0, 5);
    const double chi_is = chi2_histogram(ctx, 0.5, 0.01, 1.5, 50);
    cr_log_info("chi^2 over 12 bins: plain %.2f, importance sampled %.2f (99.9 %% quantile 32.9); plain against "
                "psi_0^2: %.3g",
                chi_plain, chi_is, chi_wrong);
    cr_expect(chi_plain < 32.9, "plain: chi^2 %g", chi_plain);
    cr_expect(chi_is < 32.9, "importance sampled: chi^2 %g", chi_is);
    cr_expect(chi_wrong > 1000, "psi_0^2 was not told apart: chi^2 %g", chi_wrong);
    qdml_context_destroy(ctx);
}

/* ---- the same numbers, whatever the threads; callbacks; refusals ------------------------------------ */

static void run_small(qdml_context *ctx, qdml_walker_fn fn, double alpha, double *x, int64_t *n, qdml_walkers_result *r,
                      double *best) {
    const int dim = 5;
    qdml_walkers *w = make(ctx, dim, 2, 600, 4242, alpha);
    qdml_objective o;
    cr_assert_eq(qdml_objective_default(QDML_OBJECTIVE_HARMONIC, 3, &o), QDML_OK);
    const double ax[10] = {1, 2, 0.5, 1.5, 3, 0.1, -0.2, 0.3, 0, 0.5};
    if (fn)
        cr_assert_eq(qdml_walkers_set_objective_fn(w, -1, fn, (void *)ax), QDML_OK);
    else
        cr_assert_eq(qdml_walkers_set_objective(w, -1, &o, ax), QDML_OK);
    qdml_objective ra;
    cr_assert_eq(qdml_objective_parse("rastrigin:A=2", 3, &ra), QDML_OK);
    if (!fn) cr_assert_eq(qdml_walkers_set_objective(w, 1, &ra, NULL), QDML_OK);
    double lo[5] = {-1, -1, -1, -1, -1}, hi[5] = {1, 1, 1, 1, 1};
    cr_assert_eq(qdml_walkers_place(w, -1, 0, NULL, lo, hi), QDML_OK);
    qdml_walkers_run_options o2 = {0.02, 0.7, 1.1, 300, 20, 0, NULL, 0, NULL};
    cr_assert_eq(qdml_walkers_run(w, &o2, r, NULL), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(qdml_walkers_positions(w, 0, x, 4 * 600, n), QDML_OK);
    cr_assert_eq(qdml_walkers_best(w, 0, best, NULL), QDML_OK);
    qdml_walkers_destroy(w);
}

/* what the built-in harmonic computes, in the same order (core/objective_grad.h) */
static double harmonic_cb(const double *x, int dim, double *g, double *lap, void *user) {
    const double *ax = user;
    double f = 0.0, l = 0.0;
    for (int d = 0; d < dim; ++d) {
        const double k = ax[d], u = x[d] - ax[dim + d];
        f += 0.5 * k * u * u;
        if (g) g[d] = k * u;
        l += k;
    }
    if (lap) *lap = l;
    return f;
}

static qdml_context *cpu_threads(int n) {
    qdml_context *ctx = NULL;
    cr_assert_eq(qdml_context_create(&ctx, QDML_BACKEND_CPU, n), QDML_OK);
    return ctx;
}

Test(walkers, same_seed_same_numbers_any_threads_and_callbacks) {
    for (int is = 0; is < 2; ++is) {
        const double alpha = is ? 0.8 : 0.0;
        double x1[4 * 600 * 5], x2[4 * 600 * 5], x3[4 * 600 * 5], b1[5], b2[5], b3[5];
        int64_t n1, n2, n3;
        qdml_walkers_result r1[2], r2[2], r3[2];
        qdml_context *c1 = cpu_threads(1), *c2 = cpu_threads(2), *c3 = cpu_threads(3);
        run_small(c1, NULL, alpha, x1, &n1, r1, b1);
        run_small(c2, NULL, alpha, x2, &n2, r2, b2);
        run_small(c3, NULL, alpha, x3, &n3, r3, b3);
        cr_expect_eq(n1, n2);
        cr_expect_eq(n1, n3);
        cr_expect(memcmp(x1, x2, (size_t)n1 * 5 * sizeof(double)) == 0, "1 and 2 threads: different walkers");
        cr_expect(memcmp(x1, x3, (size_t)n1 * 5 * sizeof(double)) == 0, "1 and 3 threads: different walkers");
        cr_expect(memcmp(r1, r2, sizeof r1) == 0 && memcmp(r1, r3, sizeof r1) == 0, "different results");
        cr_expect(memcmp(b1, b2, sizeof b1) == 0);
        /* member 0 as a callback: the same bits */
        double xc[4 * 600 * 5], bc[5];
        int64_t nc;
        qdml_walkers_result rc[2];
        run_small(c2, harmonic_cb, alpha, xc, &nc, rc, bc);
        cr_expect_eq(nc, n1);
        cr_expect(memcmp(xc, x1, (size_t)n1 * 5 * sizeof(double)) == 0, "callback: different walkers");
        cr_expect(memcmp(&rc[0], &r1[0], sizeof rc[0]) == 0, "callback: different result");
        cr_expect(r1[0].energy != r1[1].energy, "the members are different objectives");
        qdml_context_destroy(c1), qdml_context_destroy(c2), qdml_context_destroy(c3);
    }
}

Test(walkers, refusals_name_the_problem) {
    qdml_context *ctx = qt_cpu_context();
    qdml_walkers *w = NULL;
    qdml_walkers_config c = {3, 1, 100, 0, 1, 0};
    cr_expect_eq(qdml_walkers_create(NULL, ctx, &c), QDML_ERR_INVALID_ARGUMENT);
    qdml_walkers_config bad = c;
    bad.dim = 0;
    cr_expect_eq(qdml_walkers_create(&w, ctx, &bad), QDML_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(qdml_context_last_error(ctx), "dim = 0"));
    bad = c, bad.walkers = 8;
    cr_expect_eq(qdml_walkers_create(&w, ctx, &bad), QDML_ERR_INVALID_ARGUMENT);
    bad = c, bad.capacity = 1.2;
    cr_expect_eq(qdml_walkers_create(&w, ctx, &bad), QDML_ERR_INVALID_ARGUMENT);
    bad = c, bad.alpha = -1;
    cr_expect_eq(qdml_walkers_create(&w, ctx, &bad), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_walkers_create(&w, ctx, &c), QDML_OK);
    qdml_walkers_run_options o = {0.01, 1, 1, 10, 0, 0, NULL, 0, NULL};
    cr_expect_eq(qdml_walkers_place(w, 0, 0, NULL, NULL, NULL), QDML_ERR_NOT_READY);
    cr_expect_eq(qdml_walkers_run(w, &o, NULL, NULL), QDML_ERR_NOT_READY);
    cr_expect(strstr(qdml_context_last_error(ctx), "qdml_walkers_place"));
    qdml_objective o2;
    cr_assert_eq(qdml_objective_default(QDML_OBJECTIVE_CAMEL3, 2, &o2), QDML_OK);
    cr_expect_eq(qdml_walkers_set_objective(w, 0, &o2, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(qdml_context_last_error(ctx), "2 dimensions only"), "%s", qdml_context_last_error(ctx));
    cr_expect_eq(qdml_walkers_set_objective(w, 1, &o2, NULL), QDML_ERR_INVALID_ARGUMENT);
    qdml_objective h;
    cr_assert_eq(qdml_objective_parse("harmonic", 3, &h), QDML_OK);
    const double neg[6] = {1, -1, 1, 0, 0, 0};
    cr_expect_eq(qdml_walkers_set_objective(w, 0, &h, neg), QDML_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(qdml_context_last_error(ctx), "k[1] = -1"), "%s", qdml_context_last_error(ctx));
    cr_assert_eq(qdml_walkers_set_objective(w, 0, &h, NULL), QDML_OK);
    const double lo[3] = {0, 0, 0}, hi[3] = {1, 0, 1};
    cr_expect_eq(qdml_walkers_place(w, 0, 0, NULL, lo, hi), QDML_ERR_INVALID_ARGUMENT);
    cr_expect_eq(qdml_walkers_place(w, 0, 100000, NULL, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_walkers_place(w, 0, 0, NULL, NULL, NULL), QDML_OK);
    o.dt = 0;
    cr_expect_eq(qdml_walkers_run(w, &o, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    o.dt = 0.01, o.feedback = 0.5;
    cr_expect_eq(qdml_walkers_run(w, &o, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    qdml_walkers_destroy(w);
    /* d > 3 with slots that differ; alpha without a gradient; a callback without a box */
    qdml_walkers_config c5 = {5, 1, 100, 0, 1, 0.5};
    cr_assert_eq(qdml_walkers_create(&w, ctx, &c5), QDML_OK);
    cr_assert_eq(qdml_objective_parse("harmonic:k=1,2,3", 3, &h), QDML_OK);
    cr_expect_eq(qdml_walkers_set_objective(w, 0, &h, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(qdml_context_last_error(ctx), "pass one value per axis"), "%s", qdml_context_last_error(ctx));
    qdml_objective ack;
    cr_assert_eq(qdml_objective_default(QDML_OBJECTIVE_ACKLEY, 3, &ack), QDML_OK);
    cr_expect_eq(qdml_walkers_set_objective(w, 0, &ack, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(qdml_context_last_error(ctx), "gradient"), "%s", qdml_context_last_error(ctx));
    cr_assert_eq(qdml_walkers_set_objective_fn(w, 0, harmonic_cb, NULL), QDML_OK);
    cr_expect_eq(qdml_walkers_place(w, 0, 0, NULL, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(qdml_context_last_error(ctx), "give lo and hi"), "%s", qdml_context_last_error(ctx));
    qdml_walkers_destroy(w);
    qdml_context_destroy(ctx);
}

/* A population that cannot survive: an objective infinite everywhere past the start. */
static double wall(const double *x, int dim, double *g, double *lap, void *user) {
    (void)g, (void)lap, (void)user;
    return fabs(x[0]) < 1e-3 || dim < 0 ? 0.0 : INFINITY;
}

Test(walkers, a_dying_population_is_diverged_and_kept) {
    qdml_context *ctx = qt_cpu_context();
    qdml_walkers *w = make(ctx, 1, 1, 100, 1, 0.0);
    cr_assert_eq(qdml_walkers_set_objective_fn(w, 0, wall, NULL), QDML_OK);
    double lo = 5e-4, hi = 9e-4;
    cr_assert_eq(qdml_walkers_place(w, 0, 0, NULL, &lo, &hi), QDML_OK);
    double before[400], after[400];
    int64_t n0, n1;
    cr_assert_eq(qdml_walkers_positions(w, 0, before, 400, &n0), QDML_OK);
    qdml_walkers_run_options o = {10.0, 1, 1, 50, 0, 0, NULL, 0, NULL};
    cr_expect_eq(qdml_walkers_run(w, &o, NULL, NULL), QDML_ERR_DIVERGED);
    cr_expect(strstr(qdml_context_last_error(ctx), "died out"), "%s", qdml_context_last_error(ctx));
    cr_assert_eq(qdml_walkers_positions(w, 0, after, 400, &n1), QDML_OK);
    cr_expect(n1 > 0, "the walkers before the failing step are kept");
    qdml_walkers_destroy(w);
    qdml_context_destroy(ctx);
}

/* ---- on a CUDA device (skipped without one) -------------------------------------------------------- */

#define REQUIRE_CUDA_DEVICE()                                                                                          \
    do {                                                                                                               \
        if (!qdml_backend_available(QDML_BACKEND_CUDA))                                                                \
            cr_skip_test("no CUDA device: qdml_backend_available(QDML_BACKEND_CUDA) is 0");                           \
    } while (0)

static qdml_context *cuda_context(void) {
    qdml_context *ctx = NULL;
    cr_assert_eq(qdml_context_create(&ctx, QDML_BACKEND_CUDA, 0), QDML_OK, "%s", qdml_last_error_message());
    return ctx;
}

/* With the exact trial function every weight is exp(0) = 1 and every walker leaves one copy, so the CPU
 * and the GPU keep the same walkers in the same order: after 40 steps their positions differ only by the
 * rounding of the normals (device log, sin, cos against glibc's), below 1e-9; the energies are d hbar w / 2
 * on both to 1e-10. The same seed twice on the GPU: the same bits. */
Test(walkers_device, exact_trial_matches_the_cpu_walker_for_walker) {
    REQUIRE_CUDA_DEVICE();
    const int dim = 10;
    double k[10], lo[10], hi[10];
    for (int a = 0; a < dim; ++a)
        k[a] = 2.0, lo[a] = -1, hi[a] = 1;
    double *x[3];
    int64_t n[3];
    qdml_walkers_result r[3];
    for (int run = 0; run < 3; ++run) {
        qdml_context *ctx = run == 0 ? qt_cpu_context() : cuda_context();
        qdml_walkers *w = make(ctx, dim, 1, 4096, 5, sqrt(1.0 / 2.0));
        set_harmonic(w, dim, k);
        cr_assert_eq(qdml_walkers_place(w, -1, 0, NULL, lo, hi), QDML_OK, "%s", qdml_last_error_message());
        qdml_walkers_run_options o = {0.05, 1.0, 1.0, 30, 10, 0, NULL, 0, NULL};
        cr_assert_eq(qdml_walkers_run(w, &o, &r[run], NULL), QDML_OK, "%s", qdml_last_error_message());
        x[run] = malloc(4 * 4096 * (size_t)dim * sizeof(double));
        cr_assert_eq(qdml_walkers_positions(w, 0, x[run], 4 * 4096, &n[run]), QDML_OK);
        qdml_walkers_destroy(w);
        qdml_context_destroy(ctx);
    }
    cr_expect_eq(n[0], 4096);
    cr_expect_eq(n[1], n[0]);
    double dmax = 0.0;
    for (int64_t i = 0; i < n[0] * dim; ++i)
        dmax = fmax(dmax, fabs(x[0][i] - x[1][i]));
    cr_log_info("cpu and cuda walkers: max |x_cpu - x_gpu| %.3g after 40 steps; energies %.15g, %.15g", dmax,
                r[0].energy, r[1].energy);
    cr_expect(dmax < 1e-9, "the walkers differ by %g", dmax);
    cr_expect(fabs(r[1].energy - 5.0) < 1e-10 && fabs(r[1].mixed_energy - 5.0) < 1e-10, "gpu energy %.15g",
              r[1].energy);
    cr_expect(memcmp(x[1], x[2], (size_t)n[1] * dim * sizeof(double)) == 0, "the same seed twice on the GPU differs");
    cr_expect(memcmp(&r[1], &r[2], sizeof r[1]) == 0);
    for (int run = 0; run < 3; ++run)
        free(x[run]);
}

/* Plain diffusion on the GPU, d = 3 anisotropic and two members: each within 4 errors plus 0.2 % of the
 * exact finite-dt energy (as on the CPU above). */
Test(walkers_device, plain_harmonic_energy) {
    REQUIRE_CUDA_DEVICE();
    qdml_context *ctx = cuda_context();
    const int dim = 3;
    const double k[2][3] = {{0.5, 1.0, 2.0}, {1.5, 1.5, 0.7}}, hbar = 0.8, m = 1.3, dt = 0.05;
    qdml_walkers *w = make(ctx, dim, 2, 20000, 17, 0.0);
    double lo[3] = {-1, -1, -1}, hi[3] = {1, 1, 1};
    for (int b = 0; b < 2; ++b) {
        qdml_objective o;
        cr_assert_eq(qdml_objective_default(QDML_OBJECTIVE_HARMONIC, 3, &o), QDML_OK);
        double ax[6] = {k[b][0], k[b][1], k[b][2], 0, 0, 0};
        cr_assert_eq(qdml_walkers_set_objective(w, b, &o, ax), QDML_OK);
    }
    cr_assert_eq(qdml_walkers_place(w, -1, 0, NULL, lo, hi), QDML_OK, "%s", qdml_last_error_message());
    qdml_walkers_run_options o = {dt, hbar, m, 4000, 400, 0, NULL, 0, NULL};
    qdml_walkers_result r[2];
    cr_assert_eq(qdml_walkers_run(w, &o, r, NULL), QDML_OK, "%s", qdml_last_error_message());
    for (int b = 0; b < 2; ++b) {
        double eg, em, e0;
        exact_plain(k[b], dim, hbar, m, dt, &eg, &em, &e0);
        cr_log_info("gpu member %d: growth %.6f +- %.6f (exact %.6f), mixed %.6f +- %.6f (exact %.6f)", b, r[b].energy,
                    r[b].energy_error, eg, r[b].mixed_energy, r[b].mixed_error, em);
        cr_expect(fabs(r[b].energy - eg) < 4 * r[b].energy_error + 2e-3 * e0);
        cr_expect(fabs(r[b].mixed_energy - em) < 4 * r[b].mixed_error + 2e-3 * e0);
    }
    qdml_walkers_destroy(w);
    qdml_context_destroy(ctx);
}
