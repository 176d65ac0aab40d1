/* `qdml minimize`: the global minimum of a potential or built-in objective by annealing (ground states
 * at falling hbar), with the known minimum of a built-in objective for comparison. */
#include "args.h"
#include "commands.h"
#include "density_png.h"
#include "figures.h"
#include "output.h"
#include "outputs.h"
#include "setup.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char minimize_brief[] =
    "Usage: qdml minimize --objective SPEC --dim D --n N[,N...] [--box SPEC] [options]\n"
    "       qdml minimize --potential V.npy --box SPEC [options]\n"
    "\n"
    "Finds the global minimiser of an objective by annealing: ground states at hbar falling stage by stage.\n"
    "\n"
    "  --hbar-start H, --hbar-end H   the first and last stage's hbar (default: 1 and 1/100 of it)\n"
    "  --stages K         stages (default 8)            --tol T   the first stage's residual (1e-5)\n"
    "  --batch            several objectives at once    --reseed F   uniform state mixed in per stage\n"
    "  --out FILE.npy|FILE.h5   the final state(s)      --history H.csv   the monitored statistics\n"
    "  --png F.png        a figure of the density       --history-png H.png  energy and residual\n"
    "  --json             argmin, f_min and the stages  --threads N, --backend, --wisdom FILE\n"
    "\n"
    "Example:\n"
    "  qdml minimize --objective rastrigin --dim 2 --n 128 --png rastrigin.png --json\n"
    "\n"
    "qdml minimize --help-all: every option in detail, the objectives, figures, FFT plans and outputs.\n";

static const char minimize_help[] =
    "Usage: qdml minimize (--potential V.npy --box SPEC | --objective SPEC --dim D --n N) [options]\n"
    "\n"
    "Minimises the objective V by annealing (qdml_problem_minimize): ground states at hbar falling\n"
    "geometrically from --hbar-start to --hbar-end in --stages stages, the first started from the\n"
    "uniform state plus a small seeded random part (as qdml ground), each later one from the last\n"
    "one's state (with a little of the uniform state mixed in). The estimate of the global\n"
    "minimiser is the density maximum at which V is lowest over the stages (a grid point).\n"
    "\n"
    "  --potential V.npy  float64 C-order array of shape (n1[, n2[, n3]]) at the grid points\n"
    "  --box SPEC         LO:HI for every axis, or LO:HI,LO:HI,... one per axis (optional with\n"
    "                     --objective: its usual domain)\n"
    "  --batch            the first axis of V is a batch (or --objective lists several, separated by\n"
    "                     ';'): B objectives annealed together\n"
    "  --hbar-start H0    first stage's hbar, > 0 (default 1)\n"
    "  --hbar-end H1      last stage's hbar, > 0, <= H0 (default H0 / 100)\n"
    "  --stages K         number of stages, >= 1 (default 8)\n"
    "  --mass M           mass, > 0 (default 1)\n"
    "  --tol T            first stage's residual tolerance, scaled by hbar_k / H0 (default 1e-5)\n"
    "  --max-steps N      steps per stage and member, >= 1 (default 100000)\n"
    "  --reseed F         fraction of the uniform state mixed into each stage's start, in [0, 1)\n"
    "                     (default 0.01; 0 for none)\n"
    "  --out PSI.npy      write the final state(s), complex128 (batch axis first with --batch)\n"
    "  --history H.csv    write the monitored statistics of every member (all stages) as CSV\n"
    "  --png FILE.png     a figure of the final density (see Figures below); FILE_0.png, FILE_1.png, ...\n"
    "                     with more than one member\n"
    "  --history-png H.png  the monitored energy and residual against steps (log scale), per member\n"
    "  --json             print a JSON object (an array with --batch): argmin, f_min and the stages\n"
    "  --threads N        CPU threads (default: all cores)\n"
    "  --backend B        cpu, cuda or auto (default auto)\n"
    "  --precision P      float64 (default) or float32 (cuda backend only)\n"
    "  -h, --help         this text\n"
    "\n"
    "With a built-in objective, the JSON and the summary also give its known minimiser and minimum and\n"
    "the distance of the estimate from it. Exit status: 0 success, 1 the run failed, 2 bad usage or\n"
    "bad input.\n";

static const char *const cmd = "minimize";

typedef struct minimize_args {
    cli_shared sh;
    qdml_minimize_options mo;
} minimize_args;

/* ---- parse ------------------------------------------------------------------------------------ */

/* The shared checks (args.h) and this subcommand's own, in the order that decides which mistake of a
 * command line is reported. */
static int minimize_parse(int argc, char **argv, minimize_args *a, int *help) {
    static const cli_opt own[] = {
        {"hbar-start", 1, NULL}, {"hbar-end", 1, NULL}, {"stages", 1, NULL}, {"reseed", 1, NULL}};
    cli_shared *sh = &a->sh;
    qdml_minimize_options *mo = &a->mo;
    if (cli_shared_parse(cmd, argc, argv, CLI_WITH_BATCH | CLI_WITH_STOPPING, own, sizeof own / sizeof own[0], sh,
                         help) != CLI_OK)
        return CLI_USAGE;
    if (*help) return CLI_OK;
    if (cli_shared_check_inputs(sh) || cli_shared_check_required(sh)) return CLI_USAGE;
    qdml_minimize_options_default(mo);
    mo->hbar_start = 1.0;
    const char *v;
    if ((v = cli_shared_value(sh, "hbar-start")) && cli_positive_double(cmd, "--hbar-start", v, &mo->hbar_start))
        return CLI_USAGE;
    mo->hbar_end = mo->hbar_start / 100.0;
    if ((v = cli_shared_value(sh, "hbar-end")) && cli_positive_double(cmd, "--hbar-end", v, &mo->hbar_end))
        return CLI_USAGE;
    if (mo->hbar_end > mo->hbar_start) {
        cli_error(cmd, "--hbar-end %.17g exceeds --hbar-start %.17g: annealing lowers hbar", mo->hbar_end,
                  mo->hbar_start);
        return CLI_USAGE;
    }
    if ((v = cli_shared_value(sh, "stages")) && cli_positive_int64(cmd, "--stages", v, &mo->stages)) return CLI_USAGE;
    if (mo->stages > 100000) {
        cli_error(cmd, "--stages %lld: at most 100000", (long long)mo->stages);
        return CLI_USAGE;
    }
    if (cli_shared_numbers(sh, &mo->tolerance, &mo->max_steps)) return CLI_USAGE;
    if ((v = cli_shared_value(sh, "reseed"))) {
        char *end = NULL;
        errno = 0;
        const double r = strtod(v, &end);
        if (end == v || *end != '\0' || errno != 0 || !(r >= 0.0 && r < 1.0) || strpbrk(v, "xXpP")) {
            cli_error(cmd, "--reseed '%s': expected a number in [0, 1)", v);
            return CLI_USAGE;
        }
        mo->reseed = r;
    }
    return cli_shared_context(sh);
}

/* ---- set up ----------------------------------------------------------------------------------- */

/* The problem made from --potential and --box or from --objective, at the first stage's hbar. */
static int minimize_setup(const minimize_args *a, cli_setup *s) {
    const cli_shared *sh = &a->sh;
    s->cmd = cmd;
    int rc;
    if (sh->objective) {
        rc = cli_setup_load_objectives(s, sh->objective, sh->dim, sh->n, sh->box, sh->batch);
    } else {
        rc = cli_setup_load_potential(s, sh->potential, sh->batch);
        if (rc == CLI_OK) rc = cli_parse_box(cmd, sh->box, s->dim, s->lo, s->hi);
    }
    s->wisdom = sh->wisdom;
    s->no_wisdom = sh->no_wisdom;
    if (rc == CLI_OK)
        rc = cli_setup_make_problem(s, sh->backend, sh->threads, sh->precision, a->mo.hbar_start, sh->mass);
    if (rc == CLI_OK) rc = cli_setup_start_states(s, 0);
    if (rc == CLI_OK) rc = cli_figures_check(cmd, sh->png, sh->history_png, s->dim);
    if (rc == CLI_OK) qdml_npy_free(&s->V);
    return rc;
}

/* ---- run -------------------------------------------------------------------------------------- */

static int minimize_run(minimize_args *a, cli_setup *s, qdml_minimize_result *res, qdml_minimize_stage *stg) {
    int rc = CLI_OK;
    cli_progress prog;
    cli_progress_init(&prog, "qdml minimize");
    a->mo.monitor = cli_progress_monitor;
    a->mo.monitor_user = &prog;
    const qdml_status st = qdml_problem_minimize(s->problem, &a->mo, res, stg);
    cli_progress_finish(&prog);
    if (st != QDML_OK) {
        cli_error(cmd, "qdml_problem_minimize failed: %s", qdml_context_last_error(s->ctx));
        rc = st == QDML_ERR_DIVERGED ? CLI_RUN_FAILED : cli_exit_for_status(st);
    }
    return rc;
}

/* ---- report ----------------------------------------------------------------------------------- */

/* Member b's JSON object: the estimate, the run, the known minimum of a built-in objective, and
 * one line per stage. */
static void minimize_json_member(const minimize_args *a, const cli_setup *s, const qdml_minimize_result *res,
                                 const qdml_minimize_stage *stg, int64_t b) {
    const int batch_mode = a->sh.batch;
    const int64_t B = s->batch, K = a->mo.stages;
    const char *in = batch_mode ? "    " : "  ";
    const qdml_minimize_result *r = &res[b];
    fprintf(stdout, "%s{\n", batch_mode ? "  " : "");
    if (batch_mode) fprintf(stdout, "%s\"member\": %lld,\n", in, (long long)b);
    fprintf(stdout, "%s\"argmin\": ", in);
    cli_json_axes(stdout, r->argmin, s->dim);
    fprintf(stdout, ",\n%s\"f_min\": ", in);
    cli_json_number(stdout, r->f_min);
    fprintf(stdout, ",\n%s\"argmin_stage\": %lld,\n%s\"final_argmax\": ", in, (long long)r->stage, in);
    cli_json_axes(stdout, r->final_argmax, s->dim);
    fprintf(stdout, ",\n%s\"final_f\": ", in);
    cli_json_number(stdout, r->final_f);
    fprintf(stdout, ",\n%s\"steps\": %lld,\n%s\"converged\": %s,\n%s\"hbar_start\": ", in, (long long)r->steps, in,
            r->converged ? "true" : "false", in);
    cli_json_number(stdout, a->mo.hbar_start);
    fprintf(stdout, ",\n%s\"hbar_end\": ", in);
    cli_json_number(stdout, a->mo.hbar_end);
    fprintf(stdout, ",\n%s\"mass\": ", in);
    cli_json_number(stdout, a->sh.mass);
    fprintf(stdout, ",\n%s\"grid_spacing\": ", in);
    double hsp[QDML_MAX_DIM];
    for (int d = 0; d < s->dim; ++d)
        hsp[d] = qdml_grid_spacing(&s->grid, d);
    cli_json_axes(stdout, hsp, s->dim);
    if (s->obj) {
        double xs[QDML_MAX_DIM] = {0, 0, 0}, fs = 0.0, dist = 0.0;
        if (qdml_objective_minimum(&s->obj[b], s->dim, xs, &fs) == QDML_OK) {
            for (int d = 0; d < s->dim; ++d)
                dist = fmax(dist, fabs(r->argmin[d] - xs[d]));
            fprintf(stdout, ",\n%s\"objective\": ", in);
            cli_json_string(stdout, qdml_objective_name(s->obj[b].kind));
            fprintf(stdout, ",\n%s\"known_argmin\": ", in);
            cli_json_axes(stdout, xs, s->dim);
            fprintf(stdout, ",\n%s\"known_f_min\": ", in);
            cli_json_number(stdout, fs);
            fprintf(stdout, ",\n%s\"argmin_error\": ", in);
            cli_json_number(stdout, dist);
            cli_json_success(stdout, s, b, a->sh.radius, in);
        }
    }
    fprintf(stdout, ",\n%s\"stages\": [\n", in);
    for (int64_t k = 0; k < K; ++k) {
        const qdml_minimize_stage *g = &stg[k * B + b];
        fprintf(stdout, "%s  {\"stage\": %lld, \"hbar\": ", in, (long long)k);
        cli_json_number(stdout, g->hbar);
        fputs(", \"energy\": ", stdout);
        cli_json_number(stdout, g->stats.energy);
        fputs(", \"residual\": ", stdout);
        cli_json_number(stdout, g->stats.residual);
        fputs(", \"mean\": ", stdout);
        cli_json_axes(stdout, g->stats.mean, s->dim);
        fputs(", \"width\": ", stdout);
        cli_json_axes(stdout, g->stats.width, s->dim);
        fputs(", \"argmax\": ", stdout);
        cli_json_axes(stdout, g->stats.argmax, s->dim);
        fputs(", \"f_argmax\": ", stdout);
        cli_json_number(stdout, g->f_argmax);
        fprintf(stdout, ", \"steps\": %lld, \"converged\": %s}%s\n", (long long)g->steps,
                g->converged ? "true" : "false", k + 1 < K ? "," : "");
    }
    fprintf(stdout, "%s]\n%s}%s\n", in, batch_mode ? "  " : "", batch_mode && b + 1 < B ? "," : "");
}

/* Member b as text: a table of the stages, the estimate, and the known minimum of a built-in objective. */
static void minimize_text_member(const minimize_args *a, const cli_setup *s, const qdml_minimize_result *res,
                                 const qdml_minimize_stage *stg, int64_t b) {
    const int64_t B = s->batch, K = a->mo.stages;
    if (a->sh.batch) printf("member %lld:\n", (long long)b);
    printf("  stage  hbar          energy            f(argmax)         steps  argmax\n");
    for (int64_t k = 0; k < K; ++k) {
        const qdml_minimize_stage *g = &stg[k * B + b];
        printf("  %5lld  %-12.6g  %-16.10g  %-16.10g  %6lld  ", (long long)k, g->hbar, g->stats.energy, g->f_argmax,
               (long long)g->steps);
        cli_print_axes(stdout, g->stats.argmax, s->dim);
        printf("%s\n", g->converged ? "" : "  (not converged)");
    }
    printf("  minimum f = %.15g at ", res[b].f_min);
    cli_print_axes(stdout, res[b].argmin, s->dim);
    printf(" (stage %lld, %lld steps in all)\n", (long long)res[b].stage, (long long)res[b].steps);
    double xs[QDML_MAX_DIM] = {0, 0, 0}, fs = 0.0, dist = 0.0;
    if (s->obj && qdml_objective_minimum(&s->obj[b], s->dim, xs, &fs) == QDML_OK) {
        for (int d = 0; d < s->dim; ++d)
            dist = fmax(dist, fabs(res[b].argmin[d] - xs[d]));
        printf("  known minimum of %s: f = %.15g at ", qdml_objective_name(s->obj[b].kind), fs);
        cli_print_axes(stdout, xs, s->dim);
        printf(" (estimate off by %.3g per axis at most; grid spacing ", dist);
        for (int d = 0; d < s->dim; ++d)
            printf("%s%.3g", d ? ", " : "", qdml_grid_spacing(&s->grid, d));
        printf(")\n");
    }
}

/* A warning per member whose stages did not all converge, then the results as JSON or text. */
static void minimize_report(const minimize_args *a, const cli_setup *s, const qdml_minimize_result *res,
                            const qdml_minimize_stage *stg) {
    const int64_t B = s->batch;
    for (int64_t b = 0; b < B; ++b)
        if (!res[b].converged)
            fprintf(stderr, "qdml minimize: warning: member %lld: not every stage reached its tolerance\n",
                    (long long)b);
    if (a->sh.json) {
        if (a->sh.batch) fputs("[\n", stdout);
        for (int64_t b = 0; b < B; ++b)
            minimize_json_member(a, s, res, stg, b);
        if (a->sh.batch) fputs("]\n", stdout);
    } else {
        for (int64_t b = 0; b < B; ++b)
            minimize_text_member(a, s, res, stg, b);
    }
}

int cli_cmd_minimize(int argc, char **argv) {
    minimize_args a;
    int help = 0;
    if (minimize_parse(argc, argv, &a, &help) != CLI_OK) return CLI_USAGE;
    if (help == 1) {
        fputs(minimize_brief, stdout);
        return CLI_OK;
    }
    if (help) {
        fputs(minimize_help, stdout);
        fputs(cli_objective_batch_help, stdout);
        fputs(cli_figures_help, stdout);
        fputs(cli_wisdom_help, stdout);
        fputs(cli_outputs_help, stdout);
        return CLI_OK;
    }
    /* Every output checked before anything is computed; the pictures of several members once their
     * number is known. */
    int rc = cli_shared_check_outputs(&a.sh, NULL, a.sh.batch ? 0 : 1);
    if (rc != CLI_OK) return rc;
    cli_setup s;
    memset(&s, 0, sizeof s);
    rc = minimize_setup(&a, &s);
    if (rc == CLI_OK && a.sh.batch && a.sh.png) rc = cli_shared_check_outputs(&a.sh, NULL, s.batch);
    qdml_minimize_result *res = NULL;
    qdml_minimize_stage *stg = NULL;
    if (rc == CLI_OK) {
        res = calloc((size_t)s.batch, sizeof *res);
        stg = calloc((size_t)(s.batch * a.mo.stages), sizeof *stg);
        if (!res || !stg) {
            cli_error(cmd, "out of memory");
            rc = CLI_RUN_FAILED;
        }
    }
    if (rc == CLI_OK) rc = minimize_run(&a, &s, res, stg);
    if (rc == CLI_OK) {
        /* The result is printed whatever becomes of the files. */
        int written = 0;
        rc = cli_write_outputs(&a.sh, &s, a.sh.batch, &written);
        minimize_report(&a, &s, res, stg);
    }
    free(res);
    free(stg);
    cli_setup_free(&s);
    return rc;
}
