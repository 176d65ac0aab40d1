/* Time per step of one grid cut in slabs over the ranks (qdml_mpi.h, QDML_MPI_SLABS), and what its
 * communication costs. Run by perf/mpi_scaling.py under mpirun; also runs alone as the one-process
 * reference on the plain CPU backend (--plain).
 *
 *   qdml_mpi_steps --n N [--dim 2|3] [--steps S] [--threads T] [--effort estimate|measure] [--plain]
 *                  [--batch B]
 *
 * With --batch B (B > 1): B members on the batch layout (QDML_MPI_BATCH; --plain: the CPU backend in one
 * process), each rank's members on its own CPU backend; otherwise one member on the slab layout.
 * The oscillator, a Gaussian start; S real-time Strang steps (after one step of warm-up,
 * which also builds the step tables) with statistics off (qdml_evolve_options.no_statistics: the steps
 * alone). Rank 0 prints one JSON object:
 *   step_s          wall seconds per step (MPI_Wtime around the call, after a barrier; max over ranks)
 *   qdml_comm_s     seconds per step in the MPI calls qdml makes itself (statuses agreed, norms
 *                   reduced), max over ranks; the transforms' exchanges are inside FFTW, see alltoall_s
 *   alltoall_s      one MPI_Alltoall of the volume one transform exchanges (each rank's slab, all of it
 *                   cut in `ranks` pieces), median of 5: a step makes two (forward and backward), so
 *                   2 alltoall_s / step_s estimates the exchanges' share of a step
 *   slab_bytes      bytes of one rank's slab of one complex array (16 bytes a point)
 *   max_rss_kib     the largest resident set of any rank (getrusage) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <qdml/qdml_mpi.h>

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void need(qdml_status st, const char *what) {
    if (st == QDML_OK) return;
    fprintf(stderr, "qdml_mpi_steps: %s: %s\n", what, qdml_last_error_message());
    MPI_Abort(MPI_COMM_WORLD, 1);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int64_t n = 64, steps = 5;
    int dim = 3, threads = 1, plain = 0;
    int64_t batch = 1;
    qdml_fft_effort effort = QDML_FFT_ESTIMATE;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--n") == 0 && i + 1 < argc) n = atoll(argv[++i]);
        else if (strcmp(argv[i], "--dim") == 0 && i + 1 < argc) dim = atoi(argv[++i]);
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) steps = atoll(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--effort") == 0 && i + 1 < argc)
            effort = strcmp(argv[++i], "measure") == 0 ? QDML_FFT_MEASURE : QDML_FFT_ESTIMATE;
        else if (strcmp(argv[i], "--plain") == 0) plain = 1;
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) batch = atoll(argv[++i]);
        else {
            if (rank == 0) fprintf(stderr, "qdml_mpi_steps: unknown argument '%s'\n", argv[i]);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
    }
    if (n < 8 || steps < 1 || (dim != 2 && dim != 3) || threads < 1 || (plain && size != 1) || batch < 1) {
        if (rank == 0) fprintf(stderr, "qdml_mpi_steps: bad arguments (--plain runs on one rank)\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    qdml_context *ctx = NULL;
    if (plain)
        need(qdml_context_create(&ctx, QDML_BACKEND_CPU, threads), "qdml_context_create");
    else {
        need(qdml_context_create_mpi(&ctx, MPI_COMM_WORLD, QDML_BACKEND_CPU, threads), "qdml_context_create_mpi");
        need(qdml_mpi_set_layout(ctx, batch > 1 ? QDML_MPI_BATCH : QDML_MPI_SLABS), "qdml_mpi_set_layout");
    }
    need(qdml_context_set_fft_effort(ctx, effort), "set_fft_effort");
    int64_t nn[3] = {n, n, n};
    double lo[3] = {-8, -8, -8}, hi[3] = {8, 8, 8};
    qdml_grid g;
    need(qdml_grid_init(&g, dim, nn, lo, hi), "grid");
    qdml_problem *p = NULL;
    const double t_create = MPI_Wtime();
    need(qdml_problem_create(ctx, &g, batch, &p), "qdml_problem_create");
    const double create_s = MPI_Wtime() - t_create;
    qdml_objective o;
    need(qdml_objective_parse("harmonic", dim, &o), "objective");
    double c[3] = {0.5, -0.3, 0.2}, s[3] = {1.0, 1.0, 1.0}, k[3] = {1.0, 0.0, 0.5};
    for (int64_t b = 0; b < batch; ++b) {
        need(qdml_problem_set_objective(p, b, &o), "set_objective");
        need(qdml_problem_set_state_gaussian(p, b, c, s, k), "gaussian");
    }
    qdml_evolve_options eo;
    qdml_evolve_options_default(&eo);
    eo.dt = 1e-3;
    eo.steps = 1;
    eo.no_statistics = 1;
    need(qdml_problem_evolve(p, &eo, NULL), "warm-up step");
    const double comm0 = plain ? 0.0 : qdml_mpi_problem_comm_seconds(p);
    eo.steps = steps;
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    need(qdml_problem_evolve(p, &eo, NULL), "steps");
    double wall = MPI_Wtime() - t0, comm = plain ? 0.0 : qdml_mpi_problem_comm_seconds(p) - comm0;
    MPI_Allreduce(MPI_IN_PLACE, &wall, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &comm, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    /* One transform's exchange: this rank's slab, in `size` pieces, to every rank. */
    int64_t first = 0, count = n;
    if (!plain && batch == 1) need(qdml_mpi_problem_part(p, NULL, &first, &count), "part");
    int64_t planes = count, maxplanes = 0;
    MPI_Allreduce(&planes, &maxplanes, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
    const int64_t per_plane = dim == 3 ? n * n : n;
    const double slab_bytes = 16.0 * (double)maxplanes * (double)per_plane;
    double a2a = 0.0;
    if (size > 1 && batch == 1) {
        const int64_t piece = (int64_t)(slab_bytes / size);
        char *sb = malloc((size_t)(piece * size)), *rb = malloc((size_t)(piece * size));
        if (!sb || !rb || piece > 0x7fffffff) {
            if (rank == 0) fprintf(stderr, "qdml_mpi_steps: cannot allocate the all-to-all buffers\n");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        memset(sb, 1, (size_t)(piece * size));
        double t[5];
        for (int r = 0; r < 5; ++r) {
            MPI_Barrier(MPI_COMM_WORLD);
            const double ta = MPI_Wtime();
            MPI_Alltoall(sb, (int)piece, MPI_BYTE, rb, (int)piece, MPI_BYTE, MPI_COMM_WORLD);
            t[r] = MPI_Wtime() - ta;
            MPI_Allreduce(MPI_IN_PLACE, &t[r], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        }
        qsort(t, 5, sizeof t[0], cmp_double);
        a2a = t[2];
        free(sb);
        free(rb);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long rss = ru.ru_maxrss, maxrss = 0;
    MPI_Allreduce(&rss, &maxrss, 1, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0)
        printf("{\"n\": %lld, \"dim\": %d, \"batch\": %lld, \"ranks\": %d, \"threads\": %d, \"layout\": \"%s\", \"steps\": %lld, "
               "\"step_s\": %.6g, \"qdml_comm_s\": %.6g, \"alltoall_s\": %.6g, \"slab_bytes\": %.6g, "
               "\"create_s\": %.4g, \"max_rss_kib\": %ld}\n",
               (long long)n, dim, (long long)batch, size, threads, plain ? "plain" : batch > 1 ? "batch" : "slabs",
               (long long)steps, wall / (double)steps,
               comm / (double)steps, a2a, slab_bytes, create_s, maxrss);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
    MPI_Finalize();
    return 0;
}
