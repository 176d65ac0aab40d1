/* Figures drawn with cairo (io_figure.h). */
#include "io_figure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "io_png.h"
#include "status.h"

#ifdef QDML_HAVE_CAIRO
#include <cairo.h>

int qdml_figure_available(void) { return 1; }

enum { W = 720, H = 560 };

/* Ticks at 1, 2 or 5 times a power of ten: about `want` of them in [lo, hi]; returns how many (at most
 * 16) and their values in t. */
static int nice_ticks(double lo, double hi, int want, double *t) {
    if (!(hi > lo) || !isfinite(lo) || !isfinite(hi)) {
        t[0] = lo;
        return 1;
    }
    const double raw = (hi - lo) / want, p = pow(10.0, floor(log10(raw))), f = raw / p;
    const double step = (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * p;
    int n = 0;
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step && n < 16; v += step)
        t[n++] = fabs(v) < 1e-12 * step ? 0.0 : v;
    return n;
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double ax, double ay, double size) {
    cairo_set_font_size(cr, size);
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - ax * e.width - e.x_bearing, y - ay * e.height - e.y_bearing);
    cairo_show_text(cr, s);
}

static void vtext_at(cairo_t *cr, double x, double y, const char *s, double size) {
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -1.5707963267948966);
    text_at(cr, 0, 0, s, 0.5, 0.5, size);
    cairo_restore(cr);
}

/* Draw the page and write it to path with the atomic writer. */
static cairo_status_t png_chunk(void *closure, const unsigned char *data, unsigned int length) {
    FILE *f = closure;
    return fwrite(data, 1, length, f) == length ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static qdml_status save(cairo_surface_t *surf, const char *path) {
    qdml_atomic_file af;
    qdml_status st = qdml_atomic_open(&af, path, 1, path);
    if (st != QDML_OK) return st;
    const int ok = cairo_surface_write_to_png_stream(surf, png_chunk, af.f) == CAIRO_STATUS_SUCCESS;
    return qdml_atomic_commit(&af, ok);
}

static cairo_t *page(cairo_surface_t **surf, int w, int h) {
    *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(*surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1.0);
    return cr;
}

static qdml_status finish(cairo_t *cr, cairo_surface_t *surf, const char *path) {
    qdml_status st = QDML_OK;
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        st = qdml_fail(NULL, QDML_ERR_IO, "%s: drawing failed: %s", path, cairo_status_to_string(cairo_status(cr)));
    cairo_destroy(cr);
    if (st == QDML_OK) st = save(surf, path);
    cairo_surface_destroy(surf);
    return st;
}

/* Ticks and labels of a horizontal axis at pixel y, values [lo, hi] over pixels [x0, x1]. */
static void x_axis(cairo_t *cr, double x0, double x1, double y, double lo, double hi, const char *label) {
    double t[16];
    const int n = nice_ticks(lo, hi, 6, t);
    char buf[32];
    for (int k = 0; k < n; ++k) {
        const double px = x0 + (t[k] - lo) / (hi - lo) * (x1 - x0);
        cairo_move_to(cr, px, y);
        cairo_line_to(cr, px, y + 5);
        cairo_stroke(cr);
        snprintf(buf, sizeof buf, "%g", t[k]);
        text_at(cr, px, y + 9, buf, 0.5, 0.0, 12);
    }
    if (label) text_at(cr, 0.5 * (x0 + x1), y + 28, label, 0.5, 0.0, 14);
}

/* Ticks and labels of a vertical axis at pixel x (labels left of it, or right where right), values
 * [lo, hi] over pixels y0 (lo) to y1 (hi); log10 values where lg (labels 10^k). */
static void y_axis(cairo_t *cr, double x, double y0, double y1, double lo, double hi, int lg, int right) {
    double t[16];
    const int n = lg ? 0 : nice_ticks(lo, hi, 5, t);
    char buf[32];
    const int m = lg ? (int)(floor(hi) - ceil(lo)) + 1 : n;
    const int every = lg && m > 8 ? (m + 7) / 8 : 1;
    for (int k = 0; k < m; ++k) {
        const double v = lg ? ceil(lo) + k : t[k];
        if (lg && k % every) continue;
        const double py = y0 + (v - lo) / (hi - lo) * (y1 - y0);
        cairo_move_to(cr, x, py);
        cairo_line_to(cr, right ? x + 5 : x - 5, py);
        cairo_stroke(cr);
        if (lg)
            snprintf(buf, sizeof buf, "1e%d", (int)v);
        else
            snprintf(buf, sizeof buf, "%g", v);
        text_at(cr, right ? x + 8 : x - 8, py, buf, right ? 0.0 : 1.0, 0.5, 12);
    }
}

static void viridis(double f, double *r, double *g, double *b) {
    int i = (int)(f * 255.0 + 0.5);
    if (i < 0) i = 0;
    if (i > 255) i = 255;
    *r = qdml_png_viridis[i][0] / 255.0;
    *g = qdml_png_viridis[i][1] / 255.0;
    *b = qdml_png_viridis[i][2] / 255.0;
}

/* The data (nx x ny, C order data[ix * ny + iy]) as a picture, x across and y up, one pixel per
 * point, viridis from vmin to vmax (magenta where not finite). */
static cairo_surface_t *data_image(const double *data, int64_t nx, int64_t ny, double vmin, double vmax) {
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)nx, (int)ny);
    cairo_surface_flush(img);
    unsigned char *px = cairo_image_surface_get_data(img);
    const int stride = cairo_image_surface_get_stride(img);
    for (int64_t iy = 0; iy < ny; ++iy)
        for (int64_t ix = 0; ix < nx; ++ix) {
            const double v = data[ix * ny + iy];
            double r = 1, g = 0, b = 1;
            if (isfinite(v)) viridis((v - vmin) / (vmax - vmin), &r, &g, &b);
            uint32_t *p = (uint32_t *)(px + (size_t)(ny - 1 - iy) * (size_t)stride) + ix;
            *p = ((uint32_t)(r * 255) << 16) | ((uint32_t)(g * 255) << 8) | (uint32_t)(b * 255);
        }
    cairo_surface_mark_dirty(img);
    return img;
}

/* The picture stretched over the pixels (x0, y0, pw, ph). */
static void paint_image(cairo_t *cr, cairo_surface_t *img, int64_t nx, int64_t ny, double x0, double y0, double pw,
                        double ph) {
    cairo_save(cr);
    cairo_rectangle(cr, x0, y0, pw, ph);
    cairo_clip(cr);
    cairo_translate(cr, x0, y0);
    cairo_scale(cr, pw / (double)nx, ph / (double)ny);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), nx < pw / 2 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
}

/* Points (x, y pairs in box units [xlo, xhi) x [ylo, yhi)) as white crosses ringed in black, arms of
 * `arm` pixels (arm < 0: white rings of radius -arm outlined in black), over the plot (x0, y0, pw, ph). */
static void draw_marks(cairo_t *cr, const double *marks, int n, double xlo, double xhi, double ylo, double yhi,
                       double x0, double y0, double pw, double ph, double arm) {
    for (int k = 0; k < n; ++k) {
        const double mx = x0 + (marks[2 * k] - xlo) / (xhi - xlo) * pw;
        const double my = y0 + ph - (marks[2 * k + 1] - ylo) / (yhi - ylo) * ph;
        for (int pass = 0; pass < 2; ++pass) {
            cairo_set_line_width(cr, pass ? 1.5 : 4.0);
            if (pass)
                cairo_set_source_rgb(cr, 1, 1, 1);
            else
                cairo_set_source_rgb(cr, 0, 0, 0);
            if (arm < 0) { /* a ring of radius -arm: what lies under it stays visible */
                cairo_new_sub_path(cr);
                cairo_arc(cr, mx, my, -arm, 0, 6.283185307179586);
            } else {
                cairo_move_to(cr, mx - arm, my);
                cairo_line_to(cr, mx + arm, my);
                cairo_move_to(cr, mx, my - arm);
                cairo_line_to(cr, mx, my + arm);
            }
            cairo_stroke(cr);
        }
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1.0);
}

/* A vertical colour bar at (bx, y0) of width bw and height ph, vmin at the bottom, ticks right of it. */
static void colour_bar(cairo_t *cr, double bx, double y0, double bw, double ph, double vmin, double vmax,
                       const char *label) {
    cairo_pattern_t *grad = cairo_pattern_create_linear(0, y0 + ph, 0, y0);
    for (int k = 0; k < 256; k += 5) {
        double r, g, b;
        viridis(k / 255.0, &r, &g, &b);
        cairo_pattern_add_color_stop_rgb(grad, k / 255.0, r, g, b);
    }
    cairo_rectangle(cr, bx, y0, bw, ph);
    cairo_set_source(cr, grad);
    cairo_fill(cr);
    cairo_pattern_destroy(grad);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, bx, y0, bw, ph);
    cairo_stroke(cr);
    y_axis(cr, bx + bw, y0 + ph, y0, vmin, vmax, 0, 1);
    if (label) vtext_at(cr, bx + bw + 85, y0 + ph / 2, label, 14);
}

qdml_status qdml_figure_map_png(const char *path, const qdml_figure_map *m) {
    if (!m || !m->data || m->nx < 1 || m->ny < 1 || m->nx > 32768 || m->ny > 32768)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: a map needs data of 1 .. 32768 points per axis", path);
    double vmin = INFINITY, vmax = -INFINITY;
    for (int64_t i = 0; i < m->nx * m->ny; ++i)
        if (isfinite(m->data[i])) vmin = fmin(vmin, m->data[i]), vmax = fmax(vmax, m->data[i]);
    if (!(vmax >= vmin)) vmin = 0.0, vmax = 1.0;
    if (vmax == vmin) vmax = vmin + 1.0;
    cairo_surface_t *img = data_image(m->data, m->nx, m->ny, vmin, vmax);
    cairo_surface_t *surf;
    cairo_t *cr = page(&surf, W, H);
    /* Plot area: square-ish, aspect of the box where it is moderate. */
    const double L = 80, R = W - 150, T = 50, B = H - 70;
    double pw = R - L, ph = B - T;
    const double aspect = (m->yhi - m->ylo) / (m->xhi - m->xlo);
    if (aspect > 0.25 && aspect < 4.0) {
        if (aspect * pw > ph)
            pw = ph / aspect;
        else
            ph = aspect * pw;
    }
    const double x0 = L, y0 = B - ph; /* top-left of the plot */
    paint_image(cr, img, m->nx, m->ny, x0, y0, pw, ph);
    cairo_surface_destroy(img);
    draw_marks(cr, m->marks, m->nmarks, m->xlo, m->xhi, m->ylo, m->yhi, x0, y0, pw, ph, 8.0);
    cairo_rectangle(cr, x0, y0, pw, ph);
    cairo_stroke(cr);
    x_axis(cr, x0, x0 + pw, y0 + ph, m->xlo, m->xhi, m->xlabel);
    y_axis(cr, x0, y0 + ph, y0, m->ylo, m->yhi, 0, 0);
    if (m->ylabel) vtext_at(cr, x0 - 55, y0 + ph / 2, m->ylabel, 14);
    if (m->title) text_at(cr, W / 2.0, 18, m->title, 0.5, 0.0, 16);
    colour_bar(cr, x0 + pw + 25, y0, 18, ph, vmin, vmax, m->bar_label);
    return finish(cr, surf, path);
}

qdml_status qdml_figure_montage_png(const char *path, const char *title, const char *bar_label, int npanels,
                                    const qdml_figure_map *panels) {
    if (!panels || npanels < 1 || npanels > 64)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: a montage needs 1 .. 64 panels", path);
    for (int k = 0; k < npanels; ++k)
        if (!panels[k].data || panels[k].nx < 1 || panels[k].ny < 1 || panels[k].nx > 32768 || panels[k].ny > 32768)
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: panel %d needs data of 1 .. 32768 points per axis",
                             path, k);
    /* Columns about 1.5 times the rows; square tiles of 190 pixels with room for a title and ticks. */
    int cols = 1;
    while (cols * (int)ceil(cols / 1.5) < npanels) ++cols;
    const int rows = (npanels + cols - 1) / cols;
    const double tile = 190, gap_x = 46, gap_y = 54, left = 50, top = 60, right = 150, bottom = 50;
    const int w = (int)(left + cols * tile + (cols - 1) * gap_x + right);
    const int h = (int)(top + rows * tile + (rows - 1) * gap_y + bottom);
    cairo_surface_t *surf;
    cairo_t *cr = page(&surf, w, h);
    for (int k = 0; k < npanels; ++k) {
        const qdml_figure_map *m = &panels[k];
        const int r = k / cols, c = k % cols;
        const double x0 = left + c * (tile + gap_x), y0 = top + r * (tile + gap_y);
        /* each panel on its own scale: 0 to its largest value (a density: its maximum is 1 on the bar) */
        double vmax = 0.0;
        for (int64_t i = 0; i < m->nx * m->ny; ++i)
            if (isfinite(m->data[i])) vmax = fmax(vmax, m->data[i]);
        if (!(vmax > 0)) vmax = 1.0;
        cairo_surface_t *img = data_image(m->data, m->nx, m->ny, 0.0, vmax);
        paint_image(cr, img, m->nx, m->ny, x0, y0, tile, tile);
        cairo_surface_destroy(img);
        draw_marks(cr, m->marks, m->nmarks, m->xlo, m->xhi, m->ylo, m->yhi, x0, y0, tile, tile, -7.0);
        cairo_rectangle(cr, x0, y0, tile, tile);
        cairo_stroke(cr);
        if (m->title) text_at(cr, x0 + tile / 2, y0 - 16, m->title, 0.5, 0.0, 13);
        char buf[32];
        for (int e = 0; e < 2; ++e) { /* the box's ends on both axes */
            snprintf(buf, sizeof buf, "%g", e ? m->xhi : m->xlo);
            text_at(cr, x0 + e * tile, y0 + tile + 4, buf, e ? 1.0 : 0.0, 0.0, 10);
            snprintf(buf, sizeof buf, "%g", e ? m->yhi : m->ylo);
            text_at(cr, x0 - 4, y0 + tile - e * tile, buf, 1.0, e ? 0.0 : 1.0, 10);
        }
    }
    if (title) text_at(cr, w / 2.0, 16, title, 0.5, 0.0, 16);
    colour_bar(cr, w - right + 30, top, 18, h - top - bottom, 0.0, 1.0, bar_label);
    return finish(cr, surf, path);
}

qdml_status qdml_figure_lines_png(const char *path, const qdml_figure_lines *l) {
    if (!l || !l->x || l->n < 1 || l->npanels < 1 || l->npanels > 4 || !l->panels)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: a chart needs 1 .. 4 panels and points", path);
    double xlo = INFINITY, xhi = -INFINITY;
    for (int64_t i = 0; i < l->n; ++i)
        if (isfinite(l->x[i])) xlo = fmin(xlo, l->x[i]), xhi = fmax(xhi, l->x[i]);
    if (!(xhi > xlo)) xhi = xlo + 1.0;
    cairo_surface_t *surf;
    cairo_t *cr = page(&surf, W, H);
    const double L = 95, R = W - 30, T = 45, B = H - 65, gap = 18;
    const double ph = (B - T - gap * (l->npanels - 1)) / l->npanels;
    static const double colour[4][3] = {{0.12, 0.47, 0.71}, {0.85, 0.37, 0.01}, {0.17, 0.63, 0.17}, {0.58, 0.4, 0.74}};
    for (int k = 0; k < l->npanels; ++k) {
        const qdml_figure_panel *pn = &l->panels[k];
        const double top = T + k * (ph + gap), bot = top + ph;
        double lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < l->n; ++i) {
            const double v = pn->y[i];
            if (!isfinite(v) || (pn->ylog && !(v > 0))) continue;
            const double w = pn->ylog ? log10(v) : v;
            lo = fmin(lo, w), hi = fmax(hi, w);
        }
        if (!(hi >= lo)) lo = 0.0, hi = 1.0;
        if (pn->ylog) {
            lo = floor(lo), hi = ceil(hi);
            if (hi == lo) hi = lo + 1;
        } else {
            const double pad = hi > lo ? 0.05 * (hi - lo) : fabs(hi) * 0.05 + 1e-300;
            lo -= pad, hi += pad;
        }
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_rectangle(cr, L, top, R - L, ph);
        cairo_stroke(cr);
        y_axis(cr, L, bot, top, lo, hi, pn->ylog, 0);
        if (pn->ylabel) vtext_at(cr, L - 70, top + ph / 2, pn->ylabel, 14);
        if (isfinite(l->mark_x)) {
            const double mx = L + (l->mark_x - xlo) / (xhi - xlo) * (R - L);
            const double dash[2] = {4, 4};
            cairo_set_dash(cr, dash, 2, 0);
            cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
            cairo_move_to(cr, mx, top);
            cairo_line_to(cr, mx, bot);
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
        }
        cairo_save(cr);
        cairo_rectangle(cr, L, top, R - L, ph);
        cairo_clip(cr);
        cairo_set_source_rgb(cr, colour[k][0], colour[k][1], colour[k][2]);
        cairo_set_line_width(cr, 1.6);
        int pen = 0;
        for (int64_t i = 0; i < l->n; ++i) {
            const double v = pn->y[i];
            if (!isfinite(v) || !isfinite(l->x[i]) || (pn->ylog && !(v > 0))) {
                pen = 0;
                continue;
            }
            const double w = pn->ylog ? log10(v) : v;
            const double px = L + (l->x[i] - xlo) / (xhi - xlo) * (R - L), py = bot - (w - lo) / (hi - lo) * ph;
            if (pen)
                cairo_line_to(cr, px, py);
            else
                cairo_move_to(cr, px, py);
            pen = 1;
        }
        cairo_stroke(cr);
        cairo_restore(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_line_width(cr, 1.0);
        if (k == l->npanels - 1) x_axis(cr, L, R, bot, xlo, xhi, l->xlabel);
    }
    if (l->title) text_at(cr, 0.5 * (L + R), 15, l->title, 0.5, 0.0, 16);
    return finish(cr, surf, path);
}

#else /* no cairo in this build */

int qdml_figure_available(void) { return 0; }

static qdml_status no_cairo(const char *path) {
    return qdml_fail(NULL, QDML_ERR_UNAVAILABLE,
                     "%s: this build of qdml draws no figures: install cairo's library and headers (Debian: "
                     "libcairo2-dev) and build again",
                     path);
}

qdml_status qdml_figure_map_png(const char *path, const qdml_figure_map *m) {
    (void)m;
    return no_cairo(path);
}

qdml_status qdml_figure_lines_png(const char *path, const qdml_figure_lines *l) {
    (void)l;
    return no_cairo(path);
}

qdml_status qdml_figure_montage_png(const char *path, const char *title, const char *bar_label, int npanels,
                                    const qdml_figure_map *panels) {
    (void)title, (void)bar_label, (void)npanels, (void)panels;
    return no_cairo(path);
}

#endif
