/* The CUDA backend against the CPU backend (the reference), one op at a time, in float64 and
 * float32 (whole runs through the public API are in test_cuda_runs.c).
 *
 *  (a) cuda_ops: every op of the backend table (host/backend.h) on random inputs, one op at a time
 *      (test-backend-ops style): before each op the CPU state is given the CUDA state, so only the
 *      op's own error is measured. Relative error <= 1e-12 in float64, <= 1e-5 in float32.
 *      Needs the ops table: compiled where the build defines QDML_TEST_HAVE_CUDA_BACKEND.
 *
 * Without a CUDA device every test that needs one reports itself skipped with the reason.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "support.h"

#ifdef QDML_TEST_HAVE_CUDA_BACKEND
/* Defined in kernels/backend_cuda.cu (part of libqdml when the CUDA toolkit was found). */
extern const qdml_backend_ops qdml_backend_cuda_ops;
int qdml_cuda_blas_load(char *err, size_t errlen);
#endif

#define NO_DEVICE "no CUDA device: qdml_backend_available(QDML_BACKEND_CUDA) is 0"
#define REQUIRE_CUDA_DEVICE()                                                                                          \
    do {                                                                                                               \
        if (!qdml_backend_available(QDML_BACKEND_CUDA)) cr_skip_test("%s", NO_DEVICE);                                 \
    } while (0)

#define OP_TOL_F64 1e-12
#define OP_TOL_F32 1e-5

static const char *prec_name(qdml_precision p) { return p == QDML_FLOAT32 ? "float32" : "float64"; }

/* |a - b| <= tol * scale, scale > 0. */
static int near(double a, double b, double tol, double scale) { return fabs(a - b) <= tol * scale; }

/* ==============================================================================================
 * (a) the op walk
 * ============================================================================================ */

#ifdef QDML_TEST_HAVE_CUDA_BACKEND

typedef struct walk {
    const qdml_backend_ops *cpu, *gpu;
    qdml_backend_state *cs, *gs;
    qdml_precision prec;
    int64_t N, B;
    double tol;
    double *a, *b; /* 2N scratch each */
    double vmax;   /* max |V| */
    double xmax;   /* max |x| over the internal axes */
    double k2max;  /* sum over the internal axes of the largest k^2 */
    const double *hbar, *mass;
    char where[96];
} walk;

/* CPU state := CUDA state (every member), so the next op starts from the same values. */
static void walk_sync(walk *w) {
    for (int64_t m = 0; m < w->B; ++m) {
        cr_assert_eq(w->gpu->get_state(w->gs, m, w->a), QDML_OK, "%s: get_state: %s", w->where,
                     w->gpu->last_error(w->gs));
        cr_assert_eq(w->cpu->set_state(w->cs, m, w->a), QDML_OK);
    }
}

static void walk_compare_states(walk *w, const char *op) {
    for (int64_t m = 0; m < w->B; ++m) {
        cr_assert_eq(w->cpu->get_state(w->cs, m, w->a), QDML_OK);
        cr_assert_eq(w->gpu->get_state(w->gs, m, w->b), QDML_OK, "%s %s: get_state: %s", w->where, op,
                     w->gpu->last_error(w->gs));
        const double d = qt_rel_diff(w->a, w->b, 2 * w->N);
        cr_assert(d <= w->tol, "%s: %s: member %lld: relative difference %.3g > %.1g (%s)", w->where, op, (long long)m,
                  d, w->tol, prec_name(w->prec));
    }
}

static void walk_compare_sums(walk *w, const char *op, const double *x, const double *y, const unsigned char *mask) {
    for (int64_t m = 0; m < w->B; ++m) {
        if (mask && !mask[m]) continue;
        const double sc = fabs(x[m]) > 0 ? fabs(x[m]) : 1e-300;
        cr_assert(near(x[m], y[m], w->tol, sc), "%s: %s: member %lld: cpu %.17g cuda %.17g (%s)", w->where, op,
                  (long long)m, x[m], y[m], prec_name(w->prec));
    }
}

static void walk_compare_moments(walk *w, const char *op, const qdml_moments *x, const qdml_moments *y,
                                 const unsigned char *want) {
    for (int64_t m = 0; m < w->B; ++m) {
        const qdml_moments *p = x + m, *q = y + m;
        if (want && !want[m]) {
            /* Members not wanted: the values the CPU backend leaves (zeros, rmax -1, imax -1). */
            cr_assert(q->s0 == 0 && q->rmax == -1.0 && q->imax == -1 && q->finite == 1,
                      "%s: %s: unwanted member %lld: s0 %g rmax %g imax %lld finite %d", w->where, op, (long long)m,
                      q->s0, q->rmax, (long long)q->imax, q->finite);
            continue;
        }
        const double s0 = p->s0;
        cr_assert(near(p->s0, q->s0, w->tol, s0), "%s: %s m%lld s0 %.17g %.17g", w->where, op, (long long)m, p->s0,
                  q->s0);
        cr_assert(near(p->sv, q->sv, w->tol, s0 * w->vmax), "%s: %s m%lld sv %.17g %.17g", w->where, op, (long long)m,
                  p->sv, q->sv);
        cr_assert(near(p->st, q->st, w->tol, fabs(p->st)), "%s: %s m%lld st %.17g %.17g", w->where, op, (long long)m,
                  p->st, q->st);
        for (int d = 0; d < 3; ++d) {
            cr_assert(near(p->sx[d], q->sx[d], w->tol, s0 * w->xmax), "%s: %s m%lld sx[%d] %.17g %.17g", w->where, op,
                      (long long)m, d, p->sx[d], q->sx[d]);
            cr_assert(near(p->sxx[d], q->sxx[d], w->tol, s0 * w->xmax * w->xmax), "%s: %s m%lld sxx[%d] %.17g %.17g",
                      w->where, op, (long long)m, d, p->sxx[d], q->sxx[d]);
        }
        /* sres = ||T psi + (V - E) psi||^2 may be a small difference of large terms: its error is
         * relative to sqrt(sres) (||T psi|| + ||(V - E) psi||), bounded with the largest T and V. */
        const double e = p->s0 > 0 ? (p->st + p->sv) / p->s0 : 0.0;
        const double tmax = w->hbar[m] * w->hbar[m] / (2.0 * w->mass[m]) * w->k2max;
        const double hnorm = sqrt(s0) * (tmax + w->vmax + fabs(e));
        cr_assert(near(p->sres, q->sres, w->tol, fabs(p->sres) + sqrt(fabs(p->sres)) * hnorm),
                  "%s: %s m%lld sres %.17g %.17g (||H psi|| scale %.3g)", w->where, op, (long long)m, p->sres, q->sres,
                  hnorm);
        cr_assert_eq(p->finite, q->finite, "%s: %s m%lld finite %d %d", w->where, op, (long long)m, p->finite,
                     q->finite);
        cr_assert(near(p->rmax, q->rmax, w->tol, fabs(p->rmax)), "%s: %s m%lld rmax %.17g %.17g", w->where, op,
                  (long long)m, p->rmax, q->rmax);
        /* argmax: any index whose density equals rmax (ties may break differently). */
        cr_assert(q->imax >= 0 && q->imax < w->N, "%s: %s m%lld imax %lld out of range", w->where, op, (long long)m,
                  (long long)q->imax);
        cr_assert_eq(w->cpu->get_state(w->cs, m, w->a), QDML_OK);
        const double re = w->a[2 * q->imax], im = w->a[2 * q->imax + 1];
        cr_assert(near(re * re + im * im, p->rmax, w->tol, p->rmax),
                  "%s: %s m%lld: cuda argmax %lld has density %.17g, cpu max %.17g at %lld", w->where, op, (long long)m,
                  (long long)q->imax, re * re + im * im, p->rmax, (long long)p->imax);
    }
}

/* The float64 description of an n0 x n1 x n2 grid (boxes [-2.5, 2.5), [0.5, 3.5), [-4, 4); an axis
 * of one point is a padding axis: lower edge 0, length 1), B members, volume element dv. */
static qdml_backend_desc case_desc(int64_t n0, int64_t n1, int64_t n2, int64_t B, double dv) {
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    const int64_t n[3] = {n0, n1, n2};
    const double lo[3] = {-2.5, 0.5, -4.0}, len[3] = {5.0, 3.0, 8.0};
    for (int a = 0; a < 3; ++a) {
        d.n[a] = n[a];
        d.lo[a] = n[a] > 1 ? lo[a] : 0.0;
        d.length[a] = n[a] > 1 ? len[a] : 1.0;
    }
    d.npoints = n0 * n1 * n2;
    d.batch = B;
    d.dv = dv;
    d.nthreads = 1;
    d.effort = QDML_FFT_ESTIMATE;
    d.precision = QDML_FLOAT64;
    return d;
}

static void walk_case(qdml_precision prec, int64_t n0, int64_t n1, int64_t n2, int64_t B, uint64_t seed) {
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    qdml_backend_desc d = case_desc(n0, n1, n2, B, 1.0);
    walk w;
    memset(&w, 0, sizeof w);
    for (int a = 0; a < 3; ++a) {
        const double far = fmax(fabs(d.lo[a]), fabs(d.lo[a] + d.length[a]));
        if (far > w.xmax) w.xmax = far;
        const double kmax = 3.14159265358979323846 * (double)d.n[a] / d.length[a];
        if (d.n[a] > 1) w.k2max += kmax * kmax;
    }
    qdml_backend_desc dg = d;
    dg.precision = prec;
    w.cpu = &qdml_backend_cpu_ops;
    w.gpu = &qdml_backend_cuda_ops;
    w.prec = prec;
    w.N = d.npoints;
    w.B = B;
    w.tol = prec == QDML_FLOAT32 ? OP_TOL_F32 : OP_TOL_F64;
    snprintf(w.where, sizeof w.where, "%s %lldx%lldx%lld B=%lld", prec_name(prec), (long long)n0, (long long)n1,
             (long long)n2, (long long)B);
    char err[512] = "";
    cr_assert_eq(w.cpu->create(&d, &w.cs, err, sizeof err), QDML_OK, "cpu create: %s", err);
    cr_assert_eq(w.gpu->create(&dg, &w.gs, err, sizeof err), QDML_OK, "%s: cuda create: %s", w.where, err);
    const int64_t N = w.N;
    w.a = qt_calloc((size_t)(2 * N), sizeof(double));
    w.b = qt_calloc((size_t)(2 * N), sizeof(double));
    double *psi = qt_calloc((size_t)(2 * N), sizeof(double));
    double *v = qt_calloc((size_t)N, sizeof(double));
    double *v2 = qt_calloc((size_t)N, sizeof(double));
    double *hbar = qt_calloc((size_t)B, sizeof(double)), *mass = qt_calloc((size_t)B, sizeof(double));
    double *sc = qt_calloc((size_t)B, sizeof(double));
    double *r1 = qt_calloc((size_t)B, sizeof(double)), *r2 = qt_calloc((size_t)B, sizeof(double));
    unsigned char *mask = qt_calloc((size_t)B, 1), *want = qt_calloc((size_t)B, 1);
    qdml_moments *m1 = qt_calloc((size_t)B, sizeof(qdml_moments)), *m2 = qt_calloc((size_t)B, sizeof(qdml_moments));
    w.hbar = hbar;
    w.mass = mass;

    /* set_state / get_state, set_potential / get_potential: float64 exact; float32 exactly the
     * rounding to float (to nearest; 3e-201 becomes 0). */
    const int f32 = prec == QDML_FLOAT32;
    for (int64_t m = 0; m < B; ++m) {
        for (int64_t i = 0; i < 2 * N; ++i)
            psi[i] = 2.0 * qt_uniform(&rng) - 1.0;
        if (N > 4) psi[2] = 3e-201; /* a tiny amplitude for the flush */
        for (int64_t i = 0; i < N; ++i) {
            v[i] = 6.0 * qt_uniform(&rng) - 3.0;
            if (fabs(v[i]) > w.vmax) w.vmax = fabs(v[i]);
        }
        cr_assert_eq(w.gpu->set_state(w.gs, m, psi), QDML_OK, "%s: set_state: %s", w.where, w.gpu->last_error(w.gs));
        cr_assert_eq(w.gpu->set_potential(w.gs, m, v), QDML_OK, "%s: set_potential: %s", w.where,
                     w.gpu->last_error(w.gs));
        cr_assert_eq(w.gpu->get_state(w.gs, m, w.b), QDML_OK);
        cr_assert_eq(w.gpu->get_potential(w.gs, m, v2), QDML_OK);
        for (int64_t i = 0; i < 2 * N; ++i)
            cr_assert(w.b[i] == (f32 ? (double)(float)psi[i] : psi[i]),
                      "%s: state round trip m%lld [%lld]: %.17g -> %.17g", w.where, (long long)m, (long long)i, psi[i],
                      w.b[i]);
        for (int64_t i = 0; i < N; ++i)
            cr_assert(v2[i] == (f32 ? (double)(float)v[i] : v[i]),
                      "%s: potential round trip m%lld [%lld]: %.17g -> %.17g", w.where, (long long)m, (long long)i,
                      v[i], v2[i]);
        /* The CPU gets what the CUDA side holds. */
        cr_assert_eq(w.cpu->set_state(w.cs, m, w.b), QDML_OK);
        cr_assert_eq(w.cpu->set_potential(w.cs, m, v2), QDML_OK);
    }

    /* set_step: real and imaginary time, random hbar, m, dt, shifts, potential_only, flush. */
    for (int64_t m = 0; m < B; ++m) {
        qdml_step_params p;
        memset(&p, 0, sizeof p);
        p.imaginary = (int)(m % 2);
        p.dt = 0.01 + 0.1 * qt_uniform(&rng);
        p.hbar = hbar[m] = 0.5 + 2.0 * qt_uniform(&rng);
        p.mass = mass[m] = 0.3 + 2.0 * qt_uniform(&rng);
        p.vshift = p.imaginary ? -3.0 : 0.0;
        p.potential_only = m % 3 == 2;
        p.flush_tiny = p.imaginary && m % 4 == 1;
        cr_assert_eq(w.cpu->set_step(w.cs, m, &p), QDML_OK);
        cr_assert_eq(w.gpu->set_step(w.gs, m, &p), QDML_OK, "%s: set_step: %s", w.where, w.gpu->last_error(w.gs));
        mask[m] = (unsigned char)(qt_uniform(&rng) < 0.6);
        want[m] = (unsigned char)(qt_uniform(&rng) < 0.5);
        sc[m] = 0.5 + qt_uniform(&rng);
    }
    mask[0] = 1;

    /* kick: half / full, all / masked, with and without norms */
    cr_assert_eq(w.cpu->kick(w.cs, 0, NULL, NULL), QDML_OK);
    cr_assert_eq(w.gpu->kick(w.gs, 0, NULL, NULL), QDML_OK, "%s: kick: %s", w.where, w.gpu->last_error(w.gs));
    walk_compare_states(&w, "kick half");
    walk_sync(&w);
    cr_assert_eq(w.cpu->kick(w.cs, 1, mask, r1), QDML_OK);
    cr_assert_eq(w.gpu->kick(w.gs, 1, mask, r2), QDML_OK, "%s: kick: %s", w.where, w.gpu->last_error(w.gs));
    walk_compare_states(&w, "kick full masked norms");
    walk_compare_sums(&w, "kick norms", r1, r2, mask);
    for (int64_t m = 0; m < B; ++m)
        if (!mask[m])
            cr_assert_eq(r2[m], 0.0, "%s: kick norm of inactive member %lld is %g", w.where, (long long)m, r2[m]);
    walk_sync(&w);
    cr_assert_eq(w.cpu->kick(w.cs, 0, NULL, r1), QDML_OK);
    cr_assert_eq(w.gpu->kick(w.gs, 0, NULL, r2), QDML_OK);
    walk_compare_states(&w, "kick half norms");
    walk_compare_sums(&w, "kick half norms", r1, r2, NULL);
    walk_sync(&w);
    cr_assert_eq(w.cpu->kick(w.cs, 1, mask, NULL), QDML_OK);
    cr_assert_eq(w.gpu->kick(w.gs, 1, mask, NULL), QDML_OK);
    walk_compare_states(&w, "kick full masked");
    walk_sync(&w);

    /* fft forward, kinetic (scales, masks), fft backward */
    cr_assert_eq(w.cpu->fft(w.cs, 1), QDML_OK);
    cr_assert_eq(w.gpu->fft(w.gs, 1), QDML_OK, "%s: fft: %s", w.where, w.gpu->last_error(w.gs));
    walk_compare_states(&w, "fft forward");
    walk_sync(&w);
    cr_assert_eq(w.cpu->kinetic(w.cs, sc, mask), QDML_OK);
    cr_assert_eq(w.gpu->kinetic(w.gs, sc, mask), QDML_OK, "%s: kinetic: %s", w.where, w.gpu->last_error(w.gs));
    walk_compare_states(&w, "kinetic masked");
    walk_sync(&w);
    cr_assert_eq(w.cpu->kinetic(w.cs, sc, NULL), QDML_OK);
    cr_assert_eq(w.gpu->kinetic(w.gs, sc, NULL), QDML_OK);
    walk_compare_states(&w, "kinetic all");
    walk_sync(&w);
    cr_assert_eq(w.cpu->fft(w.cs, 0), QDML_OK);
    cr_assert_eq(w.gpu->fft(w.gs, 0), QDML_OK);
    walk_compare_states(&w, "fft backward");
    walk_sync(&w);

    /* scale */
    cr_assert_eq(w.cpu->scale(w.cs, sc, mask), QDML_OK);
    cr_assert_eq(w.gpu->scale(w.gs, sc, mask), QDML_OK, "%s: scale: %s", w.where, w.gpu->last_error(w.gs));
    walk_compare_states(&w, "scale masked");
    walk_sync(&w);
    cr_assert_eq(w.cpu->scale(w.cs, sc, NULL), QDML_OK);
    cr_assert_eq(w.gpu->scale(w.gs, sc, NULL), QDML_OK);
    walk_compare_states(&w, "scale all");
    walk_sync(&w);

    /* moments: all fields, all members and a subset */
    cr_assert_eq(w.cpu->moments(w.cs, hbar, mass, NULL, m1), QDML_OK);
    cr_assert_eq(w.gpu->moments(w.gs, hbar, mass, NULL, m2), QDML_OK, "%s: moments: %s", w.where,
                 w.gpu->last_error(w.gs));
    walk_compare_moments(&w, "moments", m1, m2, NULL);
    walk_compare_states(&w, "state after moments");
    cr_assert_eq(w.cpu->moments(w.cs, hbar, mass, want, m1), QDML_OK);
    cr_assert_eq(w.gpu->moments(w.gs, hbar, mass, want, m2), QDML_OK);
    walk_compare_moments(&w, "moments (want)", m1, m2, want);

    /* backup save, a kick, distance (masked and all), restore (masked), save masked + restore all */
    cr_assert_eq(w.cpu->backup(w.cs, 0, NULL), QDML_OK);
    cr_assert_eq(w.gpu->backup(w.gs, 0, NULL), QDML_OK, "%s: backup: %s", w.where, w.gpu->last_error(w.gs));
    cr_assert_eq(w.cpu->kick(w.cs, 1, NULL, NULL), QDML_OK);
    cr_assert_eq(w.gpu->kick(w.gs, 1, NULL, NULL), QDML_OK);
    walk_sync(&w);
    for (int64_t m = 0; m < B; ++m)
        r1[m] = r2[m] = -5.0;
    cr_assert_eq(w.cpu->distance(w.cs, mask, r1), QDML_OK);
    cr_assert_eq(w.gpu->distance(w.gs, mask, r2), QDML_OK, "%s: distance: %s", w.where, w.gpu->last_error(w.gs));
    walk_compare_sums(&w, "distance masked", r1, r2, mask);
    for (int64_t m = 0; m < B; ++m)
        if (!mask[m]) cr_assert_eq(r2[m], -5.0, "%s: distance wrote unmasked member %lld", w.where, (long long)m);
    cr_assert_eq(w.cpu->distance(w.cs, NULL, r1), QDML_OK);
    cr_assert_eq(w.gpu->distance(w.gs, NULL, r2), QDML_OK);
    walk_compare_sums(&w, "distance", r1, r2, NULL);
    cr_assert_eq(w.cpu->backup(w.cs, 1, mask), QDML_OK);
    cr_assert_eq(w.gpu->backup(w.gs, 1, mask), QDML_OK);
    walk_compare_states(&w, "restore masked");
    walk_sync(&w);
    cr_assert_eq(w.cpu->kick(w.cs, 1, NULL, NULL), QDML_OK);
    cr_assert_eq(w.gpu->kick(w.gs, 1, NULL, NULL), QDML_OK);
    walk_sync(&w);
    cr_assert_eq(w.cpu->backup(w.cs, 0, want), QDML_OK);
    cr_assert_eq(w.gpu->backup(w.gs, 0, want), QDML_OK);
    cr_assert_eq(w.cpu->backup(w.cs, 1, NULL), QDML_OK);
    cr_assert_eq(w.gpu->backup(w.gs, 1, NULL), QDML_OK);
    walk_compare_states(&w, "save masked, restore all");

    /* Gram matrix and triangular combination (lowest states) of the first `count` members. The
     * CUDA Gram matrix is a cuBLAS gemm in the state's precision: in float32 its sums of N terms
     * round with errors up to about sqrt(N) u relative to the largest entry. */
    for (int pass = 0; pass < 2; ++pass) {
        const int64_t count = pass == 0 ? B : 1;
        const size_t cc = (size_t)(count * count);
        double *g1 = qt_calloc(2 * cc, sizeof(double)), *g2 = qt_calloc(2 * cc, sizeof(double));
        double *tm = qt_calloc(2 * cc, sizeof(double));
        cr_assert_eq(w.cpu->gram(w.cs, count, g1), QDML_OK);
        cr_assert_eq(w.gpu->gram(w.gs, count, g2), QDML_OK, "%s: gram: %s", w.where, w.gpu->last_error(w.gs));
        double gmax = 0.0, gdiff = 0.0;
        for (size_t k = 0; k < 2 * cc; ++k) {
            gmax = fmax(gmax, fabs(g1[k]));
            gdiff = fmax(gdiff, fabs(g1[k] - g2[k]));
        }
        const double gtol = prec == QDML_FLOAT32 ? OP_TOL_F32 * sqrt((double)N) : OP_TOL_F64;
        cr_assert(gdiff <= gtol * gmax, "%s: gram (count %lld): difference %.3g of %.3g > %.1g", w.where,
                  (long long)count, gdiff, gmax, gtol);
        for (int64_t i = 0; i < count; ++i)
            for (int64_t j = 0; j < count; ++j) {
                /* Random upper triangle; the lower one must be ignored by both. */
                tm[2 * (i * count + j)] = i <= j ? qt_normal(&rng) : 1e300;
                tm[2 * (i * count + j) + 1] = i <= j ? qt_normal(&rng) : -1e300;
            }
        cr_assert_eq(w.cpu->combine(w.cs, count, tm), QDML_OK);
        cr_assert_eq(w.gpu->combine(w.gs, count, tm), QDML_OK, "%s: combine: %s", w.where, w.gpu->last_error(w.gs));
        walk_compare_states(&w, "combine");
        walk_sync(&w);
        free(g1);
        free(g2);
        free(tm);
    }

    /* A non-finite state: finite 0 on both, the same NaN index (the CPU keeps the last NaN). */
    for (int64_t i = 0; i < 2 * N; ++i)
        psi[i] = qt_uniform(&rng);
    psi[2 * (N / 2)] = NAN;
    cr_assert_eq(w.cpu->set_state(w.cs, 0, psi), QDML_OK);
    cr_assert_eq(w.gpu->set_state(w.gs, 0, psi), QDML_OK);
    cr_assert_eq(w.cpu->moments(w.cs, hbar, mass, NULL, m1), QDML_OK);
    cr_assert_eq(w.gpu->moments(w.gs, hbar, mass, NULL, m2), QDML_OK);
    cr_assert(m1[0].finite == 0 && m2[0].finite == 0, "%s: NaN state: finite cpu %d cuda %d", w.where, m1[0].finite,
              m2[0].finite);
    cr_assert(m2[0].imax == m1[0].imax && m2[0].rmax != m2[0].rmax, "%s: NaN argmax cpu %lld cuda %lld (%g)", w.where,
              (long long)m1[0].imax, (long long)m2[0].imax, m2[0].rmax);

    cr_assert_str_eq(w.gpu->last_error(w.gs), "", "%s: an op left a message: %s", w.where, w.gpu->last_error(w.gs));
    w.cpu->destroy(w.cs);
    w.gpu->destroy(w.gs);
    free(w.a);
    free(w.b);
    free(psi);
    free(v);
    free(v2);
    free(hbar);
    free(mass);
    free(sc);
    free(r1);
    free(r2);
    free(mask);
    free(want);
    free(m1);
    free(m2);
}

static void walk_all(qdml_precision prec) {
    static const int64_t shapes[][4] = {
        {1, 1, 1, 3}, {1, 1, 64, 3}, {1, 1, 1000, 2}, {1, 1, 4096, 1}, {1, 24, 20, 2},  {1, 33, 31, 3},   {6, 5, 7, 2},
        {8, 8, 8, 4}, {9, 1, 13, 2}, {1, 1, 2, 40},   {16, 16, 16, 1}, {1, 1, 300, 60}, {1, 128, 128, 2}, {3, 1, 1, 7},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; ++k)
        walk_case(prec, shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3], 1000 + k);
}

/* fill_objective: every kind on every grid dimension the shape allows (a shape with n0 = 1 is also a
 * 2D grid, and so on), with the defaults and with every parameter moved by up to 5%, against the
 * CPU backend: values within tol of the largest |V| (the GPU's exp, cos, ... and its fused
 * multiply-adds differ from the host's in the last bits; float32 rounds each value once), min and
 * max likewise, no bad index. Then a harmonic stiffness of 1e308 (float64) or 1e39 (float32) on the
 * last axis, centred on its lower edge, which overflows the storage type from some point of each
 * row on: the same first bad index as the CPU's values give, and the member's potential kept. */
static void fill_case(qdml_precision prec, int64_t n0, int64_t n1, int64_t n2, int64_t B, uint64_t seed) {
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    const int64_t n[3] = {n0, n1, n2};
    const double lo[3] = {-2.5, 0.5, -4.0}, len[3] = {5.0, 3.0, 8.0};
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    for (int a = 0; a < 3; ++a) {
        d.n[a] = n[a];
        d.lo[a] = lo[a];
        d.length[a] = len[a];
    }
    d.npoints = n0 * n1 * n2;
    d.batch = B;
    d.dv = 1.0;
    d.nthreads = 1;
    d.effort = QDML_FFT_ESTIMATE;
    d.precision = QDML_FLOAT64;
    qdml_backend_desc dg = d;
    dg.precision = prec;
    const qdml_backend_ops *cpu = &qdml_backend_cpu_ops, *gpu = &qdml_backend_cuda_ops;
    qdml_backend_state *cs = NULL, *gs = NULL;
    char err[512] = "";
    cr_assert_eq(cpu->create(&d, &cs, err, sizeof err), QDML_OK, "cpu create: %s", err);
    cr_assert_eq(gpu->create(&dg, &gs, err, sizeof err), QDML_OK, "cuda create: %s", err);
    const int64_t N = d.npoints;
    const int f32 = prec == QDML_FLOAT32;
    const double tol = f32 ? OP_TOL_F32 : OP_TOL_F64;
    double *a = qt_calloc((size_t)N, sizeof(double)), *b = qt_calloc((size_t)N, sizeof(double));
    double *keep = qt_calloc((size_t)N, sizeof(double));
    const int dim_min = n0 > 1 ? 3 : n1 > 1 ? 2 : 1;
    for (int dim = dim_min; dim <= 3; ++dim)
        for (int kind = 0; kind < QDML_OBJECTIVE_COUNT; ++kind)
            for (int pass = 0; pass < 2; ++pass) {
                qdml_objective o;
                if (qdml_objective_default((qdml_objective_kind)kind, dim, &o) != QDML_OK) continue;
                if (pass == 1)
                    for (int k = 0; k < QDML_OBJECTIVE_MAX_PARAMS; ++k)
                        o.p[k] *= 1.0 + 0.1 * (qt_uniform(&rng) - 0.5);
                if (qdml_objective_validate(&o, dim) != QDML_OK) continue;
                const char *name = qdml_objective_name((qdml_objective_kind)kind);
                const int64_t m = (int64_t)(qt_uniform(&rng) * (double)B);
                qdml_fill_result r1, r2;
                cr_assert_eq(cpu->fill_objective(cs, m, &o, dim, &r1), QDML_OK);
                cr_assert_eq(gpu->fill_objective(gs, m, &o, dim, &r2), QDML_OK, "%s %dD: fill_objective: %s", name, dim,
                             gpu->last_error(gs));
                cr_assert_eq(cpu->get_potential(cs, m, a), QDML_OK);
                cr_assert_eq(gpu->get_potential(gs, m, b), QDML_OK);
                double scale = 0.0, diff = 0.0;
                for (int64_t i = 0; i < N; ++i) {
                    scale = fmax(scale, fabs(a[i]));
                    diff = fmax(diff, fabs(a[i] - b[i]));
                }
                cr_assert(diff <= tol * scale, "%s %s %dD (%lldx%lldx%lld): values differ by %.3g of %.3g > %.1g",
                          prec_name(prec), name, dim, (long long)n0, (long long)n1, (long long)n2, diff, scale, tol);
                cr_assert(fabs(r1.vmin - r2.vmin) <= tol * scale && fabs(r1.vmax - r2.vmax) <= tol * scale,
                          "%s %s %dD: min/max cpu (%.17g, %.17g) cuda (%.17g, %.17g)", prec_name(prec), name, dim,
                          r1.vmin, r1.vmax, r2.vmin, r2.vmax);
                cr_assert(r1.first_bad == -1 && r2.first_bad == -1, "%s %s %dD: bad index cpu %lld cuda %lld",
                          prec_name(prec), name, dim, (long long)r1.first_bad, (long long)r2.first_bad);
            }
    for (int dim = dim_min; dim <= 3; ++dim) {
        qdml_objective o;
        cr_assert_eq(qdml_objective_default(QDML_OBJECTIVE_HARMONIC, dim, &o), QDML_OK);
        o.p[dim - 1] = f32 ? 1e39 : 1e308;
        o.p[3 + dim - 1] = lo[2];
        const int64_t m = B - 1;
        cr_assert_eq(gpu->get_potential(gs, m, keep), QDML_OK);
        qdml_fill_result r1, r2;
        cr_assert_eq(cpu->fill_objective(cs, m, &o, dim, &r1), QDML_OK);
        cr_assert_eq(gpu->fill_objective(gs, m, &o, dim, &r2), QDML_OK, "overflow: %s", gpu->last_error(gs));
        int64_t want = r1.first_bad;
        if (want < 0) { /* float32: the CPU's double values that do not fit a float */
            cr_assert_eq(cpu->get_potential(cs, m, a), QDML_OK);
            for (int64_t i = 0; i < N && want < 0; ++i)
                if (!isfinite(f32 ? (double)(float)a[i] : a[i])) want = i;
        }
        cr_assert_eq(r2.first_bad, want, "%s overflow %dD: first bad cuda %lld, cpu %lld", prec_name(prec), dim,
                     (long long)r2.first_bad, (long long)want);
        cr_assert(n2 < 2 || want > 0, "overflow %dD: no overflow inside the first row (%lld)", dim, (long long)want);
        cr_assert_eq(gpu->get_potential(gs, m, b), QDML_OK);
        cr_assert(memcmp(keep, b, (size_t)N * sizeof(double)) == 0, "%s overflow %dD: the refused fill changed V",
                  prec_name(prec), dim);
    }
    cr_assert_str_eq(gpu->last_error(gs), "", "fill_objective left a message: %s", gpu->last_error(gs));
    cpu->destroy(cs);
    gpu->destroy(gs);
    free(a);
    free(b);
    free(keep);
}

static void fill_all(qdml_precision prec) {
    static const int64_t shapes[][4] = {{1, 1, 1, 2}, {1, 1, 1000, 2}, {1, 24, 20, 3},
                                        {6, 5, 7, 2}, {9, 1, 13, 2},   {1, 128, 128, 1}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; ++k)
        fill_case(prec, shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3], 2000 + k);
}

/* The steps op's n steps issued as single ops, scales on the host as the solver computes them
 * (host/solver.c, advance, m = 1) and stop as backend.h defines it; unlike the solver it goes on
 * past a bad norm (members never mix), so every member's state can be compared. */
static void single_op_steps(const qdml_backend_ops *o, qdml_backend_state *st, int64_t B, int64_t n,
                            const unsigned char *mask, int renorm, double dv, int64_t *stop) {
    double *norms = qt_calloc((size_t)B, sizeof(double)), *sc = qt_calloc((size_t)B, sizeof(double));
    for (int64_t b = 0; b < B; ++b) {
        sc[b] = 1.0;
        stop[b] = -1;
    }
    for (int64_t i = 0; i <= n; ++i) {
        if (i > 0) {
            cr_assert_eq(o->fft(st, 1), QDML_OK, "%s fft: %s", o->name, o->last_error(st));
            cr_assert_eq(o->kinetic(st, sc, mask), QDML_OK, "%s kinetic: %s", o->name, o->last_error(st));
            cr_assert_eq(o->fft(st, 0), QDML_OK, "%s fft: %s", o->name, o->last_error(st));
        }
        const int full = i > 0 && i < n;
        cr_assert_eq(o->kick(st, full, mask, renorm ? norms : NULL), QDML_OK, "%s kick: %s", o->name,
                     o->last_error(st));
        for (int64_t b = 0; renorm && b < B; ++b) {
            if (mask && !mask[b]) continue;
            if (!(isfinite(norms[b]) && norms[b] > 0) && stop[b] < 0) stop[b] = i;
            sc[b] = 1.0 / sqrt(norms[b] * dv);
        }
    }
    if (renorm) cr_assert_eq(o->scale(st, sc, mask), QDML_OK, "%s scale: %s", o->name, o->last_error(st));
    free(norms);
    free(sc);
}

/* Members of steps_case with a bad norm after the second substep, in float64 (at least one must
 * occur, or the substep count of replayed steps goes untested). */
static int late_stops;

/* The steps op on a device, with CUDA graphs required (QDML_CUDA_GRAPHS=1: a step that cannot be
 * captured fails the op) and without them (0), against the same steps as single ops on the device:
 * states bit for bit (the same kernels, and scales that are the same correctly rounded expression of
 * the same sums) and the same stops; in float64 also against the CPU backend's single ops, within
 * 1e-12 of each member's largest amplitude, for members whose state stays finite. Imaginary time
 * with random steps, masks and flush flags. Member 1 starts at zero (stop 0 with renormalisation).
 * With renormalisation, member 2 has a negative step whose kinetic factor overflows (stop 1 where
 * the grid's wavenumbers are large enough), and member 3 (potential only) a factor of e^360 at one
 * point whose start value is 1e-300: renormalised, that point grows by e^360 relative to the rest
 * each step until its norm overflows, two or three substeps in, on a step replayed from a graph
 * when n >= 4 (float64; in float32 the factor itself overflows: stop 0). The second call changes the
 * mask, dv and the flush flags, so other graphs are captured. A composition (m = 3) is declined:
 * done = 0 and the state untouched. */
static void steps_case(qdml_precision prec, int64_t n0, int64_t n1, int64_t n2, int64_t B, int64_t nsteps, int renorm,
                       uint64_t seed) {
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    qdml_backend_desc d = case_desc(n0, n1, n2, B, 0.37);
    qdml_backend_desc dg = d;
    dg.precision = prec;
    const qdml_backend_ops *cpu = &qdml_backend_cpu_ops, *gpu = &qdml_backend_cuda_ops;
    char where[128], err[512] = "";
    snprintf(where, sizeof where, "%s %lldx%lldx%lld B=%lld n=%lld renorm=%d", prec_name(prec), (long long)n0,
             (long long)n1, (long long)n2, (long long)B, (long long)nsteps, renorm);
    qdml_backend_state *cs = NULL, *gs[3] = {NULL, NULL, NULL}; /* steps op with graphs, without, single ops */
    cr_assert_eq(cpu->create(&d, &cs, err, sizeof err), QDML_OK, "cpu create: %s", err);
    for (int k = 0; k < 3; ++k) {
        if (k < 2) cr_assert_eq(setenv("QDML_CUDA_GRAPHS", k == 0 ? "1" : "0", 1), 0);
        cr_assert_eq(gpu->create(&dg, &gs[k], err, sizeof err), QDML_OK, "%s: cuda create: %s", where, err);
        cr_assert_eq(unsetenv("QDML_CUDA_GRAPHS"), 0);
    }
    const int64_t N = d.npoints;
    double *psi = qt_calloc((size_t)(2 * N), sizeof(double)), *v = qt_calloc((size_t)N, sizeof(double));
    double *a = qt_calloc((size_t)(2 * N), sizeof(double)), *c = qt_calloc((size_t)(2 * N), sizeof(double));
    int64_t *stop[4];
    for (int k = 0; k < 4; ++k)
        stop[k] = qt_calloc((size_t)B, sizeof(int64_t));
    unsigned char *mask = qt_calloc((size_t)B, 1);
    qdml_step_params *pp = qt_calloc((size_t)B, sizeof(qdml_step_params));
    for (int64_t b = 0; b < B; ++b) {
        const int overflow = renorm && b == 2, grows = renorm && b == 3;
        for (int64_t i = 0; i < 2 * N; ++i)
            psi[i] = b == 1 ? 0.0 : grows ? (i % 2 ? 0.0 : 1.0) : 2.0 * qt_uniform(&rng) - 1.0;
        for (int64_t i = 0; i < N; ++i)
            v[i] = grows ? 0.0 : 6.0 * qt_uniform(&rng) - 3.0;
        if (grows) {
            psi[2 * (N / 2)] = 1e-300;
            v[N / 2] = -360.0;
        }
        qdml_step_params *p = &pp[b];
        p->imaginary = 1;
        p->dt = overflow ? -50.0 : grows ? 1.0 : 0.01 + 0.1 * qt_uniform(&rng);
        p->hbar = grows ? 1.0 : 0.5 + 2.0 * qt_uniform(&rng); /* grows: factors e^180 (half), e^360 */
        p->mass = 0.3 + 2.0 * qt_uniform(&rng);
        p->vshift = overflow ? 3.0 : grows ? 0.0 : -3.0; /* dt < 0: potential factors <= 1 */
        p->potential_only = grows;
        p->flush_tiny = b % 4 == 1;
        for (int k = 0; k < 3; ++k) {
            cr_assert_eq(gpu->set_state(gs[k], b, psi), QDML_OK, "%s: %s", where, gpu->last_error(gs[k]));
            cr_assert_eq(gpu->set_potential(gs[k], b, v), QDML_OK, "%s: %s", where, gpu->last_error(gs[k]));
            cr_assert_eq(gpu->set_step(gs[k], b, p), QDML_OK, "%s: %s", where, gpu->last_error(gs[k]));
        }
        /* the CPU gets what the device holds */
        cr_assert_eq(gpu->get_state(gs[0], b, a), QDML_OK);
        cr_assert_eq(gpu->get_potential(gs[0], b, v), QDML_OK);
        cr_assert_eq(cpu->set_state(cs, b, a), QDML_OK);
        cr_assert_eq(cpu->set_potential(cs, b, v), QDML_OK);
        cr_assert_eq(cpu->set_step(cs, b, p), QDML_OK);
        mask[b] = (unsigned char)(b < 4 || qt_uniform(&rng) < 0.6);
    }
    const unsigned char *m = B > 4 ? mask : NULL;
    const unsigned char sub1[1] = {0}, sub3[3] = {0, 1, 0};
    double dv = d.dv;
    for (int call = 0; call < 2; ++call) {
        if (call == 1) { /* other graphs: another mask, dv, and no member flushing */
            if (B > 4) mask[B - 1] = (unsigned char)!mask[B - 1];
            dv = 0.41;
            for (int64_t b = 0; b < B; ++b) {
                pp[b].flush_tiny = 0;
                for (int k = 0; k < 3; ++k)
                    cr_assert_eq(gpu->set_step(gs[k], b, &pp[b]), QDML_OK, "%s: %s", where, gpu->last_error(gs[k]));
                cr_assert_eq(cpu->set_step(cs, b, &pp[b]), QDML_OK);
            }
        }
        for (int k = 0; k < 2; ++k) {
            int done = -1;
            cr_assert_eq(gpu->steps(gs[k], nsteps, 1, sub1, m, renorm, dv, stop[k], &done), QDML_OK, "%s: steps: %s",
                         where, gpu->last_error(gs[k]));
            cr_assert_eq(done, 1, "%s: the steps op declined a Strang step", where);
        }
        single_op_steps(gpu, gs[2], B, nsteps, m, renorm, dv, stop[2]);
        single_op_steps(cpu, cs, B, nsteps, m, renorm, dv, stop[3]);
        for (int64_t b = 0; b < B; ++b) {
            const int on = !m || m[b];
            for (int k = 0; k < 4; ++k) {
                if (k == 3 && prec == QDML_FLOAT32) continue; /* float overflows earlier than double */
                cr_assert_eq(stop[k][b], stop[2][b],
                             "%s call %d: member %lld: stop %lld (%s) against %lld (single ops)", where, call,
                             (long long)b, (long long)stop[k][b],
                             k == 0 ? "steps" : k == 1 ? "steps, no graphs" : "cpu", (long long)stop[2][b]);
            }
            if (renorm && b == 1 && on)
                cr_assert_eq(stop[0][b], 0, "%s: the zero member's stop is %lld", where, (long long)stop[0][b]);
            if (prec == QDML_FLOAT64 && stop[0][b] >= 2) ++late_stops;
            cr_assert_eq(gpu->get_state(gs[2], b, c), QDML_OK);
            for (int k = 0; k < 2; ++k) {
                cr_assert_eq(gpu->get_state(gs[k], b, a), QDML_OK);
                for (int64_t i = 0; i < 2 * N; ++i)
                    cr_assert(a[i] == c[i] || (a[i] != a[i] && c[i] != c[i]),
                              "%s call %d: member %lld value %lld: steps op%s %.17g, single ops %.17g", where, call,
                              (long long)b, (long long)i, k ? " without graphs" : "", a[i], c[i]);
            }
            int finite = 1;
            for (int64_t i = 0; i < 2 * N; ++i)
                finite = finite && isfinite(c[i]);
            if (prec == QDML_FLOAT32 || stop[2][b] >= 0 || !finite) continue;
            cr_assert_eq(cpu->get_state(cs, b, a), QDML_OK);
            const double diff = qt_rel_diff(a, c, 2 * N);
            cr_assert(diff <= OP_TOL_F64, "%s call %d: member %lld: cpu and cuda differ by %.3g", where, call,
                      (long long)b, diff);
        }
    }
    /* A composition: declined, nothing done. */
    int done = -1;
    cr_assert_eq(gpu->get_state(gs[0], 0, c), QDML_OK);
    cr_assert_eq(gpu->steps(gs[0], nsteps, 3, sub3, m, renorm, dv, stop[0], &done), QDML_OK);
    cr_assert_eq(done, 0, "%s: the steps op took a composition with one table set", where);
    cr_assert_eq(gpu->get_state(gs[0], 0, a), QDML_OK);
    cr_assert(memcmp(a, c, (size_t)(2 * N) * sizeof(double)) == 0, "%s: a declined call changed the state", where);
    cr_assert_str_eq(gpu->last_error(gs[0]), "", "%s: an op left a message: %s", where, gpu->last_error(gs[0]));
    cpu->destroy(cs);
    for (int k = 0; k < 3; ++k)
        gpu->destroy(gs[k]);
    for (int k = 0; k < 4; ++k)
        free(stop[k]);
    free(psi);
    free(v);
    free(a);
    free(c);
    free(mask);
    free(pp);
}

static void steps_all(qdml_precision prec) {
    static const int64_t shapes[][4] = {{1, 1, 1, 2}, {1, 1, 64, 4}, {1, 24, 20, 5}, {8, 8, 8, 4}, {1, 128, 128, 6}};
    static const int64_t counts[] = {1, 2, 7};
    uint64_t seed = 3000;
    late_stops = 0;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; ++k)
        for (size_t j = 0; j < sizeof counts / sizeof counts[0]; ++j)
            for (int renorm = 0; renorm < 2; ++renorm)
                steps_case(prec, shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3], counts[j], renorm, seed++);
    if (prec == QDML_FLOAT64)
        cr_assert(late_stops > 0, "no member met a bad norm after its second substep: the substep count of replayed "
                                  "steps went untested");
}
#endif /* QDML_TEST_HAVE_CUDA_BACKEND */

static void require_op_walk(void) {
    REQUIRE_CUDA_DEVICE();
#ifndef QDML_TEST_HAVE_CUDA_BACKEND
    cr_skip_test("%s", "the op walk needs the CUDA ops table: this test build does not define "
                       "QDML_TEST_HAVE_CUDA_BACKEND (tests/CMakeLists.txt sets it when the CUDA backend is built)");
#endif
}

Test(cuda_ops, every_op_float64_within_1e_12) {
    require_op_walk();
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    walk_all(QDML_FLOAT64);
#endif
}

Test(cuda_ops, every_op_float32_within_1e_5) {
    require_op_walk();
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    walk_all(QDML_FLOAT32);
#endif
}

Test(cuda_ops, fill_objective_float64_within_1e_12) {
    require_op_walk();
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    fill_all(QDML_FLOAT64);
#endif
}

Test(cuda_ops, fill_objective_float32_within_1e_5) {
    require_op_walk();
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    fill_all(QDML_FLOAT32);
#endif
}

Test(cuda_ops, steps_op_float64_matches_the_single_ops) {
    require_op_walk();
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    steps_all(QDML_FLOAT64);
#endif
}

Test(cuda_ops, steps_op_float32_matches_the_single_ops) {
    require_op_walk();
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    steps_all(QDML_FLOAT32);
#endif
}

/* A value of QDML_CUDA_GRAPHS other than 0 or 1 is refused at create, with the variable named. */
Test(cuda_ops, graphs_setting_is_checked) {
    require_op_walk();
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    d.n[0] = d.n[1] = 1;
    d.n[2] = 16;
    d.length[0] = d.length[1] = 1.0;
    d.length[2] = 4.0;
    d.npoints = 16;
    d.batch = 1;
    d.dv = 0.25;
    d.nthreads = 1;
    d.effort = QDML_FFT_ESTIMATE;
    char err[512] = "";
    qdml_backend_state *gs = NULL;
    cr_assert_eq(setenv("QDML_CUDA_GRAPHS", "yes", 1), 0);
    const qdml_status st = qdml_backend_cuda_ops.create(&d, &gs, err, sizeof err);
    cr_assert_eq(st, QDML_ERR_INVALID_ARGUMENT, "create with QDML_CUDA_GRAPHS=yes: %d (%s)", (int)st, err);
    cr_assert(strstr(err, "QDML_CUDA_GRAPHS") && strstr(err, "'yes'"), "message: %s", err);
    cr_assert_eq(setenv("QDML_CUDA_GRAPHS", "1", 1), 0);
    cr_assert_eq(qdml_backend_cuda_ops.create(&d, &gs, err, sizeof err), QDML_OK, "%s", err);
    qdml_backend_cuda_ops.destroy(gs);
#endif
}

/* Runs without a device where the CUDA backend is compiled in: the sizes it reports, and a clean
 * refusal to create. */
/* cuBLAS is loaded on first use (the lowest-states search), not linked: the loader must find the
 * library and every function it needs. Needs no device. */
Test(cuda_ops, cublas_is_loaded_on_first_use) {
#ifndef QDML_TEST_HAVE_CUDA_BACKEND
    cr_skip_test("this build has no CUDA backend");
#else
    char err[1024];
    cr_assert_eq(qdml_cuda_blas_load(err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(err, "");
    cr_assert_eq(qdml_cuda_blas_load(NULL, 0), 0, "a second call gives the first outcome");
#endif
}

Test(cuda_ops, bytes_needed_without_a_device_and_create_refuses) {
#ifndef QDML_TEST_HAVE_CUDA_BACKEND
    cr_skip_test("%s", "the CUDA backend is not part of this test build (QDML_TEST_HAVE_CUDA_BACKEND undefined)");
#else
    if (qdml_backend_available(QDML_BACKEND_CUDA))
        cr_skip_test("%s", "a CUDA device is present: cuda_memory covers the sizes on the device");
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    d.n[0] = 1;
    d.n[1] = 64;
    d.n[2] = 96;
    d.lo[1] = d.lo[2] = -1.0;
    d.length[0] = 1.0;
    d.length[1] = d.length[2] = 2.0;
    d.npoints = 64 * 96;
    d.batch = 5;
    d.dv = 1.0;
    d.nthreads = 1;
    d.effort = QDML_FFT_ESTIMATE;
    size_t b64 = 0, b32 = 0;
    d.precision = QDML_FLOAT64;
    cr_assert_eq(qdml_backend_cuda_ops.bytes_needed(&d, &b64), QDML_OK);
    d.precision = QDML_FLOAT32;
    cr_assert_eq(qdml_backend_cuda_ops.bytes_needed(&d, &b32), QDML_OK);
    const size_t total = (size_t)(d.npoints * d.batch);
    /* float64: 5 complex buffers + V + the estimated cuFFT work area (one complex buffer) = 104 bytes
     * per point; float32 half of it: 52. The tables and scratch are small. */
    cr_assert(b64 >= 104 * total && b64 < 104 * total + (1u << 20), "float64 bytes %zu for %zu points", b64, total);
    cr_assert(b32 >= 52 * total && b32 < 52 * total + (1u << 20), "float32 bytes %zu for %zu points", b32, total);
    cr_assert(b64 - b32 >= 52 * total, "float64 %zu - float32 %zu < 52 x %zu", b64, b32, total);
    d.precision = (qdml_precision)7;
    cr_assert_eq(qdml_backend_cuda_ops.bytes_needed(&d, &b32), QDML_ERR_INVALID_ARGUMENT);
    d.precision = QDML_FLOAT32;
    qdml_backend_state *s = NULL;
    char err[512] = "";
    cr_assert_eq(qdml_backend_cuda_ops.create(&d, &s, err, sizeof err), QDML_ERR_UNAVAILABLE);
    cr_assert_null(s);
    cr_assert(strstr(err, "no CUDA device") != NULL, "create without a device: \"%s\"", err);
#endif
}
