/* The walkers' backend interface (include/qdml/qdml_walkers.h is the public side; host/walkers.c the
 * driver over it). A backend holds every member's population where it computes (host memory for the
 * CPU, device memory for CUDA), runs whole steps of all members (core/walkers.h per walker), and
 * reports each step's sums. The registry (registry.c) names each backend's table. */
#ifndef QDML_WALKERS_PRIVATE_H
#define QDML_WALKERS_PRIVATE_H

#include <stdint.h>

#include <qdml/qdml_walkers.h>

/* A member's objective as the backends see it. */
typedef struct qdml_walk_objective {
    int set;               /* 0: none yet, 1: built-in, 2: callback */
    qdml_objective obj;    /* built-in */
    const double *axes;    /* built-in: its per-axis parameters, naxes x dim (the driver owns them) */
    int naxes;
    qdml_walker_fn fn;     /* callback */
    void *user;
} qdml_walk_objective;

typedef struct qdml_walk_desc {
    int dim;
    int64_t batch, target, capacity; /* capacity: walkers per member */
    uint64_t seed;
    double alpha;
    int nthreads; /* CPU */
    int device;   /* CUDA: -1 the current one */
} qdml_walk_desc;

/* The constants of a run, the same for every member. */
typedef struct qdml_walk_run {
    double dt, hbar, mass, feedback;
} qdml_walk_run;

typedef struct qdml_walk_state qdml_walk_state;

typedef struct qdml_walker_ops {
    const char *name;
    int callbacks; /* 1: evaluates qdml_walker_fn callbacks */
    qdml_status (*create)(const qdml_walk_desc *d, qdml_walk_state **out);
    void (*destroy)(qdml_walk_state *s);
    /* The member's objective; its walkers are then unplaced until place. */
    qdml_status (*set_objective)(qdml_walk_state *s, int64_t member, const qdml_walk_objective *o);
    /* count walkers at x (count x dim) or, x NULL, uniform in [lo, hi] from the seed; evaluate them;
     * E_ref and its running estimate := their mean local energy; step 0; the best point theirs. */
    qdml_status (*place)(qdml_walk_state *s, int64_t member, int64_t count, const double *x, const double *lo,
                         const double *hi);
    /* n steps of every member with run constants r; rec: n x batch entries (step-major). On a DIVERGED
     * step of any member every member stands after its last good step and *done tells how many steps
     * were made. */
    qdml_status (*steps)(qdml_walk_state *s, int64_t n, const qdml_walk_run *r, qdml_walkers_step *rec,
                         int64_t *done);
    qdml_status (*positions)(qdml_walk_state *s, int64_t member, double *x, int64_t capacity, int64_t *count);
    qdml_status (*best)(qdml_walk_state *s, int64_t member, double *x, double *f);
} qdml_walker_ops;

/* Mean, width and marginal mode of coordinate a of n walkers (x: n x dim; tmp: n doubles; mode may be
 * NULL); walkers_stats.c. */
void qdml_walkers_coordinate_summary(const double *x, int64_t n, int dim, int a, double *tmp, double *mean,
                                     double *width, double *mode);

extern const qdml_walker_ops qdml_walkers_cpu_ops;
#ifdef QDML_HAVE_CUDA
extern const qdml_walker_ops qdml_walkers_cuda_ops;
#endif


#endif
