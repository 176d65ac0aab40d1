/* The MPI library's private state (qdml_mpi.h), shared by its files:
 *   context_mpi.c  qdml_context_create_mpi, the collectives the plain library calls (qdml_par), the ops
 *                  tables of an MPI context (each op goes to the layout the problem was created with)
 *   batch.c        BATCH: the members spread over the ranks, each rank's on the context's own backend
 *   slab.c         SLABS: one grid in slabs along its first axis, FFTW's MPI transforms (create, copies,
 *                  step tables, the step ops)
 *   slab_sums.c    SLABS: the monitoring sums, distance, Gram matrix and combine, objective fill, each
 *                  reduced over the ranks, and the layout's ops table
 *   agree.c        a status agreed on by every rank (mpi_agree), an MPI failure as a status
 * In one direction only: context_mpi.c calls batch.c, slab.c and slab_sums.c; slab_sums.c calls slab.c;
 * all of them call agree.c.
 */
#ifndef QDML_MPI_PRIVATE_H
#define QDML_MPI_PRIVATE_H

#include <mpi.h>
#include <stdint.h>

#include <qdml/qdml_mpi.h>

#include "backend.h"
#include "pointwise.h"
#include "status.h"

/* What an MPI context hands its problems (through qdml_backend_desc.par). */
typedef struct mpi_par {
    qdml_par base;                /* first: the plain library's view */
    MPI_Comm comm;                /* the context's duplicate of the caller's communicator */
    const qdml_backend_ops *inner;/* the backend each rank runs (BATCH) */
    qdml_backend backend;
    qdml_mpi_layout layout;       /* for problems created afterwards */
    int local_rank, local_size;   /* within the node */
} mpi_par;

static inline const mpi_par *par_of(const qdml_backend_desc *d) { return (const mpi_par *)d->par; }

/* Time spent in MPI calls, per problem (qdml_mpi_problem_comm_seconds). */
typedef struct comm_clock {
    double seconds;     /* in MPI calls qdml makes */
    double fft_seconds; /* in FFTW's MPI transforms (their all-to-all exchanges and their arithmetic) */
} comm_clock;
#define COMM_TIMED(clk, call)                                                                                          \
    do {                                                                                                               \
        const double t0_ = MPI_Wtime();                                                                                \
        call;                                                                                                          \
        (clk)->seconds += MPI_Wtime() - t0_;                                                                           \
    } while (0)

/* st made the same on every rank of comm: QDML_OK where every rank's is, else the status and message of
 * the lowest rank that failed (its own message kept there; elsewhere "rank r: <its message>"). fn names
 * the operation for the message. Collective. */
qdml_status mpi_agree(MPI_Comm comm, comm_clock *clk, qdml_status st, const char *fn);
/* An MPI call's failure as a qdml status with the call's name and MPI's error string. */
qdml_status mpi_failed(const char *call, int rc);

/* The first field of a problem's state, whichever layout: which one it is. */
static inline int layout_of(const qdml_backend_state *bs) { return *(const int *)bs; }

/* ---- batch.c ---------------------------------------------------------------------------------- */
typedef struct batch_state batch_state;
/* The members [*first, *first + *count) that `rank` of `size` holds of a batch of B. */
void batch_part(int64_t B, int rank, int size, int64_t *first, int64_t *count);
qdml_status batch_bytes_needed(const qdml_backend_desc *d, size_t *bytes);
qdml_status batch_create(const qdml_backend_desc *d, batch_state **out);
extern const qdml_backend_ops batch_ops; /* on the batch_state, cast */
double batch_comm_seconds(const batch_state *b);

/* ---- slab.c / slab_sums.c --------------------------------------------------------------------- */
typedef struct slab_state {
    int layout;              /* QDML_MPI_SLABS: first, as in batch_state (context_mpi.c dispatches on it) */
    qdml_backend_desc d;
    MPI_Comm comm;
    int rank, size, nt;
    comm_clock clk;
    int dim2;                /* 1: a 2D grid (internal axes 1 and 2), else 3D */
    int64_t n0, n1, n2;      /* the distributed axis, the next, the last (n2 = 1 in 2D... see slab.c) */
    ptrdiff_t ln0, l0;       /* this rank's planes of the first axis: [l0, l0 + ln0) (position space) */
    ptrdiff_t ln1, l1;       /* this rank's planes of the second axis in Fourier space (transposed) */
    int64_t local;           /* complex values per member allocated (FFTW-MPI's local size, >= ln0 n1 n2) */
    int64_t xpts;            /* ln0 * n1 * n2: this rank's points in position space */
    int64_t kpts;            /* ln1 * n0 * n2: this rank's points in Fourier space */
    qdml_c64 *psi, *work, *backup; /* B * local each */
    double *v;               /* B * xpts */
    qdml_c64 *evh, *evf;     /* B * xpts: the half- and full-step potential factors */
    qdml_c64 *ktab;          /* B * (n0 + n1 + n2): per-axis kinetic factors (distributed axis first) */
    double *k2[3];           /* k^2 per axis (n0, n1, n2 entries; FFT order) */
    double *x[3];            /* coordinates per axis */
    unsigned char *imag, *flush, *built;
    double *eref;            /* per member: its energy at the last monitoring point (slab_moments), 0 at first */
    double *norm_part;       /* per member: this rank's norm sums of a kick (reduced over the ranks) */
    int *planes, *firsts;    /* per rank: its planes of the first axis and the first one (the gathers) */
    void *fwd, *bwd;         /* fftw_plan: one member, in place, TRANSPOSED_OUT / TRANSPOSED_IN */
    int kspace;              /* the last fft left psi in Fourier space (transposed layout) */
} slab_state;

qdml_status slab_bytes_needed(const qdml_backend_desc *d, size_t *bytes);
qdml_status slab_create(const qdml_backend_desc *d, slab_state **out);
/* Forward (transposed out) or backward (transposed in) transform of one member's array in place. */
void slab_transform(slab_state *s, qdml_c64 *a, int forward);
/* Internal axis indices of Fourier-space point j of this rank: (k0, k1, k2) bins of the three axes. */
static inline void slab_kidx(const slab_state *s, int64_t j, int64_t *k0, int64_t *k1, int64_t *k2) {
    *k2 = j % s->n2;
    const int64_t r = j / s->n2;
    *k0 = r % s->n0;
    *k1 = s->l1 + r / s->n0;
}
extern const qdml_backend_ops slab_ops; /* slab_sums.c: the table, over slab.c's ops and its own */
void slab_destroy(qdml_backend_state *bs);
qdml_status slab_set_state(qdml_backend_state *bs, int64_t b, const double *psi);
qdml_status slab_get_state(qdml_backend_state *bs, int64_t b, double *psi);
qdml_status slab_set_potential(qdml_backend_state *bs, int64_t b, const double *v);
qdml_status slab_get_potential(qdml_backend_state *bs, int64_t b, double *v);
qdml_status slab_set_step(qdml_backend_state *bs, int64_t b, const qdml_step_params *p);
qdml_status slab_kick(qdml_backend_state *bs, int full, const unsigned char *active, double *norms);
qdml_status slab_fft(qdml_backend_state *bs, int forward);
qdml_status slab_kinetic(qdml_backend_state *bs, const double *scale, const unsigned char *active);
qdml_status slab_scale(qdml_backend_state *bs, const double *scale, const unsigned char *active);
qdml_status slab_backup(qdml_backend_state *bs, int restore, const unsigned char *mask);
qdml_status slab_get_part(qdml_backend_state *bs, int64_t b, int which, int64_t first, int64_t count, double *buf);
qdml_status slab_set_part(qdml_backend_state *bs, int64_t b, int which, int64_t first, int64_t count,
                          const double *buf);
qdml_status slab_moments(qdml_backend_state *bs, const double *hbar, const double *mass, const unsigned char *want,
                         qdml_moments *out);
qdml_status slab_distance(qdml_backend_state *bs, const unsigned char *mask, double *out);
qdml_status slab_gram(qdml_backend_state *bs, int64_t count, double *g);
qdml_status slab_combine(qdml_backend_state *bs, int64_t count, const double *t);
qdml_status slab_fill_objective(qdml_backend_state *bs, int64_t member, const qdml_objective *o, int dim,
                                qdml_fill_result *out);

#endif
