/* Writing 2D arrays (densities, potentials) as 8-bit RGB PNG pictures through the viridis colour
 * map, with libpng. Internal to the qdml program and tests; not part of the public API.
 *
 * Orientation: the array is C order with `rows` x `cols` values; axis 0 is the image's rows, top to
 * bottom, and axis 1 its columns, left to right: value (0, 0) is the top-left pixel, as numpy
 * prints the array and matplotlib's imshow shows it by default. For a qdml grid array a[i, j] with
 * axis 0 = x and axis 1 = y, x grows downwards and y to the right.
 *
 * Colours: a value v maps to t in [0, 1] (linear: t = (v - vmin) / (vmax - vmin); log:
 * t = (log v - log vmin) / (log vmax - log vmin)) and then to entry floor(256 t) of the colour map,
 * with t = 1 taking the last entry (matplotlib's convention, so equal-width bins). Values below vmin
 * (and, in log scale, zero and negative values) take entry 0; values above vmax take entry 255;
 * -inf and +inf likewise. NaN is drawn in QDML_PNG_NAN_COLOUR, a colour viridis never uses. */
#ifndef QDML_IO_PNG_H
#define QDML_IO_PNG_H

#include <qdml/qdml.h>
#include <stddef.h>
#include <stdint.h>

typedef enum qdml_png_scale {
    QDML_PNG_LINEAR = 0,
    QDML_PNG_LOG = 1 /* log10 of the value; needs a positive range */
} qdml_png_scale;

/* Largest pixel repetition factor that may be asked for. */
#define QDML_PNG_MAX_UPSCALE 64
/* Automatic upscaling repeats each value until the longer side has at least this many pixels
 * (at most 16 times): small grids stay visible in an image viewer. */
#define QDML_PNG_AUTO_SIDE 256
/* Automatic log range: at most this many decades below the largest value. */
#define QDML_PNG_LOG_DECADES 6.0
/* libpng's default limit on a side (PNG_USER_WIDTH_MAX / PNG_USER_HEIGHT_MAX). */
#define QDML_PNG_MAX_SIDE 1000000

typedef struct qdml_png_options {
    qdml_png_scale scale; /* default QDML_PNG_LINEAR */
    /* Values mapped to the first and last colour; NaN (the default) = automatic: the smallest and
     * largest finite values (log: the largest positive finite value, and the smallest positive one
     * but no more than QDML_PNG_LOG_DECADES decades below it). Given values must be finite with
     * vmin < vmax (log: 0 < vmin). When the automatic range is a single value every finite value
     * takes entry 0 (log: positive values take entry 0 too). */
    double vmin, vmax;
    /* Each value drawn as a block of upscale x upscale pixels (pixel repetition, no interpolation):
     * 1 .. QDML_PNG_MAX_UPSCALE, or 0 (the default) for automatic: ceil(QDML_PNG_AUTO_SIDE /
     * longer side), at most 16. */
    int upscale;
} qdml_png_options;

/* The 256 colours of viridis, 8-bit sRGB (see io_png.c for where they come from). */
extern const unsigned char qdml_png_viridis[256][3];
/* The colour of NaN values: white. */
extern const unsigned char qdml_png_nan_colour[3];

/* Defaults listed above. */
void qdml_png_options_default(qdml_png_options *options);

/* Colour-map entry 0..255 of value v for the range [vmin, vmax] (already resolved: finite, and for
 * log scale positive), or -1 for NaN. vmin == vmax maps every non-NaN value to 0 except +inf. */
int qdml_png_colour_index(double v, qdml_png_scale scale, double vmin, double vmax);

/* The range qdml_png_write uses for `data` (count values) under `options`: explicit values where
 * given, automatic ones otherwise. Errors: INVALID_ARGUMENT for an invalid option (the message in
 * qdml_last_error_message(), as the library fails: status.h). */
qdml_status qdml_png_resolve_range(const double *data, size_t count, const qdml_png_options *options, double *vmin,
                                   double *vmax);

/* The pixel repetition factor qdml_png_write uses for a rows x cols array. */
int qdml_png_upscale_factor(int64_t rows, int64_t cols, const qdml_png_options *options);

/* Write data (rows x cols doubles, C order) to `path` as an 8-bit RGB PNG, non-interlaced, with
 * text chunks naming the colour map, scale and range. options may be NULL for the defaults.
 * Atomic (atomic_file.h): on any failure a previous file at path is left as it was. Errors, with a
 * message naming path and the reason: INVALID_ARGUMENT (arguments, options), OUT_OF_MEMORY, IO (the
 * OS error, or libpng's own message). */
qdml_status qdml_png_write(const char *path, int64_t rows, int64_t cols, const double *data,
                           const qdml_png_options *options);

#endif
