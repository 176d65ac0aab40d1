/* Checkpoints: reading (qdml_checkpoint_info, qdml_checkpoint_load), every byte checked before anything
 * changes. The format is checkpoint_format.h; writing is checkpoint.c. */
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

/* ---- reading ----------------------------------------------------------------------------------- */

/* A checkpoint checked (size, magic, version, checksum, the layout) with its header and metadata in memory
 * and the file left open for its arrays, which are read a chunk at a time (a file larger than memory loads). */
typedef struct ckpt {
    unsigned char *data;   /* the header and everything before the arrays */
    size_t size;           /* bytes of data: the arrays start at this offset of the file */
    FILE *f;
    uint64_t want;         /* the trailer's checksum */
    uint64_t want_len;     /* bytes of the arrays (from the end of data to the trailer) */
    int sized;             /* magic, version and size are a checkpoint's: a later failure may be corruption */
    qdml_grid grid;
    uint32_t precision;
    int64_t batch, npoints;
    const unsigned char *members; /* batch x CK_MEMBER_BYTES */
    const unsigned char *ground;  /* u64 valid, then batch x CK_GROUND_MEMBER_BYTES */
    qdml_run_info run;            /* the record of the last run; kind NONE in version 1 */
} ckpt;

static void ck_release(ckpt *c) {
    free(c->data);
    if (c->f) fclose(c->f);
    c->data = NULL;
    c->f = NULL;
}

/* Reading the arrays in order from a file offset, a chunk at a time, the checksum going along. */
typedef struct ck_stream {
    FILE *f;
    unsigned char *buf;
    size_t len, pos;
    uint64_t hash;
    uint64_t left; /* bytes of the region not yet read */
    int ok;
} ck_stream;

static int cs_start(ck_stream *s, FILE *f, uint64_t offset, uint64_t length, uint64_t hash) {
    memset(s, 0, sizeof *s);
    s->f = f;
    s->hash = hash;
    s->left = length;
    s->buf = malloc(CK_CHUNK);
    s->ok = s->buf && fseeko(f, (off_t)offset, SEEK_SET) == 0;
    return s->ok;
}

static uint64_t cs_u64(ck_stream *s) {
    if (s->pos + 8 > s->len) {
        const size_t keep = s->len - s->pos; /* chunks are multiples of 8 from a multiple of 8: keep is 0 */
        if (!s->ok || keep) {
            s->ok = 0;
            return 0;
        }
        const size_t want = s->left < CK_CHUNK ? (size_t)s->left : CK_CHUNK;
        s->len = want ? fread(s->buf, 1, want, s->f) : 0;
        s->left -= s->len;
        s->pos = 0;
        s->hash = fnv1a(s->hash, s->buf, s->len);
        if (s->len < 8) {
            s->ok = 0;
            return 0;
        }
    }
    const uint64_t v = get_u64(s->buf + s->pos);
    s->pos += 8;
    return v;
}

static void cs_end(ck_stream *s) {
    free(s->buf);
    s->buf = NULL;
}

/* The record of the last run (version 2), checked field by field. */
static qdml_status read_run(qdml_context *ctx, const char *fn, const char *path, const unsigned char *q,
                            qdml_run_info *run) {
    const uint32_t kind = get_u32(q), mode = get_u32(q + 4), split = get_u32(q + 8), flags = get_u32(q + 12);
    const double tol = bitsd(get_u64(q + 16)), dt0 = bitsd(get_u64(q + 24)), dtmin = bitsd(get_u64(q + 32));
    const int64_t every = (int64_t)get_u64(q + 40);
    const uint32_t prec = get_u32(q + 48), zero = get_u32(q + 52);
    if (kind > QDML_RUN_LOWEST_STATES || mode > QDML_IMAGINARY_TIME || split > QDML_SPLIT_CHIN4 || flags > 3 ||
        !(isfinite(tol) && tol >= 0) || !(isfinite(dt0) && dt0 >= 0) || !(isfinite(dtmin) && dtmin >= 0) || every < 0 ||
        prec > 1 || zero != 0)
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s': invalid record of the last run", fn, path);
    memset(run, 0, sizeof *run);
    run->kind = (qdml_run_kind)kind;
    run->mode = (qdml_time_mode)mode;
    run->splitting = (qdml_splitting)split;
    run->renormalize = (flags & 1u) != 0;
    run->potential_only = (flags & 2u) != 0;
    run->tolerance = tol;
    run->dt_initial = dt0;
    run->dt_min = dtmin;
    run->monitor_every = every;
    run->precision = (qdml_precision)prec;
    return QDML_OK;
}

/* The FNV-1a checksum of a file's first size - CK_TRAILER bytes, read a chunk at a time, and its trailer:
 * 0, -1 where no buffer could be had, 1 where the file ended early. */
static int file_checksum(FILE *f, uint64_t size, uint64_t *have, uint64_t *want) {
    ck_stream cs;
    if (!cs_start(&cs, f, 0, size - CK_TRAILER, FNV_OFFSET)) {
        cs_end(&cs);
        return -1;
    }
    for (uint64_t i = 0; i < (size - CK_TRAILER) / 8 && cs.ok; ++i) (void)cs_u64(&cs);
    unsigned char tail[CK_TRAILER];
    const int ok = cs.ok && fread(tail, 1, CK_TRAILER, f) == CK_TRAILER;
    *have = cs.hash;
    cs_end(&cs);
    if (!ok) return 1;
    *want = get_u64(tail);
    return 0;
}

static qdml_status corrupt(qdml_context *ctx, const char *fn, const char *path, uint64_t have, uint64_t want) {
    return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s' is corrupt: checksum %016llx, the file says %016llx", fn,
                     path, (unsigned long long)have, (unsigned long long)want);
}

/* A load that failed before it touched the problem, on a file whose magic, version and size are a
 * checkpoint's, reports a checksum that does not match as corrupt first, whatever else it found (ck_read
 * without `verify` and the values' pass check the layout and the values before the checksum is known), as
 * ck_read with `verify` does; otherwise st and its message stand. */
static qdml_status corrupt_first(qdml_context *ctx, const char *fn, const char *path, qdml_status st) {
    char msg[QDML_ERRLEN];
    qdml_save_error(msg);
    FILE *f = fopen(path, "rb");
    struct stat sb;
    uint64_t have = 0, want = 0;
    const int mismatch = f && fstat(fileno(f), &sb) == 0 && (uint64_t)sb.st_size >= CK_HEADER + CK_TRAILER &&
                         file_checksum(f, (uint64_t)sb.st_size, &have, &want) == 0 && have != want;
    if (f) fclose(f);
    if (mismatch) return corrupt(ctx, fn, path, have, want);
    qdml_restore_error(msg);
    return qdml_keep_error(ctx, st);
}

/* Header, metadata and layout of a checkpoint, checked; with `verify` the checksum first (a pass over the
 * whole file), without it the load's pass over the values computes it (and corrupt_first puts a mismatch
 * before any other failure). */
static qdml_status ck_read(qdml_context *ctx, const char *fn, const char *path, ckpt *c, int verify) {
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return qdml_fail(ctx, QDML_ERR_IO, "%s: cannot open '%s': %s", fn, path, strerror(e));
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s' is not a regular file", fn, path);
    }
    const uint64_t size = (uint64_t)sb.st_size;
    if (size < CK_HEADER + CK_TRAILER) {
        fclose(f);
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: '%s' is not a qdml checkpoint: %llu bytes is shorter than the %u-byte header and trailer",
                         fn, path, (unsigned long long)size, CK_HEADER + CK_TRAILER);
    }
    if (size > (uint64_t)SIZE_MAX) {
        fclose(f);
        return qdml_fail(ctx, QDML_ERR_OVERFLOW, "%s: '%s' (%llu bytes) does not fit in memory", fn, path,
                         (unsigned long long)size);
    }
    unsigned char head[CK_HEADER];
    if (fread(head, 1, CK_HEADER, f) != CK_HEADER) {
        fclose(f);
        return qdml_fail(ctx, QDML_ERR_IO, "%s: cannot read the header of '%s'", fn, path);
    }
    if (memcmp(head, CK_MAGIC, 8) != 0) {
        fclose(f);
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s' is not a qdml checkpoint (bad magic)", fn, path);
    }
    const uint32_t version = get_u32(head + 8);
    if (version != 1 && version != CK_VERSION) {
        fclose(f);
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: '%s' is a version %u checkpoint; this library reads versions 1 and %u", fn, path, version,
                         CK_VERSION);
    }
    const uint64_t run_bytes = version >= 2 ? CK_RUN_BYTES : 0;
    const uint64_t payload = get_u64(head + 16);
    if (payload > size || size - CK_HEADER - CK_TRAILER != payload) {
        fclose(f);
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: '%s' is truncated or has trailing bytes: %llu bytes, the header says %llu", fn, path,
                         (unsigned long long)size,
                         (unsigned long long)(payload <= UINT64_MAX - CK_HEADER - CK_TRAILER
                                                  ? payload + CK_HEADER + CK_TRAILER
                                                  : UINT64_MAX));
    }
    c->sized = 1;
    if (verify) {
        /* The checksum of everything before the trailer, read a chunk at a time. */
        uint64_t have = 0;
        const int r = file_checksum(f, size, &have, &c->want);
        if (r != 0) {
            fclose(f);
            return r < 0 ? qdml_fail(ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot start reading '%s'", fn, path)
                         : qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT,
                                     "%s: '%s' is truncated: it ended before its %llu bytes", fn, path,
                                     (unsigned long long)size);
        }
        if (c->want != have) {
            fclose(f);
            return corrupt(ctx, fn, path, have, c->want);
        }
    } else {
        unsigned char tail[CK_TRAILER];
        if (fseeko(f, (off_t)(size - CK_TRAILER), SEEK_SET) != 0 || fread(tail, 1, CK_TRAILER, f) != CK_TRAILER) {
            fclose(f);
            return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s' is truncated: it ended before its %llu bytes",
                             fn, path, (unsigned long long)size);
        }
        c->want = get_u64(tail);
    }
    /* The header and the metadata before the arrays, in memory: the batch first, then all of it. */
    unsigned char gridb[CK_GRID_BYTES];
    if (payload < CK_GRID_BYTES || fseeko(f, CK_HEADER, SEEK_SET) != 0 || fread(gridb, 1, CK_GRID_BYTES, f) != CK_GRID_BYTES) {
        fclose(f);
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s' describes an invalid grid or batch", fn, path);
    }
    const uint64_t batch = get_u64(gridb + 80);
    if (batch < 1 || payload < CK_GRID_BYTES + 8 + run_bytes ||
        batch > (payload - CK_GRID_BYTES - 8 - run_bytes) / (CK_MEMBER_BYTES + CK_GROUND_MEMBER_BYTES)) {
        fclose(f);
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s': batch %lld does not fit in the file", fn, path,
                         (long long)batch);
    }
    const uint64_t meta = CK_HEADER + CK_GRID_BYTES + 8 + batch * (CK_MEMBER_BYTES + CK_GROUND_MEMBER_BYTES) + run_bytes;
    c->data = malloc((size_t)meta);
    if (!c->data) {
        fclose(f);
        return qdml_fail(ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate %llu bytes to read '%s'", fn,
                         (unsigned long long)meta, path);
    }
    c->size = (size_t)meta;
    c->want_len = size - CK_TRAILER - meta;
    c->f = f;
    if (fseeko(f, 0, SEEK_SET) != 0 || fread(c->data, 1, (size_t)meta, f) != (size_t)meta) {
        ck_release(c);
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s' is truncated", fn, path);
    }
    /* The checksum matched; still check the layout so a crafted file cannot mislead the reader. */
    const unsigned char *q = c->data + CK_HEADER;
    qdml_status st = QDML_OK;
    const int dim = (int)get_u32(q);
    c->precision = get_u32(q + 4);
    int64_t n[QDML_MAX_DIM];
    double lo[QDML_MAX_DIM], hi[QDML_MAX_DIM];
    for (int d = 0; d < QDML_MAX_DIM; ++d) {
        n[d] = (int64_t)get_u64(q + 8 + 8 * d);
        lo[d] = bitsd(get_u64(q + 32 + 8 * d));
        hi[d] = bitsd(get_u64(q + 56 + 8 * d));
    }
    c->batch = (int64_t)get_u64(q + 80);
    c->npoints = (int64_t)get_u64(q + 88);
    if (payload < CK_GRID_BYTES || dim < 1 || dim > QDML_MAX_DIM || c->precision > 1 ||
        qdml_grid_init(&c->grid, dim, n, lo, hi) != QDML_OK || c->npoints < 1 ||
        qdml_grid_points(&c->grid) != c->npoints || c->batch < 1) {
        st = qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s' describes an invalid grid or batch", fn, path);
        goto bad;
    }
    if (payload < CK_GRID_BYTES + 8 + run_bytes ||
        (uint64_t)c->batch > (payload - CK_GRID_BYTES - 8 - run_bytes) / (CK_MEMBER_BYTES + CK_GROUND_MEMBER_BYTES)) {
        st = qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s': batch %lld does not fit in the file", fn, path,
                       (long long)c->batch);
        goto bad;
    }
    c->members = q + CK_GRID_BYTES;
    c->ground = c->members + (size_t)c->batch * CK_MEMBER_BYTES;
    const unsigned char *run = c->ground + 8 + (size_t)c->batch * CK_GROUND_MEMBER_BYTES;
    uint64_t total = CK_GRID_BYTES + 8 + (uint64_t)c->batch * (CK_MEMBER_BYTES + CK_GROUND_MEMBER_BYTES) + run_bytes;
    if (run_bytes && (st = read_run(ctx, fn, path, run, &c->run)) != QDML_OK) goto bad;
    if (get_u64(c->ground) > 1) {
        st = qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s': invalid ground schedule flag", fn, path);
        goto bad;
    }
    const uint64_t pts = (uint64_t)c->npoints;
    for (int64_t b = 0; b < c->batch; ++b) {
        const unsigned char *m = c->members + (size_t)b * CK_MEMBER_BYTES;
        const double hbar = bitsd(get_u64(m)), mass = bitsd(get_u64(m + 8));
        const uint64_t has_v = get_u64(m + 16);
        const int64_t steps = (int64_t)get_u64(m + 24);
        const double time = bitsd(get_u64(m + 32)), dt = bitsd(get_u64(m + 40));
        const uint64_t hist = get_u64(m + 48);
        const unsigned char *gm = c->ground + 8 + (size_t)b * CK_GROUND_MEMBER_BYTES;
        const double dt_min = bitsd(get_u64(gm));
        const int64_t stalled = (int64_t)get_u64(gm + 8);
        if (!(isfinite(hbar) && hbar > 0) || !(isfinite(mass) && mass > 0) || has_v > 1 || steps < 0 ||
            !isfinite(time) || !(isfinite(dt) && dt >= 0) || !(isfinite(dt_min) && dt_min >= 0) || stalled < 0 ||
            get_u64(gm + 16) > 1 || get_u64(gm + 24) > 1) {
            st = qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s': member %lld has invalid parameters", fn, path,
                           (long long)b);
            goto bad;
        }
        uint64_t left = payload - total;
        uint64_t words = (has_v ? pts : 0) + 2 * pts;
        if (words > left / 8 || hist > (left / 8 - words) / CK_STATS_WORDS) {
            st = qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s': the arrays of member %lld overrun the file", fn,
                           path, (long long)b);
            goto bad;
        }
        total += 8 * (words + hist * CK_STATS_WORDS);
    }
    if (total != payload) {
        st = qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s': %llu payload bytes, the layout accounts for %llu", fn,
                       path, (unsigned long long)payload, (unsigned long long)total);
        goto bad;
    }
    return QDML_OK;
bad:
    ck_release(c);
    return st;
}

qdml_status qdml_checkpoint_info(const char *path, qdml_grid *grid, int64_t *batch) {
    static const char fn[] = "qdml_checkpoint_info";
    if (!path || !path[0]) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: path is NULL or empty", fn);
    ckpt c;
    qdml_status st = ck_read(NULL, fn, path, &c, 1);
    if (st != QDML_OK) return st;
    if (grid) *grid = c.grid;
    if (batch) *batch = c.batch;
    ck_release(&c);
    return QDML_OK;
}

static int same_grid(const qdml_grid *a, const qdml_grid *b) {
    if (a->dim != b->dim) return 0;
    for (int d = 0; d < a->dim; ++d)
        if (a->n[d] != b->n[d] || a->lo[d] != b->lo[d] || a->hi[d] != b->hi[d]) return 0;
    return 1;
}

static void describe_grid(const qdml_grid *g, int64_t batch, char *buf, size_t len) {
    size_t used = 0;
#define APPEND(...)                                                                                                    \
    do {                                                                                                               \
        if (used < len) {                                                                                              \
            int w_ = snprintf(buf + used, len - used, __VA_ARGS__);                                                    \
            if (w_ > 0) used += (size_t)w_;                                                                            \
        }                                                                                                              \
    } while (0)
    APPEND("%dD, batch %lld, n = (", g->dim, (long long)batch);
    for (int d = 0; d < g->dim; ++d)
        APPEND("%s%lld", d ? ", " : "", (long long)g->n[d]);
    APPEND("), box ");
    for (int d = 0; d < g->dim; ++d)
        APPEND("%s[%.17g, %.17g)", d ? " x " : "", g->lo[d], g->hi[d]);
#undef APPEND
}

qdml_status qdml_checkpoint_load(qdml_problem *p, const char *path) {
    static const char fn[] = "qdml_checkpoint_load";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    if (!path || !path[0]) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: path is NULL or empty", fn);
    ckpt c;
    /* Read once for the values and the checksum together (below), not once more for the checksum alone. */
    qdml_status st = ck_read(p->ctx, fn, path, &c, 0);
    if (st != QDML_OK && c.sized) st = corrupt_first(p->ctx, fn, path, st);
    /* Every rank reads the file (a file system they share); what one rank cannot read stops them all. */
    if (qdml_par_max(p->ctx, st != QDML_OK)) {
        if (st != QDML_OK) return st;
        ck_release(&c);
        return qdml_fail(p->ctx, QDML_ERR_IO, "%s: another rank could not read '%s' (its message says why)", fn,
                         path);
    }
    if (c.batch != p->batch || !same_grid(&c.grid, &p->grid)) {
        char have[512], want[512];
        describe_grid(&c.grid, c.batch, have, sizeof have);
        describe_grid(&p->grid, p->batch, want, sizeof want);
        ck_release(&c);
        return corrupt_first(p->ctx, fn, path,
                             qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                                       "%s: '%s' does not match this problem: the checkpoint is %s; the problem is %s",
                                       fn, path, have, want));
    }
    const int64_t B = p->batch, N = p->npoints;
    /* A backend that takes members in parts (an MPI context) gets CK_PART points at a time: no rank then holds
     * a whole member; otherwise each member is handed over whole. */
    const int parts = p->ops->set_part != NULL;
    const int64_t part = part_points(), chunk = parts && N > part ? part : N;
    const uint64_t arrays = (uint64_t)c.size, arrays_len = c.want_len;
    /* Everything that can fail before the problem is touched: the buffers, the values and the checksum (one
     * pass over the arrays). */
    double *buf = qdml_calloc_array((size_t)chunk, 2 * sizeof(double));
    qdml_history *hist = qdml_calloc_array((size_t)B, sizeof *hist);
    double *vmin = qdml_calloc_array((size_t)B, sizeof *vmin);
    ck_stream cs;
    memset(&cs, 0, sizeof cs);
    if (!buf || !hist || !vmin || !cs_start(&cs, c.f, arrays, arrays_len, fnv1a(FNV_OFFSET, c.data, c.size))) {
        st = qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate host buffers", fn);
        goto done;
    }
    for (int64_t b = 0; b < B && st == QDML_OK; ++b) {
        const unsigned char *m = c.members + (size_t)b * CK_MEMBER_BYTES;
        const int has_v = get_u64(m + 16) != 0;
        const size_t count = (size_t)get_u64(m + 48);
        vmin[b] = INFINITY;
        for (int64_t i = 0; has_v && i < N; ++i) {
            const double v = bitsd(cs_u64(&cs));
            if (!isfinite(v) && st == QDML_OK)
                st = qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s': potential of member %lld is not finite at %lld",
                               fn, path, (long long)b, (long long)i);
            if (v < vmin[b]) vmin[b] = v;
        }
        for (int64_t i = 0; i < 2 * N; ++i)
            if (!isfinite(bitsd(cs_u64(&cs))) && st == QDML_OK)
                st = qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s': state of member %lld is not finite at %lld",
                               fn, path, (long long)b, (long long)(i / 2));
        if (st == QDML_OK && count > 0) {
            hist[b].items = qdml_calloc_array(count, sizeof(qdml_stats));
            if (!hist[b].items) {
                st = qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu history entries", fn, count);
                break;
            }
            hist[b].capacity = hist[b].count = count;
            uint64_t words[CK_STATS_WORDS];
            for (size_t k = 0; k < count; ++k) {
                for (unsigned i = 0; i < CK_STATS_WORDS; ++i)
                    words[i] = cs_u64(&cs);
                words_stats(words, &hist[b].items[k]);
            }
        }
    }
    if (st == QDML_OK && (!cs.ok || cs.left != 0 || cs.pos != cs.len))
        st = qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: '%s' is truncated: it ended before its arrays did", fn,
                       path);
    else if (st == QDML_OK && cs.hash != c.want)
        st = corrupt(p->ctx, fn, path, cs.hash, c.want);
    cs_end(&cs);
    if (st != QDML_OK) {
        st = corrupt_first(p->ctx, fn, path, st);
        goto done;
    }
    /* Into the backend. A backend failure here leaves the problem partly loaded (reported). */
    if (!cs_start(&cs, c.f, arrays, arrays_len, fnv1a(FNV_OFFSET, c.data, c.size))) {
        cs_end(&cs);
        st = qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate host buffers", fn);
        goto done;
    }
    for (int64_t b = 0; b < B; ++b) {
        const unsigned char *m = c.members + (size_t)b * CK_MEMBER_BYTES;
        const int has_v = get_u64(m + 16) != 0;
        const size_t count = (size_t)get_u64(m + 48);
        for (int which = has_v ? 1 : 0; which >= 0 && st == QDML_OK; --which) {
            const int per = which ? 1 : 2; /* the potential, then the state */
            for (int64_t first = 0; first < N && st == QDML_OK; first += chunk) {
                const int64_t k = N - first < chunk ? N - first : chunk;
                for (int64_t i = 0; i < per * k; ++i)
                    buf[i] = bitsd(cs_u64(&cs));
                if (parts)
                    st = p->ops->set_part(p->bs, b, which, first, k, buf);
                else
                    st = which ? p->ops->set_potential(p->bs, b, buf) : p->ops->set_state(p->bs, b, buf);
            }
        }
        if (st != QDML_OK) break;
        for (size_t k = 0; k < count * CK_STATS_WORDS; ++k)
            (void)cs_u64(&cs);
        p->hbar[b] = bitsd(get_u64(m));
        p->mass[b] = bitsd(get_u64(m + 8));
        p->has_potential[b] = (unsigned char)has_v;
        p->vmin[b] = has_v ? vmin[b] : 0.0;
        p->steps[b] = (int64_t)get_u64(m + 24);
        p->time[b] = bitsd(get_u64(m + 32));
        p->dt[b] = bitsd(get_u64(m + 40));
        p->built_ok[b] = 0;
        const unsigned char *gm = c.ground + 8 + (size_t)b * CK_GROUND_MEMBER_BYTES;
        p->ground[b].dt_min = bitsd(get_u64(gm));
        p->ground[b].stalled = (int64_t)get_u64(gm + 8);
        p->ground[b].converged = get_u64(gm + 16) != 0;
        p->ground[b].active = get_u64(gm + 24) != 0;
        uint64_t words[CK_STATS_WORDS];
        for (unsigned i = 0; i < CK_STATS_WORDS; ++i)
            words[i] = get_u64(gm + 32 + 8 * i);
        words_stats(words, &p->ground[b].last);
        free(p->history[b].items);
        p->history[b] = hist[b];
        memset(&hist[b], 0, sizeof hist[b]);
    }
    if (st == QDML_OK && (!cs.ok || cs.hash != c.want))
        st = qdml_fail(NULL, QDML_ERR_IO, "'%s' changed while it was read (its checksum no longer matches)", path);
    cs_end(&cs);
    p->ground_valid = st == QDML_OK && get_u64(c.ground) != 0;
    p->start_known = 0;
    if (st == QDML_OK) p->last_run = c.run;
    if (st != QDML_OK) {
        st = qdml_fail_from(p->ctx, st,
                            "%s: the %s backend failed to store the checkpoint's arrays (the problem is "
                            "partly loaded)",
                            fn, p->ops->name);
        goto done;
    }
    qdml_clear_error(p->ctx);
done:
    cs_end(&cs);
    if (hist)
        for (int64_t b = 0; b < B; ++b)
            free(hist[b].items);
    free(hist);
    free(vmin);
    free(buf);
    ck_release(&c);
    return st;
}
