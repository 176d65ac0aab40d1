/* `qdml qhd`: Quantum Hamiltonian Descent (Leng, Hickman, Li, Wu, arXiv:2303.01471) on one built-in
 * objective: the objective on its box mapped to the unit box as QHD's benchmark maps it, the uniform
 * state evolved in real time under H(t) = a(t) T + b(t) V, and the probability that the final state sits
 * near a global minimiser. */
#include "args.h"
#include "commands.h"
#include "io_figure.h"
#include "opt_run.h"
#include "output.h"
#include "outputs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char qhd_help[] =
    "Usage: qdml qhd --objective SPEC [--dim D] [--n N] [--box SPEC] [--time T] [--dt DT] [--schedule NAME]\n"
    "                [--radius R] [options]\n"
    "\n"
    "Quantum Hamiltonian Descent: the objective f on its box mapped to the unit box [0, 1)^D with values\n"
    "V(u) = scale (f(x) - f*) / L (x = lo + u (hi - lo), f* its minimum over the box, L the box's longest\n"
    "side: QHD's normalisation), the uniform state evolved in real time under H(t) = a(t) T + b(t) V\n"
    "(hbar = m = 1, split steps with the schedules at each step's midpoint), and what the final state says.\n"
    "\n"
    "  --objective SPEC   a built-in objective, NAME[:KEY=V,...] (qdml ground --help-all lists them)\n"
    "  --dim D            dimensions, 1 to 3 (default 2)\n"
    "  --n N[,N...]       points per axis (default 256 in 1D and 2D, 64 in 3D)\n"
    "  --box SPEC         LO:HI (or one per axis) of f's own coordinates; default its usual domain. It must\n"
    "                     hold a global minimiser\n"
    "  --scale S          the factor of V (default 1; QHD uses 0.01 for rosenbrock, 1/78 for\n"
    "                     styblinski_tang, 0.05 for levy13)\n"
    "  --time T           total time (default 10)\n"
    "  --dt DT            step (default 1e-3)\n"
    "  --schedule NAME    qhd (default: a = 2 / (1e-3 + t^3), b = 2 t^3), constant (a = b = 1), linear\n"
    "                     (a = 1 - t/T, b = t/T) or geometric (a from 1 to 1e-3 over T, b = 1)\n"
    "  --radius R         the success probability's radius in unit-box units (default 0.1)\n"
    "  --out FILE.npy     the final state (complex128)\n"
    "  --png FILE.png     the final density over f's box, the minimisers marked\n"
    "  --json             a JSON object on stdout instead of a summary\n"
    "  --threads N, --backend cpu|cuda|auto, --precision float64|float32\n"
    "\n"
    "Reports: success_probability (the density's share within R of the nearest global minimiser),\n"
    "expected_V (<V>, unit-box units) and expected_f (f* + <V> L / scale), the density's maximum and\n"
    "where (unit and f's coordinates) and f there, the steps and the wall time.\n"
    "\n"
    "Example:\n"
    "  qdml qhd --objective levy13 --scale 0.05 --n 128 --time 5 --dt 2e-3\n"
    "\n"
    "Exit status: 0 success, 1 the run failed, 2 bad usage or bad input.\n";

static const char *const cmd = "qhd";

enum { O_OBJ, O_DIM, O_N, O_BOX, O_SCALE, O_TIME, O_DT, O_SCHED, O_RADIUS, O_OUT, O_PNG, O_JSON, O_THREADS,
       O_BACKEND, O_PRECISION, O_COUNT };

typedef struct qhd_args {
    const char *spec, *schedule, *out, *png;
    int dim, json, threads;
    int64_t n[QDML_MAX_DIM];
    double lo[QDML_MAX_DIM], hi[QDML_MAX_DIM];
    int have_box;
    double scale, T, dt, radius;
    qdml_backend backend;
    qdml_precision precision;
} qhd_args;

static int qhd_parse(int argc, char **argv, qhd_args *a, int *help) {
    cli_opt o[O_COUNT] = {{"objective", 1, NULL}, {"dim", 1, NULL},      {"n", 1, NULL},      {"box", 1, NULL},
                          {"scale", 1, NULL},     {"time", 1, NULL},     {"dt", 1, NULL},     {"schedule", 1, NULL},
                          {"radius", 1, NULL},    {"out", 1, NULL},      {"png", 1, NULL},    {"json", 0, NULL},
                          {"threads", 1, NULL},   {"backend", 1, NULL},  {"precision", 1, NULL}};
    if (cli_parse(cmd, argc, argv, o, O_COUNT, help) != CLI_OK) return CLI_USAGE;
    if (*help) return CLI_OK;
    memset(a, 0, sizeof *a);
    a->spec = o[O_OBJ].value;
    if (!a->spec) {
        cli_error(cmd, "missing required option --objective SPEC (see 'qdml qhd --help')");
        return CLI_USAGE;
    }
    a->dim = 2;
    if (o[O_DIM].value) {
        int64_t d;
        if (cli_positive_int64(cmd, "--dim", o[O_DIM].value, &d)) return CLI_USAGE;
        if (d > QDML_MAX_DIM) {
            cli_error(cmd, "--dim %s: must be 1, 2 or 3", o[O_DIM].value);
            return CLI_USAGE;
        }
        a->dim = (int)d;
    }
    if (o[O_N].value) {
        if (cli_parse_points(cmd, o[O_N].value, a->dim, a->n)) return CLI_USAGE;
    } else {
        for (int d = 0; d < a->dim; ++d) a->n[d] = a->dim == 3 ? 64 : 256;
    }
    a->have_box = o[O_BOX].value != NULL;
    if (a->have_box && cli_parse_box(cmd, o[O_BOX].value, a->dim, a->lo, a->hi)) return CLI_USAGE;
    a->scale = 1.0, a->T = 10.0, a->dt = 1e-3, a->radius = 0.1;
    if (o[O_SCALE].value && cli_positive_double(cmd, "--scale", o[O_SCALE].value, &a->scale)) return CLI_USAGE;
    if (o[O_TIME].value && cli_positive_double(cmd, "--time", o[O_TIME].value, &a->T)) return CLI_USAGE;
    if (o[O_DT].value && cli_positive_double(cmd, "--dt", o[O_DT].value, &a->dt)) return CLI_USAGE;
    if (o[O_RADIUS].value && cli_positive_double(cmd, "--radius", o[O_RADIUS].value, &a->radius)) return CLI_USAGE;
    if (!(a->T / a->dt < 1e12)) {
        cli_error(cmd, "--time/--dt: T/DT = %.6g steps is too many", a->T / a->dt);
        return CLI_USAGE;
    }
    if (llround(a->T / a->dt) < 1) {
        cli_error(cmd, "--time %g is less than half of --dt %g: no step to take", a->T, a->dt);
        return CLI_USAGE;
    }
    a->schedule = o[O_SCHED].value ? o[O_SCHED].value : "qhd";
    qdml_schedule ka, vb;
    if (cli_parse_schedule(cmd, a->schedule, a->T, &ka, &vb)) return CLI_USAGE;
    a->out = o[O_OUT].value;
    a->png = o[O_PNG].value;
    a->json = o[O_JSON].value != NULL;
    if (cli_parse_threads(cmd, o[O_THREADS].value, &a->threads) || cli_parse_backend(cmd, o[O_BACKEND].value, &a->backend) ||
        cli_parse_precision(cmd, o[O_PRECISION].value, &a->precision))
        return CLI_USAGE;
    const cli_file outs[2] = {{"--out", a->out, NULL}, {"--png", a->png, NULL}};
    return cli_check_outputs(cmd, outs, 2, NULL, 0);
}

/* The final density over f's own box, the minimisers marked. */
static int qhd_png(const qhd_args *a, cli_setup *s, const cli_opt_fn *f) {
    if (a->dim != 2) {
        cli_error(cmd, "--png draws 2D runs (this one is %dD)", a->dim);
        return CLI_USAGE;
    }
    double *rho = malloc(sizeof(double) * (size_t)s->points);
    if (!rho) return CLI_RUN_FAILED;
    int rc = CLI_OK;
    if (qdml_problem_get_density(s->problem, 0, rho) != QDML_OK) {
        cli_error(cmd, "%s", qdml_context_last_error(s->ctx));
        rc = CLI_RUN_FAILED;
    }
    double marks[2 * CLI_MAX_MINIMIZERS];
    for (int64_t k = 0; k < f->nmin; ++k) cli_opt_fn_to_box(f, f->umin + 2 * k, marks + 2 * k);
    char title[160];
    snprintf(title, sizeof title, "%s: |psi|^2 at t = %g (QHD, schedule %s)", f->label, a->T, a->schedule);
    const qdml_figure_map m = {title, "x0", "x1", "|psi|^2", s->n[0], s->n[1], rho, f->lo[0], f->hi[0],
                               f->lo[1], f->hi[1], (int)f->nmin, marks};
    if (rc == CLI_OK && qdml_figure_map_png(a->png, &m) != QDML_OK) {
        cli_error(cmd, "--png: %s", qdml_last_error_message());
        rc = CLI_RUN_FAILED;
    }
    free(rho);
    return rc;
}

/* ,\n  "name": value (a number, null where not finite; or per-axis values). */
static void num_field(const char *name, double v) {
    printf(",\n  \"%s\": ", name);
    cli_json_number(stdout, v);
}

static void axes_field(const char *name, const double *v, int dim) {
    printf(",\n  \"%s\": ", name);
    cli_json_axes(stdout, v, dim);
}

static void qhd_report(const qhd_args *a, const cli_opt_fn *f, const cli_opt_outcome *o, double seconds) {
    if (a->json) {
        printf("{\n  \"objective\": ");
        cli_json_string(stdout, a->spec);
        printf(",\n  \"dim\": %d,\n  \"n\": [", a->dim);
        for (int d = 0; d < a->dim; ++d) printf("%s%lld", d ? ", " : "", (long long)a->n[d]);
        printf("]");
        axes_field("box_lo", f->lo, a->dim);
        axes_field("box_hi", f->hi, a->dim);
        num_field("scale", a->scale);
        printf(",\n  \"schedule\": ");
        cli_json_string(stdout, a->schedule);
        num_field("time", a->T);
        num_field("dt", a->dt);
        printf(",\n  \"steps\": %lld,\n  \"diverged\": %s", (long long)o->steps, o->diverged ? "true" : "false");
        num_field("f_min", f->fstar);
        printf(",\n  \"minimizers\": [");
        for (int64_t k = 0; k < f->nmin; ++k) {
            double x[QDML_MAX_DIM];
            cli_opt_fn_to_box(f, f->umin + k * a->dim, x);
            printf("%s", k ? ", " : "");
            cli_json_axes(stdout, x, a->dim);
        }
        printf("]");
        num_field("radius", a->radius);
        num_field("success_probability", o->success);
        num_field("expected_V", o->expected);
        num_field("expected_f", o->expected_f);
        num_field("density_max", o->density_max);
        axes_field("argmax_unit", o->argmax_u, a->dim);
        axes_field("argmax", o->argmax_x, a->dim);
        num_field("f_argmax", o->f_argmax);
        num_field("wall_seconds", seconds);
        printf("\n}\n");
        return;
    }
    printf("QHD on %s (%dD, %lld points per axis, box [%g, %g]%s), schedule %s: %lld steps of %g to t = %g in %.2f s\n",
           f->label, a->dim, (long long)a->n[0], f->lo[0], f->hi[0], a->dim > 1 ? " per axis" : "", a->schedule,
           (long long)o->steps, a->dt, a->T, seconds);
    printf("  success probability  %.6f  (within %g of the nearest of %lld global minimiser%s, unit box)\n",
           o->success, a->radius, (long long)f->nmin, f->nmin == 1 ? "" : "s");
    printf("  <f>                  %.10g  (minimum %.10g; <V> = %.6g on the unit box)\n", o->expected_f, f->fstar,
           o->expected);
    printf("  density maximum      %.6g at ", o->density_max);
    cli_print_axes(stdout, o->argmax_x, a->dim);
    printf(", f = %.10g\n", o->f_argmax);
    if (o->diverged) printf("  DIVERGED: the state is the last good one\n");
}

int cli_cmd_qhd(int argc, char **argv) {
    qhd_args a;
    int help = 0;
    if (qhd_parse(argc, argv, &a, &help) != CLI_OK) return CLI_USAGE;
    if (help) {
        fputs(qhd_help, stdout);
        return CLI_OK;
    }
    cli_opt_fn f;
    if (cli_opt_fn_objective(cmd, a.spec, a.dim, a.have_box ? a.lo : NULL, a.have_box ? a.hi : NULL, a.scale, &f))
        return CLI_USAGE;
    cli_setup s;
    memset(&s, 0, sizeof s);
    s.cmd = cmd;
    int rc = cli_opt_make(&s, &f, 1, a.n, a.backend, a.threads, a.precision);
    cli_opt_outcome o;
    memset(&o, 0, sizeof o);
    const double t0 = cli_opt_now();
    if (rc == CLI_OK) rc = cli_opt_qhd(&s, &f, a.schedule, a.T, a.dt, a.radius, &o);
    const double seconds = cli_opt_now() - t0;
    int written = 0;
    if (rc == CLI_OK && a.out) {
        rc = cli_setup_write_states(&s, a.out, 0);
        written = rc == CLI_OK;
    }
    if (rc == CLI_OK && a.png) rc = qhd_png(&a, &s, &f);
    if (rc == CLI_OK) {
        qhd_report(&a, &f, &o, seconds);
        if (written && !a.json) printf("state written to %s\n", a.out);
        if (o.diverged) rc = CLI_RUN_FAILED;
    }
    cli_setup_free(&s);
    return rc;
}
