/* The atomic writer (host/atomic_file.c): every file qdml writes goes through it. What it promises:
 * the file at the path is the old one or the new one, never a part; a failed write removes its
 * temporary and leaves the old file; temporaries that killed writers left behind are removed by the
 * next write of the same path, and only those.
 *
 * Backend: none (files only).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic_file.h"
#include "support.h"

static void put(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *path) {
    static char buf[256];
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s: %s", path, strerror(errno));
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* The pid of a process that has exited (and been reaped). */
static long dead_pid(void) {
    const pid_t child = fork();
    cr_assert(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) _exit(0);
    int status = 0;
    cr_assert_eq(waitpid(child, &status, 0), child);
    return (long)child;
}

Test(atomic_file, replaces_the_file_whole_and_leaves_no_temporary) {
    char *dir = qt_tmpdir("atomic");
    char *path = qt_path(dir, "out.txt");
    put(path, "old");
    qdml_atomic_file a;
    cr_assert_eq(qdml_atomic_open(&a, path, 0, "test"), QDML_OK, "%s", qdml_last_error_message());
    fputs("new contents", a.f);
    /* Until the commit, readers see the old file. */
    cr_assert_str_eq(slurp(path), "old");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    cr_assert(exists(tmp), "the temporary %s should exist while writing", tmp);
    cr_assert_eq(qdml_atomic_commit(&a, 1), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_str_eq(slurp(path), "new contents");
    cr_assert(!exists(tmp), "temporary %s left behind", tmp);
    qt_rm_rf(dir);
    free(path);
    free(dir);
}

Test(atomic_file, a_failed_write_keeps_the_old_file_and_removes_the_temporary) {
    char *dir = qt_tmpdir("atomic");
    char *path = qt_path(dir, "out.txt");
    put(path, "old");
    qdml_atomic_file a;
    cr_assert_eq(qdml_atomic_open(&a, path, 1, "test"), QDML_OK);
    fputs("half", a.f);
    const qdml_status st = qdml_atomic_commit(&a, 0);
    cr_assert_eq(st, QDML_ERR_IO, "%s", qdml_status_string(st));
    cr_assert_not_null(strstr(qdml_last_error_message(), "is untouched"), "%s", qdml_last_error_message());
    cr_assert_str_eq(slurp(path), "old");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    cr_assert(!exists(tmp), "temporary %s left behind", tmp);
    /* Abandoned writes too. */
    cr_assert_eq(qdml_atomic_open(&a, path, 1, "test"), QDML_OK);
    qdml_atomic_abort(&a);
    cr_assert(!exists(tmp) && !strcmp(slurp(path), "old"));
    /* A directory that does not exist: IO, naming the temporary, the caller's prefix first. */
    char *missing = qt_path(dir, "no/such/x.txt");
    cr_assert_eq(qdml_atomic_open(&a, missing, 0, "who"), QDML_ERR_IO);
    cr_assert_eq(strncmp(qdml_last_error_message(), "who: cannot create", 18), 0, "%s", qdml_last_error_message());
    cr_assert_eq(qdml_atomic_open(&a, "", 0, "who"), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_null(a.f);
    free(missing);
    qt_rm_rf(dir);
    free(path);
    free(dir);
}

Test(atomic_file, removes_the_temporaries_of_dead_writers_only) {
    char *dir = qt_tmpdir("atomic");
    char *path = qt_path(dir, "x.npy");
    char dead[4200], live[4200], other[4200], odd[4200], lookalike[4200];
    const long gone = dead_pid();
    cr_assert(kill((pid_t)gone, 0) != 0 && errno == ESRCH, "pid %ld should be gone", gone);
    snprintf(dead, sizeof dead, "%s.tmp.%ld", path, gone);           /* a killed writer's: removed */
    snprintf(live, sizeof live, "%s.tmp.%ld", path, (long)getppid()); /* a running process's: kept */
    snprintf(other, sizeof other, "%s/y.npy.tmp.%ld", dir, gone);      /* another file's: kept */
    snprintf(odd, sizeof odd, "%s.tmp.%ldx", path, gone);              /* not a pid: kept */
    snprintf(lookalike, sizeof lookalike, "%s.tmp.0%ld", path, gone);  /* not as we write pids: kept */
    const char *all[] = {dead, live, other, odd, lookalike};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) put(all[i], "stale");
    qdml_atomic_file a;
    cr_assert_eq(qdml_atomic_open(&a, path, 1, "test"), QDML_OK);
    cr_assert_eq(qdml_atomic_commit(&a, 1), QDML_OK);
    cr_assert(!exists(dead), "%s (pid %ld is gone) should have been removed", dead, gone);
    cr_assert(exists(live), "%s belongs to a running process and must be kept", live);
    cr_assert(exists(other) && exists(odd) && exists(lookalike), "only this path's temporaries may be removed");
    qt_rm_rf(dir);
    free(path);
    free(dir);
}
