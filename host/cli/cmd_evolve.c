/* `qdml evolve`: real- or imaginary-time evolution of a given state for round(T/DT) steps of a chosen
 * splitting, with checkpoints and resumption. */
#include "args.h"
#include "commands.h"
#include "density_png.h"
#include "figures.h"
#include "output.h"
#include "outputs.h"
#include "setup.h"
#include "step_limits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char evolve_brief[] =
    "Usage: qdml evolve --mode real|imag --objective SPEC --dim D --n N[,N...] --psi0 PSI0.npy\n"
    "                   --time T --dt DT [options]\n"
    "       qdml evolve --mode real|imag --potential V.npy --box SPEC --psi0 PSI0.npy --time T --dt DT\n"
    "\n"
    "Evolves a state in real time (Schrodinger) or imaginary time (diffusion, renormalised) by split steps.\n"
    "\n"
    "  --psi0 PSI0.npy    the initial state (complex128 or float64 of the grid's shape)\n"
    "  --splitting S      strang (default), yoshida4, suzuki4 or chin4 (4th order)\n"
    "  --hbar H, --mass M (default 1)                   --strict   a --dt too large is an error\n"
    "  --out FILE.npy|FILE.h5   the final state         --history H.csv   the monitored statistics\n"
    "  --png F.png        a figure of the density       --history-png H.png  energy against steps\n"
    "  --json             a JSON object on stdout       --checkpoint FILE, --resume FILE\n"
    "  --threads N, --backend cpu|cuda|auto, --precision float64|float32, --wisdom FILE\n"
    "\n"
    "Example:\n"
    "  qdml evolve --mode real --objective harmonic --dim 1 --n 256 --psi0 psi0.npy --time 10 --dt 0.01\n"
    "\n"
    "qdml evolve --help-all: every option in detail, the objectives, figures, FFT plans and outputs.\n";

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
    "                     3 Strang substeps per step), suzuki4 (4th order, 5 substeps, smaller\n"
    "                     negative substep) or chin4 (4th order, 2 FFT pairs per step, every substep\n"
    "                     forward: V/6, T/2, 2V~/3, T/2, V/6 with V~ = V +- dt^2 |grad V|^2 / 48m;\n"
    "                     cpu backend). In imaginary time the negative substep of yoshida4 and\n"
    "                     suzuki4 runs the diffusion backwards: a run whose amplification at the\n"
    "                     grid's largest wavenumber or over the potential's range would exceed e^20\n"
    "                     (e^8 in float32) is refused with the largest DT that passes; chin4 has no\n"
    "                     such limit\n"
    "  --potential V.npy  float64 C-order array of shape (n1[, n2[, n3]]) at x_j = lo + j (hi - lo) / n\n"
    "  --box SPEC         LO:HI for every axis, or LO:HI,LO:HI,... one per axis\n"
    "  --psi0 PSI0.npy    initial state, complex128 (or float64 for a real state) of the grid's shape;\n"
    "                     used as given (not renormalised)\n"
    "  --time T           total time, > 0\n"
    "  --dt DT            step, > 0. Real time: a step whose phase per step exceeds pi for the kinetic\n"
    "                     term at the grid's largest wavenumber (hbar |k|^2 dt / 2m; no limit when V is\n"
    "                     constant) or for the potential over its range ((max V - min V) dt / hbar)\n"
    "                     aliases and gives wrong results with no other sign: a warning names the term\n"
    "                     and the largest DT within it. Imaginary time: the result carries a splitting\n"
    "                     error estimate |E - E_split| (E_split: the energy the split step gives the\n"
    "                     final state through its norm decay over one more step; \"splitting_error\" in\n"
    "                     the JSON), with a warning when it exceeds a tenth of |<T>| + |<V>|\n"
    "  --strict           make those warnings errors: exit 2 before a real-time run, exit 1 after an\n"
    "                     imaginary-time one (the result still printed)\n"
    "  --hbar H           reduced Planck constant, > 0 (default 1)\n"
    "  --mass M           mass, > 0 (default 1)\n"
    "  --out PSI.npy      write the final state, complex128\n"
    "  --history H.csv    write the monitored statistics (about 100 points) as CSV\n"
    "  --png FILE.png     a figure of the final density (see Figures below); FILE_0.png, FILE_1.png, ...\n"
    "                     with more than one member\n"
    "  --history-png H.png  the monitored energy and residual against steps (log scale), per member\n"
    "  --json             print the final statistics as a JSON object instead of a summary\n"
    "  --threads N        CPU threads (default: all cores)\n"
    "  --backend B        cpu, cuda or auto (default auto)\n"
    "  --precision P      float64 (default) or float32 (cuda backend only; files read and written stay\n"
    "                     float64/complex128)\n";

/* The rest of the help (C limits the length of one literal). */
static const char evolve_help_more[] =
    "  --checkpoint FILE  save the whole state of the run to FILE (atomically: FILE always holds a\n"
    "                     complete checkpoint) every --checkpoint-every steps and at the end. Its\n"
    "                     measured FFT plans and path choices go beside it (FILE.wisdom and\n"
    "                     FILE.wisdom.paths), and --resume FILE plans from them: the same plans\n"
    "  --checkpoint-every N  steps between checkpoints (default: 10 monitoring intervals); rounded up to\n"
    "                     a multiple of the monitoring interval (about T/DT/100 steps), so that a run\n"
    "                     with checkpoints, or resumed from one, gives bit for bit the same result\n"
    "  --resume FILE      continue the run saved in FILE (grid, potential, state, hbar, mass, steps\n"
    "                     taken and history come from it: give --mode, --time, --dt and --splitting\n"
    "                     as for the original run (--mode, --dt, --splitting and --precision are\n"
    "                     checked against it: exit 2 naming both values) and the same --threads and\n"
    "                     --backend. The same command line with --resume added is accepted:\n"
    "                     --potential/--objective, --box, --hbar and --mass, where given, must\n"
    "                     describe the checkpoint's problem (exit 2 naming the first difference);\n"
    "                     --psi0 is not read (the state comes from the checkpoint). Takes the\n"
    "                     remaining round(T/DT) - (steps taken) steps. Combine with --checkpoint to\n"
    "                     keep saving.\n"
    "  -h, --help         this text\n"
    "\n"
    "A run that diverges prints its last good state, marked \"diverged\": true, and writes no files.\n"
    "Exit status: 0 success, 1 the run failed (diverged, runtime error, a file or checkpoint could not\n"
    "be written), 2 bad usage or bad input (including a damaged or mismatched --resume file).\n";

static const char *const cmd = "evolve";

typedef struct evolve_args {
    cli_shared sh;
    qdml_evolve_options eo;
    const char *splitting; /* its name, for the report */
    double dt;
    int strict;               /* --strict: a step beyond what the splitting resolves is an error, not a warning */
    int64_t checkpoint_every; /* steps between checkpoints, on monitoring points (with --checkpoint) */
} evolve_args;

/* ---- parse ------------------------------------------------------------------------------------ */

/* --mode, --time and --dt always; --potential (or --objective), --box (not with --objective) and
 * --psi0 unless resuming. */
static int evolve_check_required(const cli_shared *sh) {
    static const char *const required[] = {"mode", "time", "dt", "potential", "box", "psi0"};
    const size_t nrequired = sh->resume ? 3 : sizeof required / sizeof required[0];
    for (size_t k = 0; k < nrequired; ++k) {
        const int is_potential = strcmp(required[k], "potential") == 0;
        if (sh->objective && (is_potential || strcmp(required[k], "box") == 0)) continue;
        if (!cli_shared_value(sh, required[k])) {
            cli_error(cmd, "missing required option --%s%s (see 'qdml evolve --help')", required[k],
                      is_potential ? " (or --objective SPEC)" : "");
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

static int evolve_parse_mode(evolve_args *a) {
    const char *mode_txt = cli_shared_value(&a->sh, "mode");
    if (strcmp(mode_txt, "real") == 0)
        a->eo.mode = QDML_REAL_TIME;
    else if (strcmp(mode_txt, "imag") == 0 || strcmp(mode_txt, "imaginary") == 0)
        a->eo.mode = QDML_IMAGINARY_TIME;
    else {
        cli_error(cmd, "--mode: unknown mode '%s' (expected real or imag)", mode_txt);
        return CLI_USAGE;
    }
    static const struct {
        const char *name;
        qdml_splitting value;
    } splittings[] = {
        {"strang", QDML_SPLIT_STRANG},
        {"yoshida4", QDML_SPLIT_YOSHIDA4},
        {"suzuki4", QDML_SPLIT_SUZUKI4},
        {"chin4", QDML_SPLIT_CHIN4}};
    const size_t nsplittings = sizeof splittings / sizeof splittings[0];
    const char *split_txt = cli_shared_value(&a->sh, "splitting");
    size_t isplit = 0;
    while (split_txt && isplit < nsplittings && strcmp(split_txt, splittings[isplit].name) != 0)
        ++isplit;
    if (isplit == nsplittings) {
        cli_error(cmd, "--splitting: unknown splitting '%s' (expected strang, yoshida4, suzuki4 or chin4)", split_txt);
        return CLI_USAGE;
    }
    a->eo.splitting = splittings[isplit].value;
    a->splitting = splittings[isplit].name;
    return CLI_OK;
}

/* Exactly round(T/DT) steps of DT; the monitoring interval and the checkpoint interval on it. */
static int evolve_schedule(evolve_args *a, double T) {
    qdml_evolve_options *eo = &a->eo;
    const double dt = a->dt;
    const double ratio = T / dt;
    /* 2^53: beyond it step counts are no longer exact doubles, and no run is that long anyway. */
    if (!(ratio < 9007199254740992.0)) {
        cli_error(cmd, "--time/--dt: T/DT = %.6g steps is too many", ratio);
        return CLI_USAGE;
    }
    eo->dt = dt;
    eo->steps = (int64_t)llround(ratio);
    if (eo->steps < 1) {
        cli_error(cmd, "--time %s is less than half of --dt %s: round(T/DT) = 0 steps",
                  cli_shared_value(&a->sh, "time"), cli_shared_value(&a->sh, "dt"));
        return CLI_USAGE;
    }
    if (fabs((double)eo->steps - ratio) > 1e-9 * (ratio > 1.0 ? ratio : 1.0))
        fprintf(stderr, "qdml evolve: note: T/DT = %.10g is not an integer; taking %lld steps of %.10g (t = %.10g)\n",
                ratio, (long long)eo->steps, dt, (double)eo->steps * dt);
    /* The same monitoring whether or not stderr is a terminal, so results never depend on it. */
    eo->monitor_every = eo->steps >= 100 ? eo->steps / 100 : 1;
    a->checkpoint_every = a->sh.checkpoint_every;
    if (a->sh.checkpoint)
        a->checkpoint_every = cli_checkpoint_interval(cmd, a->checkpoint_every, eo->monitor_every, eo->steps);
    return CLI_OK;
}

/* The shared checks (args.h) and this subcommand's own, in the order that decides which mistake of a
 * command line is reported. */
static int evolve_parse(int argc, char **argv, evolve_args *a, int *help) {
    static const cli_opt own[] = {{"mode", 1, NULL}, {"psi0", 1, NULL},      {"time", 1, NULL},
                                  {"dt", 1, NULL},   {"splitting", 1, NULL}, {"strict", 0, NULL}};
    cli_shared *sh = &a->sh;
    if (cli_shared_parse(cmd, argc, argv, CLI_WITH_HBAR | CLI_WITH_CHECKPOINT, own, sizeof own / sizeof own[0], sh,
                         help) != CLI_OK)
        return CLI_USAGE;
    if (*help) return CLI_OK;
    if (cli_shared_check_inputs(sh) || evolve_check_required(sh) || cli_shared_check_resume(sh) ||
        cli_shared_check_checkpoint(sh))
        return CLI_USAGE;
    qdml_evolve_options_default(&a->eo);
    if (evolve_parse_mode(a)) return CLI_USAGE;
    double T;
    if (cli_positive_double(cmd, "--time", cli_shared_value(sh, "time"), &T)) return CLI_USAGE;
    if (cli_positive_double(cmd, "--dt", cli_shared_value(sh, "dt"), &a->dt)) return CLI_USAGE;
    if (cli_shared_numbers(sh, NULL, NULL) || cli_shared_context(sh)) return CLI_USAGE;
    a->strict = cli_shared_value(sh, "strict") != NULL;
    return evolve_schedule(a, T);
}

/* ---- set up ----------------------------------------------------------------------------------- */

/* The options the run in --resume was saved with (qdml_problem_last_run) against this run's: every
 * one that changes the result must be the same (--dt is checked against the step in force). */
static int evolve_check_resumed(const evolve_args *a, const cli_setup *s, const char *resume) {
    qdml_run_info run;
    if (qdml_problem_last_run(s->problem, &run) != QDML_OK) {
        cli_error(cmd, "--resume: %s", qdml_last_error_message());
        return CLI_RUN_FAILED;
    }
    static const char *const splits[] = {"strang", "yoshida4", "suzuki4", "chin4"};
    static const char *const precisions[] = {"float64", "float32"};
    const char *const mode_names[] = {"real", "imag"};
    if (run.kind == QDML_RUN_NONE) {
        fprintf(stderr,
                "qdml evolve: note: --resume %s records no run options (a version-1 checkpoint): --mode, --splitting "
                "and --precision are not checked against it\n",
                resume);
        return CLI_OK;
    }
    if (run.kind != QDML_RUN_EVOLVE) {
        cli_error(cmd,
                  "--resume %s: the checkpoint was saved by a ground-state search (qdml ground%s), not by qdml "
                  "evolve: resume it with qdml ground",
                  resume, run.kind == QDML_RUN_LOWEST_STATES ? " --states" : "");
        return CLI_USAGE;
    }
    if (run.mode != a->eo.mode) {
        cli_error(cmd, "--resume %s: the run was saved with --mode %s; got --mode %s (give the options of the run)",
                  resume, mode_names[run.mode], mode_names[a->eo.mode]);
        return CLI_USAGE;
    }
    if (run.splitting != a->eo.splitting) {
        cli_error(cmd,
                  "--resume %s: the run was saved with --splitting %s; got --splitting %s (give the options of "
                  "the run)",
                  resume, splits[run.splitting], a->splitting);
        return CLI_USAGE;
    }
    if (run.precision != a->sh.precision) {
        cli_error(cmd, "--resume %s: the run was saved with --precision %s; got --precision %s", resume,
                  precisions[run.precision], precisions[a->sh.precision]);
        return CLI_USAGE;
    }
    if (run.potential_only || (run.mode == QDML_IMAGINARY_TIME && !run.renormalize)) {
        cli_error(cmd, "--resume %s: the run was saved with %s, which qdml evolve does not set", resume,
                  run.potential_only ? "no kinetic step (potential_only)" : "no renormalisation");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* The run saved in --resume: one member, at a step within this run's, saved with the same options. */
static int evolve_resume(evolve_args *a, cli_setup *s, int64_t *start_step) {
    cli_shared *sh = &a->sh;
    const char *resume = sh->resume;
    int rc = cli_setup_resume(s, resume, sh->backend, sh->threads, sh->precision);
    if (rc == CLI_OK) rc = cli_setup_match_resumed(s, sh, 0);
    if (rc == CLI_OK && cli_shared_value(sh, "psi0"))
        fprintf(stderr, "qdml evolve: note: --psi0 is not read with --resume: the state comes from the checkpoint %s\n",
                resume);
    if (rc == CLI_OK && s->batch != 1) {
        cli_error(cmd, "--resume %s: the checkpoint has %lld members; qdml evolve runs one", resume,
                  (long long)s->batch);
        rc = CLI_USAGE;
    }
    if (rc == CLI_OK) rc = evolve_check_resumed(a, s, resume);
    qdml_stats at;
    if (rc == CLI_OK && qdml_problem_stats(s->problem, 0, &at) != QDML_OK) {
        cli_error(cmd, "--resume: %s", qdml_context_last_error(s->ctx));
        rc = CLI_USAGE;
    }
    if (rc == CLI_OK) {
        *start_step = at.step;
        if (at.step > a->eo.steps) {
            cli_error(cmd, "--resume %s: the checkpoint is at step %lld, past the %lld steps of --time/--dt", resume,
                      (long long)at.step, (long long)a->eo.steps);
            rc = CLI_USAGE;
        } else if (at.step > 0 && at.dt != a->dt) {
            cli_error(cmd, "--resume %s: the run was saved with --dt %.17g; got --dt %.17g", resume, at.dt, a->dt);
            rc = CLI_USAGE;
        }
        sh->hbar = 0.0;
        sh->mass = 0.0;
        if (rc == CLI_OK && (qdml_problem_get_hbar(s->problem, 0, &sh->hbar) != QDML_OK ||
                             qdml_problem_get_mass(s->problem, 0, &sh->mass) != QDML_OK))
            rc = CLI_RUN_FAILED;
    }
    return rc;
}

/* The problem made from --potential and --box or from --objective, started from --psi0. */
static int evolve_inputs(const evolve_args *a, cli_setup *s) {
    const cli_shared *sh = &a->sh;
    int rc;
    if (!sh->objective) {
        rc = cli_setup_load_potential(s, sh->potential, 0);
        if (rc == CLI_OK) rc = cli_parse_box(cmd, sh->box, s->dim, s->lo, s->hi);
    } else {
        rc = cli_setup_load_objectives(s, sh->objective, sh->dim, sh->n, sh->box, 0);
    }
    qdml_npy_array psi0;
    memset(&psi0, 0, sizeof psi0);
    if (rc == CLI_OK) rc = cli_setup_read_state(s, cli_shared_value(sh, "psi0"), &psi0);
    s->wisdom = sh->wisdom;
    s->no_wisdom = sh->no_wisdom;
    if (rc == CLI_OK) rc = cli_setup_make_problem(s, sh->backend, sh->threads, sh->precision, sh->hbar, sh->mass);
    if (rc == CLI_OK) rc = cli_setup_set_state(s, &psi0);
    if (rc == CLI_OK && a->eo.mode == QDML_REAL_TIME)
        rc = cli_setup_check_state_scale(s, cli_shared_value(sh, "psi0"), sh->hbar, sh->mass);
    qdml_npy_free(&psi0);
    return rc;
}

static int evolve_setup(evolve_args *a, cli_setup *s, int64_t *start_step) {
    s->cmd = cmd;
    /* FFTW_MEASURE times candidate plans and may pick another one in another process, which rounds
     * differently: runs that checkpoint keep the plans beside the checkpoint (cli_setup_make_problem). */
    s->ckpt_in = a->sh.resume;
    s->ckpt_out = a->sh.checkpoint;
    int rc = a->sh.resume ? evolve_resume(a, s, start_step) : evolve_inputs(a, s);
    qdml_npy_free(&s->V);
    if (rc == CLI_OK) rc = cli_figures_check(cmd, a->sh.png, a->sh.history_png, s->dim);
    if (rc == CLI_OK && a->eo.mode == QDML_REAL_TIME)
        rc = cli_check_real_time_step(cmd, s->problem, a->dt, a->eo.splitting, a->strict);
    return rc;
}

/* ---- run -------------------------------------------------------------------------------------- */

static int evolve_run(evolve_args *a, cli_setup *s, int64_t start_step, qdml_run_result *result, int *have, char *why,
                      size_t whylen) {
    qdml_evolve_options *eo = &a->eo;
    const char *ckpath = a->sh.checkpoint;
    const int64_t ckevery = a->checkpoint_every;
    int rc = CLI_OK;
    cli_progress prog;
    cli_progress_init(&prog, "qdml evolve");
    eo->monitor = cli_progress_monitor;
    eo->monitor_user = &prog;
    const int64_t total = eo->steps;
    int64_t done = start_step;
    qdml_status st = QDML_OK;
    /* In chunks that end on checkpoint boundaries (multiples of ckevery from step 0). */
    while (done < total && st == QDML_OK && rc == CLI_OK) {
        int64_t next = total;
        if (ckpath) {
            int64_t boundary = (done / ckevery + 1) * ckevery;
            if (boundary < next) next = boundary;
        }
        eo->steps = next - done;
        st = qdml_problem_evolve(s->problem, eo, result);
        if (st != QDML_OK) break;
        done = next;
        if (ckpath && qdml_checkpoint_save(s->problem, ckpath) != QDML_OK) {
            cli_error(cmd, "--checkpoint: %s", qdml_context_last_error(s->ctx));
            rc = CLI_RUN_FAILED;
        }
    }
    eo->steps = total;
    cli_progress_finish(&prog);
    *have = st == QDML_OK || st == QDML_ERR_DIVERGED;
    if (st == QDML_ERR_DIVERGED) {
        /* The member is back at its last good state, which the report shows, marked. */
        snprintf(why, whylen, "%s", qdml_context_last_error(s->ctx));
        rc = CLI_RUN_FAILED;
    } else if (st != QDML_OK) {
        cli_error(cmd, "qdml_problem_evolve failed: %s", qdml_context_last_error(s->ctx));
        rc = cli_exit_for_status(st);
    } else if (rc == CLI_OK && start_step == total) {
        /* Resumed from a finished run: report its final state. */
        if (qdml_problem_stats(s->problem, 0, &result->final) != QDML_OK) {
            cli_error(cmd, "%s", qdml_context_last_error(s->ctx));
            rc = CLI_RUN_FAILED;
            *have = 0;
        }
    }
    /* Steps since the initial state, across checkpoints and resumption. */
    result->steps = result->final.step;
    return rc;
}

/* ---- report ----------------------------------------------------------------------------------- */

/* The splitting error estimate of imaginary time (NAN in real time): E_split and |E - E_split|. */
typedef struct split_estimate {
    double energy, error;
} split_estimate;

static void evolve_report(const evolve_args *a, const cli_setup *s, const qdml_run_result *result, int written,
                          const split_estimate *est) {
    const int real = a->eo.mode == QDML_REAL_TIME;
    if (a->sh.json) {
        printf("{\n  \"mode\": \"%s\",\n  \"splitting\": \"%s\",\n  \"steps\": %lld,\n  \"diverged\": %s,\n",
               real ? "real" : "imag", a->splitting, (long long)result->steps, result->diverged ? "true" : "false");
        printf("  \"hbar\": ");
        cli_json_number(stdout, a->sh.hbar);
        printf(",\n  \"mass\": ");
        cli_json_number(stdout, a->sh.mass);
        printf(",\n");
        cli_json_stats_fields(stdout, &result->final, s->dim, "  ");
        cli_json_success(stdout, s, 0, a->sh.radius, "  ");
        if (!real) {
            printf(",\n  \"split_energy\": ");
            cli_json_number(stdout, est->energy);
            printf(",\n  \"splitting_error\": ");
            cli_json_number(stdout, est->error);
        }
        printf("\n}\n");
    } else {
        if (result->diverged)
            printf("%s-time evolution DIVERGED; its last good state, after %lld %s steps of %.10g (t = %.10g):\n",
                   real ? "real" : "imaginary", (long long)result->steps, a->splitting, a->dt, result->final.time);
        else
            printf("%s-time evolution: %lld %s steps of %.10g (t = %.10g)\n", real ? "real" : "imaginary",
                   (long long)result->steps, a->splitting, a->dt, result->final.time);
        cli_print_stats(stdout, &result->final, s->dim);
        if (!real && isfinite(est->error))
            printf("  splitting error estimate  %.3e  (|energy - E_split|, E_split = %.15g)\n", est->error,
                   est->energy);
        if (written) printf("state written to %s\n", a->sh.out);
    }
}

int cli_cmd_evolve(int argc, char **argv) {
    evolve_args a;
    int help = 0;
    if (evolve_parse(argc, argv, &a, &help) != CLI_OK) return CLI_USAGE;
    if (help == 1) {
        fputs(evolve_brief, stdout);
        return CLI_OK;
    }
    if (help) {
        fputs(evolve_help, stdout);
        fputs(evolve_help_more, stdout);
        fputs(cli_objective_help, stdout);
        fputs(cli_figures_help, stdout);
        fputs(cli_wisdom_help, stdout);
        fputs(cli_outputs_help, stdout);
        return CLI_OK;
    }
    /* Every output checked before anything is computed. */
    int rc = cli_shared_check_outputs(&a.sh, cli_shared_value(&a.sh, "psi0"), 1);
    if (rc != CLI_OK) return rc;
    cli_setup s;
    memset(&s, 0, sizeof s);
    qdml_run_result result;
    memset(&result, 0, sizeof result);
    int64_t start_step = 0;
    int have = 0;
    char why[1024] = "";
    rc = evolve_setup(&a, &s, &start_step);
    if (rc == CLI_OK) rc = evolve_run(&a, &s, start_step, &result, &have, why, sizeof why);
    if (have) {
        /* The result is printed whatever becomes of the files; a run whose one member diverged writes
         * none (its last good state is not the state at --time). */
        int written = 0, wrc = CLI_OK, erc = CLI_OK;
        split_estimate est = {NAN, NAN};
        if (!result.diverged && a.eo.mode == QDML_IMAGINARY_TIME)
            erc =
                cli_split_error(cmd, s.problem, a.dt, a.eo.splitting, &result.final, a.strict, &est.energy, &est.error);
        if (!result.diverged) wrc = cli_write_outputs(&a.sh, &s, 0, &written);
        if (result.diverged) cli_report_divergence(cmd, why, 1, &result, 0);
        evolve_report(&a, &s, &result, written, &est);
        if (rc == CLI_OK) rc = wrc != CLI_OK ? wrc : erc;
    }
    cli_setup_free(&s);
    return rc;
}
