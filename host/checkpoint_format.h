/* Checkpoints' file format, shared by the writer (checkpoint.c) and the reader (checkpoint_read.c): the
 * layout, its constants, the byte encoding, the checksum and the statistics' words. A checkpoint is
 * the whole state of a problem in one file, written atomically, read back only when every byte
 * checks out. Format (version 2; every number little-endian, whatever the host):
 *
 *   header   "QDMLCKPT" (8 bytes), u32 version (2), u32 zero, u64 payload bytes
 *   payload  u32 dim, u32 precision, i64 n[3], f64 lo[3], f64 hi[3], i64 batch, i64 points,
 *            per member: f64 hbar, f64 mass, u64 has_potential, i64 steps, f64 time, f64 dt,
 *                        u64 history entries,
 *            u64 ground schedule valid, per member: f64 dt_min, i64 stalled, u64 converged, u64 active,
 *                        the last statistics (19 words as below),
 *            the last run (not in version 1): u32 kind, u32 mode, u32 splitting, u32 flags (1 renormalize,
 *                        2 potential_only), f64 tolerance, f64 dt_initial, f64 dt_min, i64 monitor_every,
 *                        u32 precision, u32 zero,
 *            per member: [potential: points f64 if has_potential], state: 2 * points f64,
 *                        history: entries x 19 eight-byte fields (qdml_stats in declaration order)
 *   trailer  u64 FNV-1a 64 of header and payload
 */
#ifndef QDML_CHECKPOINT_FORMAT_H
#define QDML_CHECKPOINT_FORMAT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CK_MAGIC "QDMLCKPT"
#define CK_VERSION 2u    /* written; version 1 (no record of the last run) is read too */
#define CK_RUN_BYTES 56u /* the record of the last run (version 2) */
#define CK_HEADER 24u
#define CK_TRAILER 8u
#define CK_GRID_BYTES (4u + 4u + 3u * 8u * 3u + 8u + 8u)
#define CK_MEMBER_BYTES (7u * 8u)
#define CK_GROUND_MEMBER_BYTES ((4u + CK_STATS_WORDS) * 8u)
#define CK_STATS_WORDS 19u
#define CK_PART (INT64_C(1) << 20) /* points a time of a member streamed in parts (backend.h get_part) */

/* Points a part: CK_PART, or for the tests QDML_PART_POINTS (a positive integer; the program's --out reads
 * it too), so that small grids stream in several parts. */
static inline int64_t part_points(void) {
    const char *e = getenv("QDML_PART_POINTS");
    const long long v = e ? atoll(e) : 0;
    return v > 0 ? (int64_t)v : CK_PART;
}
#define CK_CHUNK ((size_t)1 << 20)  /* bytes a read while checking or loading a file */

/* ---- byte encoding and the checksum ----------------------------------------------------------- */

static inline void put_u64(unsigned char *b, uint64_t v) {
    for (int i = 0; i < 8; ++i)
        b[i] = (unsigned char)(v >> (8 * i));
}
static inline uint64_t get_u64(const unsigned char *b) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}
static inline void put_u32(unsigned char *b, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        b[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t get_u32(const unsigned char *b) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v |= (uint32_t)b[i] << (8 * i);
    return v;
}
static inline uint64_t dbits(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}
static inline double bitsd(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static inline uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

static inline void stats_words(const qdml_stats *s, uint64_t *w) {
    size_t k = 0;
    w[k++] = (uint64_t)s->step;
    w[k++] = dbits(s->time);
    w[k++] = dbits(s->dt);
    w[k++] = dbits(s->norm);
    w[k++] = dbits(s->kinetic);
    w[k++] = dbits(s->potential);
    w[k++] = dbits(s->energy);
    w[k++] = dbits(s->residual);
    for (int d = 0; d < QDML_MAX_DIM; ++d)
        w[k++] = dbits(s->mean[d]);
    for (int d = 0; d < QDML_MAX_DIM; ++d)
        w[k++] = dbits(s->width[d]);
    w[k++] = dbits(s->density_max);
    for (int d = 0; d < QDML_MAX_DIM; ++d)
        w[k++] = dbits(s->argmax[d]);
    w[k++] = (uint64_t)s->argmax_index;
}

static inline void words_stats(const uint64_t *w, qdml_stats *s) {
    size_t k = 0;
    memset(s, 0, sizeof *s);
    s->step = (int64_t)w[k++];
    s->time = bitsd(w[k++]);
    s->dt = bitsd(w[k++]);
    s->norm = bitsd(w[k++]);
    s->kinetic = bitsd(w[k++]);
    s->potential = bitsd(w[k++]);
    s->energy = bitsd(w[k++]);
    s->residual = bitsd(w[k++]);
    for (int d = 0; d < QDML_MAX_DIM; ++d)
        s->mean[d] = bitsd(w[k++]);
    for (int d = 0; d < QDML_MAX_DIM; ++d)
        s->width[d] = bitsd(w[k++]);
    s->density_max = bitsd(w[k++]);
    for (int d = 0; d < QDML_MAX_DIM; ++d)
        s->argmax[d] = bitsd(w[k++]);
    s->argmax_index = (int64_t)w[k++];
}

#endif
