/* The op cases' harness: the grids and seeds a case runs on, the two backends and their random
 * inputs, and the comparisons that fail with the case, precision, grid, seed and the numbers seen.
 */
#include "op_harness.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* n0, n1, n2, B: 1D, 2D and 3D grids (leading 1s pad), batches, sizes that are not powers of two
 * (odd, prime), one point, two points. */
static const int64_t grids_all[][4] = {
    {1, 1, 1, 3},     {1, 1, 64, 3}, {1, 1, 1000, 2}, {1, 1, 4096, 1}, {1, 24, 20, 2},  {1, 33, 31, 3},
    {6, 5, 7, 2},     {8, 8, 8, 4},  {9, 1, 13, 2},   {1, 1, 2, 40},   {16, 16, 16, 1}, {1, 1, 300, 60},
    {1, 128, 128, 2}, {3, 1, 1, 7},  {1, 1, 127, 5},  {1, 45, 51, 3},  {31, 33, 35, 2},
};
/* fill_objective: a grid with n0 = 1 is also filled as a 2D grid, and so on. */
static const int64_t grids_fill[][4] = {{1, 1, 1, 2},  {1, 1, 1000, 2},  {1, 24, 20, 3}, {6, 5, 7, 2},
                                        {9, 1, 13, 2}, {1, 128, 128, 1}, {1, 45, 51, 2}, {31, 33, 35, 1}};
/* steps: B >= 4 brings the renormalised case's zero, overflowing and growing members, B > 4 a mask. */
static const int64_t grids_steps[][4] = {{1, 1, 1, 2},     {1, 1, 64, 4},  {1, 24, 20, 5}, {8, 8, 8, 4},
                                         {1, 128, 128, 6}, {1, 45, 51, 5}, {31, 33, 35, 4}};

/* Members larger than the CUDA backend's 8 MiB staging chunk in both precisions (10 MiB of float32
 * state, 20 MiB of float64), and more elements than the flat kernels' grid covers in one pass on any
 * device (2.6 million: the grid-stride loops wrap). */
static const int64_t grids_large[][4] = {{1, 1024, 1280, 2}};

static const int64_t (*grid_list(op_grids g, size_t *count))[4] {
    switch (g) {
    case OP_GRIDS_LARGE: *count = sizeof grids_large / sizeof grids_large[0]; return grids_large;
    case OP_GRIDS_FILL: *count = sizeof grids_fill / sizeof grids_fill[0]; return grids_fill;
    case OP_GRIDS_STEPS: *count = sizeof grids_steps / sizeof grids_steps[0]; return grids_steps;
    case OP_GRIDS_ALL: break;
    }
    *count = sizeof grids_all / sizeof grids_all[0];
    return grids_all;
}

static void env_begin(op_env *e, const int64_t *g, uint64_t seed) {
    for (int a = 0; a < 3; ++a)
        e->n[a] = g[a];
    e->N = g[0] * g[1] * g[2];
    e->B = g[3];
    e->seed = seed;
    qt_rng_seed(&e->rng, seed);
    e->vmax = e->xmax = e->k2max = 0.0;
    snprintf(e->where, sizeof e->where, "case %s (%s) on %s, %s (bound %.3g), grid %lldx%lldx%lld B=%lld, seed %llu",
             e->c->name, e->c->op, e->tested->name, op_prec_name(e->prec), e->tol, (long long)g[0], (long long)g[1],
             (long long)g[2], (long long)g[3], (unsigned long long)seed);
    e->detail[0] = '\0';
    const size_t N = (size_t)e->N, B = (size_t)e->B;
    e->a = qt_calloc(2 * N, sizeof(double));
    e->b = qt_calloc(2 * N, sizeof(double));
    e->hbar = qt_calloc(B, sizeof(double));
    e->mass = qt_calloc(B, sizeof(double));
    e->scale = qt_calloc(B, sizeof(double));
    e->r1 = qt_calloc(B, sizeof(double));
    e->r2 = qt_calloc(B, sizeof(double));
    e->mask = qt_calloc(B, 1);
    e->want = qt_calloc(B, 1);
    e->m1 = qt_calloc(B, sizeof(qdml_moments));
    e->m2 = qt_calloc(B, sizeof(qdml_moments));
}

static void env_end(op_env *e) {
    if (e->ref) e->ref_ops->destroy(e->ref);
    if (e->st) e->ops->destroy(e->st);
    e->ref = e->st = NULL;
    free(e->a);
    free(e->b);
    free(e->hbar);
    free(e->mass);
    free(e->scale);
    free(e->r1);
    free(e->r2);
    free(e->mask);
    free(e->want);
    free(e->m1);
    free(e->m2);
}

void op_case_run(const op_case *c, const op_backend *tested, qdml_precision prec) {
    size_t count = 0;
    const int64_t(*grids)[4] = grid_list(c->grids, &count);
    op_env e;
    memset(&e, 0, sizeof e);
    e.c = c;
    e.tested = tested;
    e.ref_ops = &qdml_backend_cpu_ops;
    e.ops = tested->ops;
    e.prec = prec;
    e.tol = prec == QDML_FLOAT32 ? c->bound_f32 : c->bound_f64;
    /* QDML_OP_QUICK=1 (scripts/gpu-check, under compute-sanitizer, where every launch is slow): every
     * third grid and the last, one seed, no after_all check (it counts over the whole list). */
    const char *qv = getenv("QDML_OP_QUICK");
    const int quick = qv && strcmp(qv, "1") == 0;
    /* The large grid (2.6 million points per case) takes one seed: it is there for the sizes, and one
     * seed already draws millions of random values (the self-check spent 3 s of CPU time on two). */
    const int seeds = quick || c->grids == OP_GRIDS_LARGE ? 1 : OP_SEEDS;
    for (size_t k = 0; k < count; ++k)
        for (int j = 0; j < seeds; ++j) {
            if (quick && k % 3 != 0 && k + 1 != count) continue;
            env_begin(&e, grids[k], 1000 + 100 * (uint64_t)k + (uint64_t)j);
            qdml_clear_error(NULL); /* ops that succeed leave the thread's message slot as they found it */
            c->run(&e);
            cr_assert_str_eq(qdml_last_error_message(), "", "%s: an op that succeeded left a message: %s", e.where,
                             qdml_last_error_message());
            env_end(&e);
        }
    if (c->after_all && !quick) c->after_all(&e);
}

void op_ok(const op_env *e, qdml_status st, const char *call, int reference, const qdml_backend_state *s) {
    if (st == QDML_OK) return;
    (void)s;
    cr_assert_fail("%s%s: %s on the %s backend returned %s: %s", e->where, e->detail, call,
                   reference ? "reference" : e->tested->name, qdml_status_string(st), qdml_last_error_message());
}

qdml_backend_desc op_desc(const op_env *e, double dv, int boxed_padding) {
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    const double lo[3] = {-2.5, 0.5, -4.0}, len[3] = {5.0, 3.0, 8.0};
    for (int a = 0; a < 3; ++a) {
        const int box = e->n[a] > 1 || boxed_padding;
        d.n[a] = e->n[a];
        d.lo[a] = box ? lo[a] : 0.0;
        d.length[a] = box ? len[a] : 1.0;
    }
    d.npoints = e->N;
    d.batch = e->B;
    d.dv = dv;
    d.nthreads = 1;
    d.effort = QDML_FFT_ESTIMATE;
    d.precision = QDML_FLOAT64;
    return d;
}

qdml_backend_state *op_new_ref(op_env *e, const qdml_backend_desc *d) {
    qdml_backend_desc dr = *d;
    dr.precision = QDML_FLOAT64;
    qdml_backend_state *s = NULL;
    const qdml_status st = e->ref_ops->create(&dr, &s);
    cr_assert_eq(st, QDML_OK, "%s: reference create returned %s: %s", e->where, qdml_status_string(st),
                 qdml_last_error_message());
    return s;
}

qdml_backend_state *op_new_tested(op_env *e, const qdml_backend_desc *d) {
    qdml_backend_desc dt = *d;
    dt.precision = e->prec;
    qdml_backend_state *s = NULL;
    const qdml_status st = e->ops->create(&dt, &s);
    cr_assert_eq(st, QDML_OK, "%s: %s create returned %s: %s", e->where, e->tested->name, qdml_status_string(st),
                 qdml_last_error_message());
    return s;
}

void op_create(op_env *e, const qdml_backend_desc *d) {
    for (int a = 0; a < 3; ++a) {
        const double far = fmax(fabs(d->lo[a]), fabs(d->lo[a] + d->length[a]));
        if (far > e->xmax) e->xmax = far;
        const double kmax = QT_PI * (double)d->n[a] / d->length[a];
        if (d->n[a] > 1) e->k2max += kmax * kmax;
    }
    e->ref = op_new_ref(e, d);
    e->st = op_new_tested(e, d);
}

void op_start(op_env *e) {
    const qdml_backend_desc d = op_desc(e, 1.0, 0);
    op_create(e, &d);
    const int64_t N = e->N, B = e->B;
    double *psi = qt_calloc((size_t)(2 * N), sizeof(double)), *v = qt_calloc((size_t)N, sizeof(double));
    for (int64_t m = 0; m < B; ++m) {
        for (int64_t i = 0; i < 2 * N; ++i)
            psi[i] = 2.0 * qt_uniform(&e->rng) - 1.0;
        if (N > 4) psi[2] = 3e-201; /* a tiny amplitude for the flush */
        for (int64_t i = 0; i < N; ++i) {
            v[i] = 6.0 * qt_uniform(&e->rng) - 3.0;
            if (fabs(v[i]) > e->vmax) e->vmax = fabs(v[i]);
        }
        OP_TESTED(e, set_state, m, psi);
        OP_TESTED(e, set_potential, m, v);
        /* The reference gets what the tested backend holds (float32: the values rounded). */
        OP_TESTED(e, get_state, m, psi);
        OP_TESTED(e, get_potential, m, v);
        OP_REF(e, set_state, m, psi);
        OP_REF(e, set_potential, m, v);
    }
    for (int64_t m = 0; m < B; ++m) {
        qdml_step_params p;
        memset(&p, 0, sizeof p);
        p.imaginary = (int)(m % 2);
        p.dt = 0.01 + 0.1 * qt_uniform(&e->rng);
        p.hbar = e->hbar[m] = 0.5 + 2.0 * qt_uniform(&e->rng);
        p.mass = e->mass[m] = 0.3 + 2.0 * qt_uniform(&e->rng);
        p.vshift = p.imaginary ? -3.0 : 0.0;
        p.potential_only = m % 3 == 2;
        p.flush_tiny = p.imaginary && m % 4 == 1;
        OP_BOTH(e, set_step, m, &p);
        e->mask[m] = (unsigned char)(qt_uniform(&e->rng) < 0.6);
        e->want[m] = (unsigned char)(qt_uniform(&e->rng) < 0.5);
        e->scale[m] = 0.5 + qt_uniform(&e->rng);
    }
    e->mask[0] = 1;
    free(psi);
    free(v);
}

void op_sync(op_env *e) {
    for (int64_t m = 0; m < e->B; ++m) {
        OP_TESTED(e, get_state, m, e->a);
        OP_REF(e, set_state, m, e->a);
    }
}

void op_expect_states(op_env *e, const char *what) {
    const int64_t n = 2 * e->N;
    for (int64_t m = 0; m < e->B; ++m) {
        OP_REF(e, get_state, m, e->a);
        OP_TESTED(e, get_state, m, e->b);
        const double d = qt_rel_diff(e->a, e->b, n);
        if (d <= e->tol) continue;
        int64_t worst = 0;
        for (int64_t i = 0; i < n; ++i)
            if (!(fabs(e->a[i] - e->b[i]) <= fabs(e->a[worst] - e->b[worst]))) worst = i;
        cr_assert_fail("%s%s: %s: member %lld differs by %.3g of its largest value (bound %.3g); worst at value %lld "
                       "(point %lld, %s part): reference %.17g, %s %.17g",
                       e->where, e->detail, what, (long long)m, d, e->tol, (long long)worst, (long long)(worst / 2),
                       worst % 2 ? "imaginary" : "real", e->a[worst], e->tested->name, e->b[worst]);
    }
}

void op_expect_sums(op_env *e, const char *what, const double *ref, const double *got, const unsigned char *mask) {
    for (int64_t m = 0; m < e->B; ++m) {
        if (mask && !mask[m]) continue;
        const double sc = fabs(ref[m]) > 0 ? fabs(ref[m]) : 1e-300;
        cr_assert(op_near(ref[m], got[m], e->tol, sc), "%s%s: %s: member %lld: reference %.17g, %s %.17g (bound %.3g)",
                  e->where, e->detail, what, (long long)m, ref[m], e->tested->name, got[m], e->tol);
    }
}

/* One field of the moments within tol * scale. */
static void expect_field(const op_env *e, int64_t m, const char *field, double ref, double got, double scale) {
    cr_assert(op_near(ref, got, e->tol, scale),
              "%s%s: moments of member %lld: %s reference %.17g, %s %.17g (difference %.3g, bound %.3g x %.3g)",
              e->where, e->detail, (long long)m, field, ref, e->tested->name, got, fabs(ref - got), e->tol, scale);
}

void op_expect_moments(op_env *e, const qdml_moments *x, const qdml_moments *y, const unsigned char *want) {
    static const char *const sx_name[3] = {"sx[0]", "sx[1]", "sx[2]"}, *const sxx_name[3] = {"sxx[0]", "sxx[1]",
                                                                                             "sxx[2]"};
    for (int64_t m = 0; m < e->B; ++m) {
        const qdml_moments *p = x + m, *q = y + m;
        if (want && !want[m]) {
            /* Members not wanted: the values the CPU backend leaves (zeros, rmax -1, imax -1). */
            cr_assert(q->s0 == 0 && q->rmax == -1.0 && q->imax == -1 && q->finite == 1,
                      "%s%s: unwanted member %lld: s0 %g rmax %g imax %lld finite %d", e->where, e->detail,
                      (long long)m, q->s0, q->rmax, (long long)q->imax, q->finite);
            continue;
        }
        const double s0 = p->s0;
        expect_field(e, m, "s0", p->s0, q->s0, s0);
        expect_field(e, m, "sv", p->sv, q->sv, s0 * e->vmax);
        expect_field(e, m, "st", p->st, q->st, fabs(p->st));
        for (int d = 0; d < 3; ++d) {
            expect_field(e, m, sx_name[d], p->sx[d], q->sx[d], s0 * e->xmax);
            expect_field(e, m, sxx_name[d], p->sxx[d], q->sxx[d], s0 * e->xmax * e->xmax);
        }
        /* sres = ||T psi + (V - E) psi||^2 may be a small difference of large terms: its error is
         * relative to sqrt(sres) (||T psi|| + ||(V - E) psi||), bounded with the largest T and V. */
        const double en = p->s0 > 0 ? (p->st + p->sv) / p->s0 : 0.0;
        const double tmax = e->hbar[m] * e->hbar[m] / (2.0 * e->mass[m]) * e->k2max;
        const double hnorm = sqrt(s0) * (tmax + e->vmax + fabs(en));
        expect_field(e, m, "sres", p->sres, q->sres, fabs(p->sres) + sqrt(fabs(p->sres)) * hnorm);
        cr_assert_eq(p->finite, q->finite, "%s%s: moments of member %lld: finite reference %d, %s %d", e->where,
                     e->detail, (long long)m, p->finite, e->tested->name, q->finite);
        expect_field(e, m, "rmax", p->rmax, q->rmax, fabs(p->rmax));
        /* argmax: any index whose density equals rmax (ties may break differently). */
        cr_assert(q->imax >= 0 && q->imax < e->N, "%s%s: moments of member %lld: imax %lld out of range", e->where,
                  e->detail, (long long)m, (long long)q->imax);
        OP_REF(e, get_state, m, e->a);
        const double re = e->a[2 * q->imax], im = e->a[2 * q->imax + 1];
        cr_assert(op_near(re * re + im * im, p->rmax, e->tol, p->rmax),
                  "%s%s: moments of member %lld: the %s argmax %lld has density %.17g, the reference's max is %.17g "
                  "at %lld",
                  e->where, e->detail, (long long)m, e->tested->name, (long long)q->imax, re * re + im * im, p->rmax,
                  (long long)p->imax);
    }
}
