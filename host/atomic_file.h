/* One way to write a file: to a temporary beside it, then flush, fsync, rename over it and sync the
 * directory, so that a reader (or a crash) sees the old file or the new one, never a part. Every
 * file qdml writes goes through here: checkpoints, .npy, CSV, PNG, JSON reports, FFTW wisdom and
 * the CPU backend's paths file. */
#ifndef QDML_ATOMIC_FILE_H
#define QDML_ATOMIC_FILE_H

#include <qdml/qdml.h>
#include <stdio.h>

typedef struct qdml_atomic_file {
    FILE *f;         /* write the contents here */
    char *path;      /* the file to replace (a copy) */
    char *tmp;       /* "<path>.tmp.<pid>" */
    const char *who; /* prefix of messages (a function or path name; the caller's string) */
} qdml_atomic_file;

/* Open "<path>.tmp.<pid>" for writing ("wb" when binary, else "w"), after removing temporaries of
 * `path` that processes no longer running left behind ("<path>.tmp.<pid>" whose pid does not exist).
 * Errors (message in qdml_last_error_message(), starting with `who`): INVALID_ARGUMENT (path NULL or
 * empty), OUT_OF_MEMORY, IO ("cannot create '<tmp>': <OS error>"). On failure *a owns nothing. */
qdml_status qdml_atomic_open(qdml_atomic_file *a, const char *path, int binary, const char *who);
/* Finish: flush, fsync and close the temporary, rename it over the path and sync the directory.
 * ok == 0 says an earlier write failed; then, or on any failure here, the temporary is removed and a
 * file already at the path is left as it was. Releases *a in every case. Errors: IO (the OS error,
 * naming the temporary or the rename). */
qdml_status qdml_atomic_commit(qdml_atomic_file *a, int ok);
/* Give up: close and remove the temporary, release *a. */
void qdml_atomic_abort(qdml_atomic_file *a);

#endif
