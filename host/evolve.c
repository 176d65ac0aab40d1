/* Fixed-step evolution, qdml_problem_evolve: Strang or a fourth-order composition of it, in real or
 * imaginary time, with the check that an imaginary-time composition's negative substep stays within
 * what rounding allows. Built on the shared core (solver.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pointwise.h"
#include "solver.h"
#include "step.h"

void qdml_evolve_options_default(qdml_evolve_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->mode = QDML_REAL_TIME;
    o->dt = 0.0;
    o->steps = 0;
    o->monitor_every = 0;
    o->renormalize = 1;
    o->potential_only = 0;
    o->splitting = QDML_SPLIT_STRANG;
}

static const char *splitting_name(qdml_splitting sp) {
    switch (sp) {
    case QDML_SPLIT_STRANG: return "QDML_SPLIT_STRANG";
    case QDML_SPLIT_YOSHIDA4: return "QDML_SPLIT_YOSHIDA4";
    case QDML_SPLIT_SUZUKI4: return "QDML_SPLIT_SUZUKI4";
    case QDML_SPLIT_CHIN4: return "QDML_SPLIT_CHIN4";
    }
    return "?";
}

/* Largest backward amplification exponent allowed inside an imaginary-time composed step (qdml.h):
 * rounding noise of relative size u amplified by e^limit stays at u e^20 = 5e-8 (float64) and
 * u e^8 = 2e-4 (float32) of the state's norm before the positive substeps damp it again. */
static double backward_limit(qdml_precision prec) { return prec == QDML_FLOAT32 ? 8.0 : 20.0; }

/* Refuse an imaginary-time composed step whose negative substep c dt would amplify, at the grid's
 * largest |k| or over the range of a member's potential, by more than e^backward_limit. */
static qdml_status check_backward_substep(qdml_problem *p, const qdml_evolve_options *o, const double *c, int m,
                                          const char *fn) {
    double cneg = 0.0;
    for (int j = 0; j < m; ++j)
        if (c[j] < cneg) cneg = c[j];
    if (o->mode != QDML_IMAGINARY_TIME || cneg == 0.0) return QDML_OK;
    const double limit = backward_limit(p->desc.precision);
    /* |k|^2 at the corner of the Nyquist box: the largest wavenumber of each axis (the backend's). */
    double k2max = 0.0;
    for (int a = 0; a < 3; ++a) {
        const double k = qdml_wavenumber(p->desc.n[a] / 2, p->desc.n[a], p->desc.length[a]);
        k2max += k * k;
    }
    double *v = qdml_calloc_array((size_t)p->npoints, sizeof(double));
    double *vrange = qdml_calloc_array((size_t)p->batch, sizeof(double));
    if (!v || !vrange) {
        free(v);
        free(vrange);
        return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY,
                         "%s: cannot allocate %lld doubles to check the potential's range", fn, (long long)p->npoints);
    }
    qdml_status st = QDML_OK;
    double dt_max = INFINITY;
    int64_t bad = -1;
    for (int64_t b = 0; b < p->batch; ++b) {
        if ((st = p->ops->get_potential(p->bs, b, v)) != QDML_OK) {
            st = qdml_fail_from(p->ctx, st, "%s: the %s backend failed in get_potential", fn, p->ops->name);
            goto out;
        }
        double lo = v[0], hi = v[0];
        for (int64_t i = 1; i < p->npoints; ++i) {
            lo = v[i] < lo ? v[i] : lo;
            hi = v[i] > hi ? v[i] : hi;
        }
        vrange[b] = hi - lo;
        /* Exponents per unit step: hbar k^2 / 2m (kinetic) and (max V - min V) / hbar (potential). */
        const double rate_k = o->potential_only ? 0.0 : qdml_kinetic_exponent(k2max, p->hbar[b], p->mass[b], 1.0);
        const double rate_v = vrange[b] / p->hbar[b];
        const double rate = -cneg * (rate_k > rate_v ? rate_k : rate_v);
        if (!(rate > 0)) continue;
        const double dt_b = limit / rate;
        if (dt_b < dt_max) dt_max = dt_b;
        if (bad < 0 && o->dt > dt_b) bad = b;
    }
    if (bad >= 0) {
        /* The largest dt that passes, rounded down to 4 significant digits so that the number shown passes. */
        const double unit = pow(10.0, floor(log10(dt_max)) - 3.0);
        char shown[64];
        double pass = floor(dt_max / unit) * unit;
        snprintf(shown, sizeof shown, "%.4g", pass);
        if (strtod(shown, NULL) > dt_max) snprintf(shown, sizeof shown, "%.4g", pass - unit);
        const double hb = p->hbar[bad], e_k = qdml_kinetic_coefficient(hb, p->mass[bad]) * k2max;
        st = qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                       "%s: options.dt = %g is too large for %s in imaginary time: its negative substep (%.4f dt) "
                       "runs the diffusion backwards and amplifies member %lld by exp(%.3g) at the grid's largest "
                       "wavenumber (|k| = %g, hbar^2 k^2 / 2m = %g%s) and by exp(%.3g) over the potential's range "
                       "(max V - min V = %g), beyond the limit exp(%g) for %s rounding noise; the largest dt that "
                       "passes is %s (or use QDML_SPLIT_STRANG, which has no such limit)",
                       fn, o->dt, splitting_name(o->splitting), cneg, (long long)bad,
                       o->potential_only ? 0.0 : -cneg * e_k * o->dt / hb, sqrt(k2max), e_k,
                       o->potential_only ? ", no kinetic step: potential_only" : "", -cneg * vrange[bad] * o->dt / hb,
                       vrange[bad], limit, p->desc.precision == QDML_FLOAT32 ? "float32" : "float64", shown);
    }
out:
    free(v);
    free(vrange);
    return st;
}

qdml_status qdml_problem_evolve(qdml_problem *p, const qdml_evolve_options *o, qdml_run_result *results) {
    static const char fn[] = "qdml_problem_evolve";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    if (!o) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options is NULL", fn);
    if (o->mode != QDML_REAL_TIME && o->mode != QDML_IMAGINARY_TIME)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: options.mode = %d: expected QDML_REAL_TIME (0) or QDML_IMAGINARY_TIME (1)", fn,
                         (int)o->mode);
    if (!isfinite(o->dt) || !(o->dt > 0))
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.dt = %g: must be positive and finite", fn,
                         o->dt);
    if (o->steps < 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options.steps = %lld: must be >= 0", fn,
                         (long long)o->steps);
    if (o->monitor_every < 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: options.monitor_every = %lld: must be >= 0 (0: only at the end)", fn,
                         (long long)o->monitor_every);
    const double *coef;
    int nsub;
    switch (o->splitting) {
    case QDML_SPLIT_STRANG: coef = qdml_solver_split_strang, nsub = 1; break;
    case QDML_SPLIT_YOSHIDA4: coef = qdml_solver_split_yoshida4, nsub = 3; break;
    case QDML_SPLIT_SUZUKI4: coef = qdml_solver_split_suzuki4, nsub = 5; break;
    case QDML_SPLIT_CHIN4: coef = qdml_solver_split_strang, nsub = 1; break; /* (its own step: r.chin) */
    default:
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: options.splitting = %d: expected QDML_SPLIT_STRANG (0), QDML_SPLIT_YOSHIDA4 (1), "
                         "QDML_SPLIT_SUZUKI4 (2) or QDML_SPLIT_CHIN4 (3)",
                         fn, (int)o->splitting);
    }
    if (o->no_statistics && (o->monitor_every != 0 || o->monitor))
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: options.no_statistics takes no monitoring: set monitor_every = 0 and monitor = NULL "
                         "(got monitor_every = %lld%s)",
                         fn, (long long)o->monitor_every, o->monitor ? " and a monitor" : "");
    qdml_status st = qdml_solver_check_ready(p, fn);
    if (st != QDML_OK) return st;
    int64_t scheduled = -1; /* a member with schedules (qdml_problem_set_schedule), or -1 */
    for (int64_t b = 0; p->scheduled && b < p->batch && scheduled < 0; ++b)
        if (p->scheduled[b]) scheduled = b;
    if (scheduled >= 0 && o->splitting != QDML_SPLIT_STRANG)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: member %lld has a time-dependent schedule, which runs with QDML_SPLIT_STRANG only "
                         "(options.splitting = %s); or remove the schedules: qdml_problem_set_schedule(problem, "
                         "QDML_ALL_MEMBERS, NULL, NULL)",
                         fn, (long long)scheduled, splitting_name(o->splitting));
    if ((st = check_backward_substep(p, o, coef, nsub, fn)) != QDML_OK) return st;
    double *e_ref = NULL; /* per member: <H> and |<T>| + |<V>| at the start (real-time checks) */
    qdml_run r;
    const int start_known = p->start_known; /* read before the run clears it */
    if ((st = qdml_run_init(&r, p, fn)) != QDML_OK) return st;
    p->ground_valid = 0; /* the states move: a ground search cannot resume from them */
    memset(&p->last_run, 0, sizeof p->last_run);
    p->last_run.kind = QDML_RUN_EVOLVE;
    p->last_run.mode = o->mode;
    p->last_run.splitting = o->splitting;
    p->last_run.renormalize = o->renormalize != 0;
    p->last_run.potential_only = o->potential_only != 0;
    p->last_run.monitor_every = o->monitor_every;
    p->last_run.precision = p->desc.precision;
    r.imaginary = o->mode == QDML_IMAGINARY_TIME;
    r.renorm = r.imaginary && o->renormalize;
    r.potential_only = o->potential_only != 0;
    r.nsub = nsub;
    r.coef = coef;
    r.chin = o->splitting == QDML_SPLIT_CHIN4;
    if (scheduled >= 0 && ((r.sched = qdml_calloc_array((size_t)r.B * 2 * QDML_SCHED_BLOCK, sizeof(double))) == NULL ||
                           (r.sched_kdt = qdml_calloc_array((size_t)r.B * QDML_SCHED_BLOCK, sizeof(double))) == NULL ||
                           (r.sched_vh = qdml_calloc_array((size_t)r.B * QDML_SCHED_BLOCK, sizeof(double))) == NULL)) {
        qdml_run_free(&r);
        return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate the schedules' values of a block", fn);
    }
    if (results) memset(results, 0, (size_t)p->batch * sizeof *results);

    /* The step in force is dt (what statistics and checkpoints record); the tables are built for the
     * first substep (c_1 = 1 for Strang). */
    for (int64_t b = 0; b < r.B; ++b) p->dt[b] = o->dt;
    if ((st = qdml_run_set_substeps(&r, coef[0], fn)) != QDML_OK) goto done;
    /* options.no_statistics: the steps alone (no start check, backup, measurement or record). */
    const int measured = !o->no_statistics;
    if (measured && (st = qdml_run_save_backup(&r, fn)) != QDML_OK) goto done;

    /* <H> is conserved by real-time evolution (Strang and its compositions conserve a nearby
     * energy): a change of the order of the energy scale itself means the step is far too large for
     * the potential, and the run is stopped as diverged. Checked at monitoring points, against the
     * start. */
    const int check_energy = measured && !r.imaginary && o->monitor_every > 0 && o->steps > 0;
    /* The start measured: a state at fault (a norm beyond double precision, a scale its sums overflow
     * at) is bad input, refused before any step; a zero state, or one whose sums the potential
     * overflows, is taken out at step 0 as it always was (found again at the first monitoring point).
     * A start the last successful evolve left (nothing set since) was measured at its end: a caller
     * that evolves a few steps per call pays no extra moments pass, unless the energy check needs
     * the start's energies. */
    if (measured && (!start_known || check_energy)) {
        if ((st = qdml_run_measure(&r, NULL, fn)) != QDML_OK) goto done;
        for (int64_t b = 0; b < r.B; ++b)
            if ((!r.mom[b].finite || !(r.mom[b].s0 > 0)) && (st = qdml_run_bad_start(&r, b, 0, fn)) != QDML_OK)
                goto done;
        r.bad_member = -1;
    }
    if (check_energy) {
        if ((e_ref = qdml_calloc_array((size_t)r.B, 2 * sizeof(double))) == NULL) {
            st = qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate scratch", fn);
            goto done;
        }
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
    while (done_steps < o->steps && !stopped && qdml_run_any_active(&r)) {
        int64_t chunk = o->steps - done_steps;
        if (o->monitor_every > 0 && o->monitor_every < chunk) chunk = o->monitor_every;
        if ((st = qdml_run_advance(&r, chunk, fn)) != QDML_OK) goto done;
        if (!measured) {
            if (r.bad_member >= 0) { /* a renormalisation norm turned bad: nothing to restore */
                st = qdml_fail(p->ctx, QDML_ERR_DIVERGED,
                               "%s: the norm of member %lld turned zero or non-finite near step %lld (with "
                               "options.no_statistics no backup was kept: its state is as the steps left it)",
                               fn, (long long)r.bad_member, (long long)p->steps[r.bad_member]);
                goto done;
            }
            done_steps += chunk;
            continue;
        }
        if (r.bad_member < 0 && (st = qdml_run_measure(&r, NULL, fn)) != QDML_OK) goto done;
        for (int64_t b = 0; check_energy && r.bad_member < 0 && b < r.B; ++b) {
            if (!r.active[b] || (p->scheduled && p->scheduled[b])) continue; /* H(t) does not conserve <H> */
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
            /* Redo this stretch without the bad member. */
            if ((st = qdml_run_isolate(&r, fn)) != QDML_OK) goto done;
            continue;
        }
        done_steps += chunk;
        if ((st = qdml_run_save_backup(&r, fn)) != QDML_OK) goto done;
        if ((st = qdml_run_record(&r, NULL)) != QDML_OK) goto done;
        if (o->monitor && qdml_par_max(p->ctx, o->monitor(r.stats, r.B, o->monitor_user) != 0)) stopped = 1;
    }
    if (o->steps == 0 && measured) {
        if ((st = qdml_run_measure(&r, NULL, fn)) != QDML_OK) goto done;
        if (r.bad_member >= 0) {
            st = qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: the state of member %lld has zero norm", fn,
                           (long long)r.bad_member);
            goto done;
        }
    }
    if (results)
        for (int64_t b = 0; b < r.B; ++b) {
            if (measured) {
                results[b].final = r.stats[b];
            } else { /* the clocks only */
                qdml_stats *f = &results[b].final;
                const double nan = NAN;
                f->norm = f->kinetic = f->potential = f->energy = f->residual = f->density_max = nan;
                for (int d = 0; d < QDML_MAX_DIM; ++d) f->mean[d] = f->width[d] = f->argmax[d] = nan;
                f->argmax_index = -1;
                f->step = p->steps[b];
                f->time = p->time[b];
                f->dt = p->dt[b];
            }
            results[b].steps = r.run_steps[b];
            results[b].stopped_by_callback = stopped;
        }
    if (r.ndiv > 0) {
        st = qdml_run_report_diverged(&r, results, fn);
        goto done;
    }
    /* Every member was measured at the end (the last stretch, or steps = 0): finite with a positive
     * norm, or the run would have reported it. */
    int all_sound = measured;
    for (int64_t b = 0; all_sound && b < r.B; ++b) all_sound &= r.mom[b].finite && r.mom[b].s0 > 0;
    p->start_known = all_sound;
    qdml_clear_error(p->ctx);
done:
    free(e_ref);
    qdml_run_free(&r);
    return st;
}

/* One step S of the splitting from the member's state, renormalised substep by substep as a run
 * does (the same shifted tables, so nothing overflows or underflows whatever dt), with the norms the
 * renormalisations take away summed in logs: ln ||S psi||^2 = sum ln(norm dv) + 2 vmin dt / hbar
 * (the tables hold V - vmin) - ln ||psi||^2. Then every state, clock and step is put back. */
qdml_status qdml_problem_split_energy(qdml_problem *p, int64_t member, double dt, qdml_splitting splitting,
                                      double *energy) {
    static const char fn[] = "qdml_problem_split_energy";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    if (!energy) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: energy is NULL", fn);
    if (member < 0 || member >= p->batch)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: member %lld is outside 0 .. %lld", fn,
                         (long long)member, (long long)(p->batch - 1));
    if (!isfinite(dt) || !(dt > 0))
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: dt = %g: must be positive and finite", fn, dt);
    const double *coef;
    int nsub;
    switch (splitting) {
    case QDML_SPLIT_STRANG: coef = qdml_solver_split_strang, nsub = 1; break;
    case QDML_SPLIT_YOSHIDA4: coef = qdml_solver_split_yoshida4, nsub = 3; break;
    case QDML_SPLIT_SUZUKI4: coef = qdml_solver_split_suzuki4, nsub = 5; break;
    case QDML_SPLIT_CHIN4: coef = qdml_solver_split_strang, nsub = 1; break;
    default:
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: splitting = %d: expected 0, 1, 2 or 3", fn,
                         (int)splitting);
    }
    qdml_status st = qdml_solver_check_ready(p, fn);
    if (st != QDML_OK) return st;
    /* The step qdml_problem_evolve would take: refused where its negative substep would amplify rounding. */
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = QDML_IMAGINARY_TIME;
    o.dt = dt;
    o.splitting = splitting;
    if ((st = check_backward_substep(p, &o, coef, nsub, fn)) != QDML_OK) return st;
    qdml_run r;
    if ((st = qdml_run_init(&r, p, fn)) != QDML_OK) return st;
    double *lognorm = qdml_calloc_array((size_t)p->batch, sizeof(double));
    if (!lognorm) {
        qdml_run_free(&r);
        return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate scratch", fn);
    }
    for (int64_t b = 0; b < r.B; ++b)
        r.active[b] = b == member;
    r.imaginary = 1;
    r.renorm = 1;
    r.nsub = nsub;
    r.coef = coef;
    r.chin = splitting == QDML_SPLIT_CHIN4;
    r.lognorm = lognorm;
    r.steps_declined = 1; /* the single ops: the steps op does not give its norms */
    const double dt_was = p->dt[member], time_was = p->time[member];
    const int64_t steps_was = p->steps[member];
    int saved = 0;
    if ((st = qdml_run_measure(&r, r.active, fn)) != QDML_OK) goto out;
    if (r.bad_member >= 0) {
        st = qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: the state of member %lld is not finite, or zero", fn,
                       (long long)member);
        goto out;
    }
    const double n0 = r.mom[member].s0 * p->desc.dv;
    if ((st = p->ops->backup(p->bs, 0, NULL)) != QDML_OK) {
        st = qdml_run_backend_error(&r, st, fn, "backup");
        goto out;
    }
    saved = 1;
    p->dt[member] = dt;
    if ((st = qdml_run_set_substeps(&r, coef[0], fn)) != QDML_OK) goto out;
    if ((st = qdml_run_advance(&r, 1, fn)) != QDML_OK) goto out;
    if (r.bad_member >= 0) {
        st = qdml_fail(p->ctx, QDML_ERR_DIVERGED,
                       "%s: a step of %g took the state of member %lld to zero or to a "
                       "non-finite value",
                       fn, dt, (long long)member);
        goto out;
    }
    *energy = p->vmin[member] - p->hbar[member] / (2.0 * dt) * (lognorm[member] - log(n0));
    qdml_clear_error(p->ctx);
out:
    if (saved) {
        const qdml_status rs = p->ops->backup(p->bs, 1, NULL);
        if (rs != QDML_OK && st == QDML_OK) st = qdml_run_backend_error(&r, rs, fn, "restore");
    }
    p->dt[member] = dt_was;
    p->time[member] = time_was;
    p->steps[member] = steps_was;
    free(lognorm);
    qdml_run_free(&r);
    return st;
}
