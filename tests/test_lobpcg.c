/* The block eigensolver (QDML_GROUND_LOBPCG, lobpcg.c) and its dense Rayleigh-Ritz step (dense_eig.c):
 *  - qdml_herm_eig / qdml_herm_gen_eig on random Hermitian matrices (and positive definite Gram
 *    matrices): a v = v diag(w), v unitary, w ascending; a c = lambda s c with c^H s c = 1;
 *  - the ground state and the lowest states against closed forms: the oscillator in 1D, in 2D with its
 *    degenerate levels 1, 2, 2, 3 (the fourth state is one of three at E = 3), and 3D anisotropic;
 *  - against the exact eigenvalues of the same discrete Hamiltonian (its N x N matrix diagonalised by
 *    Jacobi, the kinetic part the spectral one, T_jl = (1/N) sum_k (hbar^2 k^2 / 2m) cos(k (x_j - x_l))):
 *    the near-degenerate double well V = 4 (x^2 - 2)^2 on [-6, 6) (E1 - E0 = 1.5e-3), within 5,000
 *    Hamiltonian applications, and random smooth potentials;
 *  - a batch of different potentials, each member as it is alone; the options' checks; the program's
 *    --method and --guards.
 *
 * Bounds. A state with residual r = ||H psi - E psi|| <= tol has |E - E_n| <= r^2 / gap (Temple's
 * inequality for the lowest, the Rayleigh-Ritz bound for the others): with tol = 1e-9 and gaps >=
 * 1e-3 that is 1e-15; the asserted 1e-10 (the target) leaves room for the rounding of the
 * sums (about 1e-16 times the largest kinetic energy, 4e3 on these grids: 1e-12). The degenerate
 * level's states are only defined as a subspace: their energies are asserted, not their shapes.
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context; the CPU by default): the method runs on the
 * block-vector ops of either backend, with float64 bounds (its CUDA ops have not run on a device yet).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_support.h"
#include "dense_eig.h"
#include "support.h"

/* ---- the dense step --------------------------------------------------------------------------- */

static void random_hermitian(int n, qt_rng *r, double *a) {
    for (int i = 0; i < n; ++i)
        for (int j = i; j < n; ++j) {
            const double re = qt_normal(r), im = i == j ? 0.0 : qt_normal(r);
            a[2 * (i * n + j)] = re;
            a[2 * (i * n + j) + 1] = im;
            a[2 * (j * n + i)] = re;
            a[2 * (j * n + i) + 1] = -im;
        }
}

Test(dense_eig, random_hermitian_matrices_are_diagonalised) {
    qt_rng r;
    qt_rng_seed(&r, 11);
    for (int n = 1; n <= 24; n += (n < 6 ? 1 : 6)) {
        for (int rep = 0; rep < 4; ++rep) {
            double *a = qt_calloc((size_t)(2 * n * n), sizeof(double)),
                   *v = qt_calloc((size_t)(2 * n * n), sizeof(double));
            double *w = qt_calloc((size_t)n, sizeof(double));
            random_hermitian(n, &r, a);
            if (rep == 3) /* a repeated eigenvalue: a = u diag(1, 1, ..., 2) u^H is hard for no method, here a = 1 */
                for (int i = 0; i < n; ++i)
                    for (int j = 0; j < n; ++j)
                        a[2 * (i * n + j)] = a[2 * (i * n + j) + 1] = 0.0, a[2 * (i * n + i)] = 1.0;
            double norm = 0.0;
            for (int k = 0; k < 2 * n * n; ++k)
                norm += a[k] * a[k];
            norm = sqrt(norm);
            cr_assert_eq(qdml_herm_eig(n, a, w, v), 0, "n = %d", n);
            for (int i = 0; i + 1 < n; ++i)
                cr_assert_leq(w[i], w[i + 1], "ascending");
            for (int i = 0; i < n; ++i)
                for (int c = 0; c < n; ++c) {
                    double re = 0.0, im = 0.0, ure = 0.0, uim = 0.0; /* (a v - v w)_ic, (v^H v - 1)_ic */
                    for (int k = 0; k < n; ++k) {
                        const double ar = a[2 * (i * n + k)], ai = a[2 * (i * n + k) + 1];
                        const double vr = v[2 * (k * n + c)], vi = v[2 * (k * n + c) + 1];
                        re += ar * vr - ai * vi;
                        im += ar * vi + ai * vr;
                        const double xr = v[2 * (k * n + i)], xi = -v[2 * (k * n + i) + 1];
                        ure += xr * vr - xi * vi;
                        uim += xr * vi + xi * vr;
                    }
                    re -= v[2 * (i * n + c)] * w[c];
                    im -= v[2 * (i * n + c) + 1] * w[c];
                    cr_assert_leq(hypot(re, im), 1e-13 * (norm + 1.0), "n = %d: residual %g", n, hypot(re, im));
                    cr_assert_leq(hypot(ure - (i == c), uim), 1e-13, "n = %d: v not unitary", n);
                }
            free(a);
            free(v);
            free(w);
        }
    }
}

Test(dense_eig, generalised_problems_give_s_orthonormal_ritz_vectors) {
    qt_rng r;
    qt_rng_seed(&r, 12);
    for (int n = 2; n <= 18; n += 4) {
        const size_t nn = (size_t)(n * n);
        double *a = qt_calloc(2 * nn, sizeof(double)), *b = qt_calloc(2 * nn, sizeof(double));
        double *s = qt_calloc(2 * nn, sizeof(double)), *c = qt_calloc(2 * nn, sizeof(double));
        double *w = qt_calloc((size_t)n, sizeof(double));
        random_hermitian(n, &r, a);
        for (size_t k = 0; k < 2 * nn; ++k)
            b[k] = qt_normal(&r);
        for (int i = 0; i < n; ++i) /* s = b^H b + 0.1: positive definite */
            for (int j = 0; j < n; ++j) {
                double re = i == j ? 0.1 : 0.0, im = 0.0;
                for (int k = 0; k < n; ++k) {
                    const double xr = b[2 * (k * n + i)], xi = -b[2 * (k * n + i) + 1];
                    const double yr = b[2 * (k * n + j)], yi = b[2 * (k * n + j) + 1];
                    re += xr * yr - xi * yi;
                    im += xr * yi + xi * yr;
                }
                s[2 * (i * n + j)] = re;
                s[2 * (i * n + j) + 1] = im;
            }
        int rank = 0;
        cr_assert_eq(qdml_herm_gen_eig(n, a, s, 1e-14, &rank, w, c), 0);
        cr_assert_eq(rank, n, "a positive definite s keeps every direction");
        for (int col = 0; col < n; ++col)
            for (int i = 0; i < n; ++i) {
                double re = 0.0, im = 0.0; /* (a c - s c w)_i,col */
                for (int k = 0; k < n; ++k) {
                    const double cr = c[2 * (k * n + col)], ci = c[2 * (k * n + col) + 1];
                    re += a[2 * (i * n + k)] * cr - a[2 * (i * n + k) + 1] * ci;
                    im += a[2 * (i * n + k)] * ci + a[2 * (i * n + k) + 1] * cr;
                    re -= w[col] * (s[2 * (i * n + k)] * cr - s[2 * (i * n + k) + 1] * ci);
                    im -= w[col] * (s[2 * (i * n + k)] * ci + s[2 * (i * n + k) + 1] * cr);
                }
                cr_assert_leq(hypot(re, im), 1e-9 * (1.0 + fabs(w[col])), "n = %d, column %d: %g", n, col,
                              hypot(re, im));
            }
        /* A dependent direction is dropped: s with a repeated column. */
        for (int i = 0; i < n; ++i) {
            s[2 * (i * n + 1)] = s[2 * (i * n)];
            s[2 * (i * n + 1) + 1] = s[2 * (i * n) + 1];
        }
        for (int j = 0; j < n; ++j) {
            s[2 * (1 * n + j)] = s[2 * j];
            s[2 * (1 * n + j) + 1] = s[2 * j + 1];
        }
        cr_assert_eq(qdml_herm_gen_eig(n, a, s, 1e-12, &rank, w, c), 0);
        cr_assert_eq(rank, n - 1, "the repeated direction is dropped: rank %d", rank);
        free(a);
        free(b);
        free(s);
        free(c);
        free(w);
    }
    double z[2] = {NAN, 0.0}, w1, v1[2];
    cr_assert_eq(qdml_herm_eig(1, z, &w1, v1), -1, "not finite");
}

/* ---- the solver on closed forms --------------------------------------------------------------- */

typedef struct {
    double w[3];
    int kind; /* 0 oscillator with frequencies w, 1 the double well 4 (x^2 - 2)^2, 2 random (coef) */
    const double *coef;
} pot;

static double potential(const double *x, int dim, void *user) {
    const pot *q = user;
    double v = 0.0;
    if (q->kind == 1) return 4.0 * (x[0] * x[0] - 2.0) * (x[0] * x[0] - 2.0);
    if (q->kind == 2) {
        for (int k = 0; k < 6; ++k)
            v += q->coef[2 * k] * cos((k + 1) * x[0]) + q->coef[2 * k + 1] * sin((k + 1) * x[0]);
        return v + 0.3 * x[0] * x[0];
    }
    for (int d = 0; d < dim; ++d)
        v += 0.5 * q->w[d] * q->w[d] * x[d] * x[d];
    return v;
}

/* Every member: a Gaussian at c (per axis) times a random complex polynomial, a product over the axes
 * of cubics: independent members with parts in every symmetry class. */
static void starts(qdml_problem *p, const qdml_grid *g, int64_t B, double c, uint64_t seed) {
    const int64_t N = qdml_grid_points(g);
    double *psi = qt_calloc((size_t)(2 * N), sizeof(double));
    qt_rng r;
    qt_rng_seed(&r, seed);
    for (int64_t b = 0; b < B; ++b) {
        double a[3][4][2];
        for (int d = 0; d < 3; ++d)
            for (int k = 0; k < 4; ++k)
                a[d][k][0] = qt_normal(&r), a[d][k][1] = qt_normal(&r);
        for (int64_t i = 0; i < N; ++i) {
            double x[3] = {0, 0, 0}, e = 0.0, re = 1.0, im = 0.0;
            qt_coords(g, i, x);
            for (int d = 0; d < g->dim; ++d) {
                e += (x[d] - c) * (x[d] - c);
                double pr = 0.0, pi = 0.0, xk = 1.0;
                for (int k = 0; k < 4; ++k, xk *= x[d])
                    pr += a[d][k][0] * xk, pi += a[d][k][1] * xk;
                const double nr = re * pr - im * pi, ni = re * pi + im * pr;
                re = nr;
                im = ni;
            }
            psi[2 * i] = exp(-0.25 * e) * re;
            psi[2 * i + 1] = exp(-0.25 * e) * im;
        }
        cr_assert_eq(qdml_problem_set_state(p, b, psi), QDML_OK);
    }
    free(psi);
}

static qdml_ground_options lobpcg(double tol) {
    qdml_ground_options o;
    qdml_ground_options_default(&o);
    o.method = QDML_GROUND_LOBPCG;
    o.tolerance = tol;
    return o;
}

/* The lowest K eigenvalues of the 1D discrete Hamiltonian on g (hbar = m = 1) by dense Jacobi. */
static void dense_levels(const qdml_grid *g, const pot *q, int K, double *e) {
    const int n = (int)g->n[0];
    const double L = g->hi[0] - g->lo[0], dx = L / n;
    double *h = qt_calloc((size_t)(2 * n * n), sizeof(double)), *v = qt_calloc((size_t)(2 * n * n), sizeof(double));
    double *w = qt_calloc((size_t)n, sizeof(double));
    for (int j = 0; j < n; ++j)
        for (int l = 0; l < n; ++l) {
            double t = 0.0;
            for (int m = 0; m < n; ++m) {
                const int f = m <= n / 2 ? m : m - n; /* FFT order: the Nyquist wavenumber once, negative */
                const double k = 2.0 * 3.14159265358979323846 * f / L;
                t += 0.5 * k * k * cos(k * (j - l) * dx);
            }
            h[2 * (j * n + l)] = t / n;
        }
    for (int j = 0; j < n; ++j) {
        const double x = g->lo[0] + j * dx;
        h[2 * (j * n + j)] += potential(&x, 1, (void *)q);
    }
    cr_assert_eq(qdml_herm_eig(n, h, w, v), 0);
    for (int k = 0; k < K; ++k)
        e[k] = w[k];
    free(h);
    free(v);
    free(w);
}

Test(lobpcg, oscillator_ground_state_in_one_two_and_three_dimensions) {
    qdml_context *ctx = qt_context();
    const struct {
        int dim;
        int64_t n;
        double w[3], e;
    } cases[] = {{1, 128, {1.0}, 0.5}, {2, 48, {1.0, 1.5}, 1.25}, {3, 32, {1.0, 1.25, 1.5}, 1.875}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        const int dim = cases[c].dim;
        int64_t n[3] = {cases[c].n, cases[c].n, cases[c].n};
        const double half = dim == 3 ? 6.5 : 8.0; /* 3D: dx = 0.41, the width 0.58 of the stiffest axis resolved */
        double lo[3] = {-half, -half, -half}, hi[3] = {half, half, half};
        const qdml_grid g = qt_grid(dim, n, lo, hi);
        qdml_problem *p = qt_problem(ctx, &g, 1);
        pot q = {{cases[c].w[0], cases[c].w[1], cases[c].w[2]}, 0, NULL};
        qt_set_potential_fn(p, 0, potential, &q);
        starts(p, &g, 1, 0.4, 7 + c);
        qdml_ground_options o = lobpcg(1e-9);
        qdml_run_result r;
        cr_assert_eq(qdml_problem_ground(p, &o, &r), QDML_OK, "%s", qdml_context_last_error(ctx));
        cr_assert(r.converged, "%dD: residual %g", dim, r.final.residual);
        cr_assert_eq(r.method, QDML_GROUND_LOBPCG);
        cr_assert_leq(r.final.residual, 1e-9);
        cr_assert_float_eq(r.final.energy, cases[c].e, 1e-10, "%dD: E = %.15g, expected %g", dim, r.final.energy,
                           cases[c].e);
        cr_assert_float_eq(r.final.norm, 1.0, 1e-12, "normalised");
        cr_assert_gt(r.steps, 0);
        cr_assert_geq(r.hamiltonian_applications, 2 * r.steps, "H on the residuals and directions, every iteration");
        qdml_problem_destroy(p);
    }
    qdml_context_destroy(ctx);
}

Test(lobpcg, degenerate_levels_of_the_2d_oscillator) {
    qdml_context *ctx = qt_context();
    int64_t n[2] = {48, 48};
    double lo[2] = {-8, -8}, hi[2] = {8, 8};
    const qdml_grid g = qt_grid(2, n, lo, hi);
    qdml_problem *p = qt_problem(ctx, &g, 4);
    pot q = {{1.0, 1.0}, 0, NULL};
    for (int b = 0; b < 4; ++b)
        qt_set_potential_fn(p, b, potential, &q);
    starts(p, &g, 4, 0.3, 21);
    /* A tolerance 30 times the rounding floor (about 3e-14 here): the iteration must stay stable while its
     * directions have become rounding noise (it did not when H P was carried by the recurrence). */
    qdml_ground_options o = lobpcg(1e-12);
    qdml_run_result r[4];
    cr_assert_eq(qdml_problem_lowest_states(p, &o, r), QDML_OK, "%s", qdml_context_last_error(ctx));
    const double e[4] = {1.0, 2.0, 2.0, 3.0};
    for (int b = 0; b < 4; ++b) {
        cr_assert(r[b].converged, "state %d: residual %g", b, r[b].final.residual);
        cr_assert_float_eq(r[b].final.energy, e[b], 1e-12, "state %d: E = %.15g", b, r[b].final.energy);
    }
    /* Orthonormal: the Gram matrix of the states, to rounding. */
    const int64_t N = qdml_grid_points(&g);
    double *s[4];
    for (int b = 0; b < 4; ++b)
        s[b] = qt_get_state(p, b);
    const double dv = (16.0 / 48) * (16.0 / 48);
    for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b) {
            double re = 0.0, im = 0.0;
            for (int64_t i = 0; i < N; ++i) {
                re += s[a][2 * i] * s[b][2 * i] + s[a][2 * i + 1] * s[b][2 * i + 1];
                im += s[a][2 * i] * s[b][2 * i + 1] - s[a][2 * i + 1] * s[b][2 * i];
            }
            cr_assert_leq(hypot(re * dv - (a == b), im * dv), 1e-10, "<%d|%d> = %g%+gi", a, b, re * dv, im * dv);
        }
    for (int b = 0; b < 4; ++b)
        free(s[b]);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(lobpcg, near_degenerate_double_well_within_5000_applications) {
    /* V = 4 (x^2 - 2)^2 on [-6, 6): E0 = 3.86366928, E1 = 3.86518565 on 512 points (a tunnelling
     * splitting of 1.5e-3); the reference is the same Hamiltonian's dense spectrum on 128 points (whose
     * two lowest levels differ from 512 points' by < 1e-3: the box is resolved from 96 points on). */
    qdml_context *ctx = qt_context();
    const int64_t npts[2] = {512, 128};
    for (int c = 0; c < 2; ++c) {
        int64_t n = npts[c];
        double lo = -6, hi = 6;
        const qdml_grid g = qt_grid(1, &n, &lo, &hi);
        pot q = {{0}, 1, NULL};
        for (int K = 1; K <= 2; ++K) {
            qdml_problem *p = qt_problem(ctx, &g, K);
            for (int b = 0; b < K; ++b)
                qt_set_potential_fn(p, b, potential, &q);
            starts(p, &g, K, 1.0, 31 + K);
            qdml_ground_options o = lobpcg(1e-9);
            qdml_run_result r[2];
            cr_assert_eq(K == 1 ? qdml_problem_ground(p, &o, r) : qdml_problem_lowest_states(p, &o, r), QDML_OK, "%s",
                         qdml_context_last_error(ctx));
            for (int b = 0; b < K; ++b) {
                cr_assert(r[b].converged, "n %lld, K %d, state %d: residual %g", (long long)n, K, b,
                          r[b].final.residual);
                cr_assert_leq(r[b].hamiltonian_applications, 5000, "n %lld, K %d: %lld applications", (long long)n, K,
                              (long long)r[b].hamiltonian_applications);
            }
            if (n == 512) {
                cr_assert_float_eq(r[0].final.energy, 3.86366928, 5e-9, "E0 = %.12g", r[0].final.energy);
                if (K == 2) cr_assert_float_eq(r[1].final.energy, 3.86518565, 5e-9, "E1 = %.12g", r[1].final.energy);
            } else {
                double e[2];
                dense_levels(&g, &q, 2, e);
                for (int b = 0; b < K; ++b)
                    cr_assert_float_eq(r[b].final.energy, e[b], 1e-10, "state %d: %.15g, dense %.15g", b,
                                       r[b].final.energy, e[b]);
            }
            qdml_problem_destroy(p);
        }
    }
    qdml_context_destroy(ctx);
}

Test(lobpcg, random_potentials_match_the_dense_spectrum) {
    qdml_context *ctx = qt_context();
    qt_rng rng;
    qt_rng_seed(&rng, 41);
    for (int rep = 0; rep < 4; ++rep) {
        int64_t n = 64 + 16 * rep;
        double lo = -7, hi = 7;
        const qdml_grid g = qt_grid(1, &n, &lo, &hi);
        double coef[12];
        for (int k = 0; k < 12; ++k)
            coef[k] = qt_normal(&rng);
        pot q = {{0}, 2, coef};
        const int K = 3;
        qdml_problem *p = qt_problem(ctx, &g, K);
        for (int b = 0; b < K; ++b)
            qt_set_potential_fn(p, b, potential, &q);
        starts(p, &g, K, 0.0, 51 + rep);
        qdml_ground_options o = lobpcg(1e-9);
        o.guard_states = 1 + rep % 3;
        qdml_run_result r[3];
        cr_assert_eq(qdml_problem_lowest_states(p, &o, r), QDML_OK, "%s", qdml_context_last_error(ctx));
        double e[3];
        dense_levels(&g, &q, K, e);
        for (int b = 0; b < K; ++b) {
            cr_assert(r[b].converged, "rep %d state %d: residual %g", rep, b, r[b].final.residual);
            cr_assert_float_eq(r[b].final.energy, e[b], 1e-10, "rep %d state %d: %.15g, dense %.15g", rep, b,
                               r[b].final.energy, e[b]);
        }
        qdml_problem_destroy(p);
    }
    qdml_context_destroy(ctx);
}

Test(lobpcg, batch_members_are_solved_as_alone) {
    qdml_context *ctx = qt_context();
    int64_t n = 96;
    double lo = -8, hi = 8;
    const qdml_grid g = qt_grid(1, &n, &lo, &hi);
    pot q[3] = {{{1.0}, 0, NULL}, {{0}, 1, NULL}, {{2.0}, 0, NULL}};
    qdml_problem *p = qt_problem(ctx, &g, 3);
    for (int b = 0; b < 3; ++b)
        qt_set_potential_fn(p, b, potential, &q[b]);
    starts(p, &g, 3, 0.5, 61);
    qdml_ground_options o = lobpcg(1e-9);
    qdml_run_result r[3];
    cr_assert_eq(qdml_problem_ground(p, &o, r), QDML_OK, "%s", qdml_context_last_error(ctx));
    for (int b = 0; b < 3; ++b) {
        cr_assert(r[b].converged, "member %d", b);
        qdml_problem *one = qt_problem(ctx, &g, 1);
        qt_set_potential_fn(one, 0, potential, &q[b]);
        starts(one, &g, 1, 0.5, 71 + b);
        qdml_run_result r1;
        cr_assert_eq(qdml_problem_ground(one, &o, &r1), QDML_OK);
        cr_assert_float_eq(r[b].final.energy, r1.final.energy, 1e-10, "member %d: %.15g alone %.15g", b,
                           r[b].final.energy, r1.final.energy);
        qdml_problem_destroy(one);
    }
    cr_assert_float_eq(r[0].final.energy, 0.5, 1e-10);
    cr_assert_float_eq(r[2].final.energy, 1.0, 1e-10);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

static int stop_at_first(const qdml_stats *s, int64_t n, void *user) {
    (void)s;
    (void)n;
    ++*(int *)user;
    return 1;
}

Test(lobpcg, options_are_checked_and_auto_chooses) {
    qdml_context *ctx = qt_context();
    int64_t n = 64;
    double lo = -8, hi = 8;
    const qdml_grid g = qt_grid(1, &n, &lo, &hi);
    qdml_problem *p = qt_problem(ctx, &g, 1);
    pot q = {{1.0}, 0, NULL};
    qt_set_potential_fn(p, 0, potential, &q);
    starts(p, &g, 1, 0.5, 81);
    qdml_ground_options o = lobpcg(1e-9);
    qdml_run_result r;
    o.guard_states = 65;
    cr_assert_eq(qdml_problem_ground(p, &o, &r), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_not_null(strstr(qdml_context_last_error(ctx), "guard_states"));
    o.guard_states = -2;
    cr_assert_eq(qdml_problem_ground(p, &o, &r), QDML_ERR_INVALID_ARGUMENT);
    o.guard_states = 0;
    o.method = 7;
    cr_assert_eq(qdml_problem_ground(p, &o, &r), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_not_null(strstr(qdml_context_last_error(ctx), "options.method"));
    /* The callback stops it. */
    o = lobpcg(1e-14);
    o.monitor_every = 1;
    int calls = 0;
    o.monitor = stop_at_first;
    o.monitor_user = &calls;
    cr_assert_eq(qdml_problem_ground(p, &o, &r), QDML_OK);
    cr_assert_eq(calls, 1, "called %d times", calls);
    cr_assert(r.stopped_by_callback && !r.converged && r.steps == 1);
    /* Resume is the imaginary-time schedule's: refused with LOBPCG, imaginary time under AUTO. */
    o = lobpcg(1e-9);
    o.method = QDML_GROUND_IMAGINARY_TIME;
    o.max_steps = 40;
    cr_assert_eq(qdml_problem_ground(p, &o, &r), QDML_OK);
    o.resume = 1;
    o.method = QDML_GROUND_LOBPCG;
    cr_assert_eq(qdml_problem_ground(p, &o, &r), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_not_null(strstr(qdml_context_last_error(ctx), "resume"));
    o.method = QDML_GROUND_AUTO;
    cr_assert_eq(qdml_problem_ground(p, &o, &r), QDML_OK, "%s", qdml_context_last_error(ctx));
    cr_assert_eq(r.method, QDML_GROUND_IMAGINARY_TIME);
    o.resume = 0;
    o.max_steps = 200000;
    cr_assert_eq(qdml_problem_ground(p, &o, &r), QDML_OK);
    cr_assert_eq(r.method, QDML_GROUND_LOBPCG, "AUTO on the CPU backend in float64");
    cr_assert(r.converged);
    /* A zero start is refused, naming the member. */
    double *zero = qt_calloc(2 * (size_t)n, sizeof(double));
    cr_assert_eq(qdml_problem_set_state(p, 0, zero), QDML_OK);
    o = lobpcg(1e-9);
    cr_assert_eq(qdml_problem_ground(p, &o, &r), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_not_null(strstr(qdml_context_last_error(ctx), "member 0"), "%s", qdml_context_last_error(ctx));
    free(zero);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(lobpcg_cli, ground_uses_lobpcg_unless_told_or_implied_otherwise) {
    char *dir = qt_tmpdir("lobpcg");
    cli_result r = RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "64", "--tol", "1e-9", "--json");
    expect_ok(&r);
    cr_assert_not_null(strstr(r.out, "\"method\": \"lobpcg\""), "%s", r.out);
    cr_assert_float_eq(json_num(r.out, "energy", 0), 0.5, 1e-10, "%s", r.out);
    cr_assert_gt(json_num(r.out, "hamiltonian_applications", 0), 0.0, "%s", r.out);
    cli_free(&r);
    r = RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "64", "--states", "3", "--guards", "none",
            "--tol", "1e-9", "--json");
    expect_ok(&r);
    double e[3];
    cr_assert_eq(json_array(r.out, "energies", e, 3), 3, "%s", r.out);
    for (int k = 0; k < 3; ++k)
        cr_assert_float_eq(e[k], k + 0.5, 1e-9, "E_%d = %.15g", k, e[k]);
    cli_free(&r);
    /* Imaginary time when asked, or when an option only it has is given. */
    r = RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "64", "--method", "imaginary-time",
            "--json");
    expect_ok(&r);
    cr_assert_not_null(strstr(r.out, "\"method\": \"imaginary-time\""), "%s", r.out);
    cli_free(&r);
    r = RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "64", "--dt-initial", "0.1", "--json");
    expect_ok(&r);
    cr_assert_not_null(strstr(r.out, "\"method\": \"imaginary-time\""), "%s", r.out);
    cli_free(&r);
    char *ck = qt_path(dir, "run.ckpt");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "64", "--method", "lobpcg",
                    "--checkpoint", ck),
                2, "--method lobpcg cannot be given with --checkpoint");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "64", "--method", "lanczos"), 2,
                "give auto, lobpcg or imaginary-time");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "64", "--method", "imaginary-time",
                    "--guards", "2"),
                2, "--guards is an option of --method lobpcg");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "64", "--guards", "65"), 2,
                "at most 64");
    free(ck);
    qt_rm_rf(dir);
    free(dir);
}
