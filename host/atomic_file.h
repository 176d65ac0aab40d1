/* One way to write a file, so that a reader (or a crash) sees the old file or the new one, never a
 * part, and so that a write never clobbers what is not a file of ours. Every file qdml writes goes
 * through here: checkpoints, .npy, CSV, PNG, JSON reports, FFTW wisdom and the CPU backend's paths
 * file. What a path names decides how it is written:
 *
 *   a regular file, or nothing   written to "<path>.tmp.<pid>" beside it, flushed, fsynced, renamed
 *                                over it and the directory synced. A file replaced keeps its
 *                                permissions and, where the process may set it (root), its owner.
 *   a symbolic link              followed (to 40 levels) to its target, which is then written as
 *                                above, in the target's directory; the link stays a link. A link to
 *                                nothing creates its target.
 *   a character device or FIFO   (/dev/null, /dev/stdout, a pipe, a terminal) written directly: no
 *                                temporary and no rename, so the node stays what it is; a write error
 *                                (ENOSPC on /dev/full) is reported. A FIFO waits for its reader.
 *
 * Refused, with a message naming the path and why (QDML_ERR_IO): a directory, a block device (qdml
 * does not write disks), a socket, a regular file with more than one hard link (replacing it would
 * leave the other names with the old contents; writing it in place could leave them a torn file), a
 * file the process may not write (the mode a person gave it is respected even where rename could
 * replace it), a directory that does not exist or that the process may not create files in, a loop
 * of links. qdml_atomic_check applies the same rules without writing, so that a program can refuse
 * an output before it computes anything. */
#ifndef QDML_ATOMIC_FILE_H
#define QDML_ATOMIC_FILE_H

#include <qdml/qdml.h>
#include <stdio.h>
#include <sys/types.h>

typedef struct qdml_atomic_file {
    FILE *f;         /* write the contents here */
    char *path;      /* the file written: the path given with its symbolic links followed */
    char *tmp;       /* "<path>.tmp.<pid>"; NULL when the path is written directly */
    char *dir;       /* the directory of path (NULL when written directly) */
    const char *who; /* prefix of messages (a function or path name; the caller's string) */
    int direct;      /* a character device or FIFO, written in place */
    int replacing;   /* a regular file is being replaced: the new one gets mode, uid and gid */
    mode_t mode;
    uid_t uid;
    gid_t gid;
} qdml_atomic_file;

/* Start writing `path` as the rules above say: open "<path>.tmp.<pid>" (after removing temporaries of
 * the path that processes no longer running left behind) or, for a device or FIFO, the path itself;
 * "wb" when binary, else "w". Errors (message in qdml_last_error_message(), starting with `who`):
 * INVALID_ARGUMENT (path NULL or empty), OUT_OF_MEMORY, IO (a refused kind of path, or "cannot
 * create '<tmp>': <OS error>"). On failure *a owns nothing. */
qdml_status qdml_atomic_open(qdml_atomic_file *a, const char *path, int binary, const char *who);
/* From now on, in this process, every qdml_atomic_open writes to /dev/null and every path is left as it
 * is (on = 1), or writes again (0): the ranks of an MPI job other than the one that writes the files
 * (the program under mpirun) still run the code that writes. Not thread-safe: set it before any write. */
void qdml_atomic_discard(int on);
/* Finish: flush, fsync and close; a temporary is renamed over the path and the directory synced.
 * ok == 0 says an earlier write failed; then, or on any failure here, the temporary is removed and a
 * file already at the path is left as it was (a device or FIFO has had whatever was written).
 * Releases *a in every case. Errors: IO (the OS error, naming the file or the rename). */
qdml_status qdml_atomic_commit(qdml_atomic_file *a, int ok);
/* Give up: close, remove a temporary, release *a. */
void qdml_atomic_abort(qdml_atomic_file *a);

/* Whether qdml_atomic_open would accept `path` (the rules above), without creating or changing
 * anything: QDML_OK, or the error and message qdml_atomic_open would give (a directory missing or
 * not writable is named as such). A check, not a promise: the file system may change before the
 * write. */
qdml_status qdml_atomic_check(const char *path, const char *who);
/* The file a write of `path` would reach: its symbolic links followed and its directory made
 * absolute and canonical (realpath), whether or not the file exists; malloc'd (free() it). NULL when
 * it cannot be resolved (a directory missing, a loop of links, out of memory). Two paths that give
 * the same string name the same file (hard links aside: compare st_dev and st_ino for those). */
char *qdml_atomic_target(const char *path);

#endif
