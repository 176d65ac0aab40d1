/* The walkers' statistics: the blocking analysis of a time series, the dt -> 0 extrapolation, and a
 * population's mean, width and mode (include/qdml/qdml_walkers.h). Plain functions of arrays: no
 * backend, no walkers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "walkers_private.h"

/* chi^2 quantiles at 0.99 for 1 .. 40 degrees of freedom (Jonsson's test compares M_k, a sum of d - k
 * terms each chi^2(1) under "no correlation left", with the quantile of d - k degrees of freedom). */
static const double chi2_99[40] = {
    6.634897, 9.210340,  11.344867, 13.276704, 15.086272, 16.811894, 18.475307, 20.090235, 21.665994, 23.209251,
    24.724970, 26.216967, 27.688250, 29.141238, 30.577914, 31.999927, 33.408664, 34.805306, 36.190869, 37.566235,
    38.932173, 40.289360, 41.638398, 42.979820, 44.314105, 45.641683, 46.962942, 48.278236, 49.587884, 50.892181,
    52.191395, 53.485772, 54.775540, 56.060909, 57.342073, 58.619215, 59.892500, 61.162087, 62.428121, 63.690740};

qdml_status qdml_blocking_error(const double *x, int64_t n, double *mean, double *error, int *level) {
    static const char fn[] = "qdml_blocking_error";
    if (!x || !mean || !error) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: x, mean or error is NULL", fn);
    if (n < 16) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: n = %lld: need at least 16 values", fn, (long long)n);
    int d = 0;
    while (d < 62 && ((int64_t)1 << (d + 1)) <= n)
        ++d;
    if (d > 40) d = 40;
    const int64_t m = (int64_t)1 << d;
    for (int64_t i = 0; i < n; ++i)
        if (!isfinite(x[i]))
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: x[%lld] = %g is not finite", fn, (long long)i, x[i]);
    double *y = malloc((size_t)m * sizeof *y);
    if (!y) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "%s: no memory for %lld values", fn, (long long)m);
    memcpy(y, x + (n - m), (size_t)m * sizeof *y);
    double mu = 0.0;
    for (int64_t i = 0; i < m; ++i)
        mu += y[i];
    mu /= (double)m;
    double s[40], gam[40];
    int64_t len = m;
    for (int k = 0; k < d; ++k) {
        double v = 0.0, g = 0.0, a = 0.0;
        for (int64_t i = 0; i < len; ++i)
            a += y[i];
        a /= (double)len;
        for (int64_t i = 0; i < len; ++i)
            v += (y[i] - a) * (y[i] - a);
        for (int64_t i = 0; i + 1 < len; ++i)
            g += (y[i] - mu) * (y[i + 1] - mu);
        s[k] = v / (double)len;
        gam[k] = g / (double)len;
        for (int64_t i = 0; i < len / 2; ++i)
            y[i] = 0.5 * (y[2 * i] + y[2 * i + 1]);
        len /= 2;
    }
    free(y);
    /* M_k = sum_{j >= k} n_j (gamma_j / s_j)^2, n_j = m / 2^j; the first k with M_k below the quantile */
    int pick = d - 1;
    double M = 0.0, Mk[40];
    for (int k = d - 1; k >= 0; --k) {
        const double r = s[k] > 0.0 ? gam[k] / s[k] : 0.0;
        M += (double)(m >> k) * r * r;
        Mk[k] = M;
    }
    for (int k = 0; k < d; ++k)
        if (Mk[k] < chi2_99[d - k - 1]) {
            pick = k;
            break;
        }
    *mean = mu;
    *error = sqrt(s[pick] / (double)((m >> pick) - 1));
    if (level) *level = pick;
    return QDML_OK;
}

/* Solve the weighted least squares e ~ sum_j c_j t^p_j (np <= 3 terms) by the normal equations;
 * c0 and its variance. */
qdml_status qdml_walkers_extrapolate(const double *dt, const double *e, const double *err, int n, int order,
                                     double *e0, double *e0_error) {
    static const char fn[] = "qdml_walkers_extrapolate";
    if (!dt || !e || !err || !e0 || !e0_error)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: an argument is NULL", fn);
    if (n < 2 || (order != 1 && order != 2))
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: n = %d, order = %d: need n >= 2 and order 1 or 2", fn,
                         n, order);
    for (int i = 0; i < n; ++i) {
        if (!(dt[i] > 0.0) || !(err[i] > 0.0) || !isfinite(dt[i]) || !isfinite(err[i]) || !isfinite(e[i]))
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                             "%s: point %d (dt %g, e %g, err %g): dt and err must be positive and finite", fn, i, dt[i],
                             e[i], err[i]);
        for (int j = 0; j < i; ++j)
            if (dt[j] == dt[i])
                return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: dt[%d] = dt[%d] = %g: the steps must differ", fn,
                                 j, i, dt[i]);
    }
    const int np = n == 2 ? 2 : 3;
    double A[3][3] = {{0}}, b[3] = {0};
    for (int i = 0; i < n; ++i) {
        const double w = 1.0 / (err[i] * err[i]);
        const double t[3] = {1.0, pow(dt[i], order), pow(dt[i], order + 1)};
        for (int r = 0; r < np; ++r) {
            b[r] += w * t[r] * e[i];
            for (int c = 0; c < np; ++c)
                A[r][c] += w * t[r] * t[c];
        }
    }
    /* the inverse by Gauss-Jordan (np <= 3, well conditioned after scaling by the diagonal) */
    double inv[3][3] = {{0}}, sc[3];
    for (int r = 0; r < np; ++r) {
        sc[r] = 1.0 / sqrt(A[r][r]);
        inv[r][r] = 1.0;
    }
    for (int r = 0; r < np; ++r)
        for (int c = 0; c < np; ++c)
            A[r][c] *= sc[r] * sc[c];
    for (int c = 0; c < np; ++c) {
        int p = c;
        for (int r = c + 1; r < np; ++r)
            if (fabs(A[r][c]) > fabs(A[p][c])) p = r;
        if (fabs(A[p][c]) < 1e-14)
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: the steps do not determine the fit (too close)", fn);
        for (int k = 0; k < np; ++k) {
            double t = A[c][k];
            A[c][k] = A[p][k], A[p][k] = t;
            t = inv[c][k];
            inv[c][k] = inv[p][k], inv[p][k] = t;
        }
        const double piv = A[c][c];
        for (int k = 0; k < np; ++k)
            A[c][k] /= piv, inv[c][k] /= piv;
        for (int r = 0; r < np; ++r) {
            if (r == c) continue;
            const double f = A[r][c];
            for (int k = 0; k < np; ++k)
                A[r][k] -= f * A[c][k], inv[r][k] -= f * inv[c][k];
        }
    }
    double c0 = 0.0;
    for (int k = 0; k < np; ++k)
        c0 += inv[0][k] * sc[k] * b[k];
    *e0 = c0 * sc[0];
    *e0_error = sqrt(inv[0][0]) * sc[0];
    return QDML_OK;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Mean, width and the marginal mode of coordinate `a` of n walkers (x: n x dim); tmp: n doubles. */
void qdml_walkers_coordinate_summary(const double *x, int64_t n, int dim, int a, double *tmp, double *mean,
                                     double *width, double *mode) {
    double mu = 0.0, v = 0.0;
    for (int64_t i = 0; i < n; ++i)
        mu += x[i * dim + a];
    mu /= (double)n;
    for (int64_t i = 0; i < n; ++i)
        v += (x[i * dim + a] - mu) * (x[i * dim + a] - mu);
    *mean = mu;
    *width = n > 1 ? sqrt(v / (double)(n - 1)) : 0.0;
    if (!mode) return;
    for (int64_t i = 0; i < n; ++i)
        tmp[i] = x[i * dim + a];
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
    const double lo = tmp[0], hi = tmp[n - 1];
    const double iqr = tmp[(3 * n) / 4] - tmp[n / 4];
    double h = 2.0 * iqr / cbrt((double)n);
    if (!(h > 0.0) || hi - lo <= 0.0) {
        *mode = tmp[n / 2];
        return;
    }
    int64_t nb = (int64_t)ceil((hi - lo) / h);
    if (nb < 1) nb = 1;
    if (nb > 4096) nb = 4096, h = (hi - lo) / 4096.0;
    int64_t *cnt = malloc((size_t)nb * sizeof *cnt);
    if (!cnt) { /* no memory for the bins: the median stands in */
        *mode = tmp[n / 2];
        return;
    }
    /* count into bins walking the sorted values; the fullest bin (the first of equals) */
    int64_t best = 0, bestc = -1, bin, i = 0;
    for (bin = 0; bin < nb; ++bin) {
        const double top = bin + 1 == nb ? INFINITY : lo + h * (double)(bin + 1);
        int64_t c = 0;
        while (i < n && tmp[i] < top)
            ++c, ++i;
        cnt[bin] = c;
    }
    for (bin = 0; bin < nb; ++bin)
        if (cnt[bin] > bestc) bestc = cnt[bin], best = bin;
    const int64_t prevc = best > 0 ? cnt[best - 1] : 0, nextc = best + 1 < nb ? cnt[best + 1] : 0;
    const int64_t pc = prevc - 2 * bestc + nextc;
    free(cnt);
    double off = pc < 0 ? 0.5 * (double)(prevc - nextc) / (double)pc : 0.0;
    if (off > 0.5) off = 0.5;
    if (off < -0.5) off = -0.5;
    *mode = lo + h * ((double)best + 0.5 + off);
}
