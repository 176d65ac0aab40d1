/* The qdml program given hostile and careless input, run as a user would: outputs that are device
 * nodes, links, FIFOs, hard links, other users' files, read-only directories, the same file twice or
 * an input; a batch with a diverging member; starts that must reach every eigenstate; resumption
 * with other run options; oversized steps; and the small things (hexadecimal numbers, subnormal
 * boxes, escapes in a .npy header, ...). Each test names what it asserts.
 *
 * Backend: the program's default, --backend auto, on purpose (what a user gets); none for the checks
 * that refuse a command line before anything is computed. */
#define _XOPEN_SOURCE 700 /* mknod, S_IF* */
#include "cli_support.h"
#include "io_npy.h"
#include "support.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef QDML_CLI_PATH
#error "QDML_CLI_PATH must name the built qdml program"
#endif

/* ---- helpers ------------------------------------------------------------------------------------ */

static double xj(double lo, double hi, int64_t n, int64_t j) { return lo + (double)j * (hi - lo) / (double)n; }

static mode_t kind_of(const char *path) {
    struct stat sb;
    cr_assert_eq(lstat(path, &sb), 0, "lstat %s: %s", path, strerror(errno));
    return sb.st_mode & S_IFMT;
}

static int exists(const char *path) {
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static void put(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

/* V = x^2/2 on n points of [-10, 10): the harmonic grid. */
static char *harmonic_file(const char *dir, const char *name, int64_t n) {
    double *v = malloc((size_t)n * sizeof *v);
    for (int64_t j = 0; j < n; ++j) {
        const double x = xj(-10, 10, n, j);
        v[j] = 0.5 * x * x;
    }
    char *p = write_f64(dir, name, 1, &n, v);
    free(v);
    return p;
}

/* A complex .npy read back whole (asserts). */
static qdml_npy_array read_npy(const char *path) {
    qdml_npy_array a;
    cr_assert_eq(qdml_npy_read(path, &a), QDML_OK, "%s", qdml_last_error_message());
    return a;
}

/* The run quick enough for every output test: the ground state of x^2/2 on 32 points. */
#define QUICK "ground", "--objective", "harmonic", "--dim", "1", "--n", "32", "--tol", "1e-4"

/* Runs `qdml args...` as the user nobody (uid and gid 65534) when the tests run as root, who may
 * write anything, so that read-only means read-only; as is otherwise. stdout and stderr as RUN. */
static cli_result run_unprivileged_v(const char *dir, const char *const *args) {
    char *outp = qt_path(dir, ".stdout_nobody"), *errp = qt_path(dir, ".stderr_nobody");
    size_t n = 0;
    while (args[n])
        ++n;
    char **argv = calloc(n + 2, sizeof *argv);
    argv[0] = (char *)QDML_CLI_PATH;
    for (size_t i = 0; i < n; ++i)
        argv[i + 1] = (char *)args[i];
    fflush(NULL);
    const pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        const int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0666),
                  e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (o < 0 || e < 0) _exit(126);
        dup2(o, 1);
        dup2(e, 2);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(125);
        setenv("OMP_NUM_THREADS", "1", 0);
        setenv("HOME", "/nonexistent", 1); /* nobody's caches go nowhere */
        execv(QDML_CLI_PATH, argv);
        _exit(127);
    }
    int ws = 0;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    cli_result r;
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    r.out = slurp(outp);
    r.err = slurp(errp);
    cr_assert(r.status != 125 && r.status != 127, "could not run %s as nobody (%d)", QDML_CLI_PATH, r.status);
    free(argv);
    free(outp);
    free(errp);
    return r;
}
#define RUN_UNPRIVILEGED(dir, ...) run_unprivileged_v((dir), (const char *const[]){__VA_ARGS__, NULL})

/* ---- 1: what sits at an output path ------------------------------------------------------------ */

Test(cli_hostile_files, a_device_node_is_written_in_place_and_a_full_one_fails_after_printing) {
    if (geteuid() != 0) cr_skip_test("making device nodes needs root");
    char *dir = qt_tmpdir("hostile");
    char *null_dev = qt_path(dir, "null"), *full_dev = qt_path(dir, "full");
    /* The devices of /dev/null (1, 3) and /dev/full (1, 7), made here, so that nothing shared is at risk. */
    cr_assert_eq(mknod(null_dev, S_IFCHR | 0666, makedev(1, 3)), 0, "mknod: %s", strerror(errno));
    cr_assert_eq(mknod(full_dev, S_IFCHR | 0666, makedev(1, 7)), 0, "mknod: %s", strerror(errno));
    cli_result r = RUN(dir, QUICK, "--out", null_dev, "--history", null_dev, "--json");
    expect_ok(&r);
    cr_assert_eq(kind_of(null_dev), S_IFCHR, "%s must stay a character device", null_dev);
    cli_free(&r);
    /* A full device: ENOSPC, exit 1 naming the file, and the result still printed. */
    r = RUN(dir, QUICK, "--out", full_dev, "--json");
    cr_assert_eq(r.status, 1, "exit %d; stderr: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, strerror(ENOSPC)), "%s", r.err);
    cr_assert_not_null(strstr(r.err, full_dev), "the message must name the file: %s", r.err);
    cr_assert_float_eq(json_num(r.out, "energy", 0), 0.5, 1e-3, "the result must still be printed: %s", r.out);
    cr_assert_eq(kind_of(full_dev), S_IFCHR, "%s must stay a character device", full_dev);
    cli_free(&r);
    qt_rm_rf(dir);
    free(null_dev);
    free(full_dev);
    free(dir);
}

Test(cli_hostile_files, a_symlink_is_followed_and_stays_a_link) {
    char *dir = qt_tmpdir("hostile");
    char *real = qt_path(dir, "real"), *link = qt_path(dir, "psi.npy"), *hist = qt_path(dir, "h.csv");
    cr_assert_eq(mkdir(real, 0755), 0);
    char *target = qt_path(real, "psi.npy"), *htarget = qt_path(real, "h.csv");
    cr_assert_eq(symlink("real/psi.npy", link), 0, "%s", strerror(errno)); /* to nothing yet */
    cr_assert_eq(symlink(htarget, hist), 0);
    put(htarget, "old");
    cli_result r = RUN(dir, QUICK, "--out", link, "--history", hist);
    expect_ok(&r);
    cli_free(&r);
    cr_assert_eq(kind_of(link), S_IFLNK, "--out's link must stay a link");
    cr_assert_eq(kind_of(hist), S_IFLNK, "--history's link must stay a link");
    qdml_npy_array a = read_npy(target);
    cr_assert_eq(a.count, 32);
    qdml_npy_free(&a);
    char *csv = slurp(htarget);
    cr_assert(strncmp(csv, "member", 6) == 0 || strstr(csv, "energy"), "the link's target holds the CSV: %.80s", csv);
    free(csv);
    qt_rm_rf(dir);
    free(real);
    free(link);
    free(hist);
    free(target);
    free(htarget);
    free(dir);
}

Test(cli_hostile_files, a_fifo_is_written_for_its_reader) {
    char *dir = qt_tmpdir("hostile");
    char *fifo = qt_path(dir, "pipe.csv"), *got = qt_path(dir, "got.csv");
    cr_assert_eq(mkfifo(fifo, 0600), 0, "%s", strerror(errno));
    fflush(NULL);
    const pid_t reader = fork();
    cr_assert(reader >= 0);
    if (reader == 0) { /* what comes through the FIFO into got.csv; gives up after 60 s */
        alarm(60);
        FILE *in = fopen(fifo, "r"), *out = fopen(got, "w");
        if (!in || !out) _exit(1);
        for (int c; (c = fgetc(in)) != EOF;)
            fputc(c, out);
        fclose(in);
        _exit(fclose(out) == 0 ? 0 : 1);
    }
    cli_result r = RUN(dir, QUICK, "--history", fifo);
    int status = 0;
    cr_assert_eq(waitpid(reader, &status, 0), reader);
    expect_ok(&r);
    cli_free(&r);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the reader failed");
    cr_assert_eq(kind_of(fifo), S_IFIFO, "the FIFO must stay a FIFO");
    char *csv = slurp(got);
    cr_assert_gt(count_substr(csv, "\n"), 2, "the reader got the CSV: %.200s", csv);
    free(csv);
    qt_rm_rf(dir);
    free(fifo);
    free(got);
    free(dir);
}

Test(cli_hostile_files, a_hard_linked_output_is_refused_before_the_run) {
    char *dir = qt_tmpdir("hostile");
    char *one = qt_path(dir, "one.npy"), *two = qt_path(dir, "two.npy");
    put(one, "keep");
    cr_assert_eq(link(one, two), 0);
    expect_fail(RUN(dir, QUICK, "--out", one), 2, "2 hard links");
    char *a = slurp(one), *b = slurp(two);
    cr_assert(strcmp(a, "keep") == 0 && strcmp(b, "keep") == 0, "both names keep the old contents");
    free(a);
    free(b);
    qt_rm_rf(dir);
    free(one);
    free(two);
    free(dir);
}

Test(cli_hostile_files, a_replaced_file_keeps_its_mode_and_owner) {
    char *dir = qt_tmpdir("hostile");
    char *path = qt_path(dir, "psi.npy");
    put(path, "old");
    cr_assert_eq(chmod(path, 0600), 0);
    const int root = geteuid() == 0;
    if (root) cr_assert_eq(chown(path, 65534, 65534), 0, "%s", strerror(errno));
    cli_result r = RUN(dir, QUICK, "--out", path);
    expect_ok(&r);
    cli_free(&r);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0600, "mode %04o, expected 0600", (unsigned)(sb.st_mode & 07777));
    if (root)
        cr_assert(sb.st_uid == 65534 && sb.st_gid == 65534, "owner %u:%u", (unsigned)sb.st_uid, (unsigned)sb.st_gid);
    qdml_npy_array a = read_npy(path);
    qdml_npy_free(&a);
    qt_rm_rf(dir);
    free(path);
    free(dir);
}

Test(cli_hostile_files, a_read_only_directory_is_refused_before_the_run) {
    char *dir = qt_tmpdir("hostile");
    cr_assert_eq(chmod(dir, 0755), 0);
    char *ro = qt_path(dir, "ro");
    cr_assert_eq(mkdir(ro, 0555), 0);
    char *out = qt_path(ro, "psi.npy");
    /* Output files go to dir (writable by the child as nobody once chmod'ed). */
    cr_assert_eq(chmod(dir, 0777), 0);
    cli_result r = RUN_UNPRIVILEGED(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "32", "--out", out);
    cr_assert_eq(r.status, 2, "exit %d; stderr: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "no files can be created"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "nothing was computed"), "%s", r.err);
    cr_assert_eq(r.out[0], '\0', "nothing printed before the refusal: %s", r.out);
    cli_free(&r);
    cr_assert(!exists(out));
    qt_rm_rf(dir);
    free(out);
    free(ro);
    free(dir);
}

/* ---- 2: outputs checked before anything is computed -------------------------------------------- */

Test(cli_hostile_outputs, every_output_is_checked_before_the_run) {
    char *dir = qt_tmpdir("hostile");
    char *v = harmonic_file(dir, "v.npy", 64);
    char *missing = qt_path(dir, "no/such/x.npy");
    /* --tol 1e-14 and 10^7 steps would run for minutes: each refusal comes at once. */
    const time_t start = time(NULL);
    expect_fail(RUN(dir, "ground", "--potential", v, "--box", "-10:10", "--tol", "1e-14", "--max-steps", "10000000",
                    "--out", missing),
                2, "does not exist");
    expect_fail(RUN(dir, "ground", "--potential", v, "--box", "-10:10", "--tol", "1e-14", "--history", dir), 2,
                "is a directory");
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--potential", v, "--box", "-10:10", "--psi0", v, "--time", "1e6",
                    "--dt", "0.01", "--png", missing),
                2, "--png");
    expect_fail(RUN(dir, "minimize", "--potential", v, "--box", "-10:10", "--stages", "100000", "--history", missing),
                2, "--history: cannot write");
    cr_assert_lt(difftime(time(NULL), start), 20.0, "the refusals must come before any computation");
    qt_rm_rf(dir);
    free(v);
    free(missing);
    free(dir);
}

Test(cli_hostile_outputs, an_output_may_not_be_an_input_or_another_output) {
    char *dir = qt_tmpdir("hostile");
    char *v = harmonic_file(dir, "v.npy", 64);
    char *v_again = qt_path(dir, "./sub/../v.npy"), *alias = qt_path(dir, "alias.npy");
    char *sub = qt_path(dir, "sub");
    cr_assert_eq(mkdir(sub, 0755), 0);
    cr_assert_eq(symlink(v, alias), 0);
    char *before = slurp(v);
    expect_fail(RUN(dir, "ground", "--potential", v, "--box", "-10:10", "--out", v_again), 2,
                "same file as the input --potential");
    expect_fail(RUN(dir, "ground", "--potential", v, "--box", "-10:10", "--history", alias), 2,
                "same file as the input --potential");
    char *out = qt_path(dir, "out.npy"), *out_again = qt_path(dir, "sub/../out.npy");
    expect_fail(RUN(dir, "ground", "--potential", v, "--box", "-10:10", "--out", out, "--history", out_again), 2,
                "are the same file");
    char *after = slurp(v);
    cr_assert(memcmp(before, after, 128) == 0, "the input must be untouched");
    cr_assert(!exists(out), "nothing may be written");
    free(before);
    free(after);
    qt_rm_rf(dir);
    free(v);
    free(v_again);
    free(alias);
    free(sub);
    free(out);
    free(out_again);
    free(dir);
}

/* ---- 3: a batch with a diverging member ------------------------------------------------------- */

Test(cli_hostile_batch, one_diverging_member_keeps_the_others_results) {
    /* Member 1 is a well of depth 2e154 at one point: its start's residual sum (V - E)^2 |psi|^2 is
     * finite, but once a fifth of the state has gathered in the well (the second step) it exceeds
     * double precision: the member diverges. Members 0 and 2 are oscillators. Two steps: enough for the
     * divergence, and the others' results are those of two steps. */
    char *dir = qt_tmpdir("hostile");
    const int64_t n = 64, shape[2] = {3, 64};
    double v[3 * 64];
    for (int64_t j = 0; j < n; ++j) {
        const double x = xj(-10, 10, n, j);
        v[j] = 0.5 * x * x;
        v[n + j] = j == n / 2 ? -2e154 : 0.0;
        v[2 * n + j] = x * x;
    }
    char *batch = write_f64(dir, "batch.npy", 2, shape, v);
    char *solo = write_f64(dir, "solo.npy", 1, &n, v);
    char *out = qt_path(dir, "batch_psi.npy"), *solo_out = qt_path(dir, "solo_psi.npy"), *hist = qt_path(dir, "h.csv");
    cli_result r = RUN(dir, "ground", "--method", "imaginary-time", "--batch", "--potential", batch, "--box", "-10:10",
                       "--max-steps", "2", "--json", "--out", out, "--history", hist);
    cr_assert_eq(r.status, 1, "exit %d; stderr: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "member 1 diverged"), "%s", r.err);
    cr_assert_eq(json_bool(r.out, "diverged", 0), 0, "%s", r.out);
    cr_assert_eq(json_bool(r.out, "diverged", 1), 1, "member 1 must be marked: %s", r.out);
    cr_assert_eq(json_bool(r.out, "diverged", 2), 0, "%s", r.out);
    cr_assert_eq(json_num(r.out, "steps", 0), 2.0, "%s", r.out);
    const double e0 = json_num(r.out, "energy", 0);
    cli_free(&r);
    /* The others' states are written, member 0's as it is alone. */
    r = RUN(dir, "ground", "--method", "imaginary-time", "--potential", solo, "--box", "-10:10", "--max-steps", "2",
            "--json", "--out", solo_out);
    expect_ok(&r);
    /* (a batch of three may use other FFT plans than one member: equal to rounding, not always bit for bit) */
    cr_assert_float_eq(json_num(r.out, "energy", 0), e0, 1e-13, "member 0's energy alone %.17g, in the batch %.17g",
                       json_num(r.out, "energy", 0), e0);
    cli_free(&r);
    qdml_npy_array a = read_npy(out), b = read_npy(solo_out);
    cr_assert(a.ndim == 2 && a.shape[0] == 3 && a.shape[1] == n, "the batch's states, shape (3, 64)");
    const double d = qt_max_abs_diff(a.data, b.data, n), m = qt_max_abs(b.data, n);
    cr_assert_leq(d, 1e-13 * m, "member 0 in the batch differs from its run alone by %.3g (max %.3g)", d, m);
    qdml_npy_free(&a);
    qdml_npy_free(&b);
    char *csv = slurp(hist);
    cr_assert_gt(strlen(csv), 10, "the history is written");
    free(csv);
    /* A member whose start overflows refuses the whole batch, naming it (exit 2). */
    for (int64_t j = 0; j < n; ++j)
        v[n + j] = j == n / 2 ? -1e160 : 0.0;
    char *bad = write_f64(dir, "bad.npy", 2, shape, v);
    expect_fail(RUN(dir, "ground", "--batch", "--potential", bad, "--box", "-10:10"), 2, "member 1");
    /* So does one with a value that is not finite, naming it. */
    v[2 * n + 5] = NAN;
    char *nan_batch = write_f64(dir, "nan.npy", 2, shape, v);
    expect_fail(RUN(dir, "ground", "--batch", "--potential", nan_batch, "--box", "-10:10"), 2, "(member 2) is nan");
    free(nan_batch);
    qt_rm_rf(dir);
    free(bad);
    free(batch);
    free(solo);
    free(out);
    free(solo_out);
    free(hist);
    free(dir);
}

/* ---- 4 and 5: starts that reach every eigenstate ------------------------------------------------ */

Test(cli_hostile_starts, the_default_start_reaches_a_ground_state_at_the_nyquist_wavenumber) {
    /* V = x^2/2 + 100 (-1)^j on 64 points of [-10, 10): the ground state alternates in sign from point
     * to point, so the uniform state has no part along it. Its energy, from qdml's lowest states and
     * checked against the 2-state search: -86.934269448 (the uniform start converged to -86.069). */
    char *dir = qt_tmpdir("hostile");
    const int64_t n = 64;
    double v[64];
    for (int64_t j = 0; j < n; ++j) {
        const double x = xj(-10, 10, n, j);
        v[j] = 0.5 * x * x + (j % 2 ? -100.0 : 100.0);
    }
    char *p = write_f64(dir, "alt.npy", 1, &n, v);
    cli_result r = RUN(dir, "ground", "--potential", p, "--box", "-10:10", "--tol", "1e-5", "--json");
    expect_ok(&r);
    const double e = json_num(r.out, "energy", 0);
    cli_free(&r);
    r = RUN(dir, "ground", "--potential", p, "--box", "-10:10", "--tol", "1e-5", "--states", "2", "--json");
    expect_ok(&r);
    double es[2];
    cr_assert_eq(json_array(r.out, "energies", es, 2), 2, "%s", r.out);
    cli_free(&r);
    /* Both within the tolerance's reach: |E - E0| <= residual^2 / gap with the gap 0.86: far below 1e-6. */
    cr_assert_float_eq(e, es[0], 1e-6, "ground: E = %.12g, the lowest of two states %.12g", e, es[0]);
    cr_assert_lt(e, -86.9, "E = %.12g is the excited state the uniform start reaches (-86.069)", e);
    qt_rm_rf(dir);
    free(p);
    free(dir);
}

Test(cli_hostile_starts, many_states_are_independent_and_too_many_are_refused) {
    char *dir = qt_tmpdir("hostile");
    /* 16 states in 1D (13 and more failed): E_k = k + 1/2 for the oscillator on 64 points of its
     * usual domain, whose grid resolves them to 1e-4 up to k = 9 (its error grows with k: 3e-4 at 10). */
    cli_result r = RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "64", "--states", "16", "--json");
    expect_ok(&r);
    double e[16];
    cr_assert_eq(json_array(r.out, "energies", e, 16), 16, "%s", r.out);
    for (int k = 0; k < 10; ++k)
        cr_assert_float_eq(e[k], k + 0.5, 1e-4, "E_%d = %.12g, expected %g", k, e[k], k + 0.5);
    cli_free(&r);
    /* As many states as points: still independent (a grid of 12 points, 12 states). */
    r = RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "12", "--states", "12", "--tol", "1e-3",
            "--json");
    expect_ok(&r);
    cr_assert_eq(json_array(r.out, "energies", e, 16), 12, "%s", r.out);
    cli_free(&r);
    /* More than the points: refused at once. */
    const time_t start = time(NULL);
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "16", "--states", "4096"), 2,
                "at most 16 states");
    cr_assert_lt(difftime(time(NULL), start), 5.0, "the refusal must come at once");
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_hostile_outputs, demo_out_is_checked_before_the_demo_runs) {
    char *dir = qt_tmpdir("hostile");
    cr_assert_eq(chmod(dir, 0777), 0);
    /* A folder the user may not write (as nobody when the tests run as root). */
    char *ro = qt_path(dir, "ro");
    cr_assert_eq(mkdir(ro, 0555), 0);
    cli_result r = RUN_UNPRIVILEGED(dir, "demo", "softmax", "--out", ro);
    cr_assert_eq(r.status, 2, "exit %d; stderr: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "no files can be created"), "%s", r.err);
    cr_assert_eq(r.out[0], '\0', "the demo must not run: %s", r.out);
    cli_free(&r);
    /* One of the demo's files hard-linked elsewhere: refused before the demo runs, both names kept. */
    char *out = qt_path(dir, "out"), *keep = qt_path(dir, "keep.csv");
    cr_assert_eq(mkdir(out, 0755), 0);
    char *csv = qt_path(out, "sigmoid.csv");
    put(keep, "mine");
    cr_assert_eq(link(keep, csv), 0);
    r = RUN(dir, "demo", "sigmoid", "--out", out);
    cr_assert_eq(r.status, 2, "exit %d; stderr: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "hard links"), "%s", r.err);
    cr_assert_eq(r.out[0], '\0', "the demo must not run: %s", r.out);
    cli_free(&r);
    char *k = slurp(keep);
    cr_assert_str_eq(k, "mine");
    free(k);
    qt_rm_rf(dir);
    free(csv);
    free(keep);
    free(out);
    free(ro);
    free(dir);
}

/* ---- 6: resuming with other run options -------------------------------------------------------- */

Test(cli_hostile_resume, every_option_that_changes_the_result_is_checked_against_the_checkpoint) {
    char *dir = qt_tmpdir("hostile");
    char *v = harmonic_file(dir, "v.npy", 64);
    const int64_t n = 64;
    double psi[128];
    for (int64_t j = 0; j < n; ++j) {
        const double x = xj(-10, 10, n, j);
        psi[2 * j] = exp(-0.5 * (x - 2) * (x - 2));
        psi[2 * j + 1] = 0.0;
    }
    char *psi0 = write_c128(dir, "psi0.npy", 1, &n, psi);
    char *ev = qt_path(dir, "evolve.ckpt"), *gr = qt_path(dir, "ground.ckpt");
    /* A real-time run saved half way (the checkpoint of its 100th step). */
    cli_result r = RUN(dir, "evolve", "--mode", "real", "--potential", v, "--box", "-10:10", "--psi0", psi0, "--time",
                       "1", "--dt", "0.01", "--checkpoint", ev, "--checkpoint-every", "50");
    expect_ok(&r);
    cli_free(&r);
    expect_fail(RUN(dir, "evolve", "--mode", "imag", "--time", "2", "--dt", "0.01", "--resume", ev), 2,
                "saved with --mode real; got --mode imag");
    expect_fail(
        RUN(dir, "evolve", "--mode", "real", "--splitting", "suzuki4", "--time", "2", "--dt", "0.01", "--resume", ev),
        2, "saved with --splitting strang; got --splitting suzuki4");
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--time", "2", "--dt", "0.02", "--resume", ev), 2, "--dt");
    /* An evolve checkpoint given to ground (exit 1 with an internal message before), and back. */
    expect_fail(RUN(dir, "ground", "--resume", ev), 2, "saved by qdml evolve");
    r = RUN(dir, "ground", "--potential", v, "--box", "-10:10", "--tol", "1e-5", "--dt-min", "1e-6", "--max-steps",
            "40", "--checkpoint", gr);
    expect_ok(&r);
    cli_free(&r);
    expect_fail(RUN(dir, "evolve", "--mode", "imag", "--time", "1", "--dt", "0.01", "--resume", gr), 2,
                "saved by a ground-state search");
    expect_fail(RUN(dir, "ground", "--resume", gr, "--tol", "1e-4", "--dt-min", "1e-6"), 2,
                "saved with --tol 1e-05; got --tol 0.0001");
    expect_fail(RUN(dir, "ground", "--resume", gr, "--tol", "1e-5"), 2,
                "saved with --dt-min 1e-06; got --dt-min automatic");
    expect_fail(RUN(dir, "ground", "--resume", gr, "--tol", "1e-5", "--dt-min", "1e-6", "--dt-initial", "0.1"), 2,
                "--dt-initial");
    expect_fail(RUN(dir, "ground", "--resume", gr, "--tol", "1e-5", "--dt-min", "1e-6", "--states", "2"), 2,
                "not the 2 of --states");
    /* The same options go on, to the tolerance. */
    r = RUN(dir, "ground", "--resume", gr, "--tol", "1e-5", "--dt-min", "1e-6", "--json");
    expect_ok(&r);
    cr_assert_eq(json_bool(r.out, "converged", 0), 1, "%s", r.out);
    cr_assert_float_eq(json_num(r.out, "energy", 0), 0.5, 1e-8, "%s", r.out);
    cli_free(&r);
    qt_rm_rf(dir);
    free(v);
    free(psi0);
    free(ev);
    free(gr);
    free(dir);
}

/* ---- 7: steps larger than the splitting resolves ------------------------------------------------ */

/* The case: the oscillator on 64 points of [-10, 10), a Gaussian displaced by 2. The kinetic
 * phase per step at the largest wavenumber is (pi / 0.3125)^2 / 2 dt = 50.5 dt, the potential's
 * 50 dt: both exceed pi beyond dt = 0.0622 (kinetic) and 0.0628 (potential). */
static char *displaced_gaussian(const char *dir) {
    const int64_t n = 64;
    double psi[128];
    for (int64_t j = 0; j < n; ++j) {
        const double x = xj(-10, 10, n, j);
        psi[2 * j] = exp(-0.5 * (x - 2) * (x - 2)) / pow(QT_PI, 0.25);
        psi[2 * j + 1] = 0.0;
    }
    return write_c128(dir, "psi0.npy", 1, &n, psi);
}

Test(cli_hostile_steps, real_time_steps_beyond_what_the_splitting_resolves_are_named) {
    char *dir = qt_tmpdir("hostile");
    char *v = harmonic_file(dir, "v.npy", 64), *psi0 = displaced_gaussian(dir);
    static const char *const dts[] = {"0.5", "1"};
    for (int i = 0; i < 2; ++i) {
        cli_result r = RUN(dir, "evolve", "--mode", "real", "--potential", v, "--box", "-10:10", "--psi0", psi0,
                           "--time", "10", "--dt", dts[i], "--json");
        expect_ok(&r);
        cr_assert_not_null(strstr(r.err, "phase per step of the kinetic term"), "dt %s: %s", dts[i], r.err);
        cr_assert_not_null(strstr(r.err, "phase per step of the potential"), "dt %s: %s", dts[i], r.err);
        cr_assert_not_null(strstr(r.err, "--dt 0.0621 or less"), "the largest step that resolves both: %s", r.err);
        cli_free(&r);
        /* --strict: refused before the run. */
        r = RUN(dir, "evolve", "--mode", "real", "--potential", v, "--box", "-10:10", "--psi0", psi0, "--time", "10",
                "--dt", dts[i], "--strict", "--json");
        cr_assert_eq(r.status, 2, "dt %s --strict: exit %d: %s", dts[i], r.status, r.err);
        cr_assert_eq(r.out[0], '\0', "nothing may run: %s", r.out);
        cli_free(&r);
    }
    /* Within the limits: no warning. */
    cli_result r = RUN(dir, "evolve", "--mode", "real", "--potential", v, "--box", "-10:10", "--psi0", psi0, "--time",
                       "1", "--dt", "0.06", "--strict");
    expect_ok(&r);
    cr_assert_null(strstr(r.err, "resolves"), "%s", r.err);
    cli_free(&r);
    /* A constant potential commutes with the kinetic term: any step is exact, no warning. */
    const int64_t n = 64;
    double zero[64] = {0};
    char *free_v = write_f64(dir, "zero.npy", 1, &n, zero);
    r = RUN(dir, "evolve", "--mode", "real", "--potential", free_v, "--box", "-10:10", "--psi0", psi0, "--time", "10",
            "--dt", "1", "--strict");
    expect_ok(&r);
    cli_free(&r);
    /* A step so large that the energy runs away: diverged, and said so without claiming a non-finite value. */
    r = RUN(dir, "evolve", "--mode", "real", "--potential", v, "--box", "-10:10", "--psi0", psi0, "--time", "20",
            "--dt", "2", "--json");
    cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "ran away, every value finite"), "%s", r.err);
    cr_assert_null(strstr(r.err, "non-finite value appeared"), "%s", r.err);
    cr_assert_eq(json_bool(r.out, "diverged", 0), 1, "the last good state is printed, marked: %s", r.out);
    cli_free(&r);
    qt_rm_rf(dir);
    free(v);
    free(free_v);
    free(psi0);
    free(dir);
}

Test(cli_hostile_steps, imaginary_time_reports_its_splitting_error_estimate) {
    /* Strang on the oscillator (hbar = m = w = 1), delta = dt (DESIGN.md): at the split operator's fixed
     * point <H> = (W + 1/W) / 4 with W = sqrt(1 + dt^2/4), and its norm-decay energy is
     * E_split = arccosh(1 + dt^2/2) / (2 dt). 64 points of [-10, 10) resolve the states to far below
     * 1e-9, and 50 units of imaginary time converge to the fixed point to e^-50: the estimate
     * |E - E_split| must match the closed form to 1e-9, and exceed E's actual error |E - 1/2|. */
    char *dir = qt_tmpdir("hostile");
    char *v = harmonic_file(dir, "v.npy", 64), *psi0 = displaced_gaussian(dir);
    static const double dts[] = {0.1, 0.5, 1.0};
    for (int i = 0; i < 3; ++i) {
        char dt[32];
        snprintf(dt, sizeof dt, "%g", dts[i]);
        cli_result r = RUN(dir, "evolve", "--mode", "imag", "--potential", v, "--box", "-10:10", "--psi0", psi0,
                           "--time", "50", "--dt", dt, "--json");
        expect_ok(&r);
        const double e = json_num(r.out, "energy", 0), est = json_num(r.out, "splitting_error", 0);
        const double w = sqrt(1.0 + dts[i] * dts[i] / 4.0);
        const double closed = (w + 1.0 / w) / 4.0 - acosh(1.0 + dts[i] * dts[i] / 2.0) / (2.0 * dts[i]);
        cr_assert_float_eq(est, closed, 1e-9, "dt %g: estimate %.12g, closed form %.12g", dts[i], est, closed);
        cr_assert_gt(est, fabs(e - 0.5), "dt %g: the estimate %.3g must exceed the error %.3g", dts[i], est,
                     fabs(e - 0.5));
        cli_free(&r);
    }
    /* --dt 1000: E far from 1/2, the estimate says so, with a warning; --strict makes it an error (exit 1,
     * the result still printed). */
    cli_result r = RUN(dir, "evolve", "--mode", "imag", "--potential", v, "--box", "-10:10", "--psi0", psi0, "--time",
                       "2000", "--dt", "1000", "--json");
    expect_ok(&r);
    const double e = json_num(r.out, "energy", 0), est = json_num(r.out, "splitting_error", 0);
    cr_assert_gt(fabs(e - 0.5), 1.0, "E = %g: this step is far too large", e);
    cr_assert_gt(est, fabs(e - 0.5), "the estimate %.3g must exceed the error %.3g", est, fabs(e - 0.5));
    cr_assert_not_null(strstr(r.err, "is not resolved at --dt 1000"), "%s", r.err);
    cli_free(&r);
    r = RUN(dir, "evolve", "--mode", "imag", "--potential", v, "--box", "-10:10", "--psi0", psi0, "--time", "2000",
            "--dt", "1000", "--strict");
    cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.out, "splitting error estimate"), "the result is printed: %s", r.out);
    cli_free(&r);
    qt_rm_rf(dir);
    free(v);
    free(psi0);
    free(dir);
}

/* ---- 8: the small things --------------------------------------------------------------------- */

Test(cli_hostile_small, hexadecimal_numbers_are_refused) {
    char *dir = qt_tmpdir("hostile");
    char *v = harmonic_file(dir, "v.npy", 64), *psi0 = displaced_gaussian(dir);
    /* 0x10:0x20 read as 16:32 before. */
    expect_fail(RUN(dir, "ground", "--potential", v, "--box", "0x10:0x20"), 2, "hexadecimal is refused");
    expect_fail(RUN(dir, "evolve", "--mode", "real", "--potential", v, "--box", "-10:10", "--psi0", psi0, "--time", "1",
                    "--dt", "0x1p-4"),
                2, "hexadecimal is refused");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic:k=0x10", "--dim", "1", "--n", "16"), 2, "'0x10'");
    expect_fail(RUN(dir, "minimize", "--objective", "harmonic", "--dim", "1", "--n", "16", "--reseed", "0x0.1p0"), 2,
                "--reseed");
    qt_rm_rf(dir);
    free(v);
    free(psi0);
    free(dir);
}

Test(cli_hostile_small, boxes_beyond_double_precision_are_refused) {
    char *dir = qt_tmpdir("hostile");
    char *v = harmonic_file(dir, "v.npy", 64);
    /* A width of 2e-320 (subnormal spacings) reported <V> = -nan before. */
    expect_fail(RUN(dir, "ground", "--potential", v, "--box", "0:2e-320"), 2, "below the smallest normal double");
    expect_fail(RUN(dir, "ground", "--potential", v, "--box", "0:1e-160"), 2, "(pi / spacing)^2 overflows");
    qt_rm_rf(dir);
    free(v);
    free(dir);
}

Test(cli_hostile_small, an_overflowing_start_names_what_overflowed) {
    /* Member 1 is the oscillator times 1e154: <V> and <T> of its start are finite, the residual's sum
     * (V squared) is not. It used to say "the energy overflows (<V> = 1.7e155 ...)". */
    char *dir = qt_tmpdir("hostile");
    const int64_t shape[2] = {2, 64};
    double v[128];
    for (int64_t j = 0; j < 64; ++j) {
        const double x = xj(-10, 10, 64, j);
        v[j] = 0.5 * x * x;
        v[64 + j] = 0.5 * x * x * 1e154;
    }
    char *p = write_f64(dir, "v.npy", 2, shape, v);
    cli_result r = RUN(dir, "ground", "--batch", "--potential", p, "--box", "-10:10");
    cr_assert_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "the residual"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "member 1"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "are finite"), "%s", r.err);
    cli_free(&r);
    qt_rm_rf(dir);
    free(p);
    free(dir);
}

Test(cli_hostile_small, ground_step_options_that_cannot_work_are_refused) {
    char *dir = qt_tmpdir("hostile");
    char *v = harmonic_file(dir, "v.npy", 64);
    /* --dt-min above the first step was accepted (the step could never shrink). */
    expect_fail(RUN(dir, "ground", "--potential", v, "--box", "-10:10", "--dt-initial", "0.01", "--dt-min", "1"), 2,
                "exceeds the first step");
    expect_fail(RUN(dir, "ground", "--potential", v, "--box", "-10:10", "--dt-min", "100"), 2,
                "exceeds the first step");
    /* --dt-initial 1e-300 "did not converge within 300 steps" with --max-steps 200000. */
    expect_fail(
        RUN(dir, "ground", "--potential", v, "--box", "-10:10", "--dt-initial", "1e-300", "--max-steps", "200000"), 2,
        "is too small");
    /* A search that stops at its smallest step says so, not that the step limit ended it. */
    cli_result r = RUN(dir, "ground", "--potential", v, "--box", "-10:10", "--dt-initial", "0.5", "--dt-min", "0.5",
                       "--tol", "1e-12", "--max-steps", "200000");
    expect_ok(&r);
    cr_assert_not_null(strstr(r.err, "stopped falling"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "smallest step allowed"), "%s", r.err);
    cr_assert_null(strstr(r.err, "within"), "%s", r.err);
    cli_free(&r);
    qt_rm_rf(dir);
    free(v);
    free(dir);
}

Test(cli_hostile_small, a_npy_header_cannot_send_escape_sequences_to_the_terminal) {
    char *dir = qt_tmpdir("hostile");
    static const char *const headers[] = {
        "{'descr': '\033[2J\033[31mX', 'fortran_order': False, 'shape': (4,), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), '\033]0;title\007': 1, }"};
    for (int k = 0; k < 2; ++k) {
        char *path = qt_path(dir, k ? "key.npy" : "descr.npy");
        char hdr[256];
        size_t len = (size_t)snprintf(hdr, sizeof hdr, "%s", headers[k]);
        while ((10 + len + 1) % 64)
            hdr[len++] = ' ';
        hdr[len++] = '\n';
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f);
        const unsigned char pre[10] = {
            0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(len & 0xff), (unsigned char)(len >> 8)};
        fwrite(pre, 1, 10, f);
        fwrite(hdr, 1, len, f);
        const double zeros[4] = {0};
        fwrite(zeros, sizeof zeros, 1, f);
        fclose(f);
        cli_result r = RUN(dir, "ground", "--potential", path, "--box", "0:1");
        cr_assert_eq(r.status, 2, "exit %d: %s", r.status, r.err);
        cr_assert_null(strchr(r.err, '\033'), "an escape byte reached stderr");
        cr_assert_null(strchr(r.err, '\007'), "a bell byte reached stderr");
        cr_assert_not_null(strstr(r.err, "\\x1b"), "the escape shown escaped: %s", r.err);
        cli_free(&r);
        free(path);
    }
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_hostile_small, a_state_too_large_for_double_precision_is_bad_input) {
    /* |psi| up to 1e154: the norm overflows (exit 1, "diverged", before). Up to 1e153: the norm is
     * finite, but the real-time sums would overflow as the packet moves (diverged at step 36 before). */
    char *dir = qt_tmpdir("hostile");
    char *v = harmonic_file(dir, "v.npy", 64);
    static const double scale[2] = {1e154, 1e153};
    for (int k = 0; k < 2; ++k) {
        const int64_t n = 64;
        double psi[128];
        for (int64_t j = 0; j < n; ++j) {
            const double x = xj(-10, 10, n, j);
            psi[2 * j] = scale[k] * exp(-0.5 * (x - 2) * (x - 2));
            psi[2 * j + 1] = 0.0;
        }
        char *p = write_c128(dir, k ? "big153.npy" : "big154.npy", 1, &n, psi);
        expect_fail(RUN(dir, "evolve", "--mode", "real", "--potential", v, "--box", "-10:10", "--psi0", p, "--time",
                        "10", "--dt", "0.01"),
                    2, "rescale");
        if (k == 0)
            expect_fail(RUN(dir, "evolve", "--mode", "imag", "--potential", v, "--box", "-10:10", "--psi0", p, "--time",
                            "1", "--dt", "0.01"),
                        2, "overflows double precision");
        free(p);
    }
    qt_rm_rf(dir);
    free(v);
    free(dir);
}
