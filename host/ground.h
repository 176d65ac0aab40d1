/* The ground-state search shared by qdml_problem_ground (ground.c) and qdml_problem_lowest_states
 * (lowest_states.c), and the steps the latter adds to it: private to the host. */
#ifndef QDML_GROUND_H
#define QDML_GROUND_H

#include "solver.h"

/* The search of both functions (fn names the caller in messages); ortho: the lowest states. */
qdml_status qdml_ground_run(qdml_problem *p, const qdml_ground_options *o, qdml_run_result *results, const char *fn,
                            int ortho);

/* INVALID_ARGUMENT unless every member has the same hbar, mass and potential (bit for bit). */
qdml_status qdml_lowest_check_one_hamiltonian(qdml_problem *p, const char *fn);
/* Orthonormalise the members before a new search. */
qdml_status qdml_lowest_start(qdml_run *r, const char *fn);
/* n steps of the block, orthonormalised after each. */
qdml_status qdml_lowest_advance(qdml_run *r, int64_t n, const char *fn);
/* Keep the block stepping together, each member's step no larger than those above it. */
qdml_status qdml_lowest_block_sync(qdml_run *r, const unsigned char *converged, const int *stalled);

#endif
