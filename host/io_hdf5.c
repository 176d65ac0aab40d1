/* HDF5 files of the program's results (io_hdf5.h). */
#include "io_hdf5.h"

#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "status.h"

#ifdef QDML_HAVE_HDF5
#include <hdf5.h>

struct qdml_h5 {
    hid_t file, cplx;
};

int qdml_h5_available(void) { return 1; }

static qdml_status h5_fail(const char *what, const char *name) {
    return qdml_fail(NULL, QDML_ERR_IO, "HDF5: %s%s%s%s failed", what, name ? " '" : "", name ? name : "",
                     name ? "'" : "");
}

qdml_status qdml_h5_begin(qdml_h5 **out) {
    *out = NULL;
    /* Failures are reported here, with a message: HDF5's own printing of its error stack is off. */
    (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    qdml_h5 *h = calloc(1, sizeof *h);
    if (!h) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "HDF5: cannot allocate a file handle");
    h->file = h->cplx = -1;
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) < 0) {
        if (fapl >= 0) H5Pclose(fapl);
        free(h);
        return h5_fail("an in-memory file access list", NULL);
    }
    h->file = H5Fcreate("qdml-in-memory.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    h->cplx = H5Tcreate(H5T_COMPOUND, 2 * sizeof(double));
    if (h->file < 0 || h->cplx < 0 || H5Tinsert(h->cplx, "r", 0, H5T_NATIVE_DOUBLE) < 0 ||
        H5Tinsert(h->cplx, "i", sizeof(double), H5T_NATIVE_DOUBLE) < 0) {
        qdml_h5_abort(h);
        return h5_fail("creating the in-memory file", NULL);
    }
    *out = h;
    return QDML_OK;
}

qdml_status qdml_h5_dataset(qdml_h5 *h, const char *name, int complex_values, int ndim, const int64_t *shape,
                            const double *data) {
    if (!h || !name || ndim < 1 || ndim > 8 || !shape || !data)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "HDF5: dataset '%s': bad arguments", name ? name : "");
    hsize_t dims[8];
    for (int d = 0; d < ndim; ++d)
        dims[d] = (hsize_t)shape[d];
    const hid_t space = H5Screate_simple(ndim, dims, NULL);
    const hid_t type = complex_values ? h->cplx : H5T_NATIVE_DOUBLE;
    const hid_t set = space < 0 ? -1 : H5Dcreate2(h->file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const herr_t w = set < 0 ? -1 : H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (set >= 0) H5Dclose(set);
    if (space >= 0) H5Sclose(space);
    return w < 0 ? h5_fail("writing dataset", name) : QDML_OK;
}

static qdml_status attr(qdml_h5 *h, const char *name, hid_t type, int64_t n, const void *v) {
    if (!h || !name || n < 0 || !v)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "HDF5: attribute '%s': bad arguments", name ? name : "");
    const hsize_t dims[1] = {(hsize_t)n};
    const hid_t space = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
    const hid_t a = space < 0 ? -1 : H5Acreate2(h->file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    const herr_t w = a < 0 ? -1 : H5Awrite(a, type, v);
    if (a >= 0) H5Aclose(a);
    if (space >= 0) H5Sclose(space);
    return w < 0 ? h5_fail("writing attribute", name) : QDML_OK;
}

qdml_status qdml_h5_attr_doubles(qdml_h5 *h, const char *name, int64_t n, const double *v) {
    return attr(h, name, H5T_NATIVE_DOUBLE, n, v);
}

qdml_status qdml_h5_attr_ints(qdml_h5 *h, const char *name, int64_t n, const int64_t *v) {
    return attr(h, name, H5T_NATIVE_INT64, n, v);
}

qdml_status qdml_h5_attr_string(qdml_h5 *h, const char *name, const char *s) {
    if (!s) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "HDF5: attribute '%s': NULL string", name);
    /* Variable-length UTF-8: h5py reads it as str (a fixed length reads as bytes). */
    const hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0 || H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        if (t >= 0) H5Tclose(t);
        return h5_fail("a string type for attribute", name);
    }
    const qdml_status st = attr(h, name, t, 0, &s);
    H5Tclose(t);
    return st;
}

qdml_status qdml_h5_commit(qdml_h5 *h, const char *path) {
    if (!h) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "HDF5: no file to write");
    qdml_status st = QDML_OK;
    void *image = NULL;
    ssize_t size = H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0 ? -1 : H5Fget_file_image(h->file, NULL, 0);
    if (size > 0 && !(image = malloc((size_t)size))) {
        st = qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "HDF5: cannot allocate the file image (%lld bytes)",
                       (long long)size);
    } else if (size <= 0 || H5Fget_file_image(h->file, image, (size_t)size) != size) {
        st = h5_fail("taking the file image", NULL);
    } else {
        qdml_atomic_file af;
        if ((st = qdml_atomic_open(&af, path, 1, path)) == QDML_OK) {
            const int ok = fwrite(image, 1, (size_t)size, af.f) == (size_t)size;
            st = qdml_atomic_commit(&af, ok);
        }
    }
    free(image);
    qdml_h5_abort(h);
    return st;
}

void qdml_h5_abort(qdml_h5 *h) {
    if (!h) return;
    if (h->cplx >= 0) H5Tclose(h->cplx);
    if (h->file >= 0) H5Fclose(h->file);
    free(h);
}

#else /* no HDF5 in this build */

struct qdml_h5 {
    int unused;
};

int qdml_h5_available(void) { return 0; }

static qdml_status no_hdf5(void) {
    return qdml_fail(NULL, QDML_ERR_UNAVAILABLE,
                     "this build of qdml writes no HDF5: install HDF5's C library and headers (Debian: libhdf5-dev) "
                     "and build again, or write .npy");
}

qdml_status qdml_h5_begin(qdml_h5 **out) {
    *out = NULL;
    return no_hdf5();
}
qdml_status qdml_h5_dataset(qdml_h5 *h, const char *name, int complex_values, int ndim, const int64_t *shape,
                            const double *data) {
    (void)h, (void)name, (void)complex_values, (void)ndim, (void)shape, (void)data;
    return no_hdf5();
}
qdml_status qdml_h5_attr_doubles(qdml_h5 *h, const char *name, int64_t n, const double *v) {
    (void)h, (void)name, (void)n, (void)v;
    return no_hdf5();
}
qdml_status qdml_h5_attr_ints(qdml_h5 *h, const char *name, int64_t n, const int64_t *v) {
    (void)h, (void)name, (void)n, (void)v;
    return no_hdf5();
}
qdml_status qdml_h5_attr_string(qdml_h5 *h, const char *name, const char *s) {
    (void)h, (void)name, (void)s;
    return no_hdf5();
}
qdml_status qdml_h5_commit(qdml_h5 *h, const char *path) {
    (void)h, (void)path;
    return no_hdf5();
}
void qdml_h5_abort(qdml_h5 *h) { (void)h; }

#endif
