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
    for (int k = 0; k < s->nvslot; ++k)
        free(s->vslot[k]);
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
            for (int j = 0; j < made; ++j)
                free(s->vslot[j]);
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

/* The weights D^1/2, D = shift / (V - vmin + shift) at each point (<= 1, small where V is high), of
 * every member, made where the member's shift, minimum or potential changed since they were made. */
static qdml_status weights(qdml_backend_state *s, const double *shift, const double *vmin) {
    const int64_t N = s->d.npoints, B = s->d.batch;
    if (!s->pweight) {
        s->pweight = qdml_calloc_array((size_t)s->total, sizeof(double));
        s->pw_shift = qdml_calloc_array((size_t)B, sizeof(double));
        s->pw_vmin = qdml_calloc_array((size_t)B, sizeof(double));
        s->pw_ok = qdml_calloc_array((size_t)B, 1);
        if (!s->pweight || !s->pw_shift || !s->pw_vmin || !s->pw_ok) {
            free(s->pweight);
            free(s->pw_shift);
            free(s->pw_vmin);
            free(s->pw_ok);
            s->pweight = s->pw_shift = s->pw_vmin = NULL;
            s->pw_ok = NULL;
            return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "precondition: cannot allocate %lld weights",
                             (long long)s->total);
        }
    }
    for (int64_t b = 0; b < B; ++b) {
        if (s->pw_ok[b] && s->pw_shift[b] == shift[b] && s->pw_vmin[b] == vmin[b]) continue;
        const double *v = s->v + b * N;
        double *w = s->pweight + b * N;
        const double sh = shift[b], vm = vmin[b];
#pragma omp parallel for num_threads(s->nt) schedule(static)
        for (int64_t i = 0; i < N; ++i) w[i] = sqrt(sh / (v[i] - vm + sh));
        s->pw_shift[b] = sh;
        s->pw_vmin[b] = vm;
        s->pw_ok[b] = 1;
    }
    return QDML_OK;
}

/* out = D^1/2 in (weights() made first). */
static void weigh(const qdml_backend_state *s, const qdml_c64 *in, qdml_c64 *out) {
    const double *w = s->pweight;
#pragma omp parallel for num_threads(s->nt) schedule(static)
    for (int64_t i = 0; i < s->total; ++i) out[i] = qdml_cscale(in[i], w[i]);
}

static qdml_status spectral(qdml_backend_state *s, int src, int dst, kmul kind, const double *hbar, const double *mass,
                            const double *shift, const double *vmin, const char *op) {
    qdml_status st;
    if ((st = check_slot(s, src, op)) != QDML_OK || (st = check_slot(s, dst, op)) != QDML_OK) return st;
    if (!s->fwd || !s->bwd) return qdml_fail(NULL, QDML_ERR_BACKEND, "%s: FFTW has no plan for this problem", op);
    qdml_cpu_materialize(s);
    qdml_c64 *in = slot_ptr(s, src), *out = slot_ptr(s, dst);
    const int64_t total = s->total, N = s->d.npoints, n1 = s->d.n[1], n2 = s->d.n[2];
    if (kind == MUL_PRECOND) {
        if ((st = weights(s, shift, vmin)) != QDML_OK) return st;
        weigh(s, in, out);
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
        weigh(s, out, out);
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

/* acc[(i, j)] += <x_i | y_j> over len points for i < ni (1 or 2) and j < nj (1 or 2): every x and y
 * loaded once for the ni nj products (the dot products are bound by loads, not arithmetic). */
/* Compiled twice, for processors with AVX2 and for the rest, the one to run chosen when the
 * library loads (GCC's target_clones; elsewhere one plain version). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define QDML_VECTOR_CLONES __attribute__((target_clones("avx2", "default"), noinline))
#else
#define QDML_VECTOR_CLONES
#endif

QDML_VECTOR_CLONES static void dot_block(const double *x0, const double *x1, const double *y0, const double *y1,
                                         int64_t len, int ni, int nj, double *acc, int stride) {
    double r00 = 0, i00 = 0, r01 = 0, i01 = 0, r10 = 0, i10 = 0, r11 = 0, i11 = 0;
    if (ni == 2 && nj == 2) {
#pragma omp simd reduction(+ : r00, i00, r01, i01, r10, i10, r11, i11)
        for (int64_t q = 0; q < len; ++q) {
            const double ar = x0[2 * q], ai = x0[2 * q + 1], br = x1[2 * q], bi = x1[2 * q + 1];
            const double cr = y0[2 * q], ci = y0[2 * q + 1], dr = y1[2 * q], di = y1[2 * q + 1];
            r00 += ar * cr + ai * ci;
            i00 += ar * ci - ai * cr;
            r01 += ar * dr + ai * di;
            i01 += ar * di - ai * dr;
            r10 += br * cr + bi * ci;
            i10 += br * ci - bi * cr;
            r11 += br * dr + bi * di;
            i11 += br * di - bi * dr;
        }
    } else {
        /* the edges: one x against one or two y, or two x against one y (swapped through the pointers) */
        for (int i = 0; i < ni; ++i) {
            const double *x = i == 0 ? x0 : x1;
            double ra = 0, ia = 0, rb = 0, ib = 0;
            if (nj == 2) {
#pragma omp simd reduction(+ : ra, ia, rb, ib)
                for (int64_t q = 0; q < len; ++q) {
                    const double ar = x[2 * q], ai = x[2 * q + 1];
                    ra += ar * y0[2 * q] + ai * y0[2 * q + 1];
                    ia += ar * y0[2 * q + 1] - ai * y0[2 * q];
                    rb += ar * y1[2 * q] + ai * y1[2 * q + 1];
                    ib += ar * y1[2 * q + 1] - ai * y1[2 * q];
                }
            } else {
#pragma omp simd reduction(+ : ra, ia)
                for (int64_t q = 0; q < len; ++q) {
                    const double ar = x[2 * q], ai = x[2 * q + 1];
                    ra += ar * y0[2 * q] + ai * y0[2 * q + 1];
                    ia += ar * y0[2 * q + 1] - ai * y0[2 * q];
                }
            }
            if (i == 0)
                r00 = ra, i00 = ia, r01 = rb, i01 = ib;
            else
                r10 = ra, i10 = ia, r11 = rb, i11 = ib;
        }
    }
    acc[0] += r00;
    acc[1] += i00;
    if (nj == 2) acc[2] += r01, acc[3] += i01;
    if (ni == 2) {
        acc[2 * stride] += r10;
        acc[2 * stride + 1] += i10;
        if (nj == 2) acc[2 * stride + 2] += r11, acc[2 * stride + 3] += i11;
    }
}

/* g[i nj + j] = <u_i | w_j>: per-thread partial sums over a static split of the points (the same
 * split every call, reproducible), added in thread order. */
qdml_status qdml_cpu_vdot(qdml_backend_state *s, int ni, const int *uslot, const int64_t *umem, int nj,
                          const int *wslot, const int64_t *wmem, int hermitian, double *g) {
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
    for (int i = 0; i < ni; ++i)
        u[i] = slot_ptr(s, uslot[i]) + umem[i] * N;
    for (int j = 0; j < nj; ++j)
        w[j] = slot_ptr(s, wslot[j]) + wmem[j] * N;
    /* A Hermitian result (the caller's word, or the same list on both sides): its upper triangle is
     * enough (the 2 x 2 blocks that straddle the diagonal compute a product below it too, unused). */
    int same = ni == nj;
    for (int i = 0; i < ni && same && !hermitian; ++i)
        same = u[i] == w[i];
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
        int64_t a, e;
        chunk(N, t, omp_get_num_threads(), &a, &e);
        double *acc = part + 2 * (size_t)t * pairs;
        for (int64_t q0 = a; q0 < e; q0 += VBLOCK) {
            const int64_t len = (q0 + VBLOCK < e ? q0 + VBLOCK : e) - q0;
            for (int i = 0; i < ni; i += 2) {
                const int bi = ni - i >= 2 ? 2 : 1;
                for (int j = same ? i : 0; j < nj; j += 2) {
                    const int bj = nj - j >= 2 ? 2 : 1;
                    dot_block((const double *)(u[i] + q0), (const double *)(u[i + bi - 1] + q0),
                              (const double *)(w[j] + q0), (const double *)(w[j + bj - 1] + q0), len, bi, bj,
                              acc + 2 * ((size_t)i * nj + j), nj);
                }
            }
        }
    }
    for (int i = 0; i < ni; ++i)
        for (int j = same ? i : 0; j < nj; ++j) {
            const size_t k = 2 * ((size_t)i * nj + j);
            double re = 0.0, im = 0.0;
            for (int t = 0; t < nt; ++t) {
                re += part[2 * (size_t)t * pairs + k];
                im += part[2 * (size_t)t * pairs + k + 1];
            }
            g[k] = re;
            g[k + 1] = im;
            if (same) { /* Hermitian */
                g[2 * ((size_t)j * nj + i)] = re;
                g[2 * ((size_t)j * nj + i) + 1] = -im;
            }
        }
    free(part);
    free(u);
    free(w);
    return QDML_OK;
}

/* y (+)= (cr + i ci) x over len complex values: y = ... where `first`, else y += ... */
QDML_VECTOR_CLONES static void mac_block(double *restrict y, const double *restrict x, int64_t len, double cr,
                                         double ci, int first) {
    if (first) {
#pragma omp simd
        for (int64_t q = 0; q < len; ++q) {
            const double xr = x[2 * q], xi = x[2 * q + 1];
            y[2 * q] = xr * cr - xi * ci;
            y[2 * q + 1] = xr * ci + xi * cr;
        }
    } else {
#pragma omp simd
        for (int64_t q = 0; q < len; ++q) {
            const double xr = x[2 * q], xi = x[2 * q + 1];
            y[2 * q] += xr * cr - xi * ci;
            y[2 * q + 1] += xr * ci + xi * cr;
        }
    }
}

/* w_j := sum_i u_i c[i nj + j], block by block: where a w is among the u, every u's block is copied out
 * before any w's block is written. */
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
        return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "vcombine: cannot allocate %d x %d blocks of %d values", nt, ni,
                         VBLOCK);
    }
    for (int i = 0; i < ni; ++i)
        u[i] = slot_ptr(s, uslot[i]) + umem[i] * N;
    for (int j = 0; j < nj; ++j)
        w[j] = slot_ptr(s, wslot[j]) + wmem[j] * N;
    int alias = 0;
    for (int i = 0; i < ni && !alias; ++i)
        for (int j = 0; j < nj && !alias; ++j)
            alias = u[i] == w[j];
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
        int64_t a, e;
        chunk(N, t, omp_get_num_threads(), &a, &e);
        qdml_c64 *my = tmp + (size_t)t * (size_t)ni * VBLOCK;
        for (int64_t q0 = a; q0 < e; q0 += VBLOCK) {
            const int64_t len = (q0 + VBLOCK < e ? q0 + VBLOCK : e) - q0;
            if (alias)
                for (int i = 0; i < ni; ++i)
                    memcpy(my + (size_t)i * VBLOCK, u[i] + q0, (size_t)len * sizeof(qdml_c64));
            for (int j = 0; j < nj; ++j) {
                double *y = (double *)(w[j] + q0);
                int first = 1;
                for (int i = 0; i < ni; ++i) {
                    const double cr = c[2 * ((size_t)i * nj + j)], ci = c[2 * ((size_t)i * nj + j) + 1];
                    if (cr == 0.0 && ci == 0.0) continue;
                    const double *x = (const double *)(alias ? my + (size_t)i * VBLOCK : u[i] + q0);
                    mac_block(y, x, len, cr, ci, first);
                    first = 0;
                }
                if (first) memset(y, 0, (size_t)len * sizeof(qdml_c64));
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
