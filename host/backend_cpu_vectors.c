/* The CPU backend's block-vector ops (backend.h): work slots of B members each beside the state
 * (slot 0), the Hamiltonian and the kinetic preconditioner applied to a whole slot through the
 * problem's batched FFTW plans (run on other arrays with fftw_execute_dft: every slot is allocated
 * with the state's alignment and layout), and inner products and linear combinations over lists of
 * vectors (slot, member), the products of the block eigensolver (lobpcg.c). */
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_private.h"

/* Points per block of the list ops: the block of every listed vector stays in the core's cache while
 * each is read against all the others. */
#define VBLOCK 256

static qdml_c64 *slot_ptr(qdml_backend_state *s, int k) { return k == 0 ? s->psi : s->vslot[k - 1]; }

qdml_status qdml_cpu_vectors(qdml_backend_state *s, int n) {
    if (n < 0) return qdml_fail(NULL, QDML_ERR_INTERNAL, "vectors: n = %d is negative", n);
    if (n == s->nvslot) return QDML_OK;
    for (int k = 0; k < s->nvslot; ++k) free(s->vslot[k]);
    free(s->vslot);
    s->vslot = NULL;
    s->nvslot = 0;
    if (n == 0) return QDML_OK;
    s->vslot = calloc((size_t)n, sizeof *s->vslot);
    if (!s->vslot) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "vectors: cannot allocate %d slot pointers", n);
    for (int k = 0; k < n; ++k) {
        size_t bytes = 0;
        s->vslot[k] = qdml_cpu_fft_alloc(s->total, sizeof(qdml_c64), &bytes);
        if (!s->vslot[k]) {
            const int made = k;
            for (int j = 0; j < made; ++j) free(s->vslot[j]);
            free(s->vslot);
            s->vslot = NULL;
            return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY,
                             "vectors: cannot allocate work slot %d of %d (%lld complex values each)", k + 1, n,
                             (long long)s->total);
        }
        memset(s->vslot[k], 0, bytes);
    }
    s->nvslot = n;
    return QDML_OK;
}

void qdml_cpu_vectors_free(qdml_backend_state *s) { (void)qdml_cpu_vectors(s, 0); }

static qdml_status check_slot(const qdml_backend_state *s, int k, const char *op) {
    if (k < 0 || k > s->nvslot)
        return qdml_fail(NULL, QDML_ERR_INTERNAL, "%s: slot %d does not exist (0 .. %d)", op, k, s->nvslot);
    return QDML_OK;
}

/* dst := transform of src multiplied, member b, by f(b, |k|^2) / N, then transformed back. */
typedef enum { MUL_KINETIC, MUL_PRECOND } kmul;

static qdml_status spectral(qdml_backend_state *s, int src, int dst, kmul kind, const double *hbar,
                            const double *mass, const double *shift, const double *vmin, const char *op) {
    qdml_status st;
    if ((st = check_slot(s, src, op)) != QDML_OK || (st = check_slot(s, dst, op)) != QDML_OK) return st;
    if (!s->fwd || !s->bwd) return qdml_fail(NULL, QDML_ERR_BACKEND, "%s: FFTW has no plan for this problem", op);
    qdml_cpu_materialize(s);
    qdml_c64 *in = slot_ptr(s, src), *out = slot_ptr(s, dst);
    const int64_t total = s->total, N = s->d.npoints, n1 = s->d.n[1], n2 = s->d.n[2];
    if (kind == MUL_PRECOND) {
        /* out = D^1/2 in, D = shift / (V - vmin + shift) per point (<= 1, small where V is high) */
        const double *v = s->v;
#pragma omp parallel for num_threads(s->nt) schedule(static)
        for (int64_t i = 0; i < total; ++i) {
            const int64_t b = i / N;
            out[i] = qdml_cscale(in[i], sqrt(shift[b] / (v[i] - vmin[b] + shift[b])));
        }
    } else if (out != in) {
        memcpy(out, in, (size_t)total * sizeof(qdml_c64));
    }
    fftw_execute_dft(s->fwd, (fftw_complex *)out, (fftw_complex *)out);
    const double invn = 1.0 / (double)N;
    const int64_t rows = s->d.batch * s->d.n[0] * n1;
#pragma omp parallel for num_threads(s->nt) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t b = r / (s->d.n[0] * n1), i0 = (r / n1) % s->d.n[0], i1 = r % n1;
        const double c = qdml_kinetic_coefficient(hbar[b], mass[b]);
        const double k01 = s->k2[0][i0] + s->k2[1][i1];
        qdml_c64 *row = out + r * n2;
        for (int64_t i2 = 0; i2 < n2; ++i2) {
            const double ek = c * (k01 + s->k2[2][i2]);
            const double f = kind == MUL_KINETIC ? ek * invn : invn / (ek + shift[b]);
            row[i2] = qdml_cscale(row[i2], f);
        }
    }
    fftw_execute_dft(s->bwd, (fftw_complex *)out, (fftw_complex *)out);
    if (kind == MUL_PRECOND) {
        const double *v = s->v;
#pragma omp parallel for num_threads(s->nt) schedule(static)
        for (int64_t i = 0; i < total; ++i) {
            const int64_t b = i / N;
            out[i] = qdml_cscale(out[i], sqrt(shift[b] / (v[i] - vmin[b] + shift[b])));
        }
    } else {
        const double *v = s->v;
#pragma omp parallel for num_threads(s->nt) schedule(static)
        for (int64_t i = 0; i < total; ++i)
            out[i] = qdml_c64_make(out[i].re + v[i] * in[i].re, out[i].im + v[i] * in[i].im);
    }
    return QDML_OK;
}

qdml_status qdml_cpu_apply_h(qdml_backend_state *s, int src, int dst, const double *hbar, const double *mass) {
    if (src == dst) return qdml_fail(NULL, QDML_ERR_INTERNAL, "apply_h: source and destination are slot %d", src);
    return spectral(s, src, dst, MUL_KINETIC, hbar, mass, NULL, NULL, "apply_h");
}

qdml_status qdml_cpu_precondition(qdml_backend_state *s, int src, int dst, const double *hbar, const double *mass,
                                  const double *shift, const double *vmin) {
    return spectral(s, src, dst, MUL_PRECOND, hbar, mass, shift, vmin, "precondition");
}

static qdml_status check_list(qdml_backend_state *s, int n, const int *slot, const int64_t *mem, const char *op) {
    for (int i = 0; i < n; ++i) {
        qdml_status st = check_slot(s, slot[i], op);
        if (st != QDML_OK) return st;
        if (mem[i] < 0 || mem[i] >= s->d.batch)
            return qdml_fail(NULL, QDML_ERR_INTERNAL, "%s: member %lld out of range", op, (long long)mem[i]);
    }
    return QDML_OK;
}

/* g[i nj + j] = <u_i | w_j>: per-thread partial sums over a static split of the points (the same
 * split every call, reproducible), added in thread order. */
qdml_status qdml_cpu_vdot(qdml_backend_state *s, int ni, const int *uslot, const int64_t *umem, int nj,
                          const int *wslot, const int64_t *wmem, double *g) {
    qdml_status st;
    if ((st = check_list(s, ni, uslot, umem, "vdot")) != QDML_OK ||
        (st = check_list(s, nj, wslot, wmem, "vdot")) != QDML_OK)
        return st;
    qdml_cpu_materialize(s);
    const int64_t N = s->d.npoints;
    const size_t pairs = (size_t)ni * (size_t)nj;
    const int nt = s->nt;
    double *part = calloc((size_t)nt * pairs, 2 * sizeof(double));
    const qdml_c64 **u = malloc((size_t)ni * sizeof *u), **w = malloc((size_t)nj * sizeof *w);
    if (!part || !u || !w) {
        free(part);
        free(u);
        free(w);
        return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "vdot: cannot allocate %d x %zu partial sums", nt, pairs);
    }
    for (int i = 0; i < ni; ++i) u[i] = slot_ptr(s, uslot[i]) + umem[i] * N;
    for (int j = 0; j < nj; ++j) w[j] = slot_ptr(s, wslot[j]) + wmem[j] * N;
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
        int64_t a, e;
        chunk(N, t, omp_get_num_threads(), &a, &e);
        double *acc = part + 2 * (size_t)t * pairs;
        for (int64_t q0 = a; q0 < e; q0 += VBLOCK) {
            const int64_t q1 = q0 + VBLOCK < e ? q0 + VBLOCK : e;
            for (int i = 0; i < ni; ++i)
                for (int j = 0; j < nj; ++j) {
                    const qdml_c64 *x = u[i], *y = w[j];
                    double re = 0.0, im = 0.0;
                    for (int64_t q = q0; q < q1; ++q) {
                        re += x[q].re * y[q].re + x[q].im * y[q].im;
                        im += x[q].re * y[q].im - x[q].im * y[q].re;
                    }
                    acc[2 * ((size_t)i * nj + j)] += re;
                    acc[2 * ((size_t)i * nj + j) + 1] += im;
                }
        }
    }
    for (size_t k = 0; k < 2 * pairs; ++k) {
        double sum = 0.0;
        for (int t = 0; t < nt; ++t) sum += part[2 * (size_t)t * pairs + k];
        g[k] = sum;
    }
    free(part);
    free(u);
    free(w);
    return QDML_OK;
}

/* w_j := sum_i u_i c[i nj + j], block by block: every u's block is copied out before any w's block is
 * written, so a w may be among the u. */
qdml_status qdml_cpu_vcombine(qdml_backend_state *s, int ni, const int *uslot, const int64_t *umem, int nj,
                              const int *wslot, const int64_t *wmem, const double *c) {
    qdml_status st;
    if ((st = check_list(s, ni, uslot, umem, "vcombine")) != QDML_OK ||
        (st = check_list(s, nj, wslot, wmem, "vcombine")) != QDML_OK)
        return st;
    qdml_cpu_materialize(s);
    const int64_t N = s->d.npoints;
    const int nt = s->nt;
    const qdml_c64 **u = malloc((size_t)ni * sizeof *u);
    qdml_c64 **w = malloc((size_t)nj * sizeof *w);
    qdml_c64 *tmp = malloc((size_t)nt * (size_t)ni * VBLOCK * sizeof(qdml_c64));
    if (!u || !w || !tmp) {
        free(u);
        free(w);
        free(tmp);
        return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "vcombine: cannot allocate %d x %d blocks of %d values", nt,
                         ni, VBLOCK);
    }
    for (int i = 0; i < ni; ++i) u[i] = slot_ptr(s, uslot[i]) + umem[i] * N;
    for (int j = 0; j < nj; ++j) w[j] = slot_ptr(s, wslot[j]) + wmem[j] * N;
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
        int64_t a, e;
        chunk(N, t, omp_get_num_threads(), &a, &e);
        qdml_c64 *my = tmp + (size_t)t * (size_t)ni * VBLOCK;
        for (int64_t q0 = a; q0 < e; q0 += VBLOCK) {
            const int64_t len = (q0 + VBLOCK < e ? q0 + VBLOCK : e) - q0;
            for (int i = 0; i < ni; ++i) memcpy(my + (size_t)i * VBLOCK, u[i] + q0, (size_t)len * sizeof(qdml_c64));
            for (int j = 0; j < nj; ++j) {
                qdml_c64 *y = w[j] + q0;
                for (int64_t q = 0; q < len; ++q) y[q] = qdml_c64_make(0.0, 0.0);
                for (int i = 0; i < ni; ++i) {
                    const double cr = c[2 * ((size_t)i * nj + j)], ci = c[2 * ((size_t)i * nj + j) + 1];
                    if (cr == 0.0 && ci == 0.0) continue;
                    const qdml_c64 *x = my + (size_t)i * VBLOCK;
                    for (int64_t q = 0; q < len; ++q)
                        y[q] = qdml_c64_make(y[q].re + x[q].re * cr - x[q].im * ci,
                                             y[q].im + x[q].re * ci + x[q].im * cr);
                }
            }
        }
    }
    free(u);
    free(w);
    free(tmp);
    return QDML_OK;
}

qdml_status qdml_cpu_vset(qdml_backend_state *s, int slot, int64_t member, const double *psi) {
    qdml_status st = check_slot(s, slot, "vset");
    if (st != QDML_OK) return st;
    if (member < 0 || member >= s->d.batch)
        return qdml_fail(NULL, QDML_ERR_INTERNAL, "vset: member %lld out of range", (long long)member);
    qdml_cpu_materialize(s);
    memcpy(slot_ptr(s, slot) + member * s->d.npoints, psi, (size_t)s->d.npoints * sizeof(qdml_c64));
    return QDML_OK;
}
