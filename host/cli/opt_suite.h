/* Optimisation test functions as the qdml program's qhd and bench-opt commands run them (opt_suite.c):
 * a function on its box mapped to the unit box [0, 1)^dim with its values shifted and scaled as in
 * QHD's benchmark (Leng et al. 2023): V(u) = scale (f(lo + u (hi - lo)) - f*) / L, f* the minimum of f
 * over the box and L its longest side; the suites (QHD's 22 two-dimensional functions, and qdml's
 * classic ones in 2D and 3D); the schedules by name; the QHD and annealing runs of a problem. */
#ifndef QDML_CLI_OPT_SUITE_H
#define QDML_CLI_OPT_SUITE_H

#include "cli.h"

#include <qdml/qdml.h>
#include <stdint.h>

enum { CLI_MAX_MINIMIZERS = 81 };

typedef struct cli_opt_fn {
    char label[64];               /* "holder", "shubert (QHD's variant)" */
    char spec[96];                /* the objective spec, or "" for a function of QHD's own */
    int dim;
    qdml_objective obj;           /* the built-in objective (when custom is NULL) */
    double (*custom)(const double *x); /* QHD's own variant of a function (2D), or NULL */
    double lo[QDML_MAX_DIM], hi[QDML_MAX_DIM];
    double L;                     /* the box's longest side */
    double scale;                 /* QHD's factor of the function (1 for most) */
    double fstar;                 /* f's minimum over the box (before scale) */
    int64_t nmin;                 /* global minimisers in the box */
    double umin[CLI_MAX_MINIMIZERS * QDML_MAX_DIM]; /* in unit coordinates */
} cli_opt_fn;

/* A built-in objective on [lo, hi] (NULL: its usual domain) with the factor `scale`: its minimisers
 * in the box (qdml_objective_minimizers) and minimum. CLI_USAGE (printed) where the box holds none
 * of its known global minimisers. */
int cli_opt_fn_objective(const char *cmd, const char *spec, int dim, const double *lo, const double *hi, double scale,
                         cli_opt_fn *f);
/* The function at unit coordinates u (dim values): V(u) above. */
double cli_opt_fn_value(const cli_opt_fn *f, const double *u);
/* V on the unit grid of n[0] x ... points (u_j = j / n per axis), C order. */
void cli_opt_fn_fill(const cli_opt_fn *f, const int64_t *n, double *v);
/* Unit coordinates u to the box's. */
void cli_opt_fn_to_box(const cli_opt_fn *f, const double *u, double *x);

/* The functions of a suite: "qhd" (QHD's 22, dim 2 only) or "classic" (rastrigin, ackley, griewank,
 * rosenbrock, styblinski_tang, levy, schwefel in dim 2 or 3); *out is malloc'ed (free it). */
int cli_suite(const char *cmd, const char *name, int dim, cli_opt_fn **out, int *count);

/* --schedule NAME for a run of length T: the kinetic and potential schedules (qdml.h). NAME: qhd
 * (a = 2 / (1e-3 + t^3), b = 2 t^3), constant (1, 1), linear (a = 1 - t/T, b = t/T), geometric (a from
 * 1 to 1e-3 over T, b = 1). CLI_USAGE (printed) for another name. */
int cli_parse_schedule(const char *cmd, const char *name, double T, qdml_schedule *kinetic, qdml_schedule *potential);
extern const char cli_schedule_names[]; /* "qhd, constant, linear, geometric" */

#endif
