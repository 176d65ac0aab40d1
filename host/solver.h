/* The split-step driver's shared core, private to the host: the state of one run (qdml_run) and
 * the steps every driver is built from (advance, measure, back up, take a diverged member out),
 * written once against the backend ops table (backend.h). The drivers: evolve.c (fixed steps),
 * ground.c (the adaptive ground-state search) and lowest_states.c (its orthonormalised block). */
#ifndef QDML_SOLVER_H
#define QDML_SOLVER_H

#include <stdint.h>

#include "internal.h"

/* Steps per block of a run with schedules (scheduled_advance in solver.c). */
enum { QDML_SCHED_BLOCK = 256 };

typedef struct qdml_run {
    qdml_problem *p;
    int64_t B;
    int imaginary, renorm, potential_only;
    int nsub;              /* Strang substeps per step (1: Strang itself) */
    int chin;              /* Chin's forward 4th-order step instead (nsub, coef unused) */
    const double *coef;    /* their lengths in units of the step (nsub values, summing to 1) */
    unsigned char *active; /* members that step */
    double *scale, *norms;
    qdml_moments *mom;
    qdml_stats *stats;     /* latest statistics per member */
    int64_t *bk_steps;     /* clocks at the last backup (restored on divergence) */
    double *bk_time;
    int64_t *run_steps;    /* steps taken by each member in this call */
    int64_t *bk_run_steps;
    int64_t *stop;         /* per member: where the backend's steps op found a bad norm (backend.h) */
    int steps_declined;    /* the steps op answered done = 0 in this run: the single ops from then on */
    double *lognorm;       /* when not NULL (single ops only): per member, the sum of ln(norm dv) of every
                              renormalisation, the log of the norm the steps took away (split energy) */
    double *sched;         /* NULL, or (a run with schedules, qdml.h) per member the values of a(t) and b(t)
                              at the midpoints of the steps of a block (QDML_SCHED_BLOCK steps) */
    double *sched_kdt, *sched_vh; /* with sched: the block's kinetic and potential steps per member, as the
                              backend's steps_scheduled op takes them (B x QDML_SCHED_BLOCK each) */
    int64_t *happ;         /* per member: H psi computed in this run (qdml_run_result.hamiltonian_applications) */
    int64_t bad_member;    /* first member found non-finite, or -1 */
    int runaway;           /* bad_member's energy ran away (real time) rather than turned non-finite */
    double runaway_energy, runaway_ref, runaway_scale;
    unsigned char *div;    /* members taken out of the run because they diverged */
    int64_t ndiv;
    int64_t div_first, div_step, div_good_step; /* the first of them: member, step found, step kept */
    double div_dt;
    char div_why[256];
} qdml_run;

/* Substep lengths c_1 .. c_m of the splittings (qdml.h; solver.c gives their sources): Strang (m = 1),
 * Yoshida's (m = 3) and Suzuki's (m = 5) fourth-order compositions. */
extern const double qdml_solver_split_strang[1];
extern const double qdml_solver_split_yoshida4[3];
extern const double qdml_solver_split_suzuki4[5];

/* NOT_READY, naming fn, when a member has no potential. */
qdml_status qdml_solver_check_ready(qdml_problem *p, const char *fn);

/* Per-member scratch for a run on p (every member active, Strang); OUT_OF_MEMORY naming fn. */
qdml_status qdml_run_init(qdml_run *r, qdml_problem *p, const char *fn);
void qdml_run_free(qdml_run *r);
/* Fail with st, naming fn, the backend, the op (`what`) and the message the op left (qdml_fail_from). */
qdml_status qdml_run_backend_error(qdml_run *r, qdml_status st, const char *fn, const char *what);
/* Make dt member b's step in force and build its step tables for it (skipped when they hold it). */
qdml_status qdml_run_set_member_step(qdml_run *r, int64_t b, double dt);
/* Tables of every active member for the substep c dt of its step. */
qdml_status qdml_run_set_substeps(qdml_run *r, double c, const char *fn);
/* Back up every state and the clocks (what qdml_run_isolate restores). */
qdml_status qdml_run_save_backup(qdml_run *r, const char *fn);
/* n whole steps of every active member. */
qdml_status qdml_run_advance(qdml_run *r, int64_t n, const char *fn);
/* Statistics of the members in `want` (NULL: all). */
qdml_status qdml_run_measure(qdml_run *r, const unsigned char *want, const char *fn);
/* Back to the backup, r->bad_member taken out of the rest of the run. */
qdml_status qdml_run_isolate(qdml_run *r, const char *fn);
/* Back to the backup and DIVERGED, for a block whose members cannot go on without one another. */
qdml_status qdml_run_diverged(qdml_run *r, qdml_run_result *results, const char *fn);
/* DIVERGED at the end of a run from which qdml_run_isolate took members out. */
qdml_status qdml_run_report_diverged(qdml_run *r, qdml_run_result *results, const char *fn);
/* Member b's start measured bad (r->mom[b] not finite, or zero norm): INVALID_ARGUMENT naming the
 * member when the state is at fault (not finite, a norm beyond double precision, a scale at which its
 * energy sums overflow though at norm 1 they do not, or with zero_is_bad a norm of 0); QDML_OK when it
 * is not (the potential or the grid is, or a zero state a run takes out: the caller decides). The
 * states are left as they were. */
qdml_status qdml_run_bad_start(qdml_run *r, int64_t b, int zero_is_bad, const char *fn);
/* INVALID_ARGUMENT naming which of member b's start sums overflowed (<V>, <T> or the residual). */
qdml_status qdml_run_describe_overflow(qdml_run *r, int64_t b, const char *fn);
/* Whether any member still steps. */
int qdml_run_any_active(const qdml_run *r);
/* Append the latest statistics of the members in `which` (NULL: all) to their histories. */
qdml_status qdml_run_record(qdml_run *r, const unsigned char *which);

#endif
