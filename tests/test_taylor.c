/* First-order Taylor: a linear objective V = g.x in imaginary time moves a Gaussian packet downhill.
 *
 * Closed form. With d psi / d tau = D lap psi - (g.x) psi / hbar (D = hbar / 2m) and, per axis,
 * psi = A(tau) exp(-(x - c)^2 / 2v) (psi itself the distribution: the paper's L1 picture), the
 * terms in (x - c)^2, (x - c) and 1 give
 *     v' / 2v^2 = D / v^2,   c' / v = -g / hbar,   A' / A = -D / v - g c / hbar,
 * so  v(tau) = s^2 + 2 D tau  and  c(tau) = x0 - (s^2 tau + D tau^2) g / hbar.
 * Strang splitting is exact here: the half kick exp(-g x dt / 2 hbar) on a Gaussian of variance v
 * moves its centre by -g v dt / 2 hbar, the free step adds 2 D dt to v, the second half kick moves
 * it by -g (v + 2 D dt) dt / 2 hbar: in all -g (v dt + D dt^2) / hbar, the integral of c' over the
 * step. So any dt gives the closed form; a splitting of order 1 would not (tested below).
 *
 * Errors. (a) Sampling: the grid moments of a Gaussian of width >= 5 spacings equal the continuum
 * ones up to exp(-2 pi^2 v / dx^2) < 1e-100. (b) The box: V jumps at the periodic edge; the packet
 * stays >= 6.7 widths from it (tails < 1e-10 of the mass, and their moments smaller still). (c) Rounding, ~1e-16 of the
 * peak everywhere, grows where V is lowest (the downhill edge) by exp(tau (V(c) - min V) / hbar) relative to the
 * packet; the runs keep that exponent <= 12 (a factor 2e5), so the moments carry errors ~1e-11. The bound 1e-8 is this
 * with a factor ~100 to spare for other FFT plans.
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context; the CPU by default): the behaviour tested here
 * is every backend's, with float64 bounds.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "support.h"

#define TOL 1e-8

typedef struct packet_run {
    double hbar, mass, s;
    double x0[QDML_MAX_DIM], g[QDML_MAX_DIM];
    double dt;
    int64_t steps; /* per chunk */
    int chunks;
    int renormalize;
} packet_run;

typedef struct moments {
    double tau;
    double centre[QDML_MAX_DIM], var[QDML_MAX_DIM];
    double cov01;     /* 2D: covariance of axes 0 and 1 (0 for the closed form) */
    qdml_stats stats; /* the library's statistics (under |psi|^2) */
} moments;

static void psi_moments(const qdml_grid *g, const double *psi, moments *m) {
    const int64_t np = qdml_grid_points(g);
    double m0 = 0.0, m1[QDML_MAX_DIM] = {0}, m2[QDML_MAX_DIM] = {0}, m11 = 0.0;
    for (int64_t i = 0; i < np; ++i) {
        double x[QDML_MAX_DIM];
        qt_coords(g, i, x);
        const double w = psi[2 * i];
        m0 += w;
        for (int d = 0; d < g->dim; ++d) {
            m1[d] += w * x[d];
            m2[d] += w * x[d] * x[d];
        }
        if (g->dim >= 2) m11 += w * x[0] * x[1];
    }
    for (int d = 0; d < g->dim; ++d) {
        m->centre[d] = m1[d] / m0;
        m->var[d] = m2[d] / m0 - m->centre[d] * m->centre[d];
    }
    m->cov01 = g->dim >= 2 ? m11 / m0 - m->centre[0] * m->centre[1] : 0.0;
}

/* Evolves psi = exp(-|x - x0|^2 / 2 s^2) under V = g.x; out[k] after k chunks (k = 0 .. chunks). */
static void run_packet(const qdml_grid *g, const packet_run *r, moments *out) {
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, g, 1);
    const int64_t np = qdml_grid_points(g);
    double *V = qt_calloc((size_t)np, sizeof *V);
    double *psi = qt_calloc(2 * (size_t)np, sizeof *psi);
    for (int64_t i = 0; i < np; ++i) {
        double x[QDML_MAX_DIM], r2 = 0.0;
        qt_coords(g, i, x);
        for (int d = 0; d < g->dim; ++d) {
            V[i] += r->g[d] * x[d];
            r2 += (x[d] - r->x0[d]) * (x[d] - r->x0[d]);
        }
        psi[2 * i] = exp(-r2 / (2.0 * r->s * r->s));
    }
    cr_assert_eq(qdml_problem_set_potential(p, 0, V), QDML_OK);
    cr_assert_eq(qdml_problem_set_hbar(p, 0, r->hbar), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, 0, r->mass), QDML_OK);
    cr_assert_eq(qdml_problem_set_state(p, 0, psi), QDML_OK);
    for (int k = 0; k <= r->chunks; ++k) {
        if (k > 0) {
            qdml_evolve_options o;
            qdml_evolve_options_default(&o);
            o.mode = QDML_IMAGINARY_TIME;
            o.renormalize = r->renormalize;
            o.dt = r->dt;
            o.steps = r->steps;
            cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
        }
        cr_assert_eq(qdml_problem_get_state(p, 0, psi), QDML_OK);
        out[k].tau = (double)k * (double)r->steps * r->dt;
        psi_moments(g, psi, &out[k]);
        cr_assert_eq(qdml_problem_stats(p, 0, &out[k].stats), QDML_OK);
    }
    free(V);
    free(psi);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

static double closed_centre(const packet_run *r, int axis, double tau) {
    const double D = r->hbar / (2.0 * r->mass);
    return r->x0[axis] - (r->s * r->s * tau + D * tau * tau) * r->g[axis] / r->hbar;
}

/* s^2 + 2 D tau with D = hbar / 2m. */
static double closed_var(const packet_run *r, double tau) { return r->s * r->s + r->hbar / r->mass * tau; }

/* Asserts every chunk's centre (absolute) and variance (relative) against the closed form; also
 * the library's own statistics, under |psi|^2 = exp(-(x - c)^2 / v): mean c, width sqrt(v / 2). */
static void check_closed_form(const qdml_grid *g, const packet_run *r, const moments *m, const char *what) {
    double worst_c = 0.0, worst_v = 0.0;
    for (int k = 0; k <= r->chunks; ++k) {
        const double v = closed_var(r, m[k].tau);
        for (int d = 0; d < g->dim; ++d) {
            const double c = closed_centre(r, d, m[k].tau);
            const double ec = fabs(m[k].centre[d] - c), ev = fabs(m[k].var[d] - v) / v;
            worst_c = fmax(worst_c, ec);
            worst_v = fmax(worst_v, ev);
            cr_assert_leq(ec, TOL, "%s, tau %g, axis %d: centre %.15g, closed form %.15g (error %.3g)", what, m[k].tau,
                          d, m[k].centre[d], c, ec);
            cr_assert_leq(ev, TOL, "%s, tau %g, axis %d: variance %.15g, closed form %.15g (relative error %.3g)", what,
                          m[k].tau, d, m[k].var[d], v, ev);
            cr_assert_leq(fabs(m[k].stats.mean[d] - c), TOL, "%s, tau %g, axis %d: stats mean %.15g, closed %.15g",
                          what, m[k].tau, d, m[k].stats.mean[d], c);
            cr_assert_leq(fabs(m[k].stats.width[d] - sqrt(v / 2.0)), TOL,
                          "%s, tau %g, axis %d: stats width %.15g, closed sqrt(v/2) = %.15g", what, m[k].tau, d,
                          m[k].stats.width[d], sqrt(v / 2.0));
        }
        cr_assert_leq(fabs(m[k].cov01), TOL * v, "%s, tau %g: covariance %.3g of independent axes", what, m[k].tau,
                      m[k].cov01);
    }
    cr_log_info("%s: worst centre error %.3g, worst relative variance error %.3g (bound %.0e)", what, worst_c, worst_v,
                TOL);
}

/* 1D: [-12, 12), 192 points (dx = 0.125, s = 0.6 = 4.8 dx); hbar = 0.8, m = 1.3 (D = 0.3077);
 * g = 0.4: tau = 2 moves the centre by -(0.72 + 1.2308) 0.5 = -0.975 and v from 0.36 to 1.59.
 * Rounding exponent g (c + 12) tau / hbar <= 12.5. */
static packet_run run_1d(double g, double dt, int64_t steps, int renormalize) {
    packet_run r = {.hbar = 0.8,
                    .mass = 1.3,
                    .s = 0.6,
                    .x0 = {0.5},
                    .g = {g},
                    .dt = dt,
                    .steps = steps,
                    .chunks = 4,
                    .renormalize = renormalize};
    return r;
}

static qdml_grid grid_1d(void) {
    const int64_t n[1] = {192};
    const double lo[1] = {-12.0}, hi[1] = {12.0};
    return qt_grid(1, n, lo, hi);
}

Test(taylor, linear_potential_moves_the_packet_by_the_closed_form_1d) {
    qdml_grid g = grid_1d();
    for (int renorm = 0; renorm <= 1; ++renorm) {
        /* 4 chunks of 25 steps of 0.02: tau = 0.5, 1, 1.5, 2. Renormalisation rescales psi only. */
        packet_run r = run_1d(0.4, 0.02, 25, renorm);
        moments m[5];
        run_packet(&g, &r, m);
        check_closed_form(&g, &r, m, renorm ? "1D, renormalised" : "1D, not renormalised");
        if (renorm) cr_assert_float_eq(m[4].stats.norm, 1.0, 1e-13, "renormalised norm %.17g", m[4].stats.norm);
        /* The packet really moved: by -0.975 at tau = 2, against g. */
        cr_assert_lt(m[4].centre[0] - r.x0[0], -0.97, "moved by %.6g", m[4].centre[0] - r.x0[0]);
    }
}

Test(taylor, strang_is_exact_for_a_linear_potential) {
    /* Steps 25 times larger (dt = 0.5, one step per chunk) give the closed form as well. A first-order
     * splitting (kick, then drift) would miss the centre by g D dt tau / hbar = 0.4 * 0.31 * 0.5 * 2 /
     * 0.8 = 0.15 at tau = 2: 10^7 times the tolerance. */
    qdml_grid g = grid_1d();
    packet_run r = run_1d(0.4, 0.5, 1, 0);
    moments m[5];
    run_packet(&g, &r, m);
    check_closed_form(&g, &r, m, "1D, dt = 0.5");
}

Test(taylor, drift_is_first_order_in_g) {
    /* The displacement c - x0 = -(s^2 tau + D tau^2) g / hbar is linear in g: -g reverses it,
     * 2g doubles it, g = 0 leaves the centre where it was; the variance does not depend on g.
     * Tolerances: each run is within 1e-8 of the closed form (above), so combinations of two are
     * within 2e-8 (3e-8 for 2g minus twice g). The 2g run has rounding exponent 25 at the downhill
     * edge, so it stops at tau = 1 (exponent 12.5). */
    qdml_grid g = grid_1d();
    const double gs[4] = {0.4, -0.4, 0.8, 0.0};
    moments m[4][3];
    for (int i = 0; i < 4; ++i) {
        packet_run r = run_1d(gs[i], 0.02, 25, 0);
        r.chunks = 2;
        run_packet(&g, &r, m[i]);
    }
    const double x0 = 0.5;
    for (int k = 1; k <= 2; ++k) {
        const double up = m[0][k].centre[0] - x0, down = m[1][k].centre[0] - x0, twice = m[2][k].centre[0] - x0;
        const double still = m[3][k].centre[0] - x0;
        cr_assert_lt(up, -0.1, "tau %g: g = 0.4 moved the centre by %.6g, not downhill", m[0][k].tau, up);
        cr_assert_leq(fabs(up + down), 2 * TOL, "tau %g: displacements %.15g (g) and %.15g (-g) are not opposite",
                      m[0][k].tau, up, down);
        cr_assert_leq(fabs(twice - 2.0 * up), 3 * TOL, "tau %g: displacement %.15g with 2g, twice %.15g", m[0][k].tau,
                      twice, up);
        cr_assert_leq(fabs(still), TOL, "tau %g: g = 0 moved the centre by %.3g", m[0][k].tau, still);
        for (int i = 1; i < 4; ++i)
            cr_assert_leq(fabs(m[i][k].var[0] - m[0][k].var[0]), 2 * TOL * m[0][k].var[0],
                          "tau %g: variance %.15g with g = %g, %.15g with g = 0.4", m[0][k].tau, m[i][k].var[0], gs[i],
                          m[0][k].var[0]);
    }
}

Test(taylor, linear_potential_moves_the_packet_by_the_closed_form_2d) {
    /* Box [-14, 14) x [-13, 15) of 112 x 96 points (spacings 0.25 and 0.29), s = 1.1 >= 3.8
     * spacings; hbar = 1, m = 0.7 (D = 0.714), g = (0.3, -0.25): the packet moves against g on both
     * axes independently, by (-1.13, 0.94) at tau = 1.6 (v from 1.21 to 3.50), and the axes stay
     * uncorrelated. Edges >= 6.7 final widths away; rounding exponent
     * (0.3 (c0 + 14) + 0.25 (15 - c1)) tau / hbar <= 12.7. */
    const int64_t n[2] = {112, 96};
    const double lo[2] = {-14.0, -13.0}, hi[2] = {14.0, 15.0};
    qdml_grid g = qt_grid(2, n, lo, hi);
    packet_run r = {.hbar = 1.0,
                    .mass = 0.7,
                    .s = 1.1,
                    .x0 = {0.5, -0.4},
                    .g = {0.3, -0.25},
                    .dt = 0.04,
                    .steps = 10,
                    .chunks = 4,
                    .renormalize = 1};
    moments m[5];
    run_packet(&g, &r, m);
    check_closed_form(&g, &r, m, "2D");
    cr_assert_lt(m[4].centre[0] - r.x0[0], -1.1, "axis 0 moved by %.6g", m[4].centre[0] - r.x0[0]);
    cr_assert_gt(m[4].centre[1] - r.x0[1], 0.9, "axis 1 moved by %.6g", m[4].centre[1] - r.x0[1]);
}
