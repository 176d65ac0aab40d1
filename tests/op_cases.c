/* The backend op cases: one per op of qdml_backend_ops (host/backend.h) and variant of it, each
 * with the largest error it may make per precision and why. The harness (op_harness.c) runs every
 * case on many grids and seeds against the CPU backend; test_cuda_ops.c runs the table on a CUDA
 * device (float64 and float32) and on the CPU backend itself (float64, exactly).
 *
 * Quick start for adding a new op (or a variant of one):
 *  1. Write `static void case_<name>(op_env *e)` below. op_start(e) makes both backends and gives
 *     them the same random inputs (states, potentials, step parameters; masks and scales in e);
 *     op_sync(e) gives the reference the tested backend's state, so that only the next op's error
 *     is measured. Issue the op with OP_BOTH (the same arguments on both) or OP_REF and OP_TESTED,
 *     and compare with op_expect_states, op_expect_sums or op_expect_moments: they apply the case's
 *     bound (e->tol) and fail with the case, precision, grid, seed and the numbers seen.
 *  2. Add a row to op_cases[] at the bottom: a unique name, the op, the bound in float64 and in
 *     float32 (relative; 0 for exact) with a one-line reason, the grids, the function.
 *  3. Build and run test_cuda_ops. cpu_self_check runs the new case on the CPU backend against
 *     itself on every machine (it must pass, exactly in practice); cuda_ops runs it on a device.
 *     Point the case at a wrong op once (scale by 1.0000001, say) and see it fail.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

/* ---- transfers ------------------------------------------------------------------------------- */

/* in -> the tested backend -> out: float64 the same values, float32 each rounded to nearest float. */
static void expect_round_trip(const op_env *e, const char *what, int64_t m, const double *in, const double *out,
                              int64_t n) {
    const int f32 = e->prec == QDML_FLOAT32;
    for (int64_t i = 0; i < n; ++i) {
        const double want = f32 ? (double)(float)in[i] : in[i];
        if (out[i] != want)
            cr_assert_fail("%s: %s round trip of member %lld, value %lld: set %.17g, expected back %.17g, got %.17g",
                           e->where, what, (long long)m, (long long)i, in[i], want, out[i]);
    }
}

static void case_state_round_trip(op_env *e) {
    const qdml_backend_desc d = op_desc(e, 1.0, 0);
    op_create(e, &d);
    double *psi = qt_calloc((size_t)(2 * e->N), sizeof(double));
    for (int64_t m = 0; m < e->B; ++m) {
        for (int64_t i = 0; i < 2 * e->N; ++i)
            psi[i] = 2.0 * qt_uniform(&e->rng) - 1.0;
        if (e->N > 4) psi[2] = 3e-201; /* float32: becomes 0 */
        OP_TESTED(e, set_state, m, psi);
        OP_TESTED(e, get_state, m, e->b);
        expect_round_trip(e, "state", m, psi, e->b, 2 * e->N);
    }
    free(psi);
}

static void case_potential_round_trip(op_env *e) {
    const qdml_backend_desc d = op_desc(e, 1.0, 0);
    op_create(e, &d);
    for (int64_t m = 0; m < e->B; ++m) {
        for (int64_t i = 0; i < e->N; ++i)
            e->a[i] = 6.0 * qt_uniform(&e->rng) - 3.0;
        OP_TESTED(e, set_potential, m, e->a);
        OP_TESTED(e, get_potential, m, e->b);
        expect_round_trip(e, "potential", m, e->a, e->b, e->N);
    }
}

/* ---- step factors and the pointwise ops ------------------------------------------------------ */

/* New step parameters over those of op_start (modes, potential-only and flush flags swapped between
 * members), seen through the tables they build: a half kick, a full kick, the kinetic factor. */
static void case_set_step(op_env *e) {
    op_start(e);
    for (int64_t m = 0; m < e->B; ++m) {
        qdml_step_params p;
        memset(&p, 0, sizeof p);
        p.imaginary = (int)((m + 1) % 2);
        p.dt = 0.01 + 0.1 * qt_uniform(&e->rng);
        p.hbar = e->hbar[m] = 0.5 + 2.0 * qt_uniform(&e->rng);
        p.mass = e->mass[m] = 0.3 + 2.0 * qt_uniform(&e->rng);
        p.vshift = p.imaginary ? -3.0 : 0.0;
        p.potential_only = m % 3 == 0;
        p.flush_tiny = p.imaginary && m % 4 == 0;
        if (m % 2 == 1) p.kdt = p.dt * (0.3 + qt_uniform(&e->rng)); /* a kinetic step of its own (Chin's step) */
        OP_BOTH(e, set_step, m, &p);
        e->scale[m] = 1.0;
    }
    OP_BOTH(e, kick, 0, NULL, NULL);
    op_expect_states(e, "half kick");
    op_sync(e);
    OP_BOTH(e, kick, 1, NULL, NULL);
    op_expect_states(e, "full kick");
    op_sync(e);
    OP_BOTH(e, fft, 1);
    op_sync(e);
    OP_BOTH(e, kinetic, e->scale, NULL);
    op_expect_states(e, "kinetic factor");
}

static void kick_case(op_env *e, int full, int masked, int norms) {
    op_start(e);
    const unsigned char *mask = masked ? e->mask : NULL;
    for (int64_t m = 0; m < e->B; ++m)
        e->r1[m] = e->r2[m] = -5.0;
    OP_REF(e, kick, full, mask, norms ? e->r1 : NULL);
    OP_TESTED(e, kick, full, mask, norms ? e->r2 : NULL);
    op_expect_states(e, "state");
    if (!norms) return;
    op_expect_sums(e, "norm", e->r1, e->r2, mask);
    for (int64_t m = 0; mask && m < e->B; ++m)
        if (!mask[m])
            cr_assert_eq(e->r2[m], 0.0, "%s: the norm of inactive member %lld is %g (the CPU backend's is 0)", e->where,
                         (long long)m, e->r2[m]);
}
static void case_kick_half(op_env *e) { kick_case(e, 0, 0, 0); }
static void case_kick_full_masked(op_env *e) { kick_case(e, 1, 1, 0); }
static void case_kick_half_norms(op_env *e) { kick_case(e, 0, 0, 1); }
static void case_kick_full_masked_norms(op_env *e) { kick_case(e, 1, 1, 1); }

static void case_fft_forward(op_env *e) {
    op_start(e);
    OP_BOTH(e, fft, 1);
    op_expect_states(e, "forward transform");
}

static void case_fft_backward(op_env *e) {
    op_start(e);
    OP_BOTH(e, fft, 1);
    op_sync(e);
    OP_BOTH(e, fft, 0);
    op_expect_states(e, "backward transform");
}

static void kinetic_case(op_env *e, int masked) {
    op_start(e);
    OP_BOTH(e, fft, 1);
    op_sync(e);
    OP_BOTH(e, kinetic, e->scale, masked ? e->mask : NULL);
    op_expect_states(e, "kinetic factor");
}
static void case_kinetic_masked(op_env *e) { kinetic_case(e, 1); }
static void case_kinetic_scaled(op_env *e) { kinetic_case(e, 0); }

static void scale_case(op_env *e, int masked) {
    op_start(e);
    OP_BOTH(e, scale, e->scale, masked ? e->mask : NULL);
    op_expect_states(e, "scaled state");
}
static void case_scale_masked(op_env *e) { scale_case(e, 1); }
static void case_scale_all(op_env *e) { scale_case(e, 0); }

/* ---- reductions ------------------------------------------------------------------------------ */

static void moments_case(op_env *e, int wanted) {
    op_start(e);
    const unsigned char *want = wanted ? e->want : NULL;
    OP_REF(e, moments, e->hbar, e->mass, want, e->m1);
    OP_TESTED(e, moments, e->hbar, e->mass, want, e->m2);
    op_expect_moments(e, e->m1, e->m2, want);
    op_expect_states(e, "state after moments");
}
static void case_moments_all(op_env *e) { moments_case(e, 0); }
static void case_moments_want(op_env *e) { moments_case(e, 1); }

/* A non-finite state: finite 0 on both, the same NaN index (the CPU keeps the last NaN). */
static void case_moments_nonfinite(op_env *e) {
    op_start(e);
    double *psi = qt_calloc((size_t)(2 * e->N), sizeof(double));
    for (int64_t i = 0; i < 2 * e->N; ++i)
        psi[i] = qt_uniform(&e->rng);
    psi[2 * (e->N / 2)] = NAN;
    OP_BOTH(e, set_state, 0, psi);
    OP_REF(e, moments, e->hbar, e->mass, NULL, e->m1);
    OP_TESTED(e, moments, e->hbar, e->mass, NULL, e->m2);
    const qdml_moments *p = &e->m1[0], *q = &e->m2[0];
    cr_assert(p->finite == 0 && q->finite == 0, "%s: NaN state: finite reference %d, %s %d", e->where, p->finite,
              e->tested->name, q->finite);
    cr_assert(q->imax == p->imax && q->rmax != q->rmax, "%s: NaN argmax reference %lld, %s %lld (rmax %g)", e->where,
              (long long)p->imax, e->tested->name, (long long)q->imax, q->rmax);
    free(psi);
}

/* Backups of equal states, a kick, the states made equal again: only distance's error is measured. */
static void distance_case(op_env *e, int masked) {
    op_start(e);
    const unsigned char *mask = masked ? e->mask : NULL;
    OP_BOTH(e, backup, 0, NULL);
    OP_BOTH(e, kick, 1, NULL, NULL);
    op_sync(e);
    for (int64_t m = 0; m < e->B; ++m)
        e->r1[m] = e->r2[m] = -5.0;
    OP_REF(e, distance, mask, e->r1);
    OP_TESTED(e, distance, mask, e->r2);
    op_expect_sums(e, "distance", e->r1, e->r2, mask);
    for (int64_t m = 0; mask && m < e->B; ++m)
        if (!mask[m])
            cr_assert_eq(e->r2[m], -5.0, "%s: distance wrote unmasked member %lld (%g)", e->where, (long long)m,
                         e->r2[m]);
}
static void case_distance_masked(op_env *e) { distance_case(e, 1); }
static void case_distance_all(op_env *e) { distance_case(e, 0); }

/* ---- backup ---------------------------------------------------------------------------------- */

static void case_backup_restore_masked(op_env *e) {
    op_start(e);
    OP_BOTH(e, backup, 0, NULL);
    OP_BOTH(e, kick, 1, NULL, NULL);
    op_sync(e);
    OP_BOTH(e, backup, 1, e->mask);
    op_expect_states(e, "save all, kick, restore masked");
}

static void case_backup_save_masked(op_env *e) {
    op_start(e);
    OP_BOTH(e, backup, 0, NULL);
    OP_BOTH(e, kick, 1, NULL, NULL);
    op_sync(e);
    OP_BOTH(e, backup, 0, e->want);
    OP_BOTH(e, kick, 1, NULL, NULL);
    op_sync(e);
    OP_BOTH(e, backup, 1, NULL);
    op_expect_states(e, "save all, kick, save masked, kick, restore all");
}

/* ---- blocks of states (excited states) ------------------------------------------------------- */

/* The counts a block op is tried with: all members, the first one, about half. */
static int64_t block_counts(const op_env *e, int64_t counts[3]) {
    int64_t k = 0;
    counts[k++] = e->B;
    if (e->B > 1) counts[k++] = 1;
    if ((e->B + 1) / 2 > 1 && (e->B + 1) / 2 < e->B) counts[k++] = (e->B + 1) / 2;
    return k;
}

static void case_gram(op_env *e) {
    op_start(e);
    int64_t counts[3];
    const int64_t nc = block_counts(e, counts);
    for (int64_t c = 0; c < nc; ++c) {
        const int64_t count = counts[c];
        const size_t cc = (size_t)(count * count);
        snprintf(e->detail, sizeof e->detail, ", count %lld", (long long)count);
        double *g1 = qt_calloc(2 * cc, sizeof(double)), *g2 = qt_calloc(2 * cc, sizeof(double));
        OP_REF(e, gram, count, g1);
        OP_TESTED(e, gram, count, g2);
        double gmax = 0.0, gdiff = 0.0;
        size_t worst = 0;
        for (size_t k = 0; k < 2 * cc; ++k) {
            gmax = fmax(gmax, fabs(g1[k]));
            if (!(fabs(g1[k] - g2[k]) <= gdiff)) {
                gdiff = fabs(g1[k] - g2[k]);
                worst = k;
            }
        }
        const double bound = e->prec == QDML_FLOAT32 ? e->tol * sqrt((double)e->N) : e->tol;
        cr_assert(gdiff <= bound * gmax,
                  "%s%s: gram: difference %.3g of the largest entry %.3g > %.3g; worst entry (%zu, %zu) %s part: "
                  "reference %.17g, %s %.17g",
                  e->where, e->detail, gdiff, gmax, bound, worst / 2 / (size_t)count, worst / 2 % (size_t)count,
                  worst % 2 ? "imaginary" : "real", g1[worst], e->tested->name, g2[worst]);
        free(g1);
        free(g2);
    }
}

static void case_combine(op_env *e) {
    op_start(e);
    int64_t counts[3];
    const int64_t nc = block_counts(e, counts);
    for (int64_t c = 0; c < nc; ++c) {
        const int64_t count = counts[c];
        snprintf(e->detail, sizeof e->detail, ", count %lld", (long long)count);
        double *tm = qt_calloc((size_t)(2 * count * count), sizeof(double));
        for (int64_t i = 0; i < count; ++i)
            for (int64_t j = 0; j < count; ++j) {
                /* Random upper triangle; the lower one must be ignored by both. */
                tm[2 * (i * count + j)] = i <= j ? qt_normal(&e->rng) : 1e300;
                tm[2 * (i * count + j) + 1] = i <= j ? qt_normal(&e->rng) : -1e300;
            }
        OP_BOTH(e, combine, count, tm);
        op_expect_states(e, "combination");
        op_sync(e);
        free(tm);
    }
}

/* ---- block vectors (the LOBPCG eigensolver; float64 only) ------------------------------------- */

/* Work slots on both backends over op_start's inputs; 0 in float32, which the ops refuse. */
static int vectors_start(op_env *e) {
    if (e->prec == QDML_FLOAT32) return 0;
    op_start(e);
    OP_BOTH(e, vectors, 2);
    return 1;
}

/* Member m of slot `slot` -> member m of the state, every member, on both backends (an identity
 * combination: exact), so that op_expect_states sees the slot. */
static void slot_to_state(op_env *e, int slot) {
    for (int64_t m = 0; m < e->B; ++m) {
        const int us[1] = {slot}, ws[1] = {0};
        const int64_t um[1] = {m}, wm[1] = {m};
        const double one[2] = {1.0, 0.0};
        OP_BOTH(e, vcombine, 1, us, um, 1, ws, wm, one);
    }
}

static void case_vectors_apply_h(op_env *e) {
    if (!vectors_start(e)) return;
    OP_BOTH(e, apply_h, 0, 1, e->hbar, e->mass);
    slot_to_state(e, 1);
    op_expect_states(e, "H psi");
}

static void case_vectors_precondition(op_env *e) {
    if (!vectors_start(e)) return;
    double *vmin = qt_calloc((size_t)e->B, sizeof(double));
    for (int64_t m = 0; m < e->B; ++m) vmin[m] = -3.0; /* op_start's potentials lie in [-3, 3) */
    OP_BOTH(e, precondition, 0, 1, e->hbar, e->mass, e->scale, vmin);
    slot_to_state(e, 1);
    op_expect_states(e, "preconditioned psi");
    free(vmin);
}

/* Products of every member of the state with every member of its image under H. */
static void case_vectors_vdot(op_env *e) {
    if (!vectors_start(e)) return;
    OP_BOTH(e, apply_h, 0, 1, e->hbar, e->mass);
    const int n = (int)e->B;
    int *sl = qt_calloc(2 * (size_t)n, sizeof(int));
    int64_t *me = qt_calloc(2 * (size_t)n, sizeof(int64_t));
    for (int i = 0; i < n; ++i) sl[i] = 0, sl[n + i] = 1, me[i] = me[n + i] = i;
    double *g1 = qt_calloc(2 * (size_t)(n * n), sizeof(double)), *g2 = qt_calloc(2 * (size_t)(n * n), sizeof(double));
    OP_REF(e, vdot, n, sl, me, n, sl + n, me + n, 0, g1);
    OP_TESTED(e, vdot, n, sl, me, n, sl + n, me + n, 0, g2);
    double gmax = 0.0, gdiff = 0.0;
    for (int k = 0; k < 2 * n * n; ++k) {
        gmax = fmax(gmax, fabs(g1[k]));
        gdiff = fmax(gdiff, fabs(g1[k] - g2[k]));
    }
    cr_assert(gdiff <= e->tol * gmax, "%s: vdot: difference %.3g of the largest product %.3g > %.3g", e->where, gdiff,
              gmax, e->tol);
    free(sl);
    free(me);
    free(g1);
    free(g2);
}

/* Random combinations of the state's members and slot 1's, written over the state itself (outputs
 * among the inputs). */
static void case_vectors_vcombine(op_env *e) {
    if (!vectors_start(e)) return;
    OP_BOTH(e, apply_h, 0, 1, e->hbar, e->mass);
    const int ni = 2 * (int)e->B, nj = (int)e->B;
    int *sl = qt_calloc((size_t)(ni + nj), sizeof(int));
    int64_t *me = qt_calloc((size_t)(ni + nj), sizeof(int64_t));
    for (int i = 0; i < ni; ++i) sl[i] = i < nj ? 0 : 1, me[i] = i % nj;
    for (int j = 0; j < nj; ++j) sl[ni + j] = 0, me[ni + j] = j;
    double *c = qt_calloc(2 * (size_t)(ni * nj), sizeof(double));
    for (int k = 0; k < 2 * ni * nj; ++k) c[k] = qt_normal(&e->rng) * (k % 2 ? 1.0 : 1e-3);
    OP_BOTH(e, vcombine, ni, sl, me, nj, sl + ni, me + ni, c);
    op_expect_states(e, "combination");
    free(sl);
    free(me);
    free(c);
}

static void case_vectors_vset(op_env *e) {
    if (!vectors_start(e)) return;
    for (int64_t m = 0; m < e->B; ++m) {
        for (int64_t i = 0; i < 2 * e->N; ++i) e->a[i] = qt_normal(&e->rng);
        OP_BOTH(e, vset, 1, m, e->a);
    }
    slot_to_state(e, 1);
    op_expect_states(e, "vset");
}

/* ---- objectives ------------------------------------------------------------------------------ */

/* Every kind on every grid dimension the shape allows (a shape with n0 = 1 is also a 2D grid, and so
 * on), with the defaults and with every parameter moved by up to 5%: values within the bound of the
 * largest |V|, min and max likewise, no bad index. */
static void case_fill_objective(op_env *e) {
    const qdml_backend_desc d = op_desc(e, 1.0, 1);
    op_create(e, &d);
    const int64_t N = e->N;
    const int dim_min = e->n[0] > 1 ? 3 : e->n[1] > 1 ? 2 : 1;
    for (int dim = dim_min; dim <= 3; ++dim)
        for (int kind = 0; kind < QDML_OBJECTIVE_COUNT; ++kind)
            for (int pass = 0; pass < 2; ++pass) {
                qdml_objective o;
                if (qdml_objective_default((qdml_objective_kind)kind, dim, &o) != QDML_OK) {
                    qdml_clear_error(NULL); /* a kind this dim does not take: not an op's message */
                    continue;
                }
                if (pass == 1)
                    for (int k = 0; k < QDML_OBJECTIVE_MAX_PARAMS; ++k)
                        o.p[k] *= 1.0 + 0.1 * (qt_uniform(&e->rng) - 0.5);
                if (qdml_objective_validate(&o, dim) != QDML_OK) continue;
                snprintf(e->detail, sizeof e->detail, ", %s %dD%s", qdml_objective_name((qdml_objective_kind)kind), dim,
                         pass ? " (parameters moved)" : "");
                const int64_t m = (int64_t)(qt_uniform(&e->rng) * (double)e->B);
                qdml_fill_result r1, r2;
                OP_REF(e, fill_objective, m, &o, dim, &r1);
                OP_TESTED(e, fill_objective, m, &o, dim, &r2);
                OP_REF(e, get_potential, m, e->a);
                OP_TESTED(e, get_potential, m, e->b);
                double scale = 0.0, diff = 0.0;
                int64_t worst = 0;
                for (int64_t i = 0; i < N; ++i) {
                    scale = fmax(scale, fabs(e->a[i]));
                    if (!(fabs(e->a[i] - e->b[i]) <= diff)) {
                        diff = fabs(e->a[i] - e->b[i]);
                        worst = i;
                    }
                }
                cr_assert(diff <= e->tol * scale,
                          "%s%s: values differ by %.3g of the largest %.3g (bound %.3g); worst at point %lld: "
                          "reference %.17g, %s %.17g",
                          e->where, e->detail, diff, scale, e->tol, (long long)worst, e->a[worst], e->tested->name,
                          e->b[worst]);
                cr_assert(fabs(r1.vmin - r2.vmin) <= e->tol * scale && fabs(r1.vmax - r2.vmax) <= e->tol * scale,
                          "%s%s: min/max reference (%.17g, %.17g), %s (%.17g, %.17g)", e->where, e->detail, r1.vmin,
                          r1.vmax, e->tested->name, r2.vmin, r2.vmax);
                cr_assert(r1.first_bad == -1 && r2.first_bad == -1, "%s%s: bad index reference %lld, %s %lld", e->where,
                          e->detail, (long long)r1.first_bad, e->tested->name, (long long)r2.first_bad);
            }
}

/* A harmonic stiffness of 1e308 (float64) or 1e39 (float32) on the last axis, centred on its lower
 * edge, overflows the storage type from some point of each row on: the same first bad index as the
 * reference's values give, and the member's potential kept (a random one set before). */
static void case_fill_objective_overflow(op_env *e) {
    const qdml_backend_desc d = op_desc(e, 1.0, 1);
    op_create(e, &d);
    const int64_t N = e->N;
    const int f32 = e->prec == QDML_FLOAT32;
    double *keep = qt_calloc((size_t)N, sizeof(double));
    const int dim_min = e->n[0] > 1 ? 3 : e->n[1] > 1 ? 2 : 1;
    for (int dim = dim_min; dim <= 3; ++dim) {
        snprintf(e->detail, sizeof e->detail, ", harmonic %dD", dim);
        qdml_objective o;
        cr_assert_eq(qdml_objective_default(QDML_OBJECTIVE_HARMONIC, dim, &o), QDML_OK);
        o.p[dim - 1] = f32 ? 1e39 : 1e308;
        o.p[3 + dim - 1] = d.lo[2];
        const int64_t m = e->B - 1;
        for (int64_t i = 0; i < N; ++i) /* a potential to keep (a new state's is undefined) */
            e->a[i] = 6.0 * qt_uniform(&e->rng) - 3.0;
        OP_BOTH(e, set_potential, m, e->a);
        OP_TESTED(e, get_potential, m, keep);
        qdml_fill_result r1, r2;
        OP_REF(e, fill_objective, m, &o, dim, &r1);
        OP_TESTED(e, fill_objective, m, &o, dim, &r2);
        int64_t want = r1.first_bad;
        if (want < 0) { /* float32: the reference's double values that do not fit a float */
            OP_REF(e, get_potential, m, e->a);
            for (int64_t i = 0; i < N && want < 0; ++i)
                if (!isfinite(f32 ? (double)(float)e->a[i] : e->a[i])) want = i;
        }
        cr_assert_eq(r2.first_bad, want, "%s%s: first bad point: %s %lld, reference %lld", e->where, e->detail,
                     e->tested->name, (long long)r2.first_bad, (long long)want);
        cr_assert(e->n[2] < 2 || want > 0, "%s%s: no overflow inside the first row (%lld)", e->where, e->detail,
                  (long long)want);
        if (want < 0) continue; /* nothing overflowed (one point on the last axis): not refused */
        OP_TESTED(e, get_potential, m, e->b);
        cr_assert(memcmp(keep, e->b, (size_t)N * sizeof(double)) == 0, "%s%s: the refused fill changed V", e->where,
                  e->detail);
    }
    free(keep);
}

/* ---- the table ------------------------------------------------------------------------------- */

#define F64 1e-12 /* float64: DESIGN.md's parity bound for one op on random inputs */
#define F32 1e-5  /* float32: a few u = 6e-8 per op, st and sres through transforms (kernels/NOTES.md) */
#define COPY "a copy: float64 exact; float32 exactly the rounding to nearest float"

const op_case op_cases[] = {
    {"set_state_get_state", "set_state, get_state", 0, 0, COPY " (3e-201 becomes 0)", OP_GRIDS_ALL,
     case_state_round_trip, NULL},
    {"set_potential_get_potential", "set_potential, get_potential", 0, 0, COPY, OP_GRIDS_ALL, case_potential_round_trip,
     NULL},
    {"set_step", "set_step", F64, F32,
     "factors computed in double from the stored V and k^2, rounded once to storage, seen through one product each",
     OP_GRIDS_ALL, case_set_step, NULL},
    {"kick_half", "kick", F64, F32, "one complex product per value by a factor rounded once: a few u of storage",
     OP_GRIDS_ALL, case_kick_half, NULL},
    {"kick_full_masked", "kick", F64, F32, "as kick_half; inactive members untouched", OP_GRIDS_ALL,
     case_kick_full_masked, NULL},
    {"kick_half_norms", "kick", F64, F32,
     "as kick_half; the norms sum |psi|^2 of the products in double, in another order", OP_GRIDS_ALL,
     case_kick_half_norms, NULL},
    {"kick_full_masked_norms", "kick", F64, F32, "as kick_half_norms; inactive members' norms are 0", OP_GRIDS_ALL,
     case_kick_full_masked_norms, NULL},
    {"fft_forward", "fft", F64, F32, "another FFT than FFTW: about u log2 N of the largest value", OP_GRIDS_ALL,
     case_fft_forward, NULL},
    {"fft_backward", "fft", F64, F32, "as fft_forward, unnormalised", OP_GRIDS_ALL, case_fft_backward, NULL},
    {"kinetic_masked", "kinetic", F64, F32, "one complex product per value by scale x factor / N, factor rounded once",
     OP_GRIDS_ALL, case_kinetic_masked, NULL},
    {"kinetic_scaled", "kinetic", F64, F32, "as kinetic_masked, every member with its scale", OP_GRIDS_ALL,
     case_kinetic_scaled, NULL},
    {"scale_masked", "scale", F64, F32, "one real product per value", OP_GRIDS_ALL, case_scale_masked, NULL},
    {"scale_all", "scale", F64, F32, "one real product per value", OP_GRIDS_ALL, case_scale_all, NULL},
    {"moments_all", "moments", F64, F32,
     "sums in double of exact or once-rounded terms; st, sres through transforms; each field to its own scale",
     OP_GRIDS_ALL, case_moments_all, NULL},
    {"moments_want", "moments", F64, F32, "as moments_all; unwanted members hold the CPU backend's values",
     OP_GRIDS_ALL, case_moments_want, NULL},
    {"moments_nonfinite", "moments", 0, 0, "a NaN in the state: finite = 0 and the CPU's NaN index, exactly",
     OP_GRIDS_ALL, case_moments_nonfinite, NULL},
    {"distance_masked", "distance", F64, F32, "sums in double of |psi - backup|^2 of stored values, another order",
     OP_GRIDS_ALL, case_distance_masked, NULL},
    {"distance_all", "distance", F64, F32, "as distance_masked", OP_GRIDS_ALL, case_distance_all, NULL},
    {"backup_restore_masked", "backup", 0, 0, "copies of equal states: exact", OP_GRIDS_ALL, case_backup_restore_masked,
     NULL},
    {"backup_save_masked", "backup", 0, 0, "copies of equal states: exact", OP_GRIDS_ALL, case_backup_save_masked,
     NULL},
    {"gram", "gram", F64, F32,
     "a gemm in storage precision: float32 sums of N products round to ~sqrt(N) u, so x sqrt(N) in float32",
     OP_GRIDS_ALL, case_gram, NULL},
    {"combine", "combine", F64, F32, "sums of up to count complex products per value", OP_GRIDS_ALL, case_combine,
     NULL},
    {"fill_objective", "fill_objective", F64, F32,
     "the device's exp, cos, ... and fused multiply-adds differ in the last bits; float32 rounds once; of max |V|",
     OP_GRIDS_FILL, case_fill_objective, NULL},
    {"fill_objective_overflow", "fill_objective", 0, 0,
     "the first value not finite in storage: the reference's index; V kept exactly", OP_GRIDS_FILL,
     case_fill_objective_overflow, NULL},
    {"steps", "steps", F64, 0,
     "bit for bit with the same steps as single ops on the tested backend; float64 also 1e-12 of the reference",
     OP_GRIDS_STEPS, op_case_steps, NULL},
    {"steps_renorm", "steps", F64, 0, "as steps; bad norms stop a member at the same substep as the single ops",
     OP_GRIDS_STEPS, op_case_steps_renorm, op_case_steps_late_stops},
    {"steps_composition_declined", "steps", 0, 0, "one table set: m = 3 declined, the state untouched exactly",
     OP_GRIDS_ALL, op_case_steps_composition, NULL},
    {"vectors_apply_h", "vectors, apply_h", F64, 0,
     "two FFTs and a product per value, then + V psi: about u log2 N of the largest value; float64 only",
     OP_GRIDS_ALL, case_vectors_apply_h, NULL},
    {"vectors_precondition", "vectors, precondition", F64, 0,
     "two weighings, two FFTs and a division per value; float64 only", OP_GRIDS_ALL, case_vectors_precondition,
     NULL},
    {"vectors_vdot", "vectors, vdot", F64, 0, "sums of N products in another order: about u log2 N of the largest",
     OP_GRIDS_ALL, case_vectors_vdot, NULL},
    {"vectors_vcombine", "vectors, vcombine", F64, 0, "sums of 2B complex products per value, outputs among inputs",
     OP_GRIDS_ALL, case_vectors_vcombine, NULL},
    {"vectors_vset", "vectors, vset", 0, 0, "a copy: exact", OP_GRIDS_ALL, case_vectors_vset, NULL},
    /* members past the staging chunk, and kernels whose grid-stride loops wrap */
    {"set_state_get_state_large", "set_state, get_state", 0, 0, COPY " (3e-201 becomes 0)", OP_GRIDS_LARGE,
     case_state_round_trip, NULL},
    {"set_potential_get_potential_large", "set_potential, get_potential", 0, 0, COPY, OP_GRIDS_LARGE,
     case_potential_round_trip, NULL},
    {"kick_full_masked_norms_large", "kick", F64, F32, "as kick_half_norms", OP_GRIDS_LARGE,
     case_kick_full_masked_norms, NULL},
    {"kinetic_scaled_large", "kinetic", F64, F32, "as kinetic_masked", OP_GRIDS_LARGE, case_kinetic_scaled, NULL},
    {"scale_masked_large", "scale", F64, F32, "one real product per value", OP_GRIDS_LARGE, case_scale_masked, NULL},
    {"backup_restore_masked_large", "backup", 0, 0, "copies of equal states: exact", OP_GRIDS_LARGE,
     case_backup_restore_masked, NULL},
};
const size_t op_case_count = sizeof op_cases / sizeof op_cases[0];
