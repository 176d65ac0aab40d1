/* The adaptive ground-state search, qdml_problem_ground: imaginary time with a step per member that
 * shrinks when the residual stops falling at the splitting's floor, resumable where a call stopped.
 * Its lowest-states variant adds the block's orthonormalisation (lowest_states.c). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ground.h"
#include "lobpcg.h"

void qdml_ground_options_default(qdml_ground_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->tolerance = 1e-6;
    o->max_steps = 200000;
    o->monitor_every = 0;
    o->dt_initial = 0.0;
    o->dt_min = 0.0;
}

/* One search: its run, the call's arguments, and each member's schedule (kept in p->ground
 * between calls). */
typedef struct search {
    qdml_run r;
    const qdml_ground_options *o;
    qdml_run_result *results;
    const char *fn;
    const qdml_ground_block *block; /* the lowest states (lowest_states.c): the members step as one block;
                                       NULL: each member on its own */
    int64_t every;            /* steps between monitoring points */
    double *moved;            /* per member: sum |psi - backup|^2 over the last stretch (distance op) */
    int *stalled;             /* per member: monitoring points in a row at the floor of dtmin */
    double *dtmin;            /* per member: smallest step the schedule may use */
    unsigned char *converged; /* per member: residual <= tolerance at the last monitoring point */
    int stopped;              /* the monitor callback asked to stop */
} search;

/* The arguments, and whether the problem can start (or resume) a search: every error that leaves
 * the problem as it was. */
static qdml_status validate(qdml_problem *p, const qdml_ground_options *o, const char *fn,
                            const qdml_ground_block *block) {
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    if (!o) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options is NULL", fn);
    if (!isfinite(o->tolerance) || !(o->tolerance > 0))
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.tolerance = %g: must be positive and finite",
                         fn, o->tolerance);
    if (o->max_steps < 1)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.max_steps = %lld: must be >= 1", fn,
                         (long long)o->max_steps);
    if (o->monitor_every < 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: options.monitor_every = %lld: must be >= 0 (0: automatic)", fn,
                         (long long)o->monitor_every);
    if (!isfinite(o->dt_initial) || o->dt_initial < 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.dt_initial = %g: must be >= 0 (0: automatic)",
                         fn, o->dt_initial);
    if (!isfinite(o->dt_min) || o->dt_min < 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.dt_min = %g: must be >= 0 (0: automatic)", fn,
                         o->dt_min);
    if (o->method != QDML_GROUND_IMAGINARY_TIME && o->method != QDML_GROUND_LOBPCG && o->method != QDML_GROUND_AUTO)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: options.method = %d: give QDML_GROUND_IMAGINARY_TIME (0), QDML_GROUND_LOBPCG (1) or "
                         "QDML_GROUND_AUTO (2)",
                         fn, o->method);
    if (o->guard_states < -1 || o->guard_states > 64)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: options.guard_states = %lld: give 0 (automatic), -1 (none) or 1 .. 64", fn,
                         (long long)o->guard_states);
    qdml_status st = qdml_solver_check_ready(p, fn);
    if (st != QDML_OK) return st;
    if (block && (st = block->check(p, fn)) != QDML_OK) return st;
    if (o->method == QDML_GROUND_LOBPCG && (st = qdml_lobpcg_check(p, o, fn)) != QDML_OK) return st;
    if (o->resume && !p->ground_valid)
        return qdml_fail(p->ctx, QDML_ERR_NOT_READY,
                         "%s: options.resume = %d: there is no search to resume on this problem (none ran, or a state, "
                         "potential, hbar or mass was set, or the problem evolved, since)",
                         fn, o->resume);
    return QDML_OK;
}

static void search_free(search *s) {
    free(s->moved);
    free(s->stalled);
    free(s->dtmin);
    free(s->converged);
    qdml_run_free(&s->r);
}

/* The run (imaginary time, renormalised, Strang), results zeroed, and the schedule's scratch. */
static qdml_status search_init(search *s, qdml_problem *p, const qdml_ground_options *o, qdml_run_result *results,
                               const char *fn, const qdml_ground_block *block) {
    memset(s, 0, sizeof *s);
    s->o = o;
    s->results = results;
    s->fn = fn;
    s->block = block;
    qdml_run *r = &s->r;
    qdml_status st;
    if ((st = qdml_run_init(r, p, fn)) != QDML_OK) return st;
    r->imaginary = 1;
    r->renorm = 1;
    r->potential_only = 0;
    if (results) memset(results, 0, (size_t)p->batch * sizeof *results);
    s->every = o->monitor_every > 0 ? o->monitor_every : 20;
    s->moved = qdml_calloc_array((size_t)r->B, sizeof(double));
    s->stalled = qdml_calloc_array((size_t)r->B, sizeof(int));
    s->dtmin = qdml_calloc_array((size_t)r->B, sizeof(double));
    s->converged = qdml_calloc_array((size_t)r->B, 1);
    if (!s->moved || !s->stalled || !s->dtmin || !s->converged) {
        search_free(s);
        return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate scratch", fn);
    }
    return QDML_OK;
}

/* Resume: where the previous call stopped: same steps, floors, stall counts and flags. */
static qdml_status resume_schedule(search *s) {
    qdml_run *r = &s->r;
    qdml_problem *p = r->p;
    for (int64_t b = 0; b < r->B; ++b) {
        s->dtmin[b] = p->ground[b].dt_min;
        s->stalled[b] = (int)p->ground[b].stalled;
        s->converged[b] = p->ground[b].converged;
        r->active[b] = p->ground[b].active;
        /* A finished member's state has been through the inactive FFT round trips since its last
         * statistics (equal up to rounding): report those statistics, as an unbroken run does. */
        r->stats[b] = p->ground[b].last;
        qdml_status st = qdml_run_set_member_step(r, b, p->dt[b]);
        if (st != QDML_OK) return qdml_run_backend_error(r, st, s->fn, "set_step");
    }
    return QDML_OK;
}

/* INVALID_ARGUMENT for an initial state (member r->bad_member) the search cannot start from: the
 * state itself at fault (qdml_run_bad_start), or which of its sums the potential or grid overflows. */
static qdml_status bad_start(search *s) {
    qdml_run *r = &s->r;
    const qdml_status st = qdml_run_bad_start(r, r->bad_member, 1, s->fn);
    return st != QDML_OK ? st : qdml_run_describe_overflow(r, r->bad_member, s->fn);
}

/* A new search: each member's first step and smallest step from its initial statistics; members
 * already within the tolerance are done. */
static qdml_status first_steps(search *s) {
    qdml_run *r = &s->r;
    qdml_problem *p = r->p;
    const qdml_ground_options *o = s->o;
    qdml_status st;
    for (int64_t b = 0; b < r->B; ++b) {
        double dt0 = o->dt_initial;
        /* The initial state's energy scale above the potential minimum. */
        const double scale = r->stats[b].kinetic + r->stats[b].potential - p->vmin[b];
        if (dt0 == 0.0) {
            /* One unit of that scale: excited components at that scale decay by e^-1 per step, and
             * Strang is stable at any step. */
            dt0 = scale > 0 ? p->hbar[b] / scale : 1.0;
        } else if (scale > 0 && dt0 * scale / p->hbar[b] < 64.0 * DBL_EPSILON && r->stats[b].residual > o->tolerance) {
            /* A step changes the state by about dt scale / hbar of itself: below rounding the state never
             * moves, and the search would stall at once (reported as not converged, as if it had run). */
            return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                             "%s: options.dt_initial = %g is too small for member %lld: a step changes its state by "
                             "about dt_initial x (energy scale %g) / hbar = %.3g of itself, within double rounding; "
                             "the smallest dt_initial that moves it is %.3g (0: automatic)",
                             s->fn, dt0, (long long)b, scale, dt0 * scale / p->hbar[b],
                             64.0 * DBL_EPSILON * p->hbar[b] / scale);
        }
        if (o->dt_min > dt0)
            return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                             "%s: options.dt_min = %g exceeds the first step %g of member %lld (%s): the schedule "
                             "shrinks the step from the first towards dt_min; give dt_min <= the first step",
                             s->fn, o->dt_min, dt0, (long long)b,
                             o->dt_initial > 0 ? "options.dt_initial" : "automatic: hbar over the energy scale");
        s->dtmin[b] = o->dt_min > 0 ? o->dt_min : dt0 * 1e-6;
        if (p->desc.precision == QDML_FLOAT32) {
            /* Rounding of float32 states leaves a residual of about u hbar / dtau (u = 2^-24 ~ 6e-8)
             * that grows as the step shrinks: below this step a smaller one only makes it worse. */
            double dt_round = 6e-8 * p->hbar[b] / o->tolerance;
            if (dt_round > dt0) dt_round = dt0;
            if (s->dtmin[b] < dt_round) s->dtmin[b] = dt_round;
        }
        if ((st = qdml_run_set_member_step(r, b, dt0)) != QDML_OK)
            return qdml_run_backend_error(r, st, s->fn, "set_step");
        if (r->stats[b].residual <= o->tolerance) {
            s->converged[b] = 1;
            r->active[b] = 0;
        }
    }
    if (s->block && (st = s->block->sync(r, s->converged, s->stalled)) != QDML_OK)
        return qdml_run_backend_error(r, st, s->fn, "set_step");
    return QDML_OK;
}

/* Start a new search, or resume the last one (the lowest states orthonormalised first when new). */
static qdml_status start(search *s, int resume) {
    qdml_run *r = &s->r;
    qdml_status st;
    if (s->block && !resume && (st = s->block->start(r, s->fn)) != QDML_OK) return st;
    /* Start: statistics of the initial states set the first step and may already satisfy the tolerance. */
    if ((st = qdml_run_measure(r, NULL, s->fn)) != QDML_OK) return st;
    if (resume && r->bad_member < 0) return resume_schedule(s);
    if (r->bad_member >= 0) return bad_start(s);
    return first_steps(s);
}

/* The step-size schedule of active member b at a monitoring point, after `chunk` steps: done when
 * its residual is within the tolerance; a smaller step when the residual has stopped falling; at
 * the smallest step, stopped (not converged) after 5 points in a row there. */
static qdml_status schedule_member(search *s, int64_t b, int64_t chunk) {
    qdml_run *r = &s->r;
    qdml_problem *p = r->p;
    const qdml_ground_options *o = s->o;
    const double res = r->stats[b].residual;
    if (res <= o->tolerance) {
        s->converged[b] = 1;
        r->active[b] = 0;
        return QDML_OK;
    }
    s->converged[b] = 0; /* (lowest states: judged again at every point, see block_sync) */
    /* hbar dpsi/dtau = -(H_split - E) psi, so hbar |delta psi| / (k dtau) is the residual of
     * the split operator: it vanishes at the split fixed point, while the residual of the true
     * H stays at the O(dtau^2) splitting floor. When the state has stopped moving compared
     * with its true residual, only a smaller step can lower the residual further. Both
     * measures are per unit of imaginary time, so slow convergence at a small step is not
     * mistaken for the floor. */
    const double split_res = p->hbar[b] * sqrt(s->moved[b] * p->desc.dv) / ((double)chunk * p->dt[b]);
    if (split_res < 0.1 * res && p->dt[b] > s->dtmin[b]) {
        /* The floor scales as dtau^2: aim below a quarter of the tolerance, shrinking by at
         * least 2x and at most 4x at once, so each stage starts close to its fixed point. */
        double ratio = sqrt(o->tolerance / (4.0 * res));
        if (ratio < 0.25) ratio = 0.25;
        if (ratio > 0.5) ratio = 0.5;
        double dt = p->dt[b] * ratio;
        if (dt < s->dtmin[b]) dt = s->dtmin[b];
        qdml_status st = qdml_run_set_member_step(r, b, dt);
        if (st != QDML_OK) return qdml_run_backend_error(r, st, s->fn, "set_step");
    } else if (split_res < 0.1 * res) {
        /* At the floor of the smallest step allowed: nothing will lower the residual, so
         * stop this member (not converged) rather than spend the remaining steps. */
        if (++s->stalled[b] >= 5) r->active[b] = 0;
    } else {
        s->stalled[b] = 0;
    }
    return QDML_OK;
}

/* Stretches of s->every steps until every member has stopped, the callback asks to stop, or
 * max_steps: after each, statistics, a backup, the history, the callback and the schedule. A member
 * that diverges is taken out and the stretch redone without it; in the lowest-states block, the
 * whole block goes back and the search ends (DIVERGED, returned as the search's status). */
static qdml_status monitor_loop(search *s) {
    qdml_run *r = &s->r;
    qdml_problem *p = r->p;
    const qdml_ground_options *o = s->o;
    const char *fn = s->fn;
    qdml_status st;
    int64_t taken = 0;
    for (;;) {
        int any = 0;
        for (int64_t b = 0; b < r->B; ++b) any |= r->active[b];
        if (!any || s->stopped || taken >= o->max_steps) break;
        int64_t chunk = o->max_steps - taken < s->every ? o->max_steps - taken : s->every;
        if ((st = s->block ? s->block->advance(r, chunk, fn) : qdml_run_advance(r, chunk, fn)) != QDML_OK)
            return st;
        if (r->bad_member < 0 && (st = qdml_run_measure(r, r->active, fn)) != QDML_OK) return st;
        if (r->bad_member >= 0) {
            /* One block: every member goes back and the search stops (qdml_run_diverged returns DIVERGED). */
            if (s->block) return qdml_run_diverged(r, s->results, fn);
            /* Redo this stretch without the bad member. */
            if ((st = qdml_run_isolate(r, fn)) != QDML_OK) return st;
            continue;
        }
        taken += chunk;
        /* How far each state moved since the last monitoring point (the backup holds it). */
        if ((st = p->ops->distance(p->bs, r->active, s->moved)) != QDML_OK)
            return qdml_run_backend_error(r, st, fn, "distance");
        if ((st = qdml_run_save_backup(r, fn)) != QDML_OK) return st;
        if ((st = qdml_run_record(r, r->active)) != QDML_OK) return st;
        if (o->monitor && qdml_par_max(p->ctx, o->monitor(r->stats, r->B, o->monitor_user) != 0)) s->stopped = 1;
        for (int64_t b = 0; b < r->B; ++b)
            if (r->active[b] && (st = schedule_member(s, b, chunk)) != QDML_OK) return st;
        if (s->block && (st = s->block->sync(r, s->converged, s->stalled)) != QDML_OK)
            return qdml_run_backend_error(r, st, fn, "set_step");
    }
    return QDML_OK;
}

/* The results, each member's schedule kept for a resumed call, and the call's status. */
static qdml_status finish(search *s) {
    qdml_run *r = &s->r;
    qdml_problem *p = r->p;
    qdml_run_result *results = s->results;
    if (results)
        for (int64_t b = 0; b < r->B; ++b) {
            results[b].final = r->stats[b];
            results[b].steps = r->run_steps[b];
            results[b].converged = s->converged[b];
            results[b].stopped_by_callback = s->stopped && !s->converged[b];
            results[b].finished = !r->active[b];
            results[b].hamiltonian_applications = r->happ[b];
            results[b].method = QDML_GROUND_IMAGINARY_TIME;
        }
    if (r->ndiv > 0) (void)qdml_run_report_diverged(r, results, s->fn);
    for (int64_t b = 0; b < r->B; ++b) {
        p->ground[b].dt_min = s->dtmin[b];
        p->ground[b].stalled = s->stalled[b];
        p->ground[b].converged = s->converged[b];
        p->ground[b].active = r->active[b];
        p->ground[b].last = r->stats[b];
    }
    p->ground_valid = 1;
    if (r->ndiv > 0) return QDML_ERR_DIVERGED; /* (message set by report_diverged above) */
    qdml_clear_error(p->ctx);
    return QDML_OK;
}

qdml_status qdml_ground_run(qdml_problem *p, const qdml_ground_options *o, qdml_run_result *results, const char *fn,
                            const qdml_ground_block *block) {
    qdml_status st = validate(p, o, fn, block);
    if (st != QDML_OK) return st;
    const int resume = o->resume != 0;
    p->ground_valid = 0;
    memset(&p->last_run, 0, sizeof p->last_run);
    p->last_run.kind = block ? QDML_RUN_LOWEST_STATES : QDML_RUN_GROUND;
    p->last_run.mode = QDML_IMAGINARY_TIME;
    p->last_run.splitting = QDML_SPLIT_STRANG;
    p->last_run.renormalize = 1;
    p->last_run.tolerance = o->tolerance;
    p->last_run.dt_initial = o->dt_initial;
    p->last_run.dt_min = o->dt_min;
    p->last_run.monitor_every = o->monitor_every;
    p->last_run.precision = p->desc.precision;
    int method = o->method;
    if (method == QDML_GROUND_AUTO)
        method = !resume && qdml_lobpcg_available(p) ? QDML_GROUND_LOBPCG : QDML_GROUND_IMAGINARY_TIME;
    if (method == QDML_GROUND_LOBPCG) return qdml_lobpcg_run(p, o, results, fn, block);
    search s;
    if ((st = search_init(&s, p, o, results, fn, block)) != QDML_OK) return st;
    if ((st = start(&s, resume)) == QDML_OK && (st = qdml_run_save_backup(&s.r, fn)) == QDML_OK &&
        (st = monitor_loop(&s)) == QDML_OK)
        st = finish(&s);
    search_free(&s);
    return st;
}

qdml_status qdml_problem_ground(qdml_problem *p, const qdml_ground_options *o, qdml_run_result *results) {
    return qdml_ground_run(p, o, results, "qdml_problem_ground", NULL);
}
