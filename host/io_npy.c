/* NumPy .npy reading and writing (see io_npy.h).
 *
 * Format (numpy.lib.format): magic "\x93NUMPY", major and minor version bytes, the header length
 * (uint16 LE for 1.0, uint32 LE for 2.0/3.0), then an ASCII (UTF-8 for 3.0) Python dict literal
 * padded with spaces and ending in '\n', then the raw array data. */
#include "io_npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "status.h"

/* numpy itself refuses headers above 10000 bytes by default; a larger cap keeps hand-made files
 * readable while bounding the allocation a hostile length field can cause. */
#define NPY_MAX_HEADER (1u << 20)

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap8_inplace(double *data, size_t n) {
    unsigned char *p = (unsigned char *)data;
    for (size_t i = 0; i < n; ++i, p += 8) {
        for (int k = 0; k < 4; ++k) {
            unsigned char t = p[k];
            p[k] = p[7 - k];
            p[7 - k] = t;
        }
    }
}

static const char *dtype_name(qdml_npy_dtype dtype) { return dtype == QDML_NPY_C128 ? "complex128" : "float64"; }

void qdml_npy_format_shape(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t used = 0;
    int w = snprintf(buf, len, "(");
    if (w > 0) used = (size_t)w;
    for (int d = 0; d < ndim && used < len; ++d) {
        w = snprintf(buf + used, len - used, "%s%lld", d ? ", " : "", (long long)shape[d]);
        if (w < 0) return;
        used += (size_t)w;
    }
    if (used < len) snprintf(buf + used, len - used, ndim == 1 ? ",)" : ")");
}

/* ---- header dict parser ---------------------------------------------------------------------- */

typedef struct hparser {
    const char *s;
    size_t pos, len;
    const char *path;
} hparser;

static void hp_ws(hparser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            ++p->pos;
        else
            break;
    }
}

/* Text from a file, made safe to print: bytes outside printable ASCII as \xNN, so that a header
 * cannot send escape sequences to the terminal that shows the message. */
static const char *printable(const char *in, char *out, size_t len) {
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)in; *c && n + 5 < len; ++c) {
        if (*c >= 0x20 && *c < 0x7f && *c != '\\')
            out[n++] = (char)*c;
        else
            n += (size_t)snprintf(out + n, len - n, "\\x%02x", *c);
    }
    out[n] = '\0';
    return out;
}

static int hp_fail(hparser *p, const char *what) {
    (void)qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: malformed .npy header: %s at offset %zu of the header dict",
                    p->path, what, p->pos);
    return -1;
}

/* A Python string literal without escapes (numpy never writes any in these keys or values). */
static int hp_string(hparser *p, char *out, size_t outlen) {
    if (p->pos >= p->len || (p->s[p->pos] != '\'' && p->s[p->pos] != '"'))
        return hp_fail(p, "expected a quoted string");
    char q = p->s[p->pos++];
    size_t n = 0;
    while (p->pos < p->len && p->s[p->pos] != q) {
        if (p->s[p->pos] == '\\' || p->s[p->pos] == '\n') return hp_fail(p, "unsupported character in string");
        if (n + 1 >= outlen) return hp_fail(p, "string too long");
        out[n++] = p->s[p->pos++];
    }
    if (p->pos >= p->len) return hp_fail(p, "unterminated string");
    ++p->pos;
    out[n] = '\0';
    return 0;
}

static int hp_match(hparser *p, const char *word) {
    size_t n = strlen(word);
    if (p->len - p->pos >= n && memcmp(p->s + p->pos, word, n) == 0) {
        p->pos += n;
        return 1;
    }
    return 0;
}

static int hp_shape(hparser *p, int *ndim, int64_t *shape) {
    if (p->pos >= p->len || p->s[p->pos] != '(') return hp_fail(p, "'shape' must be a tuple such as (3, 4) or (5,)");
    ++p->pos;
    int n = 0;
    int trailing_comma = 0;
    for (;;) {
        hp_ws(p);
        if (p->pos >= p->len) return hp_fail(p, "unterminated shape tuple");
        if (p->s[p->pos] == ')') {
            ++p->pos;
            break;
        }
        if (n > 0 && !trailing_comma) return hp_fail(p, "expected ',' or ')' in shape");
        if (p->s[p->pos] < '0' || p->s[p->pos] > '9') return hp_fail(p, "shape entries must be non-negative integers");
        if (n >= QDML_NPY_MAX_NDIM) {
            (void)qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: array has more than %d dimensions (not supported)",
                            p->path, QDML_NPY_MAX_NDIM);
            return -1;
        }
        int64_t v = 0;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            int digit = p->s[p->pos] - '0';
            if (v > (INT64_MAX - digit) / 10) {
                (void)qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                                "%s: shape entry %d does not fit in 64 bits (overflow)", p->path, n);
                return -1;
            }
            v = v * 10 + digit;
            ++p->pos;
        }
        /* Python 2 numpy wrote long integers as 3L. */
        if (p->pos < p->len && p->s[p->pos] == 'L') ++p->pos;
        shape[n++] = v;
        hp_ws(p);
        trailing_comma = 0;
        if (p->pos < p->len && p->s[p->pos] == ',') {
            ++p->pos;
            trailing_comma = 1;
        }
    }
    /* (5) is the integer 5 in Python, not a tuple: numpy rejects it, so do we. */
    if (n == 1 && !trailing_comma) return hp_fail(p, "a 1-element shape must be written (n,)");
    *ndim = n;
    return 0;
}

typedef struct npy_header {
    char descr[32];
    int fortran;
    int ndim;
    int64_t shape[QDML_NPY_MAX_NDIM];
} npy_header;

static int parse_header_dict(hparser *p, npy_header *h) {
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    hp_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != '{') return hp_fail(p, "expected '{'");
    ++p->pos;
    int need_sep = 0;
    for (;;) {
        hp_ws(p);
        if (p->pos >= p->len) return hp_fail(p, "unterminated dict (missing '}')");
        if (p->s[p->pos] == '}') {
            ++p->pos;
            break;
        }
        if (need_sep) return hp_fail(p, "expected ',' or '}' between entries");
        char key[64];
        if (hp_string(p, key, sizeof key) != 0) return -1;
        hp_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':') return hp_fail(p, "expected ':' after a key");
        ++p->pos;
        hp_ws(p);
        if (strcmp(key, "descr") == 0) {
            if (have_descr) return hp_fail(p, "duplicate key 'descr'");
            if (p->pos < p->len && p->s[p->pos] == '[') {
                (void)qdml_fail(
                    NULL, QDML_ERR_INVALID_ARGUMENT,
                    "%s: unsupported dtype: structured array (descr is a list); expected float64 ('<f8') or "
                    "complex128 ('<c16')",
                    p->path);
                return -1;
            }
            if (hp_string(p, h->descr, sizeof h->descr) != 0) return -1;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (have_fortran) return hp_fail(p, "duplicate key 'fortran_order'");
            if (hp_match(p, "True"))
                h->fortran = 1;
            else if (hp_match(p, "False"))
                h->fortran = 0;
            else
                return hp_fail(p, "'fortran_order' must be True or False");
            have_fortran = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (have_shape) return hp_fail(p, "duplicate key 'shape'");
            if (hp_shape(p, &h->ndim, h->shape) != 0) return -1;
            have_shape = 1;
        } else {
            char shown[4 * sizeof key + 8];
            (void)qdml_fail(
                NULL, QDML_ERR_INVALID_ARGUMENT,
                "%s: malformed .npy header: unexpected key '%s' (expected 'descr', 'fortran_order', 'shape')", p->path,
                printable(key, shown, sizeof shown));
            return -1;
        }
        hp_ws(p);
        need_sep = 1;
        if (p->pos < p->len && p->s[p->pos] == ',') {
            ++p->pos;
            need_sep = 0;
        }
    }
    hp_ws(p);
    if (p->pos != p->len) return hp_fail(p, "unexpected text after the dict");
    const char *missing = !have_descr ? "descr" : !have_fortran ? "fortran_order" : !have_shape ? "shape" : NULL;
    if (missing) {
        (void)qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: malformed .npy header: missing key '%s'", p->path,
                        missing);
        return -1;
    }
    return 0;
}

/* ---- reader ---------------------------------------------------------------------------------- */

qdml_status qdml_npy_read(const char *path, qdml_npy_array *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!path || !out)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_npy_read: %s is NULL", !path ? "path" : "out");
    FILE *f = fopen(path, "rb");
    if (!f) return qdml_fail(NULL, QDML_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    qdml_status rc = QDML_ERR_INVALID_ARGUMENT; /* (the header parser's failures; it leaves the message) */
    char *header = NULL;
    double *data = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        rc = qdml_fail(NULL, QDML_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: not a regular file", path);
        goto done;
    }
    const uint64_t file_size = (uint64_t)st.st_size;

    unsigned char pre[12];
    size_t got = fread(pre, 1, 8, f);
    if (got < 8 || memcmp(pre, npy_magic, sizeof npy_magic) != 0) {
        if (got >= 6 && memcmp(pre, npy_magic, sizeof npy_magic) == 0)
            rc = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: truncated .npy file (%zu bytes, the preamble needs 8)",
                           path, got);
        else
            rc = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: not a .npy file (bad magic; expected \\x93NUMPY)",
                           path);
        goto done;
    }
    const int major = pre[6], minor = pre[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0) {
        rc = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                       "%s: unsupported .npy format version %d.%d (supported: 1.0, 2.0, 3.0)", path, major, minor);
        goto done;
    }
    const size_t lenbytes = major == 1 ? 2 : 4;
    if (fread(pre + 8, 1, lenbytes, f) != lenbytes) {
        rc = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                       "%s: truncated header (file ends inside the header length field)", path);
        goto done;
    }
    uint64_t hlen = (uint64_t)pre[8] | ((uint64_t)pre[9] << 8);
    if (lenbytes == 4) hlen |= ((uint64_t)pre[10] << 16) | ((uint64_t)pre[11] << 24);
    const uint64_t data_offset = 8 + lenbytes + hlen;
    if (data_offset > file_size) {
        rc = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                       "%s: truncated header (header length field says %llu bytes, file has %llu after it)", path,
                       (unsigned long long)hlen, (unsigned long long)(file_size - 8 - lenbytes));
        goto done;
    }
    if (hlen > NPY_MAX_HEADER) {
        rc = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: header of %llu bytes is larger than the %u supported",
                       path, (unsigned long long)hlen, NPY_MAX_HEADER);
        goto done;
    }
    header = malloc((size_t)hlen + 1);
    if (!header) {
        rc = qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "%s: out of memory reading the header", path);
        goto done;
    }
    if (fread(header, 1, (size_t)hlen, f) != (size_t)hlen) {
        rc = qdml_fail(NULL, QDML_ERR_IO, "%s: truncated header (read error: %s)", path,
                       ferror(f) ? strerror(errno) : "end of file");
        goto done;
    }
    header[hlen] = '\0';
    if (memchr(header, '\0', (size_t)hlen)) {
        rc = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: malformed .npy header: contains a NUL byte", path);
        goto done;
    }

    npy_header h;
    memset(&h, 0, sizeof h);
    hparser p = {header, 0, (size_t)hlen, path};
    if (parse_header_dict(&p, &h) != 0) goto done;

    qdml_npy_dtype dtype;
    int swap;
    const char *d = h.descr;
    if ((d[0] == '<' || d[0] == '>') && strcmp(d + 1, "f8") == 0)
        dtype = QDML_NPY_F64;
    else if ((d[0] == '<' || d[0] == '>') && strcmp(d + 1, "c16") == 0)
        dtype = QDML_NPY_C128;
    else {
        char shown[4 * sizeof h.descr + 8];
        rc = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                       "%s: unsupported dtype '%s': expected float64 ('<f8') or complex128 ('<c16')", path,
                       printable(d, shown, sizeof shown));
        goto done;
    }
    swap = (d[0] == '<') != host_is_little_endian();
    if (h.fortran) {
        rc = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                       "%s: Fortran order (fortran_order: True) is not supported; save a C-order array "
                       "(numpy.ascontiguousarray)",
                       path);
        goto done;
    }

    char shape_txt[256];
    qdml_npy_format_shape(shape_txt, sizeof shape_txt, h.ndim, h.shape);
    int64_t count = 1;
    for (int k = 0; k < h.ndim; ++k) {
        if (h.shape[k] != 0 && count > INT64_MAX / h.shape[k]) {
            /* A zero later on still makes the product zero; only a real overflow is an error. */
            int has_zero = 0;
            for (int j = k; j < h.ndim; ++j)
                has_zero |= h.shape[j] == 0;
            if (has_zero) {
                count = 0;
                break;
            }
            rc = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                           "%s: shape %s overflows: the element count does not fit in 64 bits", path, shape_txt);
            goto done;
        }
        count *= h.shape[k];
    }
    const uint64_t per = dtype == QDML_NPY_C128 ? 16 : 8;
    if ((uint64_t)count > UINT64_MAX / per || (uint64_t)count * per > (uint64_t)SIZE_MAX ||
        (uint64_t)count * per > UINT64_MAX - data_offset) {
        rc = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                       "%s: shape %s overflows: %lld elements of %llu bytes is too large", path, shape_txt,
                       (long long)count, (unsigned long long)per);
        goto done;
    }
    const uint64_t nbytes = (uint64_t)count * per;
    const uint64_t have = file_size - data_offset;
    if (have < nbytes) {
        rc = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                       "%s: truncated data: shape %s of %s needs %llu bytes, the file has %llu", path, shape_txt,
                       dtype_name(dtype), (unsigned long long)nbytes, (unsigned long long)have);
        goto done;
    }
    if (have > nbytes) {
        rc = qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                       "%s: %llu trailing bytes after the data (shape %s of %s needs %llu bytes)", path,
                       (unsigned long long)(have - nbytes), shape_txt, dtype_name(dtype), (unsigned long long)nbytes);
        goto done;
    }
    /* Callers may index data[0] even for empty arrays; keep the pointer valid. */
    data = malloc(nbytes ? (size_t)nbytes : 16);
    if (!data) {
        rc = qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "%s: out of memory for %llu bytes of data", path,
                       (unsigned long long)nbytes);
        goto done;
    }
    if (nbytes && fread(data, 1, (size_t)nbytes, f) != (size_t)nbytes) {
        rc = qdml_fail(NULL, QDML_ERR_IO, "%s: read error: %s", path,
                       ferror(f) ? strerror(errno) : "unexpected end of file");
        goto done;
    }
    if (swap) swap8_inplace(data, (size_t)(nbytes / 8));

    out->dtype = dtype;
    out->ndim = h.ndim;
    for (int k = 0; k < h.ndim; ++k)
        out->shape[k] = h.shape[k];
    out->count = count;
    out->data = data;
    data = NULL;
    rc = QDML_OK;
done:
    free(data);
    free(header);
    fclose(f);
    return rc;
}

void qdml_npy_free(qdml_npy_array *array) {
    if (!array) return;
    free(array->data);
    memset(array, 0, sizeof *array);
}

/* ---- writer ---------------------------------------------------------------------------------- */

static int write_all(FILE *f, const void *buf, size_t n) { return fwrite(buf, 1, n, f) == n ? 0 : -1; }

qdml_status qdml_npy_writer_open(qdml_npy_writer *w, const char *path, qdml_npy_dtype dtype, int ndim,
                                 const int64_t *shape) {
    memset(w, 0, sizeof *w);
    if (!path) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "qdml_npy_write: path is NULL");
    if (dtype != QDML_NPY_F64 && dtype != QDML_NPY_C128)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: unknown dtype %d", path, (int)dtype);
    if (ndim < 0 || ndim > QDML_NPY_MAX_NDIM)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: ndim %d outside 0..%d", path, ndim, QDML_NPY_MAX_NDIM);
    if (ndim > 0 && !shape) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: shape is NULL", path);
    int64_t count = 1;
    int has_zero = 0;
    for (int d = 0; d < ndim; ++d)
        has_zero |= shape[d] == 0;
    for (int d = 0; d < ndim; ++d) {
        if (shape[d] < 0)
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: shape[%d] = %lld is negative", path, d,
                             (long long)shape[d]);
        if (!has_zero && count > INT64_MAX / shape[d])
            return qdml_fail(NULL, QDML_ERR_OVERFLOW, "%s: shape overflows: element count does not fit in 64 bits",
                             path);
        count = has_zero ? 0 : count * shape[d];
    }
    const size_t per_doubles = dtype == QDML_NPY_C128 ? 2 : 1;
    if ((uint64_t)count > (uint64_t)SIZE_MAX / (8 * per_doubles))
        return qdml_fail(NULL, QDML_ERR_OVERFLOW, "%s: %lld elements are too many to write", path, (long long)count);

    char shape_txt[QDML_NPY_MAX_NDIM * 24 + 8];
    qdml_npy_format_shape(shape_txt, sizeof shape_txt, ndim, shape);
    char dict[512];
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                      dtype == QDML_NPY_C128 ? "<c16" : "<f8", shape_txt);
    if (dl < 0 || (size_t)dl >= sizeof dict)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: header too long", path);
    /* Spec: preamble (10 bytes) + dict + spaces + '\n' is a multiple of 64 so the data is aligned. */
    size_t total = 10 + (size_t)dl + 1;
    size_t padded = (total + 63) / 64 * 64;
    size_t hlen = padded - 10;
    unsigned char head[600];
    memcpy(head, npy_magic, 6);
    head[6] = 1;
    head[7] = 0;
    head[8] = (unsigned char)(hlen & 0xff);
    head[9] = (unsigned char)(hlen >> 8);
    memcpy(head + 10, dict, (size_t)dl);
    memset(head + 10 + dl, ' ', padded - total);
    head[padded - 1] = '\n';

    const qdml_status st = qdml_atomic_open(&w->af, path, 1, path);
    if (st != QDML_OK) return st;
    w->path = path;
    w->left = (size_t)count * per_doubles;
    w->ok = write_all(w->af.f, head, padded) == 0;
    return QDML_OK;
}

qdml_status qdml_npy_writer_put(qdml_npy_writer *w, const double *data, size_t ndoubles) {
    if (ndoubles > w->left) {
        w->ok = 0;
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: %zu more values than the shape holds", w->path,
                         ndoubles - w->left);
    }
    if (ndoubles > 0 && !data) {
        w->ok = 0;
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: data is NULL for %zu values", w->path, ndoubles);
    }
    w->left -= ndoubles;
    if (!w->ok || ndoubles == 0) return QDML_OK;
    if (host_is_little_endian()) {
        w->ok = write_all(w->af.f, data, ndoubles * sizeof(double)) == 0;
    } else {
        double chunk[512];
        for (size_t i = 0; w->ok && i < ndoubles; i += 512) {
            size_t n = ndoubles - i < 512 ? ndoubles - i : 512;
            memcpy(chunk, data + i, n * sizeof(double));
            swap8_inplace(chunk, n);
            w->ok = write_all(w->af.f, chunk, n * sizeof(double)) == 0;
        }
    }
    return QDML_OK;
}

qdml_status qdml_npy_writer_close(qdml_npy_writer *w) {
    if (w->left != 0) {
        qdml_atomic_abort(&w->af);
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: %zu values short of the shape: not written", w->path,
                         w->left);
    }
    return qdml_atomic_commit(&w->af, w->ok);
}

void qdml_npy_writer_abort(qdml_npy_writer *w) { qdml_atomic_abort(&w->af); }

qdml_status qdml_npy_write(const char *path, qdml_npy_dtype dtype, int ndim, const int64_t *shape, const double *data) {
    qdml_npy_writer w;
    qdml_status st = qdml_npy_writer_open(&w, path, dtype, ndim, shape);
    if (st != QDML_OK) return st;
    if (w.left > 0 && !data) {
        qdml_npy_writer_abort(&w);
        int64_t count = 1;
        for (int d = 0; d < ndim; ++d) count *= shape[d];
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: data is NULL for %lld elements", path, (long long)count);
    }
    (void)qdml_npy_writer_put(&w, data, w.left);
    return qdml_npy_writer_close(&w);
}
