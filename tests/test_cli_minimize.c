/* `qdml minimize` and `qdml ground --states K`, run as a user would: the JSON they print, the files
 * they write and their refusals.
 *
 * Backend: the program's default, --backend auto (CUDA where a device is present, else the CPU), on
 * purpose: these tests check what a user gets without choosing, with float64 bounds meant for either
 * backend. QDML_TEST_BACKEND does not apply to the program.
 */
#include "cli_support.h"
#include "io_npy.h"
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The zero-point trap of test_minimize.c on a .npy: wide well at -2, narrow deep well at +2. */
static char *write_trap(const char *dir, double *h) {
    enum { N = 512 };
    static double v[N];
    const double lo = -8.0, hi = 8.0;
    for (int i = 0; i < N; ++i) {
        const double x = lo + (hi - lo) * i / N, a = x + 2.0, b = x - 2.0;
        v[i] = -1.0 * exp(-a * a / 2.0) - 1.3 * exp(-b * b / (2.0 * 0.15 * 0.15));
    }
    *h = (hi - lo) / N;
    const int64_t shape[1] = {N};
    return write_f64(dir, "trap.npy", 1, shape, v);
}

Test(cli_minimize, zero_point_trap_from_npy) {
    char *dir = qt_tmpdir("cli-min");
    double h;
    char *vp = write_trap(dir, &h);
    char *out = qt_path(dir, "psi.npy"), *hist = qt_path(dir, "hist.csv");
    cli_result r = RUN(dir, "minimize", "--potential", vp, "--box=-8:8", "--hbar-start", "1", "--hbar-end", "0.02",
                       "--stages", "8", "--json", "--out", out, "--history", hist);
    expect_ok(&r);
    double argmin[1], fam[1];
    cr_assert_eq(json_array(r.out, "argmin", argmin, 1), 1, "%s", r.out);
    cr_log_info("qdml minimize on the trap: argmin %.5f, f_min %.6f", argmin[0], json_num(r.out, "f_min", 0));
    cr_assert_leq(fabs(argmin[0] - 2.0), h, "argmin %g, expected 2 within %g", argmin[0], h);
    cr_assert_lt(json_num(r.out, "f_min", 0), -1.29);
    cr_assert_eq(json_bool(r.out, "converged", 0), 1);
    /* Eight stages, the first at hbar 1 in the wide well, the last at 0.02. */
    cr_assert_eq(count_substr(r.out, "\"stage\":"), 8, "%s", r.out);
    cr_assert_float_eq(json_num(r.out, "hbar", 0), 1.0, 1e-15);
    cr_assert_float_eq(json_num(r.out, "hbar", 7), 0.02, 1e-15);
    cr_assert_eq(json_array(strstr(r.out, "\"stage\": 0"), "argmax", fam, 1), 1);
    cr_assert_lt(fabs(fam[0] + 2.0), 0.3, "stage 0 should sit in the wide well: %g", fam[0]);
    struct stat st;
    cr_assert_eq(stat(out, &st), 0, "no %s", out);
    cr_assert_eq(stat(hist, &st), 0, "no %s", hist);
    cli_free(&r);
    /* The text summary says the same. */
    r = RUN(dir, "minimize", "--potential", vp, "--box=-8:8", "--hbar-end", "0.02");
    expect_ok(&r);
    cr_assert_not_null(strstr(r.out, "minimum f = -1.30033"), "%s", r.out);
    cli_free(&r);
    free(vp);
    free(out);
    free(hist);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_minimize, builtin_objectives_batch_and_known_minima) {
    char *dir = qt_tmpdir("cli-min");
    /* Two objectives in one run on one box; the JSON names each and its distance from the known
     * minimiser. */
    cli_result r = RUN(dir, "minimize", "--objective", "styblinski_tang;levy", "--batch", "--dim", "2", "--n", "64",
                       "--box=-5:5", "--hbar-end", "0.01", "--json");
    expect_ok(&r);
    cr_assert_eq(count_substr(r.out, "\"member\":"), 2, "%s", r.out);
    cr_assert_not_null(strstr(r.out, "\"objective\": \"styblinski_tang\""), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "\"objective\": \"levy\""), "%s", r.out);
    const double h = 10.0 / 64.0;
    for (int b = 0; b < 2; ++b) {
        const double err = json_num(r.out, "argmin_error", b);
        cr_log_info("qdml minimize member %d: argmin error %.4g (grid spacing %.4g)", b, err, h);
        cr_assert_leq(err, h, "member %d: argmin error %g > grid spacing %g", b, err, h);
    }
    cr_assert_float_eq(json_num(r.out, "known_f_min", 0), -2 * 39.16616570377142, 1e-9);
    cli_free(&r);
    free(dir);
    (void)h;
}

Test(cli_minimize, refusals) {
    char *dir = qt_tmpdir("cli-min");
    double h;
    char *vp = write_trap(dir, &h);
    expect_fail(RUN(dir, "minimize", "--box=-8:8"), 2, "--potential");
    expect_fail(RUN(dir, "minimize", "--potential", vp), 2, "--box");
    expect_fail(RUN(dir, "minimize", "--potential", vp, "--box=-8:8", "--hbar-start", "0.1", "--hbar-end", "0.5"), 2,
                "annealing lowers hbar");
    expect_fail(RUN(dir, "minimize", "--potential", vp, "--box=-8:8", "--stages", "0"), 2, "--stages");
    expect_fail(RUN(dir, "minimize", "--potential", vp, "--box=-8:8", "--reseed", "1.5"), 2, "--reseed");
    expect_fail(RUN(dir, "minimize", "--potential", vp, "--box=-8:8", "--reseed", "x"), 2, "--reseed");
    expect_fail(RUN(dir, "minimize", "--potential", vp, "--objective", "levy", "--dim", "1", "--n", "8"), 2,
                "mutually exclusive");
    expect_fail(RUN(dir, "minimize", "--objective", "nosuch", "--dim", "1", "--n", "8"), 2, "nosuch");
    expect_fail(RUN(dir, "minimize", "--objective", "harmonic", "--dim", "3", "--n", "8", "--png", "x.png"), 2,
                "1D and 2D grids");
    cli_result r = RUN(dir, "minimize", "--help-all");
    expect_ok(&r);
    cr_assert_not_null(strstr(r.out, "--hbar-start"));
    cr_assert_not_null(strstr(r.out, "--objective"));
    cli_free(&r);
    free(vp);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_states, lowest_states_of_an_oscillator) {
    /* V = x^2 / 2 + 2.25 y^2 / 2: omega = (1, 1.5), levels 1.25, 2.25, 2.75, 3.25, 3.75 (the next, 4.25, is
     * 0.5 above them: the rate at which the block converges). */
    char *dir = qt_tmpdir("cli-states");
    char *out = qt_path(dir, "states.npy");
    cli_result r = RUN(dir, "ground", "--objective", "harmonic:k=1,2.25", "--dim", "2", "--n", "48", "--states", "5",
                       "--tol", "1e-7", "--json", "--out", out);
    expect_ok(&r);
    double e[8], res[8];
    cr_assert_eq(json_array(r.out, "energies", e, 8), 5, "%s", r.out);
    cr_assert_eq(json_array(r.out, "residuals", res, 8), 5, "%s", r.out);
    const double expect[5] = {1.25, 2.25, 2.75, 3.25, 3.75};
    for (int k = 0; k < 5; ++k) {
        cr_log_info("qdml ground --states 5: E_%d = %.15g (residual %.3g)", k, e[k], res[k]);
        /* Residual 1e-7 and gaps >= 0.5: |E - E_k| ~ r^2 / gap; 1e-9 leaves room for the grid. */
        cr_assert_float_eq(e[k], expect[k], 1e-9, "E_%d = %.15g", k, e[k]);
        cr_assert_leq(res[k], 1e-7);
    }
    cr_assert_float_eq(json_num(r.out, "energy", 0), e[0], 0.0, "energy must stay the lowest");
    cr_assert_eq(json_num(r.out, "states", 0), 5.0);
    qdml_npy_array a;
    cr_assert_eq(qdml_npy_read(out, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.ndim, 3);
    cr_assert(a.shape[0] == 5 && a.shape[1] == 48 && a.shape[2] == 48);
    qdml_npy_free(&a);
    cli_free(&r);
    /* Text summary. */
    r = RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "64", "--states", "3");
    expect_ok(&r);
    cr_assert_not_null(strstr(r.out, "lowest 3 states converged"), "%s", r.out);
    cli_free(&r);
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "64", "--states", "0"), 2,
                "--states");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic;harmonic:k=2", "--batch", "--dim", "1", "--n", "64",
                    "--states", "2"),
                2, "--states cannot be given with --batch");
    free(out);
    qt_rm_rf(dir);
    free(dir);
}
