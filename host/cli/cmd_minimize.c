/* `qdml minimize`: the global minimum of a potential or built-in objective by annealing (ground states
 * at falling hbar), with the known minimum of a built-in objective for comparison. */
#include "args.h"
#include "commands.h"
#include "density_png.h"
#include "output.h"
#include "setup.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char minimize_help[] =
    "Usage: qdml minimize (--potential V.npy --box SPEC | --objective SPEC --dim D --n N) [options]\n"
    "\n"
    "Minimises the objective V by annealing (qdml_problem_minimize): ground states at hbar falling\n"
    "geometrically from --hbar-start to --hbar-end in --stages stages, each stage started from the\n"
    "last one's state (with a little of the uniform state mixed in). The estimate of the global\n"
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
    "  --png FILE.png     2D grids: the final density as a PNG (FILE_0.png, ... with --batch)\n"
    "  --json             print a JSON object (an array with --batch): argmin, f_min and the stages\n"
    "  --threads N        CPU threads (default: all cores)\n"
    "  --backend B        cpu, cuda or auto (default auto)\n"
    "  --precision P      float64 (default) or float32 (cuda backend only)\n"
    "  -h, --help         this text\n"
    "\n"
    "With a built-in objective, the JSON and the summary also give its known minimiser and minimum and\n"
    "the distance of the estimate from it. Exit status: 0 success, 1 the run failed, 2 bad usage or\n"
    "bad input.\n";

int cli_cmd_minimize(int argc, char **argv) {
    const char *cmd = "minimize";
    cli_opt opts[] = {{"potential", 1, NULL}, {"box", 1, NULL},       {"batch", 0, NULL},     {"hbar-start", 1, NULL},
                      {"hbar-end", 1, NULL},  {"stages", 1, NULL},    {"mass", 1, NULL},      {"tol", 1, NULL},
                      {"max-steps", 1, NULL}, {"reseed", 1, NULL},    {"out", 1, NULL},       {"history", 1, NULL},
                      {"png", 1, NULL},       {"json", 0, NULL},      {"threads", 1, NULL},   {"backend", 1, NULL},
                      {"precision", 1, NULL}, {"objective", 1, NULL}, {"dim", 1, NULL},       {"n", 1, NULL}};
    const size_t nopts = sizeof opts / sizeof opts[0];
    int help = 0;
    if (cli_parse(cmd, argc, argv, opts, nopts, &help) != CLI_OK) return CLI_USAGE;
    if (help) {
        fputs(minimize_help, stdout);
        fputs(cli_objective_batch_help, stdout);
        return CLI_OK;
    }
    const char *vpath = cli_value(opts, nopts, "potential");
    const char *box = cli_value(opts, nopts, "box");
    const char *objective = cli_value(opts, nopts, "objective");
    if (cli_check_objective_options(cmd, opts, nopts) != CLI_OK) return CLI_USAGE;
    if (!vpath && !objective) {
        cli_error(cmd, "missing required option --potential V.npy (or --objective SPEC; see 'qdml minimize --help')");
        return CLI_USAGE;
    }
    if (!box && !objective) {
        cli_error(cmd, "missing required option --box LO:HI (see 'qdml minimize --help')");
        return CLI_USAGE;
    }
    const int batch_mode = cli_value(opts, nopts, "batch") != NULL;
    const int json = cli_value(opts, nopts, "json") != NULL;
    double mass = 1.0;
    qdml_minimize_options mo;
    qdml_minimize_options_default(&mo);
    mo.hbar_start = 1.0;
    const char *v;
    if ((v = cli_value(opts, nopts, "hbar-start")) && cli_positive_double(cmd, "--hbar-start", v, &mo.hbar_start))
        return CLI_USAGE;
    mo.hbar_end = mo.hbar_start / 100.0;
    if ((v = cli_value(opts, nopts, "hbar-end")) && cli_positive_double(cmd, "--hbar-end", v, &mo.hbar_end))
        return CLI_USAGE;
    if (mo.hbar_end > mo.hbar_start) {
        cli_error(cmd, "--hbar-end %.17g exceeds --hbar-start %.17g: annealing lowers hbar", mo.hbar_end,
                  mo.hbar_start);
        return CLI_USAGE;
    }
    if ((v = cli_value(opts, nopts, "stages")) && cli_positive_int64(cmd, "--stages", v, &mo.stages)) return CLI_USAGE;
    if (mo.stages > 100000) {
        cli_error(cmd, "--stages %lld: at most 100000", (long long)mo.stages);
        return CLI_USAGE;
    }
    if ((v = cli_value(opts, nopts, "mass")) && cli_positive_double(cmd, "--mass", v, &mass)) return CLI_USAGE;
    if ((v = cli_value(opts, nopts, "tol")) && cli_positive_double(cmd, "--tol", v, &mo.tolerance)) return CLI_USAGE;
    if ((v = cli_value(opts, nopts, "max-steps")) && cli_positive_int64(cmd, "--max-steps", v, &mo.max_steps))
        return CLI_USAGE;
    if ((v = cli_value(opts, nopts, "reseed"))) {
        char *end = NULL;
        errno = 0;
        const double r = strtod(v, &end);
        if (end == v || *end != '\0' || errno != 0 || !(r >= 0.0 && r < 1.0)) {
            cli_error(cmd, "--reseed '%s': expected a number in [0, 1)", v);
            return CLI_USAGE;
        }
        mo.reseed = r;
    }
    int threads;
    qdml_backend backend;
    qdml_precision precision;
    if (cli_parse_threads(cmd, cli_value(opts, nopts, "threads"), &threads)) return CLI_USAGE;
    if (cli_parse_backend(cmd, cli_value(opts, nopts, "backend"), &backend)) return CLI_USAGE;
    if (cli_parse_precision(cmd, cli_value(opts, nopts, "precision"), &precision)) return CLI_USAGE;

    cli_setup s;
    memset(&s, 0, sizeof s);
    s.cmd = cmd;
    int rc;
    if (objective) {
        rc = cli_setup_load_objectives(&s, objective, cli_value(opts, nopts, "dim"), cli_value(opts, nopts, "n"), box,
                             batch_mode);
    } else {
        rc = cli_setup_load_potential(&s, vpath, batch_mode);
        if (rc == CLI_OK) rc = cli_parse_box(cmd, box, s.dim, s.lo, s.hi);
    }
    if (rc == CLI_OK) rc = cli_setup_make_problem(&s, backend, threads, precision, mo.hbar_start, mass);
    const char *png = cli_value(opts, nopts, "png");
    if (rc == CLI_OK && png) rc = cli_png_check_dim(cmd, png, s.dim);
    if (rc != CLI_OK) {
        cli_setup_free(&s);
        return rc;
    }
    qdml_npy_free(&s.V);

    qdml_minimize_result *res = calloc((size_t)s.batch, sizeof *res);
    qdml_minimize_stage *stg = calloc((size_t)(s.batch * mo.stages), sizeof *stg);
    if (!res || !stg) {
        cli_error(cmd, "out of memory");
        free(res);
        free(stg);
        cli_setup_free(&s);
        return CLI_RUN_FAILED;
    }
    cli_progress prog;
    cli_progress_init(&prog, "qdml minimize");
    mo.monitor = cli_progress_monitor;
    mo.monitor_user = &prog;
    const qdml_status st = qdml_problem_minimize(s.problem, &mo, res, stg);
    cli_progress_finish(&prog);
    if (st != QDML_OK) {
        cli_error(cmd, "qdml_problem_minimize failed: %s", qdml_context_last_error(s.ctx));
        rc = st == QDML_ERR_DIVERGED ? CLI_RUN_FAILED : cli_exit_for_status(st);
    }
    if (rc == CLI_OK) {
        const char *out = cli_value(opts, nopts, "out");
        const char *hist = cli_value(opts, nopts, "history");
        if (out) rc = cli_setup_write_states(&s, out, batch_mode);
        if (rc == CLI_OK && hist) rc = cli_write_history(cmd, hist, s.problem);
        if (rc == CLI_OK && png) rc = cli_write_density_pngs(cmd, png, s.problem);
    }
    if (rc == CLI_OK) {
        const int64_t B = s.batch, K = mo.stages;
        for (int64_t b = 0; b < B; ++b)
            if (!res[b].converged)
                fprintf(stderr, "qdml minimize: warning: member %lld: not every stage reached its tolerance\n",
                        (long long)b);
        if (json) {
            const char *in = batch_mode ? "    " : "  ";
            if (batch_mode) fputs("[\n", stdout);
            for (int64_t b = 0; b < B; ++b) {
                const qdml_minimize_result *r = &res[b];
                fprintf(stdout, "%s{\n", batch_mode ? "  " : "");
                if (batch_mode) fprintf(stdout, "%s\"member\": %lld,\n", in, (long long)b);
                fprintf(stdout, "%s\"argmin\": ", in);
                cli_json_axes(stdout, r->argmin, s.dim);
                fprintf(stdout, ",\n%s\"f_min\": ", in);
                cli_json_number(stdout, r->f_min);
                fprintf(stdout, ",\n%s\"argmin_stage\": %lld,\n%s\"final_argmax\": ", in, (long long)r->stage, in);
                cli_json_axes(stdout, r->final_argmax, s.dim);
                fprintf(stdout, ",\n%s\"final_f\": ", in);
                cli_json_number(stdout, r->final_f);
                fprintf(stdout, ",\n%s\"steps\": %lld,\n%s\"converged\": %s,\n%s\"hbar_start\": ", in,
                        (long long)r->steps, in, r->converged ? "true" : "false", in);
                cli_json_number(stdout, mo.hbar_start);
                fprintf(stdout, ",\n%s\"hbar_end\": ", in);
                cli_json_number(stdout, mo.hbar_end);
                fprintf(stdout, ",\n%s\"mass\": ", in);
                cli_json_number(stdout, mass);
                fprintf(stdout, ",\n%s\"grid_spacing\": ", in);
                double hsp[QDML_MAX_DIM];
                for (int d = 0; d < s.dim; ++d) hsp[d] = qdml_grid_spacing(&s.grid, d);
                cli_json_axes(stdout, hsp, s.dim);
                if (s.obj) {
                    double xs[QDML_MAX_DIM] = {0, 0, 0}, fs = 0.0, dist = 0.0;
                    if (qdml_objective_minimum(&s.obj[b], s.dim, xs, &fs) == QDML_OK) {
                        for (int d = 0; d < s.dim; ++d) dist = fmax(dist, fabs(r->argmin[d] - xs[d]));
                        fprintf(stdout, ",\n%s\"objective\": ", in);
                        cli_json_string(stdout, qdml_objective_name(s.obj[b].kind));
                        fprintf(stdout, ",\n%s\"known_argmin\": ", in);
                        cli_json_axes(stdout, xs, s.dim);
                        fprintf(stdout, ",\n%s\"known_f_min\": ", in);
                        cli_json_number(stdout, fs);
                        fprintf(stdout, ",\n%s\"argmin_error\": ", in);
                        cli_json_number(stdout, dist);
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
                    cli_json_axes(stdout, g->stats.mean, s.dim);
                    fputs(", \"width\": ", stdout);
                    cli_json_axes(stdout, g->stats.width, s.dim);
                    fputs(", \"argmax\": ", stdout);
                    cli_json_axes(stdout, g->stats.argmax, s.dim);
                    fputs(", \"f_argmax\": ", stdout);
                    cli_json_number(stdout, g->f_argmax);
                    fprintf(stdout, ", \"steps\": %lld, \"converged\": %s}%s\n", (long long)g->steps,
                            g->converged ? "true" : "false", k + 1 < K ? "," : "");
                }
                fprintf(stdout, "%s]\n%s}%s\n", in, batch_mode ? "  " : "", batch_mode && b + 1 < B ? "," : "");
            }
            if (batch_mode) fputs("]\n", stdout);
        } else {
            for (int64_t b = 0; b < B; ++b) {
                if (batch_mode) printf("member %lld:\n", (long long)b);
                printf("  stage  hbar          energy            f(argmax)         steps  argmax\n");
                for (int64_t k = 0; k < K; ++k) {
                    const qdml_minimize_stage *g = &stg[k * B + b];
                    printf("  %5lld  %-12.6g  %-16.10g  %-16.10g  %6lld  ", (long long)k, g->hbar, g->stats.energy,
                           g->f_argmax, (long long)g->steps);
                    cli_print_axes(stdout, g->stats.argmax, s.dim);
                    printf("%s\n", g->converged ? "" : "  (not converged)");
                }
                printf("  minimum f = %.15g at ", res[b].f_min);
                cli_print_axes(stdout, res[b].argmin, s.dim);
                printf(" (stage %lld, %lld steps in all)\n", (long long)res[b].stage, (long long)res[b].steps);
                double xs[QDML_MAX_DIM] = {0, 0, 0}, fs = 0.0, dist = 0.0;
                if (s.obj && qdml_objective_minimum(&s.obj[b], s.dim, xs, &fs) == QDML_OK) {
                    for (int d = 0; d < s.dim; ++d) dist = fmax(dist, fabs(res[b].argmin[d] - xs[d]));
                    printf("  known minimum of %s: f = %.15g at ", qdml_objective_name(s.obj[b].kind), fs);
                    cli_print_axes(stdout, xs, s.dim);
                    printf(" (estimate off by %.3g per axis at most; grid spacing ", dist);
                    for (int d = 0; d < s.dim; ++d) printf("%s%.3g", d ? ", " : "", qdml_grid_spacing(&s.grid, d));
                    printf(")\n");
                }
            }
        }
    }
    free(res);
    free(stg);
    cli_setup_free(&s);
    return rc;
}
