/* Walkers: the imaginary-time Schroedinger equation without a grid, by diffusion Monte Carlo, in any
 * dimension (1 .. QDML_WALKERS_MAX_DIM), for a batch of objectives at once.
 *
 * A member is a population of walkers (points x in R^dim) that diffuse with Gaussian steps of variance
 * hbar dt / m per coordinate, are weighted by exp(-(V - E_ref) dt / hbar) (V = the member's objective,
 * the local energy with a trial function) and branch: floor(w + u) copies of each. E_ref steers the
 * population to its target. The density converges to the ground state psi_0 of -(hbar^2 / 2m) lap + V
 * (with a trial function psi_T = exp(-alpha V) and its drift: to psi_T psi_0), and two estimators give
 * its energy E_0: the growth estimator (from the total weight) and the mixed estimator (the weighted
 * local energy), each with a statistical error from a blocking analysis of its time series. Lowering
 * hbar in stages (annealing) moves the walkers to the objective's global minimum.
 *
 * Same seed, same backend, same walkers, same calls: the same numbers, bit for bit, whatever the
 * number of threads (counter-based random numbers, sums in a fixed order). The equations, estimators,
 * their biases and the checks: docs/walkers.md. Every call is on the calling thread; a qdml_walkers
 * must not be used by two threads at once. Functions return QDML_OK or a status with a message in
 * qdml_last_error_message() and in the context.
 */
#ifndef QDML_WALKERS_PUBLIC_H
#define QDML_WALKERS_PUBLIC_H

#include <qdml/qdml.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QDML_WALKERS_MAX_DIM 100000

typedef struct qdml_walkers qdml_walkers;

typedef struct qdml_walkers_config {
    int dim;          /* 1 .. QDML_WALKERS_MAX_DIM */
    int64_t batch;    /* members (objectives), >= 1 */
    int64_t walkers;  /* target population of each member, 16 .. 2^28 */
    double capacity;  /* room per member, as a multiple of `walkers` (0: 4); a step that would grow a
                         population past it fails with DIVERGED; >= 1.5 */
    uint64_t seed;    /* the random numbers' key */
    double alpha;     /* importance sampling with psi_T = exp(-alpha f): drift and Metropolis test;
                         0: plain diffusion. > 0 needs a gradient (built-ins: qdml_walkers_has_gradient;
                         callbacks: qdml_walker_grad_fn) */
} qdml_walkers_config;

/* A caller's objective for the walkers: f(x) for x of dim coordinates. With grad non-NULL it must also
 * write grad f (dim values) and *laplacian (sum of second derivatives). Called on the calling thread
 * in walker order; it must not call qdml functions on this qdml_walkers. */
typedef double (*qdml_walker_fn)(const double *x, int dim, double *grad, double *laplacian, void *user);

/* A population for `config` on ctx's backend (CPU: its threads; CUDA: its device; the walkers' memory
 * is (2 capacity walkers (dim + 3) + dim) doubles per member, twice the dim part with alpha > 0).
 * Members have no objective until set. Errors: INVALID_ARGUMENT (NULL, a field out of range),
 * OVERFLOW, OUT_OF_MEMORY, UNAVAILABLE (the backend has no walkers: none yet than CPU and CUDA),
 * BACKEND. */
QDML_API qdml_status qdml_walkers_create(qdml_walkers **out, qdml_context *ctx, const qdml_walkers_config *config);
QDML_API void qdml_walkers_destroy(qdml_walkers *w);

/* 1 where qdml_walkers_config.alpha > 0 may be used with built-in `kind` (derivatives in closed form:
 * harmonic, double_well, poschl_teller, morse, rastrigin, styblinski_tang, sumofsquares). */
QDML_API int qdml_walkers_has_gradient(qdml_objective_kind kind);

/* How many per-axis parameters `kind` has (each takes dim values in qdml_walkers_set_objective's axes):
 * 2 for harmonic (k, c) and gaussian_wells (c1, c2), 1 for poschl_teller, morse and easom, else 0 (also for
 * a value that is not a kind). */
QDML_API int qdml_walkers_axis_parameters(qdml_objective_kind kind);

/* Member `member`'s objective (-1: every member): a built-in in dim dimensions. Its per-axis
 * parameters (harmonic k and c, gaussian_wells c1 and c2, poschl_teller c, morse re, easom c) come from
 * `axes` when it is not NULL: each such parameter's dim values in turn (harmonic: k[0..dim), then
 * c[0..dim)). With axes NULL they come from the objective's slots: in dim <= 3 one per axis, and in
 * dim > 3 the value every slot of the parameter holds (a parameter whose slots differ is refused:
 * pass axes). Errors: INVALID_ARGUMENT (validation as qdml_objective_validate; a kind defined in 2D
 * only with dim != 2; alpha > 0 with a kind without derivatives), then the walkers must be placed
 * again (qdml_walkers_place). */
QDML_API qdml_status qdml_walkers_set_objective(qdml_walkers *w, int64_t member, const qdml_objective *objective,
                                                const double *axes);
/* Member `member`'s objective (-1: every member) from a callback. CPU backend only (UNAVAILABLE on
 * CUDA: the callback runs on the host). */
QDML_API qdml_status qdml_walkers_set_objective_fn(qdml_walkers *w, int64_t member, qdml_walker_fn fn, void *user);

/* Place `count` walkers of member `member` (-1: every member) at x (count x dim values, walker-major),
 * or, with x NULL, `count` walkers drawn from the seed uniformly in the box [lo, hi]^dim (lo and hi:
 * dim values each; NULL lo and hi: the objective's usual domain, qdml_objective_domain, for a built-in
 * in dim <= 3, and the box of its axis 0 on every axis above; a callback needs lo and hi). count 0:
 * the target population. E_ref starts at the walkers' mean local energy; the step count, the best
 * point and the estimators start again. Errors: INVALID_ARGUMENT (count out of 1 .. capacity,
 * non-finite x, lo >= hi), NOT_READY (no objective), DIVERGED (no walker has a finite objective value),
 * BACKEND. */
QDML_API qdml_status qdml_walkers_place(qdml_walkers *w, int64_t member, int64_t count, const double *x,
                                        const double *lo, const double *hi);

/* What one step did to one member (qdml_walkers_run's history). */
typedef struct qdml_walkers_step {
    double eref;       /* E_ref during the step */
    double growth;     /* E_ref - (hbar / dt) ln(sum of weights / population before) */
    double mixed;      /* the weighted mean local energy after the move */
    double mean_f;     /* the weighted mean objective after the move */
    double acceptance; /* fraction of moves accepted (1 without a trial function) */
    int64_t population; /* after branching */
} qdml_walkers_step;

typedef int (*qdml_walkers_monitor_fn)(int64_t step, const qdml_walkers_step *steps /* batch entries */,
                                       void *user);

typedef struct qdml_walkers_run_options {
    double dt;             /* imaginary-time step, > 0 */
    double hbar, mass;     /* > 0 (0: 1) */
    int64_t steps;         /* steps measured (after equilibration), >= 1 */
    int64_t equilibration; /* steps before measuring (-1: steps / 4) */
    double feedback;       /* population control: E_ref = E_est - (hbar / (feedback dt)) ln(N / target),
                              E_est the mixed energy averaged over `feedback` steps (0: 20); >= 1 */
    qdml_walkers_monitor_fn monitor; /* called every monitor_every steps (NULL: none); nonzero stops */
    int64_t monitor_every;
    void *user;
} qdml_walkers_run_options;

typedef struct qdml_walkers_result {
    double energy, energy_error;       /* the growth estimator and its 1-sigma error */
    double mixed_energy, mixed_error;  /* the mixed estimator and its error */
    double mean_f, mean_f_error;       /* <f> over the walkers' density (psi_0, or psi_T psi_0) */
    double correlation_steps;          /* the growth estimator's integrated correlation: error^2 n / variance */
    double acceptance;                 /* mean over the measured steps */
    double mean_population;            /* mean over the measured steps */
    double best_f;                     /* the lowest objective value any walker had at a step's end */
    int64_t steps;                     /* measured steps */
} qdml_walkers_result;

/* Run equilibration + steps steps of every member from where it stands (a further run continues the
 * same walkers, E_ref and step counter), then estimate from the measured steps. results: batch entries
 * (may be NULL); history: (equilibration + steps) x batch entries, step-major (may be NULL).
 * The errors need 16 measured steps (NaN with fewer: a monitor's early stop). Errors: INVALID_ARGUMENT
 * (options), NOT_READY (a member not placed), DIVERGED (a population died out or grew past its capacity:
 * the message names the member and step, and a smaller dt or a larger population is the remedy; that
 * member's walkers are as they were before its failing step, while the other members may have made that
 * step, and on CUDA the rest of the call's steps), BACKEND. A monitor's stop returns QDML_OK with the
 * estimators of the steps run so far. */
QDML_API qdml_status qdml_walkers_run(qdml_walkers *w, const qdml_walkers_run_options *options,
                                      qdml_walkers_result *results, qdml_walkers_step *history);

/* The lowest point any walker of `member` reached since it was placed: x (dim values), f (may be NULL). */
QDML_API qdml_status qdml_walkers_best(const qdml_walkers *w, int64_t member, double *x, double *f);
/* The current walkers of `member`: their number into *count, and up to `capacity` of them into x
 * (capacity x dim values; NULL when capacity is 0). */
QDML_API qdml_status qdml_walkers_positions(const qdml_walkers *w, int64_t member, double *x, int64_t capacity,
                                            int64_t *count);
/* The current walkers' mean, width (standard deviation) and mode estimate per coordinate (each dim
 * values, any may be NULL). The mode of each coordinate is the centre of the fullest bin of its
 * histogram (bins of 2 IQR / N^(1/3), Freedman-Diaconis), refined by a parabola through it and its
 * neighbours: the density's peak where its marginals peak together, as at a well-resolved minimum. */
QDML_API qdml_status qdml_walkers_summary(const qdml_walkers *w, int64_t member, double *mean, double *width,
                                          double *mode);

/* Annealing in hbar: `stages` runs of `options` with hbar from options->hbar down to hbar_end
 * geometrically, every member, the walkers going on from stage to stage (each stage equilibrates
 * and measures as options says). results: the last stage's; best points over all stages
 * (qdml_walkers_best). Errors: those of qdml_walkers_run; INVALID_ARGUMENT (stages < 1, hbar_end
 * <= 0 or > hbar). */
QDML_API qdml_status qdml_walkers_anneal(qdml_walkers *w, const qdml_walkers_run_options *options, double hbar_end,
                                         int stages, qdml_walkers_result *results);

/* Blocking analysis of a time series (Flyvbjerg & Petersen 1989, with Jonsson's automatic choice of the
 * block size, Phys. Rev. E 98, 043304, 2018): the mean of x[0..n) and its standard error, counting
 * correlations. Uses the last 2^floor(log2 n) values. *level: the number of halvings chosen (may be
 * NULL). Errors: INVALID_ARGUMENT (NULL, n < 16, a non-finite value). */
QDML_API qdml_status qdml_blocking_error(const double *x, int64_t n, double *mean, double *error, int *level);

/* Extrapolation dt -> 0 of estimates e[i] +- err[i] at steps dt[i] (n >= 2, distinct dt): weighted least
 * squares of e = E0 + a dt^order (n = 2) or E0 + a dt^order + b dt^(order + 1) (n >= 3). order: the
 * leading order of the time-step error, 2 for plain diffusion (the symmetric weight), 1 with a trial
 * function. *e0 and its 1-sigma error *e0_error. Errors: INVALID_ARGUMENT (NULL, n < 2, order not 1 or
 * 2, a non-positive dt or error, equal dt). */
QDML_API qdml_status qdml_walkers_extrapolate(const double *dt, const double *e, const double *err, int n, int order,
                                              double *e0, double *e0_error);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif
