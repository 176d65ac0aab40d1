/* Ground states of the anisotropic harmonic oscillator V = (m/2) sum_d w_d^2 x_d^2 by
 * qdml_problem_ground: E0 = hbar sum_d w_d / 2, phi0 = prod_d (2 pi s_d^2)^(-1/4) exp(-x_d^2 / 4 s_d^2)
 * with s_d = sqrt(hbar / (2 m w_d)) the width of |phi0|^2 on axis d.
 *
 * Bounds from the residual r = ||H psi - E psi|| / ||psi|| the run reports (converged: r <= tol).
 * Write psi = c0 phi0 + chi, chi orthogonal to phi0, gap g = E1 - E0 = hbar min_d w_d:
 *  - |chi|^2 / |psi|^2 <= (r / g)^2 (expand (H - E) psi in eigenstates), so the infidelity
 *    1 - |<phi0|psi>|^2 / |psi|^2 <= (r/g)^2;
 *  - Temple's inequality: 0 <= E - E0 <= r^2 / (E1 - E) ~ r^2 / g (second order in r);
 *  - <x_d> and width_d move at first order in |chi| / |psi| <= r/g: <x> picks up 2 Re(c0* c1) <0|x|1>
 *    = 2 s eps, the width sqrt(2) s eps (from <0|x^2|2> = sqrt(2) s^2): bounded by 3 s_d r / g;
 *  - the virial theorem <T> = <V> holds for phi0; the first-order change of <T - V> is
 *    2 eps |<0|T - V|2>| = sqrt(2) hbar w eps per axis: bounded by 2 hbar sum_d w_d r / g.
 * Added to each: 1e-11 for the grid (the box is >= 8 widths s_d wide on each side so |phi0| at the
 * edge is <= exp(-16) of its peak and the energy it carries ~exp(-32); the setup asserts |phi0_hat|
 * at Nyquist <= exp(-36)) and rounding of the sums (~1e-13 on E ~ 1).
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
    double m, w[3];
    int dim;
} ho_params;

static double ho_potential(const double *x, int dim, void *user) {
    const ho_params *h = user;
    double v = 0.0;
    for (int d = 0; d < dim; ++d) v += 0.5 * h->m * h->w[d] * h->w[d] * x[d] * x[d];
    return v;
}

static void run_ground(int dim, const int64_t *n, double a, double hbar, double m, const double *w, double tol) {
    double s[3];
    int64_t nn[3];
    double lo[3], hi[3];
    double wmin = w[0], wsum = 0.0;
    for (int d = 0; d < dim; ++d) {
        s[d] = sqrt(hbar / (2.0 * m * w[d]));
        nn[d] = n[d];
        lo[d] = -a * s[d];
        hi[d] = a * s[d];
        wmin = fmin(wmin, w[d]);
        wsum += w[d];
        double kn = QT_PI * (double)n[d] / (2.0 * a * s[d]);
        cr_assert_geq(s[d] * kn, 6.0, "setup: s k_N = %g on axis %d: phi0 not resolved", s[d] * kn, d);
    }
    cr_assert_geq(a, 8.0, "setup: box half-width %g widths is too small", a);
    qdml_grid g = qt_grid(dim, nn, lo, hi);
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, &g, 1);
    ho_params hp = {.m = m, .dim = dim};
    for (int d = 0; d < dim; ++d) hp.w[d] = w[d];
    qt_set_potential_fn(p, 0, ho_potential, &hp);
    cr_assert_eq(qdml_problem_set_hbar(p, 0, hbar), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, 0, m), QDML_OK);
    /* Start off-centre and too wide, so every low excited state is present and must decay. */
    double c0[3], w0[3];
    for (int d = 0; d < dim; ++d) {
        c0[d] = (0.4 - 0.15 * d) * s[d];
        w0[d] = 1.3 * s[d];
    }
    cr_assert_eq(qdml_problem_set_state_gaussian(p, 0, c0, w0, NULL), QDML_OK);

    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = tol;
    qdml_run_result r;
    qdml_status st = qdml_problem_ground(p, &go, &r);
    cr_assert_eq(st, QDML_OK, "ground: %s", qdml_context_last_error(ctx));

    const double E0 = 0.5 * hbar * wsum, gap = hbar * wmin;
    const double res = r.final.residual, E = r.final.energy;
    cr_log_info("harmonic %dD: E = %.15g, E0 = %.15g, |E-E0| = %.3g, residual %.3g, %lld steps", dim, E, E0,
                fabs(E - E0), res, (long long)r.steps);
    cr_assert(r.converged, "%dD: not converged after %lld steps, residual %.3g > tol %.3g", dim, (long long)r.steps,
              res, tol);
    cr_assert(!r.diverged && !r.stopped_by_callback, "%dD: diverged %d, stopped %d", dim, r.diverged,
              r.stopped_by_callback);
    cr_assert_leq(res, tol, "%dD: residual %.3g > tol %.3g", dim, res, tol);
    cr_assert_gt(r.steps, 0, "no steps taken");
    cr_assert_eq(r.final.step, r.steps, "final.step %lld vs steps %lld", (long long)r.final.step,
                 (long long)r.steps);
    cr_assert_float_eq(r.final.norm, 1.0, 1e-12, "%dD: norm %.16g", dim, r.final.norm);

    const double slack = 1e-11;
    double ebound = res * res / gap + slack;
    cr_assert_leq(fabs(E - E0), ebound, "%dD: E = %.15g, E0 = %.15g, |E-E0| = %.3g > %.3g (residual %.3g)", dim, E,
                  E0, fabs(E - E0), ebound, res);
    cr_assert_geq(E, E0 - slack, "%dD: E = %.15g below the exact ground energy %.15g", dim, E, E0);
    double vir = fabs(r.final.kinetic - r.final.potential);
    double vbound = 2.0 * hbar * wsum * res / gap + slack;
    cr_assert_leq(vir, vbound, "%dD: virial <T> = %.15g, <V> = %.15g, differ by %.3g > %.3g", dim, r.final.kinetic,
                  r.final.potential, vir, vbound);
    for (int d = 0; d < dim; ++d) {
        double b = 3.0 * s[d] * res / gap + slack;
        cr_assert_leq(fabs(r.final.mean[d]), b, "%dD axis %d: <x> = %.3g, bound %.3g", dim, d, r.final.mean[d], b);
        cr_assert_leq(fabs(r.final.width[d] - s[d]), b, "%dD axis %d: width %.15g, expected %.15g (bound %.3g)", dim,
                      d, r.final.width[d], s[d], b);
    }

    /* Fidelity with the exact ground state, from the state itself. */
    const int64_t npts = qdml_problem_points(p);
    double *psi = qt_get_state(p, 0);
    double complex ov = 0.0;
    double n_psi = 0.0, n_phi = 0.0;
    for (int64_t i = 0; i < npts; ++i) {
        double x[3], phi = 1.0;
        qt_coords(&g, i, x);
        for (int d = 0; d < dim; ++d)
            phi *= pow(2.0 * QT_PI * s[d] * s[d], -0.25) * exp(-x[d] * x[d] / (4.0 * s[d] * s[d]));
        ov += phi * (psi[2 * i] + I * psi[2 * i + 1]);
        n_psi += psi[2 * i] * psi[2 * i] + psi[2 * i + 1] * psi[2 * i + 1];
        n_phi += phi * phi;
    }
    double infid = 1.0 - creal(ov * conj(ov)) / (n_psi * n_phi);
    double fbound = (res / gap) * (res / gap) + 1e-12;
    cr_log_info("harmonic %dD: infidelity %.3g (bound %.3g)", dim, infid, fbound);
    cr_assert_leq(infid, fbound, "%dD: 1 - |<phi0|psi>|^2 = %.3g > %.3g", dim, infid, fbound);
    free(psi);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(harmonic, ground_energy_1d) {
    const double w[1] = {1.3};
    const int64_t n[1] = {256};
    run_ground(1, n, 12.0, 0.6, 1.7, w, 1e-6);
}

Test(harmonic, ground_energy_2d_anisotropic) {
    const double w[2] = {1.0, 1.7};
    const int64_t n[2] = {64, 64};
    run_ground(2, n, 10.0, 0.6, 1.7, w, 1e-6);
}

Test(harmonic, ground_energy_3d_anisotropic) {
    /* 32^3 points, box +-8 widths per axis: s k_N = 32 pi / 16 = 6.3. */
    const double w[3] = {1.0, 1.7, 2.3};
    const int64_t n[3] = {32, 32, 32};
    run_ground(3, n, 8.0, 0.6, 1.7, w, 1e-6);
}

/* Odd sizes (no Nyquist mode; the highest wavenumber of an axis is (n-1)/2 quanta): the same bounds
 * on 63 points, 45 x 51 and 31 x 33 x 35 (s k_N = pi n / 2a >= 6.09 on every axis). */
Test(harmonic, ground_energy_1d_odd_63) {
    const double w[1] = {1.3};
    const int64_t n[1] = {63};
    run_ground(1, n, 12.0, 0.6, 1.7, w, 1e-6);
}

Test(harmonic, ground_energy_2d_odd_45x51) {
    const double w[2] = {1.0, 1.7};
    const int64_t n[2] = {45, 51};
    run_ground(2, n, 10.0, 0.6, 1.7, w, 1e-6);
}

Test(harmonic, ground_energy_3d_odd_31x33x35) {
    const double w[3] = {1.0, 1.7, 2.3};
    const int64_t n[3] = {31, 33, 35};
    run_ground(3, n, 8.0, 0.6, 1.7, w, 1e-6);
}
