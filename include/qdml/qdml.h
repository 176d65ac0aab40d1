/*
 * qdml - quantum dynamics for machine learning.
 *
 * Evolves i hbar dpsi/dt = -(hbar^2/2m) lap psi + V psi on periodic grids, in real time and in
 * imaginary time (hbar dpsi/dtau = (hbar^2/2m) lap psi - V psi, which converges to the ground
 * state), for a batch of potentials at once. The potential V is the objective of an optimisation
 * problem: its ground-state density concentrates on the minima as hbar shrinks.
 *
 * THIS HEADER IS A REFERENCE, NOT A MANUAL: one short block per function (what it does, what it
 * returns, how it fails). The numerics are explained in docs/numerics.md, the built-in objectives
 * in docs/objectives.md, checkpoints in docs/checkpoints.md; measured figures in perf/RESULTS.md.
 *
 * Conventions:
 *  - Every function that can fail returns a qdml_status; the context keeps a message naming the
 *    argument and the value (qdml_context_last_error). Nothing prints, exits or aborts.
 *  - Handles are opaque, created and destroyed in pairs; destroy functions accept NULL.
 *  - Arrays passed in are copied; the caller keeps ownership of its memory.
 *  - Complex arrays are interleaved doubles (re0, im0, re1, ...): the layout of C99 double complex,
 *    std::complex<double>, fftw_complex and cufftDoubleComplex.
 *  - Grid arrays are C order (last axis fastest); batched arrays put the member outermost: element
 *    (b, i) is at b * npoints + i.
 *  - Grid points are x_j = lo + j (hi - lo) / n per axis: the box [lo, hi) is periodic. dV is the
 *    product of the spacings; wavefunctions are normalised to sum |psi|^2 dV = 1 (the "norm").
 *
 * Thread safety:
 *  - Distinct contexts (with their problems) may be used from different threads at once, with the
 *    same results as one after another. A program that also calls FFTW from other threads should
 *    call fftw_make_planner_thread_safe() too.
 *  - Calls on one context or any of its problems must not overlap (even const ones): serialise them
 *    or give each thread its own context. A problem may move between threads between calls.
 *  - Calls without a context or problem (version, names, grids, qdml_backend_available, device
 *    queries, qdml_checkpoint_info, qdml_objective_*) may be made from any thread at any time; their
 *    errors go to qdml_last_error_message(), which is per thread.
 *  - Monitor callbacks run on the calling thread, inside the call.
 *  - Reproducibility: the same backend, thread count and FFT plans give the same bits every time.
 *    QDML_FFT_ESTIMATE always chooses the same plans; MEASURE and PATIENT time candidates and may
 *    choose others in another process, changing the last bits.
 */
#ifndef QDML_QDML_H
#define QDML_QDML_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Symbols of the shared library; everything else in it is hidden. */
#if defined(QDML_BUILDING) && defined(__GNUC__)
#define QDML_API __attribute__((visibility("default")))
#else
#define QDML_API
#endif

/* ---------------------------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------------------------- */

#define QDML_VERSION_MAJOR 0
#define QDML_VERSION_MINOR 1
#define QDML_VERSION_PATCH 0
#define QDML_VERSION_STRING "0.1.0"
/* Single number for compile-time comparisons: major*10000 + minor*100 + patch. */
#define QDML_VERSION_NUMBER (QDML_VERSION_MAJOR * 10000 + QDML_VERSION_MINOR * 100 + QDML_VERSION_PATCH)

/* Run-time version of the linked library, e.g. "0.1.0". Static storage; never NULL. */
QDML_API const char *qdml_version_string(void);
/* Run-time QDML_VERSION_NUMBER of the linked library. */
QDML_API int qdml_version_number(void);

/* ---------------------------------------------------------------------------------------------
 * Status codes
 * ------------------------------------------------------------------------------------------- */

typedef enum qdml_status {
    QDML_OK = 0,
    QDML_ERR_INVALID_ARGUMENT = 1, /* an argument is out of range, NULL, non-finite, ... */
    QDML_ERR_OUT_OF_MEMORY = 2,    /* an allocation failed; nothing was leaked */
    QDML_ERR_OVERFLOW = 3,         /* a size computation (points x batch x bytes) overflows */
    QDML_ERR_BACKEND = 4,          /* FFTW / CUDA / cuFFT reported a failure */
    QDML_ERR_UNAVAILABLE = 5,      /* the requested backend is not compiled in or has no device */
    QDML_ERR_DIVERGED = 6,         /* a non-finite value appeared; the last good state was kept */
    QDML_ERR_NOT_READY = 7,        /* a call came before what it needs (e.g. no potential set) */
    QDML_ERR_INTERNAL = 8,         /* a bug in qdml: please report it with the message */
    QDML_ERR_IO = 9                /* a file could not be opened, read, written, synced or renamed */
} qdml_status;

/* Name of a status, e.g. "QDML_ERR_INVALID_ARGUMENT: invalid argument". Static; never NULL. */
QDML_API const char *qdml_status_string(qdml_status status);

/* ---------------------------------------------------------------------------------------------
 * Context: backend choice, threads, FFT planning effort, precision, last error message.
 * ------------------------------------------------------------------------------------------- */

typedef enum qdml_backend {
    QDML_BACKEND_CPU = 0,  /* FFTW + OpenMP, float64 */
    QDML_BACKEND_CUDA = 1, /* NVIDIA GPU (cuFFT); not part of this build unless compiled in */
    QDML_BACKEND_AUTO = 2  /* CUDA where a device is present, else CPU */
} qdml_backend;

typedef enum qdml_fft_effort {
    QDML_FFT_ESTIMATE = 0, /* plan instantly by heuristics (FFTW_ESTIMATE) */
    QDML_FFT_MEASURE = 1,  /* time candidate plans once per problem shape (FFTW_MEASURE; default) */
    QDML_FFT_PATIENT = 2   /* try more candidates (FFTW_PATIENT); slow to plan, for long runs */
} qdml_fft_effort;

typedef enum qdml_precision {
    QDML_FLOAT64 = 0, /* double precision everywhere (default) */
    QDML_FLOAT32 = 1  /* single precision state and transforms (CUDA backend); host arrays stay double */
} qdml_precision;

typedef struct qdml_context qdml_context;

/* Create a context on `backend`; nthreads <= 0: all cores, else exactly nthreads CPU threads.
 * Errors: INVALID_ARGUMENT (out NULL, unknown backend), UNAVAILABLE (not compiled in, or no device),
 * OUT_OF_MEMORY. On failure *out is NULL and the message is in qdml_last_error_message(). */
QDML_API qdml_status qdml_context_create(qdml_context **out, qdml_backend backend, int nthreads);
/* Free a context; destroy its problems first. NULL is accepted. */
QDML_API void qdml_context_destroy(qdml_context *ctx);
/* The backend in use (never QDML_BACKEND_AUTO). */
QDML_API qdml_backend qdml_context_backend(const qdml_context *ctx);
/* Threads the CPU backend uses. */
QDML_API int qdml_context_threads(const qdml_context *ctx);
/* This process's rank among the context's (0 .. ranks - 1) and how many there are: 0 and 1 for a context
 * of one process; for one made from an MPI communicator (qdml_mpi.h), its rank and size. Every rank makes
 * the same calls; a problem's getters, statistics and results are the whole problem's on every rank, and
 * qdml_checkpoint_save writes on rank 0 alone. */
QDML_API int qdml_context_rank(const qdml_context *ctx);
QDML_API int qdml_context_ranks(const qdml_context *ctx);
/* Planning effort for problems created afterwards (default QDML_FFT_MEASURE). */
QDML_API qdml_status qdml_context_set_fft_effort(qdml_context *ctx, qdml_fft_effort effort);
/* Precision of problems created afterwards (default QDML_FLOAT64). QDML_FLOAT32 needs the CUDA
 * backend: on the CPU backend qdml_problem_create then fails with UNAVAILABLE. Arrays crossing the
 * API are double either way. */
QDML_API qdml_status qdml_context_set_precision(qdml_context *ctx, qdml_precision precision);
QDML_API qdml_precision qdml_context_precision(const qdml_context *ctx);
/* FFTW wisdom file for problems created afterwards (CPU backend): read before planning, rewritten
 * atomically after, so plans are timed once per machine. "<path>.paths" beside it keeps which way
 * of running a step was measured fastest for each shape, batch and thread count. NULL or "" turns
 * both off (the default). Unreadable or damaged files are ignored and rewritten. The path is copied
 * (at most 4095 bytes). */
QDML_API qdml_status qdml_context_set_fft_wisdom(qdml_context *ctx, const char *path);
/* Message of the last failure on this context ("" if none); valid until the next call on it. */
QDML_API const char *qdml_context_last_error(const qdml_context *ctx);
/* Message of the last failure of a call that had no context (context creation, grids, ...), per
 * thread. Never NULL. */
QDML_API const char *qdml_last_error_message(void);
/* Backend names "cpu", "cuda", "auto"; NULL for an unknown value. */
QDML_API const char *qdml_backend_name(qdml_backend backend);
/* Nonzero if `backend` is compiled into this build and usable now (CUDA: a device is present). */
QDML_API int qdml_backend_available(qdml_backend backend);
/* Why `backend` is not usable now, into buf (len bytes, truncated; "" where it is): not compiled into
 * this build (and how to build it in), no driver, no device, or the driver's error by name and text.
 * Returns 0 where the backend is usable, 1 where it is not, -1 for an unknown backend or buf NULL. */
QDML_API int qdml_backend_unavailable_reason(qdml_backend backend, char *buf, size_t len);

/* Devices this build can use: 0 without the CUDA backend, a driver or a device. */
QDML_API int qdml_device_count(void);
/* Name of device `index` (truncated to namelen - 1; name may be NULL) and its total memory in bytes
 * (total_bytes may be NULL). Errors: INVALID_ARGUMENT (index out of range), BACKEND (driver). */
QDML_API qdml_status qdml_device_info(int index, char *name, size_t namelen, size_t *total_bytes);

/* ---------------------------------------------------------------------------------------------
 * Grid: a periodic box of 1 to QDML_MAX_DIM dimensions. A plain value type.
 * ------------------------------------------------------------------------------------------- */

#define QDML_MAX_DIM 3

typedef struct qdml_grid {
    int dim;                 /* 1 .. QDML_MAX_DIM */
    int64_t n[QDML_MAX_DIM]; /* points per axis, >= 1 each (FFT sizes: any, powers of small primes fastest) */
    double lo[QDML_MAX_DIM]; /* box lower edge per axis (included) */
    double hi[QDML_MAX_DIM]; /* box upper edge per axis (excluded; periodic image of lo) */
} qdml_grid;

/* Fill a grid with n points on [lo, hi) on each of `dim` axes. Errors: INVALID_ARGUMENT (dim outside
 * 1..QDML_MAX_DIM, n < 1, non-finite bounds, lo >= hi; a spacing below the smallest normal double or
 * so small that (pi / spacing)^2 overflows, a volume element dV outside the normal doubles), message
 * in qdml_last_error_message(). */
QDML_API qdml_status qdml_grid_init(qdml_grid *grid, int dim, const int64_t *n, const double *lo, const double *hi);
/* Check a grid; on failure the thread-local message names the axis and value. */
QDML_API qdml_status qdml_grid_validate(const qdml_grid *grid);
/* Number of points (product of n); 0 if the grid is invalid or the product overflows. */
QDML_API int64_t qdml_grid_points(const qdml_grid *grid);
/* Spacing (hi - lo) / n on `axis`, and the volume element dV (product of spacings). */
QDML_API double qdml_grid_spacing(const qdml_grid *grid, int axis);
QDML_API double qdml_grid_dv(const qdml_grid *grid);

/* ---------------------------------------------------------------------------------------------
 * Problem: a batch of B wavefunctions on one grid, each with its own potential, hbar and mass.
 * Sizes, batch and FFT plans are fixed at creation; stepping is cheap (a plan, in FFTW's sense).
 * ------------------------------------------------------------------------------------------- */

typedef struct qdml_problem qdml_problem;

/* Apply a setter to every batch member. */
#define QDML_ALL_MEMBERS (-1)

/* Create a problem of `batch` (>= 1) members on `grid`, allocating its memory and FFT plans now
 * (a 4th-order run on the CPU backend adds a second set of step tables, 32 bytes per point and
 * member, when it can). Initial state uniform and normalised; no potential (runs fail with
 * NOT_READY until one is set); hbar = mass = 1.
 * Errors: INVALID_ARGUMENT, OVERFLOW (points x batch x bytes), OUT_OF_MEMORY, BACKEND. */
QDML_API qdml_status qdml_problem_create(qdml_context *ctx, const qdml_grid *grid, int64_t batch, qdml_problem **out);
/* Bytes (device memory on CUDA, host memory on the CPU) qdml_problem_create would allocate with this
 * context's backend and precision, FFT work areas included. Creates nothing.
 * Errors: INVALID_ARGUMENT, OVERFLOW, UNAVAILABLE (precision not offered by the backend). */
QDML_API qdml_status qdml_problem_bytes_needed(qdml_context *ctx, const qdml_grid *grid, int64_t batch, size_t *bytes);
/* Free a problem and everything it owns. NULL is accepted. */
QDML_API void qdml_problem_destroy(qdml_problem *problem);
/* Sizes. */
QDML_API int64_t qdml_problem_batch(const qdml_problem *problem);
QDML_API int64_t qdml_problem_points(const qdml_problem *problem);
QDML_API const qdml_grid *qdml_problem_grid(const qdml_problem *problem);
QDML_API qdml_precision qdml_problem_precision(const qdml_problem *problem);

/* Potential (energy units) of one member, or of all with QDML_ALL_MEMBERS: qdml_problem_points()
 * doubles at the grid points, copied in. Errors: INVALID_ARGUMENT (NULL array, member out of
 * range, a NaN or infinite value: the first bad index is named). */
QDML_API qdml_status qdml_problem_set_potential(qdml_problem *problem, int64_t member, const double *values);
/* Read back the potential of one member (qdml_problem_points() doubles). */
QDML_API qdml_status qdml_problem_get_potential(const qdml_problem *problem, int64_t member, double *values);
/* Reduced Planck constant and mass: > 0 and finite; default 1. */
QDML_API qdml_status qdml_problem_set_hbar(qdml_problem *problem, int64_t member, double hbar);
QDML_API qdml_status qdml_problem_set_mass(qdml_problem *problem, int64_t member, double mass);
QDML_API qdml_status qdml_problem_get_hbar(const qdml_problem *problem, int64_t member, double *hbar);
QDML_API qdml_status qdml_problem_get_mass(const qdml_problem *problem, int64_t member, double *mass);

/* Initial states. Setting a state clears the statistics history of that member. */

/* Product of Gaussian packets, one per axis (continuum-normalised, not renormalised on the grid):
 *   psi = prod_d (2 pi s_d^2)^(-1/4) exp(-(x_d - c_d)^2 / (4 s_d^2) + i k_d (x_d - c_d))
 * center c, width s (> 0: the standard deviation of |psi|^2) and wavenumber k (momentum hbar k)
 * per axis; `momentum` may be NULL for k = 0. Arrays hold grid.dim values. */
QDML_API qdml_status qdml_problem_set_state_gaussian(qdml_problem *problem, int64_t member, const double *center,
                                            const double *width, const double *momentum);
/* Uniform state 1/sqrt(box volume) (normalised). */
QDML_API qdml_status qdml_problem_set_state_uniform(qdml_problem *problem, int64_t member);
/* A caller's state: 2 * qdml_problem_points() interleaved doubles, copied in as given (not
 * renormalised). Errors: INVALID_ARGUMENT for NULL or non-finite values (first bad index named). */
QDML_API qdml_status qdml_problem_set_state(qdml_problem *problem, int64_t member, const double *psi_interleaved);
/* Copy the current state of one member out: 2 * qdml_problem_points() interleaved doubles. */
QDML_API qdml_status qdml_problem_get_state(const qdml_problem *problem, int64_t member, double *psi_interleaved);
/* Points [first, first + count) of a member's state (2 count interleaved doubles, the member's flat C order),
 * to write a state that no process holds whole: call it for parts that cover the member in order, from
 * first = 0, with no other call on the problem in between (the first part copies the member out where the
 * backend cannot give parts, and the last releases it). On an MPI context (qdml_mpi.h) it is collective and
 * fills psi on rank 0 alone, each part gathered from the ranks that hold it. Errors: INVALID_ARGUMENT (NULL,
 * member, a range outside the member), OUT_OF_MEMORY, BACKEND. */
QDML_API qdml_status qdml_problem_get_state_part(qdml_problem *problem, int64_t member, int64_t first, int64_t count,
                                                 double *psi_interleaved);
/* Copy |psi|^2 of one member out: qdml_problem_points() doubles. */
QDML_API qdml_status qdml_problem_get_density(const qdml_problem *problem, int64_t member, double *density);
/* The success probability of one member: the share of its density sum |psi|^2 dV / norm at the grid
 * points within Euclidean distance `radius` (box units, no periodic wrap) of the nearest of `ncenters`
 * points (centers: ncenters x dim coordinates), such as an objective's known global minimisers
 * (qdml_objective_minimum). Errors: INVALID_ARGUMENT (NULL, member out of range, ncenters outside
 * 1 .. 10^6, radius not finite or negative, a center not finite, a zero or non-finite state),
 * OUT_OF_MEMORY, BACKEND. */
QDML_API qdml_status qdml_problem_success_probability(const qdml_problem *problem, int64_t member,
                                                      const double *centers, int64_t ncenters, double radius,
                                                      double *probability);

/* ---------------------------------------------------------------------------------------------
 * Statistics: what monitoring computes per member.
 * ------------------------------------------------------------------------------------------- */

typedef struct qdml_stats {
    int64_t step;     /* steps taken by this member since its state was set */
    double time;      /* elapsed time (real mode) or imaginary time tau (imaginary mode) */
    double dt;        /* the step size in force at this point (0 before any step) */
    double norm;      /* sum |psi|^2 dV */
    double kinetic;   /* <T> = <psi| -(hbar^2/2m) lap |psi> / norm, computed spectrally */
    double potential; /* <V> = <psi| V |psi> / norm */
    double energy;    /* E = <H> = kinetic + potential */
    double residual;  /* || H psi - E psi || / || psi ||  (energy units; 0 for an eigenstate) */
    double mean[QDML_MAX_DIM];  /* <x_d> under |psi|^2 / norm, box coordinates (no unwrapping) */
    double width[QDML_MAX_DIM]; /* sqrt(<x_d^2> - <x_d>^2) */
    double density_max;         /* max |psi|^2 over the grid (not divided by norm) */
    double argmax[QDML_MAX_DIM]; /* coordinates of that maximum (first one in C order) */
    int64_t argmax_index;        /* its flat C-order index */
} qdml_stats;

/* Compute the statistics of one member's current state now. */
QDML_API qdml_status qdml_problem_stats(qdml_problem *problem, int64_t member, qdml_stats *out);

/* Called every `monitor_every` steps and at the end of a run with the statistics of all `batch`
 * members. Return nonzero to stop the run (stopped_by_callback). Runs on the calling thread; must
 * not call qdml functions on the same problem. */
typedef int (*qdml_monitor_fn)(const qdml_stats *stats, int64_t batch, void *user);

/* The statistics recorded at every monitoring point since the member's state was last set: up to
 * `capacity` entries, oldest first, into `out` (NULL when capacity is 0); *count = all recorded. */
QDML_API qdml_status qdml_problem_history(const qdml_problem *problem, int64_t member, qdml_stats *out, size_t capacity,
                                 size_t *count);
/* Forget the recorded history of one member or all. */
QDML_API qdml_status qdml_problem_clear_history(qdml_problem *problem, int64_t member);

/* ---------------------------------------------------------------------------------------------
 * Fixed-step evolution: Strang split-step Fourier, potential half-steps outside, or a 4th-order
 * composition of Strang steps (docs/numerics.md).
 * ------------------------------------------------------------------------------------------- */

typedef enum qdml_time_mode {
    QDML_REAL_TIME = 0,
    QDML_IMAGINARY_TIME = 1
} qdml_time_mode;

typedef enum qdml_splitting {
    QDML_SPLIT_STRANG = 0,   /* 2nd order, one FFT pair per step (default) */
    QDML_SPLIT_YOSHIDA4 = 1, /* 4th order, 3 Strang substeps per step (one negative) */
    QDML_SPLIT_SUZUKI4 = 2,  /* 4th order, 5 Strang substeps per step, smaller negative substep */
    QDML_SPLIT_CHIN4 = 3     /* 4th order with every substep forward (S. A. Chin, Phys. Lett. A 226, 344
                                (1997)): e^{-V/6} e^{-T/2} e^{-2 V~/3} e^{-T/2} e^{-V/6} in units of the step,
                                V~ = V +- (dt^2 / 48 m) |grad V|^2 (+ imaginary, - real time); two FFT pairs
                                per step, no backward diffusion, so no step limit in imaginary time. The CPU
                                backend (|grad V|^2 by 8th-order central differences); UNAVAILABLE on CUDA */
} qdml_splitting;

typedef struct qdml_evolve_options {
    qdml_time_mode mode;   /* default QDML_REAL_TIME */
    double dt;             /* step, > 0 and finite (no default: must be set) */
    int64_t steps;         /* number of steps, >= 0 (default 0) */
    int64_t monitor_every; /* statistics every k steps (k >= 1) and at the end; 0 = only at the end (default) */
    int renormalize;       /* imaginary time only: keep the norm at 1 (default 1). 0 evolves the linear
                              equation as it is (the heat kernel), with no rescaling at all. */
    int potential_only;    /* 1: omit the kinetic step (D = hbar/2m -> 0 limit: no dispersion/diffusion;
                              the softmax limit of the paper). Default 0. */
    qdml_monitor_fn monitor; /* optional callback (NULL) */
    void *monitor_user;
    qdml_splitting splitting; /* default QDML_SPLIT_STRANG (0). One composed step counts as one step and
                                 advances time by dt; statistics, histories and checkpoints record dt.
                                 Give the same splitting again when resuming from a checkpoint. */
    int no_statistics;     /* 1: take the steps only, for loops of a few steps a call: the start is not
                              checked, no backup is kept, nothing is measured or recorded, a member that
                              turns non-finite is not noticed (qdml_problem_stats measures the state when
                              wanted), and results[b].final has step, time and dt, the rest NaN; needs
                              monitor_every = 0 and no monitor. The states are those of the same steps with
                              statistics, bit for bit. Default 0. */
} qdml_evolve_options;

/* Defaults listed above. */
QDML_API void qdml_evolve_options_default(qdml_evolve_options *options);

/* ---------------------------------------------------------------------------------------------
 * Time-dependent Hamiltonians: H(t) = a(t) T + b(t) V per member, for qdml_problem_evolve with
 * QDML_SPLIT_STRANG. a and b are schedules, evaluated at the midpoint t_s + dt/2 of each step on the
 * member's clock (qdml_stats.time: the time since its state was last set):
 *     e^{-i b(t_s + dt/2) V dt / 2 hbar} e^{-i a(t_s + dt/2) T dt / hbar} e^{-i b(t_s + dt/2) V dt / 2 hbar}
 * (e^{-...} without i in imaginary time), the exponential midpoint rule split by Strang: second order
 * in dt for schedules with two bounded derivatives, as without a schedule (docs/numerics.md). The
 * tables a step needs are rebuilt only where a coefficient changed, by the backend (the CUDA backend's
 * set_step launches kernels and copies nothing to or from the host). Statistics report the unscaled T and V (<V> is the expected objective
 * <f>), energy = <T> + <V>. The ground-state searches and qdml_problem_minimize ignore schedules;
 * checkpoints do not keep them (set them again before resuming: the clock is kept).
 * ------------------------------------------------------------------------------------------- */

typedef enum qdml_schedule_kind {
    QDML_SCHEDULE_CONSTANT = 0,      /* p[0] */
    QDML_SCHEDULE_LINEAR = 1,        /* p[0] + (p[1] - p[0]) min(t / p[2], 1): p[0] to p[1] over p[2] > 0, held */
    QDML_SCHEDULE_GEOMETRIC = 2,     /* p[0] (p[1] / p[0])^min(t / p[2], 1), p[0], p[1] > 0, p[2] > 0 */
    QDML_SCHEDULE_QHD_KINETIC = 3,   /* p[0] / (p[1] + t^3); QHD's e^phi(t) = 2 / (1e-3 + t^3) with p = {2, 1e-3}
                                        (Leng, Hickman, Li, Wu, arXiv:2303.01471, 2023) */
    QDML_SCHEDULE_QHD_POTENTIAL = 4, /* p[0] t^3; QHD's e^chi(t) = 2 t^3 with p[0] = 2 */
    QDML_SCHEDULE_CALLBACK = 5       /* fn(t, user) */
} qdml_schedule_kind;

typedef double (*qdml_schedule_fn)(double t, void *user);

/* A coefficient of time. Every value a run uses must be finite and >= 0 (a negative kinetic coefficient
 * runs diffusion backwards in imaginary time; a negative potential one turns minima into maxima). The
 * built-ins' parameters are checked when set; a callback's values as the run takes them (see evolve). */
typedef struct qdml_schedule {
    qdml_schedule_kind kind;
    double p[3];
    qdml_schedule_fn fn; /* QDML_SCHEDULE_CALLBACK: called on the calling thread, in time order per member */
    void *user;
} qdml_schedule;

/* The schedule of that kind with the defaults above (CONSTANT 1; LINEAR 0 to 1 over 1; GEOMETRIC 1 to
 * 1e-3 over 1; QHD's), into *out. Errors: INVALID_ARGUMENT (NULL, an unknown kind, CALLBACK: set fn). */
QDML_API qdml_status qdml_schedule_default(qdml_schedule_kind kind, qdml_schedule *out);
/* *value = the schedule at time t >= 0. Errors: INVALID_ARGUMENT (NULL, unknown kind, parameters out
 * of range, t negative or not finite, a value not finite or negative: the message gives t and it). */
QDML_API qdml_status qdml_schedule_value(const qdml_schedule *schedule, double t, double *value);
/* Give one member (or QDML_ALL_MEMBERS) the schedules of its kinetic (a) and potential (b) terms; NULL
 * for either is the constant 1, so (NULL, NULL) returns the member to H = T + V. Errors: INVALID_ARGUMENT
 * (NULL problem, member out of range, a schedule qdml_schedule_value refuses at t = 0). */
QDML_API qdml_status qdml_problem_set_schedule(qdml_problem *problem, int64_t member, const qdml_schedule *kinetic,
                                               const qdml_schedule *potential);

/* Outcome of a run, per member. */
typedef struct qdml_run_result {
    qdml_stats final;        /* statistics at the end of the run (of the last good state on DIVERGED) */
    int64_t steps;           /* steps this member took in this run */
    int converged;           /* ground state: residual <= tolerance was reached (0 for evolve) */
    int stopped_by_callback; /* the monitor callback asked to stop */
    int diverged;            /* a non-finite value appeared in this member */
    int finished;            /* ground: this member's search is over (converged, or stopped at the floor
                                of its smallest step); 0 when max_steps or the callback ended the call
                                first, so that a call with options.resume would go on. evolve: 0. */
    int64_t hamiltonian_applications; /* H psi computed for this member (each residual a monitoring point
                                measures, and in LOBPCG each block vector H is applied to; the lowest
                                states: the block's total, on every member) */
    int method;              /* ground searches: the qdml_ground_method that ran (never AUTO); evolve: 0 */
} qdml_run_result;

/* Take options->steps steps on every member; `results` (NULL or batch entries) gets each member's
 * outcome. A member that turns non-finite (or, in real time with monitor_every > 0, whose <H> moves
 * from its start value by more than |<T>| + |<V>| there) is restored to its state at the last
 * monitoring point and left out; the others run to the end unchanged, and DIVERGED is returned at
 * the end, naming the first. Errors: INVALID_ARGUMENT (options; an imaginary-time 4th-order dt
 * whose negative substep would amplify rounding beyond e^20 in float64 or e^8 in float32: the
 * message gives the largest dt that passes; a start state whose norm overflows double precision, or
 * whose energy sums overflow at its scale though not at norm 1: the member named), NOT_READY (no
 * potential), DIVERGED (a zero start state, or one whose sums the potential overflows, is taken out
 * at step 0), BACKEND. With schedules (qdml_problem_set_schedule): QDML_SPLIT_STRANG only (else
 * INVALID_ARGUMENT), the real-time energy check skips the members that have them (H(t) does not
 * conserve <H>), and the schedules are evaluated block by block (256 steps) before each block: a
 * callback value that is not finite and >= 0 ends the run with INVALID_ARGUMENT naming the member,
 * step and time, every member left after the last whole block it completed. */
QDML_API qdml_status qdml_problem_evolve(qdml_problem *problem, const qdml_evolve_options *options, qdml_run_result *results);

/* The energy the imaginary-time split-step operator S of step dt (and `splitting`) assigns to the
 * state of `member`: E_split = -(hbar / 2 dt) ln(||S psi||^2 / ||psi||^2), from one step taken on a
 * copy (the problem's states, clocks and histories are left as they were). At the fixed point of S,
 * E_split is S's eigenvalue, off the exact energy by O(dt^2) for Strang, while <H> there is off by
 * O(dt^4) (it is variational): |<H> - E_split| estimates the splitting error of <H>, from above
 * for the oscillator at every dt (docs/numerics.md). Costs about one step. Errors: INVALID_ARGUMENT
 * (NULL, member, dt, splitting; a state not finite or zero; a composed step qdml_problem_evolve would
 * refuse in imaginary time), NOT_READY, DIVERGED (the step took the state to zero), OUT_OF_MEMORY,
 * BACKEND. */
QDML_API qdml_status qdml_problem_split_energy(qdml_problem *problem, int64_t member, double dt,
                                               qdml_splitting splitting, double *energy);

/* ---------------------------------------------------------------------------------------------
 * Ground state, until the residual || H psi - E psi || / || psi || (of the true H) is under the
 * tolerance (docs/numerics.md): by imaginary time with an automatic step size (each member's step
 * starts large and shrinks when its residual reaches the O(dtau^2) splitting floor; the default), or
 * by LOBPCG on H itself (options.method).
 * ------------------------------------------------------------------------------------------- */

/* How the ground-state searches find their states. */
typedef enum qdml_ground_method {
    QDML_GROUND_IMAGINARY_TIME = 0, /* split-step imaginary time with the adaptive step (default: the physics,
                                       resumable, checkpointed with the problem) */
    QDML_GROUND_LOBPCG = 1,         /* locally optimal block preconditioned conjugate gradient on H itself:
                                       Rayleigh-Ritz over the block, its residuals preconditioned by an
                                       approximate inverse of H in Fourier and real space, and the previous
                                       directions (docs/numerics.md); results[b].steps counts its
                                       iterations. Needs the block-vector ops (both backends) and float64;
                                       not resumable (it starts from the current states). A residual that
                                       turns non-finite ends the call with DIVERGED, every member left as
                                       the last iteration made it (no member is restored or taken out) */
    QDML_GROUND_AUTO = 2            /* LOBPCG where it is available and options.resume is 0, else imaginary
                                       time (what `qdml ground` uses) */
} qdml_ground_method;

typedef struct qdml_ground_options {
    double tolerance;      /* residual tolerance in energy units, > 0 (default 1e-6; float32 reaches
                              about 1e-5 to 1e-4 for order-1 energies) */
    int64_t max_steps;     /* per member, >= 1 (default 200000) */
    int64_t monitor_every; /* residual checked every k steps, >= 1; 0 = automatic (default) */
    double dt_initial;     /* first dtau, > 0; 0 = automatic from the initial state's energy scale (default);
                              one too small to change the state in double precision (dt x scale / hbar
                              below 64 epsilon) is INVALID_ARGUMENT */
    double dt_min;         /* smallest dtau the schedule may use; 0 = automatic (dt_initial * 1e-6); above a
                              member's first step: INVALID_ARGUMENT */
    qdml_monitor_fn monitor; /* optional callback, called at each monitoring point */
    void *monitor_user;
    int method;            /* qdml_ground_method (default QDML_GROUND_IMAGINARY_TIME) */
    int64_t guard_states;  /* LOBPCG: states carried above the wanted ones, so that a small gap among them
                              costs nothing (convergence goes at the gap above the whole block); 0 =
                              automatic (default: the ground search starts without and takes 2 on where
                              its residual falls slowly; max(2, B / 4) for the lowest B states), -1 =
                              none, else 1 .. 64 */
    int resume;            /* 0 (default): start a new search. 1: continue the search the previous call on
                              this problem left (ended by max_steps or the callback, nothing set or evolved
                              since, or restored by qdml_checkpoint_load), with its step sizes, stall counts
                              and convergence flags; give the same tolerance, monitor_every and dt_min. Calls
                              of k steps then add up, bit for bit, to one call of their total steps when k
                              is a multiple of the monitor interval. NOT_READY when there is none. */
} qdml_ground_options;

QDML_API void qdml_ground_options_default(qdml_ground_options *options);

/* Find the ground state of every member from its current state (which must overlap the ground
 * state; a Gaussian or the uniform state is fine). A member stops when converged, or when its
 * residual stops falling at its smallest step (LOBPCG: has not halved in 200 iterations). With
 * LOBPCG every member is its own block of 1 + guard_states vectors. Returns QDML_OK whether or not
 * every member converged: read results[b].converged. Errors as qdml_problem_evolve, and INVALID_ARGUMENT for an
 * initial state that cannot be measured (zero, a norm or energy sums beyond double precision: the
 * member and the quantity named) and for dt_initial or dt_min as above; a member that diverges is
 * restored to its last good state and finished, the others search on, DIVERGED at the end. */
QDML_API qdml_status qdml_problem_ground(qdml_problem *problem, const qdml_ground_options *options, qdml_run_result *results);

/* The lowest B eigenstates of one Hamiltonian, one per member, ascending: by imaginary time, the
 * members evolve as in qdml_problem_ground and are orthonormalised in order after every step; by
 * LOBPCG (options.method), the members and guard_states more are one block improved by Rayleigh-Ritz
 * (docs/numerics.md).
 * results[b].final.energy and .residual are the b-th energy and its residual. The initial states
 * must be linearly independent and overlap the wanted ones (random states or Gaussians times random
 * polynomials do). options.resume continues a search of this function only. Errors:
 * INVALID_ARGUMENT (members differ in potential, hbar or mass: the first difference is named; an
 * initial state zero or dependent on those before it), UNAVAILABLE (CUDA: libcublas could not be
 * loaded), and those of qdml_problem_ground; on DIVERGED every member is restored. */
QDML_API qdml_status qdml_problem_lowest_states(qdml_problem *problem, const qdml_ground_options *options,
                                                qdml_run_result *results);

/* ---------------------------------------------------------------------------------------------
 * Annealing: ground states at hbar falling geometrically, each stage started from the last, as an
 * optimiser (docs/numerics.md). The estimate of the minimiser is the density maximum (a grid point)
 * at which V is lowest among the stages' maxima. Each member's hbar is left at its last stage's.
 * ------------------------------------------------------------------------------------------- */

typedef struct qdml_minimize_options {
    double hbar_start;       /* first stage's hbar, > 0; 0 = each member's current hbar (default) */
    double hbar_end;         /* last stage's hbar, > 0 and <= hbar_start; 0 = hbar_start / 100 (default) */
    const double *member_hbar_start; /* NULL (default) or B values: per-member hbar_start (0: as above) */
    const double *member_hbar_end;   /* NULL (default) or B values: per-member hbar_end (0: as above) */
    int64_t stages;          /* number of stages K >= 1 (default 8); K = 1 is one ground state at hbar_start */
    double tolerance;        /* first stage's residual tolerance, energy units (default 1e-5); stage k asks
                                for tolerance * hbar_k / hbar_0 (with per-member schedules, the smallest
                                ratio of the batch) */
    int64_t max_steps;       /* per stage and member (default 100000) */
    double reseed;           /* fraction of the uniform state mixed into each stage's start, in [0, 1)
                                (default 0.01); 0 starts each stage from the last one's state only */
    int reseed_first;        /* 1: also mix it into the first stage's start (default 0) */
    qdml_monitor_fn monitor; /* optional callback at each monitoring point of every stage */
    void *monitor_user;
} qdml_minimize_options;

QDML_API void qdml_minimize_options_default(qdml_minimize_options *options);

/* One stage of one member. */
typedef struct qdml_minimize_stage {
    double hbar;             /* this stage's hbar */
    qdml_stats stats;        /* statistics at the end of the stage: energy, <x>, width, argmax, ... */
    double f_argmax;         /* V at stats.argmax (the density maximum) */
    int64_t steps;           /* steps this stage took */
    int converged;           /* the stage reached its tolerance */
} qdml_minimize_stage;

/* Outcome per member. */
typedef struct qdml_minimize_result {
    double argmin[QDML_MAX_DIM];       /* estimate of the global minimiser (a grid point) */
    int64_t argmin_index;              /* its flat C-order index */
    double f_min;                      /* V there */
    int64_t stage;                     /* the stage it came from */
    double final_argmax[QDML_MAX_DIM]; /* the last stage's density maximum, */
    int64_t final_argmax_index;
    double final_f;                    /* and V there */
    int64_t steps;                     /* steps of all stages */
    int converged;                     /* every stage reached its tolerance */
} qdml_minimize_result;

/* Anneal every member from its current state. `results` (NULL or B entries) gets the estimates;
 * `stages` (NULL or stages x B entries, stage-major: stages[k * B + b]) the per-stage record.
 * Errors: INVALID_ARGUMENT (options: stages out of 1 .. 100000, non-positive tolerance or
 * max_steps, hbar_end > hbar_start, reseed outside [0, 1)), NOT_READY (no potential), and those of
 * qdml_problem_ground; on DIVERGED the members hold the last good state of the failing stage. */
QDML_API qdml_status qdml_problem_minimize(qdml_problem *problem, const qdml_minimize_options *options,
                                           qdml_minimize_result *results, qdml_minimize_stage *stages);

/* ---------------------------------------------------------------------------------------------
 * Objectives: built-in potentials, evaluated by the backend where the state lives, and caller
 * callbacks. A qdml_objective is a plain value: a kind and its parameters in fixed slots of p[].
 * Formulas, parameters (slot, name, default, constraint), domains and minima: docs/objectives.md.
 * ------------------------------------------------------------------------------------------- */

typedef enum qdml_objective_kind {
    QDML_OBJECTIVE_HARMONIC = 0,        /* sum_d (k_d / 2) (x_d - c_d)^2 */
    QDML_OBJECTIVE_DOUBLE_WELL = 1,     /* a (x_0^2 - s^2)^2 / s^4 + c x_0, harmonic on other axes */
    QDML_OBJECTIVE_GAUSSIAN_WELLS = 2,  /* two Gaussian wells of independent depth and width */
    QDML_OBJECTIVE_POSCHL_TELLER = 3,   /* -(hbar^2 alpha^2 / 2m) lambda (lambda - 1) sum_d sech^2 */
    QDML_OBJECTIVE_MORSE = 4,           /* sum_d D (1 - exp(-a (x_d - re_d)))^2 */
    QDML_OBJECTIVE_RASTRIGIN = 5,
    QDML_OBJECTIVE_ACKLEY = 6,
    QDML_OBJECTIVE_GRIEWANK = 7,
    QDML_OBJECTIVE_ROSENBROCK = 8,      /* dim >= 2 */
    QDML_OBJECTIVE_STYBLINSKI_TANG = 9,
    QDML_OBJECTIVE_LEVY = 10,
    QDML_OBJECTIVE_SCHWEFEL = 11,       /* minimum over its domain [-500, 500] */
    /* The rest of QHD's 22-function benchmark (Leng et al. 2023; formulas after Jamil & Yang 2013) */
    QDML_OBJECTIVE_ACKLEY2 = 12,        /* -a exp(-b |x|) */
    QDML_OBJECTIVE_ALPINE1 = 13,
    QDML_OBJECTIVE_ALPINE2 = 14,        /* -prod sqrt(|x_d|) sin x_d */
    QDML_OBJECTIVE_BOHACHEVSKY2 = 15,   /* dim 2 */
    QDML_OBJECTIVE_CAMEL3 = 16,         /* three-hump camel, dim 2 */
    QDML_OBJECTIVE_CSENDES = 17,
    QDML_OBJECTIVE_DEFL_CORR_SPRING = 18,
    QDML_OBJECTIVE_DROPWAVE = 19,
    QDML_OBJECTIVE_EASOM = 20,
    QDML_OBJECTIVE_HOLDER = 21,         /* Hoelder table, dim 2, four global minimisers */
    QDML_OBJECTIVE_HOSAKI = 22,         /* dim 2, minimum over its domain */
    QDML_OBJECTIVE_LEVY13 = 23,         /* dim 2 */
    QDML_OBJECTIVE_MICHALEWICZ = 24,
    QDML_OBJECTIVE_SHUBERT = 25,        /* dim 3^dim global minimisers in [-10, 10]^dim */
    QDML_OBJECTIVE_SUMOFSQUARES = 26,
    QDML_OBJECTIVE_XINSHEYANG3 = 27,
    QDML_OBJECTIVE_COUNT = 28 /* number of kinds (not a kind) */
} qdml_objective_kind;

#define QDML_OBJECTIVE_MAX_PARAMS 16

typedef struct qdml_objective {
    qdml_objective_kind kind;
    double p[QDML_OBJECTIVE_MAX_PARAMS]; /* parameters in the slots of docs/objectives.md */
} qdml_objective;

/* Name of a kind ("harmonic", ...; the names qdml_objective_parse accepts); NULL for an unknown value. */
QDML_API const char *qdml_objective_name(qdml_objective_kind kind);
/* `kind` with every parameter at its default. Errors: INVALID_ARGUMENT (unknown kind, out NULL, dim
 * outside 1..QDML_MAX_DIM or below the kind's least dimension: rosenbrock needs 2). */
QDML_API qdml_status qdml_objective_default(qdml_objective_kind kind, int dim, qdml_objective *out);
/* Parse "NAME" or "NAME:KEY=V,KEY=V,..." for `dim` dimensions, starting from the defaults. NAME in
 * any case, '-' for '_' ("Double-Well" is double_well). A per-axis key takes one value for every axis
 * or exactly dim values, the further ones as bare items: "harmonic:k=1,4,c=0.5,-1" is k = (1, 4),
 * c = (0.5, -1) in 2D. Errors: INVALID_ARGUMENT naming what is wrong and listing the valid names or
 * keys, with the closest name where one is a few letters off (unknown name or key, a key given twice, a value
 * not a finite decimal number, the wrong number of values, a broken constraint, dim out of range, NULL).
 * *out is written only on success. */
QDML_API qdml_status qdml_objective_parse(const char *spec, int dim, qdml_objective *out);
/* Check an objective for `dim` dimensions: known kind, dim allowed, parameters in use finite and
 * within their constraints. Errors: INVALID_ARGUMENT naming the parameter (and axis) and value. */
QDML_API qdml_status qdml_objective_validate(const qdml_objective *objective, int dim);
/* *f = the objective at x (dim values), on the host. Errors: INVALID_ARGUMENT (validation, NULL
 * pointers, a non-finite coordinate). The value may be infinite where the formula overflows. */
QDML_API qdml_status qdml_objective_eval(const qdml_objective *objective, const double *x, int dim, double *f);
/* The usual search box: lo[d] < hi[d], d < dim. Errors: as validate, NULL arrays. */
QDML_API qdml_status qdml_objective_domain(const qdml_objective *objective, int dim, double *lo, double *hi);
/* The known global minimiser (xmin, dim values; may be NULL) and minimum (fmin; may be NULL): exact
 * where a closed form gives it, else computed to rounding; fmin is qdml_objective_eval at xmin.
 * Errors: as validate; INVALID_ARGUMENT where parameters so extreme that the minimiser or the
 * minimum overflows double (a double_well with c = 1e308) leave no finite answer. */
QDML_API qdml_status qdml_objective_minimum(const qdml_objective *objective, int dim, double *xmin, double *fmin);
/* Every known global minimiser within the usual domain (qdml_objective_domain; one for most kinds, four
 * for holder, dim 3^dim for shubert): up to `capacity` of them into xs (capacity x dim values; NULL when
 * capacity is 0), *count = all. They share the minimum qdml_objective_minimum gives, whose xmin is the
 * first. Errors: as qdml_objective_minimum; NULL count. */
QDML_API qdml_status qdml_objective_minimizers(const qdml_objective *objective, int dim, double *xs, int64_t capacity,
                                               int64_t *count);

/* Set the potential of one member (or all) to the objective at the grid points, evaluated by the
 * backend where the state lives (on CUDA the GPU computes it; no host array of the grid's size) and
 * rounded once to the problem's precision; otherwise as qdml_problem_set_potential. Errors:
 * INVALID_ARGUMENT (NULL objective, member out of range, objective invalid for the grid's dim, a
 * value not finite in the problem's precision: the first such point is named and that member's
 * potential is left as it was), BACKEND. */
QDML_API qdml_status qdml_problem_set_objective(qdml_problem *problem, int64_t member, const qdml_objective *objective);

/* A caller's objective: the value at x (dim coordinates, the grid's axis order). */
typedef double (*qdml_objective_fn)(const double *x, int dim, void *user);
/* Set the potential of one member (or all) to fn at every grid point: called once per point in C
 * order on the calling thread, collected in a host array and uploaded as by
 * qdml_problem_set_potential. fn must not call qdml functions on this problem. Errors:
 * INVALID_ARGUMENT (NULL problem or fn, member out of range, a NaN or infinite value: the first such
 * point is named and no member is changed), OUT_OF_MEMORY, BACKEND. */
QDML_API qdml_status qdml_problem_set_objective_fn(qdml_problem *problem, int64_t member, qdml_objective_fn fn,
                                                   void *user);

/* ---------------------------------------------------------------------------------------------
 * Checkpoints: the whole state of a problem in one file (grid, batch, and per member hbar, mass,
 * potential, state, clocks, history and ground-search schedule), written atomically, to resume a
 * run bit for bit. Format and guarantees: docs/checkpoints.md.
 * ------------------------------------------------------------------------------------------- */

/* What the last run of a problem was, kept with the problem and in its checkpoints, so that a caller
 * resuming a checkpoint can check that it goes on with the options it was saved with. */
typedef enum qdml_run_kind {
    QDML_RUN_NONE = 0,         /* no run yet, or loaded from a version-1 checkpoint (which has no record) */
    QDML_RUN_EVOLVE = 1,       /* qdml_problem_evolve */
    QDML_RUN_GROUND = 2,       /* qdml_problem_ground (also each stage of qdml_problem_minimize) */
    QDML_RUN_LOWEST_STATES = 3 /* qdml_problem_lowest_states */
} qdml_run_kind;

typedef struct qdml_run_info {
    qdml_run_kind kind;
    qdml_time_mode mode;                  /* evolve: as given; the ground searches: QDML_IMAGINARY_TIME */
    qdml_splitting splitting;             /* evolve: as given; the ground searches: QDML_SPLIT_STRANG */
    int renormalize, potential_only;      /* evolve: as given; the ground searches: 1 and 0 */
    double tolerance, dt_initial, dt_min; /* the ground searches: as given (0: automatic); evolve: 0 */
    int64_t monitor_every;                /* as given */
    qdml_precision precision;             /* the problem's when it ran */
} qdml_run_info;

/* The options of the last run that started on `problem` (every field 0, kind QDML_RUN_NONE, when
 * none did). Errors: INVALID_ARGUMENT (NULL). */
QDML_API qdml_status qdml_problem_last_run(const qdml_problem *problem, qdml_run_info *out);

/* Write the whole state of `problem` to `path` (atomically: the old file or the new one, never a
 * part). Errors: INVALID_ARGUMENT (NULL), OUT_OF_MEMORY, OVERFLOW, BACKEND, IO (the OS error; a
 * previous file at path is left as it was). */
QDML_API qdml_status qdml_checkpoint_save(const qdml_problem *problem, const char *path);
/* Replace the state of `problem` by the checkpoint at `path`, which must have the same grid and
 * batch. The whole file is read and checked first, a chunk at a time (docs/checkpoints.md). Errors:
 * INVALID_ARGUMENT saying which check failed (not a checkpoint, version, size, checksum, layout,
 * non-finite values, grid or batch), IO (also: the file changed while it was read), OUT_OF_MEMORY,
 * BACKEND (the only one, with a file changed between the reads, that can leave the problem partly
 * loaded). */
QDML_API qdml_status qdml_checkpoint_load(qdml_problem *problem, const char *path);
/* Read and check the checkpoint at `path` and report its grid and batch (either may be NULL), to
 * create the problem to load it into. Errors as load; message in qdml_last_error_message(). */
QDML_API qdml_status qdml_checkpoint_info(const char *path, qdml_grid *grid, int64_t *batch);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QDML_QDML_H */
