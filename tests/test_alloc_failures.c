/* Allocation failures: the k-th allocation made by the library fails, for every k, during context
 * and problem creation, setting inputs, a fixed-step run, a ground-state search, statistics and a
 * checkpoint save and load. Every call must then return QDML_ERR_OUT_OF_MEMORY (never crash or
 * report another status), and once everything is destroyed no allocation made by the library may
 * remain (checked here by tracking, and by LeakSanitizer in the scripts/sanitize build).
 *
 * The test program is linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
 * (tests/CMakeLists.txt): every call to those in the test and in the static library goes through
 * the __wrap_ functions below. FFTW's own allocations (fftw_malloc, inside libfftw3) are not
 * reached this way.
 *
 * Backend: the CPU backend whatever QDML_TEST_BACKEND selects: the failures injected are the host
 * allocations (malloc, calloc, realloc through --wrap), which the CPU backend's own arrays are; a device's
 * allocations are not among them.
 */
#include "support.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *ptr, size_t size);
void __real_free(void *ptr);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t count, size_t size);
void *__wrap_realloc(void *ptr, size_t size);
void __wrap_free(void *ptr);

/* ---- injection and tracking (the test is single-threaded: the contexts use one thread) ---------- */

static int armed;        /* count and track allocations */
static long countdown;   /* fail the allocation when this reaches 0 (-1: never) */
static long allocations; /* allocations seen while armed */
static int injected;     /* a failure was injected */

#define SLOTS (1u << 16)
static void *live[SLOTS]; /* open addressing; TOMB marks a removed entry */
static char tomb_marker;
#define TOMB ((void *)&tomb_marker)
static size_t nlive;

static size_t slot_of(void *p) { return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 48) & (SLOTS - 1); }

static void track(void *p) {
    size_t i = slot_of(p);
    while (live[i] && live[i] != TOMB)
        i = (i + 1) & (SLOTS - 1);
    live[i] = p;
    ++nlive;
}

static void untrack(void *p) {
    if (!p || nlive == 0) return;
    for (size_t i = slot_of(p), n = 0; live[i] && n < SLOTS; i = (i + 1) & (SLOTS - 1), ++n)
        if (live[i] == p) {
            live[i] = TOMB;
            --nlive;
            return;
        }
}

static int should_fail(void) {
    if (!armed) return 0;
    ++allocations;
    if (countdown < 0) return 0;
    if (countdown-- == 0) {
        injected = 1;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t size) {
    if (should_fail()) return NULL;
    void *p = __real_malloc(size);
    if (p && armed) track(p);
    return p;
}

void *__wrap_calloc(size_t count, size_t size) {
    if (should_fail()) return NULL;
    void *p = __real_calloc(count, size);
    if (p && armed) track(p);
    return p;
}

void *__wrap_realloc(void *ptr, size_t size) {
    if (should_fail()) return NULL; /* the old block stays valid, as realloc promises */
    void *p = __real_realloc(ptr, size);
    if (p) {
        untrack(ptr);
        if (armed) track(p);
    }
    return p;
}

void __wrap_free(void *ptr) {
    untrack(ptr);
    __real_free(ptr);
}

/* ---- the work ----------------------------------------------------------------------------------- */

typedef struct outcome {
    qdml_status status; /* first failure, or QDML_OK */
    const char *step;   /* where */
    char message[1024];
} outcome;

#define STEP(name, call)                                                                                               \
    do {                                                                                                               \
        qdml_status st_ = (call);                                                                                      \
        if (st_ != QDML_OK) {                                                                                          \
            o.status = st_;                                                                                            \
            o.step = name;                                                                                             \
            snprintf(o.message, sizeof o.message, "%s",                                                                \
                     ctx ? qdml_context_last_error(ctx) : qdml_last_error_message());                                  \
            goto out;                                                                                                  \
        }                                                                                                              \
    } while (0)

static outcome run_all(const double *v, const char *ckpt, double *density) {
    outcome o = {QDML_OK, "", ""};
    qdml_context *ctx = NULL;
    qdml_problem *p = NULL, *q = NULL;
    const int64_t n[1] = {64};
    const double lo[1] = {-6}, hi[1] = {6};
    qdml_grid g;
    STEP("grid", qdml_grid_init(&g, 1, n, lo, hi));
    STEP("context", qdml_context_create(&ctx, QDML_BACKEND_CPU, 1));
    STEP("effort", qdml_context_set_fft_effort(ctx, QDML_FFT_ESTIMATE));
    STEP("problem", qdml_problem_create(ctx, &g, 2, &p));
    STEP("potential", qdml_problem_set_potential(p, QDML_ALL_MEMBERS, v));
    const double c[1] = {0.5}, w[1] = {1.0}, k[1] = {1.0};
    STEP("gaussian", qdml_problem_set_state_gaussian(p, 0, c, w, k));
    qdml_evolve_options eo;
    qdml_evolve_options_default(&eo);
    eo.dt = 0.01;
    eo.steps = 100;
    eo.monitor_every = 1; /* 100 history entries: the history grows past its first capacity */
    qdml_run_result r[2];
    STEP("evolve", qdml_problem_evolve(p, &eo, r));
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = 1e-5;
    go.max_steps = 3000;
    STEP("ground", qdml_problem_ground(p, &go, r));
    qdml_stats s;
    STEP("stats", qdml_problem_stats(p, 1, &s));
    STEP("density", qdml_problem_get_density(p, 0, density));
    STEP("checkpoint_save", qdml_checkpoint_save(p, ckpt));
    STEP("second problem", qdml_problem_create(ctx, &g, 2, &q));
    STEP("checkpoint_load", qdml_checkpoint_load(q, ckpt));
out:
    qdml_problem_destroy(q);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
    return o;
}

Test(alloc_failures, every_allocation_fails_cleanly, .timeout = 600) {
    double v[64];
    for (int i = 0; i < 64; ++i) {
        double x = -6.0 + 12.0 * i / 64.0;
        v[i] = 0.5 * x * x;
    }
    double *density = qt_calloc(64, sizeof(double));
    char *dir = qt_tmpdir("alloc");
    char *ckpt = qt_path(dir, "c.ckpt");

    /* A clean run first: how many allocations the whole sequence makes. */
    armed = 1;
    countdown = -1;
    allocations = 0;
    outcome o = run_all(v, ckpt, density);
    armed = 0;
    cr_assert_eq(o.status, QDML_OK, "clean run failed at %s: %s", o.step, o.message);
    const long total = allocations;
    cr_assert_gt(total, 20, "only %ld allocations seen: is the wrapping in place?", total);
    cr_assert_eq(nlive, 0, "%zu allocations outlive a clean run", nlive);

    long failed_at[16] = {0};
    const char *steps_hit[16] = {0};
    int nsteps_hit = 0;
    for (long k = 0; k < total; ++k) {
        armed = 1;
        countdown = k;
        injected = 0;
        allocations = 0;
        o = run_all(v, ckpt, density);
        armed = 0;
        cr_assert(injected, "allocation %ld of %ld was never made", k, total);
        cr_assert_eq(o.status, QDML_ERR_OUT_OF_MEMORY,
                     "allocation %ld failed: step '%s' returned %s (%s), expected QDML_ERR_OUT_OF_MEMORY", k,
                     o.step[0] ? o.step : "(none: the failure went unreported)", qdml_status_string(o.status),
                     o.message);
        cr_assert_neq(o.message[0], '\0', "allocation %ld: no message", k);
        cr_assert_eq(nlive, 0, "allocation %ld failed in '%s': %zu allocations leaked", k, o.step, nlive);
        int seen = 0;
        for (int i = 0; i < nsteps_hit; ++i)
            seen |= strcmp(steps_hit[i], o.step) == 0;
        if (!seen && nsteps_hit < 16) failed_at[nsteps_hit] = k, steps_hit[nsteps_hit++] = o.step;
    }
    /* The failures reached every stage of the sequence. */
    static const char *const expected[] = {"context", "problem", "gaussian",        "evolve",         "ground",
                                           "stats",   "density", "checkpoint_save", "checkpoint_load"};
    for (size_t e = 0; e < sizeof expected / sizeof expected[0]; ++e) {
        int hit = 0;
        for (int i = 0; i < nsteps_hit; ++i)
            hit |= strcmp(steps_hit[i], expected[e]) == 0;
        cr_assert(hit, "no injected failure landed in '%s'", expected[e]);
    }
    /* No temporary checkpoint file was left behind by a failed save. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", ckpt, (long)getpid());
    cr_assert_neq(access(tmp, F_OK), 0, "%s left behind", tmp);
    cr_log_info("%ld allocations, each failed in turn; first failure per step at allocation:", total);
    for (int i = 0; i < nsteps_hit; ++i)
        cr_log_info("  %-16s %ld", steps_hit[i], failed_at[i]);
    free(density);
    qt_rm_rf(dir);
    free(ckpt);
    free(dir);
}

/* A 4th-order run whose substep lengths alternate asks the CPU backend for a second set of step
 * tables (backend_cpu_tables.c, second_tables). That set is an economy, not a need: where it cannot
 * be had, the tables are rebuilt at every switch and the run goes on. So each allocation of the
 * run failing in turn must give either QDML_ERR_OUT_OF_MEMORY (the run's own buffers) or success
 * with the very states of a run with every allocation granted; nothing may leak either way, and at
 * least one failure must take the second branch. */
static void yoshida_member_states(qdml_context *ctx, const qdml_grid *g, const double *v, double *out, int arm_at,
                                  qdml_status *status) {
    qdml_problem *p = NULL;
    cr_assert_eq(qdml_problem_create(ctx, g, 2, &p), QDML_OK);
    cr_assert_eq(qdml_problem_set_potential(p, QDML_ALL_MEMBERS, v), QDML_OK);
    const double c[2] = {0.7, -0.4}, w[2] = {1.0, 1.2}, k[2] = {0.5, 0.3};
    cr_assert_eq(qdml_problem_set_state_gaussian(p, QDML_ALL_MEMBERS, c, w, k), QDML_OK);
    qdml_evolve_options eo;
    qdml_evolve_options_default(&eo);
    eo.dt = 0.01;
    eo.steps = 5;
    eo.splitting = QDML_SPLIT_YOSHIDA4;
    armed = 1;
    countdown = arm_at;
    injected = 0;
    allocations = 0;
    *status = qdml_problem_evolve(p, &eo, NULL);
    armed = 0;
    if (*status == QDML_OK)
        for (int64_t b = 0; b < 2; ++b)
            cr_assert_eq(qdml_problem_get_state(p, b, out + 2 * qdml_grid_points(g) * b), QDML_OK);
    qdml_problem_destroy(p);
}

/* Each allocation of a Yoshida run on `g` (N <= 256 points) failing in turn, as above. */
static void fourth_order_without_second_tables(const qdml_grid *g) {
    const int64_t N = qdml_grid_points(g);
    double v[256], clean[4 * 256], got[4 * 256];
    cr_assert_leq(N, 256);
    for (int64_t i = 0; i < N; ++i) {
        const double x = -6.0 + 12.0 * (double)(i % g->n[g->dim - 1]) / (double)g->n[g->dim - 1];
        v[i] = 0.5 * x * x + 0.1 * (double)(i / g->n[g->dim - 1]);
    }
    qdml_context *ctx = NULL;
    cr_assert_eq(qdml_context_create(&ctx, QDML_BACKEND_CPU, 1), QDML_OK);
    cr_assert_eq(qdml_context_set_fft_effort(ctx, QDML_FFT_ESTIMATE), QDML_OK);
    const qdml_grid *gp = g;
    qdml_status st;
    yoshida_member_states(ctx, gp, v, clean, -1, &st);
    cr_assert_eq(st, QDML_OK, "%s", qdml_context_last_error(ctx));
    const long total = allocations;
    cr_assert_gt(total, 2, "only %ld allocations in a 4th-order run: is the wrapping in place?", total);
    int carried_on = 0;
    for (long k = 0; k < total; ++k) {
        yoshida_member_states(ctx, gp, v, got, (int)k, &st);
        cr_assert(injected, "allocation %ld of %ld was never made", k, total);
        cr_assert(st == QDML_OK || st == QDML_ERR_OUT_OF_MEMORY, "allocation %ld failed: %s (%s)", k,
                  qdml_status_string(st), qdml_context_last_error(ctx));
        cr_assert_eq(nlive, 0, "allocation %ld failed: %zu allocations leaked", k, nlive);
        if (st == QDML_OK) {
            carried_on = 1;
            cr_assert(memcmp(got, clean, 4 * (size_t)N * sizeof(double)) == 0,
                      "allocation %ld failed and the run went on, but its states differ from a run without failures", k);
        }
    }
    cr_assert(carried_on, "no allocation of the run was one it could do without (%ld allocations)", total);
    qdml_context_destroy(ctx);
}

Test(alloc_failures, fourth_order_runs_on_without_its_second_tables) {
    const int64_t n[1] = {64};
    const double lo[1] = {-6}, hi[1] = {6};
    qdml_grid g;
    cr_assert_eq(qdml_grid_init(&g, 1, n, lo, hi), QDML_OK);
    fourth_order_without_second_tables(&g);
}

/* The same on the CPU backend's member path (forced), where a composed step runs through the steps
 * op only while every member holds both table sets. Where the second set cannot be had when member
 * 0 first alternates (member 1 then allocates it, so member 0 alone keeps one set), the run goes
 * back to one op at a time, which on this path computes the same values in the same order: the
 * states must equal those of the run through the steps op bit for bit. */
Test(alloc_failures, fourth_order_member_path_runs_on_without_its_second_tables) {
    const int64_t n[2] = {8, 16};
    const double lo[2] = {-5, -6}, hi[2] = {5, 6};
    qdml_grid g;
    cr_assert_eq(qdml_grid_init(&g, 2, n, lo, hi), QDML_OK);
    cr_assert_eq(setenv("QDML_CPU_PATH", "members", 1), 0);
    fourth_order_without_second_tables(&g);
    unsetenv("QDML_CPU_PATH");
}
