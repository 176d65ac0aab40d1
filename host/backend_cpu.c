/* CPU backend: FFTW (batched, threaded through OpenMP) and OpenMP loops around the per-element
 * math of core/pointwise.h. The reference every other backend is compared with.
 *
 * This file creates and destroys a problem's state: its buffers, the coordinate and wavenumber
 * tables, its FFTW plans (backend_cpu_fftw.c) and the path its steps take (backend_cpu_paths.c);
 * it copies states and potentials in and out, keeps the backup, fills potentials from the built-in
 * objectives and holds the ops table. The other ops live in the files cpu_private.h lists.
 * On grids of two or three dimensions the steps run as fused passes (backend_cpu_fused.c) that
 * defer work, so every op here that looks at the state first brings it to the plain layout
 * (materialize); one-dimensional problems take the plain path: batched FFTW plans and one OpenMP
 * pass per op.
 */
#include <assert.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_private.h"
#include "objectives.h"

/* ---- creation -------------------------------------------------------------------------------- */

static void cpu_destroy(qdml_backend_state *s) {
    if (!s) return;
    qdml_cpu_destroy_plans(s);
    qdml_cpu_vectors_free(s);
    free(s->psi);
    free(s->work);
    free(s->backup);
    for (int k = 0; k < 2; ++k) {
        free(s->tab[k].evh);
        free(s->tab[k].evf);
        free(s->tab[k].ktab);
        free(s->tab[k].kreal);
    }
    free(s->slot);
    free(s->held_ok);
    free(s->evicted_ok);
    free(s->held);
    free(s->evicted);
    free(s->cbuf);
    free(s->v);
    for (int a = 0; a < 3; ++a) {
        free(s->x[a]);
        free(s->k2[a]);
    }
    free(s->part);
    free(s->norm_part);
    free(s->flush);
    free(s->imag);
    free(s->items);
    free(s->phys);
    free(s->kin_pending);
    free(s->kin_scale);
    free(s->steps_buf);
    free(s->kick_active);
    free(s->fwd_set);
    free(s->grad2);
    free(s->grad2_ok);
    free(s->pweight);
    free(s->pw_shift);
    free(s->pw_vmin);
    free(s->pw_ok);
    free(s);
}

static qdml_status cpu_bytes_needed(const qdml_backend_desc *desc, size_t *bytes) {
    int64_t total, per;
    if (desc->precision != QDML_FLOAT64)
        return qdml_fail(NULL, QDML_ERR_UNAVAILABLE,
                         "float32 is offered by the cuda backend only; the cpu backend computes in float64");
    /* psi, work, backup, evh, evf (complex) and V (real): 88 bytes per point and member, plus
     * the per-axis tables and coordinates, and where the fused path applies a column buffer per
     * thread. FFTW's in-place plans need no separate work area. Not counted: the second table set
     * (32 bytes per point and member), allocated only when a member's 4th-order substeps alternate
     * and done without where it cannot be had (second_tables). */
    if (!qdml_mul_i64(desc->npoints, desc->batch, &total) || !qdml_mul_i64(total, 5 * 16 + 8, &per))
        return qdml_fail(NULL, QDML_ERR_OVERFLOW, "points (%lld) x batch (%lld) x 88 bytes overflows",
                         (long long)desc->npoints, (long long)desc->batch);
    const int64_t ksum = desc->n[0] + desc->n[1] + desc->n[2];
    *bytes = (size_t)per + (size_t)ksum * (size_t)desc->batch * 32u + (size_t)ksum * 16u;
    fused_geometry g;
    if (qdml_cpu_fused_wanted(desc, qdml_cpu_forced_path()) && qdml_cpu_fused_geometry_of(desc, desc->nthreads, &g))
        *bytes += (size_t)desc->nthreads * (size_t)g.nout * (size_t)(g.w[0] > g.w[1] ? g.w[0] : g.w[1]) * 16u;
    return QDML_OK;
}

/* The buffers of a problem: psi, work, backup and the first table set's potential factors (complex,
 * 64-byte aligned), V, the kinetic tables, the per-thread partial sums, the per-member flags and
 * scratch, and the per-axis coordinates and k^2. *ktotal: entries of the kinetic tables (B * ksum). */
static qdml_status alloc_buffers(qdml_backend_state *s, int64_t *ktotal) {
    const qdml_backend_desc *desc = &s->d;
    size_t bytes = 0, total_bytes = 0;
    qdml_c64 **cbufs[] = {&s->psi, &s->work, &s->backup, &s->tab[0].evh, &s->tab[0].evf};
    for (size_t i = 0; i < sizeof cbufs / sizeof cbufs[0]; ++i) {
        *cbufs[i] = qdml_cpu_fft_alloc(s->total, sizeof(qdml_c64), &bytes);
        total_bytes += bytes;
        if (!*cbufs[i])
            return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY,
                             "cannot allocate %zu bytes for the state buffers (%lld points x %lld members)", bytes,
                             (long long)desc->npoints, (long long)desc->batch);
    }
    s->v = qdml_cpu_fft_alloc(s->total, sizeof(double), &bytes);
    *ktotal = 0;
    int ok = s->v && qdml_mul_i64(s->ksum, desc->batch, ktotal);
    if (ok) s->tab[0].ktab = qdml_calloc_array((size_t)*ktotal, sizeof(qdml_c64));
    size_t nparts = (size_t)desc->nthreads * (size_t)desc->batch;
    if (ok && s->tab[0].ktab) {
        s->part = qdml_calloc_array(nparts, sizeof(partial_sums));
        s->norm_part = qdml_calloc_array(nparts, sizeof(double));
        s->flush = qdml_calloc_array((size_t)desc->batch, 1);
        s->imag = qdml_calloc_array((size_t)desc->batch, 1);
        s->tab[0].kreal = qdml_calloc_array((size_t)*ktotal, sizeof(double));
        s->slot = qdml_calloc_array((size_t)desc->batch, 1);
        s->held_ok = qdml_calloc_array((size_t)desc->batch, 2);
        s->evicted_ok = qdml_calloc_array((size_t)desc->batch, 1);
        s->held = qdml_calloc_array((size_t)desc->batch, 2 * sizeof(qdml_step_params));
        s->evicted = qdml_calloc_array((size_t)desc->batch, sizeof(qdml_step_params));
        s->phys = qdml_calloc_array((size_t)desc->batch, 1);
        s->kin_pending = qdml_calloc_array((size_t)desc->batch, 1);
        s->kin_scale = qdml_calloc_array((size_t)desc->batch, sizeof(double));
        s->steps_buf = qdml_calloc_array((size_t)desc->batch, 2 * sizeof(double));
        s->kick_active = qdml_calloc_array((size_t)desc->batch, 1);
        s->fwd_set = qdml_calloc_array((size_t)desc->batch, 1);
    }
    for (int a = 0; a < 3 && ok; ++a) {
        s->x[a] = qdml_calloc_array((size_t)desc->n[a], sizeof(double));
        s->k2[a] = qdml_calloc_array((size_t)desc->n[a], sizeof(double));
        ok = s->x[a] && s->k2[a];
    }
    if (!ok || !s->tab[0].ktab || !s->part || !s->norm_part || !s->flush || !s->imag || !s->tab[0].kreal ||
        !s->slot || !s->held_ok || !s->evicted_ok || !s->held || !s->evicted || !s->phys || !s->kin_pending ||
        !s->kin_scale || !s->steps_buf || !s->kick_active || !s->fwd_set) {
        return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY,
                         "cannot allocate the potential and table buffers (%lld points x %lld members)",
                         (long long)desc->npoints, (long long)desc->batch);
    }
    return QDML_OK;
}

/* The coordinates and k^2 of every axis, and the kinetic tables of every member (ktotal entries). */
static void fill_axis_tables(qdml_backend_state *s, int64_t ktotal) {
    const qdml_backend_desc *desc = &s->d;
    for (int a = 0; a < 3; ++a)
        for (int64_t j = 0; j < desc->n[a]; ++j) {
            s->x[a][j] = qdml_grid_point(desc->lo[a], desc->length[a], j, desc->n[a]);
            double k = qdml_wavenumber(j, desc->n[a], desc->length[a]);
            s->k2[a][j] = k * k;
        }
    /* Kinetic tables start as the identity so an unset member is harmless. */
    for (int64_t i = 0; i < ktotal; ++i) {
        s->tab[0].ktab[i] = qdml_c64_make(1.0, 0.0);
        s->tab[0].kreal[i] = 1.0;
    }
}

/* The axis sizes as FFTW takes them (int), batch and points per member checked against int too. */
static qdml_status fftw_sizes(const qdml_backend_desc *desc, int n[3]) {
    for (int a = 0; a < 3; ++a) {
        if (desc->n[a] > 0x7fffffff)
            return qdml_fail(NULL, QDML_ERR_OVERFLOW, "axis size %lld exceeds FFTW's int range", (long long)desc->n[a]);
        n[a] = (int)desc->n[a];
    }
    if (desc->batch > 0x7fffffff || desc->npoints > 0x7fffffff)
        return qdml_fail(NULL, QDML_ERR_OVERFLOW, "batch (%lld) or points per member (%lld) exceed FFTW's int range",
                         (long long)desc->batch, (long long)desc->npoints);
    return QDML_OK;
}

/* Whether the fused paths are planned for this problem (s->planes_ok), and then their geometry,
 * the work list of a pass and the per-thread column buffers. */
static qdml_status fused_setup(qdml_backend_state *s) {
    const qdml_backend_desc *desc = &s->d;
    size_t bytes = 0;
    fused_geometry g;
    /* The fused path is taken where a measurement shows it faster (choose_path), as FFTW chooses
     * plans; QDML_FFT_ESTIMATE measures nothing and keeps the plain path, whose ops give results
     * identical op for op to the reference arithmetic (kernels/backend_cuda_math.cuh checks),
     * unless QDML_CPU_PATH forces a path. */
    const int forced = qdml_cpu_forced_path();
    if (forced == -2)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "the environment variable QDML_CPU_PATH is '%s': it must be plain, planes, planes-gather, "
                         "members or members-gather (or unset, to measure)",
                         getenv("QDML_CPU_PATH"));
    s->planes_ok = qdml_cpu_fused_wanted(desc, forced) && qdml_cpu_fused_geometry_of(desc, desc->nthreads, &g);
    if (s->planes_ok) {
        s->oaxis = g.oaxis;
        s->nout = g.nout;
        s->P = g.P;
        s->prow = g.prow;
        for (int k = 0; k < 2; ++k) {
            s->blk[k].rb = g.rb[k];
            s->blk[k].w = g.w[k];
        }
        /* The member path runs where every thread can have a member; below 2^15 points the
         * problem runs on one thread (s->nt), which then takes the members one after another. */
        s->members_ok = desc->batch >= 2 && desc->batch >= s->nt;
        const int64_t pblocks = desc->batch * (g.nout / g.rb[0]);
        const int64_t cblocks = desc->batch * g.prow * (desc->n[2] / g.w[0]);
        s->items = qdml_calloc_array((size_t)(pblocks > cblocks ? pblocks : cblocks), sizeof(int64_t));
        s->cbuf = qdml_cpu_fft_alloc((int64_t)desc->nthreads * g.nout * (g.w[0] > g.w[1] ? g.w[0] : g.w[1]),
                                     sizeof(qdml_c64), &bytes);
        if (!s->items || !s->cbuf)
            return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "cannot allocate the work list of %lld blocks",
                             (long long)(pblocks + cblocks));
    }
    return QDML_OK;
}

static qdml_status cpu_create(const qdml_backend_desc *desc, qdml_backend_state **out) {
    const kernel_set *kernels = NULL;
    if (!qdml_cpu_fftw_init(&kernels))
        return qdml_fail(NULL, QDML_ERR_BACKEND, "FFTW threads could not be initialised (fftw_init_threads failed)");
    if (desc->precision != QDML_FLOAT64)
        return qdml_fail(NULL, QDML_ERR_UNAVAILABLE,
                         "float32 is offered by the cuda backend only; the cpu backend computes in float64");
    qdml_backend_state *s = calloc(1, sizeof *s);
    if (!s) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "cannot allocate the CPU backend state");
    s->d = *desc;
    s->d.wisdom_path = NULL; /* valid during create only */
    s->k = kernels;
    if (!qdml_mul_i64(desc->npoints, desc->batch, &s->total)) {
        cpu_destroy(s);
        return qdml_fail(NULL, QDML_ERR_OVERFLOW, "points (%lld) x batch (%lld) overflows", (long long)desc->npoints,
                         (long long)desc->batch);
    }
    s->ksum = desc->n[0] + desc->n[1] + desc->n[2];
    /* Below ~2^15 points a pass takes microseconds, less than waking and joining a thread team
     * (far less on a loaded machine, where a spinning team can cost 10-50x). */
    s->nt = s->total < 32768 ? 1 : desc->nthreads;
    int64_t ktotal = 0;
    int n[3] = {0, 0, 0};
    qdml_status st = alloc_buffers(s, &ktotal);
    if (st == QDML_OK) fill_axis_tables(s, ktotal);
    if (st == QDML_OK) st = fftw_sizes(desc, n);
    if (st == QDML_OK) st = fused_setup(s);
    if (st != QDML_OK) {
        cpu_destroy(s);
        return st;
    }
    qdml_cpu_plan_transforms(s, desc->wisdom_path, n);
    if (!s->fwd || !s->bwd) {
        cpu_destroy(s);
        return qdml_fail(NULL, QDML_ERR_BACKEND,
                         "FFTW could not plan a batched transform of %d x %d x %d points, batch %lld", n[0], n[1], n[2],
                         (long long)desc->batch);
    }
    /* Planning with FFTW_MEASURE overwrites the buffers. */
    memset(s->psi, 0, (size_t)s->total * sizeof(qdml_c64));
    s->sem = SEM_X;
    s->path = PATH_PLAIN;
    if (s->planes_ok) qdml_cpu_choose_path(s, desc->wisdom_path);
    *out = s;
    return QDML_OK;
}

/* ---- host copies ----------------------------------------------------------------------------- */

static qdml_status cpu_set_state(qdml_backend_state *s, int64_t b, const double *psi) {
    qdml_cpu_materialize(s);
    memcpy(s->psi + b * s->d.npoints, psi, (size_t)s->d.npoints * sizeof(qdml_c64));
    return QDML_OK;
}

static qdml_status cpu_get_state(qdml_backend_state *s, int64_t b, double *psi) {
    qdml_cpu_materialize(s);
    memcpy(psi, s->psi + b * s->d.npoints, (size_t)s->d.npoints * sizeof(qdml_c64));
    return QDML_OK;
}

static qdml_status cpu_set_potential(qdml_backend_state *s, int64_t b, const double *v) {
    memcpy(s->v + b * s->d.npoints, v, (size_t)s->d.npoints * sizeof(double));
    qdml_cpu_forget_tables(s, b);
    return QDML_OK;
}

static qdml_status cpu_get_potential(qdml_backend_state *s, int64_t b, double *v) {
    memcpy(v, s->v + b * s->d.npoints, (size_t)s->d.npoints * sizeof(double));
    return QDML_OK;
}

static qdml_status cpu_backup(qdml_backend_state *s, int restore, const unsigned char *mask) {
    qdml_cpu_materialize(s);
    const int64_t N = s->d.npoints;
    const qdml_c64 *src = restore ? s->backup : s->psi;
    qdml_c64 *dst = restore ? s->psi : s->backup;
    /* split over the threads as the other whole-state passes are: one thread's copy does not reach
     * the memory bandwidth of the machine (64 x 256^2 here: 9.4 ms on one thread) */
#pragma omp parallel num_threads(s->nt)
    {
        int64_t a, e;
        chunk(s->total, omp_get_thread_num(), omp_get_num_threads(), &a, &e);
        for (int64_t idx = a, end, b; idx < e; idx = end) {
            end = member_piece(idx, e, N, &b);
            if (!mask || mask[b]) memcpy(dst + idx, src + idx, (size_t)(end - idx) * sizeof(qdml_c64));
        }
    }
    return QDML_OK;
}

/* Potential of member b from a built-in objective: evaluated into the member's slice of the work
 * buffer (scratch between ops: 2N doubles), copied into V only when every value is finite. Min and
 * max are exact operations, so the result does not depend on how the threads split the loop. */
static qdml_status cpu_fill_objective(qdml_backend_state *s, int64_t b, const qdml_objective *o, int dim,
                                      qdml_fill_result *out) {
    assert(b >= 0 && b < s->d.batch && o && out && dim >= 1 && dim <= 3);
    const int64_t N = s->d.npoints, n2 = s->d.n[2], n12 = s->d.n[1] * s->d.n[2];
    const double *x0 = s->x[0], *x1 = s->x[1], *x2 = s->x[2];
    double *tmp = (double *)(s->work + b * N);
    const int off = 3 - dim;
    double vmin = INFINITY, vmax = -INFINITY;
    int64_t bad = INT64_MAX;
#pragma omp parallel num_threads(s->nt)
    {
        double lmin = INFINITY, lmax = -INFINITY;
        int64_t lbad = INT64_MAX;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < N; ++i) {
            const int64_t i0 = i / n12, r = i - i0 * n12, i1 = r / n2;
            double x[3];
            x[0] = x0[i0];
            x[1] = x1[i1];
            x[2] = x2[r - i1 * n2];
            const double f = qdml_objective_value(o, x + off, dim);
            tmp[i] = f;
            if (isfinite(f)) {
                if (f < lmin) lmin = f;
                if (f > lmax) lmax = f;
            } else if (i < lbad) {
                lbad = i;
            }
        }
#pragma omp critical(qdml_cpu_fill_objective)
        {
            if (lmin < vmin) vmin = lmin;
            if (lmax > vmax) vmax = lmax;
            if (lbad < bad) bad = lbad;
        }
    }
    out->vmin = vmin;
    out->vmax = vmax;
    out->first_bad = bad == INT64_MAX ? -1 : bad;
    if (bad == INT64_MAX) {
        memcpy(s->v + b * N, tmp, (size_t)N * sizeof(double));
        qdml_cpu_forget_tables(s, b);
    }
    return QDML_OK;
}

const qdml_backend_ops qdml_backend_cpu_ops = {
    .name = "cpu",
    .bytes_needed = cpu_bytes_needed,
    .create = cpu_create,
    .destroy = cpu_destroy,
    .set_state = cpu_set_state,
    .get_state = cpu_get_state,
    .set_potential = cpu_set_potential,
    .get_potential = cpu_get_potential,
    .set_step = qdml_cpu_set_step,
    .kick = qdml_cpu_kick,
    .fft = qdml_cpu_fft,
    .kinetic = qdml_cpu_kinetic,
    .scale = qdml_cpu_scale,
    .moments = qdml_cpu_moments,
    .distance = qdml_cpu_distance,
    .backup = cpu_backup,
    .gram = qdml_cpu_gram,
    .combine = qdml_cpu_combine,
    .fill_objective = cpu_fill_objective,
    .steps = qdml_cpu_steps,
    .steps_scheduled = qdml_cpu_steps_scheduled,
    .vectors = qdml_cpu_vectors,
    .apply_h = qdml_cpu_apply_h,
    .precondition = qdml_cpu_precondition,
    .vdot = qdml_cpu_vdot,
    .vcombine = qdml_cpu_vcombine,
    .vset = qdml_cpu_vset,
};
