/* qdml over MPI (qdml_mpi.h), run as MPI jobs: mpirun -np 2 and 3 of tests/mpi/mpi_cases.c, whose rank 0
 * prints one CHECK line per comparison with the problem in one process (what each case checks is at the
 * top of mpi_cases.c), and of the qdml program. Every CHECK line must say ok, and there must be as many as
 * the case has. Skipped where the build has no MPI (QDML_ENABLE_MPI, libopenmpi-dev, libfftw3-mpi-dev). */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_support.h"
#include "io_npy.h"
#include "support.h"

#ifdef QDML_TEST_MPIRUN

/* Runs mpirun -np np with args (NULL-terminated) in dir, root allowed and the ranks allowed to outnumber
 * the cores; returns its stdout (free() it) and exit status. */
static char *run_mpi_in(const char *dir, int np, int *status, const char *const *args) {
    char out[300], err[300], npbuf[16];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(err, sizeof err, "%s/err", dir);
    snprintf(npbuf, sizeof npbuf, "%d", np);
    const char *argv[64] = {QDML_TEST_MPIRUN, "-np", npbuf, "--oversubscribe", "--bind-to", "none"};
    int k = 6;
    for (int i = 0; args[i] && k < 62; ++i) argv[k++] = args[i];
    argv[k] = NULL;
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr) || !freopen("/dev/null", "r", stdin)) _exit(126);
        if (chdir(dir) != 0) _exit(126);
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
        setenv("OMP_NUM_THREADS", "1", 0);
#ifdef QDML_TEST_KEEP_MODULES
        /* Under the sanitizers: Open MPI's components stay loaded to the end, so that LeakSanitizer can name
         * the module of what they keep (tests/mpi/keep_modules.c, scripts/lsan.supp). */
        const char *asan = getenv("ASAN_OPTIONS");
        if (asan) {
            char opts[2048];
            snprintf(opts, sizeof opts, "%s:verify_asan_link_order=0", asan); /* the preload comes before ASan's */
            setenv("ASAN_OPTIONS", opts, 1);
            setenv("LD_PRELOAD", QDML_TEST_KEEP_MODULES, 1);
        }
#endif
        execv(QDML_TEST_MPIRUN, (char *const *)argv);
        _exit(127);
    }
    int ws = 0;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    char *text = slurp(out), *etext = slurp(err);
    if (*status != 0) cr_log_error("mpirun -np %d %s: exit %d\nstdout:\n%s\nstderr:\n%s", np, args[0], *status, text, etext);
    free(etext);
    return text;
}

static void remove_dir(const char *dir) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) cr_log_warn("could not remove %s", dir);
}

static char *run_mpi(int np, int *status, const char *const *args) {
    char dir[] = "/tmp/qdml-mpi-XXXXXX";
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    char *text = run_mpi_in(dir, np, status, args);
    remove_dir(dir);
    return text;
}

/* Every CHECK line ok, at least `expected` of them, the program's exit 0. */
static void expect_checks(int np, int expected, const char *const *args) {
    int status = 0;
    char *text = run_mpi(np, &status, args);
    int lines = 0, failed = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "CHECK ", 6) == 0) {
            ++lines;
            if (!strstr(line, " ok")) {
                ++failed;
                cr_log_error("np %d: %s", np, line);
            } else {
                cr_log_info("np %d: %s", np, line);
            }
        } else if (strncmp(line, "message: ", 9) == 0) {
            cr_log_info("np %d: %s", np, line);
        }
    }
    free(text);
    cr_assert_eq(failed, 0, "np %d %s: %d check(s) failed (see the log)", np, args[0], failed);
    cr_assert_geq(lines, expected, "np %d %s: %d CHECK lines, expected %d", np, args[0], lines, expected);
    cr_assert_eq(status, 0, "np %d %s: exit %d", np, args[0], status);
}

#define CASES QDML_TEST_MPI_CASES

Test(mpi, batch_of_7_on_2_and_3_ranks_equals_one_process_bit_for_bit) {
    expect_checks(2, 7, (const char *const[]){CASES, "batch", NULL});
    expect_checks(3, 7, (const char *const[]){CASES, "batch", NULL});
}

Test(mpi, slabs_on_2_and_3_ranks_equal_one_process_to_1e_12) {
    expect_checks(2, 31, (const char *const[]){CASES, "slabs", NULL});
    expect_checks(3, 31, (const char *const[]){CASES, "slabs", NULL});
}

Test(mpi, checkpoint_written_on_2_ranks_resumes_on_2_ranks) {
    char path[] = "/tmp/qdml-mpi-ckpt-XXXXXX";
    const int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    expect_checks(2, 2, (const char *const[]){CASES, "checkpoint", "batch", path, NULL});
    expect_checks(2, 2, (const char *const[]){CASES, "checkpoint", "slabs", path, NULL});
    expect_checks(3, 2, (const char *const[]){CASES, "checkpoint", "slabs", path, NULL});
    unlink(path);
}

Test(mpi, what_a_layout_cannot_do_fails_on_every_rank) {
    expect_checks(2, 5, (const char *const[]){CASES, "refusals", NULL});
}

/* The program under mpirun: rank 0 alone prints and writes; the ground state of a 3D double well on 2 and
 * 3 ranks (slabs: a batch of one) equals the program's run in one process. */
Test(mpi, program_under_mpirun_equals_one_process) {
    char dir[] = "/tmp/qdml-mpi-cli-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char one[300], two[300];
    snprintf(one, sizeof one, "%s/one.npy", dir);
    cli_result r = RUN(dir, "ground", "--objective", "double_well", "--dim", "3", "--n", "25,16,16", "--json", "--out",
                       one, "--threads", "1", "--method", "imaginary-time", "--tol", "1e-7");
    expect_ok(&r);
    qdml_npy_array a;
    cr_assert_eq(qdml_npy_read(one, &a), QDML_OK, "%s", qdml_last_error_message());
    const double e1 = json_num(r.out, "energy", 0);
    /* --out streamed in parts of 1000 points, which cross the ranks' slabs (256 points a plane) */
    setenv("QDML_PART_POINTS", "1000", 1);
    for (int np = 2; np <= 3; ++np) {
        snprintf(two, sizeof two, "%s/ranks%d.npy", dir, np);
        int status = 0;
        char *text = run_mpi_in(dir, np, &status,
                                (const char *const[]){QDML_CLI_PATH, "ground", "--objective", "double_well", "--dim",
                                                      "3", "--n", "25,16,16", "--json", "--out", two, "--threads",
                                                      "1", "--method", "imaginary-time", "--tol", "1e-7", NULL});
        if (status != 0) free(text);
        cr_assert_eq(status, 0, "mpirun -np %d qdml ground: exit %d", np, status);
        cr_assert_eq(count_substr(text, "\"energy\""), 1, "-np %d: one JSON object expected (rank 0 prints):\n%s",
                     np, text);
        const double e2 = json_num(text, "energy", 0);
        cr_log_info("-np %d: E = %.17g, one process %.17g", np, e2, e1);
        cr_assert_leq(fabs(e2 - e1), 1e-12 * fabs(e1), "-np %d: E %.17g, one process %.17g", np, e2, e1);
        qdml_npy_array b;
        cr_assert_eq(qdml_npy_read(two, &b), QDML_OK, "%s", qdml_last_error_message());
        cr_assert_eq(b.count, a.count);
        double d = 0, m = 0;
        for (int64_t i = 0; i < 2 * a.count; ++i) {
            d = fmax(d, fabs(a.data[i] - b.data[i]));
            m = fmax(m, fabs(a.data[i]));
        }
        cr_log_info("-np %d: states differ by %.3g of max |psi| %.3g", np, d, m);
        cr_assert_leq(d, 1e-12 * m, "-np %d: states differ by %.3g (max %.3g)", np, d, m);
        free(b.data);
        free(text);
        /* no temporary of another rank left behind */
        char cmd[400];
        snprintf(cmd, sizeof cmd, "ls '%s' | grep -c tmp", dir);
        FILE *f = popen(cmd, "r");
        int tmps = -1;
        cr_assert(f && fscanf(f, "%d", &tmps) == 1);
        pclose(f);
        cr_assert_eq(tmps, 0, "temporary files left in %s", dir);
    }
    free(a.data);
    cli_free(&r);
    int status = 0;
    char *info = run_mpi_in(dir, 2, &status, (const char *const[]){QDML_CLI_PATH, "info", NULL});
    cr_assert_eq(status, 0);
    cr_assert(strstr(info, "mpi: 2 ranks") && strstr(info, "rank 1:"), "qdml info under mpirun:\n%s", info);
    free(info);
    remove_dir(dir);
}

/* The batch layout on the CUDA backend, every rank on the node's devices (two ranks sharing one GPU where
 * there is one): a ctest entry of its own (test_mpi_device), skipped without a device. */
Test(mpi_device, batch_of_7_on_2_ranks_on_cuda_equals_one_process) {
    if (!qdml_backend_available(QDML_BACKEND_CUDA)) cr_skip_test("no CUDA device (or no CUDA backend in this build)");
    expect_checks(2, 7, (const char *const[]){CASES, "batch", "--cuda", NULL});
}

#else

Test(mpi, not_built) { cr_skip_test("this build has no MPI (QDML_ENABLE_MPI, libopenmpi-dev, libfftw3-mpi-dev)"); }
Test(mpi_device, not_built) { cr_skip_test("this build has no MPI (QDML_ENABLE_MPI, libopenmpi-dev, libfftw3-mpi-dev)"); }

#endif
