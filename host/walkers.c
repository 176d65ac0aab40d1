/* The walkers' public API (include/qdml/qdml_walkers.h): arguments checked, the backend's walker
 * table (registry.c) driven step by step, the estimators from the steps' records. The statistics
 * themselves are walkers_stats.c; the per-walker step core/walkers.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "objective_grad.h"
#include "registry.h"
#include "walkers_private.h"

struct qdml_walkers {
    qdml_context *ctx;
    const qdml_walker_ops *ops;
    qdml_walk_state *s;
    qdml_walk_desc d;
    qdml_walk_objective *obj; /* per member */
    double **axes;            /* per member, built-ins with per-axis parameters */
    unsigned char *placed;
};

int qdml_walkers_has_gradient(qdml_objective_kind kind) { return qdml_objective_has_grad(kind); }

int qdml_walkers_axis_parameters(qdml_objective_kind kind) { return qdml_objective_axis_params(kind); }

void qdml_walkers_destroy(qdml_walkers *w) {
    if (!w) return;
    if (w->s) w->ops->destroy(w->s);
    if (w->axes)
        for (int64_t b = 0; b < w->d.batch; ++b)
            free(w->axes[b]);
    free(w->axes);
    free(w->obj);
    free(w->placed);
    free(w);
}

qdml_status qdml_walkers_create(qdml_walkers **out, qdml_context *ctx, const qdml_walkers_config *c) {
    static const char fn[] = "qdml_walkers_create";
    if (!out || !ctx || !c) return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: out, ctx or config is NULL", fn);
    *out = NULL;
    const double capf = c->capacity == 0.0 ? 4.0 : c->capacity;
    if (c->dim < 1 || c->dim > QDML_WALKERS_MAX_DIM)
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: dim = %d: must be in 1..%d", fn, c->dim,
                         QDML_WALKERS_MAX_DIM);
    if (c->batch < 1 || c->batch > ((int64_t)1 << 31))
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: batch = %lld: must be in 1..2^31", fn,
                         (long long)c->batch);
    if (c->walkers < 16 || c->walkers > ((int64_t)1 << 28))
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: walkers = %lld: must be in 16..2^28", fn,
                         (long long)c->walkers);
    if (!(capf >= 1.5) || !(capf <= 64.0))
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: capacity = %g: must be 0 (4) or in [1.5, 64]", fn,
                         c->capacity);
    if (!(c->alpha >= 0.0) || !isfinite(c->alpha))
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: alpha = %g: must be 0 (no trial function) or positive", fn,
                         c->alpha);
    const qdml_backend_entry *e = qdml_registry_find(ctx->backend);
    if (!e || !e->walkers)
        return qdml_fail(ctx, QDML_ERR_UNAVAILABLE, "%s: the %s backend has no walkers in this build", fn,
                         e ? e->name : "chosen");
    int64_t cap = (int64_t)ceil(capf * (double)c->walkers), bytes;
    const int64_t per = ((int64_t)c->dim + 3) * (c->alpha > 0.0 ? 2 : 1) + 4;
    if (!qdml_mul_i64(cap, per, &bytes) || !qdml_mul_i64(bytes, 2 * c->batch, &bytes) ||
        !qdml_mul_i64(bytes, (int64_t)sizeof(double), &bytes))
        return qdml_fail(ctx, QDML_ERR_OVERFLOW, "%s: %lld members of %lld walkers in %d dimensions overflow a size", fn,
                         (long long)c->batch, (long long)cap, c->dim);
    qdml_walkers *w = calloc(1, sizeof *w);
    if (!w) return qdml_fail(ctx, QDML_ERR_OUT_OF_MEMORY, "%s: no memory", fn);
    w->ctx = ctx;
    w->ops = e->walkers;
    w->d.dim = c->dim;
    w->d.batch = c->batch;
    w->d.target = c->walkers;
    w->d.capacity = cap;
    w->d.seed = c->seed;
    w->d.alpha = c->alpha;
    w->d.nthreads = ctx->nthreads;
    w->d.device = ctx->device;
    w->obj = qdml_calloc_array((size_t)c->batch, sizeof *w->obj);
    w->axes = qdml_calloc_array((size_t)c->batch, sizeof *w->axes);
    w->placed = qdml_calloc_array((size_t)c->batch, 1);
    if (!w->obj || !w->axes || !w->placed) {
        qdml_walkers_destroy(w);
        return qdml_fail(ctx, QDML_ERR_OUT_OF_MEMORY, "%s: no memory for %lld members", fn, (long long)c->batch);
    }
    const qdml_status st = w->ops->create(&w->d, &w->s);
    if (st != QDML_OK) {
        qdml_walkers_destroy(w);
        return qdml_fail_from(ctx, st, "%s: the %s backend", fn, e->name);
    }
    *out = w;
    qdml_clear_error(ctx);
    return QDML_OK;
}

static qdml_status member_range(const qdml_walkers *w, int64_t member, int all, int64_t *b0, int64_t *b1,
                                const char *fn) {
    if (member == -1 && all) {
        *b0 = 0, *b1 = w->d.batch;
        return QDML_OK;
    }
    if (member < 0 || member >= w->d.batch)
        return qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: member = %lld: must be in 0..%lld%s", fn,
                         (long long)member, (long long)w->d.batch - 1, all ? " or -1 (every member)" : "");
    *b0 = member, *b1 = member + 1;
    return QDML_OK;
}

static qdml_status set_member(qdml_walkers *w, int64_t b0, int64_t b1, const qdml_walk_objective *o, double *axes,
                              const char *fn) {
    for (int64_t b = b0; b < b1; ++b) {
        free(w->axes[b]);
        w->axes[b] = NULL;
        if (axes) {
            w->axes[b] = malloc((size_t)o->naxes * (size_t)w->d.dim * sizeof(double));
            if (!w->axes[b]) return qdml_fail(w->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: no memory for the axes", fn);
            memcpy(w->axes[b], axes, (size_t)o->naxes * (size_t)w->d.dim * sizeof(double));
        }
        w->obj[b] = *o;
        w->obj[b].axes = w->axes[b];
        w->placed[b] = 0;
        const qdml_status st = w->ops->set_objective(w->s, b, &w->obj[b]);
        if (st != QDML_OK) return qdml_fail_from(w->ctx, st, "%s: the %s backend", fn, w->ops->name);
    }
    qdml_clear_error(w->ctx);
    return QDML_OK;
}

qdml_status qdml_walkers_set_objective(qdml_walkers *w, int64_t member, const qdml_objective *o, const double *axes) {
    static const char fn[] = "qdml_walkers_set_objective";
    if (!w) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: walkers is NULL", fn);
    int64_t b0 = 0, b1 = 0;
    qdml_status st = member_range(w, member, 1, &b0, &b1, fn);
    if (st != QDML_OK) return st;
    if (!o) return qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: objective is NULL", fn);
    const int na = qdml_objective_axis_params(o->kind);
    double *ax = na ? malloc((size_t)na * (size_t)w->d.dim * sizeof(double)) : NULL;
    if (na && !ax) return qdml_fail(w->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: no memory for the axes", fn);
    double none[1];
    st = qdml_objective_check_axes(w->ctx, o, w->d.dim, axes, ax ? ax : none, fn);
    if (st == QDML_OK && w->d.alpha > 0.0 && !qdml_objective_has_grad(o->kind))
        st = qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT,
                       "%s: %s has no gradient here, which importance sampling (alpha = %g) needs: use alpha = 0, a "
                       "kind with one (qdml_walkers_has_gradient), or a callback that gives it",
                       fn, qdml_objective_name(o->kind), w->d.alpha);
    if (st == QDML_OK) {
        qdml_walk_objective wo;
        memset(&wo, 0, sizeof wo);
        wo.set = 1;
        wo.obj = *o;
        wo.naxes = na;
        st = set_member(w, b0, b1, &wo, ax, fn);
    }
    free(ax);
    return st;
}

qdml_status qdml_walkers_set_objective_fn(qdml_walkers *w, int64_t member, qdml_walker_fn f, void *user) {
    static const char fn[] = "qdml_walkers_set_objective_fn";
    if (!w) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: walkers is NULL", fn);
    int64_t b0 = 0, b1 = 0;
    const qdml_status st = member_range(w, member, 1, &b0, &b1, fn);
    if (st != QDML_OK) return st;
    if (!f) return qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: fn is NULL", fn);
    if (!w->ops->callbacks)
        return qdml_fail(w->ctx, QDML_ERR_UNAVAILABLE,
                         "%s: the %s backend evaluates built-in objectives only (a callback runs on the host): use "
                         "the cpu backend, or a built-in",
                         fn, w->ops->name);
    qdml_walk_objective wo;
    memset(&wo, 0, sizeof wo);
    wo.set = 2;
    wo.fn = f;
    wo.user = user;
    return set_member(w, b0, b1, &wo, NULL, fn);
}

qdml_status qdml_walkers_place(qdml_walkers *w, int64_t member, int64_t count, const double *x, const double *lo,
                               const double *hi) {
    static const char fn[] = "qdml_walkers_place";
    if (!w) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: walkers is NULL", fn);
    int64_t b0 = 0, b1 = 0;
    qdml_status st = member_range(w, member, 1, &b0, &b1, fn);
    if (st != QDML_OK) return st;
    const int dim = w->d.dim;
    if (count == 0) count = w->d.target;
    if (count < 1 || count > w->d.capacity)
        return qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: count = %lld: must be in 1..%lld (the capacity)", fn,
                         (long long)count, (long long)w->d.capacity);
    if (x)
        for (int64_t i = 0; i < count * dim; ++i)
            if (!isfinite(x[i]))
                return qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: x[%lld] = %g is not finite", fn, (long long)i,
                                 x[i]);
    if (!x && (!lo) != (!hi))
        return qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: give both lo and hi, or neither", fn);
    double *box = NULL;
    for (int64_t b = b0; b < b1 && st == QDML_OK; ++b) {
        if (!w->obj[b].set) {
            st = qdml_fail(w->ctx, QDML_ERR_NOT_READY, "%s: member %lld has no objective (qdml_walkers_set_objective)",
                           fn, (long long)b);
            break;
        }
        const double *l = lo, *h = hi;
        if (!x && !lo) {
            if (w->obj[b].set == 2) {
                st = qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT,
                               "%s: member %lld's objective is a callback, which has no usual domain: give lo and hi",
                               fn, (long long)b);
                break;
            }
            if (!box && !(box = malloc(2 * (size_t)dim * sizeof *box))) {
                st = qdml_fail(w->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: no memory", fn);
                break;
            }
            const int d3 = dim < QDML_MAX_DIM ? dim : QDML_MAX_DIM;
            double l3[QDML_MAX_DIM], h3[QDML_MAX_DIM];
            st = qdml_objective_domain(&w->obj[b].obj, d3, l3, h3);
            if (st != QDML_OK) {
                st = qdml_fail_from(w->ctx, st, "%s: member %lld's domain", fn, (long long)b);
                break;
            }
            for (int a = 0; a < dim; ++a) {
                box[a] = a < d3 ? l3[a] : l3[0];
                box[dim + a] = a < d3 ? h3[a] : h3[0];
            }
            l = box, h = box + dim;
        }
        if (!x)
            for (int a = 0; a < dim; ++a)
                if (!(l[a] < h[a]) || !isfinite(l[a]) || !isfinite(h[a])) {
                    st = qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: the box on axis %d, [%g, %g], is not a finite "
                                   "interval", fn, a, l[a], h[a]);
                    break;
                }
        if (st != QDML_OK) break;
        w->placed[b] = 0;
        st = w->ops->place(w->s, b, count, x, l, h);
        if (st != QDML_OK) st = qdml_fail_from(w->ctx, st, "%s", fn);
        else w->placed[b] = 1;
    }
    free(box);
    if (st == QDML_OK) qdml_clear_error(w->ctx);
    return st;
}

static qdml_status check_run(const qdml_walkers *w, const qdml_walkers_run_options *o, const char *fn) {
    if (!o) return qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: options is NULL", fn);
    if (!(o->dt > 0.0) || !isfinite(o->dt))
        return qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: dt = %g: must be positive", fn, o->dt);
    if (!(o->hbar >= 0.0) || !isfinite(o->hbar) || !(o->mass >= 0.0) || !isfinite(o->mass))
        return qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: hbar = %g, mass = %g: must be positive (0: 1)", fn,
                         o->hbar, o->mass);
    if (o->steps < 1 || o->equilibration < -1 || o->steps > ((int64_t)1 << 31) || o->equilibration > ((int64_t)1 << 31))
        return qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: steps = %lld, equilibration = %lld: steps in 1..2^31, equilibration -1 (steps / 4) or "
                         "0..2^31",
                         fn, (long long)o->steps, (long long)o->equilibration);
    if (o->feedback != 0.0 && !(o->feedback >= 1.0 && isfinite(o->feedback)))
        return qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: feedback = %g: must be 0 (20) or at least 1", fn,
                         o->feedback);
    if (o->monitor && o->monitor_every < 1)
        return qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: monitor_every = %lld: must be at least 1", fn,
                         (long long)o->monitor_every);
    for (int64_t b = 0; b < w->d.batch; ++b)
        if (!w->placed[b])
            return qdml_fail(w->ctx, QDML_ERR_NOT_READY, "%s: member %lld has no walkers (qdml_walkers_place)", fn,
                             (long long)b);
    return QDML_OK;
}

/* The estimators of member b from its measured records rec[t * batch + b], t < n. */
static void estimate(const qdml_walkers *w, int64_t b, const qdml_walkers_step *rec, int64_t n, double *tmp,
                     qdml_walkers_result *r) {
    const int64_t B = w->d.batch;
    double *series[3] = {&r->energy, &r->mixed_energy, &r->mean_f};
    double *errs[3] = {&r->energy_error, &r->mixed_error, &r->mean_f_error};
    double acc = 0.0, pop = 0.0;
    for (int64_t t = 0; t < n; ++t)
        acc += rec[t * B + b].acceptance, pop += (double)rec[t * B + b].population;
    r->acceptance = n ? acc / (double)n : NAN;
    r->mean_population = n ? pop / (double)n : NAN;
    r->steps = n;
    r->correlation_steps = NAN;
    for (int k = 0; k < 3; ++k) {
        for (int64_t t = 0; t < n; ++t) {
            const qdml_walkers_step *s = &rec[t * B + b];
            tmp[t] = k == 0 ? s->growth : k == 1 ? s->mixed : s->mean_f;
        }
        double mean = 0.0, err = NAN;
        for (int64_t t = 0; t < n; ++t)
            mean += tmp[t];
        mean = n ? mean / (double)n : NAN;
        if (n >= 16) {
            char keep[QDML_ERRLEN];
            qdml_save_error(keep);
            double m2;
            if (qdml_blocking_error(tmp, n, &m2, &err, NULL) != QDML_OK) err = NAN;
            qdml_restore_error(keep);
            if (k == 0 && isfinite(err)) {
                double v = 0.0;
                for (int64_t t = 0; t < n; ++t)
                    v += (tmp[t] - mean) * (tmp[t] - mean);
                v /= (double)(n > 1 ? n - 1 : 1);
                r->correlation_steps = v > 0.0 ? err * err * (double)n / v : 1.0;
            }
        }
        *series[k] = mean;
        *errs[k] = err;
    }
}

qdml_status qdml_walkers_run(qdml_walkers *w, const qdml_walkers_run_options *opt, qdml_walkers_result *results,
                             qdml_walkers_step *history) {
    static const char fn[] = "qdml_walkers_run";
    if (!w) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: walkers is NULL", fn);
    qdml_status st = check_run(w, opt, fn);
    if (st != QDML_OK) return st;
    const int64_t B = w->d.batch, eq = opt->equilibration < 0 ? opt->steps / 4 : opt->equilibration;
    const int64_t total = eq + opt->steps;
    qdml_walk_run r = {opt->dt, opt->hbar > 0.0 ? opt->hbar : 1.0, opt->mass > 0.0 ? opt->mass : 1.0,
                       opt->feedback > 0.0 ? opt->feedback : 20.0};
    qdml_walkers_step *rec = history ? history : qdml_calloc_array((size_t)total, (size_t)B * sizeof *rec);
    double *tmp = malloc((size_t)(opt->steps > 0 ? opt->steps : 1) * sizeof *tmp);
    if (!rec || !tmp) {
        if (!history) free(rec);
        free(tmp);
        return qdml_fail(w->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: no memory for %lld steps' records", fn, (long long)total);
    }
    const int64_t chunk = opt->monitor ? opt->monitor_every : total;
    int64_t made = 0;
    while (made < total) {
        const int64_t n = total - made < chunk ? total - made : chunk;
        int64_t done = 0;
        st = w->ops->steps(w->s, n, &r, rec + made * B, &done);
        made += done;
        if (st != QDML_OK) {
            st = qdml_fail_from(w->ctx, st, "%s: after %lld of %lld steps", fn, (long long)made, (long long)total);
            break;
        }
        if (opt->monitor && opt->monitor(made, rec + (made - 1) * B, opt->user)) break;
    }
    if (st == QDML_OK && results) {
        const int64_t measured = made > eq ? made - eq : 0;
        for (int64_t b = 0; b < B; ++b) {
            estimate(w, b, rec + eq * B, measured, tmp, &results[b]);
            double f = NAN;
            w->ops->best(w->s, b, NULL, &f);
            results[b].best_f = f;
        }
    }
    if (!history) free(rec);
    free(tmp);
    if (st == QDML_OK) qdml_clear_error(w->ctx);
    return st;
}

qdml_status qdml_walkers_anneal(qdml_walkers *w, const qdml_walkers_run_options *opt, double hbar_end, int stages,
                                qdml_walkers_result *results) {
    static const char fn[] = "qdml_walkers_anneal";
    if (!w) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: walkers is NULL", fn);
    qdml_status st = check_run(w, opt, fn);
    if (st != QDML_OK) return st;
    const double h0 = opt->hbar > 0.0 ? opt->hbar : 1.0;
    if (stages < 1 || !(hbar_end > 0.0) || !(hbar_end <= h0))
        return qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: stages = %d, hbar_end = %g: need stages >= 1 and 0 < hbar_end <= hbar (%g)", fn, stages,
                         hbar_end, h0);
    qdml_walkers_run_options o = *opt;
    for (int k = 0; k < stages && st == QDML_OK; ++k) {
        o.hbar = stages == 1 ? hbar_end : h0 * pow(hbar_end / h0, (double)k / (double)(stages - 1));
        st = qdml_walkers_run(w, &o, results, NULL);
        if (st != QDML_OK) st = qdml_fail_from(w->ctx, st, "%s: stage %d of %d (hbar %g)", fn, k + 1, stages, o.hbar);
    }
    return st;
}

qdml_status qdml_walkers_best(const qdml_walkers *w, int64_t member, double *x, double *f) {
    static const char fn[] = "qdml_walkers_best";
    if (!w) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: walkers is NULL", fn);
    int64_t b0 = 0, b1 = 0;
    qdml_status st = member_range(w, member, 0, &b0, &b1, fn);
    if (st != QDML_OK) return st;
    if (!w->placed[member])
        return qdml_fail(w->ctx, QDML_ERR_NOT_READY, "%s: member %lld has no walkers", fn, (long long)member);
    st = w->ops->best(w->s, member, x, f);
    return st == QDML_OK ? st : qdml_fail_from(w->ctx, st, "%s", fn);
}

qdml_status qdml_walkers_positions(const qdml_walkers *w, int64_t member, double *x, int64_t capacity,
                                   int64_t *count) {
    static const char fn[] = "qdml_walkers_positions";
    if (!w) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: walkers is NULL", fn);
    int64_t b0 = 0, b1 = 0;
    qdml_status st = member_range(w, member, 0, &b0, &b1, fn);
    if (st != QDML_OK) return st;
    if (!count || capacity < 0 || (capacity > 0 && !x))
        return qdml_fail(w->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: count NULL, capacity < 0 or x NULL with capacity > 0",
                         fn);
    if (!w->placed[member]) {
        *count = 0;
        return QDML_OK;
    }
    st = w->ops->positions(w->s, member, x, capacity, count);
    return st == QDML_OK ? st : qdml_fail_from(w->ctx, st, "%s", fn);
}

qdml_status qdml_walkers_summary(const qdml_walkers *w, int64_t member, double *mean, double *width, double *mode) {
    static const char fn[] = "qdml_walkers_summary";
    int64_t n = 0;
    qdml_status st = qdml_walkers_positions(w, member, NULL, 0, &n);
    if (st != QDML_OK) return st;
    if (n == 0) return qdml_fail(w->ctx, QDML_ERR_NOT_READY, "%s: member %lld has no walkers", fn, (long long)member);
    const int dim = w->d.dim;
    double *x = qdml_calloc_array((size_t)n, (size_t)dim * sizeof *x), *tmp = malloc((size_t)n * sizeof *tmp);
    if (!x || !tmp) {
        free(x), free(tmp);
        return qdml_fail(w->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: no memory for %lld walkers", fn, (long long)n);
    }
    st = qdml_walkers_positions(w, member, x, n, &n);
    for (int a = 0; st == QDML_OK && a < dim; ++a) {
        double mu, sd, mo;
        qdml_walkers_coordinate_summary(x, n, dim, a, tmp, &mu, &sd, mode ? &mo : NULL);
        if (mean) mean[a] = mu;
        if (width) width[a] = sd;
        if (mode) mode[a] = mo;
    }
    free(x), free(tmp);
    return st;
}
