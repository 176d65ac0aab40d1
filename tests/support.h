/* Helpers shared by the tests: contexts, random numbers, closed-form comparisons. */
#ifndef QDML_TESTS_SUPPORT_H
#define QDML_TESTS_SUPPORT_H
#include <qdml/qdml.h>
#include <stdint.h>

/* The backend the tests run on: QDML_TEST_BACKEND=cpu (default), cuda or auto. */
qdml_backend qt_backend(void);
/* A context on qt_backend() with 1 thread and FFTW_ESTIMATE planning (fast to make in tests). Asserts on failure.
 * For the tests of behaviour every backend must show: they run on the backend QDML_TEST_BACKEND selects. */
qdml_context *qt_context(void);
/* The same on the CPU backend whatever QDML_TEST_BACKEND says: for the tests of the CPU backend's own
 * workings (its paths, its host-memory check). */
qdml_context *qt_cpu_context(void);
/* A problem on `grid` with `batch` members; asserts on failure and prints the context's message. */
qdml_problem *qt_problem(qdml_context *ctx, const qdml_grid *grid, int64_t batch);
/* Coordinate of point j on `axis`. */
double qt_x(const qdml_grid *g, int axis, int64_t j);
/* Fill a C-order grid array: for each point call f(x, dim, user). */
void qt_fill(const qdml_grid *g, double *out, double (*f)(const double *x, int dim, void *user), void *user);
/* Deterministic uniform random numbers in [0,1) (xorshift64*), seeded per test. */
typedef struct { uint64_t s; } qt_rng;
void qt_rng_seed(qt_rng *r, uint64_t seed);
double qt_uniform(qt_rng *r);
double qt_normal(qt_rng *r);

/* pi (M_PI is not part of strict C11). */
#define QT_PI 3.14159265358979323846

/* A grid with per-axis n, lo, hi; asserts on failure. */
qdml_grid qt_grid(int dim, const int64_t *n, const double *lo, const double *hi);
/* Coordinates of flat C-order point `idx` (last axis fastest): x[0..dim-1]. */
void qt_coords(const qdml_grid *g, int64_t idx, double *x);
/* calloc that asserts (count * size must not overflow). */
void *qt_calloc(size_t count, size_t size);
/* Set a potential V(x) on one member (or QDML_ALL_MEMBERS); asserts. */
void qt_set_potential_fn(qdml_problem *p, int64_t member, double (*f)(const double *x, int dim, void *user),
                         void *user);
/* Set V = 0 on every member (runs need a potential); asserts. */
void qt_set_zero_potential(qdml_problem *p);
/* Interleaved complex arrays of n values: max |a_i - b_i|, max |a_i|, sum |a_i|^2 * dv. */
double qt_max_abs_diff(const double *a, const double *b, int64_t n);
double qt_max_abs(const double *a, int64_t n);
double qt_norm(const double *a, int64_t n, double dv);
/* Arrays of n doubles (each part on its own): max_i |a_i - b_i| / max_i |a_i|; 0 where they are equal,
 * NaN where a difference is NaN. */
double qt_rel_diff(const double *a, const double *b, int64_t n);
/* The exact evolution over time t of any sampled state in a constant potential v0 (a closed form that
 * needs no resolution: every Fourier mode of the grid is multiplied by exp(-i E_k t / hbar) in real
 * time, exp(-E_k t / hbar) in imaginary time without renormalisation, E_k = hbar^2 k^2 / 2m + v0).
 * The transforms are direct sums over each axis (twiddles from the exact index product j k mod n) and
 * k = 2 pi q / L with q the mode's index taken into [-n/2, n/2] (for odd n, (1-n)/2 .. (n-1)/2), so
 * neither FFTW nor core/pointwise.h is used. in and out: interleaved complex, grid points each (they
 * may be the same array). Rounding: ~1e-15 x max |in| per transform for the sizes of the tests. */
void qt_exact_flat_evolution(const qdml_grid *g, const double *in, double *out, double hbar, double mass, double v0,
                             double t, int imaginary);
/* A state of independent complex normal values at every point (every Fourier mode of the grid carries
 * weight, so a wrong wavenumber anywhere shows); 2 * points doubles, free() it. */
double *qt_random_state(const qdml_grid *g, qt_rng *r);
/* The state of one member into a fresh array (2 * points doubles; free() it); asserts. */
double *qt_get_state(const qdml_problem *p, int64_t member);
/* A fresh directory under $TMPDIR (or /tmp) named qdml-TAG-XXXXXX; free() the result. */
char *qt_tmpdir(const char *tag);
/* Remove a file or a directory tree (no error if absent). */
void qt_rm_rf(const char *path);
/* "dir/name", malloc'd. */
char *qt_path(const char *dir, const char *name);
#endif
