/* Output the subcommands and the demos of the qdml program share: exit statuses for library
 * statuses, progress on a terminal, JSON pieces, statistics as text, the history CSV writer and the
 * report of a diverged run. */
#include "output.h"
#include "io_csv.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* ---- exit statuses and progress --------------------------------------------------------------- */

int cli_exit_for_status(qdml_status st) {
    if (st == QDML_OK) return CLI_OK;
    return st == QDML_ERR_INVALID_ARGUMENT ? CLI_USAGE : CLI_RUN_FAILED;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_init(cli_progress *p, const char *label) {
    p->label = label;
    p->enabled = isatty(STDERR_FILENO);
    p->printed = 0;
    p->last_print = 0.0;
}

int cli_progress_monitor(const qdml_stats *stats, int64_t batch, void *user) {
    cli_progress *p = user;
    if (!p || !p->enabled || batch < 1) return 0;
    double t = now_seconds();
    /* Redrawing more than a few times a second only costs time. */
    if (p->printed && t - p->last_print < 0.2) return 0;
    p->last_print = t;
    p->printed = 1;
    double rmax = 0.0;
    for (int64_t b = 0; b < batch; ++b)
        if (stats[b].residual > rmax || !isfinite(stats[b].residual)) rmax = stats[b].residual;
    fprintf(stderr, "\r\033[K%s: step %lld  t=%.6g  E=%.10g  norm=%.12g  residual%s=%.3e", p->label,
            (long long)stats[0].step, stats[0].time, stats[0].energy, stats[0].norm, batch > 1 ? " (max)" : "", rmax);
    fflush(stderr);
    return 0;
}

void cli_progress_finish(cli_progress *p) {
    if (p->enabled && p->printed) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->printed = 0;
}

/* ---- JSON ------------------------------------------------------------------------------------- */

void cli_json_number(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f);
}

void cli_json_axes(FILE *f, const double *v, int dim) {
    fputc('[', f);
    for (int d = 0; d < dim; ++d) {
        if (d) fputs(", ", f);
        cli_json_number(f, v[d]);
    }
    fputc(']', f);
}

void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void cli_json_stats_fields(FILE *f, const qdml_stats *s, int dim, const char *in) {
    fprintf(f, "%s\"energy\": ", in);
    cli_json_number(f, s->energy);
    fprintf(f, ",\n%s\"residual\": ", in);
    cli_json_number(f, s->residual);
    fprintf(f, ",\n%s\"kinetic\": ", in);
    cli_json_number(f, s->kinetic);
    fprintf(f, ",\n%s\"potential\": ", in);
    cli_json_number(f, s->potential);
    fprintf(f, ",\n%s\"norm\": ", in);
    cli_json_number(f, s->norm);
    fprintf(f, ",\n%s\"time\": ", in);
    cli_json_number(f, s->time);
    fprintf(f, ",\n%s\"dt\": ", in);
    cli_json_number(f, s->dt);
    fprintf(f, ",\n%s\"mean\": ", in);
    cli_json_axes(f, s->mean, dim);
    fprintf(f, ",\n%s\"width\": ", in);
    cli_json_axes(f, s->width, dim);
    fprintf(f, ",\n%s\"density_max\": ", in);
    cli_json_number(f, s->density_max);
    fprintf(f, ",\n%s\"argmax\": ", in);
    cli_json_axes(f, s->argmax, dim);
}

/* ---- the history CSV -------------------------------------------------------------------------- */

int cli_write_history(const char *cmd, const char *path, qdml_problem *problem) {
    const int64_t batch = qdml_problem_batch(problem);
    const int dim = qdml_problem_grid(problem)->dim;
    if (batch < 1 || (uint64_t)batch > SIZE_MAX / sizeof(qdml_stats *)) {
        cli_error(cmd, "--history: invalid batch %lld", (long long)batch);
        return CLI_RUN_FAILED;
    }
    const qdml_stats **hist = calloc((size_t)batch, sizeof *hist);
    size_t *counts = calloc((size_t)batch, sizeof *counts);
    int rc = CLI_OK;
    if (!hist || !counts) {
        cli_error(cmd, "--history %s: out of memory", path);
        rc = CLI_RUN_FAILED;
        goto done;
    }
    for (int64_t b = 0; b < batch && rc == CLI_OK; ++b) {
        size_t total = 0;
        qdml_status st = qdml_problem_history(problem, b, NULL, 0, &total);
        if (st != QDML_OK) {
            cli_error(cmd, "--history: qdml_problem_history(member %lld) failed: %s", (long long)b,
                      qdml_status_string(st));
            rc = CLI_RUN_FAILED;
            break;
        }
        if (total == 0) continue;
        if (total > SIZE_MAX / sizeof(qdml_stats)) {
            cli_error(cmd, "--history: %zu entries are too many", total);
            rc = CLI_RUN_FAILED;
            break;
        }
        qdml_stats *h = malloc(total * sizeof *h);
        if (!h) {
            cli_error(cmd, "--history %s: out of memory for %zu entries", path, total);
            rc = CLI_RUN_FAILED;
            break;
        }
        hist[b] = h;
        size_t got = 0;
        st = qdml_problem_history(problem, b, h, total, &got);
        if (st != QDML_OK) {
            cli_error(cmd, "--history: qdml_problem_history(member %lld) failed: %s", (long long)b,
                      qdml_status_string(st));
            rc = CLI_RUN_FAILED;
            break;
        }
        counts[b] = got < total ? got : total;
    }
    if (rc == CLI_OK) {
        if (qdml_csv_write_history(path, dim, batch, hist, counts) != QDML_OK) {
            cli_error(cmd, "--history: %s", qdml_last_error_message());
            rc = CLI_RUN_FAILED;
        }
    }
done:
    if (hist)
        for (int64_t b = 0; b < batch; ++b)
            free((void *)hist[b]);
    free(hist);
    free(counts);
    return rc;
}

/* ---- text and the divergence report ----------------------------------------------------------- */

void cli_print_axes(FILE *f, const double *v, int dim) {
    fputc('(', f);
    for (int d = 0; d < dim; ++d)
        fprintf(f, "%s%.10g", d ? ", " : "", v[d]);
    fputc(')', f);
}

void cli_print_stats(FILE *f, const qdml_stats *s, int dim) {
    fprintf(f, "  energy       %.15g\n", s->energy);
    fprintf(f, "  kinetic      %.15g\n", s->kinetic);
    fprintf(f, "  potential    %.15g\n", s->potential);
    fprintf(f, "  residual     %.6e\n", s->residual);
    fprintf(f, "  norm         %.15g\n", s->norm);
    fprintf(f, "  <x>          ");
    cli_print_axes(f, s->mean, dim);
    fprintf(f, "\n  width        ");
    cli_print_axes(f, s->width, dim);
    fprintf(f, "\n  density max  %.10g at ", s->density_max);
    cli_print_axes(f, s->argmax, dim);
    fputc('\n', f);
}

void cli_report_divergence(const char *cmd, const char *why, int64_t batch, const qdml_run_result *results,
                           int written) {
    cli_error(cmd, "the run diverged: %s", why);
    for (int64_t b = 0; b < batch; ++b)
        if (results[b].diverged)
            cli_error(cmd, "member %lld diverged; its last good state (step %lld) is reported%s", (long long)b,
                      (long long)results[b].final.step, written ? ", marked \"diverged\"" : " and no output written");
}
