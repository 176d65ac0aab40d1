/* The CPU backend's steps under time-dependent coefficients (the steps_scheduled op, backend.h): on the
 * member path each thread takes whole members through a block of steps while a member stays in its
 * core's cache, rebuilding the member's tables (backend_cpu_tables.c) before each step, as the
 * member path of backend_cpu_steps.c takes steps with fixed tables. */
#include <assert.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>

#include "cpu_private.h"

/* Member b's tables for a kinetic step kd (0: none) and a potential step vd, from base (the
 * parameters the solver last set). */
static void rebuild(qdml_backend_state *s, int64_t b, const qdml_step_params *base, double kd, double vd) {
    qdml_step_params p = *base;
    p.dt = vd;
    p.kdt = kd;
    p.potential_only = base->potential_only || kd == 0.0;
    p.vgrad = 0.0;
    qdml_cpu_rebuild_tables(s, b, &p);
}

/* All n scheduled steps of member b on the member path, by thread t (the sequence of backend.h,
 * steps_scheduled): member_steps with m = 1 and the member's tables rebuilt, while it is in cache,
 * before each step's kinetic factor (for that factor and the kick after it). */
static int64_t member_steps_scheduled(qdml_backend_state *s, int64_t b, int t, int64_t n, const double *kdt,
                                      const double *vh, int renorm, double dv) {
    const blocking *q = &s->blk[1];
    const int64_t len = q->rb * s->P, pblk = s->nout / q->rb, cblk = s->prow * (s->d.n[2] / q->w);
    const double invout = 1.0 / (double)s->nout;
    const qdml_step_params base = s->held[2 * b + s->slot[b]];
    double norm = 0.0;
    rebuild(s, b, &base, kdt[0], vh[0]);
    for (int64_t k = 0; k < pblk; ++k)
        norm += qdml_cpu_plane_block(s, q, b, k * len, 0, 1, 1, renorm);
    for (int64_t i = 0; i < n; ++i) {
        double sc = 1.0;
        if (renorm) {
            if (!qdml_cpu_norm_ok(norm)) return i;
            sc = 1.0 / sqrt(norm * dv);
        }
        const int last = i + 1 == n;
        rebuild(s, b, &base, kdt[i], last ? vh[i] : 0.5 * (vh[i] + vh[i + 1]));
        for (int64_t k = 0; k < cblk; ++k)
            qdml_cpu_column_block(s, q, b, k, t, COL_FWD | COL_KIN | COL_INV, sc * invout, s->gather);
        norm = 0.0;
        for (int64_t k = 0; k < pblk; ++k)
            norm += qdml_cpu_plane_block(s, q, b, k * len, 1, last ? 1 : 2, !last, renorm);
    }
    if (renorm) {
        if (!qdml_cpu_norm_ok(norm)) return n;
        s->k->scale((double *)(s->psi + b * s->d.npoints), s->d.npoints, 1.0 / sqrt(norm * dv));
    }
    return -1;
}

/* Scheduled steps (backend.h) on the member path: each thread takes whole members through the n steps,
 * rebuilding a member's tables step by step while it stays in the core's cache, where one pass over
 * the batch per op would stream every member's state and tables through memory each step. Off the
 * member path, or with too few active members to keep the threads busy: *done = 0 (the solver's single
 * ops). */
qdml_status qdml_cpu_steps_scheduled(qdml_backend_state *s, int64_t n, const unsigned char *active, const double *kdt,
                                     const double *vh, int renorm, double dv, int64_t *stop, int *done) {
    *done = 0;
    if (s->path != PATH_MEMBERS) return QDML_OK;
    qdml_cpu_materialize(s);
    assert(s->sem == SEM_X);
    const int64_t B = s->d.batch;
    int64_t count = 0;
    for (int64_t b = 0; b < B; ++b)
        if (!active || active[b]) {
            if (!s->held_ok[2 * b + s->slot[b]]) return QDML_OK; /* no parameters to start from */
            s->items[count++] = b;
        }
    if (qdml_cpu_too_few_members(s, count)) return QDML_OK;
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t a, e;
        chunk(count, t, nt, &a, &e);
        for (int64_t i = a; i < e; ++i) {
            const int64_t b = s->items[i];
            stop[b] = member_steps_scheduled(s, b, t, n, kdt + b * n, vh + b * n, renorm, dv);
        }
    }
    *done = 1;
    return QDML_OK;
}
