/* .npy reader/writer and the history CSV writer: round trips, files written by numpy, and every
 * malformed-input case the reader promises to name.
 *
 * Backend: none (files only).
 */
#include "io_csv.h"
#include "io_npy.h"
#include "status.h"
#include "support.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- temp dirs and raw files ---------------------------------------------------------------- */

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    if (n) cr_assert_eq(fwrite(data, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}


/* A .npy file with the given version, header dict (padded per the spec unless raw) and payload. */
static void write_npy_raw(const char *path, int major, int minor, const char *dict, const void *payload, size_t plen) {
    const size_t lenbytes = major == 1 ? 2 : 4;
    const size_t pre = 8 + lenbytes;
    size_t dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64;
    size_t hlen = total - pre;
    unsigned char *buf = calloc(1, total + plen + 1);
    cr_assert_not_null(buf);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = (unsigned char)minor;
    for (size_t k = 0; k < lenbytes; ++k)
        buf[8 + k] = (unsigned char)((hlen >> (8 * k)) & 0xff);
    memcpy(buf + pre, dict, dl);
    memset(buf + pre + dl, ' ', hlen - dl - 1);
    buf[total - 1] = '\n';
    if (plen) memcpy(buf + total, payload, plen);
    write_bytes(path, buf, total + plen);
    free(buf);
}

static int read_file(const char *path, unsigned char **out, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    *len = fread(*out, 1, (size_t)n, f);
    fclose(f);
    return 0;
}

/* Reads `path` expecting failure with `needle` in the message; the output must be left zeroed. */
static void expect_read_error(const char *path, const char *needle) {
    qdml_npy_array a;
    memset(&a, 0x5a, sizeof a);
    qdml_clear_error(NULL); /* the message checked below is this call's */
    const qdml_status rc = qdml_npy_read(path, &a);
    cr_assert_neq(rc, QDML_OK, "expected failure (%s) but read succeeded", needle);
    cr_assert_not_null(strstr(qdml_last_error_message(), needle), "message '%s' does not contain '%s'",
                       qdml_last_error_message(), needle);
    cr_assert_null(a.data);
    cr_assert_eq(a.ndim, 0);
    cr_assert_eq(a.count, 0);
}

static void expect_bad_header(const char *dict, const char *needle) {
    char *dir = qt_tmpdir("npy");
    char *p = qt_path(dir, "bad.npy");
    double payload[6] = {0};
    write_npy_raw(p, 1, 0, dict, payload, sizeof payload);
    expect_read_error(p, needle);
    free(p);
    qt_rm_rf(dir);
    free(dir);
}

/* ---- round trips ----------------------------------------------------------------------------- */

static void roundtrip(const char *dir, qdml_npy_dtype dtype, int ndim, const int64_t *shape, qt_rng *rng) {
    int64_t count = 1;
    for (int d = 0; d < ndim; ++d)
        count *= shape[d];
    const size_t nd = (size_t)count * (dtype == QDML_NPY_C128 ? 2 : 1);
    double *data = malloc((nd ? nd : 1) * sizeof *data);
    cr_assert_not_null(data);
    for (size_t i = 0; i < nd; ++i)
        data[i] = (qt_uniform(rng) - 0.5) * pow(10.0, (double)(i % 40) - 20.0);
    /* Values whose bits must survive untouched. */
    if (nd > 3) {
        data[1] = -0.0;
        data[2] = 4.9e-324;
        data[3] = NAN;
    }
    char *p = qt_path(dir, "rt.npy");
    cr_assert_eq(qdml_npy_write(p, dtype, ndim, shape, data), QDML_OK, "write: %s", qdml_last_error_message());

    /* Header layout per the spec: version 1.0, total header a multiple of 64, ending in '\n'. */
    unsigned char *bytes;
    size_t len;
    cr_assert_eq(read_file(p, &bytes, &len), 0);
    cr_assert(len >= 10);
    cr_assert_eq(memcmp(bytes, "\x93NUMPY\x01\x00", 8), 0);
    size_t hlen = (size_t)bytes[8] | ((size_t)bytes[9] << 8);
    cr_assert_eq((10 + hlen) % 64, 0, "header of %zu bytes is not padded to 64", 10 + hlen);
    cr_assert_eq(bytes[10 + hlen - 1], '\n');
    cr_assert_eq(len, 10 + hlen + nd * 8);
    free(bytes);

    qdml_npy_array a;
    cr_assert_eq(qdml_npy_read(p, &a), QDML_OK, "read: %s", qdml_last_error_message());
    cr_assert_eq(a.dtype, dtype);
    cr_assert_eq(a.ndim, ndim);
    for (int d = 0; d < ndim; ++d)
        cr_assert_eq(a.shape[d], shape[d]);
    cr_assert_eq(a.count, count);
    cr_assert_not_null(a.data);
    if (nd) cr_assert_eq(memcmp(a.data, data, nd * sizeof(double)), 0, "data differ after the round trip");
    qdml_npy_free(&a);
    cr_assert_null(a.data);
    free(p);
    free(data);
}

Test(npy, roundtrip_shapes_and_dtypes) {
    char *dir = qt_tmpdir("npy");
    qt_rng rng;
    qt_rng_seed(&rng, 7);
    static const int64_t s1[] = {5}, s2[] = {3, 4}, s3[] = {2, 3, 4}, s4[] = {2, 1, 3, 2}, s0[] = {0}, sz[] = {2, 0, 3},
                         s8[] = {1, 2, 1, 2, 1, 1, 2, 1}, sbig[] = {17, 33};
    const struct {
        int ndim;
        const int64_t *shape;
    } cases[] = {{0, NULL}, {1, s1}, {2, s2}, {3, s3}, {4, s4}, {1, s0}, {3, sz}, {8, s8}, {2, sbig}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        roundtrip(dir, QDML_NPY_F64, cases[c].ndim, cases[c].shape, &rng);
        roundtrip(dir, QDML_NPY_C128, cases[c].ndim, cases[c].shape, &rng);
    }
    /* Atomic writes leave nothing behind but the file itself. */
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        cr_assert_str_eq(e->d_name, "rt.npy");
        ++entries;
    }
    closedir(d);
    cr_assert_eq(entries, 1);
    qt_rm_rf(dir);
    free(dir);
}

Test(npy, writer_errors) {
    char *dir = qt_tmpdir("npy");
    double x[4] = {1, 2, 3, 4};
    int64_t shape[1] = {4};
    char *missing = qt_path(dir, "no/such/dir/x.npy");
    cr_assert_neq(qdml_npy_write(missing, QDML_NPY_F64, 1, shape, x), QDML_OK);
    cr_assert_not_null(strstr(qdml_last_error_message(), "no/such/dir/x.npy"), "%s", qdml_last_error_message());
    cr_assert_not_null(strstr(qdml_last_error_message(), "cannot create"), "%s", qdml_last_error_message());
    free(missing);
    char *p = qt_path(dir, "x.npy");
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    cr_assert_neq(qdml_npy_write(p, QDML_NPY_F64, 9, nine, x), QDML_OK);
    cr_assert_not_null(strstr(qdml_last_error_message(), "ndim 9"), "%s", qdml_last_error_message());
    int64_t neg[1] = {-2};
    cr_assert_neq(qdml_npy_write(p, QDML_NPY_F64, 1, neg, x), QDML_OK);
    cr_assert_not_null(strstr(qdml_last_error_message(), "negative"), "%s", qdml_last_error_message());
    cr_assert_neq(qdml_npy_write(p, QDML_NPY_F64, 1, shape, NULL), QDML_OK);
    cr_assert_not_null(strstr(qdml_last_error_message(), "data is NULL"), "%s", qdml_last_error_message());
    int64_t huge[2] = {INT64_MAX / 2, 3};
    cr_assert_neq(qdml_npy_write(p, QDML_NPY_F64, 2, huge, x), QDML_OK);
    cr_assert_not_null(strstr(qdml_last_error_message(), "overflow"), "%s", qdml_last_error_message());
    free(p);
    qt_rm_rf(dir);
    free(dir);
}

/* ---- header dialects that must parse ------------------------------------------------------ */

static void expect_parses(int major, const char *dict, int ndim, const int64_t *shape, qdml_npy_dtype dtype) {
    char *dir = qt_tmpdir("npy");
    char *p = qt_path(dir, "ok.npy");
    int64_t count = 1;
    for (int d = 0; d < ndim; ++d)
        count *= shape[d];
    size_t nd = (size_t)count * (dtype == QDML_NPY_C128 ? 2 : 1);
    double *payload = malloc((nd + 1) * sizeof *payload);
    for (size_t i = 0; i < nd; ++i)
        payload[i] = 0.5 * (double)i - 1.0;
    write_npy_raw(p, major, 0, dict, payload, nd * sizeof(double));
    qdml_npy_array a;
    cr_assert_eq(qdml_npy_read(p, &a), QDML_OK, "header %s: %s", dict, qdml_last_error_message());
    cr_assert_eq(a.ndim, ndim, "header %s", dict);
    for (int d = 0; d < ndim; ++d)
        cr_assert_eq(a.shape[d], shape[d], "header %s", dict);
    cr_assert_eq(a.count, count);
    cr_assert_eq(a.dtype, dtype);
    for (size_t i = 0; i < nd; ++i)
        cr_assert_eq(a.data[i], payload[i]);
    qdml_npy_free(&a);
    free(payload);
    free(p);
    qt_rm_rf(dir);
    free(dir);
}

Test(npy, header_dialects) {
    const int64_t s23[] = {2, 3}, s5[] = {5}, s4[] = {4};
    expect_parses(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 2, s23, QDML_NPY_F64);
    expect_parses(1, "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f8'}", 2, s23, QDML_NPY_F64);
    expect_parses(1, "{ 'fortran_order' :False,'shape':( 2 ,3 , ) ,'descr' : '<c16' , }", 2, s23, QDML_NPY_C128);
    expect_parses(1, "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (5,)}", 1, s5, QDML_NPY_F64);
    expect_parses(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (5L,), }", 1, s5, QDML_NPY_F64);
    expect_parses(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 0, NULL, QDML_NPY_F64);
    expect_parses(2, "{'descr': '<c16', 'fortran_order': False, 'shape': (4,), }", 1, s4, QDML_NPY_C128);
    expect_parses(3, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 2, s23, QDML_NPY_F64);
}

Test(npy, big_endian_is_swapped) {
    char *dir = qt_tmpdir("npy");
    char *p = qt_path(dir, "be.npy");
    const double vals[4] = {1.5, -2.25, 1e-300, 3.0e200};
    unsigned char be[32];
    for (int i = 0; i < 4; ++i) {
        uint64_t u;
        memcpy(&u, &vals[i], 8);
        for (int k = 0; k < 8; ++k)
            be[8 * i + k] = (unsigned char)(u >> (8 * (7 - k)));
    }
    qdml_npy_array a;
    write_npy_raw(p, 1, 0, "{'descr': '>f8', 'fortran_order': False, 'shape': (4,), }", be, sizeof be);
    cr_assert_eq(qdml_npy_read(p, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.dtype, QDML_NPY_F64);
    for (int i = 0; i < 4; ++i)
        cr_assert_eq(a.data[i], vals[i]);
    qdml_npy_free(&a);
    write_npy_raw(p, 1, 0, "{'descr': '>c16', 'fortran_order': False, 'shape': (2,), }", be, sizeof be);
    cr_assert_eq(qdml_npy_read(p, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.dtype, QDML_NPY_C128);
    cr_assert_eq(a.count, 2);
    for (int i = 0; i < 4; ++i)
        cr_assert_eq(a.data[i], vals[i]);
    qdml_npy_free(&a);
    free(p);
    qt_rm_rf(dir);
    free(dir);
}

/* ---- malformed files --------------------------------------------------------------------------- */

Test(npy, missing_file_and_directory) {
    char *dir = qt_tmpdir("npy");
    char *p = qt_path(dir, "absent.npy");
    expect_read_error(p, "cannot open");
    expect_read_error(p, "absent.npy");
    expect_read_error(dir, "not a regular file");
    free(p);
    qt_rm_rf(dir);
    free(dir);
}

Test(npy, bad_magic_and_short_files) {
    char *dir = qt_tmpdir("npy");
    char *p = qt_path(dir, "m.npy");
    write_bytes(p, "", 0);
    expect_read_error(p, "not a .npy file");
    write_bytes(p, "hello world, this is text\n", 26);
    expect_read_error(p, "not a .npy file");
    write_bytes(p, "\x93NUMPX\x01\x00\x10\x00", 10);
    expect_read_error(p, "bad magic");
    write_bytes(p, "\x93NUMPY", 6);
    expect_read_error(p, "truncated");
    free(p);
    qt_rm_rf(dir);
    free(dir);
}

Test(npy, unsupported_versions) {
    char *dir = qt_tmpdir("npy");
    char *p = qt_path(dir, "v.npy");
    double x = 1.0;
    write_npy_raw(p, 4, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &x, 8);
    expect_read_error(p, "unsupported .npy format version 4.0");
    write_npy_raw(p, 1, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &x, 8);
    expect_read_error(p, "unsupported .npy format version 1.1");
    write_npy_raw(p, 0, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &x, 8);
    expect_read_error(p, "version 0.0");
    free(p);
    qt_rm_rf(dir);
    free(dir);
}

Test(npy, truncated_header) {
    char *dir = qt_tmpdir("npy");
    char *p = qt_path(dir, "t.npy");
    /* Header length says 118 bytes but only 20 follow. */
    unsigned char b[30] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0};
    memcpy(b + 10, "{'descr': '<f8', 'f", 19);
    write_bytes(p, b, 29);
    expect_read_error(p, "truncated header");
    /* Version 2.0 needs a 4-byte length; the file ends after 2 of them. */
    unsigned char c[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 64, 0};
    write_bytes(p, c, 10);
    expect_read_error(p, "truncated header");
    free(p);
    qt_rm_rf(dir);
    free(dir);
}

Test(npy, unsupported_dtypes_are_named) {
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                      "unsupported dtype '<f4': expected float64 ('<f8') or complex128 ('<c16')");
    expect_bad_header("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype '<i8'");
    expect_bad_header("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype '|u1'");
    expect_bad_header("{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype '<c8'");
    expect_bad_header("{'descr': '=f8', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype '=f8'");
    expect_bad_header("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }", "structured");
}

Test(npy, fortran_order_rejected) {
    expect_bad_header("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", "Fortran order");
}

Test(npy, data_size_must_match_exactly) {
    char *dir = qt_tmpdir("npy");
    char *p = qt_path(dir, "d.npy");
    double x[7] = {1, 2, 3, 4, 5, 6, 7};
    write_npy_raw(p, 1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", x, 5 * 8);
    expect_read_error(p, "truncated data");
    write_npy_raw(p, 1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", x, 7 * 8);
    expect_read_error(p, "8 trailing bytes");
    write_npy_raw(p, 1, 0, "{'descr': '<c16', 'fortran_order': False, 'shape': (2, 3), }", x, 6 * 8);
    expect_read_error(p, "truncated data");
    write_npy_raw(p, 1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", x, 6 * 8 + 3);
    expect_read_error(p, "3 trailing bytes");
    free(p);
    qt_rm_rf(dir);
    free(dir);
}

Test(npy, shape_overflow) {
    expect_bad_header("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", "overflow");
    expect_bad_header("{'descr': '<c16', 'fortran_order': False, 'shape': (1152921504606846976,), }", "overflow");
    expect_bad_header("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }", "overflow");
    expect_bad_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }",
                      "more than 8 dimensions");
}

Test(npy, malformed_header_dicts) {
    expect_bad_header("{'descr': '<f8', 'fortran_order': False, }", "missing key 'shape'");
    expect_bad_header("{'fortran_order': False, 'shape': (6,), }", "missing key 'descr'");
    expect_bad_header("{'descr': '<f8', 'shape': (6,), }", "missing key 'fortran_order'");
    expect_bad_header("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'extra': 1, }",
                      "unexpected key 'extra'");
    expect_bad_header("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", "duplicate key");
    expect_bad_header("{'descr': '<f8', 'fortran_order': False, 'shape': (6), }", "1-element shape");
    expect_bad_header("{'descr': '<f8', 'fortran_order': False, 'shape': (-6,), }", "non-negative");
    expect_bad_header("{'descr': '<f8', 'fortran_order': False, 'shape': [6], }", "must be a tuple");
    expect_bad_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2 3), }", "expected ',' or ')'");
    expect_bad_header("{'descr': '<f8', 'fortran_order': 0, 'shape': (6,), }", "True or False");
    expect_bad_header("{'descr': '<f8' 'fortran_order': False, 'shape': (6,), }", "expected ',' or '}'");
    expect_bad_header("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), } junk", "unexpected text");
    expect_bad_header("{'descr': '<f8', 'fortran_order': False, 'shape': (6,)", "missing '}'");
    expect_bad_header("'descr': '<f8'", "expected '{'");
    expect_bad_header("{'descr: '<f8', 'fortran_order': False, 'shape': (6,), }", "malformed .npy header");
    expect_bad_header("{descr: '<f8'}", "quoted string");
    expect_bad_header("", "expected '{'");
}

Test(npy, nul_byte_in_header) {
    char *dir = qt_tmpdir("npy");
    char *p = qt_path(dir, "nul.npy");
    char dict[] = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }";
    unsigned char buf[64 + 8];
    memset(buf, ' ', sizeof buf);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = 54;
    buf[9] = 0;
    memcpy(buf + 10, dict, strlen(dict));
    buf[12] = '\0';
    buf[63] = '\n';
    memset(buf + 64, 0, 8);
    write_bytes(p, buf, sizeof buf);
    expect_read_error(p, "NUL");
    free(p);
    qt_rm_rf(dir);
    free(dir);
}

/* ---- interoperability with numpy itself --------------------------------------------------- */

/* A python3 that can import numpy, or NULL. The first on PATH may be a different interpreter from
 * the system one that carries the distribution's numpy, so both are tried. */
static const char *python_with_numpy(void) {
    static const char *const candidates[] = {"python3", "/usr/bin/python3"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; ++i) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "%s -c 'import numpy' >/dev/null 2>&1", candidates[i]);
        if (system(cmd) == 0) return candidates[i];
    }
    return NULL;
}

static const char py_script[] =
    "import sys, numpy as np\n"
    "d = sys.argv[2]\n"
    "if sys.argv[1] == 'write':\n"
    "    np.save(d + '/f8.npy', np.arange(12, dtype='<f8').reshape(3, 4) * 0.25 - 1.0)\n"
    "    np.save(d + '/c16.npy', (np.arange(6) + 1j * (10.0 - np.arange(6))).reshape(2, 3).astype('<c16'))\n"
    "    np.save(d + '/be.npy', np.arange(5, dtype='>f8') / 3.0)\n"
    "    np.save(d + '/bec.npy', (np.arange(3) * (1 - 2j)).astype('>c16'))\n"
    "    np.save(d + '/scalar.npy', np.float64(3.5))\n"
    "    np.save(d + '/empty.npy', np.zeros((0, 4)))\n"
    "    np.save(d + '/one.npy', np.array([7.0]))\n"
    "    np.save(d + '/f32.npy', np.zeros(3, dtype=np.float32))\n"
    "    np.save(d + '/fort.npy', np.asfortranarray(np.arange(6.0).reshape(2, 3)))\n"
    "    np.lib.format.write_array(open(d + '/v2.npy', 'wb'), np.arange(4.0), version=(2, 0))\n"
    "else:\n"
    "    a = np.load(d + '/cf8.npy'); b = np.load(d + '/cc16.npy'); s = np.load(d + '/cs.npy')\n"
    "    assert a.dtype == np.float64 and a.shape == (2, 3, 4), (a.dtype, a.shape)\n"
    "    assert (a.ravel() == np.arange(24) * 1.5 - 7).all()\n"
    "    assert b.dtype == np.complex128 and b.shape == (5,), (b.dtype, b.shape)\n"
    "    assert (b == np.arange(5) - 0.5j * np.arange(5)).all()\n"
    "    assert s.shape == () and s == 2.0\n"
    "    print('numpy read ok')\n";

Test(npy, numpy_interop) {
    const char *py = python_with_numpy();
    if (!py) cr_skip_test("python3 with numpy is not importable (tried python3 and /usr/bin/python3)");
    char *dir = qt_tmpdir("npy");
    char *script = qt_path(dir, "interop.py");
    write_bytes(script, py_script, strlen(py_script));
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s '%s' write '%s'", py, script, dir);
    cr_assert_eq(system(cmd), 0, "numpy failed to write the files: %s", cmd);

    qdml_npy_array a;
    char *p = qt_path(dir, "f8.npy");
    cr_assert_eq(qdml_npy_read(p, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.dtype, QDML_NPY_F64);
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.shape[0], 3);
    cr_assert_eq(a.shape[1], 4);
    for (int i = 0; i < 12; ++i)
        cr_assert_eq(a.data[i], i * 0.25 - 1.0);
    qdml_npy_free(&a);
    free(p);

    p = qt_path(dir, "c16.npy");
    cr_assert_eq(qdml_npy_read(p, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.dtype, QDML_NPY_C128);
    cr_assert_eq(a.ndim, 2);
    for (int i = 0; i < 6; ++i) {
        cr_assert_eq(a.data[2 * i], (double)i);
        cr_assert_eq(a.data[2 * i + 1], 10.0 - i);
    }
    qdml_npy_free(&a);
    free(p);

    p = qt_path(dir, "be.npy");
    cr_assert_eq(qdml_npy_read(p, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.count, 5);
    for (int i = 0; i < 5; ++i)
        cr_assert_eq(a.data[i], i / 3.0);
    qdml_npy_free(&a);
    free(p);

    p = qt_path(dir, "bec.npy");
    cr_assert_eq(qdml_npy_read(p, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.dtype, QDML_NPY_C128);
    for (int i = 0; i < 3; ++i) {
        cr_assert_eq(a.data[2 * i], (double)i);
        cr_assert_eq(a.data[2 * i + 1], -2.0 * i);
    }
    qdml_npy_free(&a);
    free(p);

    p = qt_path(dir, "scalar.npy");
    cr_assert_eq(qdml_npy_read(p, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.ndim, 0);
    cr_assert_eq(a.count, 1);
    cr_assert_eq(a.data[0], 3.5);
    qdml_npy_free(&a);
    free(p);

    p = qt_path(dir, "empty.npy");
    cr_assert_eq(qdml_npy_read(p, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.count, 0);
    qdml_npy_free(&a);
    free(p);

    p = qt_path(dir, "one.npy");
    cr_assert_eq(qdml_npy_read(p, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.ndim, 1);
    cr_assert_eq(a.shape[0], 1);
    cr_assert_eq(a.data[0], 7.0);
    qdml_npy_free(&a);
    free(p);

    p = qt_path(dir, "v2.npy");
    cr_assert_eq(qdml_npy_read(p, &a), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(a.count, 4);
    cr_assert_eq(a.data[3], 3.0);
    qdml_npy_free(&a);
    free(p);

    p = qt_path(dir, "f32.npy");
    expect_read_error(p, "unsupported dtype '<f4'");
    free(p);
    p = qt_path(dir, "fort.npy");
    expect_read_error(p, "Fortran order");
    free(p);

    /* And the other way: numpy reads what we write. */
    double f[24], c[10], s = 2.0;
    for (int i = 0; i < 24; ++i)
        f[i] = i * 1.5 - 7;
    for (int i = 0; i < 5; ++i)
        c[2 * i] = i, c[2 * i + 1] = -0.5 * i;
    const int64_t sf[3] = {2, 3, 4}, sc[1] = {5};
    p = qt_path(dir, "cf8.npy");
    cr_assert_eq(qdml_npy_write(p, QDML_NPY_F64, 3, sf, f), QDML_OK, "%s", qdml_last_error_message());
    free(p);
    p = qt_path(dir, "cc16.npy");
    cr_assert_eq(qdml_npy_write(p, QDML_NPY_C128, 1, sc, c), QDML_OK, "%s", qdml_last_error_message());
    free(p);
    p = qt_path(dir, "cs.npy");
    cr_assert_eq(qdml_npy_write(p, QDML_NPY_F64, 0, NULL, &s), QDML_OK, "%s", qdml_last_error_message());
    free(p);
    snprintf(cmd, sizeof cmd, "%s '%s' check '%s'", py, script, dir);
    cr_assert_eq(system(cmd), 0, "numpy could not read our files correctly: %s", cmd);
    free(script);
    qt_rm_rf(dir);
    free(dir);
}

/* ---- CSV history ----------------------------------------------------------------------------- */

Test(csv, history_layout) {
    char *dir = qt_tmpdir("npy");
    char *p = qt_path(dir, "h.csv");
    qdml_stats h0[2], h1[1];
    memset(h0, 0, sizeof h0);
    memset(h1, 0, sizeof h1);
    h0[0].step = 10, h0[0].energy = 0.5, h0[0].mean[1] = -1.25, h0[0].argmax[1] = 3.0;
    h0[1].step = 20, h0[1].energy = 0.1;
    h1[0].step = 7, h1[0].energy = 1.0 / 3.0;
    const qdml_stats *hist[2] = {h0, h1};
    size_t counts[2] = {2, 1};
    cr_assert_eq(qdml_csv_write_history(p, 2, 2, hist, counts), QDML_OK, "%s", qdml_last_error_message());
    unsigned char *bytes;
    size_t len;
    cr_assert_eq(read_file(p, &bytes, &len), 0);
    bytes[len] = '\0';
    const char *text = (const char *)bytes;
    const char *header = "member,step,time,dt,norm,kinetic,potential,energy,residual,mean_0,mean_1,width_0,width_1,"
                         "density_max,argmax_0,argmax_1\n";
    cr_assert_eq(strncmp(text, header, strlen(header)), 0, "header: %s", text);
    int lines = 0;
    for (size_t i = 0; i < len; ++i)
        lines += text[i] == '\n';
    cr_assert_eq(lines, 4);
    cr_assert_not_null(strstr(text, "\n0,10,0,0,0,0,0,0.5,0,0,-1.25,0,0,0,0,3\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\n1,7,0,0,0,0,0,0.33333333333333331,"), "%s", text);
    free(bytes);
    cr_assert_neq(qdml_csv_write_history(p, 4, 2, hist, counts), QDML_OK);
    cr_assert_not_null(strstr(qdml_last_error_message(), "dim 4"), "%s", qdml_last_error_message());
    char *bad = qt_path(dir, "missing/h.csv");
    cr_assert_neq(qdml_csv_write_history(bad, 2, 2, hist, counts), QDML_OK);
    cr_assert_not_null(strstr(qdml_last_error_message(), "missing/h.csv"), "%s", qdml_last_error_message());
    free(bad);
    free(p);
    qt_rm_rf(dir);
    free(dir);
}

/* Inputs kept from fuzzing the reader (tests/fuzz/fuzz_npy.c, run by scripts/sanitize): each is
 * read once more; it must be refused with a message or give an array whose size matches its shape. */
Test(npy, fuzz_regressions_are_rejected_cleanly) {
    char *dirpath = qt_path(QDML_SOURCE_DIR, "tests/fuzz/npy-regressions");
    DIR *d = opendir(dirpath);
    cr_assert_not_null(d, "cannot open %s", dirpath);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char *p = qt_path(dirpath, e->d_name);
        qdml_npy_array a;
        qdml_clear_error(NULL);
        if (qdml_npy_read(p, &a) == QDML_OK) {
            int64_t count = 1;
            for (int k = 0; k < a.ndim; ++k) count *= a.shape[k];
            cr_assert_eq(count, a.count, "%s: shape and count disagree", e->d_name);
            qdml_npy_free(&a);
        } else {
            cr_assert_neq(qdml_last_error_message()[0], '\0', "%s: refused without a message", e->d_name);
        }
        free(p);
        ++files;
    }
    closedir(d);
    cr_assert_gt(files, 0, "no inputs in %s", dirpath);
    free(dirpath);
}

/* ---- the writer a piece at a time ---------------------------------------------------------- */

/* Pieces of random sizes make the same file as one write, byte for byte; too few or too many values are
 * refused and leave the path as it was. */
Test(npy, writer_in_pieces_equals_one_write) {
    char *dir = qt_tmpdir("npy");
    qt_rng r;
    qt_rng_seed(&r, 2026);
    const int64_t shape[2] = {7, 13};
    double data[2 * 7 * 13];
    for (int i = 0; i < 2 * 7 * 13; ++i) data[i] = qt_normal(&r);
    char *whole = qt_path(dir, "whole.npy"), *pieces = qt_path(dir, "pieces.npy");
    cr_assert_eq(qdml_npy_write(whole, QDML_NPY_C128, 2, shape, data), QDML_OK, "%s", qdml_last_error_message());
    qdml_npy_writer w;
    cr_assert_eq(qdml_npy_writer_open(&w, pieces, QDML_NPY_C128, 2, shape), QDML_OK, "%s", qdml_last_error_message());
    size_t done = 0;
    while (done < 2 * 7 * 13) {
        size_t k = 1 + (size_t)(qt_uniform(&r) * 17);
        if (k > 2 * 7 * 13 - done) k = 2 * 7 * 13 - done;
        cr_assert_eq(qdml_npy_writer_put(&w, data + done, k), QDML_OK);
        done += k;
    }
    cr_assert_eq(qdml_npy_writer_close(&w), QDML_OK, "%s", qdml_last_error_message());
    unsigned char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    cr_assert_eq(read_file(whole, &a, &la), 0);
    cr_assert_eq(read_file(pieces, &b, &lb), 0);
    cr_assert(la == lb && memcmp(a, b, la) == 0, "the pieces made another file (%zu and %zu bytes)", la, lb);
    free(a);
    free(b);
    /* one value short: refused, the file left as it was */
    cr_assert_eq(qdml_npy_writer_open(&w, pieces, QDML_NPY_F64, 1, shape), QDML_OK);
    cr_assert_eq(qdml_npy_writer_put(&w, data, 6), QDML_OK);
    cr_assert_neq(qdml_npy_writer_close(&w), QDML_OK);
    cr_assert_not_null(strstr(qdml_last_error_message(), "short"), "%s", qdml_last_error_message());
    qdml_npy_array back;
    cr_assert_eq(qdml_npy_read(pieces, &back), QDML_OK);
    cr_assert_eq(back.dtype, QDML_NPY_C128, "the refused write replaced the file");
    qdml_npy_free(&back);
    /* one value too many: refused at put, and at close */
    cr_assert_eq(qdml_npy_writer_open(&w, pieces, QDML_NPY_F64, 1, shape), QDML_OK);
    cr_assert_eq(qdml_npy_writer_put(&w, data, 7), QDML_OK);
    cr_assert_neq(qdml_npy_writer_put(&w, data, 1), QDML_OK);
    cr_assert_not_null(strstr(qdml_last_error_message(), "more values"), "%s", qdml_last_error_message());
    cr_assert_neq(qdml_npy_writer_close(&w), QDML_OK);
    free(whole);
    free(pieces);
    qt_rm_rf(dir);
    free(dir);
}
