/* The program under mpirun: MPI started where the launcher's environment says this process is one of
 * several ranks (and the build has qdml_mpi), contexts made from MPI_COMM_WORLD, and every rank but 0
 * silent (its standard output and error to /dev/null, its files discarded: rank 0 prints and writes). */
#ifndef QDML_CLI_MPI_LAUNCH_H
#define QDML_CLI_MPI_LAUNCH_H

#include <qdml/qdml.h>

/* Starts MPI where the process was launched by mpirun/mpiexec/srun (Open MPI's, MPICH's or PMIx's
 * environment) and the build has MPI; otherwise does nothing. Returns 0, or 1 where MPI could not start
 * (with a message). */
int cli_mpi_start(int *argc, char ***argv);
/* MPI_Finalize where cli_mpi_start started MPI. */
void cli_mpi_finish(void);
/* Ranks of MPI_COMM_WORLD (1 without MPI) and this process's rank. */
int cli_mpi_ranks(void);
int cli_mpi_rank(void);
/* `qdml info`'s MPI lines: whether the build has MPI and, under mpirun, every rank's host and, where
 * devices are used, the device its node-local rank takes (gathered on rank 0, which prints). */
void cli_mpi_describe(int devices);
/* A context for the program's runs: from MPI_COMM_WORLD under mpirun (layout from QDML_MPI_LAYOUT:
 * auto, batch or slabs), else qdml_context_create's. */
qdml_status cli_context_create(qdml_context **ctx, qdml_backend backend, int threads);

#endif
