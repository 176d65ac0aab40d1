/* Output of the qdml program shared by the subcommands and the demos (output.c): exit statuses for
 * library statuses, progress on a terminal, JSON pieces, statistics as text, the history CSV and
 * the report of a diverged run. */
#ifndef QDML_CLI_OUTPUT_H
#define QDML_CLI_OUTPUT_H

#include "cli.h"

#include <qdml/qdml.h>
#include <stdint.h>
#include <stdio.h>

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

/* Text output: "(v0, v1, ...)" with %.10g, and the statistics of one member, one per line. */
void cli_print_axes(FILE *f, const double *v, int dim);
void cli_print_stats(FILE *f, const qdml_stats *s, int dim);

/* Writes the recorded history of every member to `path` as CSV. Returns CLI_OK or a failure
 * status with the message printed. */
int cli_write_history(const char *cmd, const char *path, qdml_problem *problem);

/* After a run in which members diverged: the library's message `why`, then each diverged member of the
 * `batch` results and what became of it (`written`: the outputs were written, the others' results
 * with it). */
void cli_report_divergence(const char *cmd, const char *why, int64_t batch, const qdml_run_result *results,
                           int written);

#endif
