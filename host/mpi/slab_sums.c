/* SLABS: the ops that sum over the grid, each rank over its slab and then over the ranks: the monitoring
 * sums (as the CPU backend's, backend.h: one reduction for every member's sums, the density's maximum and
 * the residual about a reference energy; see slab_moments), the distance to the backup, the Gram matrix of
 * a block and its combination, and the objective's fill with its range. */
#include <fftw3-mpi.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_private.h"
#include "objectives.h"
#include "step.h"

/* A member's position-space sums and the density's maximum, reduced over the ranks by red_op. */
typedef struct red {
    double s0, sv, st, sx[3], sxx[3];
    double s1;   /* sum |H psi - eref psi|^2 (slab_moments) */
    double bad;  /* points whose |psi|^2 is not finite */
    double rmax; /* +inf where a value was NaN */
    int64_t imax;
} red;

static void red_combine(void *in, void *inout, int *len, MPI_Datatype *type) {
    (void)type;
    const red *a = in;
    red *b = inout;
    for (int k = 0; k < *len; ++k) {
        b[k].s0 += a[k].s0;
        b[k].sv += a[k].sv;
        b[k].st += a[k].st;
        for (int d = 0; d < 3; ++d) {
            b[k].sx[d] += a[k].sx[d];
            b[k].sxx[d] += a[k].sxx[d];
        }
        b[k].s1 += a[k].s1;
        b[k].bad += a[k].bad;
        if (a[k].rmax > b[k].rmax || (a[k].rmax == b[k].rmax && a[k].imax < b[k].imax)) {
            b[k].rmax = a[k].rmax;
            b[k].imax = a[k].imax;
        }
    }
}

static qdml_status reduce_red(slab_state *s, red *r, int64_t count) {
    MPI_Datatype t;
    MPI_Op op;
    int rc = MPI_Type_contiguous((int)sizeof(red), MPI_BYTE, &t);
    if (rc == MPI_SUCCESS) rc = MPI_Type_commit(&t);
    if (rc != MPI_SUCCESS) return mpi_failed("MPI_Type_contiguous", rc);
    rc = MPI_Op_create(red_combine, 1, &op);
    if (rc == MPI_SUCCESS) {
        COMM_TIMED(&s->clk, rc = MPI_Allreduce(MPI_IN_PLACE, r, (int)count, t, op, s->comm));
        MPI_Op_free(&op);
    }
    MPI_Type_free(&t);
    return rc == MPI_SUCCESS ? QDML_OK : mpi_failed("MPI_Allreduce", rc);
}

static qdml_status sum_doubles(slab_state *s, double *a, int64_t n) {
    int rc;
    COMM_TIMED(&s->clk, rc = MPI_Allreduce(MPI_IN_PLACE, a, (int)n, MPI_DOUBLE, MPI_SUM, s->comm));
    return rc == MPI_SUCCESS ? QDML_OK : mpi_failed("MPI_Allreduce", rc);
}

/* The internal axis of this file's axis a (2D: axes 0, 1 are internal 1, 2; the one-point axis 2 is 0). */
static int internal_axis(const slab_state *s, int a) { return s->dim2 ? (a == 2 ? 0 : a + 1) : a; }

static double residual_about(const slab_state *s, int64_t b, double e);

/* The work buffer (a copy of a member) made T psi, spectrally: returns sum over this rank's wavenumbers of
 * (hbar^2 |k|^2 / 2m) |psi_hat|^2 (times N: the kinetic sum before its 1/N). */
static double kinetic_in_work(slab_state *s, double hbar, double mass) {
    qdml_c64 *w = s->work;
    slab_transform(s, w, 1);
    const double c = qdml_kinetic_coefficient(hbar, mass), invn = 1.0 / (double)s->d.npoints;
    double st = 0.0;
#pragma omp parallel for num_threads(s->nt) schedule(static) reduction(+ : st)
    for (int64_t j = 0; j < s->kpts; ++j) {
        int64_t k0, k1, k2;
        slab_kidx(s, j, &k0, &k1, &k2);
        const double ek = c * (s->k2[0][k0] + s->k2[1][k1] + s->k2[2][k2]);
        st += ek * qdml_abs2(w[j]);
        w[j] = qdml_cscale(w[j], ek * invn);
    }
    slab_transform(s, w, 0);
    return st;
}

/* Passes 1 and 2 of a member's sums into *r (position moments, maximum, the kinetic sum spectrally), leaving
 * T psi in the work buffer; then r->s1 = sum |T psi + (V - eref) psi|^2, the residual about eref. */
static void local_sums(slab_state *s, int64_t b, double hbar, double mass, double eref, red *r) {
    const int64_t X = s->xpts, P = s->n1 * s->n2, base = (int64_t)s->l0 * P;
    const qdml_c64 *psi = s->psi + b * s->local;
    const double *v = s->v + b * X;
    qdml_c64 *w = s->work;
    memset(r, 0, sizeof *r);
    r->rmax = -1.0;
    r->imax = INT64_MAX;
    double s0 = 0, sv = 0, sx0 = 0, sx1 = 0, sx2 = 0, sxx0 = 0, sxx1 = 0, sxx2 = 0, bad = 0;
#pragma omp parallel num_threads(s->nt) reduction(+ : s0, sv, sx0, sx1, sx2, sxx0, sxx1, sxx2, bad)
    {
        double lmax = -1.0;
        int64_t limax = INT64_MAX;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < X; ++i) {
            const int64_t i0 = i / P, i1 = (i % P) / s->n2, i2 = i % s->n2;
            const double rho = qdml_abs2(psi[i]);
            w[i] = psi[i];
            const double x0 = s->x[0][s->l0 + i0], x1 = s->x[1][i1], x2 = s->x[2][i2];
            s0 += rho;
            sv += v[i] * rho;
            sx0 += x0 * rho;
            sx1 += x1 * rho;
            sx2 += x2 * rho;
            sxx0 += x0 * x0 * rho;
            sxx1 += x1 * x1 * rho;
            sxx2 += x2 * x2 * rho;
            const double key = rho != rho ? INFINITY : rho;
            if (!isfinite(rho)) bad += 1.0;
            if (key > lmax || (key == lmax && base + i < limax)) {
                lmax = key;
                limax = base + i;
            }
        }
#pragma omp critical(qdml_slab_max)
        if (lmax > r->rmax || (lmax == r->rmax && limax < r->imax)) {
            r->rmax = lmax;
            r->imax = limax;
        }
    }
    r->s0 = s0;
    r->sv = sv;
    r->sx[0] = sx0, r->sx[1] = sx1, r->sx[2] = sx2;
    r->sxx[0] = sxx0, r->sxx[1] = sxx1, r->sxx[2] = sxx2;
    r->bad = bad;
    r->st = kinetic_in_work(s, hbar, mass);
    r->s1 = residual_about(s, b, eref);
}

/* sum over this rank's points of |T psi + (V - e) psi|^2, T psi in the work buffer. */
static double residual_about(const slab_state *s, int64_t b, double e) {
    const int64_t X = s->xpts;
    const qdml_c64 *psi = s->psi + b * s->local, *w = s->work;
    const double *v = s->v + b * X;
    double res = 0.0;
#pragma omp parallel for num_threads(s->nt) schedule(static) reduction(+ : res)
    for (int64_t i = 0; i < X; ++i) {
        const double f = v[i] - e;
        const double re = w[i].re + f * psi[i].re, im = w[i].im + f * psi[i].im;
        res += re * re + im * im;
    }
    return res;
}

/* The monitoring sums of the wanted members with ONE MPI_Allreduce: the residual needs the energy, which is
 * known only after the reduction, so each rank sums it about a reference energy eref (the member's energy at
 * the last monitoring point) and the exact identity sum |H psi - E psi|^2 = S1 - (E - eref)^2 sum |psi|^2,
 * S1 = sum |H psi - eref psi|^2, gives it. That subtraction loses accuracy where (E - eref)^2 sum |psi|^2 is
 * not small next to S1; there (a first monitoring point, a large change of energy) the member's residual is
 * summed again directly about E, in a second reduction for those members alone. */
qdml_status slab_moments(qdml_backend_state *bs, const double *hbar, const double *mass, const unsigned char *want,
                         qdml_moments *out) {
    slab_state *s = (slab_state *)bs;
    const int64_t B = s->d.batch;
    red *r = calloc((size_t)B, sizeof *r);
    double *again = calloc((size_t)B, sizeof *again);
    unsigned char *need = calloc((size_t)B, 1);
    qdml_status st = r && again && need ? QDML_OK : qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "moments: cannot allocate");
    if ((st = mpi_agree(s->comm, &s->clk, st, "moments")) != QDML_OK) {
        free(r);
        free(again);
        free(need);
        return st;
    }
    for (int64_t b = 0; b < B; ++b)
        if (!want || want[b]) local_sums(s, b, hbar[b], mass[b], s->eref[b], &r[b]);
    st = reduce_red(s, r, B);
    const double invn = 1.0 / (double)s->d.npoints;
    int redo = 0;
    for (int64_t b = 0; st == QDML_OK && b < B; ++b) {
        if (want && !want[b]) continue;
        qdml_moments *o = &out[b];
        memset(o, 0, sizeof *o);
        o->s0 = r[b].s0;
        o->sv = r[b].sv;
        o->st = r[b].st * invn;
        for (int a = 0; a < 3; ++a) {
            o->sx[internal_axis(s, a)] = r[b].sx[a];
            o->sxx[internal_axis(s, a)] = r[b].sxx[a];
        }
        o->rmax = r[b].rmax == INFINITY && r[b].bad > 0 ? NAN : r[b].rmax;
        o->imax = r[b].imax;
        const double energy = o->s0 > 0 ? (o->st + o->sv) / o->s0 : 0.0, de = energy - s->eref[b];
        const double shift = de * de * o->s0;
        if (isfinite(shift) && isfinite(r[b].s1) && shift <= 0.5 * r[b].s1) {
            o->sres = r[b].s1 - shift > 0 ? r[b].s1 - shift : 0.0;
        } else {
            need[b] = 1; /* summed again below */
            redo = 1;
        }
        if (isfinite(energy)) s->eref[b] = energy;
    }
    if (st == QDML_OK && redo) {
        for (int64_t b = 0; b < B; ++b) {
            if (!need[b]) continue;
            const qdml_moments *o = &out[b];
            /* T psi again in the work buffer (it holds the last member's) */
            memcpy(s->work, s->psi + b * s->local, (size_t)s->xpts * sizeof *s->work);
            (void)kinetic_in_work(s, hbar[b], mass[b]);
            again[b] = residual_about(s, b, o->s0 > 0 ? (o->st + o->sv) / o->s0 : 0.0);
        }
        st = sum_doubles(s, again, B);
        for (int64_t b = 0; st == QDML_OK && b < B; ++b)
            if (need[b]) out[b].sres = again[b];
    }
    for (int64_t b = 0; st == QDML_OK && b < B; ++b) {
        if (want && !want[b]) continue;
        qdml_moments *o = &out[b];
        o->finite = r[b].bad == 0 && isfinite(o->s0) && isfinite(o->sv) && isfinite(o->st) && isfinite(o->sres);
    }
    free(r);
    free(again);
    free(need);
    return mpi_agree(s->comm, &s->clk, st, "moments");
}

qdml_status slab_distance(qdml_backend_state *bs, const unsigned char *mask, double *out) {
    slab_state *s = (slab_state *)bs;
    const int64_t B = s->d.batch, X = s->xpts;
    double *d = qdml_calloc_array((size_t)B, sizeof(double));
    if (!d) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "distance: cannot allocate %lld sums", (long long)B);
    for (int64_t b = 0; b < B; ++b) {
        if (mask && !mask[b]) continue;
        const qdml_c64 *p = s->psi + b * s->local, *q = s->backup + b * s->local;
        double acc = 0.0;
#pragma omp parallel for num_threads(s->nt) schedule(static) reduction(+ : acc)
        for (int64_t i = 0; i < X; ++i) {
            const double re = p[i].re - q[i].re, im = p[i].im - q[i].im;
            acc += re * re + im * im;
        }
        d[b] = acc;
    }
    qdml_status st = sum_doubles(s, d, B);
    for (int64_t b = 0; st == QDML_OK && b < B; ++b)
        if (!mask || mask[b]) out[b] = d[b];
    free(d);
    return mpi_agree(s->comm, &s->clk, st, "distance");
}

qdml_status slab_gram(qdml_backend_state *bs, int64_t count, double *g) {
    slab_state *s = (slab_state *)bs;
    const int64_t X = s->xpts;
    for (int64_t i = 0; i < count; ++i)
        for (int64_t j = 0; j < count; ++j) {
            const qdml_c64 *u = s->psi + i * s->local, *w = s->psi + j * s->local;
            double re = 0.0, im = 0.0;
#pragma omp parallel for num_threads(s->nt) schedule(static) reduction(+ : re, im)
            for (int64_t k = 0; k < X; ++k) {
                re += u[k].re * w[k].re + u[k].im * w[k].im;
                im += u[k].re * w[k].im - u[k].im * w[k].re;
            }
            g[2 * (i * count + j)] = re;
            g[2 * (i * count + j) + 1] = im;
        }
    return mpi_agree(s->comm, &s->clk, sum_doubles(s, g, 2 * count * count), "gram");
}

qdml_status slab_combine(qdml_backend_state *bs, int64_t count, const double *t) {
    slab_state *s = (slab_state *)bs;
    const int64_t X = s->xpts, L = s->local;
    qdml_c64 *psi = s->psi;
    /* Column j of the result takes members i <= j: going down from the last, each reads members not yet
     * replaced. */
#pragma omp parallel for num_threads(s->nt) schedule(static)
    for (int64_t k = 0; k < X; ++k)
        for (int64_t j = count - 1; j >= 0; --j) {
            double re = 0.0, im = 0.0;
            for (int64_t i = 0; i <= j; ++i) {
                const qdml_c64 a = psi[i * L + k];
                const double tr = t[2 * (i * count + j)], ti = t[2 * (i * count + j) + 1];
                re += a.re * tr - a.im * ti;
                im += a.re * ti + a.im * tr;
            }
            psi[j * L + k] = qdml_c64_make(re, im);
        }
    return QDML_OK;
}

qdml_status slab_fill_objective(qdml_backend_state *bs, int64_t b, const qdml_objective *o, int dim,
                                qdml_fill_result *out) {
    slab_state *s = (slab_state *)bs;
    const int64_t X = s->xpts, P = s->n1 * s->n2, base = (int64_t)s->l0 * P;
    double *tmp = (double *)s->work;
    double vmin = INFINITY, vmax = -INFINITY;
    int64_t bad = INT64_MAX;
#pragma omp parallel num_threads(s->nt)
    {
        double lmin = INFINITY, lmax = -INFINITY;
        int64_t lbad = INT64_MAX;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < X; ++i) {
            const int64_t i0 = i / P, i1 = (i % P) / s->n2, i2 = i % s->n2;
            /* the user's axes: x[0 .. dim - 1] */
            double x[3];
            x[0] = s->x[0][s->l0 + i0];
            x[1] = s->x[1][i1];
            x[2] = s->x[2][i2];
            const double f = qdml_objective_value(o, x, dim);
            tmp[i] = f;
            if (isfinite(f)) {
                if (f < lmin) lmin = f;
                if (f > lmax) lmax = f;
            } else if (base + i < lbad) {
                lbad = base + i;
            }
        }
#pragma omp critical(qdml_slab_fill)
        {
            if (lmin < vmin) vmin = lmin;
            if (lmax > vmax) vmax = lmax;
            if (lbad < bad) bad = lbad;
        }
    }
    double mm[2] = {-vmin, vmax};
    long long fb = (long long)bad;
    int rc;
    COMM_TIMED(&s->clk, rc = MPI_Allreduce(MPI_IN_PLACE, mm, 2, MPI_DOUBLE, MPI_MAX, s->comm));
    if (rc == MPI_SUCCESS) COMM_TIMED(&s->clk, rc = MPI_Allreduce(MPI_IN_PLACE, &fb, 1, MPI_LONG_LONG, MPI_MIN, s->comm));
    qdml_status st = rc == MPI_SUCCESS ? QDML_OK : mpi_failed("MPI_Allreduce", rc);
    if ((st = mpi_agree(s->comm, &s->clk, st, "fill_objective")) != QDML_OK) return st;
    out->vmin = -mm[0];
    out->vmax = mm[1];
    out->first_bad = fb == (long long)INT64_MAX ? -1 : (int64_t)fb;
    if (out->first_bad < 0) {
        memcpy(s->v + b * X, tmp, (size_t)X * sizeof(double));
        s->built[b] = 0;
    }
    return QDML_OK;
}

const qdml_backend_ops slab_ops = {
    .name = "slabs",
    .bytes_needed = slab_bytes_needed,
    .destroy = slab_destroy,
    .set_state = slab_set_state,
    .get_state = slab_get_state,
    .set_potential = slab_set_potential,
    .get_potential = slab_get_potential,
    .set_step = slab_set_step,
    .kick = slab_kick,
    .fft = slab_fft,
    .kinetic = slab_kinetic,
    .scale = slab_scale,
    .moments = slab_moments,
    .distance = slab_distance,
    .backup = slab_backup,
    .gram = slab_gram,
    .combine = slab_combine,
    .fill_objective = slab_fill_objective,
    .get_part = slab_get_part,
    .set_part = slab_set_part,
};
