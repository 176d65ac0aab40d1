/* Statuses and their messages, version queries, and checked sizes (status.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static _Thread_local char tls_error[QDML_ERRLEN];

const char *qdml_version_string(void) { return QDML_VERSION_STRING; }

int qdml_version_number(void) { return QDML_VERSION_NUMBER; }

const char *qdml_status_string(qdml_status status) {
    switch (status) {
    case QDML_OK: return "QDML_OK: success";
    case QDML_ERR_INVALID_ARGUMENT: return "QDML_ERR_INVALID_ARGUMENT: invalid argument";
    case QDML_ERR_OUT_OF_MEMORY: return "QDML_ERR_OUT_OF_MEMORY: out of memory";
    case QDML_ERR_OVERFLOW: return "QDML_ERR_OVERFLOW: size overflows";
    case QDML_ERR_BACKEND: return "QDML_ERR_BACKEND: backend failure";
    case QDML_ERR_UNAVAILABLE: return "QDML_ERR_UNAVAILABLE: backend unavailable";
    case QDML_ERR_DIVERGED: return "QDML_ERR_DIVERGED: run diverged (non-finite values)";
    case QDML_ERR_NOT_READY: return "QDML_ERR_NOT_READY: missing input (set it first)";
    case QDML_ERR_INTERNAL: return "QDML_ERR_INTERNAL: internal error";
    case QDML_ERR_IO: return "QDML_ERR_IO: a file could not be read or written";
    }
    return "QDML_ERR_UNKNOWN: unknown status code";
}

const char *qdml_last_error_message(void) { return tls_error; }

qdml_status qdml_fail(qdml_context *ctx, qdml_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls_error, sizeof tls_error, fmt, ap);
    va_end(ap);
    if (ctx) memcpy(ctx->error, tls_error, sizeof ctx->error);
    return status;
}

qdml_status qdml_fail_from(qdml_context *ctx, qdml_status status, const char *fmt, ...) {
    char why[QDML_ERRLEN]; /* the callee's message: the slot is also the destination */
    memcpy(why, tls_error, sizeof why);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tls_error, sizeof tls_error, fmt, ap);
    va_end(ap);
    if (why[0] && n >= 0 && (size_t)n < sizeof tls_error)
        snprintf(tls_error + n, sizeof tls_error - (size_t)n, ": %s", why);
    if (ctx) memcpy(ctx->error, tls_error, sizeof ctx->error);
    return status;
}

qdml_status qdml_keep_error(qdml_context *ctx, qdml_status status) {
    if (ctx) memcpy(ctx->error, tls_error, sizeof ctx->error);
    return status;
}

void qdml_clear_error(qdml_context *ctx) {
    if (ctx)
        ctx->error[0] = '\0';
    else
        tls_error[0] = '\0';
}

void qdml_save_error(char *buf) { memcpy(buf, tls_error, sizeof tls_error); }

void qdml_restore_error(const char *buf) { memcpy(tls_error, buf, sizeof tls_error); }

int qdml_mul_i64(int64_t a, int64_t b, int64_t *out) {
    if (a < 0 || b < 0) return 0;
    if (a != 0 && b > INT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

int qdml_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

int qdml_add_size(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}

void *qdml_calloc_array(size_t count, size_t size) {
    size_t bytes;
    if (!qdml_mul_size(count, size, &bytes)) return NULL;
    return calloc(bytes ? count : 1, bytes ? size : 1);
}
