/* `qdml demo NAME` and `--png`, run as a user would: exit statuses, the files written, and the
 * numbers in them checked here against the closed forms again (not only the demo's own verdict).
 *
 * Backend: the program's default, --backend auto (CUDA where a device is present, else the CPU), on
 * purpose: these tests check what a user gets without choosing, with float64 bounds meant for either
 * backend. QDML_TEST_BACKEND does not apply to the program.
 */
#include "cli_support.h"
#include "io_npy.h"
#include "io_png.h"
#include "io_figure.h"
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Reads an npy file of the expected dtype and shape; asserts. */
static qdml_npy_array read_npy(const char *dir, const char *name, qdml_npy_dtype dtype, int ndim,
                               const int64_t *shape) {
    char *p = qt_path(dir, name);
    qdml_npy_array a;
    cr_assert_eq(qdml_npy_read(p, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.dtype, dtype, "%s: dtype", name);
    cr_assert_eq(a.ndim, ndim, "%s: ndim %d", name, a.ndim);
    for (int d = 0; d < ndim; ++d)
        cr_assert_eq(a.shape[d], shape[d], "%s: axis %d has %lld", name, d, (long long)a.shape[d]);
    free(p);
    return a;
}

/* Checks the PNG signature and the IHDR chunk (8-bit RGB, width x height) by hand, then decodes
 * the whole picture with libpng; returns the RGB pixels (malloc'd). */
static unsigned char *check_png(const char *path, unsigned width, unsigned height) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s was not written", path);
    unsigned char h[33];
    cr_assert_eq(fread(h, 1, sizeof h, f), sizeof h, "%s is too short for a PNG", path);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    cr_assert_eq(memcmp(h, sig, 8), 0, "%s: no PNG signature", path);
    cr_assert(h[8] == 0 && h[9] == 0 && h[10] == 0 && h[11] == 13 && memcmp(h + 12, "IHDR", 4) == 0,
              "%s: the first chunk is not a 13-byte IHDR", path);
    const unsigned w = (unsigned)h[16] << 24 | (unsigned)h[17] << 16 | (unsigned)h[18] << 8 | h[19];
    const unsigned ht = (unsigned)h[20] << 24 | (unsigned)h[21] << 16 | (unsigned)h[22] << 8 | h[23];
    cr_assert(w == width && ht == height, "%s: IHDR says %u x %u, expected %u x %u", path, w, ht, width, height);
    cr_assert(h[24] == 8 && h[25] == 2, "%s: bit depth %u, colour type %u (expected 8-bit RGB)", path, h[24], h[25]);
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_file(&image, path), "%s: %s", path, image.message);
    image.format = PNG_FORMAT_RGB;
    unsigned char *rgb = qt_calloc(PNG_IMAGE_SIZE(image), 1);
    cr_assert(png_image_finish_read(&image, NULL, rgb, 0, NULL), "%s: %s", path, image.message);
    return rgb;
}

static const char *const demo_names[] = {"double-well", "softmax", "sigmoid", "diffusion", "taylor"};
enum { NDEMOS = sizeof demo_names / sizeof demo_names[0] };

/* ---- listing and dispatch ---------------------------------------------------------------------- */

Test(cli_demo, list_names_every_demo) {
    char *dir = qt_tmpdir("demo");
    cli_result r = RUN(dir, "demo", "--list");
    expect_ok(&r);
    for (int i = 0; i < NDEMOS; ++i) {
        char line[64];
        snprintf(line, sizeof line, "  %s ", demo_names[i]);
        cr_assert_not_null(strstr(r.out, line), "--list does not name '%s':\n%s", demo_names[i], r.out);
    }
    int lines = 0;
    for (const char *p = r.out; *p; ++p)
        lines += *p == '\n';
    cr_assert_eq(lines, NDEMOS, "one line per demo expected:\n%s", r.out);
    cli_free(&r);
    /* Each demo has its own help. */
    for (int i = 0; i < NDEMOS; ++i) {
        r = RUN(dir, "demo", demo_names[i], "--help");
        expect_ok(&r);
        cr_assert_not_null(strstr(r.out, "Usage: qdml demo"), "%s --help: %s", demo_names[i], r.out);
        cli_free(&r);
    }
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_demo, unknown_name_exits_2_with_the_list) {
    char *dir = qt_tmpdir("demo");
    char *x = qt_path(dir, "x");
    cli_result r = RUN(dir, "demo", "frobnicate", "--out", x);
    cr_assert_eq(r.status, 2, "exit %d; stderr: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "qdml demo: unknown demo 'frobnicate'"), "%s", r.err);
    for (int i = 0; i < NDEMOS; ++i)
        cr_assert_not_null(strstr(r.err, demo_names[i]), "the list on stderr lacks '%s':\n%s", demo_names[i], r.err);
    cr_assert_eq(r.out[0], '\0', "stdout not empty: %s", r.out);
    struct stat st;
    cr_assert_neq(stat(x, &st), 0, "an unknown demo created its output folder");
    free(x);
    cli_free(&r);
    /* Options are still checked after a name. */
    r = RUN(dir, "demo", "softmax", "--bogus");
    cr_assert_eq(r.status, 2);
    cr_assert_not_null(strstr(r.err, "unknown option '--bogus'"), "%s", r.err);
    cli_free(&r);
    qt_rm_rf(dir);
    free(dir);
}

/* ---- each demo ---------------------------------------------------------------------------------- */

/* Runs `qdml demo NAME --out OUT`; expects exit 0, the folder named, the verdict "agrees". */
static char *run_demo(const char *dir, const char *name) {
    char *out = qt_path(dir, name);
    cli_result r = RUN(dir, "demo", name, "--out", out, "--threads", "1");
    expect_ok(&r);
    cr_assert_not_null(strstr(r.out, out), "%s: the output folder is not named on stdout:\n%s", name, r.out);
    cli_free(&r);
    char *summary = qt_path(out, "summary.json");
    char *text = slurp(summary);
    cr_assert(strlen(text) > 20, "%s: summary.json is empty", name);
    if (strcmp(name, "double-well") != 0)
        cr_assert_not_null(strstr(text, "\"agrees\": true"), "%s: summary.json does not agree:\n%s", name, text);
    free(text);
    free(summary);
    return out;
}

Test(cli_demo, double_well_by_name_writes_pictures, .timeout = 120) {
    char *dir = qt_tmpdir("demo");
    char *out = run_demo(dir, "double-well");
    /* 128 x 128 grids drawn 2 x 2 pixels per value. The ground state sits in the left well
     * (x ~ -0.98, y = 0): row 2 i of the picture for grid row i, so near row 2 * 48.3 = 97, column 128,
     * the brightest colour is found. */
    const char *pics[] = {"ground_density.png", "real_density_final.png"};
    for (int i = 0; i < 2; ++i) {
        char *p = qt_path(out, pics[i]);
        unsigned char *rgb = check_png(p, 256, 256);
        if (i == 0) {
            int found = 0;
            for (unsigned y = 90; y < 104 && !found; ++y)
                for (unsigned x = 122; x < 134 && !found; ++x)
                    found = memcmp(rgb + 3 * (y * 256 + x), qdml_png_viridis[255], 3) == 0;
            cr_assert(found, "the density maximum is not drawn near the left well's minimum");
        }
        free(rgb);
        free(p);
    }
    free(out);
    qt_rm_rf(dir);
    free(dir);
}

static double softmax_k(const double *E, int K, double beta, int k) {
    double top = -INFINITY, sum = 0.0;
    for (int i = 0; i < K; ++i)
        top = fmax(top, beta * E[i]);
    for (int i = 0; i < K; ++i)
        sum += exp(beta * E[i] - top);
    return exp(beta * E[k] - top) / sum;
}

Test(cli_demo, softmax_files_hold_the_softmax) {
    /* probabilities.npy row b is softmax(-tau E / hbar_b) with tau = 1 and hbar_b = 4, 2, 1, 0.5, 0.25
     * (the demo's help); the rows sum to 1. Tolerance: the demo's rounding bound is below 2e-13. */
    char *dir = qt_tmpdir("demo");
    char *out = run_demo(dir, "softmax");
    const int64_t s1[1] = {8}, s2[2] = {5, 8};
    qdml_npy_array E = read_npy(out, "energies.npy", QDML_NPY_F64, 1, s1);
    qdml_npy_array P = read_npy(out, "probabilities.npy", QDML_NPY_F64, 2, s2);
    qdml_npy_array B = read_npy(out, "born.npy", QDML_NPY_F64, 2, s2);
    const double hbar[5] = {4.0, 2.0, 1.0, 0.5, 0.25};
    for (int b = 0; b < 5; ++b) {
        double sum = 0.0;
        for (int k = 0; k < 8; ++k) {
            const double want = softmax_k(E.data, 8, -1.0 / hbar[b], k);
            const double born = softmax_k(E.data, 8, -2.0 / hbar[b], k);
            cr_assert_leq(fabs(P.data[b * 8 + k] - want), 2e-13 * want, "member %d cell %d: %.17g, softmax %.17g", b, k,
                          P.data[b * 8 + k], want);
            cr_assert_leq(fabs(B.data[b * 8 + k] - born), 2e-13 * born, "member %d cell %d Born: %.17g vs %.17g", b, k,
                          B.data[b * 8 + k], born);
            sum += P.data[b * 8 + k];
        }
        cr_assert_float_eq(sum, 1.0, 1e-14, "member %d sums to %.17g", b, sum);
    }
    char *csv = qt_path(out, "softmax.csv");
    char *text = slurp(csv);
    cr_assert_eq(strncmp(text, "member,hbar,temperature,cell,energy,p,softmax", 45), 0, "%s", text);
    free(text);
    free(csv);
    qdml_npy_free(&E);
    qdml_npy_free(&P);
    qdml_npy_free(&B);
    free(out);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_demo, sigmoid_files_hold_the_sigmoid) {
    char *dir = qt_tmpdir("demo");
    char *out = run_demo(dir, "sigmoid");
    const int64_t se[2] = {17, 2}, s1[1] = {17};
    qdml_npy_array E = read_npy(out, "energies.npy", QDML_NPY_F64, 2, se);
    qdml_npy_array p1 = read_npy(out, "p1.npy", QDML_NPY_F64, 1, s1);
    for (int b = 0; b < 17; ++b) {
        const double dE = E.data[2 * b + 1] - E.data[2 * b];
        const double want = 1.0 / (1.0 + exp(dE)); /* hbar = tau = 1 */
        cr_assert_leq(fabs(p1.data[b] - want), 1e-13 * want, "member %d (dE %g): %.17g, sigmoid %.17g", b, dE,
                      p1.data[b], want);
    }
    /* The differences span -4 .. 4, so p1 runs from ~0.98 down to ~0.018. */
    cr_assert_gt(p1.data[0], 0.98);
    cr_assert_lt(p1.data[16], 0.02);
    qdml_npy_free(&E);
    qdml_npy_free(&p1);
    free(out);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_demo, diffusion_files_and_pictures, .timeout = 120) {
    /* Densities keep their mass (the k = 0 mode is untouched: 1 to 1e-12) and stay non-negative to
     * rounding; the sample histograms are densities too (mass exactly 1: every sample lands in a cell);
     * every tau's chi^2 is within the stated bound. */
    char *dir = qt_tmpdir("demo");
    char *out = run_demo(dir, "diffusion");
    const int64_t sd[3] = {4, 64, 64}, sh[3] = {3, 64, 64};
    qdml_npy_array D = read_npy(out, "densities.npy", QDML_NPY_F64, 3, sd);
    qdml_npy_array H = read_npy(out, "samples.npy", QDML_NPY_F64, 3, sh);
    const double dv = 0.25 * 0.25;
    for (int k = 0; k < 4; ++k) {
        double mass = 0.0, lowest = 0.0;
        for (int i = 0; i < 64 * 64; ++i) {
            mass += D.data[k * 4096 + i] * dv;
            lowest = fmin(lowest, D.data[k * 4096 + i]);
        }
        cr_assert_float_eq(mass, 1.0, 1e-12, "densities[%d] has mass %.15g", k, mass);
        cr_assert_geq(lowest, -1e-12, "densities[%d] goes negative: %.3g", k, lowest);
    }
    for (int k = 0; k < 3; ++k) {
        double mass = 0.0;
        for (int i = 0; i < 64 * 64; ++i)
            mass += H.data[k * 4096 + i] * dv;
        cr_assert_float_eq(mass, 1.0, 1e-12, "samples[%d] has mass %.15g", k, mass);
    }
    char *sp = qt_path(out, "summary.json");
    char *text = slurp(sp);
    const double chi2 = json_num(text, "chi2", 0), dof = json_num(text, "dof", 0),
                 bound = json_num(text, "chi2_bound", 0);
    cr_assert(dof > 50 && chi2 <= bound && fabs(bound - (dof + 5.0 * sqrt(2.0 * dof))) < 1e-9,
              "chi2 %g, dof %g, bound %g", chi2, dof, bound);
    free(text);
    free(sp);
    const char *pics[] = {"density_0.png", "density_1.png", "density_2.png", "density_3.png",
                          "samples_1.png", "samples_2.png", "samples_3.png"};
    for (int i = 0; i < 7; ++i) {
        char *p = qt_path(out, pics[i]);
        free(check_png(p, 256, 256)); /* 64 x 64 drawn 4 x 4 pixels each */
        free(p);
    }
    qdml_npy_free(&D);
    qdml_npy_free(&H);
    free(out);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_demo, taylor_snapshots_follow_the_closed_form) {
    /* From psi_snapshots.npy alone: centre and variance of psi at tau = 0, 0.5, .., 2 against
     * x0 - (s^2 tau + D tau^2) g / hbar and s^2 + 2 D tau, with hbar = m = 1, s = 1, x0 = (1, 0.4),
     * g = (0.5, 0.2) (the demo's help), to the demo's bound 1e-6. */
    char *dir = qt_tmpdir("demo");
    char *out = run_demo(dir, "taylor");
    const int64_t s3[3] = {5, 128, 128};
    qdml_npy_array S = read_npy(out, "psi_snapshots.npy", QDML_NPY_F64, 3, s3);
    const double x0[2] = {1.0, 0.4}, g[2] = {0.5, 0.2}, D = 0.5;
    for (int k = 0; k < 5; ++k) {
        const double tau = 0.5 * k;
        double m0 = 0.0, m1[2] = {0, 0}, m2[2] = {0, 0};
        for (int i = 0; i < 128; ++i)
            for (int j = 0; j < 128; ++j) {
                const double w = S.data[(int64_t)k * 16384 + i * 128 + j];
                const double x[2] = {-14.0 + 28.0 * i / 128, -14.0 + 28.0 * j / 128};
                m0 += w;
                for (int d = 0; d < 2; ++d) {
                    m1[d] += w * x[d];
                    m2[d] += w * x[d] * x[d];
                }
            }
        for (int d = 0; d < 2; ++d) {
            const double c = m1[d] / m0, v = m2[d] / m0 - c * c;
            const double cf = x0[d] - (tau + D * tau * tau) * g[d], vf = 1.0 + 2.0 * D * tau;
            cr_assert_leq(fabs(c - cf), 1e-6, "tau %g axis %d: centre %.12g, closed form %.12g", tau, d, c, cf);
            cr_assert_leq(fabs(v - vf), 1e-6 * vf, "tau %g axis %d: variance %.12g, closed form %.12g", tau, d, v, vf);
        }
    }
    const char *pics[] = {"path.png", "final.png"};
    for (int i = 0; i < 2; ++i) {
        char *p = qt_path(out, pics[i]);
        free(check_png(p, 256, 256)); /* a 64 x 64 window drawn 4 x 4, and 128 x 128 drawn 2 x 2 */
        free(p);
    }
    qdml_npy_free(&S);
    free(out);
    qt_rm_rf(dir);
    free(dir);
}

/* ---- --png ------------------------------------------------------------------------------------- */

/* V = (x - 1)^2 / 2 + y^2 on [-6, 6) x [-5, 5) of 32 x 24 points, times `scale`. */
static double *bowl_2d(double scale) {
    double *v = qt_calloc(32 * 24, sizeof *v);
    for (int i = 0; i < 32; ++i)
        for (int j = 0; j < 24; ++j) {
            const double x = -6.0 + 12.0 * i / 32, y = -5.0 + 10.0 * j / 24;
            v[i * 24 + j] = scale * (0.5 * (x - 1.0) * (x - 1.0) + y * y);
        }
    return v;
}

/* The picture --png draws: with cairo in the build, a 720 x 560 figure (io_figure.c) whose plot of
 * this 32 x 24 grid on [-6, 6) x [-5, 5) is 490 x 408 pixels from (80, 82), x across and y up, one
 * cell 15.3 x 17 pixels; without, the bare 192 x 256 picture (upscaled 8 times, axis 0 downwards). */
static const unsigned fig_w = 720, fig_h = 560;

Test(cli_demo, png_of_a_2d_ground_state) {
    /* The density peaks at the grid point nearest x = 1, y = 0, (i, j) = (19, 12): drawn in the brightest
     * colour there (figure: pixel columns 371..385 and rows 269..286; bare picture: rows 152..159,
     * columns 96..103), and the corner of the grid, far from the minimum, in the first colour. */
    char *dir = qt_tmpdir("demo");
    const int64_t shape[2] = {32, 24};
    double *v = bowl_2d(1.0);
    char *vp = write_f64(dir, "V.npy", 2, shape, v);
    char *png = qt_path(dir, "rho.png");
    cli_result r = RUN(dir, "ground", "--potential", vp, "--box", "-6:6,-5:5", "--png", png, "--threads", "1");
    expect_ok(&r);
    cli_free(&r);
    const int fig = qdml_figure_available();
    const unsigned pw = fig ? fig_w : 192, phh = fig ? fig_h : 256;
    unsigned char *rgb = check_png(png, pw, phh);
    int found = 0;
    const unsigned ya = fig ? 268 : 140, yb = fig ? 288 : 160, xa = fig ? 369 : 88, xb = fig ? 387 : 104;
    for (unsigned y = ya; y < yb && !found; ++y)
        for (unsigned x = xa; x < xb && !found; ++x)
            found = memcmp(rgb + 3 * (y * pw + x), qdml_png_viridis[255], 3) == 0;
    cr_assert(found, "the density maximum is not drawn at x = 1, y = 0");
    const unsigned cx = fig ? 82 : 0, cy = fig ? 84 : 0;
    cr_assert_eq(memcmp(rgb + 3 * (cy * pw + cx), qdml_png_viridis[0], 3), 0,
                 "the corner (far from the minimum) is not the first colour");
    free(rgb);

    /* A batch of two: one picture per member, FILE_0.png and FILE_1.png; FILE itself is not written. */
    double *vb = qt_calloc(2 * 32 * 24, sizeof *vb);
    double *v2 = bowl_2d(2.0);
    memcpy(vb, v, sizeof(double) * 32 * 24);
    memcpy(vb + 32 * 24, v2, sizeof(double) * 32 * 24);
    const int64_t bshape[3] = {2, 32, 24};
    char *vbp = write_f64(dir, "VB.npy", 3, bshape, vb);
    char *bpng = qt_path(dir, "batch.png");
    r = RUN(dir, "ground", "--potential", vbp, "--batch", "--box", "-6:6,-5:5", "--png", bpng, "--threads", "1");
    expect_ok(&r);
    cli_free(&r);
    for (int b = 0; b < 2; ++b) {
        char name[32];
        snprintf(name, sizeof name, "batch_%d.png", b);
        char *p = qt_path(dir, name);
        free(check_png(p, pw, phh));
        free(p);
    }
    cr_assert(!file_exists(bpng), "with two members the unnumbered file should not be written");

    /* evolve --png on the same grid. */
    double *psi = qt_calloc(32 * 24, sizeof *psi);
    for (int i = 0; i < 32 * 24; ++i)
        psi[i] = exp(-v[i]);
    char *pp = write_f64(dir, "psi0.npy", 2, shape, psi);
    char *epng = qt_path(dir, "evolved.png");
    r = RUN(dir, "evolve", "--mode", "imag", "--potential", vp, "--box", "-6:6,-5:5", "--psi0", pp, "--time", "0.5",
            "--dt", "0.05", "--png", epng, "--threads", "1");
    expect_ok(&r);
    cli_free(&r);
    free(check_png(epng, pw, phh));
    free(epng);
    free(pp);
    free(psi);
    free(bpng);
    free(vbp);
    free(v2);
    free(vb);
    free(png);
    free(vp);
    free(v);
    qt_rm_rf(dir);
    free(dir);
}


Test(cli_demo, png_of_a_1d_grid_is_a_chart_and_3d_is_refused) {
    char *dir = qt_tmpdir("demo");
    char *png = qt_path(dir, "rho.png"), *hpng = qt_path(dir, "hist.png");
    cli_result r = RUN(dir, "ground", "--objective", "double_well", "--dim", "1", "--n", "64", "--png", png,
                       "--history-png", hpng, "--method", "imaginary-time", "--threads", "1");
    if (qdml_figure_available()) {
        expect_ok(&r);
        free(check_png(png, fig_w, fig_h));
        free(check_png(hpng, fig_w, fig_h));
    } else {
        cr_assert_eq(r.status, 2, "exit %d; stderr: %s", r.status, r.err);
        cr_assert_not_null(strstr(r.err, "--history-png"), "%s", r.err);
    }
    cli_free(&r);
    r = RUN(dir, "ground", "--objective", "harmonic", "--dim", "3", "--n", "8", "--png", png);
    cr_assert_eq(r.status, 2, "exit %d; stderr: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "1D and 2D grids"), "%s", r.err);
    cli_free(&r);
    free(png);
    free(hpng);
    qt_rm_rf(dir);
    free(dir);
}
