/* `qdml ground`: the ground state (or the lowest K states) of a potential or built-in objective by
 * LOBPCG, or by imaginary time with an automatic step, with checkpoints and resumption. */
#include "args.h"
#include "commands.h"
#include "density_png.h"
#include "figures.h"
#include "output.h"
#include "outputs.h"
#include "setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ground_brief[] =
    "Usage: qdml ground --objective SPEC --dim D --n N[,N...] [--box SPEC] [options]\n"
    "       qdml ground --potential V.npy --box SPEC [options]\n"
    "\n"
    "The ground state (or the lowest K states) of H = -(hbar^2/2m) lap + V, by LOBPCG or imaginary time.\n"
    "\n"
    "  --objective SPEC   a built-in potential: harmonic, double_well, rastrigin, ... (NAME:KEY=V,...)\n"
    "  --potential V.npy  a potential sampled on the grid (float64), with --box LO:HI[,LO:HI...]\n"
    "  --states K         the lowest K states          --batch   several potentials, solved together\n"
    "  --tol T            residual ||H psi - E psi|| to reach (default 1e-6)\n"
    "  --hbar H, --mass M (default 1)                   --method auto|lobpcg|imaginary-time\n"
    "  --out FILE.npy|FILE.h5   the state(s)            --history H.csv   the monitored statistics\n"
    "  --png F.png        a figure of the density       --history-png H.png  energy and residual\n"
    "  --json             a JSON object on stdout       --checkpoint FILE, --resume FILE\n"
    "  --threads N, --backend cpu|cuda|auto, --precision float64|float32, --wisdom FILE\n"
    "\n"
    "Example:\n"
    "  qdml ground --objective double_well --dim 2 --n 128 --png density.png --out psi.h5 --json\n"
    "\n"
    "qdml ground --help-all: every option in detail, the objectives, figures, FFT plans and outputs.\n";

static const char ground_help[] =
    "Usage: qdml ground --potential V.npy --box SPEC [options]\n"
    "       qdml ground --objective SPEC --dim D --n N[,N...] [--box SPEC] [options]\n"
    "\n"
    "Finds the ground state of H = -(hbar^2/2m) lap + V (qdml_problem_ground) by LOBPCG, or by imaginary-\n"
    "time evolution with an automatic step size (--method), starting from the uniform state plus a small\n"
    "seeded random part\n"
    "(up to 1e-3 of it at each point, the same every run). The random part makes the start overlap every\n"
    "eigenstate: the uniform state alone has no part along a state odd under a symmetry of the grid,\n"
    "such as a ground state that alternates in sign from point to point, and would converge to an\n"
    "excited state instead.\n"
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
    "  --method M         auto (default), lobpcg or imaginary-time. auto: LOBPCG (Rayleigh-Ritz over a block\n"
    "                     with guard states, an approximate inverse of H as preconditioner: eigenstates of H\n"
    "                     itself, no splitting error, small gaps cost nothing) unless --checkpoint, --resume,\n"
    "                     --dt-initial or --dt-min ask for imaginary time; \"steps\" then counts iterations\n"
    "  --guards G         LOBPCG: states carried above the wanted ones (default: none for the ground\n"
    "                     state until it converges slowly, then 2; max(2, K/4) with --states K; none)\n"
    "  --states K         the lowest K states instead of the ground state alone (qdml_problem_lowest_states:\n"
    "                     K members kept orthonormal, started from the K real Fourier functions of lowest\n"
    "                     wavenumber, each plus a seeded random part: independent for any K up to the\n"
    "                     number of grid points, and more is refused); the JSON adds \"energies\" and\n"
    "                     \"residuals\" (K values each, ascending), \"energy\" stays the lowest; --out\n"
    "                     writes the K states (first axis)\n"
    "  --out PSI.npy      write the ground state(s), complex128 of the grid's shape (batch axis first\n"
    "                     with --batch)\n"
    "  --history H.csv    write the monitored statistics of every member as CSV\n"
    "  --png FILE.png     a figure of the final density (see Figures below); FILE_0.png, FILE_1.png, ...\n"
    "                     with more than one member\n"
    "  --history-png H.png  the monitored energy and residual against steps (log scale), per member\n"
    "  --json             print a JSON object (an array of them with --batch) instead of a summary\n"
    "  --threads N        CPU threads (default: all cores)\n"
    "  --backend B        cpu, cuda or auto (default auto: CUDA where a device is present)\n"
    "  --precision P      float64 (default) or float32 (cuda backend only; files read and written stay\n"
    "                     float64/complex128). float32 residuals stop falling near 6e-8 times the\n"
    "                     grid's largest kinetic energy (or hbar/dtau at small steps): --tol 1e-4 or more\n"
    "  -h, --help         this text\n";

/* The rest of the help (C limits the length of one literal). */
static const char ground_help_more[] =
    "\n"
    "  --checkpoint FILE  save the whole search to FILE (atomically) every --checkpoint-every steps and\n"
    "                     at the end; its measured FFT plans and path choices go beside it (FILE.wisdom,\n"
    "                     FILE.wisdom.paths), and --resume FILE plans from them: the same plans\n"
    "  --checkpoint-every N  steps between checkpoints (default 200), rounded up to a multiple of the\n"
    "                     monitoring interval (20 steps)\n"
    "  --resume FILE      continue the search saved in FILE: grid, potentials, states, hbar, mass, step\n"
    "                     sizes and convergence come from it. The same command line with --resume\n"
    "                     added is accepted: --potential/--objective, --box, --hbar and --mass, where\n"
    "                     given, must describe the checkpoint's problem (exit 2 naming the first\n"
    "                     difference); --batch when it holds more than one member; give the same --tol,\n"
    "                     --dt-initial, --dt-min, --precision and --states (checked against the\n"
    "                     checkpoint: exit 2 naming both values), --threads and --backend.\n"
    "                     --max-steps counts from the search's start.\n"
    "                     The result equals, bit for bit (cpu backend), that of the search never stopped.\n"
    "\n"
    "A member that does not converge within --max-steps, or whose residual stops falling at its smallest\n"
    "step, is reported (converged: false, a warning on stderr saying which) but is not an error. A member\n"
    "that diverges is left out and the others search on: every member's result is printed and written,\n"
    "the diverged one's last good state marked \"diverged\": true, and the exit status is 1. Exit\n"
    "status: 0 success, 1 the run failed (diverged, runtime error, a file not written), 2 bad usage or\n"
    "bad input.\n";

static const char *const cmd = "ground";

typedef struct ground_args {
    cli_shared sh;
    qdml_ground_options go;
    int64_t states; /* --states K (1: the ground state alone) */
    int lowest;     /* states > 1: qdml_problem_lowest_states */
} ground_args;

/* ---- parse ------------------------------------------------------------------------------------ */

/* The shared checks (args.h) and this subcommand's own, in the order that decides which mistake of a
 * command line is reported. */
static int ground_parse(int argc, char **argv, ground_args *a, int *help) {
    static const cli_opt own[] = {
        {"dt-initial", 1, NULL}, {"dt-min", 1, NULL}, {"states", 1, NULL}, {"method", 1, NULL}, {"guards", 1, NULL}};
    cli_shared *sh = &a->sh;
    if (cli_shared_parse(cmd, argc, argv, CLI_WITH_BATCH | CLI_WITH_HBAR | CLI_WITH_STOPPING | CLI_WITH_CHECKPOINT, own,
                         sizeof own / sizeof own[0], sh, help) != CLI_OK)
        return CLI_USAGE;
    if (*help) return CLI_OK;
    if (cli_shared_check_checkpoint(sh) || cli_shared_check_resume(sh) || cli_shared_check_inputs(sh) ||
        cli_shared_check_required(sh))
        return CLI_USAGE;
    qdml_ground_options_default(&a->go);
    if (cli_shared_numbers(sh, &a->go.tolerance, &a->go.max_steps)) return CLI_USAGE;
    const char *v;
    if ((v = cli_shared_value(sh, "dt-initial")) && cli_positive_double(cmd, "--dt-initial", v, &a->go.dt_initial))
        return CLI_USAGE;
    if ((v = cli_shared_value(sh, "dt-min")) && cli_positive_double(cmd, "--dt-min", v, &a->go.dt_min))
        return CLI_USAGE;
    a->states = 1;
    if ((v = cli_shared_value(sh, "states"))) {
        if (cli_positive_int64(cmd, "--states", v, &a->states)) return CLI_USAGE;
        if (a->states > 4096) {
            cli_error(cmd, "--states %s: at most 4096 states", v);
            return CLI_USAGE;
        }
        if (sh->batch) {
            cli_error(cmd, "--states cannot be given with --batch: the K states are the members of one problem");
            return CLI_USAGE;
        }
    }
    a->lowest = a->states > 1;
    /* The method: LOBPCG unless imaginary time is asked for, or implied by an option only it has. */
    const char *it_only = sh->checkpoint                       ? "--checkpoint"
                          : sh->resume                         ? "--resume"
                          : cli_shared_value(sh, "dt-initial") ? "--dt-initial"
                          : cli_shared_value(sh, "dt-min")     ? "--dt-min"
                                                               : NULL;
    a->go.method = it_only ? QDML_GROUND_IMAGINARY_TIME : QDML_GROUND_AUTO;
    if ((v = cli_shared_value(sh, "method"))) {
        if (strcmp(v, "lobpcg") == 0) {
            if (it_only) {
                cli_error(cmd, "--method lobpcg cannot be given with %s, which only imaginary time has", it_only);
                return CLI_USAGE;
            }
            a->go.method = QDML_GROUND_LOBPCG;
        } else if (strcmp(v, "imaginary-time") == 0) {
            a->go.method = QDML_GROUND_IMAGINARY_TIME;
        } else if (strcmp(v, "auto") != 0) {
            cli_error(cmd, "--method %s: give auto, lobpcg or imaginary-time", v);
            return CLI_USAGE;
        }
    }
    if ((v = cli_shared_value(sh, "guards"))) {
        int64_t g = 0;
        if (strcmp(v, "none") == 0) {
            g = -1;
        } else if (cli_positive_int64(cmd, "--guards", v, &g)) {
            return CLI_USAGE;
        } else if (g > 64) {
            cli_error(cmd, "--guards %s: at most 64 guard states", v);
            return CLI_USAGE;
        }
        if (a->go.method == QDML_GROUND_IMAGINARY_TIME) {
            cli_error(cmd, "--guards is an option of --method lobpcg (imaginary time carries no guard states)");
            return CLI_USAGE;
        }
        a->go.guard_states = g;
    }
    return cli_shared_context(sh);
}

/* ---- set up ----------------------------------------------------------------------------------- */

/* "0.001", or "automatic" for 0 (an option not given): 15 digits, 17 where `other` would print the same. */
static const char *option_value(double v, double other, char *buf, size_t len) {
    if (v == 0.0) return "automatic";
    char a[64], b[64];
    snprintf(a, sizeof a, "%.15g", v);
    snprintf(b, sizeof b, "%.15g", other);
    snprintf(buf, len, strcmp(a, b) == 0 ? "%.17g" : "%.15g", v);
    return buf;
}

/* The options the search in --resume was saved with (qdml_problem_last_run) against this run's:
 * every one that changes the result must be the same. */
static int ground_check_resumed(const ground_args *a, const cli_setup *s, const char *resume) {
    qdml_run_info run;
    if (qdml_problem_last_run(s->problem, &run) != QDML_OK) {
        cli_error(cmd, "--resume: %s", qdml_last_error_message());
        return CLI_RUN_FAILED;
    }
    if (run.kind == QDML_RUN_NONE) {
        fprintf(stderr,
                "qdml ground: note: --resume %s records no run options (a version-1 checkpoint): --tol, --dt-initial, "
                "--dt-min and --precision are not checked against it\n",
                resume);
        return CLI_OK;
    }
    if (run.kind == QDML_RUN_EVOLVE) {
        cli_error(cmd,
                  "--resume %s: the checkpoint was saved by qdml evolve, not by a ground-state search: resume it "
                  "with qdml evolve",
                  resume);
        return CLI_USAGE;
    }
    if (run.kind == QDML_RUN_LOWEST_STATES && !a->lowest) {
        cli_error(cmd, "--resume %s: the checkpoint holds a search of the lowest %lld states: give --states %lld",
                  resume, (long long)s->batch, (long long)s->batch);
        return CLI_USAGE;
    }
    if (run.kind == QDML_RUN_GROUND && a->lowest) {
        cli_error(cmd,
                  "--resume %s: the checkpoint holds a ground-state search, not one of the lowest states: give no "
                  "--states",
                  resume);
        return CLI_USAGE;
    }
    const struct {
        const char *option;
        double saved, given;
    } same[] = {{"--tol", run.tolerance, a->go.tolerance},
                {"--dt-initial", run.dt_initial, a->go.dt_initial},
                {"--dt-min", run.dt_min, a->go.dt_min}};
    for (size_t k = 0; k < sizeof same / sizeof same[0]; ++k)
        if (same[k].saved != same[k].given) {
            char x[64], y[64];
            cli_error(cmd, "--resume %s: the search was saved with %s %s; got %s %s (give the options of the search)",
                      resume, same[k].option, option_value(same[k].saved, same[k].given, x, sizeof x), same[k].option,
                      option_value(same[k].given, same[k].saved, y, sizeof y));
            return CLI_USAGE;
        }
    if (run.precision != a->sh.precision) {
        cli_error(cmd, "--resume %s: the search was saved with --precision %s; got --precision %s", resume,
                  run.precision == QDML_FLOAT32 ? "float32" : "float64",
                  a->sh.precision == QDML_FLOAT32 ? "float32" : "float64");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* The problem saved in --resume, its hbar and mass, and the steps its search has taken. */
static int ground_resume(ground_args *a, cli_setup *s, int64_t *start_step) {
    cli_shared *sh = &a->sh;
    const char *resume = sh->resume;
    int rc = cli_setup_resume(s, resume, sh->backend, sh->threads, sh->precision);
    if (rc == CLI_OK) rc = cli_setup_match_resumed(s, sh, a->lowest);
    if (rc == CLI_OK && a->lowest && s->batch != a->states) {
        cli_error(cmd, "--resume %s: the checkpoint holds %lld members, not the %lld of --states", resume,
                  (long long)s->batch, (long long)a->states);
        rc = CLI_USAGE;
    } else if (rc == CLI_OK && s->batch > 1 && !sh->batch && !a->lowest) {
        cli_error(cmd, "--resume %s: the checkpoint holds %lld members: add --batch (or --states %lld)", resume,
                  (long long)s->batch, (long long)s->batch);
        rc = CLI_USAGE;
    }
    if (rc == CLI_OK) rc = ground_check_resumed(a, s, resume);
    if (rc == CLI_OK && (qdml_problem_get_hbar(s->problem, 0, &sh->hbar) != QDML_OK ||
                         qdml_problem_get_mass(s->problem, 0, &sh->mass) != QDML_OK))
        rc = CLI_RUN_FAILED;
    /* Steps the search has taken: those of its members still going, the most of any. */
    for (int64_t b = 0; b < s->batch && rc == CLI_OK; ++b) {
        qdml_stats at;
        if (qdml_problem_stats(s->problem, b, &at) != QDML_OK) {
            cli_error(cmd, "--resume: %s", qdml_context_last_error(s->ctx));
            rc = CLI_USAGE;
        } else if (at.step > *start_step) {
            *start_step = at.step;
        }
    }
    if (rc == CLI_OK && *start_step >= a->go.max_steps) {
        cli_error(cmd, "--resume %s: the search has taken %lld steps, --max-steps is %lld: raise it to go on", resume,
                  (long long)*start_step, (long long)a->go.max_steps);
        rc = CLI_USAGE;
    }
    return rc;
}

/* The problem made from --potential and --box or from --objective; with --states, K members on the
 * one potential, started from random states. */
static int ground_inputs(const ground_args *a, cli_setup *s) {
    const cli_shared *sh = &a->sh;
    int rc;
    if (sh->objective) {
        rc = cli_setup_load_objectives(s, sh->objective, sh->dim, sh->n, sh->box, sh->batch);
    } else {
        rc = cli_setup_load_potential(s, sh->potential, sh->batch);
        if (rc == CLI_OK) rc = cli_parse_box(cmd, sh->box, s->dim, s->lo, s->hi);
    }
    if (rc == CLI_OK && a->lowest && a->states > s->points) {
        cli_error(cmd, "--states %lld: the grid has %lld points, so at most %lld states can be independent",
                  (long long)a->states, (long long)s->points, (long long)s->points);
        rc = CLI_USAGE;
    }
    if (rc == CLI_OK && a->lowest) {
        s->batch = a->states;
        s->same_potential = 1;
    }
    s->wisdom = sh->wisdom;
    s->no_wisdom = sh->no_wisdom;
    if (rc == CLI_OK) rc = cli_setup_make_problem(s, sh->backend, sh->threads, sh->precision, sh->hbar, sh->mass);
    if (rc == CLI_OK) rc = cli_setup_start_states(s, a->lowest);
    return rc;
}

static int ground_setup(ground_args *a, cli_setup *s, int64_t *start_step) {
    s->cmd = cmd;
    s->ckpt_in = a->sh.resume; /* plans a resumption can repeat (cli_setup_make_problem) */
    s->ckpt_out = a->sh.checkpoint;
    int rc = a->sh.resume ? ground_resume(a, s, start_step) : ground_inputs(a, s);
    if (rc == CLI_OK) rc = cli_figures_check(cmd, a->sh.png, a->sh.history_png, s->dim);
    /* The large potential array is no longer needed once copied into the problem. */
    if (rc == CLI_OK) qdml_npy_free(&s->V);
    return rc;
}

/* ---- run -------------------------------------------------------------------------------------- */

/* What a run left: the results (valid when `have`), which members diverged (across every call of
 * the run), and the library's message about the first divergence. */
typedef struct ground_outcome {
    int have;
    unsigned char *diverged;
    int64_t ndiverged;
    char why[1024];
} ground_outcome;

/* Members that diverged in the call just made, added to the run's; the first message kept. */
static void note_divergence(ground_outcome *o, const cli_setup *s, const qdml_run_result *results) {
    if (o->ndiverged == 0) snprintf(o->why, sizeof o->why, "%s", qdml_context_last_error(s->ctx));
    for (int64_t b = 0; b < s->batch; ++b)
        if (results[b].diverged && !o->diverged[b]) o->diverged[b] = 1, ++o->ndiverged;
}

static int ground_run(ground_args *a, cli_setup *s, int64_t start_step, qdml_run_result *results, ground_outcome *o) {
    qdml_ground_options *go = &a->go;
    const char *ckpath = a->sh.checkpoint;
    int rc = CLI_OK;
    cli_progress prog;
    cli_progress_init(&prog, "qdml ground");
    go->monitor = cli_progress_monitor;
    go->monitor_user = &prog;
    const int64_t total = go->max_steps;
    int64_t ckevery = a->sh.checkpoint_every;
    if (ckpath)
        ckevery = cli_checkpoint_interval(cmd, ckevery, 20 /* qdml_problem_ground's automatic interval */, total);
    int64_t done = start_step;
    int first = !a->sh.resume;
    qdml_status st = QDML_OK;
    /* In calls that end on checkpoint boundaries (multiples of ckevery from step 0), each continuing
     * the search of the one before. A member that diverges is left out by the library and the others
     * search on (the search resumes without it); the lowest states are one block, which stops. */
    for (;;) {
        int64_t next = total;
        if (ckpath) {
            int64_t boundary = (done / ckevery + 1) * ckevery;
            if (boundary < next) next = boundary;
        }
        go->max_steps = next - done;
        go->resume = !first;
        st = a->lowest ? qdml_problem_lowest_states(s->problem, go, results)
                       : qdml_problem_ground(s->problem, go, results);
        if (st == QDML_ERR_DIVERGED) {
            note_divergence(o, s, results);
            o->have = 1;
            if (a->lowest) break;
            st = QDML_OK;
        }
        if (st == QDML_ERR_NOT_READY && first == 0 && done == start_step && a->sh.resume) {
            /* A version-1 checkpoint records no run: this is how one without a search shows. */
            cli_error(cmd,
                      "--resume %s: the checkpoint holds no ground-state search to continue (saved by qdml "
                      "evolve?)",
                      a->sh.resume);
            go->max_steps = total;
            cli_progress_finish(&prog);
            return CLI_USAGE;
        }
        if (st != QDML_OK) break;
        o->have = 1;
        first = 0;
        int over = 1;
        int64_t took = 0;
        for (int64_t b = 0; b < s->batch; ++b) {
            over &= results[b].finished;
            if (results[b].steps > took) took = results[b].steps;
        }
        done += took;
        if (ckpath && qdml_checkpoint_save(s->problem, ckpath) != QDML_OK) {
            cli_error(cmd, "--checkpoint: %s", qdml_context_last_error(s->ctx));
            rc = CLI_RUN_FAILED;
            break;
        }
        if (over || done >= total) break;
    }
    go->max_steps = total;
    /* Steps since the start of the search, across checkpoints and resumption; the divergences of
     * every call. */
    for (int64_t b = 0; b < s->batch && o->have; ++b) {
        if (results[b].method == QDML_GROUND_IMAGINARY_TIME) results[b].steps = results[b].final.step;
        results[b].diverged = o->diverged[b];
    }
    cli_progress_finish(&prog);
    if (o->ndiverged > 0) {
        rc = CLI_RUN_FAILED;
    } else if (st != QDML_OK) {
        cli_error(cmd, "%s failed: %s", a->lowest ? "qdml_problem_lowest_states" : "qdml_problem_ground",
                  qdml_context_last_error(s->ctx));
        rc = cli_exit_for_status(st);
        o->have = 0;
    }
    return rc;
}

/* ---- report ----------------------------------------------------------------------------------- */

static const char *method_name(int method) { return method == QDML_GROUND_LOBPCG ? "lobpcg" : "imaginary-time"; }
static const char *steps_word(int method) { return method == QDML_GROUND_LOBPCG ? "LOBPCG iterations" : "steps"; }

/* --states K --json: the K energies and residuals, then the lowest state as for one state. */
static void ground_json_states(const ground_args *a, const cli_setup *s, const qdml_run_result *results) {
    int all = 1, diverged = 0;
    for (int64_t b = 0; b < s->batch; ++b) {
        all &= results[b].converged != 0;
        diverged |= results[b].diverged != 0;
    }
    fprintf(stdout,
            "{\n  \"states\": %lld,\n  \"method\": \"%s\",\n  \"steps\": %lld,\n  \"hamiltonian_applications\": %lld,\n"
            "  \"converged\": %s,\n  \"diverged\": %s,\n  \"hbar\": ",
            (long long)s->batch, method_name(results[0].method), (long long)results[0].steps,
            (long long)results[0].hamiltonian_applications, all ? "true" : "false", diverged ? "true" : "false");
    cli_json_number(stdout, a->sh.hbar);
    fputs(",\n  \"mass\": ", stdout);
    cli_json_number(stdout, a->sh.mass);
    fputs(",\n  \"tolerance\": ", stdout);
    cli_json_number(stdout, a->go.tolerance);
    fputs(",\n  \"energies\": [", stdout);
    for (int64_t b = 0; b < s->batch; ++b) {
        if (b) fputs(", ", stdout);
        cli_json_number(stdout, results[b].final.energy);
    }
    fputs("],\n  \"residuals\": [", stdout);
    for (int64_t b = 0; b < s->batch; ++b) {
        if (b) fputs(", ", stdout);
        cli_json_number(stdout, results[b].final.residual);
    }
    fputs("],\n", stdout);
    /* The rest describes the lowest state, as for one state. */
    cli_json_stats_fields(stdout, &results[0].final, s->dim, "  ");
    cli_json_success(stdout, s, 0, a->sh.radius, "  ");
    fputs("\n}\n", stdout);
}

static void ground_text_states(const ground_args *a, const cli_setup *s, const qdml_run_result *results, int written) {
    int all = 1;
    for (int64_t b = 0; b < s->batch; ++b)
        all &= results[b].converged != 0;
    printf("lowest %lld states %s after %lld %s (tolerance %.3g)\n", (long long)s->batch,
           all ? "converged" : "NOT all converged", (long long)results[0].steps, steps_word(results[0].method),
           a->go.tolerance);
    for (int64_t b = 0; b < s->batch; ++b)
        printf("  state %-4lld energy %.15g  residual %.3e%s\n", (long long)b, results[b].final.energy,
               results[b].final.residual,
               results[b].diverged    ? "  (diverged: last good state)"
               : results[b].converged ? ""
                                      : "  (not converged)");
    if (written) printf("states written to %s\n", a->sh.out);
}

/* One object per member; with --batch, an array of them. */
static void ground_json(const ground_args *a, const cli_setup *s, const qdml_run_result *results) {
    const int batch_mode = a->sh.batch;
    const char *in = batch_mode ? "    " : "  ";
    if (batch_mode) fputs("[\n", stdout);
    for (int64_t b = 0; b < s->batch; ++b) {
        const qdml_run_result *r = &results[b];
        fprintf(stdout, "%s{\n", batch_mode ? "  " : "");
        if (batch_mode) fprintf(stdout, "%s\"member\": %lld,\n", in, (long long)b);
        fprintf(stdout, "%s\"method\": \"%s\",\n%s\"steps\": %lld,\n%s\"hamiltonian_applications\": %lld,\n", in,
                method_name(r->method), in, (long long)r->steps, in, (long long)r->hamiltonian_applications);
        fprintf(stdout, "%s\"converged\": %s,\n%s\"diverged\": %s,\n", in, r->converged ? "true" : "false", in,
                r->diverged ? "true" : "false");
        fprintf(stdout, "%s\"hbar\": ", in);
        cli_json_number(stdout, a->sh.hbar);
        fprintf(stdout, ",\n%s\"mass\": ", in);
        cli_json_number(stdout, a->sh.mass);
        fprintf(stdout, ",\n%s\"tolerance\": ", in);
        cli_json_number(stdout, a->go.tolerance);
        fputs(",\n", stdout);
        cli_json_stats_fields(stdout, &r->final, s->dim, in);
        cli_json_success(stdout, s, b, a->sh.radius, in);
        fprintf(stdout, "\n%s}%s\n", batch_mode ? "  " : "", batch_mode && b + 1 < s->batch ? "," : "");
    }
    if (batch_mode) fputs("]\n", stdout);
}

static void ground_text(const ground_args *a, const cli_setup *s, const qdml_run_result *results, int written) {
    for (int64_t b = 0; b < s->batch; ++b) {
        const qdml_run_result *r = &results[b];
        if (a->sh.batch) printf("member %lld: ", (long long)b);
        if (r->diverged)
            printf("DIVERGED; its last good state, after %lld steps:\n", (long long)r->steps);
        else
            printf("ground state %s after %lld %s (tolerance %.3g)\n", r->converged ? "converged" : "NOT converged",
                   (long long)r->steps, steps_word(r->method), a->go.tolerance);
        cli_print_stats(stdout, &r->final, s->dim);
    }
    if (written) printf("state written to %s\n", a->sh.out);
}

/* A warning per member that did not converge (saying whether the step limit or the smallest step
 * stopped it), then the results as JSON or text. */
static void ground_report(const ground_args *a, const cli_setup *s, const qdml_run_result *results, int written) {
    for (int64_t b = 0; b < s->batch; ++b) {
        const qdml_run_result *r = &results[b];
        if (r->converged || r->diverged) continue;
        if (r->method == QDML_GROUND_LOBPCG)
            fprintf(stderr,
                    "qdml ground: warning: member %lld did not converge: after %lld LOBPCG iterations its residual "
                    "%.3e is above the tolerance %.3e (%s)\n",
                    (long long)b, (long long)r->steps, r->final.residual, a->go.tolerance,
                    r->finished ? "it stopped falling: rounding sets the floor; --method imaginary-time or a larger "
                                  "--tol"
                                : "--max-steps");
        else if (r->finished)
            fprintf(stderr,
                    "qdml ground: warning: member %lld did not converge: after %lld steps its residual %.3e stopped "
                    "falling above the tolerance %.3e at the smallest step allowed (dt = %.3g; see --dt-min)\n",
                    (long long)b, (long long)r->steps, r->final.residual, a->go.tolerance, r->final.dt);
        else
            fprintf(stderr,
                    "qdml ground: warning: member %lld did not converge within %lld steps (--max-steps; residual "
                    "%.3e > tolerance %.3e)\n",
                    (long long)b, (long long)r->steps, r->final.residual, a->go.tolerance);
    }
    if (a->sh.json && a->lowest)
        ground_json_states(a, s, results);
    else if (a->lowest)
        ground_text_states(a, s, results, written);
    else if (a->sh.json)
        ground_json(a, s, results);
    else
        ground_text(a, s, results, written);
}

int cli_cmd_ground(int argc, char **argv) {
    ground_args a;
    int help = 0;
    if (ground_parse(argc, argv, &a, &help) != CLI_OK) return CLI_USAGE;
    if (help == 1) {
        fputs(ground_brief, stdout);
        return CLI_OK;
    }
    if (help) {
        fputs(ground_help, stdout);
        fputs(ground_help_more, stdout);
        fputs(cli_objective_batch_help, stdout);
        fputs(cli_figures_help, stdout);
        fputs(cli_wisdom_help, stdout);
        fputs(cli_outputs_help, stdout);
        return CLI_OK;
    }
    /* Every output checked before anything is computed; the pictures of several members once their
     * number is known. */
    const int many = a.sh.batch || a.lowest;
    int rc = cli_shared_check_outputs(&a.sh, NULL, many ? 0 : 1);
    if (rc != CLI_OK) return rc;
    cli_setup s;
    memset(&s, 0, sizeof s);
    int64_t start_step = 0;
    rc = ground_setup(&a, &s, &start_step);
    if (rc == CLI_OK && many && a.sh.png) rc = cli_shared_check_outputs(&a.sh, NULL, s.batch);
    qdml_run_result *results = NULL;
    ground_outcome o;
    memset(&o, 0, sizeof o);
    if (rc == CLI_OK &&
        (!(results = calloc((size_t)s.batch, sizeof *results)) || !(o.diverged = calloc((size_t)s.batch, 1)))) {
        cli_error(cmd, "out of memory");
        rc = CLI_RUN_FAILED;
    }
    if (rc == CLI_OK) rc = ground_run(&a, &s, start_step, results, &o);
    if (o.have) {
        /* The results are printed whatever becomes of the files; the files are written unless every
         * member diverged (a diverged member's last good state goes with the others, marked). */
        int written = 0, wrc = CLI_OK;
        if (o.ndiverged < s.batch) wrc = cli_write_outputs(&a.sh, &s, a.sh.batch || a.lowest, &written);
        if (o.ndiverged > 0) cli_report_divergence(cmd, o.why, s.batch, results, o.ndiverged < s.batch);
        ground_report(&a, &s, results, written);
        if (rc == CLI_OK) rc = wrc;
    }
    free(o.diverged);
    free(results);
    cli_setup_free(&s);
    return rc;
}
