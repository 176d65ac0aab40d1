/* --png FILE of `qdml ground` and `qdml evolve`: the final density of each member as a picture. */
#include "density_png.h"
#include "io_png.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_png_check_dim(const char *cmd, const char *path, int dim) {
    if (dim == 2) return CLI_OK;
    cli_error(cmd, "--png %s: pictures are drawn of 2D grids only; this grid has %d dimension%s", path, dim,
              dim == 1 ? "" : "s");
    return CLI_USAGE;
}

char *cli_png_member_path(const char *path, int64_t member, int64_t batch) {
    const size_t len = strlen(path);
    char *out = malloc(len + 32);
    if (!out) return NULL;
    if (batch <= 1) {
        memcpy(out, path, len + 1);
        return out;
    }
    const size_t stem = len >= 4 && strcmp(path + len - 4, ".png") == 0 ? len - 4 : len;
    memcpy(out, path, stem);
    snprintf(out + stem, 32, "_%" PRId64 ".png", member);
    return out;
}

int cli_write_density_png(const char *cmd, const char *path, qdml_problem *problem, int64_t member) {
    const qdml_grid *g = qdml_problem_grid(problem);
    const int64_t points = qdml_problem_points(problem);
    double *rho = malloc((size_t)points * sizeof *rho);
    if (!rho) {
        cli_error(cmd, "--png %s: out of memory", path);
        return CLI_RUN_FAILED;
    }
    int rc = CLI_OK;
    qdml_status st = qdml_problem_get_density(problem, member, rho);
    if (st != QDML_OK) {
        cli_error(cmd, "--png: reading the density of member %lld failed: %s", (long long)member,
                  qdml_status_string(st));
        rc = CLI_RUN_FAILED;
    } else {
        qdml_png_options o;
        qdml_png_options_default(&o);
        if (qdml_png_write(path, g->n[0], g->n[1], rho, &o) != QDML_OK) {
            cli_error(cmd, "--png: %s", qdml_last_error_message());
            rc = CLI_RUN_FAILED;
        }
    }
    free(rho);
    return rc;
}

int cli_write_density_pngs(const char *cmd, const char *path, qdml_problem *problem) {
    const int64_t batch = qdml_problem_batch(problem);
    for (int64_t b = 0; b < batch; ++b) {
        char *p = cli_png_member_path(path, b, batch);
        if (!p) {
            cli_error(cmd, "--png %s: out of memory", path);
            return CLI_RUN_FAILED;
        }
        int rc = cli_write_density_png(cmd, p, problem, b);
        free(p);
        if (rc != CLI_OK) return rc;
    }
    return CLI_OK;
}
