/* How the ranks of an MPI context fail together: a status agreed on by every rank (mpi_agree), with the
 * failing rank's message, and an MPI call's failure as a qdml status (mpi_failed). */
#include <stdio.h>
#include <string.h>

#include "mpi_private.h"

qdml_status mpi_failed(const char *call, int rc) {
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", rc);
    return qdml_fail(NULL, QDML_ERR_BACKEND, "%s failed: %s", call, text);
}

qdml_status mpi_agree(MPI_Comm comm, comm_clock *clk, qdml_status st, const char *fn) {
    int size = 1, rank = 0;
    MPI_Comm_size(comm, &size);
    MPI_Comm_rank(comm, &rank);
    int mine = st != QDML_OK ? rank : size, first = size;
    int rc;
    const double t0 = MPI_Wtime();
    rc = MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (rc != MPI_SUCCESS) {
        if (clk) clk->seconds += MPI_Wtime() - t0;
        return mpi_failed("MPI_Allreduce", rc);
    }
    if (first == size) {
        if (clk) clk->seconds += MPI_Wtime() - t0;
        return QDML_OK;
    }
    /* The failing rank's status and message, to every rank. */
    struct {
        int status;
        char msg[QDML_ERRLEN];
    } m;
    memset(&m, 0, sizeof m);
    if (rank == first) {
        m.status = (int)st;
        snprintf(m.msg, sizeof m.msg, "%s", qdml_last_error_message());
    }
    rc = MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, first, comm);
    if (clk) clk->seconds += MPI_Wtime() - t0;
    if (rc != MPI_SUCCESS) return mpi_failed("MPI_Bcast", rc);
    if (rank == first) return st;
    m.msg[sizeof m.msg - 1] = '\0';
    return qdml_fail(NULL, (qdml_status)m.status, "%s on rank %d: %s", fn, first, m.msg);
}
