/* The adaptive ground-state search, qdml_problem_ground: imaginary time with a step per member that
 * shrinks when the residual stops falling at the splitting's floor, resumable where a call stopped.
 * Its lowest-states variant adds the block's orthonormalisation (lowest_states.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ground.h"

void qdml_ground_options_default(qdml_ground_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->tolerance = 1e-6;
    o->max_steps = 200000;
    o->monitor_every = 0;
    o->dt_initial = 0.0;
    o->dt_min = 0.0;
}

qdml_status qdml_ground_run(qdml_problem *p, const qdml_ground_options *o, qdml_run_result *results, const char *fn,
                            int ortho) {
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
    qdml_status st = qdml_solver_check_ready(p, fn);
    if (st != QDML_OK) return st;
    if (ortho && (st = qdml_lowest_check_one_hamiltonian(p, fn)) != QDML_OK) return st;
    if (o->resume && !p->ground_valid)
        return qdml_fail(p->ctx, QDML_ERR_NOT_READY,
                         "%s: options.resume = %d: there is no search to resume on this problem (none ran, or a state, "
                         "potential, hbar or mass was set, or the problem evolved, since)",
                         fn, o->resume);
    const int resume = o->resume != 0;
    p->ground_valid = 0;
    qdml_run r;
    if ((st = qdml_run_init(&r, p, fn)) != QDML_OK) return st;
    r.imaginary = 1;
    r.renorm = 1;
    r.potential_only = 0;
    if (results) memset(results, 0, (size_t)p->batch * sizeof *results);
    const int64_t every = o->monitor_every > 0 ? o->monitor_every : 20;
    double *moved = qdml_calloc_array((size_t)r.B, sizeof(double));
    int *stalled = qdml_calloc_array((size_t)r.B, sizeof(int));
    double *dtmin = qdml_calloc_array((size_t)r.B, sizeof(double));
    unsigned char *converged = qdml_calloc_array((size_t)r.B, 1);
    if (!moved || !stalled || !dtmin || !converged) {
        st = qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate scratch", fn);
        goto done;
    }

    if (ortho && !resume && (st = qdml_lowest_start(&r, fn)) != QDML_OK) goto done;
    /* Start: statistics of the initial states set the first step and may already satisfy the tolerance. */
    if ((st = qdml_run_measure(&r, NULL, fn)) != QDML_OK) goto done;
    if (resume && r.bad_member < 0) {
        /* Where the previous call stopped: same steps, floors, stall counts and flags. */
        for (int64_t b = 0; b < r.B; ++b) {
            dtmin[b] = p->ground[b].dt_min;
            stalled[b] = (int)p->ground[b].stalled;
            converged[b] = p->ground[b].converged;
            r.active[b] = p->ground[b].active;
            /* A finished member's state has been through the inactive FFT round trips since its last
             * statistics (equal up to rounding): report those statistics, as an unbroken run does. */
            r.stats[b] = p->ground[b].last;
            if ((st = qdml_run_set_member_step(&r, b, p->dt[b])) != QDML_OK) {
                st = qdml_run_backend_error(&r, st, fn, "set_step");
                goto done;
            }
        }
        goto search;
    }
    if (r.bad_member >= 0) {
        const qdml_moments *m = &r.mom[r.bad_member];
        if (m->finite && !(m->s0 > 0))
            st = qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                           "%s: the initial state of member %lld has zero norm; set a state that overlaps the ground "
                           "state",
                           fn, (long long)r.bad_member);
        else
            st = qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                           "%s: the energy of the initial state of member %lld overflows double precision (<V> = %g, "
                           "<T> = %g per unit norm); rescale the potential or the box",
                           fn, (long long)r.bad_member, m->s0 > 0 ? m->sv / m->s0 : m->sv,
                           m->s0 > 0 ? m->st / m->s0 : m->st);
        goto done;
    }
    for (int64_t b = 0; b < r.B; ++b) {
        double dt0 = o->dt_initial;
        if (dt0 == 0.0) {
            /* One unit of the initial state's energy scale above the potential minimum: excited
             * components at that scale decay by e^-1 per step, and Strang is stable at any step. */
            double scale = r.stats[b].kinetic + r.stats[b].potential - p->vmin[b];
            dt0 = scale > 0 ? p->hbar[b] / scale : 1.0;
        }
        dtmin[b] = o->dt_min > 0 ? o->dt_min : dt0 * 1e-6;
        if (p->desc.precision == QDML_FLOAT32) {
            /* Rounding of float32 states leaves a residual of about u hbar / dtau (u = 2^-24 ~ 6e-8)
             * that grows as the step shrinks: below this step a smaller one only makes it worse. */
            double dt_round = 6e-8 * p->hbar[b] / o->tolerance;
            if (dt_round > dt0) dt_round = dt0;
            if (dtmin[b] < dt_round) dtmin[b] = dt_round;
        }
        if ((st = qdml_run_set_member_step(&r, b, dt0)) != QDML_OK) {
            st = qdml_run_backend_error(&r, st, fn, "set_step");
            goto done;
        }
        if (r.stats[b].residual <= o->tolerance) {
            converged[b] = 1;
            r.active[b] = 0;
        }
    }
    if (ortho && (st = qdml_lowest_block_sync(&r, converged, stalled)) != QDML_OK) {
        st = qdml_run_backend_error(&r, st, fn, "set_step");
        goto done;
    }
search:
    if ((st = qdml_run_save_backup(&r, fn)) != QDML_OK) goto done;

    int stopped = 0;
    int64_t taken = 0;
    for (;;) {
        int any = 0;
        for (int64_t b = 0; b < r.B; ++b) any |= r.active[b];
        if (!any || stopped || taken >= o->max_steps) break;
        int64_t chunk = o->max_steps - taken < every ? o->max_steps - taken : every;
        if ((st = ortho ? qdml_lowest_advance(&r, chunk, fn) : qdml_run_advance(&r, chunk, fn)) != QDML_OK) goto done;
        if (r.bad_member < 0 && (st = qdml_run_measure(&r, r.active, fn)) != QDML_OK) goto done;
        if (r.bad_member >= 0) {
            if (ortho) {
                /* One block: every member goes back and the search stops. */
                st = qdml_run_diverged(&r, results, fn);
                goto done;
            }
            /* Redo this stretch without the bad member. */
            if ((st = qdml_run_isolate(&r, fn)) != QDML_OK) goto done;
            continue;
        }
        taken += chunk;
        /* How far each state moved since the last monitoring point (the backup holds it). */
        if ((st = p->ops->distance(p->bs, r.active, moved)) != QDML_OK) {
            st = qdml_run_backend_error(&r, st, fn, "distance");
            goto done;
        }
        if ((st = qdml_run_save_backup(&r, fn)) != QDML_OK) goto done;
        if ((st = qdml_run_record(&r, r.active)) != QDML_OK) goto done;
        if (o->monitor && o->monitor(r.stats, r.B, o->monitor_user)) stopped = 1;
        for (int64_t b = 0; b < r.B; ++b) {
            if (!r.active[b]) continue;
            const double res = r.stats[b].residual;
            if (res <= o->tolerance) {
                converged[b] = 1;
                r.active[b] = 0;
                continue;
            }
            converged[b] = 0; /* (lowest states: judged again at every point, see block_sync) */
            /* hbar dpsi/dtau = -(H_split - E) psi, so hbar |delta psi| / (k dtau) is the residual of
             * the split operator: it vanishes at the split fixed point, while the residual of the true
             * H stays at the O(dtau^2) splitting floor. When the state has stopped moving compared
             * with its true residual, only a smaller step can lower the residual further. Both
             * measures are per unit of imaginary time, so slow convergence at a small step is not
             * mistaken for the floor. */
            const double split_res = p->hbar[b] * sqrt(moved[b] * p->desc.dv) / ((double)chunk * p->dt[b]);
            if (split_res < 0.1 * res && p->dt[b] > dtmin[b]) {
                /* The floor scales as dtau^2: aim below a quarter of the tolerance, shrinking by at
                 * least 2x and at most 4x at once, so each stage starts close to its fixed point. */
                double ratio = sqrt(o->tolerance / (4.0 * res));
                if (ratio < 0.25) ratio = 0.25;
                if (ratio > 0.5) ratio = 0.5;
                double dt = p->dt[b] * ratio;
                if (dt < dtmin[b]) dt = dtmin[b];
                if ((st = qdml_run_set_member_step(&r, b, dt)) != QDML_OK) {
                    st = qdml_run_backend_error(&r, st, fn, "set_step");
                    goto done;
                }
            } else if (split_res < 0.1 * res) {
                /* At the floor of the smallest step allowed: nothing will lower the residual, so
                 * stop this member (not converged) rather than spend the remaining steps. */
                if (++stalled[b] >= 5) r.active[b] = 0;
            } else {
                stalled[b] = 0;
            }
        }
        if (ortho && (st = qdml_lowest_block_sync(&r, converged, stalled)) != QDML_OK) {
            st = qdml_run_backend_error(&r, st, fn, "set_step");
            goto done;
        }
    }
    if (results)
        for (int64_t b = 0; b < r.B; ++b) {
            results[b].final = r.stats[b];
            results[b].steps = r.run_steps[b];
            results[b].converged = converged[b];
            results[b].stopped_by_callback = stopped && !converged[b];
            results[b].finished = !r.active[b];
        }
    if (r.ndiv > 0) (void)qdml_run_report_diverged(&r, results, fn);
    for (int64_t b = 0; b < r.B; ++b) {
        p->ground[b].dt_min = dtmin[b];
        p->ground[b].stalled = stalled[b];
        p->ground[b].converged = converged[b];
        p->ground[b].active = r.active[b];
        p->ground[b].last = r.stats[b];
    }
    p->ground_valid = 1;
    if (r.ndiv > 0)
        st = QDML_ERR_DIVERGED; /* (message set by report_diverged above) */
    else
        qdml_clear_error(p->ctx);
done:
    free(moved);
    free(stalled);
    free(dtmin);
    free(converged);
    qdml_run_free(&r);
    return st;
}

qdml_status qdml_problem_ground(qdml_problem *p, const qdml_ground_options *o, qdml_run_result *results) {
    return qdml_ground_run(p, o, results, "qdml_problem_ground", 0);
}
