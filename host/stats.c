#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pointwise.h"

void qdml_stats_from_moments(const qdml_problem *p, int64_t b, const qdml_moments *m, qdml_stats *s) {
    memset(s, 0, sizeof *s);
    const int dim = p->grid.dim, pad = 3 - dim;
    s->step = p->steps[b];
    s->time = p->time[b];
    s->dt = p->dt[b];
    s->norm = m->s0 * p->desc.dv;
    const double inv = m->s0 > 0 ? 1.0 / m->s0 : NAN;
    s->kinetic = m->st * inv;
    s->potential = m->sv * inv;
    s->energy = s->kinetic + s->potential;
    s->residual = sqrt(m->sres * inv);
    for (int d = 0; d < dim; ++d) {
        double mean = m->sx[pad + d] * inv;
        double var = m->sxx[pad + d] * inv - mean * mean;
        s->mean[d] = mean;
        s->width[d] = sqrt(var > 0 ? var : 0.0);
    }
    s->density_max = m->rmax;
    s->argmax_index = m->imax;
    int64_t rem = m->imax >= 0 ? m->imax : 0;
    for (int d = dim - 1; d >= 0; --d) {
        int64_t j = rem % p->grid.n[d];
        rem /= p->grid.n[d];
        s->argmax[d] = qdml_grid_point(p->grid.lo[d], p->grid.hi[d] - p->grid.lo[d], j, p->grid.n[d]);
    }
}

qdml_status qdml_history_push(qdml_problem *p, int64_t b, const qdml_stats *s) {
    qdml_history *h = &p->history[b];
    if (h->count == h->capacity) {
        size_t cap = h->capacity ? 2 * h->capacity : 64;
        size_t bytes;
        if (!qdml_mul_size(cap, sizeof *h->items, &bytes))
            return qdml_fail(p->ctx, QDML_ERR_OVERFLOW, "history of member %lld is too long", (long long)b);
        qdml_stats *items = realloc(h->items, bytes);
        if (!items)
            return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "cannot grow the history of member %lld to %zu entries",
                             (long long)b, cap);
        h->items = items;
        h->capacity = cap;
    }
    h->items[h->count++] = *s;
    return QDML_OK;
}

qdml_status qdml_problem_stats(qdml_problem *p, int64_t member, qdml_stats *out) {
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_stats: problem is NULL");
    if (member < 0 || member >= p->batch)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_stats: member = %lld: must be in 0..%lld",
                         (long long)member, (long long)(p->batch - 1));
    if (!out) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_stats: out is NULL");
    if (!p->has_potential[member])
        return qdml_fail(p->ctx, QDML_ERR_NOT_READY,
                         "qdml_problem_stats: member %lld has no potential set (qdml_problem_set_potential)",
                         (long long)member);
    qdml_moments *m = qdml_calloc_array((size_t)p->batch, sizeof *m);
    unsigned char *want = qdml_calloc_array((size_t)p->batch, 1);
    if (!m || !want) {
        free(m);
        free(want);
        return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "qdml_problem_stats: cannot allocate scratch");
    }
    want[member] = 1;
    qdml_status st = p->ops->moments(p->bs, p->hbar, p->mass, want, m);
    if (st == QDML_OK) qdml_stats_from_moments(p, member, &m[member], out);
    free(m);
    free(want);
    if (st != QDML_OK)
        return qdml_fail_from(p->ctx, st, "qdml_problem_stats: the %s backend failed in moments", p->ops->name);
    qdml_clear_error(p->ctx);
    return QDML_OK;
}

qdml_status qdml_problem_history(const qdml_problem *p, int64_t member, qdml_stats *out, size_t capacity,
                                 size_t *count) {
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_history: problem is NULL");
    if (member < 0 || member >= p->batch)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_history: member = %lld: must be in 0..%lld",
                         (long long)member, (long long)(p->batch - 1));
    if (!count) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_history: count is NULL");
    if (capacity > 0 && !out)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_history: out is NULL with capacity %zu",
                         capacity);
    const qdml_history *h = &p->history[member];
    size_t n = h->count < capacity ? h->count : capacity;
    if (n) memcpy(out, h->items, n * sizeof *out);
    *count = h->count;
    return QDML_OK;
}

qdml_status qdml_problem_clear_history(qdml_problem *p, int64_t member) {
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_clear_history: problem is NULL");
    if (member != QDML_ALL_MEMBERS && (member < 0 || member >= p->batch))
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "qdml_problem_clear_history: member = %lld: must be in 0..%lld or QDML_ALL_MEMBERS",
                         (long long)member, (long long)(p->batch - 1));
    int64_t b0 = member == QDML_ALL_MEMBERS ? 0 : member, b1 = member == QDML_ALL_MEMBERS ? p->batch : member + 1;
    for (int64_t b = b0; b < b1; ++b) p->history[b].count = 0;
    qdml_clear_error(p->ctx);
    return QDML_OK;
}
