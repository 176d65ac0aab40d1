/* Free diffusion of a density: imaginary time with V = 0 and renormalize = 0 solves
 * d psi / d tau = D lap psi (D = hbar / 2m) for psi itself, so psi is taken to BE the density:
 * psi(x, 0) = p0(x), a normalised mixture of Gaussians (real, >= 0), periodically wrapped (the sum of
 * its images one box apart, so that it is smooth across the box's edge).
 *
 * Exact check: the heat kernel maps each Gaussian component N(mu, s^2) per axis to N(mu, s^2 + 2 D tau),
 * so psi(x, tau) is the wrapped mixture with every variance grown by 2 D tau, to the grid's aliasing
 * (the setup asserts that the components' transforms at the Nyquist wavenumber, exp(-s^2 k_N^2 / 2),
 * are below 1e-14 of their peak) and rounding (~1e-15 per FFT): bound 1e-12 of max psi. The images
 * are summed out to 6 boxes each way (the next would add < 1e-300).
 *
 * Illustration (the paper's point, DESIGN.md): psi(x, tau) = (p0 * N(0, 2 D tau))(x) is the law of
 * X = X0 + sqrt(2 D tau) xi with X0 ~ p0, xi ~ N(0, 1): exactly what a diffusion model's forward
 * process samples. A Monte Carlo histogram of such samples (wrapped into the box like the kernel)
 * is compared with the evolved density; this check is statistical and catches errors of about a
 * percent, so the exact check above is the one that pins the evolution down.
 *
 * Statistics (N = 10^6 samples from the deterministic generator in support.c):
 *  - bins of 16 (1D) or 10 x 10 (2D) cells: each count is Binomial(N, p_b), so
 *    z_b = (O_b - E_b) / sqrt(E_b) is ~N(0, 1); bound |z_b| <= 5 (P ~ 6e-7 per bin);
 *  - chi^2 = sum z_b^2 over bins with E_b >= 20 has ~dof = bins - 1: bound dof + 5 sqrt(2 dof);
 *  - 1D: Kolmogorov-Smirnov distance sup |F_psi - F_samples| at the cell edges <= 1.95 / sqrt(N)
 *    (the 0.1% critical value);
 *  - power: samples drawn with the wrong noise variance D tau must fail the chi^2 bound by far.
 * The model's cell masses convert point values to cell averages to fourth order,
 * mass_i = dV (psi_i + sum_d (psi_{i+e_d} - 2 psi_i + psi_{i-e_d}) / 24) (the midpoint rule alone
 * would be off by dx^2 psi''/24, ~0.2% of a bin at the 2D spacing 0.2, half a standard error); the
 * remaining O(dx^4) error is < 1e-5 relative.
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context; the CPU by default): the behaviour tested here
 * is every backend's, with float64 bounds.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "support.h"

#define NSAMPLES 1000000

typedef struct {
    int ncomp;
    double weight[3];
    double mean[3][3]; /* [component][axis] */
    double sd[3][3];
} mixture;

/* The mixture with every variance grown by `extra`, wrapped into the periodic box of length[]: per
 * component and axis, the sum of the Gaussian's images x + j L, |j| <= 6. */
typedef struct {
    const mixture *mx;
    double extra, length[3];
} wrapped;

static double wrapped_density(const double *x, int dim, void *user) {
    const wrapped *w = user;
    const mixture *mx = w->mx;
    double s = 0.0;
    for (int c = 0; c < mx->ncomp; ++c) {
        double v = mx->weight[c];
        for (int d = 0; d < dim; ++d) {
            const double sd = sqrt(mx->sd[c][d] * mx->sd[c][d] + w->extra);
            double a = 0.0;
            for (int j = -6; j <= 6; ++j) {
                const double y = (x[d] + (double)j * w->length[d] - mx->mean[c][d]) / sd;
                a += exp(-0.5 * y * y);
            }
            v *= a / (sqrt(2.0 * QT_PI) * sd);
        }
        s += v;
    }
    return s;
}

/* Histogram of NSAMPLES samples X0 + noise_sd * xi, per cell (flat C order), wrapped periodically. */
static double *sample_cells(const qdml_grid *g, const mixture *mx, double noise_sd, uint64_t seed) {
    const int64_t npts = qdml_grid_points(g);
    double *count = qt_calloc((size_t)npts, sizeof *count);
    qt_rng r;
    qt_rng_seed(&r, seed);
    for (long s = 0; s < NSAMPLES; ++s) {
        double u = qt_uniform(&r), acc = 0.0;
        int c = mx->ncomp - 1;
        for (int j = 0; j < mx->ncomp; ++j) {
            acc += mx->weight[j];
            if (u < acc) {
                c = j;
                break;
            }
        }
        int64_t idx = 0;
        for (int d = 0; d < g->dim; ++d) {
            double x = mx->mean[c][d] + mx->sd[c][d] * qt_normal(&r) + noise_sd * qt_normal(&r);
            double h = qdml_grid_spacing(g, d);
            /* cell of grid point j is [x_j - h/2, x_j + h/2), periodic */
            int64_t j = (int64_t)floor((x - g->lo[d]) / h + 0.5);
            j %= g->n[d];
            if (j < 0) j += g->n[d];
            idx = idx * g->n[d] + j;
        }
        count[idx] += 1.0;
    }
    return count;
}

/* Group cells into bins of bpa cells per axis; returns the number of bins, fills bins[]. */
static int64_t group(const qdml_grid *g, const double *cells, int64_t bpa, double *bins) {
    int64_t nb[3] = {1, 1, 1}, total = 1;
    for (int d = 0; d < g->dim; ++d) {
        nb[d] = g->n[d] / bpa;
        total *= nb[d];
    }
    for (int64_t b = 0; b < total; ++b) bins[b] = 0.0;
    const int64_t npts = qdml_grid_points(g);
    for (int64_t i = 0; i < npts; ++i) {
        int64_t rest = i, ii[3] = {0, 0, 0};
        for (int d = g->dim - 1; d >= 0; --d) {
            ii[d] = rest % g->n[d];
            rest /= g->n[d];
        }
        int64_t b = 0;
        for (int d = 0; d < g->dim; ++d) b = b * nb[d] + ii[d] / bpa;
        bins[b] += cells[i];
    }
    return total;
}

/* Fourth-order cell masses (times `scale`) from the point values re[i] of the real part. */
static void cell_masses(const qdml_grid *g, const double *psi, double scale, double *out) {
    const int64_t npts = qdml_grid_points(g);
    int64_t stride[3];
    int64_t st = 1;
    for (int d = g->dim - 1; d >= 0; --d) {
        stride[d] = st;
        st *= g->n[d];
    }
    const double dv = qdml_grid_dv(g);
    for (int64_t i = 0; i < npts; ++i) {
        double v = psi[2 * i], corr = 0.0;
        for (int d = 0; d < g->dim; ++d) {
            int64_t j = (i / stride[d]) % g->n[d];
            int64_t up = i + (((j + 1) % g->n[d]) - j) * stride[d];
            int64_t dn = i + (((j + g->n[d] - 1) % g->n[d]) - j) * stride[d];
            corr += (psi[2 * up] - 2.0 * v + psi[2 * dn]) / 24.0;
        }
        out[i] = scale * dv * (v + corr);
    }
}

/* chi^2 of observed vs expected over bins with expected >= 20 (the rest pooled); max |z|. */
static double chi2(const double *obs, const double *expct, int64_t nbins, int64_t *dof, double *zmax) {
    double c = 0.0, po = 0.0, pe = 0.0;
    int64_t used = 0;
    *zmax = 0.0;
    for (int64_t b = 0; b < nbins; ++b) {
        if (expct[b] >= 20.0) {
            double z = (obs[b] - expct[b]) / sqrt(expct[b]);
            c += z * z;
            *zmax = fmax(*zmax, fabs(z));
            ++used;
        } else {
            po += obs[b];
            pe += expct[b];
        }
    }
    if (pe >= 20.0) {
        double z = (po - pe) / sqrt(pe);
        c += z * z;
        *zmax = fmax(*zmax, fabs(z));
        ++used;
    }
    *dof = used - 1;
    return c;
}

static void run_diffusion(const qdml_grid *g, const mixture *mx, double hbar, double m, double dt, int64_t steps,
                          int64_t bpa) {
    const double tau = dt * (double)steps, D = hbar / (2.0 * m), noise = sqrt(2.0 * D * tau);
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, g, 1);
    qt_set_zero_potential(p);
    cr_assert_eq(qdml_problem_set_hbar(p, 0, hbar), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, 0, m), QDML_OK);
    const int64_t npts = qdml_problem_points(p);
    const double dv = qdml_grid_dv(g);
    wrapped w0 = {mx, 0.0, {0, 0, 0}};
    for (int d = 0; d < g->dim; ++d) {
        w0.length[d] = g->hi[d] - g->lo[d];
        const double kn = QT_PI / qdml_grid_spacing(g, d);
        for (int c = 0; c < mx->ncomp; ++c)
            cr_assert_leq(exp(-0.5 * mx->sd[c][d] * mx->sd[c][d] * kn * kn), 1e-14,
                          "setup: component %d is not resolved on axis %d (sd %g, k_N %g)", c, d, mx->sd[c][d], kn);
    }
    double *p0 = qt_calloc((size_t)npts, sizeof *p0);
    qt_fill(g, p0, wrapped_density, &w0);
    double *psi = qt_calloc(2 * (size_t)npts, sizeof *psi);
    double mass0 = 0.0;
    for (int64_t i = 0; i < npts; ++i) {
        psi[2 * i] = p0[i];
        mass0 += p0[i] * dv;
    }
    cr_assert_float_eq(mass0, 1.0, 1e-12, "setup: p0 is not normalised on the grid (%.15g)", mass0);
    cr_assert_eq(qdml_problem_set_state(p, 0, psi), QDML_OK);
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = QDML_IMAGINARY_TIME;
    o.renormalize = 0;
    o.dt = dt;
    o.steps = steps;
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
    cr_assert_eq(qdml_problem_get_state(p, 0, psi), QDML_OK);

    /* The density stays a density: mass conserved (the k = 0 mode is untouched), real, and >= 0 up to
     * rounding (the periodic Gaussian kernel is positive). Bounds: rounding of FFTs, 1e-12. */
    double *model = qt_calloc((size_t)npts, sizeof *model);
    double mass = 0.0, maxim = 0.0, minre = 0.0;
    cell_masses(g, psi, NSAMPLES, model);
    for (int64_t i = 0; i < npts; ++i) {
        mass += psi[2 * i] * dv;
        maxim = fmax(maxim, fabs(psi[2 * i + 1]));
        minre = fmin(minre, psi[2 * i]);
    }
    cr_assert_float_eq(mass, mass0, 1e-12, "mass %.15g, initially %.15g", mass, mass0);
    cr_assert_leq(maxim, 1e-12, "max |Im psi| = %.3g for a real density", maxim);
    cr_assert_geq(minre, -1e-12, "min psi = %.3g < 0", minre);

    /* The exact density: the wrapped mixture with every variance grown by 2 D tau. */
    wrapped wt = w0;
    wt.extra = 2.0 * D * tau;
    double *exact = qt_calloc((size_t)npts, sizeof *exact);
    qt_fill(g, exact, wrapped_density, &wt);
    double err = 0.0, peak = 0.0, moved = 0.0;
    for (int64_t i = 0; i < npts; ++i) {
        err = fmax(err, fabs(psi[2 * i] - exact[i]));
        peak = fmax(peak, exact[i]);
        moved = fmax(moved, fabs(p0[i] - exact[i]));
    }
    cr_log_info("diffusion %dD: max |psi - exact| = %.3g of the peak %.3g (the density moved by %.3g)", g->dim,
                err / peak, peak, moved / peak);
    cr_assert_leq(err, 1e-12 * peak, "%dD: max |psi - exact mixture| = %.3g, peak %.3g (relative %.3g > 1e-12)", g->dim,
                  err, peak, err / peak);
    cr_assert_geq(moved, 0.1 * peak, "the density moved by only %.3g of its peak: tau too short to test", moved / peak);
    free(exact);

    double *cells = sample_cells(g, mx, noise, 12345);
    int64_t nbmax = npts / bpa;
    double *bo = qt_calloc((size_t)nbmax, sizeof *bo);
    double *be = qt_calloc((size_t)nbmax, sizeof *be);
    int64_t nb = group(g, cells, bpa, bo);
    group(g, model, bpa, be);
    int64_t dof;
    double zmax, c2 = chi2(bo, be, nb, &dof, &zmax);
    double c2max = (double)dof + 5.0 * sqrt(2.0 * (double)dof);
    cr_log_info("diffusion %dD: chi2 = %.1f (dof %lld, bound %.1f), max |z| = %.2f", g->dim, c2, (long long)dof, c2max,
                zmax);
    cr_assert_leq(zmax, 5.0, "a bin is %.2f standard errors off", zmax);
    cr_assert_leq(c2, c2max, "chi2 = %.1f > %.1f (dof %lld)", c2, c2max, (long long)dof);

    if (g->dim == 1) {
        double fo = 0.0, fe = 0.0, ks = 0.0;
        for (int64_t i = 0; i < npts; ++i) {
            fo += cells[i];
            fe += model[i];
            ks = fmax(ks, fabs(fo - fe) / NSAMPLES);
        }
        double ksmax = 1.95 / sqrt((double)NSAMPLES);
        cr_log_info("diffusion 1D: KS distance %.3g (bound %.3g)", ks, ksmax);
        cr_assert_leq(ks, ksmax, "KS distance %.3g > %.3g", ks, ksmax);
    }

    /* Power: the same comparison against samples with noise variance D tau instead of 2 D tau. */
    double *wrong = sample_cells(g, mx, noise / sqrt(2.0), 999);
    group(g, wrong, bpa, bo);
    double zw, cw = chi2(bo, be, nb, &dof, &zw);
    cr_log_info("diffusion %dD: chi2 against samples with half the noise variance = %.0f", g->dim, cw);
    cr_assert_geq(cw, 10.0 * c2max, "wrong variance not detected: chi2 = %.1f (bound %.1f)", cw, c2max);

    free(wrong);
    free(cells);
    free(bo);
    free(be);
    free(model);
    free(psi);
    free(p0);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(diffusion, density_is_the_exact_mixture_and_matches_monte_carlo_1d) {
    /* p0 = 0.4 N(-1.5, 0.5^2) + 0.6 N(1.2, 0.8^2); hbar = 0.9, m = 0.6: D = 0.75, tau = 0.4,
     * 2 D tau = 0.6 (the noise is wider than the narrow component). */
    const int64_t n[1] = {1024};
    const double lo[1] = {-10.0}, hi[1] = {10.0};
    qdml_grid g = qt_grid(1, n, lo, hi);
    mixture mx = {.ncomp = 2, .weight = {0.4, 0.6}, .mean = {{-1.5}, {1.2}}, .sd = {{0.5}, {0.8}}};
    run_diffusion(&g, &mx, 0.9, 0.6, 0.05, 8, 16);
}

Test(diffusion, density_is_the_exact_mixture_and_matches_monte_carlo_2d) {
    /* Three anisotropic components on an 80 x 80 grid (k_N = 15.7: the narrowest, sd 0.6, to exp(-44));
     * hbar = 1.1, m = 1.6, tau = 0.5. */
    const int64_t n[2] = {80, 80};
    const double lo[2] = {-8.0, -7.0}, hi[2] = {8.0, 9.0};
    qdml_grid g = qt_grid(2, n, lo, hi);
    mixture mx = {.ncomp = 3,
                  .weight = {0.3, 0.5, 0.2},
                  .mean = {{-2.0, 1.0}, {1.5, -0.5}, {0.3, 3.0}},
                  .sd = {{0.7, 0.9}, {0.8, 0.6}, {1.0, 0.8}}};
    run_diffusion(&g, &mx, 1.1, 1.6, 0.1, 5, 10);
}
