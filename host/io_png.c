/* PNG pictures of 2D arrays through the viridis colour map (see io_png.h).
 *
 * libpng reports errors by calling our error function, which must not return: it records the
 * message and longjmps back to the setjmp in write_image(). Everything that needs freeing (the row
 * buffer, the temporary file and its name) is allocated before that setjmp and released by the
 * caller, whichever way write_image() returns, so a libpng error leaks nothing. */
#include "io_png.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "status.h"

/* viridis, by Nathaniel J. Smith, Stefan van der Walt and Eric Firing, as published in matplotlib
 * (matplotlib/_cm_listed.py, _viridis_data; released under CC0). The published values are floats in
 * [0, 1]; these are 255 times them rounded to the nearest integer, except ten entries (95, 96, 113,
 * 114, 127, 128, 129, 145, 146, 159) moved by one step in one channel, each within 0.76 of the
 * published value. Plain rounding leaves two pairs of equal neighbours and two small decreases of
 * CIELAB lightness; with these ten moves L* increases strictly from each entry to the next (by 0.021
 * at least, 0.28 to 0.63 in the published map), so that the picture's lightness orders the values
 * as the published map does. tests/test_png.c checks the strict increase. */
/* clang-format off */
const unsigned char qdml_png_viridis[256][3] = {
    { 68,   1,  84}, { 68,   2,  86}, { 69,   4,  87}, { 69,   5,  89},
    { 70,   7,  90}, { 70,   8,  92}, { 70,  10,  93}, { 70,  11,  94},
    { 71,  13,  96}, { 71,  14,  97}, { 71,  16,  99}, { 71,  17, 100},
    { 71,  19, 101}, { 72,  20, 103}, { 72,  22, 104}, { 72,  23, 105},
    { 72,  24, 106}, { 72,  26, 108}, { 72,  27, 109}, { 72,  28, 110},
    { 72,  29, 111}, { 72,  31, 112}, { 72,  32, 113}, { 72,  33, 115},
    { 72,  35, 116}, { 72,  36, 117}, { 72,  37, 118}, { 72,  38, 119},
    { 72,  40, 120}, { 72,  41, 121}, { 71,  42, 122}, { 71,  44, 122},
    { 71,  45, 123}, { 71,  46, 124}, { 71,  47, 125}, { 70,  48, 126},
    { 70,  50, 126}, { 70,  51, 127}, { 70,  52, 128}, { 69,  53, 129},
    { 69,  55, 129}, { 69,  56, 130}, { 68,  57, 131}, { 68,  58, 131},
    { 68,  59, 132}, { 67,  61, 132}, { 67,  62, 133}, { 66,  63, 133},
    { 66,  64, 134}, { 66,  65, 134}, { 65,  66, 135}, { 65,  68, 135},
    { 64,  69, 136}, { 64,  70, 136}, { 63,  71, 136}, { 63,  72, 137},
    { 62,  73, 137}, { 62,  74, 137}, { 62,  76, 138}, { 61,  77, 138},
    { 61,  78, 138}, { 60,  79, 138}, { 60,  80, 139}, { 59,  81, 139},
    { 59,  82, 139}, { 58,  83, 139}, { 58,  84, 140}, { 57,  85, 140},
    { 57,  86, 140}, { 56,  88, 140}, { 56,  89, 140}, { 55,  90, 140},
    { 55,  91, 141}, { 54,  92, 141}, { 54,  93, 141}, { 53,  94, 141},
    { 53,  95, 141}, { 52,  96, 141}, { 52,  97, 141}, { 51,  98, 141},
    { 51,  99, 141}, { 50, 100, 142}, { 50, 101, 142}, { 49, 102, 142},
    { 49, 103, 142}, { 49, 104, 142}, { 48, 105, 142}, { 48, 106, 142},
    { 47, 107, 142}, { 47, 108, 142}, { 46, 109, 142}, { 46, 110, 142},
    { 46, 111, 142}, { 45, 112, 142}, { 45, 113, 142}, { 44, 114, 142},
    { 44, 114, 143}, { 44, 115, 142}, { 43, 116, 142}, { 43, 117, 142},
    { 42, 118, 142}, { 42, 119, 142}, { 42, 120, 142}, { 41, 121, 142},
    { 41, 122, 142}, { 41, 123, 142}, { 40, 124, 142}, { 40, 125, 142},
    { 39, 126, 142}, { 39, 127, 142}, { 39, 128, 142}, { 38, 129, 142},
    { 38, 130, 142}, { 37, 131, 142}, { 38, 131, 142}, { 37, 132, 142},
    { 37, 133, 142}, { 36, 134, 142}, { 36, 135, 142}, { 35, 136, 142},
    { 35, 137, 142}, { 35, 138, 141}, { 34, 139, 141}, { 34, 140, 141},
    { 34, 141, 141}, { 33, 142, 141}, { 33, 143, 141}, { 33, 144, 140},
    { 33, 144, 141}, { 32, 145, 140}, { 32, 146, 140}, { 32, 147, 140},
    { 31, 148, 140}, { 31, 149, 139}, { 31, 150, 139}, { 31, 151, 139},
    { 31, 152, 139}, { 31, 153, 138}, { 31, 154, 138}, { 30, 155, 138},
    { 30, 156, 137}, { 30, 157, 137}, { 31, 158, 137}, { 31, 159, 136},
    { 31, 160, 136}, { 31, 161, 135}, { 31, 161, 136}, { 31, 162, 135},
    { 32, 163, 134}, { 32, 164, 134}, { 33, 165, 133}, { 33, 166, 133},
    { 34, 167, 133}, { 34, 168, 132}, { 35, 169, 131}, { 36, 170, 131},
    { 37, 171, 130}, { 37, 172, 130}, { 38, 173, 129}, { 40, 173, 129},
    { 40, 174, 128}, { 41, 175, 127}, { 42, 176, 127}, { 44, 177, 126},
    { 45, 178, 125}, { 46, 179, 124}, { 47, 180, 124}, { 49, 181, 123},
    { 50, 182, 122}, { 52, 182, 121}, { 53, 183, 121}, { 55, 184, 120},
    { 56, 185, 119}, { 58, 186, 118}, { 59, 187, 117}, { 61, 188, 116},
    { 63, 188, 115}, { 64, 189, 114}, { 66, 190, 113}, { 68, 191, 112},
    { 70, 192, 111}, { 72, 193, 110}, { 74, 193, 109}, { 76, 194, 108},
    { 78, 195, 107}, { 80, 196, 106}, { 82, 197, 105}, { 84, 197, 104},
    { 86, 198, 103}, { 88, 199, 101}, { 90, 200, 100}, { 92, 200,  99},
    { 94, 201,  98}, { 96, 202,  96}, { 99, 203,  95}, {101, 203,  94},
    {103, 204,  92}, {105, 205,  91}, {108, 205,  90}, {110, 206,  88},
    {112, 207,  87}, {115, 208,  86}, {117, 208,  84}, {119, 209,  83},
    {122, 209,  81}, {124, 210,  80}, {127, 211,  78}, {129, 211,  77},
    {132, 212,  75}, {134, 213,  73}, {137, 213,  72}, {139, 214,  70},
    {142, 214,  69}, {144, 215,  67}, {147, 215,  65}, {149, 216,  64},
    {152, 216,  62}, {155, 217,  60}, {157, 217,  59}, {160, 218,  57},
    {162, 218,  55}, {165, 219,  54}, {168, 219,  52}, {170, 220,  50},
    {173, 220,  48}, {176, 221,  47}, {178, 221,  45}, {181, 222,  43},
    {184, 222,  41}, {186, 222,  40}, {189, 223,  38}, {192, 223,  37},
    {194, 223,  35}, {197, 224,  33}, {200, 224,  32}, {202, 225,  31},
    {205, 225,  29}, {208, 225,  28}, {210, 226,  27}, {213, 226,  26},
    {216, 226,  25}, {218, 227,  25}, {221, 227,  24}, {223, 227,  24},
    {226, 228,  24}, {229, 228,  25}, {231, 228,  25}, {234, 229,  26},
    {236, 229,  27}, {239, 229,  28}, {241, 229,  29}, {244, 230,  30},
    {246, 230,  32}, {248, 230,  33}, {251, 231,  35}, {253, 231,  37},
};
/* clang-format on */

const unsigned char qdml_png_nan_colour[3] = {255, 255, 255};

void qdml_png_options_default(qdml_png_options *options) {
    if (!options) return;
    options->scale = QDML_PNG_LINEAR;
    options->vmin = NAN;
    options->vmax = NAN;
    options->upscale = 0;
}

int qdml_png_colour_index(double v, qdml_png_scale scale, double vmin, double vmax) {
    if (isnan(v)) return -1;
    double t;
    if (scale == QDML_PNG_LOG) {
        if (!(v > 0.0)) return 0;
        if (!(vmax > vmin)) return isinf(v) ? 255 : 0;
        t = (log(v) - log(vmin)) / (log(vmax) - log(vmin));
    } else {
        if (!(vmax > vmin)) return v == INFINITY ? 255 : 0;
        t = (v - vmin) / (vmax - vmin);
    }
    /* t is compared before any conversion: +-inf and huge values must not reach the cast. */
    if (!(t > 0.0)) return 0;
    if (t >= 1.0) return 255;
    int k = (int)(t * 256.0); /* t < 1, so t * 256 < 256 exactly (a power-of-two scaling) */
    return k > 255 ? 255 : k;
}

qdml_status qdml_png_resolve_range(const double *data, size_t count, const qdml_png_options *options, double *vmin,
                                   double *vmax) {
    qdml_png_options def;
    qdml_png_options_default(&def);
    const qdml_png_options *o = options ? options : &def;
    const int log_scale = o->scale == QDML_PNG_LOG;
    if (o->scale != QDML_PNG_LINEAR && o->scale != QDML_PNG_LOG)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "unknown scale %d (expected linear or log)", (int)o->scale);
    const int given_lo = !isnan(o->vmin), given_hi = !isnan(o->vmax);
    if ((given_lo && !isfinite(o->vmin)) || (given_hi && !isfinite(o->vmax)))
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "range [%g, %g] is not finite", o->vmin, o->vmax);
    if (log_scale && ((given_lo && !(o->vmin > 0.0)) || (given_hi && !(o->vmax > 0.0))))
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "log scale needs a positive range; got vmin %g, vmax %g",
                         o->vmin, o->vmax);
    if (given_lo && given_hi && !(o->vmin < o->vmax))
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "range needs vmin < vmax; got vmin %.17g, vmax %.17g",
                         o->vmin, o->vmax);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < count; ++i) {
        const double v = data[i];
        if (!isfinite(v) || (log_scale && !(v > 0.0))) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    if (!(lo <= hi)) lo = hi = log_scale ? 1.0 : 0.0; /* no usable value: any range draws the same */
    if (given_hi) hi = o->vmax;
    if (log_scale && !given_lo && lo < hi * pow(10.0, -QDML_PNG_LOG_DECADES))
        lo = hi * pow(10.0, -QDML_PNG_LOG_DECADES);
    if (given_lo) lo = o->vmin;
    /* One bound given and the data all beyond it: an empty range, drawn as a single colour. */
    if (lo > hi) {
        if (given_lo)
            hi = lo;
        else
            lo = hi;
    }
    *vmin = lo;
    *vmax = hi;
    return 0;
}

int qdml_png_upscale_factor(int64_t rows, int64_t cols, const qdml_png_options *options) {
    if (options && options->upscale > 0) return options->upscale;
    const int64_t side = rows > cols ? rows : cols;
    if (side <= 0) return 1;
    int64_t k = (QDML_PNG_AUTO_SIDE + side - 1) / side;
    return k > 16 ? 16 : (int)k;
}

/* ---- libpng plumbing ------------------------------------------------------------------------- */

typedef struct png_failure {
    char message[256];
    int os_errno; /* errno when libpng gave up (its write errors come from fwrite) */
} png_failure;

static void on_png_error(png_structp png, png_const_charp message) {
    png_failure *fail = png_get_error_ptr(png);
    if (fail) {
        fail->os_errno = errno;
        snprintf(fail->message, sizeof fail->message, "%s", message ? message : "unknown error");
    }
    png_longjmp(png, 1);
}

/* libpng's warnings concern what it could fix itself; the library prints nothing, so they are dropped. */
static void on_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

typedef struct image_desc {
    const double *data;
    int64_t rows, cols;
    int upscale;
    qdml_png_scale scale;
    double vmin, vmax;
    const char *description;
} image_desc;

/* Everything between png_init_io and png_write_end. Returns -1 when libpng longjmp'd here; no
 * local of this function is changed after setjmp and read after the jump (-Wclobbered). */
static int write_image(png_structp png, png_infop info, FILE *f, const image_desc *img, unsigned char *row) {
    if (setjmp(png_jmpbuf(png))) return -1;
    png_init_io(png, f);
    const png_uint_32 width = (png_uint_32)(img->cols * img->upscale);
    const png_uint_32 height = (png_uint_32)(img->rows * img->upscale);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_text text[2];
    memset(text, 0, sizeof text);
    text[0].compression = PNG_TEXT_COMPRESSION_NONE;
    text[0].key = (png_charp) "Software";
    text[0].text = (png_charp) "qdml";
    text[1].compression = PNG_TEXT_COMPRESSION_NONE;
    text[1].key = (png_charp) "Description";
    text[1].text = (png_charp)img->description;
    png_set_text(png, info, text, 2);
    png_write_info(png, info);
    const int k = img->upscale;
    for (int64_t r = 0; r < img->rows; ++r) {
        const double *src = img->data + r * img->cols;
        for (int64_t c = 0; c < img->cols; ++c) {
            const int idx = qdml_png_colour_index(src[c], img->scale, img->vmin, img->vmax);
            const unsigned char *rgb = idx < 0 ? qdml_png_nan_colour : qdml_png_viridis[idx];
            unsigned char *dst = row + (size_t)c * (size_t)k * 3;
            for (int rep = 0; rep < k; ++rep)
                memcpy(dst + 3 * rep, rgb, 3);
        }
        for (int rep = 0; rep < k; ++rep)
            png_write_row(png, row);
    }
    png_write_end(png, info);
    return 0;
}

qdml_status qdml_png_write(const char *path, int64_t rows, int64_t cols, const double *data,
                           const qdml_png_options *options) {
    if (!path) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_png_write: path is NULL");
    if (rows < 1 || cols < 1)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "%s: cannot draw a %lld x %lld array (both sides must be >= 1)", path, (long long)rows,
                         (long long)cols);
    if (!data) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: data is NULL", path);
    if (options && (options->upscale < 0 || options->upscale > QDML_PNG_MAX_UPSCALE))
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: upscale %d outside 0..%d", path, options->upscale,
                         QDML_PNG_MAX_UPSCALE);
    const int k = qdml_png_upscale_factor(rows, cols, options);
    if (rows > QDML_PNG_MAX_SIDE / k || cols > QDML_PNG_MAX_SIDE / k)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "%s: a %lld x %lld array upscaled %d times exceeds %d pixels on a side", path, (long long)rows,
                         (long long)cols, k, QDML_PNG_MAX_SIDE);
    /* rows * cols cannot overflow size_t: both are at most 10^6 here. */
    const size_t count = (size_t)rows * (size_t)cols;
    image_desc img = {data, rows, cols, k, options ? options->scale : QDML_PNG_LINEAR, 0.0, 0.0, NULL};
    qdml_status st = qdml_png_resolve_range(data, count, options, &img.vmin, &img.vmax);
    if (st != QDML_OK) return qdml_fail_from(NULL, st, "%s", path);
    char description[256];
    snprintf(description, sizeof description,
             "%lld x %lld values (axis 0 downwards, axis 1 rightwards), %d x %d pixels each; viridis colour map, "
             "%s scale: first colour at %.9g, last at %.9g; NaN white",
             (long long)rows, (long long)cols, k, k, img.scale == QDML_PNG_LOG ? "log10" : "linear", img.vmin,
             img.vmax);
    img.description = description;

    unsigned char *row = malloc((size_t)cols * (size_t)k * 3);
    if (!row) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    qdml_atomic_file af;
    if ((st = qdml_atomic_open(&af, path, 1, path)) != QDML_OK) {
        free(row);
        return st;
    }
    png_failure fail;
    memset(&fail, 0, sizeof fail);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &fail, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc;
    if (!png || !info) {
        snprintf(fail.message, sizeof fail.message, "cannot allocate its structures (out of memory)");
        rc = -1;
    } else {
        errno = 0; /* so that an OS error reported with libpng's message is this write's */
        rc = write_image(png, info, af.f, &img, row);
    }
    png_destroy_write_struct(&png, &info);
    free(row);
    if (rc != 0) {
        qdml_atomic_abort(&af);
        if (fail.os_errno != 0)
            return qdml_fail(NULL, QDML_ERR_IO, "%s: libpng: %s (%s)", path, fail.message, strerror(fail.os_errno));
        return qdml_fail(NULL, QDML_ERR_IO, "%s: libpng: %s", path, fail.message);
    }
    return qdml_atomic_commit(&af, 1);
}
