/* Shared by the demos of `qdml demo`: what each is given, the helpers they share (demo_shared.c),
 * and the demos themselves, one file each (demo_double_well.c, demo_softmax.c with sigmoid,
 * demo_diffusion.c, demo_taylor.c), which the dispatcher (demo.c) lists. */
#ifndef QDML_CLI_DEMO_H
#define QDML_CLI_DEMO_H

#include "args.h"
#include "atomic_file.h"
#include "io_npy.h"
#include "io_png.h"
#include "output.h"

#include <qdml/qdml.h>
#include <stdint.h>
#include <stdio.h>

/* What every demo is given: its output folder (created already), the context's settings, and the
 * names of the files it writes there (checked before it runs; the writers below refuse any other). */
typedef struct demo_env {
    const char *dir;
    qdml_backend backend;
    int threads;
    const char *const *files;
} demo_env;

/* A context on env's backend and threads. CLI_OK, or a failure status with the message printed. */
int demo_context(const demo_env *env, qdml_context **ctx);
/* Prints "qdml demo: WHAT failed: <context message>" and returns the exit status for st. */
int demo_lib_failed(const char *what, qdml_context *ctx, qdml_status st);

/* Files in env->dir, each written atomically (temporary file, fsync, rename); CLI_OK or
 * CLI_RUN_FAILED with the message printed. */
int demo_write_npy(const demo_env *env, const char *name, qdml_npy_dtype dtype, int ndim, const int64_t *shape,
                   const double *data);
int demo_write_history(const demo_env *env, const char *name, qdml_problem *problem);
/* A rows x cols array as a PNG (io_png.h); options NULL for the defaults. */
int demo_write_png(const demo_env *env, const char *name, int64_t rows, int64_t cols, const double *data,
                   const qdml_png_options *options);
/* A text file (CSV, JSON), written atomically (atomic_file.h): demo_text_open gives a stream to
 * write to (NULL with the message printed on failure); demo_text_close finishes it, or discards it
 * when `ok` is 0. */
typedef struct demo_text {
    FILE *f;
    qdml_atomic_file file;
} demo_text;
int demo_text_open(const demo_env *env, const char *name, demo_text *t);
int demo_text_close(demo_text *t, int ok);

/* JSON pieces: "key": number and "key": [numbers]; comma says whether another entry follows. */
void demo_json_number(FILE *f, const char *indent, const char *key, double v, int comma);
void demo_json_array(FILE *f, const char *indent, const char *key, const double *v, int64_t n, int comma);

/* Deterministic normal deviates (xorshift64* and Box-Muller): the same samples on every machine. */
typedef struct demo_rng {
    uint64_t s;
} demo_rng;
void demo_rng_seed(demo_rng *r, uint64_t seed);
double demo_uniform(demo_rng *r);
double demo_normal(demo_rng *r);

/* The demos, each with its help text. Each prints a summary comparing the library's numbers with
 * the closed form, writes its files, and returns CLI_RUN_FAILED when the comparison misses the bound
 * it states (double-well, the default, states none). */
extern const char demo_double_well_help[], demo_softmax_help[], demo_sigmoid_help[], demo_diffusion_help[],
    demo_taylor_help[];
int demo_double_well(const demo_env *env);
int demo_softmax(const demo_env *env);
int demo_sigmoid(const demo_env *env);
int demo_diffusion(const demo_env *env);
int demo_taylor(const demo_env *env);

#endif
