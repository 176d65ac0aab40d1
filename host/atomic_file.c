/* The atomic writer (atomic_file.h). */
#include "atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "internal.h"

/* Directory part of path ("." when it has none); 0 when it does not fit. */
static int dir_of(const char *path, char *dir, size_t len) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        if (len < 2) return 0;
        strcpy(dir, ".");
        return 1;
    }
    const size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= len) return 0;
    memcpy(dir, path, n);
    dir[n] = '\0';
    return 1;
}

/* Makes a rename durable: fsync of the directory holding path (best effort). */
static void sync_dir_of(const char *path) {
    char dir[4096];
    if (!dir_of(path, dir, sizeof dir)) return;
    const int fd = open(dir, O_RDONLY);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

/* Remove "<base>.tmp.<pid>" entries of path's directory whose process is gone: what a write killed
 * before its rename leaves. A pid that exists (or that we may not signal) is left alone, so a
 * writer still at work is never disturbed; so is every name that is not exactly of that form. */
static void remove_stale(const char *path) {
    char dir[4096];
    if (!dir_of(path, dir, sizeof dir)) return;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
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
        char full[4096 + 256];
        const int n = snprintf(full, sizeof full, "%s/%s", dir, name);
        if (n > 0 && (size_t)n < sizeof full) (void)unlink(full);
    }
    closedir(d);
}

qdml_status qdml_atomic_open(qdml_atomic_file *a, const char *path, int binary, const char *who) {
    memset(a, 0, sizeof *a);
    if (!who) who = "write";
    if (!path || !path[0]) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: the path is NULL or empty", who);
    const size_t plen = strlen(path), tlen = plen + 32;
    a->who = who;
    a->path = malloc(plen + 1);
    a->tmp = malloc(tlen);
    if (!a->path || !a->tmp) {
        free(a->path);
        free(a->tmp);
        memset(a, 0, sizeof *a);
        return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "%s: out of memory", who);
    }
    memcpy(a->path, path, plen + 1);
    snprintf(a->tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    remove_stale(path);
    a->f = fopen(a->tmp, binary ? "wb" : "w");
    if (!a->f) {
        const int e = errno;
        const qdml_status st = qdml_fail(NULL, QDML_ERR_IO, "%s: cannot create '%s': %s", who, a->tmp, strerror(e));
        free(a->path);
        free(a->tmp);
        memset(a, 0, sizeof *a);
        return st;
    }
    return QDML_OK;
}

static void release(qdml_atomic_file *a) {
    free(a->path);
    free(a->tmp);
    memset(a, 0, sizeof *a);
}

qdml_status qdml_atomic_commit(qdml_atomic_file *a, int ok) {
    if (!a->f) return qdml_fail(NULL, QDML_ERR_INTERNAL, "%s: commit of a file that is not open", a->who ? a->who : "write");
    int e = errno;
    if (ok && ferror(a->f)) ok = 0;
    if (ok && fflush(a->f) != 0) ok = 0, e = errno;
    if (ok && fsync(fileno(a->f)) != 0) ok = 0, e = errno;
    if (fclose(a->f) != 0 && ok) ok = 0, e = errno;
    a->f = NULL;
    qdml_status st = QDML_OK;
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
        sync_dir_of(a->path);
    release(a);
    return st;
}

void qdml_atomic_abort(qdml_atomic_file *a) {
    if (a->f) fclose(a->f);
    if (a->tmp) (void)remove(a->tmp);
    release(a);
}
