/* Runs of optimisation test functions on the unit box (opt_run.c), shared by qdml qhd and qdml
 * bench-opt: one batched problem whose members are the functions, started from the uniform state, run
 * by QHD (real time under a schedule) or by annealing in hbar (qdml_problem_minimize), and what each
 * member's final state says: the success probability within r of the nearest global minimiser, the
 * expected value <V> of the mapped function, the density's maximum and where. */
#ifndef QDML_CLI_OPT_RUN_H
#define QDML_CLI_OPT_RUN_H

#include "opt_suite.h"
#include "setup.h"

/* The problem of `count` functions on the unit grid of n points per axis: s->cmd, s->wisdom and
 * s->no_wisdom as set by the caller; the context, grid, problem and potentials made here. */
int cli_opt_make(cli_setup *s, const cli_opt_fn *fns, int count, const int64_t *n, qdml_backend backend, int threads,
                 qdml_precision precision);

/* What a finished run left in member b. */
typedef struct cli_opt_outcome {
    double success;    /* probability within the radius of the nearest global minimiser */
    double expected;   /* <V> of the mapped function (unit-box units: scale (f - f*) / L) */
    double expected_f; /* the same in f's units: f* + <V> L / scale */
    double density_max, argmax_u[QDML_MAX_DIM], argmax_x[QDML_MAX_DIM];
    double f_argmax;   /* f at the density's maximum */
    int64_t steps;
    int diverged;
} cli_opt_outcome;

/* QHD: every member from the uniform state, the schedule by name, round(T / dt) real-time steps of dt
 * (progress on a terminal); outcomes per member. */
int cli_opt_qhd(cli_setup *s, const cli_opt_fn *fns, const char *schedule, double T, double dt, double radius,
                cli_opt_outcome *out);

/* Annealing: every member from the uniform state, `stages` ground states at hbar geometric from
 * hbar_start to hbar_end, each of at most max_steps imaginary-time steps (qdml_problem_minimize). */
int cli_opt_anneal(cli_setup *s, const cli_opt_fn *fns, double hbar_start, double hbar_end, int64_t stages,
                   int64_t max_steps, double radius, cli_opt_outcome *out);

/* Seconds on a monotonic clock. */
double cli_opt_now(void);

#endif
