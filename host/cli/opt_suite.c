/* Optimisation test functions on the unit box, the suites and the schedules of qdml qhd and qdml
 * bench-opt (opt_suite.h). */
#include "opt_suite.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_schedule_names[] = "qhd, constant, linear, geometric";

int cli_parse_schedule(const char *cmd, const char *name, double T, qdml_schedule *kinetic, qdml_schedule *potential) {
    const qdml_schedule one = {QDML_SCHEDULE_CONSTANT, {1.0, 0.0, 0.0}, NULL, NULL};
    *kinetic = *potential = one;
    if (strcmp(name, "qhd") == 0) {
        (void)qdml_schedule_default(QDML_SCHEDULE_QHD_KINETIC, kinetic);
        (void)qdml_schedule_default(QDML_SCHEDULE_QHD_POTENTIAL, potential);
    } else if (strcmp(name, "linear") == 0) {
        *kinetic = (qdml_schedule){QDML_SCHEDULE_LINEAR, {1.0, 0.0, T}, NULL, NULL};
        *potential = (qdml_schedule){QDML_SCHEDULE_LINEAR, {0.0, 1.0, T}, NULL, NULL};
    } else if (strcmp(name, "geometric") == 0) {
        *kinetic = (qdml_schedule){QDML_SCHEDULE_GEOMETRIC, {1.0, 1e-3, T}, NULL, NULL};
    } else if (strcmp(name, "constant") != 0) {
        cli_error(cmd, "--schedule: unknown schedule '%s' (expected %s)", name, cli_schedule_names);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* ---- a function on the unit box --------------------------------------------------------------- */

void cli_opt_fn_to_box(const cli_opt_fn *f, const double *u, double *x) {
    for (int d = 0; d < f->dim; ++d)
        x[d] = f->lo[d] + u[d] * (f->hi[d] - f->lo[d]);
}

/* f itself (before scale and shift) at box coordinates x. */
static double raw_value(const cli_opt_fn *f, const double *x) {
    if (f->custom) return f->custom(x);
    double v = NAN;
    (void)qdml_objective_eval(&f->obj, x, f->dim, &v);
    return v;
}

double cli_opt_fn_value(const cli_opt_fn *f, const double *u) {
    double x[QDML_MAX_DIM];
    cli_opt_fn_to_box(f, u, x);
    return f->scale * (raw_value(f, x) - f->fstar) / f->L;
}

void cli_opt_fn_fill(const cli_opt_fn *f, const int64_t *n, double *v) {
    int64_t total = 1;
    for (int d = 0; d < f->dim; ++d)
        total *= n[d];
    for (int64_t i = 0; i < total; ++i) {
        double u[QDML_MAX_DIM];
        int64_t rest = i;
        for (int d = f->dim - 1; d >= 0; --d) {
            u[d] = (double)(rest % n[d]) / (double)n[d];
            rest /= n[d];
        }
        v[i] = cli_opt_fn_value(f, u);
    }
}

/* The box and its longest side; the minimisers inside it in unit coordinates. */
static void set_box(cli_opt_fn *f, const double *lo, const double *hi) {
    f->L = 0.0;
    for (int d = 0; d < f->dim; ++d) {
        f->lo[d] = lo[d];
        f->hi[d] = hi[d];
        f->L = fmax(f->L, hi[d] - lo[d]);
    }
}

static void add_minimizer(cli_opt_fn *f, const double *x) {
    for (int d = 0; d < f->dim; ++d)
        if (!(x[d] >= f->lo[d] && x[d] <= f->hi[d])) return;
    if (f->nmin >= CLI_MAX_MINIMIZERS) return;
    for (int d = 0; d < f->dim; ++d)
        f->umin[f->nmin * f->dim + d] = (x[d] - f->lo[d]) / (f->hi[d] - f->lo[d]);
    ++f->nmin;
}

int cli_opt_fn_objective(const char *cmd, const char *spec, int dim, const double *lo, const double *hi, double scale,
                         cli_opt_fn *f) {
    memset(f, 0, sizeof *f);
    f->dim = dim;
    f->scale = scale;
    snprintf(f->spec, sizeof f->spec, "%s", spec);
    const char *colon = strchr(spec, ':');
    snprintf(f->label, sizeof f->label, "%.*s", (int)(colon ? (size_t)(colon - spec) : strlen(spec)), spec);
    double dlo[QDML_MAX_DIM], dhi[QDML_MAX_DIM], xs[CLI_MAX_MINIMIZERS * QDML_MAX_DIM];
    int64_t n = 0;
    if (qdml_objective_parse(spec, dim, &f->obj) != QDML_OK || qdml_objective_domain(&f->obj, dim, dlo, dhi) != QDML_OK ||
        qdml_objective_minimum(&f->obj, dim, NULL, &f->fstar) != QDML_OK ||
        qdml_objective_minimizers(&f->obj, dim, xs, CLI_MAX_MINIMIZERS, &n) != QDML_OK) {
        cli_error(cmd, "--objective: %s", qdml_last_error_message());
        return CLI_USAGE;
    }
    set_box(f, lo ? lo : dlo, hi ? hi : dhi);
    for (int64_t k = 0; k < n; ++k)
        add_minimizer(f, xs + k * dim);
    if (f->nmin == 0) {
        cli_error(cmd,
                  "--box: the box holds none of the global minimisers of %s (its usual domain is [%g, %g] per "
                  "axis); the success probability needs one",
                  f->label, dlo[0], dhi[0]);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* ---- QHD's own variant of Shubert ------------------------------------------------------------------
 * QHD keeps one global minimiser in [-2, 2]^2 with a function of its own: g1(x0) g2(x1),
 * g1 = cos(2x + 1) + 2 cos(3x + 2) + 3 cos(4x + 3), g2 = cos(2x + 1) + cos(x + 2). A product of
 * functions of one variable each is least at a pair of their extremes: each factor's least and largest
 * value on [-2, 2] by sampling (200000 intervals) and golden-section search around the best sample. */
static double shubert_g1(double x) { return cos(2 * x + 1) + 2 * cos(3 * x + 2) + 3 * cos(4 * x + 3); }
static double shubert_g2(double x) { return cos(2 * x + 1) + cos(x + 2); }
static double shubert_qhd(const double *x) { return shubert_g1(x[0]) * shubert_g2(x[1]); }

static double extreme_1d(double (*g)(double), double sign, double *value) {
    const int n = 200000;
    const double a = -2.0, h = 4.0 / n;
    int best = 0;
    for (int j = 1; j <= n; ++j)
        if (sign * g(a + j * h) > sign * g(a + best * h)) best = j;
    double l = a + (best > 0 ? best - 1 : 0) * h, r = a + (best < n ? best + 1 : n) * h;
    const double phi = 0.6180339887498949;
    for (int it = 0; it < 80; ++it) {
        const double m1 = r - phi * (r - l), m2 = l + phi * (r - l);
        if (sign * g(m1) > sign * g(m2))
            r = m2;
        else
            l = m1;
    }
    const double x = 0.5 * (l + r);
    *value = g(x);
    return x;
}

static void shubert_qhd_fn(cli_opt_fn *f) {
    memset(f, 0, sizeof *f);
    snprintf(f->label, sizeof f->label, "shubert (QHD's variant)");
    f->dim = 2;
    f->custom = shubert_qhd;
    f->scale = 1.0;
    const double lo[2] = {-2, -2}, hi[2] = {2, 2};
    set_box(f, lo, hi);
    double v1[2], v2[2], x1[2], x2[2]; /* [0] least, [1] largest */
    x1[0] = extreme_1d(shubert_g1, -1.0, &v1[0]);
    x1[1] = extreme_1d(shubert_g1, 1.0, &v1[1]);
    x2[0] = extreme_1d(shubert_g2, -1.0, &v2[0]);
    x2[1] = extreme_1d(shubert_g2, 1.0, &v2[1]);
    f->fstar = INFINITY;
    double best[2] = {0, 0};
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j)
            if (v1[i] * v2[j] < f->fstar) {
                f->fstar = v1[i] * v2[j];
                best[0] = x1[i];
                best[1] = x2[j];
            }
    add_minimizer(f, best);
}

/* ---- the suites ------------------------------------------------------------------------------------ */

typedef struct suite_entry {
    const char *spec;
    double lo, hi, scale;
} suite_entry;

/* QHD's 22 functions as its benchmark defines them (NonCVX-2d, experimentSetup.m): its boxes, its
 * factors (rosenbrock / 100, styblinski_tang / 78, levy13 x 0.05), ackley2 with b = 0.2, easom
 * centred at 0, xinsheyang3 with m = 3, holder on [0, 10]^2 (one of its four minimisers), and its
 * Shubert (NULL spec: shubert_qhd_fn). */
static const suite_entry qhd_suite[] = {
    {"ackley", -32.768, 32.768, 1.0},
    {"ackley2:b=0.2", -32.0, 32.0, 1.0},
    {"alpine1", -10.0, 10.0, 1.0},
    {"alpine2", 0.0, 10.0, 1.0},
    {"bohachevsky2", -5.0, 5.0, 1.0},
    {"camel3", -2.0, 2.0, 1.0},
    {"csendes", -1.0, 1.0, 1.0},
    {"defl_corr_spring", 0.0, 10.0, 1.0},
    {"dropwave", -5.12, 5.12, 1.0},
    {"easom:c=0", -10.0, 10.0, 1.0},
    {"griewank", -10.0, 10.0, 1.0},
    {"holder", 0.0, 10.0, 1.0},
    {"hosaki", 0.0, 5.0, 1.0},
    {"levy", -10.0, 10.0, 1.0},
    {"levy13", -10.0, 10.0, 0.05},
    {"michalewicz", 0.0, 3.14159265358979324, 1.0},
    {"rastrigin", -5.12, 5.12, 1.0},
    {"rosenbrock", -1.5, 1.5, 0.01},
    {NULL, -2.0, 2.0, 1.0},
    {"styblinski_tang", -5.0, 5.0, 1.0 / 78.0},
    {"sumofsquares", -1.0, 1.0, 1.0},
    {"xinsheyang3:m=3", -20.0, 20.0, 1.0},
};

/* qdml's classic test functions on their usual boxes, griewank on [-10, 10] (on [-600, 600] its
 * cosines have periods of a few grid spacings of any grid these runs use). */
static const suite_entry classic_suite[] = {
    {"rastrigin", -5.12, 5.12, 1.0},   {"ackley", -32.768, 32.768, 1.0}, {"griewank", -10.0, 10.0, 1.0},
    {"rosenbrock", -2.048, 2.048, 1.0}, {"styblinski_tang", -5.0, 5.0, 1.0}, {"levy", -10.0, 10.0, 1.0},
    {"schwefel", -500.0, 500.0, 1.0},
};

int cli_suite(const char *cmd, const char *name, int dim, cli_opt_fn **out, int *count) {
    const suite_entry *e;
    int n;
    if (strcmp(name, "qhd") == 0) {
        if (dim != 2) {
            cli_error(cmd, "--suite qhd is two-dimensional (QHD's benchmark): --dim 2, or --suite classic");
            return CLI_USAGE;
        }
        e = qhd_suite, n = (int)(sizeof qhd_suite / sizeof qhd_suite[0]);
    } else if (strcmp(name, "classic") == 0) {
        if (dim != 2 && dim != 3) {
            cli_error(cmd, "--suite classic runs in 2 or 3 dimensions: --dim 2 or --dim 3");
            return CLI_USAGE;
        }
        e = classic_suite, n = (int)(sizeof classic_suite / sizeof classic_suite[0]);
    } else {
        cli_error(cmd, "--suite: unknown suite '%s' (expected qhd or classic)", name);
        return CLI_USAGE;
    }
    cli_opt_fn *fns = calloc((size_t)n, sizeof *fns);
    if (!fns) {
        cli_error(cmd, "cannot allocate the suite's %d functions", n);
        return CLI_RUN_FAILED;
    }
    for (int k = 0; k < n; ++k) {
        if (!e[k].spec) {
            shubert_qhd_fn(&fns[k]);
            continue;
        }
        const double lo[QDML_MAX_DIM] = {e[k].lo, e[k].lo, e[k].lo}, hi[QDML_MAX_DIM] = {e[k].hi, e[k].hi, e[k].hi};
        const int rc = cli_opt_fn_objective(cmd, e[k].spec, dim, lo, hi, e[k].scale, &fns[k]);
        if (rc != CLI_OK) {
            free(fns);
            return rc;
        }
    }
    *out = fns;
    *count = n;
    return CLI_OK;
}
