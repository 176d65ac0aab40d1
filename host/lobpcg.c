/* LOBPCG (Knyazev, SIAM J. Sci. Comput. 23, 517 (2001)) for the ground-state searches: each group of m
 * vectors (the wanted states and `guards` more above them) is improved by Rayleigh-Ritz over the span
 * of the block X, its preconditioned residuals W = P (H X - X Lambda) and the previous directions P.
 * Convergence goes at the gap above the whole block, so a small gap inside it (two nearly equally
 * good minima) costs nothing, and the states are eigenstates of H itself (no splitting error).
 *
 * Groups: qdml_problem_ground makes each member its own group (its Hamiltonian, its guards); the
 * lowest-states search makes the B members one group. Vectors live in the backend's slots (backend.h):
 * vector j of kind k (X, HX, W, HW, P, HP) of group g is member (R = 1 ? g : j mod R) of slot
 * 6 (j / R) + k, R the vectors per slot row (1 for ground, B for the lowest states), so that X_0 .. of
 * every group is the state (slot 0) itself. The Hamiltonian and the preconditioner run on whole slots
 * (batched transforms); the inner products and combinations run per group on lists of vectors; the
 * small generalised eigenproblems run on the host (dense_eig.c). */
#include "lobpcg.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dense_eig.h"

enum { KX = 0, KHX = 1, KW = 2, KHW = 3, KP = 4, KHP = 5, KINDS = 6 };

/* Iterations between exact recomputations of H X (the combinations carry it along otherwise). */
#define REFRESH_EVERY 20
/* A group whose largest wanted residual has not fallen below half its best for this many iterations
 * is at the floor rounding sets: it stops, not converged. */
#define STALL_ITERATIONS 200
/* The preconditioner's shift, in units of the block's energy span (set_shifts). */
#define SHIFT_FACTOR 5.0

typedef struct lob {
    qdml_run r;
    qdml_problem *p;
    const qdml_ground_options *o;
    const char *fn;
    int64_t G;           /* groups */
    int K;               /* wanted states per group */
    int m;               /* vectors per group: K + guards */
    int R;               /* vectors per slot row */
    int rows;            /* slot rows */
    double *lambda;      /* G x m Ritz values */
    double *res;         /* G x m residual norms */
    double *best;        /* per group: smallest largest-wanted residual so far */
    int64_t *since_best; /* per group: iterations since */
    int64_t *iters;      /* per group: iterations taken */
    int64_t *happ;       /* per group: vectors H was applied to */
    unsigned char *done; /* per group: converged (1), stalled (2) or at max_steps (3) */
    int stopped;         /* the monitor callback asked to stop */
    int m_max;           /* the scratch is sized for this many vectors per group */
    int upgrade_to;      /* automatic guards of the ground search: the block grows to this many vectors
                            when a group converges slowly (0: it does not grow) */
    double *mark;        /* per group: the largest wanted residual at the last check of the pace */
    int *haveP;          /* per group: P holds directions */
    double *shift;       /* per member: preconditioner shift */
    int *sl;             /* list scratch (3m slots, 3m members, twice) */
    int64_t *me;
    double *S, *A, *C, *w, *D; /* (3m)^2 complex each; w, D 3m */
} lob;

static int pos_slot(const lob *l, int kind, int j) { return KINDS * (j / l->R) + kind; }
static int64_t pos_mem(const lob *l, int j, int64_t g) { return l->R == 1 ? g : j % l->R; }

/* Fill (sl, me)[at .. at + n) with vectors j0 .. j0 + n - 1 of `kind` of group g. */
static void list_of(const lob *l, int kind, int64_t g, int j0, int n, int at) {
    for (int j = 0; j < n; ++j) {
        l->sl[at + j] = pos_slot(l, kind, j0 + j);
        l->me[at + j] = pos_mem(l, j0 + j, g);
    }
}

static qdml_status backend(lob *l, qdml_status st, const char *what) {
    return st == QDML_OK ? st : qdml_run_backend_error(&l->r, st, l->fn, what);
}

/* Apply H (or the preconditioner) to every slot row of kind src into kind dst, counting the vectors of
 * the groups still searching. */
static qdml_status rows_h(lob *l, int src, int dst) {
    qdml_problem *p = l->p;
    for (int row = 0; row < l->rows; ++row) {
        qdml_status st = p->ops->apply_h(p->bs, KINDS * row + src, KINDS * row + dst, p->hbar, p->mass);
        if (st != QDML_OK) return backend(l, st, "apply_h");
    }
    for (int64_t g = 0; g < l->G; ++g)
        if (!l->done[g]) l->happ[g] += l->m;
    return QDML_OK;
}

static qdml_status rows_precondition(lob *l, int kind) {
    qdml_problem *p = l->p;
    for (int row = 0; row < l->rows; ++row) {
        qdml_status st =
            p->ops->precondition(p->bs, KINDS * row + kind, KINDS * row + kind, p->hbar, p->mass, l->shift, p->vmin);
        if (st != QDML_OK) return backend(l, st, "precondition");
    }
    return QDML_OK;
}

/* g (na x nb) = dV <a | b> for the lists at sl/me[0 ..) and [na ..); `hermitian`: b = H a (the upper
 * triangle is enough). */
static qdml_status dots_h(lob *l, int na, int nb, int hermitian, double *g) {
    qdml_problem *p = l->p;
    qdml_status st = p->ops->vdot(p->bs, na, l->sl, l->me, nb, l->sl + na, l->me + na, hermitian, g);
    if (st != QDML_OK) return backend(l, st, "vdot");
    for (size_t k = 0; k < 2 * (size_t)na * (size_t)nb; ++k)
        g[k] *= p->desc.dv;
    return QDML_OK;
}

static qdml_status dots(lob *l, int na, int nb, double *g) { return dots_h(l, na, nb, 0, g); }

/* out[j] = dV ||v_j||^2 for the m vectors of `kind` of group g, one product each. */
static qdml_status norms(lob *l, int kind, int64_t g, double *out) {
    for (int j = 0; j < l->m; ++j) {
        double z[2];
        list_of(l, kind, g, j, 1, 0);
        list_of(l, kind, g, j, 1, 1);
        qdml_status st = dots(l, 1, 1, z);
        if (st != QDML_OK) return st;
        out[j] = z[0];
    }
    return QDML_OK;
}

static qdml_status combine(lob *l, int ni, int nj, const double *c) {
    qdml_problem *p = l->p;
    qdml_status st = p->ops->vcombine(p->bs, ni, l->sl, l->me, nj, l->sl + ni, l->me + ni, c);
    return backend(l, st, "vcombine");
}

/* Rayleigh-Ritz over the n vectors of the kinds `kinds` (nk of them, m each) of group g and their images
 * under H (the kinds + 1): the m lowest Ritz pairs. The coefficients land in l->C (n x m) and the values
 * in l->lambda; returns the rank kept (< m: the basis was too dependent for m pairs). */
static qdml_status ritz(lob *l, int64_t g, const int *kinds, int nk, int *rank) {
    const int m = l->m, n = nk * m;
    for (int k = 0; k < nk; ++k)
        list_of(l, kinds[k], g, 0, m, k * m);
    for (int k = 0; k < nk; ++k)
        list_of(l, kinds[k], g, 0, m, n + k * m);
    qdml_status st = dots(l, n, n, l->S);
    if (st != QDML_OK) return st;
    for (int k = 0; k < nk; ++k)
        list_of(l, kinds[k] + 1, g, 0, m, n + k * m);
    if ((st = dots_h(l, n, n, 1, l->A)) != QDML_OK) return st;
    /* Scale to unit diagonal (directions of tiny norm are not dependent ones). */
    for (int i = 0; i < n; ++i) {
        const double d = l->S[2 * (i * n + i)];
        l->D[i] = d > 0 && isfinite(d) ? 1.0 / sqrt(d) : 0.0;
    }
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
            const double f = l->D[i] * l->D[j];
            l->S[2 * (i * n + j)] *= f;
            l->S[2 * (i * n + j) + 1] *= f;
            l->A[2 * (i * n + j)] *= f;
            l->A[2 * (i * n + j) + 1] *= f;
        }
    double *c = malloc(2 * (size_t)n * (size_t)n * sizeof(double));
    if (!c) return qdml_fail(l->p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate a %d x %d matrix", l->fn, n, n);
    int r = 0;
    const int e = qdml_herm_gen_eig(n, l->A, l->S, 1e-12, &r, l->w, c);
    if (e == -2) {
        free(c);
        return qdml_fail(l->p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate the Rayleigh-Ritz scratch (%d x %d)",
                         l->fn, n, n);
    }
    if (e != 0) r = 0;
    *rank = r;
    if (r >= m) {
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < m; ++j) {
                l->C[2 * (i * m + j)] = c[2 * ((size_t)i * r + j)] * l->D[i];
                l->C[2 * (i * m + j) + 1] = c[2 * ((size_t)i * r + j) + 1] * l->D[i];
            }
        for (int j = 0; j < m; ++j)
            l->lambda[g * m + j] = l->w[j];
    }
    free(c);
    return QDML_OK;
}

/* X := X C, HX := HX C for group g (C m x m in l->C): the first Rayleigh-Ritz, on X alone. */
static qdml_status rotate_block(lob *l, int64_t g) {
    const int m = l->m;
    qdml_status st;
    for (int pass = 0; pass < 2; ++pass) {
        const int kind = pass == 0 ? KX : KHX;
        list_of(l, kind, g, 0, m, 0);
        list_of(l, kind, g, 0, m, m);
        if ((st = combine(l, m, m, l->C)) != QDML_OK) return st;
    }
    return QDML_OK;
}

/* W := H X - X Lambda for group g, and the residual norms ||w_j|| (X is dV-orthonormal). */
static qdml_status residuals(lob *l, int64_t g) {
    const int m = l->m;
    double *c = l->A; /* 2m x m scratch */
    memset(c, 0, 2 * (size_t)(2 * m) * (size_t)m * sizeof(double));
    for (int j = 0; j < m; ++j) {
        c[2 * (j * m + j)] = -l->lambda[g * m + j];
        c[2 * ((m + j) * m + j)] = 1.0;
    }
    list_of(l, KX, g, 0, m, 0);
    list_of(l, KHX, g, 0, m, m);
    list_of(l, KW, g, 0, m, 2 * m);
    qdml_status st = combine(l, 2 * m, m, c);
    if (st != QDML_OK) return st;
    if ((st = norms(l, KW, g, l->w)) != QDML_OK) return st;
    for (int j = 0; j < m; ++j)
        l->res[g * m + j] = sqrt(fmax(l->w[j], 0.0));
    return QDML_OK;
}

/* W := W - X (X^H W dV), then each w_j scaled to unit norm (zero ones left). */
static qdml_status orthogonalise_w(lob *l, int64_t g) {
    const int m = l->m;
    list_of(l, KX, g, 0, m, 0);
    list_of(l, KW, g, 0, m, m);
    qdml_status st = dots(l, m, m, l->S); /* X^H W */
    if (st != QDML_OK) return st;
    double *c = l->A;
    memset(c, 0, 2 * (size_t)(2 * m) * (size_t)m * sizeof(double));
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < m; ++j) {
            c[2 * (i * m + j)] = -l->S[2 * (i * m + j)];
            c[2 * (i * m + j) + 1] = -l->S[2 * (i * m + j) + 1];
        }
    for (int j = 0; j < m; ++j)
        c[2 * ((m + j) * m + j)] = 1.0;
    list_of(l, KX, g, 0, m, 0);
    list_of(l, KW, g, 0, m, m);
    list_of(l, KW, g, 0, m, 2 * m);
    if ((st = combine(l, 2 * m, m, c)) != QDML_OK) return st;
    if ((st = norms(l, KW, g, l->w)) != QDML_OK) return st;
    memset(c, 0, 2 * (size_t)m * (size_t)m * sizeof(double));
    for (int j = 0; j < m; ++j) {
        /* A vector already well under the tolerance adds only rounding noise to the basis: its direction is
         * left out (soft locking), which keeps the basis well conditioned. */
        const double nrm = l->w[j];
        const int locked = l->res[g * m + j] <= 0.1 * l->o->tolerance;
        c[2 * (j * m + j)] = !locked && nrm > 0 && isfinite(nrm) ? 1.0 / sqrt(nrm) : 0.0;
    }
    list_of(l, KW, g, 0, m, 0);
    list_of(l, KW, g, 0, m, m);
    return combine(l, m, m, c);
}

/* One Rayleigh-Ritz over [X, W, P] (P left out on the first iteration, or when the basis is too
 * dependent with it): X, HX, P, HP updated. Returns 0 in *ok when even [X, W] had too low a rank. */
static qdml_status update(lob *l, int64_t g, int *ok) {
    const int m = l->m;
    int kinds[3] = {KX, KW, KP};
    int nk = l->haveP[g] ? 3 : 2, rank = 0;
    qdml_status st;
    *ok = 1;
    for (;;) {
        if ((st = ritz(l, g, kinds, nk, &rank)) != QDML_OK) return st;
        if (rank >= m) break;
        if (nk == 2) {
            *ok = 0;
            return QDML_OK;
        }
        nk = 2; /* restart without the directions */
    }
    const int n = nk * m;
    /* [X, P] := V [C, C with its X rows zeroed]; the same for the H images. */
    double *c = l->S;
    memset(c, 0, 2 * (size_t)n * (size_t)(2 * m) * sizeof(double));
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < m; ++j) {
            const double cr = l->C[2 * (i * m + j)], ci = l->C[2 * (i * m + j) + 1];
            c[2 * (i * 2 * m + j)] = cr;
            c[2 * (i * 2 * m + j) + 1] = ci;
            if (i >= m) {
                c[2 * (i * 2 * m + m + j)] = cr;
                c[2 * (i * 2 * m + m + j) + 1] = ci;
            }
        }
    for (int h = 0; h < 2; ++h) {
        for (int k = 0; k < nk; ++k)
            list_of(l, kinds[k] + h, g, 0, m, k * m);
        list_of(l, KX + h, g, 0, m, n);
        list_of(l, KP + h, g, 0, m, n + m);
        if ((st = combine(l, n, 2 * m, c)) != QDML_OK) return st;
    }
    l->haveP[g] = 1;
    return QDML_OK;
}

/* Guard vectors of group g: the state of a member times a power of one coordinate (odd and even
 * shapes along each axis in turn), plus a little deterministic noise so that none is a combination
 * of the others. */
static qdml_status make_guards(lob *l, int64_t g, double *buf) {
    qdml_problem *p = l->p;
    const qdml_backend_desc *d = &p->desc;
    const int64_t N = d->npoints;
    int axes[3], na = 0;
    for (int a = 0; a < 3; ++a)
        if (d->n[a] > 1) axes[na++] = a;
    if (na == 0) axes[na++] = 2;
    uint64_t seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(g + 1);
    for (int q = 0; q < l->m - l->K; ++q) {
        const int j = l->K + q;
        const int64_t src = l->R == 1 ? g : q % l->K;
        qdml_status st = p->ops->get_state(p->bs, src, buf);
        if (st != QDML_OK) return backend(l, st, "get_state");
        double amax = 0.0;
        for (int64_t i = 0; i < N; ++i)
            amax = fmax(amax, hypot(buf[2 * i], buf[2 * i + 1]));
        const int a = axes[q % na], power = 1 + q / na;
        const double half = 0.5 * d->length[a], mid = d->lo[a] + half;
        for (int64_t i = 0; i < N; ++i) {
            const int64_t ia = a == 0 ? i / (d->n[1] * d->n[2]) : a == 1 ? (i / d->n[2]) % d->n[1] : i % d->n[2];
            const double x = (d->lo[a] + (double)ia * d->length[a] / (double)d->n[a] - mid) / half;
            const double f = pow(x, power);
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            const double u1 = (double)(seed >> 11) * 0x1.0p-53 - 0.5;
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            const double u2 = (double)(seed >> 11) * 0x1.0p-53 - 0.5;
            buf[2 * i] = buf[2 * i] * f + 1e-3 * amax * u1;
            buf[2 * i + 1] = buf[2 * i + 1] * f + 1e-3 * amax * u2;
        }
        if ((st = p->ops->vset(p->bs, pos_slot(l, KX, j), pos_mem(l, j, g), buf)) != QDML_OK)
            return backend(l, st, "vset");
    }
    return QDML_OK;
}

int qdml_lobpcg_available(const qdml_problem *p) {
    const qdml_backend_ops *o = p->ops;
    return o->vectors && o->apply_h && o->precondition && o->vdot && o->vcombine && o->vset &&
           p->desc.precision == QDML_FLOAT64;
}

static void lob_free(lob *l) {
    free(l->lambda);
    free(l->res);
    free(l->best);
    free(l->since_best);
    free(l->iters);
    free(l->happ);
    free(l->done);
    free(l->haveP);
    free(l->shift);
    free(l->mark);
    free(l->sl);
    free(l->me);
    free(l->S);
    free(l->A);
    free(l->C);
    free(l->w);
    free(l->D);
    qdml_run_free(&l->r);
}

static qdml_status lob_init(lob *l, qdml_problem *p, const qdml_ground_options *o, const char *fn, int block) {
    memset(l, 0, sizeof *l);
    l->p = p;
    l->o = o;
    l->fn = fn;
    qdml_status st = qdml_run_init(&l->r, p, fn);
    if (st != QDML_OK) return st;
    const int64_t B = p->batch;
    l->G = block ? 1 : B;
    l->K = block ? (int)B : 1;
    int64_t guards = o->guard_states, later = 0;
    if (guards == 0 && !block) {
        /* The ground search starts alone and takes 2 guards on where it converges slowly (search). */
        later = 2;
    } else if (guards == 0) {
        guards = B / 4 > 2 ? B / 4 : 2;
    }
    if (guards < 0) guards = 0;
    /* No more vectors than the grid has points (as many states as points: no guards). */
    if (guards > p->desc.npoints - l->K) guards = p->desc.npoints - l->K;
    if (later > p->desc.npoints - l->K) later = p->desc.npoints - l->K;
    l->m = l->K + (int)guards;
    l->upgrade_to = later > 0 ? l->K + (int)later : 0;
    l->m_max = l->upgrade_to > l->m ? l->upgrade_to : l->m;
    l->R = block ? (int)B : 1;
    l->rows = (l->m + l->R - 1) / l->R;
    const size_t G = (size_t)l->G, m = (size_t)l->m_max, n3 = 3 * m;
    l->lambda = qdml_calloc_array(G * m, sizeof(double));
    l->res = qdml_calloc_array(G * m, sizeof(double));
    l->best = qdml_calloc_array(G, sizeof(double));
    l->since_best = qdml_calloc_array(G, sizeof(int64_t));
    l->iters = qdml_calloc_array(G, sizeof(int64_t));
    l->happ = qdml_calloc_array(G, sizeof(int64_t));
    l->done = qdml_calloc_array(G, 1);
    l->haveP = qdml_calloc_array(G, sizeof(int));
    l->shift = qdml_calloc_array((size_t)B, sizeof(double));
    l->mark = qdml_calloc_array(G, sizeof(double));
    l->sl = qdml_calloc_array(2 * n3, sizeof(int));
    l->me = qdml_calloc_array(2 * n3, sizeof(int64_t));
    l->S = qdml_calloc_array(n3 * n3, 2 * sizeof(double));
    l->A = qdml_calloc_array(n3 * n3, 2 * sizeof(double));
    l->C = qdml_calloc_array(n3 * m, 2 * sizeof(double));
    l->w = qdml_calloc_array(n3, sizeof(double));
    l->D = qdml_calloc_array(n3, sizeof(double));
    if (!l->lambda || !l->res || !l->best || !l->since_best || !l->iters || !l->happ || !l->done || !l->haveP ||
        !l->shift || !l->mark || !l->sl || !l->me || !l->S || !l->A || !l->C || !l->w || !l->D) {
        lob_free(l);
        return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate the eigensolver's scratch", fn);
    }
    for (size_t g = 0; g < G; ++g)
        l->best[g] = l->mark[g] = INFINITY;
    return QDML_OK;
}

/* Largest residual among the wanted states of group g. */
static double wanted_residual(const lob *l, int64_t g) {
    double r = 0.0;
    for (int j = 0; j < l->K; ++j)
        r = fmax(r, l->res[g * l->m + j]);
    return r;
}

/* Statistics of every member (the state, slot 0), recorded and shown to the callback. */
static qdml_status monitor(lob *l, int *stop) {
    qdml_run *r = &l->r;
    qdml_status st = qdml_run_measure(r, NULL, l->fn);
    if (st != QDML_OK) return st;
    if ((st = qdml_run_record(r, NULL)) != QDML_OK) return st;
    if (l->o->monitor && qdml_par_max(l->p->ctx, l->o->monitor(r->stats, r->B, l->o->monitor_user) != 0))
        *stop = l->stopped = 1;
    return QDML_OK;
}

/* The preconditioner's shift per member: SHIFT_FACTOR times the block's energy span above the
 * potential's minimum. Measured on the double wells and oscillators of perf/eigsh_peer.py, factors of 3
 * to 10 take the fewest iterations (1 takes about twice as many, 100 1.5 times). */
static void set_shifts(lob *l) {
    qdml_problem *p = l->p;
    for (int64_t b = 0; b < p->batch; ++b) {
        const int64_t g = l->R == 1 ? b : 0;
        double s = SHIFT_FACTOR * (l->lambda[g * l->m + l->m - 1] - p->vmin[b]);
        if (!(s > 0) || !isfinite(s)) s = fabs(l->lambda[g * l->m + l->m - 1]) + 1.0;
        /* Kept while within 25 % (the preconditioner's quality hardly depends on it), so that the backend
         * can keep the point-wise weights it makes from it. */
        if (!(l->shift[b] > 0) || fabs(s - l->shift[b]) > 0.25 * l->shift[b]) l->shift[b] = s;
    }
}

/* H X, and the first Rayleigh-Ritz on X alone, of every group still searching. */
static qdml_status start_block(lob *l) {
    qdml_status st;
    if ((st = rows_h(l, KX, KHX)) != QDML_OK) return st;
    for (int64_t g = 0; g < l->G; ++g) {
        if (l->done[g]) continue;
        int rank = 0, kx[1] = {KX};
        if ((st = ritz(l, g, kx, 1, &rank)) != QDML_OK) return st;
        if (rank < l->m)
            return qdml_fail(l->p->ctx, QDML_ERR_INVALID_ARGUMENT,
                             "%s: the initial states of %s are (nearly) linearly dependent once %d guard states are "
                             "added: set states that overlap the wanted ones and differ from one another",
                             l->fn, l->R == 1 ? "a member" : "the block", l->m - l->K);
        if ((st = rotate_block(l, g)) != QDML_OK) return st;
        l->haveP[g] = 0;
        l->best[g] = l->mark[g] = INFINITY;
        l->since_best[g] = 0;
    }
    return QDML_OK;
}

/* The ground search's block grows from the state alone to upgrade_to vectors: guard states made from
 * the states as they are now (the work slots are made anew; slot 0, the states, stays). */
static qdml_status grow_block(lob *l, double *buf) {
    qdml_problem *p = l->p;
    l->m = l->upgrade_to;
    l->upgrade_to = 0;
    l->rows = l->m; /* (R = 1) */
    qdml_status st = p->ops->vectors(p->bs, KINDS * l->rows - 1);
    if (st != QDML_OK) return backend(l, st, "vectors");
    for (int64_t g = 0; g < l->G; ++g)
        if ((st = make_guards(l, g, buf)) != QDML_OK) return st;
    return start_block(l);
}

/* The pace check of the automatic guards, every PACE_ITERATIONS: a group whose largest wanted residual
 * fell less than 10 times since the last check converges slowly (a small gap above the state). */
#define PACE_ITERATIONS 20

static qdml_status search(lob *l, double *buf) {
    qdml_problem *p = l->p;
    qdml_run *r = &l->r;
    const qdml_ground_options *o = l->o;
    const int64_t every = o->monitor_every > 0 ? o->monitor_every : 10;
    qdml_status st;
    if ((st = start_block(l)) != QDML_OK) return st;
    int fresh = 0, stop = 0;
    int64_t it = 0;
    for (;;) {
        for (int64_t g = 0; g < l->G; ++g)
            if (!l->done[g] && (st = residuals(l, g)) != QDML_OK) return st;
        /* Converged groups (their H X just computed exactly) stop; otherwise H X is refreshed first. */
        int any_candidate = 0, any_left = 0;
        for (int64_t g = 0; g < l->G; ++g) {
            if (l->done[g]) continue;
            const double res = wanted_residual(l, g);
            if (!isfinite(res)) {
                r->bad_member = l->R == 1 ? g : 0;
                return qdml_fail(p->ctx, QDML_ERR_DIVERGED,
                                 "%s: the eigensolver's residual of %s %lld became non-finite at iteration %lld; the "
                                 "states are left as the last iteration made them",
                                 l->fn, l->R == 1 ? "member" : "block", (long long)g, (long long)l->iters[g]);
            }
            if (res <= o->tolerance) {
                if (fresh)
                    l->done[g] = 1;
                else
                    any_candidate = 1;
            }
            if (res < 0.5 * l->best[g]) {
                l->best[g] = res;
                l->since_best[g] = 0;
            } else if (++l->since_best[g] >= STALL_ITERATIONS) {
                l->done[g] = 2;
            }
            if (l->iters[g] >= o->max_steps) l->done[g] = 3;
            any_left |= !l->done[g];
        }
        if (!any_left || stop) break;
        if (l->upgrade_to > l->m && it > 0 && it % PACE_ITERATIONS == 0 && !fresh) {
            int slow = 0;
            for (int64_t g = 0; g < l->G; ++g) {
                if (l->done[g]) continue;
                const double res = wanted_residual(l, g);
                if (res > 0.1 * l->mark[g] && isfinite(l->mark[g])) slow = 1;
                l->mark[g] = res;
            }
            if (slow) {
                if ((st = grow_block(l, buf)) != QDML_OK) return st;
                fresh = 1;
                continue;
            }
        }
        if (any_candidate || (it > 0 && it % REFRESH_EVERY == 0 && !fresh)) {
            if ((st = rows_h(l, KX, KHX)) != QDML_OK) return st;
            fresh = 1;
            continue;
        }
        fresh = 0;
        set_shifts(l);
        if ((st = rows_precondition(l, KW)) != QDML_OK) return st;
        for (int64_t g = 0; g < l->G; ++g)
            if (!l->done[g] && (st = orthogonalise_w(l, g)) != QDML_OK) return st;
        if ((st = rows_h(l, KW, KHW)) != QDML_OK) return st;
        /* H P exactly: carried through the recurrence P := W C_W + P C_P instead, its error grows without
         * bound once the block nears convergence (the directions become noise that the Rayleigh-Ritz
         * scaling magnifies), and the iteration turns away from the states it had found. */
        if (it > 0 && (st = rows_h(l, KP, KHP)) != QDML_OK) return st;
        for (int64_t g = 0; g < l->G; ++g) {
            if (l->done[g]) continue;
            int ok = 1;
            if ((st = update(l, g, &ok)) != QDML_OK) return st;
            if (!ok) l->done[g] = 2; /* nothing new to add: at the rounding floor */
            l->iters[g] += 1;
        }
        ++it;
        if (it % every == 0 && (st = monitor(l, &stop)) != QDML_OK) return st;
    }
    /* The final statistics (recorded unless the last monitoring point just did); a group whose measured
     * residual is above the tolerance is not converged. */
    if (it % every == 0 && it > 0) return QDML_OK;
    if ((st = qdml_run_measure(r, NULL, l->fn)) != QDML_OK) return st;
    return qdml_run_record(r, NULL);
}

qdml_status qdml_lobpcg_check(qdml_problem *p, const qdml_ground_options *o, const char *fn) {
    if (o->resume)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: options.resume = %d with options.method = LOBPCG: resume continues an imaginary-time "
                         "schedule; LOBPCG starts from the current states anyway (give resume = 0, or method = "
                         "QDML_GROUND_IMAGINARY_TIME)",
                         fn, o->resume);
    if (!qdml_lobpcg_available(p))
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: options.method = LOBPCG needs the block-vector ops and float64, which the %s backend "
                         "with this precision does not have: use QDML_GROUND_AUTO or QDML_GROUND_IMAGINARY_TIME",
                         fn, p->ops->name);
    return QDML_OK;
}

qdml_status qdml_lobpcg_run(qdml_problem *p, const qdml_ground_options *o, qdml_run_result *results, const char *fn,
                            const qdml_ground_block *block) {
    qdml_status st = qdml_lobpcg_check(p, o, fn);
    if (st != QDML_OK) return st;
    lob l;
    st = lob_init(&l, p, o, fn, block != NULL);
    if (st != QDML_OK) return st;
    qdml_run *r = &l.r;
    double *buf = NULL;
    if (results) memset(results, 0, (size_t)p->batch * sizeof *results);
    /* The start: block states orthonormalised in order (dependent ones refused), every state measurable. */
    if (block && (st = block->start(r, fn)) != QDML_OK) goto out;
    if ((st = qdml_run_measure(r, NULL, fn)) != QDML_OK) goto out;
    if (r->bad_member >= 0) {
        st = qdml_run_bad_start(r, r->bad_member, 1, fn);
        if (st == QDML_OK) st = qdml_run_describe_overflow(r, r->bad_member, fn);
        goto out;
    }
    if ((st = p->ops->vectors(p->bs, KINDS * l.rows - 1)) != QDML_OK) {
        st = backend(&l, st, "vectors");
        goto out;
    }
    buf = qdml_calloc_array((size_t)p->desc.npoints, 2 * sizeof(double));
    if (!buf) {
        st = qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate one state on the host", fn);
        goto out;
    }
    for (int64_t g = 0; g < l.G && st == QDML_OK; ++g)
        st = make_guards(&l, g, buf);
    /* The start in the history (the end is recorded by search). */
    if (st == QDML_OK) st = qdml_run_record(r, NULL);
    if (st == QDML_OK) st = search(&l, buf);
    if (st == QDML_OK && results)
        for (int64_t b = 0; b < p->batch; ++b) {
            const int64_t g = l.R == 1 ? b : 0;
            results[b].final = r->stats[b];
            results[b].steps = l.iters[g];
            results[b].hamiltonian_applications = l.happ[g] + r->happ[b];
            int conv = 1;
            for (int64_t k = 0; k < p->batch; ++k)
                if ((l.R == 1 ? k == b : 1) && !(r->stats[k].residual <= o->tolerance)) conv = 0;
            results[b].converged = conv;
            results[b].finished = l.done[g] == 1 || l.done[g] == 2;
            results[b].stopped_by_callback = l.stopped && !conv;
            results[b].method = QDML_GROUND_LOBPCG;
        }
out:
    free(buf);
    if (p->ops->vectors) (void)p->ops->vectors(p->bs, 0);
    lob_free(&l);
    if (st == QDML_OK) qdml_clear_error(p->ctx);
    return st;
}
