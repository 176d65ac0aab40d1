/* Which path the CPU backend's step ops take. One-dimensional problems, and grids whose last axis
 * is not a multiple of 4, take the plain path: batched FFTW plans and one OpenMP pass per op. Other
 * grids can take one of the two fused paths (backend_cpu_fused.c): PATH_PLANES runs each pass over
 * blocks of all members, shared among the threads (one member, or a few large ones); PATH_MEMBERS
 * (batches) gives each thread whole members. Which path a shape takes is measured at creation,
 * separately for real- and imaginary-time steps (choose_path; set_step takes the one for the
 * members' mode); QDML_FFT_ESTIMATE keeps the plain path. Where the member path was measured
 * fastest, a steps call with too few active members to keep every thread busy on it (a ground
 * search whose other members have converged) runs on PATH_PLANES (too_few_members, planes_steps),
 * which depends on that call's active members alone. The fused paths' results equal the plain
 * path's to rounding (~1e-15 relative), not bit for bit; a shape takes the same paths for the life
 * of the process, and, with a wisdom file, on that machine ("<wisdom>.paths", see paths_read).
 *
 * For tests and measurements, the environment variable QDML_CPU_PATH, read when a problem is
 * created, replaces the measurement: `plain`, `planes`, `planes-gather`, `members`,
 * `members-gather` (gather: column blocks copied to a per-thread buffer). It applies whatever the
 * FFT effort (with QDML_FFT_ESTIMATE the block plans are estimated too); a shape the fused paths
 * cannot take stays plain, and `members*` where the member path cannot run (one member, or fewer
 * members than threads) takes `planes*`. Any other value makes problem creation fail.
 * Build-time options, for measurements only: QDML_CPU_TRACE (print the timings of choose_path to
 * stderr), QDML_PLANE_BLOCK_BYTES, QDML_COLUMN_BLOCK_BYTES, QDML_MAX_COLUMNS,
 * QDML_MEMBER_PLANE_BYTES, QDML_MEMBER_COLUMN_BYTES, QDML_MEMBER_MAX_COLUMNS (block sizes of the
 * fused paths).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cpu_private.h"

#ifndef QDML_PLANE_BLOCK_BYTES
#define QDML_PLANE_BLOCK_BYTES (128 * 1024)
#endif
#ifndef QDML_COLUMN_BLOCK_BYTES
#define QDML_COLUMN_BLOCK_BYTES (256 * 1024)
#endif
#ifndef QDML_MAX_COLUMNS
#define QDML_MAX_COLUMNS 64
#endif
#define QDML_MAX_PLANE_BYTES (4 * 1024 * 1024)
#ifndef QDML_MEMBER_PLANE_BYTES
#define QDML_MEMBER_PLANE_BYTES (16 * 1024)
#endif
#ifndef QDML_MEMBER_COLUMN_BYTES
#define QDML_MEMBER_COLUMN_BYTES (32 * 1024)
#endif
#ifndef QDML_MEMBER_MAX_COLUMNS
#define QDML_MEMBER_MAX_COLUMNS 16
#endif

/* Fused-path geometry of a problem: the outer axis, plane size and block sizes. Returns 0 where
 * the plain path is used. PATH_PLANES spreads every member over all threads: its blocks aim at a few
 * hundred KiB (in L2) and at enough blocks to keep every thread busy. PATH_MEMBERS gives a thread
 * whole members, already in its core's L2: its blocks aim at L1 (planes of up to 16 KiB; a column
 * buffer of up to 32 KiB and at most 16 columns, which FFTW transforms with its plain codelets,
 * without copying through a buffer of its own as it does for longer batches of columns). */
int qdml_cpu_fused_geometry_of(const qdml_backend_desc *d, int nthreads, fused_geometry *g) {
    const int64_t n0 = d->n[0], n1 = d->n[1], n2 = d->n[2];
    memset(g, 0, sizeof *g);
    if (n0 > 1) g->oaxis = 0;
    else if (n1 > 1) g->oaxis = 1;
    else return 0; /* one dimension */
    g->nout = d->n[g->oaxis];
    g->P = g->oaxis == 0 ? n1 * n2 : n2;
    g->prow = g->P / n2;
    /* Block starts must keep FFTW's alignment: offsets in multiples of 4 points (64 bytes). */
    if (n2 % 4 != 0 || n2 < 4) return 0;
    if (g->P > QDML_MAX_PLANE_BYTES / 16) return 0;
    if (g->nout * 4 * 16 > 4 * QDML_COLUMN_BLOCK_BYTES) return 0;
    const int64_t want_blocks = 4 * (int64_t)nthreads;
    /* Planes per block: a divisor of nout. */
    g->rb[0] = g->rb[1] = 1;
    for (int64_t r = g->nout; r >= 1; --r) {
        if (g->nout % r) continue;
        if (r * g->P * 16 > QDML_PLANE_BLOCK_BYTES && r > 1) continue;
        if (r > 1 && d->batch * (g->nout / r) < want_blocks) continue;
        g->rb[0] = r;
        break;
    }
    for (int64_t r = g->nout; r > 1; --r)
        if (g->nout % r == 0 && r * g->P * 16 <= QDML_MEMBER_PLANE_BYTES) {
            g->rb[1] = r;
            break;
        }
    /* Columns per block: a divisor of n2, a multiple of 4, at most QDML_MAX_COLUMNS. */
    g->w[0] = g->w[1] = 4;
    for (int64_t c = QDML_MAX_COLUMNS; c >= 4; c -= 4) {
        if (n2 % c) continue;
        if (c > 4 && g->nout * c * 16 > QDML_COLUMN_BLOCK_BYTES) continue;
        if (c > 4 && d->batch * g->prow * (n2 / c) < want_blocks) continue;
        g->w[0] = c;
        break;
    }
    /* Long columns: rows of fewer than 16 points (256 bytes) make every row of a block touch its
     * own page; 16 columns with a block of up to 1 MiB (still in L2) measured much faster on 4096^2. */
    if (g->w[0] < 16 && n2 % 16 == 0 && g->nout * 16 * 16 <= 1024 * 1024) g->w[0] = 16;
    for (int64_t c = QDML_MEMBER_MAX_COLUMNS; c > 4; c -= 4)
        if (n2 % c == 0 && g->nout * c * 16 <= QDML_MEMBER_COLUMN_BYTES) {
            g->w[1] = c;
            break;
        }
    return 1;
}

/* QDML_CPU_PATH (see the top of this file): -1 unset, else the index of the forced candidate in
 * choose_path's list (0 plain, 1 planes, 2 planes-gather, 3 members, 4 members-gather); -2 for a
 * value that names none of them. */
static const char *const path_names[5] = {"plain", "planes", "planes-gather", "members", "members-gather"};

int qdml_cpu_forced_path(void) {
    const char *v = getenv("QDML_CPU_PATH");
    if (!v || !*v) return -1;
    for (int i = 0; i < 5; ++i)
        if (strcmp(v, path_names[i]) == 0) return i;
    return -2;
}

/* Whether the fused paths are planned for this problem: measured unless QDML_FFT_ESTIMATE, or
 * forced by QDML_CPU_PATH. */
int qdml_cpu_fused_wanted(const qdml_backend_desc *d, int forced) {
    return forced > 0 || (forced < 0 && d->effort != QDML_FFT_ESTIMATE);
}

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Path choices made in this process, by shape: a problem of a shape seen before takes the same path
 * (as FFTW's wisdom gives it the same plans), so runs repeated in one process round the same way. */
typedef struct path_memo {
    int64_t n[3], batch;
    int nt, effort, choice[2][2], pgather[2];
    int64_t edge[2];
} path_memo;
#define QDML_PATH_MEMO 64
static path_memo path_memos[QDML_PATH_MEMO];
static int path_memo_count = 0;

static path_memo memo_of(const qdml_backend_state *s) {
    path_memo m;
    memset(&m, 0, sizeof m);
    memcpy(m.n, s->d.n, sizeof m.n);
    m.batch = s->d.batch;
    m.nt = s->nt;
    m.effort = (int)s->d.effort;
    memcpy(m.choice, s->choice, sizeof m.choice);
    memcpy(m.pgather, s->pgather, sizeof m.pgather);
    memcpy(m.edge, s->edge, sizeof m.edge);
    return m;
}

/* Take a recorded choice. */
static void adopt(qdml_backend_state *s, const path_memo *m) {
    memcpy(s->choice, m->choice, sizeof s->choice);
    memcpy(s->pgather, m->pgather, sizeof s->pgather);
    memcpy(s->edge, m->edge, sizeof s->edge);
}

static int memo_same_shape(const path_memo *a, const path_memo *b) {
    return a->n[0] == b->n[0] && a->n[1] == b->n[1] && a->n[2] == b->n[2] && a->batch == b->batch && a->nt == b->nt &&
           a->effort == b->effort;
}

static int path_memo_find(const qdml_backend_state *s, path_memo *out) {
    const path_memo me = memo_of(s);
    int found = 0;
    pthread_mutex_lock(&qdml_cpu_fftw_plan_lock);
    for (int i = 0; i < path_memo_count && !found; ++i)
        if (memo_same_shape(&path_memos[i], &me)) {
            *out = path_memos[i];
            found = 1;
        }
    pthread_mutex_unlock(&qdml_cpu_fftw_plan_lock);
    return found;
}

/* Record the choice, or adopt one another thread recorded meanwhile. */
static void path_memo_store(qdml_backend_state *s) {
    path_memo m;
    if (path_memo_find(s, &m)) {
        adopt(s, &m);
        return;
    }
    pthread_mutex_lock(&qdml_cpu_fftw_plan_lock);
    if (path_memo_count < QDML_PATH_MEMO) path_memos[path_memo_count++] = memo_of(s);
    pthread_mutex_unlock(&qdml_cpu_fftw_plan_lock);
}

/* Values a choice may hold: paths, column variants, and an edge of at least 1 (in millionths) where
 * the member path was chosen (measured, it is never below: the member path won). */
static int choice_in_range(const int *choice, const int pgather[2], const int64_t edge[2]) {
    for (int kind = 0; kind < 2; ++kind) {
        const int path = choice[2 * kind], gather = choice[2 * kind + 1]; /* choice[kind][0], [kind][1] */
        if (path < PATH_PLAIN || path > PATH_MEMBERS || gather < 0 || gather > 1 || pgather[kind] < 0 ||
            pgather[kind] > 1 || edge[kind] < (path == PATH_MEMBERS ? EDGE_ONE : 0) || edge[kind] > EDGE_MAX)
            return 0;
    }
    return 1;
}

/* A choice this problem can run: the member path only where it was planned. */
static int choice_valid(const qdml_backend_state *s, const path_memo *m) {
    for (int kind = 0; kind < 2; ++kind)
        if (m->choice[kind][0] == PATH_MEMBERS && !s->members_ok) return 0;
    return choice_in_range(&m->choice[0][0], m->pgather, m->edge);
}

/* Path choices kept beside the FFTW wisdom file, in "<wisdom>.paths", so that a shape is timed once
 * per machine as its plans are (and every run takes the same path, so rounds the same way). A first
 * line "qdml-cpu-paths 3" (version 1 was timed before the member path ran several steps per member
 * at once; version 2 lacked the last four fields), then one line per shape (the axes padded to
 * three with leading 1s):
 *   n0 n1 n2 batch threads effort real-path real-gather imaginary-path imaginary-gather
 *   real-planes-gather imaginary-planes-gather real-edge imaginary-edge
 * (effort: 1 measure, 2 patient; path: 0 plain, 1 planes, 2 members; gather 0 or 1; edge: see
 * qdml_backend_state.edge, in millionths, at least 1000000 where the member path was chosen, else 0).
 * A file with
 * another first line is ignored, and replaced when a choice is next recorded; a line that does not
 * parse or holds values out of range is left out, and a choice this problem cannot run is measured
 * again. Read and written under fftw_plan_lock, atomically (atomic_file.h). */
#define QDML_PATHS_HEADER "qdml-cpu-paths 3"

static int paths_file_name(const char *wisdom, char *out, size_t len) {
    if (!wisdom || !wisdom[0]) return 0;
    const int n = snprintf(out, len, "%s.paths", wisdom);
    return n > 0 && (size_t)n < len;
}

static int paths_read(const char *file, path_memo *out, int max) {
    FILE *f = fopen(file, "r");
    if (!f) return 0;
    char line[512];
    int count = 0;
    if (!fgets(line, sizeof line, f) || strcmp(line, QDML_PATHS_HEADER "\n") != 0) {
        fclose(f);
        return 0;
    }
    while (count < max && fgets(line, sizeof line, f)) {
        long long n0, n1, n2, batch, e[2];
        int nt, effort, c[2][2], pg[2];
        char extra;
        if (sscanf(line, "%lld %lld %lld %lld %d %d %d %d %d %d %d %d %lld %lld %c", &n0, &n1, &n2, &batch, &nt,
                   &effort, &c[0][0], &c[0][1], &c[1][0], &c[1][1], &pg[0], &pg[1], &e[0], &e[1], &extra) != 14)
            continue;
        const int64_t edge[2] = {e[0], e[1]};
        if (!(n0 >= 1 && n1 >= 1 && n2 >= 1 && batch >= 1 && nt >= 1 && effort >= 0 && effort <= 2) ||
            !choice_in_range(&c[0][0], pg, edge))
            continue;
        path_memo *m = &out[count++];
        m->n[0] = n0;
        m->n[1] = n1;
        m->n[2] = n2;
        m->batch = batch;
        m->nt = nt;
        m->effort = effort;
        for (int k = 0; k < 2; ++k) {
            m->choice[k][0] = c[k][0];
            m->choice[k][1] = c[k][1];
            m->pgather[k] = pg[k];
            m->edge[k] = edge[k];
        }
    }
    fclose(f);
    return count;
}

/* The choice saved for this shape in `file`, if any. */
static int paths_lookup(const qdml_backend_state *s, const char *file, path_memo *out) {
    path_memo saved[QDML_PATH_MEMO];
    const path_memo me = memo_of(s);
    int found = 0;
    pthread_mutex_lock(&qdml_cpu_fftw_plan_lock);
    const int n = paths_read(file, saved, QDML_PATH_MEMO);
    pthread_mutex_unlock(&qdml_cpu_fftw_plan_lock);
    for (int i = 0; i < n && !found; ++i)
        if (memo_same_shape(&saved[i], &me) && choice_valid(s, &saved[i])) {
            *out = saved[i];
            found = 1;
        }
    return found;
}

/* Add (or replace) this shape's choice in `file`. A failure to write only costs a measurement in
 * the next process. */
static void paths_save(const qdml_backend_state *s, const char *file) {
    path_memo saved[QDML_PATH_MEMO];
    const path_memo me = memo_of(s);
    char before[QDML_ERRLEN];
    qdml_save_error(before);
    pthread_mutex_lock(&qdml_cpu_fftw_plan_lock);
    int n = paths_read(file, saved, QDML_PATH_MEMO - 1), kept = 0;
    for (int i = 0; i < n; ++i)
        if (!memo_same_shape(&saved[i], &me)) saved[kept++] = saved[i];
    saved[kept++] = me;
    qdml_atomic_file af;
    if (qdml_atomic_open(&af, file, 0, file) == QDML_OK) {
        FILE *f = af.f;
        int ok = fputs(QDML_PATHS_HEADER "\n", f) >= 0;
        for (int i = 0; i < kept && ok; ++i) {
            const path_memo *m = &saved[i];
            ok = fprintf(f, "%lld %lld %lld %lld %d %d %d %d %d %d %d %d %lld %lld\n", (long long)m->n[0],
                         (long long)m->n[1], (long long)m->n[2], (long long)m->batch, m->nt, m->effort, m->choice[0][0],
                         m->choice[0][1], m->choice[1][0], m->choice[1][1], m->pgather[0], m->pgather[1],
                         (long long)m->edge[0], (long long)m->edge[1]) > 0;
        }
        (void)qdml_atomic_commit(&af, ok);
    }
    pthread_mutex_unlock(&qdml_cpu_fftw_plan_lock);
    qdml_restore_error(before);
}

/* Take the path chosen for the kind of step the members are set up for. Called with nothing
 * deferred (the layout is plain). */
void qdml_cpu_use_path(qdml_backend_state *s) {
    const int kind = qdml_cpu_step_kind(s);
    s->path = s->choice[kind][0];
    s->gather = s->choice[kind][1];
}

/* The candidates of choose_path: path and column variant; the member path only for batches of at
 * least as many members as threads (then all 5, else the first 3). */
static const int cand[5][2] = {
    {PATH_PLAIN, 0}, {PATH_PLANES, 0}, {PATH_PLANES, 1}, {PATH_MEMBERS, 0}, {PATH_MEMBERS, 1}};

/* QDML_CPU_PATH: candidate `forced` for both kinds of step; `members*` falls back to `planes*`
 * where it cannot run. */
static void take_forced(qdml_backend_state *s, int forced, int nc) {
    const int v = forced >= nc ? forced - 2 : forced;
    for (int kind = 0; kind < 2; ++kind) {
        s->choice[kind][0] = cand[v][0];
        s->choice[kind][1] = cand[v][1];
    }
    qdml_cpu_use_path(s);
}

/* A choice made before: one made earlier in this process comes first (so a process keeps to one
 * choice per shape), then the one in the paths file `file` (NULL: none), which is added to the
 * file where it lacks one. Returns whether a choice was adopted. */
static int adopt_known(qdml_backend_state *s, const char *file) {
    path_memo found;
    int have = path_memo_find(s, &found) && choice_valid(s, &found);
    if (have) adopt(s, &found);
    if (file) {
        path_memo saved;
        if (!have && paths_lookup(s, file, &saved)) {
            have = 1;
            adopt(s, &saved);
            path_memo_store(s);
        } else if (have && !paths_lookup(s, file, &saved)) {
            paths_save(s, file);
        }
    }
    return have;
}

enum { TIMED_STEPS = 4 };

/* One trial: a timed step of each of the first nc candidates, for each of the first `kinds` kinds of
 * step, keeping the fastest time per step in best[kind][v]. ones: B scales of 1 (the kinetic
 * factor's), norms: B doubles for the kick's norms, stop: B entries for the steps op. */
static void time_trial(qdml_backend_state *s, int nc, int kinds, const double *ones, double *norms, int64_t *stop,
                       double best[2][5]) {
    const int64_t B = s->d.batch;
    for (int kind = 0; kind < kinds; ++kind) {
        /* the factor tables hold zeros: complex in real time, real in imaginary time */
        memset(s->imag, kind, (size_t)B);
        memset(s->flush, kind, (size_t)B);
        for (int v = 0; v < nc; ++v) {
            s->path = cand[v][0];
            s->gather = cand[v][1];
            /* a step to reach the steady layout, then a timed one; the member path as the
             * solver runs Strang steps on it, through cpu_steps: members in cache for several
             * steps (timed over TIMED_STEPS, per step; without renormalisation, which would stop
             * at the zero norms of these tables, so without its norm sums, while the other paths'
             * imaginary-time kicks sum norms: the edge below leans a little towards the member
             * path, so too_few_members leaves it a little later than the timings alone would) */
            for (int k = 0; k < 2; ++k) {
                const double t0 = seconds_now();
                if (s->path == PATH_MEMBERS) {
                    static const unsigned char strang = 0;
                    int done = 0;
                    qdml_cpu_steps(s, TIMED_STEPS, 1, &strang, NULL, 0, 1.0, stop, &done);
                } else {
                    qdml_cpu_kick(s, 1, NULL, kind ? norms : NULL);
                    qdml_cpu_fft(s, 1);
                    qdml_cpu_kinetic(s, ones, NULL);
                    qdml_cpu_fft(s, 0);
                }
                const double t = (seconds_now() - t0) / (s->path == PATH_MEMBERS ? TIMED_STEPS : 1);
                if (k == 1 && t < best[kind][v]) best[kind][v] = t;
            }
            qdml_cpu_materialize(s);
        }
    }
}

/* The time per step of the first nc candidates for the first `kinds` kinds of step, the best of
 * several trials, into best[kind][v]; `keep`: the choice goes into a paths file. Returns 0, having
 * timed nothing, where the scratch arrays cannot be allocated. */
static int time_candidates(qdml_backend_state *s, int nc, int kinds, int keep, double best[2][5]) {
    const int64_t B = s->d.batch;
    double *ones = malloc(2 * (size_t)B * sizeof *ones);
    int64_t *stop = malloc((size_t)B * sizeof *stop);
    if (!ones || !stop) {
        free(ones);
        free(stop);
        return 0;
    }
    double *norms = ones + B;
    for (int64_t b = 0; b < B; ++b) ones[b] = 1.0;
    for (int kind = 0; kind < 2; ++kind)
        for (int v = 0; v < 5; ++v) best[kind][v] = INFINITY;
    /* Best of 2 to 7 trials, as many as fit in about 0.15 s: timings on a shared machine are noisy.
     * Where the choice is kept in a file (measured once per machine), 3 to 9 in about 1 s: the
     * candidates of a batch of small members differ by 5-10 %, as much as one timing's noise. */
    const double budget = keep ? 1.0 : 0.15;
    const int min_trials = keep ? 3 : 2, max_trials = keep ? 9 : 7;
    int trials = max_trials;
    for (int trial = 0; trial < trials; ++trial) {
        if (trial == 1) {
            double per = 0.0;
            for (int kind = 0; kind < kinds; ++kind)
                for (int v = 0; v < nc; ++v) per += best[kind][v];
            trials = per > 0 ? (int)(budget / per) : max_trials;
            trials = trials < min_trials ? min_trials : trials > max_trials ? max_trials : trials;
        }
        time_trial(s, nc, kinds, ones, norms, stop, best);
    }
    free(ones);
    free(stop);
    memset(s->imag, 0, (size_t)B);
    memset(s->flush, 0, (size_t)B);
    return 1;
}

/* From the timings: the fastest candidate for each kind of step (a kind not timed takes the
 * real-time choice), the faster PATH_PLANES variant and, where the member path won, its edge. */
static void pick_fastest(qdml_backend_state *s, int nc, int kinds, double best[2][5]) {
    const int64_t B = s->d.batch;
    /* Threads on the member path: the busiest one takes ceil(B / nt) members, against B / nt on
     * PATH_PLANES. */
    const double idle = (double)(((B + s->nt - 1) / s->nt) * s->nt) / (double)B;
    for (int kind = 0; kind < 2; ++kind) {
        const int k = kind < kinds ? kind : 0;
        int v = 0;
        for (int i = 1; i < nc; ++i)
            if (best[k][i] < best[k][v]) v = i;
        s->choice[kind][0] = cand[v][0];
        s->choice[kind][1] = cand[v][1];
        const int pv = best[k][2] < best[k][1] ? 2 : 1; /* the faster PATH_PLANES variant */
        s->pgather[kind] = cand[pv][1];
        /* at least 1 where the member path won (the timings of one run can say less only through
         * the imbalance factor's rounding) */
        const double e = best[k][pv] / best[k][v] * idle * (double)EDGE_ONE;
        s->edge[kind] = cand[v][0] != PATH_MEMBERS    ? 0
                        : e < (double)EDGE_ONE        ? EDGE_ONE
                        : e > (double)EDGE_MAX        ? EDGE_MAX
                                                      : llround(e);
    }
}

#ifdef QDML_CPU_TRACE
static void trace_timings(const qdml_backend_state *s, int nc, int kinds, double best[2][5]) {
    for (int kind = 0; kind < kinds; ++kind) {
        fprintf(stderr, "qdml cpu: %lld x %lld x %lld, batch %lld, %s time:", (long long)s->d.n[0],
                (long long)s->d.n[1], (long long)s->d.n[2], (long long)s->d.batch, kind ? "imaginary" : "real");
        for (int i = 0; i < nc; ++i)
            fprintf(stderr, " %s %.3f ms%s,", path_names[i], best[kind][i] * 1e3,
                    cand[i][0] == s->choice[kind][0] && cand[i][1] == s->choice[kind][1] ? " (chosen)" : "");
        fprintf(stderr, "\n");
    }
}
#endif

/* Choose between the plain path and the column variants of the fused paths by timing steps of each
 * on the problem's own buffers, as FFTW_MEASURE chooses among plans: a real-time step (complex
 * factors, the kick queued) and, where the member path is a candidate, an imaginary-time one (real
 * factors, the kick returning norms), chosen separately. Which is fastest depends on the shape and
 * the machine's caches: power-of-two strides make the in-place column transforms of some shapes
 * slow, the copies of the gathered variant cost a pass of memory traffic, a batch of members that
 * fit in a core's cache gains from the member path. The member path is timed as runs take it,
 * several Strang steps per member in cache (cpu_steps; on 64 x 256^2 here 20-25 % faster than
 * PATH_PLANES, where one pass per step, member_pass, timed as fast as PATH_PLANES in real time and
 * 10-15 % slower in imaginary time). 4th-order steps take the same choice. QDML_FFT_ESTIMATE keeps
 * the plain path. */
void qdml_cpu_choose_path(qdml_backend_state *s, const char *wisdom_path) {
    const int nc = s->members_ok ? 5 : 3;
    const int forced = qdml_cpu_forced_path();
    if (forced >= 0) {
        take_forced(s, forced, nc);
        return;
    }
    char file[4096 + 16];
    const int keep = paths_file_name(wisdom_path, file, sizeof file);
    if (adopt_known(s, keep ? file : NULL)) {
        s->adaptive = 1;
        qdml_cpu_use_path(s);
        return;
    }
    /* The two kinds of step differ in the structure of a pass on the member path only; elsewhere
     * the real-time choice serves both. */
    const int kinds = s->members_ok ? 2 : 1;
    double best[2][5];
    if (!time_candidates(s, nc, kinds, keep, best)) {
        s->path = PATH_PLAIN; /* choice[][] stays all plain (calloc) */
        return;
    }
    pick_fastest(s, nc, kinds, best);
    s->adaptive = 1;
    path_memo_store(s); /* the choice in force: another thread's, if it recorded one meanwhile */
    if (keep) paths_save(s, file);
    qdml_cpu_use_path(s);
    memset(s->psi, 0, (size_t)s->total * sizeof(qdml_c64));
#ifdef QDML_CPU_TRACE
    trace_timings(s, nc, kinds, best);
#endif
}
