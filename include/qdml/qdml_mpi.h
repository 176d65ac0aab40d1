/* qdml over MPI: a context made from a communicator, whose problems are spread over its ranks.
 *
 * Link the qdml_mpi library (and qdml_static, MPI, FFTW's MPI library); the plain library never needs
 * MPI. Every rank of the communicator makes the same calls in the same order with the same arguments
 * (SPMD), as a single-process program would; every call on a problem of an MPI context is collective.
 * Setters take the whole problem's arrays on every rank (each keeps its part), getters, statistics,
 * histories and results are the whole problem's on every rank, a monitor callback runs on every rank
 * and stops the run where it asks to on any rank, and qdml_checkpoint_save writes on rank 0 alone
 * (qdml_checkpoint_load reads the file on every rank: put it where they all see it).
 *
 * Two layouts (qdml_mpi_layout), fixed when a problem is created:
 *  - BATCH: the members are spread over the ranks in contiguous blocks of equal size (within one), each
 *    rank running its members on its own backend (CPU or CUDA). Every member's numbers are those of the
 *    same member in a problem of one process with the same backend and plans, bit for bit. The lowest
 *    states (qdml_problem_lowest_states) and the block eigensolver mix members and are not available on
 *    this layout (UNAVAILABLE): use SLABS, or one rank.
 *  - SLABS (CPU backend, float64, 2D and 3D grids): one grid cut along its first axis into FFTW's blocks
 *    of ceil(n0 / ranks) planes (the last ranks fewer, or none: 25 planes are 13 + 12 on 2 ranks and
 *    9 + 9 + 7 on 3; qdml_mpi_problem_part says which), transformed by FFTW's MPI transforms
 *    with transposed output, so that a step makes two all-to-all exchanges and no transpose back; the
 *    monitoring sums are reduced over the ranks. Results equal a single-process run's to rounding
 *    (1e-12 relative; different plans). Not available here: the block eigensolver (searches use imaginary
 *    time), Chin's 4th-order splitting (its |grad V|^2 needs neighbouring planes), float32.
 *  - AUTO (the default): BATCH where the batch has at least as many members as there are ranks, the grid
 *    is one-dimensional or the backend is CUDA; SLABS otherwise.
 *
 * On the CUDA backend each rank uses the device of its node-local rank modulo the node's devices (ranks
 * sharing a device is allowed). qdml_problem_bytes_needed on an MPI context gives this rank's bytes.
 * Details, guarantees and what is missing: docs/mpi.md. */
#ifndef QDML_MPI_H
#define QDML_MPI_H

#include <mpi.h>

#include <qdml/qdml.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum qdml_mpi_layout {
    QDML_MPI_AUTO = 0,  /* chosen per problem, as above */
    QDML_MPI_BATCH = 1, /* members spread over the ranks */
    QDML_MPI_SLABS = 2  /* one grid in slabs along its first axis */
} qdml_mpi_layout;

/* A context whose problems are spread over the ranks of comm (duplicated: the caller's communicator is
 * never used by qdml). MPI must be initialised (MPI_Init or MPI_Init_thread) and stay so until the
 * context is destroyed. backend and nthreads as qdml_context_create, per rank. Collective.
 * Errors: INVALID_ARGUMENT (out NULL, comm MPI_COMM_NULL, MPI not initialised), UNAVAILABLE (as
 * qdml_context_create; on any rank: every rank fails), BACKEND (an MPI call failed). */
QDML_API qdml_status qdml_context_create_mpi(qdml_context **out, MPI_Comm comm, qdml_backend backend, int nthreads);
/* The layout of problems created afterwards (default QDML_MPI_AUTO). INVALID_ARGUMENT for a context not
 * made by qdml_context_create_mpi or an unknown layout. */
QDML_API qdml_status qdml_mpi_set_layout(qdml_context *ctx, qdml_mpi_layout layout);
/* How a problem of an MPI context is spread: its layout (never AUTO) and this rank's part, the members
 * [first, first + count) (BATCH) or the planes [first, first + count) of the grid's first axis (SLABS);
 * count may be 0. INVALID_ARGUMENT for a problem not of an MPI context. Not collective. */
QDML_API qdml_status qdml_mpi_problem_part(const qdml_problem *p, qdml_mpi_layout *layout, int64_t *first,
                                           int64_t *count);
/* Seconds this rank has spent in MPI calls inside the problem's operations since it was created (the
 * communication's share of a run: compare with the wall time). Not collective. */
QDML_API double qdml_mpi_problem_comm_seconds(const qdml_problem *p);

#ifdef __cplusplus
}
#endif

#endif
