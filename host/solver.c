/* The split-step driver's shared core (solver.h): a run's scratch, the steps of every active member
 * through the backend ops table (backend.h), statistics, backups, and members taken out when they
 * diverge. The drivers on top: evolve.c, ground.c and lowest_states.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solver.h"

/* Substep lengths of the composed steps (qdml.h): S(c_1 dt) ... S(c_m dt), S the Strang step. The
 * constants are the closed forms rounded to double (2 w1 + w0 and 4 p + q equal 1 to 2e-16). */
const double qdml_solver_split_strang[1] = {1.0};
/* Yoshida (1990): w1 = 1/(2 - 2^(1/3)), w0 = 1 - 2 w1. */
const double qdml_solver_split_yoshida4[3] = {1.35120719195965763405, -1.70241438391931526810, 1.35120719195965763405};
/* Suzuki (1990): p = 1/(4 - 4^(1/3)), q = 1 - 4p. */
const double qdml_solver_split_suzuki4[5] = {0.41449077179437573714, 0.41449077179437573714, -0.65796308717750294857,
                                             0.41449077179437573714, 0.41449077179437573714};

void qdml_run_free(qdml_run *r) {
    free(r->active);
    free(r->scale);
    free(r->norms);
    free(r->mom);
    free(r->stats);
    free(r->bk_steps);
    free(r->bk_time);
    free(r->run_steps);
    free(r->bk_run_steps);
    free(r->stop);
    free(r->div);
    free(r->happ);
    free(r->sched);
    free(r->sched_kdt);
    free(r->sched_vh);
}

qdml_status qdml_run_init(qdml_run *r, qdml_problem *p, const char *fn) {
    memset(r, 0, sizeof *r);
    r->p = p;
    r->B = p->batch;
    p->start_known = 0; /* the run moves the states; a successful evolve sets it again */
    r->bad_member = -1;
    r->nsub = 1;
    r->coef = qdml_solver_split_strang;
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
    r->stop = qdml_calloc_array(nb, sizeof(int64_t));
    r->div = qdml_calloc_array(nb, 1);
    r->happ = qdml_calloc_array(nb, sizeof(int64_t));
    if (!r->active || !r->scale || !r->norms || !r->mom || !r->stats || !r->bk_steps || !r->bk_time ||
        !r->run_steps || !r->bk_run_steps || !r->stop || !r->div || !r->happ) {
        qdml_run_free(r);
        return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate per-member scratch (batch %lld)", fn,
                         (long long)p->batch);
    }
    for (int64_t b = 0; b < r->B; ++b) {
        r->active[b] = 1;
        r->scale[b] = 1.0;
    }
    return QDML_OK;
}

qdml_status qdml_solver_check_ready(qdml_problem *p, const char *fn) {
    for (int64_t b = 0; b < p->batch; ++b)
        if (!p->has_potential[b])
            return qdml_fail(p->ctx, QDML_ERR_NOT_READY,
                             "%s: member %lld has no potential: call qdml_problem_set_potential first", fn,
                             (long long)b);
    return QDML_OK;
}

qdml_status qdml_run_backend_error(qdml_run *r, qdml_status st, const char *fn, const char *what) {
    return qdml_fail_from(r->p->ctx, st, "%s: the %s backend failed in %s", fn, r->p->ops->name, what);
}

/* Member b's tables for a potential step dt, a kinetic step kdt (0: dt; no_kinetic: none) and the
 * potential V + vgrad |grad V|^2 (vgrad 0: V), with fast_phases where they are rebuilt every step
 * (backend.h); p->dt[b], the step in force, is left as it is. */
static qdml_status set_tables(qdml_run *r, int64_t b, double dt, double kdt, double vgrad, int no_kinetic,
                              int fast_phases) {
    qdml_problem *p = r->p;
    qdml_step_params sp;
    memset(&sp, 0, sizeof sp); /* compared bytewise below */
    sp.imaginary = r->imaginary;
    sp.dt = dt;
    sp.hbar = p->hbar[b];
    sp.mass = p->mass[b];
    /* Renormalised imaginary time may shift V freely; shifting by min V keeps every potential
     * factor <= 1, so no amount of negative potential can overflow (Chin's V~ >= V there). */
    sp.vshift = (r->imaginary && r->renorm) ? p->vmin[b] : 0.0;
    sp.potential_only = r->potential_only || no_kinetic;
    sp.flush_tiny = r->imaginary && r->renorm;
    sp.kdt = kdt;
    sp.vgrad = vgrad;
    sp.fast_phases = fast_phases;
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

qdml_status qdml_run_set_member_step(qdml_run *r, int64_t b, double dt) {
    r->p->dt[b] = dt;
    return set_tables(r, b, dt, 0.0, 0.0, 0, 0);
}

static void save_clocks(qdml_run *r) {
    for (int64_t b = 0; b < r->B; ++b) {
        r->bk_steps[b] = r->p->steps[b];
        r->bk_time[b] = r->p->time[b];
        r->bk_run_steps[b] = r->run_steps[b];
    }
}

qdml_status qdml_run_save_backup(qdml_run *r, const char *fn) {
    qdml_status st = r->p->ops->backup(r->p->bs, 0, NULL);
    if (st != QDML_OK) return qdml_run_backend_error(r, st, fn, "backup");
    save_clocks(r);
    return QDML_OK;
}

/* Scales that bring each active member back to norm 1; 0 (and r->bad_member set) when a norm is
 * not finite and positive. */
static int renorm_scales(qdml_run *r, const double *norms, double dv) {
    for (int64_t b = 0; b < r->B; ++b) {
        if (!r->active[b]) continue;
        if (!(isfinite(norms[b]) && norms[b] > 0)) {
            r->bad_member = b;
            return 0;
        }
        r->scale[b] = 1.0 / sqrt(norms[b] * dv);
        if (r->lognorm) r->lognorm[b] += log(norms[b] * dv);
    }
    return 1;
}

/* Build the step tables of every active member for the substep c dt of its step dt (p->dt[b]), which
 * stays the step in force (set_member_step records the length it builds for). Members whose tables
 * already hold that substep are skipped by set_member_step. */
qdml_status qdml_run_set_substeps(qdml_run *r, double c, const char *fn) {
    qdml_problem *p = r->p;
    for (int64_t b = 0; b < r->B; ++b) {
        if (!r->active[b]) continue;
        const double dt = p->dt[b];
        const qdml_status st = qdml_run_set_member_step(r, b, c * dt);
        p->dt[b] = dt;
        if (st != QDML_OK) return qdml_run_backend_error(r, st, fn, "set_step");
    }
    return QDML_OK;
}

/* The clocks of every active member move on by k steps (the time one step at a time, so that it
 * does not depend on how the steps were grouped). */
static void count_steps(qdml_run *r, int64_t k) {
    qdml_problem *p = r->p;
    for (int64_t b = 0; b < r->B; ++b)
        if (r->active[b]) {
            p->steps[b] += k;
            for (int64_t i = 0; i < k; ++i) p->time[b] += p->dt[b];
            r->run_steps[b] += k;
        }
}

/* The substeps of a composition as the backend's steps op takes them (backend.h): sub[j] = 0 where
 * c_j = c_1, 1 where c_j is the other length (*other; c_1 where there is none). 0 where the
 * composition does not fit that form: more than 8 substeps, more than two lengths, or c_m != c_1. */
static int substep_sets(const double *c, int m, unsigned char *sub, double *other) {
    *other = c[0];
    if (m > 8 || c[m - 1] != c[0]) return 0;
    for (int j = 0; j < m; ++j) {
        sub[j] = c[j] != c[0];
        if (sub[j] && *other == c[0]) *other = c[j];
        if (sub[j] && c[j] != *other) return 0;
    }
    return 1;
}

/* After the last kick of a call: the members scaled back to norm 1 (renormalised imaginary time). */
static qdml_status close_renorm(qdml_run *r, const double *norms, const char *fn) {
    qdml_problem *p = r->p;
    if (!norms || !renorm_scales(r, norms, p->desc.dv)) return QDML_OK;
    const qdml_status st = p->ops->scale(p->bs, r->scale, r->active);
    return st == QDML_OK ? st : qdml_run_backend_error(r, st, fn, "scale");
}

/* Chin's tables for every active member, step dt = p->dt[b]: set A (`mid` 0) has the potential step
 * dt/3 (a half kick is e^{-V dt/6}, a full one, where two steps meet, e^{-V dt/3}); set B (`mid` 1) the
 * potential step 2 dt/3 of V~ = V + s (dt^2 / 48 m) |grad V|^2 (its full kick is the middle factor;
 * s = +1 in imaginary, -1 in real time: [V, [T, V]] = (hbar^2 / m) |grad V|^2 enters with the square
 * of the exponent's step, -i dt / hbar or -dt / hbar); both kinetic steps are dt/2. Without the kinetic
 * step T commutes with nothing and V~ = V. */
static qdml_status chin_tables(qdml_run *r, int mid, const char *fn) {
    qdml_problem *p = r->p;
    for (int64_t b = 0; b < r->B; ++b) {
        if (!r->active[b]) continue;
        const double dt = p->dt[b];
        const double vgrad =
            mid && !r->potential_only ? (r->imaginary ? 1.0 : -1.0) * dt * dt / (48.0 * p->mass[b]) : 0.0;
        const qdml_status st = set_tables(r, b, mid ? 2.0 * dt / 3.0 : dt / 3.0, 0.5 * dt, vgrad, 0, 0);
        if (st != QDML_OK) return qdml_run_backend_error(r, st, fn, "set_step");
    }
    return QDML_OK;
}

/* forward FFT, the kinetic factor (times r->scale), backward FFT: one kinetic substep. */
static qdml_status kinetic_substep(qdml_run *r, const char *fn) {
    qdml_problem *p = r->p;
    qdml_status st;
    if (r->potential_only) return QDML_OK;
    if ((st = p->ops->fft(p->bs, 1)) != QDML_OK) return qdml_run_backend_error(r, st, fn, "forward FFT");
    if ((st = p->ops->kinetic(p->bs, r->scale, r->active)) != QDML_OK)
        return qdml_run_backend_error(r, st, fn, "kinetic");
    if ((st = p->ops->fft(p->bs, 0)) != QDML_OK) return qdml_run_backend_error(r, st, fn, "backward FFT");
    return QDML_OK;
}

/* n Chin steps (QDML_SPLIT_CHIN4) with the single ops: e^{-V/6} [T/2] e^{-2 V~/3} [T/2] e^{-V/6}, the
 * closing and opening e^{-V/6} of consecutive steps fused into one e^{-V/3}; renormalised as
 * qdml_run_advance does, from the norms of each kick. */
static qdml_status chin_advance(qdml_run *r, int64_t n, const char *fn) {
    qdml_problem *p = r->p;
    const qdml_backend_ops *ops = p->ops;
    const double dv = p->desc.dv;
    double *norms = (r->imaginary && r->renorm) ? r->norms : NULL;
    qdml_status st;
    /* Both table sets before the first kick: a backend without the modified potential refuses here,
     * with the states untouched (the CPU backend keeps both sets from then on). */
    if ((st = chin_tables(r, 1, fn)) != QDML_OK || (st = chin_tables(r, 0, fn)) != QDML_OK) return st;
    if ((st = ops->kick(p->bs, 0, r->active, norms)) != QDML_OK) return qdml_run_backend_error(r, st, fn, "kick");
    for (int64_t s = 0; s < n; ++s) {
        if (norms && !renorm_scales(r, norms, dv)) return QDML_OK;
        if ((st = kinetic_substep(r, fn)) != QDML_OK) return st;
        if ((st = chin_tables(r, 1, fn)) != QDML_OK) return st;
        if ((st = ops->kick(p->bs, 1, r->active, norms)) != QDML_OK) return qdml_run_backend_error(r, st, fn, "kick");
        if (norms && !renorm_scales(r, norms, dv)) return QDML_OK;
        if ((st = kinetic_substep(r, fn)) != QDML_OK) return st;
        if ((st = chin_tables(r, 0, fn)) != QDML_OK) return st;
        if ((st = ops->kick(p->bs, s + 1 < n, r->active, norms)) != QDML_OK)
            return qdml_run_backend_error(r, st, fn, "kick");
        count_steps(r, 1);
    }
    return close_renorm(r, norms, fn);
}

/* The schedules' values at the midpoints of the next k <= QDML_SCHED_BLOCK steps of every active
 * member: r->sched[2 (b K + s)] = a, [... + 1] = b, K = QDML_SCHED_BLOCK (1 and 1 for a member without
 * schedules). The midpoints are taken on the clock as count_steps moves it. Fails, naming the member,
 * the step and the time, before any of these steps is taken. */
static qdml_status schedule_block(qdml_run *r, int64_t k, const char *fn) {
    qdml_problem *p = r->p;
    for (int64_t b = 0; b < r->B; ++b) {
        if (!r->active[b]) continue;
        double *v = r->sched + 2 * b * QDML_SCHED_BLOCK;
        double t = p->time[b];
        const double dt = p->dt[b];
        for (int64_t s = 0; s < k; ++s, t += dt) {
            v[2 * s] = v[2 * s + 1] = 1.0;
            if (!p->scheduled[b]) continue;
            const double mid = t + 0.5 * dt;
            for (int i = 0; i < 2; ++i) {
                const qdml_status st = qdml_schedule_value(&p->sched[2 * b + i], mid, &v[2 * s + i]);
                if (st != QDML_OK)
                    return qdml_fail_from(p->ctx, st,
                                          "%s: member %lld's %s schedule at its step %lld (midpoint t = %.17g); the "
                                          "run stopped after its step %lld",
                                          fn, (long long)b, i ? "potential" : "kinetic", (long long)(p->steps[b] + s),
                                          mid, (long long)p->steps[b]);
            }
        }
    }
    return QDML_OK;
}

/* Every active member's tables for step s of the block: the kinetic step a_s dt and the potential step
 * (b_s + b_u) dt / 2, so that a full kick is the closing half of step s and the opening half of step
 * u = s + 1 in one (u = s: step s's own half kicks). */
static qdml_status schedule_tables(qdml_run *r, int64_t s, int64_t u, const char *fn) {
    qdml_problem *p = r->p;
    for (int64_t b = 0; b < r->B; ++b) {
        if (!r->active[b]) continue;
        const double *v = r->sched + 2 * b * QDML_SCHED_BLOCK, dt = p->dt[b];
        const double kdt = v[2 * s] * dt, vdt = 0.5 * (v[2 * s + 1] + v[2 * u + 1]) * dt;
        const qdml_status st = set_tables(r, b, vdt, kdt, 0.0, kdt == 0.0, 1);
        if (st != QDML_OK) return qdml_run_backend_error(r, st, fn, "set_step");
    }
    return QDML_OK;
}

/* A block of k scheduled steps through the backend's steps_scheduled op (backend.h), where it has one
 * and takes it (*done): the op starts from each member's plain tables (the run's parameters), gets the
 * per-step kinetic and potential steps, and leaves tables the solver's record no longer describes. A
 * bad norm is reported as qdml_run_advance reports the steps op's. */
static qdml_status scheduled_op(qdml_run *r, int64_t k, int *done, const char *fn) {
    qdml_problem *p = r->p;
    *done = 0;
    if (!p->ops->steps_scheduled || r->steps_declined || r->potential_only) return QDML_OK;
    qdml_status st;
    for (int64_t b = 0; b < r->B; ++b) {
        if (!r->active[b]) continue;
        if ((st = set_tables(r, b, p->dt[b], 0.0, 0.0, 0, 1)) != QDML_OK)
            return qdml_run_backend_error(r, st, fn, "set_step");
        const double *v = r->sched + 2 * b * QDML_SCHED_BLOCK, dt = p->dt[b];
        for (int64_t i = 0; i < k; ++i) {
            r->sched_kdt[b * k + i] = v[2 * i] * dt;
            r->sched_vh[b * k + i] = v[2 * i + 1] * dt;
        }
    }
    double *norms = (r->imaginary && r->renorm) ? r->norms : NULL;
    st = p->ops->steps_scheduled(p->bs, k, r->active, r->sched_kdt, r->sched_vh, norms != NULL, p->desc.dv, r->stop,
                                 done);
    if (st != QDML_OK) return qdml_run_backend_error(r, st, fn, "steps_scheduled");
    r->steps_declined = !*done;
    if (!*done) return QDML_OK;
    int64_t first = -1;
    for (int64_t b = 0; b < r->B; ++b) {
        if (!r->active[b]) continue;
        p->built_ok[b] = 0;
        if (r->stop[b] >= 0 && (r->bad_member < 0 || r->stop[b] < first)) {
            r->bad_member = b;
            first = r->stop[b];
        }
    }
    count_steps(r, r->bad_member < 0 ? k : first);
    return QDML_OK;
}

/* n Strang steps under H(t) = a(t) T + b(t) V (qdml.h), in blocks of QDML_SCHED_BLOCK steps whose
 * schedule values are all taken before the block starts: a block opens with a half kick of b_0 and
 * closes with one of its last b; between two steps of a block, one full kick of (b_s + b_{s+1}) / 2,
 * with the tables rebuilt for each step's coefficients (set_tables skips a member whose did not
 * change). Renormalised as qdml_run_advance does, from the norms of each kick. */
static qdml_status scheduled_advance(qdml_run *r, int64_t n, const char *fn) {
    qdml_problem *p = r->p;
    const double dv = p->desc.dv;
    double *norms = (r->imaginary && r->renorm) ? r->norms : NULL;
    qdml_status st;
    for (int64_t done = 0; done < n;) {
        const int64_t k = n - done < QDML_SCHED_BLOCK ? n - done : QDML_SCHED_BLOCK;
        if ((st = schedule_block(r, k, fn)) != QDML_OK) return st;
        int op_done = 0;
        if ((st = scheduled_op(r, k, &op_done, fn)) != QDML_OK) return st;
        if (op_done) {
            if (r->bad_member >= 0) return QDML_OK;
            done += k;
            continue;
        }
        if ((st = schedule_tables(r, 0, 0, fn)) != QDML_OK) return st;
        if ((st = p->ops->kick(p->bs, 0, r->active, norms)) != QDML_OK) return qdml_run_backend_error(r, st, fn, "kick");
        for (int64_t s = 0; s < k; ++s) {
            if (norms && !renorm_scales(r, norms, dv)) return QDML_OK;
            const int last = s + 1 == k;
            if ((st = schedule_tables(r, s, last ? s : s + 1, fn)) != QDML_OK) return st;
            if ((st = kinetic_substep(r, fn)) != QDML_OK) return st;
            if ((st = p->ops->kick(p->bs, !last, r->active, norms)) != QDML_OK)
                return qdml_run_backend_error(r, st, fn, "kick");
            count_steps(r, 1);
        }
        if ((st = close_renorm(r, norms, fn)) != QDML_OK || r->bad_member >= 0) return st;
        done += k;
    }
    return QDML_OK;
}

/* Advance every active member by n >= 1 whole steps, ending on a closing half kick. A step is the
 * composition S(c_1 dt) ... S(c_m dt) of r->coef (m = 1: Strang), each substep a Strang step of its
 * own length; the potential half-steps of consecutive substeps of equal length (across steps, too)
 * are fused into one full kick, those of unequal lengths are two half kicks with a rebuild of the
 * tables between. Sets r->bad_member when a renormalisation norm is not finite and positive. */
qdml_status qdml_run_advance(qdml_run *r, int64_t n, const char *fn) {
    qdml_problem *p = r->p;
    const qdml_backend_ops *ops = p->ops;
    const double dv = p->desc.dv;
    const int m = r->nsub;
    const double *c = r->coef;
    double *norms = (r->imaginary && r->renorm) ? r->norms : NULL;
    qdml_status st;
    if (r->chin) return chin_advance(r, n, fn);
    if (r->sched) return scheduled_advance(r, n, fn);
    if (!r->potential_only && ops->steps && !r->steps_declined) {
        /* The same steps in one op, where the backend gains by it (the CPU: members through all n
         * steps while in cache; CUDA: no host round trip per step, steps replayed from a graph); a
         * bad norm is reported as this loop would find it: at the earliest substep, the lowest member
         * among those found then. A composed step has two substep lengths (c_1 at both ends): the
         * other one's tables are set first, then c_1's, so a backend that keeps two sets holds both.
         * A backend that declines once (one table set, or a path without the op) is not asked again
         * in this run, so the extra table set is built once at most. */
        unsigned char sub[8];
        double other;
        const int fits = substep_sets(c, m, sub, &other);
        int done = 0;
        if (fits && other != c[0] &&
            ((st = qdml_run_set_substeps(r, other, fn)) != QDML_OK ||
             (st = qdml_run_set_substeps(r, c[0], fn)) != QDML_OK))
            return st;
        if (fits && (st = ops->steps(p->bs, n, m, sub, r->active, norms != NULL, dv, r->stop, &done)) != QDML_OK)
            return qdml_run_backend_error(r, st, fn, "steps");
        r->steps_declined = !done;
        if (done) {
            int64_t first = -1; /* substeps completed when the first bad norm was found */
            for (int64_t b = 0; b < r->B; ++b)
                if (r->active[b] && r->stop[b] >= 0 && (r->bad_member < 0 || r->stop[b] < first)) {
                    r->bad_member = b;
                    first = r->stop[b];
                }
            count_steps(r, r->bad_member < 0 ? n : first / m);
            return QDML_OK;
        }
    }
    /* The tables hold c_1 dt already (set by the caller, or left by the previous call's last substep,
     * c_m = c_1): set_member_step skips the rebuild. */
    if (m > 1 && (st = qdml_run_set_substeps(r, c[0], fn)) != QDML_OK) return st;
    if ((st = ops->kick(p->bs, 0, r->active, norms)) != QDML_OK) return qdml_run_backend_error(r, st, fn, "kick");
    for (int64_t s = 0; s < n; ++s) {
        for (int j = 0; j < m; ++j) {
            if (norms && !renorm_scales(r, norms, dv)) return QDML_OK;
            if (!r->potential_only) {
                if ((st = ops->fft(p->bs, 1)) != QDML_OK) return qdml_run_backend_error(r, st, fn, "forward FFT");
                if ((st = ops->kinetic(p->bs, r->scale, r->active)) != QDML_OK)
                    return qdml_run_backend_error(r, st, fn, "kinetic");
                if ((st = ops->fft(p->bs, 0)) != QDML_OK) return qdml_run_backend_error(r, st, fn, "backward FFT");
            }
            /* With the kinetic step omitted, nothing carries the rescaling between steps; the closing
             * renormalisation suffices, since the shifted potential factors never exceed 1 (in a
             * composed step their product over the step does not). */
            const int last = s + 1 == n && j + 1 == m;
            const double next = c[(j + 1) % m];
            if (last || next == c[j]) {
                if ((st = ops->kick(p->bs, !last, r->active, norms)) != QDML_OK)
                    return qdml_run_backend_error(r, st, fn, "kick");
            } else {
                if ((st = ops->kick(p->bs, 0, r->active, NULL)) != QDML_OK)
                    return qdml_run_backend_error(r, st, fn, "kick");
                if ((st = qdml_run_set_substeps(r, next, fn)) != QDML_OK) return st;
                if ((st = ops->kick(p->bs, 0, r->active, norms)) != QDML_OK)
                    return qdml_run_backend_error(r, st, fn, "kick");
            }
        }
        count_steps(r, 1);
    }
    return close_renorm(r, norms, fn);
}

/* Statistics of the members in `want`; sets r->bad_member on a non-finite state. */
qdml_status qdml_run_measure(qdml_run *r, const unsigned char *want, const char *fn) {
    qdml_problem *p = r->p;
    qdml_status st = p->ops->moments(p->bs, p->hbar, p->mass, want, r->mom);
    if (st != QDML_OK) return qdml_run_backend_error(r, st, fn, "moments");
    for (int64_t b = 0; b < r->B; ++b) {
        if (want && !want[b]) continue;
        r->happ[b] += 1; /* the residual is computed from H psi */
        if (!r->mom[b].finite || !(r->mom[b].s0 > 0)) {
            /* a member already taken out keeps its last good state, which may be its bad start */
            if (r->bad_member < 0 && r->active[b]) r->bad_member = b;
            continue;
        }
        qdml_stats_from_moments(p, b, &r->mom[b], &r->stats[b]);
    }
    return QDML_OK;
}

/* Member r->bad_member went wrong in the stretch of steps since the last backup: bring every member
 * back to that backup and take the bad one out of the rest of the run, so that the others redo the
 * stretch without it (members never mix, so they compute the same values as before) and go on.
 * The bad member keeps its last good state; its statistics are those of that state. */
qdml_status qdml_run_isolate(qdml_run *r, const char *fn) {
    qdml_problem *p = r->p;
    const int64_t bad = r->bad_member;
    if (r->ndiv == 0) {
        r->div_first = bad;
        r->div_step = p->steps[bad];
        r->div_good_step = r->bk_steps[bad];
        r->div_dt = p->dt[bad];
        if (r->runaway)
            snprintf(r->div_why, sizeof r->div_why,
                     "ran away, every value finite: its energy <H> = %g moved from %g at the start of the run by more "
                     "than the energy scale |<T>| + |<V>| = %g there (the step is far too large),",
                     r->runaway_energy, r->runaway_ref, r->runaway_scale);
        else
            snprintf(r->div_why, sizeof r->div_why, "became non-finite or zero, or its energy overflowed,");
    }
    qdml_status st = p->ops->backup(p->bs, 1, NULL);
    if (st != QDML_OK) return qdml_run_backend_error(r, st, fn, "restore");
    for (int64_t b = 0; b < r->B; ++b) {
        p->steps[b] = r->bk_steps[b];
        p->time[b] = r->bk_time[b];
        r->run_steps[b] = r->bk_run_steps[b];
    }
    r->div[bad] = 1;
    r->active[bad] = 0;
    r->ndiv += 1;
    r->bad_member = -1;
    r->runaway = 0;
    return qdml_run_measure(r, NULL, fn);
}

/* Restore the last good state of every member, fill results, and report DIVERGED: for the
 * lowest-states search, whose members are one block (elsewhere qdml_run_isolate() takes the bad
 * member out and the others go on). */
qdml_status qdml_run_diverged(qdml_run *r, qdml_run_result *results, const char *fn) {
    qdml_problem *p = r->p;
    qdml_status st = qdml_run_isolate(r, fn);
    if (st != QDML_OK) return st;
    const int64_t bad = r->div_first;
    if (results)
        for (int64_t b = 0; b < r->B; ++b) {
            results[b].final = r->stats[b];
            results[b].steps = r->run_steps[b];
            results[b].diverged = r->div[b];
        }
    return qdml_fail(p->ctx, QDML_ERR_DIVERGED,
                     "%s: member %lld %s by step %lld (dt = %g, hbar = %g, mass = %g); every member of the block was "
                     "restored to its last good state at step %lld",
                     fn, (long long)bad, r->div_why, (long long)r->div_step, r->div_dt, p->hbar[bad], p->mass[bad],
                     (long long)r->div_good_step);
}

int qdml_run_any_active(const qdml_run *r) {
    for (int64_t b = 0; b < r->B; ++b)
        if (r->active[b]) return 1;
    return 0;
}

/* The DIVERGED status at the end of a run in which members were taken out by qdml_run_isolate(). */
qdml_status qdml_run_report_diverged(qdml_run *r, qdml_run_result *results, const char *fn) {
    qdml_problem *p = r->p;
    const int64_t bad = r->div_first;
    if (results)
        for (int64_t b = 0; b < r->B; ++b) results[b].diverged = r->div[b];
    char others[128] = "";
    if (r->ndiv > 1)
        snprintf(others, sizeof others, "; %lld of %lld members diverged (results[b].diverged)", (long long)r->ndiv,
                 (long long)r->B);
    else if (r->B > 1)
        snprintf(others, sizeof others, "; the other %lld members ran on", (long long)(r->B - 1));
    return qdml_fail(
        p->ctx, QDML_ERR_DIVERGED,
        "%s: member %lld %s by step %lld (dt = %g, hbar = %g, mass = %g); it was restored to its last good "
        "state at step %lld and left out of the rest of the run%s",
        fn, (long long)bad, r->div_why, (long long)r->div_step, r->div_dt, p->hbar[bad], p->mass[bad],
        (long long)r->div_good_step, others);
}

qdml_status qdml_run_record(qdml_run *r, const unsigned char *which) {
    for (int64_t b = 0; b < r->B; ++b) {
        if (which && !which[b]) continue;
        qdml_status st = qdml_history_push(r->p, b, &r->stats[b]);
        if (st != QDML_OK) return st;
    }
    return QDML_OK;
}

qdml_status qdml_run_bad_start(qdml_run *r, int64_t b, int zero_is_bad, const char *fn) {
    qdml_problem *p = r->p;
    const qdml_moments m = r->mom[b];
    const double dv = p->desc.dv;
    if (!isfinite(m.s0))
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: the initial state of member %lld is not finite or its norm (the sum of |psi|^2 dV) "
                         "overflows double precision; rescale it",
                         fn, (long long)b);
    if (!(m.s0 > 0))
        return zero_is_bad ? qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                                       "%s: the initial state of member %lld has zero norm; set a state that "
                                       "overlaps the ground state",
                                       fn, (long long)b)
                           : QDML_OK;
    /* The norm is fine: is the state's scale to blame? Its sums scale with the norm, so measure it at
     * norm 1 (on the member alone, put back exactly from a copy). */
    unsigned char *mask = qdml_calloc_array((size_t)r->B, 1);
    double *scale = qdml_calloc_array((size_t)r->B, sizeof(double));
    if (!mask || !scale) {
        free(mask);
        free(scale);
        return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate scratch", fn);
    }
    mask[b] = 1;
    scale[b] = 1.0 / sqrt(m.s0 * dv);
    qdml_moments *mom = qdml_calloc_array((size_t)r->B, sizeof *mom);
    qdml_status st = mom ? p->ops->backup(p->bs, 0, mask) : QDML_ERR_OUT_OF_MEMORY;
    int normalised_ok = 0;
    if (st == QDML_OK && (st = p->ops->scale(p->bs, scale, mask)) == QDML_OK &&
        (st = p->ops->moments(p->bs, p->hbar, p->mass, mask, mom)) == QDML_OK)
        normalised_ok = mom[b].finite && mom[b].s0 > 0;
    const qdml_status rs = mom ? p->ops->backup(p->bs, 1, mask) : QDML_OK;
    free(mask);
    free(scale);
    free(mom);
    if (st == QDML_ERR_OUT_OF_MEMORY) return qdml_fail(p->ctx, st, "%s: cannot allocate scratch", fn);
    if (st != QDML_OK) return qdml_run_backend_error(r, st, fn, "moments");
    if (rs != QDML_OK) return qdml_run_backend_error(r, rs, fn, "restore");
    if (normalised_ok)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: the initial state of member %lld has norm %g: at that scale its energy sums overflow "
                         "double precision (at norm 1 they are finite); rescale it",
                         fn, (long long)b, m.s0 * dv);
    return QDML_OK;
}

qdml_status qdml_run_describe_overflow(qdml_run *r, int64_t b, const char *fn) {
    const qdml_moments *m = &r->mom[b];
    const double s0 = m->s0;
    const char *what = !isfinite(m->sv)   ? "<V> (the sum of V |psi|^2)"
                       : !isfinite(m->st) ? "<T> (the sum of hbar^2 |k|^2 / 2m |psi_k|^2)"
                                          : "residual (the sum of |(H - E) psi|^2, which squares V and the kinetic "
                                            "energies)";
    char known[160] = "";
    if (isfinite(m->sv) && isfinite(m->st))
        snprintf(known, sizeof known, " though <V> = %g and <T> = %g are finite", m->sv / s0, m->st / s0);
    return qdml_fail(r->p->ctx, QDML_ERR_INVALID_ARGUMENT,
                     "%s: the %s of the initial state of member %lld overflows double precision%s; rescale the "
                     "potential or the box",
                     fn, what, (long long)b, known);
}
