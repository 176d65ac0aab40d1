/* The split-step driver's shared core (solver.h): a run's scratch, the steps of every active member
 * through the backend ops table (backend.h), statistics, backups, and members taken out when they
 * diverge. The drivers on top: evolve.c, and the ground-state search with its lowest-states variant. */
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
}

qdml_status qdml_run_init(qdml_run *r, qdml_problem *p, const char *fn) {
    memset(r, 0, sizeof *r);
    r->p = p;
    r->B = p->batch;
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
    if (!r->active || !r->scale || !r->norms || !r->mom || !r->stats || !r->bk_steps || !r->bk_time ||
        !r->run_steps || !r->bk_run_steps || !r->stop || !r->div) {
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
    const char *why = r->p->ops->last_error(r->p->bs);
    return qdml_fail(r->p->ctx, st, "%s: the %s backend failed in %s%s%s", fn, r->p->ops->name, what,
                     why && why[0] ? ": " : "", why ? why : "");
}

qdml_status qdml_run_set_member_step(qdml_run *r, int64_t b, double dt) {
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
    if (norms) {
        if (!renorm_scales(r, norms, dv)) return QDML_OK;
        if ((st = ops->scale(p->bs, r->scale, r->active)) != QDML_OK) return qdml_run_backend_error(r, st, fn, "scale");
    }
    return QDML_OK;
}

/* Statistics of the members in `want`; sets r->bad_member on a non-finite state. */
qdml_status qdml_run_measure(qdml_run *r, const unsigned char *want, const char *fn) {
    qdml_problem *p = r->p;
    qdml_status st = p->ops->moments(p->bs, p->hbar, p->mass, want, r->mom);
    if (st != QDML_OK) return qdml_run_backend_error(r, st, fn, "moments");
    for (int64_t b = 0; b < r->B; ++b) {
        if (want && !want[b]) continue;
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
                     "its energy ran away (<H> = %g, %g at the start of the run, energy scale %g)", r->runaway_energy,
                     r->runaway_ref, r->runaway_scale);
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

void qdml_ground_options_default(qdml_ground_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->tolerance = 1e-6;
    o->max_steps = 200000;
    o->monitor_every = 0;
    o->dt_initial = 0.0;
    o->dt_min = 0.0;
}

/* ---- block orthonormalisation (lowest states) ------------------------------------------------ */

/* Cholesky S = R^H R of a Hermitian positive definite n x n matrix (row-major, interleaved complex),
 * R upper triangular, then T = R^-1 (upper triangular), both in row-major interleaved arrays.
 * Returns the first index whose pivot is not positive (the states up to it are linearly
 * dependent), or -1 on success. */
static int64_t cholesky_inverse(const double *S, int64_t n, double *R, double *T) {
    memset(R, 0, (size_t)(2 * n * n) * sizeof(double));
    memset(T, 0, (size_t)(2 * n * n) * sizeof(double));
#define RE(M, i, j) (M)[2 * ((i) * n + (j))]
#define IM(M, i, j) (M)[2 * ((i) * n + (j)) + 1]
    for (int64_t j = 0; j < n; ++j) {
        /* R_jj = sqrt(S_jj - sum_k |R_kj|^2) */
        double d = RE(S, j, j);
        for (int64_t k = 0; k < j; ++k) d -= RE(R, k, j) * RE(R, k, j) + IM(R, k, j) * IM(R, k, j);
        if (!(d > 1e-12 * RE(S, j, j)) || !isfinite(d)) return j;
        const double rjj = sqrt(d);
        RE(R, j, j) = rjj;
        /* R_jl = (S_jl - sum_k conj(R_kj) R_kl) / R_jj for l > j */
        for (int64_t l = j + 1; l < n; ++l) {
            double re = RE(S, j, l), im = IM(S, j, l);
            for (int64_t k = 0; k < j; ++k) {
                re -= RE(R, k, j) * RE(R, k, l) + IM(R, k, j) * IM(R, k, l);
                im -= RE(R, k, j) * IM(R, k, l) - IM(R, k, j) * RE(R, k, l);
            }
            RE(R, j, l) = re / rjj;
            IM(R, j, l) = im / rjj;
        }
    }
    /* T = R^-1 by back substitution, column by column: R T = I. */
    for (int64_t c = 0; c < n; ++c) {
        for (int64_t i = c; i >= 0; --i) {
            double re = (i == c) ? 1.0 : 0.0, im = 0.0;
            for (int64_t k = i + 1; k <= c; ++k) {
                re -= RE(R, i, k) * RE(T, k, c) - IM(R, i, k) * IM(T, k, c);
                im -= RE(R, i, k) * IM(T, k, c) + IM(R, i, k) * RE(T, k, c);
            }
            RE(T, i, c) = re / RE(R, i, i);
            IM(T, i, c) = im / RE(R, i, i);
        }
    }
#undef RE
#undef IM
    return -1;
}

/* Orthonormalise the members in order (Gram-Schmidt by Cholesky QR: member b becomes orthogonal
 * to members 0 .. b-1 and normalised, keeping the span of each leading set). Members below
 * `keep` (a prefix whose search is over) are left exactly as they are. Twice when the first pass
 * started far from orthonormal, since one Cholesky QR pass leaves errors of order cond(S)^2 u.
 * *dependent is set to the first member found linearly dependent on those before it (or -1). */
static qdml_status orthonormalise(qdml_run *r, int64_t keep, int64_t *dependent, const char *fn) {
    qdml_problem *p = r->p;
    const int64_t n = r->B;
    const size_t n2 = (size_t)(n * n);
    *dependent = -1;
    double *S = qdml_calloc_array(n2, 2 * sizeof(double));
    double *R = qdml_calloc_array(n2, 2 * sizeof(double));
    double *T = qdml_calloc_array(n2, 2 * sizeof(double));
    qdml_status st = QDML_OK;
    if (!S || !R || !T) {
        st = qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate %lld x %lld matrices", fn, (long long)n,
                       (long long)n);
        goto out;
    }
    for (int pass = 0; pass < 2; ++pass) {
        if ((st = p->ops->gram(p->bs, n, S)) != QDML_OK) {
            st = qdml_run_backend_error(r, st, fn, "gram");
            goto out;
        }
        double off = 0.0; /* largest departure of S dV from the identity */
        for (size_t k = 0; k < 2 * n2; ++k) S[k] *= p->desc.dv;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < n; ++j) {
                const double re = S[2 * (i * n + j)] - (i == j ? 1.0 : 0.0), im = S[2 * (i * n + j) + 1];
                const double a = sqrt(re * re + im * im);
                if (!(a <= off)) off = a; /* NaN propagates */
            }
        if (!isfinite(off)) {
            r->bad_member = 0;
            for (int64_t i = 0; i < n; ++i)
                if (!isfinite(S[2 * (i * n + i)])) {
                    r->bad_member = i;
                    break;
                }
            goto out;
        }
        const int64_t bad = cholesky_inverse(S, n, R, T);
        if (bad >= 0) {
            *dependent = bad;
            goto out;
        }
        for (int64_t c = 0; c < keep && c < n; ++c)
            for (int64_t i = 0; i < n; ++i) {
                T[2 * (i * n + c)] = (i == c) ? 1.0 : 0.0;
                T[2 * (i * n + c) + 1] = 0.0;
            }
        if ((st = p->ops->combine(p->bs, n, T)) != QDML_OK) {
            st = qdml_run_backend_error(r, st, fn, "combine");
            goto out;
        }
        if (off < 1e-4) break;
    }
out:
    free(S);
    free(R);
    free(T);
    return st;
}

/* The lowest-states search needs one Hamiltonian: every member with the same hbar, mass and
 * potential (bit for bit). */
static qdml_status check_one_hamiltonian(qdml_problem *p, const char *fn) {
    for (int64_t b = 1; b < p->batch; ++b)
        if (p->hbar[b] != p->hbar[0] || p->mass[b] != p->mass[0])
            return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                             "%s: member %lld has hbar = %.17g, mass = %.17g but member 0 has hbar = %.17g, mass = "
                             "%.17g: the lowest states are those of one Hamiltonian, so every member needs the same",
                             fn, (long long)b, p->hbar[b], p->mass[b], p->hbar[0], p->mass[0]);
    if (p->batch < 2) return QDML_OK;
    const size_t N = (size_t)p->desc.npoints;
    double *v0 = qdml_calloc_array(N, sizeof(double)), *vb = qdml_calloc_array(N, sizeof(double));
    qdml_status st = QDML_OK;
    if (!v0 || !vb) {
        st = qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate 2 x %zu doubles to compare potentials", fn,
                       N);
        goto out;
    }
    if ((st = p->ops->get_potential(p->bs, 0, v0)) != QDML_OK) {
        st = qdml_fail(p->ctx, st, "%s: reading the potential of member 0 failed: %s", fn, p->ops->last_error(p->bs));
        goto out;
    }
    for (int64_t b = 1; b < p->batch; ++b) {
        if ((st = p->ops->get_potential(p->bs, b, vb)) != QDML_OK) {
            st = qdml_fail(p->ctx, st, "%s: reading the potential of member %lld failed: %s", fn, (long long)b,
                           p->ops->last_error(p->bs));
            goto out;
        }
        for (size_t i = 0; i < N; ++i)
            if (vb[i] != v0[i]) {
                st = qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                               "%s: the potential of member %lld differs from member 0's at index %zu (%.17g vs "
                               "%.17g): the lowest states are those of one Hamiltonian; set the same potential on "
                               "every member",
                               fn, (long long)b, i, vb[i], v0[i]);
                goto out;
            }
    }
out:
    free(v0);
    free(vb);
    return st;
}

/* The lowest-states search moves as one block. Orthogonalisation couples the members: member j's
 * part along a lower state's error is fixed by orthogonality, so its residual cannot fall much
 * below the residuals of the members under it (the sum of them, at most). Were a lower member
 * frozen at residual ~ tolerance, a higher one could stall above it. So every member keeps stepping
 * until all have converged (or stalled at their smallest step) at the same monitoring point, with
 * convergence judged again at each point; and a member never steps with a larger dtau than any
 * member above it, so that when a higher member needs a smaller step to get under its O(dtau^2)
 * floor, the lower ones' floors (and with them the coupling) fall as well. The lowest members,
 * which converge first, keep their large steps until then. */
static qdml_status block_sync(qdml_run *r, const unsigned char *converged, const int *stalled) {
    qdml_problem *p = r->p;
    int done = 1;
    for (int64_t b = 0; b < r->B; ++b)
        if (!converged[b] && stalled[b] < 5) done = 0;
    double dt = INFINITY;
    for (int64_t b = r->B - 1; b >= 0; --b) {
        r->active[b] = (unsigned char)!done;
        dt = fmin(dt, p->dt[b]);
        if (!done && p->dt[b] > dt) {
            qdml_status st = qdml_run_set_member_step(r, b, dt);
            if (st != QDML_OK) return st;
        }
    }
    return QDML_OK;
}

static qdml_status ground_run(qdml_problem *p, const qdml_ground_options *o, qdml_run_result *results, const char *fn,
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
    if (ortho && (st = check_one_hamiltonian(p, fn)) != QDML_OK) return st;
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

    if (ortho && !resume) {
        /* The search keeps the members orthonormal in order; start so. */
        int64_t dep = -1;
        if ((st = orthonormalise(&r, 0, &dep, fn)) != QDML_OK) goto done;
        if (dep >= 0) {
            st = qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                           "%s: the initial state of member %lld is zero or (nearly) a combination of the states of "
                           "the members before it: set linearly independent states, e.g. Gaussians times different "
                           "random polynomials",
                           fn, (long long)dep);
            goto done;
        }
        if (r.bad_member >= 0) {
            st = qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: the initial state of member %lld is not finite", fn,
                           (long long)r.bad_member);
            goto done;
        }
    }
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
    if (ortho && (st = block_sync(&r, converged, stalled)) != QDML_OK) {
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
        if (!ortho) {
            if ((st = qdml_run_advance(&r, chunk, fn)) != QDML_OK) goto done;
        } else {
            /* Orthonormalised after every step, so that no member decays into a lower state for
             * longer than one step. */
            const int64_t keep = 0; /* the block moves together */
            for (int64_t k = 0; k < chunk && r.bad_member < 0; ++k) {
                int64_t dep = -1;
                if ((st = qdml_run_advance(&r, 1, fn)) != QDML_OK) goto done;
                if (r.bad_member >= 0) break;
                if ((st = orthonormalise(&r, keep, &dep, fn)) != QDML_OK) goto done;
                if (dep >= 0) r.bad_member = dep; /* a member collapsed onto the lower ones: restore */
            }
        }
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
        if (ortho && (st = block_sync(&r, converged, stalled)) != QDML_OK) {
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
    return ground_run(p, o, results, "qdml_problem_ground", 0);
}

qdml_status qdml_problem_lowest_states(qdml_problem *p, const qdml_ground_options *o, qdml_run_result *results) {
    return ground_run(p, o, results, "qdml_problem_lowest_states", 1);
}
