/* qdml over MPI (qdml_mpi.h), run as MPI jobs: mpirun -np 2 and 3 of tests/mpi/mpi_cases.c, whose rank 0
 * prints one CHECK line per comparison with the problem in one process (what each case checks is at the
 * top of mpi_cases.c), and of the qdml program. Every CHECK line must say ok, and there must be as many as
 * the case has. Skipped where the build has no MPI (QDML_ENABLE_MPI, libopenmpi-dev, libfftw3-mpi-dev). */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_support.h"
#include "support.h"

#ifdef QDML_TEST_MPIRUN

/* Runs mpirun -np np with args (NULL-terminated) in a temporary directory, root allowed and the ranks
 * allowed to outnumber the cores; returns its stdout (free() it) and exit status. */
static char *run_mpi(int np, int *status, const char *const *args) {
    char dir[] = "/tmp/qdml-mpi-XXXXXX";
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
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
        execv(QDML_TEST_MPIRUN, (char *const *)argv);
        _exit(127);
    }
    int ws = 0;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    char *text = slurp(out), *etext = slurp(err);
    if (*status != 0) cr_log_error("mpirun -np %d %s: exit %d\nstdout:\n%s\nstderr:\n%s", np, args[0], *status, text, etext);
    free(etext);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) cr_log_warn("could not remove %s", dir);
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

Test(mpi, batch_of_7_on_2_and_3_ranks_equals_one_process_bit_for_bit, .timeout = 300) {
    expect_checks(2, 7, (const char *const[]){CASES, "batch", NULL});
    expect_checks(3, 7, (const char *const[]){CASES, "batch", NULL});
}

Test(mpi, slabs_on_2_and_3_ranks_equal_one_process_to_1e_12, .timeout = 400) {
    expect_checks(2, 26, (const char *const[]){CASES, "slabs", NULL});
    expect_checks(3, 26, (const char *const[]){CASES, "slabs", NULL});
}

Test(mpi, checkpoint_written_on_2_ranks_resumes_on_2_ranks, .timeout = 300) {
    char path[] = "/tmp/qdml-mpi-ckpt-XXXXXX";
    const int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    expect_checks(2, 2, (const char *const[]){CASES, "checkpoint", "batch", path, NULL});
    expect_checks(2, 2, (const char *const[]){CASES, "checkpoint", "slabs", path, NULL});
    expect_checks(3, 2, (const char *const[]){CASES, "checkpoint", "slabs", path, NULL});
    unlink(path);
}

Test(mpi, what_a_layout_cannot_do_fails_on_every_rank, .timeout = 120) {
    expect_checks(2, 5, (const char *const[]){CASES, "refusals", NULL});
}

#else

Test(mpi, not_built) { cr_skip_test("this build has no MPI (QDML_ENABLE_MPI, libopenmpi-dev, libfftw3-mpi-dev)"); }

#endif
