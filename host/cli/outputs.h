/* The files a run of the qdml program will write, checked before anything is computed (outputs.c):
 * each must be writable the way the atomic writer (atomic_file.h) will write it, and none may be the
 * same file as an input or as another output. */
#ifndef QDML_CLI_OUTPUTS_H
#define QDML_CLI_OUTPUTS_H

#include "args.h"
#include "setup.h"

#include <stddef.h>
#include <stdint.h>

/* One file named on the command line: the option ("--out") and the path. */
typedef struct cli_file {
    const char *option;
    const char *path;
    const char *may_equal; /* inputs: the output option that may name the same file (--resume and
                              --checkpoint: a resumed run goes on saving where it was saved), or NULL */
} cli_file;

/* Every output checked with qdml_atomic_check, then against the inputs and the other outputs. Two
 * outputs on one character device or FIFO (/dev/null) are allowed. Returns CLI_OK, or CLI_USAGE with
 * the message printed, naming the option and the path. */
int cli_check_outputs(const char *cmd, const cli_file *outputs, size_t nout, const cli_file *inputs, size_t nin);

/* The outputs of ground, evolve and minimize from the shared options (--out, --history, --checkpoint,
 * --png) against their inputs (--potential, --resume, and `psi0` where not NULL). `members`: how many
 * pictures --png draws (one per member; 0 when not known yet: the first of several is checked, and
 * the others once the batch is known). */
int cli_shared_check_outputs(const cli_shared *sh, const char *psi0, int64_t members);

/* After a run: --out (every member, the batch axis first with batch_axis), --history and --png, each
 * attempted whatever became of the others. *out_written says whether --out was written. Returns
 * CLI_OK, or CLI_RUN_FAILED with a message naming each file that could not be written. */
int cli_write_outputs(const cli_shared *sh, cli_setup *s, int batch_axis, int *out_written);

#endif
