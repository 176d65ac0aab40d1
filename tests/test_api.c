/* The API contract of qdml.h: every bad input returns the documented status and leaves a message
 * that names the argument (and the value or index where one exists); handles, versions, status
 * strings; monitoring callbacks and history; divergence keeps the last good state.
 *
 * Backends: the behaviour every backend must show runs on the one QDML_TEST_BACKEND selects (qt_context);
 * context creation names the backends it is about (both outcomes, with and without a CUDA device); the
 * host-memory check is the CPU backend's (qt_cpu_context).
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* Does msg contain one of the '|'-separated alternatives? */
static int msg_has(const char *msg, const char *alts) {
    if (!msg) return 0;
    char buf[256];
    const char *a = alts;
    while (*a) {
        size_t len = strcspn(a, "|");
        if (len >= sizeof buf) len = sizeof buf - 1;
        memcpy(buf, a, len);
        buf[len] = '\0';
        if (len && strstr(msg, buf)) return 1;
        a += len;
        if (*a == '|') ++a;
    }
    return 0;
}

/* Does msg contain the decimal number v as a whole token (not part of a longer number)? */
static int msg_has_number(const char *msg, long long v) {
    char num[32];
    snprintf(num, sizeof num, "%lld", v);
    size_t len = strlen(num);
    for (const char *s = msg; (s = strstr(s, num)) != NULL; ++s) {
        int before = s > msg && (isdigit((unsigned char)s[-1]) || s[-1] == '.' || s[-1] == '-');
        int after = isdigit((unsigned char)s[len]) || (s[len] == '.' && isdigit((unsigned char)s[len + 1]));
        if (!before && !after) return 1;
    }
    return 0;
}

#define EXPECT_STATUS(call, want, ctx, alts)                                                                          \
    do {                                                                                                              \
        qdml_status st_ = (call);                                                                                     \
        const char *m_ = (ctx) ? qdml_context_last_error(ctx) : qdml_last_error_message();                           \
        cr_assert_eq(st_, (want), "%s returned %d (%s), expected %d; message: \"%s\"", #call, (int)st_,               \
                     qdml_status_string(st_), (int)(want), m_);                                                       \
        cr_assert(msg_has(m_, alts), "%s: message \"%s\" does not name %s", #call, m_, alts);                        \
    } while (0)

static qdml_grid grid1(int64_t n) {
    const double lo = -4.0, hi = 4.0;
    return qt_grid(1, &n, &lo, &hi);
}

/* ---------------------------------------------------------------------------------------------- */

Test(api, version_functions_agree_with_macros) {
    cr_assert_str_eq(qdml_version_string(), QDML_VERSION_STRING, "run-time %s, header %s", qdml_version_string(),
                     QDML_VERSION_STRING);
    cr_assert_eq(qdml_version_number(), QDML_VERSION_NUMBER, "run-time %d, header %d", qdml_version_number(),
                 QDML_VERSION_NUMBER);
    char buf[64];
    snprintf(buf, sizeof buf, "%d.%d.%d", QDML_VERSION_MAJOR, QDML_VERSION_MINOR, QDML_VERSION_PATCH);
    cr_assert_str_eq(QDML_VERSION_STRING, buf, "version string %s vs parts %s", QDML_VERSION_STRING, buf);
    cr_assert_eq(QDML_VERSION_NUMBER, QDML_VERSION_MAJOR * 10000 + QDML_VERSION_MINOR * 100 + QDML_VERSION_PATCH);
}

Test(api, status_strings_non_null_distinct_and_named) {
    static const char *names[] = {"QDML_OK",
                                  "QDML_ERR_INVALID_ARGUMENT",
                                  "QDML_ERR_OUT_OF_MEMORY",
                                  "QDML_ERR_OVERFLOW",
                                  "QDML_ERR_BACKEND",
                                  "QDML_ERR_UNAVAILABLE",
                                  "QDML_ERR_DIVERGED",
                                  "QDML_ERR_NOT_READY",
                                  "QDML_ERR_INTERNAL",
                                  "QDML_ERR_IO"};
    const int n = (int)(sizeof names / sizeof names[0]);
    for (int i = 0; i < n; ++i) {
        const char *s = qdml_status_string((qdml_status)i);
        cr_assert_not_null(s, "status %d has a NULL string", i);
        cr_assert(strstr(s, names[i]) != NULL, "status %d: \"%s\" does not contain %s", i, s, names[i]);
        for (int j = 0; j < i; ++j)
            cr_assert_str_neq(s, qdml_status_string((qdml_status)j), "statuses %d and %d share \"%s\"", i, j, s);
    }
    cr_assert_not_null(qdml_status_string((qdml_status)99), "unknown status gives NULL");
    cr_assert_not_null(qdml_status_string((qdml_status)-1), "unknown status gives NULL");
}

Test(api, backend_names_and_context_creation) {
    cr_assert_str_eq(qdml_backend_name(QDML_BACKEND_CPU), "cpu");
    cr_assert_str_eq(qdml_backend_name(QDML_BACKEND_CUDA), "cuda");
    cr_assert_str_eq(qdml_backend_name(QDML_BACKEND_AUTO), "auto");
    cr_assert_null(qdml_backend_name((qdml_backend)42));
    cr_assert(qdml_backend_available(QDML_BACKEND_CPU), "the CPU backend must always be available");
    /* Why a backend is not usable: "" and 0 where it is; a reason naming the build, the driver or the
     * device where it is not. */
    char why[512] = "x";
    cr_assert_eq(qdml_backend_unavailable_reason(QDML_BACKEND_CPU, why, sizeof why), 0);
    cr_assert_str_eq(why, "");
    cr_assert_eq(qdml_backend_unavailable_reason((qdml_backend)42, why, sizeof why), -1);
    cr_assert_eq(qdml_backend_unavailable_reason(QDML_BACKEND_CUDA, NULL, 8), -1);
    const int r = qdml_backend_unavailable_reason(QDML_BACKEND_CUDA, why, sizeof why);
    cr_assert_eq(r, qdml_backend_available(QDML_BACKEND_CUDA) ? 0 : 1, "reason %d: '%s'", r, why);
    if (r == 1)
        cr_assert(strstr(why, "not compiled into this build") || strstr(why, "driver") || strstr(why, "no CUDA device"),
                  "the reason names the build, the driver or the device: '%s'", why);
    char tiny[8];
    if (r == 1) {
        cr_assert_eq(qdml_backend_unavailable_reason(QDML_BACKEND_CUDA, tiny, sizeof tiny), 1);
        cr_assert_eq(strlen(tiny), sizeof tiny - 1, "truncated to the buffer: '%s'", tiny);
    }

    EXPECT_STATUS(qdml_context_create(NULL, QDML_BACKEND_CPU, 1), QDML_ERR_INVALID_ARGUMENT, NULL, "out");
    qdml_context *ctx = (qdml_context *)&ctx; /* non-NULL garbage: must be reset to NULL on failure */
    EXPECT_STATUS(qdml_context_create(&ctx, (qdml_backend)7, 1), QDML_ERR_INVALID_ARGUMENT, NULL, "backend");
    cr_assert_null(ctx, "*out not NULL after a failed create");
    if (!qdml_backend_available(QDML_BACKEND_CUDA)) {
        ctx = (qdml_context *)&ctx;
        qdml_status st = qdml_context_create(&ctx, QDML_BACKEND_CUDA, 1);
        cr_assert_eq(st, QDML_ERR_UNAVAILABLE, "CUDA without a device: status %d", (int)st);
        cr_assert_null(ctx);
        cr_assert(strlen(qdml_last_error_message()) > 0, "no message for the unavailable backend");
        cr_assert_eq(qdml_context_create(&ctx, QDML_BACKEND_AUTO, 1), QDML_OK);
        cr_assert_eq(qdml_context_backend(ctx), QDML_BACKEND_CPU, "AUTO without CUDA must resolve to CPU");
        qdml_context_destroy(ctx);
    } else {
        /* With a device both outcomes turn: CUDA is created, and AUTO resolves to it. */
        cr_assert_eq(qdml_context_create(&ctx, QDML_BACKEND_CUDA, 1), QDML_OK, "%s", qdml_last_error_message());
        cr_assert_eq(qdml_context_backend(ctx), QDML_BACKEND_CUDA);
        qdml_context_destroy(ctx);
        cr_assert_eq(qdml_context_create(&ctx, QDML_BACKEND_AUTO, 1), QDML_OK);
        cr_assert_eq(qdml_context_backend(ctx), QDML_BACKEND_CUDA, "AUTO with a CUDA device must resolve to CUDA");
        qdml_context_destroy(ctx);
    }
    cr_assert_eq(qdml_context_create(&ctx, QDML_BACKEND_CPU, 3), QDML_OK);
    cr_assert_eq(qdml_context_threads(ctx), 3, "threads %d, asked 3", qdml_context_threads(ctx));
    cr_assert_eq(qdml_context_backend(ctx), QDML_BACKEND_CPU);
    EXPECT_STATUS(qdml_context_set_fft_effort(ctx, (qdml_fft_effort)9), QDML_ERR_INVALID_ARGUMENT, ctx, "effort");
    cr_assert_eq(qdml_context_set_fft_effort(NULL, QDML_FFT_ESTIMATE), QDML_ERR_INVALID_ARGUMENT);
    qdml_context_destroy(ctx);
    cr_assert_eq(qdml_context_create(&ctx, QDML_BACKEND_CPU, 0), QDML_OK);
    cr_assert_geq(qdml_context_threads(ctx), 1, "nthreads <= 0 gave %d threads", qdml_context_threads(ctx));
    qdml_context_destroy(ctx);
    /* destroy accepts NULL */
    qdml_context_destroy(NULL);
    qdml_problem_destroy(NULL);
}

Test(api, grid_validation) {
    qdml_grid g;
    int64_t n[3] = {8, 8, 8};
    double lo[3] = {-1.0, -1.0, -1.0}, hi[3] = {1.0, 2.0, 3.0};
    EXPECT_STATUS(qdml_grid_init(&g, 0, n, lo, hi), QDML_ERR_INVALID_ARGUMENT, NULL, "dim");
    EXPECT_STATUS(qdml_grid_init(&g, 4, n, lo, hi), QDML_ERR_INVALID_ARGUMENT, NULL, "dim");
    EXPECT_STATUS(qdml_grid_init(&g, -1, n, lo, hi), QDML_ERR_INVALID_ARGUMENT, NULL, "dim");
    EXPECT_STATUS(qdml_grid_init(NULL, 1, n, lo, hi), QDML_ERR_INVALID_ARGUMENT, NULL, "grid");
    EXPECT_STATUS(qdml_grid_init(&g, 1, NULL, lo, hi), QDML_ERR_INVALID_ARGUMENT, NULL, "n");
    EXPECT_STATUS(qdml_grid_init(&g, 1, n, NULL, hi), QDML_ERR_INVALID_ARGUMENT, NULL, "lo");
    EXPECT_STATUS(qdml_grid_init(&g, 1, n, lo, NULL), QDML_ERR_INVALID_ARGUMENT, NULL, "hi");
    n[1] = 0;
    EXPECT_STATUS(qdml_grid_init(&g, 3, n, lo, hi), QDML_ERR_INVALID_ARGUMENT, NULL, "n[1]|axis 1");
    n[1] = -5;
    EXPECT_STATUS(qdml_grid_init(&g, 3, n, lo, hi), QDML_ERR_INVALID_ARGUMENT, NULL, "-5");
    n[1] = 8;
    hi[2] = lo[2];
    EXPECT_STATUS(qdml_grid_init(&g, 3, n, lo, hi), QDML_ERR_INVALID_ARGUMENT, NULL, "lo|hi");
    cr_assert(msg_has(qdml_last_error_message(), "axis 2|[2]"), "message \"%s\" does not name axis 2",
              qdml_last_error_message());
    hi[2] = -3.0;
    EXPECT_STATUS(qdml_grid_init(&g, 3, n, lo, hi), QDML_ERR_INVALID_ARGUMENT, NULL, "lo|hi");
    hi[2] = 3.0;
    lo[0] = NAN;
    EXPECT_STATUS(qdml_grid_init(&g, 3, n, lo, hi), QDML_ERR_INVALID_ARGUMENT, NULL, "nan|NaN|finite");
    lo[0] = -1.0;
    hi[1] = INFINITY;
    EXPECT_STATUS(qdml_grid_init(&g, 3, n, lo, hi), QDML_ERR_INVALID_ARGUMENT, NULL, "inf|finite");
    hi[1] = 2.0;
    cr_assert_eq(qdml_grid_init(&g, 3, n, lo, hi), QDML_OK);
    cr_assert_eq(qdml_grid_points(&g), 512);
    cr_assert_float_eq(qdml_grid_spacing(&g, 1), 3.0 / 8.0, 1e-15);
    cr_assert_float_eq(qdml_grid_dv(&g), (2.0 / 8) * (3.0 / 8) * (4.0 / 8), 1e-15);
    cr_assert_eq(qdml_grid_validate(&g), QDML_OK);
    cr_assert_eq(qdml_grid_validate(NULL), QDML_ERR_INVALID_ARGUMENT);
    qdml_grid bad = g;
    bad.n[2] = 0;
    EXPECT_STATUS(qdml_grid_validate(&bad), QDML_ERR_INVALID_ARGUMENT, NULL, "n[2]|axis 2");
    cr_assert_eq(qdml_grid_points(&bad), 0, "points of an invalid grid must be 0");
    /* 2^40 points per axis on 3 axes: 2^120 points. */
    const int64_t big = (int64_t)1 << 40;
    qdml_grid huge = g;
    huge.n[0] = huge.n[1] = huge.n[2] = big;
    cr_assert_eq(qdml_grid_points(&huge), 0, "overflowing point count must give 0");
    int64_t nb[3] = {big, big, big};
    qdml_status st = qdml_grid_init(&g, 3, nb, lo, hi);
    cr_assert(st == QDML_ERR_OVERFLOW || st == QDML_ERR_INVALID_ARGUMENT, "grid_init of 2^120 points: status %d",
              (int)st);
}

Test(api, problem_create_errors_and_overflow) {
    qdml_context *ctx = qt_context();
    qdml_grid g = grid1(32);
    qdml_problem *p = NULL;
    cr_assert_eq(qdml_problem_create(NULL, &g, 1, &p), QDML_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(qdml_problem_create(ctx, NULL, 1, &p), QDML_ERR_INVALID_ARGUMENT, ctx, "grid");
    EXPECT_STATUS(qdml_problem_create(ctx, &g, 1, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "out");
    EXPECT_STATUS(qdml_problem_create(ctx, &g, 0, &p), QDML_ERR_INVALID_ARGUMENT, ctx, "batch");
    EXPECT_STATUS(qdml_problem_create(ctx, &g, -3, &p), QDML_ERR_INVALID_ARGUMENT, ctx, "batch");
    qdml_grid bad = g;
    bad.dim = 4;
    EXPECT_STATUS(qdml_problem_create(ctx, &bad, 1, &p), QDML_ERR_INVALID_ARGUMENT, ctx, "dim");
    bad = g;
    bad.lo[0] = NAN;
    EXPECT_STATUS(qdml_problem_create(ctx, &bad, 1, &p), QDML_ERR_INVALID_ARGUMENT, ctx, "nan|NaN|finite");
    /* Overflow must be detected before any allocation: the point count 2^120, points x batch
     * (2^10 x 2^54), and points x batch x 16 bytes (2^20 x 2^40 x 2^4 = 2^64). */
    const int64_t big = (int64_t)1 << 40;
    qdml_grid huge = {.dim = 3, .n = {big, big, big}, .lo = {0, 0, 0}, .hi = {1, 1, 1}};
    EXPECT_STATUS(qdml_problem_create(ctx, &huge, 1, &p), QDML_ERR_OVERFLOW, ctx, "overflow|exceed");
    qdml_grid g1k = grid1(1024);
    EXPECT_STATUS(qdml_problem_create(ctx, &g1k, (int64_t)1 << 54, &p), QDML_ERR_OVERFLOW, ctx, "overflow|exceed");
    qdml_grid gm = grid1((int64_t)1 << 20);
    EXPECT_STATUS(qdml_problem_create(ctx, &gm, (int64_t)1 << 40, &p), QDML_ERR_OVERFLOW, ctx, "overflow|exceed");
    EXPECT_STATUS(qdml_problem_create(ctx, &gm, INT64_MAX, &p), QDML_ERR_OVERFLOW, ctx, "overflow|exceed");
    /* A good one, and its sizes. */
    cr_assert_eq(qdml_problem_create(ctx, &g, 3, &p), QDML_OK, "%s", qdml_context_last_error(ctx));
    cr_assert_eq(qdml_problem_batch(p), 3);
    cr_assert_eq(qdml_problem_points(p), 32);
    cr_assert_eq(qdml_problem_grid(p)->n[0], 32);
    /* Defaults: hbar = mass = 1, uniform normalised state. */
    double h = 0, m = 0;
    cr_assert_eq(qdml_problem_get_hbar(p, 2, &h), QDML_OK);
    cr_assert_eq(qdml_problem_get_mass(p, 2, &m), QDML_OK);
    cr_assert(h == 1.0 && m == 1.0, "default hbar %g mass %g", h, m);
    double *psi = qt_get_state(p, 1);
    double norm = qt_norm(psi, 32, qdml_grid_dv(&g));
    cr_assert_float_eq(norm, 1.0, 1e-14, "default state norm %.17g", norm);
    cr_assert_float_eq(psi[10], 1.0 / sqrt(8.0), 1e-15, "default state is not uniform: psi_5 = %.17g", psi[10]);
    free(psi);
    /* Statistics need <V>: before a potential is set they are NOT_READY (the header's example). */
    qdml_stats s;
    EXPECT_STATUS(qdml_problem_stats(p, 1, &s), QDML_ERR_NOT_READY, ctx, "potential");
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(api, potential_validation) {
    qdml_context *ctx = qt_context();
    qdml_grid g = grid1(64);
    qdml_problem *p = qt_problem(ctx, &g, 3);
    double v[64];
    for (int i = 0; i < 64; ++i) v[i] = 0.1 * i;
    EXPECT_STATUS(qdml_problem_set_potential(p, 0, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "values");
    EXPECT_STATUS(qdml_problem_set_potential(p, 3, v), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    EXPECT_STATUS(qdml_problem_set_potential(p, -2, v), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    cr_assert_eq(qdml_problem_set_potential(NULL, 0, v), QDML_ERR_INVALID_ARGUMENT);
    v[17] = NAN;
    v[40] = NAN;
    EXPECT_STATUS(qdml_problem_set_potential(p, 1, v), QDML_ERR_INVALID_ARGUMENT, ctx, "17");
    cr_assert(msg_has_number(qdml_context_last_error(ctx), 17), "message \"%s\" does not give index 17",
              qdml_context_last_error(ctx));
    v[17] = 1.7;
    v[5] = INFINITY;
    EXPECT_STATUS(qdml_problem_set_potential(p, QDML_ALL_MEMBERS, v), QDML_ERR_INVALID_ARGUMENT, ctx, "5");
    cr_assert(msg_has_number(qdml_context_last_error(ctx), 5), "message \"%s\" does not give the first bad index 5",
              qdml_context_last_error(ctx));
    v[5] = -INFINITY;
    v[40] = 4.0;
    EXPECT_STATUS(qdml_problem_set_potential(p, 2, v), QDML_ERR_INVALID_ARGUMENT, ctx, "5");
    v[5] = 0.5;
    cr_assert_eq(qdml_problem_set_potential(p, 2, v), QDML_OK);
    double got[64];
    cr_assert_eq(qdml_problem_get_potential(p, 2, got), QDML_OK);
    cr_assert(memcmp(got, v, sizeof v) == 0, "potential not copied in exactly");
    EXPECT_STATUS(qdml_problem_get_potential(p, 3, got), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    EXPECT_STATUS(qdml_problem_get_potential(p, 2, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "values|NULL");
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(api, hbar_and_mass_validation) {
    qdml_context *ctx = qt_context();
    qdml_grid g = grid1(16);
    qdml_problem *p = qt_problem(ctx, &g, 2);
    const double bad[] = {0.0, -1.0, -0.0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        EXPECT_STATUS(qdml_problem_set_hbar(p, 0, bad[i]), QDML_ERR_INVALID_ARGUMENT, ctx, "hbar");
        EXPECT_STATUS(qdml_problem_set_mass(p, QDML_ALL_MEMBERS, bad[i]), QDML_ERR_INVALID_ARGUMENT, ctx, "mass");
    }
    double h, m;
    cr_assert_eq(qdml_problem_get_hbar(p, 0, &h), QDML_OK);
    cr_assert_eq(qdml_problem_get_mass(p, 1, &m), QDML_OK);
    cr_assert(h == 1.0 && m == 1.0, "a rejected value was stored: hbar %g mass %g", h, m);
    EXPECT_STATUS(qdml_problem_set_hbar(p, 2, 0.5), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    EXPECT_STATUS(qdml_problem_set_mass(p, -7, 0.5), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    EXPECT_STATUS(qdml_problem_get_hbar(p, 2, &h), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    EXPECT_STATUS(qdml_problem_get_mass(p, 0, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "NULL|mass");
    cr_assert_eq(qdml_problem_set_hbar(NULL, 0, 1.0), QDML_ERR_INVALID_ARGUMENT);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(api, state_validation) {
    qdml_context *ctx = qt_context();
    qdml_grid g = grid1(32);
    qdml_problem *p = qt_problem(ctx, &g, 2);
    double psi[64];
    for (int i = 0; i < 64; ++i) psi[i] = 0.01 * (i + 1);
    EXPECT_STATUS(qdml_problem_set_state(p, 0, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "psi");
    EXPECT_STATUS(qdml_problem_set_state(p, 2, psi), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    /* NaN in the real part of point 13 (double 26): the message gives one of the two indices. */
    psi[26] = NAN;
    EXPECT_STATUS(qdml_problem_set_state(p, 0, psi), QDML_ERR_INVALID_ARGUMENT, ctx, "13|26");
    cr_assert(msg_has_number(qdml_context_last_error(ctx), 13) || msg_has_number(qdml_context_last_error(ctx), 26),
              "message \"%s\" does not give the bad index (point 13 / value 26)", qdml_context_last_error(ctx));
    psi[26] = 0.3;
    psi[9] = -INFINITY; /* imaginary part of point 4 */
    EXPECT_STATUS(qdml_problem_set_state(p, QDML_ALL_MEMBERS, psi), QDML_ERR_INVALID_ARGUMENT, ctx, "4|9");
    cr_assert(msg_has_number(qdml_context_last_error(ctx), 4) || msg_has_number(qdml_context_last_error(ctx), 9),
              "message \"%s\" does not give the bad index (point 4 / value 9)", qdml_context_last_error(ctx));
    psi[9] = 0.1;
    /* A failed set_state leaves the previous (uniform) state. */
    double out[64];
    cr_assert_eq(qdml_problem_get_state(p, 0, out), QDML_OK);
    cr_assert_float_eq(out[0], 1.0 / sqrt(8.0), 1e-15, "state changed by a rejected set_state: %.17g", out[0]);

    const double c = 0.2, w = 0.5, k = 1.0, nanv = NAN, zero = 0.0, neg = -0.5, inf = INFINITY;
    EXPECT_STATUS(qdml_problem_set_state_gaussian(p, 0, NULL, &w, &k), QDML_ERR_INVALID_ARGUMENT, ctx, "center");
    EXPECT_STATUS(qdml_problem_set_state_gaussian(p, 0, &c, NULL, &k), QDML_ERR_INVALID_ARGUMENT, ctx, "width");
    EXPECT_STATUS(qdml_problem_set_state_gaussian(p, 0, &c, &zero, &k), QDML_ERR_INVALID_ARGUMENT, ctx, "width");
    EXPECT_STATUS(qdml_problem_set_state_gaussian(p, 0, &c, &neg, &k), QDML_ERR_INVALID_ARGUMENT, ctx, "width");
    EXPECT_STATUS(qdml_problem_set_state_gaussian(p, 0, &c, &nanv, &k), QDML_ERR_INVALID_ARGUMENT, ctx, "width");
    EXPECT_STATUS(qdml_problem_set_state_gaussian(p, 0, &nanv, &w, &k), QDML_ERR_INVALID_ARGUMENT, ctx, "center");
    EXPECT_STATUS(qdml_problem_set_state_gaussian(p, 0, &c, &w, &inf), QDML_ERR_INVALID_ARGUMENT, ctx, "momentum");
    EXPECT_STATUS(qdml_problem_set_state_gaussian(p, 5, &c, &w, &k), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    cr_assert_eq(qdml_problem_set_state_gaussian(p, 0, &c, &w, NULL), QDML_OK, "momentum = NULL must be accepted");
    EXPECT_STATUS(qdml_problem_set_state_uniform(p, 2), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    EXPECT_STATUS(qdml_problem_get_state(p, 2, out), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    EXPECT_STATUS(qdml_problem_get_state(p, -5, out), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    EXPECT_STATUS(qdml_problem_get_state(p, 0, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "psi|NULL");
    EXPECT_STATUS(qdml_problem_get_density(p, 2, out), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    EXPECT_STATUS(qdml_problem_get_density(p, 0, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "density|NULL");
    qdml_stats s;
    EXPECT_STATUS(qdml_problem_stats(p, 2, &s), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    EXPECT_STATUS(qdml_problem_stats(p, 0, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "NULL|out");
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(api, evolve_and_ground_option_validation) {
    qdml_context *ctx = qt_context();
    qdml_grid g = grid1(32);
    qdml_problem *p = qt_problem(ctx, &g, 2);
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    cr_assert(o.mode == QDML_REAL_TIME && o.steps == 0 && o.monitor_every == 0 && o.renormalize == 1 &&
                  o.potential_only == 0 && o.monitor == NULL && o.monitor_user == NULL,
              "evolve defaults: mode %d steps %lld monitor_every %lld renormalize %d potential_only %d", (int)o.mode,
              (long long)o.steps, (long long)o.monitor_every, o.renormalize, o.potential_only);
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    cr_assert(go.tolerance == 1e-6 && go.max_steps == 200000 && go.monitor_every == 0 && go.dt_initial == 0.0 &&
                  go.dt_min == 0.0 && go.monitor == NULL,
              "ground defaults: tolerance %g max_steps %lld monitor_every %lld dt_initial %g dt_min %g", go.tolerance,
              (long long)go.max_steps, (long long)go.monitor_every, go.dt_initial, go.dt_min);

    /* Not ready: no potential on any member, then on member 0 only. */
    o.dt = 0.01;
    o.steps = 3;
    EXPECT_STATUS(qdml_problem_evolve(p, &o, NULL), QDML_ERR_NOT_READY, ctx, "potential");
    EXPECT_STATUS(qdml_problem_ground(p, &go, NULL), QDML_ERR_NOT_READY, ctx, "potential");
    double v[32];
    for (int i = 0; i < 32; ++i) v[i] = 0.05 * i;
    cr_assert_eq(qdml_problem_set_potential(p, 0, v), QDML_OK);
    EXPECT_STATUS(qdml_problem_evolve(p, &o, NULL), QDML_ERR_NOT_READY, ctx, "potential");
    cr_assert(msg_has_number(qdml_context_last_error(ctx), 1), "message \"%s\" does not name member 1",
              qdml_context_last_error(ctx));
    cr_assert_eq(qdml_problem_set_potential(p, 1, v), QDML_OK);

    /* Evolve options. dt has no default: the default options must be rejected until dt is set. */
    qdml_evolve_options_default(&o);
    o.steps = 1;
    EXPECT_STATUS(qdml_problem_evolve(p, &o, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "dt");
    const double bad_dt[] = {0.0, -0.1, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_dt / sizeof bad_dt[0]; ++i) {
        o.dt = bad_dt[i];
        EXPECT_STATUS(qdml_problem_evolve(p, &o, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "dt");
    }
    o.dt = 0.01;
    o.steps = -1;
    EXPECT_STATUS(qdml_problem_evolve(p, &o, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "steps");
    o.steps = 1;
    o.monitor_every = -1;
    EXPECT_STATUS(qdml_problem_evolve(p, &o, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "monitor_every");
    o.monitor_every = 0;
    o.mode = (qdml_time_mode)5;
    EXPECT_STATUS(qdml_problem_evolve(p, &o, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "mode");
    o.mode = QDML_REAL_TIME;
    EXPECT_STATUS(qdml_problem_evolve(p, NULL, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "options");
    cr_assert_eq(qdml_problem_evolve(NULL, &o, NULL), QDML_ERR_INVALID_ARGUMENT);
    /* Nothing moved after all those rejections. */
    qdml_stats s;
    cr_assert_eq(qdml_problem_stats(p, 0, &s), QDML_OK);
    cr_assert_eq(s.step, 0, "a rejected evolve took %lld steps", (long long)s.step);
    /* steps = 0 is valid and leaves the state alone. */
    o.steps = 0;
    qdml_run_result rr[2];
    cr_assert_eq(qdml_problem_evolve(p, &o, rr), QDML_OK, "%s", qdml_context_last_error(ctx));
    cr_assert_eq(rr[0].steps, 0);
    cr_assert_float_eq(rr[1].final.norm, 1.0, 1e-14);

    /* Ground options. */
    const double bad_tol[] = {0.0, -1e-6, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_tol / sizeof bad_tol[0]; ++i) {
        qdml_ground_options_default(&go);
        go.tolerance = bad_tol[i];
        EXPECT_STATUS(qdml_problem_ground(p, &go, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "tolerance");
    }
    qdml_ground_options_default(&go);
    go.max_steps = 0;
    EXPECT_STATUS(qdml_problem_ground(p, &go, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "max_steps");
    qdml_ground_options_default(&go);
    go.monitor_every = -1;
    EXPECT_STATUS(qdml_problem_ground(p, &go, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "monitor_every");
    qdml_ground_options_default(&go);
    go.dt_initial = -0.1;
    EXPECT_STATUS(qdml_problem_ground(p, &go, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "dt_initial");
    go.dt_initial = NAN;
    EXPECT_STATUS(qdml_problem_ground(p, &go, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "dt_initial");
    qdml_ground_options_default(&go);
    go.dt_min = -1.0;
    EXPECT_STATUS(qdml_problem_ground(p, &go, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "dt_min");
    cr_assert_eq(qdml_problem_ground(NULL, &go, NULL), QDML_ERR_INVALID_ARGUMENT);

    /* History arguments. */
    size_t count;
    EXPECT_STATUS(qdml_problem_history(p, 2, NULL, 0, &count), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    EXPECT_STATUS(qdml_problem_history(p, 0, NULL, 4, &count), QDML_ERR_INVALID_ARGUMENT, ctx, "out|NULL");
    EXPECT_STATUS(qdml_problem_history(p, 0, NULL, 0, NULL), QDML_ERR_INVALID_ARGUMENT, ctx, "count|NULL");
    EXPECT_STATUS(qdml_problem_clear_history(p, 2), QDML_ERR_INVALID_ARGUMENT, ctx, "member");
    cr_assert_eq(qdml_problem_clear_history(p, QDML_ALL_MEMBERS), QDML_OK);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

/* ---------------------------------------------------------------------------------------------- */

typedef struct {
    int64_t stop_at;     /* return nonzero once stats[0].step >= stop_at (0: never) */
    int calls;
    int64_t steps_seen[64];
    int64_t batch_seen;
    int64_t other_steps[64]; /* stats[batch-1].step at each call */
} monitor_log;

static int monitor_cb(const qdml_stats *stats, int64_t batch, void *user) {
    monitor_log *l = user;
    if (l->calls < 64) {
        l->steps_seen[l->calls] = stats[0].step;
        l->other_steps[l->calls] = stats[batch - 1].step;
    }
    l->calls++;
    l->batch_seen = batch;
    return l->stop_at > 0 && stats[0].step >= l->stop_at;
}

static double gauss_bump(const double *x, int dim, void *u) {
    (void)dim;
    (void)u;
    return 0.5 * x[0] * x[0] + 0.7 * exp(-(x[0] - 0.4) * (x[0] - 0.4));
}

Test(api, monitor_callback_stops_evolve_at_the_right_step) {
    qdml_context *ctx = qt_context();
    qdml_grid g = grid1(128);
    qdml_problem *p = qt_problem(ctx, &g, 2);
    qt_set_potential_fn(p, QDML_ALL_MEMBERS, gauss_bump, NULL);
    const double c = 0.5, w = 0.6, k = 0.7;
    cr_assert_eq(qdml_problem_set_state_gaussian(p, QDML_ALL_MEMBERS, &c, &w, &k), QDML_OK);
    monitor_log log = {.stop_at = 15};
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.dt = 0.02;
    o.steps = 50;
    o.monitor_every = 5;
    o.monitor = monitor_cb;
    o.monitor_user = &log;
    qdml_run_result r[2];
    cr_assert_eq(qdml_problem_evolve(p, &o, r), QDML_OK, "%s", qdml_context_last_error(ctx));
    cr_assert_eq(log.calls, 3, "callback called %d times, expected 3 (steps 5, 10, 15)", log.calls);
    cr_assert_eq(log.batch_seen, 2, "callback saw batch %lld", (long long)log.batch_seen);
    for (int i = 0; i < 3; ++i) {
        cr_assert_eq(log.steps_seen[i], 5 * (i + 1), "call %d saw step %lld", i, (long long)log.steps_seen[i]);
        cr_assert_eq(log.other_steps[i], 5 * (i + 1), "call %d: member 1 at step %lld", i,
                     (long long)log.other_steps[i]);
    }
    for (int b = 0; b < 2; ++b) {
        cr_assert_eq(r[b].steps, 15, "member %d took %lld steps, expected 15", b, (long long)r[b].steps);
        cr_assert(r[b].stopped_by_callback, "member %d: stopped_by_callback not set", b);
        cr_assert(!r[b].diverged && !r[b].converged, "member %d: diverged %d converged %d", b, r[b].diverged,
                  r[b].converged);
        cr_assert_eq(r[b].final.step, 15, "member %d: final.step %lld", b, (long long)r[b].final.step);
        cr_assert_float_eq(r[b].final.time, 0.3, 1e-14, "member %d: final.time %.17g", b, r[b].final.time);
    }
    /* The stopped state is the state after exactly 15 steps (a fresh run without monitoring; the
     * fusion of half-kicks differs, so rounding only: 1e-13). */
    double *stopped = qt_get_state(p, 0);
    cr_assert_eq(qdml_problem_set_state_gaussian(p, 0, &c, &w, &k), QDML_OK);
    qdml_evolve_options o2;
    qdml_evolve_options_default(&o2);
    o2.dt = 0.02;
    o2.steps = 15;
    cr_assert_eq(qdml_problem_evolve(p, &o2, NULL), QDML_OK);
    double *fresh = qt_get_state(p, 0);
    double d = qt_max_abs_diff(stopped, fresh, 128);
    cr_assert_leq(d, 1e-13, "stopped state differs from 15 plain steps by %.3g", d);
    free(stopped);
    free(fresh);

    /* The callback also stops ground: stop at the second call. */
    monitor_log gl = {0};
    gl.stop_at = 1; /* first call where step >= 1, i.e. the first call */
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.monitor_every = 7;
    go.monitor = monitor_cb;
    go.monitor_user = &gl;
    go.tolerance = 1e-12;
    cr_assert_eq(qdml_problem_set_state_uniform(p, QDML_ALL_MEMBERS), QDML_OK);
    cr_assert_eq(qdml_problem_ground(p, &go, r), QDML_OK, "%s", qdml_context_last_error(ctx));
    cr_assert_eq(gl.calls, 1, "ground callback called %d times after asking to stop at the first", gl.calls);
    cr_assert_eq(gl.steps_seen[0], 7, "first ground monitoring point at step %lld, expected 7",
                 (long long)gl.steps_seen[0]);
    for (int b = 0; b < 2; ++b) {
        cr_assert(r[b].stopped_by_callback && !r[b].converged, "ground member %d: stopped %d converged %d", b,
                  r[b].stopped_by_callback, r[b].converged);
        cr_assert_eq(r[b].steps, 7, "ground member %d took %lld steps", b, (long long)r[b].steps);
    }
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(api, history_records_one_entry_per_monitoring_point) {
    qdml_context *ctx = qt_context();
    qdml_grid g = grid1(64);
    qdml_problem *p = qt_problem(ctx, &g, 1);
    qt_set_potential_fn(p, 0, gauss_bump, NULL);
    const double c = -0.3, w = 0.7;
    cr_assert_eq(qdml_problem_set_state_gaussian(p, 0, &c, &w, NULL), QDML_OK);
    size_t count = 99;
    cr_assert_eq(qdml_problem_history(p, 0, NULL, 0, &count), QDML_OK);
    cr_assert_eq(count, 0, "fresh state has %zu history entries", count);

    monitor_log log = {0};
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.dt = 0.05;
    o.steps = 22;
    o.monitor_every = 5;
    o.monitor = monitor_cb;
    o.monitor_user = &log;
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK);
    qdml_stats h[16];
    cr_assert_eq(qdml_problem_history(p, 0, h, 16, &count), QDML_OK);
    const int64_t expect[] = {5, 10, 15, 20, 22};
    cr_assert_eq(count, 5, "22 steps monitored every 5: %zu entries, expected 5 (5, 10, 15, 20, end 22)", count);
    cr_assert_eq(log.calls, 5, "callback called %d times, expected 5", log.calls);
    for (int i = 0; i < 5; ++i) {
        cr_assert_eq(h[i].step, expect[i], "entry %d at step %lld, expected %lld", i, (long long)h[i].step,
                     (long long)expect[i]);
        cr_assert_eq(log.steps_seen[i], expect[i], "callback %d at step %lld", i, (long long)log.steps_seen[i]);
        cr_assert_float_eq(h[i].time, 0.05 * (double)expect[i], 1e-13, "entry %d: time %.17g", i, h[i].time);
        cr_assert_float_eq(h[i].dt, 0.05, 1e-15, "entry %d: dt %.17g", i, h[i].dt);
        cr_assert(isfinite(h[i].energy) && h[i].norm > 0.0, "entry %d: energy %g norm %g", i, h[i].energy, h[i].norm);
    }
    /* A second run appends; steps count since the state was set. monitor_every = 0: end only. */
    o.steps = 10;
    o.monitor_every = 0;
    o.monitor = NULL;
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK);
    cr_assert_eq(qdml_problem_history(p, 0, h, 16, &count), QDML_OK);
    cr_assert_eq(count, 6, "after a second run of 10 steps (end only): %zu entries, expected 6", count);
    cr_assert_eq(h[5].step, 32, "last entry at step %lld, expected 32", (long long)h[5].step);
    /* Capacity smaller than the count: oldest first, total in count. */
    qdml_stats few[3];
    cr_assert_eq(qdml_problem_history(p, 0, few, 3, &count), QDML_OK);
    cr_assert_eq(count, 6);
    cr_assert(few[0].step == 5 && few[1].step == 10 && few[2].step == 15, "first three entries at %lld %lld %lld",
              (long long)few[0].step, (long long)few[1].step, (long long)few[2].step);
    /* When the end coincides with a monitoring point it is one point, recorded once. */
    cr_assert_eq(qdml_problem_clear_history(p, 0), QDML_OK);
    cr_assert_eq(qdml_problem_history(p, 0, NULL, 0, &count), QDML_OK);
    cr_assert_eq(count, 0, "clear_history left %zu entries", count);
    o.steps = 20;
    o.monitor_every = 5;
    cr_assert_eq(qdml_problem_evolve(p, &o, NULL), QDML_OK);
    cr_assert_eq(qdml_problem_history(p, 0, h, 16, &count), QDML_OK);
    cr_assert_eq(count, 4, "20 steps monitored every 5: %zu entries, expected 4", count);
    for (size_t i = 1; i < count; ++i)
        cr_assert_gt(h[i].step, h[i - 1].step, "entries %zu, %zu at steps %lld, %lld", i - 1, i,
                     (long long)h[i - 1].step, (long long)h[i].step);
    /* Setting a state clears the history and restarts the clock. */
    cr_assert_eq(qdml_problem_set_state_uniform(p, 0), QDML_OK);
    cr_assert_eq(qdml_problem_history(p, 0, NULL, 0, &count), QDML_OK);
    cr_assert_eq(count, 0, "set_state left %zu history entries", count);
    qdml_stats s;
    cr_assert_eq(qdml_problem_stats(p, 0, &s), QDML_OK);
    cr_assert(s.step == 0 && s.time == 0.0, "new state at step %lld time %g", (long long)s.step, s.time);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

static int all_finite(const double *a, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
        if (!isfinite(a[i])) return 0;
    return 1;
}

Test(api, divergence_reports_and_keeps_the_start_state) {
    /* V = -1e300 at one point, imaginary time without renormalisation: the kick e^{+1e300 dt/2}
     * overflows at the first step. No monitoring point came before, so the start state is kept. */
    qdml_context *ctx = qt_context();
    qdml_grid g = grid1(64);
    qdml_problem *p = qt_problem(ctx, &g, 1);
    double v[64];
    for (int i = 0; i < 64; ++i) v[i] = 0.1 * i;
    v[7] = -1e300;
    cr_assert_eq(qdml_problem_set_potential(p, 0, v), QDML_OK, "-1e300 is finite and must be accepted");
    cr_assert_eq(qdml_problem_set_state_uniform(p, 0), QDML_OK);
    double *start = qt_get_state(p, 0);
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = QDML_IMAGINARY_TIME;
    o.renormalize = 0;
    o.dt = 1.0;
    o.steps = 5;
    qdml_run_result r;
    qdml_status st = qdml_problem_evolve(p, &o, &r);
    cr_assert_eq(st, QDML_ERR_DIVERGED, "status %d (%s), expected DIVERGED", (int)st, qdml_status_string(st));
    cr_assert(strlen(qdml_context_last_error(ctx)) > 0, "no message for DIVERGED");
    cr_assert(r.diverged, "results.diverged not set");
    double *after = qt_get_state(p, 0);
    cr_assert(all_finite(after, 128), "state after DIVERGED is not finite");
    double d = qt_max_abs_diff(after, start, 64);
    cr_assert_leq(d, 0.0, "state after DIVERGED is not the start state (max difference %.3g)", d);
    cr_assert(isfinite(r.final.norm) && isfinite(r.final.energy), "final stats not finite: norm %g energy %g",
              r.final.norm, r.final.energy);
    free(start);
    free(after);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(api, divergence_takes_one_member_out_and_the_others_run_on) {
    /* Member 0 has V = -100 at one point: without renormalisation its values grow ~e^{100} per step
     * (dt = 1) until they overflow after a few steps; member 1 is harmless. Monitoring every step,
     * member 0 must come back to its state at the last monitoring point (equal to a fresh run of that
     * many steps: the same operations, 1e-12 relative), while member 1 runs all 40 steps and ends
     * exactly as a run without member 0 does. */
    qdml_context *ctx = qt_context();
    qdml_grid g = grid1(64);
    qdml_problem *p = qt_problem(ctx, &g, 2);
    double v[64], v1[64];
    for (int i = 0; i < 64; ++i) {
        v[i] = 0.1 * i;
        v1[i] = 0.05 * i;
    }
    v[20] = -100.0;
    cr_assert_eq(qdml_problem_set_potential(p, 0, v), QDML_OK);
    cr_assert_eq(qdml_problem_set_potential(p, 1, v1), QDML_OK);
    cr_assert_eq(qdml_problem_set_state_uniform(p, QDML_ALL_MEMBERS), QDML_OK);
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = QDML_IMAGINARY_TIME;
    o.renormalize = 0;
    o.dt = 1.0;
    o.steps = 40;
    o.monitor_every = 1;
    qdml_run_result r[2];
    qdml_status st = qdml_problem_evolve(p, &o, r);
    cr_assert_eq(st, QDML_ERR_DIVERGED, "status %d (%s), expected DIVERGED", (int)st, qdml_status_string(st));
    cr_assert(strstr(qdml_context_last_error(ctx), "member 0") && strstr(qdml_context_last_error(ctx), "ran on"),
              "message: %s", qdml_context_last_error(ctx));
    cr_assert(r[0].diverged && !r[1].diverged, "diverged flags %d %d, expected 1 0", r[0].diverged, r[1].diverged);
    const int64_t kept = r[0].final.step;
    cr_log_info("divergence: member 0 kept the state of step %lld; member 1 ran %lld steps", (long long)kept,
                (long long)r[1].final.step);
    cr_assert(kept >= 1 && kept < 40, "kept step %lld", (long long)kept);
    cr_assert_eq(r[0].steps, kept);
    cr_assert_eq(r[1].final.step, 40, "member 1 ran %lld steps, not 40", (long long)r[1].final.step);
    cr_assert_eq(r[1].steps, 40);
    for (int b = 0; b < 2; ++b) {
        cr_assert(isfinite(r[b].final.norm) && isfinite(r[b].final.energy) && isfinite(r[b].final.residual),
                  "member %d: final stats not finite (norm %g, energy %g)", b, r[b].final.norm, r[b].final.energy);
        qdml_stats s;
        cr_assert_eq(qdml_problem_stats(p, b, &s), QDML_OK);
        cr_assert_eq(s.step, b == 0 ? kept : 40, "member %d: stats.step %lld", b, (long long)s.step);
    }
    double *s0 = qt_get_state(p, 0), *s1 = qt_get_state(p, 1);
    cr_assert(all_finite(s0, 128) && all_finite(s1, 128), "states not finite");

    /* Fresh runs: member 0 for `kept` steps; member 1 (alone, with member 0 harmless) for 40. */
    qdml_problem *q = qt_problem(ctx, &g, 2);
    cr_assert_eq(qdml_problem_set_potential(q, 0, v), QDML_OK);
    cr_assert_eq(qdml_problem_set_potential(q, 1, v1), QDML_OK);
    o.steps = kept;
    cr_assert_eq(qdml_problem_evolve(q, &o, NULL), QDML_OK, "fresh run of %lld steps: %s", (long long)kept,
                 qdml_context_last_error(ctx));
    double *f0 = qt_get_state(q, 0);
    cr_assert_eq(qdml_problem_set_potential(q, 0, v1), QDML_OK);
    cr_assert_eq(qdml_problem_set_state_uniform(q, QDML_ALL_MEMBERS), QDML_OK);
    o.steps = 40;
    cr_assert_eq(qdml_problem_evolve(q, &o, NULL), QDML_OK, "%s", qdml_context_last_error(ctx));
    double *f1 = qt_get_state(q, 1);
    double d0 = qt_max_abs_diff(s0, f0, 64), m0 = qt_max_abs(f0, 64);
    double d1 = qt_max_abs_diff(s1, f1, 64);
    cr_assert_leq(d0, 1e-12 * m0, "member 0: restored state differs from %lld fresh steps by %.3g (max %.3g)",
                  (long long)kept, d0, m0);
    cr_assert_eq(d1, 0.0, "member 1 differs from a run without the diverging member by %.3g", d1);
    free(s0);
    free(s1);
    free(f0);
    free(f1);
    qdml_problem_destroy(q);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

Test(api, ground_divergence_of_one_member_leaves_the_others_converged) {
    /* Three ground-state searches with a first step of 1. Member 1 has V = 1e5 everywhere but at one
     * point, where its state is exactly zero: the first half-step factor exp(-1e5 / 2) underflows to
     * zero everywhere the state lives, so its norm is 0 and it cannot be renormalised. Members 0 and 2
     * (harmonic) must converge as if alone; member 1 is reported diverged and finished, with the
     * statistics of its start state. */
    qdml_context *ctx = qt_context();
    qdml_grid g = grid1(64);
    qdml_problem *p = qt_problem(ctx, &g, 3);
    double v[64], bad[64];
    for (int i = 0; i < 64; ++i) {
        const double x = qt_x(&g, 0, i); /* box [-4, 4): the ground state's tails are ~e^-16 there */
        v[i] = 0.5 * x * x;
        bad[i] = 1e5;
    }
    bad[30] = 0.0;
    cr_assert_eq(qdml_problem_set_potential(p, QDML_ALL_MEMBERS, v), QDML_OK);
    cr_assert_eq(qdml_problem_set_potential(p, 1, bad), QDML_OK);
    const double c = 0.3, w = 0.8;
    cr_assert_eq(qdml_problem_set_state_gaussian(p, QDML_ALL_MEMBERS, &c, &w, NULL), QDML_OK);
    double *psi = qt_get_state(p, 1);
    psi[60] = psi[61] = 0.0;
    cr_assert_eq(qdml_problem_set_state(p, 1, psi), QDML_OK);
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.dt_initial = 1.0;
    qdml_run_result r[3];
    qdml_status st = qdml_problem_ground(p, &go, r);
    cr_assert_eq(st, QDML_ERR_DIVERGED, "status %d: %s", (int)st, qdml_context_last_error(ctx));
    cr_log_info("ground divergence: %s", qdml_context_last_error(ctx));
    cr_assert(strstr(qdml_context_last_error(ctx), "member 1"), "message: %s", qdml_context_last_error(ctx));
    cr_assert(r[1].diverged && r[1].finished && !r[1].converged);
    cr_assert_eq(r[1].steps, 0);
    /* The same search alone. */
    qdml_problem *q = qt_problem(ctx, &g, 1);
    cr_assert_eq(qdml_problem_set_potential(q, 0, v), QDML_OK);
    cr_assert_eq(qdml_problem_set_state_gaussian(q, 0, &c, &w, NULL), QDML_OK);
    qdml_run_result alone;
    cr_assert_eq(qdml_problem_ground(q, &go, &alone), QDML_OK, "%s", qdml_context_last_error(ctx));
    qdml_problem_destroy(q);
    for (int b = 0; b < 3; b += 2) {
        cr_assert(!r[b].diverged && r[b].converged, "member %d: diverged %d converged %d", b, r[b].diverged,
                  r[b].converged);
        /* (a batch of 3 uses other FFT plans than a single member: equal to rounding, not bit for bit) */
        cr_assert_float_eq(r[b].final.energy, alone.final.energy, 1e-13, "member %d: E = %.17g, alone %.17g", b,
                           r[b].final.energy, alone.final.energy);
        cr_assert_eq(r[b].steps, alone.steps);
    }
    cr_assert(isfinite(r[1].final.norm) && isfinite(r[1].final.energy));
    double *after = qt_get_state(p, 1);
    /* To rounding: members out of the run still go through the batched FFT round trips. */
    cr_assert_leq(qt_max_abs_diff(after, psi, 64), 1e-13 * qt_max_abs(psi, 64), "member 1 must keep its start state");
    free(psi);
    free(after);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

/* A problem larger than the host's memory is refused before anything is allocated, with both
 * sizes in the message: 2048^3 points x 88 bytes = 756 GB, far above any test machine. */
Test(api, problem_larger_than_host_memory_is_refused_up_front) {
    qdml_context *ctx = qt_cpu_context(); /* the host-memory check is the CPU backend's */
    const int64_t n[3] = {2048, 2048, 2048};
    const double lo[3] = {-1, -1, -1}, hi[3] = {1, 1, 1};
    qdml_grid g;
    cr_assert_eq(qdml_grid_init(&g, 3, n, lo, hi), QDML_OK);
    size_t need = 0;
    cr_assert_eq(qdml_problem_bytes_needed(ctx, &g, 1, &need), QDML_OK);
    cr_assert_geq(need, (size_t)2048 * 2048 * 2048 * 88, "bytes_needed = %zu", need);
    qdml_problem *p = NULL;
    qdml_status st = qdml_problem_create(ctx, &g, 1, &p);
    cr_assert_eq(st, QDML_ERR_OUT_OF_MEMORY, "status %d: %s", (int)st, qdml_context_last_error(ctx));
    cr_assert_null(p);
    cr_assert_not_null(strstr(qdml_context_last_error(ctx), "available"), "message: %s", qdml_context_last_error(ctx));
    cr_assert_not_null(strstr(qdml_context_last_error(ctx), "bytes"), "message: %s", qdml_context_last_error(ctx));
    qdml_context_destroy(ctx);
}

/* Real time conserves <H>. With omega dt = 5 (Strang's <x> follows velocity Verlet, unstable for
 * omega dt > 2) the energy jumps from ~56 to ~1400 by the first monitoring point: the run must stop
 * as diverged, name the cause, and leave the state at the start. With omega dt = 0.1 it must run. */
Test(api, real_time_energy_runaway_is_divergence) {
    qdml_context *ctx = qt_context();
    const int64_t n = 256;
    const double lo = -8, hi = 8, c0 = 1.0, w = 0.3;
    qdml_grid g;
    cr_assert_eq(qdml_grid_init(&g, 1, &n, &lo, &hi), QDML_OK);
    qdml_problem *p = qt_problem(ctx, &g, 1);
    double v[256], start[512], after[512];
    for (int i = 0; i < 256; ++i) {
        const double x = qt_x(&g, 0, i);
        v[i] = 0.5 * 100.0 * x * x;
    }
    cr_assert_eq(qdml_problem_set_potential(p, 0, v), QDML_OK);
    const double dts[2] = {0.5, 0.01};
    for (int k = 0; k < 2; ++k) {
        cr_assert_eq(qdml_problem_set_state_gaussian(p, 0, &c0, &w, NULL), QDML_OK);
        cr_assert_eq(qdml_problem_get_state(p, 0, start), QDML_OK);
        qdml_evolve_options o;
        qdml_evolve_options_default(&o);
        o.dt = dts[k];
        o.steps = 400;
        o.monitor_every = 20;
        qdml_run_result r;
        qdml_status st = qdml_problem_evolve(p, &o, &r);
        if (k == 0) {
            cr_assert_eq(st, QDML_ERR_DIVERGED, "dt 0.5: status %d (%s)", (int)st, qdml_context_last_error(ctx));
            cr_assert_not_null(strstr(qdml_context_last_error(ctx), "ran away"), "message: %s",
                               qdml_context_last_error(ctx));
            cr_assert(r.diverged);
            cr_assert_eq(qdml_problem_get_state(p, 0, after), QDML_OK);
            cr_assert(memcmp(start, after, sizeof start) == 0, "the state must be restored to the start");
        } else {
            cr_assert_eq(st, QDML_OK, "dt 0.01: status %d (%s)", (int)st, qdml_context_last_error(ctx));
            cr_assert(fabs(r.final.norm - 1.0) < 1e-12, "norm %.17g", r.final.norm);
        }
    }
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

/* qdml_problem_get_state_part: parts of random sizes in order give the member's state bit for bit; ranges
 * outside the member are refused. */
Test(api, state_parts_cover_the_member) {
    qdml_context *ctx = qt_context();
    const int64_t n[2] = {12, 9};
    const double lo[2] = {-3, -2}, hi[2] = {3, 2};
    qdml_grid g;
    cr_assert_eq(qdml_grid_init(&g, 2, n, lo, hi), QDML_OK);
    qdml_problem *p = qt_problem(ctx, &g, 2);
    qt_rng r;
    qt_rng_seed(&r, 77);
    const int64_t N = qdml_grid_points(&g);
    for (int b = 0; b < 2; ++b) {
        double *psi = qt_random_state(&g, &r);
        cr_assert_eq(qdml_problem_set_state(p, b, psi), QDML_OK);
        free(psi);
    }
    double *parts = calloc((size_t)(2 * N), sizeof(double));
    for (int b = 0; b < 2; ++b) {
        double *whole = qt_get_state(p, b);
        int64_t first = 0;
        while (first < N) {
            int64_t k = 1 + (int64_t)(qt_uniform(&r) * 20);
            if (k > N - first) k = N - first;
            cr_assert_eq(qdml_problem_get_state_part(p, b, first, k, parts + 2 * first), QDML_OK, "%s",
                         qdml_context_last_error(ctx));
            first += k;
        }
        cr_assert(memcmp(parts, whole, (size_t)(2 * N) * sizeof(double)) == 0, "member %d: parts differ", b);
        free(whole);
    }
    cr_assert_eq(qdml_problem_get_state_part(p, 0, N - 2, 3, parts), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_not_null(strstr(qdml_context_last_error(ctx), "not within"), "%s", qdml_context_last_error(ctx));
    cr_assert_eq(qdml_problem_get_state_part(p, 0, -1, 3, parts), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_get_state_part(p, 0, 0, 0, parts), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_get_state_part(p, 2, 0, 1, parts), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_get_state_part(p, 0, 0, 1, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_problem_get_state_part(NULL, 0, 0, 1, parts), QDML_ERR_INVALID_ARGUMENT);
    free(parts);
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
}

