/* How everything inside qdml fails: a qdml_status returned, and a message a person can act on,
 * formatted once into the calling thread's slot (what qdml_last_error_message() returns) and, where
 * there is a context, into the context too. Backends, the solver, the file writers and the program
 * all fail this one way. Also the checked size arithmetic every layer needs. Plain C, readable from
 * C++ (the CUDA backend). */
#ifndef QDML_STATUS_H
#define QDML_STATUS_H

#include <qdml/qdml.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define QDML_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define QDML_PRINTF(a, b)
#endif

#define QDML_ERRLEN 1024

#ifdef __cplusplus
extern "C" {
#endif

/* Format a message into the thread's slot and into ctx (when not NULL); return status. */
qdml_status qdml_fail(qdml_context *ctx, qdml_status status, const char *fmt, ...) QDML_PRINTF(3, 4);
/* A callee failed with `status` and left its message in the thread's slot: the message becomes
 * "<fmt...>: <callee's message>" (just "<fmt...>" when the callee left none), in the slot and ctx. */
qdml_status qdml_fail_from(qdml_context *ctx, qdml_status status, const char *fmt, ...) QDML_PRINTF(3, 4);
/* The message a callee left in the thread's slot stored in ctx too (when not NULL); returns status. */
qdml_status qdml_keep_error(qdml_context *ctx, qdml_status status);
/* Clear ctx's message (a successful call on ctx), or with ctx NULL the thread's slot. */
void qdml_clear_error(qdml_context *ctx);
/* Around a step whose failure is not the call's (a best-effort write, an optional optimisation): the
 * thread's message copied into buf (QDML_ERRLEN bytes) before, and put back after. */
void qdml_save_error(char *buf);
void qdml_restore_error(const char *buf);

/* Overflow-checked sizes; return 0 on overflow (or a negative factor). */
int qdml_mul_i64(int64_t a, int64_t b, int64_t *out);
int qdml_mul_size(size_t a, size_t b, size_t *out);
int qdml_add_size(size_t a, size_t b, size_t *out);
/* calloc of count x size that returns NULL on overflow as well as on failure (never for 0 bytes). */
void *qdml_calloc_array(size_t count, size_t size);

#ifdef __cplusplus
}
#endif

#endif
