/* Time per split-step step, real and imaginary time, over a set of grid sizes and batches, with
 * the ratio to two bare FFTs of the same batched plan measured in the same run. Not a test:
 * numbers only.
 *
 *   qdml_bench_steps [--quick] [--backend cpu|cuda|auto] [--precision float64|float32] [--threads T]
 *                    [--repeats R] [--target SECONDS | --steps S] [--effort E] [--wisdom FILE]
 *                    [--json FILE] [--modes real,imag] [--splitting strang|yoshida4|suzuki4]
 *                    [--monitor-every K] [SIZE[:BATCH] ...]
 *
 * SIZE is N (1D), NxN (2D) or NxNxN (3D); without sizes the default set runs:
 *   1D 2^16 and 2^20; 2D 256^2, 1024^2, 4096^2; 3D 64^3, 128^3, 256^3; batches 64 x 256^2, 16 x 128^2
 * (--quick: fewer repeats and shorter timings, and 4096^2 and 256^3 are left out). With --splitting
 * a step is the 4th-order composition (3 or 5 Strang substeps) and its ratio is to two FFTs still.
 * With --monitor-every K the timed runs take statistics every K steps, as a ground-state search does
 * every 20: the step time then includes a K-th of that monitoring (and, on the CPU member path, of
 * bringing the members out of and back into their steps; default 0, statistics at the end only).
 *
 * Method. The step time is the marginal cost of a step inside qdml_problem_evolve: each repeat
 * times a call of S steps and one of 2S steps (monitor_every = 0 unless given) and takes the difference over S,
 * so the fixed cost of a call (the statistics at its end, the backup copy) drops out; that cost is
 * reported separately. The reference is one forward and one backward in-place FFT with FFTW's
 * batched plan of the same shape, threads and planning flags (the library plans the same
 * transform first, so FFTW's in-process wisdom gives the same plan), timed in the same repeat.
 * Medians and the min..max spread over the repeats are reported. A repeat during which other
 * processes used more than 10% of the machine (/proc/stat) is done again, up to 4 times; the
 * JSON records how many were redone and the largest such load seen. S is chosen so that a timing
 * takes about --target seconds (default 0.3; 0.03 with --quick), or given with --steps. "fixed ms" is
 * the cost of a call beyond its steps (the S-step call less S steps: statistics of every member at
 * the end and the backup copies), about what each monitoring point of a run costs (a ground-state
 * search has one every 20 steps; a difference of two timings, so noisy, even negative, where it is
 * small against a call); the JSON also has one qdml_problem_stats call of member 0 alone.
 * On the cuda backend (in a build with it) the reference is one forward and one inverse transform
 * with the plan the backend makes, timed with CUDA events on buffers of their own
 * (qdml_cuda_reference_times), and the step is also compared with its bytes-moved floor: a step
 * must at least read and write the state in each of its two FFTs and read the potential factor
 * once (5 x the state's bytes; the kinetic factor is computed from per-axis tables), at the
 * device-to-device copy bandwidth: of copies of the state's size measured in the same repeat (in L2
 * where the state fits), and of 1 GiB copies measured once (the HBM floor). Reaching them would take
 * the pointwise multiplies fused into single-pass transforms: bounds, not targets. The reference
 * transforms and copies run on random data.
 */
#include "bench_common.h"

#ifdef QDML_HAVE_CUDA
#include "backend_cuda.h"
#include "internal.h" /* the problem's backend description (struct qdml_problem) */
#endif

#include <ctype.h>

typedef struct bench_case {
    int dim;
    int64_t n[3];
    int64_t batch;
    int large; /* left out by --quick */
} bench_case;

static const bench_case default_cases[] = {
    {1, {65536, 1, 1}, 1, 0},   {1, {1048576, 1, 1}, 1, 0}, {2, {256, 256, 1}, 1, 0},
    {2, {1024, 1024, 1}, 1, 0}, {2, {4096, 4096, 1}, 1, 1}, {3, {64, 64, 64}, 1, 0},
    {3, {128, 128, 128}, 1, 0}, {3, {256, 256, 256}, 1, 1}, {2, {256, 256, 1}, 64, 0},
    {2, {128, 128, 1}, 16, 0},
};

static int parse_case(const char *s, bench_case *c) {
    memset(c, 0, sizeof *c);
    c->batch = 1;
    const char *q = s;
    int count = 0;
    while (*q && count < 3) {
        char *end;
        long long x = strtoll(q, &end, 10);
        if (end == q || x < 1) return -1;
        c->n[count++] = x;
        q = end;
        if (*q == 'x') ++q;
        else break;
    }
    if (*q == ':') {
        char *end;
        long long b = strtoll(q + 1, &end, 10);
        if (end == q + 1 || b < 1 || *end) return -1;
        c->batch = b;
    } else if (*q) {
        return -1;
    }
    c->dim = count;
    for (int d = count; d < 3; ++d) c->n[d] = 1;
    return count >= 1 ? 0 : -1;
}

static void case_name(const bench_case *c, char *buf, size_t len) {
    if (c->dim == 1) snprintf(buf, len, "%lld", (long long)c->n[0]);
    else if (c->dim == 2) snprintf(buf, len, "%lldx%lld", (long long)c->n[0], (long long)c->n[1]);
    else snprintf(buf, len, "%lldx%lldx%lld", (long long)c->n[0], (long long)c->n[1], (long long)c->n[2]);
}

typedef struct fft_ref {
    fftw_plan f, b;
    fftw_complex *buf;
} fft_ref;

static int fft_ref_make(fft_ref *r, const bench_case *c, int64_t npts, int threads, unsigned flags) {
    int n[3] = {1, 1, 1};
    for (int d = 0; d < c->dim; ++d) n[3 - c->dim + d] = (int)c->n[d];
    r->buf = fftw_malloc((size_t)(npts * c->batch) * sizeof(fftw_complex));
    if (!r->buf) return -1;
    fftw_plan_with_nthreads(threads);
    r->f = fftw_plan_many_dft(3, n, (int)c->batch, r->buf, NULL, 1, (int)npts, r->buf, NULL, 1, (int)npts, FFTW_FORWARD,
                              flags);
    r->b = fftw_plan_many_dft(3, n, (int)c->batch, r->buf, NULL, 1, (int)npts, r->buf, NULL, 1, (int)npts,
                              FFTW_BACKWARD, flags);
    if (!r->f || !r->b) return -1;
    const double inv = 1.0 / (double)npts;
    for (int64_t i = 0; i < npts * c->batch; ++i) {
        r->buf[i][0] = inv * (double)(i % 101);
        r->buf[i][1] = inv * (double)(i % 37);
    }
    return 0;
}

/* Mean time of one forward + backward pair over `pairs` pairs. The unnormalised round trip
 * multiplies the data by N; every k pairs (N^k < 1e150) the buffer is rescaled, outside the timing,
 * so values stay normal numbers. */
static double fft_ref_time(fft_ref *r, int64_t pairs, int64_t npts, int64_t batch) {
    int k = (int)(150.0 / log10((double)(npts > 1 ? npts : 2)));
    if (k < 1) k = 1;
    const double rescale = pow((double)npts, -(double)k);
    double spent = 0.0;
    for (int64_t done = 0; done < pairs;) {
        const int64_t m = pairs - done < k ? pairs - done : k;
        const double t0 = bench_now();
        for (int64_t q = 0; q < m; ++q) {
            fftw_execute(r->f);
            fftw_execute(r->b);
        }
        spent += bench_now() - t0;
        done += m;
        const double sc = m == k ? rescale : pow((double)npts, -(double)m);
        double *d = (double *)r->buf;
        for (int64_t i = 0; i < 2 * npts * batch; ++i) d[i] *= sc;
    }
    return spent / (double)pairs;
}

static void fft_ref_free(fft_ref *r) {
    if (r->f) fftw_destroy_plan(r->f);
    if (r->b) fftw_destroy_plan(r->b);
    fftw_free(r->buf);
}

/* The device's HBM copy bandwidth (bytes read plus written per second), from copies of 1 GiB, well
 * beyond the L2 of any GPU; NaN where this build has no cuda backend or a call failed (printed). */
static double gpu_hbm_bandwidth(void) {
#ifdef QDML_HAVE_CUDA
    double bw = NAN;
    if (qdml_cuda_copy_bandwidth((size_t)1 << 30, 10, &bw) != QDML_OK)
        printf("# no HBM copy bandwidth: %s\n", qdml_last_error_message());
    return bw;
#else
    return NAN;
#endif
}

/* The cuda reference of a problem (see the top), with the backend's own description of it:
 * seconds per forward + inverse pair and copy bytes per second; -1 with the reason in err where
 * this build has no cuda backend or a call failed. */
static int gpu_reference(const qdml_problem *p, int64_t pairs, double *two_ffts_s, double *bytes_per_s, char *err,
                         size_t errlen) {
    *two_ffts_s = *bytes_per_s = NAN;
#ifdef QDML_HAVE_CUDA
    double ms = NAN;
    if (qdml_cuda_reference_times(&p->desc, pairs > 100000 ? 100000 : (int)pairs, &ms, bytes_per_s) != QDML_OK) {
        snprintf(err, errlen, "%s", qdml_last_error_message());
        return -1;
    }
    *two_ffts_s = ms * 1e-3;
    return 0;
#else
    (void)p;
    (void)pairs;
    snprintf(err, errlen, "this build has no cuda backend");
    return -1;
#endif
}

static qdml_splitting splitting = QDML_SPLIT_STRANG;
static int64_t monitor_every = 0;
static const char *const splitting_names[3] = {"strang", "yoshida4", "suzuki4"}; /* by qdml_splitting value */

static double evolve_time(qdml_problem *p, int mode, int64_t steps, qdml_context *ctx, int *failed) {
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.splitting = splitting;
    o.mode = mode ? QDML_IMAGINARY_TIME : QDML_REAL_TIME;
    o.dt = 1e-3;
    o.steps = steps;
    o.monitor_every = monitor_every;
    const double t0 = bench_now();
    if (qdml_problem_evolve(p, &o, NULL) != QDML_OK) {
        fprintf(stderr, "qdml_bench_steps: evolve failed: %s\n", qdml_context_last_error(ctx));
        *failed = 1;
    }
    return bench_now() - t0;
}

static void usage(void) {
    fprintf(stderr, "usage: qdml_bench_steps [--quick] [--backend cpu|cuda|auto] [--precision float64|float32] "
                    "[--threads T] [--repeats R] [--target SECONDS | --steps S] [--effort estimate|measure|patient] "
                    "[--wisdom FILE] [--json FILE] [--modes real,imag] [--splitting strang|yoshida4|suzuki4] "
                    "[--monitor-every K] [SIZE[:BATCH] ...]\n");
}

int main(int argc, char **argv) {
    int threads = 0, repeats = 0, quick = 0, want_real = 1, want_imag = 1;
    int64_t fixed_steps = 0;
    qdml_backend backend = QDML_BACKEND_CPU;
    qdml_precision precision = QDML_FLOAT64;
    double target = 0.0;
    const char *json = NULL, *wisdom = NULL;
    qdml_fft_effort effort = QDML_FFT_MEASURE;
    bench_case *cases = NULL;
    int ncases = 0;
    cases = calloc((size_t)argc + sizeof default_cases / sizeof default_cases[0], sizeof *cases);
    if (!cases) return 1;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (!strcmp(a, "--quick")) quick = 1;
        else if (!strcmp(a, "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(a, "--target") && i + 1 < argc) target = atof(argv[++i]);
        else if (!strcmp(a, "--steps") && i + 1 < argc) fixed_steps = atoll(argv[++i]);
        else if (!strcmp(a, "--backend") && i + 1 < argc) {
            const char *b = argv[++i];
            if (!strcmp(b, "cpu")) backend = QDML_BACKEND_CPU;
            else if (!strcmp(b, "cuda")) backend = QDML_BACKEND_CUDA;
            else if (!strcmp(b, "auto")) backend = QDML_BACKEND_AUTO;
            else {
                usage();
                return 2;
            }
        } else if (!strcmp(a, "--precision") && i + 1 < argc) {
            const char *pr = argv[++i];
            if (!strcmp(pr, "float64")) precision = QDML_FLOAT64;
            else if (!strcmp(pr, "float32")) precision = QDML_FLOAT32;
            else {
                usage();
                return 2;
            }
        }
        else if (!strcmp(a, "--json") && i + 1 < argc) json = argv[++i];
        else if (!strcmp(a, "--wisdom") && i + 1 < argc) wisdom = argv[++i];
        else if (!strcmp(a, "--effort") && i + 1 < argc) {
            const char *e = argv[++i];
            if (!strcmp(e, "estimate")) effort = QDML_FFT_ESTIMATE;
            else if (!strcmp(e, "measure")) effort = QDML_FFT_MEASURE;
            else if (!strcmp(e, "patient")) effort = QDML_FFT_PATIENT;
            else {
                usage();
                return 2;
            }
        } else if (!strcmp(a, "--modes") && i + 1 < argc) {
            const char *m = argv[++i];
            want_real = strstr(m, "real") != NULL;
            want_imag = strstr(m, "imag") != NULL;
        } else if (!strcmp(a, "--splitting") && i + 1 < argc) {
            const char *sp = argv[++i];
            int k = 0;
            while (k < 3 && strcmp(sp, splitting_names[k])) ++k;
            if (k == 3) {
                usage();
                return 2;
            }
            splitting = (qdml_splitting)k;
        } else if (!strcmp(a, "--monitor-every") && i + 1 < argc) {
            char *end;
            monitor_every = strtoll(argv[++i], &end, 10);
            if (*end || monitor_every < 0) {
                usage();
                return 2;
            }
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            return 0;
        } else if (isdigit((unsigned char)a[0])) {
            if (parse_case(a, &cases[ncases]) != 0) {
                fprintf(stderr, "qdml_bench_steps: cannot parse size '%s'\n", a);
                return 2;
            }
            ++ncases;
        } else {
            usage();
            return 2;
        }
    }
    if (ncases == 0)
        for (size_t k = 0; k < sizeof default_cases / sizeof default_cases[0]; ++k) {
            if (quick && default_cases[k].large) {
                char nm[64];
                case_name(&default_cases[k], nm, sizeof nm);
                printf("# --quick: %s left out\n", nm);
                continue;
            }
            cases[ncases++] = default_cases[k];
        }
    if (threads <= 0) threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;
    if (repeats <= 0) repeats = quick ? 3 : 5;
    if (target <= 0) target = quick ? 0.03 : 0.3;
    if (!want_real && !want_imag) want_real = want_imag = 1;
    const unsigned flags = effort == QDML_FFT_ESTIMATE ? FFTW_ESTIMATE : effort == QDML_FFT_PATIENT ? FFTW_PATIENT : FFTW_MEASURE;
    fftw_init_threads();

    const char *backend_name = qdml_backend_name(backend);
    const char *prec_name = precision == QDML_FLOAT32 ? "float32" : "float64";
    FILE *js = NULL;
    if (json) {
        js = fopen(json, "w");
        if (!js) {
            perror(json);
            return 2;
        }
        fprintf(js, "{\n  \"benchmark\": \"qdml_bench_steps\",\n");
        bench_json_machine(js, threads);
        fprintf(js, ",\n  \"settings\": {\"backend\": \"%s\", \"precision\": \"%s\", \"repeats\": %d, "
                    "\"target_seconds\": %g, \"fixed_steps\": %lld, \"effort\": \"%s\", \"quick\": %s, \"wisdom\": %s, "
                    "\"splitting\": \"%s\", \"monitor_every\": %lld},\n"
                    "  \"results\": [",
                backend_name, prec_name, repeats, target, (long long)fixed_steps,
                effort == QDML_FFT_ESTIMATE ? "estimate" : effort == QDML_FFT_PATIENT ? "patient" : "measure",
                quick ? "true" : "false", wisdom ? "true" : "false",
                splitting_names[splitting], (long long)monitor_every);
    }
    bench_print_machine(threads);
    if (splitting != QDML_SPLIT_STRANG)
        printf("# splitting %s: a step is %d Strang substeps\n", splitting_names[splitting],
               splitting == QDML_SPLIT_YOSHIDA4 ? 3 : 5);
    if (monitor_every > 0)
        printf("# statistics every %lld steps inside the timed runs: a step includes 1/%lld of them\n",
               (long long)monitor_every, (long long)monitor_every);
    printf("# %s backend, %s; step = marginal time per step inside evolve (median [min-max] of %d repeats);\n"
           "# 2FFT = forward + backward FFT with the same batched plan (FFTW on cpu, cuFFT on cuda);\n"
           "# ratio = step / 2FFT per repeat; fixed = cost of an evolve call beyond its steps (statistics of\n"
           "# every member, backup)\n",
           backend_name, prec_name, repeats);
    printf("%-13s %5s %4s %8s %10s %19s %9s %8s %17s %9s\n", "size", "batch", "mode", "steps/s", "ms/step",
           "[min - max]", "ms/2FFT", "ratio", "[min - max]", "fixed ms");
    int first = 1, failed = 0;
    const int have_ref = backend == QDML_BACKEND_CPU;
    /* the HBM floor's bandwidth, once: a property of the device, not of the case */
    const double hbm_bw = backend == QDML_BACKEND_CUDA ? gpu_hbm_bandwidth() : NAN;
    if (backend == QDML_BACKEND_CUDA)
        printf(
            "# floors: a step's bytes (5 x the state) at the copy bandwidth of copies of the state's size (L2 where\n"
            "# it fits) and of 1 GiB copies (HBM: %.0f GB/s); x = step / floor\n",
            hbm_bw * 1e-9);
    for (int ci = 0; ci < ncases && !failed; ++ci) {
        const bench_case *c = &cases[ci];
        char name[64];
        case_name(c, name, sizeof name);
        qdml_grid g;
        memset(&g, 0, sizeof g);
        g.dim = c->dim;
        for (int d = 0; d < c->dim; ++d) {
            g.n[d] = c->n[d];
            g.lo[d] = -8.0;
            g.hi[d] = 8.0;
        }
        qdml_context *ctx = bench_context("qdml_bench_steps", backend, threads, effort, precision, wisdom);
        if (!ctx) return 1;
        size_t need = 0;
        if (qdml_problem_bytes_needed(ctx, &g, c->batch, &need) != QDML_OK) {
            printf("%-13s %5lld  skipped: %s\n", name, (long long)c->batch, qdml_context_last_error(ctx));
            qdml_context_destroy(ctx);
            continue;
        }
        const int64_t npts = qdml_grid_points(&g);
        /* host memory: the problem (cpu), the reference FFT buffer, and the arrays used to set it up */
        const double host_need = (have_ref ? (double)need + 16.0 * (double)npts * (double)c->batch : 0.0) +
                                 24.0 * (double)npts;
        const double avail = bench_mem_available();
        if (avail > 0 && host_need > 0.8 * avail) {
            printf("%-13s %5lld  skipped: needs %.2f GiB, %.2f GiB available\n", name, (long long)c->batch,
                   host_need / 1073741824.0, avail / 1073741824.0);
            qdml_context_destroy(ctx);
            continue;
        }
        qdml_problem *p = NULL;
        double t0 = bench_now();
        if (qdml_problem_create(ctx, &g, c->batch, &p) != QDML_OK) {
            printf("%-13s %5lld  skipped: %s\n", name, (long long)c->batch, qdml_context_last_error(ctx));
            qdml_context_destroy(ctx);
            continue;
        }
        const double plan_s = bench_now() - t0;
        double *v = malloc((size_t)npts * sizeof *v);
        if (!v) return 1;
        for (int64_t j = 0; j < npts; ++j) {
            int64_t rest = j;
            double r2 = 0.0;
            for (int d = c->dim - 1; d >= 0; --d) {
                const int64_t id = rest % c->n[d];
                rest /= c->n[d];
                const double x = -8.0 + 16.0 * (double)id / (double)c->n[d];
                r2 += x * x;
            }
            v[j] = 0.5 * r2;
        }
        qdml_problem_set_potential(p, QDML_ALL_MEMBERS, v);
        free(v);
        double cen[3] = {0.5, -0.25, 0.25}, wid[3] = {1.0, 1.0, 1.0}, mom[3] = {1.0, 0.0, -1.0};
        qdml_problem_set_state_gaussian(p, QDML_ALL_MEMBERS, cen, wid, mom);

        /* The library runs problems below 32768 points on one thread; so does the reference. */
        const int ref_threads = npts * c->batch < 32768 ? 1 : threads;
        fft_ref ref;
        memset(&ref, 0, sizeof ref);
        if (have_ref && fft_ref_make(&ref, c, npts, ref_threads, flags) != 0) {
            printf("%-13s %5lld  skipped: reference FFT could not be planned\n", name, (long long)c->batch);
            fft_ref_free(&ref);
            qdml_problem_destroy(p);
            qdml_context_destroy(ctx);
            continue;
        }
        /* warm-up, and the step count for a timing of about `target` seconds */
        int64_t S = fixed_steps;
        if (S <= 0) {
            double est;
            if (have_ref) {
                (void)fft_ref_time(&ref, 1, npts, c->batch);
                est = fft_ref_time(&ref, 2, npts, c->batch);
            } else {
                (void)evolve_time(p, 0, 2, ctx, &failed);
                est = evolve_time(p, 0, 4, ctx, &failed) / 4.0;
            }
            S = (int64_t)(target / (est > 0 ? est : 1e-6) + 0.5);
            if (S < 1) S = 1;
            if (S > 2000) S = 2000;
        }

        double *step[2], *amort[2], *ratio[2], *fixed[2], *fft2m[2], *floor_s[2], *floor_r[2], *bw[2];
        double *stats_t = calloc((size_t)repeats, sizeof(double));
        for (int m = 0; m < 2; ++m) {
            step[m] = calloc((size_t)repeats, sizeof(double));
            amort[m] = calloc((size_t)repeats, sizeof(double));
            ratio[m] = calloc((size_t)repeats, sizeof(double));
            fixed[m] = calloc((size_t)repeats, sizeof(double));
            fft2m[m] = calloc((size_t)repeats, sizeof(double));
            floor_s[m] = calloc((size_t)repeats, sizeof(double));
            floor_r[m] = calloc((size_t)repeats, sizeof(double));
            bw[m] = calloc((size_t)repeats, sizeof(double));
            if (!step[m] || !amort[m] || !ratio[m] || !fixed[m] || !fft2m[m] || !floor_s[m] || !floor_r[m] || !bw[m] ||
                !stats_t)
                return 1;
        }
        /* the cuda reference, where this case runs on the cuda backend */
        const int gpu_ref = qdml_context_backend(ctx) == QDML_BACKEND_CUDA;
        int gpu_ref_ok = gpu_ref;
        char gpu_err[256] = "";
        const double floor_bytes = 5.0 * (precision == QDML_FLOAT32 ? 8.0 : 16.0) * (double)npts * (double)c->batch;
        const double load0 = bench_loadavg();
        double foreign_max[2] = {0, 0};
        int redone[2] = {0, 0};
        /* One mode after the other (switching modes rebuilds the step tables); the reference FFTs
         * are timed in every repeat of each mode, next to the steps they are compared with. */
        for (int mode = 0; mode < 2; ++mode) {
            if (!(mode ? want_imag : want_real)) continue;
            (void)evolve_time(p, mode, 1, ctx, &failed);
            for (int r = 0; r < repeats && !failed; ++r) {
                /* a repeat during which other processes took more than 10% of the machine is
                 * done again, up to 4 times (the last one counts whatever the load) */
                for (int attempt = 0; attempt < 5; ++attempt) {
                    bench_load_probe lp;
                    bench_load_begin(&lp);
                    fft2m[mode][r] = have_ref ? fft_ref_time(&ref, S, npts, c->batch) : NAN;
                    if (gpu_ref_ok &&
                        gpu_reference(p, S, &fft2m[mode][r], &bw[mode][r], gpu_err, sizeof gpu_err) != 0) {
                        gpu_ref_ok = 0;
                        printf("# %s: no cuda reference: %s\n", name, gpu_err);
                    }
                    const double t1 = evolve_time(p, mode, S, ctx, &failed);
                    const double t2 = evolve_time(p, mode, 2 * S, ctx, &failed);
                    step[mode][r] = (t2 - t1) / (double)S;
                    amort[mode][r] = t2 / (double)(2 * S);
                    fixed[mode][r] = t1 - (double)S * step[mode][r];
                    ratio[mode][r] = step[mode][r] / fft2m[mode][r];
                    floor_s[mode][r] = floor_bytes / bw[mode][r];
                    floor_r[mode][r] = step[mode][r] / floor_s[mode][r];
                    const double other = bench_load_end(&lp);
                    if (other > foreign_max[mode]) foreign_max[mode] = other;
                    if (other <= 0.10) break;
                    ++redone[mode];
                }
            }
        }
        for (int r = 0; r < repeats; ++r)
            for (int attempt = 0; attempt < 5; ++attempt) {
                qdml_stats st;
                bench_load_probe lp;
                bench_load_begin(&lp);
                const double ts = bench_now();
                qdml_problem_stats(p, 0, &st);
                stats_t[r] = bench_now() - ts;
                if (bench_load_end(&lp) <= 0.10) break;
            }
        const double load1 = bench_loadavg();
        const bench_summary sts = bench_summarize(stats_t, repeats);
        for (int mode = 0; mode < 2 && !failed; ++mode) {
            if (!(mode ? want_imag : want_real)) continue;
            const bench_summary ss = bench_summarize(step[mode], repeats), as = bench_summarize(amort[mode], repeats),
                                xs = bench_summarize(fixed[mode], repeats);
            const int any_ref = have_ref || gpu_ref_ok;
            const bench_summary none = {NAN, NAN, NAN};
            const bench_summary fs = any_ref ? bench_summarize(fft2m[mode], repeats) : none;
            const bench_summary rs = any_ref ? bench_summarize(ratio[mode], repeats) : none;
            const bench_summary fl = gpu_ref_ok ? bench_summarize(floor_s[mode], repeats) : none;
            const bench_summary flr = gpu_ref_ok ? bench_summarize(floor_r[mode], repeats) : none;
            const bench_summary bws = gpu_ref_ok ? bench_summarize(bw[mode], repeats) : none;
            char floor_txt[160] = "";
            const double hbm_floor = floor_bytes / hbm_bw; /* NaN without the bandwidth */
            if (gpu_ref_ok)
                snprintf(floor_txt, sizeof floor_txt, "  floor state-copy %.4f ms (%.0f GB/s) x%.2f, HBM %.4f ms x%.2f",
                         fl.median * 1e3, bws.median * 1e-9, flr.median, hbm_floor * 1e3, ss.median / hbm_floor);
            /* with monitoring inside the runs, both calls pay for it per step: no fixed part to show */
            char fixed_ms[32] = "-";
            if (monitor_every == 0) snprintf(fixed_ms, sizeof fixed_ms, "%.3f", xs.median * 1e3);
            printf("%-13s %5lld %4s %8.1f %10.4f  [%7.4f - %7.4f] %9.4f %8.3f   [%5.3f - %5.3f] %9s%s%s\n", name,
                   (long long)c->batch, mode ? "imag" : "real", 1.0 / ss.median, ss.median * 1e3, ss.min * 1e3,
                   ss.max * 1e3, fs.median * 1e3, rs.median, rs.min, rs.max, fixed_ms, floor_txt,
                   redone[mode] ? "  (loaded: repeats redone)" : "");
            if (js) {
                fprintf(js, "%s\n    {\"size\": \"%s\", \"dim\": %d, \"n\": [%lld, %lld, %lld], \"batch\": %lld, "
                            "\"mode\": \"%s\", \"backend\": \"%s\", \"precision\": \"%s\", \"threads\": %d, "
                            "\"steps_per_timing\": %lld, \"repeats\": %d,\n     \"ms_per_step\": {\"median\": %.6f, "
                            "\"min\": %.6f, \"max\": %.6f}, \"steps_per_second\": %.3f,\n",
                        first ? "" : ",", name, c->dim, (long long)c->n[0], (long long)c->n[1], (long long)c->n[2],
                        (long long)c->batch, mode ? "imag" : "real", backend_name, prec_name, threads, (long long)S,
                        repeats, ss.median * 1e3, ss.min * 1e3, ss.max * 1e3, 1.0 / ss.median);
                if (have_ref)
                    fprintf(js, "     \"fft_threads\": %d, \"ms_two_ffts\": {\"median\": %.6f, \"min\": %.6f, \"max\": %.6f}, "
                                "\"ratio_to_two_ffts\": {\"median\": %.4f, \"min\": %.4f, \"max\": %.4f},\n",
                            ref_threads, fs.median * 1e3, fs.min * 1e3, fs.max * 1e3, rs.median, rs.min, rs.max);
                else if (gpu_ref_ok)
                    fprintf(js, "     \"ms_two_ffts\": {\"median\": %.6f, \"min\": %.6f, \"max\": %.6f}, "
                                "\"ratio_to_two_ffts\": {\"median\": %.4f, \"min\": %.4f, \"max\": %.4f},\n"
                                "     \"copy_gb_per_s\": %.3f, \"ms_bytes_floor\": %.6f, "
                                "\"ratio_to_bytes_floor\": {\"median\": %.4f, \"min\": %.4f, \"max\": %.4f},\n",
                            fs.median * 1e3, fs.min * 1e3, fs.max * 1e3, rs.median, rs.min, rs.max, bws.median * 1e-9,
                            fl.median * 1e3, flr.median, flr.min, flr.max);
                if (gpu_ref_ok && isfinite(hbm_floor))
                    fprintf(js,
                            "     \"hbm_copy_gb_per_s\": %.3f, \"ms_hbm_floor\": %.6f, \"ratio_to_hbm_floor\": %.4f,\n",
                            hbm_bw * 1e-9, hbm_floor * 1e3, ss.median / hbm_floor);
                else fprintf(js, "     \"ms_two_ffts\": null, \"ratio_to_two_ffts\": null,\n");
                fprintf(js, "     \"ms_per_step_amortised_over_call\": %.6f, \"ms_fixed_per_call\": %.6f, "
                            "\"ms_stats_call\": %.6f, \"bytes_needed\": %zu, \"plan_seconds\": %.3f, "
                            "\"loadavg\": [%.2f, %.2f], \"repeats_redone_for_load\": %d, "
                            "\"max_other_load_fraction\": %.3f}",
                        as.median * 1e3, xs.median * 1e3, sts.median * 1e3, need, plan_s, load0, load1, redone[mode],
                        foreign_max[mode]);
                first = 0;
            }
        }
        fflush(stdout);
        for (int m = 0; m < 2; ++m) {
            free(step[m]);
            free(amort[m]);
            free(ratio[m]);
            free(fixed[m]);
            free(fft2m[m]);
            free(floor_s[m]);
            free(floor_r[m]);
            free(bw[m]);
        }
        free(stats_t);
        if (have_ref) fft_ref_free(&ref);
        qdml_problem_destroy(p);
        qdml_context_destroy(ctx);
    }
    if (js) {
        fprintf(js, "\n  ]\n}\n");
        fclose(js);
    }
    free(cases);
    return failed ? 1 : 0;
}
