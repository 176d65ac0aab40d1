/* What a fixed split step resolves (step_limits.c): the phase-per-step checks of real time, and the
 * splitting error estimate of imaginary time, for `qdml evolve`. */
#ifndef QDML_CLI_STEP_LIMITS_H
#define QDML_CLI_STEP_LIMITS_H

#include "cli.h"

#include <qdml/qdml.h>

/* Real time: a warning on stderr for each term whose phase per (sub)step exceeds pi at --dt (the
 * kinetic term at the grid's largest wavenumber, unless the potential is constant; the potential
 * over its range), naming it and the largest step within it. CLI_OK, or with `strict` CLI_USAGE
 * (the warning an error) when one does. */
int cli_check_real_time_step(const char *cmd, qdml_problem *p, double dt, qdml_splitting splitting, int strict);

/* Imaginary time, after a run of member 0: E_split (qdml_problem_split_energy) and the splitting
 * error estimate |E - E_split| into *split_energy and *estimate; a warning when the estimate exceeds
 * a tenth of the energy scale |<T>| + |<V>|, an error (CLI_RUN_FAILED) then with `strict`. On a
 * library failure, both NAN and the message printed (CLI_RUN_FAILED). */
int cli_split_error(const char *cmd, qdml_problem *p, double dt, qdml_splitting splitting, const qdml_stats *final,
                    int strict, double *split_energy, double *estimate);

#endif
