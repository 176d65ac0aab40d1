/* Running the qdml program from the tests (see cli_support.h). */
#include "cli_support.h"

#include "io_npy.h"
#include "support.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef QDML_CLI_PATH
#error "QDML_CLI_PATH must name the built qdml program"
#endif

/* ---- running the program -------------------------------------------------------------------- */

char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return calloc(1, 1);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)(n > 0 ? n : 0) + 1);
    size_t got = n > 0 ? fread(s, 1, (size_t)n, f) : 0;
    s[got] = '\0';
    fclose(f);
    return s;
}

static void redirect(const char *path, int fd) {
    int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (f < 0) _exit(126);
    dup2(f, fd);
    close(f);
}

/* Runs `qdml args...` (NULL-terminated) with stdout and stderr captured in files under dir. */
cli_result run_cli_v(const char *dir, const char *const *args) {
    char *outp = qt_path(dir, ".stdout"), *errp = qt_path(dir, ".stderr");
    size_t n = 0;
    while (args[n])
        ++n;
    char **argv = calloc(n + 2, sizeof *argv);
    cr_assert_not_null(argv);
    argv[0] = (char *)QDML_CLI_PATH;
    for (size_t i = 0; i < n; ++i)
        argv[i + 1] = (char *)args[i];
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork failed");
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0) dup2(in, 0);
        redirect(outp, 1);
        redirect(errp, 2);
        /* Small grids run fastest on one thread, and tests run side by side. */
        setenv("OMP_NUM_THREADS", "1", 0);
        execv(QDML_CLI_PATH, argv);
        _exit(127);
    }
    int ws = 0;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    cli_result r;
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
    r.out = slurp(outp);
    r.err = slurp(errp);
    cr_assert_neq(r.status, 127, "could not execute %s", QDML_CLI_PATH);
    cr_assert(r.status < 128, "qdml crashed with signal %d\nstderr: %s", r.status - 128, r.err);
    free(argv);
    free(outp);
    free(errp);
    return r;
}

void cli_free(cli_result *r) {
    free(r->out);
    free(r->err);
}

/* Asserts a usage/input error: exit 2, the needle on stderr, nothing on stdout. */
void expect_fail(cli_result r, int status, const char *needle) {
    cr_assert_eq(r.status, status, "exit %d, expected %d; stderr: %s", r.status, status, r.err);
    cr_assert_not_null(strstr(r.err, needle), "stderr does not contain '%s':\n%s", needle, r.err);
    cr_assert_not_null(strstr(r.err, "qdml"), "message without the program name: %s", r.err);
    cli_free(&r);
}

void expect_ok(const cli_result *r) {
    cr_assert_eq(r->status, 0, "exit %d; stderr: %s\nstdout: %s", r->status, r->err, r->out);
}

/* ---- tiny JSON scanning (the program's output is flat enough for this) -------------------------- */

/* The number after the n-th (0-based) occurrence of "key": in text, or NAN. */
double json_num(const char *text, const char *key, int nth) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = text;
    for (int i = 0; i <= nth; ++i) {
        p = strstr(p, pat);
        if (!p) return NAN;
        p += strlen(pat);
    }
    char *end;
    double v = strtod(p, &end);
    return end == p ? NAN : v;
}

/* 1, 0 or -1 (absent / not a boolean) for "key": true|false. */
int json_bool(const char *text, const char *key, int nth) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = text;
    for (int i = 0; i <= nth; ++i) {
        p = strstr(p, pat);
        if (!p) return -1;
        p += strlen(pat);
    }
    while (*p == ' ')
        ++p;
    if (strncmp(p, "true", 4) == 0) return 1;
    if (strncmp(p, "false", 5) == 0) return 0;
    return -1;
}

/* Elements of the array after "key": (up to max); returns how many. */
int json_array(const char *text, const char *key, double *out, int max) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(text, pat);
    if (!p) return -1;
    p = strchr(p, '[');
    if (!p) return -1;
    ++p;
    int n = 0;
    for (;;) {
        while (*p == ' ')
            ++p;
        if (*p == ']') return n;
        char *end;
        double v = strtod(p, &end);
        if (end == p || n >= max) return -1;
        out[n++] = v;
        p = end;
        while (*p == ' ')
            ++p;
        if (*p == ',') ++p;
    }
}

int count_substr(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        ++n;
    return n;
}

/* ---- inputs --------------------------------------------------------------------------------- */

char *write_f64(const char *dir, const char *name, int ndim, const int64_t *shape, const double *data) {
    char *p = qt_path(dir, name);
    cr_assert_eq(qdml_npy_write(p, QDML_NPY_F64, ndim, shape, data), QDML_OK, "%s", qdml_last_error_message());
    return p;
}

char *write_c128(const char *dir, const char *name, int ndim, const int64_t *shape, const double *data) {
    char *p = qt_path(dir, name);
    cr_assert_eq(qdml_npy_write(p, QDML_NPY_C128, ndim, shape, data), QDML_OK, "%s", qdml_last_error_message());
    return p;
}
