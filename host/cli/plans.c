/* How a run of the program plans its FFTs (plans.h): the wisdom file it keeps by default, and the plans a
 * checkpointed run keeps beside its checkpoint so that its resumption plans the same way. */
#include "plans.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "status.h"

/* The FFTW wisdom file the program keeps by default (qdml_context_set_fft_wisdom; --wisdom FILE and
 * --no-wisdom choose otherwise): $QDML_WISDOM when set ("" or "none": no file), else fftw-wisdom in
 * $XDG_CACHE_HOME/qdml or ~/.cache/qdml, the folder made when
 * missing. Plans (and the CPU backend's path choices, kept beside it) are then timed once per machine
 * and shape instead of in every run. Returns "" where there is none (no home, a folder that cannot be
 * made, a path too long): the run plans as before. */
static const char *wisdom_path(char *buf, size_t len) {
    const char *env = getenv("QDML_WISDOM");
    if (env) return strcmp(env, "none") == 0 ? "" : env;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[4096];
    int n;
    if (xdg && xdg[0] == '/') {
        n = snprintf(dir, sizeof dir, "%s/qdml", xdg);
    } else if (home && home[0] == '/') {
        n = snprintf(dir, sizeof dir, "%s/.cache", home);
        if (n < 0 || (size_t)n >= sizeof dir || (mkdir(dir, 0755) != 0 && errno != EEXIST)) return "";
        n = snprintf(dir, sizeof dir, "%s/.cache/qdml", home);
    } else {
        return "";
    }
    if (n < 0 || (size_t)n >= sizeof dir || (mkdir(dir, 0755) != 0 && errno != EEXIST)) return "";
    n = snprintf(buf, len, "%s/fftw-wisdom", dir);
    return n < 0 || (size_t)n >= len ? "" : buf;
}

/* FILE.wisdom, beside a checkpoint FILE that is a regular file or not there yet (not a device or FIFO);
 * 0 where there is none. */
static int sidecar(const char *ckpt, char *out, size_t len) {
    struct stat sb;
    if (stat(ckpt, &sb) == 0 && !S_ISREG(sb.st_mode)) return 0;
    const int n = snprintf(out, len, "%s.wisdom", ckpt);
    return n > 0 && (size_t)n + 8 < len; /* (room for ".paths") */
}

static int exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Copy from to `to` (written atomically); nothing where `from` cannot be read. Never fatal. */
static void copy_file(const char *from, const char *to) {
    FILE *f = fopen(from, "rb");
    if (!f) return;
    char before[QDML_ERRLEN];
    qdml_save_error(before);
    qdml_atomic_file af;
    if (qdml_atomic_open(&af, to, 1, to) == QDML_OK) {
        char buf[65536];
        size_t n;
        int ok = 1;
        while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0) ok = fwrite(buf, 1, n, af.f) == n;
        (void)qdml_atomic_commit(&af, ok && !ferror(f));
    }
    fclose(f);
    qdml_restore_error(before);
}

/* A wisdom file and its paths file (the CPU backend's path choices), copied. */
void cli_plans_copy(const char *from, const char *to) {
    char pf[4120], pt[4120];
    copy_file(from, to);
    snprintf(pf, sizeof pf, "%s.paths", from);
    snprintf(pt, sizeof pt, "%s.paths", to);
    copy_file(pf, pt);
}

/* The wisdom file of this run, or "" (then *estimate says whether to plan with FFTW_ESTIMATE). A run that
 * checkpoints keeps its measured plans and path choices beside the checkpoint, FILE.wisdom and
 * FILE.wisdom.paths (started from the default file's), and its resumption plans from them: FFTW and the
 * CPU backend then choose as the original run did, and the resumed run's result is the uninterrupted
 * one's bit for bit. Where that cannot be — --no-wisdom, a checkpoint without its wisdom (one written
 * before qdml kept it, planned with FFTW_ESTIMATE), a checkpoint that is a device or FIFO — the run plans
 * with FFTW_ESTIMATE, the same plans in every process. */
const char *cli_plans_wisdom(cli_setup *s, char *side, size_t len, char *dflt_buf, size_t dlen, int *estimate,
                             const char **share) {
    *share = NULL;
    const char *dflt = s->no_wisdom ? "" : s->wisdom ? s->wisdom : wisdom_path(dflt_buf, dlen);
    *estimate = 0;
    if (!s->ckpt_in && !s->ckpt_out) return dflt;
    char in[4096] = "", out[4096] = "";
    const int in_ok = s->ckpt_in && sidecar(s->ckpt_in, in, sizeof in) && exists(in);
    const int out_ok = s->ckpt_out && sidecar(s->ckpt_out, out, sizeof out);
    if (s->no_wisdom || (s->ckpt_in && !in_ok) || (s->ckpt_out && !out_ok)) {
        *estimate = 1;
        return "";
    }
    if (s->ckpt_in) {
        if (out_ok && strcmp(in, out) != 0) cli_plans_copy(in, out);
        snprintf(side, len, "%s", out_ok ? out : in);
    } else {
        if (dflt[0]) cli_plans_copy(dflt, out);
        snprintf(side, len, "%s", out);
        /* What this run measures goes back to the default file too, so that the next run of this shape
         * (a rerun, the uninterrupted run a resumption is compared with) plans as this one did. */
        *share = dflt[0] ? dflt : NULL;
    }
    return side;
}

