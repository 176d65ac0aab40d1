/* Command-line argument parsing of the qdml program: the option parser and the parsers of option
 * values, with the messages they print. Kept apart from the subcommands so that a fuzz target
 * (tests/fuzz/fuzz_cli_args.c) can drive them. */
#include "args.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "qdml%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_parse(const char *cmd, int argc, char **argv, cli_opt *opts, size_t nopts, int *help) {
    *help = 0;
    for (size_t k = 0; k < nopts; ++k)
        opts[k].value = NULL;
    for (int i = 1; i < argc; ++i) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            *help = 1;
            return CLI_OK;
        }
        if (strcmp(arg, "--help-all") == 0) {
            *help = 2;
            return CLI_OK;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            cli_error(cmd, "unexpected argument '%s' (options start with --; see 'qdml %s --help')", arg, cmd);
            return CLI_USAGE;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        cli_opt *opt = NULL;
        for (size_t k = 0; k < nopts; ++k)
            if (strlen(opts[k].name) == name_len && strncmp(opts[k].name, name, name_len) == 0) opt = &opts[k];
        if (!opt) {
            cli_error(cmd, "unknown option '--%.*s' (see 'qdml %s --help')", (int)name_len, name, cmd);
            return CLI_USAGE;
        }
        if (!opt->takes_value) {
            if (eq) {
                cli_error(cmd, "option --%s takes no value (got '%s')", opt->name, arg);
                return CLI_USAGE;
            }
            opt->value = "1";
        } else if (eq) {
            opt->value = eq + 1;
        } else {
            if (i + 1 >= argc) {
                cli_error(cmd, "option --%s needs a value", opt->name);
                return CLI_USAGE;
            }
            opt->value = argv[++i];
        }
    }
    return CLI_OK;
}

const char *cli_value(const cli_opt *opts, size_t nopts, const char *name) {
    for (size_t k = 0; k < nopts; ++k)
        if (strcmp(opts[k].name, name) == 0) return opts[k].value;
    return NULL;
}

/* strtod skips leading blanks; a value like " 1" is more likely a quoting mistake than intent. */
static int starts_blank(const char *s) { return *s == ' ' || *s == '\t' || *s == '\n'; }

/* Numbers are written in decimal: strtod also reads hexadecimal ("0x10" is 16, "0x1p-3" 0.125) and
 * names like "infinity", which on a command line are slips, not intent. 1 when the n characters of t
 * are all ones a decimal number can hold. */
static int decimal_chars(const char *t, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (!t[i] || !strchr("0123456789+-.eE", t[i])) return 0;
    return 1;
}

int cli_positive_double(const char *cmd, const char *flag, const char *text, double *out) {
    if (!text || !*text) {
        cli_error(cmd, "%s: missing value", flag);
        return CLI_USAGE;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || starts_blank(text)) {
        cli_error(cmd, "%s: cannot parse '%s' as a number", flag, text);
        return CLI_USAGE;
    }
    if (!decimal_chars(text, strlen(text)) && isfinite(v)) {
        cli_error(cmd, "%s: cannot parse '%s' as a decimal number (hexadecimal is refused)", flag, text);
        return CLI_USAGE;
    }
    if (!isfinite(v) || !(v > 0.0)) {
        cli_error(cmd, "%s: must be positive and finite, got '%s'", flag, text);
        return CLI_USAGE;
    }
    *out = v;
    return CLI_OK;
}

int cli_positive_int64(const char *cmd, const char *flag, const char *text, int64_t *out) {
    if (!text || !*text) {
        cli_error(cmd, "%s: missing value", flag);
        return CLI_USAGE;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || starts_blank(text)) {
        cli_error(cmd, "%s: cannot parse '%s' as an integer", flag, text);
        return CLI_USAGE;
    }
    if (errno == ERANGE) {
        cli_error(cmd, "%s: '%s' is out of range", flag, text);
        return CLI_USAGE;
    }
    if (v <= 0) {
        cli_error(cmd, "%s: must be a positive integer, got '%s'", flag, text);
        return CLI_USAGE;
    }
    *out = (int64_t)v;
    return CLI_OK;
}

static int cli_parse_range(const char *cmd, const char *part, int axis, double *lo, double *hi) {
    const char *colon = strchr(part, ':');
    char axis_txt[32] = "";
    if (axis >= 0) snprintf(axis_txt, sizeof axis_txt, " axis %d:", axis);
    if (!colon || colon == part || colon[1] == '\0' || strchr(colon + 1, ':')) {
        cli_error(cmd, "--box:%s cannot parse '%s' (expected LO:HI, e.g. -10:10)", axis_txt, part);
        return CLI_USAGE;
    }
    char *end = NULL;
    double a = strtod(part, &end);
    if (end != colon || starts_blank(part)) {
        cli_error(cmd, "--box:%s cannot parse '%s' (expected LO:HI, e.g. -10:10)", axis_txt, part);
        return CLI_USAGE;
    }
    double b = strtod(colon + 1, &end);
    if (*end != '\0' || starts_blank(colon + 1)) {
        cli_error(cmd, "--box:%s cannot parse '%s' (expected LO:HI, e.g. -10:10)", axis_txt, part);
        return CLI_USAGE;
    }
    if (!isfinite(a) || !isfinite(b)) {
        cli_error(cmd, "--box:%s '%s' has a non-finite bound", axis_txt, part);
        return CLI_USAGE;
    }
    if (!decimal_chars(part, (size_t)(colon - part)) || !decimal_chars(colon + 1, strlen(colon + 1))) {
        cli_error(cmd, "--box:%s cannot parse '%s' as decimal numbers LO:HI (hexadecimal is refused)", axis_txt, part);
        return CLI_USAGE;
    }
    if (!(a < b)) {
        cli_error(cmd, "--box:%s '%s' needs lo < hi (got lo %.17g >= hi %.17g)", axis_txt, part, a, b);
        return CLI_USAGE;
    }
    *lo = a;
    *hi = b;
    return CLI_OK;
}

/* SPEC is LO:HI for every axis, or LO:HI,LO:HI,... one per axis. */
int cli_parse_box(const char *cmd, const char *spec, int dim, double *lo, double *hi) {
    size_t len = strlen(spec);
    char *buf = malloc(len + 1);
    if (!buf) {
        cli_error(cmd, "--box: out of memory");
        return CLI_RUN_FAILED;
    }
    memcpy(buf, spec, len + 1);
    int parts = 1;
    for (size_t i = 0; i < len; ++i)
        parts += buf[i] == ',';
    if (parts != 1 && parts != dim) {
        cli_error(cmd,
                  "--box: '%s' gives %d axis ranges for a %d-dimensional potential (give one LO:HI for all axes or "
                  "one per axis)",
                  spec, parts, dim);
        free(buf);
        return CLI_USAGE;
    }
    char *p = buf;
    int rc = CLI_OK;
    for (int k = 0; k < parts && rc == CLI_OK; ++k) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        rc = cli_parse_range(cmd, p, parts > 1 ? k : -1, &lo[k], &hi[k]);
        p = comma ? comma + 1 : p + strlen(p);
    }
    if (rc == CLI_OK && parts == 1)
        for (int d = 1; d < dim; ++d)
            lo[d] = lo[0], hi[d] = hi[0];
    free(buf);
    return rc;
}

int cli_parse_backend(const char *cmd, const char *text, qdml_backend *out) {
    if (!text || strcmp(text, "auto") == 0)
        *out = QDML_BACKEND_AUTO;
    else if (strcmp(text, "cpu") == 0)
        *out = QDML_BACKEND_CPU;
    else if (strcmp(text, "cuda") == 0)
        *out = QDML_BACKEND_CUDA;
    else {
        cli_error(cmd, "--backend: unknown backend '%s' (expected cpu, cuda or auto)", text);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_parse_precision(const char *cmd, const char *text, qdml_precision *out) {
    if (!text || strcmp(text, "float64") == 0)
        *out = QDML_FLOAT64;
    else if (strcmp(text, "float32") == 0)
        *out = QDML_FLOAT32;
    else {
        cli_error(cmd, "--precision: unknown precision '%s' (expected float64 or float32)", text);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_parse_threads(const char *cmd, const char *text, int *out) {
    *out = 0;
    if (!text) return CLI_OK;
    int64_t v;
    if (cli_positive_int64(cmd, "--threads", text, &v) != CLI_OK) return CLI_USAGE;
    if (v > INT_MAX) {
        cli_error(cmd, "--threads: %s is too large", text);
        return CLI_USAGE;
    }
    *out = (int)v;
    return CLI_OK;
}

/* --n N[,N...]: points per axis, one value for every axis or one per axis. */
int cli_parse_points(const char *cmd, const char *text, int dim, int64_t *n) {
    if (!text) {
        cli_error(cmd, "--objective needs --n N[,N...] (grid points per axis)");
        return CLI_USAGE;
    }
    char buf[256];
    if (strlen(text) >= sizeof buf) {
        cli_error(cmd, "--n: '%.40s...' is too long", text);
        return CLI_USAGE;
    }
    memcpy(buf, text, strlen(text) + 1);
    int parts = 1;
    for (const char *c = buf; *c; ++c)
        parts += *c == ',';
    if (parts != 1 && parts != dim) {
        cli_error(cmd, "--n: '%s' gives %d values for a %d-dimensional grid (give one for all axes or one per axis)",
                  text, parts, dim);
        return CLI_USAGE;
    }
    char *p = buf;
    for (int k = 0; k < parts; ++k) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        if (cli_positive_int64(cmd, "--n", p, &n[k]) != CLI_OK) return CLI_USAGE;
        p = comma ? comma + 1 : p + strlen(p);
    }
    for (int d = parts; d < dim; ++d)
        n[d] = n[0];
    return CLI_OK;
}

/* ---- options several subcommands take --------------------------------------------------------- */

/* The options ground, evolve and minimize share: those all three take (group 0), then the groups a
 * subcommand adds with `with`. */
static const struct shared_opt {
    const char *name;
    int takes_value;
    unsigned group;
} shared_opts[] = {
    {"potential", 1, 0},
    {"box", 1, 0},
    {"objective", 1, 0},
    {"dim", 1, 0},
    {"n", 1, 0},
    {"mass", 1, 0},
    {"out", 1, 0},
    {"history", 1, 0},
    {"png", 1, 0},
    {"history-png", 1, 0},
    {"radius", 1, 0},
    {"json", 0, 0},
    {"threads", 1, 0},
    {"backend", 1, 0},
    {"precision", 1, 0},
    {"wisdom", 1, 0},
    {"no-wisdom", 0, 0},
    {"batch", 0, CLI_WITH_BATCH},
    {"hbar", 1, CLI_WITH_HBAR},
    {"tol", 1, CLI_WITH_STOPPING},
    {"max-steps", 1, CLI_WITH_STOPPING},
    {"checkpoint", 1, CLI_WITH_CHECKPOINT},
    {"checkpoint-every", 1, CLI_WITH_CHECKPOINT},
    {"resume", 1, CLI_WITH_CHECKPOINT},
};
enum { NSHARED = sizeof shared_opts / sizeof shared_opts[0] };

int cli_shared_parse(const char *cmd, int argc, char **argv, unsigned with, const cli_opt *own, size_t nown,
                     cli_shared *sh, int *help) {
    memset(sh, 0, sizeof *sh);
    sh->cmd = cmd;
    sh->hbar = 1.0;
    sh->mass = 1.0;
    sh->backend = QDML_BACKEND_AUTO;
    sh->precision = QDML_FLOAT64;
    *help = 0;
    for (size_t k = 0; k < NSHARED; ++k)
        if (shared_opts[k].group == 0 || (shared_opts[k].group & with))
            sh->opts[sh->nopts++] = (cli_opt){shared_opts[k].name, shared_opts[k].takes_value, NULL};
    if (sh->nopts + nown > CLI_MAX_OPTS) {
        cli_error(cmd, "too many options");
        return CLI_RUN_FAILED;
    }
    for (size_t k = 0; k < nown; ++k)
        sh->opts[sh->nopts++] = (cli_opt){own[k].name, own[k].takes_value, NULL};
    if (cli_parse(cmd, argc, argv, sh->opts, sh->nopts, help) != CLI_OK) return CLI_USAGE;
    sh->potential = cli_shared_value(sh, "potential");
    sh->box = cli_shared_value(sh, "box");
    sh->objective = cli_shared_value(sh, "objective");
    sh->dim = cli_shared_value(sh, "dim");
    sh->n = cli_shared_value(sh, "n");
    sh->out = cli_shared_value(sh, "out");
    sh->history = cli_shared_value(sh, "history");
    sh->png = cli_shared_value(sh, "png");
    sh->history_png = cli_shared_value(sh, "history-png");
    sh->checkpoint = cli_shared_value(sh, "checkpoint");
    sh->resume = cli_shared_value(sh, "resume");
    sh->batch = cli_shared_value(sh, "batch") != NULL;
    sh->json = cli_shared_value(sh, "json") != NULL;
    return CLI_OK;
}

const char *cli_shared_value(const cli_shared *sh, const char *name) { return cli_value(sh->opts, sh->nopts, name); }

/* --objective excludes --potential; --dim and --n only go with --objective. */
int cli_shared_check_inputs(const cli_shared *sh) {
    const char *cmd = sh->cmd;
    const int objective = sh->objective != NULL;
    if (objective && sh->potential) {
        cli_error(cmd, "--objective and --potential are mutually exclusive: give one (see 'qdml %s --help')", cmd);
        return CLI_USAGE;
    }
    static const char *const with_objective[] = {"dim", "n"};
    for (size_t k = 0; k < sizeof with_objective / sizeof with_objective[0]; ++k)
        if (!objective && cli_shared_value(sh, with_objective[k])) {
            cli_error(cmd, "--%s goes with --objective (a --potential file gives the grid's shape itself)",
                      with_objective[k]);
            return CLI_USAGE;
        }
    return CLI_OK;
}

int cli_shared_check_required(const cli_shared *sh) {
    if (!sh->potential && !sh->objective && !sh->resume) {
        cli_error(sh->cmd, "missing required option --potential V.npy (or --objective SPEC; see 'qdml %s --help')",
                  sh->cmd);
        return CLI_USAGE;
    }
    if (!sh->box && !sh->objective && !sh->resume) {
        cli_error(sh->cmd, "missing required option --box LO:HI (see 'qdml %s --help')", sh->cmd);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_shared_check_resume(const cli_shared *sh) {
    /* The problem options may be given with --resume (the same command line with --resume added):
     * cli_setup_match_resumed checks them against the checkpoint once it is read. --box alone, without
     * --potential, is checked there too. */
    (void)sh;
    return CLI_OK;
}

int cli_shared_check_checkpoint(cli_shared *sh) {
    const char *ce = cli_shared_value(sh, "checkpoint-every");
    if (ce && !sh->checkpoint) {
        cli_error(sh->cmd, "--checkpoint-every needs --checkpoint FILE");
        return CLI_USAGE;
    }
    if (ce && cli_positive_int64(sh->cmd, "--checkpoint-every", ce, &sh->checkpoint_every)) return CLI_USAGE;
    return CLI_OK;
}

int cli_shared_numbers(cli_shared *sh, double *tolerance, int64_t *max_steps) {
    const char *cmd = sh->cmd, *v;
    if ((v = cli_shared_value(sh, "hbar")) && cli_positive_double(cmd, "--hbar", v, &sh->hbar)) return CLI_USAGE;
    if ((v = cli_shared_value(sh, "mass")) && cli_positive_double(cmd, "--mass", v, &sh->mass)) return CLI_USAGE;
    if (tolerance && (v = cli_shared_value(sh, "tol")) && cli_positive_double(cmd, "--tol", v, tolerance))
        return CLI_USAGE;
    if (max_steps && (v = cli_shared_value(sh, "max-steps")) && cli_positive_int64(cmd, "--max-steps", v, max_steps))
        return CLI_USAGE;
    return CLI_OK;
}

int cli_shared_context(cli_shared *sh) {
    const char *rad = cli_shared_value(sh, "radius");
    sh->radius = -1.0;
    if (rad) {
        if (cli_positive_double(sh->cmd, "--radius", rad, &sh->radius)) return CLI_USAGE;
        if (!sh->objective) {
            cli_error(sh->cmd, "--radius %s needs --objective: the success probability is measured around the "
                               "objective's known global minimiser",
                      rad);
            return CLI_USAGE;
        }
    }
    sh->wisdom = cli_shared_value(sh, "wisdom");
    sh->no_wisdom = cli_shared_value(sh, "no-wisdom") != NULL;
    if (sh->wisdom && sh->no_wisdom) {
        cli_error(sh->cmd, "--wisdom and --no-wisdom exclude each other");
        return CLI_USAGE;
    }
    if (sh->wisdom && !sh->wisdom[0]) {
        cli_error(sh->cmd, "--wisdom: the file name is empty (--no-wisdom keeps no wisdom)");
        return CLI_USAGE;
    }
    if (cli_parse_threads(sh->cmd, cli_shared_value(sh, "threads"), &sh->threads)) return CLI_USAGE;
    if (cli_parse_backend(sh->cmd, cli_shared_value(sh, "backend"), &sh->backend)) return CLI_USAGE;
    if (cli_parse_precision(sh->cmd, cli_shared_value(sh, "precision"), &sh->precision)) return CLI_USAGE;
    return CLI_OK;
}

const char cli_figures_help[] =
    "\nFigures (--png, --history-png; drawn with cairo):\n"
    "  2D grids: a map of |psi|^2 with x across and y up in the box's units, ticks, a colour bar with its\n"
    "  scale and the energy in the title; the known minimiser of a built-in objective marked (+).\n"
    "  1D grids: |psi|^2 and V against x, one panel each, the minimiser marked (dashed line).\n"
    "  --history-png: energy and residual (log scale) at every monitoring point. A build without cairo\n"
    "  draws the bare picture of a 2D density (viridis, axis 0 downwards) and refuses --history-png.\n";

const char cli_wisdom_help[] =
    "\nFFT plans:\n"
    "  --wisdom FILE      keep FFTW's wisdom (plans timed once per machine and shape) and the CPU\n"
    "                     backend's path choices (FILE.paths) in FILE; default ~/.cache/qdml/fftw-wisdom\n"
    "                     (under $XDG_CACHE_HOME where set; $QDML_WISDOM=FILE or none). Never fatal when\n"
    "                     it cannot be read or written; safe when runs share it (written atomically)\n"
    "  --no-wisdom        time the plans in this run only\n"
    "                     A run with --checkpoint FILE keeps its plans in FILE.wisdom (started from the\n"
    "                     default file's, and shared back with it), which --resume FILE plans from; with\n"
    "                     --no-wisdom, or resuming a checkpoint without FILE.wisdom, it plans with\n"
    "                     FFTW_ESTIMATE (the same plans in every process, slower steps)\n";

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

const char cli_objective_help[] = CLI_OBJECTIVE_HELP;

/* The --objective block of the help of the subcommands that also take --batch. */
const char cli_objective_batch_help[] =
    CLI_OBJECTIVE_HELP "                     With --batch, several objectives separated by ';' (quote the argument),\n"
                       "                     one member each; without --box the box holds all their usual domains\n";

/* How the outputs are written and checked, printed after the help of ground, evolve and minimize. */
const char cli_outputs_help[] =
    "\n"
    "Output files (--out, --history, --png, --checkpoint) are checked before anything is computed: the\n"
    "directory must exist and be writable, and no output may be a directory, a block device, a socket,\n"
    "a file with several hard links, a read-only file, an input or another output (exit 2). A file is\n"
    "written beside itself and renamed over the old one (which keeps its mode and owner); a symbolic\n"
    "link is followed to its target; a character device or FIFO (/dev/null, a pipe) is written as it\n"
    "is. The results are printed even when writing a file fails at the end (exit 1, naming the file).\n"
    "--out FILE.h5 (or .hdf5) writes HDF5 instead of .npy: datasets psi (complex128), density,\n"
    "potential and the axes x, y, z; attributes with the grid, hbar, mass, the energies, residuals and\n"
    "the run (h5py: f = h5py.File(FILE); f['psi'][()], f.attrs['energy']).\n";
