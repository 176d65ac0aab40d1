/* The backend op cases (op_cases.c, one per op of host/backend.h and variant, each with its bound)
 * on a CUDA device in float64 and float32, and on the CPU backend itself on every machine: the
 * self-check, which runs the same harness and table with the CPU backend as the tested one and must
 * agree with the reference to the same bounds (exactly, in practice), so the harness runs in CI
 * without a GPU. Also the CUDA backend's own checks that need no case table: the graphs setting,
 * cuBLAS loading, and sizes and refusal without a device.
 *
 * Without a CUDA device the device tests report themselves skipped with the reason. The case table
 * needs the CUDA ops table: the device tests compile it in where the build defines
 * QDML_TEST_HAVE_CUDA_BACKEND (tests/CMakeLists.txt, when the CUDA backend is built).
 *
 * Backends: the suites op_cases and cpu_self_check run on the CPU backend everywhere (ctest entry
 * test_cuda_ops), cuda_build needs the CUDA backend in the build but no device (test_cuda_ops_build),
 * cuda_ops a device (test_cuda_ops_device); QDML_TEST_BACKEND does not apply (each test names its
 * backend's ops table).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "op_harness.h"
#include "support.h"

#ifdef QDML_TEST_HAVE_CUDA_BACKEND
#include "backend_cuda.h" /* part of libqdml when the CUDA toolkit was found */
static const op_backend cuda_backend = {"cuda", &qdml_backend_cuda_ops, 1};
#endif

/* The CPU backend as the tested one: QDML_FFT_ESTIMATE (op_desc) and the plain path, where every
 * op is the reference's own arithmetic and the steps op declines (the solver issues single ops). */
static const op_backend cpu_backend = {"cpu", &qdml_backend_cpu_ops, 0};

#define NO_DEVICE "no CUDA device: qdml_backend_available(QDML_BACKEND_CUDA) is 0"

/* Skips (naming what, a case or a test) without a device or without the CUDA ops table. */
static void require_op_table(const char *what) {
    if (!qdml_backend_available(QDML_BACKEND_CUDA)) cr_skip_test("%s: %s", what, NO_DEVICE);
#ifndef QDML_TEST_HAVE_CUDA_BACKEND
    cr_skip_test("%s: %s", what,
                 "the op cases need the CUDA ops table: this test build does not define "
                 "QDML_TEST_HAVE_CUDA_BACKEND (tests/CMakeLists.txt sets it when the CUDA backend is built)");
#endif
}

/* ==============================================================================================
 * The case table on a device and on the CPU backend
 * ============================================================================================ */

/* One Criterion test per case, by index into op_cases (Criterion copies the parameters into the
 * test's process: an index, not a pointer). every_op_has_a_case checks the table fits. */
#define MAX_CASES 64
static struct criterion_test_params op_case_params(void) {
    static size_t index[MAX_CASES];
    const size_t count = op_case_count < MAX_CASES ? op_case_count : MAX_CASES;
    for (size_t k = 0; k < count; ++k)
        index[k] = k;
    return cr_make_param_array(size_t, index, count);
}
#define OP_CASE_PARAMS() op_case_params()

/* Every op of qdml_backend_ops that works on a problem's data has a case; names are unique, every
 * case says why its bound holds. */
Test(op_cases, every_op_has_a_case) {
    static const char *const ops[] = {"set_state", "get_state", "set_potential",  "get_potential", "set_step", "kick",
                                      "fft",       "kinetic",   "scale",          "moments",       "distance", "backup",
                                      "gram",      "combine",   "fill_objective", "steps"};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; ++k) {
        int found = 0;
        for (size_t c = 0; c < op_case_count && !found; ++c) {
            /* c's op is a list of member names separated by ", " */
            const size_t len = strlen(ops[k]);
            for (const char *s = op_cases[c].op; (s = strstr(s, ops[k])) != NULL; s += len)
                if ((s == op_cases[c].op || s[-1] == ' ') && (s[len] == '\0' || s[len] == ',')) found = 1;
        }
        cr_assert(found, "no op case exercises %s", ops[k]);
    }
    cr_assert(op_case_count <= MAX_CASES, "%zu cases: raise MAX_CASES (%d)", op_case_count, MAX_CASES);
    for (size_t c = 0; c < op_case_count; ++c) {
        cr_assert(op_cases[c].why && op_cases[c].why[0], "case %s does not say why its bound holds", op_cases[c].name);
        cr_assert(op_cases[c].bound_f64 >= 0 && op_cases[c].bound_f32 >= 0, "case %s: a negative bound",
                  op_cases[c].name);
        for (size_t j = 0; j < c; ++j)
            cr_assert(strcmp(op_cases[c].name, op_cases[j].name) != 0, "two cases are named %s", op_cases[c].name);
    }
}

ParameterizedTestParameters(cpu_self_check, float64) { return OP_CASE_PARAMS(); }

/* The harness on the CPU backend against itself (float64 only: the CPU backend refuses float32). */
ParameterizedTest(size_t *k, cpu_self_check, float64) {
    const op_case *c = &op_cases[*k];
    cr_assert_eq(setenv("QDML_CPU_PATH", "plain", 1), 0);
    op_case_run(c, &cpu_backend, QDML_FLOAT64);
}

ParameterizedTestParameters(cuda_ops, float64) { return OP_CASE_PARAMS(); }

ParameterizedTest(size_t *k, cuda_ops, float64) {
    const op_case *c = &op_cases[*k];
    require_op_table(c->name);
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    op_case_run(c, &cuda_backend, QDML_FLOAT64);
#endif
}

ParameterizedTestParameters(cuda_ops, float32) { return OP_CASE_PARAMS(); }

ParameterizedTest(size_t *k, cuda_ops, float32) {
    const op_case *c = &op_cases[*k];
    require_op_table(c->name);
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    op_case_run(c, &cuda_backend, QDML_FLOAT32);
#endif
}

/* ==============================================================================================
 * The CUDA backend's own checks
 * ============================================================================================ */

/* A value of QDML_CUDA_GRAPHS other than 0 or 1 is refused at create, with the variable named. */
Test(cuda_ops, graphs_setting_is_checked) {
    require_op_table("graphs setting");
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    d.n[0] = d.n[1] = 1;
    d.n[2] = 16;
    d.length[0] = d.length[1] = 1.0;
    d.length[2] = 4.0;
    d.npoints = 16;
    d.batch = 1;
    d.dv = 0.25;
    d.nthreads = 1;
    d.effort = QDML_FFT_ESTIMATE;
    qdml_backend_state *gs = NULL;
    cr_assert_eq(setenv("QDML_CUDA_GRAPHS", "yes", 1), 0);
    const qdml_status st = qdml_backend_cuda_ops.create(&d, &gs);
    const char *err = qdml_last_error_message();
    cr_assert_eq(st, QDML_ERR_INVALID_ARGUMENT, "create with QDML_CUDA_GRAPHS=yes: %d (%s)", (int)st, err);
    cr_assert(strstr(err, "QDML_CUDA_GRAPHS") && strstr(err, "'yes'"), "message: %s", err);
    cr_assert_eq(setenv("QDML_CUDA_GRAPHS", "1", 1), 0);
    cr_assert_eq(qdml_backend_cuda_ops.create(&d, &gs), QDML_OK, "%s", qdml_last_error_message());
    qdml_backend_cuda_ops.destroy(gs);
#endif
}

/* QDML_CUDA_SYNC=1 makes every op wait for its device work and check it (a fault is then named by
 * the op that caused it); other values than 0 and 1 are refused at create, with the variable named.
 * With the switch on, ops give the same states as without it. */
Test(cuda_ops, sync_setting_is_checked_and_changes_no_result) {
    require_op_table("sync setting");
#ifdef QDML_TEST_HAVE_CUDA_BACKEND
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    d.n[0] = 1;
    d.n[1] = 8;
    d.n[2] = 16;
    d.length[0] = 1.0;
    d.length[1] = 2.0;
    d.length[2] = 4.0;
    d.npoints = 128;
    d.batch = 2;
    d.dv = 1.0 / 16.0;
    d.nthreads = 1;
    d.effort = QDML_FFT_ESTIMATE;
    qdml_backend_state *gs = NULL;
    cr_assert_eq(setenv("QDML_CUDA_SYNC", "always", 1), 0);
    const qdml_status st = qdml_backend_cuda_ops.create(&d, &gs);
    const char *err = qdml_last_error_message();
    cr_assert_eq(st, QDML_ERR_INVALID_ARGUMENT, "create with QDML_CUDA_SYNC=always: %d (%s)", (int)st, err);
    cr_assert(strstr(err, "QDML_CUDA_SYNC") && strstr(err, "'always'"), "message: %s", err);
    qdml_backend_state *st2[2] = {NULL, NULL};
    static const char *const values[2] = {"0", "1"};
    double psi[2][256], out[2][256], norms[2][2];
    qt_rng rng;
    qt_rng_seed(&rng, 77);
    for (int i = 0; i < 256; ++i)
        psi[0][i] = psi[1][i] = qt_uniform(&rng) - 0.5;
    qdml_step_params p;
    memset(&p, 0, sizeof p);
    p.imaginary = 1;
    p.dt = 0.05;
    p.hbar = p.mass = 1.0;
    double v[128];
    for (int i = 0; i < 128; ++i)
        v[i] = qt_uniform(&rng);
    for (int k = 0; k < 2; ++k) {
        cr_assert_eq(setenv("QDML_CUDA_SYNC", values[k], 1), 0);
        cr_assert_eq(qdml_backend_cuda_ops.create(&d, &st2[k]), QDML_OK, "%s", qdml_last_error_message());
        const qdml_backend_ops *o = &qdml_backend_cuda_ops;
        for (int64_t b = 0; b < 2; ++b) {
            cr_assert_eq(o->set_potential(st2[k], b, v), QDML_OK);
            cr_assert_eq(o->set_state(st2[k], b, psi[k]), QDML_OK);
            cr_assert_eq(o->set_step(st2[k], b, &p), QDML_OK);
        }
        const double ones[2] = {1.0, 1.0};
        cr_assert_eq(o->kick(st2[k], 0, NULL, norms[k]), QDML_OK, "%s", qdml_last_error_message());
        cr_assert_eq(o->fft(st2[k], 1), QDML_OK);
        cr_assert_eq(o->kinetic(st2[k], ones, NULL), QDML_OK);
        cr_assert_eq(o->fft(st2[k], 0), QDML_OK);
        cr_assert_eq(o->get_state(st2[k], 1, out[k]), QDML_OK, "%s", qdml_last_error_message());
    }
    unsetenv("QDML_CUDA_SYNC");
    cr_assert_eq(memcmp(out[0], out[1], sizeof out[0]), 0, "QDML_CUDA_SYNC=1 changed a state");
    cr_assert_eq(memcmp(norms[0], norms[1], sizeof norms[0]), 0, "QDML_CUDA_SYNC=1 changed a norm");
    for (int k = 0; k < 2; ++k)
        qdml_backend_cuda_ops.destroy(st2[k]);
#endif
}

/* ==============================================================================================
 * The CUDA backend in the build, no device needed (suite cuda_build: its own ctest entry)
 * ============================================================================================ */

#define NOT_BUILT "the CUDA backend is not part of this test build (QDML_TEST_HAVE_CUDA_BACKEND undefined)"

/* cuBLAS is loaded on first use (the lowest-states search), not linked: the loader must find the
 * library and every function it needs. Needs no device. */
Test(cuda_build, cublas_is_loaded_on_first_use) {
#ifndef QDML_TEST_HAVE_CUDA_BACKEND
    cr_skip_test("%s", NOT_BUILT);
#else
    cr_assert_eq(qdml_cuda_blas_load(), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(qdml_cuda_blas_load(), QDML_OK, "a second call gives the first outcome");
#endif
}

#ifdef QDML_TEST_HAVE_CUDA_BACKEND
/* A 64 x 96 grid, batch 5: what bytes_needed and create are asked about below. */
static qdml_backend_desc small_desc(void) {
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    d.n[0] = 1;
    d.n[1] = 64;
    d.n[2] = 96;
    d.lo[1] = d.lo[2] = -1.0;
    d.length[0] = 1.0;
    d.length[1] = d.length[2] = 2.0;
    d.npoints = 64 * 96;
    d.batch = 5;
    d.dv = 1.0;
    d.nthreads = 1;
    d.effort = QDML_FFT_ESTIMATE;
    return d;
}
#endif

/* The device memory a problem needs is known without a device (and the same with one). */
Test(cuda_build, bytes_needed_by_precision_without_a_device) {
#ifndef QDML_TEST_HAVE_CUDA_BACKEND
    cr_skip_test("%s", NOT_BUILT);
#else
    qdml_backend_desc d = small_desc();
    size_t b64 = 0, b32 = 0;
    d.precision = QDML_FLOAT64;
    cr_assert_eq(qdml_backend_cuda_ops.bytes_needed(&d, &b64), QDML_OK);
    d.precision = QDML_FLOAT32;
    cr_assert_eq(qdml_backend_cuda_ops.bytes_needed(&d, &b32), QDML_OK);
    const size_t total = (size_t)(d.npoints * d.batch);
    /* float64: 5 complex buffers + V + the estimated cuFFT work area (one complex buffer) = 104 bytes
     * per point; float32 half of it: 52. The tables and scratch are small. */
    cr_assert(b64 >= 104 * total && b64 < 104 * total + (1u << 20), "float64 bytes %zu for %zu points", b64, total);
    cr_assert(b32 >= 52 * total && b32 < 52 * total + (1u << 20), "float32 bytes %zu for %zu points", b32, total);
    cr_assert(b64 - b32 >= 52 * total, "float64 %zu - float32 %zu < 52 x %zu", b64, b32, total);
    d.precision = (qdml_precision)7;
    cr_assert_eq(qdml_backend_cuda_ops.bytes_needed(&d, &b32), QDML_ERR_INVALID_ARGUMENT);
#endif
}

/* Without a device, create refuses with the reason. Where a device is present this case has
 * nothing to test and says so (skipped; the device cases cover create there). */
Test(cuda_build, create_refuses_without_a_device) {
#ifndef QDML_TEST_HAVE_CUDA_BACKEND
    cr_skip_test("%s", NOT_BUILT);
#else
    if (qdml_backend_available(QDML_BACKEND_CUDA))
        cr_skip_test("%s", "a CUDA device is present: create succeeds (the cuda_ops cases run there)");
    qdml_backend_desc d = small_desc();
    d.precision = QDML_FLOAT32;
    qdml_backend_state *s = NULL;
    cr_assert_eq(qdml_backend_cuda_ops.create(&d, &s), QDML_ERR_UNAVAILABLE);
    cr_assert_null(s);
    cr_assert(strstr(qdml_last_error_message(), "no CUDA device") != NULL, "create without a device: \"%s\"",
              qdml_last_error_message());
#endif
}
