/* The main of every test program: Criterion's own (initialize, handle the arguments, run, finalize),
 * with an exit status that tells ctest what happened.
 *
 *   1   a test failed or crashed (or Criterion could not run them);
 *   77  no test ran and at least one skipped itself (cr_skip_test): ctest reports the entry
 *       "Skipped" (SKIP_RETURN_CODE 77 in tests/CMakeLists.txt) instead of "Passed";
 *   1   no test ran and none skipped itself: --filter selected nothing, which would otherwise pass;
 *   0   otherwise.
 *
 * Why "no test ran" and not "any test skipped": a program that ran some tests and skipped others
 * did test something, and an entry reported "Skipped" would hide that; the programs with tests
 * that need a device are split into ctest entries by --filter (tests/CMakeLists.txt), so an entry
 * holds either the tests that run everywhere or those that need a device, never both. Criterion's
 * summary still counts every skip. Tests left out by --filter count as skipped in Criterion's
 * totals, so the skips counted here are those of tests that started (POST_TEST, status skipped). */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>

static size_t started_skipped, started;

ReportHook(POST_TEST)(struct criterion_test_stats *stats) {
    ++started;
    if (stats->test_status == CR_STATUS_SKIPPED) ++started_skipped;
}

/* A crashed test never reaches POST_TEST; Criterion's totals count it (and the run fails). */
static size_t ran_totals;
ReportHook(POST_ALL)(struct criterion_global_stats *stats) {
    ran_totals = stats->tests_passed + stats->tests_failed + stats->tests_crashed;
}

int main(int argc, char *argv[]) {
    struct criterion_test_set *tests = criterion_initialize();
    int status = 0;
    if (criterion_handle_args(argc, argv, true)) {
        const int all_passed = criterion_run_all_tests(tests);
        const size_t ran = ran_totals > started - started_skipped ? ran_totals : started - started_skipped;
        if (!all_passed)
            status = 1;
        else if (ran == 0 && started_skipped > 0)
            status = 77;
        else if (ran == 0) {
            fprintf(stderr, "%s: no test ran (does --filter select any?)\n", argv[0]);
            status = 1;
        }
    }
    criterion_finalize(tests);
    return status;
}
