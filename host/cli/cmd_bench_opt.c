/* `qdml bench-opt`: a suite of optimisation test functions as ONE batched problem, run by Quantum
 * Hamiltonian Descent (real time under a schedule) and by annealing in hbar (ground states at falling
 * hbar), side by side: a CSV, a Markdown table and montages of the final densities. */
#include "args.h"
#include "atomic_file.h"
#include "commands.h"
#include "io_figure.h"
#include "opt_run.h"
#include "output.h"
#include "outputs.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char bench_help[] =
    "Usage: qdml bench-opt [--suite qhd|classic] [--dim D] [--n N] [--time T] [--dt DT] [--method M]\n"
    "                      [--out-dir DIR] [options]\n"
    "\n"
    "Runs every function of a suite as one member of ONE batched problem, each on its box mapped to the\n"
    "unit box with V(u) = scale (f(x) - f*) / L as QHD's benchmark does (qdml qhd --help), from the\n"
    "uniform state, by two methods on the same grid:\n"
    "  QHD        real time under H(t) = a(t) T + b(t) V (QHD's a = 2 / (1e-3 + t^3), b = 2 t^3), round(T/DT)\n"
    "             steps\n"
    "  annealing  ground states at hbar falling geometrically over --stages stages (qdml minimize), at most\n"
    "             round(T/DT) / stages imaginary-time steps each: no more steps than QHD's\n"
    "and reports per function the success probability (the final density's share within --radius of the\n"
    "nearest global minimiser), <V> and <f>, the steps, and each method's wall time.\n"
    "\n"
    "  --suite S          qhd (default: QHD's 22 functions in 2D, its boxes and factors) or classic\n"
    "                     (rastrigin, ackley, griewank, rosenbrock, styblinski_tang, levy, schwefel)\n"
    "  --dim D            2 (default), or 3 with --suite classic\n"
    "  --n N              points per axis (default 256 in 2D, 64 in 3D)\n"
    "  --time T, --dt DT  QHD's run (default 10 and 1e-3, QHD's)\n"
    "  --schedule NAME    qhd (default), constant, linear or geometric (qdml qhd --help)\n"
    "  --radius R         the success radius on the unit box (default 0.1)\n"
    "  --method M         both (default), qhd or anneal\n"
    "  --stages K         annealing stages (default 8); --hbar-start H0 (default 0.1), --hbar-end H1\n"
    "                     (default 1e-3)\n"
    "  --one-by-one       also time QHD on each function as a problem of its own, one after another\n"
    "  --out-dir DIR      where the files go (default bench-opt-SUITE); made if missing:\n"
    "                     results.csv (per function; the methods' batch times, and with --one-by-one\n"
    "                     the function's own), results.md, densities_qhd.png, densities_anneal.png\n"
    "  --threads N, --backend cpu|cuda|auto, --precision float64|float32\n"
    "\n"
    "Example:\n"
    "  qdml bench-opt --suite qhd --n 64 --time 2 --dt 5e-3\n"
    "\n"
    "Exit status: 0 success, 1 a run failed, 2 bad usage or bad input.\n";

static const char *const cmd = "bench-opt";

enum { O_SUITE, O_DIM, O_N, O_TIME, O_DT, O_SCHED, O_RADIUS, O_METHOD, O_STAGES, O_H0, O_H1, O_ONE, O_DIR,
       O_THREADS, O_BACKEND, O_PRECISION, O_COUNT };

typedef struct bench_args {
    const char *suite, *schedule, *dir;
    int dim, threads, run_qhd, run_anneal, one_by_one;
    int64_t n[QDML_MAX_DIM], stages;
    double T, dt, radius, h0, h1;
    qdml_backend backend;
    qdml_precision precision;
    char dirbuf[256];
} bench_args;

static int bench_parse(int argc, char **argv, bench_args *a, int *help) {
    cli_opt o[O_COUNT] = {{"suite", 1, NULL},   {"dim", 1, NULL},        {"n", 1, NULL},         {"time", 1, NULL},
                          {"dt", 1, NULL},      {"schedule", 1, NULL},   {"radius", 1, NULL},    {"method", 1, NULL},
                          {"stages", 1, NULL},  {"hbar-start", 1, NULL}, {"hbar-end", 1, NULL},  {"one-by-one", 0, NULL},
                          {"out-dir", 1, NULL}, {"threads", 1, NULL},    {"backend", 1, NULL},   {"precision", 1, NULL}};
    if (cli_parse(cmd, argc, argv, o, O_COUNT, help) != CLI_OK) return CLI_USAGE;
    if (*help) return CLI_OK;
    memset(a, 0, sizeof *a);
    a->suite = o[O_SUITE].value ? o[O_SUITE].value : "qhd";
    a->dim = 2;
    if (o[O_DIM].value) {
        if (strcmp(o[O_DIM].value, "2") != 0 && strcmp(o[O_DIM].value, "3") != 0) {
            cli_error(cmd, "--dim %s: expected 2 or 3", o[O_DIM].value);
            return CLI_USAGE;
        }
        a->dim = o[O_DIM].value[0] - '0';
    }
    if (o[O_N].value) {
        if (cli_parse_points(cmd, o[O_N].value, a->dim, a->n)) return CLI_USAGE;
    } else {
        for (int d = 0; d < a->dim; ++d) a->n[d] = a->dim == 3 ? 64 : 256;
    }
    a->T = 10.0, a->dt = 1e-3, a->radius = 0.1, a->h0 = 0.1, a->h1 = 1e-3, a->stages = 8;
    if ((o[O_TIME].value && cli_positive_double(cmd, "--time", o[O_TIME].value, &a->T)) ||
        (o[O_DT].value && cli_positive_double(cmd, "--dt", o[O_DT].value, &a->dt)) ||
        (o[O_RADIUS].value && cli_positive_double(cmd, "--radius", o[O_RADIUS].value, &a->radius)) ||
        (o[O_H0].value && cli_positive_double(cmd, "--hbar-start", o[O_H0].value, &a->h0)) ||
        (o[O_H1].value && cli_positive_double(cmd, "--hbar-end", o[O_H1].value, &a->h1)) ||
        (o[O_STAGES].value && cli_positive_int64(cmd, "--stages", o[O_STAGES].value, &a->stages)))
        return CLI_USAGE;
    if (!(a->T / a->dt < 1e12) || llround(a->T / a->dt) < 1) {
        cli_error(cmd, "--time %g / --dt %g: expected 1 to 1e12 steps", a->T, a->dt);
        return CLI_USAGE;
    }
    if (a->h1 > a->h0) {
        cli_error(cmd, "--hbar-end %g is above --hbar-start %g: annealing lowers hbar", a->h1, a->h0);
        return CLI_USAGE;
    }
    if (a->stages > 100000) {
        cli_error(cmd, "--stages %lld: at most 100000", (long long)a->stages);
        return CLI_USAGE;
    }
    a->schedule = o[O_SCHED].value ? o[O_SCHED].value : "qhd";
    qdml_schedule ka, vb;
    if (cli_parse_schedule(cmd, a->schedule, a->T, &ka, &vb)) return CLI_USAGE;
    const char *m = o[O_METHOD].value ? o[O_METHOD].value : "both";
    a->run_qhd = strcmp(m, "both") == 0 || strcmp(m, "qhd") == 0;
    a->run_anneal = strcmp(m, "both") == 0 || strcmp(m, "anneal") == 0;
    if (!a->run_qhd && !a->run_anneal) {
        cli_error(cmd, "--method: unknown method '%s' (expected both, qhd or anneal)", m);
        return CLI_USAGE;
    }
    a->one_by_one = o[O_ONE].value != NULL;
    if (a->one_by_one && !a->run_qhd) {
        cli_error(cmd, "--one-by-one times QHD's runs: it needs --method both or qhd");
        return CLI_USAGE;
    }
    snprintf(a->dirbuf, sizeof a->dirbuf, "bench-opt-%s", a->suite);
    a->dir = o[O_DIR].value ? o[O_DIR].value : a->dirbuf;
    return cli_parse_threads(cmd, o[O_THREADS].value, &a->threads) ||
                   cli_parse_backend(cmd, o[O_BACKEND].value, &a->backend) ||
                   cli_parse_precision(cmd, o[O_PRECISION].value, &a->precision)
               ? CLI_USAGE
               : CLI_OK;
}

/* DIR/name into buf, and the check every output gets before the run. */
static int out_path(const bench_args *a, const char *name, char *buf, size_t len) {
    if ((size_t)snprintf(buf, len, "%s/%s", a->dir, name) >= len) {
        cli_error(cmd, "--out-dir %s: the path is too long", a->dir);
        return CLI_USAGE;
    }
    const cli_file f = {"--out-dir", buf, NULL};
    return cli_check_outputs(cmd, &f, 1, NULL, 0);
}

static int make_dir(const char *dir) {
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return CLI_OK;
    }
    cli_error(cmd, "--out-dir %s: cannot make the folder: %s", dir, strerror(errno == EEXIST ? ENOTDIR : errno));
    return CLI_USAGE;
}

/* ---- the runs ---------------------------------------------------------------------------------- */

typedef struct bench_state {
    cli_opt_fn *fns;
    int count;
    cli_opt_outcome *qhd, *anneal;
    double *rho_qhd, *rho_anneal; /* final densities, (x0, x1) marginals in 3D: count x n0 n1 */
    double t_qhd, t_anneal, t_single;
    double *t_each; /* --one-by-one: each function's QHD run alone, seconds */
    const char *backend; /* the backend the runs used */
} bench_state;

/* Member b's density over (x0, x1) (summed over x2 in 3D) into rho. */
static int densities(cli_setup *s, int count, double *rho) {
    const int64_t plane = s->n[0] * s->n[1], depth = s->dim == 3 ? s->n[2] : 1;
    double *full = malloc(sizeof(double) * (size_t)s->points);
    if (!full) return CLI_RUN_FAILED;
    for (int b = 0; b < count; ++b) {
        if (qdml_problem_get_density(s->problem, b, full) != QDML_OK) {
            cli_error(cmd, "%s", qdml_context_last_error(s->ctx));
            free(full);
            return CLI_RUN_FAILED;
        }
        for (int64_t i = 0; i < plane; ++i) {
            double sum = 0.0;
            for (int64_t k = 0; k < depth; ++k) sum += full[i * depth + k];
            rho[(int64_t)b * plane + i] = sum;
        }
    }
    free(full);
    return CLI_OK;
}

static int run_method(const bench_args *a, bench_state *b, int qhd) {
    cli_setup s;
    memset(&s, 0, sizeof s);
    s.cmd = cmd;
    int rc = cli_opt_make(&s, b->fns, b->count, a->n, a->backend, a->threads, a->precision);
    const int64_t total = llround(a->T / a->dt);
    const int64_t per_stage = (total + a->stages - 1) / a->stages;
    const double t0 = cli_opt_now();
    if (rc == CLI_OK)
        rc = qhd ? cli_opt_qhd(&s, b->fns, a->schedule, a->T, a->dt, a->radius, b->qhd)
                 : cli_opt_anneal(&s, b->fns, a->h0, a->h1, a->stages, per_stage, a->radius, b->anneal);
    const double t = cli_opt_now() - t0;
    if (s.ctx) b->backend = qdml_backend_name(qdml_context_backend(s.ctx));
    if (qhd)
        b->t_qhd = t;
    else
        b->t_anneal = t;
    if (rc == CLI_OK) rc = densities(&s, b->count, qhd ? b->rho_qhd : b->rho_anneal);
    cli_setup_free(&s);
    return rc;
}

/* QHD on each function as a problem of its own: the sum of the runs' times. */
static int run_one_by_one(const bench_args *a, bench_state *b) {
    b->t_single = 0.0;
    for (int k = 0; k < b->count; ++k) {
        cli_setup s;
        memset(&s, 0, sizeof s);
        s.cmd = cmd;
        cli_opt_outcome o;
        int rc = cli_opt_make(&s, &b->fns[k], 1, a->n, a->backend, a->threads, a->precision);
        const double t0 = cli_opt_now();
        if (rc == CLI_OK) rc = cli_opt_qhd(&s, &b->fns[k], a->schedule, a->T, a->dt, a->radius, &o);
        b->t_each[k] = cli_opt_now() - t0;
        b->t_single += b->t_each[k];
        cli_setup_free(&s);
        if (rc != CLI_OK) return rc;
    }
    return CLI_OK;
}

/* ---- the files --------------------------------------------------------------------------------- */

static void axes(FILE *f, const double *x, int dim) {
    for (int d = 0; d < dim; ++d) fprintf(f, "%s%.10g", d ? ";" : "", x[d]);
}

/* Opens path for writing through the atomic writer; *f is where to write. */
static int open_out(const char *path, qdml_atomic_file *af) {
    if (qdml_atomic_open(af, path, 0, path) == QDML_OK) return CLI_OK;
    cli_error(cmd, "%s", qdml_last_error_message());
    return CLI_RUN_FAILED;
}

static int close_out(qdml_atomic_file *af) {
    const int ok = !ferror(af->f);
    if (qdml_atomic_commit(af, ok) == QDML_OK && ok) return CLI_OK;
    cli_error(cmd, "%s", ok ? qdml_last_error_message() : "a write failed");
    return CLI_RUN_FAILED;
}

static int write_csv(const bench_args *a, const bench_state *b, const char *path) {
    qdml_atomic_file af;
    if (open_out(path, &af) != CLI_OK) return CLI_RUN_FAILED;
    FILE *f = af.f;
    fprintf(f, "function,spec,box_lo,box_hi,scale,f_min,minimizers,radius,seconds_batch_qhd,seconds_batch_anneal,"
               "seconds_alone_qhd");
    static const char *const pre[2] = {"qhd", "anneal"};
    for (int m = 0; m < 2; ++m)
        fprintf(f, ",success_%s,expected_V_%s,expected_f_%s,density_max_%s,argmax_%s,f_argmax_%s,steps_%s", pre[m],
                pre[m], pre[m], pre[m], pre[m], pre[m], pre[m]);
    fprintf(f, "\n");
    for (int k = 0; k < b->count; ++k) {
        const cli_opt_fn *fn = &b->fns[k];
        fprintf(f, "%s,%s,%.10g,%.10g,%.10g,%.17g,%lld,%g,", fn->label, fn->spec[0] ? fn->spec : "qhd-variant", fn->lo[0],
                fn->hi[0], fn->scale, fn->fstar, (long long)fn->nmin, a->radius);
        if (a->run_qhd) fprintf(f, "%.4f", b->t_qhd);
        fprintf(f, ",");
        if (a->run_anneal) fprintf(f, "%.4f", b->t_anneal);
        fprintf(f, ",");
        if (a->one_by_one) fprintf(f, "%.4f", b->t_each[k]);
        for (int m = 0; m < 2; ++m) {
            const cli_opt_outcome *o = m ? (a->run_anneal ? &b->anneal[k] : NULL) : (a->run_qhd ? &b->qhd[k] : NULL);
            if (!o) {
                fprintf(f, ",,,,,,,");
                continue;
            }
            fprintf(f, ",%.10g,%.10g,%.10g,%.10g,", o->success, o->expected, o->expected_f, o->density_max);
            axes(f, o->argmax_x, fn->dim);
            fprintf(f, ",%.10g,%lld", o->f_argmax, (long long)o->steps);
        }
        fprintf(f, "\n");
    }
    return close_out(&af);
}

static void md_table(FILE *f, const bench_args *a, const bench_state *b) {
    fprintf(f, "Suite `%s`, %dD, %lld points per axis, one batch of %d functions on the %s backend; radius %g on\n",
            a->suite, a->dim, (long long)a->n[0], b->count, b->backend ? b->backend : "?", a->radius);
    fprintf(f, "the unit box. QHD: schedule `%s`, T = %g, dt = %g (%lld steps), %.2f s. Annealing: hbar %g to %g in %lld\n",
            a->schedule, a->T, a->dt, (long long)llround(a->T / a->dt), b->t_qhd, a->h0, a->h1, (long long)a->stages);
    fprintf(f, "stages of at most %lld steps, %.2f s.", (long long)((llround(a->T / a->dt) + a->stages - 1) / a->stages),
            b->t_anneal);
    if (a->one_by_one)
        fprintf(f, " QHD on each function alone, one after another: %.2f s (the batch: %.2fx faster).", b->t_single,
                b->t_single / b->t_qhd);
    fprintf(f, "\n<V> is on the unit box (scale (f - f*) / L, 0 at the minimum).\n\n");
    fprintf(f, "| function | P(success) QHD | P(success) annealing | <V> QHD | <V> annealing | steps QHD | steps "
               "annealing |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (int k = 0; k < b->count; ++k) {
        fprintf(f, "| %s |", b->fns[k].label);
        if (a->run_qhd)
            fprintf(f, " %.4f |", b->qhd[k].success);
        else
            fprintf(f, " |");
        if (a->run_anneal)
            fprintf(f, " %.4f |", b->anneal[k].success);
        else
            fprintf(f, " |");
        if (a->run_qhd)
            fprintf(f, " %.4g |", b->qhd[k].expected);
        else
            fprintf(f, " |");
        if (a->run_anneal)
            fprintf(f, " %.4g |", b->anneal[k].expected);
        else
            fprintf(f, " |");
        fprintf(f, " %lld | %lld |\n", a->run_qhd ? (long long)b->qhd[k].steps : 0LL,
                a->run_anneal ? (long long)b->anneal[k].steps : 0LL);
    }
}

static int write_md(const bench_args *a, const bench_state *b, const char *path) {
    qdml_atomic_file af;
    if (open_out(path, &af) != CLI_OK) return CLI_RUN_FAILED;
    md_table(af.f, a, b);
    return close_out(&af);
}

static int write_montage(const bench_args *a, const bench_state *b, int qhd, const char *path) {
    qdml_figure_map *panels = calloc((size_t)b->count, sizeof *panels);
    double *marks = calloc((size_t)b->count * 2 * CLI_MAX_MINIMIZERS, sizeof(double));
    if (!panels || !marks) {
        free(panels);
        free(marks);
        return CLI_RUN_FAILED;
    }
    const int64_t plane = a->n[0] * a->n[1];
    for (int k = 0; k < b->count; ++k) {
        const cli_opt_fn *fn = &b->fns[k];
        double *mk = marks + (size_t)k * 2 * CLI_MAX_MINIMIZERS;
        for (int64_t j = 0; j < fn->nmin; ++j) {
            double x[QDML_MAX_DIM];
            cli_opt_fn_to_box(fn, fn->umin + j * fn->dim, x);
            mk[2 * j] = x[0];
            mk[2 * j + 1] = x[1];
        }
        panels[k] = (qdml_figure_map){fn->label, NULL, NULL, NULL, a->n[0], a->n[1],
                                      (qhd ? b->rho_qhd : b->rho_anneal) + (int64_t)k * plane, fn->lo[0], fn->hi[0],
                                      fn->lo[1], fn->hi[1], (int)fn->nmin, mk};
    }
    char title[200];
    snprintf(title, sizeof title, "%s suite: final densities by %s%s (global minimisers marked)", a->suite,
             qhd ? "QHD" : "annealing in hbar", a->dim == 3 ? ", summed over x2" : "");
    int rc = CLI_OK;
    if (qdml_figure_montage_png(path, title, "|psi|^2 / its maximum", b->count, panels) != QDML_OK) {
        cli_error(cmd, "%s", qdml_last_error_message());
        rc = CLI_RUN_FAILED;
    }
    free(panels);
    free(marks);
    return rc;
}

int cli_cmd_bench_opt(int argc, char **argv) {
    bench_args a;
    int help = 0;
    if (bench_parse(argc, argv, &a, &help) != CLI_OK) return CLI_USAGE;
    if (help) {
        fputs(bench_help, stdout);
        return CLI_OK;
    }
    bench_state b;
    memset(&b, 0, sizeof b);
    int rc = cli_suite(cmd, a.suite, a.dim, &b.fns, &b.count);
    if (rc != CLI_OK) return rc;
    char csv[512], md[512], png_q[512], png_a[512];
    if (rc == CLI_OK) rc = make_dir(a.dir);
    if (rc == CLI_OK) rc = out_path(&a, "results.csv", csv, sizeof csv);
    if (rc == CLI_OK) rc = out_path(&a, "results.md", md, sizeof md);
    if (rc == CLI_OK) rc = out_path(&a, "densities_qhd.png", png_q, sizeof png_q);
    if (rc == CLI_OK) rc = out_path(&a, "densities_anneal.png", png_a, sizeof png_a);
    const size_t plane = (size_t)(a.n[0] * a.n[1]) * (size_t)b.count;
    b.qhd = calloc((size_t)b.count, sizeof *b.qhd);
    b.anneal = calloc((size_t)b.count, sizeof *b.anneal);
    b.rho_qhd = calloc(plane, sizeof(double));
    b.rho_anneal = calloc(plane, sizeof(double));
    b.t_each = calloc((size_t)b.count, sizeof(double));
    if (rc == CLI_OK && (!b.qhd || !b.anneal || !b.rho_qhd || !b.rho_anneal || !b.t_each)) {
        cli_error(cmd, "cannot allocate the results of %d functions", b.count);
        rc = CLI_RUN_FAILED;
    }
    if (rc == CLI_OK && a.run_qhd) {
        fprintf(stderr, "qdml bench-opt: QHD on %d functions (one batch) ...\n", b.count);
        rc = run_method(&a, &b, 1);
    }
    if (rc == CLI_OK && a.run_anneal) {
        fprintf(stderr, "qdml bench-opt: annealing on %d functions (one batch) ...\n", b.count);
        rc = run_method(&a, &b, 0);
    }
    if (rc == CLI_OK && a.one_by_one) {
        fprintf(stderr, "qdml bench-opt: QHD on each function alone ...\n");
        rc = run_one_by_one(&a, &b);
    }
    if (rc == CLI_OK) rc = write_csv(&a, &b, csv);
    if (rc == CLI_OK) rc = write_md(&a, &b, md);
    const int figures = qdml_figure_available();
    if (rc == CLI_OK && figures && a.run_qhd) rc = write_montage(&a, &b, 1, png_q);
    if (rc == CLI_OK && figures && a.run_anneal) rc = write_montage(&a, &b, 0, png_a);
    if (rc == CLI_OK) {
        md_table(stdout, &a, &b);
        printf("\nwritten: %s, %s", csv, md);
        if (figures && a.run_qhd) printf(", %s", png_q);
        if (figures && a.run_anneal) printf(", %s", png_a);
        printf("%s\n", figures ? "" : " (no montages: this build draws no figures; install libcairo2-dev and build)");
    }
    free(b.fns);
    free(b.qhd);
    free(b.anneal);
    free(b.rho_qhd);
    free(b.rho_anneal);
    free(b.t_each);
    return rc;
}
