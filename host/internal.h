/* Internal structures and helpers shared by the host sources. */
#ifndef QDML_INTERNAL_H
#define QDML_INTERNAL_H

#include <qdml/qdml.h>

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "status.h"

struct qdml_context {
    qdml_backend backend;
    int nthreads;
    qdml_fft_effort effort;
    qdml_precision precision;
    const qdml_backend_ops *ops;
    char wisdom[4096]; /* FFTW wisdom file ("" = none) */
    qdml_par *par;     /* the ranks of a context made by qdml_context_create_mpi, else NULL */
    int device;        /* the device of a device backend (-1: the calling thread's current one) */
    char error[QDML_ERRLEN];
};

/* History of one member: a growable array of statistics. */
typedef struct qdml_history {
    qdml_stats *items;
    size_t count, capacity;
} qdml_history;

/* Where a member's ground-state search stands, kept between qdml_problem_ground calls (and in
 * checkpoints) so that qdml_ground_options.resume can continue it exactly. */
typedef struct qdml_ground_member {
    double dt_min;           /* smallest step the schedule may use */
    int64_t stalled;         /* monitoring points in a row at the floor of dt_min */
    unsigned char converged; /* residual <= tolerance was reached */
    unsigned char active;    /* still searching */
    qdml_stats last;         /* statistics the search last took of this member (its results[b].final) */
} qdml_ground_member;

struct qdml_problem {
    qdml_context *ctx;
    const qdml_backend_ops *ops;
    qdml_backend_state *bs;
    qdml_grid grid;
    qdml_backend_desc desc;
    int64_t npoints, batch;
    double *hbar, *mass;      /* per member */
    double *vmin;             /* per member: min of V (shift for renormalised imaginary time) */
    unsigned char *has_potential;
    int64_t *steps;           /* per member: steps since the state was set */
    double *time;             /* per member: elapsed time since the state was set */
    double *dt;               /* per member: last step size used */
    qdml_step_params *built;  /* per member: parameters the backend's step tables were built for */
    unsigned char *built_ok;  /* per member: `built` is valid (cleared when V, hbar or mass change) */
    qdml_history *history;    /* per member */
    qdml_ground_member *ground; /* per member: the last ground-state search's schedule */
    int ground_valid;         /* `ground` describes the current states (cleared by any other change) */
    qdml_run_info last_run;   /* the options of the last run that started (qdml_problem_last_run) */
    qdml_schedule *sched;     /* NULL, or per member its kinetic and potential schedules (2 b, 2 b + 1) */
    unsigned char *scheduled; /* NULL, or per member: a schedule other than the constant 1 is set */
    double *part;             /* qdml_problem_get_state_part on a backend without get_part: the member whole */
    int64_t part_member;
    int start_known;          /* the states are as a successful qdml_problem_evolve left them, measured
                               * finite with positive norms, and no potential, hbar or mass has changed
                               * since: the next evolve need not measure its start again */
};

/* The largest of v over the ranks of ctx's communicator (v itself for a context of one process): what
 * one rank alone can know (a callback's answer, a file's fate, its free memory) made the same on every
 * rank, so that all take the same branch. */
int qdml_par_max(const qdml_context *ctx, int v);
/* This process's rank (0 for a context of one process): only rank 0 writes files. */
int qdml_par_rank(const qdml_context *ctx);

/* Check an objective for `dim` dimensions (objectives.c); on failure the message (in ctx, when not
 * NULL, and the thread-local slot) starts with fn. */
qdml_status qdml_objective_check(qdml_context *ctx, const qdml_objective *o, int dim, const char *fn);
/* The walkers' objectives in any dim: the number of per-axis parameters of a kind, and the check of o in dim
 * dimensions with its per-axis values from axes (NULL: from the slots, equal ones in dim > 3) written to out
 * (qdml_objective_axis_params x dim values; walkers.c). */
int qdml_objective_axis_params(qdml_objective_kind kind);
qdml_status qdml_objective_check_axes(qdml_context *ctx, const qdml_objective *o, int dim, const double *axes,
                                      double *out, const char *fn);

/* Statistics from raw moments. */
void qdml_stats_from_moments(const qdml_problem *p, int64_t member, const qdml_moments *m, qdml_stats *out);
/* Append statistics to a member's history; returns QDML_ERR_OUT_OF_MEMORY on failure. */
qdml_status qdml_history_push(qdml_problem *p, int64_t member, const qdml_stats *s);
/* Reset a member's clock and history (new state). */
void qdml_member_reset(qdml_problem *p, int64_t member);

#endif
