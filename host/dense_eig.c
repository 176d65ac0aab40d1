/* Small dense Hermitian eigenproblems (dense_eig.h): cyclic Jacobi, and canonical orthogonalisation
 * for the generalised problem of a Rayleigh-Ritz step. */
#include "dense_eig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RE(m, i, j) (m)[2 * ((size_t)(i) * (size_t)n + (size_t)(j))]
#define IM(m, i, j) (m)[2 * ((size_t)(i) * (size_t)n + (size_t)(j)) + 1]

/* Columns p and q of m (n rows) times the 2 x 2 unitary [[c, s], [-s e, c e]] with e = e^{-i phi}
 * = (er, ei): new p = c m_p - s e m_q, new q = s m_p + c e m_q. */
static void rotate_columns(double *m, int n, int p, int q, double c, double s, double er, double ei) {
    for (int k = 0; k < n; ++k) {
        const double pr = RE(m, k, p), pi = IM(m, k, p);
        const double qr = RE(m, k, q) * er - IM(m, k, q) * ei, qi = RE(m, k, q) * ei + IM(m, k, q) * er;
        RE(m, k, p) = c * pr - s * qr;
        IM(m, k, p) = c * pi - s * qi;
        RE(m, k, q) = s * pr + c * qr;
        IM(m, k, q) = s * pi + c * qi;
    }
}

/* Rows p and q of m times the conjugate transpose of the same unitary: new p = c m_p - s conj(e) m_q,
 * new q = s m_p + c conj(e) m_q. */
static void rotate_rows(double *m, int n, int p, int q, double c, double s, double er, double ei) {
    for (int k = 0; k < n; ++k) {
        const double pr = RE(m, p, k), pi = IM(m, p, k);
        const double qr = RE(m, q, k) * er + IM(m, q, k) * ei, qi = IM(m, q, k) * er - RE(m, q, k) * ei;
        RE(m, p, k) = c * pr - s * qr;
        IM(m, p, k) = c * pi - s * qi;
        RE(m, q, k) = s * pr + c * qr;
        IM(m, q, k) = s * pi + c * qi;
    }
}

int qdml_herm_eig(int n, const double *a_in, double *w, double *v) {
    if (n < 1) return -1;
    const size_t nn = (size_t)n * (size_t)n;
    double *a = malloc(2 * nn * sizeof(double));
    if (!a) return -2;
    double norm2 = 0.0;
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
            /* The Hermitian part. */
            RE(a, i, j) = 0.5 * (RE(a_in, i, j) + RE(a_in, j, i));
            IM(a, i, j) = 0.5 * (IM(a_in, i, j) - IM(a_in, j, i));
            norm2 += RE(a, i, j) * RE(a, i, j) + IM(a, i, j) * IM(a, i, j);
        }
    if (!isfinite(norm2)) {
        free(a);
        return -1;
    }
    memset(v, 0, 2 * nn * sizeof(double));
    for (int i = 0; i < n; ++i)
        RE(v, i, i) = 1.0;
    int ok = 0;
    for (int sweep = 0; sweep < 100 && !ok; ++sweep) {
        double off = 0.0;
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j)
                if (i != j) off += RE(a, i, j) * RE(a, i, j) + IM(a, i, j) * IM(a, i, j);
        if (off <= 1e-34 * norm2 || off == 0.0) {
            ok = 1;
            break;
        }
        for (int p = 0; p < n - 1; ++p)
            for (int q = p + 1; q < n; ++q) {
                const double r = hypot(RE(a, p, q), IM(a, p, q));
                if (r == 0.0) continue;
                /* The phase e^{-i phi} that makes a_pq real (= r), then the real rotation that zeroes it. */
                const double er = RE(a, p, q) / r, ei = -IM(a, p, q) / r;
                const double app = RE(a, p, p), aqq = RE(a, q, q);
                const double theta = (aqq - app) / (2.0 * r);
                const double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                const double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                rotate_columns(a, n, p, q, c, s, er, ei);
                rotate_rows(a, n, p, q, c, s, er, ei);
                rotate_columns(v, n, p, q, c, s, er, ei);
                RE(a, p, q) = IM(a, p, q) = RE(a, q, p) = IM(a, q, p) = 0.0;
                IM(a, p, p) = IM(a, q, q) = 0.0;
            }
    }
    if (ok) {
        /* Ascending, by selection (n is small), the columns of v with their values. */
        for (int i = 0; i < n; ++i)
            w[i] = RE(a, i, i);
        for (int i = 0; i < n; ++i) {
            int m = i;
            for (int j = i + 1; j < n; ++j)
                if (w[j] < w[m]) m = j;
            if (m == i) continue;
            const double t = w[i];
            w[i] = w[m];
            w[m] = t;
            for (int k = 0; k < n; ++k) {
                const double tr = RE(v, k, i), ti = IM(v, k, i);
                RE(v, k, i) = RE(v, k, m);
                IM(v, k, i) = IM(v, k, m);
                RE(v, k, m) = tr;
                IM(v, k, m) = ti;
            }
        }
    }
    free(a);
    return ok ? 0 : -1;
}

int qdml_herm_gen_eig(int n, const double *a, const double *s, double rel_floor, int *rank, double *w, double *c) {
    const size_t nn = (size_t)n * (size_t)n;
    double *sw = malloc((size_t)n * sizeof(double)), *u = malloc(2 * nn * sizeof(double));
    double *z = malloc(2 * nn * sizeof(double)), *az = malloc(2 * nn * sizeof(double));
    double *b = malloc(2 * nn * sizeof(double)), *y = malloc(2 * nn * sizeof(double));
    int st = -2;
    if (!sw || !u || !z || !az || !b || !y) goto out;
    st = -1;
    if (n < 1) goto out;
    if ((st = qdml_herm_eig(n, s, sw, u)) != 0) goto out;
    st = -1;
    const double top = sw[n - 1];
    if (!(top > 0)) goto out;
    /* Kept: the directions of s above the floor, z = u_k / sqrt(sigma_k) (n x r). */
    int r = 0;
    for (int k = n - 1; k >= 0 && sw[k] > rel_floor * top; --k)
        ++r;
    if (r < 1) goto out;
    for (int i = 0; i < n; ++i)
        for (int k = 0; k < r; ++k) {
            const int src = n - r + k;
            const double f = 1.0 / sqrt(sw[src]);
            z[2 * ((size_t)i * r + k)] = RE(u, i, src) * f;
            z[2 * ((size_t)i * r + k) + 1] = IM(u, i, src) * f;
        }
    /* az = a z (n x r), b = z^H a z (r x r). */
    for (int i = 0; i < n; ++i)
        for (int k = 0; k < r; ++k) {
            double re = 0.0, im = 0.0;
            for (int j = 0; j < n; ++j) {
                const double ar = RE(a, i, j), ai = IM(a, i, j);
                const double zr = z[2 * ((size_t)j * r + k)], zi = z[2 * ((size_t)j * r + k) + 1];
                re += ar * zr - ai * zi;
                im += ar * zi + ai * zr;
            }
            az[2 * ((size_t)i * r + k)] = re;
            az[2 * ((size_t)i * r + k) + 1] = im;
        }
    for (int k = 0; k < r; ++k)
        for (int l = 0; l < r; ++l) {
            double re = 0.0, im = 0.0;
            for (int i = 0; i < n; ++i) {
                const double zr = z[2 * ((size_t)i * r + k)], zi = -z[2 * ((size_t)i * r + k) + 1];
                const double qr = az[2 * ((size_t)i * r + l)], qi = az[2 * ((size_t)i * r + l) + 1];
                re += zr * qr - zi * qi;
                im += zr * qi + zi * qr;
            }
            b[2 * ((size_t)k * r + l)] = re;
            b[2 * ((size_t)k * r + l) + 1] = im;
        }
    if ((st = qdml_herm_eig(r, b, w, y)) != 0) goto out;
    /* c = z y (n x r). */
    for (int i = 0; i < n; ++i)
        for (int l = 0; l < r; ++l) {
            double re = 0.0, im = 0.0;
            for (int k = 0; k < r; ++k) {
                const double zr = z[2 * ((size_t)i * r + k)], zi = z[2 * ((size_t)i * r + k) + 1];
                const double yr = y[2 * ((size_t)k * r + l)], yi = y[2 * ((size_t)k * r + l) + 1];
                re += zr * yr - zi * yi;
                im += zr * yi + zi * yr;
            }
            c[2 * ((size_t)i * r + l)] = re;
            c[2 * ((size_t)i * r + l) + 1] = im;
        }
    *rank = r;
    st = 0;
out:
    free(sw);
    free(u);
    free(z);
    free(az);
    free(b);
    free(y);
    return st;
}
