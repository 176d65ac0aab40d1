/* HDF5 files of the program's results (qdml ground/evolve/minimize --out FILE.h5): datasets of
 * doubles or complex values (a compound of two doubles named "r" and "i", which h5py reads as
 * complex128) and attributes on the root group, built in memory (HDF5's core driver) and written with
 * the one atomic writer (atomic_file.h). Part of the qdml_io library; without HDF5 in the build every
 * call fails UNAVAILABLE, saying how to get it. */
#ifndef QDML_IO_HDF5_H
#define QDML_IO_HDF5_H

#include <qdml/qdml.h>
#include <stdint.h>

typedef struct qdml_h5 qdml_h5;

/* Whether this build writes HDF5. */
int qdml_h5_available(void);
/* A new file in memory. Errors: UNAVAILABLE (no HDF5 in this build), IO (HDF5 failed), OUT_OF_MEMORY. */
qdml_status qdml_h5_begin(qdml_h5 **out);
/* Dataset `name` of the given shape (ndim >= 1), C order: doubles, or (complex) interleaved pairs. */
qdml_status qdml_h5_dataset(qdml_h5 *h, const char *name, int complex_values, int ndim, const int64_t *shape,
                            const double *data);
/* Attributes of the root group: n >= 1 doubles or integers as a 1-D array, or (n = 0) one value as a
 * scalar; a string (UTF-8, variable length: h5py reads it as str). */
qdml_status qdml_h5_attr_doubles(qdml_h5 *h, const char *name, int64_t n, const double *v);
qdml_status qdml_h5_attr_ints(qdml_h5 *h, const char *name, int64_t n, const int64_t *v);
qdml_status qdml_h5_attr_string(qdml_h5 *h, const char *name, const char *s);
/* Write the file to `path` (atomically, as every file qdml writes) and release h, whether it
 * succeeded or not. Errors: IO. */
qdml_status qdml_h5_commit(qdml_h5 *h, const char *path);
/* Release h without writing. */
void qdml_h5_abort(qdml_h5 *h);

#endif
