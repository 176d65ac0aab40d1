/* The atomic writer (atomic_file.h): what a path names decides how it is written. */
#if !defined(_XOPEN_SOURCE) || _XOPEN_SOURCE < 700
#undef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* realpath */
#endif
#include "atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "internal.h"

/* POSIX asks for at least 8 levels; Linux follows 40. */
enum { MAX_LINKS = 40 };
/* The longest file name most file systems take (NAME_MAX on Linux); the temporary must fit it. */
enum { NAME_LIMIT = 255 };

/* ---- paths --------------------------------------------------------------------------------------- */

static char *dup_str(const char *s) {
    const size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* The directory part of path ("." when it has none, "/" at the root); malloc'd, NULL when out of
 * memory. */
static char *dir_part(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return dup_str(".");
    const size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

static const char *base_part(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* "a/b" joined as "a" "/" "b"; malloc'd. */
static char *join(const char *dir, const char *name) {
    const size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

/* path with its symbolic links followed: the last component of the result is not a link (it may not
 * exist). malloc'd; NULL with *err set (ELOOP, ENOMEM, or lstat's or readlink's error). */
static char *follow_links(const char *path, int *err) {
    char *cur = dup_str(path);
    if (!cur) {
        *err = ENOMEM;
        return NULL;
    }
    for (int level = 0; level <= MAX_LINKS; ++level) {
        struct stat sb;
        if (lstat(cur, &sb) != 0) {
            if (errno == ENOENT) return cur; /* a new file (or a missing directory, found later) */
            *err = errno;
            free(cur);
            return NULL;
        }
        if (!S_ISLNK(sb.st_mode)) return cur;
        if (level == MAX_LINKS) break;
        size_t cap = sb.st_size > 0 ? (size_t)sb.st_size + 1 : 256;
        char *target = NULL;
        for (;;) {
            char *t = realloc(target, cap);
            if (!t) {
                free(target);
                free(cur);
                *err = ENOMEM;
                return NULL;
            }
            target = t;
            const ssize_t n = readlink(cur, target, cap);
            if (n < 0) {
                *err = errno;
                free(target);
                free(cur);
                return NULL;
            }
            if ((size_t)n < cap) {
                target[n] = '\0';
                break;
            }
            cap *= 2; /* the link changed size since lstat */
        }
        char *next = NULL;
        if (target[0] == '/') {
            next = target;
            target = NULL;
        } else {
            char *dir = dir_part(cur);
            next = dir ? join(dir, target) : NULL;
            free(dir);
        }
        free(target);
        free(cur);
        if (!next) {
            *err = ENOMEM;
            return NULL;
        }
        cur = next;
    }
    free(cur);
    *err = ELOOP;
    return NULL;
}

char *qdml_atomic_target(const char *path) {
    if (!path || !path[0]) return NULL;
    int err = 0;
    char *final = follow_links(path, &err);
    if (!final) return NULL;
    const char *base = base_part(final);
    char *out = NULL;
    if (!base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        out = realpath(final, NULL);
    } else {
        char *dir = dir_part(final);
        char *rdir = dir ? realpath(dir, NULL) : NULL;
        if (rdir) out = join(strcmp(rdir, "/") == 0 ? "" : rdir, base);
        free(dir);
        free(rdir);
    }
    free(final);
    return out;
}

/* ---- what a path names ---------------------------------------------------------------------------- */

typedef enum target_kind { TARGET_NEW, TARGET_REGULAR, TARGET_DIRECT } target_kind;

/* "'given'" or, when links were followed, "'given' (a link to 'final')", for messages. */
static void describe(char *buf, size_t len, const char *given, const char *final) {
    if (strcmp(given, final) == 0)
        snprintf(buf, len, "'%s'", given);
    else
        snprintf(buf, len, "'%s' (a link to '%s')", given, final);
}

/* How `final` (links followed) is written, or the refusal. *sb holds its lstat when it exists. */
static qdml_status classify(const char *given, const char *final, const char *who, target_kind *kind, struct stat *sb) {
    char name[2 * PATH_MAX + 32];
    describe(name, sizeof name, given, final);
    const char *base = base_part(final);
    if (!base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return qdml_fail(NULL, QDML_ERR_IO, "%s: %s names a directory, not a file", who, name);
    if (lstat(final, sb) != 0) {
        const int e = errno;
        if (e == ENOENT) {
            *kind = TARGET_NEW;
            return QDML_OK;
        }
        return qdml_fail(NULL, QDML_ERR_IO, "%s: cannot examine %s: %s", who, name, strerror(e));
    }
    if (S_ISDIR(sb->st_mode)) return qdml_fail(NULL, QDML_ERR_IO, "%s: %s is a directory", who, name);
    if (S_ISBLK(sb->st_mode))
        return qdml_fail(NULL, QDML_ERR_IO,
                         "%s: %s is a block device; qdml writes regular files, character devices and FIFOs, never "
                         "disks",
                         who, name);
    if (S_ISSOCK(sb->st_mode))
        return qdml_fail(NULL, QDML_ERR_IO,
                         "%s: %s is a socket; qdml writes regular files, character devices and FIFOs", who, name);
    if (S_ISCHR(sb->st_mode) || S_ISFIFO(sb->st_mode)) {
        if (access(final, W_OK) != 0) {
            const int e = errno;
            return qdml_fail(NULL, QDML_ERR_IO, "%s: %s is not writable: %s", who, name, strerror(e));
        }
        *kind = TARGET_DIRECT;
        return QDML_OK;
    }
    if (!S_ISREG(sb->st_mode))
        return qdml_fail(NULL, QDML_ERR_IO, "%s: %s is not a regular file, a character device or a FIFO", who, name);
    if (sb->st_nlink > 1)
        return qdml_fail(NULL, QDML_ERR_IO,
                         "%s: %s has %lu hard links: replacing it would leave the other names with the old "
                         "contents, and writing it in place could leave them a torn file; remove the other names or "
                         "write elsewhere",
                         who, name, (unsigned long)sb->st_nlink);
    if (access(final, W_OK) != 0) {
        const int e = errno;
        return qdml_fail(NULL, QDML_ERR_IO, "%s: %s is not writable (mode %04o): %s", who, name,
                         (unsigned)(sb->st_mode & 07777), strerror(e));
    }
    *kind = TARGET_REGULAR;
    return QDML_OK;
}

/* A file beside `final` must be creatable: its directory exists and may be written, and the name of
 * the temporary fits. */
static qdml_status check_directory(const char *given, const char *final, const char *who) {
    if (strlen(base_part(final)) + 32 > NAME_LIMIT)
        return qdml_fail(NULL, QDML_ERR_IO, "%s: the name of '%s' is too long for its temporary (%zu bytes)", who,
                         final, strlen(base_part(final)));
    char *dir = dir_part(final);
    if (!dir) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "%s: out of memory", who);
    char name[2 * PATH_MAX + 32];
    describe(name, sizeof name, given, final);
    qdml_status st = QDML_OK;
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        const int e = errno;
        st = e == ENOENT ? qdml_fail(NULL, QDML_ERR_IO, "%s: cannot write %s: the directory '%s' does not exist", who,
                                     name, dir)
                         : qdml_fail(NULL, QDML_ERR_IO, "%s: cannot write %s: the directory '%s': %s", who, name, dir,
                                     strerror(e));
    } else if (!S_ISDIR(sb.st_mode)) {
        st = qdml_fail(NULL, QDML_ERR_IO, "%s: cannot write %s: '%s' is not a directory", who, name, dir);
    } else if (access(dir, W_OK | X_OK) != 0) {
        const int e = errno;
        st = qdml_fail(NULL, QDML_ERR_IO,
                       "%s: cannot write %s: no files can be created in the directory '%s' (%s); the file is "
                       "written beside itself and renamed, so its directory must be writable",
                       who, name, dir, strerror(e));
    }
    free(dir);
    return st;
}

qdml_status qdml_atomic_check(const char *path, const char *who) {
    if (!who) who = "write";
    if (!path || !path[0]) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: the path is NULL or empty", who);
    int err = 0;
    char *final = follow_links(path, &err);
    if (!final)
        return err == ENOMEM ? qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "%s: out of memory", who)
                             : qdml_fail(NULL, QDML_ERR_IO, "%s: cannot follow '%s': %s", who, path, strerror(err));
    target_kind kind;
    struct stat sb;
    qdml_status st = classify(path, final, who, &kind, &sb);
    if (st == QDML_OK && kind != TARGET_DIRECT) st = check_directory(path, final, who);
    free(final);
    return st;
}

/* ---- writing ----------------------------------------------------------------------------------- */

/* Makes a rename durable: fsync of the directory (best effort). */
static void sync_dir(const char *dir) {
    const int fd = open(dir, O_RDONLY);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

/* Remove "<base>.tmp.<pid>" entries of dir whose process is gone: what a write killed before its
 * rename leaves. A pid that exists (or that we may not signal) is left alone, so a writer still at
 * work is never disturbed; so is every name that is not exactly of that form. */
static void remove_stale(const char *dir, const char *base) {
    const size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d) return;
    const long self = (long)getpid();
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *name = e->d_name;
        if (strncmp(name, base, blen) != 0 || strncmp(name + blen, ".tmp.", 5) != 0) continue;
        const char *digits = name + blen + 5;
        char *end = NULL;
        errno = 0;
        const long pid = strtol(digits, &end, 10);
        if (errno || end == digits || *end || digits[0] < '1' || digits[0] > '9' || pid == self) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char full[PATH_MAX + NAME_LIMIT + 2];
        const int n = snprintf(full, sizeof full, "%s/%s", dir, name);
        if (n > 0 && (size_t)n < sizeof full) (void)unlink(full);
    }
    closedir(d);
}

static void release(qdml_atomic_file *a) {
    free(a->path);
    free(a->tmp);
    free(a->dir);
    memset(a, 0, sizeof *a);
}

/* The temporary of a regular file (or a new one), with the mode and owner of the file it replaces:
 * created 0600 so that no one else can read a replacement of a private file while it is written,
 * then given the old owner (where we may: root) and mode. */
static qdml_status open_temporary(qdml_atomic_file *a, const struct stat *old, int binary) {
    const size_t tlen = strlen(a->path) + 32;
    a->tmp = malloc(tlen);
    a->dir = dir_part(a->path);
    if (!a->tmp || !a->dir) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "%s: out of memory", a->who);
    snprintf(a->tmp, tlen, "%s.tmp.%ld", a->path, (long)getpid());
    remove_stale(a->dir, base_part(a->path));
    const int fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC, a->replacing ? 0600 : 0666);
    if (fd < 0) {
        const int e = errno;
        return qdml_fail(NULL, QDML_ERR_IO, "%s: cannot create '%s': %s%s", a->who, a->tmp, strerror(e),
                         e == EACCES ? " (the file is written beside itself and renamed, so its directory must be "
                                       "writable)"
                                     : "");
    }
    if (a->replacing) {
        a->mode = old->st_mode & 07777;
        a->uid = old->st_uid;
        a->gid = old->st_gid;
        /* The owner first: changing it clears set-user-ID bits, which the mode then restores. EPERM
         * (not root, another user's file) leaves the new file ours. */
        if ((a->uid != geteuid() || a->gid != getegid()) && fchown(fd, a->uid, a->gid) != 0) {
            /* not permitted: the new file stays ours */
        }
        if (fchmod(fd, a->mode) != 0) {
            const int e = errno;
            close(fd);
            (void)unlink(a->tmp);
            return qdml_fail(NULL, QDML_ERR_IO, "%s: cannot give '%s' the mode %04o of '%s': %s", a->who, a->tmp,
                             (unsigned)a->mode, a->path, strerror(e));
        }
    }
    a->f = fdopen(fd, binary ? "wb" : "w");
    if (!a->f) {
        const int e = errno;
        close(fd);
        (void)unlink(a->tmp);
        return qdml_fail(NULL, QDML_ERR_IO, "%s: cannot open '%s': %s", a->who, a->tmp, strerror(e));
    }
    return QDML_OK;
}

static int discard_all = 0;

void qdml_atomic_discard(int on) { discard_all = on != 0; }

qdml_status qdml_atomic_open(qdml_atomic_file *a, const char *path, int binary, const char *who) {
    memset(a, 0, sizeof *a);
    if (!who) who = "write";
    if (!path || !path[0]) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: the path is NULL or empty", who);
    a->who = who;
    if (discard_all) { /* the files of another process (qdml_atomic_discard) */
        a->path = strdup("/dev/null");
        a->direct = 1;
        if (!a->path || !(a->f = fopen("/dev/null", binary ? "wb" : "w"))) {
            release(a);
            return qdml_fail(NULL, QDML_ERR_IO, "%s: cannot open /dev/null", who);
        }
        return QDML_OK;
    }
    int err = 0;
    a->path = follow_links(path, &err);
    if (!a->path) {
        memset(a, 0, sizeof *a);
        return err == ENOMEM ? qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "%s: out of memory", who)
                             : qdml_fail(NULL, QDML_ERR_IO, "%s: cannot follow '%s': %s", who, path, strerror(err));
    }
    target_kind kind;
    struct stat sb;
    qdml_status st = classify(path, a->path, who, &kind, &sb);
    if (st == QDML_OK && kind == TARGET_DIRECT) {
        /* No O_CREAT or O_TRUNC: the node is written as it is. */
        const int fd = open(a->path, O_WRONLY | O_NOCTTY);
        if (fd < 0) {
            const int e = errno;
            st = qdml_fail(NULL, QDML_ERR_IO, "%s: cannot open '%s' for writing: %s", who, a->path, strerror(e));
        } else if (!(a->f = fdopen(fd, binary ? "wb" : "w"))) {
            const int e = errno;
            close(fd);
            st = qdml_fail(NULL, QDML_ERR_IO, "%s: cannot open '%s': %s", who, a->path, strerror(e));
        }
        a->direct = 1;
    } else if (st == QDML_OK) {
        a->replacing = kind == TARGET_REGULAR;
        st = open_temporary(a, &sb, binary);
    }
    if (st != QDML_OK) release(a);
    return st;
}

qdml_status qdml_atomic_commit(qdml_atomic_file *a, int ok) {
    if (!a->f) return qdml_fail(NULL, QDML_ERR_INTERNAL, "%s: commit of a file that is not open", a->who ? a->who : "write");
    int e = errno;
    if (ok && ferror(a->f)) ok = 0;
    if (ok && fflush(a->f) != 0) ok = 0, e = errno;
    /* A device or FIFO may not sync (EINVAL, EROFS, ENOTSUP): what was written has gone to it. */
    if (ok && fsync(fileno(a->f)) != 0 && !(a->direct && (errno == EINVAL || errno == EROFS || errno == ENOTSUP)))
        ok = 0, e = errno;
    if (fclose(a->f) != 0 && ok) ok = 0, e = errno;
    a->f = NULL;
    qdml_status st = QDML_OK;
    if (a->direct) {
        if (!ok) st = qdml_fail(NULL, QDML_ERR_IO, "%s: writing '%s' failed: %s", a->who, a->path, strerror(e));
        release(a);
        return st;
    }
    if (!ok)
        st = qdml_fail(NULL, QDML_ERR_IO, "%s: writing '%s' failed: %s ('%s', if it exists, is untouched)", a->who,
                       a->tmp, strerror(e), a->path);
    else if (rename(a->tmp, a->path) != 0) {
        e = errno;
        st = qdml_fail(NULL, QDML_ERR_IO, "%s: cannot rename '%s' to '%s': %s", a->who, a->tmp, a->path, strerror(e));
    }
    if (st != QDML_OK)
        (void)remove(a->tmp);
    else
        sync_dir(a->dir);
    release(a);
    return st;
}

void qdml_atomic_abort(qdml_atomic_file *a) {
    if (a->f) fclose(a->f);
    if (a->tmp) (void)remove(a->tmp);
    release(a);
}
