/* Poschl-Teller well V = -(hbar^2 alpha^2 / 2m) lambda (lambda - 1) sech^2(alpha x):
 * bound states E_n = -(hbar^2 alpha^2 / 2m) (lambda - 1 - n)^2 for n < lambda - 1, ground state
 * phi0 ~ sech^(lambda-1)(alpha x) (DESIGN.md). A non-polynomial potential with a known spectrum.
 *
 * Bounds from the reported residual r (as in test_harmonic.c): with gap g = E1 - E0 (E1 the first
 * excited bound state; for lambda < 2 the continuum edge 0), Temple gives 0 <= E - E0 <= r^2 / g,
 * the infidelity is <= (r/g)^2, and <x> (0 for phi0) is <= 2 eps ||x phi0|| + eps^2 L/2 with
 * eps = r/g. Grid slack 1e-11: the box is wide enough that |phi0| ~ exp(-(lambda-1) alpha |x|) at the
 * edge is below exp(-30) of its peak; the setup asserts the Nyquist decay exp(-pi k_N/(2 alpha))
 * of sech-type functions is below exp(-30)
 * too.
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context; the CPU by default): the behaviour tested here
 * is every backend's, with float64 bounds.
 */
#include <complex.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "support.h"

typedef struct {
    double hbar, m, alpha, lambda;
} pt_params;

static double pt_potential(const double *x, int dim, void *user) {
    (void)dim;
    const pt_params *q = user;
    double sech = 1.0 / cosh(q->alpha * x[0]);
    return -(q->hbar * q->hbar * q->alpha * q->alpha / (2.0 * q->m)) * q->lambda * (q->lambda - 1.0) * sech * sech;
}

static void run_pt(pt_params q, int64_t npts, double half, double tol) {
    const int64_t n[1] = {npts};
    const double lo[1] = {-half}, hi[1] = {half};
    qdml_grid g = qt_grid(1, n, lo, hi);
    const double kn = QT_PI / qdml_grid_spacing(&g, 0);
    cr_assert_geq(QT_PI * kn / (2.0 * q.alpha), 30.0, "setup: sech not resolved");
    cr_assert_geq((q.lambda - 1.0) * q.alpha * hi[0], 30.0, "setup: box too small");

    const double c = q.hbar * q.hbar * q.alpha * q.alpha / (2.0 * q.m);
    const double E0 = -c * (q.lambda - 1.0) * (q.lambda - 1.0);
    const double E1 = q.lambda - 2.0 > 0.0 ? -c * (q.lambda - 2.0) * (q.lambda - 2.0) : 0.0;
    const double gap = E1 - E0;

    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, &g, 1);
    qt_set_potential_fn(p, 0, pt_potential, &q);
    cr_assert_eq(qdml_problem_set_hbar(p, 0, q.hbar), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, 0, q.m), QDML_OK);
    const double c0 = 0.35, w0 = 0.8;
    cr_assert_eq(qdml_problem_set_state_gaussian(p, 0, &c0, &w0, NULL), QDML_OK);
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = tol;
    qdml_run_result r;
    cr_assert_eq(qdml_problem_ground(p, &go, &r), QDML_OK, "ground: %s", qdml_context_last_error(ctx));
    const double E = r.final.energy, res = r.final.residual;
    cr_log_info("poschl-teller lambda %g: E = %.15g, E0 = %.15g, |E-E0| = %.3g, residual %.3g, %lld steps", q.lambda,
                E, E0, fabs(E - E0), res, (long long)r.steps);
    cr_assert(r.converged, "not converged: residual %.3g after %lld steps", res, (long long)r.steps);
    cr_assert_leq(res, tol, "residual %.3g > tol %.3g", res, tol);
    const double slack = 1e-11;
    double eb = res * res / gap + slack;
    cr_assert_leq(fabs(E - E0), eb, "E = %.15g, E0 = %.15g: |E-E0| = %.3g > %.3g (residual %.3g, gap %.4g)", E, E0,
                  fabs(E - E0), eb, res, gap);
    cr_assert_geq(E, E0 - slack, "E = %.15g below E0 = %.15g", E, E0);

    double *psi = qt_get_state(p, 0);
    double complex ov = 0.0;
    double np = 0.0, nf = 0.0, x2 = 0.0;
    for (int64_t i = 0; i < n[0]; ++i) {
        double x = qt_x(&g, 0, i);
        double phi = pow(1.0 / cosh(q.alpha * x), q.lambda - 1.0);
        ov += phi * (psi[2 * i] + I * psi[2 * i + 1]);
        np += psi[2 * i] * psi[2 * i] + psi[2 * i + 1] * psi[2 * i + 1];
        nf += phi * phi;
        x2 += x * x * phi * phi;
    }
    double infid = 1.0 - creal(ov * conj(ov)) / (np * nf);
    double eps = res / gap;
    cr_assert_leq(infid, eps * eps + 1e-12, "1 - |<phi0|psi>|^2 = %.3g > %.3g", infid, eps * eps + 1e-12);
    double xb = 2.0 * eps * sqrt(x2 / nf) + eps * eps * hi[0] + slack;
    cr_assert_leq(fabs(r.final.mean[0]), xb, "<x> = %.3g > %.3g", r.final.mean[0], xb);
    free(psi);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(poschl_teller, ground_energy_lambda_3_5) {
    /* c = hbar^2 alpha^2 / 2m = 0.3863: E0 = -2.4143, E1 = -0.8691, E2 = -0.0966 */
    pt_params q = {.hbar = 0.8, .m = 1.4, .alpha = 1.3, .lambda = 3.5};
    run_pt(q, 256, 12.0, 1e-6);
}

Test(poschl_teller, ground_energy_lambda_2_6) {
    /* c = 1.2^2 0.9^2 / 1.4 = 0.8331: E0 = -2.1328, E1 = -0.3000; wider state, wider box */
    pt_params q = {.hbar = 1.2, .m = 0.7, .alpha = 0.9, .lambda = 2.6};
    run_pt(q, 512, 22.0, 1e-6);
}
