/* Separate contexts used from several threads at once give the same results, bit for bit, as the
 * same work done one at a time; error messages stay with their thread and context.
 *
 * Backend: the one QDML_TEST_BACKEND selects: qdml.h promises the same bits from the same backend, thread
 * count and plans on every backend, and distinct contexts usable from different threads.
 */
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NWORKERS 4

typedef struct job {
    int id;
    qdml_backend backend; /* qt_backend(), read on the main thread (it may assert) */
    /* outputs */
    qdml_status status;
    char where[256];
    double *ground;  /* ground state (interleaved) */
    double *evolved; /* after real-time evolution from a displaced ground state */
    qdml_stats ground_stats, evolved_stats;
    int64_t ground_steps;
    int64_t npoints;
    /* an error provoked on purpose, and what the thread-local message said right after */
    char bad_message[256];
} job;

static double tilted_well(const double *x, int dim, void *user) {
    const int id = *(const int *)user;
    double v = 0;
    for (int d = 0; d < dim; ++d)
        v += 0.25 * x[d] * x[d] * x[d] * x[d] - (1.0 + 0.2 * id) * x[d] * x[d] + 0.1 * x[d];
    return v;
}

#define CHECK(call)                                                                                                    \
    do {                                                                                                               \
        qdml_status st_ = (call);                                                                                      \
        if (st_ != QDML_OK) {                                                                                          \
            j->status = st_;                                                                                           \
            snprintf(j->where, sizeof j->where, "%s: %s", #call, ctx ? qdml_context_last_error(ctx) : "");             \
            goto out;                                                                                                  \
        }                                                                                                              \
    } while (0)

/* No Criterion asserts here: they are not meant to be called from other threads. */
static void *work(void *arg) {
    job *j = arg;
    qdml_context *ctx = NULL;
    qdml_problem *p = NULL;
    double *v = NULL;
    j->status = QDML_OK;
    /* Worker 3 uses a 2D grid, the others 1D grids of different sizes. */
    const int dim = j->id == 3 ? 2 : 1;
    const int64_t n[2] = {j->id == 3 ? 48 : 128 + 32 * j->id, 40};
    const double lo[2] = {-5, -4.5}, hi[2] = {5, 4.5};
    qdml_grid g;
    CHECK(qdml_grid_init(&g, dim, n, lo, hi));
    CHECK(qdml_context_create(&ctx, j->backend, 1));
    /* FFTW_ESTIMATE chooses plans without timing them, so the plans (and the rounding) are the same
     * in every run; FFTW_MEASURE may pick another plan from one run to the next. */
    CHECK(qdml_context_set_fft_effort(ctx, QDML_FFT_ESTIMATE));
    CHECK(qdml_problem_create(ctx, &g, 1, &p));
    j->npoints = qdml_problem_points(p);
    v = malloc((size_t)j->npoints * sizeof *v);
    j->ground = malloc(2 * (size_t)j->npoints * sizeof(double));
    j->evolved = malloc(2 * (size_t)j->npoints * sizeof(double));
    if (!v || !j->ground || !j->evolved) {
        j->status = QDML_ERR_OUT_OF_MEMORY;
        goto out;
    }
    for (int64_t i = 0; i < j->npoints; ++i) {
        double x[2];
        x[0] = lo[0] + (double)(dim == 1 ? i : i / n[1]) * (hi[0] - lo[0]) / (double)n[0];
        x[1] = dim == 2 ? lo[1] + (double)(i % n[1]) * (hi[1] - lo[1]) / (double)n[1] : 0.0;
        v[i] = tilted_well(x, dim, &j->id);
    }
    CHECK(qdml_problem_set_potential(p, 0, v));
    CHECK(qdml_problem_set_hbar(p, 0, 0.5 + 0.1 * j->id));
    /* A failure on purpose: its message must be this thread's and this context's. */
    if (qdml_problem_set_mass(p, 0, -1.0 - j->id) != QDML_ERR_INVALID_ARGUMENT) {
        j->status = QDML_ERR_INTERNAL;
        snprintf(j->where, sizeof j->where, "a negative mass was accepted");
        goto out;
    }
    snprintf(j->bad_message, sizeof j->bad_message, "%s|%s", qdml_last_error_message(), qdml_context_last_error(ctx));
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = 1e-7;
    qdml_run_result r;
    CHECK(qdml_problem_ground(p, &go, &r));
    j->ground_stats = r.final;
    j->ground_steps = r.steps;
    CHECK(qdml_problem_get_state(p, 0, j->ground));
    /* Displace the ground state by a phase ramp and let it move in real time. */
    for (int64_t i = 0; i < j->npoints; ++i) {
        double ph = 0.7 * (double)(i % 17), re = j->ground[2 * i], im = j->ground[2 * i + 1];
        j->evolved[2 * i] = re * cos(ph) - im * sin(ph);
        j->evolved[2 * i + 1] = re * sin(ph) + im * cos(ph);
    }
    CHECK(qdml_problem_set_state(p, 0, j->evolved));
    qdml_evolve_options eo;
    qdml_evolve_options_default(&eo);
    eo.mode = QDML_REAL_TIME;
    eo.dt = 0.005;
    eo.steps = 400;
    eo.monitor_every = 50;
    CHECK(qdml_problem_evolve(p, &eo, &r));
    j->evolved_stats = r.final;
    CHECK(qdml_problem_get_state(p, 0, j->evolved));
out:
    free(v);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
    return NULL;
}

static void job_free(job *j) {
    free(j->ground);
    free(j->evolved);
}

static void same(const job *a, const job *b) {
    cr_assert_eq(a->status, QDML_OK, "worker %d (concurrent): %s", a->id, a->where);
    cr_assert_eq(b->status, QDML_OK, "worker %d (alone): %s", b->id, b->where);
    cr_assert_eq(a->npoints, b->npoints);
    const size_t bytes = 2 * (size_t)a->npoints * sizeof(double);
    cr_assert_eq(memcmp(a->ground, b->ground, bytes), 0, "worker %d: ground states differ (max %.3g)", a->id,
                 qt_max_abs_diff(a->ground, b->ground, a->npoints));
    cr_assert_eq(memcmp(a->evolved, b->evolved, bytes), 0, "worker %d: evolved states differ (max %.3g)", a->id,
                 qt_max_abs_diff(a->evolved, b->evolved, a->npoints));
    cr_assert_eq(memcmp(&a->ground_stats, &b->ground_stats, sizeof a->ground_stats), 0, "worker %d: ground stats",
                 a->id);
    cr_assert_eq(memcmp(&a->evolved_stats, &b->evolved_stats, sizeof a->evolved_stats), 0, "worker %d: evolve stats",
                 a->id);
    cr_assert_eq(a->ground_steps, b->ground_steps);
    cr_assert_str_eq(a->bad_message, b->bad_message);
}

Test(threads, four_contexts_at_once_equal_one_at_a_time, .timeout = 300) {
    job alone[NWORKERS], together[NWORKERS];
    memset(alone, 0, sizeof alone);
    memset(together, 0, sizeof together);
    const qdml_backend backend = qt_backend();
    for (int k = 0; k < NWORKERS; ++k) {
        alone[k].id = together[k].id = k;
        alone[k].backend = together[k].backend = backend;
        work(&alone[k]);
    }
    /* Three rounds at once, so that the threads overlap in different phases. */
    for (int round = 0; round < 3; ++round) {
        pthread_t t[NWORKERS];
        for (int k = 0; k < NWORKERS; ++k) {
            job_free(&together[k]);
            memset(&together[k], 0, sizeof together[k]);
            together[k].id = k;
            together[k].backend = backend;
            cr_assert_eq(pthread_create(&t[k], NULL, work, &together[k]), 0);
        }
        for (int k = 0; k < NWORKERS; ++k)
            cr_assert_eq(pthread_join(t[k], NULL), 0);
        for (int k = 0; k < NWORKERS; ++k) {
            same(&together[k], &alone[k]);
            /* The deliberate error's message names this worker's own value, in both slots. */
            char tag[64];
            snprintf(tag, sizeof tag, "mass = %g", -1.0 - k);
            cr_assert_not_null(strstr(together[k].bad_message, tag), "worker %d: '%s'", k, together[k].bad_message);
            cr_assert_eq(strstr(strchr(together[k].bad_message, '|') + 1, tag) != NULL, 1,
                         "worker %d: context message '%s'", k, together[k].bad_message);
        }
        /* The workers converged to distinct answers (not one result copied around). */
        cr_assert_neq(together[0].ground_stats.energy, together[1].ground_stats.energy);
    }
    for (int k = 0; k < NWORKERS; ++k) {
        job_free(&alone[k]);
        job_free(&together[k]);
    }
}
