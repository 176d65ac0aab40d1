/* The record of a problem's last run (qdml_problem_last_run): set by every run, kept in checkpoints
 * (format version 2) and read back with them, so that a caller resuming a checkpoint can check that
 * it goes on with the options it was saved with; a version-1 checkpoint (no record) still loads, with
 * no record; a damaged record is refused.
 *
 * Backend: the one QDML_TEST_BACKEND selects (qt_context): the record is every backend's. */
#include "support.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double bowl(const double *x, int dim, void *user) {
    (void)user;
    double v = 0;
    for (int d = 0; d < dim; ++d)
        v += 0.5 * x[d] * x[d];
    return v;
}

static qdml_problem *oscillators(qdml_context *ctx, int64_t batch) {
    const int64_t n[1] = {64};
    const double lo[1] = {-8}, hi[1] = {8};
    qdml_grid g = qt_grid(1, n, lo, hi);
    qdml_problem *p = qt_problem(ctx, &g, batch);
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, bowl, NULL);
    return p;
}

static qdml_run_info last_run(const qdml_problem *p) {
    qdml_run_info r;
    memset(&r, 0xff, sizeof r);
    cr_assert_eq(qdml_problem_last_run(p, &r), QDML_OK, "%s", qdml_last_error_message());
    return r;
}

static unsigned char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len);
    cr_assert_eq(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void write_all(const char *path, const unsigned char *b, size_t len) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, len, f), len);
    fclose(f);
}

static void put_u64(unsigned char *b, uint64_t v) {
    for (int i = 0; i < 8; ++i)
        b[i] = (unsigned char)(v >> (8 * i));
}

/* FNV-1a 64 (docs/checkpoints.md): the trailer's checksum. */
static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Offset of the run record in a version-2 checkpoint of `batch` members (docs/checkpoints.md): the
 * 24-byte header, the 96-byte grid, 56 bytes per member, the ground flag and 23 words per member. */
static size_t record_offset(int64_t batch) { return 24 + 96 + 56 * (size_t)batch + 8 + 23 * 8 * (size_t)batch; }

Test(run_record, every_run_sets_it_and_checkpoints_keep_it) {
    qdml_context *ctx = qt_context();
    qdml_problem *p = oscillators(ctx, 2);
    qdml_run_info r = last_run(p);
    cr_assert_eq(r.kind, QDML_RUN_NONE, "a new problem has run nothing");
    /* evolve: mode, splitting and the flags as given. */
    qdml_evolve_options eo;
    qdml_evolve_options_default(&eo);
    eo.mode = QDML_IMAGINARY_TIME;
    eo.dt = 0.01;
    eo.steps = 4;
    eo.monitor_every = 2;
    eo.splitting = QDML_SPLIT_SUZUKI4;
    cr_assert_eq(qdml_problem_evolve(p, &eo, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
    r = last_run(p);
    cr_assert_eq(r.kind, QDML_RUN_EVOLVE);
    cr_assert_eq(r.mode, QDML_IMAGINARY_TIME);
    cr_assert_eq(r.splitting, QDML_SPLIT_SUZUKI4);
    cr_assert(r.renormalize == 1 && r.potential_only == 0 && r.monitor_every == 2);
    cr_assert_eq(r.precision, QDML_FLOAT64);
    /* ground: the tolerance and step options as given. */
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = 3e-5;
    go.dt_min = 1e-7;
    go.max_steps = 40;
    cr_assert_eq(qdml_problem_ground(p, &go, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
    r = last_run(p);
    cr_assert_eq(r.kind, QDML_RUN_GROUND);
    cr_assert(r.tolerance == 3e-5 && r.dt_min == 1e-7 && r.dt_initial == 0.0, "tolerance %g, dt_min %g, dt_initial %g",
              r.tolerance, r.dt_min, r.dt_initial);
    cr_assert_eq(r.mode, QDML_IMAGINARY_TIME);
    /* Saved and loaded with the checkpoint. */
    char *dir = qt_tmpdir("runrec");
    char *ck = qt_path(dir, "c.ckpt");
    cr_assert_eq(qdml_checkpoint_save(p, ck), QDML_OK, "%s", qdml_context_last_error(ctx));
    qdml_problem *q = oscillators(ctx, 2);
    cr_assert_eq(qdml_checkpoint_load(q, ck), QDML_OK, "%s", qdml_context_last_error(ctx));
    qdml_run_info s = last_run(q);
    cr_assert(s.kind == QDML_RUN_GROUND && s.tolerance == 3e-5 && s.dt_min == 1e-7, "loaded: kind %d, tol %g",
              (int)s.kind, s.tolerance);
    /* The lowest states are a kind of their own. */
    qdml_problem_destroy(q);
    q = oscillators(ctx, 2);
    const double c0[1] = {0.0}, w0[1] = {1.0}, c1[1] = {0.5};
    cr_assert_eq(qdml_problem_set_state_gaussian(q, 0, c0, w0, NULL), QDML_OK);
    cr_assert_eq(qdml_problem_set_state_gaussian(q, 1, c1, w0, NULL), QDML_OK);
    cr_assert_eq(qdml_problem_lowest_states(q, &go, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
    cr_assert_eq(last_run(q).kind, QDML_RUN_LOWEST_STATES);
    cr_assert_eq(qdml_problem_last_run(NULL, &s), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_last_run(q, NULL), QDML_ERR_INVALID_ARGUMENT);
    qdml_problem_destroy(q);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
    qt_rm_rf(dir);
    free(ck);
    free(dir);
}

Test(run_record, a_version_1_checkpoint_loads_without_a_record_and_a_damaged_record_is_refused) {
    qdml_context *ctx = qt_context();
    qdml_problem *p = oscillators(ctx, 1);
    qdml_evolve_options eo;
    qdml_evolve_options_default(&eo);
    eo.dt = 0.01;
    eo.steps = 3;
    cr_assert_eq(qdml_problem_evolve(p, &eo, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
    char *dir = qt_tmpdir("runrec");
    char *ck = qt_path(dir, "v2.ckpt"), *v1 = qt_path(dir, "v1.ckpt"), *bad = qt_path(dir, "bad.ckpt");
    cr_assert_eq(qdml_checkpoint_save(p, ck), QDML_OK, "%s", qdml_context_last_error(ctx));
    size_t len = 0;
    unsigned char *b = read_all(ck, &len);
    cr_assert_eq(b[8], 2, "version %u written, expected 2", b[8]);
    const size_t at = record_offset(1);
    cr_assert_eq(b[at], QDML_RUN_EVOLVE, "the record's kind at byte %zu", at);
    /* Version 1: the same file without the 56-byte record, its payload size and checksum to match. */
    unsigned char *o = malloc(len - 56);
    memcpy(o, b, at);
    memcpy(o + at, b + at + 56, len - at - 56);
    o[8] = 1;
    const size_t olen = len - 56;
    put_u64(o + 16, (uint64_t)(olen - 32));
    put_u64(o + olen - 8, fnv1a(o, olen - 8));
    write_all(v1, o, olen);
    qdml_problem *q = oscillators(ctx, 1);
    cr_assert_eq(qdml_checkpoint_load(q, v1), QDML_OK, "%s", qdml_context_last_error(ctx));
    cr_assert_eq(last_run(q).kind, QDML_RUN_NONE, "a version-1 checkpoint records no run");
    double *sp = qt_get_state(p, 0), *sq = qt_get_state(q, 0);
    cr_assert_eq(memcmp(sp, sq, 64 * 16), 0, "the version-1 file's state loads as it was saved");
    free(sp);
    free(sq);
    /* A record that names no kind of run: refused, with its checksum made right. */
    b[at] = 9;
    put_u64(b + len - 8, fnv1a(b, len - 8));
    write_all(bad, b, len);
    cr_assert_eq(qdml_checkpoint_load(q, bad), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_not_null(strstr(qdml_context_last_error(ctx), "record of the last run"), "%s",
                       qdml_context_last_error(ctx));
    free(o);
    free(b);
    qdml_problem_destroy(q);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
    qt_rm_rf(dir);
    free(ck);
    free(v1);
    free(bad);
    free(dir);
}
