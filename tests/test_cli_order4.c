/* qdml evolve --splitting: the 4th-order compositions from the command line. The JSON summary names
 * the splitting; the state written matches the oscillator's coherent state (closed form, see
 * tests/test_order4.c) far better than Strang's at the same step; unknown values and an
 * imaginary-time step beyond the 4th-order limit exit 2 with a message.
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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the oscillator's coherent state (hbar = m = w = 1) ------------------------------------------ */

#define N 96
#define HALF 10.0
#define A0 1.5

static double xj(int64_t j) { return -HALF + (double)j * (2.0 * HALF) / (double)N; }

/* psi(x, t) = e^{-i t/2} e^{-i p q / 2} e^{i p x} phi0(x - q), q = a cos t, p = -a sin t,
 * phi0(x) = pi^(-1/4) e^{-x^2/2}. The grid resolves it spectrally ((k_N - |p|) s = (15.1 - 1.5)
 * 0.71 = 9.6 widths at Nyquist, the box edge (10 - 1.5) / (2 s) = 6.0 widths away, s^2 = 1/2). */
static double complex coherent(double x, double t) {
    const double q = A0 * cos(t), p = -A0 * sin(t), u = x - q;
    return pow(QT_PI, -0.25) * cexp(-u * u / 2.0 + I * (p * x - p * q / 2.0 - t / 2.0));
}

typedef struct inputs {
    char *v, *psi;
} inputs;

static inputs write_inputs(const char *dir) {
    const int64_t shape[1] = {N};
    double v[N], psi[2 * N];
    for (int64_t j = 0; j < N; ++j) {
        const double x = xj(j);
        v[j] = 0.5 * x * x;
        const double complex z = coherent(x, 0.0);
        psi[2 * j] = creal(z);
        psi[2 * j + 1] = cimag(z);
    }
    inputs in = {qt_path(dir, "v.npy"), qt_path(dir, "psi0.npy")};
    cr_assert_eq(qdml_npy_write(in.v, QDML_NPY_F64, 1, shape, v), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(qdml_npy_write(in.psi, QDML_NPY_C128, 1, shape, psi), QDML_OK, "%s", qdml_last_error_message());
    return in;
}

static void free_inputs(inputs *in) {
    free(in->v);
    free(in->psi);
}

/* Runs qdml evolve in real time to t = 2 with steps of 0.1; returns the L2 error of the state written. */
static double evolve_error(const char *dir, const inputs *in, const char *splitting) {
    char *out = qt_path(dir, "out.npy");
    cli_result r = RUN(dir, "evolve", "--mode", "real", "--potential", in->v, "--box", "-10:10", "--psi0", in->psi,
                       "--time", "2", "--dt", "0.1", "--splitting", splitting, "--out", out, "--json");
    cr_assert_eq(r.status, 0, "--splitting %s: exit %d; stderr: %s", splitting, r.status, r.err);
    char want[64];
    snprintf(want, sizeof want, "\"splitting\": \"%s\"", splitting);
    cr_assert_not_null(strstr(r.out, want), "the JSON summary does not say %s:\n%s", want, r.out);
    /* One composed step is one step of dt. */
    cr_assert_eq(json_num(r.out, "steps", 0), 20.0, "%s", r.out);
    cr_assert_float_eq(json_num(r.out, "time", 0), 2.0, 1e-12, "%s", r.out);
    cr_assert_float_eq(json_num(r.out, "dt", 0), 0.1, 1e-15, "%s", r.out);
    cr_assert_float_eq(json_num(r.out, "norm", 0), 1.0, 1e-12, "%s", r.out);
    cli_free(&r);
    qdml_npy_array a;
    cr_assert_eq(qdml_npy_read(out, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.count, N);
    double s = 0.0;
    for (int64_t j = 0; j < N; ++j) {
        const double complex d = a.data[2 * j] + I * a.data[2 * j + 1] - coherent(xj(j), 2.0);
        s += creal(d * conj(d));
    }
    qdml_npy_free(&a);
    free(out);
    return sqrt(s * (2.0 * HALF / N));
}

Test(cli_order4, yoshida4_and_suzuki4_run_and_say_so) {
    char *dir = qt_tmpdir("cliorder4");
    inputs in = write_inputs(dir);
    const double es = evolve_error(dir, &in, "strang");
    const double ey = evolve_error(dir, &in, "yoshida4");
    const double ez = evolve_error(dir, &in, "suzuki4");
    cr_log_info("qdml evolve, coherent state to t = 2, dt = 0.1: error strang %.3e, yoshida4 %.3e, suzuki4 %.3e", es,
                ey, ez);
    /* Strang's error at this step is ~2e-3 (test_order4 measures the orders); the 4th-order ones
     * are below 1/16 of it, so the flag reached the library. */
    cr_assert_gt(es, 1e-4, "strang error %.3g: the step is too small to tell the splittings apart", es);
    cr_assert_leq(16.0 * ey, es, "yoshida4 error %.3g vs strang %.3g", ey, es);
    cr_assert_leq(16.0 * ez, es, "suzuki4 error %.3g vs strang %.3g", ez, es);
    /* Without the flag: Strang. */
    cli_result r = RUN(dir, "evolve", "--mode", "real", "--potential", in.v, "--box", "-10:10", "--psi0", in.psi,
                       "--time", "2", "--dt", "0.1", "--json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert_not_null(strstr(r.out, "\"splitting\": \"strang\""), "%s", r.out);
    cli_free(&r);
    free_inputs(&in);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_order4, unknown_splitting_exits_2_with_the_list) {
    char *dir = qt_tmpdir("cliorder4");
    inputs in = write_inputs(dir);
    cli_result r = RUN(dir, "evolve", "--mode", "real", "--potential", in.v, "--box", "-10:10", "--psi0", in.psi,
                       "--time", "1", "--dt", "0.1", "--splitting", "rk4");
    cr_assert_eq(r.status, 2, "exit %d; stderr: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "'rk4'"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "strang, yoshida4, suzuki4 or chin4"), "%s", r.err);
    cr_assert_eq(r.out[0], '\0', "nothing on stdout: %s", r.out);
    cli_free(&r);
    r = RUN(dir, "evolve", "--help-all");
    cr_assert_eq(r.status, 0);
    cr_assert_not_null(strstr(r.out, "--splitting"), "%s", r.out);
    cli_free(&r);
    free_inputs(&in);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_order4, imaginary_time_step_beyond_the_limit_exits_2) {
    /* k_N = 15.1 on this grid: the Yoshida limit in imaginary time is 20 / (1.7024 x 114) = 0.10 (the
     * wavenumber decides; max V - min V = 50). A step of 0.3 is refused, Strang takes it. */
    char *dir = qt_tmpdir("cliorder4");
    inputs in = write_inputs(dir);
    cli_result r = RUN(dir, "evolve", "--mode", "imag", "--potential", in.v, "--box", "-10:10", "--psi0", in.psi,
                       "--time", "3", "--dt", "0.3", "--splitting", "yoshida4");
    cr_assert_eq(r.status, 2, "exit %d; stderr: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "largest dt that passes is"), "%s", r.err);
    cli_free(&r);
    r = RUN(dir, "evolve", "--mode", "imag", "--potential", in.v, "--box", "-10:10", "--psi0", in.psi, "--time", "3",
            "--dt", "0.3", "--splitting", "strang", "--json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cli_free(&r);
    r = RUN(dir, "evolve", "--mode", "imag", "--potential", in.v, "--box", "-10:10", "--psi0", in.psi, "--time", "3",
            "--dt", "0.05", "--splitting", "yoshida4", "--json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    /* The displaced ground state relaxes as phi0(x - a e^{-t}): E = 1/2 + (a e^{-t})^2 / 2 = 0.50280 at
     * t = 3. Yoshida's error at this step is ~1e-7 (test_order4): bound 1e-5. */
    const double e_exact = 0.5 + 0.5 * (A0 * exp(-3.0)) * (A0 * exp(-3.0));
    cr_assert_float_eq(json_num(r.out, "energy", 0), e_exact, 1e-5, "E = %.10g, expected %.10g: %s",
                       json_num(r.out, "energy", 0), e_exact, r.out);
    cli_free(&r);
    /* Chin's step has no backward substep: it takes the step Yoshida refuses, and at dt = 0.05 it is as
     * close as Yoshida (its error is ~1e-8 at 0.1 in test_order4). */
    r = RUN(dir, "evolve", "--mode", "imag", "--potential", in.v, "--box", "-10:10", "--psi0", in.psi, "--time", "3",
            "--dt", "0.3", "--splitting", "chin4", "--json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cli_free(&r);
    r = RUN(dir, "evolve", "--mode", "imag", "--potential", in.v, "--box", "-10:10", "--psi0", in.psi, "--time", "3",
            "--dt", "0.05", "--splitting", "chin4", "--json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert_float_eq(json_num(r.out, "energy", 0), e_exact, 1e-5, "chin4: E = %.10g, expected %.10g: %s",
                       json_num(r.out, "energy", 0), e_exact, r.out);
    cli_free(&r);
    free_inputs(&in);
    qt_rm_rf(dir);
    free(dir);
}
