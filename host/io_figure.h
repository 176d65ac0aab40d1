/* Figures people read, drawn with cairo where the build has it (part of the qdml_io library): a 2D map
 * with its axes in the box's units, ticks, a colour bar with its scale, a title and marked points;
 * line charts of one or more stacked panels sharing their x axis (each panel linear or logarithmic).
 * Written as PNG through the one atomic writer (atomic_file.h). Without cairo in the build every call
 * fails UNAVAILABLE, saying how to get it (the program then draws the bare picture of io_png.h). */
#ifndef QDML_IO_FIGURE_H
#define QDML_IO_FIGURE_H

#include <qdml/qdml.h>
#include <stdint.h>

/* Whether this build draws figures. */
int qdml_figure_available(void);

/* A map of data (nx x ny values, C order: data[ix * ny + iy]) on [xlo, xhi) x [ylo, yhi): x across, y
 * up, viridis from the data's least to largest finite value. marks: nmarks points (x, y pairs) drawn as
 * white crosses ringed in black. */
typedef struct qdml_figure_map {
    const char *title, *xlabel, *ylabel, *bar_label;
    int64_t nx, ny;
    const double *data;
    double xlo, xhi, ylo, yhi;
    int nmarks;
    const double *marks;
} qdml_figure_map;

qdml_status qdml_figure_map_png(const char *path, const qdml_figure_map *m);

/* One panel of a line chart: y[0 .. n) against the chart's x, on a log scale where ylog (values <= 0
 * are left out there). */
typedef struct qdml_figure_panel {
    const char *ylabel;
    const double *y;
    int ylog;
} qdml_figure_panel;

/* npanels panels stacked, sharing x (n points); mark_x: a vertical dashed line in every panel (NAN: none). */
typedef struct qdml_figure_lines {
    const char *title, *xlabel;
    const double *x;
    int64_t n;
    int npanels;
    const qdml_figure_panel *panels;
    double mark_x;
} qdml_figure_lines;

qdml_status qdml_figure_lines_png(const char *path, const qdml_figure_lines *l);

/* npanels (1 .. 64) small maps in a grid of tiles, each with its title, its box's ends, its marks (rings,
 * so that a density peaked under one shows), and
 * its own colour scale from 0 to its largest value (densities: one bar from 0 to 1 of each panel's
 * maximum, labelled bar_label); the panels' bar_label, xlabel and ylabel are not drawn. */
qdml_status qdml_figure_montage_png(const char *path, const char *title, const char *bar_label, int npanels,
                                    const qdml_figure_map *panels);

#endif
