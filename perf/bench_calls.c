/* The same timing as perf/python_overhead.py, from C: 1000 calls of qdml_problem_evolve with one
 * step against one call of 1000 steps (real time, the oscillator, CPU backend), so that the Python
 * binding's own cost per call is the difference between the two loops. Usage: qdml_bench_calls N0
 * [N1] THREADS REPEATS; prints one line per repeat: "loop_seconds one_seconds". */
#include "bench_common.h"

static void fail(const char *what, qdml_status st) {
    fprintf(stderr, "qdml_bench_calls: %s: %s\n", what, qdml_last_error_message());
    exit(st == QDML_OK ? 0 : 1);
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: qdml_bench_calls N0 [N1] THREADS REPEATS\n");
        return 2;
    }
    const int dim = argc - 3;
    int64_t n[2] = {atoll(argv[1]), dim == 2 ? atoll(argv[2]) : 1};
    const int threads = atoi(argv[argc - 2]), repeats = atoi(argv[argc - 1]);
    const double lo[2] = {-8, -8}, hi[2] = {8, 8}, c[2] = {0.5, 0.5}, w[2] = {1, 1};
    qdml_grid g;
    qdml_context *ctx;
    qdml_problem *p;
    qdml_status st;
    if ((st = qdml_grid_init(&g, dim, n, lo, hi)) != QDML_OK) fail("grid", st);
    if ((st = qdml_context_create(&ctx, QDML_BACKEND_CPU, threads)) != QDML_OK) fail("context", st);
    if ((st = qdml_problem_create(ctx, &g, 1, &p)) != QDML_OK) fail("problem", st);
    qdml_objective o;
    if ((st = qdml_objective_default(QDML_OBJECTIVE_HARMONIC, dim, &o)) != QDML_OK ||
        (st = qdml_problem_set_objective(p, 0, &o)) != QDML_OK ||
        (st = qdml_problem_set_state_gaussian(p, 0, c, w, NULL)) != QDML_OK)
        fail("set up", st);
    qdml_evolve_options eo;
    qdml_evolve_options_default(&eo);
    eo.dt = 1e-3;
    eo.steps = 50;
    qdml_run_result r;
    if ((st = qdml_problem_evolve(p, &eo, &r)) != QDML_OK) fail("warm-up", st);
    for (int k = 0; k < repeats; ++k) {
        eo.steps = 1;
        double t0 = bench_now();
        for (int i = 0; i < 1000; ++i)
            if ((st = qdml_problem_evolve(p, &eo, &r)) != QDML_OK) fail("evolve", st);
        const double loop = bench_now() - t0;
        eo.steps = 1000;
        t0 = bench_now();
        if ((st = qdml_problem_evolve(p, &eo, &r)) != QDML_OK) fail("evolve", st);
        printf("%.6f %.6f\n", loop, bench_now() - t0);
    }
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
    return 0;
}
