/* The qdml program, run as a user would: exit statuses, messages on stderr, and numbers on stdout
 * and in the files it writes.
 *
 * Backend: the program's default, --backend auto (CUDA where a device is present, else the CPU), on
 * purpose: these tests check what a user gets without choosing, with float64 bounds meant for either
 * backend. QDML_TEST_BACKEND does not apply to the program.
 */
#include "cli_support.h"
#include "io_npy.h"
#include "support.h"

#include <complex.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define QT_PI 3.14159265358979323846

#ifndef QDML_CLI_PATH
#error "QDML_CLI_PATH must name the built qdml program"
#endif


static double xj(double lo, double hi, int64_t n, int64_t j) { return lo + (double)j * (hi - lo) / (double)n; }

/* 0.5 w^2 x^2 sampled on n points of [lo, hi). */
static double *harmonic_1d(int64_t n, double lo, double hi, double w) {
    double *v = malloc((size_t)n * sizeof *v);
    for (int64_t j = 0; j < n; ++j) {
        double x = xj(lo, hi, n, j);
        v[j] = 0.5 * w * w * x * x;
    }
    return v;
}

/* A small valid 1D problem for the error tests: V (32,) and psi0 (32,) complex on 0:10. */
typedef struct small_inputs {
    char *v, *psi;
} small_inputs;

static small_inputs small_problem(const char *dir) {
    const int64_t n[1] = {32};
    double v[32], psi[64];
    for (int j = 0; j < 32; ++j) {
        double x = xj(-5, 5, 32, j);
        v[j] = 0.5 * x * x;
        psi[2 * j] = exp(-0.5 * x * x) / pow(QT_PI, 0.25);
        psi[2 * j + 1] = 0.0;
    }
    small_inputs s = {write_f64(dir, "small_v.npy", 1, n, v), write_c128(dir, "small_psi.npy", 1, n, psi)};
    return s;
}

static void small_free(small_inputs *s) {
    free(s->v);
    free(s->psi);
}

/* Free Gaussian packet, closed form (DESIGN.md), one axis. */
static double complex free_packet(double x, double t, double x0, double s0, double k0, double hbar, double m) {
    const double theta = hbar * t / (2.0 * m * s0 * s0);
    const double v = hbar * k0 / m, w = hbar * k0 * k0 / (2.0 * m);
    const double complex a = 1.0 + I * theta;
    const double dx = x - x0 - v * t;
    return pow(2.0 * QT_PI * s0 * s0, -0.25) / csqrt(a) *
           cexp(-dx * dx / (4.0 * s0 * s0 * a) + I * k0 * (x - x0) - I * w * t);
}

/* ---- success paths: numbers ------------------------------------------------------------------ */

Test(cli_ground, harmonic_1d_energy) {
    char *dir = qt_tmpdir("cli");
    const int64_t n[1] = {256};
    double *v = harmonic_1d(256, -10, 10, 1.0);
    char *vp = write_f64(dir, "v.npy", 1, n, v);
    cli_result r = RUN(dir, "ground", "--potential", vp, "--box=-10:10", "--json");
    expect_ok(&r);
    cr_assert_float_eq(json_num(r.out, "energy", 0), 0.5, 1e-6, "%s", r.out);
    cr_assert_eq(json_bool(r.out, "converged", 0), 1, "%s", r.out);
    cr_assert(json_num(r.out, "residual", 0) <= 1e-6, "%s", r.out);
    cr_assert(json_num(r.out, "steps", 0) >= 1, "%s", r.out);
    cr_assert_float_eq(json_num(r.out, "norm", 0), 1.0, 1e-9);
    cr_assert_float_eq(json_num(r.out, "kinetic", 0), 0.25, 1e-5);
    cr_assert_float_eq(json_num(r.out, "potential", 0), 0.25, 1e-5);
    cr_assert_float_eq(json_num(r.out, "density_max", 0), 1.0 / sqrt(QT_PI), 1e-5);
    double a[3];
    cr_assert_eq(json_array(r.out, "mean", a, 3), 1, "%s", r.out);
    cr_assert_float_eq(a[0], 0.0, 1e-9);
    cr_assert_eq(json_array(r.out, "width", a, 3), 1);
    cr_assert_float_eq(a[0], sqrt(0.5), 1e-5);
    cr_assert_eq(json_array(r.out, "argmax", a, 3), 1);
    cr_assert_float_eq(a[0], 0.0, 1e-12);
    cli_free(&r);
    free(v);
    free(vp);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_ground, hbar_scales_energy) {
    char *dir = qt_tmpdir("cli");
    const int64_t n[1] = {256};
    double *v = harmonic_1d(256, -10, 10, 1.0);
    char *vp = write_f64(dir, "v.npy", 1, n, v);
    cli_result r = RUN(dir, "ground", "--potential", vp, "--box", "-10:10", "--hbar", "0.5", "--json");
    expect_ok(&r);
    cr_assert_float_eq(json_num(r.out, "energy", 0), 0.25, 1e-6, "%s", r.out);
    cr_assert_eq(json_bool(r.out, "converged", 0), 1);
    cli_free(&r);
    /* m = 4 halves the frequency: E = 0.25 again, by another route. */
    r = RUN(dir, "ground", "--potential", vp, "--box", "-10:10", "--mass=4", "--json", "--tol", "1e-7");
    expect_ok(&r);
    cr_assert_float_eq(json_num(r.out, "energy", 0), 0.25, 1e-6, "%s", r.out);
    cli_free(&r);
    free(v);
    free(vp);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_ground, anisotropic_2d_and_output) {
    char *dir = qt_tmpdir("cli");
    const int64_t n[2] = {64, 48};
    double *v = malloc(64 * 48 * sizeof *v);
    for (int i = 0; i < 64; ++i)
        for (int j = 0; j < 48; ++j) {
            double x = xj(-8, 8, 64, i), y = xj(-6, 6, 48, j);
            v[i * 48 + j] = 0.5 * x * x + 2.0 * y * y; /* wx = 1, wy = 2 */
        }
    char *vp = write_f64(dir, "v2.npy", 2, n, v);
    char *out = qt_path(dir, "psi.npy");
    char *hist = qt_path(dir, "h.csv");
    cli_result r = RUN(dir, "ground", "--potential", vp, "--box", "-8:8,-6:6", "--json", "--out", out, "--history",
                       hist, "--threads=1");
    expect_ok(&r);
    cr_assert_float_eq(json_num(r.out, "energy", 0), 1.5, 1e-6, "%s", r.out);
    cr_assert_eq(json_bool(r.out, "converged", 0), 1);
    double w[3];
    cr_assert_eq(json_array(r.out, "width", w, 3), 2, "%s", r.out);
    cr_assert_float_eq(w[0], sqrt(0.5), 1e-5);
    cr_assert_float_eq(w[1], 0.5, 1e-5);
    cli_free(&r);

    qdml_npy_array a;
    cr_assert_eq(qdml_npy_read(out, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.dtype, QDML_NPY_C128);
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.shape[0], 64);
    cr_assert_eq(a.shape[1], 48);
    double norm = 0.0;
    for (int64_t i = 0; i < a.count; ++i)
        norm += a.data[2 * i] * a.data[2 * i] + a.data[2 * i + 1] * a.data[2 * i + 1];
    norm *= (16.0 / 64) * (12.0 / 48);
    cr_assert_float_eq(norm, 1.0, 1e-9);
    qdml_npy_free(&a);

    char *csv = slurp(hist);
    const char *cols = "member,step,time,dt,norm,kinetic,potential,energy,residual,mean_0,mean_1,width_0";
    cr_assert_eq(strncmp(csv, cols, strlen(cols)), 0, "%s", csv);
    cr_assert(count_substr(csv, "\n") >= 2, "history has no rows");
    free(csv);

    /* One range for every axis stretches the y samples by 8/6: V = 2 (0.75 y)^2, wy = 1.5, E = 1.25. */
    r = RUN(dir, "ground", "--potential", vp, "--box", "-8:8", "--json", "--tol", "1e-5");
    expect_ok(&r);
    cr_assert_float_eq(json_num(r.out, "energy", 0), 1.25, 1e-6, "%s", r.out);
    cli_free(&r);
    free(v);
    free(vp);
    free(out);
    free(hist);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_ground, batch_of_two) {
    char *dir = qt_tmpdir("cli");
    const int64_t n[2] = {2, 256};
    double *v1 = harmonic_1d(256, -10, 10, 1.0), *v2 = harmonic_1d(256, -10, 10, 2.0);
    double *v = malloc(512 * sizeof *v);
    memcpy(v, v1, 256 * sizeof *v);
    memcpy(v + 256, v2, 256 * sizeof *v);
    char *vp = write_f64(dir, "vb.npy", 2, n, v);
    char *out = qt_path(dir, "psib.npy");
    cli_result r = RUN(dir, "ground", "--batch", "--potential", vp, "--box=-10:10", "--json", "--out", out);
    expect_ok(&r);
    const char *p = r.out;
    while (*p == ' ' || *p == '\n')
        ++p;
    cr_assert_eq(*p, '[', "expected a JSON array: %s", r.out);
    cr_assert_eq(count_substr(r.out, "\"energy\":"), 2, "%s", r.out);
    cr_assert_float_eq(json_num(r.out, "energy", 0), 0.5, 1e-6, "%s", r.out);
    cr_assert_float_eq(json_num(r.out, "energy", 1), 1.0, 1e-6, "%s", r.out);
    cr_assert_eq(json_bool(r.out, "converged", 0), 1);
    cr_assert_eq(json_bool(r.out, "converged", 1), 1);
    cli_free(&r);
    qdml_npy_array a;
    cr_assert_eq(qdml_npy_read(out, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.dtype, QDML_NPY_C128);
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.shape[0], 2);
    cr_assert_eq(a.shape[1], 256);
    qdml_npy_free(&a);
    free(v);
    free(v1);
    free(v2);
    free(vp);
    free(out);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_ground, readable_summary_without_json) {
    char *dir = qt_tmpdir("cli");
    small_inputs s = small_problem(dir);
    cli_result r = RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "--tol", "1e-4");
    expect_ok(&r);
    cr_assert_not_null(strstr(r.out, "energy"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "converged"), "%s", r.out);
    cr_assert_null(strstr(r.out, "{"), "summary should not be JSON: %s", r.out);
    cr_assert_eq(r.err[0], '\0', "stderr should be empty when not a terminal: %s", r.err);
    cli_free(&r);
    /* A step limit that cannot be met: reported, not an error. */
    r = RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "--max-steps", "3", "--json");
    expect_ok(&r);
    cr_assert_eq(json_bool(r.out, "converged", 0), 0, "%s", r.out);
    cr_assert(json_num(r.out, "steps", 0) <= 3, "%s", r.out);
    cr_assert_not_null(strstr(r.err, "did not converge"), "%s", r.err);
    cli_free(&r);
    small_free(&s);
    qt_rm_rf(dir);
    free(dir);
}

static void check_free_packet(const char *dir, int dim) {
    /* 1D: 512 points on [-20, 20); 2D: 128 x 64 on [-16, 16) x [-12, 12). Tails at the edges are far
     * below 1e-12, so the periodic box does not matter. */
    int64_t n[2] = {dim == 1 ? 512 : 128, 64};
    double lo[2] = {dim == 1 ? -20 : -16, -12}, hi[2] = {dim == 1 ? 20 : 16, 12};
    double x0[2] = {-2.0, 1.0}, s0[2] = {1.0, 0.8}, k0[2] = {1.0, -0.5};
    const double hbar = 0.7, mass = 1.3, T = 1.0, DT = 0.01;
    int64_t npts = dim == 1 ? n[0] : n[0] * n[1];
    double *v = calloc((size_t)npts, sizeof *v);
    double *psi = malloc(2 * (size_t)npts * sizeof *psi);
    for (int64_t idx = 0; idx < npts; ++idx) {
        int64_t i = dim == 1 ? idx : idx / n[1], j = dim == 1 ? 0 : idx % n[1];
        double complex z = free_packet(xj(lo[0], hi[0], n[0], i), 0.0, x0[0], s0[0], k0[0], hbar, mass);
        if (dim == 2) z *= free_packet(xj(lo[1], hi[1], n[1], j), 0.0, x0[1], s0[1], k0[1], hbar, mass);
        psi[2 * idx] = creal(z);
        psi[2 * idx + 1] = cimag(z);
    }
    char *vp = write_f64(dir, "free_v.npy", dim, n, v);
    char *pp = write_c128(dir, "free_psi0.npy", dim, n, psi);
    char *out = qt_path(dir, "free_out.npy");
    char box[128];
    if (dim == 1)
        snprintf(box, sizeof box, "%g:%g", lo[0], hi[0]);
    else
        snprintf(box, sizeof box, "%g:%g,%g:%g", lo[0], hi[0], lo[1], hi[1]);
    cli_result r = RUN(dir, "evolve", "--mode", "real", "--potential", vp, "--box", box, "--psi0", pp, "--time", "1",
                       "--dt", "0.01", "--hbar", "0.7", "--mass", "1.3", "--out", out, "--json");
    expect_ok(&r);
    cr_assert_eq(json_num(r.out, "steps", 0), 100.0, "%s", r.out);
    cr_assert_float_eq(json_num(r.out, "norm", 0), 1.0, 1e-10, "%s", r.out);
    cli_free(&r);
    qdml_npy_array a;
    cr_assert_eq(qdml_npy_read(out, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.dtype, QDML_NPY_C128);
    cr_assert_eq(a.ndim, dim);
    cr_assert_eq(a.count, npts);
    double maxerr = 0.0;
    for (int64_t idx = 0; idx < npts; ++idx) {
        int64_t i = dim == 1 ? idx : idx / n[1], j = dim == 1 ? 0 : idx % n[1];
        double complex z = free_packet(xj(lo[0], hi[0], n[0], i), T, x0[0], s0[0], k0[0], hbar, mass);
        if (dim == 2) z *= free_packet(xj(lo[1], hi[1], n[1], j), T, x0[1], s0[1], k0[1], hbar, mass);
        double e = cabs(a.data[2 * idx] + I * a.data[2 * idx + 1] - z);
        if (e > maxerr) maxerr = e;
    }
    cr_assert(maxerr < 1e-9, "%dD free packet: max |psi - closed form| = %.3e", dim, maxerr);
    (void)DT;
    qdml_npy_free(&a);
    free(v);
    free(psi);
    free(vp);
    free(pp);
    free(out);
}

Test(cli_evolve, free_packet_matches_closed_form_1d) {
    char *dir = qt_tmpdir("cli");
    check_free_packet(dir, 1);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_evolve, free_packet_matches_closed_form_2d) {
    char *dir = qt_tmpdir("cli");
    check_free_packet(dir, 2);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_evolve, takes_round_t_over_dt_steps) {
    char *dir = qt_tmpdir("cli");
    small_inputs s = small_problem(dir);
    static const struct {
        const char *mode, *T, *dt;
        double steps;
    } cases[] = {{"real", "1", "0.3", 3},
                 {"real", "1", "0.15", 7},
                 {"imag", "1", "0.3", 3},
                 {"imag", "2", "0.01", 200},
                 {"real", "0.1", "0.1", 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        cli_result r = RUN(dir, "evolve", "--mode", cases[c].mode, "--potential", s.v, "--box=-5:5", "--psi0", s.psi,
                           "--time", cases[c].T, "--dt", cases[c].dt, "--json");
        expect_ok(&r);
        cr_assert_eq(json_num(r.out, "steps", 0), cases[c].steps, "T=%s dt=%s: %s", cases[c].T, cases[c].dt, r.out);
        cr_assert_float_eq(json_num(r.out, "time", 0), cases[c].steps * strtod(cases[c].dt, NULL), 1e-12, "%s", r.out);
        cr_assert_float_eq(json_num(r.out, "norm", 0), 1.0, 1e-6, "%s", r.out);
        cli_free(&r);
    }
    small_free(&s);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_evolve, real_psi0_and_imaginary_time_descends) {
    char *dir = qt_tmpdir("cli");
    const int64_t n[1] = {128};
    double *v = harmonic_1d(128, -10, 10, 1.0);
    double psi[128];
    for (int j = 0; j < 128; ++j) {
        double x = xj(-10, 10, 128, j) - 1.0;
        psi[j] = exp(-x * x / 8.0); /* not normalised; a real float64 state */
    }
    char *vp = write_f64(dir, "v.npy", 1, n, v);
    char *pp = write_f64(dir, "p.npy", 1, n, psi);
    char *out = qt_path(dir, "o.npy");
    cli_result r = RUN(dir, "evolve", "--mode", "imag", "--potential", vp, "--box", "-10:10", "--psi0", pp, "--time",
                       "20", "--dt", "0.01", "--json", "--out", out);
    expect_ok(&r);
    /* Strang imaginary time converges to the harmonic ground state up to O(dt^2). */
    cr_assert_float_eq(json_num(r.out, "energy", 0), 0.5, 1e-4, "%s", r.out);
    cr_assert_float_eq(json_num(r.out, "norm", 0), 1.0, 1e-9, "renormalised every step: %s", r.out);
    cli_free(&r);
    qdml_npy_array a;
    cr_assert_eq(qdml_npy_read(out, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.dtype, QDML_NPY_C128);
    cr_assert_eq(a.count, 128);
    qdml_npy_free(&a);
    free(v);
    free(vp);
    free(pp);
    free(out);
    qt_rm_rf(dir);
    free(dir);
}

/* ---- info, help, demo ------------------------------------------------------------------------- */

Test(cli_misc, info_prints_version_and_backends) {
    char *dir = qt_tmpdir("cli");
    cli_result r = RUN(dir, "info");
    expect_ok(&r);
    cr_assert_not_null(strstr(r.out, qdml_version_string()), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "cpu"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "threads"), "%s", r.out);
    /* Both outcomes are checked: no devices listed without one, each device by name with one. */
    if (!qdml_backend_available(QDML_BACKEND_CUDA)) {
        cr_assert_not_null(strstr(r.out, "no CUDA devices"), "%s", r.out);
    } else {
        cr_assert_null(strstr(r.out, "no CUDA devices"), "%s", r.out);
        cr_assert_not_null(strstr(r.out, "cuda 0: "), "%s", r.out);
    }
    cli_free(&r);
    r = RUN(dir, "--version");
    expect_ok(&r);
    cr_assert_not_null(strstr(r.out, qdml_version_string()));
    cli_free(&r);
    expect_fail(RUN(dir, "info", "--verbose"), 2, "unknown option '--verbose'");
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_misc, help_for_program_and_commands) {
    char *dir = qt_tmpdir("cli");
    const char *cmds[] = {"demo", "ground", "evolve", "info"};
    cli_result r = RUN(dir, "--help");
    expect_ok(&r);
    cr_assert_not_null(strstr(r.out, "Usage"));
    for (size_t i = 0; i < 4; ++i)
        cr_assert_not_null(strstr(r.out, cmds[i]));
    cli_free(&r);
    r = RUN(dir, "-h");
    expect_ok(&r);
    cli_free(&r);
    for (size_t i = 0; i < 4; ++i) {
        r = RUN(dir, cmds[i], "--help");
        expect_ok(&r);
        cr_assert_not_null(strstr(r.out, "Usage: qdml"), "%s --help: %s", cmds[i], r.out);
        cli_free(&r);
        r = RUN(dir, cmds[i], "-h");
        expect_ok(&r);
        cli_free(&r);
    }
    r = RUN(dir, "ground", "--help-all");
    cr_assert_not_null(strstr(r.out, "uniform"), "ground --help-all must state the initial state");
    cli_free(&r);
    r = RUN(dir, "evolve", "--help");
    cr_assert_not_null(strstr(r.out, "renormalised"), "evolve --help must state the imag-time normalisation");
    cli_free(&r);
    /* --help fits a screen and gives an example; --help-all has every option (and the brief's are among them). */
    static const char *const full[] = {"ground", "evolve", "minimize"};
    static const char *const opts[][4] = {{"--states", "--method", "--guards", "--dt-min"},
                                          {"--splitting", "--psi0", "--strict", "--checkpoint-every"},
                                          {"--hbar-start", "--stages", "--reseed", "--max-steps"}};
    for (size_t i = 0; i < 3; ++i) {
        r = RUN(dir, full[i], "--help");
        expect_ok(&r);
        cr_assert_leq(count_substr(r.out, "\n"), 25, "%s --help is %d lines", full[i], count_substr(r.out, "\n"));
        cr_assert_not_null(strstr(r.out, "Example:\n  qdml "), "%s --help has no example", full[i]);
        cr_assert_not_null(strstr(r.out, "--help-all"), "%s --help does not point at --help-all", full[i]);
        cli_free(&r);
        r = RUN(dir, full[i], "--help-all");
        expect_ok(&r);
        for (int k = 0; k < 4; ++k)
            cr_assert_not_null(strstr(r.out, opts[i][k]), "%s --help-all lacks %s", full[i], opts[i][k]);
        cr_assert_not_null(strstr(r.out, "FFT plans"), "%s --help-all", full[i]);
        cli_free(&r);
    }
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_misc, demo_writes_its_outputs, .timeout = 120) {
    char *dir = qt_tmpdir("cli");
    char *out = qt_path(dir, "demo out");
    cli_result r = RUN(dir, "demo", "--out", out);
    expect_ok(&r);
    cr_assert_not_null(strstr(r.out, out), "the output folder is not named on stdout: %s", r.out);
    cr_assert_not_null(strstr(r.out, "converged"), "%s", r.out);
    cli_free(&r);
    static const struct {
        const char *name;
        qdml_npy_dtype dtype;
        int ndim;
        int64_t shape[3];
    } files[] = {{"potential.npy", QDML_NPY_F64, 2, {128, 128}},
                 {"ground_psi.npy", QDML_NPY_C128, 2, {128, 128}},
                 {"ground_density.npy", QDML_NPY_F64, 2, {128, 128}},
                 {"real_density_final.npy", QDML_NPY_F64, 2, {128, 128}},
                 {"real_psi_final.npy", QDML_NPY_C128, 2, {128, 128}},
                 {"real_density_snapshots.npy", QDML_NPY_F64, 3, {5, 128, 128}}};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; ++f) {
        char *p = qt_path(out, files[f].name);
        qdml_npy_array a;
        cr_assert_eq(qdml_npy_read(p, &a), QDML_OK, "%s", qdml_last_error_message());
        cr_assert_eq(a.dtype, files[f].dtype, "%s", files[f].name);
        cr_assert_eq(a.ndim, files[f].ndim, "%s", files[f].name);
        for (int d = 0; d < a.ndim; ++d)
            cr_assert_eq(a.shape[d], files[f].shape[d], "%s", files[f].name);
        const int64_t nd = a.count * (a.dtype == QDML_NPY_C128 ? 2 : 1);
        for (int64_t i = 0; i < nd; ++i)
            cr_assert(isfinite(a.data[i]), "%s[%lld]", files[f].name, (long long)i);
        if (strstr(files[f].name, "density")) {
            /* Densities integrate to 1 per snapshot (dV = (8/128)^2). */
            double sum = 0.0;
            for (int64_t i = 0; i < a.count; ++i)
                sum += a.data[i];
            cr_assert_float_eq(sum * (8.0 / 128) * (8.0 / 128), a.ndim == 3 ? 5.0 : 1.0, 1e-8, "%s", files[f].name);
        }
        qdml_npy_free(&a);
        free(p);
    }
    const char *texts[] = {"ground_history.csv", "real_history.csv", "summary.json"};
    for (size_t f = 0; f < 3; ++f) {
        char *p = qt_path(out, texts[f]);
        char *t = slurp(p);
        cr_assert(strlen(t) > 10, "%s is empty", texts[f]);
        if (strstr(texts[f], ".csv")) {
            cr_assert_eq(strncmp(t, "member,step,", 12), 0, "%s", texts[f]);
            cr_assert(count_substr(t, "\n") >= 3, "%s has no rows", texts[f]);
        } else {
            cr_assert(isfinite(json_num(t, "energy", 0)), "summary.json: %s", t);
            cr_assert_eq(json_bool(t, "converged", 0), 1, "summary.json: %s", t);
            cr_assert(json_num(t, "norm_drift", 0) < 1e-10, "summary.json: %s", t);
        }
        free(t);
        free(p);
    }
    free(out);
    qt_rm_rf(dir);
    free(dir);
}

/* ---- usage errors: exit 2 ------------------------------------------------------------------- */

Test(cli_usage, commands_and_flags) {
    char *dir = qt_tmpdir("cli");
    small_inputs s = small_problem(dir);
    expect_fail(RUN(dir, "frobnicate"), 2, "unknown command 'frobnicate'");
    cli_result r = run_cli_v(dir, (const char *const[]){NULL});
    expect_fail(r, 2, "missing command");
    expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "--frob"), 2, "unknown option '--frob'");
    expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "--frob=3"), 2, "unknown option '--frob'");
    expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "-t"), 2, "unexpected argument '-t'");
    expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "extra"), 2, "unexpected argument 'extra'");
    expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "--tol"), 2, "--tol needs a value");
    expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "--json=yes"), 2, "takes no value");
    expect_fail(RUN(dir, "demo", "--bogus"), 2, "unknown option '--bogus'");
    expect_fail(RUN(dir, "evolve", "--mode", "sideways", "--potential", s.v, "--box", "-5:5", "--psi0", s.psi, "--time",
                    "1", "--dt", "0.1"),
                2, "unknown mode 'sideways'");
    expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "--backend", "tpu"), 2,
                "unknown backend 'tpu'");
    small_free(&s);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_usage, missing_required_flags) {
    char *dir = qt_tmpdir("cli");
    small_inputs s = small_problem(dir);
    expect_fail(RUN(dir, "ground", "--box", "-5:5"), 2, "missing required option --potential");
    expect_fail(RUN(dir, "ground", "--potential", s.v), 2, "missing required option --box");
    const char *full[] = {"--mode", "real", "--potential", s.v, "--box", "-5:5",
                          "--psi0", s.psi,  "--time",      "1", "--dt",  "0.1"};
    const char *names[] = {"mode", "potential", "box", "psi0", "time", "dt"};
    for (int skip = 0; skip < 6; ++skip) {
        const char *args[16];
        int k = 0;
        args[k++] = "evolve";
        for (int i = 0; i < 6; ++i)
            if (i != skip) args[k++] = full[2 * i], args[k++] = full[2 * i + 1];
        args[k] = NULL;
        char needle[64];
        snprintf(needle, sizeof needle, "missing required option --%s", names[skip]);
        expect_fail(run_cli_v(dir, args), 2, needle);
    }
    small_free(&s);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_usage, bad_numbers) {
    char *dir = qt_tmpdir("cli");
    small_inputs s = small_problem(dir);
    const char *bad_real[] = {"0", "-1", "nan", "inf", "-inf", "1e999"};
    const char *ground_real[] = {"--hbar", "--mass", "--tol"};
    for (size_t f = 0; f < 3; ++f)
        for (size_t b = 0; b < sizeof bad_real / sizeof bad_real[0]; ++b)
            expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", ground_real[f], bad_real[b]), 2,
                        "must be positive and finite");
    expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "--hbar", "abc"), 2,
                "--hbar: cannot parse 'abc' as a number");
    expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "--tol", "1e-6x"), 2, "cannot parse '1e-6x'");
    expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "--mass="), 2, "--mass: missing value");
    const char *evolve_real[] = {"--time", "--dt", "--hbar", "--mass"};
    for (size_t f = 0; f < 4; ++f)
        for (size_t b = 0; b < sizeof bad_real / sizeof bad_real[0]; ++b) {
            const char *T = strcmp(evolve_real[f], "--time") == 0 ? bad_real[b] : "1";
            const char *dt = strcmp(evolve_real[f], "--dt") == 0 ? bad_real[b] : "0.1";
            const char *extra = (f >= 2) ? evolve_real[f] : "--json";
            if (f >= 2)
                expect_fail(RUN(dir, "evolve", "--mode", "real", "--potential", s.v, "--box", "-5:5", "--psi0", s.psi,
                                "--time", T, "--dt", dt, extra, bad_real[b]),
                            2, "must be positive and finite");
            else
                expect_fail(RUN(dir, "evolve", "--mode", "real", "--potential", s.v, "--box", "-5:5", "--psi0", s.psi,
                                "--time", T, "--dt", dt),
                            2, "must be positive and finite");
        }
    const char *bad_int[][2] = {{"1.5", "cannot parse '1.5' as an integer"},
                                {"0", "must be a positive integer, got '0'"},
                                {"-3", "must be a positive integer, got '-3'"},
                                {"abc", "cannot parse 'abc'"},
                                {"", "missing value"},
                                {"99999999999999999999", "out of range"}};
    for (size_t b = 0; b < sizeof bad_int / sizeof bad_int[0]; ++b) {
        expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "--max-steps", bad_int[b][0]), 2,
                    bad_int[b][1]);
        expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "--threads", bad_int[b][0]), 2,
                    bad_int[b][1]);
        expect_fail(RUN(dir, "demo", "--threads", bad_int[b][0]), 2, bad_int[b][1]);
    }
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--potential", s.v, "--box", "-5:5", "--psi0", s.psi, "--time",
                    "1e300", "--dt", "1e-300"),
                2, "too many");
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--potential", s.v, "--box", "-5:5", "--psi0", s.psi, "--time",
                    "1", "--dt", "3"),
                2, "round(T/DT) = 0 steps");
    small_free(&s);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_usage, bad_boxes) {
    char *dir = qt_tmpdir("cli");
    small_inputs s = small_problem(dir);
    const char *cases[][2] = {{"1:x", "--box: cannot parse '1:x' (expected LO:HI"},
                              {"abc", "cannot parse 'abc'"},
                              {"", "cannot parse ''"},
                              {"1", "cannot parse '1'"},
                              {"1:2:3", "cannot parse '1:2:3'"},
                              {":5", "cannot parse ':5'"},
                              {"3:1", "needs lo < hi"},
                              {"2:2", "needs lo < hi"},
                              {"nan:1", "non-finite"},
                              {"-inf:1", "non-finite"},
                              {"0:1,0:1", "gives 2 axis ranges for a 1-dimensional potential"}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c)
        expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", cases[c][0]), 2, cases[c][1]);
    expect_fail(RUN(dir, "evolve", "--mode", "imag", "--potential", s.v, "--box=1:x", "--psi0", s.psi, "--time", "1",
                    "--dt", "0.1"),
                2, "cannot parse '1:x'");
    const int64_t n2[2] = {8, 8};
    double v2[64] = {0};
    char *p2 = write_f64(dir, "v2.npy", 2, n2, v2);
    expect_fail(RUN(dir, "ground", "--potential", p2, "--box", "0:1,0:x"), 2, "axis 1: cannot parse '0:x'");
    expect_fail(RUN(dir, "ground", "--potential", p2, "--box", "0:1,0:1,0:1"), 2,
                "gives 3 axis ranges for a 2-dimensional potential");
    expect_fail(RUN(dir, "ground", "--potential", p2, "--box", "0:1,1:0"), 2, "needs lo < hi");
    free(p2);
    small_free(&s);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_usage, bad_files_and_shapes) {
    char *dir = qt_tmpdir("cli");
    small_inputs s = small_problem(dir);
    char *missing = qt_path(dir, "absent.npy");
    expect_fail(RUN(dir, "ground", "--potential", missing, "--box", "0:1"), 2, "cannot open");
    char *text = qt_path(dir, "text.npy");
    FILE *f = fopen(text, "w");
    fputs("this is not an array\n", f);
    fclose(f);
    expect_fail(RUN(dir, "ground", "--potential", text, "--box", "0:1"), 2, "not a .npy file");
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--potential", s.v, "--box", "-5:5", "--psi0", text, "--time", "1",
                    "--dt", "0.1"),
                2, "--psi0: ");
    /* Truncated: the valid potential cut short. */
    char *trunc = qt_path(dir, "trunc.npy");
    {
        FILE *in = fopen(s.v, "rb");
        unsigned char buf[4096];
        size_t got = fread(buf, 1, sizeof buf, in);
        fclose(in);
        FILE *o = fopen(trunc, "wb");
        fwrite(buf, 1, got - 12, o);
        fclose(o);
    }
    expect_fail(RUN(dir, "ground", "--potential", trunc, "--box", "-5:5"), 2, "truncated data");

    /* Wrong dtypes. */
    const int64_t n32[1] = {32};
    double c[64] = {0};
    char *cv = write_c128(dir, "cv.npy", 1, n32, c);
    expect_fail(RUN(dir, "ground", "--potential", cv, "--box", "-5:5"), 2, "expected float64");
    char *f4 = qt_path(dir, "f4.npy");
    {
        const char hdr[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (32,), }";
        unsigned char buf[128 + 128];
        memset(buf, ' ', 128);
        memcpy(buf, "\x93NUMPY\x01\x00\x76\x00", 10);
        memcpy(buf + 10, hdr, strlen(hdr));
        buf[127] = '\n';
        memset(buf + 128, 0, 128);
        FILE *o = fopen(f4, "wb");
        fwrite(buf, 1, sizeof buf, o);
        fclose(o);
    }
    expect_fail(RUN(dir, "ground", "--potential", f4, "--box", "-5:5"), 2, "unsupported dtype '<f4'");
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--potential", s.v, "--box", "-5:5", "--psi0", f4, "--time", "1",
                    "--dt", "0.1"),
                2, "unsupported dtype '<f4'");

    /* psi0 shape vs potential shape. */
    const int64_t n16[1] = {16}, n2x16[2] = {2, 16};
    char *p16 = write_c128(dir, "p16.npy", 1, n16, c);
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--potential", s.v, "--box", "-5:5", "--psi0", p16, "--time", "1",
                    "--dt", "0.1"),
                2, "shape (16,) does not match the potential's shape (32,)");
    char *p2x16 = write_c128(dir, "p2x16.npy", 2, n2x16, c);
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--potential", s.v, "--box", "-5:5", "--psi0", p2x16, "--time",
                    "1", "--dt", "0.1"),
                2, "does not match");

    /* A state of zeros has nothing to evolve. */
    char *pz = write_c128(dir, "pz.npy", 1, n32, c);
    expect_fail(RUN(dir, "evolve", "--mode", "imag", "--potential", s.v, "--box", "-5:5", "--psi0", pz, "--time", "1",
                    "--dt", "0.1"),
                2, "zero everywhere");
    free(pz);

    /* Batch axis: a 1D array has no room for one. */
    expect_fail(RUN(dir, "ground", "--batch", "--potential", s.v, "--box", "-5:5"), 2, "with --batch the first axis");
    /* Dimensions: 4 grid axes, directly or after a batch axis; scalars; empty axes. */
    const int64_t n4[4] = {2, 2, 2, 2}, n5[5] = {1, 2, 2, 2, 2}, n0[1] = {0};
    double z[32] = {0};
    char *v4 = write_f64(dir, "v4.npy", 4, n4, z);
    expect_fail(RUN(dir, "ground", "--potential", v4, "--box", "0:1"), 2, "more than 3 dimensions");
    char *v5 = write_f64(dir, "v5.npy", 5, n5, z);
    expect_fail(RUN(dir, "ground", "--batch", "--potential", v5, "--box", "0:1"), 2, "more than 3 dimensions");
    char *v0 = write_f64(dir, "v0.npy", 0, NULL, z);
    expect_fail(RUN(dir, "ground", "--potential", v0, "--box", "0:1"), 2, "has shape ()");
    char *ve = write_f64(dir, "ve.npy", 1, n0, z);
    expect_fail(RUN(dir, "ground", "--potential", ve, "--box", "0:1"), 2, "is empty");

    free(missing);
    free(text);
    free(trunc);
    free(cv);
    free(f4);
    free(p16);
    free(p2x16);
    free(v4);
    free(v5);
    free(v0);
    free(ve);
    small_free(&s);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_usage, non_finite_values_are_located) {
    char *dir = qt_tmpdir("cli");
    small_inputs s = small_problem(dir);
    const int64_t n32[1] = {32}, n4x8[2] = {4, 8};
    double v[32];
    for (int j = 0; j < 32; ++j)
        v[j] = 0.1 * j;
    v[5] = NAN;
    v[9] = INFINITY;
    char *vn = write_f64(dir, "vn.npy", 1, n32, v);
    expect_fail(RUN(dir, "ground", "--potential", vn, "--box", "-5:5"), 2, "value at index 5 (5,) is nan");
    v[5] = 0.0;
    char *vi = write_f64(dir, "vi.npy", 1, n32, v);
    expect_fail(RUN(dir, "ground", "--potential", vi, "--box", "-5:5"), 2, "value at index 9 (9,) is infinite");
    char *v2 = write_f64(dir, "v2.npy", 2, n4x8, v);
    expect_fail(RUN(dir, "ground", "--potential", v2, "--box", "-5:5"), 2, "index 9 (1, 1)");
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--potential", vi, "--box", "-5:5", "--psi0", s.psi, "--time", "1",
                    "--dt", "0.1"),
                2, "is infinite");
    double psi[64] = {0};
    psi[2 * 7 + 1] = NAN;
    char *pn = write_c128(dir, "pn.npy", 1, n32, psi);
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--potential", s.v, "--box", "-5:5", "--psi0", pn, "--time", "1",
                    "--dt", "0.1"),
                2, "--psi0 ");
    free(vn);
    free(vi);
    free(v2);
    free(pn);
    small_free(&s);
    qt_rm_rf(dir);
    free(dir);
}

/* ---- run failures: exit 1 ------------------------------------------------------------------- */

Test(cli_run, divergence_exits_1) {
    char *dir = qt_tmpdir("cli");
    small_inputs s = small_problem(dir);
    const int64_t n32[1] = {32};
    double v[32] = {0};
    /* Real time: V dt / hbar overflows to infinity at one point, so its phase is NaN. */
    v[3] = 1e308;
    char *huge = write_f64(dir, "huge.npy", 1, n32, v);
    char *out = qt_path(dir, "never.npy");
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--potential", huge, "--box", "-5:5", "--psi0", s.psi, "--time",
                    "10", "--dt", "10", "--out", out),
                1, "diverged");
    struct stat st;
    cr_assert_neq(stat(out, &st), 0, "no output may be written after a failed run");
    /* Imaginary time: a well so deep that the energies overflow. */
    v[3] = -1e300;
    char *deep = write_f64(dir, "deep.npy", 1, n32, v);
    expect_fail(RUN(dir, "evolve", "--mode", "imag", "--potential", deep, "--box", "-5:5", "--psi0", s.psi, "--time",
                    "1", "--dt", "0.1", "--out", out),
                1, "diverged");
    cr_assert_neq(stat(out, &st), 0, "no output may be written after a failed run");
    free(huge);
    free(deep);
    free(out);
    small_free(&s);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_run, unwritable_output_exits_2_before_the_run) {
    char *dir = qt_tmpdir("cli");
    small_inputs s = small_problem(dir);
    char *out = qt_path(dir, "no/such/dir/psi.npy");
    expect_fail(RUN(dir, "ground", "--potential", s.v, "--box", "-5:5", "--tol", "1e-4", "--out", out), 2,
                "no/such/dir/psi.npy");
    free(out);
    small_free(&s);
    qt_rm_rf(dir);
    free(dir);
}

/* FFTW wisdom: kept in the user's cache by default, in --wisdom FILE when given, nowhere with
 * --no-wisdom; a wisdom file that cannot be written costs nothing but the timing; one that is another
 * file of the run is refused. */
static int exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

Test(cli_wisdom, default_cache_explicit_file_and_none) {
    char *dir = qt_tmpdir("cliwisdom");
    cr_assert_eq(setenv("HOME", dir, 1), 0);
    cr_assert_eq(unsetenv("XDG_CACHE_HOME"), 0);
    cr_assert_eq(unsetenv("QDML_WISDOM"), 0);
    char *cached = qt_path(dir, ".cache/qdml/fftw-wisdom");
    cli_result r = RUN(dir, "ground", "--objective", "harmonic", "--dim", "2", "--n", "32", "--no-wisdom", "--json");
    expect_ok(&r);
    cli_free(&r);
    cr_assert(!exists(cached), "--no-wisdom wrote %s", cached);
    r = RUN(dir, "ground", "--objective", "harmonic", "--dim", "2", "--n", "32", "--json");
    expect_ok(&r);
    cli_free(&r);
    cr_assert(exists(cached), "the default run left no wisdom in %s", cached);
    char *mine = qt_path(dir, "mine.wisdom"), *paths = qt_path(dir, "mine.wisdom.paths");
    r = RUN(dir, "minimize", "--objective", "harmonic", "--dim", "2", "--n", "32", "--stages", "2", "--wisdom", mine,
            "--json");
    expect_ok(&r);
    cli_free(&r);
    cr_assert(exists(mine), "--wisdom %s was not written", mine);
    char *text = slurp(mine);
    cr_assert_not_null(strstr(text, "fftw_wisdom"), "not FFTW wisdom: %.80s", text);
    free(text);
    (void)paths;
    /* Unwritable: the run goes on. */
    r = RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "32", "--wisdom", "/nonexistent/dir/w",
            "--json");
    expect_ok(&r);
    cli_free(&r);
    char *out = qt_path(dir, "psi.npy");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "32", "--out", out, "--wisdom", out),
                2, "is the same file as the input --wisdom");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "32", "--wisdom", mine,
                    "--no-wisdom"),
                2, "--wisdom and --no-wisdom exclude each other");
    expect_fail(RUN(dir, "minimize", "--objective", "harmonic", "--dim", "1", "--n", "32", "--wisdom", ""), 2,
                "--wisdom: the file name is empty");
    free(out);
    free(mine);
    free(paths);
    free(cached);
    qt_rm_rf(dir);
    free(dir);
}
