/* The CPU backend's step tables: for every member, the potential factors of a half and a full step
 * and the per-axis kinetic factors, built by set_step from the member's potential and step
 * parameters (a transcendental function per point) and kept, where a 4th-order composition
 * alternates between two sets of parameters, in a second table set (see table_set in
 * cpu_private.h), so that each switch selects a set instead of building the tables again. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_private.h"

/* Tables built from a member's old potential are of no further use. */
void qdml_cpu_forget_tables(qdml_backend_state *s, int64_t b) {
    s->held_ok[2 * b] = s->held_ok[2 * b + 1] = 0;
    s->evicted_ok[b] = 0;
    if (s->grad2_ok) s->grad2_ok[b] = 0;
    if (s->pw_ok) s->pw_ok[b] = 0;
}

static int same_params(const qdml_step_params *a, const qdml_step_params *b) {
    return a->imaginary == b->imaginary && a->dt == b->dt && a->hbar == b->hbar && a->mass == b->mass &&
           a->vshift == b->vshift && a->potential_only == b->potential_only && a->flush_tiny == b->flush_tiny &&
           a->kdt == b->kdt && a->vgrad == b->vgrad && a->fast_phases == b->fast_phases;
}

/* |grad V|^2 of member b into s->grad2, by 8th-order central differences along each axis of more than
 * one point (periodic: the stencil wraps), exact for polynomials of degree up to 8. Differences rather
 * than the spectral derivative: the potentials are rarely periodic (an oscillator's slope jumps at the
 * box edge), and the spectral derivative's ringing from that jump reaches across the whole box, where
 * the differences are wrong only within 4 points of the edge (where the states are negligible). */
static qdml_status make_grad2(qdml_backend_state *s, int64_t b) {
    if (!s->grad2) {
        s->grad2 = qdml_calloc_array((size_t)s->total, sizeof(double));
        s->grad2_ok = qdml_calloc_array((size_t)s->d.batch, 1);
        if (!s->grad2 || !s->grad2_ok) {
            free(s->grad2);
            free(s->grad2_ok);
            s->grad2 = NULL;
            s->grad2_ok = NULL;
            return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "set_step: cannot allocate |grad V|^2 (%lld values)",
                             (long long)s->total);
        }
    }
    if (s->grad2_ok[b]) return QDML_OK;
    static const double c8[4] = {4.0 / 5.0, -1.0 / 5.0, 4.0 / 105.0, -1.0 / 280.0};
    const int64_t N = s->d.npoints, n[3] = {s->d.n[0], s->d.n[1], s->d.n[2]};
    const int64_t stride[3] = {n[1] * n[2], n[2], 1};
    const double *v = s->v + b * N;
    double *g = s->grad2 + b * N;
#pragma omp parallel for num_threads(s->nt) schedule(static)
    for (int64_t i = 0; i < N; ++i) {
        double sum = 0.0;
        for (int a = 0; a < 3; ++a) {
            if (n[a] < 2) continue;
            const int64_t ia = (i / stride[a]) % n[a], base = i - ia * stride[a];
            const double h = s->d.length[a] / (double)n[a];
            double d = 0.0;
            if (n[a] >= 9) {
                for (int k = 1; k <= 4; ++k)
                    d += c8[k - 1] * (v[base + ((ia + k) % n[a]) * stride[a]] -
                                      v[base + ((ia - k + n[a]) % n[a]) * stride[a]]);
            } else { /* too few points for the wide stencil: second order */
                d = 0.5 * (v[base + ((ia + 1) % n[a]) * stride[a]] - v[base + ((ia - 1 + n[a]) % n[a]) * stride[a]]);
            }
            d /= h;
            sum += d * d;
        }
        g[i] = sum;
    }
    s->grad2_ok[b] = 1;
    return QDML_OK;
}

/* The second table set (see table_set); 0 where memory is short, and then tables are rebuilt. */
static int second_tables(qdml_backend_state *s) {
    table_set *t = &s->tab[1];
    if (t->evh) return 1;
    size_t bytes;
    const size_t ktotal = (size_t)s->ksum * (size_t)s->d.batch;
    t->evh = qdml_cpu_fft_alloc(s->total, sizeof(qdml_c64), &bytes);
    t->evf = qdml_cpu_fft_alloc(s->total, sizeof(qdml_c64), &bytes);
    t->ktab = qdml_calloc_array(ktotal, sizeof(qdml_c64));
    t->kreal = qdml_calloc_array(ktotal, sizeof(double));
    if (t->evh && t->evf && t->ktab && t->kreal) return 1;
    free(t->evh);
    free(t->evf);
    free(t->ktab);
    free(t->kreal);
    memset(t, 0, sizeof *t);
    return 0;
}

/* Member b's tables in set t for the parameters p: a transcendental function per point, on nt threads;
 * with `fast` the real-time potential factors by the vectorised phases kernel (within 2^-52 of libm's
 * sine and cosine, not their bits: the scheduled steps, which rebuild every step). */
static void build_tables(qdml_backend_state *s, const table_set *t, int64_t b, const qdml_step_params *p, int nt,
                         int fast) {
    const int64_t N = s->d.npoints;
    const double *v = s->v + b * N;
    const double *g = p->vgrad != 0.0 ? s->grad2 + b * N : NULL; /* made by the caller */
    const double vg = p->vgrad;
    const double c = qdml_half_step_rate(p->dt, p->hbar);
    const int imag = p->imaginary;
    const double shift = p->vshift;
    if (imag) {
        double *restrict evh = (double *)(t->evh + b * N), *restrict evf = (double *)(t->evf + b * N);
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t i = 0; i < N; ++i) {
            const double h = qdml_potential_factor(1, g ? v[i] + vg * g[i] : v[i], shift, c).re;
            evh[i] = h;
            evf[i] = h * h;
        }
    } else if (fast && !g) {
        qdml_c64 *evh = t->evh + b * N, *evf = t->evf + b * N;
        const kernel_set *k = s->k;
#pragma omp parallel num_threads(nt)
        {
            int64_t a, e;
            chunk(N, omp_get_thread_num(), omp_get_num_threads(), &a, &e);
            k->phases(v + a, e - a, shift, c, evh + a, evf + a);
        }
    } else {
        qdml_c64 *evh = t->evh + b * N, *evf = t->evf + b * N;
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t i = 0; i < N; ++i) {
            const qdml_c64 h = qdml_potential_factor(0, g ? v[i] + vg * g[i] : v[i], shift, c);
            evh[i] = h;
            evf[i] = qdml_cmul(h, h);
        }
    }
    const double kdt = p->kdt != 0.0 ? p->kdt : p->dt;
    qdml_c64 *kt = t->ktab + b * s->ksum;
    double *kr = t->kreal + b * s->ksum;
    for (int a = 0; a < 3; ++a) {
        for (int64_t j = 0; j < s->d.n[a]; ++j) {
            kt[j] = qdml_kinetic_factor(imag, p->potential_only, s->k2[a][j], p->hbar, p->mass, kdt);
            kr[j] = kt[j].re;
        }
        kt += s->d.n[a];
        kr += s->d.n[a];
    }
}

/* The tables of member b for p: those held already if either set holds them, else built into the
 * set not in use where there are two (the one in use stays for the next switch back), else into
 * the only one. The tables are the same numbers whichever set holds them. */
qdml_status qdml_cpu_set_step(qdml_backend_state *s, int64_t b, const qdml_step_params *p) {
    if (p->vgrad != 0.0) {
        qdml_status st = make_grad2(s, b);
        if (st != QDML_OK) return st;
    }
    qdml_cpu_materialize(s); /* a queued kick uses the tables in use */
    const int cur = s->slot[b];
    int target = cur;
    if (s->held_ok[2 * b + cur] && same_params(&s->held[2 * b + cur], p)) {
        target = cur;
    } else if (s->tab[1].evh && s->held_ok[2 * b + 1 - cur] && same_params(&s->held[2 * b + 1 - cur], p)) {
        target = 1 - cur;
    } else {
        if (s->held_ok[2 * b + cur]) {
            /* the set in use holds other parameters: keep them where a second set is (or, the caller
             * having come back to parameters overwritten before, can be) had */
            if (!s->tab[1].evh && s->evicted_ok[b] && same_params(&s->evicted[b], p)) (void)second_tables(s);
            if (s->tab[1].evh) {
                target = 1 - cur;
            } else {
                s->evicted[b] = s->held[2 * b + cur];
                s->evicted_ok[b] = 1;
            }
        }
        build_tables(s, &s->tab[target], b, p, s->nt, p->fast_phases);
        s->held[2 * b + target] = *p;
        s->held_ok[2 * b + target] = 1;
    }
    s->slot[b] = (unsigned char)target;
    s->flush[b] = (unsigned char)(p->flush_tiny != 0);
    s->imag[b] = (unsigned char)(p->imaginary != 0);
    qdml_cpu_use_path(s);
    return QDML_OK;
}

void qdml_cpu_rebuild_tables(qdml_backend_state *s, int64_t b, const qdml_step_params *p) {
    const int slot = s->slot[b];
    build_tables(s, &s->tab[slot], b, p, 1, 1);
    s->held[2 * b + slot] = *p;
    s->held_ok[2 * b + slot] = 1;
}
