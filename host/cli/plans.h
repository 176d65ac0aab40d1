/* How a run of the program plans its FFTs (plans.c): FFTW's wisdom and the CPU backend's path choices,
 * kept in the user's cache by default and, for a run with --checkpoint FILE, beside the checkpoint
 * (FILE.wisdom, FILE.wisdom.paths) so that --resume FILE plans as the original run did. */
#ifndef QDML_CLI_PLANS_H
#define QDML_CLI_PLANS_H

#include "setup.h"

/* The wisdom file of the run s describes (--wisdom, --no-wisdom, --checkpoint, --resume), or "" (then
 * *estimate says whether to plan with FFTW_ESTIMATE); side (len bytes) holds a checkpoint's wisdom path
 * and dflt_buf (dlen bytes) the default one. *share: a file the run's wisdom is to be copied to once the
 * problem is made (cli_plans_copy), or NULL. */
const char *cli_plans_wisdom(cli_setup *s, char *side, size_t len, char *dflt_buf, size_t dlen, int *estimate,
                             const char **share);
/* A wisdom file and its paths file copied (atomically; nothing where `from` cannot be read; never fatal). */
void cli_plans_copy(const char *from, const char *to);

#endif
