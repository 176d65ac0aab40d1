/* Checkpoints: writing (qdml_checkpoint_save). The format is checkpoint_format.h; reading and loading
 * are checkpoint_read.c. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "internal.h"
#include "checkpoint_format.h"

/* ---- writing ----------------------------------------------------------------------------------- */

typedef struct writer {
    FILE *f;
    uint64_t hash;
    int ok;
    unsigned char buf[8192];
    size_t used;
} writer;

static void w_flush(writer *w) {
    if (w->ok && w->used && w->f && fwrite(w->buf, 1, w->used, w->f) != w->used) w->ok = 0;
    w->used = 0;
}
static void w_bytes(writer *w, const unsigned char *p, size_t n) {
    w->hash = fnv1a(w->hash, p, n);
    while (n > 0) {
        if (w->used == sizeof w->buf) w_flush(w);
        size_t k = sizeof w->buf - w->used < n ? sizeof w->buf - w->used : n;
        memcpy(w->buf + w->used, p, k);
        w->used += k;
        p += k;
        n -= k;
    }
}
static void w_u64(writer *w, uint64_t v) {
    unsigned char b[8];
    put_u64(b, v);
    w_bytes(w, b, 8);
}
static void w_u32(writer *w, uint32_t v) {
    unsigned char b[4];
    put_u32(b, v);
    w_bytes(w, b, 4);
}
static void w_f64(writer *w, double v) { w_u64(w, dbits(v)); }
static void w_f64s(writer *w, const double *v, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
        w_f64(w, v[i]);
}

/* Payload bytes of a problem's checkpoint; 0 on overflow. */
static uint64_t payload_bytes(const qdml_problem *p) {
    uint64_t total = CK_GRID_BYTES + 8 + (uint64_t)p->batch * (CK_MEMBER_BYTES + CK_GROUND_MEMBER_BYTES) + CK_RUN_BYTES;
    const uint64_t pts = (uint64_t)p->npoints;
    for (int64_t b = 0; b < p->batch; ++b) {
        uint64_t words = (p->has_potential[b] ? pts : 0) + 2 * pts + (uint64_t)p->history[b].count * CK_STATS_WORDS;
        if (words > (UINT64_MAX - total) / 8) return 0;
        total += 8 * words;
    }
    return total;
}

qdml_status qdml_checkpoint_save(const qdml_problem *p, const char *path) {
    static const char fn[] = "qdml_checkpoint_save";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    if (!path || !path[0]) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: path is NULL or empty", fn);
    const uint64_t payload = payload_bytes(p);
    if (payload == 0) return qdml_fail(p->ctx, QDML_ERR_OVERFLOW, "%s: the checkpoint's size overflows", fn);
    /* A backend that streams members in parts (an MPI context) is asked for CK_PART points at a time, so that
     * no rank holds a whole member; otherwise a member is copied out whole. */
    const int parts = p->ops->get_part != NULL;
    const int64_t part = part_points(), chunk = parts && p->npoints > part ? part : p->npoints;
    double *buf = qdml_calloc_array((size_t)chunk, 2 * sizeof(double));
    writer *w = calloc(1, sizeof *w);
    if (!buf || !w) {
        free(buf);
        free(w);
        return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate a host buffer of %lld complex points", fn,
                         (long long)p->npoints);
    }
    /* On an MPI context rank 0 writes, and every rank takes part in copying the members out (the copies
     * are collective); each step that can fail on one rank alone is agreed on. */
    const int writer_rank = qdml_par_rank(p->ctx) == 0;
    qdml_atomic_file af;
    qdml_status st = writer_rank ? qdml_atomic_open(&af, path, 1, fn) : QDML_OK;
    if (qdml_par_max(p->ctx, st != QDML_OK)) {
        free(buf);
        free(w);
        if (st == QDML_OK) {
            qdml_atomic_abort(&af);
            st = qdml_fail(p->ctx, QDML_ERR_IO, "%s: rank 0 could not open '%s' (its message says why)", fn, path);
        }
        return qdml_keep_error(p->ctx, st);
    }
    w->f = writer_rank ? af.f : NULL;
    w->hash = FNV_OFFSET;
    w->ok = 1;
    /* header */
    w_bytes(w, (const unsigned char *)CK_MAGIC, 8);
    w_u32(w, CK_VERSION);
    w_u32(w, 0);
    w_u64(w, payload);
    /* grid */
    w_u32(w, (uint32_t)p->grid.dim);
    w_u32(w, (uint32_t)p->desc.precision);
    for (int d = 0; d < QDML_MAX_DIM; ++d)
        w_u64(w, (uint64_t)(d < p->grid.dim ? p->grid.n[d] : 0));
    for (int d = 0; d < QDML_MAX_DIM; ++d)
        w_f64(w, d < p->grid.dim ? p->grid.lo[d] : 0.0);
    for (int d = 0; d < QDML_MAX_DIM; ++d)
        w_f64(w, d < p->grid.dim ? p->grid.hi[d] : 0.0);
    w_u64(w, (uint64_t)p->batch);
    w_u64(w, (uint64_t)p->npoints);
    /* per-member scalars */
    for (int64_t b = 0; b < p->batch; ++b) {
        w_f64(w, p->hbar[b]);
        w_f64(w, p->mass[b]);
        w_u64(w, p->has_potential[b] ? 1u : 0u);
        w_u64(w, (uint64_t)p->steps[b]);
        w_f64(w, p->time[b]);
        w_f64(w, p->dt[b]);
        w_u64(w, (uint64_t)p->history[b].count);
    }
    /* the ground-state search's schedule */
    w_u64(w, p->ground_valid ? 1u : 0u);
    for (int64_t b = 0; b < p->batch; ++b) {
        w_f64(w, p->ground[b].dt_min);
        w_u64(w, (uint64_t)p->ground[b].stalled);
        w_u64(w, p->ground[b].converged ? 1u : 0u);
        w_u64(w, p->ground[b].active ? 1u : 0u);
        uint64_t words[CK_STATS_WORDS];
        stats_words(&p->ground[b].last, words);
        for (unsigned i = 0; i < CK_STATS_WORDS; ++i)
            w_u64(w, words[i]);
    }
    /* the last run */
    const qdml_run_info *run = &p->last_run;
    w_u32(w, (uint32_t)run->kind);
    w_u32(w, (uint32_t)run->mode);
    w_u32(w, (uint32_t)run->splitting);
    w_u32(w, (run->renormalize ? 1u : 0u) | (run->potential_only ? 2u : 0u));
    w_f64(w, run->tolerance);
    w_f64(w, run->dt_initial);
    w_f64(w, run->dt_min);
    w_u64(w, (uint64_t)run->monitor_every);
    w_u32(w, (uint32_t)run->precision);
    w_u32(w, 0);
    /* per-member arrays */
    for (int64_t b = 0; b < p->batch && st == QDML_OK; ++b) {
        for (int which = p->has_potential[b] ? 1 : 0; which >= 0 && st == QDML_OK; --which) {
            const int per = which ? 1 : 2; /* the potential, then the state */
            for (int64_t first = 0; first < p->npoints && st == QDML_OK; first += chunk) {
                const int64_t k = p->npoints - first < chunk ? p->npoints - first : chunk;
                if (parts)
                    st = p->ops->get_part(p->bs, b, which, first, k, buf);
                else
                    st = which ? p->ops->get_potential(p->bs, b, buf) : p->ops->get_state(p->bs, b, buf);
                if (st != QDML_OK)
                    st = qdml_fail_from(p->ctx, st, "%s: the %s backend failed to copy out the %s of member %lld", fn,
                                        p->ops->name, which ? "potential" : "state", (long long)b);
                else
                    w_f64s(w, buf, per * k);
            }
        }
        if (st != QDML_OK) break;
        uint64_t words[CK_STATS_WORDS];
        for (size_t k = 0; k < p->history[b].count; ++k) {
            stats_words(&p->history[b].items[k], words);
            for (unsigned i = 0; i < CK_STATS_WORDS; ++i)
                w_u64(w, words[i]);
        }
    }
    unsigned char trailer[8];
    put_u64(trailer, w->hash);
    w_flush(w);
    if (w->ok && w->f && fwrite(trailer, 1, sizeof trailer, w->f) != sizeof trailer) w->ok = 0;
    if (!writer_rank)
        ;
    else if (st != QDML_OK)
        qdml_atomic_abort(&af);
    else if ((st = qdml_atomic_commit(&af, w->ok)) != QDML_OK)
        (void)qdml_keep_error(p->ctx, st);
    if (qdml_par_max(p->ctx, st != QDML_OK) && st == QDML_OK)
        st = qdml_fail(p->ctx, QDML_ERR_IO, "%s: rank 0 failed to write '%s' (its message says why)", fn, path);
    free(buf);
    free(w);
    if (st == QDML_OK) qdml_clear_error(p->ctx);
    return st;
}
