/* The PNG writer (host/io_png.c): pictures read back with libpng's own reader, pixel by pixel
 * against the colour map at the indices the mapping must give, and the atomic-write guarantees.
 *
 * Index rule under test (io_png.h): t = (v - vmin) / (vmax - vmin) (log: of log v), entry
 * floor(256 t) clamped to 0..255. Test values sit at bin centres, t = (k + 1/2) / 256, half a bin
 * (2e-3 in t) from either edge, so rounding in t (~1e-16) cannot move them: the expected entry is k
 * exactly, and pixels must equal the table bit for bit.
 *
 * Backend: none (files only).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "io_png.h"
#include "status.h"
#include "support.h"

typedef struct picture {
    unsigned width, height;
    unsigned char *rgb; /* height x width x 3 */
} picture;

/* Reads `path` with libpng's simplified API; asserts that the file is an 8-bit RGB PNG. */
static picture read_png(const char *path) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_file(&image, path), "libpng cannot read %s: %s", path, image.message);
    cr_assert_eq(image.format, PNG_FORMAT_RGB, "%s: format 0x%x, expected 8-bit RGB without alpha", path, image.format);
    picture p = {image.width, image.height, qt_calloc(PNG_IMAGE_SIZE(image), 1)};
    cr_assert(png_image_finish_read(&image, NULL, p.rgb, 0, NULL), "libpng cannot decode %s: %s", path, image.message);
    return p;
}

static const unsigned char *pixel(const picture *p, unsigned row, unsigned col) {
    return p->rgb + ((size_t)row * p->width + col) * 3;
}

static void expect_colour(const picture *p, unsigned row, unsigned col, const unsigned char *want, const char *what) {
    const unsigned char *got = pixel(p, row, col);
    cr_assert(got[0] == want[0] && got[1] == want[1] && got[2] == want[2],
              "%s: pixel (%u, %u) is (%u, %u, %u), expected (%u, %u, %u)", what, row, col, got[0], got[1], got[2],
              want[0], want[1], want[2]);
}

static void write_ok(const char *path, int64_t rows, int64_t cols, const double *data, const qdml_png_options *o) {
    cr_assert_eq(qdml_png_write(path, rows, cols, data, o), QDML_OK, "%s", qdml_last_error_message());
}

/* Entries of a directory whose name contains `needle`. */
static int count_entries(const char *dir, const char *needle) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot list %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strstr(e->d_name, needle)) ++n;
    closedir(d);
    return n;
}

static unsigned char *read_bytes(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = qt_calloc((size_t)n + 1, 1);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* ---- the colour map ----------------------------------------------------------------------------- */

/* CIELAB L* of an 8-bit sRGB colour (IEC 61966-2-1 transfer curve, Rec. 709 luminance weights,
 * D65 white: L* = 116 f(Y) - 16, f(Y) = Y^(1/3) above (6/29)^3, else linear). */
static double lightness(const unsigned char *rgb) {
    double lin[3];
    for (int c = 0; c < 3; ++c) {
        double v = rgb[c] / 255.0;
        lin[c] = v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
    }
    double Y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    const double e = 6.0 / 29.0;
    double f = Y > e * e * e ? cbrt(Y) : Y / (3.0 * e * e) + 4.0 / 29.0;
    return 116.0 * f - 16.0;
}

Test(png, viridis_lightness_increases_strictly) {
    /* Perceptual order: every entry lighter than the one before. The table's smallest step is 0.021
     * (io_png.c); L* itself is computed to ~1e-14, far below it. Ends as published: dark purple
     * (L* ~ 15) to yellow (L* ~ 91). */
    double prev = lightness(qdml_png_viridis[0]), min_step = INFINITY;
    for (int k = 1; k < 256; ++k) {
        double L = lightness(qdml_png_viridis[k]);
        cr_assert_gt(L, prev, "L*(entry %d) = %.6f is not above L*(entry %d) = %.6f", k, L, k - 1, prev);
        min_step = fmin(min_step, L - prev);
        prev = L;
    }
    const double L0 = lightness(qdml_png_viridis[0]), L255 = lightness(qdml_png_viridis[255]);
    cr_log_info("viridis: L* from %.3f to %.3f, smallest step %.4f", L0, L255, min_step);
    cr_assert(L0 > 14.0 && L0 < 16.0 && L255 > 90.0 && L255 < 92.0, "L* ends %.3f, %.3f", L0, L255);
    /* The NaN colour is not in the map, so a NaN cannot be mistaken for a value. */
    for (int k = 0; k < 256; ++k)
        cr_assert(memcmp(qdml_png_viridis[k], qdml_png_nan_colour, 3) != 0, "entry %d is the NaN colour", k);
}

/* ---- mapping ------------------------------------------------------------------------------------ */

Test(png, linear_ramp_gives_every_entry_in_order) {
    /* 0, 1, ..., 255 in a 16 x 16 array, automatic range [0, 255]: value k has t = k/255 and entry
     * floor(256 k / 255) = k for k < 255 (and 255 for t = 1). Row-major: value 16 r + c at pixel (r, c). */
    char *dir = qt_tmpdir("png");
    char *path = qt_path(dir, "ramp.png");
    double v[256];
    for (int k = 0; k < 256; ++k)
        v[k] = k;
    qdml_png_options o;
    qdml_png_options_default(&o);
    o.upscale = 1;
    write_ok(path, 16, 16, v, &o);
    picture p = read_png(path);
    cr_assert_eq(p.width, 16);
    cr_assert_eq(p.height, 16);
    for (unsigned r = 0; r < 16; ++r)
        for (unsigned c = 0; c < 16; ++c)
            expect_colour(&p, r, c, qdml_png_viridis[16 * r + c], "ramp");
    free(p.rgb);
    free(path);
    qt_rm_rf(dir);
    free(dir);
}

Test(png, bin_centres_map_to_their_entry_for_random_ranges) {
    /* Any range: values at bin centres of [vmin, vmax] (random, seeded; spans 1e-3 to 1e3 wide, offset
     * anywhere in +-1e3) take their entry, and values outside clamp to the ends. Columns 0..255 are
     * the bin centres in a random order; column 256 is below vmin, 257 above vmax. */
    char *dir = qt_tmpdir("png");
    char *path = qt_path(dir, "bins.png");
    qt_rng rng;
    qt_rng_seed(&rng, 2024);
    enum { ROWS = 6, COLS = 258 };
    double *v = qt_calloc(ROWS * COLS, sizeof *v);
    int want[ROWS][COLS];
    for (int r = 0; r < ROWS; ++r) {
        const double width = pow(10.0, 6.0 * qt_uniform(&rng) - 3.0);
        const double lo = 2000.0 * qt_uniform(&rng) - 1000.0;
        int perm[256];
        for (int k = 0; k < 256; ++k)
            perm[k] = k;
        for (int k = 255; k > 0; --k) {
            int j = (int)(qt_uniform(&rng) * (k + 1));
            int t = perm[k];
            perm[k] = perm[j];
            perm[j] = t;
        }
        for (int c = 0; c < 256; ++c) {
            v[r * COLS + c] = lo + (perm[c] + 0.5) / 256.0 * width;
            want[r][c] = perm[c];
            cr_assert_eq(qdml_png_colour_index(v[r * COLS + c], QDML_PNG_LINEAR, lo, lo + width), perm[c]);
        }
        v[r * COLS + 256] = lo - 0.25 * width;
        v[r * COLS + 257] = lo + 3.0 * width;
        want[r][256] = 0;
        want[r][257] = 255;
        /* One picture per row, since each row has its own range. */
        qdml_png_options o;
        qdml_png_options_default(&o);
        o.vmin = lo;
        o.vmax = lo + width;
        o.upscale = 1;
        write_ok(path, 1, COLS, v + r * COLS, &o);
        picture p = read_png(path);
        cr_assert_eq(p.width, COLS);
        cr_assert_eq(p.height, 1);
        for (unsigned c = 0; c < COLS; ++c)
            expect_colour(&p, 0, c, qdml_png_viridis[want[r][c]], "random range");
        free(p.rgb);
    }
    free(v);
    free(path);
    qt_rm_rf(dir);
    free(dir);
}

Test(png, nan_is_white_and_infinities_clamp) {
    char *dir = qt_tmpdir("png");
    char *path = qt_path(dir, "nan.png");
    /* Automatic range from the finite values only: [-1, 3]. */
    const double v[2][4] = {{-1.0, NAN, 3.0, INFINITY}, {-INFINITY, 1.0, NAN, 0.0}};
    qdml_png_options o;
    qdml_png_options_default(&o);
    o.upscale = 1;
    write_ok(path, 2, 4, &v[0][0], &o);
    picture p = read_png(path);
    const unsigned char white[3] = {255, 255, 255};
    cr_assert_eq(memcmp(qdml_png_nan_colour, white, 3), 0);
    expect_colour(&p, 0, 1, white, "NaN");
    expect_colour(&p, 1, 2, white, "NaN");
    expect_colour(&p, 0, 0, qdml_png_viridis[0], "minimum");
    expect_colour(&p, 0, 2, qdml_png_viridis[255], "maximum");
    expect_colour(&p, 0, 3, qdml_png_viridis[255], "+inf");
    expect_colour(&p, 1, 0, qdml_png_viridis[0], "-inf");
    /* 1 is half way: t = 1/2, entry 128; 0 is t = 1/4, entry 64 (both exact in binary). */
    expect_colour(&p, 1, 1, qdml_png_viridis[128], "middle");
    expect_colour(&p, 1, 3, qdml_png_viridis[64], "quarter");
    free(p.rgb);
    /* All NaN: a picture of the NaN colour, not an error. */
    const double nans[3] = {NAN, NAN, NAN};
    write_ok(path, 1, 3, nans, &o);
    p = read_png(path);
    for (unsigned c = 0; c < 3; ++c)
        expect_colour(&p, 0, c, white, "all NaN");
    free(p.rgb);
    free(path);
    qt_rm_rf(dir);
    free(dir);
}

Test(png, log_scale_maps_decades_linearly) {
    /* Given range [1e-3, 1e3]: v_k = 1e-3 * 1e6^((k + 1/2) / 256) takes entry k (k = 0, 37, ..., 255);
     * zero, negative and below-range values take entry 0, values above 1e3 entry 255. */
    char *dir = qt_tmpdir("png");
    char *path = qt_path(dir, "log.png");
    const int ks[] = {0, 1, 37, 100, 128, 200, 254, 255};
    enum { NK = sizeof ks / sizeof ks[0] };
    double v[NK + 4];
    for (int i = 0; i < NK; ++i)
        v[i] = 1e-3 * pow(1e6, (ks[i] + 0.5) / 256.0);
    v[NK] = 0.0;
    v[NK + 1] = -5.0;
    v[NK + 2] = 1e-9;
    v[NK + 3] = 1e9;
    qdml_png_options o;
    qdml_png_options_default(&o);
    o.scale = QDML_PNG_LOG;
    o.vmin = 1e-3;
    o.vmax = 1e3;
    o.upscale = 1;
    write_ok(path, 1, NK + 4, v, &o);
    picture p = read_png(path);
    for (int i = 0; i < NK; ++i)
        expect_colour(&p, 0, (unsigned)i, qdml_png_viridis[ks[i]], "log bin centre");
    expect_colour(&p, 0, NK, qdml_png_viridis[0], "zero in log scale");
    expect_colour(&p, 0, NK + 1, qdml_png_viridis[0], "negative in log scale");
    expect_colour(&p, 0, NK + 2, qdml_png_viridis[0], "below range");
    expect_colour(&p, 0, NK + 3, qdml_png_viridis[255], "above range");
    free(p.rgb);

    /* Automatic log range: top = the largest value (100), bottom QDML_PNG_LOG_DECADES = 6 decades
     * below it (1e-4), not the smallest positive value (1e-12). */
    const double w[5] = {100.0, 1e-12, 1e-4 * pow(1e6, 10.5 / 256.0), 0.0, 1e-4 * pow(1e6, 200.5 / 256.0)};
    qdml_png_options_default(&o);
    o.scale = QDML_PNG_LOG;
    o.upscale = 1;
    double lo, hi;
    cr_assert_eq(qdml_png_resolve_range(w, 5, &o, &lo, &hi), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_float_eq(hi, 100.0, 0.0);
    cr_assert_float_eq(lo, 1e-4, 1e-18, "automatic log bottom %.17g", lo);
    write_ok(path, 1, 5, w, &o);
    p = read_png(path);
    expect_colour(&p, 0, 0, qdml_png_viridis[255], "largest");
    expect_colour(&p, 0, 1, qdml_png_viridis[0], "below the 6 decades");
    expect_colour(&p, 0, 2, qdml_png_viridis[10], "auto log bin 10");
    expect_colour(&p, 0, 3, qdml_png_viridis[0], "zero");
    expect_colour(&p, 0, 4, qdml_png_viridis[200], "auto log bin 200");
    free(p.rgb);
    free(path);
    qt_rm_rf(dir);
    free(dir);
}

Test(png, orientation_and_upscaling) {
    /* 3 x 5 values, each a distinct entry (v = 10 r + c over [0, 255]: entry floor(256 v / 255) = v),
     * drawn 4 x 4 pixels each: a 12 x 20 picture, axis 0 downwards, every block one colour. */
    char *dir = qt_tmpdir("png");
    char *path = qt_path(dir, "up.png");
    double v[15];
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 5; ++c)
            v[r * 5 + c] = 10.0 * r + c;
    qdml_png_options o;
    qdml_png_options_default(&o);
    o.vmin = 0.0;
    o.vmax = 255.0;
    o.upscale = 4;
    write_ok(path, 3, 5, v, &o);
    picture p = read_png(path);
    cr_assert_eq(p.height, 12, "height %u", p.height);
    cr_assert_eq(p.width, 20, "width %u", p.width);
    for (unsigned y = 0; y < 12; ++y)
        for (unsigned x = 0; x < 20; ++x)
            expect_colour(&p, y, x, qdml_png_viridis[10 * (y / 4) + x / 4], "upscaled block");
    free(p.rgb);

    /* Automatic factor: ceil(256 / longer side), at most 16. */
    const struct {
        int64_t rows, cols;
        int k;
    } cases[] = {{10, 20, 13}, {100, 3, 3}, {64, 64, 4}, {128, 100, 2}, {300, 7, 1}, {1, 1, 16}, {2, 15, 16}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        qdml_png_options_default(&o);
        cr_assert_eq(qdml_png_upscale_factor(cases[i].rows, cases[i].cols, &o), cases[i].k, "%lld x %lld",
                     (long long)cases[i].rows, (long long)cases[i].cols);
    }
    double *z = qt_calloc(10 * 20, sizeof *z);
    for (int i = 0; i < 200; ++i)
        z[i] = sin(0.1 * i);
    qdml_png_options_default(&o);
    write_ok(path, 10, 20, z, &o);
    p = read_png(path);
    cr_assert_eq(p.height, 130);
    cr_assert_eq(p.width, 260);
    free(p.rgb);
    free(z);
    free(path);
    qt_rm_rf(dir);
    free(dir);
}

/* ---- failures ------------------------------------------------------------------------------------ */

Test(png, invalid_arguments_name_path_and_value) {
    char *dir = qt_tmpdir("png");
    char *path = qt_path(dir, "bad.png");
    const double v[4] = {1.0, 2.0, 3.0, 4.0};
    qdml_png_options o;
    struct {
        int64_t rows, cols;
        const double *data;
        qdml_png_scale scale;
        double vmin, vmax;
        int upscale;
        const char *needle;
    } cases[] = {
        {0, 4, v, QDML_PNG_LINEAR, NAN, NAN, 0, "0 x 4"},
        {2, -1, v, QDML_PNG_LINEAR, NAN, NAN, 0, "2 x -1"},
        {2, 2, NULL, QDML_PNG_LINEAR, NAN, NAN, 0, "data is NULL"},
        {2, 2, v, QDML_PNG_LINEAR, NAN, NAN, 65, "upscale 65"},
        {2, 2, v, QDML_PNG_LINEAR, NAN, NAN, -1, "upscale -1"},
        {2, 2, v, QDML_PNG_LINEAR, 3.0, 3.0, 0, "vmin < vmax"},
        {2, 2, v, QDML_PNG_LINEAR, 0.0, INFINITY, 0, "not finite"},
        {2, 2, v, QDML_PNG_LOG, 0.0, 1.0, 0, "positive range"},
        {2, 2, v, (qdml_png_scale)7, NAN, NAN, 0, "unknown scale 7"},
        {2000000, 1, v, QDML_PNG_LINEAR, NAN, NAN, 1, "exceeds 1000000 pixels"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        qdml_png_options_default(&o);
        o.scale = cases[i].scale;
        o.vmin = cases[i].vmin;
        o.vmax = cases[i].vmax;
        o.upscale = cases[i].upscale;
        qdml_clear_error(NULL);
        cr_assert_neq(qdml_png_write(path, cases[i].rows, cases[i].cols, cases[i].data, &o), QDML_OK,
                      "case %zu accepted", i);
        cr_assert_not_null(strstr(qdml_last_error_message(), cases[i].needle), "case %zu: '%s' lacks '%s'", i,
                           qdml_last_error_message(), cases[i].needle);
        cr_assert_not_null(strstr(qdml_last_error_message(), path), "case %zu: '%s' does not name the path", i,
                           qdml_last_error_message());
    }
    cr_assert_eq(count_entries(dir, ""), 0, "a refused write left a file behind");
    free(path);
    qt_rm_rf(dir);
    free(dir);
}

Test(png, missing_directory_fails_and_leaves_nothing) {
    char *dir = qt_tmpdir("png");
    char *sub = qt_path(dir, "no-such-dir");
    char *path = qt_path(sub, "x.png");
    const double v[4] = {1.0, 2.0, 3.0, 4.0};
    cr_assert_neq(qdml_png_write(path, 2, 2, v, NULL), QDML_OK);
    cr_assert_not_null(strstr(qdml_last_error_message(), path), "message does not name the path: %s",
                       qdml_last_error_message());
    cr_assert_not_null(strstr(qdml_last_error_message(), strerror(ENOENT)), "message lacks the OS error: %s",
                       qdml_last_error_message());
    cr_assert_eq(count_entries(dir, ""), 0, "something was created in %s", dir);
    free(path);
    free(sub);
    qt_rm_rf(dir);
    free(dir);
}

Test(png, failed_write_keeps_the_previous_file) {
    /* A good picture first; then a large noisy one with the file size limited to 1000 bytes, so that
     * libpng's own write fails part way (fwrite: EFBIG) and reports through its error function. The
     * old file must be intact byte for byte, with no temporary left beside it. */
    char *dir = qt_tmpdir("png");
    char *path = qt_path(dir, "keep.png");
    const double small[4] = {1.0, 2.0, 3.0, 4.0};
    write_ok(path, 2, 2, small, NULL);
    size_t len0;
    unsigned char *before = read_bytes(path, &len0);

    enum { N = 300 };
    double *noise = qt_calloc(N * N, sizeof *noise);
    qt_rng rng;
    qt_rng_seed(&rng, 5);
    for (int i = 0; i < N * N; ++i)
        noise[i] = qt_uniform(&rng);
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 1000;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    qdml_png_options o;
    qdml_png_options_default(&o);
    o.upscale = 1;
    const qdml_status rc = qdml_png_write(path, N, N, noise, &o);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    cr_assert_eq(rc, QDML_ERR_IO, "the write past the file size limit: %s", qdml_status_string(rc));
    cr_log_info("failed write reported: %s", qdml_last_error_message());
    cr_assert_not_null(strstr(qdml_last_error_message(), path), "message does not name the path: %s",
                       qdml_last_error_message());
    cr_assert_not_null(strstr(qdml_last_error_message(), "libpng"),
                       "message does not come from libpng's error path: %s", qdml_last_error_message());
    cr_assert_not_null(strstr(qdml_last_error_message(), strerror(EFBIG)), "message lacks the OS error: %s",
                       qdml_last_error_message());
    size_t len1;
    unsigned char *after = read_bytes(path, &len1);
    cr_assert(len1 == len0 && memcmp(before, after, len0) == 0, "the previous file changed (%zu -> %zu bytes)", len0,
              len1);
    cr_assert_eq(count_entries(dir, ".tmp."), 0, "a temporary file was left behind");
    picture p = read_png(path);
    cr_assert(p.width == 32 && p.height == 32, "the previous 2 x 2 picture (upscaled 16 times) reads back as %u x %u",
              p.width, p.height);
    free(p.rgb);

    /* A path that is a directory: refused before anything is written; no temporary. */
    char *sub = qt_path(dir, "d.png");
    cr_assert_eq(mkdir(sub, 0700), 0);
    char *inner = qt_path(sub, "keep");
    write_ok(inner, 2, 2, small, NULL);
    qdml_clear_error(NULL);
    cr_assert_neq(qdml_png_write(sub, 2, 2, small, NULL), QDML_OK);
    cr_assert_not_null(strstr(qdml_last_error_message(), "is a directory"), "%s", qdml_last_error_message());
    cr_assert_eq(count_entries(dir, ".tmp."), 0, "a temporary file was left behind after a refused write");
    free(inner);
    free(sub);
    free(before);
    free(after);
    free(noise);
    free(path);
    qt_rm_rf(dir);
    free(dir);
}
