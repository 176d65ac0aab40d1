/* Walker-steps per second of qdml_walkers_run against its floor, on one backend.
 *
 *   qdml_walkers_steps --objective NAME --dim D --walkers W [--steps K] [--repeats R] [--threads T]
 *                      [--alpha A] [--backend cpu|cuda] [--capacity C (default 2: memory)]
 *
 * "steps": a placed population (equilibrated for K steps first) runs K steps; walker-steps/s is the sum of
 * the populations over the steps divided by the wall time.
 * "floor": what a step cannot avoid, per walker: the d normals of its move (Philox4x32-10 and Box-Muller,
 * core/philox.h) from the walker's position and one evaluation of the objective at the moved point
 * (core/objectives.h; with alpha, its gradient and Laplacian too), on the same threads, over the same
 * number of walkers at the population's own positions (the cost of cos and exp depends on where they are
 * taken), nothing stored but the values. CPU only (on CUDA the floor is not timed).
 * The two alternate R times; the medians and their ratio are printed as one JSON line per run and a
 * summary line (perf/walkers_throughput.py reads them). */
#include <math.h>
#include <omp.h>
#include <qdml/qdml_walkers.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/objective_grad.h"
#include "../core/walkers.h"
#include "bench_common.h"

static double floor_seconds(const qdml_objective *o, const double *ax, const double *xs, int64_t nx, int dim,
                            int64_t n, int64_t steps, double alpha, int threads) {
    double sink = 0.0;
    const double t0 = bench_now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    {
        double *xn = malloc((size_t)dim * sizeof *xn), *g = malloc((size_t)dim * sizeof *g);
        qdml_walk_step c;
        memset(&c, 0, sizeof c);
        c.s = 0.1, c.s2 = 0.01, c.key0 = 7;
        for (int64_t t = 0; t < steps; ++t) {
            c.step = (uint32_t)t;
#pragma omp for schedule(static)
            for (int64_t i = 0; i < n; ++i) {
                qdml_walk_propose(&c, (uint32_t)i, dim, xs + (i % nx) * dim, NULL, xn);
                double lap = 0.0;
                sink += alpha > 0.0 ? qdml_objective_grad(o, ax, xn, dim, g, &lap) + lap
                                    : qdml_objective_value_axes(o, ax, xn, dim);
            }
        }
        free(xn), free(g);
    }
    const double s = bench_now() - t0;
    if (sink == 42.0) printf("#\n"); /* keep the sum */
    return s;
}

int main(int argc, char **argv) {
    const char *name = "harmonic", *backend = "cpu";
    int dim = 10, repeats = 3, threads = 0;
    int64_t walkers = 10000, steps = 20;
    double alpha = 0.0, capacity = 2.0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--objective")) name = argv[i + 1];
        else if (!strcmp(argv[i], "--dim")) dim = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--walkers")) walkers = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps")) steps = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeats")) repeats = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--alpha")) alpha = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--backend")) backend = argv[i + 1];
        else if (!strcmp(argv[i], "--capacity")) capacity = atof(argv[i + 1]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (threads < 1) threads = omp_get_max_threads();
    qdml_context *ctx = NULL;
    if (qdml_context_create(&ctx, !strcmp(backend, "cuda") ? QDML_BACKEND_CUDA : QDML_BACKEND_CPU, threads) != QDML_OK) {
        fprintf(stderr, "%s\n", qdml_last_error_message());
        return 1;
    }
    qdml_objective o;
    if (qdml_objective_parse(name, dim < 3 ? dim : 3, &o) != QDML_OK) {
        fprintf(stderr, "%s\n", qdml_last_error_message());
        return 2;
    }
    /* the per-axis values the walkers use (every slot's value on every axis) */
    double *ax = calloc(2 * (size_t)dim, sizeof *ax);
    if (o.kind == QDML_OBJECTIVE_HARMONIC)
        for (int a = 0; a < dim; ++a)
            ax[a] = o.p[0], ax[dim + a] = o.p[3];
    qdml_walkers_config cfg = {dim, 1, walkers, capacity, 1, alpha};
    qdml_walkers *w = NULL;
    if (qdml_walkers_create(&w, ctx, &cfg) != QDML_OK || qdml_walkers_set_objective(w, 0, &o, NULL) != QDML_OK ||
        qdml_walkers_place(w, 0, 0, NULL, NULL, NULL) != QDML_OK) {
        fprintf(stderr, "%s\n", qdml_last_error_message());
        return 1;
    }
    qdml_walkers_step *hist = calloc((size_t)steps, sizeof *hist);
    qdml_walkers_run_options r = {0.01, 1.0, 1.0, steps, 0, 0, NULL, 0, NULL};
    if (qdml_walkers_run(w, &r, NULL, hist) != QDML_OK) { /* equilibrate */
        fprintf(stderr, "%s\n", qdml_last_error_message());
        return 1;
    }
    /* the equilibrated walkers' positions, for the floor */
    int64_t nx = 0;
    qdml_walkers_positions(w, 0, NULL, 0, &nx);
    double *xs = malloc((size_t)nx * (size_t)dim * sizeof *xs);
    if (!xs || qdml_walkers_positions(w, 0, xs, nx, &nx) != QDML_OK) {
        fprintf(stderr, "no memory for the positions\n");
        return 1;
    }
    double *ts = malloc((size_t)repeats * sizeof *ts), *tf = malloc((size_t)repeats * sizeof *tf);
    double rate_steps = 0, rate_floor = 0;
    int64_t wsteps = 0;
    for (int k = 0; k < repeats; ++k) {
        tf[k] = !strcmp(backend, "cpu") ? floor_seconds(&o, ax, xs, nx, dim, walkers, steps, alpha, threads) : NAN;
        const double t0 = bench_now();
        if (qdml_walkers_run(w, &r, NULL, hist) != QDML_OK) {
            fprintf(stderr, "%s\n", qdml_last_error_message());
            return 1;
        }
        ts[k] = bench_now() - t0;
        wsteps = 0;
        for (int64_t t = 0; t < steps; ++t)
            wsteps += hist[t].population;
        printf("{\"run\": %d, \"steps_seconds\": %.6g, \"floor_seconds\": %.6g, \"walker_steps\": %lld}\n", k, ts[k],
               tf[k], (long long)wsteps);
    }
    const bench_summary ss = bench_summarize(ts, repeats), sf = bench_summarize(tf, repeats);
    rate_steps = (double)wsteps / ss.median;
    rate_floor = (double)(walkers * steps) / sf.median;
    printf("{\"objective\": \"%s\", \"dim\": %d, \"walkers\": %lld, \"alpha\": %g, \"backend\": \"%s\", \"threads\": %d, "
           "\"steps\": %lld, \"repeats\": %d, \"walker_steps_per_s\": %.6g, \"per_core\": %.6g, "
           "\"floor_walker_steps_per_s\": %.6g, \"step_over_floor\": %.4g}\n",
           name, dim, (long long)walkers, alpha, backend, threads, (long long)steps, repeats, rate_steps,
           rate_steps / threads, rate_floor, rate_floor / rate_steps);
    free(ts), free(tf), free(hist), free(ax), free(xs);
    qdml_walkers_destroy(w);
    qdml_context_destroy(ctx);
    return 0;
}
