/* --png and --history-png (figures.h). */
#include "figures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "density_png.h"
#include "io_figure.h"

int cli_figures_check(const char *cmd, const char *png, const char *history_png, int dim) {
    if (history_png && !qdml_figure_available()) {
        cli_error(cmd, "--history-png %s: this build of qdml draws no figures: install cairo's library and headers "
                       "(Debian: libcairo2-dev) and build again, or plot --history H.csv (scripts/plot-history)",
                  history_png);
        return CLI_USAGE;
    }
    if (!png) return CLI_OK;
    if (dim == 2 || (dim == 1 && qdml_figure_available())) return CLI_OK;
    if (dim == 1) {
        cli_error(cmd, "--png %s: 1D charts need cairo (Debian: libcairo2-dev) in the build; this one draws 2D grids only",
                  png);
        return CLI_USAGE;
    }
    cli_error(cmd, "--png %s: figures are drawn of 1D and 2D grids; this grid has %d dimensions", png, dim);
    return CLI_USAGE;
}

/* The known minimisers of member b's built-in objective (one point; none for a potential file). */
static int minimiser(const cli_setup *s, int64_t b, double *x) {
    if (!s->obj) return 0;
    const qdml_objective *o = &s->obj[s->same_potential ? 0 : b];
    return qdml_objective_minimum(o, s->dim, x, NULL) == QDML_OK;
}

static int member_figure(cli_setup *s, const char *path, int64_t b) {
    const char *cmd = s->cmd;
    const int64_t N = s->points;
    double *rho = malloc((size_t)N * sizeof(double)), *v = malloc((size_t)N * sizeof(double)), *x = NULL;
    int rc = CLI_RUN_FAILED;
    qdml_stats st;
    if (!rho || !v) {
        cli_error(cmd, "--png %s: out of memory", path);
        goto out;
    }
    if (qdml_problem_get_density(s->problem, b, rho) != QDML_OK ||
        qdml_problem_get_potential(s->problem, b, v) != QDML_OK || qdml_problem_stats(s->problem, b, &st) != QDML_OK) {
        cli_error(cmd, "--png %s: reading member %lld failed: %s", path, (long long)b, qdml_context_last_error(s->ctx));
        goto out;
    }
    char title[160];
    if (s->batch > 1)
        snprintf(title, sizeof title, "qdml %s: density |\u03c8|\u00b2 of member %lld, E = %.10g", cmd, (long long)b,
                 st.energy);
    else
        snprintf(title, sizeof title, "qdml %s: density |\u03c8|\u00b2, E = %.10g", cmd, st.energy);
    double xmin[QDML_MAX_DIM];
    const int known = minimiser(s, b, xmin);
    qdml_status e;
    if (s->dim == 2) {
        const qdml_figure_map m = {title,   "x (axis 0)", "y (axis 1)", "|\u03c8|\u00b2", s->n[0], s->n[1], rho,
                                   s->lo[0], s->hi[0],    s->lo[1],     s->hi[1],  known,   xmin};
        e = qdml_figure_map_png(path, &m);
    } else {
        x = malloc((size_t)N * sizeof(double));
        if (!x) {
            cli_error(cmd, "--png %s: out of memory", path);
            goto out;
        }
        for (int64_t j = 0; j < N; ++j) x[j] = s->lo[0] + (double)j * (s->hi[0] - s->lo[0]) / (double)N;
        const qdml_figure_panel panels[2] = {{"density |\u03c8|\u00b2", rho, 0}, {"potential V", v, 0}};
        const qdml_figure_lines l = {title, "x", x, N, 2, panels, known ? xmin[0] : NAN};
        e = qdml_figure_lines_png(path, &l);
    }
    if (e != QDML_OK) {
        cli_error(cmd, "--png: %s", qdml_last_error_message());
        goto out;
    }
    rc = CLI_OK;
out:
    free(rho);
    free(v);
    free(x);
    return rc;
}

int cli_write_png_figures(cli_setup *s, const char *path) {
    if (!qdml_figure_available()) return cli_write_density_pngs(s->cmd, path, s->problem);
    for (int64_t b = 0; b < s->batch; ++b) {
        char *p = cli_png_member_path(path, b, s->batch);
        if (!p) {
            cli_error(s->cmd, "--png %s: out of memory", path);
            return CLI_RUN_FAILED;
        }
        const int rc = member_figure(s, p, b);
        free(p);
        if (rc != CLI_OK) return rc;
    }
    return CLI_OK;
}

int cli_write_history_pngs(cli_setup *s, const char *path) {
    const char *cmd = s->cmd;
    for (int64_t b = 0; b < s->batch; ++b) {
        size_t count = 0;
        if (qdml_problem_history(s->problem, b, NULL, 0, &count) != QDML_OK) count = 0;
        qdml_stats *h = calloc(count ? count : 1, sizeof *h);
        double *x = calloc(count ? count : 1, sizeof(double)), *e = calloc(count ? count : 1, sizeof(double));
        double *r = calloc(count ? count : 1, sizeof(double));
        char *p = cli_png_member_path(path, b, s->batch);
        int rc = CLI_RUN_FAILED;
        if (!h || !x || !e || !r || !p) {
            cli_error(cmd, "--history-png %s: out of memory", path);
        } else if (count && qdml_problem_history(s->problem, b, h, count, &count) != QDML_OK) {
            cli_error(cmd, "--history-png %s: %s", path, qdml_context_last_error(s->ctx));
        } else {
            for (size_t i = 0; i < count; ++i) {
                x[i] = (double)h[i].step;
                e[i] = h[i].energy;
                r[i] = h[i].residual;
            }
            char title[160];
            if (s->batch > 1)
                snprintf(title, sizeof title, "qdml %s: energy and residual of member %lld", cmd, (long long)b);
            else
                snprintf(title, sizeof title, "qdml %s: energy and residual", cmd);
            const qdml_figure_panel panels[2] = {{"energy \u27e8H\u27e9", e, 0},
                                                 {"residual \u2016H\u03c8 \u2212 E\u03c8\u2016", r, 1}};
            const qdml_figure_lines l = {title, "step", x, (int64_t)(count ? count : 1), 2, panels,
                                         NAN};
            if (qdml_figure_lines_png(p, &l) != QDML_OK)
                cli_error(cmd, "--history-png: %s", qdml_last_error_message());
            else
                rc = CLI_OK;
        }
        free(h);
        free(x);
        free(e);
        free(r);
        free(p);
        if (rc != CLI_OK) return rc;
    }
    return CLI_OK;
}
