/* Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0 read; 1.0 written).
 * Internal to the qdml program and tests; not part of the public API. Functions fail as the
 * library does (status.h): a qdml_status, and the message in qdml_last_error_message(). */
#ifndef QDML_IO_NPY_H
#define QDML_IO_NPY_H

#include <qdml/qdml.h>

#include "atomic_file.h"
#include <stddef.h>
#include <stdint.h>

#define QDML_NPY_MAX_NDIM 8

typedef enum qdml_npy_dtype {
    QDML_NPY_F64 = 0,  /* '<f8' */
    QDML_NPY_C128 = 1  /* '<c16' (interleaved re, im doubles) */
} qdml_npy_dtype;

typedef struct qdml_npy_array {
    qdml_npy_dtype dtype;
    int ndim;                        /* 0 .. QDML_NPY_MAX_NDIM */
    int64_t shape[QDML_NPY_MAX_NDIM];
    int64_t count;                   /* number of elements (product of shape; 1 for ndim 0) */
    double *data;                    /* count doubles (F64) or 2*count doubles (C128); malloc'd */
} qdml_npy_array;

/* Read `path`. Accepts little-endian '<f8' and '<c16' (and big-endian '>f8'/'>c16', byte-swapped),
 * C order only. On failure *out is left zeroed and the message names the path and a reason a person
 * can act on. Errors: IO (cannot open, stat or read), OUT_OF_MEMORY, INVALID_ARGUMENT (NULL
 * arguments; not a regular file, not a .npy file (bad magic), unsupported version, truncated
 * header, malformed header dict, unsupported dtype (named), Fortran order, shape product overflow,
 * file shorter or longer than the header says). */
qdml_status qdml_npy_read(const char *path, qdml_npy_array *out);

/* Write prod(shape) elements of `dtype` from data, C order, format 1.0, little-endian, atomically
 * (atomic_file.h). Errors: INVALID_ARGUMENT (NULL path, shape or data, unknown dtype, ndim outside
 * 0..QDML_NPY_MAX_NDIM, a negative extent), OVERFLOW, OUT_OF_MEMORY, IO. */
qdml_status qdml_npy_write(const char *path, qdml_npy_dtype dtype, int ndim, const int64_t *shape, const double *data);

/* The same written a piece at a time (a state streamed from ranks that each hold a part): open checks the
 * shape and writes the header, put appends ndoubles values (C order; 2 per complex element), close commits
 * the file if exactly prod(shape) elements came, else refuses it (INVALID_ARGUMENT) and leaves the path as
 * it was; abort gives up. Errors as qdml_npy_write. */
typedef struct qdml_npy_writer {
    qdml_atomic_file af;
    const char *path;
    size_t left; /* doubles still to come */
    int ok;      /* every write so far succeeded */
} qdml_npy_writer;
qdml_status qdml_npy_writer_open(qdml_npy_writer *w, const char *path, qdml_npy_dtype dtype, int ndim,
                                 const int64_t *shape);
qdml_status qdml_npy_writer_put(qdml_npy_writer *w, const double *data, size_t ndoubles);
qdml_status qdml_npy_writer_close(qdml_npy_writer *w);
void qdml_npy_writer_abort(qdml_npy_writer *w);

/* A shape as Python prints the tuple ("(3,)", "(2, 4)"), for headers and messages; truncated to len. */
void qdml_npy_format_shape(char *buf, size_t len, int ndim, const int64_t *shape);

/* Free the data of an array read by qdml_npy_read and zero it. NULL-safe. */
void qdml_npy_free(qdml_npy_array *array);

#endif
