/* The lowest states of one Hamiltonian by qdml_problem_lowest_states, against closed forms:
 *  - the harmonic oscillator in 1D, E_n = hbar w (n + 1/2), and in 2D with w = (1, 1.5), whose
 *    lowest levels interleave the two axes (1.25, 2.25, 2.75, 3.25, 3.75; the next, 4.25, is 0.5
 *    above the block, which sets how fast the block converges);
 *  - Poschl-Teller V = -(hbar^2 a^2 / 2m) l (l - 1) sech^2(a x): E_n = -(hbar^2 a^2 / 2m)(l - 1 - n)^2;
 *  - a symmetric double well (no closed form): the two lowest states have opposite parity.
 *
 * Bounds. A converged member has residual r <= tol. Writing psi_n = c phi_n + chi, the energy error
 * is second order in |chi| (Temple's inequality for the lowest state; for the others, the lower
 * states are removed by the orthogonalisation up to their own errors, also O(r)): |E - E_n| <=
 * (sum of the r's)^2 / gap. With tol = 1e-7 and gaps >= 0.1 that is ~1e-12; the asserted 1e-9
 * leaves room for the grid (boxes of >= 8 widths of the highest state, spectrally resolved) and the
 * rounding of the sums. The states are orthonormal after the last orthogonalisation to rounding
 * (the Gram matrix is formed and inverted in double: ~1e-14 for these condition numbers); the
 * asserted 1e-10 allows the last step's change, which is below r dtau / hbar.
 *
 * The initial states are Gaussians times random complex polynomials (seeded): linearly independent
 * with components in every symmetry class, as the header asks of callers.
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context; the CPU by default): the behaviour tested here
 * is every backend's, with float64 bounds.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

typedef struct {
    double m, w[3];
    double l, a, hbar; /* Poschl-Teller */
    int kind;          /* 0 harmonic, 1 Poschl-Teller, 2 double well */
} pot_params;

static double potential(const double *x, int dim, void *user) {
    const pot_params *q = user;
    double v = 0.0;
    for (int d = 0; d < dim; ++d) {
        if (q->kind == 0) {
            v += 0.5 * q->m * q->w[d] * q->w[d] * x[d] * x[d];
        } else if (q->kind == 1) {
            const double c = cosh(q->a * x[d]);
            v += -(q->hbar * q->hbar * q->a * q->a / (2.0 * q->m)) * q->l * (q->l - 1.0) / (c * c);
        } else {
            v += (x[d] * x[d] - 1.0) * (x[d] * x[d] - 1.0);
        }
    }
    return v;
}

/* Gaussian (centre c, width s per axis) times a random complex polynomial of total degree <= deg. */
static void random_states(qdml_problem *p, const qdml_grid *g, int64_t K, const double *c, const double *s, int deg,
                          uint64_t seed) {
    const int64_t N = qdml_grid_points(g);
    const int dim = g->dim;
    double *psi = qt_calloc((size_t)(2 * N), sizeof(double));
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    enum { MAXC = 64 };
    int pw[MAXC][3];
    int nc = 0;
    for (int i = 0; i <= deg; ++i)
        for (int j = 0; j <= (dim > 1 ? deg - i : 0); ++j)
            for (int k = 0; k <= (dim > 2 ? deg - i - j : 0); ++k) {
                cr_assert_lt(nc, MAXC);
                pw[nc][0] = i;
                pw[nc][1] = j;
                pw[nc][2] = k;
                ++nc;
            }
    for (int64_t b = 0; b < K; ++b) {
        double cre[MAXC], cim[MAXC];
        for (int t = 0; t < nc; ++t) {
            cre[t] = qt_normal(&rng);
            cim[t] = qt_normal(&rng);
        }
        for (int64_t idx = 0; idx < N; ++idx) {
            double x[3] = {0, 0, 0};
            qt_coords(g, idx, x);
            double env = 1.0;
            double u[3] = {0, 0, 0};
            for (int d = 0; d < dim; ++d) {
                u[d] = (x[d] - c[d]) / s[d];
                env *= exp(-0.25 * u[d] * u[d]);
            }
            double re = 0.0, im = 0.0;
            for (int t = 0; t < nc; ++t) {
                double mono = 1.0;
                for (int d = 0; d < dim; ++d) mono *= pow(u[d], pw[t][d]);
                re += cre[t] * mono;
                im += cim[t] * mono;
            }
            psi[2 * idx] = env * re;
            psi[2 * idx + 1] = env * im;
        }
        cr_assert_eq(qdml_problem_set_state(p, b, psi), QDML_OK);
    }
    free(psi);
}

/* max over i != j of |<psi_i|psi_j>| and max over i of |<psi_i|psi_i> - 1|. */
static void orthonormality(qdml_problem *p, int64_t K, double dv, double *off, double *diag) {
    const int64_t N = qdml_problem_points(p);
    double **st = qt_calloc((size_t)K, sizeof(double *));
    for (int64_t b = 0; b < K; ++b) st[b] = qt_get_state(p, b);
    *off = 0.0;
    *diag = 0.0;
    for (int64_t i = 0; i < K; ++i)
        for (int64_t j = i; j < K; ++j) {
            double re = 0.0, im = 0.0;
            for (int64_t q = 0; q < N; ++q) {
                re += st[i][2 * q] * st[j][2 * q] + st[i][2 * q + 1] * st[j][2 * q + 1];
                im += st[i][2 * q] * st[j][2 * q + 1] - st[i][2 * q + 1] * st[j][2 * q];
            }
            re *= dv;
            im *= dv;
            if (i == j)
                *diag = fmax(*diag, fabs(re - 1.0));
            else
                *off = fmax(*off, hypot(re, im));
        }
    for (int64_t b = 0; b < K; ++b) free(st[b]);
    free(st);
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void check_levels(qdml_problem *p, qdml_context *ctx, int64_t K, const double *expect, double tol,
                         const char *what) {
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = tol;
    qdml_run_result *r = qt_calloc((size_t)K, sizeof *r);
    qdml_status st = qdml_problem_lowest_states(p, &go, r);
    cr_assert_eq(st, QDML_OK, "%s: %s", what, qdml_context_last_error(ctx));
    for (int64_t b = 0; b < K; ++b) {
        cr_log_info("%s: state %lld: E = %.15g, expected %.15g, |dE| = %.3g, residual %.3g, %lld steps", what,
                    (long long)b, r[b].final.energy, expect[b], fabs(r[b].final.energy - expect[b]),
                    r[b].final.residual, (long long)r[b].steps);
        cr_assert(r[b].converged, "%s: state %lld not converged (residual %.3g after %lld steps)", what, (long long)b,
                  r[b].final.residual, (long long)r[b].steps);
        cr_assert(r[b].finished);
        cr_assert_leq(r[b].final.residual, tol);
        cr_assert_leq(fabs(r[b].final.energy - expect[b]), 1e-9, "%s: state %lld: E = %.15g, expected %.15g", what,
                      (long long)b, r[b].final.energy, expect[b]);
        if (b > 0) cr_assert_geq(r[b].final.energy, r[b - 1].final.energy - 1e-9, "%s: energies not ascending", what);
    }
    double off, diag;
    orthonormality(p, K, qdml_grid_dv(qdml_problem_grid(p)), &off, &diag);
    cr_log_info("%s: max |<i|j>| (i != j) = %.3g, max |<i|i> - 1| = %.3g", what, off, diag);
    cr_assert_leq(off, 1e-10, "%s: states not orthogonal: %.3g", what, off);
    cr_assert_leq(diag, 1e-10, "%s: states not normalised: %.3g", what, diag);
    free(r);
}

Test(excited, harmonic_1d_five_levels) {
    const double hbar = 0.6, m = 1.7, w = 1.3;
    const double s = sqrt(hbar / (2.0 * m * w));
    const int64_t K = 5, n = 128;
    /* The n = 4 state reaches ~ sqrt(2 n + 1) * sqrt(2) s ~ 4.2 s; the box is +-16 s. */
    const double lo = -16.0 * s, hi = 16.0 * s;
    qdml_grid g = qt_grid(1, &n, &lo, &hi);
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, &g, K);
    pot_params q = {.m = m, .w = {w}, .kind = 0};
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, potential, &q);
    cr_assert_eq(qdml_problem_set_hbar(p, QDML_ALL_MEMBERS, hbar), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, QDML_ALL_MEMBERS, m), QDML_OK);
    const double c = 0.3 * s, sw = 1.4 * s;
    random_states(p, &g, K, &c, &sw, 6, 11);
    double expect[5];
    for (int k = 0; k < 5; ++k) expect[k] = hbar * w * (k + 0.5);
    check_levels(p, ctx, K, expect, 1e-7, "harmonic 1D");
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(excited, harmonic_2d_interleaved_levels) {
    const double hbar = 1.0, m = 1.0, w[2] = {1.0, 1.5};
    /* The highest of the five states has 2 quanta on an axis and reaches ~sqrt(2 * 2 + 1) sqrt(2) s = 3.2 s;
     * the box is +-10 s (|psi|^2 < 1e-30 at its edge) and 40 points resolve |psi_hat| ~ (k s)^2
     * exp(-(k s)^2) to 3e-16 at k_N s = 2 pi. */
    const int64_t K = 5, n[2] = {40, 40};
    double lo[2], hi[2], s[2], c[2], sw[2];
    for (int d = 0; d < 2; ++d) {
        s[d] = sqrt(hbar / (2.0 * m * w[d]));
        lo[d] = -10.0 * s[d];
        hi[d] = 10.0 * s[d];
        c[d] = 0.2 * s[d];
        sw[d] = 1.3 * s[d];
    }
    qdml_grid g = qt_grid(2, n, lo, hi);
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, &g, K);
    pot_params q = {.m = m, .w = {w[0], w[1]}, .kind = 0};
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, potential, &q);
    random_states(p, &g, K, c, sw, 4, 22);
    /* All levels hbar (w0 (i + 1/2) + w1 (j + 1/2)) for i, j < 5, sorted: the lowest five. */
    double lev[25];
    for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 5; ++j) lev[5 * i + j] = hbar * (w[0] * (i + 0.5) + w[1] * (j + 0.5));
    qsort(lev, 25, sizeof(double), cmp_double);
    check_levels(p, ctx, K, lev, 1e-7, "harmonic 2D");
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(excited, poschl_teller_bound_states) {
    const double hbar = 1.0, m = 1.0, a = 1.0, l = 4.5;
    const int64_t K = 3, n = 256;
    /* E_2 = -1.125: the state decays as exp(-1.5 |x|), 1e-13 at |x| = 20. */
    const double lo = -20.0, hi = 20.0;
    qdml_grid g = qt_grid(1, &n, &lo, &hi);
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, &g, K);
    pot_params q = {.m = m, .a = a, .l = l, .hbar = hbar, .kind = 1};
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, potential, &q);
    const double c = 0.25, sw = 1.5;
    random_states(p, &g, K, &c, &sw, 5, 33);
    double expect[3];
    for (int k = 0; k < 3; ++k) expect[k] = -(hbar * hbar * a * a / (2.0 * m)) * (l - 1.0 - k) * (l - 1.0 - k);
    check_levels(p, ctx, K, expect, 1e-7, "Poschl-Teller");
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(excited, double_well_parity) {
    /* V = (x^2 - 1)^2 at hbar = 0.5: the two lowest states are the even and odd combinations of
     * the well states, split by tunnelling through a barrier of about the zero-point energy (the pair
     * separates at the rate of the splitting, so a high barrier would take ~hbar / splitting of
     * imaginary time per e-fold). x_j = -L + j h is symmetric: x_{n-j} = -x_j. */
    const int64_t K = 2, n = 128;
    const double lo = -4.0, hi = 4.0;
    qdml_grid g = qt_grid(1, &n, &lo, &hi);
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, &g, K);
    pot_params q = {.kind = 2};
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, potential, &q);
    cr_assert_eq(qdml_problem_set_hbar(p, QDML_ALL_MEMBERS, 0.5), QDML_OK);
    const double c = 0.4, sw = 1.0;
    random_states(p, &g, K, &c, &sw, 4, 44);
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = 1e-8;
    qdml_run_result r[2];
    cr_assert_eq(qdml_problem_lowest_states(p, &go, r), QDML_OK, "%s", qdml_context_last_error(ctx));
    for (int64_t b = 0; b < 2; ++b)
        cr_assert(r[b].converged, "double well: state %lld not converged: residual %.3g after %lld steps, E = %.15g",
                  (long long)b, r[b].final.residual, (long long)r[b].steps, r[b].final.energy);
    const double split = r[1].final.energy - r[0].final.energy;
    cr_log_info("double well: E0 = %.15g, E1 = %.15g, splitting %.6g", r[0].final.energy, r[1].final.energy, split);
    cr_assert_gt(split, 1e-4, "the tunnelling splitting %.3g should be resolved", split);
    for (int64_t b = 0; b < 2; ++b) {
        double *psi = qt_get_state(p, b);
        /* psi(-x) = sign psi(x) up to a global phase: compare |psi(x) - sign psi(-x)|. */
        const double sign = b == 0 ? 1.0 : -1.0;
        double worst = 0.0, peak = 0.0;
        for (int64_t j = 1; j < n; ++j) {
            const int64_t k = n - j;
            worst = fmax(worst, hypot(psi[2 * j] - sign * psi[2 * k], psi[2 * j + 1] - sign * psi[2 * k + 1]));
            peak = fmax(peak, hypot(psi[2 * j], psi[2 * j + 1]));
        }
        cr_log_info("double well: state %lld parity defect %.3g of peak %.3g", (long long)b, worst, peak);
        /* First order in the residual over the splitting: 1e-8 / 0.1 ~ 1e-7 relative. */
        cr_assert_leq(worst, 1e-6 * peak, "state %lld has not the parity %+g", (long long)b, sign);
        free(psi);
    }
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(excited, refuses_mixed_hamiltonians_and_dependent_states) {
    const int64_t n = 32, K = 3;
    const double lo = -6.0, hi = 6.0;
    qdml_grid g = qt_grid(1, &n, &lo, &hi);
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, &g, K);
    pot_params q = {.m = 1.0, .w = {1.0}, .kind = 0};
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, potential, &q);
    const double c = 0.1, sw = 1.0;
    random_states(p, &g, K, &c, &sw, 3, 55);
    qdml_ground_options go;
    qdml_ground_options_default(&go);

    /* A different potential on member 2, at one point. */
    double *v = qt_calloc((size_t)n, sizeof(double));
    cr_assert_eq(qdml_problem_get_potential(p, 2, v), QDML_OK);
    v[7] += 1e-9;
    cr_assert_eq(qdml_problem_set_potential(p, 2, v), QDML_OK);
    cr_assert_eq(qdml_problem_lowest_states(p, &go, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(qdml_context_last_error(ctx), "member 2") && strstr(qdml_context_last_error(ctx), "index 7"),
              "message: %s", qdml_context_last_error(ctx));
    v[7] -= 1e-9;
    qt_set_potential_fn(p, 2, potential, &q);

    /* A different hbar. */
    cr_assert_eq(qdml_problem_set_hbar(p, 1, 0.5), QDML_OK);
    cr_assert_eq(qdml_problem_lowest_states(p, &go, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(qdml_context_last_error(ctx), "member 1"), "message: %s", qdml_context_last_error(ctx));
    cr_assert_eq(qdml_problem_set_hbar(p, 1, 1.0), QDML_OK);

    /* Member 2 a combination of members 0 and 1. */
    double *a = qt_get_state(p, 0), *b = qt_get_state(p, 1);
    for (int64_t i = 0; i < 2 * n; ++i) a[i] = 2.0 * a[i] - 0.5 * b[i];
    cr_assert_eq(qdml_problem_set_state(p, 2, a), QDML_OK);
    cr_assert_eq(qdml_problem_lowest_states(p, &go, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(qdml_context_last_error(ctx), "member 2") &&
                  strstr(qdml_context_last_error(ctx), "linearly independent"),
              "message: %s", qdml_context_last_error(ctx));
    /* The null problem and options. */
    cr_assert_eq(qdml_problem_lowest_states(NULL, &go, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_lowest_states(p, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    free(a);
    free(b);
    free(v);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}
