/* Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0 read; 1.0 written).
 * Internal to the qdml program and tests; not part of the public API. */
#ifndef QDML_IO_NPY_H
#define QDML_IO_NPY_H

#include <stddef.h>
#include <stdio.h>
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
 * C order only. Returns 0 on success; on failure returns -1, leaves *out zeroed, and writes a
 * message a person can act on into err (errlen bytes): file missing, not a .npy file (bad magic),
 * unsupported version, truncated header, malformed header dict, unsupported dtype (named),
 * Fortran order, shape product overflow, file shorter or longer than the header says. */
int qdml_npy_read(const char *path, qdml_npy_array *out, char *err, size_t errlen);

/* Write `count` = prod(shape) elements of `dtype` from data, C order, format 1.0, little-endian.
 * Atomic: writes "<path>.tmp.<pid>", flushes, fsyncs, renames over path. Returns 0 or -1 with err. */
int qdml_npy_write(const char *path, qdml_npy_dtype dtype, int ndim, const int64_t *shape, const double *data,
                   char *err, size_t errlen);

/* Finish an atomic write: flush, fsync and close f (the temporary file `tmp`, malloc'd), then
 * rename it over path, or remove it on any failure (ok == 0 says an earlier write failed).
 * Frees tmp. Returns 0, or -1 with a message naming path. Shared by the npy and CSV writers. */
int qdml_io_commit(FILE *f, char *tmp, const char *path, int ok, char *err, size_t errlen);

/* Free the data of an array read by qdml_npy_read and zero it. NULL-safe. */
void qdml_npy_free(qdml_npy_array *array);

#endif
