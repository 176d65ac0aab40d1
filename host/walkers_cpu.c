/* The walkers on the CPU (OpenMP): every member's population in host memory, walker-major (a walker's
 * dim coordinates together), stepped by core/walkers.h.
 *
 * A step of a member, in passes over fixed chunks of CHUNK walkers (so that its sums and the new
 * walkers' order do not depend on the threads):
 *   1. parallel: each walker proposes a move (its own random numbers), evaluates it (built-ins; a
 *      callback is evaluated in a serial pass in walker order instead), is accepted or not and
 *      weighted; each chunk sums its weights and weighted energies; then the chunks' sums in order;
 *   2. parallel: each walker's copies floor(lambda w + u) (lambda = 1 unless the expected population
 *      leaves [target / 2, 2 target]: core/walkers.h), each chunk's count and lowest objective; then
 *      each chunk's first place in the new population, in chunk order;
 *   3. parallel: each chunk copies its walkers to their places (the current buffer is overwritten only
 *      now, after the new population was found to fit: a failing step leaves the walkers as they were);
 *   4. the step's record and E_ref.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "objective_grad.h"
#include "walkers.h"
#include "walkers_private.h"

enum { CHUNK = 256 };

typedef struct member {
    qdml_walk_objective obj;
    int64_t n;             /* walkers now (0: not placed) */
    double *x, *f, *lap, *g; /* current: x and g capacity x dim, f and lap capacity */
    double eref, est;
    int fresh;             /* placed, not stepped: the first step sets E_ref to the mean E_L */
    uint32_t step;
    double best_f;
    double *best_x;
} member;

struct qdml_walk_state {
    qdml_walk_desc d;
    member *m;
    /* proposals of the member being stepped (shared by the members: one steps at a time) */
    double *xn, *fn, *lapn, *gn, *w, *el, *eln, *ub;
    int64_t *copies;
    unsigned char *accepted;
    /* per chunk */
    double *csum; /* CS fields per chunk */
    int64_t *coff;
    int nt;
};

enum { CS_W, CS_WEL, CS_WF, CS_ACC, CS_COPIES, CS_MINF, CS_MINI, CS };

static void drop(qdml_walk_state *s) {
    if (!s) return;
    if (s->m)
        for (int64_t b = 0; b < s->d.batch; ++b) {
            free(s->m[b].x);
            free(s->m[b].f);
            free(s->m[b].lap);
            free(s->m[b].g);
            free(s->m[b].best_x);
        }
    free(s->m);
    free(s->xn);
    free(s->fn);
    free(s->lapn);
    free(s->el);
    free(s->eln);
    free(s->gn);
    free(s->w);
    free(s->ub);
    free(s->copies);
    free(s->accepted);
    free(s->csum);
    free(s->coff);
    free(s);
}

static qdml_status cpu_create(const qdml_walk_desc *d, qdml_walk_state **out) {
    qdml_walk_state *s = calloc(1, sizeof *s);
    if (!s) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "walkers (cpu): no memory for the state");
    s->d = *d;
    s->nt = d->nthreads > 0 ? d->nthreads : omp_get_max_threads();
    const size_t cap = (size_t)d->capacity, dim = (size_t)d->dim, nchunks = (cap + CHUNK - 1) / CHUNK;
    const int grad = d->alpha > 0.0;
    s->m = qdml_calloc_array((size_t)d->batch, sizeof *s->m);
    int ok = s->m != NULL;
    for (int64_t b = 0; ok && b < d->batch; ++b) {
        member *m = &s->m[b];
        m->x = qdml_calloc_array(cap, dim * sizeof(double));
        m->f = qdml_calloc_array(cap, sizeof(double));
        m->lap = qdml_calloc_array(cap, sizeof(double));
        m->g = grad ? qdml_calloc_array(cap, dim * sizeof(double)) : NULL;
        m->best_x = qdml_calloc_array(dim, sizeof(double));
        ok = m->x && m->f && m->lap && m->best_x && (!grad || m->g);
    }
    s->xn = qdml_calloc_array(cap, dim * sizeof(double));
    s->fn = qdml_calloc_array(cap, sizeof(double));
    s->lapn = qdml_calloc_array(cap, sizeof(double));
    s->el = qdml_calloc_array(cap, sizeof(double));
    s->eln = qdml_calloc_array(cap, sizeof(double));
    s->gn = grad ? qdml_calloc_array(cap, dim * sizeof(double)) : NULL;
    s->w = qdml_calloc_array(cap, sizeof(double));
    s->ub = qdml_calloc_array(cap, sizeof(double));
    s->copies = qdml_calloc_array(cap, sizeof(int64_t));
    s->accepted = qdml_calloc_array(cap, 1);
    s->csum = qdml_calloc_array(nchunks, CS * sizeof(double));
    s->coff = qdml_calloc_array(nchunks, sizeof(int64_t));
    if (!ok || !s->xn || !s->fn || !s->lapn || !s->el || !s->eln || (grad && !s->gn) || !s->w || !s->ub || !s->copies || !s->accepted || !s->csum ||
        !s->coff) {
        drop(s);
        return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY,
                         "walkers (cpu): no memory for %lld members of %lld walkers in %d dimensions",
                         (long long)d->batch, (long long)d->capacity, d->dim);
    }
    *out = s;
    return QDML_OK;
}

static void cpu_destroy(qdml_walk_state *s) { drop(s); }

static qdml_status cpu_set_objective(qdml_walk_state *s, int64_t b, const qdml_walk_objective *o) {
    s->m[b].obj = *o;
    s->m[b].n = 0;
    return QDML_OK;
}

/* f, grad and Laplacian of a built-in member at x; g NULL: the value alone. */
static double eval_builtin(const qdml_walk_objective *o, int dim, const double *x, double *g, double *lap) {
    if (g) return qdml_objective_grad(&o->obj, o->axes, x, dim, g, lap);
    return qdml_objective_value_axes(&o->obj, o->axes, x, dim);
}

static double eval_at(const member *m, int dim, const double *x, double *g, double *lap) {
    if (m->obj.set == 2) return m->obj.fn(x, dim, g, lap, m->obj.user);
    return eval_builtin(&m->obj, dim, x, g, lap);
}

static double norm2(const double *g, int dim) {
    double a = 0.0;
    for (int i = 0; i < dim; ++i)
        a += g[i] * g[i];
    return a;
}

static qdml_walk_step step_consts(const qdml_walk_state *s, const member *m, int64_t b, const qdml_walk_run *r) {
    qdml_walk_step c;
    c.s2 = r->hbar * r->dt / r->mass;
    c.s = sqrt(c.s2);
    c.tau = r->dt / r->hbar;
    c.eref = m->eref;
    c.alpha = s->d.alpha / r->hbar; /* psi_T = exp(-alpha f / hbar) */
    c.kin = r->hbar * r->hbar / (2.0 * r->mass);
    c.key0 = (uint32_t)s->d.seed;
    c.key1 = (uint32_t)(s->d.seed >> 32);
    c.step = m->step;
    c.member = (uint32_t)b;
    return c;
}

static qdml_status cpu_place(qdml_walk_state *s, int64_t b, int64_t count, const double *x, const double *lo,
                             const double *hi) {
    member *m = &s->m[b];
    const int dim = s->d.dim, grad = s->d.alpha > 0.0;
    if (x) {
        memcpy(m->x, x, (size_t)count * (size_t)dim * sizeof(double));
    } else {
        qdml_walk_step c;
        memset(&c, 0, sizeof c);
        c.key0 = (uint32_t)s->d.seed;
        c.key1 = (uint32_t)(s->d.seed >> 32);
        c.step = QDML_WALK_UNIFORM_BLOCK;
        c.member = (uint32_t)b;
#pragma omp parallel for schedule(static) num_threads(s->nt)
        for (int64_t i = 0; i < count; ++i)
            for (int k = 0; 4 * k < dim; ++k) {
                const qdml_u32x4 r = qdml_walk_draw(&c, (uint32_t)k, (uint32_t)i);
                for (int j = 0; j < 4 && 4 * k + j < dim; ++j) {
                    const int a = 4 * k + j;
                    m->x[i * dim + a] = lo[a] + (hi[a] - lo[a]) * qdml_uniform_open(r.v[j]);
                }
            }
    }
    /* evaluate (callbacks in walker order on this thread) */
    if (m->obj.set == 2) {
        for (int64_t i = 0; i < count; ++i)
            m->f[i] = eval_at(m, dim, m->x + i * dim, grad ? m->g + i * dim : NULL, &m->lap[i]);
    } else {
#pragma omp parallel for schedule(static) num_threads(s->nt)
        for (int64_t i = 0; i < count; ++i)
            m->f[i] = eval_at(m, dim, m->x + i * dim, grad ? m->g + i * dim : NULL, &m->lap[i]);
    }
    int64_t finite = 0;
    m->best_f = INFINITY;
    for (int64_t i = 0; i < count; ++i) {
        if (!isfinite(m->f[i])) continue;
        ++finite;
        if (m->f[i] < m->best_f) {
            m->best_f = m->f[i];
            memcpy(m->best_x, m->x + i * dim, (size_t)dim * sizeof(double));
        }
    }
    if (!finite) {
        m->n = 0;
        return qdml_fail(NULL, QDML_ERR_DIVERGED,
                         "member %lld: none of the %lld walkers placed has a finite objective value", (long long)b,
                         (long long)count);
    }
    m->step = 0;
    m->fresh = 1;
    m->n = count;
    return QDML_OK;
}

/* The current walkers' local energies under this step's constants (they depend on hbar and m, which
 * a run, or a stage of annealing, sets); on a member's first step E_ref and its estimate := their
 * weighted mean over the finite ones. */
static void local_energies(qdml_walk_state *s, member *m, const qdml_walk_step *c) {
    const int dim = s->d.dim;
#pragma omp parallel for schedule(static) num_threads(s->nt)
    for (int64_t i = 0; i < m->n; ++i)
        s->el[i] = qdml_walk_local_energy(c, m->f[i], c->alpha > 0.0 ? norm2(m->g + i * dim, dim) : 0.0, m->lap[i]);
    if (!m->fresh) return;
    double sum = 0.0;
    int64_t k = 0;
    for (int64_t i = 0; i < m->n; ++i)
        if (isfinite(s->el[i])) sum += s->el[i], ++k;
    m->eref = m->est = sum / (double)k;
    m->fresh = 0;
}

/* Walker i after its proposal xn was evaluated (fn, gn, lap): acceptance and weight; its branching
 * uniform kept for the copies. */
static void finish_walker(qdml_walk_state *s, const member *m, const qdml_walk_step *c, int64_t i, double lap,
                          const double *u) {
    const int dim = s->d.dim;
    double *xn = s->xn + i * dim;
    double eln = qdml_walk_local_energy(c, s->fn[i], c->alpha > 0.0 ? norm2(s->gn + i * dim, dim) : 0.0, lap);
    int acc = isfinite(s->fn[i]) && isfinite(eln);
    if (acc && c->alpha > 0.0) {
        const double la = qdml_walk_log_accept(c, dim, m->x + i * dim, xn, m->g + i * dim, s->gn + i * dim, m->f[i],
                                               s->fn[i]);
        acc = la >= 0.0 || u[0] < exp(la);
    }
    if (!acc && c->alpha > 0.0) { /* stay: the walker's own values */
        memcpy(xn, m->x + i * dim, (size_t)dim * sizeof(double));
        memcpy(s->gn + i * dim, m->g + i * dim, (size_t)dim * sizeof(double));
        s->fn[i] = m->f[i];
        lap = m->lap[i];
        eln = s->el[i];
    }
    s->lapn[i] = lap;
    s->eln[i] = eln;
    s->accepted[i] = (unsigned char)acc;
    const double w = (acc || c->alpha > 0.0) ? qdml_walk_weight(c, s->el[i], eln) : 0.0;
    s->w[i] = isfinite(w) ? w : 0.0;
    s->ub[i] = u[1];
}

static void chunk_range(int64_t k, int64_t n, int64_t *a, int64_t *e) {
    *a = k * CHUNK;
    *e = *a + CHUNK < n ? *a + CHUNK : n;
}

/* a chunk's weights: sum, weighted E_L and f (where the weight is positive), acceptances */
static void chunk_weights(qdml_walk_state *s, int64_t k, int64_t n) {
    int64_t a, e;
    chunk_range(k, n, &a, &e);
    double sw = 0.0, swel = 0.0, swf = 0.0, acc = 0.0;
    for (int64_t i = a; i < e; ++i) {
        sw += s->w[i];
        if (s->w[i] > 0.0) {
            swel += s->w[i] * s->eln[i];
            swf += s->w[i] * s->fn[i];
        }
        acc += s->accepted[i];
    }
    double *cs = s->csum + k * CS;
    cs[CS_W] = sw, cs[CS_WEL] = swel, cs[CS_WF] = swf, cs[CS_ACC] = acc;
}

/* a chunk's copies floor(lambda w + u), their count, and its lowest f among the walkers kept */
static void chunk_copies(qdml_walk_state *s, int64_t k, int64_t n, double lambda) {
    int64_t a, e;
    chunk_range(k, n, &a, &e);
    double cp = 0.0, minf = INFINITY, mini = -1.0;
    for (int64_t i = a; i < e; ++i) {
        s->copies[i] = qdml_walk_copies(lambda * s->w[i], s->ub[i], s->d.capacity);
        cp += (double)s->copies[i];
        if (s->copies[i] > 0 && s->fn[i] < minf) {
            minf = s->fn[i];
            mini = (double)i;
        }
    }
    double *cs = s->csum + k * CS;
    cs[CS_COPIES] = cp, cs[CS_MINF] = minf, cs[CS_MINI] = mini;
}

static qdml_status step_member(qdml_walk_state *s, int64_t b, const qdml_walk_run *r, qdml_walkers_step *rec) {
    member *m = &s->m[b];
    const int dim = s->d.dim, grad = s->d.alpha > 0.0;
    const qdml_walk_step c0 = step_consts(s, m, b, r);
    local_energies(s, m, &c0); /* may set E_ref */
    const qdml_walk_step c = step_consts(s, m, b, r);
    const int64_t n = m->n, nchunks = (n + CHUNK - 1) / CHUNK;
    const int serial_eval = m->obj.set == 2;
    /* 1. move, evaluate, accept, weigh */
#pragma omp parallel for schedule(static) num_threads(s->nt)
    for (int64_t k = 0; k < nchunks; ++k) {
        int64_t a, e;
        chunk_range(k, n, &a, &e);
        for (int64_t i = a; i < e; ++i) {
            qdml_walk_propose(&c, (uint32_t)i, dim, m->x + i * dim, grad ? m->g + i * dim : NULL, s->xn + i * dim);
            if (serial_eval) continue;
            double lap = 0.0, u[2];
            s->fn[i] = eval_builtin(&m->obj, dim, s->xn + i * dim, grad ? s->gn + i * dim : NULL, &lap);
            qdml_walk_uniforms(&c, (uint32_t)i, u);
            finish_walker(s, m, &c, i, lap, u);
        }
        if (!serial_eval) chunk_weights(s, k, n);
    }
    if (serial_eval) {
        for (int64_t i = 0; i < n; ++i) {
            double lap = 0.0, u[2];
            s->fn[i] = m->obj.fn(s->xn + i * dim, dim, grad ? s->gn + i * dim : NULL, grad ? &lap : NULL, m->obj.user);
            qdml_walk_uniforms(&c, (uint32_t)i, u);
            finish_walker(s, m, &c, i, lap, u);
        }
        for (int64_t k = 0; k < nchunks; ++k)
            chunk_weights(s, k, n);
    }
    double sw = 0.0, swel = 0.0, swf = 0.0, acc = 0.0;
    for (int64_t k = 0; k < nchunks; ++k) {
        const double *cs = s->csum + k * CS;
        sw += cs[CS_W], swel += cs[CS_WEL], swf += cs[CS_WF], acc += cs[CS_ACC];
    }
    /* 2. copies, with the expected population kept within [target / 2, min(2 target, 0.8 capacity)] */
    const double lambda = qdml_walk_lambda(sw, s->d.target, s->d.capacity);
#pragma omp parallel for schedule(static) num_threads(s->nt)
    for (int64_t k = 0; k < nchunks; ++k)
        chunk_copies(s, k, n, lambda);
    double minf = INFINITY;
    int64_t total = 0, mini = -1;
    for (int64_t k = 0; k < nchunks; ++k) {
        const double *cs = s->csum + k * CS;
        s->coff[k] = total;
        total += (int64_t)cs[CS_COPIES];
        if (total > s->d.capacity) total = s->d.capacity + 1; /* (no overflow; refused below) */
        if (cs[CS_MINF] < minf) minf = cs[CS_MINF], mini = (int64_t)cs[CS_MINI];
    }
    if (total == 0 || total > s->d.capacity || !(sw > 0.0) || !isfinite(sw))
        return qdml_fail(NULL, QDML_ERR_DIVERGED,
                         "member %lld, step %lu: the population of %lld walkers %s (total weight %g, E_ref %g): "
                         "use a smaller dt or more walkers",
                         (long long)b, (unsigned long)m->step, (long long)n,
                         total == 0 ? "died out" : "grew past its capacity", sw, m->eref);
    /* 3. the copies to their places */
#pragma omp parallel for schedule(static) num_threads(s->nt)
    for (int64_t k = 0; k < nchunks; ++k) {
        int64_t a, e;
        chunk_range(k, n, &a, &e);
        int64_t o = s->coff[k];
        for (int64_t i = a; i < e; ++i)
            for (int64_t j = 0; j < s->copies[i]; ++j, ++o) {
                memcpy(m->x + o * dim, s->xn + i * dim, (size_t)dim * sizeof(double));
                if (grad) memcpy(m->g + o * dim, s->gn + i * dim, (size_t)dim * sizeof(double));
                m->f[o] = s->fn[i];
                m->lap[o] = s->lapn[i];
            }
    }
    if (mini >= 0 && minf < m->best_f) {
        m->best_f = minf;
        memcpy(m->best_x, s->xn + mini * dim, (size_t)dim * sizeof(double));
    }
    /* 4. the record and E_ref */
    qdml_walk_record(rec, m->eref, r->hbar, r->dt, sw, swel, swf, acc, n, total);
    qdml_walk_feedback(&m->est, &m->eref, rec, lambda != 1.0, r->hbar, r->dt, r->feedback, s->d.target);
    m->n = total;
    m->step++;
    return QDML_OK;
}

static qdml_status cpu_steps(qdml_walk_state *s, int64_t n, const qdml_walk_run *r, qdml_walkers_step *rec,
                             int64_t *done) {
    *done = 0;
    for (int64_t t = 0; t < n; ++t) {
        for (int64_t b = 0; b < s->d.batch; ++b) {
            const qdml_status st = step_member(s, b, r, &rec[t * s->d.batch + b]);
            if (st != QDML_OK) return st; /* members before b made step t: see qdml_walkers_run */
        }
        *done = t + 1;
    }
    return QDML_OK;
}

static qdml_status cpu_positions(qdml_walk_state *s, int64_t b, double *x, int64_t capacity, int64_t *count) {
    const member *m = &s->m[b];
    *count = m->n;
    const int64_t k = capacity < m->n ? capacity : m->n;
    if (k > 0) memcpy(x, m->x, (size_t)k * (size_t)s->d.dim * sizeof(double));
    return QDML_OK;
}

static qdml_status cpu_best(qdml_walk_state *s, int64_t b, double *x, double *f) {
    const member *m = &s->m[b];
    if (x) memcpy(x, m->best_x, (size_t)s->d.dim * sizeof(double));
    if (f) *f = m->best_f;
    return QDML_OK;
}

const qdml_walker_ops qdml_walkers_cpu_ops = {
    "cpu", 1, cpu_create, cpu_destroy, cpu_set_objective, cpu_place, cpu_steps, cpu_positions, cpu_best,
};
