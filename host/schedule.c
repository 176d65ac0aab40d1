/* Time-dependent coefficients of H(t) = a(t) T + b(t) V (qdml.h, "Time-dependent Hamiltonians"): the
 * built-in schedules, their values, and the per-member schedules of a problem. The steps that use
 * them are solver.c's (qdml_run_advance with r->scheduled). */
#include <math.h>
#include <stdlib.h>

#include "internal.h"

qdml_status qdml_schedule_default(qdml_schedule_kind kind, qdml_schedule *out) {
    static const char fn[] = "qdml_schedule_default";
    if (!out) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    qdml_schedule s = {kind, {0.0, 0.0, 0.0}, NULL, NULL};
    switch (kind) {
    case QDML_SCHEDULE_CONSTANT: s.p[0] = 1.0; break;
    case QDML_SCHEDULE_LINEAR: s.p[0] = 0.0, s.p[1] = 1.0, s.p[2] = 1.0; break;
    case QDML_SCHEDULE_GEOMETRIC: s.p[0] = 1.0, s.p[1] = 1e-3, s.p[2] = 1.0; break;
    case QDML_SCHEDULE_QHD_KINETIC: s.p[0] = 2.0, s.p[1] = 1e-3; break;
    case QDML_SCHEDULE_QHD_POTENTIAL: s.p[0] = 2.0; break;
    case QDML_SCHEDULE_CALLBACK:
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "%s: QDML_SCHEDULE_CALLBACK has no default: fill a qdml_schedule with kind, fn and user", fn);
    default:
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: kind = %d: expected a qdml_schedule_kind (0 .. 5)", fn,
                         (int)kind);
    }
    *out = s;
    return QDML_OK;
}

/* The parameters of a built-in within their ranges (qdml.h); a callback has its function. */
static qdml_status check_params(const qdml_schedule *s, const char *fn) {
    const double *p = s->p;
    switch (s->kind) {
    case QDML_SCHEDULE_CONSTANT:
        if (isfinite(p[0]) && p[0] >= 0) return QDML_OK;
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: a constant schedule's p[0] = %g: must be finite and >= 0",
                         fn, p[0]);
    case QDML_SCHEDULE_LINEAR:
    case QDML_SCHEDULE_GEOMETRIC: {
        const int geo = s->kind == QDML_SCHEDULE_GEOMETRIC;
        const int ends = geo ? (p[0] > 0 && p[1] > 0) : (p[0] >= 0 && p[1] >= 0);
        if (isfinite(p[0]) && isfinite(p[1]) && ends && isfinite(p[2]) && p[2] > 0) return QDML_OK;
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "%s: a %s schedule from p[0] = %g to p[1] = %g over p[2] = %g: the ends must be finite and %s, "
                         "the duration finite and > 0",
                         fn, geo ? "geometric" : "linear", p[0], p[1], p[2], geo ? "> 0" : ">= 0");
    }
    case QDML_SCHEDULE_QHD_KINETIC:
        if (isfinite(p[0]) && p[0] >= 0 && isfinite(p[1]) && p[1] > 0) return QDML_OK;
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "%s: the QHD kinetic schedule p[0] / (p[1] + t^3) with p[0] = %g, p[1] = %g: p[0] must be "
                         "finite and >= 0, p[1] finite and > 0 (QHD's: 2, 1e-3)",
                         fn, p[0], p[1]);
    case QDML_SCHEDULE_QHD_POTENTIAL:
        if (isfinite(p[0]) && p[0] >= 0) return QDML_OK;
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "%s: the QHD potential schedule p[0] t^3 with p[0] = %g: must be finite and >= 0 (QHD's: 2)",
                         fn, p[0]);
    case QDML_SCHEDULE_CALLBACK:
        if (s->fn) return QDML_OK;
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: a callback schedule with fn = NULL", fn);
    }
    return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: kind = %d: expected a qdml_schedule_kind (0 .. 5)", fn,
                     (int)s->kind);
}

qdml_status qdml_schedule_value(const qdml_schedule *s, double t, double *value) {
    static const char fn[] = "qdml_schedule_value";
    if (!s || !value) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !s ? "schedule" : "value");
    if (!isfinite(t) || t < 0)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: t = %g: must be finite and >= 0", fn, t);
    qdml_status st = check_params(s, fn);
    if (st != QDML_OK) return st;
    const double *p = s->p;
    double v = 0.0;
    switch (s->kind) {
    case QDML_SCHEDULE_CONSTANT: v = p[0]; break;
    case QDML_SCHEDULE_LINEAR: v = p[0] + (p[1] - p[0]) * fmin(t / p[2], 1.0); break;
    case QDML_SCHEDULE_GEOMETRIC: v = p[0] * pow(p[1] / p[0], fmin(t / p[2], 1.0)); break;
    case QDML_SCHEDULE_QHD_KINETIC: v = p[0] / (p[1] + t * t * t); break;
    case QDML_SCHEDULE_QHD_POTENTIAL: v = p[0] * t * t * t; break;
    case QDML_SCHEDULE_CALLBACK: v = s->fn(t, s->user); break;
    }
    if (!isfinite(v) || v < 0)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "%s: the %s schedule is %g at t = %.17g: schedules must be finite and >= 0", fn,
                         s->kind == QDML_SCHEDULE_CALLBACK ? "callback" : "built-in", v, t);
    *value = v;
    return QDML_OK;
}

/* The constant 1: what a member without a schedule has. */
static int is_one(const qdml_schedule *s) { return s->kind == QDML_SCHEDULE_CONSTANT && s->p[0] == 1.0; }

qdml_status qdml_problem_set_schedule(qdml_problem *p, int64_t member, const qdml_schedule *kinetic,
                                      const qdml_schedule *potential) {
    static const char fn[] = "qdml_problem_set_schedule";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    if (member != QDML_ALL_MEMBERS && (member < 0 || member >= p->batch))
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: member %lld is outside 0 .. %lld (or QDML_ALL_MEMBERS)",
                         fn, (long long)member, (long long)(p->batch - 1));
    qdml_schedule two[2];
    const qdml_schedule *given[2] = {kinetic, potential};
    for (int i = 0; i < 2; ++i) {
        if (given[i]) {
            two[i] = *given[i];
        } else {
            (void)qdml_schedule_default(QDML_SCHEDULE_CONSTANT, &two[i]);
        }
        double v;
        /* A callback is asked at t = 0 here, once: it must answer there as a run would ask it. */
        const qdml_status st = qdml_schedule_value(&two[i], 0.0, &v);
        if (st != QDML_OK)
            return qdml_fail_from(p->ctx, st, "%s: the %s schedule", fn, i == 0 ? "kinetic" : "potential");
    }
    if (!p->sched) {
        p->sched = qdml_calloc_array((size_t)p->batch * 2, sizeof(qdml_schedule));
        p->scheduled = qdml_calloc_array((size_t)p->batch, 1);
        if (!p->sched || !p->scheduled) {
            free(p->sched);
            free(p->scheduled);
            p->sched = NULL;
            p->scheduled = NULL;
            return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate the schedules of %lld members", fn,
                             (long long)p->batch);
        }
        for (int64_t b = 0; b < 2 * p->batch; ++b) (void)qdml_schedule_default(QDML_SCHEDULE_CONSTANT, &p->sched[b]);
    }
    const int64_t b0 = member == QDML_ALL_MEMBERS ? 0 : member, b1 = member == QDML_ALL_MEMBERS ? p->batch : member + 1;
    for (int64_t b = b0; b < b1; ++b) {
        p->sched[2 * b] = two[0];
        p->sched[2 * b + 1] = two[1];
        p->scheduled[b] = !(is_one(&two[0]) && is_one(&two[1]));
    }
    p->start_known = 0;
    qdml_clear_error(p->ctx);
    return QDML_OK;
}
