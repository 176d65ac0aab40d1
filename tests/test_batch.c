/* A batch of B problems on one grid behaves exactly like B single problems: each member has its
 * own potential, hbar and mass, its own step-size schedule and stopping point, and its own
 * statistics.
 *
 * Tolerances: a batch member runs the same per-element arithmetic as a single problem; only the FFT
 * plan differs (a batched plan may pick another algorithm), which changes results by rounding,
 * ~1e-16 relative per FFT. Imaginary time contracts towards the ground state, so such differences
 * do not grow, and real time is unitary, so they grow at most linearly (~steps x 1e-16). Bounds:
 * 1e-12 relative on energies, 1e-10 (imaginary) and 1e-12 (real, 60 steps) relative to max |psi| on
 * states. Step counts must be identical: the schedule only compares residuals that agree to ~1e-13,
 * far from any decision threshold unless by a rare coincidence.
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context; the CPU by default): the behaviour tested here
 * is every backend's, with float64 bounds.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "support.h"

enum { B = 3 };

/* The ground-state batch, on a 2D grid (51 x 41 on [-4.5, 4.5) x [-4, 4)) so that a member stride that
 * coincides with the right one in 1D cannot pass: members 0 and 2 are anisotropic oscillators with
 * their own hbar, m and frequencies (closed forms, checked below; member 2 also sits past the first
 * member's data), member 1 a tilted double well in x (no closed form). */
typedef struct {
    double hbar, m, w[2]; /* w[0] < 0: the double well */
} member_spec;
static const member_spec MEMBERS[B] = {{0.7, 1.3, {1.2, 1.6}}, {1.0, 1.0, {-1.0, 1.1}}, {0.5, 2.0, {1.0, 0.8}}};

static double v_member(const double *x, int dim, void *u) {
    (void)dim;
    const member_spec *s = u;
    if (s->w[0] < 0) /* 0.2 x^4 - x^2 + 0.5 x, harmonic in y */
        return 0.2 * x[0] * x[0] * x[0] * x[0] - x[0] * x[0] + 0.5 * x[0] +
               0.5 * s->m * s->w[1] * s->w[1] * x[1] * x[1];
    return 0.5 * s->m * (s->w[0] * s->w[0] * x[0] * x[0] + s->w[1] * s->w[1] * x[1] * x[1]);
}

static void ground_setup(qdml_problem *p, int64_t member, int which) {
    qt_set_potential_fn(p, member, v_member, (void *)&MEMBERS[which]);
    cr_assert_eq(qdml_problem_set_hbar(p, member, MEMBERS[which].hbar), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, member, MEMBERS[which].m), QDML_OK);
    const double c[2] = {0.3, -0.2}, w[2] = {0.9, 0.7};
    cr_assert_eq(qdml_problem_set_state_gaussian(p, member, c, w, NULL), QDML_OK);
}

/* An oscillator member against its closed form: E0 = hbar (w0 + w1) / 2 within r^2 / gap (Temple) and
 * the widths s_d = sqrt(hbar / 2 m w_d) within 3 s_d r / gap (first order in the excited admixture,
 * r / gap; see test_harmonic.c), each plus 1e-11 for the grid: the setup asserts s_d k_N >= 6 and a box
 * >= 8 s_d from the centre on each axis. */
static void check_oscillator(const qdml_grid *g, int b, const qdml_run_result *r) {
    const member_spec *s = &MEMBERS[b];
    const double gap = s->hbar * fmin(s->w[0], s->w[1]), res = r->final.residual;
    const double e0 = 0.5 * s->hbar * (s->w[0] + s->w[1]);
    for (int d = 0; d < 2; ++d) {
        const double sd = sqrt(s->hbar / (2.0 * s->m * s->w[d]));
        cr_assert_geq(sd * QT_PI / qdml_grid_spacing(g, d), 6.0, "setup: member %d axis %d not resolved", b, d);
        cr_assert_geq(fmin(-g->lo[d], g->hi[d]), 8.0 * sd, "setup: member %d axis %d box too small", b, d);
        const double bound = 3.0 * sd * res / gap + 1e-11;
        cr_assert_leq(fabs(r->final.width[d] - sd), bound,
                      "member %d axis %d: width %.15g, closed form %.15g (bound %.3g)", b, d, r->final.width[d], sd,
                      bound);
        cr_assert_leq(fabs(r->final.mean[d]), bound, "member %d axis %d: <x> = %.3g (bound %.3g)", b, d,
                      r->final.mean[d], bound);
    }
    const double ebound = res * res / gap + 1e-11;
    cr_assert_leq(fabs(r->final.energy - e0), ebound, "member %d: E = %.15g, closed form %.15g (bound %.3g)", b,
                  r->final.energy, e0, ebound);
}

Test(batch, ground_batch_equals_single_runs) {
    const int64_t n[2] = {51, 41};
    const double lo[2] = {-4.5, -4.0}, hi[2] = {4.5, 4.0};
    qdml_grid g = qt_grid(2, n, lo, hi);
    const int64_t npts = qdml_grid_points(&g);
    qdml_context *ctx = qt_context();
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = 1e-6;

    qdml_problem *pb = qt_problem(ctx, &g, B);
    for (int b = 0; b < B; ++b) ground_setup(pb, b, b);
    for (int b = 0; b < B; ++b) {
        double h, m;
        cr_assert_eq(qdml_problem_get_hbar(pb, b, &h), QDML_OK);
        cr_assert_eq(qdml_problem_get_mass(pb, b, &m), QDML_OK);
        cr_assert(h == MEMBERS[b].hbar && m == MEMBERS[b].m, "member %d: hbar %g mass %g, set %g %g", b, h, m,
                  MEMBERS[b].hbar, MEMBERS[b].m);
    }
    qdml_run_result rb[B];
    cr_assert_eq(qdml_problem_ground(pb, &go, rb), QDML_OK, "batch ground: %s", qdml_context_last_error(ctx));

    for (int b = 0; b < B; ++b) {
        qdml_problem *ps = qt_problem(ctx, &g, 1);
        ground_setup(ps, 0, b);
        qdml_run_result rs;
        cr_assert_eq(qdml_problem_ground(ps, &go, &rs), QDML_OK, "single ground %d: %s", b,
                     qdml_context_last_error(ctx));
        cr_log_info("batch member %d: E = %.15g (single %.15g), steps %lld (single %lld), residual %.3g", b,
                    rb[b].final.energy, rs.final.energy, (long long)rb[b].steps, (long long)rs.steps,
                    rb[b].final.residual);
        cr_assert_eq(rb[b].converged, rs.converged, "member %d: converged batch %d single %d", b, rb[b].converged,
                     rs.converged);
        cr_assert_eq(rb[b].steps, rs.steps, "member %d: %lld steps in the batch, %lld alone", b,
                     (long long)rb[b].steps, (long long)rs.steps);
        double e = fabs(rb[b].final.energy - rs.final.energy);
        cr_assert_leq(e, 1e-12 * fabs(rs.final.energy), "member %d: E batch %.17g, single %.17g", b,
                      rb[b].final.energy, rs.final.energy);
        cr_assert_float_eq(rb[b].final.residual, rs.final.residual, 1e-12,
                           "member %d: residual batch %.6g single %.6g", b, rb[b].final.residual, rs.final.residual);
        double *sb = qt_get_state(pb, b), *ss = qt_get_state(ps, 0);
        double d = qt_max_abs_diff(sb, ss, npts), mx = qt_max_abs(ss, npts);
        cr_assert_leq(d, 1e-10 * mx, "member %d: states differ by %.3g (max |psi| %.3g)", b, d, mx);

        /* Per-member statistics: the result is this member's, and equals stats of its final state. */
        qdml_stats now;
        cr_assert_eq(qdml_problem_stats(pb, b, &now), QDML_OK);
        cr_assert_float_eq(now.energy, rb[b].final.energy, 1e-12 * fabs(now.energy) + 1e-300,
                           "member %d: stats energy %.17g, result %.17g", b, now.energy, rb[b].final.energy);
        cr_assert_eq(rb[b].final.step, rb[b].steps, "member %d: final.step %lld, steps %lld", b,
                     (long long)rb[b].final.step, (long long)rb[b].steps);
        size_t cb = 0, cs = 0;
        cr_assert_eq(qdml_problem_history(pb, b, NULL, 0, &cb), QDML_OK);
        cr_assert_eq(qdml_problem_history(ps, 0, NULL, 0, &cs), QDML_OK);
        cr_assert_eq(cb, cs, "member %d: %zu history entries in the batch, %zu alone", b, cb, cs);
        cr_assert_gt(cb, 0, "member %d: empty history", b);
        qdml_stats *h = qt_calloc(cb, sizeof *h);
        size_t c2 = 0;
        cr_assert_eq(qdml_problem_history(pb, b, h, cb, &c2), QDML_OK);
        cr_assert_eq(h[cb - 1].step, rb[b].steps, "member %d: last history entry at step %lld, run took %lld", b,
                     (long long)h[cb - 1].step, (long long)rb[b].steps);
        free(h);
        free(sb);
        free(ss);
        qdml_problem_destroy(ps);
    }
    /* Each member solved its own problem with its own hbar and m: the oscillators against their closed
     * forms (a shared bug that batch and single runs agree on cannot pass these). */
    check_oscillator(&g, 0, &rb[0]);
    check_oscillator(&g, 2, &rb[2]);
    /* The three problems are different: their energies must be too (guards against a batch that
     * evolves member 0's problem three times). */
    cr_assert(fabs(rb[0].final.energy - rb[1].final.energy) > 0.1 &&
                  fabs(rb[1].final.energy - rb[2].final.energy) > 0.1,
              "member energies %.6g %.6g %.6g", rb[0].final.energy, rb[1].final.energy, rb[2].final.energy);
    /* Last, since it is a property of the step-size schedule rather than of batching: these easy
     * problems converge well within max_steps. */
    for (int b = 0; b < B; ++b)
        cr_assert(rb[b].converged, "member %d: not converged after %lld steps, residual %.3g > tol %.3g", b,
                  (long long)rb[b].steps, rb[b].final.residual, go.tolerance);
    qdml_problem_destroy(pb);
    qdml_context_destroy(ctx);
}

Test(batch, real_time_batch_equals_single_runs) {
    /* Random potentials and random states on a 2D grid, different hbar and m per member; member 1's
     * potential is flat (V = 0.9), so that its state has a closed form too (qt_exact_flat_evolution). */
    const int64_t n[2] = {48, 40};
    const double lo[2] = {-3.0, -2.0}, hi[2] = {3.0, 3.0};
    qdml_grid g = qt_grid(2, n, lo, hi);
    const int64_t npts = qdml_grid_points(&g);
    qt_rng r;
    qt_rng_seed(&r, 31337);
    double *v = qt_calloc((size_t)(B * npts), sizeof *v);
    double *psi = qt_calloc((size_t)(2 * B * npts), sizeof *psi);
    for (int64_t i = 0; i < B * npts; ++i) {
        v[i] = 4.0 * qt_uniform(&r) - 1.0;
        psi[2 * i] = qt_normal(&r);
        psi[2 * i + 1] = qt_normal(&r);
    }
    const double v_flat = 0.9;
    for (int64_t i = 0; i < npts; ++i)
        v[npts + i] = v_flat;
    const double hb[B] = {0.6, 1.0, 1.7}, ms[B] = {2.1, 0.8, 1.0};
    qdml_context *ctx = qt_context();
    qdml_problem *pb = qt_problem(ctx, &g, B);
    for (int b = 0; b < B; ++b) {
        cr_assert_eq(qdml_problem_set_potential(pb, b, v + b * npts), QDML_OK);
        cr_assert_eq(qdml_problem_set_state(pb, b, psi + 2 * b * npts), QDML_OK);
        cr_assert_eq(qdml_problem_set_hbar(pb, b, hb[b]), QDML_OK);
        cr_assert_eq(qdml_problem_set_mass(pb, b, ms[b]), QDML_OK);
    }
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.dt = 0.013;
    o.steps = 60;
    o.monitor_every = 20;
    qdml_run_result rb[B];
    cr_assert_eq(qdml_problem_evolve(pb, &o, rb), QDML_OK, "%s", qdml_context_last_error(ctx));
    for (int b = 0; b < B; ++b) {
        qdml_problem *ps = qt_problem(ctx, &g, 1);
        cr_assert_eq(qdml_problem_set_potential(ps, 0, v + b * npts), QDML_OK);
        cr_assert_eq(qdml_problem_set_state(ps, 0, psi + 2 * b * npts), QDML_OK);
        cr_assert_eq(qdml_problem_set_hbar(ps, 0, hb[b]), QDML_OK);
        cr_assert_eq(qdml_problem_set_mass(ps, 0, ms[b]), QDML_OK);
        qdml_run_result rs;
        cr_assert_eq(qdml_problem_evolve(ps, &o, &rs), QDML_OK);
        double *sb = qt_get_state(pb, b), *ss = qt_get_state(ps, 0);
        double d = qt_max_abs_diff(sb, ss, npts), mx = qt_max_abs(ss, npts);
        cr_log_info("batch real time member %d: max difference %.3g (max |psi| %.3g)", b, d, mx);
        cr_assert_leq(d, 1e-12 * mx, "member %d: batch and single states differ by %.3g (max |psi| %.3g)", b, d, mx);
        cr_assert_eq(rb[b].steps, 60, "member %d: %lld steps", b, (long long)rb[b].steps);
        cr_assert_leq(fabs(rb[b].final.energy - rs.final.energy), 1e-12 * fabs(rs.final.energy),
                      "member %d: energy batch %.17g single %.17g", b, rb[b].final.energy, rs.final.energy);
        cr_assert_leq(fabs(rb[b].final.norm - rs.final.norm), 1e-12 * rs.final.norm,
                      "member %d: norm batch %.17g single %.17g", b, rb[b].final.norm, rs.final.norm);
        size_t cnt = 0;
        cr_assert_eq(qdml_problem_history(pb, b, NULL, 0, &cnt), QDML_OK);
        cr_assert_eq(cnt, 3, "member %d: %zu history entries, expected 3 (steps 20, 40, 60)", b, cnt);
        if (b == 1) {
            /* Rounding of 60 steps (two FFTs each), as for the batch-single difference: 1e-12. */
            double *ex = qt_calloc(2 * (size_t)npts, sizeof *ex);
            qt_exact_flat_evolution(&g, psi + 2 * npts, ex, hb[1], ms[1], v_flat, o.dt * (double)o.steps, 0);
            const double de = qt_max_abs_diff(sb, ex, npts), me = qt_max_abs(ex, npts);
            cr_assert_leq(de, 1e-12 * me, "member 1 (flat V): max |psi - exact| = %.3g (max |psi| %.3g)", de, me);
            free(ex);
        }
        free(sb);
        free(ss);
        qdml_problem_destroy(ps);
    }
    free(v);
    free(psi);
    qdml_problem_destroy(pb);
    qdml_context_destroy(ctx);
}

/* Each member of a 3D batch on 31 x 33 x 35 points (odd sizes, so that no axis length divides
 * another's), with its own flat potential, hbar and mass and a random state, against the exact
 * propagator of its own state, in real time and renormalised imaginary time. A member stride or
 * offset that is wrong only in 3D moves members 1 and 2 away from their closed forms. Bound 1e-12 of
 * max |psi| (rounding; test_free_packet.c). */
Test(batch, members_of_a_3d_batch_each_follow_the_exact_propagator) {
    const int64_t n[3] = {31, 33, 35};
    const double lo[3] = {-3.0, -3.5, -4.0}, hi[3] = {3.0, 3.5, 4.0};
    qdml_grid g = qt_grid(3, n, lo, hi);
    const int64_t npts = qdml_grid_points(&g);
    const double hb[B] = {0.6, 1.0, 1.7}, ms[B] = {2.1, 0.8, 1.0}, v0[B] = {0.3, -0.5, 1.1};
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, &g, B);
    double *v = qt_calloc((size_t)npts, sizeof *v), *ex = qt_calloc(2 * (size_t)npts, sizeof *ex);
    double *psi0[B];
    qt_rng r;
    qt_rng_seed(&r, 4242);
    for (int mode = 0; mode < 2; ++mode) {
        for (int b = 0; b < B; ++b) {
            for (int64_t i = 0; i < npts; ++i)
                v[i] = v0[b];
            cr_assert_eq(qdml_problem_set_potential(p, b, v), QDML_OK);
            cr_assert_eq(qdml_problem_set_hbar(p, b, hb[b]), QDML_OK);
            cr_assert_eq(qdml_problem_set_mass(p, b, ms[b]), QDML_OK);
            psi0[b] = qt_random_state(&g, &r);
            cr_assert_eq(qdml_problem_set_state(p, b, psi0[b]), QDML_OK);
        }
        qdml_evolve_options o;
        qdml_evolve_options_default(&o);
        o.mode = mode ? QDML_IMAGINARY_TIME : QDML_REAL_TIME;
        o.dt = mode ? 0.001 : 0.01;
        o.steps = 6;
        o.monitor_every = 3;
        cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
        for (int b = 0; b < B; ++b) {
            qt_exact_flat_evolution(&g, psi0[b], ex, hb[b], ms[b], v0[b], o.dt * (double)o.steps, mode);
            if (mode) {
                const double f = 1.0 / sqrt(qt_norm(ex, npts, qdml_grid_dv(&g)));
                for (int64_t i = 0; i < 2 * npts; ++i)
                    ex[i] *= f;
            }
            double *got = qt_get_state(p, b);
            const double d = qt_max_abs_diff(got, ex, npts), mx = qt_max_abs(ex, npts);
            cr_log_info("3D batch, %s, member %d: max |psi - exact| = %.3g of max |psi|", mode ? "imaginary" : "real",
                        b, d / mx);
            cr_assert_leq(d, 1e-12 * mx, "%s time, member %d: max |psi - exact| = %.3g (max |psi| %.3g)",
                          mode ? "imaginary" : "real", b, d, mx);
            free(got);
            free(psi0[b]);
        }
    }
    free(v);
    free(ex);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(batch, all_members_setters_and_member_isolation) {
    /* QDML_ALL_MEMBERS sets every member; a per-member setter touches only that member. */
    const int64_t n[1] = {64};
    const double lo[1] = {-4.0}, hi[1] = {4.0};
    qdml_grid g = qt_grid(1, n, lo, hi);
    qdml_context *ctx = qt_context();
    qdml_problem *p = qt_problem(ctx, &g, B);
    cr_assert_eq(qdml_problem_set_hbar(p, QDML_ALL_MEMBERS, 0.42), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, QDML_ALL_MEMBERS, 3.5), QDML_OK);
    cr_assert_eq(qdml_problem_set_hbar(p, 1, 2.25), QDML_OK);
    for (int b = 0; b < B; ++b) {
        double h, m;
        cr_assert_eq(qdml_problem_get_hbar(p, b, &h), QDML_OK);
        cr_assert_eq(qdml_problem_get_mass(p, b, &m), QDML_OK);
        double he = b == 1 ? 2.25 : 0.42;
        cr_assert(h == he && m == 3.5, "member %d: hbar %g (expected %g), mass %g (expected 3.5)", b, h, he, m);
    }
    qt_rng r;
    qt_rng_seed(&r, 5);
    double v[64], w[64], got[64];
    for (int i = 0; i < 64; ++i) {
        v[i] = qt_normal(&r);
        w[i] = qt_normal(&r);
    }
    cr_assert_eq(qdml_problem_set_potential(p, QDML_ALL_MEMBERS, v), QDML_OK);
    cr_assert_eq(qdml_problem_set_potential(p, 2, w), QDML_OK);
    for (int b = 0; b < B; ++b) {
        cr_assert_eq(qdml_problem_get_potential(p, b, got), QDML_OK);
        const double *e = b == 2 ? w : v;
        for (int i = 0; i < 64; ++i)
            cr_assert(got[i] == e[i], "member %d point %d: potential %.17g, set %.17g", b, i, got[i], e[i]);
    }
    double psi[128];
    for (int i = 0; i < 128; ++i) psi[i] = qt_normal(&r);
    cr_assert_eq(qdml_problem_set_state_uniform(p, QDML_ALL_MEMBERS), QDML_OK);
    cr_assert_eq(qdml_problem_set_state(p, 0, psi), QDML_OK);
    double out[128];
    cr_assert_eq(qdml_problem_get_state(p, 0, out), QDML_OK);
    for (int i = 0; i < 128; ++i) cr_assert(out[i] == psi[i], "state value %d: %.17g, set %.17g", i, out[i], psi[i]);
    const double u = 1.0 / sqrt(8.0);
    for (int b = 1; b < B; ++b) {
        cr_assert_eq(qdml_problem_get_state(p, b, out), QDML_OK);
        for (int i = 0; i < 64; ++i)
            cr_assert(fabs(out[2 * i] - u) <= 1e-15 && fabs(out[2 * i + 1]) <= 1e-15,
                      "member %d point %d: (%.17g, %.17g), expected uniform %.17g", b, i, out[2 * i],
                      out[2 * i + 1], u);
    }
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}
