/* Where a step's time goes: the backend ops called through the ops table in the order the solver
 * calls them (kick, then per step fft, kinetic, fft, kick), each call timed, and two bare FFTs of
 * the problem's batched plan for comparison. In the fused path of the CPU backend the work moves
 * between ops (a forward FFT is only noted; the kinetic op performs the plane and column passes).
 * A tool for finding costs; the benchmarks proper are qdml_bench_steps and qdml_bench_ground.
 *
 *   qdml_bench_ops [--threads T] [--steps S] [--repeats R] [--batch B] SIZE...
 */
#include <fftw3.h>
#include <qdml/qdml.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { T_KICK, T_FFTF, T_KIN, T_FFTB, T_CLOSE, T_MOM, T_TWO, T_COUNT };
static const char *names[T_COUNT] = {"kick", "fft_fwd", "kinetic", "fft_bwd", "close", "moments", "bare2fft"};

int main(int argc, char **argv) {
    int threads = 2, repeats = 7, steps = 20;
    int64_t batch = 1;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoll(argv[++i]);
    }
    fftw_init_threads();
    printf("%-12s %5s %5s", "size", "batch", "mode");
    for (int k = 0; k < T_COUNT; ++k) printf(" %9s", names[k]);
    printf(" %9s %7s   (us per step; median of %d)\n", "step", "ratio", repeats);
    for (int i = 1; i < argc; ++i) {
        if (argv[i][0] == '-') {
            ++i;
            continue;
        }
        int64_t n[3] = {1, 1, 1}, v[3];
        int dim = sscanf(argv[i], "%" SCNd64 "x%" SCNd64 "x%" SCNd64, &v[0], &v[1], &v[2]);
        if (dim < 1) return 2;
        for (int d = 0; d < dim; ++d) n[3 - dim + d] = v[d];
        qdml_backend_desc desc;
        memset(&desc, 0, sizeof desc);
        desc.dv = 1.0;
        for (int a = 0; a < 3; ++a) {
            desc.n[a] = n[a];
            desc.lo[a] = n[a] > 1 ? -8.0 : 0.0;
            desc.length[a] = n[a] > 1 ? 16.0 : 1.0;
            desc.dv *= desc.length[a] / (double)n[a];
        }
        desc.npoints = n[0] * n[1] * n[2];
        desc.batch = batch;
        desc.nthreads = threads;
        desc.effort = QDML_FFT_MEASURE;
        desc.precision = QDML_FLOAT64;
        const qdml_backend_ops *ops = &qdml_backend_cpu_ops;
        qdml_backend_state *s = NULL;
        if (ops->create(&desc, &s) != QDML_OK) {
            fprintf(stderr, "%s\n", qdml_last_error_message());
            return 1;
        }
        const int64_t N = desc.npoints;
        double *pot = malloc((size_t)N * sizeof *pot), *psi = malloc((size_t)N * 2 * sizeof *psi);
        for (int64_t j = 0; j < N; ++j) {
            pot[j] = 0.5 * (double)(j % 97) / 97.0;
            psi[2 * j] = exp(-1e-3 * (double)(j % 1000));
            psi[2 * j + 1] = 0.1 * psi[2 * j];
        }
        double *hbar = malloc((size_t)batch * sizeof(double)), *mass = malloc((size_t)batch * sizeof(double));
        double *scale = malloc((size_t)batch * sizeof(double)), *norms = malloc((size_t)batch * sizeof(double));
        qdml_moments *mom = malloc((size_t)batch * sizeof *mom);
        for (int64_t b = 0; b < batch; ++b) {
            ops->set_potential(s, b, pot);
            hbar[b] = mass[b] = 1.0;
        }
        /* bare FFTs of the same shape, planned like the library's plan (wisdom shared in-process) */
        int fn[3] = {(int)n[0], (int)n[1], (int)n[2]};
        fftw_complex *fb = fftw_malloc((size_t)(N * batch) * sizeof *fb);
        fftw_plan_with_nthreads(threads);
        fftw_plan ff = fftw_plan_many_dft(3, fn, (int)batch, fb, NULL, 1, (int)N, fb, NULL, 1, (int)N, FFTW_FORWARD, FFTW_MEASURE);
        fftw_plan fbk = fftw_plan_many_dft(3, fn, (int)batch, fb, NULL, 1, (int)N, fb, NULL, 1, (int)N, FFTW_BACKWARD, FFTW_MEASURE);
        for (int64_t j = 0; j < N * batch; ++j) fb[j][0] = fb[j][1] = 1e-3 * (double)(j % 7);
        for (int mode = 0; mode < 2; ++mode) {
            qdml_step_params sp;
            memset(&sp, 0, sizeof sp);
            sp.imaginary = mode;
            sp.dt = 1e-3;
            sp.hbar = sp.mass = 1.0;
            sp.flush_tiny = mode;
            for (int64_t b = 0; b < batch; ++b) ops->set_step(s, b, &sp);
            double *t[T_COUNT];
            for (int k = 0; k < T_COUNT; ++k) t[k] = calloc((size_t)repeats, sizeof(double));
            double *nrm = mode ? norms : NULL;
            for (int r = 0; r < repeats; ++r) {
                for (int64_t b = 0; b < batch; ++b) ops->set_state(s, b, psi);
                double t0 = now();
                ops->kick(s, 0, NULL, nrm);
                t[T_KICK][r] += now() - t0;
                for (int q = 0; q < steps; ++q) {
                    for (int64_t b = 0; b < batch; ++b) scale[b] = mode ? 1.0 / sqrt(norms[b] * desc.dv) : 1.0;
                    t0 = now();
                    ops->fft(s, 1);
                    double t1 = now();
                    ops->kinetic(s, scale, NULL);
                    double t2 = now();
                    ops->fft(s, 0);
                    double t3 = now();
                    ops->kick(s, q + 1 < steps, NULL, nrm);
                    double t4 = now();
                    t[T_FFTF][r] += t1 - t0;
                    t[T_KIN][r] += t2 - t1;
                    t[T_FFTB][r] += t3 - t2;
                    t[T_KICK][r] += t4 - t3;
                }
                t0 = now();
                if (mode) ops->scale(s, scale, NULL);
                ops->backup(s, 0, NULL); /* materializes what is deferred */
                t[T_CLOSE][r] = now() - t0;
                t0 = now();
                ops->moments(s, hbar, mass, NULL, mom);
                t[T_MOM][r] = (now() - t0) * steps; /* per call, shown x steps / steps */
                t0 = now();
                for (int q = 0; q < steps; ++q) {
                    fftw_execute(ff);
                    fftw_execute(fbk);
                    fb[0][0] = 1.0;
                }
                t[T_TWO][r] = now() - t0;
            }
            double med[T_COUNT], stepmed[64];
            for (int r = 0; r < repeats && r < 64; ++r)
                stepmed[r] = (t[T_KICK][r] + t[T_FFTF][r] + t[T_KIN][r] + t[T_FFTB][r] + t[T_CLOSE][r]) / t[T_TWO][r];
            for (int k = 0; k < T_COUNT; ++k) {
                qsort(t[k], (size_t)repeats, sizeof(double), cmp);
                med[k] = t[k][repeats / 2] / steps;
            }
            qsort(stepmed, (size_t)(repeats < 64 ? repeats : 64), sizeof(double), cmp);
            const double step = med[T_KICK] + med[T_FFTF] + med[T_KIN] + med[T_FFTB] + med[T_CLOSE];
            printf("%-12s %5lld %5s", argv[i], (long long)batch, mode ? "imag" : "real");
            for (int k = 0; k < T_COUNT; ++k) printf(" %9.1f", med[k] * 1e6);
            printf(" %9.1f %7.3f   ratio per repeat: min %.3f max %.3f\n", step * 1e6, stepmed[repeats / 2], stepmed[0],
                   stepmed[repeats - 1]);
            for (int k = 0; k < T_COUNT; ++k) free(t[k]);
        }
        fftw_destroy_plan(ff);
        fftw_destroy_plan(fbk);
        fftw_free(fb);
        free(pot);
        free(psi);
        free(hbar);
        free(mass);
        free(scale);
        free(norms);
        free(mom);
        ops->destroy(s);
    }
    return 0;
}
