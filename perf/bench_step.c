/* Time per split-step step on the CPU backend: median over repeats, and the ratio to two bare
 * FFTs of the same size measured with FFTW in the same run. Not a test: numbers only.
 *
 *   qdml_bench_step [--threads T] [--repeats R] [--steps S] [--json FILE] SIZE...
 * SIZE is N (1D), NxN (2D) or NxNxN (3D), e.g. 256x256 128x128x128; --batch B for batches.
 * The per-step time includes each call's set-up (potential factors), one backup copy and the
 * statistics at the end, spread over --steps steps (default 50).
 */
#include <fftw3.h>
#include <qdml/qdml.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median time of one forward plus one backward in-place FFT of the same shape and batch, planned
 * as the library plans (FFTW_MEASURE, same threads): the floor a split-step step cannot beat. */
static double two_fft_time(const qdml_grid *g, int64_t batch, int threads, int repeats) {
    int n[3] = {1, 1, 1};
    int64_t npts = 1;
    for (int d = 0; d < g->dim; ++d) {
        n[3 - g->dim + d] = (int)g->n[d];
        npts *= g->n[d];
    }
    fftw_plan_with_nthreads(threads);
    fftw_complex *buf = fftw_malloc((size_t)(npts * batch) * sizeof *buf);
    fftw_plan f = fftw_plan_many_dft(3, n, (int)batch, buf, NULL, 1, (int)npts, buf, NULL, 1, (int)npts, FFTW_FORWARD,
                                     FFTW_MEASURE);
    fftw_plan b = fftw_plan_many_dft(3, n, (int)batch, buf, NULL, 1, (int)npts, buf, NULL, 1, (int)npts, FFTW_BACKWARD,
                                     FFTW_MEASURE);
    for (int64_t i = 0; i < npts * batch; ++i) {
        buf[i][0] = 1e-3 * (double)(i % 101);
        buf[i][1] = 0.0;
    }
    double *t = malloc((size_t)repeats * sizeof *t);
    const int inner = 10;
    for (int r = 0; r < repeats; ++r) {
        double t0 = now();
        for (int k = 0; k < inner; ++k) {
            fftw_execute(f);
            fftw_execute(b);
            /* keep the data bounded: the unnormalised round trip multiplies by N */
            buf[0][0] = 1.0;
        }
        t[r] = (now() - t0) / inner;
    }
    qsort(t, (size_t)repeats, sizeof *t, cmp);
    double med = t[repeats / 2];
    free(t);
    fftw_destroy_plan(f);
    fftw_destroy_plan(b);
    fftw_free(buf);
    return med;
}

static int parse_size(const char *s, qdml_grid *g) {
    int64_t v[4];
    int count = 0;
    const char *q = s;
    while (*q && count < 4) {
        char *end;
        long long x = strtoll(q, &end, 10);
        if (end == q || x < 1) return -1;
        v[count++] = x;
        if (*end == 'x') q = end + 1;
        else if (*end == '\0') q = end;
        else return -1;
    }
    if (count < 1 || count > 3) return -1;
    memset(g, 0, sizeof *g);
    g->dim = count;
    for (int d = 0; d < count; ++d) {
        g->n[d] = v[d];
        g->lo[d] = -8.0;
        g->hi[d] = 8.0;
    }
    return 0;
}

int main(int argc, char **argv) {
    int threads = 2, repeats = 5;
    fftw_init_threads();
    int64_t steps = 50, batch = 1;
    const char *json = NULL;
    FILE *js = NULL;
    int first = 1;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
    }
    if (json) {
        js = fopen(json, "w");
        if (!js) {
            perror(json);
            return 2;
        }
        fprintf(js, "[\n");
    }
    printf("%-14s %5s %6s %12s %12s %8s\n", "size", "batch", "mode", "ms/step", "ms/2FFT", "ratio");
    for (int i = 1; i < argc; ++i) {
        if (argv[i][0] == '-') {
            ++i;
            continue;
        }
        qdml_grid g;
        if (parse_size(argv[i], &g)) {
            fprintf(stderr, "qdml_bench_step: cannot parse size '%s'\n", argv[i]);
            return 2;
        }
        qdml_context *ctx;
        if (qdml_context_create(&ctx, QDML_BACKEND_CPU, threads) != QDML_OK) {
            fprintf(stderr, "%s\n", qdml_last_error_message());
            return 1;
        }
        qdml_problem *p;
        if (qdml_problem_create(ctx, &g, batch, &p) != QDML_OK) {
            fprintf(stderr, "%s\n", qdml_context_last_error(ctx));
            return 1;
        }
        const double fft2 = two_fft_time(&g, batch, threads, repeats);
        int64_t n = qdml_problem_points(p);
        double *v = malloc((size_t)n * sizeof *v);
        for (int64_t j = 0; j < n; ++j) v[j] = 0.5 * (double)(j % 97) / 97.0;
        qdml_problem_set_potential(p, QDML_ALL_MEMBERS, v);
        free(v);
        double c[3] = {0, 0, 0}, w[3] = {1, 1, 1};
        qdml_problem_set_state_gaussian(p, QDML_ALL_MEMBERS, c, w, NULL);
        for (int mode = 0; mode < 2; ++mode) {
            qdml_evolve_options o;
            qdml_evolve_options_default(&o);
            o.mode = mode ? QDML_IMAGINARY_TIME : QDML_REAL_TIME;
            o.dt = 1e-3;
            o.steps = steps;
            qdml_problem_evolve(p, &o, NULL); /* warm-up */
            double *t = malloc((size_t)repeats * sizeof *t);
            for (int r = 0; r < repeats; ++r) {
                double t0 = now();
                if (qdml_problem_evolve(p, &o, NULL) != QDML_OK) {
                    fprintf(stderr, "%s\n", qdml_context_last_error(ctx));
                    return 1;
                }
                t[r] = (now() - t0) / (double)steps;
            }
            qsort(t, (size_t)repeats, sizeof *t, cmp);
            double med = t[repeats / 2];
            printf("%-14s %5lld %6s %12.4f %12.4f %8.2f\n", argv[i], (long long)batch, mode ? "imag" : "real",
                   med * 1e3, fft2 * 1e3, med / fft2);
            if (js) {
                fprintf(js, "%s  {\"size\": \"%s\", \"batch\": %lld, \"mode\": \"%s\", \"threads\": %d, \"ms_per_step_median\": %.6f, \"ms_min\": %.6f, \"ms_max\": %.6f, \"ms_two_ffts\": %.6f, \"ratio_to_two_ffts\": %.4f}",
                        first ? "" : ",\n", argv[i], (long long)batch, mode ? "imag" : "real", threads, med * 1e3,
                        t[0] * 1e3, t[repeats - 1] * 1e3, fft2 * 1e3, med / fft2);
                first = 0;
            }
            free(t);
        }
        qdml_problem_destroy(p);
        qdml_context_destroy(ctx);
    }
    if (js) {
        fprintf(js, "\n]\n");
        fclose(js);
    }
    return 0;
}
