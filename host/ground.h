/* The ground-state search shared by qdml_problem_ground (ground.c) and qdml_problem_lowest_states
 * (lowest_states.c): private to the host. The search is written once, in ground.c; what the lowest
 * states add to it comes in as a qdml_ground_block, so ground.c does not depend on them. */
#ifndef QDML_GROUND_H
#define QDML_GROUND_H

#include "solver.h"

/* The steps a search whose members move as one block adds to the plain one. */
typedef struct qdml_ground_block {
    /* INVALID_ARGUMENT (naming fn) when the members cannot form a block. */
    qdml_status (*check)(qdml_problem *p, const char *fn);
    /* Prepare the members before a new (not a resumed) search. */
    qdml_status (*start)(qdml_run *r, const char *fn);
    /* n steps of the block (instead of qdml_run_advance). */
    qdml_status (*advance)(qdml_run *r, int64_t n, const char *fn);
    /* After the first steps are chosen and at every monitoring point: which members step on, and
     * with which steps. */
    qdml_status (*sync)(qdml_run *r, const unsigned char *converged, const int *stalled);
} qdml_ground_block;

/* The search of qdml_problem_ground (block NULL) and of qdml_problem_lowest_states; fn names the
 * caller in messages. */
qdml_status qdml_ground_run(qdml_problem *p, const qdml_ground_options *o, qdml_run_result *results, const char *fn,
                            const qdml_ground_block *block);

#endif
