/* The CPU backend's block ops, which orthonormalise a block of states (excited states): the Gram
 * matrix of the first members, and their combination by a triangular matrix, in place. */
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>

#include "cpu_private.h"

/* Gram matrix of members 0 .. count-1: per-thread partial sums over a static split of the points
 * (the same split every call, so the result is reproducible), added in thread order. */
qdml_status qdml_cpu_gram(qdml_backend_state *s, int64_t count, double *g) {
    qdml_cpu_materialize(s);
    const int64_t N = s->d.npoints;
    const size_t pairs = (size_t)count * (size_t)count;
    const int nt = s->nt;
    double *part = calloc((size_t)nt * pairs, 2 * sizeof(double));
    if (!part) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "gram: cannot allocate %d x %zu partial sums", nt, pairs);
    const qdml_c64 *psi = s->psi;
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
        int64_t a, e;
        chunk(N, t, omp_get_num_threads(), &a, &e);
        double *acc = part + 2 * (size_t)t * pairs;
        for (int64_t i = 0; i < count; ++i) {
            const qdml_c64 *x = psi + i * N;
            for (int64_t j = i; j < count; ++j) {
                const qdml_c64 *y = psi + j * N;
                double re = 0.0, im = 0.0;
                for (int64_t q = a; q < e; ++q) {
                    re += x[q].re * y[q].re + x[q].im * y[q].im;
                    im += x[q].re * y[q].im - x[q].im * y[q].re;
                }
                acc[2 * (i * count + j)] = re;
                acc[2 * (i * count + j) + 1] = im;
            }
        }
    }
    for (int64_t i = 0; i < count; ++i)
        for (int64_t j = i; j < count; ++j) {
            double re = 0.0, im = 0.0;
            for (int t = 0; t < nt; ++t) {
                re += part[2 * ((size_t)t * pairs + (size_t)(i * count + j))];
                im += part[2 * ((size_t)t * pairs + (size_t)(i * count + j)) + 1];
            }
            g[2 * (i * count + j)] = re;
            g[2 * (i * count + j) + 1] = im;
            g[2 * (j * count + i)] = re; /* Hermitian */
            g[2 * (j * count + i) + 1] = -im;
        }
    free(part);
    return QDML_OK;
}

/* In place, point by point: the new psi_j needs the old psi_i for i <= j only, so going from the
 * last member down overwrites nothing still needed. */
qdml_status qdml_cpu_combine(qdml_backend_state *s, int64_t count, const double *t) {
    qdml_cpu_materialize(s);
    const int64_t N = s->d.npoints;
    qdml_c64 *psi = s->psi;
#pragma omp parallel for num_threads(s->nt) schedule(static)
    for (int64_t q = 0; q < N; ++q) {
        for (int64_t j = count - 1; j >= 0; --j) {
            double re = 0.0, im = 0.0;
            for (int64_t i = 0; i <= j; ++i) {
                const qdml_c64 x = psi[i * N + q];
                const double tr = t[2 * (i * count + j)], ti = t[2 * (i * count + j) + 1];
                re += x.re * tr - x.im * ti;
                im += x.re * ti + x.im * tr;
            }
            psi[j * N + q] = qdml_c64_make(re, im);
        }
    }
    return QDML_OK;
}
