/* The outputs of a run checked before it computes anything (outputs.h). */
#include "outputs.h"
#include "io_hdf5.h"
#include "setup.h"
#include "atomic_file.h"
#include "density_png.h"
#include "figures.h"
#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A character device or FIFO: written in place, so several outputs (or an output and an input)
 * may name one without harm (/dev/null). */
static int is_stream(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode));
}

/* Whether a and b reach the same file: the same target once links are followed and directories made
 * canonical, or the same inode (hard links, bind mounts). */
static int same_file(const char *a, const char *b) {
    char *ta = qdml_atomic_target(a), *tb = qdml_atomic_target(b);
    int same = ta && tb && strcmp(ta, tb) == 0;
    free(ta);
    free(tb);
    struct stat sa, sb;
    if (!same && stat(a, &sa) == 0 && stat(b, &sb) == 0) same = sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return same;
}

int cli_check_outputs(const char *cmd, const cli_file *out, size_t nout, const cli_file *in, size_t nin) {
    for (size_t i = 0; i < nout; ++i) {
        if (!out[i].path) continue;
        if (qdml_atomic_check(out[i].path, out[i].option) != QDML_OK) {
            cli_error(cmd, "%s (checked before the run; nothing was computed)", qdml_last_error_message());
            return CLI_USAGE;
        }
        for (size_t k = 0; k < nin; ++k) {
            if (!in[k].path || (in[k].may_equal && strcmp(in[k].may_equal, out[i].option) == 0)) continue;
            if (same_file(out[i].path, in[k].path)) {
                cli_error(cmd, "%s %s is the same file as the input %s %s: writing it would destroy the input",
                          out[i].option, out[i].path, in[k].option, in[k].path);
                return CLI_USAGE;
            }
        }
        if (is_stream(out[i].path)) continue;
        for (size_t j = 0; j < i; ++j) {
            /* The pictures of one --png are FILE_0.png, FILE_1.png, ...: distinct by construction. */
            if (!out[j].path || strcmp(out[j].option, out[i].option) == 0) continue;
            if (!same_file(out[i].path, out[j].path)) continue;
            cli_error(cmd, "%s %s and %s %s are the same file: give each output its own", out[j].option, out[j].path,
                      out[i].option, out[i].path);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

int cli_shared_check_outputs(const cli_shared *sh, const char *psi0, int64_t members) {
    enum { MAX_PNG = 4096 }; /* members checked one by one; beyond, the first MAX_PNG (all in one folder) */
    if (sh->out && cli_path_is_h5(sh->out) && !qdml_h5_available()) {
        cli_error(sh->cmd, "--out %s: this build of qdml writes no HDF5: install HDF5's C library and headers "
                           "(Debian: libhdf5-dev) and build again, or write .npy",
                  sh->out);
        return CLI_USAGE;
    }
    const int64_t npm = members == 1 ? 1 : members < 1 ? 1 : members > MAX_PNG ? MAX_PNG : members;
    const char *const pics[2] = {sh->png, sh->history_png}, *const pic_opt[2] = {"--png", "--history-png"};
    const int64_t npng = (sh->png ? npm : 0) + (sh->history_png ? npm : 0);
    cli_file *out = calloc((size_t)(3 + npng), sizeof *out);
    char **png = calloc((size_t)(npng > 0 ? npng : 1), sizeof *png);
    int rc = CLI_OK;
    if (!out || !png) {
        cli_error(sh->cmd, "out of memory");
        rc = CLI_RUN_FAILED;
        goto done;
    }
    size_t n = 0;
    out[n++] = (cli_file){"--out", sh->out, NULL};
    out[n++] = (cli_file){"--history", sh->history, NULL};
    out[n++] = (cli_file){"--checkpoint", sh->checkpoint, NULL};
    int64_t k = 0;
    for (int q = 0; q < 2; ++q)
        for (int64_t b = 0; pics[q] && b < npm; ++b, ++k) {
            /* members 0: not known yet; the first of several pictures, FILE_0.png, stands for them. */
            png[k] = cli_png_member_path(pics[q], b, members == 1 ? 1 : members < 1 ? 2 : members);
            if (!png[k]) {
                cli_error(sh->cmd, "out of memory");
                rc = CLI_RUN_FAILED;
                goto done;
            }
            out[n++] = (cli_file){pic_opt[q], png[k], NULL};
        }
    /* (--wisdom is written too, but never fatally: it only must not be one of these files.) */
    const cli_file in[] = {{"--potential", sh->potential, NULL},
                           {"--psi0", psi0, NULL},
                           {"--resume", sh->resume, "--checkpoint"},
                           {"--wisdom", sh->wisdom, NULL}};
    rc = cli_check_outputs(sh->cmd, out, n, in, sizeof in / sizeof in[0]);
done:
    if (png)
        for (int64_t b = 0; b < npng; ++b)
            free(png[b]);
    free(png);
    free(out);
    return rc;
}

int cli_write_outputs(const cli_shared *sh, cli_setup *s, int batch_axis, int *out_written) {
    int rc = CLI_OK;
    *out_written = 0;
    if (sh->out) {
        if (cli_setup_write_states(s, sh->out, batch_axis) == CLI_OK)
            *out_written = 1;
        else
            rc = CLI_RUN_FAILED;
    }
    if (sh->history && cli_write_history(sh->cmd, sh->history, s->problem) != CLI_OK) rc = CLI_RUN_FAILED;
    if (sh->png && cli_write_png_figures(s, sh->png) != CLI_OK) rc = CLI_RUN_FAILED;
    if (sh->history_png && cli_write_history_pngs(s, sh->history_png) != CLI_OK) rc = CLI_RUN_FAILED;
    return rc;
}
