/* --png and --history-png (figures.c): the figures of a run, drawn with cairo where the build has it
 * (io_figure.h) — the final density of each member as a map with axes, colour bar, title and the known
 * minimiser(s) of a built-in objective marked (2D), or as a chart of density and potential (1D); the
 * monitored energy and residual against steps — and otherwise the bare picture of a 2D density
 * (density_png.h). */
#ifndef QDML_CLI_FIGURES_H
#define QDML_CLI_FIGURES_H

#include "setup.h"

/* Refuses (CLI_USAGE, message printed) --png on a grid this build cannot draw (3D; 1D without cairo)
 * and --history-png without cairo. */
int cli_figures_check(const char *cmd, const char *png, const char *history_png, int dim);
/* --png FILE: one figure per member (cli_png_member_path). */
int cli_write_png_figures(cli_setup *s, const char *path);
/* --history-png FILE: energy and residual against steps, one chart per member. */
int cli_write_history_pngs(cli_setup *s, const char *path);

#endif
