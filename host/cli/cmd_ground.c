/* `qdml ground`: the ground state (or the lowest K states) of a potential or built-in objective by
 * imaginary time with an automatic step, with checkpoints and resumption. */
#include "args.h"
#include "commands.h"
#include "density_png.h"
#include "output.h"
#include "setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ground_help[] =
    "Usage: qdml ground --potential V.npy --box SPEC [options]\n"
    "       qdml ground --objective SPEC --dim D --n N[,N...] [--box SPEC] [options]\n"
    "\n"
    "Finds the ground state of H = -(hbar^2/2m) lap + V by imaginary-time evolution with an automatic\n"
    "step size (qdml_problem_ground), starting from the uniform state (which always overlaps the ground\n"
    "state of a real potential).\n"
    "\n"
    "  --potential V.npy  float64 C-order array of shape (n1[, n2[, n3]]) sampled at the grid points\n"
    "                     x_j = lo + j (hi - lo) / n (the box is periodic: hi is excluded)\n"
    "  --box SPEC         LO:HI for every axis, or LO:HI,LO:HI,... one per axis\n"
    "  --batch            the first axis of V is a batch: B problems on one grid, solved together\n"
    "  --hbar H           reduced Planck constant, > 0 (default 1)\n"
    "  --mass M           mass, > 0 (default 1)\n"
    "  --tol T            residual tolerance ||H psi - E psi|| / ||psi||, > 0 (default 1e-6)\n"
    "  --max-steps N      step limit per member, >= 1 (default 200000)\n"
    "  --dt-initial DT    first imaginary-time step, > 0 (default: hbar over the initial energy scale)\n"
    "  --dt-min DT        smallest step the schedule may shrink to, > 0 (default: 1e-6 x the first)\n"
    "  --states K         the lowest K states instead of the ground state alone (qdml_problem_lowest_states:\n"
    "                     K members kept orthonormal, started from Gaussians times seeded random\n"
    "                     polynomials); the JSON adds \"energies\" and \"residuals\" (K values each,\n"
    "                     ascending), \"energy\" stays the lowest; --out writes the K states (first axis)\n"
    "  --out PSI.npy      write the ground state(s), complex128 of the grid's shape (batch axis first\n"
    "                     with --batch)\n"
    "  --history H.csv    write the monitored statistics of every member as CSV\n"
    "  --png FILE.png     2D grids: draw the final density |psi|^2 as a PNG (viridis, linear from its\n"
    "                     minimum to its maximum; axis 0 downwards, axis 1 rightwards; small grids\n"
    "                     upscaled). With --batch and more than one member, one picture per member:\n"
    "                     FILE_0.png, FILE_1.png, ...\n"
    "  --json             print a JSON object (an array of them with --batch) instead of a summary\n"
    "  --threads N        CPU threads (default: all cores)\n"
    "  --backend B        cpu, cuda or auto (default auto: CUDA where a device is present)\n"
    "  --precision P      float64 (default) or float32 (cuda backend only; files read and written stay\n"
    "                     float64/complex128). float32 residuals stop falling near 6e-8 times the\n"
    "                     grid's largest kinetic energy (or hbar/dtau at small steps): --tol 1e-4 or more\n"
    "  -h, --help         this text\n"
    "\n"
    "  --checkpoint FILE  save the whole search to FILE (atomically) every --checkpoint-every steps and\n"
    "                     at the end; runs with --checkpoint or --resume choose FFT plans without timing\n"
    "                     them (FFTW_ESTIMATE), so that every run of them uses the same plans\n"
    "  --checkpoint-every N  steps between checkpoints (default 200), rounded up to a multiple of the\n"
    "                     monitoring interval (20 steps)\n"
    "  --resume FILE      continue the search saved in FILE: grid, potentials, states, hbar, mass, step\n"
    "                     sizes and convergence come from it (no --potential/--objective, --box, --hbar or\n"
    "                     --mass; --batch when it holds more than one member); give the same --tol,\n"
    "                     --dt-min, --threads and --backend. --max-steps counts from the search's start.\n"
    "                     The result equals, bit for bit (cpu backend), that of the search never stopped.\n"
    "\n"
    "A member that does not converge within --max-steps is reported (converged: false, a warning on\n"
    "stderr) but is not an error. Exit status: 0 success, 1 the run failed (diverged, runtime error),\n"
    "2 bad usage or bad input.\n";

int cli_cmd_ground(int argc, char **argv) {
    const char *cmd = "ground";
    cli_opt opts[] = {{"potential", 1, NULL},  {"box", 1, NULL},    {"batch", 0, NULL},     {"hbar", 1, NULL},
                      {"mass", 1, NULL},       {"tol", 1, NULL},    {"max-steps", 1, NULL}, {"out", 1, NULL},
                      {"history", 1, NULL},    {"json", 0, NULL},   {"threads", 1, NULL},   {"backend", 1, NULL},
                      {"dt-initial", 1, NULL}, {"dt-min", 1, NULL}, {"precision", 1, NULL},
                      {"objective", 1, NULL},  {"dim", 1, NULL},    {"n", 1, NULL},
                      {"checkpoint", 1, NULL}, {"checkpoint-every", 1, NULL}, {"resume", 1, NULL},
                      {"png", 1, NULL},        {"states", 1, NULL}};
    const size_t nopts = sizeof opts / sizeof opts[0];
    int help = 0;
    if (cli_parse(cmd, argc, argv, opts, nopts, &help) != CLI_OK) return CLI_USAGE;
    if (help) {
        fputs(ground_help, stdout);
        fputs(cli_objective_batch_help, stdout);
        return CLI_OK;
    }
    const char *vpath = cli_value(opts, nopts, "potential");
    const char *box = cli_value(opts, nopts, "box");
    const char *resume = cli_value(opts, nopts, "resume");
    const char *ckpath = cli_value(opts, nopts, "checkpoint");
    int64_t ckevery = 0;
    {
        const char *ce = cli_value(opts, nopts, "checkpoint-every");
        if (ce && !ckpath) {
            cli_error(cmd, "--checkpoint-every needs --checkpoint FILE");
            return CLI_USAGE;
        }
        if (ce && cli_positive_int64(cmd, "--checkpoint-every", ce, &ckevery)) return CLI_USAGE;
    }
    if (resume) {
        static const char *const from_checkpoint[] = {"potential", "box", "hbar", "mass", "objective", "dim", "n"};
        for (size_t k = 0; k < sizeof from_checkpoint / sizeof from_checkpoint[0]; ++k)
            if (cli_value(opts, nopts, from_checkpoint[k])) {
                cli_error(cmd, "--%s cannot be given with --resume: it comes from the checkpoint %s",
                          from_checkpoint[k], resume);
                return CLI_USAGE;
            }
    }
    const char *objective = cli_value(opts, nopts, "objective");
    if (cli_check_objective_options(cmd, opts, nopts) != CLI_OK) return CLI_USAGE;
    if (!vpath && !objective && !resume) {
        cli_error(cmd, "missing required option --potential V.npy (or --objective SPEC; see 'qdml ground --help')");
        return CLI_USAGE;
    }
    if (!box && !objective && !resume) {
        cli_error(cmd, "missing required option --box LO:HI (see 'qdml ground --help')");
        return CLI_USAGE;
    }
    const int batch_mode = cli_value(opts, nopts, "batch") != NULL;
    const int json = cli_value(opts, nopts, "json") != NULL;
    double hbar = 1.0, mass = 1.0;
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    const char *v;
    if ((v = cli_value(opts, nopts, "hbar")) && cli_positive_double(cmd, "--hbar", v, &hbar)) return CLI_USAGE;
    if ((v = cli_value(opts, nopts, "mass")) && cli_positive_double(cmd, "--mass", v, &mass)) return CLI_USAGE;
    if ((v = cli_value(opts, nopts, "tol")) && cli_positive_double(cmd, "--tol", v, &go.tolerance)) return CLI_USAGE;
    if ((v = cli_value(opts, nopts, "max-steps")) && cli_positive_int64(cmd, "--max-steps", v, &go.max_steps))
        return CLI_USAGE;
    if ((v = cli_value(opts, nopts, "dt-initial")) && cli_positive_double(cmd, "--dt-initial", v, &go.dt_initial))
        return CLI_USAGE;
    if ((v = cli_value(opts, nopts, "dt-min")) && cli_positive_double(cmd, "--dt-min", v, &go.dt_min)) return CLI_USAGE;
    int64_t states = 1;
    if ((v = cli_value(opts, nopts, "states"))) {
        if (cli_positive_int64(cmd, "--states", v, &states)) return CLI_USAGE;
        if (states > 4096) {
            cli_error(cmd, "--states %s: at most 4096 states", v);
            return CLI_USAGE;
        }
        if (batch_mode) {
            cli_error(cmd, "--states cannot be given with --batch: the K states are the members of one problem");
            return CLI_USAGE;
        }
    }
    const int lowest = states > 1;
    int threads;
    qdml_backend backend;
    qdml_precision precision;
    if (cli_parse_threads(cmd, cli_value(opts, nopts, "threads"), &threads)) return CLI_USAGE;
    if (cli_parse_backend(cmd, cli_value(opts, nopts, "backend"), &backend)) return CLI_USAGE;
    if (cli_parse_precision(cmd, cli_value(opts, nopts, "precision"), &precision)) return CLI_USAGE;

    cli_setup s;
    memset(&s, 0, sizeof s);
    s.cmd = cmd;
    s.estimate = resume || ckpath; /* reproducible FFT plans (see qdml evolve) */
    int rc = CLI_OK;
    int64_t start_step = 0;
    if (resume) {
        rc = cli_setup_resume(&s, resume, backend, threads, precision);
        if (rc == CLI_OK && lowest && s.batch != states) {
            cli_error(cmd, "--resume %s: the checkpoint holds %lld members, not the %lld of --states", resume,
                      (long long)s.batch, (long long)states);
            rc = CLI_USAGE;
        } else if (rc == CLI_OK && s.batch > 1 && !batch_mode && !lowest) {
            cli_error(cmd, "--resume %s: the checkpoint holds %lld members: add --batch (or --states %lld)", resume,
                      (long long)s.batch, (long long)s.batch);
            rc = CLI_USAGE;
        }
        if (rc == CLI_OK && (qdml_problem_get_hbar(s.problem, 0, &hbar) != QDML_OK ||
                             qdml_problem_get_mass(s.problem, 0, &mass) != QDML_OK))
            rc = CLI_RUN_FAILED;
        /* Steps the search has taken: those of its members still going, the most of any. */
        for (int64_t b = 0; b < s.batch && rc == CLI_OK; ++b) {
            qdml_stats at;
            if (qdml_problem_stats(s.problem, b, &at) != QDML_OK) {
                cli_error(cmd, "--resume: %s", qdml_context_last_error(s.ctx));
                rc = CLI_USAGE;
            } else if (at.step > start_step) {
                start_step = at.step;
            }
        }
        if (rc == CLI_OK && start_step >= go.max_steps) {
            cli_error(cmd, "--resume %s: the search has taken %lld steps, --max-steps is %lld: raise it to go on",
                      resume, (long long)start_step, (long long)go.max_steps);
            rc = CLI_USAGE;
        }
    } else {
        if (objective) {
            rc = cli_setup_load_objectives(&s, objective, cli_value(opts, nopts, "dim"), cli_value(opts, nopts, "n"), box,
                                 batch_mode);
        } else {
            rc = cli_setup_load_potential(&s, vpath, batch_mode);
            if (rc == CLI_OK) rc = cli_parse_box(cmd, box, s.dim, s.lo, s.hi);
        }
        if (rc == CLI_OK && lowest) {
            s.batch = states;
            s.same_potential = 1;
        }
        if (rc == CLI_OK) rc = cli_setup_make_problem(&s, backend, threads, precision, hbar, mass);
        if (rc == CLI_OK && lowest) rc = cli_setup_random_states(&s);
    }
    if (rc != CLI_OK) {
        cli_setup_free(&s);
        return rc;
    }
    const char *png = cli_value(opts, nopts, "png");
    if (png && (rc = cli_png_check_dim(cmd, png, s.dim)) != CLI_OK) {
        cli_setup_free(&s);
        return rc;
    }
    /* The large potential array is no longer needed once copied into the problem. */
    qdml_npy_free(&s.V);

    qdml_run_result *results = calloc((size_t)s.batch, sizeof *results);
    if (!results) {
        cli_error(cmd, "out of memory");
        cli_setup_free(&s);
        return CLI_RUN_FAILED;
    }
    cli_progress prog;
    cli_progress_init(&prog, "qdml ground");
    go.monitor = cli_progress_monitor;
    go.monitor_user = &prog;
    const int64_t total = go.max_steps;
    if (ckpath) ckevery = cli_checkpoint_interval(cmd, ckevery, 20 /* qdml_problem_ground's automatic interval */, total);
    int64_t done = start_step;
    int first = !resume;
    qdml_status st = QDML_OK;
    /* In calls that end on checkpoint boundaries (multiples of ckevery from step 0), each continuing
     * the search of the one before. */
    for (;;) {
        int64_t next = total;
        if (ckpath) {
            int64_t boundary = (done / ckevery + 1) * ckevery;
            if (boundary < next) next = boundary;
        }
        go.max_steps = next - done;
        go.resume = !first;
        st = lowest ? qdml_problem_lowest_states(s.problem, &go, results) : qdml_problem_ground(s.problem, &go, results);
        if (st != QDML_OK) break;
        first = 0;
        int over = 1;
        int64_t took = 0;
        for (int64_t b = 0; b < s.batch; ++b) {
            over &= results[b].finished;
            if (results[b].steps > took) took = results[b].steps;
        }
        done += took;
        if (ckpath && qdml_checkpoint_save(s.problem, ckpath) != QDML_OK) {
            cli_error(cmd, "--checkpoint: %s", qdml_context_last_error(s.ctx));
            rc = CLI_RUN_FAILED;
            break;
        }
        if (over || done >= total) break;
    }
    go.max_steps = total;
    /* Steps since the start of the search, across checkpoints and resumption. */
    for (int64_t b = 0; b < s.batch && st == QDML_OK; ++b) results[b].steps = results[b].final.step;
    cli_progress_finish(&prog);
    if (st == QDML_ERR_DIVERGED) {
        cli_report_divergence(cmd, s.ctx, s.batch, results);
        rc = CLI_RUN_FAILED;
    } else if (st != QDML_OK) {
        cli_error(cmd, "%s failed: %s", lowest ? "qdml_problem_lowest_states" : "qdml_problem_ground",
                  qdml_context_last_error(s.ctx));
        rc = cli_exit_for_status(st);
    }
    if (rc == CLI_OK) {
        const char *out = cli_value(opts, nopts, "out");
        const char *hist = cli_value(opts, nopts, "history");
        if (out) rc = cli_setup_write_states(&s, out, batch_mode || lowest);
        if (rc == CLI_OK && hist) rc = cli_write_history(cmd, hist, s.problem);
        if (rc == CLI_OK && png) rc = cli_write_density_pngs(cmd, png, s.problem);
    }
    if (rc == CLI_OK) {
        for (int64_t b = 0; b < s.batch; ++b)
            if (!results[b].converged)
                fprintf(stderr,
                        "qdml ground: warning: member %lld did not converge within %lld steps (residual %.3e > "
                        "tolerance %.3e)\n",
                        (long long)b, (long long)results[b].steps, results[b].final.residual, go.tolerance);
        if (json && lowest) {
            int all = 1;
            for (int64_t b = 0; b < s.batch; ++b) all &= results[b].converged != 0;
            fprintf(stdout, "{\n  \"states\": %lld,\n  \"steps\": %lld,\n  \"converged\": %s,\n  \"hbar\": ",
                    (long long)s.batch, (long long)results[0].steps, all ? "true" : "false");
            cli_json_number(stdout, hbar);
            fputs(",\n  \"mass\": ", stdout);
            cli_json_number(stdout, mass);
            fputs(",\n  \"tolerance\": ", stdout);
            cli_json_number(stdout, go.tolerance);
            fputs(",\n  \"energies\": [", stdout);
            for (int64_t b = 0; b < s.batch; ++b) {
                if (b) fputs(", ", stdout);
                cli_json_number(stdout, results[b].final.energy);
            }
            fputs("],\n  \"residuals\": [", stdout);
            for (int64_t b = 0; b < s.batch; ++b) {
                if (b) fputs(", ", stdout);
                cli_json_number(stdout, results[b].final.residual);
            }
            fputs("],\n", stdout);
            /* The rest describes the lowest state, as for one state. */
            cli_json_stats_fields(stdout, &results[0].final, s.dim, "  ");
            fputs("\n}\n", stdout);
        } else if (lowest) {
            printf("lowest %lld states %s after %lld steps (tolerance %.3g)\n", (long long)s.batch,
                   results[s.batch - 1].converged ? "converged" : "NOT all converged", (long long)results[0].steps,
                   go.tolerance);
            for (int64_t b = 0; b < s.batch; ++b)
                printf("  state %-4lld energy %.15g  residual %.3e%s\n", (long long)b, results[b].final.energy,
                       results[b].final.residual, results[b].converged ? "" : "  (not converged)");
            const char *out = cli_value(opts, nopts, "out");
            if (out) printf("states written to %s\n", out);
        } else if (json) {
            const char *in = batch_mode ? "    " : "  ";
            if (batch_mode) fputs("[\n", stdout);
            for (int64_t b = 0; b < s.batch; ++b) {
                const qdml_run_result *r = &results[b];
                fprintf(stdout, "%s{\n", batch_mode ? "  " : "");
                if (batch_mode) fprintf(stdout, "%s\"member\": %lld,\n", in, (long long)b);
                fprintf(stdout, "%s\"steps\": %lld,\n%s\"converged\": %s,\n", in, (long long)r->steps, in,
                        r->converged ? "true" : "false");
                fprintf(stdout, "%s\"hbar\": ", in);
                cli_json_number(stdout, hbar);
                fprintf(stdout, ",\n%s\"mass\": ", in);
                cli_json_number(stdout, mass);
                fprintf(stdout, ",\n%s\"tolerance\": ", in);
                cli_json_number(stdout, go.tolerance);
                fputs(",\n", stdout);
                cli_json_stats_fields(stdout, &r->final, s.dim, in);
                fprintf(stdout, "\n%s}%s\n", batch_mode ? "  " : "", batch_mode && b + 1 < s.batch ? "," : "");
            }
            if (batch_mode) fputs("]\n", stdout);
        } else {
            for (int64_t b = 0; b < s.batch; ++b) {
                const qdml_run_result *r = &results[b];
                if (batch_mode) printf("member %lld: ", (long long)b);
                printf("ground state %s after %lld steps (tolerance %.3g)\n",
                       r->converged ? "converged" : "NOT converged", (long long)r->steps, go.tolerance);
                cli_print_stats(stdout, &r->final, s.dim);
            }
            const char *out = cli_value(opts, nopts, "out");
            if (out) printf("state written to %s\n", out);
        }
    }
    free(results);
    cli_setup_free(&s);
    return rc;
}
