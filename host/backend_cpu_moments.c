/* The CPU backend's monitoring sums (moments: norm, potential and kinetic energy spectrally, the
 * position moments, the density's maximum, the residual of H psi - E psi) and the distance to the
 * backup, with the per-element loops they run. On the member path each thread takes whole members
 * through the three passes while a member stays in its core's cache; elsewhere each pass goes over
 * the whole batch. */
#include <fftw3.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "cpu_private.h"

/* The loops of the monitoring sums, shared by the plain path's passes over pieces of the whole
 * batch and the member path's passes over one member. idx .. end are flat indices of one row of
 * member b (internal coordinates i0, i1 and i2 at idx). */

/* Pass 1: density moments of the piece into *my (s0, sv, sx, sxx; the first maximum of |psi|^2,
 * a NaN replacing it), and a copy of psi into the work buffer. */
QDML_INLINE void moments_row1(const qdml_backend_state *s, int64_t b, int64_t i0, int64_t i1, int64_t i2, int64_t idx,
                              int64_t end, partial_sums *my) {
    const qdml_c64 *psi = s->psi;
    qdml_c64 *w = s->work;
    const double *v = s->v;
    const int64_t N = s->d.npoints;
    const double x0 = s->x[0][i0], x1 = s->x[1][i1];
    double s0 = 0, sv = 0, sx2 = 0, sxx2 = 0, rmax = my->rmax;
    int64_t imax = my->imax;
    for (; idx < end; ++idx, ++i2) {
        const double rho = qdml_abs2(psi[idx]);
        const double x2 = s->x[2][i2];
        w[idx] = psi[idx];
        s0 += rho;
        sv += v[idx] * rho;
        sx2 += x2 * rho;
        sxx2 += x2 * x2 * rho;
        if (rho > rmax || rho != rho) {
            rmax = rho;
            imax = idx - b * N;
        }
    }
    my->s0 += s0;
    my->sv += sv;
    my->sx[0] += x0 * s0;
    my->sxx[0] += x0 * x0 * s0;
    my->sx[1] += x1 * s0;
    my->sxx[1] += x1 * x1 * s0;
    my->sx[2] += sx2;
    my->sxx[2] += sxx2;
    my->rmax = rmax;
    my->imax = imax;
}

/* Pass 2, on the transformed copy: returns sum ek |w|^2 (ek = c |k|^2, c = hbar^2 / 2m) and leaves
 * w * ek / N, which the inverse transform makes T psi. */
QDML_INLINE double moments_row2(const qdml_backend_state *s, double c, int64_t i0, int64_t i1, int64_t i2, int64_t idx,
                                int64_t end) {
    qdml_c64 *w = s->work;
    const double invn = 1.0 / (double)s->d.npoints;
    const double k01 = s->k2[0][i0] + s->k2[1][i1];
    double st = 0.0;
    for (; idx < end; ++idx, ++i2) {
        const double ek = c * (k01 + s->k2[2][i2]);
        st += ek * qdml_abs2(w[idx]);
        w[idx] = qdml_cscale(w[idx], ek * invn);
    }
    return st;
}

/* Pass 3: sum |T psi + (V - E) psi|^2 over idx .. end (any piece of one member). */
QDML_INLINE double moments_res(const qdml_backend_state *s, double energy, int64_t idx, int64_t end) {
    const qdml_c64 *psi = s->psi, *w = s->work;
    const double *v = s->v;
    double acc = 0.0;
    for (; idx < end; ++idx) {
        const double f = v[idx] - energy;
        const double re = w[idx].re + f * psi[idx].re, im = w[idx].im + f * psi[idx].im;
        acc += re * re + im * im;
    }
    return acc;
}

/* Monitoring sums of member b on the member path: the three passes over this member alone, its
 * transforms made of the member path's plane and column plans run on the work buffer, so that the
 * member and its copy stay in the core's cache from the first pass to the last (on the plain path
 * each pass and each batched transform goes over the whole batch). Sums run over the member's rows
 * in order: equal to the plain path's to rounding. */
static void member_moments(const qdml_backend_state *s, int64_t b, double c, qdml_moments *out) {
    const blocking *q = &s->blk[1];
    const int64_t N = s->d.npoints, n1 = s->d.n[1], n2 = s->d.n[2], rows = s->d.n[0] * n1, base = b * N;
    const int64_t len = q->rb * s->P, pblk = s->nout / q->rb, per_row = n2 / q->w, cblk = s->prow * per_row;
    fftw_complex *z = (fftw_complex *)(s->work + base);
    partial_sums acc;
    memset(&acc, 0, sizeof acc);
    acc.rmax = -1.0;
    acc.imax = -1;
    for (int64_t r = 0; r < rows; ++r) moments_row1(s, b, r / n1, r % n1, 0, base + r * n2, base + (r + 1) * n2, &acc);
    for (int64_t k = 0; k < pblk; ++k) fftw_execute_dft(q->pf, z + k * len, z + k * len);
    for (int64_t k = 0; k < cblk; ++k) {
        fftw_complex *col = z + (k / per_row) * n2 + (k % per_row) * q->w;
        fftw_execute_dft(q->cf, col, col);
    }
    double st = 0.0;
    for (int64_t r = 0; r < rows; ++r) st += moments_row2(s, c, r / n1, r % n1, 0, base + r * n2, base + (r + 1) * n2);
    for (int64_t k = 0; k < cblk; ++k) {
        fftw_complex *col = z + (k / per_row) * n2 + (k % per_row) * q->w;
        fftw_execute_dft(q->cb, col, col);
    }
    for (int64_t k = 0; k < pblk; ++k) fftw_execute_dft(q->pb, z + k * len, z + k * len);
    out->s0 = acc.s0;
    out->sv = acc.sv;
    for (int a = 0; a < 3; ++a) {
        out->sx[a] = acc.sx[a];
        out->sxx[a] = acc.sxx[a];
    }
    out->rmax = acc.rmax;
    out->imax = acc.imax;
    out->st = st / (double)N;
    const double energy = out->s0 > 0 ? (out->st + out->sv) / out->s0 : 0.0;
    out->sres = moments_res(s, energy, base, base + N);
    out->finite = isfinite(out->s0) && isfinite(out->sv) && isfinite(out->st) && isfinite(out->sres);
}

/* The member path's monitoring: each thread takes whole members through the three passes. */
static void members_moments(qdml_backend_state *s, const double *hbar, const double *mass, const unsigned char *want,
                            qdml_moments *out) {
    const int64_t B = s->d.batch;
    int64_t m = 0;
    for (int64_t b = 0; b < B; ++b) {
        memset(&out[b], 0, sizeof out[b]);
        out[b].rmax = -1.0;
        out[b].imax = -1;
        out[b].finite = 1;
        if (!want || want[b]) s->items[m++] = b;
    }
#pragma omp parallel num_threads(s->nt)
    {
        int64_t a, e;
        chunk(m, omp_get_thread_num(), omp_get_num_threads(), &a, &e);
        for (int64_t i = a; i < e; ++i) {
            const int64_t b = s->items[i];
            member_moments(s, b, qdml_kinetic_coefficient(hbar[b], mass[b]), &out[b]);
        }
    }
}

/* The plain path's passes go over the whole batch, each thread over its range of it, with
 * per-thread partial sums added in thread order. Pass 1: density moments, and a copy of psi into
 * the work buffer for H psi. Returns the number of threads that ran it: the later passes add up as
 * many partial sums. */
static int density_pass(qdml_backend_state *s, const unsigned char *want, qdml_moments *out) {
    const int64_t B = s->d.batch;
    const int64_t n1 = s->d.n[1], n2 = s->d.n[2];
    const int64_t rpm = s->d.n[0] * n1;
    partial_sums *part = s->part;
    int used = 1;
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#pragma omp single
        used = nt;
        partial_sums *my = part + (size_t)t * B;
        for (int64_t b = 0; b < B; ++b) {
            memset(&my[b], 0, sizeof my[b]);
            my[b].rmax = -1.0;
            my[b].imax = -1;
        }
        int64_t a, e;
        chunk(s->total, t, nt, &a, &e);
        for (int64_t idx = a; idx < e;) {
            const int64_t row = idx / n2;
            const int64_t rend = (row + 1) * n2 < e ? (row + 1) * n2 : e;
            const int64_t b = row / rpm, r = row - b * rpm;
            if (!want || want[b]) moments_row1(s, b, r / n1, r % n1, idx - row * n2, idx, rend, &my[b]);
            idx = rend;
        }
    }
    for (int64_t b = 0; b < B; ++b) {
        qdml_moments m;
        memset(&m, 0, sizeof m);
        m.rmax = -1.0;
        m.imax = -1;
        for (int t = 0; t < used; ++t) {
            const partial_sums *p = part + (size_t)t * B + b;
            m.s0 += p->s0;
            m.sv += p->sv;
            for (int a = 0; a < 3; ++a) {
                m.sx[a] += p->sx[a];
                m.sxx[a] += p->sxx[a];
            }
            /* Ties go to the lowest index: threads cover increasing ranges. */
            if (p->imax >= 0 && (p->rmax > m.rmax || p->rmax != p->rmax)) {
                m.rmax = p->rmax;
                m.imax = p->imax;
            }
        }
        out[b] = m;
    }
    return used;
}

/* Pass 2: kinetic energy spectrally; work becomes T psi after the inverse transform. */
static void kinetic_pass(qdml_backend_state *s, const double *hbar, const double *mass, const unsigned char *want,
                         int used, qdml_moments *out) {
    const int64_t N = s->d.npoints, B = s->d.batch;
    const int64_t n1 = s->d.n[1], n2 = s->d.n[2];
    const int64_t rpm = s->d.n[0] * n1;
    const double invn = 1.0 / (double)N;
    qdml_c64 *w = s->work;
    partial_sums *part = s->part;
    memset(part, 0, (size_t)s->d.nthreads * (size_t)B * sizeof *part);
    fftw_execute_dft(s->fwd, (fftw_complex *)w, (fftw_complex *)w);
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        partial_sums *my = part + (size_t)t * B;
        for (int64_t b = 0; b < B; ++b) my[b].st = 0.0;
        int64_t a, e;
        chunk(s->total, t, nt, &a, &e);
        for (int64_t idx = a; idx < e;) {
            const int64_t row = idx / n2;
            const int64_t rend = (row + 1) * n2 < e ? (row + 1) * n2 : e;
            const int64_t b = row / rpm, r = row - b * rpm;
            if (!want || want[b])
                my[b].st += moments_row2(s, qdml_kinetic_coefficient(hbar[b], mass[b]), r / n1, r % n1, idx - row * n2,
                                         idx, rend);
            idx = rend;
        }
    }
    for (int64_t b = 0; b < B; ++b) {
        double st = 0.0;
        for (int t = 0; t < used; ++t) st += part[(size_t)t * B + b].st;
        out[b].st = st * invn;
    }
    fftw_execute_dft(s->bwd, (fftw_complex *)w, (fftw_complex *)w);
}

/* Pass 3: residual || T psi + V psi - E psi ||^2. */
static void residual_pass(qdml_backend_state *s, const unsigned char *want, int used, qdml_moments *out) {
    const int64_t N = s->d.npoints, B = s->d.batch;
    partial_sums *part = s->part;
    memset(part, 0, (size_t)s->d.nthreads * (size_t)B * sizeof *part);
    double *energy = s->norm_part; /* B doubles of scratch (nthreads * B available) */
    for (int64_t b = 0; b < B; ++b) energy[b] = out[b].s0 > 0 ? (out[b].st + out[b].sv) / out[b].s0 : 0.0;
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        partial_sums *my = part + (size_t)t * B;
        for (int64_t b = 0; b < B; ++b) my[b].sres = 0.0;
        int64_t a, e;
        chunk(s->total, t, nt, &a, &e);
        for (int64_t idx = a, end, b; idx < e; idx = end) {
            end = member_piece(idx, e, N, &b);
            if (!want || want[b]) my[b].sres += moments_res(s, energy[b], idx, end);
        }
    }
    for (int64_t b = 0; b < B; ++b) {
        double sres = 0.0;
        for (int t = 0; t < used; ++t) sres += part[(size_t)t * B + b].sres;
        out[b].sres = sres;
        out[b].finite = isfinite(out[b].s0) && isfinite(out[b].sv) && isfinite(out[b].st) && isfinite(sres);
    }
}

qdml_status qdml_cpu_moments(qdml_backend_state *s, const double *hbar, const double *mass, const unsigned char *want,
                             qdml_moments *out) {
    qdml_cpu_materialize(s);
    if (s->path == PATH_MEMBERS) {
        members_moments(s, hbar, mass, want, out);
        return QDML_OK;
    }
    const int used = density_pass(s, want, out);
    kinetic_pass(s, hbar, mass, want, used, out);
    residual_pass(s, want, used, out);
    return QDML_OK;
}

qdml_status qdml_cpu_distance(qdml_backend_state *s, const unsigned char *mask, double *out) {
    qdml_cpu_materialize(s);
    const int64_t N = s->d.npoints;
    for (int64_t b = 0; b < s->d.batch; ++b) {
        if (mask && !mask[b]) continue;
        const qdml_c64 *x = s->psi + b * N, *y = s->backup + b * N;
        double acc = 0.0;
#pragma omp parallel for num_threads(s->nt) schedule(static) reduction(+ : acc)
        for (int64_t i = 0; i < N; ++i) {
            const double re = x[i].re - y[i].re, im = x[i].im - y[i].im;
            acc += re * re + im * im;
        }
        out[b] = acc;
    }
    return QDML_OK;
}
