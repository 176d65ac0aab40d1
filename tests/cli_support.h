/* Running the qdml program from the tests as a user would, and reading what it prints. */
#ifndef QDML_TESTS_CLI_SUPPORT_H
#define QDML_TESTS_CLI_SUPPORT_H
#include <stdint.h>

typedef struct cli_result {
    int status; /* exit status, or 128 + signal number */
    char *out;
    char *err;
} cli_result;

/* Runs `qdml args...` (NULL-terminated) with stdin from /dev/null and stdout and stderr captured in
 * files under dir; OMP_NUM_THREADS=1 unless set. Asserts the program ran and did not crash. No
 * --backend is added: the program takes its default (auto) unless args choose, and each test file
 * says which it means. */
cli_result run_cli_v(const char *dir, const char *const *args);
#define RUN(dir, ...) run_cli_v((dir), (const char *const[]){__VA_ARGS__, NULL})
void cli_free(cli_result *r);
/* A whole file as a NUL-terminated string (empty if it cannot be opened); free() it. */
char *slurp(const char *path);
/* Asserts exit `status`, the needle and the program's name on stderr; frees r. */
void expect_fail(cli_result r, int status, const char *needle);
/* Asserts exit 0 (prints stderr and stdout otherwise). */
void expect_ok(const cli_result *r);

/* Tiny JSON scanning (the program's output is flat enough for this). The number after the n-th
 * (0-based) occurrence of "key": in text, or NAN. */
double json_num(const char *text, const char *key, int nth);
/* 1, 0 or -1 (absent / not a boolean) for "key": true|false. */
int json_bool(const char *text, const char *key, int nth);
/* Elements of the array after the first "key": (up to max); returns how many, -1 if malformed. */
int json_array(const char *text, const char *key, double *out, int max);
int count_substr(const char *text, const char *needle);

/* Writes a float64 / complex128 .npy file dir/name; returns its path (free() it). */
char *write_f64(const char *dir, const char *name, int ndim, const int64_t *shape, const double *data);
char *write_c128(const char *dir, const char *name, int ndim, const int64_t *shape, const double *data);
#endif
