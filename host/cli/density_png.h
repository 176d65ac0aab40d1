/* --png FILE (density_png.c): the final density of each member of a 2D problem as a picture. */
#ifndef QDML_CLI_DENSITY_PNG_H
#define QDML_CLI_DENSITY_PNG_H

#include "cli.h"

#include <qdml/qdml.h>
#include <stdint.h>

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

#endif
