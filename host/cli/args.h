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

/* --objective excludes --potential; --dim and --n only go with --objective. */
int cli_check_objective_options(const char *cmd, const cli_opt *opts, size_t nopts);
/* The help of the --objective options, printed after a subcommand's own: cli_objective_help for
 * qdml evolve, cli_objective_batch_help (which adds how --batch takes several) for ground and minimize. */
extern const char cli_objective_help[], cli_objective_batch_help[];

#endif
