/* Checkpoints: a run split by save and load into a fresh problem equals the uninterrupted run bit
 * for bit (CPU backend); damaged, foreign and mismatched files are refused with a message and leave
 * the problem as it was; saves are atomic. The CLI's --checkpoint/--resume survive a SIGKILL.
 *
 * Backends: bit-for-bit resumption is the CPU backend's guarantee (docs/checkpoints.md), so those
 * tests run on the CPU whatever QDML_TEST_BACKEND selects (qt_cpu_context), and the program runs with
 * --backend cpu; the refusals and the atomic save are the same on every backend and run on the
 * selected one (qt_context).
 *
 * The resumed runs are compared with uninterrupted runs of the same code, which a bug shared by both
 * would pass: member 2 of each problem has a flat potential and a random state, and its state is
 * checked against the exact propagator too (qt_exact_flat_evolution; any splitting composes to it, as
 * the kinetic factors of a flat potential commute with the potential's). */
#include "support.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double well(const double *x, int dim, void *user) {
    double a = *(const double *)user, v = 0;
    for (int d = 0; d < dim; ++d)
        v += a * x[d] * x[d] + 0.3 * x[d];
    return v;
}

/* Member 2's flat potential and the seed of its random state. */
#define FLAT_V 0.45
#define FLAT_SEED 9091

/* A batch of three members: two with different potentials, hbar, mass and moving Gaussian states, and
 * member 2 with a flat potential, its own hbar and mass, and a random state. */
static qdml_problem *make_members(qdml_context *ctx, const qdml_grid *g) {
    qdml_problem *p = qt_problem(ctx, g, 3);
    double a0 = 0.5, a1 = 1.3;
    qt_set_potential_fn(p, 0, well, &a0);
    qt_set_potential_fn(p, 1, well, &a1);
    cr_assert_eq(qdml_problem_set_hbar(p, 1, 0.7), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, 1, 1.9), QDML_OK);
    double c[3] = {-1.0, 0.5, 0.2}, w[3] = {0.8, 0.6, 0.9}, k[3] = {1.5, -0.7, 0.3};
    cr_assert_eq(qdml_problem_set_state_gaussian(p, 0, c, w, k), QDML_OK);
    c[0] = 1.2;
    cr_assert_eq(qdml_problem_set_state_gaussian(p, 1, c, w, NULL), QDML_OK);
    const int64_t npts = qdml_problem_points(p);
    double *v = qt_calloc((size_t)npts, sizeof *v);
    for (int64_t i = 0; i < npts; ++i)
        v[i] = FLAT_V;
    cr_assert_eq(qdml_problem_set_potential(p, 2, v), QDML_OK);
    free(v);
    cr_assert_eq(qdml_problem_set_hbar(p, 2, 0.8), QDML_OK);
    cr_assert_eq(qdml_problem_set_mass(p, 2, 1.4), QDML_OK);
    qt_rng r;
    qt_rng_seed(&r, FLAT_SEED);
    double *psi = qt_random_state(g, &r);
    cr_assert_eq(qdml_problem_set_state(p, 2, psi), QDML_OK);
    free(psi);
    return p;
}

/* Member 2 after `time` of evolution in `mode` against the exact propagator of its random start
 * (renormalised in imaginary time, as the runs here are). Bound 1e-12 of max |psi|: rounding of the
 * runs' steps (test_free_packet.c). */
static void flat_member_is_exact(const qdml_problem *p, qdml_time_mode mode, double time) {
    const qdml_grid *g = qdml_problem_grid(p);
    const int64_t npts = qdml_problem_points(p);
    qt_rng r;
    qt_rng_seed(&r, FLAT_SEED);
    double *ex = qt_random_state(g, &r);
    const int imaginary = mode == QDML_IMAGINARY_TIME;
    qt_exact_flat_evolution(g, ex, ex, 0.8, 1.4, FLAT_V, time, imaginary);
    if (imaginary) {
        const double f = 1.0 / sqrt(qt_norm(ex, npts, qdml_grid_dv(g)));
        for (int64_t i = 0; i < 2 * npts; ++i)
            ex[i] *= f;
    }
    double *got = qt_get_state(p, 2);
    const double d = qt_max_abs_diff(got, ex, npts), mx = qt_max_abs(ex, npts);
    cr_assert_leq(d, 1e-12 * mx, "member 2 (flat V, %dD, %s time): max |psi - exact| = %.3g (max |psi| %.3g)", g->dim,
                  imaginary ? "imaginary" : "real", d, mx);
    free(got);
    free(ex);
}

static void evolve_split(qdml_problem *p, qdml_time_mode mode, qdml_splitting split, int64_t steps, int64_t every) {
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = mode;
    o.dt = 0.01;
    o.steps = steps;
    o.monitor_every = every;
    o.splitting = split;
    qdml_status st = qdml_problem_evolve(p, &o, NULL);
    cr_assert_eq(st, QDML_OK, "evolve: %s", qdml_last_error_message());
}

static void evolve(qdml_problem *p, qdml_time_mode mode, int64_t steps, int64_t every) {
    evolve_split(p, mode, QDML_SPLIT_STRANG, steps, every);
}

/* Same states (bitwise), step counters, times, step sizes, hbar, mass and histories. */
static void assert_same(const qdml_problem *a, const qdml_problem *b) {
    const int64_t n = qdml_problem_points(a);
    for (int64_t m = 0; m < qdml_problem_batch(a); ++m) {
        double *sa = qt_get_state(a, m), *sb = qt_get_state(b, m);
        int64_t differ = 0;
        for (int64_t i = 0; i < 2 * n; ++i)
            differ += memcmp(&sa[i], &sb[i], sizeof(double)) != 0;
        cr_assert_eq(differ, 0, "member %lld: %lld of %lld doubles differ (max |diff| %.3g)", (long long)m,
                     (long long)differ, (long long)(2 * n), qt_max_abs_diff(sa, sb, n));
        free(sa);
        free(sb);
        double x, y;
        cr_assert_eq(qdml_problem_get_hbar(a, m, &x), QDML_OK);
        cr_assert_eq(qdml_problem_get_hbar(b, m, &y), QDML_OK);
        cr_assert_eq(memcmp(&x, &y, sizeof x), 0);
        cr_assert_eq(qdml_problem_get_mass(a, m, &x), QDML_OK);
        cr_assert_eq(qdml_problem_get_mass(b, m, &y), QDML_OK);
        cr_assert_eq(memcmp(&x, &y, sizeof x), 0);
        size_t ca = 0, cb = 0;
        cr_assert_eq(qdml_problem_history(a, m, NULL, 0, &ca), QDML_OK);
        cr_assert_eq(qdml_problem_history(b, m, NULL, 0, &cb), QDML_OK);
        cr_assert_eq(ca, cb, "member %lld: history of %zu vs %zu entries", (long long)m, ca, cb);
        cr_assert_gt(ca, 0);
        qdml_stats *ha = qt_calloc(ca, sizeof *ha), *hb = qt_calloc(cb, sizeof *hb);
        cr_assert_eq(qdml_problem_history(a, m, ha, ca, &ca), QDML_OK);
        cr_assert_eq(qdml_problem_history(b, m, hb, cb, &cb), QDML_OK);
        cr_assert_eq(memcmp(ha, hb, ca * sizeof *ha), 0, "member %lld: histories differ", (long long)m);
        free(ha);
        free(hb);
    }
}

/* N steps in one call against k steps, save, load into a fresh problem, N - k more. With a 4th-order
 * splitting the checkpoint holds the step dt (the options give the splitting again), and the same
 * run in Strang must differ, so that the splitting is known to have been in force. */
static void resume_matches(qdml_time_mode mode, qdml_splitting split, int dim) {
    const int64_t n[3] = {dim == 1 ? 256 : 32, 32, 16};
    const double lo[3] = {-8, -6, -5}, hi[3] = {8, 6, 5};
    qdml_grid g = qt_grid(dim, n, lo, hi);
    qdml_context *ctx = qt_cpu_context(); /* bit for bit: the CPU backend's guarantee */
    char *dir = qt_tmpdir("ckpt");
    char *path = qt_path(dir, "run.ckpt");
    const int64_t N = 120, k = 50, every = 10;

    qdml_problem *whole = make_members(ctx, &g);
    evolve_split(whole, mode, split, N, every);

    qdml_problem *first = make_members(ctx, &g);
    evolve_split(first, mode, split, k, every);
    cr_assert_eq(qdml_checkpoint_save(first, path), QDML_OK, "save: %s", qdml_context_last_error(ctx));
    qdml_problem_destroy(first);

    /* A fresh problem on the same grid: default hbar, mass, no potential, uniform state. */
    qdml_problem *second = qt_problem(ctx, &g, 3);
    cr_assert_eq(qdml_checkpoint_load(second, path), QDML_OK, "load: %s", qdml_context_last_error(ctx));
    qdml_stats s;
    cr_assert_eq(qdml_problem_stats(second, 1, &s), QDML_OK);
    cr_assert_eq(s.step, k);
    cr_assert_eq(s.dt, 0.01, "checkpointed step %.17g", s.dt);
    evolve_split(second, mode, split, N - k, every);
    assert_same(whole, second);
    flat_member_is_exact(whole, mode, 0.01 * (double)N);
    if (split != QDML_SPLIT_STRANG) {
        qdml_problem *strang = make_members(ctx, &g);
        evolve(strang, mode, N, every);
        double *a = qt_get_state(whole, 0), *b = qt_get_state(strang, 0);
        const double d = qt_max_abs_diff(a, b, qdml_problem_points(whole));
        cr_assert_gt(d, 1e-9, "4th-order and Strang states agree to %.3g", d);
        free(a);
        free(b);
        qdml_problem_destroy(strang);
    }

    qdml_problem_destroy(whole);
    qdml_problem_destroy(second);
    qdml_context_destroy(ctx);
    qt_rm_rf(dir);
    free(path);
    free(dir);
}

Test(checkpoint, resume_real_time_1d_bit_for_bit) { resume_matches(QDML_REAL_TIME, QDML_SPLIT_STRANG, 1); }
Test(checkpoint, resume_imaginary_time_2d_bit_for_bit) { resume_matches(QDML_IMAGINARY_TIME, QDML_SPLIT_STRANG, 2); }
Test(checkpoint, resume_real_time_3d_bit_for_bit) { resume_matches(QDML_REAL_TIME, QDML_SPLIT_STRANG, 3); }
Test(checkpoint, resume_yoshida_real_time_1d_bit_for_bit) { resume_matches(QDML_REAL_TIME, QDML_SPLIT_YOSHIDA4, 1); }
Test(checkpoint, resume_suzuki_imaginary_time_2d_bit_for_bit) {
    resume_matches(QDML_IMAGINARY_TIME, QDML_SPLIT_SUZUKI4, 2);
}

/* ---- ground-state search: the schedule resumes too ---------------------------------------------- */

static void ground(qdml_problem *p, int64_t max_steps, int resume, qdml_run_result *r) {
    qdml_ground_options o;
    qdml_ground_options_default(&o);
    o.tolerance = 1e-9;
    o.max_steps = max_steps;
    o.resume = resume;
    qdml_status st = qdml_problem_ground(p, &o, r);
    cr_assert_eq(st, QDML_OK, "ground: %s", qdml_last_error_message());
}

static void same_results(const qdml_run_result *a, const qdml_run_result *b, int64_t n) {
    for (int64_t m = 0; m < n; ++m) {
        cr_assert_eq(a[m].converged, b[m].converged, "member %lld", (long long)m);
        cr_assert_eq(a[m].finished, b[m].finished, "member %lld", (long long)m);
        cr_assert_eq(memcmp(&a[m].final, &b[m].final, sizeof a[m].final), 0, "member %lld: final statistics differ",
                     (long long)m);
    }
}

Test(checkpoint, ground_search_resumes_bit_for_bit) {
    const int64_t n[1] = {128};
    const double lo[1] = {-8}, hi[1] = {8};
    qdml_grid g = qt_grid(1, n, lo, hi);
    qdml_context *ctx = qt_cpu_context(); /* bit for bit: the CPU backend's guarantee */
    char *dir = qt_tmpdir("ckground");
    char *path = qt_path(dir, "ground.ckpt");
    qdml_run_result rw[3], r1[3], r2[3];

    qdml_problem *whole = make_members(ctx, &g);
    ground(whole, 100000, 0, rw);
    cr_assert(rw[0].converged && rw[1].converged && rw[2].converged && rw[0].finished && rw[1].finished);
    /* Member 2's ground state in a flat potential is the uniform state, energy FLAT_V: within r^2 / gap
     * (Temple), gap = hbar^2 (2 pi / L)^2 / 2m the first kinetic level, plus rounding. */
    const double gap2 = 0.8 * 0.8 * (2.0 * QT_PI / 16.0) * (2.0 * QT_PI / 16.0) / (2.0 * 1.4);
    const double eb = rw[2].final.residual * rw[2].final.residual / gap2 + 1e-13;
    cr_assert_leq(fabs(rw[2].final.energy - FLAT_V), eb, "member 2 (flat V): E = %.17g, closed form %g (bound %.3g)",
                  rw[2].final.energy, FLAT_V, eb);

    /* 60 steps (3 monitoring intervals), save, load into a fresh problem, resume. */
    qdml_problem *first = make_members(ctx, &g);
    ground(first, 60, 0, r1);
    cr_assert(!r1[0].finished && !r1[1].finished, "the search should still be going after 60 steps");
    cr_assert_eq(qdml_checkpoint_save(first, path), QDML_OK, "%s", qdml_context_last_error(ctx));
    qdml_problem_destroy(first);
    qdml_problem *second = qt_problem(ctx, &g, 3);
    qdml_ground_options o;
    qdml_ground_options_default(&o);
    o.resume = 1;
    cr_assert_eq(qdml_problem_ground(second, &o, NULL), QDML_ERR_NOT_READY, "resume without a search");
    cr_assert_eq(qdml_checkpoint_load(second, path), QDML_OK, "%s", qdml_context_last_error(ctx));
    ground(second, 100000 - 60, 1, r2);
    assert_same(whole, second);
    same_results(rw, r2, 3);

    /* In one process, in calls of 40 steps each until every member has finished. */
    qdml_problem *third = make_members(ctx, &g);
    int calls = 0;
    for (int again = 0;; again = 1) {
        ground(third, 40, again, r2);
        ++calls;
        if (r2[0].finished && r2[1].finished && r2[2].finished) break;
        cr_assert_lt(calls, 100000 / 40);
    }
    cr_assert_gt(calls, 2);
    assert_same(whole, third);
    same_results(rw, r2, 3);
    /* Setting a state ends the search: nothing to resume. */
    cr_assert_eq(qdml_problem_set_state_uniform(third, 1), QDML_OK);
    cr_assert_eq(qdml_problem_ground(third, &o, NULL), QDML_ERR_NOT_READY);
    cr_assert_not_null(strstr(qdml_context_last_error(ctx), "resume"));

    qdml_problem_destroy(whole);
    qdml_problem_destroy(second);
    qdml_problem_destroy(third);
    qdml_context_destroy(ctx);
    qt_rm_rf(dir);
    free(path);
    free(dir);
}

/* ---- refusals ------------------------------------------------------------------------------------ */

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = qt_calloc((size_t)len + 1, 1);
    cr_assert_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void write_all(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

/* Loading `path` into p fails with `want`, the message contains `needle`, and p is unchanged. */
static void refused(qdml_problem *p, qdml_context *ctx, const char *path, qdml_status want, const char *needle) {
    double *before = qt_get_state(p, 0);
    qdml_stats s0;
    cr_assert_eq(qdml_problem_stats(p, 0, &s0), QDML_OK);
    qdml_status st = qdml_checkpoint_load(p, path);
    const char *msg = qdml_context_last_error(ctx);
    cr_assert_eq(st, want, "load returned %s: %s", qdml_status_string(st), msg);
    cr_assert_not_null(strstr(msg, needle), "message '%s' lacks '%s'", msg, needle);
    cr_assert_not_null(strstr(msg, path), "message '%s' does not name the file", msg);
    double *after = qt_get_state(p, 0);
    cr_assert_eq(memcmp(before, after, 2 * (size_t)qdml_problem_points(p) * sizeof(double)), 0,
                 "a refused load changed the state");
    qdml_stats s1;
    cr_assert_eq(qdml_problem_stats(p, 0, &s1), QDML_OK);
    cr_assert_eq(s0.step, s1.step);
    free(before);
    free(after);
}

Test(checkpoint, refuses_damaged_foreign_and_mismatched_files) {
    const int64_t n[1] = {64};
    const double lo[1] = {-5}, hi[1] = {5};
    qdml_grid g = qt_grid(1, n, lo, hi);
    qdml_context *ctx = qt_context();
    char *dir = qt_tmpdir("ckbad");
    char *good = qt_path(dir, "good.ckpt"), *bad = qt_path(dir, "bad.ckpt");
    qdml_problem *src = make_members(ctx, &g);
    evolve(src, QDML_REAL_TIME, 10, 5);
    cr_assert_eq(qdml_checkpoint_save(src, good), QDML_OK);
    size_t len = 0;
    unsigned char *bytes = read_all(good, &len);
    cr_assert_gt(len, 64 * 16);

    /* The target: evolved a little so its state differs from the checkpoint's. */
    qdml_problem *dst = make_members(ctx, &g);
    evolve(dst, QDML_REAL_TIME, 3, 0);

    /* One flipped bit in the middle of a state. */
    unsigned char *copy = qt_calloc(len, 1);
    memcpy(copy, bytes, len);
    copy[len / 2] ^= 0x10;
    write_all(bad, copy, len);
    refused(dst, ctx, bad, QDML_ERR_INVALID_ARGUMENT, "corrupt");
    /* A flipped bit in the checksum itself. */
    memcpy(copy, bytes, len);
    copy[len - 1] ^= 0x01;
    write_all(bad, copy, len);
    refused(dst, ctx, bad, QDML_ERR_INVALID_ARGUMENT, "corrupt");
    /* Truncated at several places, and padded. */
    const size_t cuts[] = {0, 7, 23, 24, 100, len / 2, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; ++i) {
        write_all(bad, bytes, cuts[i]);
        refused(dst, ctx, bad, QDML_ERR_INVALID_ARGUMENT, cuts[i] < 32 ? "checkpoint" : "truncated");
    }
    unsigned char *longer = qt_calloc(len + 1, 1);
    memcpy(longer, bytes, len);
    write_all(bad, longer, len + 1);
    refused(dst, ctx, bad, QDML_ERR_INVALID_ARGUMENT, "trailing");
    free(longer);
    /* Wrong magic: a .npy file. */
    memcpy(copy, bytes, len);
    memcpy(copy, "\x93NUMPY\x01\x00", 8);
    write_all(bad, copy, len);
    refused(dst, ctx, bad, QDML_ERR_INVALID_ARGUMENT, "not a qdml checkpoint");
    /* A future version. */
    memcpy(copy, bytes, len);
    copy[8] = 3;
    write_all(bad, copy, len);
    refused(dst, ctx, bad, QDML_ERR_INVALID_ARGUMENT, "version 3");
    /* Missing file. */
    char *missing = qt_path(dir, "missing.ckpt");
    refused(dst, ctx, missing, QDML_ERR_IO, "cannot open");
    free(missing);

    /* A good file into a problem of another grid or batch. */
    const int64_t n2[1] = {128};
    qdml_grid g2 = qt_grid(1, n2, lo, hi);
    qdml_problem *other = make_members(ctx, &g2);
    refused(other, ctx, good, QDML_ERR_INVALID_ARGUMENT, "does not match");
    qdml_problem_destroy(other);
    const double hi2[1] = {5.5};
    g2 = qt_grid(1, n, lo, hi2);
    other = make_members(ctx, &g2);
    refused(other, ctx, good, QDML_ERR_INVALID_ARGUMENT, "does not match");
    qdml_problem_destroy(other);
    other = qt_problem(ctx, &g, 4);
    qt_set_zero_potential(other);
    refused(other, ctx, good, QDML_ERR_INVALID_ARGUMENT, "batch 4");
    qdml_problem_destroy(other);

    /* qdml_checkpoint_info reads the grid and batch; refuses the same damage. */
    qdml_grid gi;
    int64_t bi = 0;
    cr_assert_eq(qdml_checkpoint_info(good, &gi, &bi), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(bi, 3);
    cr_assert_eq(gi.dim, 1);
    cr_assert_eq(gi.n[0], 64);
    cr_assert_eq(gi.lo[0], -5.0);
    cr_assert_eq(gi.hi[0], 5.0);
    memcpy(copy, bytes, len);
    copy[len / 3] ^= 0x80;
    write_all(bad, copy, len);
    cr_assert_eq(qdml_checkpoint_info(bad, &gi, &bi), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_not_null(strstr(qdml_last_error_message(), "corrupt"));

    /* And the good file still loads into dst after all that. */
    cr_assert_eq(qdml_checkpoint_load(dst, good), QDML_OK, "%s", qdml_context_last_error(ctx));
    assert_same(src, dst);

    free(copy);
    free(bytes);
    qdml_problem_destroy(src);
    qdml_problem_destroy(dst);
    qdml_context_destroy(ctx);
    qt_rm_rf(dir);
    free(good);
    free(bad);
    free(dir);
}

Test(checkpoint, save_is_atomic_and_reports_io_errors) {
    const int64_t n[1] = {64};
    const double lo[1] = {-5}, hi[1] = {5};
    qdml_grid g = qt_grid(1, n, lo, hi);
    qdml_context *ctx = qt_context();
    char *dir = qt_tmpdir("ckio");
    char *path = qt_path(dir, "a.ckpt");
    qdml_problem *p = make_members(ctx, &g);
    cr_assert_eq(qdml_checkpoint_save(p, path), QDML_OK);
    size_t len0 = 0;
    unsigned char *first = read_all(path, &len0);
    /* Overwrite with a later state: replaced whole, and no temporary file left behind. */
    evolve(p, QDML_REAL_TIME, 5, 0);
    cr_assert_eq(qdml_checkpoint_save(p, path), QDML_OK);
    size_t entries = 0;
    struct stat sb;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    cr_assert_neq(stat(tmp, &sb), 0, "temporary file %s left behind", tmp);
    (void)entries;
    size_t len1 = 0;
    unsigned char *second = read_all(path, &len1);
    cr_assert(len1 > len0, "the later checkpoint carries one more history entry per member");
    /* A directory that does not exist: IO, named, and nothing changes. */
    char *nodir = qt_path(dir, "no/such/dir.ckpt");
    qdml_status st = qdml_checkpoint_save(p, nodir);
    cr_assert_eq(st, QDML_ERR_IO, "%s", qdml_status_string(st));
    cr_assert_not_null(strstr(qdml_context_last_error(ctx), "cannot create"));
    /* A path that is a directory: refused before anything is written; the directory is kept whole. */
    char *sub = qt_path(dir, "sub");
    cr_assert_eq(mkdir(sub, 0755), 0);
    char *inner = qt_path(sub, "x");
    write_all(inner, (const unsigned char *)"x", 1);
    st = qdml_checkpoint_save(p, sub);
    cr_assert_eq(st, QDML_ERR_IO, "%s", qdml_status_string(st));
    cr_assert_not_null(strstr(qdml_context_last_error(ctx), "is a directory"), "%s", qdml_context_last_error(ctx));
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", sub, (long)getpid());
    cr_assert_neq(stat(tmp, &sb), 0, "temporary file %s left behind after a refused write", tmp);
    cr_assert_eq(stat(inner, &sb), 0);
    /* NULL arguments. */
    cr_assert_eq(qdml_checkpoint_save(NULL, path), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_checkpoint_save(p, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_checkpoint_load(NULL, path), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_checkpoint_load(p, ""), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_checkpoint_info(NULL, NULL, NULL), QDML_ERR_INVALID_ARGUMENT);
    free(first);
    free(second);
    free(nodir);
    free(sub);
    free(inner);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
    qt_rm_rf(dir);
    free(path);
    free(dir);
}

/* ---- the qdml program: --checkpoint, SIGKILL, --resume --------------------------------------- */

#include "io_npy.h"

#ifndef QDML_CLI_PATH
#error "QDML_CLI_PATH must name the built qdml program"
#endif

/* Starts `qdml args...` (NULL-terminated) with stdout/stderr into dir/NAME.out and dir/NAME.err. */
static pid_t start_cli(const char *dir, const char *name, const char *const *args) {
    char out[4096], err[4096];
    snprintf(out, sizeof out, "%s/%s.out", dir, name);
    snprintf(err, sizeof err, "%s/%s.err", dir, name);
    size_t n = 0;
    while (args[n])
        ++n;
    char **argv = qt_calloc(n + 2, sizeof *argv);
    argv[0] = (char *)QDML_CLI_PATH;
    for (size_t i = 0; i < n; ++i)
        argv[i + 1] = (char *)args[i];
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork failed");
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0) _exit(126);
        dup2(fo, 1);
        dup2(fe, 2);
        setenv("OMP_NUM_THREADS", "1", 1);
        execv(QDML_CLI_PATH, argv);
        _exit(127);
    }
    free(argv);
    return pid;
}

static int wait_cli(pid_t pid) {
    int ws = 0;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
}

static char *text_of(const char *dir, const char *name) {
    char *p = qt_path(dir, name);
    FILE *f = fopen(p, "rb");
    free(p);
    if (!f) return calloc(1, 1);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = qt_calloc((size_t)(len > 0 ? len : 0) + 1, 1);
    size_t got = len > 0 ? fread(s, 1, (size_t)len, f) : 0;
    s[got] = '\0';
    fclose(f);
    return s;
}

#define CLI_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void assert_files_equal(const char *dir, const char *a, const char *b) {
    char *pa = qt_path(dir, a), *pb = qt_path(dir, b);
    size_t na = 0, nb = 0;
    unsigned char *da = read_all(pa, &na), *db = read_all(pb, &nb);
    cr_assert_eq(na, nb, "%s has %zu bytes, %s %zu", a, na, b, nb);
    cr_assert_eq(memcmp(da, db, na), 0, "%s and %s differ", a, b);
    free(da);
    free(db);
    free(pa);
    free(pb);
}

Test(checkpoint_cli, sigkill_then_resume_equals_uninterrupted_run, .timeout = 300) {
    char *dir = qt_tmpdir("ckcli");
    const int64_t n = 1024;
    double *v = qt_calloc((size_t)n, sizeof *v), *psi = qt_calloc(2 * (size_t)n, sizeof *psi);
    for (int64_t j = 0; j < n; ++j) {
        double x = -20.0 + 40.0 * (double)j / (double)n;
        v[j] = 0.05 * x * x + 0.1 * sin(x);
        psi[2 * j] = exp(-(x - 1) * (x - 1) / 2) * cos(x);
        psi[2 * j + 1] = exp(-(x - 1) * (x - 1) / 2) * sin(x);
    }
    char *vpath = qt_path(dir, "V.npy"), *ppath = qt_path(dir, "psi0.npy"), *ck = qt_path(dir, "run.ckpt");
    char *whole = qt_path(dir, "whole.npy"), *resumed = qt_path(dir, "resumed.npy");
    char *whole_csv = qt_path(dir, "whole.csv"), *resumed_csv = qt_path(dir, "resumed.csv");
    cr_assert_eq(qdml_npy_write(vpath, QDML_NPY_F64, 1, &n, v), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(qdml_npy_write(ppath, QDML_NPY_C128, 1, &n, psi), QDML_OK, "%s", qdml_last_error_message());
    free(v);
    free(psi);

    /* 40000 steps (monitoring every 1000) on 1024 points: about half a second, of which the run killed
     * after its first checkpoint (2000 steps) still has 95% ahead of it. The uninterrupted run saves
     * checkpoints too (to another file), which changes no number. A checkpointed run keeps its measured
     * plans beside the checkpoint (FILE.wisdom), which its resumption plans from; the uninterrupted run
     * and the killed one, two processes, plan alike where they share a wisdom file: this test's own, so
     * that no other run of the suite can change it between them. The runs are on the CPU backend
     * (--backend cpu): bit for bit is its guarantee. */
    char *full = qt_path(dir, "full.ckpt"), *wis = qt_path(dir, "shared.wisdom");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = wait_cli(
        start_cli(dir, "whole",
                  CLI_ARGS("evolve", "--mode", "real", "--time", "8", "--dt", "0.0002", "--threads", "1", "--backend",
                           "cpu", "--potential", vpath, "--box", "-20:20", "--psi0", ppath, "--out", whole, "--history",
                           whole_csv, "--json", "--checkpoint", full, "--checkpoint-every", "2000", "--wisdom", wis)));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char *e = text_of(dir, "whole.err");
    cr_assert_eq(rc, 0, "uninterrupted run: exit %d: %s", rc, e);
    free(e);
    const double whole_s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);

    free(full);
    /* The same run, killed as soon as its first checkpoint exists. */
    pid_t pid = start_cli(dir, "killed",
                          CLI_ARGS("evolve", "--mode", "real", "--time", "8", "--dt", "0.0002", "--threads", "1",
                                   "--backend", "cpu", "--potential", vpath, "--box", "-20:20", "--psi0", ppath,
                                   "--checkpoint", ck, "--checkpoint-every", "2000", "--json", "--wisdom", wis));
    struct stat sb;
    for (int i = 0; i < 600000 && stat(ck, &sb) != 0; ++i) {
        struct timespec ms = {0, 100000};
        nanosleep(&ms, NULL);
    }
    cr_assert_eq(stat(ck, &sb), 0, "no checkpoint appeared");
    cr_assert_eq(kill(pid, SIGKILL), 0);
    rc = wait_cli(pid);
    cr_assert_eq(rc, 128 + SIGKILL,
                 "the checkpointed run ended (exit %d) before it was killed (uninterrupted run %.2f s)", rc, whole_s);
    /* The checkpoint it left is a complete one, before the end of the run. */
    qdml_grid g;
    int64_t batch = 0;
    cr_assert_eq(qdml_checkpoint_info(ck, &g, &batch), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(batch, 1);
    cr_assert_eq(g.n[0], n);

    rc = wait_cli(start_cli(dir, "resumed",
                            CLI_ARGS("evolve", "--mode", "real", "--time", "8", "--dt", "0.0002", "--threads", "1",
                                     "--backend", "cpu", "--resume", ck, "--checkpoint", ck, "--checkpoint-every",
                                     "2000", "--out", resumed, "--history", resumed_csv, "--json")));
    e = text_of(dir, "resumed.err");
    cr_assert_eq(rc, 0, "resumed run: exit %d: %s", rc, e);
    free(e);
    /* Bit for bit: the final state, the whole history, and the printed statistics. */
    assert_files_equal(dir, "whole.npy", "resumed.npy");
    assert_files_equal(dir, "whole.csv", "resumed.csv");
    assert_files_equal(dir, "whole.out", "resumed.out");
    char *out = text_of(dir, "resumed.out");
    cr_assert_not_null(strstr(out, "\"steps\": 40000"), "%s", out);
    free(out);

    /* Resuming a finished run does nothing and reports the same. */
    rc = wait_cli(start_cli(dir, "again",
                            CLI_ARGS("evolve", "--mode", "real", "--time", "8", "--dt", "0.0002", "--threads", "1",
                                     "--backend", "cpu", "--resume", ck, "--json")));
    cr_assert_eq(rc, 0);
    assert_files_equal(dir, "whole.out", "again.out");
    /* A resume with another step, or with inputs that belong to the checkpoint, is refused. */
    rc = wait_cli(start_cli(dir, "baddt",
                            CLI_ARGS("evolve", "--mode", "real", "--time", "16", "--dt", "0.0004", "--resume", ck)));
    e = text_of(dir, "baddt.err");
    cr_assert_eq(rc, 2, "exit %d: %s", rc, e);
    cr_assert_not_null(strstr(e, "--dt"), "%s", e);
    free(e);
    rc = wait_cli(start_cli(
        dir, "badbox",
        CLI_ARGS("evolve", "--mode", "real", "--time", "8", "--dt", "0.0002", "--resume", ck, "--box", "-1:1")));
    e = text_of(dir, "badbox.err");
    cr_assert_eq(rc, 2, "exit %d: %s", rc, e);
    cr_assert_not_null(strstr(e, "--box gives axis 0 as -1:1; the checkpoint's is"), "%s", e);
    free(e);
    rc = wait_cli(start_cli(dir, "noevery",
                            CLI_ARGS("evolve", "--mode", "real", "--time", "8", "--dt", "0.0002", "--resume", ck,
                                     "--checkpoint-every", "10")));
    e = text_of(dir, "noevery.err");
    cr_assert_eq(rc, 2, "exit %d: %s", rc, e);
    cr_assert_not_null(strstr(e, "--checkpoint-every needs --checkpoint"), "%s", e);
    free(e);
    rc = wait_cli(start_cli(dir, "badfile",
                            CLI_ARGS("evolve", "--mode", "real", "--time", "8", "--dt", "0.0002", "--resume", vpath)));
    e = text_of(dir, "badfile.err");
    cr_assert_eq(rc, 2, "exit %d: %s", rc, e);
    cr_assert_not_null(strstr(e, "not a qdml checkpoint"), "%s", e);
    free(e);

    free(vpath);
    free(ppath);
    free(ck);
    free(whole);
    free(resumed);
    free(whole_csv);
    free(resumed_csv);
    free(wis);
    qt_rm_rf(dir);
    free(dir);
}

Test(checkpoint_cli, ground_sigkill_then_resume_equals_uninterrupted_search, .timeout = 300) {
    char *dir = qt_tmpdir("ckground-cli");
    const int64_t n = 1024, shape[2] = {2, 1024};
    double *v = qt_calloc(2 * (size_t)n, sizeof *v);
    for (int64_t b = 0; b < 2; ++b)
        for (int64_t j = 0; j < n; ++j) {
            double x = -20.0 + 40.0 * (double)j / (double)n;
            v[b * n + j] = 0.05 * x * x + 0.1 * (double)b * sin(x);
        }
    char *vpath = qt_path(dir, "V.npy"), *ck = qt_path(dir, "run.ckpt"), *full = qt_path(dir, "full.ckpt");
    char *whole = qt_path(dir, "whole.npy"), *resumed = qt_path(dir, "resumed.npy");
    char *whole_csv = qt_path(dir, "whole.csv"), *resumed_csv = qt_path(dir, "resumed.csv");
    cr_assert_eq(qdml_npy_write(vpath, QDML_NPY_F64, 2, shape, v), QDML_OK, "%s", qdml_last_error_message());
    free(v);
    /* A fixed small step: 30000 steps of a batch of two on 1024 points, under a second, unconverged at
     * the end (tau = 15, the gap 0.32 leaves exp(-4.7) of the excited states). On the CPU backend. */
    /* (one wisdom file for the uninterrupted and the killed run, as in the evolve test above) */
    char *wis = qt_path(dir, "shared.wisdom");
#define GROUND_ARGS                                                                                                    \
    "ground", "--batch", "--threads", "1", "--backend", "cpu", "--tol", "1e-12", "--max-steps", "30000",               \
        "--dt-initial", "0.0005", "--dt-min", "0.0005", "--wisdom", wis, "--json"
    int rc = wait_cli(start_cli(dir, "whole",
                                CLI_ARGS(GROUND_ARGS, "--potential", vpath, "--box", "-20:20", "--out", whole,
                                         "--history", whole_csv, "--checkpoint", full, "--checkpoint-every", "1000")));
    char *e = text_of(dir, "whole.err");
    cr_assert_eq(rc, 0, "uninterrupted search: exit %d: %s", rc, e);
    free(e);

    pid_t pid = start_cli(dir, "killed",
                          CLI_ARGS(GROUND_ARGS, "--potential", vpath, "--box", "-20:20", "--checkpoint", ck,
                                   "--checkpoint-every", "1000"));
    struct stat sb;
    for (int i = 0; i < 600000 && stat(ck, &sb) != 0; ++i) {
        struct timespec ms = {0, 100000};
        nanosleep(&ms, NULL);
    }
    cr_assert_eq(stat(ck, &sb), 0, "no checkpoint appeared");
    cr_assert_eq(kill(pid, SIGKILL), 0);
    rc = wait_cli(pid);
    cr_assert_eq(rc, 128 + SIGKILL, "the search ended (exit %d) before it was killed", rc);

    /* Without --batch, a two-member checkpoint is refused. */
    rc = wait_cli(start_cli(dir, "nobatch", CLI_ARGS("ground", "--resume", ck)));
    e = text_of(dir, "nobatch.err");
    cr_assert_eq(rc, 2, "exit %d: %s", rc, e);
    cr_assert_not_null(strstr(e, "--batch"), "%s", e);
    free(e);

    rc = wait_cli(start_cli(dir, "resumed",
                            CLI_ARGS(GROUND_ARGS, "--resume", ck, "--checkpoint", ck, "--checkpoint-every", "1000",
                                     "--out", resumed, "--history", resumed_csv)));
#undef GROUND_ARGS
    e = text_of(dir, "resumed.err");
    cr_assert_eq(rc, 0, "resumed search: exit %d: %s", rc, e);
    free(e);
    assert_files_equal(dir, "whole.npy", "resumed.npy");
    assert_files_equal(dir, "whole.csv", "resumed.csv");
    assert_files_equal(dir, "whole.out", "resumed.out");
    assert_files_equal(dir, "whole.err", "resumed.err");
    char *out = text_of(dir, "resumed.out");
    cr_assert_not_null(strstr(out, "\"steps\": 30000"), "%s", out);
    free(out);

    free(vpath);
    free(ck);
    free(full);
    free(whole);
    free(resumed);
    free(whole_csv);
    free(resumed_csv);
    free(wis);
    qt_rm_rf(dir);
    free(dir);
}
