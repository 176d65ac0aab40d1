#include "support.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

qdml_backend qt_backend(void) {
    const char *env = getenv("QDML_TEST_BACKEND");
    if (!env || !env[0] || !strcmp(env, "cpu")) return QDML_BACKEND_CPU;
    if (!strcmp(env, "cuda")) return QDML_BACKEND_CUDA;
    if (!strcmp(env, "auto")) return QDML_BACKEND_AUTO;
    cr_assert_fail("QDML_TEST_BACKEND = '%s': expected cpu, cuda or auto", env);
    return QDML_BACKEND_CPU;
}

static qdml_context *context_on(qdml_backend backend) {
    qdml_context *ctx = NULL;
    qdml_status st = qdml_context_create(&ctx, backend, 1);
    cr_assert_eq(st, QDML_OK, "qdml_context_create: %s", qdml_last_error_message());
    cr_assert_eq(qdml_context_set_fft_effort(ctx, QDML_FFT_ESTIMATE), QDML_OK);
    return ctx;
}

qdml_context *qt_context(void) { return context_on(qt_backend()); }

qdml_context *qt_cpu_context(void) { return context_on(QDML_BACKEND_CPU); }

qdml_problem *qt_problem(qdml_context *ctx, const qdml_grid *grid, int64_t batch) {
    qdml_problem *p = NULL;
    qdml_status st = qdml_problem_create(ctx, grid, batch, &p);
    cr_assert_eq(st, QDML_OK, "qdml_problem_create: %s", qdml_context_last_error(ctx));
    return p;
}

double qt_x(const qdml_grid *g, int axis, int64_t j) {
    return g->lo[axis] + (double)j * (g->hi[axis] - g->lo[axis]) / (double)g->n[axis];
}

void qt_fill(const qdml_grid *g, double *out, double (*f)(const double *x, int dim, void *user), void *user) {
    int64_t n[3] = {1, 1, 1};
    for (int d = 0; d < g->dim; ++d) n[3 - g->dim + d] = g->n[d];
    int64_t idx = 0;
    for (int64_t i0 = 0; i0 < n[0]; ++i0)
        for (int64_t i1 = 0; i1 < n[1]; ++i1)
            for (int64_t i2 = 0; i2 < n[2]; ++i2, ++idx) {
                int64_t ii[3] = {i0, i1, i2};
                double x[3];
                for (int d = 0; d < g->dim; ++d) x[d] = qt_x(g, d, ii[3 - g->dim + d]);
                out[idx] = f(x, g->dim, user);
            }
}

void qt_rng_seed(qt_rng *r, uint64_t seed) { r->s = seed ? seed * 0x9E3779B97F4A7C15ull : 0x2545F4914F6CDD1Dull; }

double qt_uniform(qt_rng *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (double)((r->s * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

double qt_normal(qt_rng *r) {
    double u1 = qt_uniform(r), u2 = qt_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

qdml_grid qt_grid(int dim, const int64_t *n, const double *lo, const double *hi) {
    qdml_grid g;
    qdml_status st = qdml_grid_init(&g, dim, n, lo, hi);
    cr_assert_eq(st, QDML_OK, "qdml_grid_init: %s", qdml_last_error_message());
    return g;
}

void qt_coords(const qdml_grid *g, int64_t idx, double *x) {
    for (int d = g->dim - 1; d >= 0; --d) {
        x[d] = qt_x(g, d, idx % g->n[d]);
        idx /= g->n[d];
    }
}

void *qt_calloc(size_t count, size_t size) {
    cr_assert(size == 0 || count <= SIZE_MAX / size, "qt_calloc: %zu x %zu overflows", count, size);
    void *p = calloc(count ? count : 1, size ? size : 1);
    cr_assert_not_null(p, "qt_calloc: cannot allocate %zu x %zu bytes", count, size);
    return p;
}

void qt_set_potential_fn(qdml_problem *p, int64_t member, double (*f)(const double *x, int dim, void *user),
                         void *user) {
    const qdml_grid *g = qdml_problem_grid(p);
    double *v = qt_calloc((size_t)qdml_problem_points(p), sizeof *v);
    qt_fill(g, v, f, user);
    qdml_status st = qdml_problem_set_potential(p, member, v);
    free(v);
    cr_assert_eq(st, QDML_OK, "qdml_problem_set_potential: status %d", (int)st);
}

void qt_set_zero_potential(qdml_problem *p) {
    double *v = qt_calloc((size_t)qdml_problem_points(p), sizeof *v);
    qdml_status st = qdml_problem_set_potential(p, QDML_ALL_MEMBERS, v);
    free(v);
    cr_assert_eq(st, QDML_OK, "qdml_problem_set_potential (zero): status %d", (int)st);
}

double qt_max_abs_diff(const double *a, const double *b, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        double e = hypot(a[2 * i] - b[2 * i], a[2 * i + 1] - b[2 * i + 1]);
        if (!(e <= m)) m = e; /* NaN propagates as the maximum */
    }
    return m;
}

double qt_rel_diff(const double *a, const double *b, int64_t n) {
    double d = 0.0, m = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double x = fabs(a[i] - b[i]);
        if (x > d || x != x) d = x;
        if (fabs(a[i]) > m) m = fabs(a[i]);
    }
    return d == 0.0 ? 0.0 : d / (m > 0 ? m : 1e-300);
}

double qt_max_abs(const double *a, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        double e = hypot(a[2 * i], a[2 * i + 1]);
        if (!(e <= m)) m = e;
    }
    return m;
}

double qt_norm(const double *a, int64_t n, double dv) {
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += a[2 * i] * a[2 * i] + a[2 * i + 1] * a[2 * i + 1];
    return s * dv;
}

double *qt_get_state(const qdml_problem *p, int64_t member) {
    double *psi = qt_calloc(2 * (size_t)qdml_problem_points(p), sizeof *psi);
    qdml_status st = qdml_problem_get_state(p, member, psi);
    cr_assert_eq(st, QDML_OK, "qdml_problem_get_state(member %lld): status %d", (long long)member, (int)st);
    return psi;
}

char *qt_tmpdir(const char *tag) {
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    size_t n = strlen(base) + strlen(tag) + 32;
    char *t = malloc(n);
    cr_assert_not_null(t);
    snprintf(t, n, "%s/qdml-%s-XXXXXX", base, tag);
    cr_assert_not_null(mkdtemp(t), "mkdtemp(%s) failed", t);
    return t;
}

void qt_rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
                char *child = qt_path(path, e->d_name);
                qt_rm_rf(child);
                free(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

char *qt_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    cr_assert_not_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* One axis of a direct DFT, in place on x (interleaved complex, grid points), over every line along
 * `axis`: X_q = sum_j x_j exp(sign 2 pi i j q / n). */
static void dft_axis(const qdml_grid *g, double *x, int axis, int sign) {
    const int64_t n = g->n[axis];
    int64_t stride = 1, total = 1;
    for (int d = g->dim - 1; d > axis; --d)
        stride *= g->n[d];
    for (int d = 0; d < g->dim; ++d)
        total *= g->n[d];
    double *tw = qt_calloc(2 * (size_t)n, sizeof *tw), *line = qt_calloc(2 * (size_t)n, sizeof *line);
    for (int64_t j = 0; j < n; ++j) {
        tw[2 * j] = cos(2.0 * QT_PI * (double)j / (double)n);
        tw[2 * j + 1] = (double)sign * sin(2.0 * QT_PI * (double)j / (double)n);
    }
    const int64_t block = stride * n; /* the lines of one index of the axes before `axis` */
    for (int64_t outer = 0; outer < total; outer += block)
        for (int64_t inner = 0; inner < stride; ++inner) {
            double *base = x + 2 * (outer + inner);
            for (int64_t q = 0; q < n; ++q) {
                double re = 0.0, im = 0.0;
                for (int64_t j = 0; j < n; ++j) {
                    const int64_t w = (j * q) % n;
                    const double a = base[2 * j * stride], b = base[2 * j * stride + 1];
                    re += a * tw[2 * w] - b * tw[2 * w + 1];
                    im += a * tw[2 * w + 1] + b * tw[2 * w];
                }
                line[2 * q] = re;
                line[2 * q + 1] = im;
            }
            for (int64_t q = 0; q < n; ++q) {
                base[2 * q * stride] = line[2 * q];
                base[2 * q * stride + 1] = line[2 * q + 1];
            }
        }
    free(tw);
    free(line);
}

void qt_exact_flat_evolution(const qdml_grid *g, const double *in, double *out, double hbar, double mass, double v0,
                             double t, int imaginary) {
    const int64_t npts = qdml_grid_points(g);
    if (out != in) memcpy(out, in, 2 * (size_t)npts * sizeof *out);
    for (int d = 0; d < g->dim; ++d)
        dft_axis(g, out, d, -1);
    for (int64_t i = 0; i < npts; ++i) {
        /* the mode's index per axis, C order, taken into [-n/2, n/2] */
        int64_t rest = i;
        double k2 = 0.0;
        for (int d = g->dim - 1; d >= 0; --d) {
            const int64_t n = g->n[d], j = rest % n;
            rest /= n;
            const int64_t q = 2 * j <= n ? j : j - n;
            const double k = 2.0 * QT_PI * (double)q / (g->hi[d] - g->lo[d]);
            k2 += k * k;
        }
        const double theta = (hbar * k2 / (2.0 * mass) + v0 / hbar) * t;
        const double fr = imaginary ? exp(-theta) : cos(theta), fi = imaginary ? 0.0 : -sin(theta);
        const double a = out[2 * i], b = out[2 * i + 1];
        out[2 * i] = (a * fr - b * fi) / (double)npts;
        out[2 * i + 1] = (a * fi + b * fr) / (double)npts;
    }
    for (int d = 0; d < g->dim; ++d)
        dft_axis(g, out, d, +1);
}

double *qt_random_state(const qdml_grid *g, qt_rng *r) {
    const int64_t npts = qdml_grid_points(g);
    double *psi = qt_calloc(2 * (size_t)npts, sizeof *psi);
    for (int64_t i = 0; i < 2 * npts; ++i)
        psi[i] = qt_normal(r);
    return psi;
}
