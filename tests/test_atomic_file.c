/* The atomic writer (host/atomic_file.c): every file qdml writes goes through it. What it promises:
 * the file at the path is the old one or the new one, never a part; a failed write removes its
 * temporary and leaves the old file; temporaries that killed writers left behind are removed by the
 * next write of the same path, and only those. And what a path names decides how it is written: a
 * symbolic link is followed, a character device or FIFO is written in place, a replaced file keeps
 * its mode and owner; directories, block devices, sockets, hard-linked and read-only files are
 * refused, by the writer and by its check alike.
 *
 * Backend: none (files only).
 */
#define _XOPEN_SOURCE 700 /* mknod, S_IF* */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
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

/* ---- what a path names decides how it is written (atomic_file.h) ------------------------------- */

/* Writes `text` to path through the atomic writer; returns the commit's status (open's on failure). */
static qdml_status write_text(const char *path, const char *text) {
    qdml_atomic_file a;
    qdml_status st = qdml_atomic_open(&a, path, 0, "test");
    if (st != QDML_OK) return st;
    fputs(text, a.f);
    return qdml_atomic_commit(&a, 1);
}

static mode_t kind_of(const char *path) {
    struct stat sb;
    cr_assert_eq(lstat(path, &sb), 0, "lstat %s: %s", path, strerror(errno));
    return sb.st_mode & S_IFMT;
}

/* Refused with IO and a message holding `needle`, and nothing created at or beside the path. */
static void refused(const char *path, const char *needle) {
    const qdml_status st = write_text(path, "never");
    cr_assert_eq(st, QDML_ERR_IO, "%s: %s (%s)", path, qdml_status_string(st), qdml_last_error_message());
    cr_assert_not_null(strstr(qdml_last_error_message(), needle), "'%s' not in: %s", needle, qdml_last_error_message());
    cr_assert_eq(qdml_atomic_check(path, "test"), QDML_ERR_IO, "check should refuse %s too", path);
    cr_assert_not_null(strstr(qdml_last_error_message(), needle), "check: '%s' not in: %s", needle,
                       qdml_last_error_message());
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    cr_assert(!exists(tmp), "temporary %s left behind", tmp);
}

Test(atomic_file, follows_a_symlink_and_replaces_its_target_beside_the_target) {
    char *dir = qt_tmpdir("atomic");
    char *sub = qt_path(dir, "real");
    cr_assert_eq(mkdir(sub, 0755), 0);
    char *target = qt_path(sub, "data.txt"), *link = qt_path(dir, "link.txt"), *link2 = qt_path(dir, "link2.txt");
    put(target, "old");
    cr_assert_eq(symlink("real/data.txt", link), 0, "%s", strerror(errno)); /* relative to the link's directory */
    cr_assert_eq(symlink(link, link2), 0);                                  /* a chain of two */
    cr_assert_eq(write_text(link2, "through two links"), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(kind_of(link), S_IFLNK, "the link must stay a link");
    cr_assert_eq(kind_of(link2), S_IFLNK, "the link must stay a link");
    cr_assert_eq(kind_of(target), S_IFREG);
    cr_assert_str_eq(slurp(target), "through two links");
    /* The target and the link resolve to the same file. */
    char *t1 = qdml_atomic_target(link2), *t2 = qdml_atomic_target(target);
    cr_assert(t1 && t2 && strcmp(t1, t2) == 0, "targets differ: %s, %s", t1 ? t1 : "NULL", t2 ? t2 : "NULL");
    free(t1);
    free(t2);
    /* A link to nothing creates its target. */
    char *dangling = qt_path(dir, "dangling.txt"), *created = qt_path(sub, "new.txt");
    cr_assert_eq(symlink(created, dangling), 0);
    cr_assert_eq(write_text(dangling, "created"), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(kind_of(dangling), S_IFLNK);
    cr_assert_str_eq(slurp(created), "created");
    /* A loop of links is refused. */
    char *a = qt_path(dir, "loop_a"), *b = qt_path(dir, "loop_b");
    cr_assert_eq(symlink(b, a), 0);
    cr_assert_eq(symlink(a, b), 0);
    cr_assert_eq(write_text(a, "never"), QDML_ERR_IO);
    cr_assert_not_null(strstr(qdml_last_error_message(), "symbolic links"), "%s", qdml_last_error_message());
    qt_rm_rf(dir);
    free(a);
    free(b);
    free(dangling);
    free(created);
    free(target);
    free(link);
    free(link2);
    free(sub);
    free(dir);
}

Test(atomic_file, writes_a_character_device_in_place_and_reports_a_full_one) {
    if (geteuid() != 0) cr_skip_test("making device nodes needs root");
    char *dir = qt_tmpdir("atomic");
    char *null_dev = qt_path(dir, "null"), *full_dev = qt_path(dir, "full");
    /* The same devices as /dev/null (1, 3) and /dev/full (1, 7), made here so that nothing shared is at risk. */
    cr_assert_eq(mknod(null_dev, S_IFCHR | 0666, makedev(1, 3)), 0, "mknod: %s", strerror(errno));
    cr_assert_eq(mknod(full_dev, S_IFCHR | 0666, makedev(1, 7)), 0, "mknod: %s", strerror(errno));
    cr_assert_eq(write_text(null_dev, "discarded"), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(kind_of(null_dev), S_IFCHR, "the device must stay a device");
    const qdml_status st = write_text(full_dev, "does not fit");
    cr_assert_eq(st, QDML_ERR_IO, "a write to a full device must fail, got %s", qdml_status_string(st));
    cr_assert_not_null(strstr(qdml_last_error_message(), strerror(ENOSPC)), "%s", qdml_last_error_message());
    cr_assert_eq(kind_of(full_dev), S_IFCHR, "the device must stay a device");
    cr_assert_eq(qdml_atomic_check(full_dev, "test"), QDML_OK, "%s", qdml_last_error_message());
    /* A block device is refused (the loop device's numbers: nothing is opened). */
    char *blk = qt_path(dir, "blk");
    cr_assert_eq(mknod(blk, S_IFBLK | 0600, makedev(7, 0)), 0, "mknod: %s", strerror(errno));
    refused(blk, "block device");
    cr_assert_eq(kind_of(blk), S_IFBLK);
    qt_rm_rf(dir);
    free(blk);
    free(null_dev);
    free(full_dev);
    free(dir);
}

Test(atomic_file, writes_a_fifo_in_place_for_its_reader) {
    char *dir = qt_tmpdir("atomic");
    char *fifo = qt_path(dir, "pipe"), *got = qt_path(dir, "got.txt");
    cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));
    fflush(NULL);
    const pid_t reader = fork();
    cr_assert(reader >= 0);
    if (reader == 0) { /* copies what comes through the FIFO into got.txt; gives up after 30 s */
        alarm(30);
        FILE *in = fopen(fifo, "r"), *out = fopen(got, "w");
        if (!in || !out) _exit(1);
        for (int c; (c = fgetc(in)) != EOF;)
            fputc(c, out);
        fclose(in);
        _exit(fclose(out) == 0 ? 0 : 1);
    }
    cr_assert_eq(write_text(fifo, "through the pipe"), QDML_OK, "%s", qdml_last_error_message());
    int status = 0;
    cr_assert_eq(waitpid(reader, &status, 0), reader);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the reader failed");
    cr_assert_str_eq(slurp(got), "through the pipe");
    cr_assert_eq(kind_of(fifo), S_IFIFO, "the FIFO must stay a FIFO");
    qt_rm_rf(dir);
    free(fifo);
    free(got);
    free(dir);
}

Test(atomic_file, refuses_directories_sockets_and_hard_links) {
    char *dir = qt_tmpdir("atomic");
    refused(dir, "is a directory");
    char *slash = qt_path(dir, "x/");
    refused(slash, "directory");
    /* A socket. */
    char *sock = qt_path(dir, "sock");
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    cr_assert_lt(strlen(sock), sizeof sa.sun_path, "temporary path too long for a socket");
    strcpy(sa.sun_path, sock);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0, "bind: %s", strerror(errno));
    refused(sock, "socket");
    close(fd);
    /* Hard links: refused; both names keep the old contents. */
    char *one = qt_path(dir, "one.txt"), *two = qt_path(dir, "two.txt");
    put(one, "shared");
    cr_assert_eq(link(one, two), 0);
    refused(one, "2 hard links");
    cr_assert_str_eq(slurp(one), "shared");
    cr_assert_str_eq(slurp(two), "shared");
    /* A missing directory, named as such by the check. */
    char *missing = qt_path(dir, "no/such/x.txt");
    cr_assert_eq(qdml_atomic_check(missing, "who"), QDML_ERR_IO);
    cr_assert_not_null(strstr(qdml_last_error_message(), "does not exist"), "%s", qdml_last_error_message());
    /* And the check accepts a new file and an existing one, creating nothing. */
    char *fresh = qt_path(dir, "fresh.txt");
    cr_assert_eq(qdml_atomic_check(fresh, "test"), QDML_OK, "%s", qdml_last_error_message());
    cr_assert(!exists(fresh), "the check must not create the file");
    qt_rm_rf(dir);
    free(fresh);
    free(missing);
    free(one);
    free(two);
    free(sock);
    free(slash);
    free(dir);
}

Test(atomic_file, a_replaced_file_keeps_its_mode_and_owner) {
    char *dir = qt_tmpdir("atomic");
    char *path = qt_path(dir, "private.txt");
    put(path, "old");
    cr_assert_eq(chmod(path, 0640), 0);
    const int root = geteuid() == 0;
    if (root) cr_assert_eq(chown(path, 65534, 65534), 0, "chown: %s", strerror(errno));
    cr_assert_eq(write_text(path, "new"), QDML_OK, "%s", qdml_last_error_message());
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0640, "mode %04o, expected 0640", (unsigned)(sb.st_mode & 07777));
    if (root)
        cr_assert(sb.st_uid == 65534 && sb.st_gid == 65534, "owner %u:%u, expected 65534:65534", (unsigned)sb.st_uid,
                  (unsigned)sb.st_gid);
    cr_assert_str_eq(slurp(path), "new");
    qt_rm_rf(dir);
    free(path);
    free(dir);
}

/* As a user who is not root (root writes anything): a read-only file, a read-only directory. */
Test(atomic_file, respects_read_only_files_and_directories) {
    char *dir = qt_tmpdir("atomic");
    cr_assert_eq(chmod(dir, 0777), 0);
    char *ro_file = qt_path(dir, "readonly.txt"), *ro_dir = qt_path(dir, "rodir");
    put(ro_file, "keep");
    cr_assert_eq(chmod(ro_file, 0444), 0);
    cr_assert_eq(mkdir(ro_dir, 0555), 0);
    char *inside = qt_path(ro_dir, "x.txt");
    fflush(NULL);
    const pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(10);
        if (write_text(ro_file, "never") != QDML_ERR_IO || !strstr(qdml_last_error_message(), "not writable"))
            _exit(11);
        if (qdml_atomic_check(inside, "test") != QDML_ERR_IO || !strstr(qdml_last_error_message(), "rodir")) _exit(12);
        if (write_text(inside, "never") != QDML_ERR_IO) _exit(13);
        _exit(0);
    }
    int status = 0;
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFEXITED(status), "the child died");
    cr_assert_eq(WEXITSTATUS(status), 0,
                 "check %d failed (10: could not become nobody, 11: read-only file written, "
                 "12: read-only directory passed the check, 13: written into it)",
                 WEXITSTATUS(status));
    cr_assert_str_eq(slurp(ro_file), "keep");
    cr_assert(!exists(inside));
    qt_rm_rf(dir);
    free(inside);
    free(ro_file);
    free(ro_dir);
    free(dir);
}
