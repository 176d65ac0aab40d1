/* The block eigensolver of the ground-state searches (lobpcg.c), private to the host: LOBPCG on H
 * itself, built from the backend's block-vector ops (backend.h). */
#ifndef QDML_LOBPCG_H
#define QDML_LOBPCG_H

#include "ground.h"

/* Whether p's backend has the block-vector ops (and the problem is float64). */
int qdml_lobpcg_available(const qdml_problem *p);

/* INVALID_ARGUMENT (naming fn) where LOBPCG cannot run with these options on p: resume, no block-vector
 * ops or not float64 (guard_states is checked with the other options, in ground.c). */
qdml_status qdml_lobpcg_check(qdml_problem *p, const qdml_ground_options *o, const char *fn);

/* The ground state of every member (block NULL), or the lowest B states of the one Hamiltonian the
 * members share (block: its check and start are used), by LOBPCG; options validated by the caller
 * (resume is refused here). fn names the caller in messages. */
qdml_status qdml_lobpcg_run(qdml_problem *p, const qdml_ground_options *o, qdml_run_result *results, const char *fn,
                            const qdml_ground_block *block);

#endif
