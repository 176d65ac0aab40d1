#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pointwise.h"

/* Validate a member index; QDML_ALL_MEMBERS allowed where `allow_all`. */
static qdml_status check_member(const qdml_problem *p, int64_t member, int allow_all, const char *fn) {
    if (member == QDML_ALL_MEMBERS && allow_all) return QDML_OK;
    if (member < 0 || member >= p->batch)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: member = %lld: must be in 0..%lld%s", fn,
                         (long long)member, (long long)(p->batch - 1), allow_all ? " or QDML_ALL_MEMBERS (-1)" : "");
    return QDML_OK;
}

#define MEMBER_RANGE(p, member, b0, b1)                                                                              \
    int64_t b0 = (member) == QDML_ALL_MEMBERS ? 0 : (member);                                                        \
    int64_t b1 = (member) == QDML_ALL_MEMBERS ? (p)->batch : (member) + 1

void qdml_member_reset(qdml_problem *p, int64_t b) {
    p->steps[b] = 0;
    p->time[b] = 0.0;
    p->dt[b] = 0.0;
    p->history[b].count = 0;
    p->ground_valid = 0;
    p->start_known = 0;
}

void qdml_problem_destroy(qdml_problem *p) {
    if (!p) return;
    if (p->ops && p->bs) p->ops->destroy(p->bs);
    if (p->history)
        for (int64_t b = 0; b < p->batch; ++b) free(p->history[b].items);
    free(p->history);
    free(p->hbar);
    free(p->mass);
    free(p->vmin);
    free(p->has_potential);
    free(p->steps);
    free(p->time);
    free(p->dt);
    free(p->built);
    free(p->built_ok);
    free(p->ground);
    free(p->sched);
    free(p->scheduled);
    free(p->part);
    free(p);
}

/* The backend's view of a problem: internal axes padded with leading 1s. */
static void fill_desc(const qdml_context *ctx, const qdml_grid *grid, int64_t batch, qdml_backend_desc *d) {
    memset(d, 0, sizeof *d);
    const int pad = 3 - grid->dim;
    for (int a = 0; a < 3; ++a) {
        d->n[a] = 1;
        d->lo[a] = 0.0;
        d->length[a] = 1.0;
    }
    for (int a = 0; a < grid->dim; ++a) {
        d->n[pad + a] = grid->n[a];
        d->lo[pad + a] = grid->lo[a];
        d->length[pad + a] = grid->hi[a] - grid->lo[a];
    }
    d->npoints = qdml_grid_points(grid);
    d->batch = batch;
    d->dv = qdml_grid_dv(grid);
    d->nthreads = ctx->nthreads;
    d->effort = ctx->effort;
    d->precision = ctx->precision;
    d->wisdom_path = ctx->wisdom[0] ? ctx->wisdom : NULL;
    d->par = ctx->par;
    d->device = ctx->device;
}

/* Checks shared by create and bytes_needed. */
static qdml_status check_sizes(qdml_context *ctx, const qdml_grid *grid, int64_t batch, const char *fn) {
    if (!grid) return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: grid is NULL", fn);
    qdml_status st = qdml_grid_validate(grid);
    if (st != QDML_OK) {
        char why[QDML_ERRLEN]; /* the thread-local message is also the destination buffer */
        snprintf(why, sizeof why, "%s", qdml_last_error_message());
        return qdml_fail(ctx, st, "%s: %s", fn, why);
    }
    if (batch < 1) return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: batch = %lld: must be >= 1", fn, (long long)batch);
    int64_t npoints = qdml_grid_points(grid), total = 0, bytes = 0;
    /* The backend holds about 88 bytes per point and member; refuse sizes whose byte count overflows. */
    if (!qdml_mul_i64(npoints, batch, &total) || !qdml_mul_i64(total, 128, &bytes))
        return qdml_fail(ctx, QDML_ERR_OVERFLOW, "%s: %lld points x batch %lld x 128 bytes overflows a 64-bit size", fn,
                         (long long)npoints, (long long)batch);
    if ((uint64_t)bytes > (uint64_t)SIZE_MAX)
        return qdml_fail(ctx, QDML_ERR_OVERFLOW, "%s: %lld bytes exceed the address space", fn, (long long)bytes);
    return QDML_OK;
}

/* Memory the host can give without swapping out other work: MemAvailable + SwapFree from
 * /proc/meminfo (Linux); 0 when unknown. */
static uint64_t host_memory_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    uint64_t avail = 0, swap = 0;
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long kb;
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
            avail = (uint64_t)kb * 1024u;
            found = 1;
        } else if (sscanf(line, "SwapFree: %llu kB", &kb) == 1) {
            swap = (uint64_t)kb * 1024u;
        }
    }
    fclose(f);
    return found ? avail + swap : 0;
}

qdml_status qdml_problem_bytes_needed(qdml_context *ctx, const qdml_grid *grid, int64_t batch, size_t *bytes) {
    static const char fn[] = "qdml_problem_bytes_needed";
    if (!ctx) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
    if (!bytes) return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: bytes is NULL", fn);
    qdml_status st = check_sizes(ctx, grid, batch, fn);
    if (st != QDML_OK) return st;
    qdml_backend_desc d;
    fill_desc(ctx, grid, batch, &d);
    st = ctx->ops->bytes_needed(&d, bytes);
    if (st != QDML_OK) return qdml_fail(ctx, st, "%s: the %s backend cannot size this problem", fn, ctx->ops->name);
    qdml_clear_error(ctx);
    return QDML_OK;
}

qdml_status qdml_problem_create(qdml_context *ctx, const qdml_grid *grid, int64_t batch, qdml_problem **out) {
    if (!ctx) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_create: ctx is NULL");
    if (!out) return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_create: out is NULL");
    *out = NULL;
    qdml_status st = check_sizes(ctx, grid, batch, "qdml_problem_create");
    if (st != QDML_OK) return st;
    if (ctx->backend == QDML_BACKEND_CPU && ctx->precision == QDML_FLOAT64) {
        /* Refuse before any work a problem the host cannot hold (the CUDA backend checks the
         * device's free memory itself). */
        qdml_backend_desc d;
        size_t need = 0;
        fill_desc(ctx, grid, batch, &d);
        const uint64_t avail = host_memory_available();
        const int short_here = ctx->ops->bytes_needed(&d, &need) == QDML_OK && avail > 0 && (uint64_t)need > avail;
        if (qdml_par_max(ctx, short_here) && !short_here) /* every rank refuses, or none */
            return qdml_fail(ctx, QDML_ERR_OUT_OF_MEMORY,
                             "qdml_problem_create: another rank has too little host memory for its part of this "
                             "problem (its message says how much)");
        if (short_here)
            return qdml_fail(ctx, QDML_ERR_OUT_OF_MEMORY,
                             "qdml_problem_create: this problem needs %zu bytes (%.2f GiB) of host memory; %llu bytes "
                             "(%.2f GiB) are available (MemAvailable + SwapFree)",
                             need, (double)need / 1073741824.0, (unsigned long long)avail, (double)avail / 1073741824.0);
    }
    const int64_t npoints = qdml_grid_points(grid);
    qdml_problem *p = calloc(1, sizeof *p);
    if (!p) return qdml_fail(ctx, QDML_ERR_OUT_OF_MEMORY, "qdml_problem_create: cannot allocate the handle");
    p->ctx = ctx;
    p->ops = ctx->ops;
    p->grid = *grid;
    p->npoints = npoints;
    p->batch = batch;
    size_t nb = (size_t)batch;
    p->hbar = qdml_calloc_array(nb, sizeof(double));
    p->mass = qdml_calloc_array(nb, sizeof(double));
    p->vmin = qdml_calloc_array(nb, sizeof(double));
    p->has_potential = qdml_calloc_array(nb, 1);
    p->steps = qdml_calloc_array(nb, sizeof(int64_t));
    p->time = qdml_calloc_array(nb, sizeof(double));
    p->dt = qdml_calloc_array(nb, sizeof(double));
    p->history = qdml_calloc_array(nb, sizeof(qdml_history));
    p->built = qdml_calloc_array(nb, sizeof(qdml_step_params));
    p->built_ok = qdml_calloc_array(nb, 1);
    p->ground = qdml_calloc_array(nb, sizeof(qdml_ground_member));
    if (!p->hbar || !p->mass || !p->vmin || !p->has_potential || !p->steps || !p->time || !p->dt || !p->history ||
        !p->built || !p->built_ok || !p->ground) {
        qdml_problem_destroy(p);
        return qdml_fail(ctx, QDML_ERR_OUT_OF_MEMORY, "qdml_problem_create: cannot allocate per-member arrays (batch %lld)",
                         (long long)batch);
    }
    for (int64_t b = 0; b < batch; ++b) p->hbar[b] = p->mass[b] = 1.0;

    fill_desc(ctx, grid, batch, &p->desc);
    st = p->ops->create(&p->desc, &p->bs);
    if (st != QDML_OK) {
        st = qdml_fail_from(ctx, st, "qdml_problem_create (%s backend)", ctx->ops->name);
        p->bs = NULL;
        qdml_problem_destroy(p);
        return st;
    }
    st = qdml_problem_set_state_uniform(p, QDML_ALL_MEMBERS);
    if (st != QDML_OK) {
        qdml_problem_destroy(p);
        return st;
    }
    qdml_clear_error(ctx);
    *out = p;
    return QDML_OK;
}

int64_t qdml_problem_batch(const qdml_problem *p) { return p ? p->batch : 0; }
int64_t qdml_problem_points(const qdml_problem *p) { return p ? p->npoints : 0; }
const qdml_grid *qdml_problem_grid(const qdml_problem *p) { return p ? &p->grid : NULL; }
qdml_precision qdml_problem_precision(const qdml_problem *p) { return p ? p->desc.precision : QDML_FLOAT64; }

qdml_status qdml_problem_last_run(const qdml_problem *p, qdml_run_info *out) {
    if (!p || !out)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_last_run: %s is NULL", !p ? "problem" : "out");
    *out = p->last_run;
    return QDML_OK;
}

qdml_status qdml_problem_set_potential(qdml_problem *p, int64_t member, const double *values) {
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_set_potential: problem is NULL");
    qdml_status st = check_member(p, member, 1, "qdml_problem_set_potential");
    if (st != QDML_OK) return st;
    if (!values) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_set_potential: values is NULL");
    double vmin = INFINITY;
    for (int64_t i = 0; i < p->npoints; ++i) {
        if (!isfinite(values[i]))
            return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                             "qdml_problem_set_potential: values[%lld] = %g: the potential must be finite everywhere "
                             "(first bad index %lld)",
                             (long long)i, values[i], (long long)i);
        if (values[i] < vmin) vmin = values[i];
    }
    MEMBER_RANGE(p, member, b0, b1);
    for (int64_t b = b0; b < b1; ++b) {
        st = p->ops->set_potential(p->bs, b, values);
        if (st != QDML_OK)
            return qdml_fail_from(p->ctx, st, "qdml_problem_set_potential: the %s backend failed to store member %lld",
                                  p->ops->name, (long long)b);
        p->vmin[b] = vmin;
        p->has_potential[b] = 1;
        p->built_ok[b] = 0;
    }
    p->ground_valid = 0;
    p->start_known = 0;
    qdml_clear_error(p->ctx);
    return QDML_OK;
}

qdml_status qdml_problem_get_potential(const qdml_problem *p, int64_t member, double *values) {
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_get_potential: problem is NULL");
    qdml_status st = check_member(p, member, 0, "qdml_problem_get_potential");
    if (st != QDML_OK) return st;
    if (!values) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "qdml_problem_get_potential: values is NULL");
    if (!p->has_potential[member])
        return qdml_fail(p->ctx, QDML_ERR_NOT_READY, "qdml_problem_get_potential: member %lld has no potential set",
                         (long long)member);
    st = p->ops->get_potential(p->bs, member, values);
    if (st != QDML_OK)
        return qdml_fail_from(p->ctx, st, "qdml_problem_get_potential: the %s backend failed", p->ops->name);
    return QDML_OK;
}

static qdml_status set_param(qdml_problem *p, int64_t member, double value, double *arr, const char *fn,
                             const char *name) {
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    qdml_status st = check_member(p, member, 1, fn);
    if (st != QDML_OK) return st;
    if (!isfinite(value) || !(value > 0.0))
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: %s = %g: must be positive and finite", fn, name, value);
    MEMBER_RANGE(p, member, b0, b1);
    for (int64_t b = b0; b < b1; ++b) {
        arr[b] = value;
        p->built_ok[b] = 0;
    }
    p->ground_valid = 0;
    p->start_known = 0;
    qdml_clear_error(p->ctx);
    return QDML_OK;
}

qdml_status qdml_problem_set_hbar(qdml_problem *p, int64_t member, double hbar) {
    return set_param(p, member, hbar, p ? p->hbar : NULL, "qdml_problem_set_hbar", "hbar");
}

qdml_status qdml_problem_set_mass(qdml_problem *p, int64_t member, double mass) {
    return set_param(p, member, mass, p ? p->mass : NULL, "qdml_problem_set_mass", "mass");
}

static qdml_status get_param(const qdml_problem *p, int64_t member, double *out, const double *arr, const char *fn) {
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    qdml_status st = check_member(p, member, 0, fn);
    if (st != QDML_OK) return st;
    if (!out) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: output pointer is NULL", fn);
    *out = arr[member];
    return QDML_OK;
}

qdml_status qdml_problem_get_hbar(const qdml_problem *p, int64_t member, double *hbar) {
    return get_param(p, member, hbar, p ? p->hbar : NULL, "qdml_problem_get_hbar");
}

qdml_status qdml_problem_get_mass(const qdml_problem *p, int64_t member, double *mass) {
    return get_param(p, member, mass, p ? p->mass : NULL, "qdml_problem_get_mass");
}

/* Upload one host array to members b0..b1-1 and reset their clocks. */
static qdml_status upload_state(qdml_problem *p, int64_t member, const double *psi, const char *fn) {
    MEMBER_RANGE(p, member, b0, b1);
    p->start_known = 0;
    for (int64_t b = b0; b < b1; ++b) {
        qdml_status st = p->ops->set_state(p->bs, b, psi);
        if (st != QDML_OK)
            return qdml_fail_from(p->ctx, st, "%s: the %s backend failed to store the state of member %lld", fn,
                                  p->ops->name, (long long)b);
        qdml_member_reset(p, b);
    }
    qdml_clear_error(p->ctx);
    return QDML_OK;
}

static double *alloc_state(qdml_problem *p, const char *fn) {
    double *buf = qdml_calloc_array((size_t)p->npoints, 2 * sizeof(double));
    if (!buf)
        qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate a host buffer of %lld complex points", fn,
                  (long long)p->npoints);
    return buf;
}

qdml_status qdml_problem_set_state_uniform(qdml_problem *p, int64_t member) {
    const char *fn = "qdml_problem_set_state_uniform";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    qdml_status st = check_member(p, member, 1, fn);
    if (st != QDML_OK) return st;
    double *buf = alloc_state(p, fn);
    if (!buf) return QDML_ERR_OUT_OF_MEMORY;
    double volume = 1.0;
    for (int d = 0; d < p->grid.dim; ++d) volume *= p->grid.hi[d] - p->grid.lo[d];
    const double amp = 1.0 / sqrt(volume);
    for (int64_t i = 0; i < p->npoints; ++i) buf[2 * i] = amp;
    st = upload_state(p, member, buf, fn);
    free(buf);
    return st;
}

qdml_status qdml_problem_set_state_gaussian(qdml_problem *p, int64_t member, const double *center, const double *width,
                                            const double *momentum) {
    const char *fn = "qdml_problem_set_state_gaussian";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    qdml_status st = check_member(p, member, 1, fn);
    if (st != QDML_OK) return st;
    if (!center || !width)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !center ? "center" : "width");
    const int dim = p->grid.dim;
    for (int d = 0; d < dim; ++d) {
        if (!isfinite(center[d]))
            return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: center[%d] = %g: must be finite", fn, d, center[d]);
        if (!isfinite(width[d]) || !(width[d] > 0))
            return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: width[%d] = %g: must be positive and finite", fn, d,
                             width[d]);
        if (momentum && !isfinite(momentum[d]))
            return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: momentum[%d] = %g: must be finite", fn, d,
                             momentum[d]);
    }
    double *buf = alloc_state(p, fn);
    qdml_c64 *axis[QDML_MAX_DIM] = {NULL};
    int ok = buf != NULL;
    for (int d = 0; d < dim && ok; ++d) ok = (axis[d] = qdml_calloc_array((size_t)p->grid.n[d], sizeof(qdml_c64))) != NULL;
    if (!ok) {
        free(buf);
        for (int d = 0; d < dim; ++d) free(axis[d]);
        return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate host buffers", fn);
    }
    for (int d = 0; d < dim; ++d)
        for (int64_t j = 0; j < p->grid.n[d]; ++j) {
            double x = qdml_grid_point(p->grid.lo[d], p->grid.hi[d] - p->grid.lo[d], j, p->grid.n[d]);
            axis[d][j] = qdml_gaussian_factor(x, center[d], width[d], momentum ? momentum[d] : 0.0);
        }
    int64_t idx[QDML_MAX_DIM] = {0};
    for (int64_t i = 0; i < p->npoints; ++i) {
        qdml_c64 z = axis[0][idx[0]];
        for (int d = 1; d < dim; ++d) z = qdml_cmul(z, axis[d][idx[d]]);
        buf[2 * i] = z.re;
        buf[2 * i + 1] = z.im;
        for (int d = dim - 1; d >= 0; --d) {
            if (++idx[d] < p->grid.n[d]) break;
            idx[d] = 0;
        }
    }
    st = upload_state(p, member, buf, fn);
    free(buf);
    for (int d = 0; d < dim; ++d) free(axis[d]);
    return st;
}

qdml_status qdml_problem_set_state(qdml_problem *p, int64_t member, const double *psi) {
    const char *fn = "qdml_problem_set_state";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    qdml_status st = check_member(p, member, 1, fn);
    if (st != QDML_OK) return st;
    if (!psi) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: psi_interleaved is NULL", fn);
    for (int64_t i = 0; i < 2 * p->npoints; ++i)
        if (!isfinite(psi[i]))
            return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                             "%s: psi[%lld] has a non-finite %s part (%g): the state must be finite (first bad index %lld)",
                             fn, (long long)(i / 2), (i % 2) ? "imaginary" : "real", psi[i], (long long)(i / 2));
    return upload_state(p, member, psi, fn);
}

qdml_status qdml_problem_get_state(const qdml_problem *p, int64_t member, double *psi) {
    const char *fn = "qdml_problem_get_state";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    qdml_status st = check_member(p, member, 0, fn);
    if (st != QDML_OK) return st;
    if (!psi) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: psi_interleaved is NULL", fn);
    st = p->ops->get_state(p->bs, member, psi);
    if (st != QDML_OK) return qdml_fail_from(p->ctx, st, "%s: the %s backend failed", fn, p->ops->name);
    return QDML_OK;
}

qdml_status qdml_problem_get_state_part(qdml_problem *p, int64_t member, int64_t first, int64_t count, double *psi) {
    const char *fn = "qdml_problem_get_state_part";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    qdml_status st = check_member(p, member, 0, fn);
    if (st != QDML_OK) return st;
    if (first < 0 || count < 1 || first >= p->npoints || count > p->npoints - first)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: points [%lld, %lld + %lld) are not within the member's %lld points", fn, (long long)first,
                         (long long)first, (long long)count, (long long)p->npoints);
    if (!psi) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: psi_interleaved is NULL", fn);
    if (p->ops->get_part) {
        st = p->ops->get_part(p->bs, member, 0, first, count, psi);
    } else {
        /* The member whole, copied out at its first part and kept to its last. */
        if (first == 0 || !p->part || p->part_member != member) {
            free(p->part);
            p->part = qdml_calloc_array((size_t)p->npoints, 2 * sizeof(double));
            if (!p->part) return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate a host buffer", fn);
            p->part_member = member;
            if ((st = p->ops->get_state(p->bs, member, p->part)) != QDML_OK) {
                free(p->part);
                p->part = NULL;
            }
        }
        if (st == QDML_OK) memcpy(psi, p->part + 2 * first, (size_t)count * 2 * sizeof(double));
        if (first + count == p->npoints) {
            free(p->part);
            p->part = NULL;
        }
    }
    if (st != QDML_OK) return qdml_fail_from(p->ctx, st, "%s: the %s backend failed", fn, p->ops->name);
    return QDML_OK;
}

qdml_status qdml_problem_get_density(const qdml_problem *p, int64_t member, double *density) {
    const char *fn = "qdml_problem_get_density";
    if (!p) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: problem is NULL", fn);
    qdml_status st = check_member(p, member, 0, fn);
    if (st != QDML_OK) return st;
    if (!density) return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: density is NULL", fn);
    double *buf = qdml_calloc_array((size_t)p->npoints, 2 * sizeof(double));
    if (!buf) return qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate a host buffer", fn);
    st = p->ops->get_state(p->bs, member, buf);
    if (st == QDML_OK)
        for (int64_t i = 0; i < p->npoints; ++i) density[i] = buf[2 * i] * buf[2 * i] + buf[2 * i + 1] * buf[2 * i + 1];
    free(buf);
    if (st != QDML_OK) return qdml_fail_from(p->ctx, st, "%s: the %s backend failed", fn, p->ops->name);
    return QDML_OK;
}
