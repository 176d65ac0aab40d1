/* SLABS: one grid cut along its first axis, each rank holding a slab of planes of every member, on the
 * CPU (OpenMP loops, FFTW's MPI transforms). The forward transform leaves its output transposed (the
 * first two axes exchanged: this rank then holds planes [l1, l1 + ln1) of the second axis, each with the
 * whole first axis), the backward transform takes it so (FFTW_MPI_TRANSPOSED_OUT / _IN, as FFTW's manual
 * advises for a forward transform, a pointwise multiply and a backward one): a step costs two all-to-all
 * exchanges and no transpose back. The kinetic factor is applied in that transposed layout.
 *
 * Axes here: a 3D grid's internal axes (0, 1, 2); a 2D grid's internal axes 1 and 2 as this file's axes 0
 * and 1, with a third axis of one point, so that both transforms have the layout n0 x n1 x n2 in position
 * space and n1 x n0 x n2 in Fourier space. Host copies of a member are the whole grid in C order on every
 * rank: a setter takes this rank's planes of it, a getter gathers every rank's (MPI_Allgatherv, one plane
 * of the first axis as the unit). */
#include <fftw3-mpi.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_private.h"
#include "step.h"

/* Complex values per member rounded up to a multiple of 4, so that every member starts 64-byte aligned
 * like the one the plans were made on (fftw_mpi_execute_dft needs the same alignment). */
static int64_t round4(int64_t n) { return (n + 3) / 4 * 4; }

static int axis_map(const slab_state *s, int a) { return s->dim2 ? a + 1 : a; } /* this file's axis a (< 2 in 2D) */

/* Sizes of a slab problem for this rank; 0 on success. */
static int slab_sizes(const qdml_backend_desc *d, MPI_Comm comm, ptrdiff_t n[3], int *dim2, ptrdiff_t *ln0,
                      ptrdiff_t *l0, ptrdiff_t *ln1, ptrdiff_t *l1, ptrdiff_t *alloc) {
    *dim2 = d->n[0] == 1;
    n[0] = (ptrdiff_t)(*dim2 ? d->n[1] : d->n[0]);
    n[1] = (ptrdiff_t)(*dim2 ? d->n[2] : d->n[1]);
    n[2] = (ptrdiff_t)(*dim2 ? 1 : d->n[2]);
    const int rnk = *dim2 ? 2 : 3;
    *alloc = fftw_mpi_local_size_many_transposed(rnk, n, 1, FFTW_MPI_DEFAULT_BLOCK, FFTW_MPI_DEFAULT_BLOCK, comm, ln0,
                                                 l0, ln1, l1);
    return 0;
}

static qdml_status slab_refuse(const qdml_backend_desc *d) {
    const mpi_par *mp = par_of(d);
    if (mp->backend != QDML_BACKEND_CPU)
        return qdml_fail(NULL, QDML_ERR_UNAVAILABLE,
                         "the slab layout runs on the CPU backend only (one grid over several GPUs is not built: "
                         "kernels/NOTES.md); use QDML_MPI_BATCH on the CUDA backend");
    if (d->precision != QDML_FLOAT64)
        return qdml_fail(NULL, QDML_ERR_UNAVAILABLE, "the slab layout computes in float64 only");
    if (d->n[0] == 1 && d->n[1] == 1)
        return qdml_fail(NULL, QDML_ERR_UNAVAILABLE,
                         "the slab layout cuts a 2D or 3D grid; spread a 1D problem's members (QDML_MPI_BATCH)");
    return QDML_OK;
}

qdml_status slab_bytes_needed(const qdml_backend_desc *d, size_t *bytes) {
    qdml_status st = slab_refuse(d);
    if (st != QDML_OK) return st;
    ptrdiff_t n[3], ln0, l0, ln1, l1, alloc;
    int dim2;
    slab_sizes(d, par_of(d)->comm, n, &dim2, &ln0, &l0, &ln1, &l1, &alloc);
    const double local = (double)round4((int64_t)alloc), xp = (double)ln0 * (double)n[1] * (double)n[2];
    const double B = (double)d->batch;
    /* psi, backup (B each), work (one member), v (real), evh, evf (complex) */
    const double total = 16.0 * (2.0 * B * local + local) + 8.0 * B * xp + 32.0 * B * xp;
    if (total > 0x1p62) return qdml_fail(NULL, QDML_ERR_OVERFLOW, "the slab problem's size overflows");
    *bytes = (size_t)total;
    return QDML_OK;
}

void slab_destroy(qdml_backend_state *bs) {
    slab_state *s = (slab_state *)bs;
    if (!s) return;
    if (s->fwd) fftw_destroy_plan((fftw_plan)s->fwd);
    if (s->bwd) fftw_destroy_plan((fftw_plan)s->bwd);
    fftw_free(s->psi);
    fftw_free(s->work);
    fftw_free(s->backup);
    free(s->v);
    free(s->evh);
    free(s->evf);
    free(s->ktab);
    for (int a = 0; a < 3; ++a) {
        free(s->k2[a]);
        free(s->x[a]);
    }
    free(s->imag);
    free(s->flush);
    free(s->built);
    free(s->eref);
    free(s->norm_part);
    free(s->planes);
    free(s->firsts);
    free(s);
}

static unsigned plan_flags(qdml_fft_effort e) {
    return e == QDML_FFT_ESTIMATE ? FFTW_ESTIMATE : e == QDML_FFT_PATIENT ? FFTW_PATIENT : FFTW_MEASURE;
}

static qdml_status slab_alloc(slab_state *s) {
    const size_t B = (size_t)s->d.batch;
    s->psi = fftw_malloc(B * (size_t)s->local * sizeof(qdml_c64));
    s->backup = fftw_malloc(B * (size_t)s->local * sizeof(qdml_c64));
    s->work = fftw_malloc((size_t)s->local * sizeof(qdml_c64));
    const size_t xp = (size_t)(s->xpts ? s->xpts : 1);
    s->v = qdml_calloc_array(B * xp, sizeof(double));
    s->evh = qdml_calloc_array(B * xp, sizeof(qdml_c64));
    s->evf = qdml_calloc_array(B * xp, sizeof(qdml_c64));
    s->ktab = qdml_calloc_array(B * (size_t)(s->n0 + s->n1 + s->n2), sizeof(qdml_c64));
    s->imag = calloc(B, 1);
    s->flush = calloc(B, 1);
    s->built = calloc(B, 1);
    s->eref = calloc(B, sizeof(double));
    s->norm_part = calloc(B, sizeof(double));
    s->planes = calloc((size_t)s->size, sizeof(int));
    s->firsts = calloc((size_t)s->size, sizeof(int));
    int ok = s->psi && s->backup && s->work && s->v && s->evh && s->evf && s->ktab && s->imag && s->flush &&
             s->built && s->eref && s->norm_part && s->planes && s->firsts;
    const int64_t nn[3] = {s->n0, s->n1, s->n2};
    for (int a = 0; a < 3 && ok; ++a) {
        s->k2[a] = calloc((size_t)nn[a], sizeof(double));
        s->x[a] = calloc((size_t)nn[a], sizeof(double));
        ok = s->k2[a] && s->x[a];
    }
    if (!ok) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "cannot allocate the slab arrays");
    memset(s->psi, 0, B * (size_t)s->local * sizeof(qdml_c64));
    memset(s->backup, 0, B * (size_t)s->local * sizeof(qdml_c64));
    memset(s->work, 0, (size_t)s->local * sizeof(qdml_c64));
    for (int a = 0; a < 3; ++a) {
        const int ia = s->dim2 && a == 2 ? 0 : axis_map(s, a); /* 2D: the one-point axis is internal axis 0 */
        for (int64_t j = 0; j < nn[a]; ++j) {
            const double k = qdml_wavenumber(j, nn[a], s->d.length[ia]);
            s->k2[a][j] = nn[a] > 1 ? k * k : 0.0;
            s->x[a][j] = qdml_grid_point(s->d.lo[ia], s->d.length[ia], j, nn[a]);
        }
    }
    return QDML_OK;
}

qdml_status slab_create(const qdml_backend_desc *d, slab_state **out) {
    const mpi_par *mp = par_of(d);
    *out = NULL;
    qdml_status st = slab_refuse(d);
    slab_state *s = st == QDML_OK ? calloc(1, sizeof *s) : NULL;
    if (st == QDML_OK && !s) st = qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "cannot allocate the slab state");
    if (s) {
        s->layout = QDML_MPI_SLABS;
        s->d = *d;
        s->d.wisdom_path = NULL;
        s->comm = mp->comm;
        s->rank = mp->base.rank;
        s->size = mp->base.size;
        s->nt = d->nthreads > 0 ? d->nthreads : 1;
        ptrdiff_t n[3], alloc;
        slab_sizes(d, s->comm, n, &s->dim2, &s->ln0, &s->l0, &s->ln1, &s->l1, &alloc);
        s->n0 = n[0];
        s->n1 = n[1];
        s->n2 = n[2];
        s->local = round4((int64_t)alloc > 0 ? (int64_t)alloc : 1);
        s->xpts = (int64_t)s->ln0 * s->n1 * s->n2;
        s->kpts = (int64_t)s->ln1 * s->n0 * s->n2;
        st = slab_alloc(s);
    }
    if (st == QDML_OK) {
        int mine = (int)s->ln0, first = (int)s->l0, rc;
        COMM_TIMED(&s->clk, rc = MPI_Allgather(&mine, 1, MPI_INT, s->planes, 1, MPI_INT, s->comm));
        if (rc == MPI_SUCCESS)
            COMM_TIMED(&s->clk, rc = MPI_Allgather(&first, 1, MPI_INT, s->firsts, 1, MPI_INT, s->comm));
        if (rc != MPI_SUCCESS) st = mpi_failed("MPI_Allgather", rc);
    }
    /* The plans are collective: made on every rank, or on none. */
    st = mpi_agree(mp->comm, s ? &s->clk : NULL, st, "create");
    if (st == QDML_OK) {
        const ptrdiff_t n[3] = {(ptrdiff_t)s->n0, (ptrdiff_t)s->n1, (ptrdiff_t)s->n2};
        const int rnk = s->dim2 ? 2 : 3;
        fftw_complex *a = (fftw_complex *)s->psi;
        fftw_plan_with_nthreads(s->nt);
        s->fwd = fftw_mpi_plan_many_dft(rnk, n, 1, FFTW_MPI_DEFAULT_BLOCK, FFTW_MPI_DEFAULT_BLOCK, a, a, s->comm,
                                        FFTW_FORWARD, plan_flags(d->effort) | FFTW_MPI_TRANSPOSED_OUT);
        s->bwd = fftw_mpi_plan_many_dft(rnk, n, 1, FFTW_MPI_DEFAULT_BLOCK, FFTW_MPI_DEFAULT_BLOCK, a, a, s->comm,
                                        FFTW_BACKWARD, plan_flags(d->effort) | FFTW_MPI_TRANSPOSED_IN);
        memset(s->psi, 0, (size_t)s->d.batch * (size_t)s->local * sizeof(qdml_c64)); /* planning wrote on it */
        if (!s->fwd || !s->bwd) st = qdml_fail(NULL, QDML_ERR_BACKEND, "fftw_mpi_plan_many_dft failed");
        st = mpi_agree(mp->comm, &s->clk, st, "create");
    }
    if (st != QDML_OK) {
        slab_destroy((qdml_backend_state *)s);
        return st;
    }
    *out = s;
    return QDML_OK;
}

void slab_transform(slab_state *s, qdml_c64 *a, int forward) {
    const double t0 = MPI_Wtime();
    fftw_mpi_execute_dft((fftw_plan)(forward ? s->fwd : s->bwd), (fftw_complex *)a, (fftw_complex *)a);
    s->clk.fft_seconds += MPI_Wtime() - t0;
}

/* ---- host copies ------------------------------------------------------------------------------- */

/* Every rank's planes of a member's host array of `per` doubles a point, gathered into all of it. */
static qdml_status gather_planes(slab_state *s, double *a, int per) {
    MPI_Datatype plane;
    int rc = MPI_Type_contiguous((int)(per * s->n1 * s->n2), MPI_DOUBLE, &plane);
    if (rc == MPI_SUCCESS) rc = MPI_Type_commit(&plane);
    if (rc != MPI_SUCCESS) return mpi_failed("MPI_Type_contiguous", rc);
    COMM_TIMED(&s->clk, rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, a, s->planes, s->firsts, plane,
                                            s->comm));
    MPI_Type_free(&plane);
    return rc == MPI_SUCCESS ? QDML_OK : mpi_failed("MPI_Allgatherv", rc);
}

qdml_status slab_set_state(qdml_backend_state *bs, int64_t b, const double *psi) {
    slab_state *s = (slab_state *)bs;
    memcpy(s->psi + b * s->local, psi + 2 * (int64_t)s->l0 * s->n1 * s->n2, (size_t)s->xpts * sizeof(qdml_c64));
    s->kspace = 0;
    return QDML_OK;
}

qdml_status slab_get_state(qdml_backend_state *bs, int64_t b, double *psi) {
    slab_state *s = (slab_state *)bs;
    memcpy(psi + 2 * (int64_t)s->l0 * s->n1 * s->n2, s->psi + b * s->local, (size_t)s->xpts * sizeof(qdml_c64));
    return mpi_agree(s->comm, &s->clk, gather_planes(s, psi, 2), "get_state");
}

qdml_status slab_set_potential(qdml_backend_state *bs, int64_t b, const double *v) {
    slab_state *s = (slab_state *)bs;
    memcpy(s->v + b * s->xpts, v + (int64_t)s->l0 * s->n1 * s->n2, (size_t)s->xpts * sizeof(double));
    s->built[b] = 0;
    return QDML_OK;
}

qdml_status slab_get_potential(qdml_backend_state *bs, int64_t b, double *v) {
    slab_state *s = (slab_state *)bs;
    memcpy(v + (int64_t)s->l0 * s->n1 * s->n2, s->v + b * s->xpts, (size_t)s->xpts * sizeof(double));
    return mpi_agree(s->comm, &s->clk, gather_planes(s, v, 1), "get_potential");
}

/* This rank's points of [first, first + count) of a member, as [*a, *e) (empty where *a >= *e). */
static void part_of_rank(const slab_state *s, int r, int64_t first, int64_t count, int64_t *a, int64_t *e) {
    const int64_t P = s->n1 * s->n2, lo = (int64_t)s->firsts[r] * P, hi = lo + (int64_t)s->planes[r] * P;
    *a = first > lo ? first : lo;
    *e = first + count < hi ? first + count : hi;
}

qdml_status slab_get_part(qdml_backend_state *bs, int64_t b, int which, int64_t first, int64_t count, double *buf) {
    slab_state *s = (slab_state *)bs;
    const int per = which ? 1 : 2;
    int *cnt = calloc((size_t)s->size, sizeof *cnt), *dsp = calloc((size_t)s->size, sizeof *dsp);
    qdml_status st = cnt && dsp ? QDML_OK : qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "get_part: cannot allocate");
    for (int r = 0; st == QDML_OK && r < s->size; ++r) {
        int64_t a, e;
        part_of_rank(s, r, first, count, &a, &e);
        cnt[r] = a < e ? (int)(per * (e - a)) : 0;
        dsp[r] = a < e ? (int)(per * (a - first)) : 0;
    }
    if ((st = mpi_agree(s->comm, &s->clk, st, "get_part")) == QDML_OK) {
        int64_t a, e;
        part_of_rank(s, s->rank, first, count, &a, &e);
        const int64_t lo = (int64_t)s->l0 * s->n1 * s->n2;
        const double *src = which ? s->v + b * s->xpts + (a - lo) : (const double *)(s->psi + b * s->local + (a - lo));
        int rc;
        COMM_TIMED(&s->clk, rc = MPI_Gatherv(a < e ? src : NULL, a < e ? (int)(per * (e - a)) : 0, MPI_DOUBLE, buf, cnt,
                                             dsp, MPI_DOUBLE, 0, s->comm));
        st = mpi_agree(s->comm, &s->clk, rc == MPI_SUCCESS ? QDML_OK : mpi_failed("MPI_Gatherv", rc), "get_part");
    }
    free(cnt);
    free(dsp);
    return st;
}

qdml_status slab_set_part(qdml_backend_state *bs, int64_t b, int which, int64_t first, int64_t count, const double *buf) {
    slab_state *s = (slab_state *)bs;
    const int per = which ? 1 : 2;
    int64_t a, e;
    part_of_rank(s, s->rank, first, count, &a, &e);
    if (a < e) {
        const int64_t lo = (int64_t)s->l0 * s->n1 * s->n2;
        double *dst = which ? s->v + b * s->xpts + (a - lo) : (double *)(s->psi + b * s->local + (a - lo));
        memcpy(dst, buf + per * (a - first), (size_t)(per * (e - a)) * sizeof(double));
    }
    if (which)
        s->built[b] = 0;
    else
        s->kspace = 0;
    return QDML_OK;
}

/* ---- the step ops ------------------------------------------------------------------------------ */

qdml_status slab_set_step(qdml_backend_state *bs, int64_t b, const qdml_step_params *p) {
    slab_state *s = (slab_state *)bs;
    if (p->vgrad != 0.0)
        return qdml_fail(NULL, QDML_ERR_UNAVAILABLE,
                         "the slab layout has no modified potential V + c |grad V|^2 (Chin's 4th-order splitting): "
                         "use Strang or Yoshida splitting, or one rank");
    const int64_t X = s->xpts;
    const double *v = s->v + b * X;
    qdml_c64 *evh = s->evh + b * X, *evf = s->evf + b * X;
    const double c = qdml_half_step_rate(p->dt, p->hbar);
#pragma omp parallel for num_threads(s->nt) schedule(static)
    for (int64_t i = 0; i < X; ++i) {
        const qdml_c64 h = qdml_potential_factor(p->imaginary, v[i], p->vshift, c);
        evh[i] = h;
        evf[i] = p->imaginary ? qdml_c64_make(h.re * h.re, 0.0) : qdml_cmul(h, h);
    }
    const double kdt = p->kdt != 0.0 ? p->kdt : p->dt;
    qdml_c64 *kt = s->ktab + b * (s->n0 + s->n1 + s->n2);
    const int64_t nn[3] = {s->n0, s->n1, s->n2};
    for (int a = 0; a < 3; ++a) {
        for (int64_t j = 0; j < nn[a]; ++j)
            kt[j] = qdml_kinetic_factor(p->imaginary, p->potential_only, s->k2[a][j], p->hbar, p->mass, kdt);
        kt += nn[a];
    }
    s->imag[b] = (unsigned char)(p->imaginary != 0);
    s->flush[b] = (unsigned char)(p->flush_tiny != 0);
    s->built[b] = 1;
    return QDML_OK;
}

/* Sums of B entries over the ranks, in place. */
static qdml_status sum_over_ranks(slab_state *s, double *a, int64_t n) {
    int rc;
    COMM_TIMED(&s->clk, rc = MPI_Allreduce(MPI_IN_PLACE, a, (int)n, MPI_DOUBLE, MPI_SUM, s->comm));
    return rc == MPI_SUCCESS ? QDML_OK : mpi_failed("MPI_Allreduce", rc);
}

qdml_status slab_kick(qdml_backend_state *bs, int full, const unsigned char *active, double *norms) {
    slab_state *s = (slab_state *)bs;
    const int64_t B = s->d.batch, X = s->xpts;
    double *part = s->norm_part;
    for (int64_t b = 0; b < B; ++b) {
        if (active && !active[b]) continue;
        qdml_c64 *p = s->psi + b * s->local;
        const qdml_c64 *f = (full ? s->evf : s->evh) + b * X;
        const int fl = s->flush[b], im = s->imag[b];
        double acc = 0.0;
#pragma omp parallel for num_threads(s->nt) schedule(static) reduction(+ : acc)
        for (int64_t i = 0; i < X; ++i) {
            qdml_c64 z = im ? qdml_cscale(p[i], f[i].re) : qdml_cmul(p[i], f[i]);
            if (fl) z = qdml_flush_tiny(z);
            p[i] = z;
            acc += qdml_abs2(z);
        }
        part[b] = acc;
    }
    if (!norms) return QDML_OK; /* nothing here can fail on one rank alone */
    for (int64_t b = 0; b < B; ++b)
        if (active && !active[b]) part[b] = 0.0;
    qdml_status st = sum_over_ranks(s, part, B);
    if (st == QDML_OK)
        for (int64_t b = 0; b < B; ++b)
            if (!active || active[b]) norms[b] = part[b];
    return mpi_agree(s->comm, &s->clk, st, "kick");
}

qdml_status slab_fft(qdml_backend_state *bs, int forward) {
    slab_state *s = (slab_state *)bs;
    for (int64_t b = 0; b < s->d.batch; ++b)
        slab_transform(s, s->psi + b * s->local, forward);
    s->kspace = forward;
    return QDML_OK;
}

qdml_status slab_kinetic(qdml_backend_state *bs, const double *scale, const unsigned char *active) {
    slab_state *s = (slab_state *)bs;
    const double invn = 1.0 / (double)s->d.npoints;
    const int64_t K = s->kpts, ks = s->n0 + s->n1 + s->n2;
    for (int64_t b = 0; b < s->d.batch; ++b) {
        qdml_c64 *p = s->psi + b * s->local;
        if (active && !active[b]) {
#pragma omp parallel for num_threads(s->nt) schedule(static)
            for (int64_t j = 0; j < K; ++j)
                p[j] = qdml_cscale(p[j], invn);
            continue;
        }
        const qdml_c64 *t0 = s->ktab + b * ks, *t1 = t0 + s->n0, *t2 = t1 + s->n1;
        const double c = (scale ? scale[b] : 1.0) * invn;
        const int fl = s->flush[b], im = s->imag[b];
        const int64_t rows = (int64_t)s->ln1 * s->n0, n2 = s->n2;
        /* Row r of the transposed layout: second-axis bin l1 + r / n0, first-axis bin r % n0. */
#pragma omp parallel for num_threads(s->nt) schedule(static)
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t k1 = s->l1 + r / s->n0, k0 = r % s->n0;
            qdml_c64 *q = p + r * n2;
            if (im) {
                const double f01 = t0[k0].re * t1[k1].re * c;
                for (int64_t j = 0; j < n2; ++j) {
                    const qdml_c64 z = qdml_cscale(q[j], f01 * t2[j].re);
                    q[j] = fl ? qdml_flush_tiny(z) : z;
                }
            } else {
                const qdml_c64 f01 = qdml_cscale(qdml_cmul(t0[k0], t1[k1]), c);
                for (int64_t j = 0; j < n2; ++j) {
                    const qdml_c64 z = qdml_cmul(q[j], qdml_cmul(f01, t2[j]));
                    q[j] = fl ? qdml_flush_tiny(z) : z;
                }
            }
        }
    }
    return QDML_OK;
}

qdml_status slab_scale(qdml_backend_state *bs, const double *scale, const unsigned char *active) {
    slab_state *s = (slab_state *)bs;
    const int64_t X = s->kspace ? s->kpts : s->xpts;
    for (int64_t b = 0; b < s->d.batch; ++b) {
        if (active && !active[b]) continue;
        qdml_c64 *p = s->psi + b * s->local;
        const double c = scale[b];
#pragma omp parallel for num_threads(s->nt) schedule(static)
        for (int64_t i = 0; i < X; ++i)
            p[i] = qdml_cscale(p[i], c);
    }
    return QDML_OK;
}

qdml_status slab_backup(qdml_backend_state *bs, int restore, const unsigned char *mask) {
    slab_state *s = (slab_state *)bs;
    for (int64_t b = 0; b < s->d.batch; ++b) {
        if (mask && !mask[b]) continue;
        qdml_c64 *p = s->psi + b * s->local, *q = s->backup + b * s->local;
        if (restore)
            memcpy(p, q, (size_t)s->xpts * sizeof *p);
        else
            memcpy(q, p, (size_t)s->xpts * sizeof *p);
    }
    return QDML_OK;
}
