/* Contexts made from an MPI communicator: the collectives the plain library calls through qdml_par, how
 * statuses are agreed on, and the ops tables of an MPI context, which hand each op to the layout its
 * problem was created with (batch.c or slab.c). */
#include <fftw3-mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_private.h"
#include "internal.h"
#include "mpi_private.h"

/* ---- qdml_par: what the plain library calls ------------------------------------------------ */

static int par_max_int(const qdml_par *base, int v) {
    const mpi_par *mp = (const mpi_par *)base;
    int out = v;
    /* A failing MPI_Allreduce (the default handler aborts first) leaves v: this rank's own answer. */
    if (MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, mp->comm) != MPI_SUCCESS) out = v;
    return out;
}

static void par_release(qdml_par *base) {
    mpi_par *mp = (mpi_par *)base;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized && mp->comm != MPI_COMM_NULL) MPI_Comm_free(&mp->comm);
    free(mp);
}

/* ---- the ops of an MPI context: each to the problem's layout ------------------------------- */

static const qdml_backend_ops *impl(const qdml_backend_state *bs) {
    return layout_of(bs) == QDML_MPI_SLABS ? &slab_ops : &batch_ops;
}

/* The layout a problem of desc takes. */
static qdml_mpi_layout choose_layout(const qdml_backend_desc *d) {
    const mpi_par *mp = par_of(d);
    if (mp->layout != QDML_MPI_AUTO) return mp->layout;
    const int dim = d->n[0] > 1 ? 3 : d->n[1] > 1 ? 2 : 1;
    if (d->batch >= mp->base.size || dim == 1 || mp->backend != QDML_BACKEND_CPU) return QDML_MPI_BATCH;
    return QDML_MPI_SLABS;
}

static qdml_status m_bytes_needed(const qdml_backend_desc *d, size_t *bytes) {
    return choose_layout(d) == QDML_MPI_SLABS ? slab_bytes_needed(d, bytes) : batch_bytes_needed(d, bytes);
}
static qdml_status m_create(const qdml_backend_desc *d, qdml_backend_state **out) {
    *out = NULL;
    qdml_status st;
    if (choose_layout(d) == QDML_MPI_SLABS) {
        slab_state *s = NULL;
        st = slab_create(d, &s);
        *out = (qdml_backend_state *)s;
    } else {
        batch_state *b = NULL;
        st = batch_create(d, &b);
        *out = (qdml_backend_state *)b;
    }
    return st;
}
static void m_destroy(qdml_backend_state *s) {
    if (s) impl(s)->destroy(s);
}
static qdml_status m_set_state(qdml_backend_state *s, int64_t b, const double *psi) {
    return impl(s)->set_state(s, b, psi);
}
static qdml_status m_get_state(qdml_backend_state *s, int64_t b, double *psi) { return impl(s)->get_state(s, b, psi); }
static qdml_status m_set_potential(qdml_backend_state *s, int64_t b, const double *v) {
    return impl(s)->set_potential(s, b, v);
}
static qdml_status m_get_potential(qdml_backend_state *s, int64_t b, double *v) {
    return impl(s)->get_potential(s, b, v);
}
static qdml_status m_set_step(qdml_backend_state *s, int64_t b, const qdml_step_params *p) {
    return impl(s)->set_step(s, b, p);
}
static qdml_status m_kick(qdml_backend_state *s, int full, const unsigned char *active, double *norms) {
    return impl(s)->kick(s, full, active, norms);
}
static qdml_status m_fft(qdml_backend_state *s, int forward) { return impl(s)->fft(s, forward); }
static qdml_status m_kinetic(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    return impl(s)->kinetic(s, scale, active);
}
static qdml_status m_scale(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    return impl(s)->scale(s, scale, active);
}
static qdml_status m_moments(qdml_backend_state *s, const double *hbar, const double *mass, const unsigned char *want,
                             qdml_moments *out) {
    return impl(s)->moments(s, hbar, mass, want, out);
}
static qdml_status m_distance(qdml_backend_state *s, const unsigned char *mask, double *out) {
    return impl(s)->distance(s, mask, out);
}
static qdml_status m_backup(qdml_backend_state *s, int restore, const unsigned char *mask) {
    return impl(s)->backup(s, restore, mask);
}
static qdml_status m_gram(qdml_backend_state *s, int64_t count, double *g) { return impl(s)->gram(s, count, g); }
static qdml_status m_combine(qdml_backend_state *s, int64_t count, const double *t) {
    return impl(s)->combine(s, count, t);
}
static qdml_status m_fill_objective(qdml_backend_state *s, int64_t b, const qdml_objective *o, int dim,
                                    qdml_fill_result *out) {
    return impl(s)->fill_objective(s, b, o, dim, out);
}

static qdml_status m_get_part(qdml_backend_state *s, int64_t b, int which, int64_t first, int64_t count, double *buf) {
    return impl(s)->get_part(s, b, which, first, count, buf);
}
static qdml_status m_set_part(qdml_backend_state *s, int64_t b, int which, int64_t first, int64_t count,
                              const double *buf) {
    return impl(s)->set_part(s, b, which, first, count, buf);
}

#define MPI_OPS(label)                                                                                                 \
    {                                                                                                                  \
        .name = label, .bytes_needed = m_bytes_needed, .create = m_create, .destroy = m_destroy,                      \
        .set_state = m_set_state, .get_state = m_get_state, .set_potential = m_set_potential,                          \
        .get_potential = m_get_potential, .set_step = m_set_step, .kick = m_kick, .fft = m_fft,                        \
        .kinetic = m_kinetic, .scale = m_scale, .moments = m_moments, .distance = m_distance, .backup = m_backup,       \
        .gram = m_gram, .combine = m_combine, .fill_objective = m_fill_objective, .get_part = m_get_part,              \
        .set_part = m_set_part,                                                                                        \
    }
/* No multi-step ops: a rank may decline one where another would not (each rank's CPU backend measures
 * its own paths), and the ranks must issue the same ops; no block-vector ops (the block eigensolver). */
static const qdml_backend_ops mpi_cpu_ops = MPI_OPS("cpu (MPI)");
static const qdml_backend_ops mpi_cuda_ops = MPI_OPS("cuda (MPI)");

/* ---- the public calls ------------------------------------------------------------------------ */

static int is_mpi_context(const qdml_context *ctx) {
    return ctx && ctx->par && (ctx->ops == &mpi_cpu_ops || ctx->ops == &mpi_cuda_ops);
}

qdml_status qdml_context_create_mpi(qdml_context **out, MPI_Comm comm, qdml_backend backend, int nthreads) {
    static const char fn[] = "qdml_context_create_mpi";
    if (!out) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    int init = 0;
    MPI_Initialized(&init);
    if (!init) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: MPI is not initialised (call MPI_Init first)", fn);
    if (comm == MPI_COMM_NULL) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: comm is MPI_COMM_NULL", fn);
    mpi_par *mp = calloc(1, sizeof *mp);
    if (!mp) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", fn, sizeof *mp);
    mp->comm = MPI_COMM_NULL;
    int rc = MPI_Comm_dup(comm, &mp->comm);
    if (rc != MPI_SUCCESS) {
        free(mp);
        return qdml_fail_from(NULL, mpi_failed("MPI_Comm_dup", rc), "%s", fn);
    }
    MPI_Comm_rank(mp->comm, &mp->base.rank);
    MPI_Comm_size(mp->comm, &mp->base.size);
    mp->base.max_int = par_max_int;
    mp->base.release = par_release;
    mp->layout = QDML_MPI_AUTO;
    /* The node-local rank picks the device. */
    MPI_Comm node;
    rc = MPI_Comm_split_type(mp->comm, MPI_COMM_TYPE_SHARED, mp->base.rank, MPI_INFO_NULL, &node);
    if (rc == MPI_SUCCESS) {
        MPI_Comm_rank(node, &mp->local_rank);
        MPI_Comm_size(node, &mp->local_size);
        MPI_Comm_free(&node);
    }
    qdml_context *ctx = NULL;
    qdml_status st = qdml_context_create(&ctx, backend, nthreads);
    st = mpi_agree(mp->comm, NULL, st, fn);
    if (st != QDML_OK) {
        qdml_context_destroy(ctx);
        par_release(&mp->base);
        return st;
    }
    mp->inner = ctx->ops;
    mp->backend = ctx->backend;
    if (ctx->backend == QDML_BACKEND_CPU) {
        const kernel_set *k = NULL;
        (void)qdml_cpu_fftw_init(&k); /* FFTW's threads first, then its MPI part (FFTW's manual) */
        fftw_mpi_init();
    } else {
        const int devices = qdml_device_count();
        ctx->device = devices > 0 ? mp->local_rank % devices : -1;
    }
    ctx->ops = ctx->backend == QDML_BACKEND_CPU ? &mpi_cpu_ops : &mpi_cuda_ops;
    ctx->par = &mp->base;
    *out = ctx;
    return QDML_OK;
}

qdml_status qdml_mpi_set_layout(qdml_context *ctx, qdml_mpi_layout layout) {
    if (!is_mpi_context(ctx))
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT,
                         "qdml_mpi_set_layout: the context was not made by qdml_context_create_mpi");
    if (layout != QDML_MPI_AUTO && layout != QDML_MPI_BATCH && layout != QDML_MPI_SLABS)
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT,
                         "qdml_mpi_set_layout: layout = %d: expected QDML_MPI_AUTO (0), BATCH (1) or SLABS (2)",
                         (int)layout);
    ((mpi_par *)ctx->par)->layout = layout;
    qdml_clear_error(ctx);
    return QDML_OK;
}

qdml_status qdml_mpi_problem_part(const qdml_problem *p, qdml_mpi_layout *layout, int64_t *first, int64_t *count) {
    static const char fn[] = "qdml_mpi_problem_part";
    if (!p || !is_mpi_context(p->ctx))
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: the problem is NULL or not of an MPI context", fn);
    if (layout_of(p->bs) == QDML_MPI_SLABS) {
        const slab_state *s = (const slab_state *)p->bs;
        if (layout) *layout = QDML_MPI_SLABS;
        if (first) *first = (int64_t)s->l0;
        if (count) *count = (int64_t)s->ln0;
    } else {
        int64_t f, c;
        batch_part(p->batch, p->ctx->par->rank, p->ctx->par->size, &f, &c);
        if (layout) *layout = QDML_MPI_BATCH;
        if (first) *first = f;
        if (count) *count = c;
    }
    return QDML_OK;
}

double qdml_mpi_problem_comm_seconds(const qdml_problem *p) {
    if (!p || !is_mpi_context(p->ctx) || !p->bs) return 0.0;
    if (layout_of(p->bs) == QDML_MPI_SLABS) return ((const slab_state *)p->bs)->clk.seconds;
    return batch_comm_seconds((const batch_state *)p->bs);
}
