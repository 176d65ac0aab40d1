/* libFuzzer target for the argument parsing of the qdml program: the option parser, the value parsers
 * and the shared options of ground, evolve and minimize (cli_shared_*) of host/cli/args.c, and the
 * objective specs the program hands to qdml_objective_parse (host/objectives.c), which are then asked
 * for their domain, minimum and a value. Any byte string, split into arguments at NUL bytes (the
 * first byte picks the grid's dimension), must be accepted or refused with a message: never a crash,
 * a leak, undefined behaviour, or an accepted value that breaks its own contract (a box with
 * lo >= hi, zero points, a domain with lo > hi, a known minimum that is NaN). Built and run by
 * scripts/sanitize:
 *   clang -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_cli_args.c host/cli/args.c
 *         host/objectives.c host/objective_minima.c host/status.c
 * Inputs kept in tests/fuzz/cli-regressions/ are replayed in every build by the ctest entry
 * fuzz_cli_regressions (tests/fuzz/replay.c). */
#include "args.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_ARGS = 64, MAX_BYTES = 4096 };

/* A broken contract: say which, then abort (the fuzzer keeps the input). */
#define check(ok) check_at((ok), #ok, __LINE__)
static void check_at(int ok, const char *what, int line) {
    if (ok) return;
    fprintf(stderr, "fuzz_cli_args.c:%d: contract broken: %s\n", line, what);
    abort();
}

static void objectives(const char *spec, int dim) {
    char item[MAX_BYTES + 1];
    const char *at = spec;
    for (;;) {
        const char *semi = strchr(at, ';');
        const size_t len = semi ? (size_t)(semi - at) : strlen(at);
        memcpy(item, at, len);
        item[len] = '\0';
        qdml_objective o;
        if (qdml_objective_parse(item, dim, &o) == QDML_OK) {
            check(qdml_objective_validate(&o, dim) == QDML_OK);
            double lo[QDML_MAX_DIM], hi[QDML_MAX_DIM], x[QDML_MAX_DIM], f = 0.0, fmin = 0.0;
            /* Extreme parameters (a centre at 1e308) may have no finite domain: refused with a message. */
            if (qdml_objective_domain(&o, dim, lo, hi) != QDML_OK) {
                check(qdml_last_error_message()[0] != '\0');
                for (int d = 0; d < dim; ++d) lo[d] = hi[d] = 0.0;
            }
            for (int d = 0; d < dim; ++d) {
                check(lo[d] <= hi[d]);
                x[d] = 0.5 * (lo[d] + hi[d]);
            }
            /* A value may overflow to infinity far out (documented); it must not be NaN at the
             * domain's centre for valid parameters, nor crash. */
            (void)qdml_objective_eval(&o, x, dim, &f);
            if (qdml_objective_minimum(&o, dim, x, &fmin) == QDML_OK) check(!isnan(fmin));
        } else {
            check(qdml_last_error_message()[0] != '\0');
        }
        if (!semi) break;
        at = semi + 1;
    }
}

/* The shared options with every group, and the others of ground, evolve and minimize as their own;
 * every check runs, and the values of those that pass keep their contracts. */
static void shared_options(int argc, char **argv) {
    static const cli_opt own[] = {{"mode", 1, NULL},     {"psi0", 1, NULL},      {"time", 1, NULL},
                                  {"dt", 1, NULL},       {"splitting", 1, NULL}, {"dt-initial", 1, NULL},
                                  {"dt-min", 1, NULL},   {"states", 1, NULL},    {"hbar-start", 1, NULL},
                                  {"hbar-end", 1, NULL}, {"stages", 1, NULL},    {"reseed", 1, NULL}};
    cli_shared sh;
    int help = 0;
    if (cli_shared_parse("fuzz", argc, argv, CLI_WITH_BATCH | CLI_WITH_HBAR | CLI_WITH_STOPPING | CLI_WITH_CHECKPOINT,
                         own, sizeof own / sizeof own[0], &sh, &help) != CLI_OK ||
        help)
        return;
    (void)cli_shared_check_inputs(&sh);
    (void)cli_shared_check_required(&sh);
    (void)cli_shared_check_resume(&sh);
    if (cli_shared_check_checkpoint(&sh) == CLI_OK) check(sh.checkpoint_every >= 0);
    double tol = 1.0;
    int64_t max_steps = 1;
    if (cli_shared_numbers(&sh, &tol, &max_steps) == CLI_OK)
        check(isfinite(sh.hbar) && sh.hbar > 0 && isfinite(sh.mass) && sh.mass > 0 && isfinite(tol) && tol > 0 &&
              max_steps >= 1);
    if (cli_shared_context(&sh) == CLI_OK) check(sh.threads >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > MAX_BYTES) return 0;
    const int dim = 1 + data[0] % QDML_MAX_DIM;
    char buf[MAX_BYTES + 1];
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = (char *)"fuzz";
    for (size_t i = 0; i < size - 1 && argc < MAX_ARGS;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;
    shared_options(argc, argv);
    /* The union of the options of ground, evolve and minimize. */
    cli_opt opts[] = {{"potential", 1, NULL}, {"box", 1, NULL},        {"batch", 0, NULL},      {"hbar", 1, NULL},
                      {"mass", 1, NULL},      {"tol", 1, NULL},        {"max-steps", 1, NULL},  {"dt", 1, NULL},
                      {"time", 1, NULL},      {"threads", 1, NULL},    {"backend", 1, NULL},    {"precision", 1, NULL},
                      {"objective", 1, NULL}, {"dim", 1, NULL},        {"n", 1, NULL},          {"states", 1, NULL},
                      {"stages", 1, NULL},    {"hbar-start", 1, NULL}, {"hbar-end", 1, NULL},   {"json", 0, NULL},
                      {"dt-initial", 1, NULL}};
    const size_t nopts = sizeof opts / sizeof opts[0];
    int help = 0;
    if (cli_parse("fuzz", argc, argv, opts, nopts, &help) != CLI_OK || help) return 0;
    const char *v;
    if ((v = cli_value(opts, nopts, "box"))) {
        double lo[QDML_MAX_DIM], hi[QDML_MAX_DIM];
        if (cli_parse_box("fuzz", v, dim, lo, hi) == CLI_OK)
            for (int d = 0; d < dim; ++d) check(isfinite(lo[d]) && isfinite(hi[d]) && lo[d] < hi[d]);
    }
    if ((v = cli_value(opts, nopts, "n"))) {
        int64_t n[QDML_MAX_DIM];
        if (cli_parse_points("fuzz", v, dim, n) == CLI_OK)
            for (int d = 0; d < dim; ++d) check(n[d] >= 1);
    }
    qdml_backend backend;
    qdml_precision precision;
    int threads;
    (void)cli_parse_backend("fuzz", cli_value(opts, nopts, "backend"), &backend);
    (void)cli_parse_precision("fuzz", cli_value(opts, nopts, "precision"), &precision);
    if (cli_parse_threads("fuzz", cli_value(opts, nopts, "threads"), &threads) == CLI_OK) check(threads >= 0);
    /* Option names, and the same with the leading "--" for the messages. */
    static const char *const reals[][2] = {{"hbar", "--hbar"}, {"mass", "--mass"},
                                           {"tol", "--tol"},   {"dt", "--dt"},
                                           {"time", "--time"}, {"hbar-start", "--hbar-start"},
                                           {"hbar-end", "--hbar-end"}, {"dt-initial", "--dt-initial"}};
    for (size_t k = 0; k < sizeof reals / sizeof reals[0]; ++k) {
        double x;
        if ((v = cli_value(opts, nopts, reals[k][0])) && cli_positive_double("fuzz", reals[k][1], v, &x) == CLI_OK)
            check(isfinite(x) && x > 0);
    }
    static const char *const counts[][2] = {
        {"max-steps", "--max-steps"}, {"dim", "--dim"}, {"states", "--states"}, {"stages", "--stages"}};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; ++k) {
        int64_t x;
        if ((v = cli_value(opts, nopts, counts[k][0])) && cli_positive_int64("fuzz", counts[k][1], v, &x) == CLI_OK)
            check(x >= 1);
    }
    if ((v = cli_value(opts, nopts, "objective"))) objectives(v, dim);
    return 0;
}
