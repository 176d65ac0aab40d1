/* The helpers every demo of `qdml demo` shares (demo.h): its context, its failure messages, its
 * files written atomically into the output folder, JSON pieces and seeded random numbers. */
#include "demo.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* dir/name of a file the demo declared (demo.c checked those before the run); NULL, with the message
 * printed, when out of memory or when the demo writes a file it did not declare. */
static char *join_path(const demo_env *env, const char *name) {
    int declared = 0;
    for (int i = 0; env->files && env->files[i]; ++i)
        declared |= strcmp(env->files[i], name) == 0;
    if (!declared) {
        cli_error("demo", "internal error: %s is not among the files this demo declares", name);
        return NULL;
    }
    size_t n = strlen(env->dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", env->dir, name);
    else
        cli_error("demo", "out of memory");
    return p;
}

int demo_context(const demo_env *env, qdml_context **ctx) {
    qdml_status st = qdml_context_create(ctx, env->backend, env->threads);
    if (st != QDML_OK) {
        cli_error("demo", "cannot create a %s context: %s", qdml_backend_name(env->backend), qdml_last_error_message());
        return CLI_RUN_FAILED;
    }
    return CLI_OK;
}

int demo_lib_failed(const char *what, qdml_context *ctx, qdml_status st) {
    cli_error("demo", "%s failed: %s", what, ctx ? qdml_context_last_error(ctx) : qdml_status_string(st));
    /* The demos make their own inputs: a refused argument is a failed run, not the user's usage. */
    return cli_exit_for_status(st) == CLI_USAGE ? CLI_RUN_FAILED : cli_exit_for_status(st);
}

int demo_write_npy(const demo_env *env, const char *name, qdml_npy_dtype dtype, int ndim, const int64_t *shape,
                   const double *data) {
    char *path = join_path(env, name);
    if (!path) return CLI_RUN_FAILED;
    int rc = CLI_OK;
    if (qdml_npy_write(path, dtype, ndim, shape, data) != QDML_OK) {
        cli_error("demo", "%s", qdml_last_error_message());
        rc = CLI_RUN_FAILED;
    }
    free(path);
    return rc;
}

int demo_write_history(const demo_env *env, const char *name, qdml_problem *problem) {
    char *path = join_path(env, name);
    if (!path) return CLI_RUN_FAILED;
    int rc = cli_write_history("demo", path, problem);
    free(path);
    return rc;
}

int demo_write_png(const demo_env *env, const char *name, int64_t rows, int64_t cols, const double *data,
                   const qdml_png_options *options) {
    char *path = join_path(env, name);
    if (!path) return CLI_RUN_FAILED;
    int rc = CLI_OK;
    if (qdml_png_write(path, rows, cols, data, options) != QDML_OK) {
        cli_error("demo", "%s", qdml_last_error_message());
        rc = CLI_RUN_FAILED;
    }
    free(path);
    return rc;
}

int demo_text_open(const demo_env *env, const char *name, demo_text *t) {
    t->f = NULL;
    char *path = join_path(env, name);
    if (!path) return CLI_RUN_FAILED;
    const qdml_status st = qdml_atomic_open(&t->file, path, 0, path);
    free(path);
    if (st != QDML_OK) {
        cli_error("demo", "%s", qdml_last_error_message());
        return CLI_RUN_FAILED;
    }
    t->f = t->file.f;
    return CLI_OK;
}

int demo_text_close(demo_text *t, int ok) {
    if (!t->f) return CLI_RUN_FAILED;
    t->f = NULL;
    if (!ok) {
        qdml_atomic_abort(&t->file);
        return CLI_RUN_FAILED;
    }
    if (qdml_atomic_commit(&t->file, 1) != QDML_OK) {
        cli_error("demo", "%s", qdml_last_error_message());
        return CLI_RUN_FAILED;
    }
    return CLI_OK;
}

void demo_json_number(FILE *f, const char *indent, const char *key, double v, int comma) {
    fprintf(f, "%s\"%s\": ", indent, key);
    cli_json_number(f, v);
    fputs(comma ? ",\n" : "\n", f);
}

void demo_json_array(FILE *f, const char *indent, const char *key, const double *v, int64_t n, int comma) {
    fprintf(f, "%s\"%s\": [", indent, key);
    for (int64_t i = 0; i < n; ++i) {
        if (i) fputs(", ", f);
        cli_json_number(f, v[i]);
    }
    fputs(comma ? "],\n" : "]\n", f);
}

void demo_rng_seed(demo_rng *r, uint64_t seed) { r->s = seed ? seed * 0x9E3779B97F4A7C15ull : 0x2545F4914F6CDD1Dull; }

double demo_uniform(demo_rng *r) {
    /* xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators", 2016);
     * the top 53 bits as a double in [0, 1). */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (double)((r->s * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

double demo_normal(demo_rng *r) {
    double u1 = demo_uniform(r), u2 = demo_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
