/* Helpers shared by the subcommands of the qdml program (main.c, demo.c). */
#ifndef QDML_CLI_H
#define QDML_CLI_H

#include <qdml/qdml.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses of the program. */
enum { CLI_OK = 0, CLI_RUN_FAILED = 1, CLI_USAGE = 2 };

/* Prints "qdml CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

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

/* Option values (host/cli/args.c). Each returns CLI_OK or CLI_USAGE with the message printed.
 * --box SPEC: LO:HI for every axis or one LO:HI per axis, separated by ',' (lo < hi, finite). */
int cli_parse_box(const char *cmd, const char *spec, int dim, double *lo, double *hi);
/* --backend cpu|cuda|auto (NULL: auto), --precision float64|float32 (NULL: float64), --threads N
 * (NULL: 0, all cores). */
int cli_parse_backend(const char *cmd, const char *text, qdml_backend *out);
int cli_parse_precision(const char *cmd, const char *text, qdml_precision *out);
int cli_parse_threads(const char *cmd, const char *text, int *out);
/* --n N[,N...]: points per axis, one value for every axis or one per axis (text NULL: an error). */
int cli_parse_points(const char *cmd, const char *text, int dim, int64_t *n);

/* Maps a library status to an exit status: caller mistakes are bad input, the rest run failures. */
int cli_exit_for_status(qdml_status st);

/* Progress on stderr, only when stderr is a terminal; pass as the qdml monitor callback. */
typedef struct cli_progress {
    const char *label;
    int enabled;
    int printed;
    double last_print;
} cli_progress;
void cli_progress_init(cli_progress *p, const char *label);
int cli_progress_monitor(const qdml_stats *stats, int64_t batch, void *user);
void cli_progress_finish(cli_progress *p);

/* JSON output: a number (null when not finite) and per-axis arrays. */
void cli_json_number(FILE *f, double v);
void cli_json_axes(FILE *f, const double *v, int dim);
/* The statistics fields shared by every JSON report (no surrounding braces; ends without comma). */
void cli_json_stats_fields(FILE *f, const qdml_stats *s, int dim, const char *indent);
/* Writes a JSON string literal with escapes. */
void cli_json_string(FILE *f, const char *s);

/* Writes the recorded history of every member to `path` as CSV. Returns CLI_OK or a failure
 * status with the message printed. */
int cli_write_history(const char *cmd, const char *path, qdml_problem *problem);

/* --png FILE: refuses (CLI_USAGE, message printed) a grid that is not 2D. */
int cli_png_check_dim(const char *cmd, const char *path, int dim);
/* Picture path of member `member` of `batch`: `path` itself when batch <= 1, else path with "_<member>"
 * inserted before a trailing ".png" (or with "_<member>.png" appended when there is none). malloc'd;
 * NULL when out of memory. */
char *cli_png_member_path(const char *path, int64_t member, int64_t batch);
/* Writes |psi|^2 of one member of a 2D problem to `path` as a PNG (io_png.h: viridis, linear scale
 * from the smallest to the largest value, axis 0 downwards, small grids upscaled). Returns CLI_OK or
 * CLI_RUN_FAILED with the message printed. */
int cli_write_density_png(const char *cmd, const char *path, qdml_problem *problem, int64_t member);
/* The same for every member, at cli_png_member_path(path, b, batch). */
int cli_write_density_pngs(const char *cmd, const char *path, qdml_problem *problem);

/* `qdml demo`. */
int cli_demo(int argc, char **argv);

#endif
