/* The CPU backend's step ops: kick, fft, kinetic and scale, and the steps op that runs several
 * steps at once. On the plain path each op is one OpenMP pass over the whole batch (the FFTs
 * batched FFTW plans); on the fused paths an op notes or queues its work and the passes of
 * backend_cpu_fused.c perform it. Runs of steps come through the steps op (cpu_steps): on the
 * member path a thread takes a member through all the steps up to the next monitoring point, plane
 * and column stages back to back, before it starts the next member, so the member stays in its
 * core's cache across steps and only the factor tables stream in (4th-order compositions too,
 * switching between the two table sets; see table_set). A steps call with too few active members
 * to keep every thread busy on the member path runs on PATH_PLANES instead (planes_steps).
 */
#include <assert.h>
#include <fftw3.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>

#include "cpu_private.h"

static void plain_kick(qdml_backend_state *s, int full, const unsigned char *active, double *norms) {
    const int64_t N = s->d.npoints, B = s->d.batch, total = s->total;
    double *psi = (double *)s->psi;
    double *np = s->norm_part;
    const kernel_set *K = s->k;
    int used = 1;
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#pragma omp single
        used = nt;
        int64_t a, e;
        chunk(total, t, nt, &a, &e);
        if (norms)
            for (int64_t b = 0; b < B; ++b) np[(size_t)t * B + b] = 0.0;
        for (int64_t idx = a, end, b; idx < e; idx = end) {
            end = member_piece(idx, e, N, &b);
            if (!(active && !active[b])) {
                const double *f = kick_factor(s, full, b);
                const int64_t off = idx - b * N;
                const double acc = s->imag[b] ? K->mul_real(psi + 2 * idx, f + off, end - idx, 1.0, s->flush[b], norms != NULL)
                                              : K->mul_cplx(psi + 2 * idx, f + 2 * off, end - idx, 1.0, s->flush[b], norms != NULL);
                if (norms) np[(size_t)t * B + b] += acc;
            }
        }
    }
    if (norms)
        for (int64_t b = 0; b < B; ++b) {
            double acc = 0.0;
            for (int t = 0; t < used; ++t) acc += np[(size_t)t * B + b];
            norms[b] = acc;
        }
}

qdml_status qdml_cpu_kick(qdml_backend_state *s, int full, const unsigned char *active, double *norms) {
    if (s->path != PATH_PLAIN && s->sem == SEM_X) {
        if (s->kick_pending) qdml_cpu_materialize(s);
        if (!norms) {
            /* Queued: performed by the next plane pass. */
            s->kick_pending = full ? 2 : 1;
            for (int64_t b = 0; b < s->d.batch; ++b) s->kick_active[b] = (unsigned char)(!active || active[b]);
            return QDML_OK;
        }
        /* The norms are needed now. A full-step kick is followed by a forward FFT in the solver's
         * step: transform the planes (the member path: the columns too) in the same pass. */
        if (s->path == PATH_MEMBERS)
            qdml_cpu_member_pass(s, full ? 2 : 1, active, norms, full, active, 0, NULL);
        else
            qdml_cpu_plane_pass(s, full ? 2 : 1, active, norms, full, active, 0);
        return QDML_OK;
    }
    qdml_cpu_materialize(s);
    plain_kick(s, full, active, norms);
    return QDML_OK;
}

qdml_status qdml_cpu_fft(qdml_backend_state *s, int forward) {
    if (s->path != PATH_PLAIN) {
        if (forward && s->sem == SEM_X) {
            s->sem = SEM_K_LAZY;
            return QDML_OK;
        }
        if (!forward && s->sem == SEM_K_KIN) {
            s->sem = SEM_X;
            return QDML_OK;
        }
        qdml_cpu_materialize(s);
    }
    s->sem = forward ? SEM_K_PLAIN : SEM_X; /* kept on the plain path too: use_path may change paths */
    fftw_execute(forward ? s->fwd : s->bwd);
    return QDML_OK;
}

qdml_status qdml_cpu_kinetic(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    if (s->path == PATH_PLANES && s->sem == SEM_K_LAZY) {
        qdml_cpu_plane_pass(s, s->kick_pending, s->kick_active, NULL, 1, active, 0);
        s->kick_pending = 0;
        qdml_cpu_column_pass(s, scale, active);
        s->sem = SEM_K_KIN;
        return QDML_OK;
    }
    if (s->path == PATH_MEMBERS && s->sem == SEM_K_LAZY) {
        /* With the queued kick and the forward transform, or left pending where a kick with norms
         * already brought the member to the whole transform (see member_pass). */
        qdml_cpu_member_pass(s, s->kick_pending, s->kick_active, NULL, 1, active, 0, scale);
        s->kick_pending = 0;
        s->sem = SEM_K_KIN;
        return QDML_OK;
    }
    qdml_cpu_materialize(s);
    const int64_t n0 = s->d.n[0], n1 = s->d.n[1], n2 = s->d.n[2];
    const int64_t rows_per_member = n0 * n1;
    const double invn = 1.0 / (double)s->d.npoints;
    double *psi = (double *)s->psi;
    const kernel_set *K = s->k;
#pragma omp parallel num_threads(s->nt)
    {
        int64_t a, e;
        chunk(s->total, omp_get_thread_num(), omp_get_num_threads(), &a, &e);
        for (int64_t idx = a; idx < e;) {
            const int64_t row = idx / n2;
            const int64_t i2 = idx - row * n2;
            const int64_t rend = (row + 1) * n2 < e ? (row + 1) * n2 : e;
            const int64_t b = row / rows_per_member;
            const int64_t r = row - b * rows_per_member;
            const int64_t i0 = r / n1, i1 = r - (r / n1) * n1;
            double *p = psi + 2 * idx;
            const int64_t len = rend - idx;
            if (active && !active[b]) {
                K->scale(p, len, invn);
            } else if (s->imag[b]) {
                const double *kr = kin_real_table(s, b);
                K->mul_real(p, kr + n0 + n1 + i2, len, kr[i0] * kr[n0 + i1] * (scale[b] * invn),
                             s->flush[b], 0);
            } else {
                const qdml_c64 *kt = kin_table(s, b);
                const qdml_c64 rf = qdml_cscale(qdml_cmul(kt[i0], kt[n0 + i1]), scale[b] * invn);
                K->row_cplx(p, (const double *)(kt + n0 + n1 + i2), len, rf.re, rf.im, s->flush[b]);
            }
            idx = rend;
        }
    }
    return QDML_OK;
}

qdml_status qdml_cpu_scale(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    qdml_cpu_materialize(s);
    const int64_t N = s->d.npoints;
    double *psi = (double *)s->psi;
    const kernel_set *K = s->k;
#pragma omp parallel num_threads(s->nt)
    {
        int64_t a, e;
        chunk(s->total, omp_get_thread_num(), omp_get_num_threads(), &a, &e);
        for (int64_t idx = a, end, b; idx < e; idx = end) {
            end = member_piece(idx, e, N, &b);
            if (!(active && !active[b])) K->scale(psi + 2 * idx, end - idx, scale[b]);
        }
    }
    return QDML_OK;
}

/* A renormalisation norm the steps can go on with (else the member's steps stop, backend.h). */
int qdml_cpu_norm_ok(double norm) { return isfinite(norm) && norm > 0; }

/* All n steps of member b on the member path (see cpu_steps), by thread t; the member starts and
 * ends plain. Substep j uses table set `set[j]` (the member's slot[b] points at the set in use while
 * it runs, and at set[0] again at the end). Returns -1, or the substeps completed when a
 * renormalisation norm was not finite and positive. */
static int64_t member_steps(qdml_backend_state *s, int64_t b, int t, int64_t n, int m, const unsigned char *set,
                            int renorm, double dv) {
    const blocking *q = &s->blk[1];
    const int64_t len = q->rb * s->P, pblk = s->nout / q->rb, cblk = s->prow * (s->d.n[2] / q->w);
    const double invout = 1.0 / (double)s->nout;
    double norm = 0.0;
    int64_t done = -1;
    s->slot[b] = set[0];
    /* the half kick, and the forward plane transforms that begin the first step's FFT */
    for (int64_t k = 0; k < pblk; ++k)
        norm += qdml_cpu_plane_block(s, q, b, k * len, 0, 1, 1, renorm);
    for (int64_t i = 0; i < n && done < 0; ++i)
        for (int j = 0; j < m; ++j) {
            double sc = 1.0;
            if (renorm) {
                if (!qdml_cpu_norm_ok(norm)) {
                    done = i * m + j;
                    break;
                }
                sc = 1.0 / sqrt(norm * dv);
            }
            s->slot[b] = set[j];
            for (int64_t k = 0; k < cblk; ++k)
                qdml_cpu_column_block(s, q, b, k, t, COL_FWD | COL_KIN | COL_INV, sc * invout, s->gather);
            const int last = i + 1 == n && j + 1 == m, next = set[(j + 1) % m];
            norm = 0.0;
            if (last || next == set[j]) {
                for (int64_t k = 0; k < pblk; ++k)
                    norm += qdml_cpu_plane_block(s, q, b, k * len, 1, last ? 1 : 2, !last, renorm);
            } else {
                /* the half kick of this substep's tables, then the next one's, block by block */
                for (int64_t k = 0; k < pblk; ++k) {
                    s->slot[b] = set[j];
                    (void)qdml_cpu_plane_block(s, q, b, k * len, 1, 1, 0, 0);
                    s->slot[b] = (unsigned char)next;
                    norm += qdml_cpu_plane_block(s, q, b, k * len, 0, 1, 1, renorm);
                }
            }
        }
    s->slot[b] = set[0];
    if (done >= 0) return done;
    if (renorm) {
        if (!qdml_cpu_norm_ok(norm)) return n * m;
        s->k->scale((double *)(s->psi + b * s->d.npoints), s->d.npoints, 1.0 / sqrt(norm * dv));
    }
    return -1;
}

/* The kind of step the members are set up for: imaginary time (1) if every member is, else real
 * time (0). */
int qdml_cpu_step_kind(const qdml_backend_state *s) {
    int kind = 1;
    for (int64_t b = 0; b < s->d.batch && kind; ++b) kind = s->imag[b];
    return kind;
}

/* Whether `a` active members would leave threads idle on the member path (a static split of whole
 * members: ceil(a / nt) on the busiest thread) by more than PATH_PLANES loses per member (edge),
 * with a margin of 1.25. Measured on 2 threads, 8 x 256^2 imaginary time: one active member takes
 * 0.52 ms a step on the member path, 0.33 ms on PATH_PLANES; three, 1.03 and 0.85 ms; all eight,
 * 2.19 and 2.28 ms. 16 x 128^2: 0.082 and 0.079 ms for one, where the planes path's own overhead
 * eats most of the gain. */
int qdml_cpu_too_few_members(const qdml_backend_state *s, int64_t a) {
    const int64_t nt = s->nt;
    if (!s->adaptive || a < 1) return 0;
    const double idle = (double)(((a + nt - 1) / nt) * nt) / (double)a; /* busiest thread / mean */
    return idle > 1.25 * ((double)s->edge[qdml_cpu_step_kind(s)] / (double)EDGE_ONE);
}

/* The renormalisation of a steps call run with the single ops (planes_steps), as the solver does it
 * (host/solver.c, renorm_scales): sc[b] = 1 / sqrt(norms[b] dv) for the active members, and the
 * substeps completed (`done`) at the first norm that is not finite and positive. */
static void steps_scales(const qdml_backend_state *s, const unsigned char *active, const double *norms, double dv,
                         int64_t done, double *sc, int64_t *stop) {
    for (int64_t b = 0; b < s->d.batch; ++b) {
        if (active && !active[b]) continue;
        if (!qdml_cpu_norm_ok(norms[b]) && stop[b] < 0) stop[b] = done;
        sc[b] = 1.0 / sqrt(norms[b] * dv);
    }
}

/* A steps call with too few active members for the member path (qdml_cpu_too_few_members): the single ops on
 * PATH_PLANES, which shares each member's blocks among the threads, in the solver's order (host/
 * solver.c, advance); between substeps of different lengths the table sets are switched as set_step
 * switches them, after the queued kick has been applied. So the states are those of a problem on
 * PATH_PLANES given the same calls. A member whose norm turns bad records the substeps completed (as
 * member_steps) and goes on with a scale that is not finite. The member path is taken again after. */
static void planes_steps(qdml_backend_state *s, int64_t n, int m, const unsigned char *sub, const unsigned char *active,
                         int renorm, double dv, int64_t *stop) {
    const int64_t B = s->d.batch;
    const int path = s->path, gather = s->gather;
    double *norms = renorm ? s->steps_buf : NULL, *sc = s->steps_buf + B;
    s->path = PATH_PLANES;
    s->gather = s->pgather[qdml_cpu_step_kind(s)];
    for (int64_t b = 0; b < B; ++b) {
        sc[b] = 1.0;
        if (!active || active[b]) stop[b] = -1;
    }
    (void)qdml_cpu_kick(s, 0, active, norms);
    for (int64_t i = 0; i < n; ++i)
        for (int j = 0; j < m; ++j) {
            if (renorm) steps_scales(s, active, norms, dv, i * m + j, sc, stop);
            (void)qdml_cpu_fft(s, 1);
            (void)qdml_cpu_kinetic(s, sc, active);
            (void)qdml_cpu_fft(s, 0);
            const int last = i + 1 == n && j + 1 == m, next = sub[(j + 1) % m];
            if (last || next == sub[j]) {
                (void)qdml_cpu_kick(s, !last, active, norms);
            } else {
                (void)qdml_cpu_kick(s, 0, active, NULL);
                qdml_cpu_materialize(s);
                for (int64_t b = 0; b < B; ++b)
                    if (!active || active[b]) s->slot[b] = (unsigned char)(1 - s->slot[b]);
                (void)qdml_cpu_kick(s, 0, active, norms);
            }
        }
    if (renorm) {
        steps_scales(s, active, norms, dv, n * m, sc, stop);
        (void)qdml_cpu_scale(s, sc, active);
    }
    qdml_cpu_materialize(s);
    s->path = path;
    s->gather = gather;
}

/* Several steps at once (backend.h): on the member path each thread takes whole members through all
 * n steps while a member stays in its core's cache, instead of one pass over every member per step;
 * with too few active members to keep the threads busy that way, the steps run on PATH_PLANES
 * (planes_steps). Composed steps (m > 1) switch between the two table sets, so every member must
 * hold the other one; elsewhere, or off the member path, nothing is gained: *done = 0. */
qdml_status qdml_cpu_steps(qdml_backend_state *s, int64_t n, int m, const unsigned char *sub,
                           const unsigned char *active, int renorm, double dv, int64_t *stop, int *done) {
    *done = 0;
    const int64_t B = s->d.batch;
    if (s->path != PATH_MEMBERS || m > 8) return QDML_OK;
    int other = 0;
    for (int j = 0; j < m; ++j) other |= sub[j];
    if (other && !s->tab[1].evh) return QDML_OK;
    for (int64_t b = 0; other && b < B; ++b)
        if ((!active || active[b]) && !s->held_ok[2 * b + 1 - s->slot[b]]) return QDML_OK;
    qdml_cpu_materialize(s);
    assert(s->sem == SEM_X);
    int64_t count = 0;
    for (int64_t b = 0; b < B; ++b)
        if (!active || active[b]) s->items[count++] = b;
    if (qdml_cpu_too_few_members(s, count)) {
        planes_steps(s, n, m, sub, active, renorm, dv, stop);
        *done = 1;
        return QDML_OK;
    }
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        unsigned char set[8];
        int64_t a, e;
        chunk(count, t, nt, &a, &e);
        for (int64_t i = a; i < e; ++i) {
            const int64_t b = s->items[i];
            for (int j = 0; j < m; ++j) set[j] = (unsigned char)(sub[j] ? 1 - s->slot[b] : s->slot[b]);
            stop[b] = member_steps(s, b, t, n, m, set, renorm, dv);
        }
    }
    *done = 1;
    return QDML_OK;
}
