/* CPU backend: FFTW (batched, threaded through OpenMP) and OpenMP loops around the per-element
 * math of kernels/pointwise.h. The reference every other backend is compared with. */
#include <assert.h>
#include <fftw3.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "internal.h"
#include "pointwise.h"

/* Per-thread, per-member partial sums of the monitoring passes. Padded to a cache line multiple
 * so threads do not share lines. */
typedef struct partial_sums {
    double s0, sv, st, sres;
    double sx[3], sxx[3];
    double rmax;
    int64_t imax;
    double pad[3];
} partial_sums;

struct qdml_backend_state {
    qdml_backend_desc d;
    int nt;              /* threads used for loops and FFTs: 1 for small problems, else d.nthreads */
    int64_t total;       /* B * N */
    int64_t ksum;        /* n0 + n1 + n2: length of one member's kinetic table */
    qdml_c64 *psi, *work, *backup, *evh, *evf, *ktab;
    double *v;
    double *x[3];        /* coordinates per internal axis */
    double *k2[3];       /* k^2 per internal axis (FFT order) */
    partial_sums *part;  /* nthreads * B */
    unsigned char *flush; /* per member: flush tiny amplitudes (qdml_step_params.flush_tiny) */
    double *norm_part;   /* nthreads * B */
    fftw_plan fwd, bwd;
};

static pthread_once_t fftw_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t fftw_plan_lock = PTHREAD_MUTEX_INITIALIZER;
static int fftw_threads_ok = 0;

static void fftw_global_init(void) {
    fftw_threads_ok = fftw_init_threads();
    /* Planning from several contexts at once must not corrupt FFTW's planner state. */
    fftw_make_planner_thread_safe();
}

static void chunk(int64_t total, int t, int nt, int64_t *a, int64_t *e) {
    /* Split as q*nt + r without overflowing total * t. */
    const int64_t q = total / nt, r = total % nt;
    *a = q * t + (t < r ? t : r);
    *e = *a + q + (t < r ? 1 : 0);
}

static void cpu_destroy(qdml_backend_state *s) {
    if (!s) return;
    pthread_mutex_lock(&fftw_plan_lock);
    if (s->fwd) fftw_destroy_plan(s->fwd);
    if (s->bwd) fftw_destroy_plan(s->bwd);
    pthread_mutex_unlock(&fftw_plan_lock);
    fftw_free(s->psi);
    fftw_free(s->work);
    fftw_free(s->backup);
    fftw_free(s->evh);
    fftw_free(s->evf);
    free(s->ktab);
    fftw_free(s->v);
    for (int a = 0; a < 3; ++a) {
        free(s->x[a]);
        free(s->k2[a]);
    }
    free(s->part);
    free(s->norm_part);
    free(s->flush);
    free(s);
}

static void *fft_alloc(int64_t count, size_t elem, size_t *bytes_out) {
    size_t bytes;
    if (count < 0 || !qdml_mul_size((size_t)count, elem, &bytes)) return NULL;
    *bytes_out = bytes;
    return fftw_malloc(bytes ? bytes : 1);
}

static qdml_status cpu_bytes_needed(const qdml_backend_desc *desc, size_t *bytes) {
    int64_t total, per;
    if (desc->precision != QDML_FLOAT64) return QDML_ERR_UNAVAILABLE;
    /* psi, work, backup, evh, evf (complex) and V (real): 88 bytes per point and member, plus
     * the per-axis tables and coordinates. FFTW's in-place plans need no separate work area. */
    if (!qdml_mul_i64(desc->npoints, desc->batch, &total) || !qdml_mul_i64(total, 5 * 16 + 8, &per)) return QDML_ERR_OVERFLOW;
    const int64_t ksum = desc->n[0] + desc->n[1] + desc->n[2];
    *bytes = (size_t)per + (size_t)ksum * (size_t)desc->batch * 16u + (size_t)ksum * 16u;
    return QDML_OK;
}

static qdml_status cpu_create(const qdml_backend_desc *desc, qdml_backend_state **out, char *err, size_t errlen) {
    pthread_once(&fftw_once, fftw_global_init);
    if (!fftw_threads_ok) {
        snprintf(err, errlen, "FFTW threads could not be initialised (fftw_init_threads failed)");
        return QDML_ERR_BACKEND;
    }
    if (desc->precision != QDML_FLOAT64) {
        snprintf(err, errlen, "float32 is offered by the cuda backend only; the cpu backend computes in float64");
        return QDML_ERR_UNAVAILABLE;
    }
    qdml_backend_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "cannot allocate the CPU backend state");
        return QDML_ERR_OUT_OF_MEMORY;
    }
    s->d = *desc;
    if (!qdml_mul_i64(desc->npoints, desc->batch, &s->total)) {
        cpu_destroy(s);
        snprintf(err, errlen, "points (%lld) x batch (%lld) overflows", (long long)desc->npoints,
                 (long long)desc->batch);
        return QDML_ERR_OVERFLOW;
    }
    s->ksum = desc->n[0] + desc->n[1] + desc->n[2];
    /* Below ~2^15 points a pass takes microseconds, less than waking and joining a thread team
     * (far less on a loaded machine, where a spinning team can cost 10-50x). */
    s->nt = s->total < 32768 ? 1 : desc->nthreads;
    size_t bytes = 0, total_bytes = 0;
    qdml_c64 **cbufs[] = {&s->psi, &s->work, &s->backup, &s->evh, &s->evf};
    for (size_t i = 0; i < sizeof cbufs / sizeof cbufs[0]; ++i) {
        *cbufs[i] = fft_alloc(s->total, sizeof(qdml_c64), &bytes);
        total_bytes += bytes;
        if (!*cbufs[i]) {
            cpu_destroy(s);
            snprintf(err, errlen, "cannot allocate %zu bytes for the state buffers (%lld points x %lld members)",
                     bytes, (long long)desc->npoints, (long long)desc->batch);
            return QDML_ERR_OUT_OF_MEMORY;
        }
    }
    s->v = fft_alloc(s->total, sizeof(double), &bytes);
    int64_t ktotal = 0;
    int ok = s->v && qdml_mul_i64(s->ksum, desc->batch, &ktotal);
    if (ok) s->ktab = qdml_calloc_array((size_t)ktotal, sizeof(qdml_c64));
    size_t nparts = (size_t)desc->nthreads * (size_t)desc->batch;
    if (ok && s->ktab) {
        s->part = qdml_calloc_array(nparts, sizeof(partial_sums));
        s->norm_part = qdml_calloc_array(nparts, sizeof(double));
        s->flush = qdml_calloc_array((size_t)desc->batch, 1);
    }
    for (int a = 0; a < 3 && ok; ++a) {
        s->x[a] = qdml_calloc_array((size_t)desc->n[a], sizeof(double));
        s->k2[a] = qdml_calloc_array((size_t)desc->n[a], sizeof(double));
        ok = s->x[a] && s->k2[a];
    }
    if (!ok || !s->ktab || !s->part || !s->norm_part || !s->flush) {
        cpu_destroy(s);
        snprintf(err, errlen, "cannot allocate the potential and table buffers (%lld points x %lld members)",
                 (long long)desc->npoints, (long long)desc->batch);
        return QDML_ERR_OUT_OF_MEMORY;
    }
    for (int a = 0; a < 3; ++a)
        for (int64_t j = 0; j < desc->n[a]; ++j) {
            s->x[a][j] = desc->lo[a] + (double)j * desc->length[a] / (double)desc->n[a];
            double k = qdml_wavenumber(j, desc->n[a], desc->length[a]);
            s->k2[a][j] = k * k;
        }
    /* Kinetic tables start as the identity so an unset member is harmless. */
    for (int64_t i = 0; i < ktotal; ++i) s->ktab[i] = qdml_c64_make(1.0, 0.0);

    unsigned flags = desc->effort == QDML_FFT_ESTIMATE  ? FFTW_ESTIMATE
                     : desc->effort == QDML_FFT_PATIENT ? FFTW_PATIENT
                                                        : FFTW_MEASURE;
    int n[3];
    for (int a = 0; a < 3; ++a) {
        if (desc->n[a] > 0x7fffffff) {
            cpu_destroy(s);
            snprintf(err, errlen, "axis size %lld exceeds FFTW's int range", (long long)desc->n[a]);
            return QDML_ERR_OVERFLOW;
        }
        n[a] = (int)desc->n[a];
    }
    if (desc->batch > 0x7fffffff || desc->npoints > 0x7fffffff) {
        cpu_destroy(s);
        snprintf(err, errlen, "batch (%lld) or points per member (%lld) exceed FFTW's int range",
                 (long long)desc->batch, (long long)desc->npoints);
        return QDML_ERR_OVERFLOW;
    }
    pthread_mutex_lock(&fftw_plan_lock);
    fftw_plan_with_nthreads(s->nt);
    fftw_complex *buf = (fftw_complex *)s->psi;
    s->fwd = fftw_plan_many_dft(3, n, (int)desc->batch, buf, NULL, 1, (int)desc->npoints, buf, NULL, 1,
                                (int)desc->npoints, FFTW_FORWARD, flags);
    s->bwd = fftw_plan_many_dft(3, n, (int)desc->batch, buf, NULL, 1, (int)desc->npoints, buf, NULL, 1,
                                (int)desc->npoints, FFTW_BACKWARD, flags);
    pthread_mutex_unlock(&fftw_plan_lock);
    if (!s->fwd || !s->bwd) {
        cpu_destroy(s);
        snprintf(err, errlen, "FFTW could not plan a batched transform of %d x %d x %d points, batch %lld", n[0], n[1],
                 n[2], (long long)desc->batch);
        return QDML_ERR_BACKEND;
    }
    /* Planning with FFTW_MEASURE overwrites the buffer. */
    memset(s->psi, 0, (size_t)s->total * sizeof(qdml_c64));
    *out = s;
    return QDML_OK;
}

static qdml_status cpu_set_state(qdml_backend_state *s, int64_t b, const double *psi) {
    memcpy(s->psi + b * s->d.npoints, psi, (size_t)s->d.npoints * sizeof(qdml_c64));
    return QDML_OK;
}

static qdml_status cpu_get_state(qdml_backend_state *s, int64_t b, double *psi) {
    memcpy(psi, s->psi + b * s->d.npoints, (size_t)s->d.npoints * sizeof(qdml_c64));
    return QDML_OK;
}

static qdml_status cpu_set_potential(qdml_backend_state *s, int64_t b, const double *v) {
    memcpy(s->v + b * s->d.npoints, v, (size_t)s->d.npoints * sizeof(double));
    return QDML_OK;
}

static qdml_status cpu_get_potential(qdml_backend_state *s, int64_t b, double *v) {
    memcpy(v, s->v + b * s->d.npoints, (size_t)s->d.npoints * sizeof(double));
    return QDML_OK;
}

static qdml_status cpu_set_step(qdml_backend_state *s, int64_t b, const qdml_step_params *p) {
    const int64_t N = s->d.npoints;
    const double *v = s->v + b * N;
    qdml_c64 *evh = s->evh + b * N, *evf = s->evf + b * N;
    const double c = p->dt / (2.0 * p->hbar);
    const int imag = p->imaginary;
    const double shift = p->vshift;
#pragma omp parallel for num_threads(s->nt) schedule(static)
    for (int64_t i = 0; i < N; ++i) {
        const qdml_c64 h = qdml_propagator(imag, (v[i] - shift) * c);
        evh[i] = h;
        evf[i] = qdml_cmul(h, h);
    }
    s->flush[b] = (unsigned char)(p->flush_tiny != 0);
    qdml_c64 *kt = s->ktab + b * s->ksum;
    for (int a = 0; a < 3; ++a) {
        for (int64_t j = 0; j < s->d.n[a]; ++j) {
            /* theta = (hbar^2 k^2 / 2m) dt / hbar */
            kt[j] = p->potential_only ? qdml_c64_make(1.0, 0.0)
                                      : qdml_propagator(imag, p->hbar * s->k2[a][j] * p->dt / (2.0 * p->mass));
        }
        kt += s->d.n[a];
    }
    return QDML_OK;
}

static qdml_status cpu_kick(qdml_backend_state *s, int full, const unsigned char *active, double *norms) {
    const int64_t N = s->d.npoints, B = s->d.batch, total = s->total;
    const qdml_c64 *f = full ? s->evf : s->evh;
    qdml_c64 *psi = s->psi;
    double *np = s->norm_part;
    int used = 1;
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#pragma omp single
        used = nt;
        int64_t a, e;
        chunk(total, t, nt, &a, &e);
        if (norms)
            for (int64_t b = 0; b < B; ++b) np[(size_t)t * B + b] = 0.0;
        for (int64_t idx = a; idx < e;) {
            const int64_t b = idx / N;
            const int64_t end = (b + 1) * N < e ? (b + 1) * N : e;
            if (active && !active[b]) {
                idx = end;
                continue;
            }
            if (norms) {
                double acc = 0.0;
                if (s->flush[b])
                    for (int64_t i = idx; i < end; ++i) {
                        psi[i] = qdml_flush_tiny(qdml_cmul(psi[i], f[i]));
                        acc += qdml_abs2(psi[i]);
                    }
                else
                    for (int64_t i = idx; i < end; ++i) {
                        psi[i] = qdml_cmul(psi[i], f[i]);
                        acc += qdml_abs2(psi[i]);
                    }
                np[(size_t)t * B + b] += acc;
            } else if (s->flush[b]) {
                for (int64_t i = idx; i < end; ++i) psi[i] = qdml_flush_tiny(qdml_cmul(psi[i], f[i]));
            } else {
                for (int64_t i = idx; i < end; ++i) psi[i] = qdml_cmul(psi[i], f[i]);
            }
            idx = end;
        }
    }
    if (norms)
        for (int64_t b = 0; b < B; ++b) {
            double acc = 0.0;
            for (int t = 0; t < used; ++t) acc += np[(size_t)t * B + b];
            norms[b] = acc;
        }
    return QDML_OK;
}

static qdml_status cpu_fft(qdml_backend_state *s, int forward) {
    fftw_execute(forward ? s->fwd : s->bwd);
    return QDML_OK;
}

static qdml_status cpu_kinetic(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    const int64_t n0 = s->d.n[0], n1 = s->d.n[1], n2 = s->d.n[2];
    const int64_t rows_per_member = n0 * n1;
    const double invn = 1.0 / (double)s->d.npoints;
    qdml_c64 *psi = s->psi;
#pragma omp parallel num_threads(s->nt)
    {
        int64_t a, e;
        chunk(s->total, omp_get_thread_num(), omp_get_num_threads(), &a, &e);
        for (int64_t idx = a; idx < e;) {
            const int64_t row = idx / n2;
            int64_t i2 = idx - row * n2;
            const int64_t rend = (row + 1) * n2 < e ? (row + 1) * n2 : e;
            const int64_t b = row / rows_per_member;
            const int64_t r = row - b * rows_per_member;
            const int64_t i0 = r / n1, i1 = r - (r / n1) * n1;
            if (active && !active[b]) {
                for (; idx < rend; ++idx) psi[idx] = qdml_cscale(psi[idx], invn);
                continue;
            }
            const qdml_c64 *kt = s->ktab + b * s->ksum;
            const qdml_c64 *t2 = kt + n0 + n1;
            const qdml_c64 rf = qdml_cscale(qdml_cmul(kt[i0], kt[n0 + i1]), scale[b] * invn);
            if (s->flush[b])
                for (; idx < rend; ++idx, ++i2) psi[idx] = qdml_flush_tiny(qdml_cmul(psi[idx], qdml_cmul(rf, t2[i2])));
            else
                for (; idx < rend; ++idx, ++i2) psi[idx] = qdml_cmul(psi[idx], qdml_cmul(rf, t2[i2]));
        }
    }
    return QDML_OK;
}

static qdml_status cpu_scale(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    const int64_t N = s->d.npoints, B = s->d.batch;
    for (int64_t b = 0; b < B; ++b) {
        if (active && !active[b]) continue;
        qdml_c64 *psi = s->psi + b * N;
        const double c = scale[b];
#pragma omp parallel for num_threads(s->nt) schedule(static)
        for (int64_t i = 0; i < N; ++i) psi[i] = qdml_cscale(psi[i], c);
    }
    return QDML_OK;
}

static qdml_status cpu_moments(qdml_backend_state *s, const double *hbar, const double *mass, const unsigned char *want,
                               qdml_moments *out) {
    const int64_t N = s->d.npoints, B = s->d.batch;
    const int64_t n0 = s->d.n[0], n1 = s->d.n[1], n2 = s->d.n[2];
    const int64_t rpm = n0 * n1;
    const double invn = 1.0 / (double)N;
    const qdml_c64 *psi = s->psi;
    qdml_c64 *w = s->work;
    const double *v = s->v;
    partial_sums *part = s->part;
    int used = 1;
    /* Pass 1: density moments, and a copy of psi into the work buffer for H psi. */
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
            int64_t i2 = idx - row * n2;
            const int64_t rend = (row + 1) * n2 < e ? (row + 1) * n2 : e;
            const int64_t b = row / rpm, r = row - b * rpm;
            const int64_t i0 = r / n1, i1 = r - (r / n1) * n1;
            if (want && !want[b]) {
                idx = rend;
                continue;
            }
            const double x0 = s->x[0][i0], x1 = s->x[1][i1];
            double s0 = 0, sv = 0, sx2 = 0, sxx2 = 0, rmax = my[b].rmax;
            int64_t imax = my[b].imax;
            for (; idx < rend; ++idx, ++i2) {
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
            my[b].s0 += s0;
            my[b].sv += sv;
            my[b].sx[0] += x0 * s0;
            my[b].sxx[0] += x0 * x0 * s0;
            my[b].sx[1] += x1 * s0;
            my[b].sxx[1] += x1 * x1 * s0;
            my[b].sx[2] += sx2;
            my[b].sxx[2] += sxx2;
            my[b].rmax = rmax;
            my[b].imax = imax;
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
    /* Pass 2: kinetic energy spectrally; work becomes T psi after the inverse transform. */
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
            int64_t i2 = idx - row * n2;
            const int64_t rend = (row + 1) * n2 < e ? (row + 1) * n2 : e;
            const int64_t b = row / rpm, r = row - b * rpm;
            const int64_t i0 = r / n1, i1 = r - (r / n1) * n1;
            if (want && !want[b]) {
                idx = rend;
                continue;
            }
            const double c = hbar[b] * hbar[b] / (2.0 * mass[b]);
            const double k01 = s->k2[0][i0] + s->k2[1][i1];
            double st = 0.0;
            for (; idx < rend; ++idx, ++i2) {
                const double ek = c * (k01 + s->k2[2][i2]);
                st += ek * qdml_abs2(w[idx]);
                w[idx] = qdml_cscale(w[idx], ek * invn);
            }
            my[b].st += st;
        }
    }
    for (int64_t b = 0; b < B; ++b) {
        double st = 0.0;
        for (int t = 0; t < used; ++t) st += part[(size_t)t * B + b].st;
        out[b].st = st * invn;
    }
    fftw_execute_dft(s->bwd, (fftw_complex *)w, (fftw_complex *)w);
    /* Pass 3: residual || T psi + V psi - E psi ||^2. */
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
        for (int64_t idx = a; idx < e;) {
            const int64_t b = idx / N;
            const int64_t end = (b + 1) * N < e ? (b + 1) * N : e;
            if (want && !want[b]) {
                idx = end;
                continue;
            }
            const double eb = energy[b];
            double acc = 0.0;
            for (; idx < end; ++idx) {
                const double f = v[idx] - eb;
                const double re = w[idx].re + f * psi[idx].re, im = w[idx].im + f * psi[idx].im;
                acc += re * re + im * im;
            }
            my[b].sres += acc;
        }
    }
    for (int64_t b = 0; b < B; ++b) {
        double sres = 0.0;
        for (int t = 0; t < used; ++t) sres += part[(size_t)t * B + b].sres;
        out[b].sres = sres;
        out[b].finite = isfinite(out[b].s0) && isfinite(out[b].sv) && isfinite(out[b].st) && isfinite(sres);
    }
    return QDML_OK;
}

static qdml_status cpu_distance(qdml_backend_state *s, const unsigned char *mask, double *out) {
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

static qdml_status cpu_backup(qdml_backend_state *s, int restore, const unsigned char *mask) {
    const int64_t N = s->d.npoints;
    for (int64_t b = 0; b < s->d.batch; ++b) {
        if (mask && !mask[b]) continue;
        qdml_c64 *src = restore ? s->backup + b * N : s->psi + b * N;
        qdml_c64 *dst = restore ? s->psi + b * N : s->backup + b * N;
        memcpy(dst, src, (size_t)N * sizeof(qdml_c64));
    }
    return QDML_OK;
}

/* FFTW and OpenMP report no errors once a plan exists; create() writes its own message. */
static const char *cpu_last_error(const qdml_backend_state *s) {
    (void)s;
    return "";
}

const qdml_backend_ops qdml_backend_cpu_ops = {
    .name = "cpu",
    .bytes_needed = cpu_bytes_needed,
    .create = cpu_create,
    .destroy = cpu_destroy,
    .set_state = cpu_set_state,
    .get_state = cpu_get_state,
    .set_potential = cpu_set_potential,
    .get_potential = cpu_get_potential,
    .set_step = cpu_set_step,
    .kick = cpu_kick,
    .fft = cpu_fft,
    .kinetic = cpu_kinetic,
    .scale = cpu_scale,
    .moments = cpu_moments,
    .distance = cpu_distance,
    .backup = cpu_backup,
    .last_error = cpu_last_error,
};
