/* The split-step driver: fixed-step evolution and the adaptive ground-state search. Written once
 * against the backend ops table (backend.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct run {
    qdml_problem *p;
    int64_t B;
    int imaginary, renorm, potential_only;
    unsigned char *active; /* members that step */
    double *scale, *norms;
    qdml_moments *mom;
    qdml_stats *stats;     /* latest statistics per member */
    int64_t *bk_steps;     /* clocks at the last backup (restored on divergence) */
    double *bk_time;
    int64_t *run_steps;    /* steps taken by each member in this call */
    int64_t *bk_run_steps;
    int64_t bad_member;    /* first member found non-finite, or -1 */
    int runaway;           /* bad_member's energy ran away (real time) rather than turned non-finite */
    double runaway_energy, runaway_ref, runaway_scale;
} run;

static void run_free(run *r) {
    free(r->active);
    free(r->scale);
    free(r->norms);
    free(r->mom);
    free(r->stats);
    free(r->bk_steps);
    free(r->bk_time);
    free(r->run_steps);
    free(r->bk_run_steps);
}

static qdml_status run_init(run *r, qdml_problem *p, const char *fn) {
    memset(r, 0, sizeof *r);
    r->p = p;
    r->B = p->batch;
    r->bad_member = -1;
    size_t nb = (size_t)p->batch;
    r->active = qdml_calloc_array(nb, 1);
    r->scale = qdml_calloc_array(nb, sizeof(double));
    r->norms = qdml_calloc_array(nb, sizeof(double));
    r->mom = qdml_calloc_array(nb, sizeof(qdml_moments));
    r->stats = qdml_calloc_array(nb, sizeof(qdml_stats));
    r->bk_steps = qdml_calloc_array(nb, sizeof(int64_t));
    r->bk_time = qdml_calloc_array(nb, sizeof(double));
    r->run_steps = qdml_calloc_array(nb, sizeof(int64_t));
    r->bk_run_steps = qdml_calloc_array(nb, sizeof(int64_t));
    if (!r->active || !r->scale || !r->norms || !r->mom || !r->stats || !r->bk_steps || !r->bk_time ||
        !r->run_steps || !r->bk_run_steps) {
        run_free(r);
        return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate per-member scratch (batch %lld)", fn,
                         (long long)p->batch);
    }
    for (int64_t b = 0; b < r->B; ++b) {
        r->active[b] = 1;
        r->scale[b] = 1.0;
    }
    return QDML_OK;
}

static qdml_status check_ready(qdml_problem *p, const char *fn) {
    for (int64_t b = 0; b < p->batch; ++b)
        if (!p->has_potential[b])
            return qdml_fail(p->ctx, QDML_ERR_NOT_READY,
                             "%s: member %lld has no potential: call qdml_problem_set_potential first", fn, (long long)b);
    return QDML_OK;
}

static qdml_status backend_error(run *r, qdml_status st, const char *fn, const char *what) {
    const char *why = r->p->ops->last_error(r->p->bs);
    return qdml_fail(r->p->ctx, st, "%s: the %s backend failed in %s%s%s", fn, r->p->ops->name, what,
                     why && why[0] ? ": " : "", why ? why : "");
}

static qdml_status set_member_step(run *r, int64_t b, double dt) {
    qdml_problem *p = r->p;
    qdml_step_params sp;
    memset(&sp, 0, sizeof sp); /* compared bytewise below */
    sp.imaginary = r->imaginary;
    sp.dt = dt;
    sp.hbar = p->hbar[b];
    sp.mass = p->mass[b];
    /* Renormalised imaginary time may shift V freely; shifting by min V keeps every potential
     * factor <= 1, so no amount of negative potential can overflow. */
    sp.vshift = (r->imaginary && r->renorm) ? p->vmin[b] : 0.0;
    sp.potential_only = r->potential_only;
    sp.flush_tiny = r->imaginary && r->renorm;
    p->dt[b] = dt;
    /* Building the tables costs a transcendental function per point: skip it when nothing changed. */
    if (p->built_ok[b] && memcmp(&p->built[b], &sp, sizeof sp) == 0) return QDML_OK;
    p->built_ok[b] = 0;
    qdml_status st = p->ops->set_step(p->bs, b, &sp);
    if (st == QDML_OK) {
        p->built[b] = sp;
        p->built_ok[b] = 1;
    }
    return st;
}

static void save_clocks(run *r) {
    for (int64_t b = 0; b < r->B; ++b) {
        r->bk_steps[b] = r->p->steps[b];
        r->bk_time[b] = r->p->time[b];
        r->bk_run_steps[b] = r->run_steps[b];
    }
}

static qdml_status save_backup(run *r, const char *fn) {
    qdml_status st = r->p->ops->backup(r->p->bs, 0, NULL);
    if (st != QDML_OK) return backend_error(r, st, fn, "backup");
    save_clocks(r);
    return QDML_OK;
}

/* Scales that bring each active member back to norm 1; 0 (and r->bad_member set) when a norm is
 * not finite and positive. */
static int renorm_scales(run *r, const double *norms, double dv) {
    for (int64_t b = 0; b < r->B; ++b) {
        if (!r->active[b]) continue;
        if (!(isfinite(norms[b]) && norms[b] > 0)) {
            r->bad_member = b;
            return 0;
        }
        r->scale[b] = 1.0 / sqrt(norms[b] * dv);
    }
    return 1;
}

/* Advance every active member by n >= 1 whole steps, ending on a closing half kick. Sets
 * r->bad_member when a renormalisation norm is not finite and positive. */
static qdml_status advance(run *r, int64_t n, const char *fn) {
    qdml_problem *p = r->p;
    const qdml_backend_ops *ops = p->ops;
    const double dv = p->desc.dv;
    double *norms = (r->imaginary && r->renorm) ? r->norms : NULL;
    qdml_status st = ops->kick(p->bs, 0, r->active, norms);
    if (st != QDML_OK) return backend_error(r, st, fn, "kick");
    for (int64_t s = 0; s < n; ++s) {
        if (norms && !renorm_scales(r, norms, dv)) return QDML_OK;
        if (!r->potential_only) {
            if ((st = ops->fft(p->bs, 1)) != QDML_OK) return backend_error(r, st, fn, "forward FFT");
            if ((st = ops->kinetic(p->bs, r->scale, r->active)) != QDML_OK) return backend_error(r, st, fn, "kinetic");
            if ((st = ops->fft(p->bs, 0)) != QDML_OK) return backend_error(r, st, fn, "backward FFT");
        }
        /* With the kinetic step omitted, nothing carries the rescaling between steps; the closing
         * renormalisation suffices, since the shifted potential factors never exceed 1. */
        if ((st = ops->kick(p->bs, s + 1 < n, r->active, norms)) != QDML_OK) return backend_error(r, st, fn, "kick");
        for (int64_t b = 0; b < r->B; ++b)
            if (r->active[b]) {
                p->steps[b] += 1;
                p->time[b] += p->dt[b];
                r->run_steps[b] += 1;
            }
    }
    if (norms) {
        if (!renorm_scales(r, norms, dv)) return QDML_OK;
        if ((st = ops->scale(p->bs, r->scale, r->active)) != QDML_OK) return backend_error(r, st, fn, "scale");
    }
    return QDML_OK;
}

/* Statistics of the members in `want`; sets r->bad_member on a non-finite state. */
static qdml_status measure(run *r, const unsigned char *want, const char *fn) {
    qdml_problem *p = r->p;
    qdml_status st = p->ops->moments(p->bs, p->hbar, p->mass, want, r->mom);
    if (st != QDML_OK) return backend_error(r, st, fn, "moments");
    for (int64_t b = 0; b < r->B; ++b) {
        if (want && !want[b]) continue;
        if (!r->mom[b].finite || !(r->mom[b].s0 > 0)) {
            if (r->bad_member < 0) r->bad_member = b;
            continue;
        }
        qdml_stats_from_moments(p, b, &r->mom[b], &r->stats[b]);
    }
    return QDML_OK;
}

/* Restore the last good state of every member, fill results, and report DIVERGED. */
static qdml_status diverged(run *r, qdml_run_result *results, const char *fn) {
    qdml_problem *p = r->p;
    char why[256];
    if (r->runaway)
        snprintf(why, sizeof why, "its energy ran away (<H> = %g, %g at the start of the run, energy scale %g)",
                 r->runaway_energy, r->runaway_ref, r->runaway_scale);
    else
        snprintf(why, sizeof why, "became non-finite or zero, or its energy overflowed,");
    const int64_t bad = r->bad_member;
    const int64_t bad_step = p->steps[bad];
    qdml_status st = p->ops->backup(p->bs, 1, NULL);
    if (st != QDML_OK) return backend_error(r, st, fn, "restore");
    for (int64_t b = 0; b < r->B; ++b) {
        p->steps[b] = r->bk_steps[b];
        p->time[b] = r->bk_time[b];
        r->run_steps[b] = r->bk_run_steps[b];
    }
    r->bad_member = -1;
    st = measure(r, NULL, fn);
    if (st != QDML_OK) return st;
    if (results)
        for (int64_t b = 0; b < r->B; ++b) {
            results[b].final = r->stats[b];
            results[b].steps = r->run_steps[b];
            results[b].diverged = (b == bad);
        }
    return qdml_fail(p->ctx, QDML_ERR_DIVERGED,
                     "%s: member %lld %s by step %lld (dt = %g, hbar = %g, mass = %g); every member was restored to its "
                     "last good state at step %lld",
                     fn, (long long)bad, why, (long long)bad_step, p->dt[bad], p->hbar[bad], p->mass[bad],
                     (long long)r->bk_steps[bad]);
}

static qdml_status record(run *r, const unsigned char *which) {
    for (int64_t b = 0; b < r->B; ++b) {
        if (which && !which[b]) continue;
        qdml_status st = qdml_history_push(r->p, b, &r->stats[b]);
        if (st != QDML_OK) return st;
    }
    return QDML_OK;
}

void qdml_evolve_options_default(qdml_evolve_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->mode = QDML_REAL_TIME;
    o->dt = 0.0;
    o->steps = 0;
    o->monitor_every = 0;
    o->renormalize = 1;
    o->potential_only = 0;
}

void qdml_ground_options_default(qdml_ground_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->tolerance = 1e-6;
    o->max_steps = 200000;
    o->monitor_every = 0;
    o->dt_initial = 0.0;
    o->dt_min = 0.0;
}

qdml_status qdml_problem_evolve(qdml_problem *p, const qdml_evolve_options *o, qdml_run_result *results) {
    static const char fn[] = "qdml_problem_evolve";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    if (!o) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options is NULL", fn);
    if (o->mode != QDML_REAL_TIME && o->mode != QDML_IMAGINARY_TIME)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: options.mode = %d: expected QDML_REAL_TIME (0) or QDML_IMAGINARY_TIME (1)", fn, (int)o->mode);
    if (!isfinite(o->dt) || !(o->dt > 0))
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.dt = %g: must be positive and finite", fn, o->dt);
    if (o->steps < 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.steps = %lld: must be >= 0", fn,
                         (long long)o->steps);
    if (o->monitor_every < 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.monitor_every = %lld: must be >= 0 (0: only at the end)",
                         fn, (long long)o->monitor_every);
    qdml_status st = check_ready(p, fn);
    if (st != QDML_OK) return st;
    double *e_ref = NULL; /* per member: <H> and |<T>| + |<V>| at the start (real-time checks) */
    run r;
    if ((st = run_init(&r, p, fn)) != QDML_OK) return st;
    p->ground_valid = 0; /* the states move: a ground search cannot resume from them */
    r.imaginary = o->mode == QDML_IMAGINARY_TIME;
    r.renorm = r.imaginary && o->renormalize;
    r.potential_only = o->potential_only != 0;
    if (results) memset(results, 0, (size_t)p->batch * sizeof *results);

    for (int64_t b = 0; b < r.B && st == QDML_OK; ++b) st = set_member_step(&r, b, o->dt);
    if (st != QDML_OK) {
        st = backend_error(&r, st, fn, "set_step");
        goto done;
    }
    if ((st = save_backup(&r, fn)) != QDML_OK) goto done;

    /* <H> is conserved by real-time evolution (Strang conserves a nearby energy): a change of the
     * order of the energy scale itself means the step is far too large for the potential, and the
     * run is stopped as diverged. Checked at monitoring points, against the start. */
    const int check_energy = !r.imaginary && o->monitor_every > 0 && o->steps > 0;
    if (check_energy) {
        if ((e_ref = qdml_calloc_array((size_t)r.B, 2 * sizeof(double))) == NULL) {
            st = qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate scratch", fn);
            goto done;
        }
        if ((st = measure(&r, NULL, fn)) != QDML_OK) goto done;
        for (int64_t b = 0; b < r.B; ++b) {
            /* A member whose start is already non-finite (or zero) has no reference: the
             * non-finite checks below catch it as before. */
            const int ok = r.mom[b].finite && r.mom[b].s0 > 0;
            e_ref[2 * b] = ok ? r.stats[b].energy : 0.0;
            e_ref[2 * b + 1] = ok ? fabs(r.stats[b].kinetic) + fabs(r.stats[b].potential) : 0.0;
        }
        r.bad_member = -1;
    }

    int stopped = 0;
    int64_t done_steps = 0;
    while (done_steps < o->steps && !stopped) {
        int64_t chunk = o->steps - done_steps;
        if (o->monitor_every > 0 && o->monitor_every < chunk) chunk = o->monitor_every;
        if ((st = advance(&r, chunk, fn)) != QDML_OK) goto done;
        if (r.bad_member >= 0) {
            st = diverged(&r, results, fn);
            goto done;
        }
        done_steps += chunk;
        if ((st = measure(&r, NULL, fn)) != QDML_OK) goto done;
        for (int64_t b = 0; check_energy && r.bad_member < 0 && b < r.B; ++b) {
            const double e = r.stats[b].energy, ref = e_ref[2 * b], scale = e_ref[2 * b + 1];
            if (fabs(e - ref) > scale && scale > 0) {
                r.bad_member = b;
                r.runaway = 1;
                r.runaway_energy = e;
                r.runaway_ref = ref;
                r.runaway_scale = scale;
            }
        }
        if (r.bad_member >= 0) {
            st = diverged(&r, results, fn);
            goto done;
        }
        if ((st = save_backup(&r, fn)) != QDML_OK) goto done;
        if ((st = record(&r, NULL)) != QDML_OK) goto done;
        if (o->monitor && o->monitor(r.stats, r.B, o->monitor_user)) stopped = 1;
    }
    if (o->steps == 0) {
        if ((st = measure(&r, NULL, fn)) != QDML_OK) goto done;
        if (r.bad_member >= 0) {
            st = qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: the state of member %lld has zero norm", fn,
                           (long long)r.bad_member);
            goto done;
        }
    }
    if (results)
        for (int64_t b = 0; b < r.B; ++b) {
            results[b].final = r.stats[b];
            results[b].steps = r.run_steps[b];
            results[b].stopped_by_callback = stopped;
        }
    qdml_clear_error(p->ctx);
done:
    free(e_ref);
    run_free(&r);
    return st;
}

qdml_status qdml_problem_ground(qdml_problem *p, const qdml_ground_options *o, qdml_run_result *results) {
    static const char fn[] = "qdml_problem_ground";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    if (!o) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options is NULL", fn);
    if (!isfinite(o->tolerance) || !(o->tolerance > 0))
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.tolerance = %g: must be positive and finite", fn,
                         o->tolerance);
    if (o->max_steps < 1)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.max_steps = %lld: must be >= 1", fn,
                         (long long)o->max_steps);
    if (o->monitor_every < 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.monitor_every = %lld: must be >= 0 (0: automatic)",
                         fn, (long long)o->monitor_every);
    if (!isfinite(o->dt_initial) || o->dt_initial < 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.dt_initial = %g: must be >= 0 (0: automatic)", fn,
                         o->dt_initial);
    if (!isfinite(o->dt_min) || o->dt_min < 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.dt_min = %g: must be >= 0 (0: automatic)", fn,
                         o->dt_min);
    qdml_status st = check_ready(p, fn);
    if (st != QDML_OK) return st;
    if (o->resume && !p->ground_valid)
        return qdml_fail(p->ctx, QDML_ERR_NOT_READY,
                         "%s: options.resume = %d: there is no search to resume on this problem (none ran, or a state, "
                         "potential, hbar or mass was set, or the problem evolved, since)",
                         fn, o->resume);
    const int resume = o->resume != 0;
    p->ground_valid = 0;
    run r;
    if ((st = run_init(&r, p, fn)) != QDML_OK) return st;
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

    /* Start: statistics of the initial states set the first step and may already satisfy the tolerance. */
    if ((st = measure(&r, NULL, fn)) != QDML_OK) goto done;
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
            if ((st = set_member_step(&r, b, p->dt[b])) != QDML_OK) {
                st = backend_error(&r, st, fn, "set_step");
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
        if ((st = set_member_step(&r, b, dt0)) != QDML_OK) {
            st = backend_error(&r, st, fn, "set_step");
            goto done;
        }
        if (r.stats[b].residual <= o->tolerance) {
            converged[b] = 1;
            r.active[b] = 0;
        }
    }
search:
    if ((st = save_backup(&r, fn)) != QDML_OK) goto done;

    int stopped = 0;
    int64_t taken = 0;
    for (;;) {
        int any = 0;
        for (int64_t b = 0; b < r.B; ++b) any |= r.active[b];
        if (!any || stopped || taken >= o->max_steps) break;
        int64_t chunk = o->max_steps - taken < every ? o->max_steps - taken : every;
        if ((st = advance(&r, chunk, fn)) != QDML_OK) goto done;
        if (r.bad_member >= 0) {
            st = diverged(&r, results, fn);
            goto done;
        }
        taken += chunk;
        if ((st = measure(&r, r.active, fn)) != QDML_OK) goto done;
        if (r.bad_member >= 0) {
            st = diverged(&r, results, fn);
            goto done;
        }
        /* How far each state moved since the last monitoring point (the backup holds it). */
        if ((st = p->ops->distance(p->bs, r.active, moved)) != QDML_OK) {
            st = backend_error(&r, st, fn, "distance");
            goto done;
        }
        if ((st = save_backup(&r, fn)) != QDML_OK) goto done;
        if ((st = record(&r, r.active)) != QDML_OK) goto done;
        if (o->monitor && o->monitor(r.stats, r.B, o->monitor_user)) stopped = 1;
        for (int64_t b = 0; b < r.B; ++b) {
            if (!r.active[b]) continue;
            const double res = r.stats[b].residual;
            if (res <= o->tolerance) {
                converged[b] = 1;
                r.active[b] = 0;
                continue;
            }
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
                if ((st = set_member_step(&r, b, dt)) != QDML_OK) {
                    st = backend_error(&r, st, fn, "set_step");
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
    }
    if (results)
        for (int64_t b = 0; b < r.B; ++b) {
            results[b].final = r.stats[b];
            results[b].steps = r.run_steps[b];
            results[b].converged = converged[b];
            results[b].stopped_by_callback = stopped && !converged[b];
            results[b].finished = !r.active[b];
        }
    for (int64_t b = 0; b < r.B; ++b) {
        p->ground[b].dt_min = dtmin[b];
        p->ground[b].stalled = stalled[b];
        p->ground[b].converged = converged[b];
        p->ground[b].active = r.active[b];
        p->ground[b].last = r.stats[b];
    }
    p->ground_valid = 1;
    qdml_clear_error(p->ctx);
done:
    free(moved);
    free(stalled);
    free(dtmin);
    free(converged);
    run_free(&r);
    return st;
}
