/* The harness of the backend op cases (op_cases.c, op_cases_steps.c): a backend under test against
 * the CPU backend (the reference), one op at a time, on random inputs, many grids and seeds. Before
 * an op the reference is given the tested backend's state, so only that op's error is measured.
 * test_cuda_ops.c runs the table on a CUDA device and, everywhere, on the CPU backend itself (the
 * self-check, which must agree exactly).
 */
#ifndef QDML_TESTS_OP_HARNESS_H
#define QDML_TESTS_OP_HARNESS_H
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "status.h"
#include "support.h"

/* The backend under test. */
typedef struct op_backend {
    const char *name; /* in messages */
    const qdml_backend_ops *ops;
    int steps_op; /* 1: the steps op takes Strang calls (m = 1: done = 1); 0: it declines every call
                     (done = 0), as the CPU backend's plain path does */
} op_backend;

/* The grids a case runs on (listed in op_harness.c). */
typedef enum op_grids { OP_GRIDS_ALL, OP_GRIDS_FILL, OP_GRIDS_STEPS, OP_GRIDS_LARGE } op_grids;

typedef struct op_env op_env;

/* One case: one op (or one variant of it), the error it may make and why. */
typedef struct op_case {
    const char *name;            /* unique */
    const char *op;              /* the member(s) of qdml_backend_ops it exercises */
    double bound_f64, bound_f32; /* the largest difference from the reference, relative (0: exact) */
    const char *why;             /* where the bound comes from, one line */
    op_grids grids;
    void (*run)(op_env *e);       /* sets up random inputs on both backends, issues the op, compares */
    void (*after_all)(op_env *e); /* (optional) checked once, after every grid and seed */
} op_case;

extern const op_case op_cases[];
extern const size_t op_case_count;

/* Runs case c with backend `tested` in precision prec on every grid of its list, OP_SEEDS seeds each
 * (one on OP_GRIDS_LARGE; with QDML_OP_QUICK=1 in the environment, every third grid and the last, one
 * seed). */
void op_case_run(const op_case *c, const op_backend *tested, qdml_precision prec);

#define OP_SEEDS 2

/* What a case works with: both backends, random inputs, scratch. Made afresh for every grid and
 * seed; `tally` lives across them (for after_all). */
struct op_env {
    const op_case *c;
    const op_backend *tested;
    const qdml_backend_ops *ref_ops, *ops; /* reference (CPU, float64) and tested tables */
    qdml_backend_state *ref, *st;          /* made by op_create (NULL before) */
    qdml_precision prec;
    int64_t n[3], N, B;
    uint64_t seed;
    qt_rng rng;                            /* seeded with `seed` */
    double tol;                            /* the case's bound in this precision */
    double *a, *b;                         /* 2N doubles each: scratch */
    double *hbar, *mass, *scale, *r1, *r2; /* B each; hbar, mass of the step parameters op_start set */
    unsigned char *mask, *want;            /* B each, random (mask[0] = 1) */
    qdml_moments *m1, *m2;                 /* B each */
    double vmax;                           /* max |V| */
    double xmax;                           /* max |x| over the internal axes */
    double k2max;                          /* sum over the internal axes of the largest k^2 */
    char where[192];                       /* "case kick_half (kick) on cuda, float32, grid 1x45x51 B=3, seed 1101" */
    char detail[96]; /* what a case loops over inside, appended to `where` in messages ("" if none) */
    int64_t tally;
};

/* The float64 description of the env's grid (boxes [-2.5, 2.5), [0.5, 3.5), [-4, 4)); an axis of one
 * point is a padding axis (lower edge 0, length 1) unless boxed_padding. */
qdml_backend_desc op_desc(const op_env *e, double dv, int boxed_padding);
/* A state of the tested backend in the env's precision, or of the reference. */
qdml_backend_state *op_new_tested(op_env *e, const qdml_backend_desc *d);
qdml_backend_state *op_new_ref(op_env *e, const qdml_backend_desc *d);
/* Both states (e->ref, e->st) for d; xmax and k2max from it. */
void op_create(op_env *e, const qdml_backend_desc *d);
/* op_create with the plain description (dv 1), then random inputs: states in [-1, 1) (one tiny
 * amplitude 3e-201 for the flush), potentials in [-3, 3) set on the tested backend and what it holds
 * given to the reference; per member real or imaginary time, random hbar, mass, dt, shifts,
 * potential-only and flush flags; random masks and scales in [0.5, 1.5). */
void op_start(op_env *e);
/* Reference state := tested state, every member. */
void op_sync(op_env *e);

/* Asserts st == QDML_OK, naming the call, the backend (reference or tested) and state s's message. */
void op_ok(const op_env *e, qdml_status st, const char *call, int reference, const qdml_backend_state *s);
#define OP_REF(e, op, ...) op_ok((e), (e)->ref_ops->op((e)->ref, __VA_ARGS__), #op, 1, (e)->ref)
#define OP_TESTED(e, op, ...) op_ok((e), (e)->ops->op((e)->st, __VA_ARGS__), #op, 0, (e)->st)
/* The same call on both. */
#define OP_BOTH(e, op, ...)                                                                                            \
    do {                                                                                                               \
        OP_REF(e, op, __VA_ARGS__);                                                                                    \
        OP_TESTED(e, op, __VA_ARGS__);                                                                                 \
    } while (0)

/* Every member's state within e->tol of the reference's, relative to the member's largest value. */
void op_expect_states(op_env *e, const char *what);
/* Per-member sums (members with mask[b]; mask NULL: all) within e->tol, relative. */
void op_expect_sums(op_env *e, const char *what, const double *ref, const double *got, const unsigned char *mask);
/* The monitoring sums of members with want[b] (NULL: all) within e->tol of scales derived from the
 * grid and the inputs; unwanted members hold what the CPU backend leaves there. */
void op_expect_moments(op_env *e, const qdml_moments *ref, const qdml_moments *got, const unsigned char *want);

/* |a - b| <= tol * scale, scale > 0. */
static inline int op_near(double a, double b, double tol, double scale) { return fabs(a - b) <= tol * scale; }
static inline const char *op_prec_name(qdml_precision p) { return p == QDML_FLOAT32 ? "float32" : "float64"; }

/* The cases outside op_cases.c. */
void op_case_steps(op_env *e);
void op_case_steps_renorm(op_env *e);
void op_case_steps_late_stops(op_env *e);
void op_case_steps_composition(op_env *e);

#endif
