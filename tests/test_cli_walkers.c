/* `qdml walkers`: the JSON report against closed forms (the harmonic oscillator in 20 dimensions with its
 * exact trial function: zero variance), the files it writes (.npy of the walkers, .csv of the steps),
 * --extrapolate against the exact finite-dt energies, the same output for the same seed, and refusals. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_support.h"
#include "io_npy.h"
#include "support.h"

Test(cli_walkers, exact_trial_function_files_and_reproducibility) {
    char *dir = qt_tmpdir("cli-walkers");
    char *out = qt_path(dir, "walkers.npy"), *hist = qt_path(dir, "steps.csv"), *png = qt_path(dir, "steps.png");
    /* harmonic k = 1, hbar = m = 1: alpha = 1 is psi_0 itself, E_L = d / 2 everywhere */
    cli_result r = RUN(dir, "walkers", "--objective", "harmonic", "--dim", "20", "--walkers", "500", "--steps", "100",
                       "--alpha", "1", "--dt", "0.05", "--seed", "9", "--json", "--out", out, "--history", hist,
                       "--png", png);
    expect_ok(&r);
    char *pic = slurp(png); /* a PNG (cairo's chart of the steps) */
    cr_assert(strlen(pic) >= 8, "no PNG at %s", png);
    cr_expect(memcmp(pic, "\x89PNG\r\n\x1a\n", 8) == 0, "not a PNG");
    free(pic);
    cr_expect(fabs(json_num(r.out, "energy", 0) - 10.0) < 1e-9, "%s", r.out);
    cr_expect(fabs(json_num(r.out, "mixed_energy", 0) - 10.0) < 1e-9, "%s", r.out);
    double mean[20], width[20], best[20];
    cr_assert_eq(json_array(r.out, "mean", mean, 20), 20, "%s", r.out);
    cr_assert_eq(json_array(r.out, "width", width, 20), 20);
    cr_assert_eq(json_array(r.out, "best_x", best, 20), 20);
    /* the walkers sample psi_T psi_0 = exp(-x^2): width 1/sqrt(2) per coordinate, mean 0; with about 500
     * walkers (correlated by branching) the widths are within 15 % and the means within 0.2 */
    for (int a = 0; a < 20; ++a) {
        cr_expect(fabs(width[a] - sqrt(0.5)) < 0.15 * sqrt(0.5), "width[%d] %g", a, width[a]);
        cr_expect(fabs(mean[a]) < 0.2, "mean[%d] %g", a, mean[a]);
    }
    cr_expect(json_num(r.out, "best_f", 0) < json_num(r.out, "mean_f", 0));
    qdml_npy_array a;
    cr_assert_eq(qdml_npy_read(out, &a), QDML_OK);
    cr_expect_eq(a.ndim, 2);
    cr_expect_eq(a.shape[1], 20);
    cr_expect(a.shape[0] > 300 && a.shape[0] < 800, "%lld walkers", (long long)a.shape[0]);
    qdml_npy_free(&a);
    char *csv = slurp(hist);
    cr_assert_not_null(csv);
    cr_expect(strncmp(csv, "step,eref,growth,mixed,mean_f,acceptance,population\n", 52) == 0);
    cr_expect_eq(count_substr(csv, "\n"), 1 + 125, "steps: equilibration 25 + 100 measured");
    free(csv);
    /* the same seed: the same report (wall times aside) */
    cli_result r2 = RUN(dir, "walkers", "--objective", "harmonic", "--dim", "20", "--walkers", "500", "--steps", "100",
                        "--alpha", "1", "--dt", "0.05", "--seed", "9", "--json", "--threads", "1");
    expect_ok(&r2);
    cr_expect(json_num(r.out, "best_f", 0) == json_num(r2.out, "best_f", 0));
    cr_expect(json_num(r.out, "mean_f", 0) == json_num(r2.out, "mean_f", 0));
    cli_free(&r), cli_free(&r2);
    free(out), free(hist), free(png);
    qt_rm_rf(dir);
    free(dir);
}

/* --extrapolate 2 on the plain 1D oscillator: the energies at dt 0.2 and 0.1 each within 4 errors plus
 * 0.2 % of the algorithm's exact finite-dt value, and the extrapolated energy within 4 errors of 1/2. */
Test(cli_walkers, extrapolate) {
    char *dir = qt_tmpdir("cli-walkers-x");
    cli_result r = RUN(dir, "walkers", "--objective", "harmonic", "--dim", "1", "--walkers", "2000", "--steps", "2000",
                       "--dt", "0.2", "--extrapolate", "2", "--json");
    expect_ok(&r);
    double dts[2], es[2], errs[2];
    cr_assert_eq(json_array(r.out, "extrapolation_dt", dts, 2), 2, "%s", r.out);
    cr_assert_eq(json_array(r.out, "extrapolation_energy", es, 2), 2);
    cr_assert_eq(json_array(r.out, "extrapolation_error", errs, 2), 2);
    for (int i = 0; i < 2; ++i) {
        const double dt = dts[i], c = dt / 2, rr = sqrt(c * c + 2 * c / dt), exact = log(1 + (c + rr) * dt) / (2 * dt);
        cr_expect(fabs(es[i] - exact) < 4 * errs[i] + 1e-3, "dt %g: %g +- %g, exact %g", dt, es[i], errs[i], exact);
    }
    const double e0 = json_num(r.out, "energy_dt0", 0), e0e = json_num(r.out, "energy_dt0_error", 0);
    cr_log_info("extrapolated %.6f +- %.6f; time-step bias %.3g", e0, e0e, json_num(r.out, "time_step_bias", 0));
    cr_expect(fabs(e0 - 0.5) < 4 * e0e, "%s", r.out);
    cli_free(&r);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_walkers, refusals) {
    char *dir = qt_tmpdir("cli-walkers-bad");
    expect_fail(RUN(dir, "walkers", "--dim", "3"), 2, "--objective");
    expect_fail(RUN(dir, "walkers", "--objective", "harmonic"), 2, "--dim");
    expect_fail(RUN(dir, "walkers", "--objective", "harmonic", "--dim", "200000"), 2, "at most 100000");
    expect_fail(RUN(dir, "walkers", "--objective", "nosuch", "--dim", "2"), 2, "--objective");
    expect_fail(RUN(dir, "walkers", "--objective", "ackley", "--dim", "4", "--alpha", "0.5"), 2, "gradient");
    expect_fail(RUN(dir, "walkers", "--objective", "harmonic", "--dim", "2", "--extrapolate", "4"), 2, "2 or 3");
    expect_fail(RUN(dir, "walkers", "--objective", "harmonic", "--dim", "2", "--anneal", "5"), 2, "below --hbar");
    expect_fail(RUN(dir, "walkers", "--objective", "harmonic", "--dim", "2", "--seed", "-3"), 2, "--seed");
    cli_result r = RUN(dir, "walkers", "--help");
    expect_ok(&r);
    cr_expect_not_null(strstr(r.out, "--extrapolate"));
    cli_free(&r);
    qt_rm_rf(dir);
    free(dir);
}
