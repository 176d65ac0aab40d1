/* The QHD and annealing runs of qdml qhd and qdml bench-opt (opt_run.h). */
#include "opt_run.h"

#include "output.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double cli_opt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_opt_make(cli_setup *s, const cli_opt_fn *fns, int count, const int64_t *n, qdml_backend backend, int threads,
                 qdml_precision precision) {
    const int dim = fns[0].dim;
    s->dim = dim;
    s->batch = count;
    s->points = 1;
    for (int d = 0; d < dim; ++d) {
        s->n[d] = n[d];
        s->lo[d] = 0.0;
        s->hi[d] = 1.0;
        s->points *= n[d];
    }
    /* The potentials as if read from a file (cli_setup_make_problem sets member b from its slice). */
    s->V.dtype = QDML_NPY_F64;
    s->V.count = s->points * count;
    s->V.data = malloc(sizeof(double) * (size_t)s->V.count);
    if (!s->V.data) {
        cli_error(s->cmd, "cannot allocate the potentials of %d functions on %lld points", count,
                  (long long)s->points);
        return CLI_RUN_FAILED;
    }
    for (int b = 0; b < count; ++b)
        cli_opt_fn_fill(&fns[b], n, s->V.data + (int64_t)b * s->points);
    const int rc = cli_setup_make_problem(s, backend, threads, precision, 1.0, 1.0);
    qdml_npy_free(&s->V);
    return rc;
}

/* The outcome of member b from its statistics, its success probability and f at the maximum. */
static int outcome(cli_setup *s, const cli_opt_fn *f, int64_t b, const qdml_stats *st, double radius,
                   cli_opt_outcome *o) {
    memset(o, 0, sizeof *o);
    o->expected = st->potential;
    o->expected_f = f->fstar + st->potential * f->L / f->scale;
    o->density_max = st->density_max;
    for (int d = 0; d < f->dim; ++d) o->argmax_u[d] = st->argmax[d];
    cli_opt_fn_to_box(f, o->argmax_u, o->argmax_x);
    o->f_argmax = f->fstar + cli_opt_fn_value(f, o->argmax_u) * f->L / f->scale;
    o->success = NAN;
    if (qdml_problem_success_probability(s->problem, b, f->umin, f->nmin, radius, &o->success) != QDML_OK) {
        cli_error(s->cmd, "success probability of %s: %s", f->label, qdml_context_last_error(s->ctx));
        return CLI_RUN_FAILED;
    }
    return CLI_OK;
}

/* Every member at the uniform state, and room for `size` bytes of results per member (free it); NULL,
 * printed, on failure. */
static void *start(cli_setup *s, size_t size) {
    if (qdml_problem_set_state_uniform(s->problem, QDML_ALL_MEMBERS) != QDML_OK) {
        cli_error(s->cmd, "%s", qdml_context_last_error(s->ctx));
        return NULL;
    }
    void *res = calloc((size_t)s->batch, size);
    if (!res) cli_error(s->cmd, "cannot allocate the results of %lld members", (long long)s->batch);
    return res;
}

/* After a run: 0 to read the members' outcomes (a DIVERGED run too, its message printed: its members
 * hold their last good states), else the exit status, printed. */
static int run_failed(cli_setup *s, qdml_status st, const char *what) {
    if (st == QDML_OK) return 0;
    if (st == QDML_ERR_DIVERGED) {
        cli_error(s->cmd, "%s", qdml_context_last_error(s->ctx));
        return 0;
    }
    cli_error(s->cmd, "%s failed: %s", what, qdml_context_last_error(s->ctx));
    return cli_exit_for_status(st);
}

int cli_opt_qhd(cli_setup *s, const cli_opt_fn *fns, const char *schedule, double T, double dt, double radius,
                cli_opt_outcome *out) {
    qdml_schedule ka, vb;
    int rc = cli_parse_schedule(s->cmd, schedule, T, &ka, &vb);
    if (rc != CLI_OK) return rc;
    qdml_status st = qdml_problem_set_schedule(s->problem, QDML_ALL_MEMBERS, &ka, &vb);
    if (st != QDML_OK) {
        cli_error(s->cmd, "%s", qdml_context_last_error(s->ctx));
        return cli_exit_for_status(st);
    }
    qdml_run_result *res = start(s, sizeof *res);
    if (!res) return CLI_RUN_FAILED;
    qdml_evolve_options eo;
    qdml_evolve_options_default(&eo);
    eo.mode = QDML_REAL_TIME;
    eo.dt = dt;
    eo.steps = (int64_t)llround(T / dt);
    if (eo.steps < 1) eo.steps = 1;
    eo.monitor_every = eo.steps >= 100 ? eo.steps / 100 : 1;
    cli_progress prog;
    cli_progress_init(&prog, s->cmd);
    eo.monitor = cli_progress_monitor;
    eo.monitor_user = &prog;
    st = qdml_problem_evolve(s->problem, &eo, res);
    cli_progress_finish(&prog);
    const int failed = run_failed(s, st, "qdml_problem_evolve");
    if (failed) {
        free(res);
        return failed;
    }
    for (int64_t b = 0; b < s->batch && rc == CLI_OK; ++b) {
        rc = outcome(s, &fns[b], b, &res[b].final, radius, &out[b]);
        out[b].steps = res[b].steps;
        out[b].diverged = res[b].diverged;
    }
    free(res);
    return rc;
}

int cli_opt_anneal(cli_setup *s, const cli_opt_fn *fns, double hbar_start, double hbar_end, int64_t stages,
                   int64_t max_steps, double radius, cli_opt_outcome *out) {
    qdml_minimize_result *res = start(s, sizeof *res);
    if (!res) return CLI_RUN_FAILED;
    qdml_minimize_options mo;
    qdml_minimize_options_default(&mo);
    mo.hbar_start = hbar_start;
    mo.hbar_end = hbar_end;
    mo.stages = stages;
    mo.max_steps = max_steps;
    cli_progress prog;
    cli_progress_init(&prog, s->cmd);
    mo.monitor = cli_progress_monitor;
    mo.monitor_user = &prog;
    qdml_status st = qdml_problem_minimize(s->problem, &mo, res, NULL);
    cli_progress_finish(&prog);
    int rc = CLI_OK;
    const int failed = run_failed(s, st, "qdml_problem_minimize");
    if (failed) {
        free(res);
        return failed;
    }
    for (int64_t b = 0; b < s->batch && rc == CLI_OK; ++b) {
        qdml_stats now;
        if (qdml_problem_stats(s->problem, b, &now) != QDML_OK) {
            cli_error(s->cmd, "%s", qdml_context_last_error(s->ctx));
            rc = CLI_RUN_FAILED;
            break;
        }
        rc = outcome(s, &fns[b], b, &now, radius, &out[b]);
        out[b].steps = res[b].steps;
        out[b].diverged = st == QDML_ERR_DIVERGED && !isfinite(now.norm);
    }
    free(res);
    return rc;
}
