/* The qdml program: ground states and time evolution of potentials given as .npy files, a
 * built-in demo, and a report of what this build can run on. A thin layer over qdml.h. */
#include "args.h"
#include "commands.h"
#include "density_png.h"
#include "io_npy.h"
#include "output.h"
#include "setup.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- inputs: potential, box, state ------------------------------------------------------------ */

/* --objective excludes --potential; --dim and --n only go with --objective. */
static int check_objective_options(const char *cmd, const cli_opt *opts, size_t nopts) {
    const int objective = cli_value(opts, nopts, "objective") != NULL;
    if (objective && cli_value(opts, nopts, "potential")) {
        cli_error(cmd, "--objective and --potential are mutually exclusive: give one (see 'qdml %s --help')", cmd);
        return CLI_USAGE;
    }
    static const char *const with_objective[] = {"dim", "n"};
    for (size_t k = 0; k < sizeof with_objective / sizeof with_objective[0]; ++k)
        if (!objective && cli_value(opts, nopts, with_objective[k])) {
            cli_error(cmd, "--%s goes with --objective (a --potential file gives the grid's shape itself)",
                      with_objective[k]);
            return CLI_USAGE;
        }
    return CLI_OK;
}

/* ---- qdml ground ------------------------------------------------------------------------------ */

/* The --objective options, printed after the help of every subcommand that takes them (a separate
 * string: C limits the length of one literal). */
#define CLI_OBJECTIVE_HELP                                                                                             \
    "\n"                                                                                                               \
    "A built-in objective instead of a potential file (--objective, --dim and --n; no --potential):\n"                 \
    "  --objective SPEC   instead of --potential: a built-in objective, evaluated on the grid by the\n"                \
    "                     backend: NAME[:KEY=V,...], e.g. rastrigin:A=5 or harmonic:k=1,4 (a per-axis key\n"           \
    "                     takes one value for all axes or one per axis). NAME is one of harmonic,\n"                   \
    "                     double_well, gaussian_wells, poschl_teller, morse, rastrigin, ackley, griewank,\n"           \
    "                     rosenbrock, styblinski_tang, levy, schwefel; their keys, defaults, usual domains\n"          \
    "                     and minima are listed in qdml.h (\"Objectives\")\n"                                          \
    "  --dim D            with --objective: the grid's dimensions, 1 to 3\n"                                           \
    "  --n N[,N...]       with --objective: grid points per axis (one value for all axes or one per axis)\n"           \
    "                     With --objective, --box is optional (default: the objective's usual domain)\n"

/* The --objective block of the help of the subcommands that also take --batch. */
static const char objective_batch_help[] =
    CLI_OBJECTIVE_HELP "                     With --batch, several objectives separated by ';' (quote the argument),\n"
                       "                     one member each; without --box the box holds all their usual domains\n";

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

static int cmd_ground(int argc, char **argv) {
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
        fputs(objective_batch_help, stdout);
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
    if (check_objective_options(cmd, opts, nopts) != CLI_OK) return CLI_USAGE;
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

/* ---- qdml evolve ------------------------------------------------------------------------------ */

static const char evolve_help[] =
    "Usage: qdml evolve --mode real|imag --potential V.npy --box SPEC --psi0 PSI0.npy --time T --dt DT\n"
    "                   [options]\n"
    "       qdml evolve --mode real|imag --objective SPEC --dim D --n N[,N...] [--box SPEC]\n"
    "                   --psi0 PSI0.npy --time T --dt DT [options]\n"
    "\n"
    "Evolves a state with split-step Fourier steps (Strang, or a 4th-order composition of Strang\n"
    "steps): exactly round(T/DT) steps of DT.\n"
    "\n"
    "  --mode real|imag   real time (Schrodinger) or imaginary time (diffusion; the state is\n"
    "                     renormalised to norm 1 after every step)\n"
    "  --splitting S      strang (default; 2nd order, one FFT pair per step), yoshida4 (4th order,\n"
    "                     3 Strang substeps per step) or suzuki4 (4th order, 5 substeps, smaller\n"
    "                     negative substep). In imaginary time the negative substep runs the\n"
    "                     diffusion backwards: a 4th-order run whose amplification at the grid's\n"
    "                     largest wavenumber or over the potential's range would exceed e^20 (e^8 in\n"
    "                     float32) is refused with the largest DT that passes\n"
    "  --potential V.npy  float64 C-order array of shape (n1[, n2[, n3]]) at x_j = lo + j (hi - lo) / n\n"
    "  --box SPEC         LO:HI for every axis, or LO:HI,LO:HI,... one per axis\n"
    "  --psi0 PSI0.npy    initial state, complex128 (or float64 for a real state) of the grid's shape;\n"
    "                     used as given (not renormalised)\n"
    "  --time T           total time, > 0\n"
    "  --dt DT            step, > 0\n"
    "  --hbar H           reduced Planck constant, > 0 (default 1)\n"
    "  --mass M           mass, > 0 (default 1)\n"
    "  --out PSI.npy      write the final state, complex128\n"
    "  --history H.csv    write the monitored statistics (about 100 points) as CSV\n"
    "  --png FILE.png     2D grids: draw the final density |psi|^2 as a PNG (viridis, linear from its\n"
    "                     minimum to its maximum; axis 0 downwards, axis 1 rightwards; small grids\n"
    "                     upscaled)\n"
    "  --json             print the final statistics as a JSON object instead of a summary\n"
    "  --threads N        CPU threads (default: all cores)\n"
    "  --backend B        cpu, cuda or auto (default auto)\n"
    "  --precision P      float64 (default) or float32 (cuda backend only; files read and written stay\n"
    "                     float64/complex128)\n"
    "  --checkpoint FILE  save the whole state of the run to FILE (atomically: FILE always holds a\n"
    "                     complete checkpoint) every --checkpoint-every steps and at the end. Runs\n"
    "                     with --checkpoint or --resume choose FFT plans without timing them\n"
    "                     (FFTW_ESTIMATE), so that every run of them uses the same plans\n"
    "  --checkpoint-every N  steps between checkpoints (default: 10 monitoring intervals); rounded up to\n"
    "                     a multiple of the monitoring interval (about T/DT/100 steps), so that a run\n"
    "                     with checkpoints, or resumed from one, gives bit for bit the same result\n"
    "  --resume FILE      continue the run saved in FILE (grid, potential, state, hbar, mass, steps\n"
    "                     taken and history come from it: give --mode, --time, --dt and --splitting\n"
    "                     as for the original run, the same --threads and --backend, and no\n"
    "                     --potential/--objective, --box, --psi0, --hbar or --mass); takes the\n"
    "                     remaining round(T/DT) - (steps taken) steps. Combine with --checkpoint to\n"
    "                     keep saving.\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 success, 1 the run failed (diverged, runtime error, a checkpoint could not be\n"
    "written), 2 bad usage or bad input (including a damaged or mismatched --resume file).\n";

static int cmd_evolve(int argc, char **argv) {
    const char *cmd = "evolve";
    cli_opt opts[] = {{"mode", 1, NULL},    {"potential", 1, NULL}, {"box", 1, NULL},  {"psi0", 1, NULL},
                      {"time", 1, NULL},    {"dt", 1, NULL},        {"hbar", 1, NULL}, {"mass", 1, NULL},
                      {"out", 1, NULL},     {"history", 1, NULL},   {"json", 0, NULL}, {"threads", 1, NULL},
                      {"backend", 1, NULL}, {"precision", 1, NULL},   {"checkpoint", 1, NULL},
                      {"checkpoint-every", 1, NULL}, {"resume", 1, NULL}, {"png", 1, NULL},
                      {"splitting", 1, NULL}, {"objective", 1, NULL}, {"dim", 1, NULL}, {"n", 1, NULL}};
    const size_t nopts = sizeof opts / sizeof opts[0];
    int help = 0;
    if (cli_parse(cmd, argc, argv, opts, nopts, &help) != CLI_OK) return CLI_USAGE;
    if (help) {
        fputs(evolve_help, stdout);
        fputs(CLI_OBJECTIVE_HELP, stdout);
        return CLI_OK;
    }
    const char *resume = cli_value(opts, nopts, "resume");
    const char *ckpath = cli_value(opts, nopts, "checkpoint");
    const char *objective = cli_value(opts, nopts, "objective");
    if (check_objective_options(cmd, opts, nopts) != CLI_OK) return CLI_USAGE;
    static const char *const required[] = {"mode", "time", "dt", "potential", "box", "psi0"};
    const size_t nrequired = resume ? 3 : sizeof required / sizeof required[0];
    for (size_t k = 0; k < nrequired; ++k) {
        const int is_potential = strcmp(required[k], "potential") == 0;
        if (objective && (is_potential || strcmp(required[k], "box") == 0)) continue;
        if (!cli_value(opts, nopts, required[k])) {
            cli_error(cmd, "missing required option --%s%s (see 'qdml evolve --help')", required[k],
                      is_potential ? " (or --objective SPEC)" : "");
            return CLI_USAGE;
        }
    }
    if (resume) {
        static const char *const from_checkpoint[] = {"potential", "box",       "psi0", "hbar",
                                                      "mass",      "objective", "dim",  "n"};
        for (size_t k = 0; k < sizeof from_checkpoint / sizeof from_checkpoint[0]; ++k)
            if (cli_value(opts, nopts, from_checkpoint[k])) {
                cli_error(cmd, "--%s cannot be given with --resume: it comes from the checkpoint %s",
                          from_checkpoint[k], resume);
                return CLI_USAGE;
            }
    }
    int64_t ckevery = 0;
    {
        const char *ce = cli_value(opts, nopts, "checkpoint-every");
        if (ce && !ckpath) {
            cli_error(cmd, "--checkpoint-every needs --checkpoint FILE");
            return CLI_USAGE;
        }
        if (ce && cli_positive_int64(cmd, "--checkpoint-every", ce, &ckevery)) return CLI_USAGE;
    }
    const char *mode_txt = cli_value(opts, nopts, "mode");
    qdml_evolve_options eo;
    qdml_evolve_options_default(&eo);
    if (strcmp(mode_txt, "real") == 0)
        eo.mode = QDML_REAL_TIME;
    else if (strcmp(mode_txt, "imag") == 0 || strcmp(mode_txt, "imaginary") == 0)
        eo.mode = QDML_IMAGINARY_TIME;
    else {
        cli_error(cmd, "--mode: unknown mode '%s' (expected real or imag)", mode_txt);
        return CLI_USAGE;
    }
    static const struct {
        const char *name;
        qdml_splitting value;
    } splittings[] = {{"strang", QDML_SPLIT_STRANG}, {"yoshida4", QDML_SPLIT_YOSHIDA4}, {"suzuki4", QDML_SPLIT_SUZUKI4}};
    const size_t nsplittings = sizeof splittings / sizeof splittings[0];
    const char *split_txt = cli_value(opts, nopts, "splitting");
    size_t isplit = 0;
    while (split_txt && isplit < nsplittings && strcmp(split_txt, splittings[isplit].name) != 0)
        ++isplit;
    if (isplit == nsplittings) {
        cli_error(cmd, "--splitting: unknown splitting '%s' (expected strang, yoshida4 or suzuki4)", split_txt);
        return CLI_USAGE;
    }
    eo.splitting = splittings[isplit].value;
    double T, dt, hbar = 1.0, mass = 1.0;
    const char *v;
    if (cli_positive_double(cmd, "--time", cli_value(opts, nopts, "time"), &T)) return CLI_USAGE;
    if (cli_positive_double(cmd, "--dt", cli_value(opts, nopts, "dt"), &dt)) return CLI_USAGE;
    if ((v = cli_value(opts, nopts, "hbar")) && cli_positive_double(cmd, "--hbar", v, &hbar)) return CLI_USAGE;
    if ((v = cli_value(opts, nopts, "mass")) && cli_positive_double(cmd, "--mass", v, &mass)) return CLI_USAGE;
    int threads;
    qdml_backend backend;
    qdml_precision precision;
    if (cli_parse_threads(cmd, cli_value(opts, nopts, "threads"), &threads)) return CLI_USAGE;
    if (cli_parse_backend(cmd, cli_value(opts, nopts, "backend"), &backend)) return CLI_USAGE;
    if (cli_parse_precision(cmd, cli_value(opts, nopts, "precision"), &precision)) return CLI_USAGE;
    const double ratio = T / dt;
    /* 2^53: beyond it step counts are no longer exact doubles, and no run is that long anyway. */
    if (!(ratio < 9007199254740992.0)) {
        cli_error(cmd, "--time/--dt: T/DT = %.6g steps is too many", ratio);
        return CLI_USAGE;
    }
    eo.dt = dt;
    eo.steps = (int64_t)llround(ratio);
    if (eo.steps < 1) {
        cli_error(cmd, "--time %s is less than half of --dt %s: round(T/DT) = 0 steps", cli_value(opts, nopts, "time"),
                  cli_value(opts, nopts, "dt"));
        return CLI_USAGE;
    }
    if (fabs((double)eo.steps - ratio) > 1e-9 * (ratio > 1.0 ? ratio : 1.0))
        fprintf(stderr, "qdml evolve: note: T/DT = %.10g is not an integer; taking %lld steps of %.10g (t = %.10g)\n",
                ratio, (long long)eo.steps, dt, (double)eo.steps * dt);

    cli_setup s;
    memset(&s, 0, sizeof s);
    s.cmd = cmd;
    qdml_npy_array psi0;
    memset(&psi0, 0, sizeof psi0);
    qdml_run_result result;
    memset(&result, 0, sizeof result);
    const char *ppath = cli_value(opts, nopts, "psi0");
    /* The same monitoring whether or not stderr is a terminal, so results never depend on it. */
    eo.monitor_every = eo.steps >= 100 ? eo.steps / 100 : 1;
    if (ckpath) ckevery = cli_checkpoint_interval(cmd, ckevery, eo.monitor_every, eo.steps);
    int64_t start_step = 0;
    int rc = CLI_OK;
    /* FFTW_MEASURE times candidate plans and may pick another one in another process, which rounds
     * differently: runs that checkpoint or resume plan with FFTW_ESTIMATE, the same plans every time. */
    s.estimate = resume || ckpath;
    if (resume) {
        rc = cli_setup_resume(&s, resume, backend, threads, precision);
        if (rc == CLI_OK && s.batch != 1) {
            cli_error(cmd, "--resume %s: the checkpoint has %lld members; qdml evolve runs one", resume,
                      (long long)s.batch);
            rc = CLI_USAGE;
        }
        qdml_stats at;
        if (rc == CLI_OK && qdml_problem_stats(s.problem, 0, &at) != QDML_OK) {
            cli_error(cmd, "--resume: %s", qdml_context_last_error(s.ctx));
            rc = CLI_USAGE;
        }
        if (rc == CLI_OK) {
            start_step = at.step;
            if (at.step > eo.steps) {
                cli_error(cmd, "--resume %s: the checkpoint is at step %lld, past the %lld steps of --time/--dt",
                          resume, (long long)at.step, (long long)eo.steps);
                rc = CLI_USAGE;
            } else if (at.step > 0 && at.dt != dt) {
                cli_error(cmd, "--resume %s: the run was saved with --dt %.17g; got --dt %.17g", resume, at.dt, dt);
                rc = CLI_USAGE;
            }
            hbar = 0.0;
            mass = 0.0;
            if (rc == CLI_OK && (qdml_problem_get_hbar(s.problem, 0, &hbar) != QDML_OK ||
                                 qdml_problem_get_mass(s.problem, 0, &mass) != QDML_OK))
                rc = CLI_RUN_FAILED;
        }
    }
    if (!resume && !objective) rc = cli_setup_load_potential(&s, cli_value(opts, nopts, "potential"), 0);
    if (!resume && !objective && rc == CLI_OK) rc = cli_parse_box(cmd, cli_value(opts, nopts, "box"), s.dim, s.lo, s.hi);
    if (!resume && objective)
        rc = cli_setup_load_objectives(&s, objective, cli_value(opts, nopts, "dim"), cli_value(opts, nopts, "n"),
                             cli_value(opts, nopts, "box"), 0);
    if (!resume && rc == CLI_OK) rc = cli_setup_read_state(&s, ppath, &psi0);
    if (!resume && rc == CLI_OK) rc = cli_setup_make_problem(&s, backend, threads, precision, hbar, mass);
    if (!resume && rc == CLI_OK) rc = cli_setup_set_state(&s, &psi0);
    qdml_npy_free(&psi0);
    qdml_npy_free(&s.V);
    const char *png = cli_value(opts, nopts, "png");
    if (rc == CLI_OK && png) rc = cli_png_check_dim(cmd, png, s.dim);
    if (rc == CLI_OK) {
        cli_progress prog;
        cli_progress_init(&prog, "qdml evolve");
        eo.monitor = cli_progress_monitor;
        eo.monitor_user = &prog;
        const int64_t total = eo.steps;
        int64_t done = start_step;
        qdml_status st = QDML_OK;
        /* In chunks that end on checkpoint boundaries (multiples of ckevery from step 0). */
        while (done < total && st == QDML_OK && rc == CLI_OK) {
            int64_t next = total;
            if (ckpath) {
                int64_t boundary = (done / ckevery + 1) * ckevery;
                if (boundary < next) next = boundary;
            }
            eo.steps = next - done;
            st = qdml_problem_evolve(s.problem, &eo, &result);
            if (st != QDML_OK) break;
            done = next;
            if (ckpath && qdml_checkpoint_save(s.problem, ckpath) != QDML_OK) {
                cli_error(cmd, "--checkpoint: %s", qdml_context_last_error(s.ctx));
                rc = CLI_RUN_FAILED;
            }
        }
        eo.steps = total;
        cli_progress_finish(&prog);
        if (st == QDML_ERR_DIVERGED) {
            cli_report_divergence(cmd, s.ctx, s.batch, &result);
            rc = CLI_RUN_FAILED;
        } else if (st != QDML_OK) {
            cli_error(cmd, "qdml_problem_evolve failed: %s", qdml_context_last_error(s.ctx));
            rc = cli_exit_for_status(st);
        } else if (rc == CLI_OK && start_step == total) {
            /* Resumed from a finished run: report its final state. */
            if (qdml_problem_stats(s.problem, 0, &result.final) != QDML_OK) {
                cli_error(cmd, "%s", qdml_context_last_error(s.ctx));
                rc = CLI_RUN_FAILED;
            }
        }
        /* Steps since the initial state, across checkpoints and resumption. */
        result.steps = result.final.step;
    }
    if (rc == CLI_OK) {
        const char *out = cli_value(opts, nopts, "out");
        const char *hist = cli_value(opts, nopts, "history");
        if (out) rc = cli_setup_write_states(&s, out, 0);
        if (rc == CLI_OK && hist) rc = cli_write_history(cmd, hist, s.problem);
        if (rc == CLI_OK && png) rc = cli_write_density_pngs(cmd, png, s.problem);
        if (rc == CLI_OK && cli_value(opts, nopts, "json")) {
            printf("{\n  \"mode\": \"%s\",\n  \"splitting\": \"%s\",\n  \"steps\": %lld,\n",
                   eo.mode == QDML_REAL_TIME ? "real" : "imag", splittings[isplit].name, (long long)result.steps);
            printf("  \"hbar\": ");
            cli_json_number(stdout, hbar);
            printf(",\n  \"mass\": ");
            cli_json_number(stdout, mass);
            printf(",\n");
            cli_json_stats_fields(stdout, &result.final, s.dim, "  ");
            printf("\n}\n");
        } else if (rc == CLI_OK) {
            printf("%s-time evolution: %lld %s steps of %.10g (t = %.10g)\n",
                   eo.mode == QDML_REAL_TIME ? "real" : "imaginary", (long long)result.steps, splittings[isplit].name,
                   dt, result.final.time);
            cli_print_stats(stdout, &result.final, s.dim);
            if (out) printf("state written to %s\n", out);
        }
    }
    cli_setup_free(&s);
    return rc;
}

/* ---- qdml info -------------------------------------------------------------------------------- */

static const char info_help[] =
    "Usage: qdml info\n"
    "\n"
    "Prints the library version, the backends compiled into this build and the devices they see.\n";

static int cmd_info(int argc, char **argv) {
    const char *cmd = "info";
    int help = 0;
    if (cli_parse(cmd, argc, argv, NULL, 0, &help) != CLI_OK) return CLI_USAGE;
    if (help) {
        fputs(info_help, stdout);
        return CLI_OK;
    }
    int cpu = qdml_backend_available(QDML_BACKEND_CPU);
    int cuda = qdml_backend_available(QDML_BACKEND_CUDA);
    printf("qdml %s\n", qdml_version_string());
    printf("backends:\n");
    printf("  cpu   %s\n", cpu ? "available (FFTW + OpenMP, float64)" : "not available");
    printf("  cuda  %s\n", cuda ? "available (cuFFT, float64 and float32)" : "not available (not compiled in, or no device)");
    printf("devices:\n");
    if (cpu) {
        qdml_context *ctx = NULL;
        if (qdml_context_create(&ctx, QDML_BACKEND_CPU, 0) == QDML_OK) {
            printf("  cpu: %d threads\n", qdml_context_threads(ctx));
            qdml_context_destroy(ctx);
        } else {
            printf("  cpu: cannot create a context: %s\n", qdml_last_error_message());
        }
    }
    const int ndev = qdml_device_count();
    for (int i = 0; i < ndev; ++i) {
        char name[256];
        size_t bytes = 0;
        if (qdml_device_info(i, name, sizeof name, &bytes) == QDML_OK)
            printf("  cuda %d: %s, %.1f GiB\n", i, name, (double)bytes / (1024.0 * 1024.0 * 1024.0));
        else
            printf("  cuda %d: %s\n", i, qdml_last_error_message());
    }
    if (!cuda || ndev == 0) printf("  no CUDA devices\n");
    return CLI_OK;
}

/* ---- qdml minimize ---------------------------------------------------------------------------- */

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

static int cmd_minimize(int argc, char **argv) {
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
        fputs(objective_batch_help, stdout);
        return CLI_OK;
    }
    const char *vpath = cli_value(opts, nopts, "potential");
    const char *box = cli_value(opts, nopts, "box");
    const char *objective = cli_value(opts, nopts, "objective");
    if (check_objective_options(cmd, opts, nopts) != CLI_OK) return CLI_USAGE;
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

/* ---- main ------------------------------------------------------------------------------------- */

static const char main_help[] =
    "Usage: qdml COMMAND [options]\n"
    "\n"
    "Solves the Schrodinger equation on periodic grids in real and imaginary time: the potential is\n"
    "an objective, its ground state the answer to the optimisation problem.\n"
    "\n"
    "Commands:\n"
    "  demo     ground state of a tilted 2D double well, then a dispersing wave packet (no arguments\n"
    "           needed; writes .npy/.csv/.json/.png files into a folder); 'qdml demo --list' names\n"
    "           the others (softmax, sigmoid, diffusion, taylor), each checked against its closed form\n"
    "  ground   ground state(s) of a potential given as .npy or a built-in objective (imaginary\n"
    "           time, automatic step)\n"
    "  evolve   real- or imaginary-time evolution of a given state for a fixed number of steps\n"
    "  info     version, backends and devices\n"
    "\n"
    "Options:\n"
    "  -h, --help     this text ('qdml COMMAND --help' for a command's options)\n"
    "  --version      print the version\n"
    "\n"
    "Exit status: 0 success, 1 a run failed, 2 bad usage or bad input.\n";

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(main_help, stderr);
        cli_error(NULL, "missing command (try 'qdml demo')");
        return CLI_USAGE;
    }
    const char *c = argv[1];
    if (strcmp(c, "-h") == 0 || strcmp(c, "--help") == 0 || strcmp(c, "help") == 0) {
        fputs(main_help, stdout);
        return CLI_OK;
    }
    if (strcmp(c, "--version") == 0) {
        printf("qdml %s\n", qdml_version_string());
        return CLI_OK;
    }
    int rc;
    if (strcmp(c, "demo") == 0)
        rc = cli_demo(argc - 1, argv + 1);
    else if (strcmp(c, "ground") == 0)
        rc = cmd_ground(argc - 1, argv + 1);
    else if (strcmp(c, "evolve") == 0)
        rc = cmd_evolve(argc - 1, argv + 1);
    else if (strcmp(c, "minimize") == 0)
        rc = cmd_minimize(argc - 1, argv + 1);
    else if (strcmp(c, "info") == 0)
        rc = cmd_info(argc - 1, argv + 1);
    else {
        cli_error(NULL, "unknown command '%s' (expected demo, ground, evolve, minimize or info; see 'qdml --help')",
                  c);
        return CLI_USAGE;
    }
    /* A result that never reached its reader (a full disk, a closed pipe) is a failed run. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error(c, "writing to standard output failed: %s", strerror(errno));
        if (rc == CLI_OK) rc = CLI_RUN_FAILED;
    }
    return rc;
}
