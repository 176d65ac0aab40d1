/* Helpers shared by the benchmark programs in perf/: a clock, order statistics, the machine
 * description written into the JSON results, and the memory check that skips sizes that do not
 * fit. Header-only: every program includes it once. */
#ifndef QDML_BENCH_COMMON_H
#define QDML_BENCH_COMMON_H

#include <fftw3.h>
#include <qdml/qdml.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median, minimum and maximum of n values (sorts a copy). */
typedef struct bench_summary {
    double median, min, max;
} bench_summary;

static inline bench_summary bench_summarize(const double *v, int n) {
    bench_summary s = {NAN, NAN, NAN};
    if (n < 1) return s;
    double *c = malloc((size_t)n * sizeof *c);
    if (!c) return s;
    memcpy(c, v, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, bench_cmp_double);
    s.median = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    s.min = c[0];
    s.max = c[n - 1];
    free(c);
    return s;
}

/* First value of a "key : value" line of a /proc file, or "" (value trimmed, at most len-1 bytes). */
static inline void bench_proc_value(const char *file, const char *key, char *out, size_t len) {
    out[0] = '\0';
    FILE *f = fopen(file, "r");
    if (!f) return;
    char line[1024];
    const size_t klen = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) != 0) continue;
        const char *p = strchr(line, ':');
        if (!p) continue;
        ++p;
        while (*p == ' ' || *p == '\t') ++p;
        snprintf(out, len, "%s", p);
        size_t l = strlen(out);
        while (l > 0 && (out[l - 1] == '\n' || out[l - 1] == ' ')) out[--l] = '\0';
        break;
    }
    fclose(f);
}

/* Memory the kernel reports as available (bytes), or 0 if unknown. */
static inline double bench_mem_available(void) {
    char v[256];
    bench_proc_value("/proc/meminfo", "MemAvailable", v, sizeof v);
    return v[0] ? atof(v) * 1024.0 : 0.0;
}

static inline double bench_mem_total(void) {
    char v[256];
    bench_proc_value("/proc/meminfo", "MemTotal", v, sizeof v);
    return v[0] ? atof(v) * 1024.0 : 0.0;
}

/* The 1-minute load average, or -1. */
static inline double bench_loadavg(void) {
    double l = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1.0;
        fclose(f);
    }
    return l;
}

/* CPU time used by other processes while a timing runs, as a fraction of the machine: the busy
 * time in /proc/stat minus this process's own CPU time, over wall time x cores. A shared machine
 * makes timings unreliable; the benchmarks repeat a timing when this exceeds a threshold. */
typedef struct bench_load_probe {
    double wall, own;
    unsigned long long busy;
    int ok;
} bench_load_probe;

static inline unsigned long long bench_busy_ticks(int *ok) {
    unsigned long long v[10] = {0};
    *ok = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return 0;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
        *ok = 1;
    fclose(f);
    /* user nice system [idle] [iowait] irq softirq steal */
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

static inline double bench_own_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline void bench_load_begin(bench_load_probe *p) {
    p->busy = bench_busy_ticks(&p->ok);
    p->own = bench_own_cpu();
    p->wall = bench_now();
}

/* Fraction of the machine's cores busy with other work since bench_load_begin (0 if unknown or
 * if less than 50 ms passed). */
static inline double bench_load_end(const bench_load_probe *p) {
    int ok;
    const unsigned long long busy = bench_busy_ticks(&ok);
    const double wall = bench_now() - p->wall, own = bench_own_cpu() - p->own;
    const long hz = sysconf(_SC_CLK_TCK), cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* /proc/stat counts in clock ticks (10 ms): too coarse for shorter timings */
    if (!ok || !p->ok || hz <= 0 || cores <= 0 || wall < 0.05) return 0.0;
    const double others = (double)(busy - p->busy) / (double)hz - own;
    const double frac = others / (wall * (double)cores);
    return frac > 0 ? frac : 0.0;
}

/* JSON string: the characters of s with quotes, backslashes and control characters escaped. */
static inline void bench_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; ++s) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

/* The SIMD extensions among the CPU flags that matter here ("avx avx2 fma avx512f"), space-separated. */
static inline void bench_simd_flags(char *out, size_t len) {
    char *flags = malloc(16384);
    out[0] = '\0';
    if (!flags) return;
    bench_proc_value("/proc/cpuinfo", "flags", flags, 16384);
    static const char *want[] = {"sse4_2", "avx", "avx2", "fma", "avx512f"};
    size_t used = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; ++i) {
        char pat[32];
        snprintf(pat, sizeof pat, " %s ", want[i]);
        char padded_head[34];
        snprintf(padded_head, sizeof padded_head, "%s ", want[i]);
        const size_t fl = strlen(flags);
        const int at_end = fl >= strlen(want[i]) + 1 && !strcmp(flags + fl - strlen(want[i]), want[i]) &&
                           flags[fl - strlen(want[i]) - 1] == ' ';
        if (strstr(flags, pat) || !strncmp(flags, padded_head, strlen(padded_head)) || at_end) {
            const int w = snprintf(out + used, len - used, "%s%s", used ? " " : "", want[i]);
            if (w < 0 || (size_t)w >= len - used) break;
            used += (size_t)w;
        }
    }
    free(flags);
}

/* Writes `"machine": {...}` (no trailing comma). */
static inline void bench_json_machine(FILE *f, int threads) {
    char model[256], host[256] = "";
    bench_proc_value("/proc/cpuinfo", "model name", model, sizeof model);
    if (gethostname(host, sizeof host) != 0) host[0] = '\0';
    host[sizeof host - 1] = '\0';
    struct utsname u;
    const int have_uname = uname(&u) == 0;
    char date[64];
    time_t t = time(NULL);
    struct tm tmv;
    gmtime_r(&t, &tmv);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    char simd[128];
    bench_simd_flags(simd, sizeof simd);
    fprintf(f, "  \"machine\": {\n    \"cpu_model\": ");
    bench_json_string(f, model);
    fprintf(f, ",\n    \"cpu_simd\": ");
    bench_json_string(f, simd);
    fprintf(f, ",\n    \"cores_online\": %ld,\n    \"threads_used\": %d,\n    \"memory_total_gib\": %.2f,\n",
            sysconf(_SC_NPROCESSORS_ONLN), threads, bench_mem_total() / 1073741824.0);
    fprintf(f, "    \"host\": ");
    bench_json_string(f, host);
    fprintf(f, ",\n    \"kernel\": ");
    bench_json_string(f, have_uname ? u.release : "");
    fprintf(f, ",\n    \"fftw_version\": ");
    bench_json_string(f, fftw_version);
    fprintf(f, ",\n    \"compiler\": ");
#if defined(__VERSION__)
    bench_json_string(f, "cc " __VERSION__);
#else
    bench_json_string(f, "unknown");
#endif
    fprintf(f, ",\n    \"qdml_version\": ");
    bench_json_string(f, qdml_version_string());
    fprintf(f, ",\n    \"date_utc\": ");
    bench_json_string(f, date);
    fprintf(f, ",\n    \"loadavg_1min_at_start\": %.2f\n  }", bench_loadavg());
}

/* One-line description of the machine for the table header. */
/* A context as the benchmarks configure it; prints the library's message (prefixed by `who`)
 * and returns NULL on failure. `wisdom` may be NULL. */
static inline qdml_context *bench_context(const char *who, qdml_backend backend, int threads, qdml_fft_effort effort,
                                          qdml_precision precision, const char *wisdom) {
    qdml_context *ctx = NULL;
    if (qdml_context_create(&ctx, backend, threads) != QDML_OK) {
        fprintf(stderr, "%s: %s\n", who, qdml_last_error_message());
        return NULL;
    }
    qdml_context_set_fft_effort(ctx, effort);
    if (qdml_context_set_precision(ctx, precision) != QDML_OK) {
        fprintf(stderr, "%s: %s\n", who, qdml_context_last_error(ctx));
        qdml_context_destroy(ctx);
        return NULL;
    }
    if (wisdom) qdml_context_set_fft_wisdom(ctx, wisdom);
    return ctx;
}

static inline void bench_print_machine(int threads) {
    char model[256];
    bench_proc_value("/proc/cpuinfo", "model name", model, sizeof model);
    printf("# %s, %ld cores online, %d threads used, %.1f GiB, %s, load %.2f\n", model[0] ? model : "unknown CPU",
           sysconf(_SC_NPROCESSORS_ONLN), threads, bench_mem_total() / 1073741824.0, fftw_version, bench_loadavg());
}

#endif
