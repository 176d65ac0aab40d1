/* Command-line arguments of the qdml program (args.c): the option parser and the parsers of option
 * values, each printing its own message. Needs nothing of the library but its header, so that a
 * fuzz target (tests/fuzz/fuzz_cli_args.c) can drive it. */
#ifndef QDML_CLI_ARGS_H
#define QDML_CLI_ARGS_H

#include "cli.h"

#include <qdml/qdml.h>
#include <stddef.h>
#include <stdint.h>

/* One command-line option. `value` is filled by cli_parse (NULL when absent; "1" for a flag). */
typedef struct cli_opt {
    const char *name; /* without the leading "--" */
    int takes_value;
    const char *value;
} cli_opt;

/* Parses argv[1..argc-1] of a subcommand against `opts`. Accepts --name=value and --name value.
 * Sets *help for -h/--help. Returns CLI_OK or CLI_USAGE (message already printed). */
int cli_parse(const char *cmd, int argc, char **argv, cli_opt *opts, size_t nopts, int *help);
/* The value given for option `name`, or NULL. */
const char *cli_value(const cli_opt *opts, size_t nopts, const char *name);

/* Number parsing that insists the whole string is a number. Return CLI_OK or CLI_USAGE (printed). */
int cli_positive_double(const char *cmd, const char *flag, const char *text, double *out);
int cli_positive_int64(const char *cmd, const char *flag, const char *text, int64_t *out);

/* Option values. Each returns CLI_OK or CLI_USAGE with the message printed.
 * --box SPEC: LO:HI for every axis or one LO:HI per axis, separated by ',' (lo < hi, finite). */
int cli_parse_box(const char *cmd, const char *spec, int dim, double *lo, double *hi);
/* --backend cpu|cuda|auto (NULL: auto), --precision float64|float32 (NULL: float64), --threads N
 * (NULL: 0, all cores). */
int cli_parse_backend(const char *cmd, const char *text, qdml_backend *out);
int cli_parse_precision(const char *cmd, const char *text, qdml_precision *out);
int cli_parse_threads(const char *cmd, const char *text, int *out);
/* --n N[,N...]: points per axis, one value for every axis or one per axis (text NULL: an error). */
int cli_parse_points(const char *cmd, const char *text, int dim, int64_t *n);

/* ---- the options the subcommands share ----------------------------------------------------------
 * qdml ground, evolve and minimize all take --potential, --box, --objective, --dim, --n, --mass,
 * --out, --history, --png, --json, --threads, --backend and --precision; each adds the groups below
 * that it takes, and its own options. cli_shared_parse reads them all into one cli_shared; the
 * checks after it validate the shared ones, each called by a subcommand where its own checks fall
 * between them (the first mistake of a command line is the one reported). All return CLI_OK or
 * CLI_USAGE with the message printed. */
enum {
    CLI_WITH_BATCH = 1u << 0,      /* --batch */
    CLI_WITH_HBAR = 1u << 1,       /* --hbar */
    CLI_WITH_STOPPING = 1u << 2,   /* --tol, --max-steps */
    CLI_WITH_CHECKPOINT = 1u << 3, /* --checkpoint, --checkpoint-every, --resume */
};
enum { CLI_MAX_OPTS = 32 };

typedef struct cli_shared {
    const char *cmd;
    cli_opt opts[CLI_MAX_OPTS]; /* the shared options taken, then the subcommand's own, as parsed */
    size_t nopts;
    /* As given (NULL when absent). */
    const char *potential, *box, *objective, *dim, *n, *out, *history, *png, *history_png, *checkpoint, *resume;
    int batch, json; /* --batch, --json given */
    /* Values, defaults until the check that parses them. */
    double hbar, mass;        /* cli_shared_numbers: 1 and 1 */
    int64_t checkpoint_every; /* cli_shared_check_checkpoint: 0, the default interval */
    int threads;              /* cli_shared_context: 0 (all cores), auto, float64 */
    qdml_backend backend;
    qdml_precision precision;
    double radius;      /* cli_shared_context: --radius R, or -1 */
    const char *wisdom; /* cli_shared_context: --wisdom FILE, or NULL */
    int no_wisdom;      /* cli_shared_context: --no-wisdom given */
} cli_shared;

/* Parses argv against the shared options (those of `with` included) and the subcommand's `own`
 * (values not used); sets *help for -h/--help. Nothing is checked yet. */
int cli_shared_parse(const char *cmd, int argc, char **argv, unsigned with, const cli_opt *own, size_t nown,
                     cli_shared *sh, int *help);
/* The value of any option taken, shared or own, or NULL. */
const char *cli_shared_value(const cli_shared *sh, const char *name);
/* --objective excludes --potential; --dim and --n only go with --objective. */
int cli_shared_check_inputs(const cli_shared *sh);
/* --potential (or --objective) and --box (unless --objective) are required, but for --resume. */
int cli_shared_check_required(const cli_shared *sh);
/* With --resume the problem options are allowed (checked against the checkpoint by
 * cli_setup_match_resumed, setup.h): always CLI_OK, kept where the checks run in order. */
int cli_shared_check_resume(const cli_shared *sh);
/* --checkpoint-every needs --checkpoint; its value into checkpoint_every. */
int cli_shared_check_checkpoint(cli_shared *sh);
/* --hbar, --mass, and where tolerance and max_steps are not NULL --tol and --max-steps into them
 * (each keeps its value when the option is absent). */
int cli_shared_numbers(cli_shared *sh, double *tolerance, int64_t *max_steps);
/* --threads, --backend, --precision, --wisdom / --no-wisdom. */
int cli_shared_context(cli_shared *sh);

/* The help of the --objective options, printed after a subcommand's own: cli_objective_help for
 * qdml evolve, cli_objective_batch_help (which adds how --batch takes several) for ground and minimize. */
extern const char cli_objective_help[], cli_objective_batch_help[];
/* How --png and --history-png draw, printed in the help of ground, evolve and minimize. */
extern const char cli_figures_help[];
/* --wisdom and --no-wisdom, printed in the help of ground, evolve and minimize before the outputs'. */
extern const char cli_wisdom_help[];
/* How the output files are checked and written, printed last in the help of ground, evolve, minimize. */
extern const char cli_outputs_help[];

#endif
