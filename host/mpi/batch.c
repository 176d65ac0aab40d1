/* BATCH: a problem's members spread over the ranks in contiguous blocks, each rank running its own on the
 * context's backend (the inner ops table) as a problem of that many members. An op on every member is the
 * inner op on this rank's; per-member answers (norms, monitoring sums, distances, a filled objective's
 * range) are gathered so that every rank sees the whole batch; a member's host copy comes from the rank
 * that holds it. Every op ends by agreeing on its status (mpi_agree), so a failure on one rank is every
 * rank's and no rank waits for a collective the others left. Nothing mixes members across ranks: the
 * numbers of a member are those its rank's backend computes for it alone, bit for bit those of the same
 * member in one process with the same backend and plans. */
#include <stdlib.h>
#include <string.h>

#include "mpi_private.h"

struct batch_state {
    int layout; /* QDML_MPI_BATCH */
    MPI_Comm comm;
    int rank, size;
    const qdml_backend_ops *in;
    qdml_backend_state *s; /* NULL where this rank holds no member */
    int64_t B, N, first, count;
    int *cnt, *dsp;        /* per rank: members held and the first one (for the gathers) */
    comm_clock clk;
    double *part;          /* get_part / set_part: the member being streamed, whole, on its rank */
    MPI_Datatype moments_type; /* one qdml_moments, as bytes (the gathers of the monitoring sums) */
};

void batch_part(int64_t B, int rank, int size, int64_t *first, int64_t *count) {
    const int64_t q = B / size, r = B % size;
    *first = q * rank + (rank < r ? rank : r);
    *count = q + (rank < r ? 1 : 0);
}

/* The rank that holds member b. */
static int owner(const batch_state *m, int64_t b) {
    for (int r = 0; r + 1 < m->size; ++r)
        if (b < (int64_t)m->dsp[r + 1]) return r;
    return m->size - 1;
}

double batch_comm_seconds(const batch_state *b) { return b->clk.seconds; }

static qdml_status agree(batch_state *m, qdml_status st, const char *fn) { return mpi_agree(m->comm, &m->clk, st, fn); }

/* The desc of this rank's part. */
static void local_desc(const qdml_backend_desc *d, int64_t count, qdml_backend_desc *ld) {
    *ld = *d;
    ld->batch = count;
    ld->par = NULL;
}

qdml_status batch_bytes_needed(const qdml_backend_desc *d, size_t *bytes) {
    const mpi_par *mp = par_of(d);
    int64_t first, count;
    batch_part(d->batch, mp->base.rank, mp->base.size, &first, &count);
    *bytes = 0;
    if (count == 0) return QDML_OK;
    qdml_backend_desc ld;
    local_desc(d, count, &ld);
    return mp->inner->bytes_needed(&ld, bytes);
}

static void batch_destroy(qdml_backend_state *bs) {
    batch_state *m = (batch_state *)bs;
    if (m->s) m->in->destroy(m->s);
    if (m->moments_type != MPI_DATATYPE_NULL) MPI_Type_free(&m->moments_type);
    free(m->part);
    free(m->cnt);
    free(m->dsp);
    free(m);
}

qdml_status batch_create(const qdml_backend_desc *d, batch_state **out) {
    const mpi_par *mp = par_of(d);
    *out = NULL;
    batch_state *m = calloc(1, sizeof *m);
    qdml_status st = QDML_OK;
    if (m) {
        m->layout = QDML_MPI_BATCH;
        m->comm = mp->comm;
        m->rank = mp->base.rank;
        m->size = mp->base.size;
        m->in = mp->inner;
        m->B = d->batch;
        m->N = d->npoints;
        m->moments_type = MPI_DATATYPE_NULL;
        MPI_Datatype t;
        if (MPI_Type_contiguous((int)sizeof(qdml_moments), MPI_BYTE, &t) == MPI_SUCCESS) {
            if (MPI_Type_commit(&t) == MPI_SUCCESS)
                m->moments_type = t;
            else
                MPI_Type_free(&t);
        }
        if (m->moments_type == MPI_DATATYPE_NULL) st = qdml_fail(NULL, QDML_ERR_BACKEND, "MPI_Type_contiguous failed");
        m->cnt = calloc((size_t)m->size, sizeof *m->cnt);
        m->dsp = calloc((size_t)m->size, sizeof *m->dsp);
        if (!m->cnt || !m->dsp) st = qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "cannot allocate the rank tables");
        for (int r = 0; st == QDML_OK && r < m->size; ++r) {
            int64_t f, c;
            batch_part(d->batch, r, m->size, &f, &c);
            m->cnt[r] = (int)c;
            m->dsp[r] = (int)f;
        }
        batch_part(d->batch, m->rank, m->size, &m->first, &m->count);
        if (st == QDML_OK && m->count > 0) {
            qdml_backend_desc ld;
            local_desc(d, m->count, &ld);
            st = m->in->create(&ld, &m->s);
            if (st != QDML_OK) m->s = NULL;
        }
    } else {
        st = qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "cannot allocate the MPI batch state");
    }
    if (d->batch > 0x7fffffff && st == QDML_OK)
        st = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "a batch of more than 2^31 - 1 members cannot be spread");
    st = mpi_agree(mp->comm, m ? &m->clk : NULL, st, "create");
    if (st != QDML_OK) {
        if (m) batch_destroy((qdml_backend_state *)m);
        return st;
    }
    *out = m;
    return QDML_OK;
}

/* Every rank's entries of an array of B elements of `type` (MPI_DOUBLE, or m->moments_type), from the ranks
 * that hold them: the per-rank counts and displacements are the member tables themselves. */
static qdml_status gather(batch_state *m, void *a, MPI_Datatype type) {
    int rc;
    COMM_TIMED(&m->clk, rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, a, m->cnt, m->dsp, type, m->comm));
    return rc == MPI_SUCCESS ? QDML_OK : mpi_failed("MPI_Allgatherv", rc);
}

/* n doubles from root to every rank, in pieces an int counts. */
static qdml_status bcast_doubles(batch_state *m, double *a, int64_t n, int root) {
    const int64_t piece = INT64_C(1) << 28;
    for (int64_t i = 0; i < n; i += piece) {
        const int k = (int)(n - i < piece ? n - i : piece);
        int rc;
        COMM_TIMED(&m->clk, rc = MPI_Bcast(a + i, k, MPI_DOUBLE, root, m->comm));
        if (rc != MPI_SUCCESS) return mpi_failed("MPI_Bcast", rc);
    }
    return QDML_OK;
}

static int mine(const batch_state *m, int64_t b) { return b >= m->first && b < m->first + m->count; }

/* This rank's slice of a per-member array (NULL stays NULL). */
#define SLICE(m, a) ((a) ? (a) + (m)->first : NULL)

static qdml_status b_set_state(qdml_backend_state *bs, int64_t b, const double *psi) {
    batch_state *m = (batch_state *)bs;
    qdml_status st = mine(m, b) ? m->in->set_state(m->s, b - m->first, psi) : QDML_OK;
    return agree(m, st, "set_state");
}

static qdml_status b_set_potential(qdml_backend_state *bs, int64_t b, const double *v) {
    batch_state *m = (batch_state *)bs;
    qdml_status st = mine(m, b) ? m->in->set_potential(m->s, b - m->first, v) : QDML_OK;
    return agree(m, st, "set_potential");
}

static qdml_status b_get_state(qdml_backend_state *bs, int64_t b, double *psi) {
    batch_state *m = (batch_state *)bs;
    qdml_status st = mine(m, b) ? m->in->get_state(m->s, b - m->first, psi) : QDML_OK;
    if ((st = agree(m, st, "get_state")) != QDML_OK) return st;
    return agree(m, bcast_doubles(m, psi, 2 * m->N, owner(m, b)), "get_state");
}

static qdml_status b_get_potential(qdml_backend_state *bs, int64_t b, double *v) {
    batch_state *m = (batch_state *)bs;
    qdml_status st = mine(m, b) ? m->in->get_potential(m->s, b - m->first, v) : QDML_OK;
    if ((st = agree(m, st, "get_potential")) != QDML_OK) return st;
    return agree(m, bcast_doubles(m, v, m->N, owner(m, b)), "get_potential");
}

static qdml_status b_set_step(qdml_backend_state *bs, int64_t b, const qdml_step_params *p) {
    batch_state *m = (batch_state *)bs;
    qdml_status st = mine(m, b) ? m->in->set_step(m->s, b - m->first, p) : QDML_OK;
    return agree(m, st, "set_step");
}

static qdml_status b_kick(qdml_backend_state *bs, int full, const unsigned char *active, double *norms) {
    batch_state *m = (batch_state *)bs;
    qdml_status st = m->s ? m->in->kick(m->s, full, SLICE(m, active), SLICE(m, norms)) : QDML_OK;
    if ((st = agree(m, st, "kick")) != QDML_OK || !norms) return st;
    return agree(m, gather(m, norms, MPI_DOUBLE), "kick");
}

static qdml_status b_fft(qdml_backend_state *bs, int forward) {
    batch_state *m = (batch_state *)bs;
    return agree(m, m->s ? m->in->fft(m->s, forward) : QDML_OK, "fft");
}

static qdml_status b_kinetic(qdml_backend_state *bs, const double *scale, const unsigned char *active) {
    batch_state *m = (batch_state *)bs;
    return agree(m, m->s ? m->in->kinetic(m->s, SLICE(m, scale), SLICE(m, active)) : QDML_OK, "kinetic");
}

static qdml_status b_scale(qdml_backend_state *bs, const double *scale, const unsigned char *active) {
    batch_state *m = (batch_state *)bs;
    return agree(m, m->s ? m->in->scale(m->s, SLICE(m, scale), SLICE(m, active)) : QDML_OK, "scale");
}

static qdml_status b_moments(qdml_backend_state *bs, const double *hbar, const double *mass, const unsigned char *want,
                             qdml_moments *out) {
    batch_state *m = (batch_state *)bs;
    qdml_status st =
        m->s ? m->in->moments(m->s, SLICE(m, hbar), SLICE(m, mass), SLICE(m, want), SLICE(m, out)) : QDML_OK;
    if ((st = agree(m, st, "moments")) != QDML_OK) return st;
    return agree(m, gather(m, out, m->moments_type), "moments");
}

static qdml_status b_distance(qdml_backend_state *bs, const unsigned char *mask, double *out) {
    batch_state *m = (batch_state *)bs;
    qdml_status st = m->s ? m->in->distance(m->s, SLICE(m, mask), SLICE(m, out)) : QDML_OK;
    if ((st = agree(m, st, "distance")) != QDML_OK) return st;
    return agree(m, gather(m, out, MPI_DOUBLE), "distance");
}

static qdml_status b_backup(qdml_backend_state *bs, int restore, const unsigned char *mask) {
    batch_state *m = (batch_state *)bs;
    return agree(m, m->s ? m->in->backup(m->s, restore, SLICE(m, mask)) : QDML_OK, "backup");
}

static qdml_status b_mixing(qdml_backend_state *bs, const char *op) {
    batch_state *m = (batch_state *)bs;
    (void)m;
    return qdml_fail(NULL, QDML_ERR_UNAVAILABLE,
                     "%s mixes members, which the MPI batch layout keeps on different ranks: find the lowest states "
                     "with the slab layout (qdml_mpi_set_layout(ctx, QDML_MPI_SLABS)) or on one rank",
                     op);
}
static qdml_status b_gram(qdml_backend_state *bs, int64_t count, double *g) {
    (void)count;
    (void)g;
    return b_mixing(bs, "gram");
}
static qdml_status b_combine(qdml_backend_state *bs, int64_t count, const double *t) {
    (void)count;
    (void)t;
    return b_mixing(bs, "combine");
}

static qdml_status b_fill_objective(qdml_backend_state *bs, int64_t b, const qdml_objective *o, int dim,
                                    qdml_fill_result *out) {
    batch_state *m = (batch_state *)bs;
    qdml_status st = mine(m, b) ? m->in->fill_objective(m->s, b - m->first, o, dim, out) : QDML_OK;
    if ((st = agree(m, st, "fill_objective")) != QDML_OK) return st;
    int rc;
    COMM_TIMED(&m->clk, rc = MPI_Bcast(out, (int)sizeof *out, MPI_BYTE, owner(m, b), m->comm));
    return agree(m, rc == MPI_SUCCESS ? QDML_OK : mpi_failed("MPI_Bcast", rc), "fill_objective");
}

/* A member streamed in parts (backend.h): its rank holds it whole anyway, so it copies the whole member out
 * (in) at the first part (the last), and each part goes to rank 0 from there (comes from every rank's buf). */
static qdml_status b_get_part(qdml_backend_state *bs, int64_t b, int which, int64_t first, int64_t count, double *buf) {
    batch_state *m = (batch_state *)bs;
    const int per = which ? 1 : 2, own = owner(m, b);
    qdml_status st = QDML_OK;
    if (mine(m, b) && first == 0) {
        free(m->part);
        m->part = qdml_calloc_array((size_t)m->N, (size_t)per * sizeof(double));
        if (!m->part)
            st = qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "get_part: cannot allocate a member (%lld points)",
                           (long long)m->N);
        else
            st = which ? m->in->get_potential(m->s, b - m->first, m->part) : m->in->get_state(m->s, b - m->first, m->part);
    }
    if (mine(m, b) && st == QDML_OK && !m->part) st = qdml_fail(NULL, QDML_ERR_INTERNAL, "get_part: not from the start");
    if ((st = agree(m, st, "get_part")) != QDML_OK) return st;
    const int n = (int)(per * count);
    int rc = MPI_SUCCESS;
    if (own == 0 && m->rank == 0)
        memcpy(buf, m->part + per * first, (size_t)n * sizeof(double));
    else if (m->rank == own)
        COMM_TIMED(&m->clk, rc = MPI_Send(m->part + per * first, n, MPI_DOUBLE, 0, 0, m->comm));
    else if (m->rank == 0)
        COMM_TIMED(&m->clk, rc = MPI_Recv(buf, n, MPI_DOUBLE, own, 0, m->comm, MPI_STATUS_IGNORE));
    if (mine(m, b) && first + count >= m->N) {
        free(m->part);
        m->part = NULL;
    }
    return agree(m, rc == MPI_SUCCESS ? QDML_OK : mpi_failed("MPI_Send/MPI_Recv", rc), "get_part");
}

static qdml_status b_set_part(qdml_backend_state *bs, int64_t b, int which, int64_t first, int64_t count,
                              const double *buf) {
    batch_state *m = (batch_state *)bs;
    const int per = which ? 1 : 2;
    qdml_status st = QDML_OK;
    if (mine(m, b)) {
        if (first == 0) {
            free(m->part);
            m->part = qdml_calloc_array((size_t)m->N, (size_t)per * sizeof(double));
        }
        if (!m->part) {
            st = qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "set_part: cannot allocate a member (%lld points)",
                           (long long)m->N);
        } else {
            memcpy(m->part + per * first, buf, (size_t)(per * count) * sizeof(double));
            if (first + count >= m->N) {
                st = which ? m->in->set_potential(m->s, b - m->first, m->part)
                           : m->in->set_state(m->s, b - m->first, m->part);
                free(m->part);
                m->part = NULL;
            }
        }
    }
    return agree(m, st, "set_part");
}

const qdml_backend_ops batch_ops = {
    .name = "batch",
    .bytes_needed = batch_bytes_needed,
    .destroy = batch_destroy,
    .set_state = b_set_state,
    .get_state = b_get_state,
    .set_potential = b_set_potential,
    .get_potential = b_get_potential,
    .set_step = b_set_step,
    .kick = b_kick,
    .fft = b_fft,
    .kinetic = b_kinetic,
    .scale = b_scale,
    .moments = b_moments,
    .distance = b_distance,
    .backup = b_backup,
    .gram = b_gram,
    .combine = b_combine,
    .fill_objective = b_fill_objective,
    .get_part = b_get_part,
    .set_part = b_set_part,
};
