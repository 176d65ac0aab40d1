/* `qdml walkers`: the ground state of a built-in objective in any dimension by diffusion Monte Carlo
 * (include/qdml/qdml_walkers.h): its energy with a statistical error, the time-step bias extrapolated
 * away on request, and by annealing in hbar the objective's minimiser. */
#include "args.h"
#include "atomic_file.h"
#include "commands.h"
#include "io_figure.h"
#include "io_npy.h"
#include "opt_run.h"
#include "output.h"
#include "outputs.h"

#include <math.h>
#include <qdml/qdml_walkers.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char walkers_help[] =
    "Usage: qdml walkers --objective SPEC --dim D [--walkers W] [--dt DT] [--steps S] [options]\n"
    "\n"
    "The ground state of -(hbar^2 / 2m) lap + f in D dimensions (1 to 100000) without a grid: a population\n"
    "of walkers that diffuse (Gaussian steps of variance hbar dt / m), are weighted by exp(-(f - E_ref) dt /\n"
    "hbar) and branch. Reports the ground energy with its statistical error (blocking analysis), the lowest\n"
    "point the walkers visited, and the final walkers' mean, width and mode per coordinate.\n"
    "\n"
    "  --objective SPEC   a built-in objective, NAME[:KEY=V,...] (qdml ground --help-all lists them); in\n"
    "                     D > 3 a per-axis parameter takes one value for every axis\n"
    "  --dim D            dimensions (required)\n"
    "  --walkers W        target population (default 10000)\n"
    "  --dt DT            imaginary-time step (default 0.01)\n"
    "  --steps S          measured steps (default 2000), after --equilibration E steps (default S / 4)\n"
    "  --hbar H, --mass M (default 1, 1)\n"
    "  --seed N           the random numbers' seed (default 1): same seed, same backend, same numbers\n"
    "  --alpha A          importance sampling with the trial function exp(-A f) (drift and Metropolis test;\n"
    "                     objectives with a gradient: harmonic, double_well, poschl_teller, morse, rastrigin,\n"
    "                     styblinski_tang, sumofsquares); default 0, plain diffusion\n"
    "  --anneal H_END[:K] K stages (default 10) with hbar falling geometrically from H to H_END, each of\n"
    "                     E + S steps: the walkers gather at the global minimum (report: the last stage)\n"
    "  --extrapolate K    K = 2 or 3 runs at dt, dt/2 (, dt/4) from the same start: the energy at dt -> 0\n"
    "                     and the time-step bias of dt\n"
    "  --box LO:HI        where the walkers start, uniformly (one LO:HI for all axes or one per axis);\n"
    "                     default the objective's usual domain\n"
    "  --out FILE.npy     the final walkers (N x D, float64)\n"
    "  --history FILE.csv the steps: E_ref, growth and mixed energy, <f>, acceptance, population\n"
    "  --png FILE.png     the steps drawn: growth energy, <f> and population against the step (with --anneal,\n"
    "                     every stage's steps in turn)\n"
    "  --json             a JSON object on stdout instead of a summary\n"
    "  --threads N, --backend cpu|cuda|auto\n"
    "\n"
    "Example:\n"
    "  qdml walkers --objective harmonic --dim 100 --walkers 4000 --dt 0.02 --steps 2000 --json\n"
    "  qdml walkers --objective rastrigin --dim 10 --walkers 2000 --hbar 3 --anneal 1e-4:12 --steps 300\n"
    "\n"
    "Exit status: 0 success, 1 the run failed, 2 bad usage or bad input.\n";

static const char *const cmd = "walkers";

enum { O_OBJ, O_DIM, O_W, O_DT, O_STEPS, O_EQ, O_HBAR, O_MASS, O_SEED, O_ALPHA, O_ANNEAL, O_EXTRA, O_BOX, O_OUT,
       O_HIST, O_PNG, O_JSON, O_THREADS, O_BACKEND, O_COUNT };

typedef struct walkers_args {
    const char *spec, *out, *history, *png;
    int dim, json, threads, stages, extrapolate;
    int64_t walkers, steps, eq;
    double dt, hbar, mass, alpha, hbar_end;
    uint64_t seed;
    double *lo, *hi; /* NULL: the objective's domain */
    qdml_backend backend;
    qdml_objective obj;
} walkers_args;

static int parse_u64(const char *text, uint64_t *out) {
    char *end = NULL;
    if (!text[0] || text[0] == '-') return CLI_USAGE;
    const unsigned long long v = strtoull(text, &end, 10);
    if (*end) return CLI_USAGE;
    *out = (uint64_t)v;
    return CLI_OK;
}

static int walkers_parse(int argc, char **argv, walkers_args *a, int *help) {
    cli_opt o[O_COUNT] = {{"objective", 1, NULL}, {"dim", 1, NULL},     {"walkers", 1, NULL}, {"dt", 1, NULL},
                          {"steps", 1, NULL},     {"equilibration", 1, NULL}, {"hbar", 1, NULL}, {"mass", 1, NULL},
                          {"seed", 1, NULL},      {"alpha", 1, NULL},   {"anneal", 1, NULL},  {"extrapolate", 1, NULL},
                          {"box", 1, NULL},       {"out", 1, NULL},     {"history", 1, NULL}, {"png", 1, NULL},
                          {"json", 0, NULL},      {"threads", 1, NULL}, {"backend", 1, NULL}};
    if (cli_parse(cmd, argc, argv, o, O_COUNT, help) != CLI_OK) return CLI_USAGE;
    if (*help) return CLI_OK;
    a->spec = o[O_OBJ].value;
    if (!a->spec || !o[O_DIM].value) {
        cli_error(cmd, "missing required option %s (see 'qdml walkers --help')", a->spec ? "--dim D" : "--objective SPEC");
        return CLI_USAGE;
    }
    int64_t v;
    if (cli_positive_int64(cmd, "--dim", o[O_DIM].value, &v)) return CLI_USAGE;
    if (v > QDML_WALKERS_MAX_DIM) {
        cli_error(cmd, "--dim %s: must be at most %d", o[O_DIM].value, QDML_WALKERS_MAX_DIM);
        return CLI_USAGE;
    }
    a->dim = (int)v;
    if (qdml_objective_parse(a->spec, a->dim < QDML_MAX_DIM ? a->dim : QDML_MAX_DIM, &a->obj) != QDML_OK) {
        cli_error(cmd, "--objective: %s", qdml_last_error_message());
        return CLI_USAGE;
    }
    a->walkers = 10000, a->steps = 2000, a->eq = -1, a->dt = 0.01, a->hbar = 1.0, a->mass = 1.0, a->seed = 1;
    if (o[O_W].value && cli_positive_int64(cmd, "--walkers", o[O_W].value, &a->walkers)) return CLI_USAGE;
    if (o[O_STEPS].value && cli_positive_int64(cmd, "--steps", o[O_STEPS].value, &a->steps)) return CLI_USAGE;
    if (o[O_EQ].value) {
        if (strcmp(o[O_EQ].value, "0") == 0)
            a->eq = 0;
        else if (cli_positive_int64(cmd, "--equilibration", o[O_EQ].value, &a->eq))
            return CLI_USAGE;
    }
    if (o[O_DT].value && cli_positive_double(cmd, "--dt", o[O_DT].value, &a->dt)) return CLI_USAGE;
    if (o[O_HBAR].value && cli_positive_double(cmd, "--hbar", o[O_HBAR].value, &a->hbar)) return CLI_USAGE;
    if (o[O_MASS].value && cli_positive_double(cmd, "--mass", o[O_MASS].value, &a->mass)) return CLI_USAGE;
    if (o[O_ALPHA].value && cli_positive_double(cmd, "--alpha", o[O_ALPHA].value, &a->alpha)) return CLI_USAGE;
    if (o[O_SEED].value && parse_u64(o[O_SEED].value, &a->seed)) {
        cli_error(cmd, "--seed %s: must be a whole number from 0 to 2^64 - 1", o[O_SEED].value);
        return CLI_USAGE;
    }
    if (o[O_ANNEAL].value) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", o[O_ANNEAL].value);
        char *colon = strchr(buf, ':');
        a->stages = 10;
        if (colon) {
            *colon = '\0';
            int64_t k;
            if (cli_positive_int64(cmd, "--anneal (stages)", colon + 1, &k)) return CLI_USAGE;
            if (k > 1000) {
                cli_error(cmd, "--anneal: %lld stages: at most 1000", (long long)k);
                return CLI_USAGE;
            }
            a->stages = (int)k;
        }
        if (cli_positive_double(cmd, "--anneal", buf, &a->hbar_end)) return CLI_USAGE;
        if (a->hbar_end > a->hbar) {
            cli_error(cmd, "--anneal %g: must be below --hbar %g", a->hbar_end, a->hbar);
            return CLI_USAGE;
        }
    }
    if (o[O_EXTRA].value) {
        if (strcmp(o[O_EXTRA].value, "2") && strcmp(o[O_EXTRA].value, "3")) {
            cli_error(cmd, "--extrapolate %s: must be 2 or 3 (runs)", o[O_EXTRA].value);
            return CLI_USAGE;
        }
        if (o[O_ANNEAL].value) {
            cli_error(cmd, "--extrapolate and --anneal: choose one");
            return CLI_USAGE;
        }
        a->extrapolate = atoi(o[O_EXTRA].value);
    }
    if (o[O_BOX].value) {
        a->lo = malloc((size_t)a->dim * sizeof *a->lo);
        a->hi = malloc((size_t)a->dim * sizeof *a->hi);
        if (!a->lo || !a->hi) {
            cli_error(cmd, "out of memory");
            return CLI_RUN_FAILED;
        }
        if (cli_parse_box(cmd, o[O_BOX].value, a->dim, a->lo, a->hi)) return CLI_USAGE;
    }
    a->out = o[O_OUT].value;
    a->history = o[O_HIST].value;
    a->png = o[O_PNG].value;
    if (a->png && !qdml_figure_available()) {
        cli_error(cmd, "--png: this build draws no figures (it needs cairo: scripts/setup installs libcairo2-dev)");
        return CLI_USAGE;
    }
    a->json = o[O_JSON].value != NULL;
    if (cli_parse_threads(cmd, o[O_THREADS].value, &a->threads) || cli_parse_backend(cmd, o[O_BACKEND].value, &a->backend))
        return CLI_USAGE;
    const cli_file outs[3] = {{"--out", a->out, NULL}, {"--history", a->history, NULL}, {"--png", a->png, NULL}};
    return cli_check_outputs(cmd, outs, 3, NULL, 0);
}

/* progress on a terminal (the step, E_ref, the growth energy, <f>, the population), and every step's
 * record kept for --png (the monitor runs every step then) */
typedef struct progress {
    int enabled;
    double last;
    int64_t total;
    const char *what;
    qdml_walkers_step *kept;
    int64_t nkept, capkept, done, every;
    int failed;
} progress;

static int monitor(int64_t step, const qdml_walkers_step *s, void *user) {
    progress *p = user;
    if (p->capkept >= 0) {
        if (p->nkept == p->capkept) {
            const int64_t cap = p->capkept ? 2 * p->capkept : 1024;
            qdml_walkers_step *k = realloc(p->kept, (size_t)cap * sizeof *k);
            if (!k) {
                p->failed = 1;
                return 1;
            }
            p->kept = k, p->capkept = cap;
        }
        p->kept[p->nkept++] = *s;
    }
    (void)step;
    p->done += p->every; /* (the last call of a run may cover fewer) */
    if (!p->enabled) return 0;
    const double t = cli_opt_now();
    if (t - p->last < 0.2) return 0;
    p->last = t;
    fprintf(stderr, "\r\033[Kwalkers%s: step %lld of %lld  E_ref=%.8g  growth=%.8g  <f>=%.6g  population=%lld", p->what,
            (long long)p->done, (long long)p->total, s->eref, s->growth, s->mean_f, (long long)s->population);
    fflush(stderr);
    return 0;
}

static int fail(qdml_context *ctx, const char *what) {
    cli_error(cmd, "%s: %s", what, qdml_context_last_error(ctx));
    return CLI_RUN_FAILED;
}

typedef struct outcome {
    qdml_walkers_result r;
    qdml_walkers_step *history;
    int64_t nhistory;
    double *best_x, *mean, *width, *mode;
    double seconds;
    /* --extrapolate */
    double dts[3], es[3], errs[3], e0, e0_err, extra_seconds;
    qdml_walkers_step *drawn; /* --png: every step of the run (all stages) */
    int64_t ndrawn, eq;
} outcome;

static int write_png(const walkers_args *a, const outcome *o) {
    const int64_t n = o->ndrawn;
    double *buf = malloc(4 * (size_t)(n > 0 ? n : 1) * sizeof *buf);
    if (!buf) return cli_error(cmd, "--png: out of memory"), CLI_RUN_FAILED;
    double *x = buf, *e = buf + n, *f = buf + 2 * n, *pop = buf + 3 * n;
    for (int64_t t = 0; t < n; ++t)
        x[t] = (double)t, e[t] = o->drawn[t].growth, f[t] = o->drawn[t].mean_f, pop[t] = (double)o->drawn[t].population;
    char title[200];
    snprintf(title, sizeof title, "qdml walkers: %s in %d dimensions, %lld walkers, dt %g%s", a->spec, a->dim,
             (long long)a->walkers, a->dt, a->hbar_end > 0.0 ? " (annealing)" : "");
    const qdml_figure_panel panels[3] = {{"growth energy", e, 0}, {"<f>", f, 0}, {"walkers", pop, 0}};
    const qdml_figure_lines l = {title, a->hbar_end > 0.0 ? "step (all stages)" : "step", x, n, 3, panels,
                                 a->hbar_end > 0.0 ? NAN : (double)o->eq};
    int rc = CLI_OK;
    if (qdml_figure_lines_png(a->png, &l) != QDML_OK) {
        cli_error(cmd, "--png: %s", qdml_last_error_message());
        rc = CLI_RUN_FAILED;
    }
    free(buf);
    return rc;
}

static int write_history(const char *path, const qdml_walkers_step *h, int64_t n) {
    qdml_atomic_file af;
    if (qdml_atomic_open(&af, path, 0, path) != QDML_OK) {
        cli_error(cmd, "--history: %s", qdml_last_error_message());
        return CLI_RUN_FAILED;
    }
    int ok = fprintf(af.f, "step,eref,growth,mixed,mean_f,acceptance,population\n") > 0;
    for (int64_t t = 0; ok && t < n; ++t)
        ok = fprintf(af.f, "%lld,%.17g,%.17g,%.17g,%.17g,%.17g,%lld\n", (long long)t, h[t].eref, h[t].growth,
                     h[t].mixed, h[t].mean_f, h[t].acceptance, (long long)h[t].population) > 0;
    if (qdml_atomic_commit(&af, ok) != QDML_OK || !ok) {
        cli_error(cmd, "--history: %s", ok ? qdml_last_error_message() : "writing failed");
        return CLI_RUN_FAILED;
    }
    return CLI_OK;
}

/* One run (or the stages of annealing) at dt / scale from a fresh start; keep: the main run, whose steps
 * --history and --png want and whose walkers are handed back in *keepw. */
static int run_once(const walkers_args *a, qdml_context *ctx, int64_t scale, int keep, outcome *o,
                    qdml_walkers **keepw) {
    const double dt = a->dt / (double)scale;
    qdml_walkers_config c = {a->dim, 1, a->walkers, 0.0, a->seed, a->alpha};
    qdml_walkers *w = NULL;
    if (qdml_walkers_create(&w, ctx, &c) != QDML_OK) return fail(ctx, "creating the walkers");
    int rc = CLI_OK;
    if (qdml_walkers_set_objective(w, -1, &a->obj, NULL) != QDML_OK) rc = CLI_USAGE, fail(ctx, "--objective");
    if (rc == CLI_OK && qdml_walkers_place(w, -1, 0, NULL, a->lo, a->hi) != QDML_OK) rc = fail(ctx, "placing the walkers");
    progress p = {isatty(STDERR_FILENO), 0.0, 0, "", NULL, 0, keep && a->png ? 0 : -1, 0, 1, 0};
    /* a smaller dt runs proportionally more steps: the same imaginary time */
    const int64_t steps = a->steps * scale, eq = (a->eq < 0 ? a->steps / 4 : a->eq) * scale;
    p.total = (eq + steps) * (a->hbar_end > 0.0 ? a->stages : 1);
    const int collect = p.capkept >= 0;
    p.every = collect ? 1 : 50;
    qdml_walkers_run_options r = {dt,  a->hbar, a->mass, steps, eq, 0.0, p.enabled || collect ? monitor : NULL,
                                  collect ? 1 : 50, &p};
    o->eq = eq;
    const double t0 = cli_opt_now();
    if (rc == CLI_OK && a->hbar_end > 0.0) {
        if (qdml_walkers_anneal(w, &r, a->hbar_end, a->stages, &o->r) != QDML_OK) rc = fail(ctx, "annealing");
    } else if (rc == CLI_OK) {
        if (keep && a->history) {
            o->nhistory = eq + steps;
            o->history = calloc((size_t)o->nhistory, sizeof *o->history);
            if (!o->history) rc = CLI_RUN_FAILED, cli_error(cmd, "out of memory");
        }
        if (rc == CLI_OK && qdml_walkers_run(w, &r, &o->r, o->history) != QDML_OK) rc = fail(ctx, "the run");
    }
    o->seconds = cli_opt_now() - t0;
    if (p.enabled) fputs("\r\033[K", stderr);
    if (rc == CLI_OK && p.failed) rc = CLI_RUN_FAILED, cli_error(cmd, "--png: out of memory for the steps");
    o->drawn = p.kept, o->ndrawn = p.nkept;
    if (rc == CLI_OK && keepw) {
        *keepw = w;
        return CLI_OK;
    }
    qdml_walkers_destroy(w);
    return rc;
}

static int write_walkers(const char *path, const qdml_walkers *w, int dim, qdml_context *ctx) {
    int64_t n = 0;
    if (qdml_walkers_positions(w, 0, NULL, 0, &n) != QDML_OK) return fail(ctx, "--out");
    double *x = calloc((size_t)n, (size_t)dim * sizeof *x);
    if (!x) return cli_error(cmd, "out of memory"), CLI_RUN_FAILED;
    int rc = CLI_OK;
    if (qdml_walkers_positions(w, 0, x, n, &n) != QDML_OK) rc = fail(ctx, "--out");
    const int64_t shape[2] = {n, dim};
    if (rc == CLI_OK && qdml_npy_write(path, QDML_NPY_F64, 2, shape, x) != QDML_OK) {
        cli_error(cmd, "--out: %s", qdml_last_error_message());
        rc = CLI_RUN_FAILED;
    }
    free(x);
    return rc;
}

static void field(const char *name, double v) {
    printf(",\n  \"%s\": ", name);
    cli_json_number(stdout, v);
}

static void vec(const char *name, const double *v, int dim) {
    printf(",\n  \"%s\": ", name);
    cli_json_axes(stdout, v, dim);
}

static void report(const walkers_args *a, const outcome *o, const char *backend) {
    const qdml_walkers_result *r = &o->r;
    const double wsteps = r->mean_population * (double)(r->steps + (a->eq < 0 ? a->steps / 4 : a->eq)) *
                          (a->hbar_end > 0.0 ? a->stages : 1);
    if (a->json) {
        printf("{\n  \"objective\": ");
        cli_json_string(stdout, a->spec);
        printf(",\n  \"dim\": %d,\n  \"walkers\": %lld", a->dim, (long long)a->walkers);
        field("dt", a->dt);
        printf(",\n  \"steps\": %lld,\n  \"seed\": %llu,\n  \"backend\": ", (long long)a->steps,
               (unsigned long long)a->seed);
        cli_json_string(stdout, backend);
        field("hbar", a->hbar_end > 0.0 ? a->hbar_end : a->hbar);
        field("mass", a->mass);
        field("alpha", a->alpha);
        field("energy", r->energy);
        field("energy_error", r->energy_error);
        field("mixed_energy", r->mixed_energy);
        field("mixed_error", r->mixed_error);
        field("mean_f", r->mean_f);
        field("mean_f_error", r->mean_f_error);
        field("correlation_steps", r->correlation_steps);
        field("acceptance", r->acceptance);
        field("mean_population", r->mean_population);
        field("best_f", r->best_f);
        vec("best_x", o->best_x, a->dim);
        vec("mean", o->mean, a->dim);
        vec("width", o->width, a->dim);
        vec("mode", o->mode, a->dim);
        if (a->extrapolate) {
            vec("extrapolation_dt", o->dts, a->extrapolate);
            vec("extrapolation_energy", o->es, a->extrapolate);
            vec("extrapolation_error", o->errs, a->extrapolate);
            field("energy_dt0", o->e0);
            field("energy_dt0_error", o->e0_err);
            field("time_step_bias", o->es[0] - o->e0);
        }
        field("wall_seconds", o->seconds + o->extra_seconds);
        field("walker_steps_per_second", wsteps / o->seconds);
        printf("\n}\n");
        return;
    }
    printf("walkers on %s in %d dimensions (%s backend): %lld walkers, dt %g, %lld steps measured%s\n", a->spec, a->dim,
           backend, (long long)a->walkers, a->dt, (long long)r->steps,
           a->hbar_end > 0.0 ? " in the last stage of annealing" : "");
    printf("  energy (growth)   %.10g +- %.2g   (correlation %.3g steps)\n", r->energy, r->energy_error,
           r->correlation_steps);
    printf("  energy (mixed)    %.10g +- %.2g\n", r->mixed_energy, r->mixed_error);
    if (a->extrapolate)
        printf("  energy at dt -> 0 %.10g +- %.2g   (time-step bias at dt %g: %.3g)\n", o->e0, o->e0_err, a->dt,
               o->es[0] - o->e0);
    printf("  <f>               %.10g +- %.2g\n", r->mean_f, r->mean_f_error);
    printf("  best f            %.10g at ", r->best_f);
    cli_print_axes(stdout, o->best_x, a->dim < 10 ? a->dim : 10);
    printf("%s\n", a->dim > 10 ? " (first 10 coordinates)" : "");
    printf("  population        %.1f (mean), acceptance %.4f, %.3g walker-steps/s in %.2f s\n", r->mean_population,
           r->acceptance, wsteps / o->seconds, o->seconds);
}

int cli_cmd_walkers(int argc, char **argv) {
    walkers_args a;
    memset(&a, 0, sizeof a);
    int help = 0;
    int rc = walkers_parse(argc, argv, &a, &help);
    if (rc != CLI_OK || help) {
        if (help) fputs(walkers_help, stdout);
        free(a.lo), free(a.hi);
        return rc;
    }
    qdml_context *ctx = NULL;
    if (qdml_context_create(&ctx, a.backend, a.threads) != QDML_OK) {
        cli_error(cmd, "%s", qdml_last_error_message());
        free(a.lo), free(a.hi);
        return CLI_RUN_FAILED;
    }
    outcome o;
    memset(&o, 0, sizeof o);
    const size_t d = (size_t)a.dim;
    o.best_x = calloc(d, sizeof(double)), o.mean = calloc(d, sizeof(double));
    o.width = calloc(d, sizeof(double)), o.mode = calloc(d, sizeof(double));
    if (!o.best_x || !o.mean || !o.width || !o.mode) rc = CLI_RUN_FAILED, cli_error(cmd, "out of memory");
    qdml_walkers *w = NULL;
    if (rc == CLI_OK) rc = run_once(&a, ctx, 1, 1, &o, &w);
    if (rc == CLI_OK && (qdml_walkers_best(w, 0, o.best_x, NULL) != QDML_OK ||
                         qdml_walkers_summary(w, 0, o.mean, o.width, o.mode) != QDML_OK))
        rc = fail(ctx, "the summary");
    if (rc == CLI_OK && a.out) rc = write_walkers(a.out, w, a.dim, ctx);
    if (rc == CLI_OK && a.history) rc = write_history(a.history, o.history, o.nhistory);
    if (rc == CLI_OK && a.png) rc = write_png(&a, &o);
    if (rc == CLI_OK && a.extrapolate) {
        o.dts[0] = a.dt, o.es[0] = o.r.energy, o.errs[0] = o.r.energy_error;
        for (int k = 1; rc == CLI_OK && k < a.extrapolate; ++k) {
            outcome ok;
            memset(&ok, 0, sizeof ok);
            o.dts[k] = a.dt / (double)(1 << k);
            rc = run_once(&a, ctx, (int64_t)1 << k, 0, &ok, NULL);
            o.es[k] = ok.r.energy, o.errs[k] = ok.r.energy_error;
            o.extra_seconds += ok.seconds;
        }
        if (rc == CLI_OK &&
            qdml_walkers_extrapolate(o.dts, o.es, o.errs, a.extrapolate, a.alpha > 0.0 ? 1 : 2, &o.e0, &o.e0_err) !=
                QDML_OK) {
            cli_error(cmd, "--extrapolate: %s", qdml_last_error_message());
            rc = CLI_RUN_FAILED;
        }
    }
    if (rc == CLI_OK) {
        report(&a, &o, qdml_backend_name(qdml_context_backend(ctx)));
        if (!a.json && a.out) printf("walkers written to %s\n", a.out);
        if (!a.json && a.history) printf("history written to %s\n", a.history);
        if (!a.json && a.png) printf("figure written to %s\n", a.png);
    }
    qdml_walkers_destroy(w);
    qdml_context_destroy(ctx);
    free(o.history), free(o.drawn), free(o.best_x), free(o.mean), free(o.width), free(o.mode);
    free(a.lo), free(a.hi);
    return rc;
}
