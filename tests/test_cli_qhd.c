/* `qdml qhd` and `qdml bench-opt`, run as a user would: the JSON and files they write, that a member of
 * the batched suite ends where the same function run alone ends (members never mix), and their
 * refusals. A small run of the whole QHD suite (64^2, 400 steps) fits the test budget; the full-size
 * suite (256^2, 10^4 steps) is perf/bench-opt's.
 *
 * Backend: the program's default, --backend auto (CUDA where a device is present, else the CPU), with
 * bounds meant for either.
 */
#include "cli_support.h"
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

Test(cli_qhd, a_quadratic_is_found_and_the_schedule_matters) {
    char *dir = qt_tmpdir("cli-qhd");
    char *out = qt_path(dir, "psi.npy");
    cli_result r = RUN(dir, "qhd", "--objective", "sumofsquares", "--box=-1:1", "--n", "64", "--time", "10", "--dt",
                       "1e-3", "--json", "--out", out);
    expect_ok(&r);
    const double p = json_num(r.out, "success_probability", 0);
    double x[2];
    cr_assert_eq(json_array(r.out, "argmax", x, 2), 2, "%s", r.out);
    cr_assert_not_null(strstr(r.out, "\"minimizers\": [[0, 0]]"), "%s", r.out);
    /* QHD's schedule ends at b = 2000, a = 2e-3: a narrow state on the minimum (the grid spacing here is
     * 2/64 in f's box, 1/64 on the unit box). */
    cr_assert_gt(p, 0.99, "success %g\n%s", p, r.out);
    cr_assert_leq(fabs(x[0]) + fabs(x[1]), 2.0 / 64 + 1e-12, "argmax (%g, %g)", x[0], x[1]);
    cr_assert_lt(json_num(r.out, "expected_f", 0), 0.02, "%s", r.out);
    cr_assert_eq(json_num(r.out, "steps", 0), 10000);
    struct stat st;
    cr_assert_eq(stat(out, &st), 0, "no %s", out);
    cli_free(&r);
    /* The plain Schrodinger equation (a = b = 1) from the uniform state spreads over the box instead. */
    r = RUN(dir, "qhd", "--objective", "sumofsquares", "--box=-1:1", "--n", "64", "--time", "10", "--dt", "1e-3",
            "--schedule", "constant", "--json");
    expect_ok(&r);
    const double pc = json_num(r.out, "success_probability", 0);
    cr_assert_lt(pc, 0.5, "constant schedule: success %g", pc);
    cli_free(&r);
    free(out);
    free(dir);
}

Test(cli_qhd, refusals) {
    char *dir = qt_tmpdir("cli-qhd-bad");
    expect_fail(RUN(dir, "qhd", "--n", "32"), 2, "--objective");
    expect_fail(RUN(dir, "qhd", "--objective", "holder", "--dim", "3"), 2, "2 dimensions only");
    expect_fail(RUN(dir, "qhd", "--objective", "rastrigin", "--schedule", "cubic"), 2, "unknown schedule 'cubic'");
    expect_fail(RUN(dir, "qhd", "--objective", "sumofsquares", "--box", "2:3"), 2, "holds none");
    expect_fail(RUN(dir, "qhd", "--objective", "rastrigin", "--time", "1", "--dt", "5"), 2, "less than half");
    expect_fail(RUN(dir, "bench-opt", "--suite", "qhd", "--dim", "3"), 2, "two-dimensional");
    expect_fail(RUN(dir, "bench-opt", "--suite", "nope"), 2, "unknown suite 'nope'");
    expect_fail(RUN(dir, "bench-opt", "--method", "anneal", "--one-by-one"), 2, "--one-by-one");
    free(dir);
}

/* The value of column `col` in the CSV row whose first field is `name`, or NAN. */
static double csv_field(const char *csv, const char *name, const char *col) {
    const char *nl = strchr(csv, '\n');
    int idx = -1, k = 0;
    for (const char *c = csv; c && c < nl; ++k) {
        const char *e = strchr(c, ',');
        if (!e || e > nl) e = nl;
        if ((size_t)(e - c) == strlen(col) && strncmp(c, col, (size_t)(e - c)) == 0) idx = k;
        c = e < nl ? e + 1 : NULL;
    }
    if (idx < 0) return NAN;
    char key[96];
    snprintf(key, sizeof key, "\n%s,", name);
    const char *row = strstr(csv, key);
    if (!row) return NAN;
    row += 1;
    for (int j = 0; j < idx && row; ++j) {
        row = strchr(row, ',');
        if (row) ++row;
    }
    return row ? strtod(row, NULL) : NAN;
}

Test(cli_qhd, the_qhd_suite_in_one_batch) {
    char *dir = qt_tmpdir("cli-bench");
    char *od = qt_path(dir, "out");
    cli_result r = RUN(dir, "bench-opt", "--suite", "qhd", "--n", "64", "--time", "2", "--dt", "5e-3", "--out-dir", od,
                       "--one-by-one");
    expect_ok(&r);
    char *csvp = qt_path(od, "results.csv"), *mdp = qt_path(od, "results.md");
    char *csv = slurp(csvp), *md = slurp(mdp);
    cr_assert_eq(count_substr(csv, "\n"), 23, "a header and 22 rows:\n%s", csv);
    cr_assert_eq(count_substr(md, "\n| "), 23, "a header and 22 rows in the table:\n%s", md);
    cr_assert_not_null(strstr(md, "QHD on each function alone"), "%s", md);
    const char *names[] = {"ackley", "holder", "levy13", "sumofsquares", "xinsheyang3", "camel3"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i)
        for (int m = 0; m < 2; ++m) {
            const double p = csv_field(csv, names[i], m ? "success_anneal" : "success_qhd");
            cr_assert(p >= 0.0 && p <= 1.0 + 1e-12, "%s %s success %g", names[i], m ? "anneal" : "qhd", p);
            cr_assert_eq(csv_field(csv, names[i], m ? "steps_anneal" : "steps_qhd") <= 400, 1);
        }
    /* The suite's boxes and minima: holder on [0, 10]^2 keeps one of its four minimisers. */
    cr_assert_float_eq(csv_field(csv, "holder", "f_min"), -19.20850256788673, 1e-10);
    cr_assert_eq(csv_field(csv, "holder", "minimizers"), 1.0);
    cr_assert_eq(csv_field(csv, "holder", "box_lo"), 0.0);
    /* Annealing to hbar 1e-3 on a quadratic bowl: the density on the minimum. */
    cr_assert_gt(csv_field(csv, "sumofsquares", "success_anneal"), 0.99);
    /* A member of the batch ends where the function run alone ends. */
    cli_free(&r);
    r = RUN(dir, "qhd", "--objective", "holder", "--box", "0:10", "--n", "64", "--time", "2", "--dt", "5e-3", "--json");
    expect_ok(&r);
    const double alone = json_num(r.out, "success_probability", 0), batched = csv_field(csv, "holder", "success_qhd");
    cr_assert(fabs(alone - batched) <= 1e-8, "holder alone %.12g, in the batch %.12g", alone, batched);
    const double ealone = json_num(r.out, "expected_V", 0), ebatch = csv_field(csv, "holder", "expected_V_qhd");
    cr_assert(fabs(ealone - ebatch) <= 1e-8 * (1 + fabs(ealone)), "<V> alone %.12g, in the batch %.12g", ealone, ebatch);
    struct stat st;
    char *pq = qt_path(od, "densities_qhd.png"), *pa = qt_path(od, "densities_anneal.png");
    if (strstr(r.err, "draws no figures") == NULL && stat(pq, &st) == 0) cr_assert_eq(stat(pa, &st), 0);
    cli_free(&r);
    free(pq);
    free(pa);
    free(csv);
    free(md);
    free(csvp);
    free(mdp);
    free(od);
    free(dir);
}

Test(cli_qhd, the_classic_suite_in_3d) {
    char *dir = qt_tmpdir("cli-bench3");
    char *od = qt_path(dir, "out");
    cli_result r = RUN(dir, "bench-opt", "--suite", "classic", "--dim", "3", "--n", "16", "--time", "0.5", "--dt",
                       "0.01", "--out-dir", od);
    expect_ok(&r);
    char *csvp = qt_path(od, "results.csv");
    char *csv = slurp(csvp);
    cr_assert_eq(count_substr(csv, "\n"), 8, "a header and 7 rows:\n%s", csv);
    cr_assert_float_eq(csv_field(csv, "styblinski_tang", "f_min"), -117.49849711131423, 1e-9);
    cr_assert_not_null(strstr(r.out, "3D, 16 points per axis"), "%s", r.out);
    cli_free(&r);
    free(csv);
    free(csvp);
    free(od);
    free(dir);
}
