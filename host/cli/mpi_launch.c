/* The program under mpirun (mpi_launch.h). */
#include "mpi_launch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "cli.h"

#ifdef QDML_HAVE_MPI
#include <qdml/qdml_mpi.h>

static int started = 0, world_rank = 0, world_size = 1;

/* Whether a launcher started this process as one rank of a job. */
static int launched(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; ++i)
        if (getenv(vars[i])) return 1;
    return 0;
}

int cli_mpi_start(int *argc, char ***argv) {
    if (!launched()) return 0;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        cli_error(NULL, "MPI_Init failed");
        return 1;
    }
    started = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    if (world_rank != 0) {
        /* Rank 0 prints and writes; the others compute their part in silence. */
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) return 1;
        qdml_atomic_discard(1);
    }
    return 0;
}

void cli_mpi_finish(void) {
    if (started) MPI_Finalize();
    started = 0;
}

void cli_mpi_describe(int devices) {
    if (!started) {
        printf("mpi: in this build (qdml_mpi); this process was not started by mpirun\n");
        return;
    }
    /* Each rank's host and node-local rank, to rank 0. */
    char host[MPI_MAX_PROCESSOR_NAME + 1] = "";
    int len = 0, local = 0;
    MPI_Get_processor_name(host, &len);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world_rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_rank(node, &local);
        MPI_Comm_free(&node);
    }
    char mine[MPI_MAX_PROCESSOR_NAME + 64];
    const int ndev = devices ? qdml_device_count() : 0;
    if (ndev > 0)
        snprintf(mine, sizeof mine, "%s, node-local rank %d, cuda device %d", host, local, local % ndev);
    else
        snprintf(mine, sizeof mine, "%s, node-local rank %d", host, local);
    char *all = world_rank == 0 ? calloc((size_t)world_size, sizeof mine) : NULL;
    MPI_Gather(mine, (int)sizeof mine, MPI_CHAR, all, (int)sizeof mine, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (world_rank == 0) {
        printf("mpi: %d ranks (qdml_mpi; layout from QDML_MPI_LAYOUT, default auto)\n", world_size);
        for (int r = 0; all && r < world_size; ++r) printf("  rank %d: %s\n", r, all + (size_t)r * sizeof mine);
        free(all);
    }
}

int cli_mpi_ranks(void) { return world_size; }
int cli_mpi_rank(void) { return world_rank; }

qdml_status cli_context_create(qdml_context **ctx, qdml_backend backend, int threads) {
    if (!started) return qdml_context_create(ctx, backend, threads);
    qdml_status st = qdml_context_create_mpi(ctx, MPI_COMM_WORLD, backend, threads);
    if (st != QDML_OK) return st;
    const char *l = getenv("QDML_MPI_LAYOUT");
    qdml_mpi_layout layout = QDML_MPI_AUTO;
    if (l && strcmp(l, "batch") == 0) layout = QDML_MPI_BATCH;
    else if (l && strcmp(l, "slabs") == 0) layout = QDML_MPI_SLABS;
    else if (l && l[0] && strcmp(l, "auto") != 0) {
        qdml_context_destroy(*ctx);
        *ctx = NULL;
        cli_error(NULL, "QDML_MPI_LAYOUT is '%s': expected auto, batch or slabs", l);
        return QDML_ERR_INVALID_ARGUMENT;
    }
    return qdml_mpi_set_layout(*ctx, layout);
}

#else

int cli_mpi_start(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 0;
}
void cli_mpi_finish(void) {}
void cli_mpi_describe(int devices) {
    (void)devices;
    printf("mpi: not in this build (QDML_ENABLE_MPI, with MPI and libfftw3-mpi-dev installed)\n");
}
int cli_mpi_ranks(void) { return 1; }
int cli_mpi_rank(void) { return 0; }
qdml_status cli_context_create(qdml_context **ctx, qdml_backend backend, int threads) {
    return qdml_context_create(ctx, backend, threads);
}

#endif
