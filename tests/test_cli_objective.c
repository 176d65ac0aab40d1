/* The qdml program with built-in objectives (--objective SPEC --dim D --n N[,N...] [--box SPEC]):
 * energies against closed forms, one objective per member with --batch, the same run as with the
 * objective written to a .npy file, and bad usage refused with exit status 2 and a message.
 *
 * Energies: ground runs stop at the residual r <= 1e-6 (the default --tol); Temple's inequality
 * bounds E - E0 by r^2 / gap <= 1e-12 for the gaps here (>= 1), and the grids resolve the ground
 * states to far below that (test_objectives.c, test_harmonic.c): 1e-9 holds with room.
 *
 * Backend: the program's default, --backend auto (CUDA where a device is present, else the CPU), on
 * purpose: these tests check what a user gets without choosing, with float64 bounds meant for either
 * backend. QDML_TEST_BACKEND does not apply to the program.
 */
#include "cli_support.h"
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define E_TOL 1e-9

static void expect_energy(const char *out, int nth, double want, const char *what) {
    const double e = json_num(out, "energy", nth);
    cr_assert(fabs(e - want) <= E_TOL, "%s: energy %.15g, closed form %.15g (|diff| %.3g)", what, e, want,
              fabs(e - want));
    cr_assert_eq(json_bool(out, "converged", nth), 1, "%s: not converged", what);
}

Test(cli_objective, ground_harmonic_energy_matches_closed_form) {
    char *dir = qt_tmpdir("cliobj");
    /* V = x^2 / 2 + 2 y^2: omega = (1, 2), E0 = (1 + 2) / 2 on the default box [-6, 6)^2. <x> is
     * first order in the state's error: |<x>| <= 2 |c1| |<0|x|1>| with |c1| <= residual / gap, so the
     * residual asked for, 1e-10, bounds it by 1.5e-10 (the assertion: 1e-9). */
    cli_result r = RUN(dir, "ground", "--objective", "harmonic:k=1,4", "--dim", "2", "--n", "64", "--tol", "1e-10",
                       "--json");
    expect_ok(&r);
    expect_energy(r.out, 0, 1.5, "harmonic:k=1,4");
    double mean[2];
    cr_assert_eq(json_array(r.out, "mean", mean, 2), 2);
    cr_assert(fabs(mean[0]) < 1e-9 && fabs(mean[1]) < 1e-9, "<x> = (%g, %g)", mean[0], mean[1]);
    cli_free(&r);
    /* hbar = 0.5, m = 2: omega = sqrt(k / m), E0 = hbar (sqrt(1/2) + sqrt(2)) / 2; a given box and
     * one point count per axis. */
    r = RUN(dir, "ground", "--objective", "harmonic:k=1,4", "--dim", "2", "--n", "48,64", "--box", "-5:5,-4.5:4.5",
            "--hbar", "0.5", "--mass", "2", "--json");
    expect_ok(&r);
    expect_energy(r.out, 0, 0.5 * (sqrt(0.5) + sqrt(2.0)) / 2.0, "harmonic, hbar 0.5, m 2, --box");
    cli_free(&r);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_objective, batch_gives_each_member_its_objective) {
    char *dir = qt_tmpdir("cliobj");
    /* Harmonic k = 1 and 4 (E0 = 1/2, 1) and Poschl-Teller lambda = 3 (E0 = -(lambda - 1)^2 / 2 = -2,
     * gap 1.5) on the box holding all three domains, [-12, 12) (Poschl-Teller's): 256 points. */
    cli_result r = RUN(dir, "ground", "--batch", "--objective", "harmonic;harmonic:k=4;poschl_teller", "--dim", "1",
                       "--n", "256", "--json");
    expect_ok(&r);
    cr_assert_eq(count_substr(r.out, "\"member\""), 3, "expected 3 members:\n%s", r.out);
    expect_energy(r.out, 0, 0.5, "member 0 (harmonic)");
    expect_energy(r.out, 1, 1.0, "member 1 (harmonic:k=4)");
    expect_energy(r.out, 2, -2.0, "member 2 (poschl_teller)");
    cli_free(&r);
    qt_rm_rf(dir);
    free(dir);
}

/* The objective through --objective and through a .npy of qdml_objective_eval at the same grid
 * points: the same real-time run. The potentials are equal bit for bit on the CPU backend (to
 * ~1e-15 on CUDA); the two processes may choose different FFT plans, so the results agree to
 * rounding: 1e-12 relative. */
Test(cli_objective, evolve_with_objective_equals_evolve_with_its_npy) {
    char *dir = qt_tmpdir("cliobj");
    qdml_objective o;
    cr_assert_eq(qdml_objective_parse("double_well:c=0.2", 1, &o), QDML_OK);
    double lo, hi;
    cr_assert_eq(qdml_objective_domain(&o, 1, &lo, &hi), QDML_OK);
    enum { N = 128 };
    const int64_t shape[1] = {N};
    double v[N], psi[2 * N];
    for (int j = 0; j < N; ++j) {
        const double x = lo + (double)j * (hi - lo) / (double)N;
        cr_assert_eq(qdml_objective_eval(&o, &x, 1, &v[j]), QDML_OK);
        psi[2 * j] = exp(-(x + 0.8) * (x + 0.8) / 0.5);
        psi[2 * j + 1] = 0.3 * psi[2 * j] * sin(x);
    }
    char *vp = write_f64(dir, "v.npy", 1, shape, v), *pp = write_c128(dir, "psi0.npy", 1, shape, psi);
    char box[128];
    snprintf(box, sizeof box, "%.17g:%.17g", lo, hi);
    cli_result a = RUN(dir, "evolve", "--mode", "real", "--objective", "double_well:c=0.2", "--dim", "1", "--n", "128",
                       "--psi0", pp, "--time", "0.2", "--dt", "0.002", "--json");
    expect_ok(&a);
    cli_result b = RUN(dir, "evolve", "--mode", "real", "--potential", vp, "--box", box, "--psi0", pp, "--time", "0.2",
                       "--dt", "0.002", "--json");
    expect_ok(&b);
    static const char *const keys[] = {"energy", "kinetic", "potential", "norm", "residual"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; ++k) {
        const double x = json_num(a.out, keys[k], 0), y = json_num(b.out, keys[k], 0);
        cr_assert(isfinite(x) && fabs(x - y) <= 1e-12 * fmax(1.0, fabs(y)), "%s: --objective %.17g, --potential %.17g",
                  keys[k], x, y);
    }
    static const char *const axes[] = {"mean", "width"};
    for (size_t k = 0; k < 2; ++k) {
        double x[1], y[1];
        cr_assert_eq(json_array(a.out, axes[k], x, 1), 1);
        cr_assert_eq(json_array(b.out, axes[k], y, 1), 1);
        cr_assert(fabs(x[0] - y[0]) <= 1e-12, "%s: --objective %.17g, --potential %.17g", axes[k], x[0], y[0]);
    }
    cli_free(&a);
    cli_free(&b);
    free(vp);
    free(pp);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_objective, bad_usage_exits_2_with_a_message) {
    char *dir = qt_tmpdir("cliobj");
    const int64_t shape[1] = {8};
    double v[8] = {0}, psi[16] = {1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0};
    char *vp = write_f64(dir, "v.npy", 1, shape, v), *pp = write_c128(dir, "psi0.npy", 1, shape, psi);
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--potential", vp, "--dim", "1", "--n", "8"), 2,
                "--objective and --potential are mutually exclusive");
    expect_fail(RUN(dir, "ground", "--objective", "rastrign", "--dim", "2", "--n", "8"), 2,
                "unknown objective 'rastrign'; did you mean 'rastrigin'? (valid: harmonic, double_well, gaussian_wells");
    expect_fail(RUN(dir, "ground", "--objective", "xyz", "--dim", "2", "--n", "8"), 2,
                "unknown objective 'xyz' (valid: harmonic");
    expect_fail(RUN(dir, "ground", "--objective", "Styblinski_Tang_", "--dim", "2", "--n", "8"), 2,
                "did you mean 'styblinski_tang'?");
    /* Names in any case, '-' for '_'. */
    cli_result ok = RUN(dir, "ground", "--objective", "Double-Well", "--dim", "1", "--n", "64", "--json");
    expect_ok(&ok);
    cli_result ref = RUN(dir, "ground", "--objective", "double_well", "--dim", "1", "--n", "64", "--json");
    expect_ok(&ref);
    cr_assert_eq(json_num(ok.out, "energy", 0), json_num(ref.out, "energy", 0), "Double-Well is double_well");
    cli_free(&ok);
    cli_free(&ref);
    expect_fail(RUN(dir, "ground", "--objective", "rastrigin:B=1", "--dim", "2", "--n", "8"), 2,
                "rastrigin has no parameter 'B' (valid: A)");
    expect_fail(RUN(dir, "ground", "--objective", "rastrigin:A=ten", "--dim", "2", "--n", "8"), 2,
                "value 'ten' of rastrigin A is not a finite number");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic:k=-2", "--dim", "1", "--n", "8"), 2, "k[0] = -2");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic:k=1,2,3", "--dim", "2", "--n", "8"), 2, "at most 2 values");
    expect_fail(RUN(dir, "ground", "--objective", "rosenbrock", "--dim", "1", "--n", "8"), 2, "at least 2 dimensions");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--n", "8"), 2, "--objective needs --dim");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "4", "--n", "8"), 2, "grids have 1 to 3");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "0", "--n", "8"), 2, "--dim");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "2"), 2, "--objective needs --n");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "2", "--n", "8,8,8"), 2,
                "gives 3 values for a 2-dimensional grid");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "0"), 2, "--n");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "8", "--box", "1:-1"), 2,
                "needs lo < hi");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic;levy", "--dim", "1", "--n", "8"), 2, "add --batch");
    expect_fail(RUN(dir, "ground", "--batch", "--objective", "harmonic;levi", "--dim", "1", "--n", "8"), 2,
                "(member 1): unknown objective 'levi'");
    expect_fail(RUN(dir, "ground", "--potential", vp, "--box", "-1:1", "--dim", "1"), 2, "--dim goes with --objective");
    expect_fail(RUN(dir, "ground", "--potential", vp, "--box", "-1:1", "--n", "8"), 2, "--n goes with --objective");
    expect_fail(RUN(dir, "ground", "--resume", "nothing.ckpt", "--objective", "levy", "--dim", "1", "--n", "8"), 2,
                "nothing.ckpt");
    /* k = 1e308: 0.5 k x^2 overflows from |x| = 2 on, the first grid point x = -4 here. */
    expect_fail(RUN(dir, "ground", "--objective", "harmonic:k=1e308", "--dim", "1", "--n", "16", "--box", "-4:4"), 2,
                "at grid point 0, x = (-4), is inf");
    /* evolve */
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--objective", "levy", "--potential", vp, "--dim", "1", "--n", "8",
                    "--psi0", pp, "--time", "1", "--dt", "0.1"),
                2, "mutually exclusive");
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--objective", "levy", "--dim", "1", "--n", "16", "--psi0", pp,
                    "--time", "1", "--dt", "0.1"),
                2, "shape (8,) does not match the grid's shape (16,)");
    expect_fail(
        RUN(dir, "evolve", "--mode", "real", "--dim", "1", "--n", "8", "--psi0", pp, "--time", "1", "--dt", "0.1"), 2,
        "--dim goes with --objective");
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--psi0", pp, "--time", "1", "--dt", "0.1"), 2,
                "missing required option --potential (or --objective SPEC)");
    free(vp);
    free(pp);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_objective, help_describes_the_objective_options) {
    char *dir = qt_tmpdir("cliobj");
    static const char *const cmds[] = {"ground", "evolve"};
    for (size_t k = 0; k < 2; ++k) {
        cli_result r = RUN(dir, cmds[k], "--help-all");
        expect_ok(&r);
        cr_assert_not_null(strstr(r.out, "--objective SPEC"), "%s --help-all:\n%s", cmds[k], r.out);
        cr_assert_not_null(strstr(r.out, "styblinski_tang"), "%s --help lists the names", cmds[k]);
        cr_assert_not_null(strstr(r.out, "--n N[,N...]"), "%s --help", cmds[k]);
        cli_free(&r);
    }
    qt_rm_rf(dir);
    free(dir);
}

/* The same command line with --resume added: accepted when its problem options describe the
 * checkpoint's problem (and the result is the uninterrupted run's, bit for bit), refused naming the
 * first difference when they do not. */
Test(cli_objective, resume_takes_the_same_command_line) {
    char *dir = qt_tmpdir("cliobj");
    char *ck = qt_path(dir, "run.ckpt");
#define BASE "ground", "--objective", "double_well:a=3", "--dim", "1", "--n", "96", "--box", "-3:3", "--hbar", "0.7"
    /* (the uninterrupted run checkpoints too, elsewhere, and shares a wisdom file with the first part:
     * two processes plan alike where they share one) */
    char *ck2 = qt_path(dir, "whole.ckpt"), *wis = qt_path(dir, "shared.wisdom");
    cli_result whole = RUN(dir, BASE, "--checkpoint", ck2, "--max-steps", "400", "--wisdom", wis, "--json");
    expect_ok(&whole);
    cli_result first = RUN(dir, BASE, "--checkpoint", ck, "--max-steps", "200", "--wisdom", wis, "--json");
    expect_ok(&first);
    cli_free(&first);
    cli_result again = RUN(dir, BASE, "--checkpoint", ck, "--resume", ck, "--max-steps", "400", "--json");
    expect_ok(&again);
    cr_assert_eq(json_num(again.out, "energy", 0), json_num(whole.out, "energy", 0),
                 "resumed %.17g, uninterrupted %.17g", json_num(again.out, "energy", 0), json_num(whole.out, "energy", 0));
    cli_free(&again);
    cli_free(&whole);
    expect_fail(RUN(dir, "ground", "--objective", "double_well:a=2", "--dim", "1", "--n", "96", "--box", "-3:3",
                    "--hbar", "0.7", "--resume", ck, "--max-steps", "400"),
                2, "--objective differs from the checkpoint's potential of member 0");
    expect_fail(RUN(dir, "ground", "--objective", "double_well:a=3", "--dim", "1", "--n", "64", "--box", "-3:3",
                    "--hbar", "0.7", "--resume", ck, "--max-steps", "400"),
                2, "axis 0 has 64 points in --objective; the checkpoint's has 96");
    expect_fail(RUN(dir, "ground", "--objective", "double_well:a=3", "--dim", "1", "--n", "96", "--box", "-3:3",
                    "--hbar", "0.5", "--resume", ck, "--max-steps", "400"),
                2, "--hbar 0.5; the checkpoint's member 0 has hbar = 0.69999999999999996");
#undef BASE
    free(ck);
    free(ck2);
    free(wis);
    qt_rm_rf(dir);
    free(dir);
}
