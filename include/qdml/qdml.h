/*
 * qdml — quantum dynamics for machine learning.
 *
 * A C library that evolves the Schrodinger equation on periodic grids in real time
 *
 *     i hbar dpsi/dt   = -(hbar^2 / 2m) lap psi + V(x) psi
 *
 * and in imaginary time (tau = i t, the Wick-rotated diffusion equation)
 *
 *     hbar dpsi/dtau   =  (hbar^2 / 2m) lap psi - V(x) psi,
 *
 * which converges to the ground state of H = -(hbar^2/2m) lap + V. The objective f(x) of an
 * optimisation problem is the potential V; the ground-state density concentrates on its
 * minima as hbar shrinks.
 *
 * This header is the manual. Conventions used throughout:
 *
 *  - Every function that can fail returns a qdml_status. On failure the context keeps a message
 *    naming the argument and the value (qdml_context_last_error). Nothing prints, exits or aborts.
 *  - Handles are opaque, created and destroyed in pairs; destroy functions accept NULL.
 *  - Arrays passed in are copied; the caller keeps ownership of its memory.
 *  - Complex arrays cross the API as interleaved doubles (re0, im0, re1, im1, ...), the layout of
 *    C99 `double complex`, C++ `std::complex<double>`, fftw_complex and cufftDoubleComplex.
 *  - Grid arrays are C order (row-major): the last axis varies fastest. Batched arrays put the
 *    batch member outermost: element (b, i) is at b * npoints + i.
 *  - Grid points are x_j = lo + j (hi - lo) / n, j = 0 .. n-1, on each axis: the box [lo, hi) is
 *    periodic. dV is the product of the spacings.
 *  - Wavefunctions are normalised so that sum |psi|^2 dV = 1 (the "norm" reported is that sum).
 *
 * Thread safety:
 *  - Distinct contexts, with the problems made from each, may be used from different threads at
 *    the same time, and give the same results as when used one after another (tested with four
 *    threads on the CPU backend). FFTW's planner is made thread-safe by the library; a program that
 *    also calls FFTW itself from other threads should call fftw_make_planner_thread_safe() too.
 *  - One context and everything made from it must be used by one thread at a time: calls on a
 *    context or on any of its problems must not overlap, even calls that take a const problem
 *    (they use the context's error message and the backend's buffers). Serialise them yourself, or
 *    give each thread its own context. A problem may move between threads between calls.
 *  - qdml_last_error_message() is per thread. The calls without a context or problem (version,
 *    status and backend names, grid functions, qdml_backend_available, device queries,
 *    qdml_checkpoint_info, the qdml_objective_* functions) may be made from any thread at any time.
 *  - Monitor callbacks run on the thread that called the run, inside the call.
 *  - Reproducibility: a run gives the same bits every time with the same backend, thread count
 *    and FFT plans. QDML_FFT_ESTIMATE chooses the same plans every time; QDML_FFT_MEASURE and
 *    QDML_FFT_PATIENT time candidates and may choose other plans in another process, changing the
 *    last bits of results.
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
 * Context: backend choice, threads, FFT planning effort, last error message.
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

/* Create a context on `backend`. nthreads <= 0 means "all available cores" (omp_get_max_threads);
 * otherwise the CPU backend uses exactly nthreads threads for FFTs and pointwise loops.
 * Errors: QDML_ERR_INVALID_ARGUMENT (out == NULL, unknown backend), QDML_ERR_UNAVAILABLE (CUDA
 * requested but not compiled in or no device), QDML_ERR_OUT_OF_MEMORY. On failure *out is NULL;
 * there is no context to read a message from, so qdml_last_error_message() (thread-local) holds it. */
QDML_API qdml_status qdml_context_create(qdml_context **out, qdml_backend backend, int nthreads);
/* Free a context. Problems made from it must be destroyed first. NULL is accepted. */
QDML_API void qdml_context_destroy(qdml_context *ctx);
/* The backend actually in use (never QDML_BACKEND_AUTO). */
QDML_API qdml_backend qdml_context_backend(const qdml_context *ctx);
/* Threads the CPU backend uses. */
QDML_API int qdml_context_threads(const qdml_context *ctx);
/* Planning effort for problems created afterwards. Default QDML_FFT_MEASURE. */
QDML_API qdml_status qdml_context_set_fft_effort(qdml_context *ctx, qdml_fft_effort effort);
/* Precision of problems created afterwards. Default QDML_FLOAT64. QDML_FLOAT32 is offered by the
 * CUDA backend; on the CPU backend qdml_problem_create then fails with QDML_ERR_UNAVAILABLE.
 * Arrays crossing the API are double in either case (converted on the way in and out). */
QDML_API qdml_status qdml_context_set_precision(qdml_context *ctx, qdml_precision precision);
QDML_API qdml_precision qdml_context_precision(const qdml_context *ctx);
/* FFTW wisdom file for the CPU backend: read (if it exists) before planning, and rewritten
 * atomically after planning, for problems created afterwards, so that FFTW_MEASURE/PATIENT plans
 * are timed once per machine rather than once per run. Beside it, "<path>.paths" keeps which way
 * of running a step (plain or fused passes) was measured fastest for each 2D/3D shape, batch and
 * thread count, so that this too is timed once per machine (and more thoroughly than without a
 * file) and every run of a shape takes the same way. NULL or "" turns both off (the default).
 * Unreadable or damaged files are ignored, and rewritten when next updated. The path is copied
 * (at most 4095 bytes). */
QDML_API qdml_status qdml_context_set_fft_wisdom(qdml_context *ctx, const char *path);
/* Message describing the last failure on this context ("" if none). Owned by the context, valid
 * until the next call on it. */
QDML_API const char *qdml_context_last_error(const qdml_context *ctx);
/* Message of the last failure of a call that had no context to store it in (context creation),
 * per thread. Never NULL. */
QDML_API const char *qdml_last_error_message(void);
/* Backend names "cpu", "cuda", "auto"; NULL for an unknown value. */
QDML_API const char *qdml_backend_name(qdml_backend backend);
/* Nonzero if `backend` is compiled into this build and usable now (CUDA: a device is present). */
QDML_API int qdml_backend_available(qdml_backend backend);

/* CUDA devices this build can use: 0 without the CUDA backend, a driver or a device. */
QDML_API int qdml_device_count(void);
/* Name of device `index` (NUL-terminated, truncated to namelen - 1; name may be NULL) and its
 * total memory in bytes (total_bytes may be NULL). Errors: INVALID_ARGUMENT for an index out of
 * range (including every index in a build without CUDA), BACKEND when the driver fails. */
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

/* Fill a grid with n points on [lo, hi) on each of `dim` axes. Returns INVALID_ARGUMENT for
 * dim outside 1..QDML_MAX_DIM, n < 1, non-finite bounds or lo >= hi. Message in
 * qdml_last_error_message(). */
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

/* Create a problem of `batch` members (>= 1) on `grid`. Allocates all memory and FFT plans now
 * (save one economy: during a 4th-order run the CPU backend adds a second set of step tables, 32
 * bytes per point and member, and does without it where memory is short; see Fourth order).
 * Initial state: uniform and normalised; potential: not set (runs fail with NOT_READY until set);
 * hbar = mass = 1 for every member.
 * Errors: INVALID_ARGUMENT, OVERFLOW (points x batch x bytes), OUT_OF_MEMORY, BACKEND. */
QDML_API qdml_status qdml_problem_create(qdml_context *ctx, const qdml_grid *grid, int64_t batch, qdml_problem **out);
/* Bytes of memory (device memory on CUDA, host memory on the CPU) that qdml_problem_create would
 * allocate for `batch` members on `grid` with this context's backend and precision, including FFT
 * work areas. Creates nothing. Errors: INVALID_ARGUMENT, OVERFLOW, UNAVAILABLE (the precision is not
 * offered by the backend). */
QDML_API qdml_status qdml_problem_bytes_needed(qdml_context *ctx, const qdml_grid *grid, int64_t batch, size_t *bytes);
/* Free a problem and everything it owns. NULL is accepted. */
QDML_API void qdml_problem_destroy(qdml_problem *problem);
/* Sizes. */
QDML_API int64_t qdml_problem_batch(const qdml_problem *problem);
QDML_API int64_t qdml_problem_points(const qdml_problem *problem);
QDML_API const qdml_grid *qdml_problem_grid(const qdml_problem *problem);
QDML_API qdml_precision qdml_problem_precision(const qdml_problem *problem);

/* Potential (the objective) of one member, or of all with QDML_ALL_MEMBERS: `values` holds
 * qdml_problem_points() doubles sampled at the grid points, copied in. Energy units.
 * Errors: INVALID_ARGUMENT for a NULL array, a member out of range, or a NaN/infinite value
 * (the message gives the first bad index). */
QDML_API qdml_status qdml_problem_set_potential(qdml_problem *problem, int64_t member, const double *values);
/* Read back the potential of one member (qdml_problem_points() doubles). */
QDML_API qdml_status qdml_problem_get_potential(const qdml_problem *problem, int64_t member, double *values);
/* Reduced Planck constant (> 0, finite; default 1) and mass (> 0, finite; default 1). */
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
/* Copy |psi|^2 of one member out: qdml_problem_points() doubles. */
QDML_API qdml_status qdml_problem_get_density(const qdml_problem *problem, int64_t member, double *density);

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
 * members (array of `batch`). Return nonzero to stop the run (reported as stopped_by_callback).
 * Runs on the calling thread; must not call qdml functions on the same problem. */
typedef int (*qdml_monitor_fn)(const qdml_stats *stats, int64_t batch, void *user);

/* Statistics recorded at every monitoring point, per member, since its state was last set.
 * Copies up to `capacity` entries (oldest first) into `out` (may be NULL when capacity is 0) and
 * stores the total number recorded in *count. */
QDML_API qdml_status qdml_problem_history(const qdml_problem *problem, int64_t member, qdml_stats *out, size_t capacity,
                                 size_t *count);
/* Forget the recorded history of one member or all. */
QDML_API qdml_status qdml_problem_clear_history(qdml_problem *problem, int64_t member);

/* ---------------------------------------------------------------------------------------------
 * Fixed-step evolution (Strang split-step Fourier, potential half-steps outside):
 *   psi <- e^{-i V dt/2hbar} F^-1 e^{-i hbar k^2 dt/2m} F e^{-i V dt/2hbar} psi      (real time)
 *   psi <- e^{-V dt/2hbar}   F^-1 e^{-hbar k^2 dt/2m}   F e^{-V dt/2hbar}   psi      (imaginary)
 * Consecutive potential half-steps are fused into one full step between monitoring points.
 *
 * Fourth order (qdml_evolve_options.splitting): a step of dt is a composition of Strang steps
 * S(c dt) as above,
 *   QDML_SPLIT_YOSHIDA4  S(w1 dt) S(w0 dt) S(w1 dt),            w1 = 1/(2 - 2^(1/3)) = 1.3512,
 *                        w0 = 1 - 2 w1 = -1.7024                (Yoshida 1990, Phys. Lett. A 150, 262)
 *   QDML_SPLIT_SUZUKI4   S(p dt) S(p dt) S((1-4p) dt) S(p dt) S(p dt),  p = 1/(4 - 4^(1/3)) = 0.4145,
 *                        1 - 4p = -0.6580                       (Suzuki 1990, Phys. Lett. A 146, 319)
 * with global error O(dt^4) against Strang's O(dt^2). A step costs 3 (Yoshida) or 5 (Suzuki)
 * Strang substeps, i.e. 3 or 5 forward/backward FFT pairs, and where the substep changes length
 * (twice per step) two potential half-kicks instead of one and the step tables of the other length
 * (a complex exponential per point to build). The CPU backend keeps the tables of both lengths once
 * a member alternates between them (a second table set, 32 bytes per point and member, allocated
 * then; where it cannot be allocated the tables are rebuilt at each switch and the run goes on): at
 * 256^2 points a step took 3.2-3.3x (Yoshida) and 5.0-5.2x (Suzuki) the time of two FFTs, against
 * 3.4-4.1x and 5.2-6.2x rebuilding (perf/RESULTS.md). The CUDA backend rebuilds them at each
 * switch. Suzuki's negative substep is smaller (|1-4p| = 0.66 against |w0| = 1.70): its error
 * at the same dt was 16 to 70 times smaller than Yoshida's in the oscillator tests
 * (tests/test_order4.c), and its imaginary-time limit below is 2.6 times larger. Potential
 * half-steps between substeps of equal length are fused as for Strang.
 *
 * Imaginary time: the negative substep c dt (c < 0) runs the diffusion backwards, multiplying wavenumber
 * k by exp(+|c| hbar k^2 dt / 2m), and multiplies the state by exp(+|c| (V - Vmin) dt / hbar). The
 * product over a whole step still damps every mode, but inside the step the rounding noise of the
 * FFTs (about u = 1.1e-16 of the state's norm, in every mode) is amplified by these factors before
 * the following positive substeps damp it again. qdml_problem_evolve therefore refuses
 * (INVALID_ARGUMENT; the message gives both exponents and the largest dt that passes) an
 * imaginary-time 4th-order run on which either factor, at the grid's largest |k| (the corner of the
 * Nyquist box, sum over axes of (pi n_d / L_d)^2 for even n_d) or over the potential's range
 * (max V - min V), would exceed e^20 in float64 (amplified noise <= u e^20 = 5e-8 of the norm) or
 * e^8 in float32 (u = 6e-8: <= 2e-4 of the norm); with potential_only = 1 only the potential's
 * factor counts. Real time has no such limit: every factor is unitary. The ground-state search
 * (qdml_problem_ground) always uses Strang: its step-size schedule relies on the O(dt^2) floor and on
 * large steps, which the 4th-order compositions do not allow in imaginary time.
 * ------------------------------------------------------------------------------------------- */

typedef enum qdml_time_mode {
    QDML_REAL_TIME = 0,
    QDML_IMAGINARY_TIME = 1
} qdml_time_mode;

/* Splitting of a fixed step (see above). */
typedef enum qdml_splitting {
    QDML_SPLIT_STRANG = 0,   /* 2nd order, one FFT pair per step (default) */
    QDML_SPLIT_YOSHIDA4 = 1, /* 4th order, 3 Strang substeps per step */
    QDML_SPLIT_SUZUKI4 = 2   /* 4th order, 5 Strang substeps per step, smaller negative substep */
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
} qdml_evolve_options;

/* Defaults listed above. */
QDML_API void qdml_evolve_options_default(qdml_evolve_options *options);

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
} qdml_run_result;

/* Take options->steps steps on every member. `results` (NULL or an array of batch entries)
 * receives each member's outcome. Errors: INVALID_ARGUMENT (options, including an imaginary-time
 * 4th-order dt beyond the limit above), NOT_READY (no potential),
 * DIVERGED (a non-finite value appeared, or, in real time with monitor_every > 0, <H> moved away
 * from its value at the start by more than |<T>| + |<V>| there (conserved by the dynamics; such a
 * change means the step is far too large for the potential). Per member: the member that diverged
 * is restored to its state at the last monitoring point (or the start) and left out of the rest of
 * the run (its state then changes only by the rounding of the batched FFT round trips it still goes
 * through), its results[b].final the statistics of that state and results[b].diverged set; the other
 * members go on to the end (they redo the stretch since that monitoring point without it, which
 * changes none of their values) and their results are as in a run without it. DIVERGED is
 * returned at the end if any member diverged; the message names the first.) */
QDML_API qdml_status qdml_problem_evolve(qdml_problem *problem, const qdml_evolve_options *options, qdml_run_result *results);

/* ---------------------------------------------------------------------------------------------
 * Ground state by imaginary time with an automatic step size.
 *
 * Each member evolves with its own step dtau. The run starts with a large step (fast decay of
 * excited components), watches the residual || H psi - E psi || / ||psi|| (of the true H, not of
 * the split operator), and when the residual stops falling (the O(dtau^2) splitting floor) shrinks
 * dtau so the floor lies below the tolerance. A member stops when its residual <= tolerance
 * (converged), or unconverged when its residual has stopped falling at the smallest step allowed
 * (dt_min; in float32 also the step below which rounding raises the residual, about
 * 6e-8 hbar / tolerance); the run ends when every member has stopped or max_steps is reached.
 * float32 states reach residuals of about 1e-5 to 1e-4 (energy units, order-1 energies): ask
 * for no less.
 * ------------------------------------------------------------------------------------------- */

typedef struct qdml_ground_options {
    double tolerance;      /* residual tolerance in energy units, > 0 (default 1e-6) */
    int64_t max_steps;     /* per member, >= 1 (default 200000) */
    int64_t monitor_every; /* residual checked every k steps, >= 1; 0 = automatic (default) */
    double dt_initial;     /* first dtau, > 0; 0 = automatic from the initial state's energy scale (default) */
    double dt_min;         /* smallest dtau the schedule may use; 0 = automatic (dt_initial * 1e-6) */
    qdml_monitor_fn monitor; /* optional callback, called at each monitoring point */
    void *monitor_user;
    int resume;            /* 0 (default): start a new search. 1: continue the search the previous call on
                              this problem left (ended by max_steps or the callback, nothing set or evolved
                              since, or restored by qdml_checkpoint_load), with its step sizes, stall counts
                              and convergence flags; give the same tolerance, monitor_every and dt_min. Calls
                              of k steps then add up, bit for bit, to one call of their total steps when k
                              is a multiple of the monitor interval. NOT_READY when there is none. */
} qdml_ground_options;

QDML_API void qdml_ground_options_default(qdml_ground_options *options);

/* Find the ground state of every member from its current state (which must not be orthogonal to
 * the ground state; a Gaussian or the uniform state is fine). Returns QDML_OK whether or not every
 * member converged: read results[b].converged. Errors as for qdml_problem_evolve; a member that
 * diverges is restored to its last good state and finished (results[b].diverged, .finished), the
 * others search on, and DIVERGED is returned at the end. */
QDML_API qdml_status qdml_problem_ground(qdml_problem *problem, const qdml_ground_options *options, qdml_run_result *results);

/* ---------------------------------------------------------------------------------------------
 * Excited states: the lowest B eigenstates of one Hamiltonian, one per batch member.
 *
 * Every member must have the same potential (bit for bit), hbar and mass (INVALID_ARGUMENT
 * otherwise, naming the first member and index that differ). The members evolve in imaginary time
 * as in qdml_problem_ground, each with its own adaptive step, and after every step they are
 * orthonormalised in order (Gram-Schmidt, computed as a Cholesky QR of their Gram matrix: member b
 * is made orthogonal to members 0 .. b-1), so member b converges to the b-th state (energies
 * ascending; degenerate states come out as some orthonormal basis of their eigenspace). Member b's
 * search ends only when it has converged (residual <= tolerance) and every member below it has
 * finished. results[b].final.energy and .residual are the b-th energy and its residual.
 *
 * Initial states: any linearly independent states that overlap the wanted ones; they are
 * orthonormalised first (INVALID_ARGUMENT if one is zero or a combination of those before it).
 * States of exact symmetry (e.g. all even) can only reach states of that symmetry: Gaussians times
 * random polynomials, or random states, avoid that. The members step as one block until all have
 * converged at once, a member never with a larger dtau than those above it (orthogonality couples a
 * state's accuracy to that of the states below it). Member b separates from member b+1 at the rate
 * (E_{b+1} - E_b) / hbar: a pair split only by tunnelling through a high barrier takes an imaginary
 * time of about hbar ln(1 / tolerance) / splitting. Cost: per step and member as for the ground
 * state, plus a Gram matrix and a triangular combination of the B states (O(B^2) per point; on
 * CUDA, cuBLAS zgemm and ztrmm; libcublas.so is loaded on the first such call, and a missing one
 * is reported as UNAVAILABLE with the loader's message). options.resume continues a search of this
 * function only.
 * ------------------------------------------------------------------------------------------- */
QDML_API qdml_status qdml_problem_lowest_states(qdml_problem *problem, const qdml_ground_options *options,
                                                qdml_run_result *results);

/* ---------------------------------------------------------------------------------------------
 * Annealing: the ground state as an optimiser.
 *
 * As hbar falls, the ground-state density concentrates on the global minimum of V
 * (semiclassically |phi0|^2 ~ N(x*, (hbar/2)(m K)^(-1/2)), K the Hessian there). A large fixed hbar
 * can settle in the wrong place: the zero-point energy (hbar/2) sqrt(K/m) per axis favours wide
 * wells, so a wide shallow well can hold the ground state beside a narrow deeper one. Annealing finds
 * ground states at stages hbar_0 > hbar_1 > ... > hbar_{K-1}, geometric from hbar_start to hbar_end,
 * each stage started from the state the last one left, with a fraction `reseed` of the uniform state
 * mixed in. The old state overlaps a ground state that has moved to another well only through the
 * tunnelling tail it carries from the earlier, larger-hbar stages, and a state trapped in the old
 * well has a residual as small as that tail, so a stage could stop there; the tail has sufficed in
 * every case tested (wells 14 apart included), and the uniform part is insurance for a tail that was
 * never there or was flushed (amplitudes below 1e-200 are set to zero). Stage k asks for residual <= tolerance * hbar_k /
 * hbar_0 (energies scale as hbar). Every member anneals at once with its own schedule (B
 * objectives, or B schedules of one objective). Each member's hbar is left at its last stage's.
 *
 * The estimate of the minimiser: the density maximum (a grid point) at which V is lowest among the
 * stages' maxima (usually the last stage's); f_min is V there. The estimate is a grid point: it
 * lies within a grid spacing of the minimiser when the last hbar is small enough that the density
 * maximum sits on the nearest grid point.
 * ------------------------------------------------------------------------------------------- */

typedef struct qdml_minimize_options {
    double hbar_start;       /* first stage's hbar, > 0; 0 = each member's current hbar (default) */
    double hbar_end;         /* last stage's hbar, > 0 and <= hbar_start; 0 = hbar_start / 100 (default) */
    const double *member_hbar_start; /* NULL (default) or B values: per-member hbar_start (0: as above) */
    const double *member_hbar_end;   /* NULL (default) or B values: per-member hbar_end (0: as above) */
    int64_t stages;          /* number of stages K >= 1 (default 8); K = 1 is one ground state at hbar_start */
    double tolerance;        /* first stage's residual tolerance, energy units (default 1e-5); with per-member
                                schedules, stage k scales it by the smallest hbar_k / hbar_0 of the batch */
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
 * Objectives: built-in potentials evaluated where the state lives, and caller callbacks.
 *
 * A qdml_objective is a plain value: a kind and its parameters in fixed slots of p[] (unused slots
 * are ignored). qdml_objective_default fills the defaults below; qdml_objective_parse reads
 * "NAME[:KEY=V,...]". The same formula (core/objectives.h) serves qdml_objective_eval on the host,
 * the CPU backend and the CUDA kernels: on the CPU backend a grid filled by
 * qdml_problem_set_objective equals qdml_objective_eval at its points bit for bit; on CUDA the GPU's
 * exp/cos/... differ from the host's in the last bits (relative differences ~1e-15 of the values).
 *
 * x has `dim` coordinates (1..QDML_MAX_DIM) in the grid's axis order; "per axis" parameters hold
 * one value per axis in consecutive slots (x_d uses slot base + d). Values are in energy units.
 * Domains are the usual search boxes [lo_d, hi_d]; minima are global over all of R^dim, except
 * Schwefel's (over its domain: the function is unbounded below outside it).
 *
 * Kind, name     formula; parameters as p[slot] name = default (constraint)
 *   HARMONIC "harmonic"
 *                sum_d (k_d / 2) (x_d - c_d)^2  (omega_d = sqrt(k_d / m) on a problem of mass m)
 *                p[0..2] k = 1 per axis (> 0); p[3..5] c = 0 per axis (centre)
 *                domain c_d -/+ 6 max(1, k_d^(-1/4)); minimum 0 at x = c
 *   DOUBLE_WELL "double_well"  quartic double well along axis 0, harmonic confinement on the others:
 *                a (x_0^2 - s^2)^2 / s^4 + c x_0 + sum_{d >= 1} (k / 2) x_d^2
 *                p[0] a = 2 (> 0: the barrier height at c = 0); p[1] s = 1 (> 0: the wells at
 *                x_0 = -/+ s); p[2] c = 0.3 (tilt: c > 0 lowers the left well, c < 0 the right one);
 *                p[3] k = 2 (> 0). The defaults are V = 2 (x^2 - 1)^2 + 0.3 x + y^2 of `qdml demo`.
 *                domain x_0 in [-3 s, 3 s], the others -/+ 6 max(1, k^(-1/4));
 *                minimum at (x0*, 0, 0), x0* the root of 4 a x (x^2 - s^2) / s^4 + c = 0 in the lower
 *                well (computed by Newton's method to rounding; for c = 0 the wells tie and x0* = -s is
 *                returned); defaults: x0* = -1.01824750489852, f* = -0.302761651066298
 *   GAUSSIAN_WELLS "gaussian_wells"  two Gaussian wells of independent depth and width:
 *                -d1 exp(-|x - c1|^2 / (2 w1^2)) - d2 exp(-|x - c2|^2 / (2 w2^2))
 *                p[0] d1 = 2 (> 0), p[1] w1 = 0.15 (> 0), p[2..4] c1 = (1.5, 0, 0) per axis,
 *                p[5] d2 = 1.5 (> 0), p[6] w2 = 1 (> 0), p[7..9] c2 = (-1.5, 0, 0) per axis.
 *                The defaults are a "zero-point trap": the narrow well is deeper, but its zero-point
 *                energy (hbar/2) sqrt(d1 / (m w1^2)) = 4.7 hbar per axis is far above the wide well's
 *                0.61 hbar, so for hbar >~ 0.1 (m = 1, 1D) the ground state sits in the wide, shallower
 *                well, and only below that in the global minimum.
 *                domain per axis [min(c1 - 4 w1, c2 - 4 w2), max(c1 + 4 w1, c2 + 4 w2)];
 *                minimum on the segment from c1 to c2 (every critical point lies on it), found by
 *                sampling the derivative along it and Newton's method on each bracket, to rounding
 *                (the deeper well's minimum moved by the other's tail); defaults:
 *                x* = (1.49943675784165, 0, 0), f* = -2.01667757312737
 *   POSCHL_TELLER "poschl_teller"
 *                -(hbar^2 alpha^2 / 2 m) lambda (lambda - 1) sum_d sech^2(alpha (x_d - c_d))
 *                p[0] lambda = 3 (> 1), p[1] alpha = 1 (> 0), p[2] hbar = 1 (> 0), p[3] mass = 1 (> 0),
 *                p[4..6] c = 0 per axis. hbar and mass here only set the depth: give the problem the
 *                same hbar and mass (qdml_problem_set_hbar/_mass) for the closed-form bound states
 *                E_n = -(hbar^2 alpha^2 / 2 m) (lambda - 1 - n)^2 per axis, n < lambda - 1.
 *                domain c_d -/+ 12 / alpha; minimum -dim (hbar^2 alpha^2 / 2 m) lambda (lambda - 1) at c
 *   MORSE "morse"  sum_d D (1 - exp(-a (x_d - re_d)))^2
 *                p[0] D = 1 (> 0: dissociation energy per axis), p[1] a = 1 (> 0), p[2..4] re = 0 per axis
 *                domain [re_d - 2 / a, re_d + 8 / a]; minimum 0 at x = re
 *   RASTRIGIN "rastrigin"  A dim + sum_d (x_d^2 - A cos(2 pi x_d))
 *                p[0] A = 10 (>= 0); domain [-5.12, 5.12]; minimum 0 at 0
 *   ACKLEY "ackley"  -a exp(-b sqrt(sum_d x_d^2 / dim)) - exp(sum_d cos(c x_d) / dim) + a + e
 *                p[0] a = 20 (> 0), p[1] b = 0.2 (> 0), p[2] c = 2 pi; domain [-32.768, 32.768];
 *                minimum 0 at 0 (a cone point: the gradient is not defined there)
 *   GRIEWANK "griewank"  1 + sum_d x_d^2 / s - prod_d cos(x_d / sqrt(d + 1))   (d from 0)
 *                p[0] s = 4000 (> 0); domain [-600, 600]; minimum 0 at 0
 *   ROSENBROCK "rosenbrock"  sum_{d < dim - 1} b (x_{d+1} - x_d^2)^2 + (1 - x_d)^2   (dim >= 2)
 *                p[0] b = 100 (> 0); domain [-2.048, 2.048]; minimum 0 at (1, ..., 1)
 *   STYBLINSKI_TANG "styblinski_tang"  (1/2) sum_d (x_d^4 - 16 x_d^2 + 5 x_d); no parameters
 *                domain [-5, 5]; minimum -39.1661657037714 dim at x_d = -2.90353402777118
 *                (the root of 2 x^3 - 16 x + 5/2 = 0, computed by Newton's method to rounding)
 *   LEVY "levy"  with w_d = 1 + (x_d - 1) / 4: sin^2(pi w_0)
 *                + sum_{d < dim-1} (w_d - 1)^2 (1 + 10 sin^2(pi w_d + 1)) + (w_l - 1)^2 (1 + sin^2(2 pi w_l)),
 *                l = dim - 1; no parameters; domain [-10, 10]; minimum 0 at (1, ..., 1)
 *   SCHWEFEL "schwefel"  c dim - sum_d x_d sin(sqrt(|x_d|))
 *                p[0] c = 418.9829; domain [-500, 500]; minimum over the domain
 *                dim (c - 418.982887272434) at x_d = 420.968746359982 (computed to rounding): with the
 *                usual c that is 1.2728e-5 dim, not 0
 *
 * Errors of the functions without a problem go to qdml_last_error_message() (per thread); they may
 * be called from any thread at any time.
 * ------------------------------------------------------------------------------------------- */

typedef enum qdml_objective_kind {
    QDML_OBJECTIVE_HARMONIC = 0,
    QDML_OBJECTIVE_DOUBLE_WELL = 1,
    QDML_OBJECTIVE_GAUSSIAN_WELLS = 2,
    QDML_OBJECTIVE_POSCHL_TELLER = 3,
    QDML_OBJECTIVE_MORSE = 4,
    QDML_OBJECTIVE_RASTRIGIN = 5,
    QDML_OBJECTIVE_ACKLEY = 6,
    QDML_OBJECTIVE_GRIEWANK = 7,
    QDML_OBJECTIVE_ROSENBROCK = 8,
    QDML_OBJECTIVE_STYBLINSKI_TANG = 9,
    QDML_OBJECTIVE_LEVY = 10,
    QDML_OBJECTIVE_SCHWEFEL = 11,
    QDML_OBJECTIVE_COUNT = 12 /* number of kinds (not a kind) */
} qdml_objective_kind;

#define QDML_OBJECTIVE_MAX_PARAMS 16

typedef struct qdml_objective {
    qdml_objective_kind kind;
    double p[QDML_OBJECTIVE_MAX_PARAMS]; /* parameters in the slots listed above */
} qdml_objective;

/* Name of a kind ("harmonic", ...; the names qdml_objective_parse accepts); NULL for an unknown value. */
QDML_API const char *qdml_objective_name(qdml_objective_kind kind);
/* `kind` with every parameter at its default. Errors: INVALID_ARGUMENT (unknown kind, out NULL, dim
 * outside 1..QDML_MAX_DIM or below the kind's least dimension: rosenbrock needs 2). */
QDML_API qdml_status qdml_objective_default(qdml_objective_kind kind, int dim, qdml_objective *out);
/* Parse "NAME" or "NAME:KEY=V,KEY=V,..." (names and keys case-sensitive, as listed above) for a
 * problem of `dim` dimensions, starting from the defaults. A per-axis key takes one value for every
 * axis or exactly dim values, the further ones as bare items: "harmonic:k=1,4,c=0.5,-1" is k = (1, 4),
 * c = (0.5, -1) in 2D. Errors: INVALID_ARGUMENT with a message naming what is wrong and listing the
 * valid names or keys: unknown name or key, a key given twice, a value that is not a finite number,
 * the wrong number of values, a constraint broken (k = -1), dim out of range, NULL pointers. *out is
 * written only on success. */
QDML_API qdml_status qdml_objective_parse(const char *spec, int dim, qdml_objective *out);
/* Check an objective for `dim` dimensions: known kind, dim allowed, the parameters in use finite and
 * within their constraints. Errors: INVALID_ARGUMENT naming the parameter (and axis) and its value. */
QDML_API qdml_status qdml_objective_validate(const qdml_objective *objective, int dim);
/* *f = the objective at x (dim values), on the host. Errors: INVALID_ARGUMENT (validation, NULL
 * pointers, a non-finite coordinate). The value itself may be infinite where the formula overflows
 * (e.g. Morse far on the repulsive side). */
QDML_API qdml_status qdml_objective_eval(const qdml_objective *objective, const double *x, int dim, double *f);
/* The usual search box: lo[d] < hi[d], d < dim (arrays of dim values). Errors: as validate, NULL arrays. */
QDML_API qdml_status qdml_objective_domain(const qdml_objective *objective, int dim, double *lo, double *hi);
/* The known global minimiser (xmin, dim values; may be NULL) and minimum (fmin; may be NULL), as
 * listed above: exact where a closed form gives it, else computed to rounding. fmin is then
 * qdml_objective_eval at xmin. Errors: as validate. */
QDML_API qdml_status qdml_objective_minimum(const qdml_objective *objective, int dim, double *xmin, double *fmin);

/* Set the potential of one member (or all, QDML_ALL_MEMBERS) to the objective sampled at the grid
 * points (x_j = lo + j (hi - lo) / n per axis), evaluated by the backend where the state lives (on
 * CUDA the GPU computes it: no host array of the grid's size is made), rounded once to the problem's
 * precision; otherwise as qdml_problem_set_potential (the member's minimum of V is recorded, the
 * state and history are kept). Errors: INVALID_ARGUMENT for a NULL objective, a member out of range,
 * an objective invalid for the grid's dim, or a value that is not finite in the problem's precision
 * at some grid point (the message gives the first such index and its coordinates; that member's
 * potential is left as it was); BACKEND. */
QDML_API qdml_status qdml_problem_set_objective(qdml_problem *problem, int64_t member, const qdml_objective *objective);

/* A caller's objective: the value at x (dim coordinates, the grid's axis order). */
typedef double (*qdml_objective_fn)(const double *x, int dim, void *user);
/* Set the potential of one member (or all) to fn at every grid point: called once per point, in C
 * order (last axis fastest), on the calling thread, with x_j = lo + j (hi - lo) / n per axis; the
 * values are collected in a host array of qdml_problem_points() doubles and uploaded as by
 * qdml_problem_set_potential. fn must not call qdml functions on this problem. Errors:
 * INVALID_ARGUMENT for a NULL problem or fn, a member out of range, or a value that is NaN or
 * infinite (the message gives the first such index and its coordinates; no member is changed);
 * OUT_OF_MEMORY; BACKEND. */
QDML_API qdml_status qdml_problem_set_objective_fn(qdml_problem *problem, int64_t member, qdml_objective_fn fn,
                                                   void *user);

/* ---------------------------------------------------------------------------------------------
 * Checkpoints: the whole state of a problem in one file, to resume a run after it was stopped.
 *
 * A checkpoint holds the grid and batch, and per member hbar, mass, the potential, the state, the
 * step counter, the time, the step size in force and the statistics history. It does not hold the
 * context (backend, threads, precision) or run options (mode, steps, monitor): the caller gives those
 * again when it resumes. Loading a checkpoint into a problem made on the same grid and batch and then
 * calling qdml_problem_evolve with the same options continues the run exactly: on the CPU backend the
 * states after N steps in one call equal, bit for bit, those after k steps, save, load into a fresh
 * problem, and N - k more steps, provided k is a multiple of the monitor interval (the potential
 * half-steps are fused between monitoring points, so a run split elsewhere rounds differently).
 * A checkpoint also holds where the last qdml_problem_ground search stands (per member: smallest
 * step allowed, stall count, converged and active flags, last statistics), so that a ground search resumes with
 * qdml_ground_options.resume = 1 just as it would have gone on, under the same condition on k.
 *
 * Format, version 1 (every number little-endian whatever the host; doubles as IEEE-754 bits):
 *   header   "QDMLCKPT", u32 version = 1, u32 0, u64 payload bytes
 *   payload  u32 dim, u32 precision, i64 n[3], f64 lo[3], f64 hi[3] (unused axes 0), i64 batch,
 *            i64 points; per member f64 hbar, f64 mass, u64 has_potential, i64 step, f64 time,
 *            f64 dt, u64 history entries; u64 ground schedule valid, per member f64 dt_min,
 *            i64 stalled, u64 converged, u64 active, its last statistics (19 words, as in the
 *            history); then per member the potential (points f64, when set), the
 *            state (2 x points f64, interleaved) and the history (entries x 19 eight-byte words: the
 *            fields of qdml_stats in declaration order)
 *   trailer  u64 FNV-1a 64 checksum of header and payload
 * Files are written atomically: to "PATH.tmp.<pid>", flushed, fsynced, then renamed over PATH (and
 * the directory synced), so PATH always holds either the previous checkpoint or the new one, never
 * a part; on failure the temporary file is removed. (Two threads of one process must not save to
 * the same PATH at once.) Nothing else is kept or owned: the caller owns the path string.
 * ------------------------------------------------------------------------------------------- */

/* Write the whole state of `problem` to `path`. Errors: INVALID_ARGUMENT (NULL), OUT_OF_MEMORY,
 * OVERFLOW, BACKEND (copying arrays out failed), IO (create, write, fsync or rename failed; the
 * message has the OS error; a previous file at path is left as it was). */
QDML_API qdml_status qdml_checkpoint_save(const qdml_problem *problem, const char *path);
/* Replace the state of `problem` (every member: hbar, mass, potential, state, step counter, time,
 * dt, history, ground-search schedule) by the checkpoint at `path`. The whole file is read and
 * checked before the problem is touched; refused with INVALID_ARGUMENT and a message saying which:
 * not a checkpoint (bad magic),
 * an unsupported version, truncated or padded (size differs from the header's), corrupt (checksum
 * mismatch), an invalid layout or non-finite values, or a grid or batch that differs from the
 * problem's (dim, n, lo and hi must be equal exactly). IO when the file cannot be opened or read,
 * OUT_OF_MEMORY (needs the file's size in host memory, briefly). Only a backend failure after the
 * checks (BACKEND) can leave the problem partly loaded. Precision is not checked: states cross as
 * double either way (bit-for-bit resumption holds when the precision is the same). */
QDML_API qdml_status qdml_checkpoint_load(qdml_problem *problem, const char *path);
/* Read and check the checkpoint at `path` (as qdml_checkpoint_load does) and report its grid and
 * batch (either may be NULL), e.g. to create the problem to load it into. Errors as for load; the
 * message is in qdml_last_error_message(). */
QDML_API qdml_status qdml_checkpoint_info(const char *path, qdml_grid *grid, int64_t *batch);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QDML_QDML_H */
