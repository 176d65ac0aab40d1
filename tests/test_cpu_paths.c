/* The CPU backend's fused paths, forced with QDML_CPU_PATH, give the plain path's results to rounding.
 *
 * host/backend_cpu*.c run a step one of three ways: the plain path (batched FFTW plans, one pass per
 * op), PATH_PLANES (plane transforms with the potential factor in one pass over blocks of planes,
 * column transforms with the kinetic factor in one pass over blocks of columns; `-gather` copies each
 * column block into a per-thread buffer) and PATH_MEMBERS (a thread takes whole members: through
 * every Strang step up to the next monitoring point at once, the backend's steps op, or, for the
 * 4th-order compositions and potential-only steps, one pass per step with all their stages back to
 * back, where in imaginary time the column stage is split across passes and the kinetic factor may
 * be left pending). The other tests plan with QDML_FFT_ESTIMATE, which keeps the
 * plain path. Here each problem is made under QDML_CPU_PATH = plain (the reference) and under each of
 * the four fused names, given the same inputs and the same calls, and compared member by member after
 * every call: real and imaginary time, renormalised (norms from the kick, flush of tiny values) or
 * not, potential only, Strang and both 4th-order compositions, ground-state and lowest-states
 * searches (members that finish early go on as inactive members), members that diverge and are
 * isolated (found at a monitoring point, or by a zero norm inside the steps op), and the calls between runs that bring
 * a deferred layout back to plain (statistics, get/set state, set potential/objective/hbar, density, checkpoints,
 * resumed searches), on 2D and 3D grids (one point on an axis included), one and several plane or column blocks per
 * member, one to three threads. Shapes the fused paths cannot take (1D, last axis not a multiple of 4) and `members*`
 * where the member path cannot run (one member, fewer members than threads) fall back, and must then equal plain (or
 * `planes*`) bit for bit: the same plans run the same arithmetic. Not covered, since the API does not allow them:
 * per-member step sizes (options.dt is one value for the batch) and batches mixing real and imaginary time
 * (options.mode is one value per call).
 *
 * Tolerances. A fused path computes the same transforms in another order (1D transforms of planes and
 * of column blocks instead of one multi-dimensional plan; the 1/N and the kinetic factor grouped
 * differently), so a step differs by rounding: a few u (u = 1.1e-16) times log2 N relative per
 * transform, ~1e-15 per step. States are compared as max |psi_path - psi_plain| / max |psi_plain|.
 *  - Real time is unitary: differences are carried along without growth and add up at most linearly,
 *    <= steps x ~1e-15: 1e-12 for the <= 100 steps (<= 500 Strang substeps) of a run here.
 *  - Imaginary time contracts every excited component, and renormalisation removes the component
 *    along the state, so differences stay near those of ~1 / (gap dt) steps: 1e-12 for the short runs
 *    (< 100 steps), 1e-10 for the searches (thousands of steps, dtau down to ~1e-3; the bound used by
 *    tests/test_batch.c). The 4th-order compositions' negative substep amplifies the rounding noise by
 *    up to exp(|c| hbar kmax^2 dt / 2m) inside a step: dt is chosen so that this is below e^2, and the
 *    bound is 1e-11.
 *  - Energies, kinetic and potential energies are compared relative to |<T>| + |<V>| (E itself may be
 *    near 0), norms relative to the norm, with the state's bound (1e-12 for the searches, where E is
 *    stationary: its error is second order in the state's). The residual || H psi - E psi || / ||psi||
 *    moves by up to ||H|| times the relative change of the state, ||H|| <= hbar^2 kmax^2 / 2m +
 *    max |V| (computed per member): bound tolerance x ||H||. Means and widths: tolerance x box length.
 *  - Step counts, convergence, divergence and finished flags must be equal: the search's decisions
 *    compare quantities that agree to ~1e-13, far from its thresholds but by a rare coincidence.
 * The largest differences seen per path are logged (run with --verbose).
 *
 * Backend: the CPU backend whatever QDML_TEST_BACKEND selects (qt_cpu_context): QDML_CPU_PATH and the
 * paths are its own.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "support.h"

enum { NP = 5 }; /* [0] plain, the reference; [1..4] the fused paths */
static const char *const PATH[NP] = {"plain", "planes", "planes-gather", "members", "members-gather"};

/* Largest relative differences from plain seen in this test (each test runs in its own process). */
static double worst_psi[NP], worst_e[NP], worst_dt[NP];
static int compared[NP], bit_equal[NP];

static void log_worst(const char *test) {
    for (int i = 1; i < NP; ++i)
        cr_log_info("%s: %-14s states <= %.3g x max|psi|, energies <= %.3g x (|T|+|V|), dt <= %.3g relative; "
                    "%d of %d states bit-identical",
                    test, PATH[i], worst_psi[i], worst_e[i], worst_dt[i], bit_equal[i], compared[i]);
}

static qdml_problem *path_problem(qdml_context *ctx, const qdml_grid *g, int64_t batch, const char *path) {
    cr_assert_eq(setenv("QDML_CPU_PATH", path, 1), 0);
    qdml_problem *p = NULL;
    const qdml_status st = qdml_problem_create(ctx, g, batch, &p);
    unsetenv("QDML_CPU_PATH");
    cr_assert_eq(st, QDML_OK, "QDML_CPU_PATH=%s: qdml_problem_create: %s", path, qdml_context_last_error(ctx));
    return p;
}

/* One problem per path, same grid and batch, driven by the same calls. */
typedef struct {
    qdml_context *ctx;
    qdml_grid g;
    int64_t B, N;
    qdml_problem *p[NP];
    char shape[64]; /* "32x48, B=5" for messages */
    qt_rng rng;
} paths;

/* Box [-(4+d), 4+d) on axis d. */
static void paths_open(paths *s, qdml_context *ctx, int dim, const int64_t *n, int64_t B, uint64_t seed) {
    double lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1};
    for (int d = 0; d < dim; ++d) {
        lo[d] = -(4.0 + d);
        hi[d] = 4.0 + d;
    }
    s->ctx = ctx;
    s->g = qt_grid(dim, n, lo, hi);
    s->B = B;
    s->N = qdml_grid_points(&s->g);
    int len = 0;
    for (int d = 0; d < dim; ++d) len += snprintf(s->shape + len, sizeof s->shape - (size_t)len, "%s%lld", d ? "x" : "", (long long)n[d]);
    snprintf(s->shape + len, sizeof s->shape - (size_t)len, ", B=%lld", (long long)B);
    for (int i = 0; i < NP; ++i) s->p[i] = path_problem(ctx, &s->g, B, PATH[i]);
    qt_rng_seed(&s->rng, seed);
}

static void paths_close(paths *s) {
    for (int i = 0; i < NP; ++i) qdml_problem_destroy(s->p[i]);
}

/* ---- the same call on every path ---- */

static void all_state(paths *s, int64_t b, const double *psi) {
    for (int i = 0; i < NP; ++i) cr_assert_eq(qdml_problem_set_state(s->p[i], b, psi), QDML_OK);
}
static void all_potential(paths *s, int64_t b, const double *v) {
    for (int i = 0; i < NP; ++i) cr_assert_eq(qdml_problem_set_potential(s->p[i], b, v), QDML_OK);
}
static void all_hbar_mass(paths *s, int64_t b, double hbar, double mass) {
    for (int i = 0; i < NP; ++i) {
        cr_assert_eq(qdml_problem_set_hbar(s->p[i], b, hbar), QDML_OK);
        cr_assert_eq(qdml_problem_set_mass(s->p[i], b, mass), QDML_OK);
    }
}

/* Complex normal values at every point; `tiny` scales those with x_0 > 0 by 1e-250 (below the flush
 * threshold QDML_TINY = 1e-200 after a few multiplies). */
static void random_state(paths *s, int64_t b, int tiny) {
    double *psi = qt_calloc(2 * (size_t)s->N, sizeof *psi);
    for (int64_t i = 0; i < s->N; ++i) {
        double x[3];
        qt_coords(&s->g, i, x);
        const double f = tiny && x[0] > 0 ? 1e-250 : 1.0;
        psi[2 * i] = f * qt_normal(&s->rng);
        psi[2 * i + 1] = f * qt_normal(&s->rng);
    }
    all_state(s, b, psi);
    free(psi);
}

/* Uniform random values in [lo, hi) at every point. */
static void random_potential(paths *s, int64_t b, double lo, double hi) {
    double *v = qt_calloc((size_t)s->N, sizeof *v);
    for (int64_t i = 0; i < s->N; ++i) v[i] = lo + (hi - lo) * qt_uniform(&s->rng);
    all_potential(s, b, v);
    free(v);
}

/* Random states and potentials, and hbar and mass that differ per member. */
static void random_members(paths *s, int tiny_member) {
    for (int64_t b = 0; b < s->B; ++b) {
        random_state(s, b, b == tiny_member);
        random_potential(s, b, -1.0 - 0.5 * (double)b, 2.0 + (double)b);
        all_hbar_mass(s, b, 0.6 + 0.25 * (double)b, 1.4 - 0.15 * (double)b);
    }
}

/* Smooth wells: anisotropic harmonic confinement minus Gaussian wells. */
typedef struct {
    double w[3];
    int nwell;
    double depth[3], width[3], c[3][3];
} wells;

static double wells_v(const double *x, int dim, void *user) {
    const wells *w = user;
    double v = 0.0;
    for (int d = 0; d < dim; ++d) v += 0.5 * w->w[d] * w->w[d] * x[d] * x[d];
    for (int j = 0; j < w->nwell; ++j) {
        double r2 = 0.0;
        for (int d = 0; d < dim; ++d) r2 += (x[d] - w->c[j][d]) * (x[d] - w->c[j][d]);
        v -= w->depth[j] * exp(-r2 / (2.0 * w->width[j] * w->width[j]));
    }
    return v;
}

static void wells_potential(paths *s, int64_t b, const wells *w) {
    double *v = qt_calloc((size_t)s->N, sizeof *v);
    qt_fill(&s->g, v, wells_v, (void *)w);
    all_potential(s, b, v);
    free(v);
}

static wells random_wells(paths *s, int nwell) {
    wells w;
    memset(&w, 0, sizeof w);
    for (int d = 0; d < 3; ++d) w.w[d] = 0.6 + 0.8 * qt_uniform(&s->rng);
    w.nwell = nwell;
    for (int j = 0; j < nwell; ++j) {
        w.depth[j] = 1.0 + 2.0 * qt_uniform(&s->rng);
        w.width[j] = 0.6 + 0.6 * qt_uniform(&s->rng);
        for (int d = 0; d < 3; ++d) w.c[j][d] = 4.0 * qt_uniform(&s->rng) - 2.0;
    }
    return w;
}

/* ---- a member with a closed form ---- */

/* The paths are compared with plain, which a bug they share would pass (a wrong wavenumber or sign in
 * core/): member b gets a flat potential v0 (its random state and hbar, m stay), and after a run its
 * state on every path is compared with the exact propagator of its start (qt_exact_flat_evolution;
 * every splitting composes to it for a flat V). */
typedef struct {
    int64_t b;
    double v0, hbar, mass;
    double *psi0;
} flat_member;

static flat_member flat_open(paths *s, int64_t b, double v0) {
    flat_member f = {b, v0, 0.0, 0.0, NULL};
    double *v = qt_calloc((size_t)s->N, sizeof *v);
    for (int64_t i = 0; i < s->N; ++i)
        v[i] = v0;
    all_potential(s, b, v);
    free(v);
    cr_assert_eq(qdml_problem_get_hbar(s->p[0], b, &f.hbar), QDML_OK);
    cr_assert_eq(qdml_problem_get_mass(s->p[0], b, &f.mass), QDML_OK);
    f.psi0 = qt_get_state(s->p[0], b);
    return f;
}

/* After `time` of `mode` (renormalised in imaginary time) since flat_open: every path against the
 * exact state, to `tol` of max |psi| (the runs' rounding, the same bound as between the paths). */
static void flat_check(paths *s, const flat_member *f, qdml_time_mode mode, double time, double tol, const char *what) {
    double *ex = qt_calloc(2 * (size_t)s->N, sizeof *ex), *got = qt_calloc(2 * (size_t)s->N, sizeof *got);
    const int imaginary = mode == QDML_IMAGINARY_TIME;
    qt_exact_flat_evolution(&s->g, f->psi0, ex, f->hbar, f->mass, f->v0, time, imaginary);
    if (imaginary) {
        const double c = 1.0 / sqrt(qt_norm(ex, s->N, qdml_grid_dv(&s->g)));
        for (int64_t i = 0; i < 2 * s->N; ++i)
            ex[i] *= c;
    }
    const double mx = qt_max_abs(ex, s->N);
    for (int i = 0; i < NP; ++i) {
        cr_assert_eq(qdml_problem_get_state(s->p[i], f->b, got), QDML_OK);
        const double d = qt_max_abs_diff(got, ex, s->N);
        cr_assert_leq(d, tol * mx,
                      "%s (%s): path %s, member %lld (flat V): max |psi - exact| = %.3g x max |psi| (%.3g)", what,
                      s->shape, PATH[i], (long long)f->b, d / mx, mx);
    }
    free(ex);
    free(got);
}

static void flat_close(flat_member *f) {
    free(f->psi0);
    f->psi0 = NULL;
}

/* ---- comparisons with plain ---- */

/* ||H|| bound of member b: hbar^2 kmax^2 / 2m + max |V| (the residual's sensitivity to the state). */
static double h_bound(const paths *s, int64_t b) {
    double hbar, mass, k2 = 0.0, vmax = 0.0;
    cr_assert_eq(qdml_problem_get_hbar(s->p[0], b, &hbar), QDML_OK);
    cr_assert_eq(qdml_problem_get_mass(s->p[0], b, &mass), QDML_OK);
    for (int d = 0; d < s->g.dim; ++d) {
        const double k = QT_PI * (double)s->g.n[d] / (s->g.hi[d] - s->g.lo[d]);
        k2 += k * k;
    }
    double *v = qt_calloc((size_t)s->N, sizeof *v);
    cr_assert_eq(qdml_problem_get_potential(s->p[0], b, v), QDML_OK);
    for (int64_t i = 0; i < s->N; ++i) vmax = fmax(vmax, fabs(v[i]));
    free(v);
    return hbar * hbar * k2 / (2.0 * mass) + vmax;
}

/* tol_dt: 0 where time and dt must be equal (fixed steps), else their relative bound (searches). */
static void compare_stats(const paths *s, int i, int64_t b, const qdml_stats *got, const qdml_stats *ref, double tol,
                          double tol_dt, const char *what) {
    cr_assert_eq(got->step, ref->step, "%s (%s): path %s, member %lld: step %lld, plain %lld", what, s->shape, PATH[i],
                 (long long)b, (long long)got->step, (long long)ref->step);
    cr_assert(fabs(got->time - ref->time) <= tol_dt * ref->time && fabs(got->dt - ref->dt) <= tol_dt * ref->dt,
              "%s (%s): path %s, member %lld: time %.17g dt %.17g, plain %.17g %.17g (relative tolerance %.3g)", what,
              s->shape, PATH[i], (long long)b, got->time, got->dt, ref->time, ref->dt, tol_dt);
    if (ref->dt > 0 && fabs(got->dt - ref->dt) / ref->dt > worst_dt[i]) worst_dt[i] = fabs(got->dt - ref->dt) / ref->dt;
    const double scale = fabs(ref->kinetic) + fabs(ref->potential);
    const double de = fmax(fabs(got->energy - ref->energy),
                           fmax(fabs(got->kinetic - ref->kinetic), fabs(got->potential - ref->potential)));
    if (scale > 0 && de / scale > worst_e[i]) worst_e[i] = de / scale;
    cr_assert_leq(de, tol * scale, "%s (%s): path %s, member %lld: E %.17g T %.17g V %.17g, plain %.17g %.17g %.17g "
                  "(difference %.3g of |T|+|V|, tolerance %.3g)", what, s->shape, PATH[i], (long long)b, got->energy,
                  got->kinetic, got->potential, ref->energy, ref->kinetic, ref->potential, de / scale, tol);
    cr_assert_leq(fabs(got->norm - ref->norm), tol * ref->norm, "%s (%s): path %s, member %lld: norm %.17g, plain %.17g",
                  what, s->shape, PATH[i], (long long)b, got->norm, ref->norm);
    const double hb = h_bound(s, b);
    cr_assert_leq(fabs(got->residual - ref->residual), tol * hb,
                  "%s (%s): path %s, member %lld: residual %.17g, plain %.17g (tolerance %.3g x ||H|| %.3g)", what,
                  s->shape, PATH[i], (long long)b, got->residual, ref->residual, tol, hb);
    cr_assert_leq(fabs(got->density_max - ref->density_max), 2.0 * tol * ref->density_max,
                  "%s (%s): path %s, member %lld: max density %.17g, plain %.17g", what, s->shape, PATH[i],
                  (long long)b, got->density_max, ref->density_max);
    /* Widths as variances: a width near 0 (one point on an axis) is the square root of rounding. */
    for (int d = 0; d < s->g.dim; ++d) {
        const double len = s->g.hi[d] - s->g.lo[d];
        const double var_g = got->width[d] * got->width[d], var_r = ref->width[d] * ref->width[d];
        cr_assert(fabs(got->mean[d] - ref->mean[d]) <= tol * len && fabs(var_g - var_r) <= tol * len * len,
                  "%s (%s): path %s, member %lld, axis %d: mean %.17g width %.17g, plain %.17g %.17g", what, s->shape,
                  PATH[i], (long long)b, d, got->mean[d], got->width[d], ref->mean[d], ref->width[d]);
    }
}

/* Every member's state on every path against plain: max |psi - psi_plain| <= tol max |psi_plain|. */
static void compare_states(paths *s, double tol, const char *what) {
    double *ref = qt_calloc(2 * (size_t)s->N, sizeof *ref), *got = qt_calloc(2 * (size_t)s->N, sizeof *got);
    for (int64_t b = 0; b < s->B; ++b) {
        cr_assert_eq(qdml_problem_get_state(s->p[0], b, ref), QDML_OK);
        const double mx = qt_max_abs(ref, s->N);
        cr_assert(isfinite(mx), "%s (%s): plain member %lld: max |psi| = %g", what, s->shape, (long long)b, mx);
        for (int i = 1; i < NP; ++i) {
            cr_assert_eq(qdml_problem_get_state(s->p[i], b, got), QDML_OK);
            /* a member left at zero (a zero start taken out of the run) must be zero on every path */
            const double d = mx > 0 ? qt_max_abs_diff(got, ref, s->N) / mx : qt_max_abs(got, s->N);
            compared[i] += 1;
            bit_equal[i] += memcmp(got, ref, 2 * (size_t)s->N * sizeof *got) == 0;
            if (d > worst_psi[i] || d != d) worst_psi[i] = d;
            cr_assert_leq(d, tol, "%s (%s): path %s, member %lld: max |psi - psi_plain| = %.3g x max |psi_plain| (%.3g), "
                          "tolerance %.3g", what, s->shape, PATH[i], (long long)b, d, mx, tol);
        }
    }
    free(ref);
    free(got);
}

static void compare_results(paths *s, const qdml_run_result *r, double tol, double tol_dt, const char *what) {
    for (int i = 1; i < NP; ++i)
        for (int64_t b = 0; b < s->B; ++b) {
            const qdml_run_result *g = r + i * s->B + b, *p = r + b;
            cr_assert(g->steps == p->steps && g->converged == p->converged && g->diverged == p->diverged &&
                          g->finished == p->finished && g->stopped_by_callback == p->stopped_by_callback,
                      "%s (%s): path %s, member %lld: steps %lld converged %d diverged %d finished %d; plain %lld %d %d %d",
                      what, s->shape, PATH[i], (long long)b, (long long)g->steps, g->converged, g->diverged,
                      g->finished, (long long)p->steps, p->converged, p->diverged, p->finished);
            compare_stats(s, i, b, &g->final, &p->final, tol, tol_dt, what);
        }
}

/* qdml_problem_evolve on every path; each must return `expect`; results and states compared. */
static void evolve_all(paths *s, const qdml_evolve_options *o, qdml_status expect, double tol, const char *what) {
    qdml_run_result *r = qt_calloc(NP * (size_t)s->B, sizeof *r);
    for (int i = 0; i < NP; ++i) {
        const qdml_status st = qdml_problem_evolve(s->p[i], o, r + i * s->B);
        cr_assert_eq(st, expect, "%s (%s): path %s: evolve returned %s (expected %s): %s", what, s->shape, PATH[i],
                     qdml_status_string(st), qdml_status_string(expect), qdml_context_last_error(s->ctx));
    }
    compare_results(s, r, tol, 0.0, what);
    compare_states(s, tol, what);
    free(r);
}

/* The searches' step sizes: dtau shrinks by the factor sqrt(tolerance / (4 residual)) where that lies
 * in [1/4, 1/2], continuous in the residual (> tolerance there), so dtau and tau differ by half the
 * residual's relative difference per shrink: <= (1/2) 1e-12 ||H|| / tolerance = 5e-5 for ||H|| ~ 100
 * and tolerance 1e-6; 1e-4 for the few shrinks of a search. (Seen: <= 5e-10.) */
#define SEARCH_DT_TOL 1e-4

/* qdml_problem_ground (or lowest_states) on every path; results of plain into `plain` (B entries). */
static void search_all(paths *s, const qdml_ground_options *o, int lowest, double tol_e, double tol_psi,
                       const char *what, qdml_run_result *plain) {
    qdml_run_result *r = qt_calloc(NP * (size_t)s->B, sizeof *r);
    for (int i = 0; i < NP; ++i) {
        const qdml_status st = lowest ? qdml_problem_lowest_states(s->p[i], o, r + i * s->B)
                                      : qdml_problem_ground(s->p[i], o, r + i * s->B);
        cr_assert_eq(st, QDML_OK, "%s (%s): path %s: %s", what, s->shape, PATH[i], qdml_context_last_error(s->ctx));
    }
    compare_results(s, r, tol_e, SEARCH_DT_TOL, what);
    compare_states(s, tol_psi, what);
    if (plain) memcpy(plain, r, (size_t)s->B * sizeof *r);
    free(r);
}

static qdml_evolve_options evolve_opts(qdml_time_mode mode, double dt, int64_t steps, int64_t every) {
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = mode;
    o.dt = dt;
    o.steps = steps;
    o.monitor_every = every;
    return o;
}

/* ---- tests ---- */

/* The shapes of the real- and imaginary-time runs: one plane and column block per member (small
 * members in a batch), several (a large member: 64x128 gives two plane blocks per member on
 * PATH_PLANES), an odd outer axis, 3D. */
typedef struct {
    int dim;
    int64_t n[3], B;
} shape;
static const shape SHAPES[] = {
    {2, {32, 48, 0}, 5}, {2, {24, 64, 0}, 4}, {2, {15, 20, 0}, 4}, {3, {8, 12, 16}, 4}, {2, {64, 128, 0}, 2},
};
enum { NSHAPES = sizeof SHAPES / sizeof SHAPES[0] };

Test(cpu_paths, real_time) {
    qdml_context *ctx = qt_cpu_context();
    for (int k = 0; k < NSHAPES; ++k) {
        paths s;
        paths_open(&s, ctx, SHAPES[k].dim, SHAPES[k].n, SHAPES[k].B, 100 + (uint64_t)k);
        random_members(&s, -1);
        flat_member f = flat_open(&s, 1, 0.7);
        qdml_evolve_options o = evolve_opts(QDML_REAL_TIME, 0.01, 100, 25);
        evolve_all(&s, &o, QDML_OK, 1e-12, "real time, 100 steps");
        flat_check(&s, &f, QDML_REAL_TIME, 1.0, 1e-12, "real time, 100 steps");
        flat_close(&f);
        /* Kicks only: queued kicks meet queued kicks. */
        o = evolve_opts(QDML_REAL_TIME, 0.01, 7, 0);
        o.potential_only = 1;
        evolve_all(&s, &o, QDML_OK, 1e-12, "real time, potential only");
        paths_close(&s);
    }
    qdml_context_destroy(ctx);
    log_worst("real_time");
    /* The fallback test shows that the plain path repeats its bits exactly: a forced path that gave
     * plain's bits on every state here would be the plain path, QDML_CPU_PATH not applied. */
    for (int i = 1; i < NP; ++i)
        cr_assert_lt(bit_equal[i], compared[i], "QDML_CPU_PATH=%s gave the plain path's bits on all %d states: was it applied?",
                     PATH[i], compared[i]);
}

Test(cpu_paths, imaginary_time) {
    qdml_context *ctx = qt_cpu_context();
    for (int k = 0; k < NSHAPES; ++k) {
        paths s;
        paths_open(&s, ctx, SHAPES[k].dim, SHAPES[k].n, SHAPES[k].B, 200 + (uint64_t)k);
        /* The last member starts with amplitudes of 1e-250 on half the box: flushed to zero. */
        random_members(&s, s.B - 1);
        flat_member f = flat_open(&s, s.B == 2 ? 0 : 1, -0.4); /* not the tiny member */
        /* Renormalised: the kick returns the norms (kick and transforms in one pass), flush on. */
        qdml_evolve_options o = evolve_opts(QDML_IMAGINARY_TIME, 0.02, 60, 20);
        evolve_all(&s, &o, QDML_OK, 1e-12, "imaginary time, renormalised, 60 steps");
        flat_check(&s, &f, QDML_IMAGINARY_TIME, 1.2, 1e-12, "imaginary time, renormalised, 60 steps");
        flat_close(&f);
        o = evolve_opts(QDML_IMAGINARY_TIME, 0.02, 13, 0);
        evolve_all(&s, &o, QDML_OK, 1e-12, "imaginary time, renormalised, 13 steps, no monitoring");
        o.potential_only = 1;
        evolve_all(&s, &o, QDML_OK, 1e-12, "imaginary time, renormalised, potential only");
        /* The heat kernel: no norms, no flush, no rescaling. */
        o = evolve_opts(QDML_IMAGINARY_TIME, 0.02, 30, 10);
        o.renormalize = 0;
        evolve_all(&s, &o, QDML_OK, 1e-12, "imaginary time, not renormalised");
        o.potential_only = 1;
        evolve_all(&s, &o, QDML_OK, 1e-12, "imaginary time, not renormalised, potential only");
        paths_close(&s);
    }
    qdml_context_destroy(ctx);
    log_worst("imaginary_time");
}

Test(cpu_paths, fourth_order) {
    static const qdml_splitting SPLIT[2] = {QDML_SPLIT_YOSHIDA4, QDML_SPLIT_SUZUKI4};
    static const char *const SNAME[2] = {"Yoshida", "Suzuki"};
    qdml_context *ctx = qt_cpu_context();
    const int which[2] = {0, 3}; /* 32x48 and 8x12x16 */
    for (int k = 0; k < 2; ++k)
        for (int m = 0; m < 2; ++m) {
            const shape *sh = &SHAPES[which[k]];
            paths s;
            paths_open(&s, ctx, sh->dim, sh->n, sh->B, 300 + (uint64_t)(2 * k + m));
            random_members(&s, -1);
            flat_member f = flat_open(&s, 2, 0.3);
            char what[128];
            snprintf(what, sizeof what, "%s, real time", SNAME[m]);
            qdml_evolve_options o = evolve_opts(QDML_REAL_TIME, 0.01, 12, 4);
            o.splitting = SPLIT[m];
            evolve_all(&s, &o, QDML_OK, 1e-12, what);
            flat_check(&s, &f, QDML_REAL_TIME, 0.12, 1e-12, what);
            flat_close(&f);
            /* The negative substep amplifies by exp(|c| hbar kmax^2 dt / 2m): kmax^2 <= 385 on these
             * grids, hbar / m <= 2 (member 4: 1.6 / 0.8), |c| <= 1.71 (Yoshida): with dt = 0.002 the
             * exponent is <= 1.4; the potential's, |c| (max V - min V) dt / hbar, is <= 0.06. */
            snprintf(what, sizeof what, "%s, imaginary time", SNAME[m]);
            f = flat_open(&s, 2, 0.3);
            o = evolve_opts(QDML_IMAGINARY_TIME, 0.002, 12, 4);
            o.splitting = SPLIT[m];
            evolve_all(&s, &o, QDML_OK, 1e-11, what);
            flat_check(&s, &f, QDML_IMAGINARY_TIME, 0.024, 1e-11, what);
            flat_close(&f);
            paths_close(&s);
        }
    qdml_context_destroy(ctx);
    log_worst("fourth_order");
}

Test(cpu_paths, ground_search) {
    const int64_t n[2] = {24, 32};
    enum { B = 4 };
    qdml_context *ctx = qt_cpu_context();
    paths s;
    paths_open(&s, ctx, 2, n, B, 400);
    /* Harmonic wells of different frequencies, and random smooth wells; different hbar and mass. */
    for (int64_t b = 0; b < B; ++b) {
        wells w = random_wells(&s, b < 2 ? 0 : 3);
        if (b < 2) w.w[0] = w.w[1] = 0.8 + 0.5 * (double)b;
        wells_potential(&s, b, &w);
        all_hbar_mass(&s, b, 1.0 - 0.1 * (double)b, 1.0 + 0.2 * (double)b);
        const double c[2] = {0.3, -0.2}, wd[2] = {1.0, 1.2};
        for (int i = 0; i < NP; ++i) cr_assert_eq(qdml_problem_set_state_gaussian(s.p[i], b, c, wd, NULL), QDML_OK);
    }
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = 1e-6;
    /* A search stopped by max_steps, then resumed to the end. */
    go.max_steps = 300;
    qdml_run_result r[B];
    search_all(&s, &go, 0, 1e-12, 1e-10, "ground, first 300 steps", r);
    go.max_steps = 100000;
    go.resume = 1;
    search_all(&s, &go, 0, 1e-12, 1e-10, "ground, resumed", r);
    int differ = 0;
    for (int b = 0; b < B; ++b) {
        cr_log_info("ground member %d: E = %.15g, %lld steps, residual %.3g, converged %d", b, r[b].final.energy,
                    (long long)r[b].steps, r[b].final.residual, r[b].converged);
        cr_assert(r[b].converged, "member %d did not converge (residual %.3g)", b, r[b].final.residual);
        differ |= r[b].steps != r[0].steps;
    }
    /* Members finishing at different steps: the later ones run with finished members inactive. */
    cr_assert(differ, "every member took %lld steps: no member ran inactive", (long long)r[0].steps);
    /* Member 1 is an isotropic oscillator, V = w^2 |x|^2 / 2 with w = 1.3, hbar = 0.9, m = 1.2: frequency
     * W = w / sqrt(m), E0 = hbar W (two axes), within r^2 / (hbar W) (Temple) and what the box leaves
     * out: its half-width 4 is 7.1 widths sqrt(hbar / 2 m W) of |psi|, beyond which |psi|^2 carries
     * exp(-25) ~ 1e-11 of the norm where V <= 13 (and s k_N = 5.3 resolves it to exp(-28)): 1e-9. */
    {
        const double W = 1.3 / sqrt(1.2), e0 = 0.9 * W, res = r[1].final.residual;
        const double bound = res * res / (0.9 * W) + 1e-9;
        cr_log_info("ground member 1: E - E0 = %.3g (bound %.3g)", r[1].final.energy - e0, bound);
        cr_assert_leq(fabs(r[1].final.energy - e0), bound,
                      "member 1 (oscillator): E = %.15g, closed form %.15g (bound %.3g)", r[1].final.energy, e0, bound);
    }
    paths_close(&s);
    qdml_context_destroy(ctx);
    log_worst("ground_search");
}

Test(cpu_paths, lowest_states) {
    const int64_t n[2] = {24, 32};
    enum { B = 4 };
    qdml_context *ctx = qt_cpu_context();
    paths s;
    paths_open(&s, ctx, 2, n, B, 500);
    /* One Hamiltonian with non-degenerate lowest levels (w = 1, 1.37: gaps >= 0.37), a well off-centre. */
    wells w = random_wells(&s, 1);
    w.w[0] = 1.0;
    w.w[1] = 1.37;
    w.depth[0] = 0.5;
    wells_potential(&s, QDML_ALL_MEMBERS, &w);
    for (int64_t b = 0; b < B; ++b) random_state(&s, b, 0);
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = 1e-5;
    qdml_run_result r[B];
    search_all(&s, &go, 1, 1e-12, 1e-10, "lowest states", r);
    for (int b = 0; b < B; ++b)
        cr_log_info("lowest state %d: E = %.15g, %lld steps, residual %.3g", b, r[b].final.energy, (long long)r[b].steps,
                    r[b].final.residual);
    paths_close(&s);
    qdml_context_destroy(ctx);
    log_worst("lowest_states");
}

Test(cpu_paths, calls_between_runs) {
    const int64_t n2[2] = {32, 48}, n3[3] = {8, 12, 16};
    const double tol = 1e-12;
    char *dir = qt_tmpdir("cpu-paths");
    char *ckpt = qt_path(dir, "plain.ckpt");
    qdml_context *ctx = qt_cpu_context();
    for (int k = 0; k < 2; ++k) {
        paths s;
        paths_open(&s, ctx, k ? 3 : 2, k ? n3 : n2, 5, 600 + (uint64_t)k);
        random_members(&s, -1);
        qdml_evolve_options o = evolve_opts(QDML_REAL_TIME, 0.01, 7, 3);
        evolve_all(&s, &o, QDML_OK, tol, "real time, 7 steps");
        /* Statistics now, of one member and of all. */
        for (int64_t b = 0; b < s.B; ++b) {
            qdml_stats ref, got;
            cr_assert_eq(qdml_problem_stats(s.p[0], b, &ref), QDML_OK);
            for (int i = 1; i < NP; ++i) {
                cr_assert_eq(qdml_problem_stats(s.p[i], b, &got), QDML_OK);
                compare_stats(&s, i, b, &got, &ref, tol, 0.0, "qdml_problem_stats after real time");
            }
        }
        /* Change one member at a time between runs. */
        random_state(&s, 1, 0);
        random_potential(&s, 3, -2.0, 1.0);
        all_hbar_mass(&s, 0, 1.3, 0.9);
        qdml_objective obj;
        cr_assert_eq(qdml_objective_parse("harmonic:k=2,c=0.5", s.g.dim, &obj), QDML_OK);
        for (int i = 0; i < NP; ++i) cr_assert_eq(qdml_problem_set_objective(s.p[i], 4, &obj), QDML_OK);
        compare_states(&s, tol, "after set_state, set_potential, set_hbar, set_objective");
        o = evolve_opts(QDML_REAL_TIME, 0.01, 5, 0);
        evolve_all(&s, &o, QDML_OK, tol, "real time after the setters");
        /* To imaginary time on the same problems (the path is taken per kind of step), and back. */
        o = evolve_opts(QDML_IMAGINARY_TIME, 0.02, 9, 4);
        evolve_all(&s, &o, QDML_OK, tol, "imaginary time after real time");
        {
            double *ref = qt_calloc((size_t)s.N, sizeof *ref), *got = qt_calloc((size_t)s.N, sizeof *got);
            cr_assert_eq(qdml_problem_get_density(s.p[0], 2, ref), QDML_OK);
            double mx = 0.0;
            for (int64_t j = 0; j < s.N; ++j) mx = fmax(mx, ref[j]);
            for (int i = 1; i < NP; ++i) {
                cr_assert_eq(qdml_problem_get_density(s.p[i], 2, got), QDML_OK);
                for (int64_t j = 0; j < s.N; ++j)
                    cr_assert_leq(fabs(got[j] - ref[j]), 2.0 * tol * mx, "density (%s): path %s, point %lld: %.17g, plain %.17g",
                                  s.shape, PATH[i], (long long)j, got[j], ref[j]);
            }
            free(ref);
            free(got);
        }
        o = evolve_opts(QDML_REAL_TIME, 0.01, 6, 2);
        evolve_all(&s, &o, QDML_OK, tol, "real time after imaginary time");
        o = evolve_opts(QDML_REAL_TIME, 0.01, 0, 0);
        evolve_all(&s, &o, QDML_OK, tol, "zero steps");
        /* Histories: same entries, same values. */
        for (int64_t b = 0; b < s.B; ++b) {
            size_t c0 = 0, c = 0;
            cr_assert_eq(qdml_problem_history(s.p[0], b, NULL, 0, &c0), QDML_OK);
            qdml_stats *h0 = qt_calloc(c0, sizeof *h0), *h = qt_calloc(c0, sizeof *h);
            cr_assert_eq(qdml_problem_history(s.p[0], b, h0, c0, &c0), QDML_OK);
            for (int i = 1; i < NP; ++i) {
                cr_assert_eq(qdml_problem_history(s.p[i], b, h, c0, &c), QDML_OK);
                cr_assert_eq(c, c0, "history (%s): path %s, member %lld: %zu entries, plain %zu", s.shape, PATH[i],
                             (long long)b, c, c0);
                for (size_t j = 0; j < c0; ++j) compare_stats(&s, i, b, h + j, h0 + j, tol, 0.0, "history");
            }
            free(h0);
            free(h);
        }
        /* Plain's checkpoint loaded into every problem: all hold plain's state, then run on. */
        cr_assert_eq(qdml_checkpoint_save(s.p[0], ckpt), QDML_OK, "%s", qdml_context_last_error(ctx));
        for (int i = 0; i < NP; ++i)
            cr_assert_eq(qdml_checkpoint_load(s.p[i], ckpt), QDML_OK, "%s", qdml_context_last_error(ctx));
        o = evolve_opts(QDML_REAL_TIME, 0.01, 4, 2);
        evolve_all(&s, &o, QDML_OK, tol, "real time after loading a checkpoint");
        paths_close(&s);
    }
    qdml_context_destroy(ctx);
    qt_rm_rf(dir);
    free(ckpt);
    free(dir);
    log_worst("calls_between_runs");
}

Test(cpu_paths, diverging_member_is_isolated) {
    const int64_t n[2] = {32, 48};
    qdml_context *ctx = qt_cpu_context();
    paths s;
    paths_open(&s, ctx, 2, n, 4, 700);
    random_members(&s, -1);
    /* Member 2: V = -20000 without renormalisation overflows (exp(20000 dt / hbar), dt = 0.05) in the
     * first step; it is restored to its start and left out, the others run on. */
    random_potential(&s, 2, -20000.0, -19999.0);
    all_hbar_mass(&s, 2, 1.0, 1.0);
    qdml_evolve_options o = evolve_opts(QDML_IMAGINARY_TIME, 0.05, 8, 2);
    o.renormalize = 0;
    qdml_run_result *r = qt_calloc(NP * 4, sizeof *r);
    for (int i = 0; i < NP; ++i) {
        const qdml_status st = qdml_problem_evolve(s.p[i], &o, r + 4 * i);
        cr_assert_eq(st, QDML_ERR_DIVERGED, "path %s: %s", PATH[i], qdml_context_last_error(ctx));
        cr_assert(strstr(qdml_context_last_error(ctx), "member 2") != NULL, "path %s: %s", PATH[i],
                  qdml_context_last_error(ctx));
    }
    for (int b = 0; b < 4; ++b)
        cr_assert(r[b].diverged == (b == 2) && r[b].steps == (b == 2 ? 0 : 8), "plain member %d: diverged %d, %lld steps", b,
                  r[b].diverged, (long long)r[b].steps);
    compare_results(&s, r, 1e-12, 0.0, "imaginary time, member 2 diverges");
    compare_states(&s, 1e-12, "imaginary time, member 2 diverges");
    /* Going on in real time with member 2's potential fixed. */
    random_potential(&s, 2, 0.0, 1.0);
    o = evolve_opts(QDML_REAL_TIME, 0.01, 10, 5);
    evolve_all(&s, &o, QDML_OK, 1e-12, "real time after the divergence");
    free(r);
    paths_close(&s);
    qdml_context_destroy(ctx);
    log_worst("diverging_member_is_isolated");
}

Test(cpu_paths, zero_norm_members_are_isolated) {
    /* Renormalised imaginary time: members 1 and 3 have V = 1e5 everywhere but at one point, where
     * their state is exactly zero, so the first half-step factor exp(-1e5 dt / 2) underflows to zero
     * wherever they live and their norm is 0 before the first step (found, on the member path,
     * inside the steps it runs per member). Every path must report member 1 (the lowest of those
     * found at the same step), keep both members' start states and run the others as plain does. */
    const int64_t n[2] = {24, 32};
    qdml_context *ctx = qt_cpu_context();
    paths s;
    paths_open(&s, ctx, 2, n, 4, 710);
    random_members(&s, -1);
    double *v = qt_calloc((size_t)s.N, sizeof *v), *psi = qt_calloc(2 * (size_t)s.N, sizeof *psi);
    for (int64_t i = 1; i < s.N; ++i) v[i] = 1e5;
    for (int64_t b = 1; b < 4; b += 2) {
        all_potential(&s, b, v);
        cr_assert_eq(qdml_problem_get_state(s.p[0], b, psi), QDML_OK);
        psi[0] = psi[1] = 0.0;
        all_state(&s, b, psi);
    }
    qdml_evolve_options o = evolve_opts(QDML_IMAGINARY_TIME, 0.05, 12, 4);
    qdml_run_result *r = qt_calloc(NP * 4, sizeof *r);
    char plain_msg[512];
    for (int i = 0; i < NP; ++i) {
        const qdml_status st = qdml_problem_evolve(s.p[i], &o, r + 4 * i);
        const char *msg = qdml_context_last_error(ctx);
        cr_assert_eq(st, QDML_ERR_DIVERGED, "path %s: %s", PATH[i], msg);
        /* the same member, found at the same step ("by step 0"), in the same words */
        if (i == 0) {
            cr_assert(strstr(msg, "member 1 ") != NULL && strstr(msg, "by step 0 ") != NULL, "plain: %s", msg);
            snprintf(plain_msg, sizeof plain_msg, "%s", msg);
        }
        cr_assert_str_eq(msg, plain_msg, "path %s: %s\nplain: %s", PATH[i], msg, plain_msg);
    }
    for (int b = 0; b < 4; ++b)
        cr_assert(r[b].diverged == (b % 2) && r[b].steps == (b % 2 ? 0 : 12), "plain member %d: diverged %d, %lld steps",
                  b, r[b].diverged, (long long)r[b].steps);
    compare_results(&s, r, 1e-12, 0.0, "renormalised imaginary time, members 1 and 3 have zero norm");
    compare_states(&s, 1e-12, "renormalised imaginary time, members 1 and 3 have zero norm");
    for (int i = 0; i < NP; ++i) {
        double *after = qt_calloc(2 * (size_t)s.N, sizeof *after);
        cr_assert_eq(qdml_problem_get_state(s.p[i], 3, after), QDML_OK);
        /* to rounding: on the plain path members out of the run still go through the batched FFTs */
        cr_assert_leq(qt_max_abs_diff(after, psi, s.N), 1e-13 * qt_max_abs(psi, s.N),
                      "path %s: member 3 must keep its start state (%.3g, max %.3g)", PATH[i],
                      qt_max_abs_diff(after, psi, s.N), qt_max_abs(psi, s.N));
        free(after);
    }
    free(r);
    free(v);
    free(psi);
    paths_close(&s);
    qdml_context_destroy(ctx);
    log_worst("zero_norm_members_are_isolated");
}

Test(cpu_paths, zero_start_state_is_isolated, .timeout = 60) {
    /* A member whose start state is zero cannot be run: it is taken out at the first monitoring
     * point (or, renormalised, at the first norm) and keeps its start, the others run on. The
     * statistics taken after restoring the backup see that zero state again; they must not take the
     * member out a second time (which once made evolve start the stretch over for ever). Real time
     * and renormalised imaginary time, every path. */
    const int64_t n[2] = {16, 24};
    qdml_context *ctx = qt_cpu_context();
    paths s;
    paths_open(&s, ctx, 2, n, 4, 720);
    random_members(&s, -1);
    double *zero = qt_calloc(2 * (size_t)s.N, sizeof *zero);
    all_state(&s, 2, zero);
    const qdml_time_mode modes[2] = {QDML_REAL_TIME, QDML_IMAGINARY_TIME};
    qdml_run_result *r = qt_calloc(NP * 4, sizeof *r);
    for (int k = 0; k < 2; ++k) {
        qdml_evolve_options o = evolve_opts(modes[k], 0.01, 9, 3);
        for (int i = 0; i < NP; ++i) {
            const qdml_status st = qdml_problem_evolve(s.p[i], &o, r + 4 * i);
            const char *msg = qdml_context_last_error(ctx);
            cr_assert_eq(st, QDML_ERR_DIVERGED, "%s time, path %s: %s", k ? "imaginary" : "real", PATH[i], msg);
            cr_assert(strstr(msg, "member 2 ") != NULL, "path %s: %s", PATH[i], msg);
            for (int b = 0; b < 4; ++b)
                cr_assert(r[4 * i + b].diverged == (b == 2) && r[4 * i + b].steps == (b == 2 ? 0 : 9),
                          "path %s, member %d: diverged %d, %lld steps", PATH[i], b, r[4 * i + b].diverged,
                          (long long)r[4 * i + b].steps);
        }
        compare_states(&s, 1e-12, k ? "imaginary time, member 2 starts at zero" : "real time, member 2 starts at zero");
        double *after = qt_calloc(2 * (size_t)s.N, sizeof *after);
        cr_assert_eq(qdml_problem_get_state(s.p[0], 2, after), QDML_OK);
        cr_assert_eq(qt_max_abs(after, s.N), 0.0, "plain: member 2 must stay zero");
        free(after);
    }
    free(r);
    free(zero);
    paths_close(&s);
    qdml_context_destroy(ctx);
    log_worst("zero_start_state_is_isolated");
}

/* The same calls on two problems: 1 if their states agree bit for bit after real- and then
 * imaginary-time runs; else 0, with the first difference described in `why`. */
static int runs_bit_equal(qdml_context *ctx, qdml_problem *p[2], const qdml_grid *g, int64_t B, uint64_t seed,
                          int64_t steps, char *why, size_t whylen) {
    const int64_t N = qdml_grid_points(g);
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    double *psi = qt_calloc(2 * (size_t)N, sizeof *psi), *v = qt_calloc((size_t)N, sizeof *v);
    double *out = qt_calloc(2 * (size_t)N, sizeof *out);
    for (int64_t m = 0; m < B; ++m) {
        for (int64_t i = 0; i < N; ++i) {
            psi[2 * i] = qt_normal(&rng);
            psi[2 * i + 1] = qt_normal(&rng);
            v[i] = 3.0 * qt_uniform(&rng) - 1.0;
        }
        for (int k = 0; k < 2; ++k) {
            cr_assert_eq(qdml_problem_set_state(p[k], m, psi), QDML_OK);
            cr_assert_eq(qdml_problem_set_potential(p[k], m, v), QDML_OK);
            cr_assert_eq(qdml_problem_set_hbar(p[k], m, 0.7 + 0.2 * (double)m), QDML_OK);
        }
    }
    int equal = 1;
    for (int mode = 0; mode < 2 && equal; ++mode) {
        qdml_evolve_options o = evolve_opts(mode ? QDML_IMAGINARY_TIME : QDML_REAL_TIME, 0.01, steps, 5);
        for (int k = 0; k < 2; ++k) cr_assert_eq(qdml_problem_evolve(p[k], &o, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
        for (int64_t m = 0; m < B && equal; ++m) {
            cr_assert_eq(qdml_problem_get_state(p[0], m, psi), QDML_OK);
            cr_assert_eq(qdml_problem_get_state(p[1], m, out), QDML_OK);
            if (memcmp(psi, out, 2 * (size_t)N * sizeof *psi) != 0) {
                equal = 0;
                snprintf(why, whylen, "%lld points, B=%lld, %s time, member %lld: max difference %.3g x max |psi|",
                         (long long)N, (long long)B, mode ? "imaginary" : "real", (long long)m,
                         qt_max_abs_diff(out, psi, N) / qt_max_abs(psi, N));
            }
        }
    }
    free(psi);
    free(v);
    free(out);
    return equal;
}

/* Runs of the same calls on two problems that must agree bit for bit (the same path taken). */
static void run_pair_exact(qdml_context *ctx, const qdml_grid *g, int64_t B, const char *a, const char *b,
                           uint64_t seed, int64_t steps) {
    qdml_problem *p[2] = {path_problem(ctx, g, B, a), path_problem(ctx, g, B, b)};
    char why[256];
    cr_assert(runs_bit_equal(ctx, p, g, B, seed, steps, why, sizeof why),
              "%s differs from %s (%s): expected the same path", b, a, why);
    qdml_problem_destroy(p[0]);
    qdml_problem_destroy(p[1]);
}

Test(cpu_paths, fallbacks_are_exact) {
    qdml_context *ctx = qt_cpu_context();
    /* Shapes the fused paths cannot take stay plain: 1D, a last axis not a multiple of 4, and 2D with
     * one point on the first axis (one dimension inside). */
    const int64_t n1[1] = {64}, n30[2] = {16, 30}, n_1[2] = {1, 32}, n3_30[3] = {4, 6, 30};
    const double lo[3] = {-4, -5, -6}, hi[3] = {4, 5, 6};
    const qdml_grid g[4] = {qt_grid(1, n1, lo, hi), qt_grid(2, n30, lo, hi), qt_grid(2, n_1, lo, hi), qt_grid(3, n3_30, lo, hi)};
    for (int k = 0; k < 4; ++k)
        for (int i = 1; i < NP; ++i)
            run_pair_exact(ctx, &g[k], 4, PATH[0], PATH[i], 800 + (uint64_t)k, 20);
    /* One member: `members*` takes `planes*`. */
    const int64_t n2[2] = {32, 48}, n3[3] = {8, 12, 16};
    const qdml_grid h[2] = {qt_grid(2, n2, lo, hi), qt_grid(3, n3, lo, hi)};
    for (int k = 0; k < 2; ++k) {
        run_pair_exact(ctx, &h[k], 1, "planes", "members", 810 + (uint64_t)k, 20);
        run_pair_exact(ctx, &h[k], 1, "planes-gather", "members-gather", 820 + (uint64_t)k, 20);
    }
    qdml_context_destroy(ctx);
}

Test(cpu_paths, one_member) {
    /* A single member on every path (the fused paths' blocks are then a fraction of the member). */
    qdml_context *ctx = qt_cpu_context();
    const int which[2] = {0, 3};
    for (int k = 0; k < 2; ++k) {
        paths s;
        paths_open(&s, ctx, SHAPES[which[k]].dim, SHAPES[which[k]].n, 1, 900 + (uint64_t)k);
        random_members(&s, -1);
        qdml_evolve_options o = evolve_opts(QDML_REAL_TIME, 0.01, 40, 10);
        evolve_all(&s, &o, QDML_OK, 1e-12, "one member, real time");
        o = evolve_opts(QDML_IMAGINARY_TIME, 0.02, 40, 10);
        evolve_all(&s, &o, QDML_OK, 1e-12, "one member, imaginary time");
        paths_close(&s);
    }
    qdml_context_destroy(ctx);
    log_worst("one_member");
}

Test(cpu_paths, degenerate_axes) {
    /* 3D grids with one point on the first or the second axis: the fused paths see an outer axis of
     * one plane or planes of one row. */
    qdml_context *ctx = qt_cpu_context();
    const int64_t n[2][3] = {{1, 12, 16}, {8, 1, 16}};
    for (int k = 0; k < 2; ++k) {
        paths s;
        paths_open(&s, ctx, 3, n[k], 3, 1000 + (uint64_t)k);
        random_members(&s, -1);
        qdml_evolve_options o = evolve_opts(QDML_REAL_TIME, 0.01, 30, 10);
        evolve_all(&s, &o, QDML_OK, 1e-12, "real time");
        o = evolve_opts(QDML_IMAGINARY_TIME, 0.02, 30, 10);
        evolve_all(&s, &o, QDML_OK, 1e-12, "imaginary time");
        paths_close(&s);
    }
    qdml_context_destroy(ctx);
    log_worst("degenerate_axes");
}

Test(cpu_paths, threads) {
    /* Two threads: problems of >= 2^15 points run on the context's threads, and the member path gives
     * each thread whole members. 64x256 with 4 members; and 128x128 with 2 members on 3 threads, where
     * `members*` cannot give every thread a member and takes `planes*` (bit for bit). */
    qdml_context *ctx = NULL;
    cr_assert_eq(qdml_context_create(&ctx, QDML_BACKEND_CPU, 2), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(qdml_context_set_fft_effort(ctx, QDML_FFT_ESTIMATE), QDML_OK);
    const int64_t n[2] = {64, 256};
    paths s;
    paths_open(&s, ctx, 2, n, 4, 1100);
    random_members(&s, -1);
    qdml_evolve_options o = evolve_opts(QDML_REAL_TIME, 0.005, 4, 2);
    evolve_all(&s, &o, QDML_OK, 1e-12, "two threads, real time");
    o = evolve_opts(QDML_IMAGINARY_TIME, 0.005, 4, 2);
    evolve_all(&s, &o, QDML_OK, 1e-12, "two threads, imaginary time");
    paths_close(&s);
    qdml_context_destroy(ctx);
    cr_assert_eq(qdml_context_create(&ctx, QDML_BACKEND_CPU, 3), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(qdml_context_set_fft_effort(ctx, QDML_FFT_ESTIMATE), QDML_OK);
    const int64_t m[2] = {128, 128};
    const double lo[2] = {-4, -5}, hi[2] = {4, 5};
    const qdml_grid g = qt_grid(2, m, lo, hi);
    run_pair_exact(ctx, &g, 2, "planes", "members", 1200, 6);
    run_pair_exact(ctx, &g, 2, "planes-gather", "members-gather", 1201, 6);
    qdml_context_destroy(ctx);
    log_worst("threads");
}

Test(cpu_paths, invalid_value) {
    qdml_context *ctx = qt_cpu_context();
    const int64_t n[2] = {32, 48};
    const double lo[2] = {-4, -5}, hi[2] = {4, 5};
    const qdml_grid g = qt_grid(2, n, lo, hi);
    static const char *const BAD[] = {"fast", "Planes", "planes ", "member"};
    for (size_t k = 0; k < sizeof BAD / sizeof BAD[0]; ++k) {
        cr_assert_eq(setenv("QDML_CPU_PATH", BAD[k], 1), 0);
        qdml_problem *p = NULL;
        const qdml_status st = qdml_problem_create(ctx, &g, 2, &p);
        unsetenv("QDML_CPU_PATH");
        cr_assert_eq(st, QDML_ERR_INVALID_ARGUMENT, "QDML_CPU_PATH='%s': status %s", BAD[k], qdml_status_string(st));
        cr_assert_null(p, "QDML_CPU_PATH='%s': *out not NULL on failure", BAD[k]);
        const char *msg = qdml_context_last_error(ctx);
        cr_assert(strstr(msg, "QDML_CPU_PATH") != NULL && strstr(msg, BAD[k]) != NULL,
                  "QDML_CPU_PATH='%s': message '%s' should name the variable and its value", BAD[k], msg);
        /* the backend's own message, after what the library was doing, in the context and the thread's slot */
        static const char head[] = "qdml_problem_create (cpu backend): the environment variable QDML_CPU_PATH is";
        cr_assert_eq(strncmp(msg, head, sizeof head - 1), 0, "message '%s' should start '%s'", msg, head);
        cr_assert_str_eq(qdml_last_error_message(), msg);
    }
    /* Empty is as unset; and the variable is read at creation only. */
    cr_assert_eq(setenv("QDML_CPU_PATH", "", 1), 0);
    qdml_problem *p = qt_problem(ctx, &g, 2);
    cr_assert_eq(setenv("QDML_CPU_PATH", "fast", 1), 0);
    qt_set_zero_potential(p);
    qdml_evolve_options o = evolve_opts(QDML_REAL_TIME, 0.01, 3, 0);
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
    unsetenv("QDML_CPU_PATH");
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

/* ---- choices kept beside the wisdom file ---- */

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    cr_assert(fputs(text, f) >= 0);
    cr_assert_eq(fclose(f), 0);
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = qt_calloc(65536, 1);
    const size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* A context of `threads` threads that measures (the choice of path is made only when planning
 * measures) and keeps FFTW wisdom, with it the choices of path, in `wisdom`. */
static qdml_context *measuring_context(const char *wisdom, int threads) {
    qdml_context *ctx = NULL;
    cr_assert_eq(qdml_context_create(&ctx, QDML_BACKEND_CPU, threads), QDML_OK);
    cr_assert_eq(qdml_context_set_fft_effort(ctx, QDML_FFT_MEASURE), QDML_OK);
    cr_assert_eq(qdml_context_set_fft_wisdom(ctx, wisdom), QDML_OK);
    return ctx;
}

/* Each test runs in its own process, so no choice is remembered from an earlier problem: a problem
 * made with a wisdom file takes the path the file names for its shape, bit for bit the same as one
 * forced to it with QDML_CPU_PATH, and not the same as a path that rounds differently (the fused
 * paths round alike on one thread, and differently from the plain path). Whatever a measurement
 * would choose, one of the two cases of a shape (a fused path, the plain path) tells a problem that
 * ignored the file. */
Test(cpu_paths, choice_read_from_the_wisdom_side_file) {
    char *dir = qt_tmpdir("paths");
    char *wisdom = qt_path(dir, "wisdom"), *file = qt_path(dir, "wisdom.paths");
    qdml_context *ctx = measuring_context(wisdom, 1);
    const int64_t n2[2] = {16, 32}, n3[3] = {4, 8, 16};
    const double lo[3] = {-4, -5, -6}, hi[3] = {4, 5, 6};
    const qdml_grid g2 = qt_grid(2, n2, lo, hi), g3 = qt_grid(3, n3, lo, hi);
    /* Axes padded to three, batch, threads 1 (problems this small run on one thread), effort 1
     * (measure), then the choices, the planes variants and the edges (one thread: never idle, so the
     * edges play no part); one batch size per case, since a process keeps to the first choice it
     * makes or reads for a shape. */
    static const struct {
        const char *line, *path, *other;
        int64_t batch;
    } cases[] = {
        {"1 16 32 4 1 1 2 0 2 0 0 0 1100000 1100000\n", "members", "plain", 4},
        {"1 16 32 5 1 1 1 1 1 1 1 1 0 0\n", "planes-gather", "plain", 5},
        {"1 16 32 6 1 1 0 0 0 0 0 0 0 0\n", "plain", "members", 6},
        {"4 8 16 3 1 1 2 1 2 1 0 0 1200000 1300000\n", "members-gather", "plain", 3},
        {"4 8 16 4 1 1 0 0 0 0 1 0 0 0\n", "plain", "planes", 4},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        const qdml_grid *g = cases[c].line[0] == '4' ? &g3 : &g2;
        const int64_t B = cases[c].batch;
        char text[256];
        snprintf(text, sizeof text, "qdml-cpu-paths 3\n7 7 7 1 1 1 1 0 1 0 0 0 0 0\n%s", cases[c].line);
        write_text(file, text);
        for (int k = 0; k < 2; ++k) {
            qdml_problem *p[2] = {qt_problem(ctx, g, B), path_problem(ctx, g, B, k ? cases[c].other : cases[c].path)};
            char why[256] = "";
            const int equal = runs_bit_equal(ctx, p, g, B, 900 + c, 20, why, sizeof why);
            if (k == 0)
                cr_assert(equal, "file line '%.*s': the problem did not run as QDML_CPU_PATH=%s (%s)",
                          (int)strlen(cases[c].line) - 1, cases[c].line, cases[c].path, why);
            else
                cr_assert(!equal, "file line '%.*s': the problem ran bit for bit as QDML_CPU_PATH=%s too: the test "
                          "cannot tell the paths apart", (int)strlen(cases[c].line) - 1, cases[c].line, cases[c].other);
            qdml_problem_destroy(p[0]);
            qdml_problem_destroy(p[1]);
        }
    }
    qdml_context_destroy(ctx);
    qt_rm_rf(dir);
    free(wisdom);
    free(file);
    free(dir);
}

/* Without an entry the shape is measured and its line added, other lines kept; a damaged file or a
 * line the problem cannot run (the member path for one member) is not used, and the problem still
 * runs as the plain path does to rounding. */
Test(cpu_paths, choice_measured_and_saved) {
    char *dir = qt_tmpdir("paths");
    char *wisdom = qt_path(dir, "wisdom"), *file = qt_path(dir, "wisdom.paths");
    const int64_t n2[2] = {16, 32};
    const double lo[2] = {-4, -5}, hi[2] = {4, 5};
    const qdml_grid g = qt_grid(2, n2, lo, hi);
    static const char *const starts[] = {
        NULL,                                                   /* no file */
        "qdml-cpu-paths 3\n9 9 9 2 1 1 1 0 1 1 0 1 0 0\n",      /* another shape's line, kept */
        "qdml-cpu-paths 2\n1 16 32 4 1 1 2 0 2 0\n",            /* another version: ignored */
        "\x01\x02 not a paths file\n",                          /* damaged */
        "qdml-cpu-paths 3\n1 16 32 4 1 1 7 0 1 0 0 0 0 0\n",    /* a path out of range */
        "qdml-cpu-paths 3\n1 16 32 4 1 1 1 0 1 0 0 0 0 0 5\n",  /* a line too long */
        "qdml-cpu-paths 3\n1 16 32 4 1 1 2 0 2 0 0 0 -1 1\n",   /* a negative edge */
        "qdml-cpu-paths 3\n1 16 32 4 1 1 2 0 2 0 0 0 999999 1000000\n", /* the member path, an edge below 1 */
    };
    for (size_t c = 0; c < sizeof starts / sizeof starts[0]; ++c) {
        qt_rm_rf(file);
        if (starts[c]) write_text(file, starts[c]);
        qdml_context *ctx = measuring_context(wisdom, 1);
        qdml_problem *p[2] = {qt_problem(ctx, &g, 4), path_problem(ctx, &g, 4, "plain")};
        char why[256] = "";
        (void)runs_bit_equal(ctx, p, &g, 4, 950 + c, 20, why, sizeof why); /* the same runs; compare to rounding */
        double *a = qt_calloc(2 * 512, sizeof *a), *b = qt_calloc(2 * 512, sizeof *b);
        for (int64_t m = 0; m < 4; ++m) {
            cr_assert_eq(qdml_problem_get_state(p[0], m, a), QDML_OK);
            cr_assert_eq(qdml_problem_get_state(p[1], m, b), QDML_OK);
            const double d = qt_max_abs_diff(a, b, 512) / qt_max_abs(b, 512);
            cr_assert(d <= 1e-12, "start %zu, member %lld: %.3g x max |psi| from the plain path", c, (long long)m, d);
        }
        free(a);
        free(b);
        qdml_problem_destroy(p[0]);
        qdml_problem_destroy(p[1]);
        qdml_context_destroy(ctx);
        char *text = read_text(file);
        cr_assert(text, "start %zu: %s was not written", c, file);
        cr_assert(strncmp(text, "qdml-cpu-paths 3\n", 17) == 0, "start %zu: the file starts '%.20s'", c, text);
        cr_assert(strstr(text, "\n1 16 32 4 1 1 "), "start %zu: no line for the shape in:\n%s", c, text);
        cr_assert(!strstr(text, " 7 0 1 0 ") && !strstr(text, " 5\n") && !strstr(text, " -1 ") &&
                      !strstr(text, " 999999 "),
                  "start %zu: a bad line was kept:\n%s", c, text);
        if (c == 1)
            cr_assert(strstr(text, "\n9 9 9 2 1 1 1 0 1 1 0 1 0 0\n"),
                      "another shape's line was dropped:\n%s", text);
        int lines = 0;
        for (const char *q = text; *q; ++q) lines += *q == '\n';
        cr_assert_eq(lines, c == 1 ? 3 : 2, "start %zu: %d lines in:\n%s", c, lines, text);
        free(text);
    }
    qt_rm_rf(dir);
    free(wisdom);
    free(file);
    free(dir);
}

/* The steps of n Strang steps as the solver issues them with the single ops (host/solver.c, advance,
 * m = 1), renormalised or not; a member whose norm turns bad goes on (as the steps op's members do
 * on PATH_PLANES). */
static void single_op_steps(qdml_backend_state *st, int64_t B, int64_t n, const unsigned char *mask, double dv,
                            int renorm) {
    const qdml_backend_ops *o = &qdml_backend_cpu_ops;
    double *norms = qt_calloc((size_t)B, sizeof(double)), *sc = qt_calloc((size_t)B, sizeof(double));
    for (int64_t b = 0; b < B; ++b) sc[b] = 1.0;
    cr_assert_eq(o->kick(st, 0, mask, renorm ? norms : NULL), QDML_OK);
    for (int64_t i = 0; i <= n; ++i) {
        for (int64_t b = 0; renorm && b < B; ++b)
            if (!mask || mask[b]) sc[b] = 1.0 / sqrt(norms[b] * dv);
        if (i == n) break;
        cr_assert_eq(o->fft(st, 1), QDML_OK);
        cr_assert_eq(o->kinetic(st, sc, mask), QDML_OK);
        cr_assert_eq(o->fft(st, 0), QDML_OK);
        cr_assert_eq(o->kick(st, i + 1 < n, mask, renorm ? norms : NULL), QDML_OK);
    }
    if (renorm) cr_assert_eq(o->scale(st, sc, mask), QDML_OK);
    free(norms);
    free(sc);
}

/* The member states of `from` copied into `to` (both B members of N points). */
static void copy_states(qdml_backend_state *from, qdml_backend_state *to, int64_t B, int64_t N, double *buf) {
    for (int64_t b = 0; b < B; ++b) {
        cr_assert_eq(qdml_backend_cpu_ops.get_state(from, b, buf), QDML_OK);
        cr_assert_eq(qdml_backend_cpu_ops.set_state(to, b, buf), QDML_OK);
    }
    (void)N;
}

/* Whether every member of a and b holds the same bits. */
static int states_bit_equal(qdml_backend_state *a, qdml_backend_state *b, int64_t B, int64_t N, double *x, double *y) {
    int equal = 1;
    for (int64_t m = 0; m < B; ++m) {
        cr_assert_eq(qdml_backend_cpu_ops.get_state(a, m, x), QDML_OK);
        cr_assert_eq(qdml_backend_cpu_ops.get_state(b, m, y), QDML_OK);
        equal = equal && memcmp(x, y, (size_t)(2 * N) * sizeof(double)) == 0;
    }
    return equal;
}

/* A read (or measured) choice of the member path runs a steps call on PATH_PLANES when too few
 * members step to keep both threads busy on it (backend_cpu_steps.c, too_few_members: the busiest
 * thread's share over the mean beyond 1.25 x the edge of the kind of step). Eight members of 64 x 64
 * on two threads; the side file gives real-time steps an edge of 5 (never) and imaginary-time ones
 * 1.5 with the gathered planes variant (one active member only: 2 > 1.875 > 4/3). Each call starts
 * every problem from the same states, and must give bit for bit the states of a problem forced to
 * that path given the same calls (QDML_CPU_PATH=planes-gather with the single ops in the solver's
 * order, or =members with the steps op), and in imaginary time not those of the other path (in real
 * time the two give the same bits on this shape); and the plain path's to rounding. A renormalised
 * call whose member has a zero state reports it (stop 0) on either path. */
Test(cpu_paths, few_active_members_take_the_planes_path) {
    char *dir = qt_tmpdir("paths");
    char *wisdom = qt_path(dir, "wisdom"), *file = qt_path(dir, "wisdom.paths");
    write_text(file, "qdml-cpu-paths 3\n1 64 64 8 2 1 2 0 2 0 0 1 5000000 1500000\n");
    const qdml_backend_ops *o = &qdml_backend_cpu_ops;
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    d.n[0] = 1;
    d.n[1] = d.n[2] = 64;
    d.lo[1] = d.lo[2] = -6.0;
    d.length[0] = 1.0;
    d.length[1] = d.length[2] = 12.0;
    d.npoints = 64 * 64;
    d.batch = 8; /* 8 x 4096 points: two threads (backend_cpu.c runs fewer than 2^15 points on one) */
    d.dv = (12.0 / 64) * (12.0 / 64);
    d.nthreads = 2;
    d.effort = QDML_FFT_MEASURE;
    d.precision = QDML_FLOAT64;
    d.wisdom_path = wisdom;
    const int64_t N = d.npoints, B = d.batch;
    /* [0] the read choice, [1] forced planes-gather, [2] forced members, [3] plain */
    static const char *const forced[4] = {NULL, "planes-gather", "members", "plain"};
    qdml_backend_state *st[4] = {NULL, NULL, NULL, NULL};
    for (int k = 0; k < 4; ++k) {
        if (forced[k]) cr_assert_eq(setenv("QDML_CPU_PATH", forced[k], 1), 0);
        else cr_assert_eq(unsetenv("QDML_CPU_PATH"), 0);
        cr_assert_eq(o->create(&d, &st[k]), QDML_OK, "%s", qdml_last_error_message());
    }
    cr_assert_eq(unsetenv("QDML_CPU_PATH"), 0);
    qt_rng rng;
    qt_rng_seed(&rng, 4242);
    double *psi = qt_calloc((size_t)(2 * N), sizeof(double)), *v = qt_calloc((size_t)N, sizeof(double));
    double *a = qt_calloc((size_t)(2 * N), sizeof(double)), *c = qt_calloc((size_t)(2 * N), sizeof(double));
    qdml_step_params p[8];
    for (int64_t b = 0; b < B; ++b) {
        for (int64_t i = 0; i < 2 * N; ++i)
            psi[i] = qt_uniform(&rng) - 0.5;
        for (int64_t i = 0; i < N; ++i)
            v[i] = 4.0 * qt_uniform(&rng);
        memset(&p[b], 0, sizeof p[b]);
        p[b].dt = 0.01 + 0.02 * qt_uniform(&rng);
        p[b].hbar = p[b].mass = 1.0;
        for (int k = 0; k < 4; ++k) {
            cr_assert_eq(o->set_state(st[k], b, psi), QDML_OK);
            cr_assert_eq(o->set_potential(st[k], b, v), QDML_OK);
        }
    }
    static const struct {
        int imaginary, active, planes;
    } calls[] = {{1, 8, 0}, {1, 1, 1}, {1, 3, 0}, {1, 2, 0}, {1, 1, 1}, {0, 1, 0}, {0, 3, 0}, {1, 1, 1}};
    unsigned char mask[8];
    int64_t stop[8], stop_ref[8];
    const unsigned char strang = 0;
    for (size_t t = 0; t < sizeof calls / sizeof calls[0]; ++t) {
        const int imag = calls[t].imaginary;
        for (int64_t b = 0; b < B; ++b) {
            p[b].imaginary = imag;
            p[b].flush_tiny = imag;
            for (int k = 0; k < 4; ++k) cr_assert_eq(o->set_step(st[k], b, &p[b]), QDML_OK);
            mask[b] = (unsigned char)(((b * 5 + (int64_t)t) % B) < calls[t].active); /* another set each call */
        }
        if (t + 1 == sizeof calls / sizeof calls[0]) { /* the active member at zero: its first norm is 0 */
            for (int64_t b = 0; b < B; ++b)
                if (mask[b]) {
                    memset(a, 0, (size_t)(2 * N) * sizeof(double));
                    cr_assert_eq(o->set_state(st[0], b, a), QDML_OK);
                }
        }
        for (int k = 1; k < 4; ++k) copy_states(st[0], st[k], B, N, a);
        int done = -1;
        cr_assert_eq(o->steps(st[0], 3, 1, &strang, mask, imag, d.dv, stop, &done), QDML_OK);
        cr_assert_eq(done, 1, "call %zu: the steps op declined", t);
        single_op_steps(st[1], B, 3, mask, d.dv, imag);
        cr_assert_eq(o->steps(st[2], 3, 1, &strang, mask, imag, d.dv, stop_ref, &done), QDML_OK);
        cr_assert_eq(done, 1);
        single_op_steps(st[3], B, 3, mask, d.dv, imag);
        const int like_planes = states_bit_equal(st[0], st[1], B, N, a, c);
        const int like_members = states_bit_equal(st[0], st[2], B, N, a, c);
        /* In real time, without renormalisation, both paths give the same bits on this shape: only the
         * path expected is checked there. */
        const int other = calls[t].planes ? like_members : like_planes;
        cr_assert(calls[t].planes ? like_planes : like_members,
                  "call %zu (%s time, %d active): bit for bit as planes-gather %d, as members %d; expected the %s path",
                  t, imag ? "imaginary" : "real", calls[t].active, like_planes, like_members,
                  calls[t].planes ? "planes" : "member");
        cr_assert(!imag || !other, "call %zu (%d active): bit for bit as both paths: the test cannot tell them apart",
                  t, calls[t].active);
        for (int64_t b = 0; b < B; ++b) {
            if (mask[b]) cr_assert_eq(stop[b], stop_ref[b], "call %zu: member %lld: stop %lld, members %lld", t,
                                      (long long)b, (long long)stop[b], (long long)stop_ref[b]);
            if (mask[b] && stop[b] >= 0) continue;
            cr_assert_eq(o->get_state(st[0], b, a), QDML_OK);
            cr_assert_eq(o->get_state(st[3], b, c), QDML_OK);
            const double diff = qt_max_abs_diff(a, c, N) / qt_max_abs(c, N);
            cr_assert(diff <= 1e-12, "call %zu: member %lld differs from the plain path by %.3g", t, (long long)b,
                      diff);
        }
        if (t + 1 == sizeof calls / sizeof calls[0])
            for (int64_t b = 0; b < B; ++b)
                if (mask[b]) cr_assert_eq(stop[b], 0, "the zero member's stop is %lld", (long long)stop[b]);
    }
    for (int k = 0; k < 4; ++k)
        o->destroy(st[k]);
    qt_rm_rf(dir);
    free(psi);
    free(v);
    free(a);
    free(c);
    free(wisdom);
    free(file);
    free(dir);
}

static double v_bowl(const double *x, int dim, void *user) {
    const double w = *(const double *)user;
    double r2 = 0.0;
    for (int d = 0; d < dim; ++d) r2 += x[d] * x[d];
    return 0.5 * w * w * r2;
}

/* A ground search whose members finish one after another, on a read choice of the member path
 * (two threads, an edge of 1: steps calls with one or three active members run on PATH_PLANES), in
 * one call and in resumed calls of 20 steps: bit for bit the same (qdml.h, options.resume), since a
 * call's path depends on its own active members alone. */
Test(cpu_paths, resumed_search_on_a_mixed_path_is_bit_for_bit) {
    char *dir = qt_tmpdir("paths");
    char *wisdom = qt_path(dir, "wisdom"), *file = qt_path(dir, "wisdom.paths");
    write_text(file, "qdml-cpu-paths 3\n1 64 64 8 2 1 2 0 2 0 0 0 1000000 1000000\n");
    qdml_context *ctx = measuring_context(wisdom, 2);
    const int64_t n[2] = {64, 64};
    const double lo[2] = {-6, -6}, hi[2] = {6, 6};
    const qdml_grid g = qt_grid(2, n, lo, hi);
    enum { B = 8 };
    double w[B];
    qdml_problem *pr[2];
    for (int k = 0; k < 2; ++k) {
        pr[k] = qt_problem(ctx, &g, B);
        for (int b = 0; b < B; ++b) {
            w[b] = 0.8 + 0.3 * b;
            qt_set_potential_fn(pr[k], b, v_bowl, &w[b]);
            const double c0[2] = {0.5, -0.3}, wd[2] = {1.0, 1.0};
            cr_assert_eq(qdml_problem_set_state_gaussian(pr[k], b, c0, wd, NULL), QDML_OK);
        }
    }
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = 1e-4; /* members still finish one after another (their gaps differ), in fewer steps */
    qdml_run_result r0[B], r1[B];
    cr_assert_eq(qdml_problem_ground(pr[0], &go, r0), QDML_OK, "%s", qdml_context_last_error(ctx));
    go.max_steps = 20;
    int calls = 0, over = 0;
    for (; !over && calls < 100000; ++calls) {
        cr_assert_eq(qdml_problem_ground(pr[1], &go, r1), QDML_OK, "%s", qdml_context_last_error(ctx));
        go.resume = 1;
        over = 1;
        for (int b = 0; b < B; ++b) over = over && r1[b].finished;
    }
    int64_t smin = r0[0].steps, smax = r0[0].steps;
    double *x = qt_calloc(2 * 64 * 64, sizeof(double)), *y = qt_calloc(2 * 64 * 64, sizeof(double));
    for (int b = 0; b < B; ++b) {
        cr_assert(r0[b].converged, "member %d did not converge", b);
        smin = r0[b].steps < smin ? r0[b].steps : smin;
        smax = r0[b].steps > smax ? r0[b].steps : smax;
        cr_assert_eq(qdml_problem_get_state(pr[0], b, x), QDML_OK);
        cr_assert_eq(qdml_problem_get_state(pr[1], b, y), QDML_OK);
        cr_assert(memcmp(x, y, sizeof(double) * 2 * 64 * 64) == 0 && r0[b].final.energy == r1[b].final.energy,
                  "member %d: one call and %d resumed calls differ (E %.17g, %.17g)", b, calls, r0[b].final.energy,
                  r1[b].final.energy);
    }
    cr_assert(smax > smin, "every member took %lld steps: no call had fewer members active", (long long)smax);
    /* Every member against its closed form, the oscillator's E0 = hbar w (two axes, hbar = m = 1): within
     * r^2 / w (Temple), plus 1e-11 for the grid (the box holds 7.6 widths of the widest |psi|, and
     * s k_N >= 6.7 resolves the narrowest). */
    for (int b = 0; b < B; ++b) {
        const double bound = r0[b].final.residual * r0[b].final.residual / w[b] + 1e-11;
        cr_assert_leq(fabs(r0[b].final.energy - w[b]), bound, "member %d: E = %.15g, closed form %.15g (bound %.3g)", b,
                      r0[b].final.energy, w[b], bound);
    }
    free(x);
    free(y);
    qdml_problem_destroy(pr[0]);
    qdml_problem_destroy(pr[1]);
    qdml_context_destroy(ctx);
    qt_rm_rf(dir);
    free(wisdom);
    free(file);
    free(dir);
}
