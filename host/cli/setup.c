/* The inputs of a run of the qdml program: the potential (.npy) or built-in objectives, the box and
 * grid, the context and problem made from them or from a checkpoint, the initial states (--psi0,
 * --states), and the states written out (--out). Shared by qdml ground, evolve and minimize. */
#include "setup.h"
#include "mpi_launch.h"
#include "args.h"
#include "output.h"
#include "plans.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages about arrays -------------------------------------------------------------------- */

/* Index of the first non-finite double in v[0..n), or -1. */
static int64_t first_nonfinite(const double *v, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
        if (!isfinite(v[i])) return i;
    return -1;
}

/* Reports the element at `flat` as an index tuple of `shape`. */
static void format_index(char *buf, size_t len, int64_t flat, int ndim, const int64_t *shape) {
    int64_t idx[QDML_NPY_MAX_NDIM];
    for (int d = ndim - 1; d >= 0; --d) {
        idx[d] = shape[d] > 0 ? flat % shape[d] : 0;
        flat = shape[d] > 0 ? flat / shape[d] : 0;
    }
    qdml_npy_format_shape(buf, len, ndim, idx);
}

/* ---- potential, objectives, problem ----------------------------------------------------------- */

void cli_setup_free(cli_setup *s) {
    qdml_problem_destroy(s->problem);
    qdml_context_destroy(s->ctx);
    qdml_npy_free(&s->V);
    free(s->obj);
    s->obj = NULL;
    s->problem = NULL;
    s->ctx = NULL;
}

int cli_setup_load_potential(cli_setup *s, const char *path, int batch_mode) {
    const char *cmd = s->cmd;
    if (qdml_npy_read(path, &s->V) != QDML_OK) {
        cli_error(cmd, "--potential: %s", qdml_last_error_message());
        return CLI_USAGE;
    }
    const qdml_npy_array *V = &s->V;
    char shape_txt[256];
    qdml_npy_format_shape(shape_txt, sizeof shape_txt, V->ndim, V->shape);
    if (V->dtype != QDML_NPY_F64) {
        cli_error(cmd, "--potential %s: dtype is complex128, expected float64 (a real potential)", path);
        return CLI_USAGE;
    }
    const int grid_axes = V->ndim - (batch_mode ? 1 : 0);
    if (batch_mode && V->ndim < 2) {
        cli_error(cmd,
                  "--potential %s: with --batch the first axis is the batch, so the array needs 2 to %d axes "
                  "(batch, n1[, n2[, n3]]); it has shape %s",
                  path, QDML_MAX_DIM + 1, shape_txt);
        return CLI_USAGE;
    }
    if (grid_axes < 1) {
        cli_error(cmd, "--potential %s: has shape %s; expected a grid array of shape (n1[, n2[, n3]])", path,
                  shape_txt);
        return CLI_USAGE;
    }
    if (grid_axes > QDML_MAX_DIM) {
        cli_error(cmd,
                  "--potential %s: grids of more than %d dimensions are not supported (shape %s has %d grid axes%s)",
                  path, QDML_MAX_DIM, shape_txt, grid_axes, batch_mode ? " after the batch axis" : "");
        return CLI_USAGE;
    }
    for (int d = 0; d < V->ndim; ++d) {
        if (V->shape[d] < 1) {
            cli_error(cmd, "--potential %s: axis %d of shape %s is empty", path, d, shape_txt);
            return CLI_USAGE;
        }
    }
    s->batch = batch_mode ? V->shape[0] : 1;
    s->dim = grid_axes;
    s->points = 1;
    for (int d = 0; d < grid_axes; ++d) {
        s->n[d] = V->shape[d + (batch_mode ? 1 : 0)];
        s->points *= s->n[d]; /* cannot overflow: the .npy reader checked the full product */
    }
    int64_t bad = first_nonfinite(V->data, V->count);
    if (bad >= 0) {
        char idx[256];
        format_index(idx, sizeof idx, bad, V->ndim, V->shape);
        char member[64] = "";
        if (batch_mode) snprintf(member, sizeof member, " (member %lld)", (long long)(bad / s->points));
        cli_error(cmd, "--potential %s: value at index %lld %s%s is %s; the potential must be finite", path,
                  (long long)bad, idx, member, isnan(V->data[bad]) ? "nan" : "infinite");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* --objective SPEC --dim D --n N[,N...] [--box SPEC], the alternative to --potential and --box: SPEC
 * is NAME[:KEY=V,...] (qdml_objective_parse; the names and keys are in qdml.h), with batch_mode
 * several separated by ';', one member each. Without --box (box NULL) the box is the smallest one
 * holding every objective's usual domain (qdml_objective_domain). Fills the grid and batch of s and
 * s->obj; make_problem then has each member's potential evaluated by the backend
 * (qdml_problem_set_objective). For every subcommand that takes --objective. */
int cli_setup_load_objectives(cli_setup *s, const char *spec, const char *dim_txt, const char *n_txt, const char *box,
                              int batch_mode) {
    const char *cmd = s->cmd;
    if (!dim_txt) {
        cli_error(cmd, "--objective needs --dim D (the grid's dimensions, 1 to %d)", QDML_MAX_DIM);
        return CLI_USAGE;
    }
    int64_t dim = 0;
    if (cli_positive_int64(cmd, "--dim", dim_txt, &dim) != CLI_OK) return CLI_USAGE;
    if (dim > QDML_MAX_DIM) {
        cli_error(cmd, "--dim: %s: grids have 1 to %d dimensions", dim_txt, QDML_MAX_DIM);
        return CLI_USAGE;
    }
    s->dim = (int)dim;
    if (cli_parse_points(cmd, n_txt, s->dim, s->n) != CLI_OK) return CLI_USAGE;
    s->points = 1;
    for (int d = 0; d < s->dim; ++d) {
        if (s->n[d] > INT64_MAX / s->points) {
            cli_error(cmd, "--n: %s points overflow a 64-bit count", n_txt);
            return CLI_USAGE;
        }
        s->points *= s->n[d];
    }
    int64_t count = 1;
    for (const char *c = spec; *c; ++c)
        count += *c == ';';
    if (count > 1 && !batch_mode) {
        cli_error(cmd,
                  "--objective '%s' holds %lld objectives separated by ';': add --batch to solve them together, "
                  "one member each",
                  spec, (long long)count);
        return CLI_USAGE;
    }
    s->obj = calloc((size_t)count, sizeof *s->obj);
    char *item = malloc(strlen(spec) + 1);
    if (!s->obj || !item) {
        free(item);
        cli_error(cmd, "out of memory");
        return CLI_RUN_FAILED;
    }
    const char *at = spec;
    for (int64_t k = 0; k < count; ++k) {
        const char *semi = strchr(at, ';');
        const size_t len = semi ? (size_t)(semi - at) : strlen(at);
        memcpy(item, at, len);
        item[len] = '\0';
        if (qdml_objective_parse(item, s->dim, &s->obj[k]) != QDML_OK) {
            const char *why = qdml_last_error_message();
            static const char prefix[] = "qdml_objective_parse: ";
            if (strncmp(why, prefix, sizeof prefix - 1) == 0) why += sizeof prefix - 1;
            if (count > 1)
                cli_error(cmd, "--objective (member %lld): %s", (long long)k, why);
            else
                cli_error(cmd, "--objective: %s", why);
            free(item);
            return CLI_USAGE;
        }
        at = semi ? semi + 1 : at + len;
    }
    free(item);
    s->batch = count;
    if (box) return cli_parse_box(cmd, box, s->dim, s->lo, s->hi);
    for (int64_t k = 0; k < count; ++k) {
        double lo[QDML_MAX_DIM], hi[QDML_MAX_DIM];
        if (qdml_objective_domain(&s->obj[k], s->dim, lo, hi) != QDML_OK) {
            cli_error(cmd, "--objective: %s; give --box", qdml_last_error_message());
            return CLI_USAGE;
        }
        for (int d = 0; d < s->dim; ++d) {
            s->lo[d] = k == 0 || lo[d] < s->lo[d] ? lo[d] : s->lo[d];
            s->hi[d] = k == 0 || hi[d] > s->hi[d] ? hi[d] : s->hi[d];
        }
    }
    return CLI_OK;
}

/* Grid, context and problem, with the potential and hbar/mass set on every member. */
int cli_setup_make_problem(cli_setup *s, qdml_backend backend, int threads, qdml_precision precision, double hbar,
                           double mass) {
    const char *cmd = s->cmd;
    qdml_status st = qdml_grid_init(&s->grid, s->dim, s->n, s->lo, s->hi);
    if (st != QDML_OK) {
        cli_error(cmd, "invalid grid: %s", qdml_last_error_message());
        return cli_exit_for_status(st);
    }
    st = cli_context_create(&s->ctx, backend, threads);
    if (st != QDML_OK) {
        cli_error(cmd, "cannot create a %s context: %s", qdml_backend_name(backend), qdml_last_error_message());
        return st == QDML_ERR_UNAVAILABLE ? CLI_RUN_FAILED : cli_exit_for_status(st);
    }
    st = qdml_context_set_precision(s->ctx, precision);
    if (st != QDML_OK) {
        cli_error(cmd, "--precision: %s", qdml_context_last_error(s->ctx));
        return cli_exit_for_status(st);
    }
    char wisdom[4096], side[4096];
    int estimate = 0;
    const char *share = NULL;
    const char *wpath = cli_plans_wisdom(s, side, sizeof side, wisdom, sizeof wisdom, &estimate, &share);
    if (estimate && (st = qdml_context_set_fft_effort(s->ctx, QDML_FFT_ESTIMATE)) != QDML_OK) {
        cli_error(cmd, "%s", qdml_context_last_error(s->ctx));
        return cli_exit_for_status(st);
    }
    if (wpath[0] && qdml_context_set_fft_wisdom(s->ctx, wpath) != QDML_OK)
        (void)qdml_context_set_fft_wisdom(s->ctx, NULL); /* a path the library refuses: plan as without one */
    st = qdml_problem_create(s->ctx, &s->grid, s->batch, &s->problem);
    if (st != QDML_OK) {
        cli_error(cmd, "cannot create the problem (%lld points x %lld members): %s", (long long)s->points,
                  (long long)s->batch, qdml_context_last_error(s->ctx));
        if (st == QDML_ERR_UNAVAILABLE && precision == QDML_FLOAT32) {
            /* A usage problem, not a failed run: this backend does not compute in float32. */
            cli_error(cmd,
                      "--precision float32 needs the cuda backend (this run uses the %s backend); use "
                      "--precision float64 or --backend cuda on a machine with a CUDA device",
                      qdml_backend_name(qdml_context_backend(s->ctx)));
            return CLI_USAGE;
        }
        return cli_exit_for_status(st);
    }
    if (share) cli_plans_copy(wpath, share);
    if (!s->V.data && !s->obj) return CLI_OK; /* resuming: everything else comes from the checkpoint */
    for (int64_t b = 0; b < s->batch; ++b) {
        const int64_t src = s->same_potential ? 0 : b;
        st = s->obj ? qdml_problem_set_objective(s->problem, b, &s->obj[src])
                    : qdml_problem_set_potential(s->problem, b, s->V.data + src * s->points);
        if (st != QDML_OK) {
            cli_error(cmd, "%s: %s", s->obj ? "--objective" : "--potential", qdml_context_last_error(s->ctx));
            return cli_exit_for_status(st);
        }
    }
    st = qdml_problem_set_hbar(s->problem, QDML_ALL_MEMBERS, hbar);
    if (st == QDML_OK) st = qdml_problem_set_mass(s->problem, QDML_ALL_MEMBERS, mass);
    if (st != QDML_OK) {
        cli_error(cmd, "%s", qdml_context_last_error(s->ctx));
        return cli_exit_for_status(st);
    }
    return CLI_OK;
}

/* ---- initial states --------------------------------------------------------------------------- */

/* --psi0 of qdml evolve: the array read, then its shape, values and norm checked against the grid. */
int cli_setup_read_state(const cli_setup *s, const char *path, qdml_npy_array *psi0) {
    const char *cmd = s->cmd;
    if (qdml_npy_read(path, psi0) != QDML_OK) {
        cli_error(cmd, "--psi0: %s", qdml_last_error_message());
        return CLI_USAGE;
    }
    int same = psi0->ndim == s->dim;
    for (int d = 0; same && d < psi0->ndim; ++d)
        same = psi0->shape[d] == s->n[d];
    if (!same) {
        char a[256], b[256];
        qdml_npy_format_shape(a, sizeof a, psi0->ndim, psi0->shape);
        qdml_npy_format_shape(b, sizeof b, s->dim, s->n);
        cli_error(cmd, "--psi0 %s: shape %s does not match the %s's shape %s", path, a, s->obj ? "grid" : "potential",
                  b);
        return CLI_USAGE;
    }
    const int64_t nd = psi0->dtype == QDML_NPY_C128 ? 2 * psi0->count : psi0->count;
    int64_t bad = first_nonfinite(psi0->data, nd);
    if (bad >= 0) {
        int64_t el = psi0->dtype == QDML_NPY_C128 ? bad / 2 : bad;
        char idx[256];
        format_index(idx, sizeof idx, el, psi0->ndim, psi0->shape);
        cli_error(cmd, "--psi0 %s: value at index %lld %s is not finite", path, (long long)el, idx);
        return CLI_USAGE;
    }
    int64_t k = 0;
    while (k < nd && psi0->data[k] == 0.0)
        ++k;
    if (k == nd) {
        cli_error(cmd, "--psi0 %s: the state is zero everywhere (norm 0); give a state to evolve", path);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_setup_set_state(cli_setup *s, const qdml_npy_array *psi0) {
    double *state = psi0->data;
    if (psi0->dtype != QDML_NPY_C128) {
        state = malloc((size_t)s->points * 2 * sizeof(double));
        if (!state) {
            cli_error(s->cmd, "out of memory");
            return CLI_RUN_FAILED;
        }
        for (int64_t i = 0; i < s->points; ++i)
            state[2 * i] = psi0->data[i], state[2 * i + 1] = 0.0;
    }
    int rc = CLI_OK;
    qdml_status st = qdml_problem_set_state(s->problem, 0, state);
    if (st != QDML_OK) {
        cli_error(s->cmd, "--psi0: %s", qdml_context_last_error(s->ctx));
        rc = cli_exit_for_status(st);
    }
    if (state != psi0->data) free(state);
    return rc;
}

/* --psi0 in real time, where the norm is conserved: the sums monitoring reports (the residual's is
 * the largest: at most norm / dV x (2 max |V| + the largest kinetic energy)^2) must stay within double
 * precision for the whole run, or the run stops as diverged part way for a reason that is the
 * input's. Imaginary time renormalises every step: the library checks the start alone. */
int cli_setup_check_state_scale(cli_setup *s, const char *path, double hbar, double mass) {
    double *v = malloc((size_t)s->points * sizeof *v), *psi = malloc((size_t)s->points * 2 * sizeof *psi);
    int rc = CLI_OK;
    if (!v || !psi || qdml_problem_get_potential(s->problem, 0, v) != QDML_OK ||
        qdml_problem_get_state(s->problem, 0, psi) != QDML_OK) {
        cli_error(s->cmd, "--psi0: %s", v && psi ? qdml_context_last_error(s->ctx) : "out of memory");
        rc = CLI_RUN_FAILED;
    } else {
        double vmax = 0.0, sum = 0.0, k2 = 0.0;
        for (int64_t i = 0; i < s->points; ++i) {
            vmax = fabs(v[i]) > vmax ? fabs(v[i]) : vmax;
            sum += psi[2 * i] * psi[2 * i] + psi[2 * i + 1] * psi[2 * i + 1];
        }
        for (int d = 0; d < s->dim; ++d) {
            const double k = 2.0 * 3.14159265358979323846 * (double)(s->n[d] / 2) / (s->hi[d] - s->lo[d]);
            k2 += k * k;
        }
        /* At norm 1 the sum of |psi|^2 is 1 / dV: only a bound finite there and not at this norm is the
         * state's doing (a potential or grid beyond double precision shows as a divergence, as ever). */
        const double e = 2.0 * vmax + hbar * hbar * k2 / (2.0 * mass), bound = sum * e * e;
        const double at_norm_1 = e * e / qdml_grid_dv(&s->grid);
        const int too_large = !isfinite(sum) || (isfinite(at_norm_1) && !isfinite(bound));
        if (too_large)
            cli_error(s->cmd,
                      "--psi0 %s: its norm %g is too large for real time on this grid and potential: the sums the "
                      "run monitors reach up to norm / dV x (2 max|V| + the largest kinetic energy)^2 = %g, beyond "
                      "double precision (real time keeps the norm); rescale the state (to norm 1, say)",
                      path, sum * qdml_grid_dv(&s->grid), bound);
        if (too_large) rc = CLI_USAGE;
    }
    free(v);
    free(psi);
    return rc;
}

/* The program's starting states. A state with no part along an eigenstate never reaches it in
 * imaginary time: the uniform state alone misses every eigenstate odd under a symmetry of the grid,
 * among them ground states whose structure sits at the Nyquist wavenumber (V = x^2/2 + 100 (-1)^j).
 * So every start carries a seeded random part: real, uniform in [-1e-3, 1e-3) at each point, small
 * enough to leave the start's energy scale (and so the first step) as it was, generic enough to
 * overlap every eigenstate. The same numbers every run and on every machine (xorshift64*). */
#define START_NOISE 1e-3

/* Real Fourier functions on the points of one axis of n: index j = 0 is 1, j = 2m - 1 cos(2 pi m i / n)
 * and j = 2m sin(2 pi m i / n) for m = 1, 2, ... (n even: j = n - 1 is the Nyquist cosine (-1)^i, which
 * has no sine): n of them, orthogonal, of wavenumber 2 pi m / L with m = (j + 1) / 2. */
static double fourier_function(int64_t j, int64_t i, int64_t n) {
    if (j == 0) return 1.0;
    const int64_t m = (j + 1) / 2;
    const double phase = 2.0 * 3.14159265358979323846 * (double)((m * i) % n) / (double)n;
    return j % 2 ? cos(phase) : sin(phase);
}

typedef struct mode {
    double k2;    /* sum over axes of (2 pi m_d / L_d)^2 */
    int64_t flat; /* C-order index of (j_0, j_1, j_2) among the n_0 x n_1 x n_2 functions */
    int64_t j[3];
} mode;

static int mode_before(const mode *a, const mode *b) { return a->k2 < b->k2 || (a->k2 == b->k2 && a->flat < b->flat); }

/* The K products of per-axis Fourier functions of lowest wavenumber (ties: lowest index), in order,
 * into out[0..K): a heap from (0, 0, 0), each function popped pushing its neighbours one index up on
 * each axis (the wavenumber never falls along an axis, so the pops come in order), with a set of
 * those pushed. O(K log K) whatever the grid's size. Returns 0 when out of memory. */
static int lowest_modes(const cli_setup *s, int64_t K, mode *out) {
    const size_t cap = (size_t)(K * 3 + 1);
    size_t hcap = 64;
    while (hcap < 4 * cap)
        hcap *= 2;
    mode *heap = malloc(cap * sizeof *heap);
    int64_t *seen = malloc(hcap * sizeof *seen); /* open addressing on the flat index; -1 empty */
    if (!heap || !seen) {
        free(heap);
        free(seen);
        return 0;
    }
    for (size_t k = 0; k < hcap; ++k)
        seen[k] = -1;
    size_t nh = 0;
    heap[nh++] = (mode){0.0, 0, {0, 0, 0}};
    seen[0] = 0;
    for (int64_t got = 0; got < K; ++got) {
        const mode top = heap[0];
        out[got] = top;
        heap[0] = heap[--nh];
        for (size_t i = 0;;) { /* sift down */
            size_t l = 2 * i + 1, r = l + 1, m = i;
            if (l < nh && mode_before(&heap[l], &heap[m])) m = l;
            if (r < nh && mode_before(&heap[r], &heap[m])) m = r;
            if (m == i) break;
            const mode t = heap[i];
            heap[i] = heap[m], heap[m] = t, i = m;
        }
        for (int d = 0; d < s->dim; ++d) {
            if (top.j[d] + 1 >= s->n[d]) continue;
            mode next = top;
            next.j[d] += 1;
            next.flat = 0;
            next.k2 = 0.0;
            for (int e = 0; e < s->dim; ++e) {
                next.flat = next.flat * s->n[e] + next.j[e];
                const double k = 2.0 * 3.14159265358979323846 * (double)((next.j[e] + 1) / 2) / (s->hi[e] - s->lo[e]);
                next.k2 += k * k;
            }
            size_t h = (size_t)((uint64_t)next.flat * 0x9E3779B97F4A7C15ull >> 20) & (hcap - 1);
            while (seen[h] >= 0 && seen[h] != next.flat)
                h = (h + 1) & (hcap - 1);
            if (seen[h] == next.flat) continue;
            seen[h] = next.flat;
            size_t i = nh++; /* sift up */
            heap[i] = next;
            while (i > 0 && mode_before(&heap[i], &heap[(i - 1) / 2])) {
                const mode t = heap[i];
                heap[i] = heap[(i - 1) / 2], heap[(i - 1) / 2] = t, i = (i - 1) / 2;
            }
        }
    }
    free(heap);
    free(seen);
    return 1;
}

int cli_setup_start_states(cli_setup *s, int distinct) {
    const char *cmd = s->cmd;
    const int64_t B = s->batch, K = distinct ? B : 1;
    if (K > s->points) { /* (refused before, as a usage error; kept here so that no caller can miss it) */
        cli_error(cmd, "--states %lld: the grid has %lld points, so at most %lld states can be independent",
                  (long long)K, (long long)s->points, (long long)s->points);
        return CLI_USAGE;
    }
    if ((uint64_t)s->points > SIZE_MAX / 16) {
        cli_error(cmd, "grid too large");
        return CLI_RUN_FAILED;
    }
    double *psi = malloc((size_t)s->points * 2 * sizeof(double));
    mode *modes = malloc((size_t)K * sizeof *modes);
    double *axis[3] = {NULL, NULL, NULL};
    int rc = CLI_OK;
    for (int d = 0; d < s->dim; ++d)
        axis[d] = malloc((size_t)s->n[d] * sizeof(double));
    if (!psi || !modes || (s->dim > 0 && !axis[0]) || (s->dim > 1 && !axis[1]) || (s->dim > 2 && !axis[2]) ||
        !lowest_modes(s, K, modes)) {
        cli_error(cmd, "out of memory making the starting states");
        rc = CLI_RUN_FAILED;
    }
    for (int64_t b = 0; b < B && rc == CLI_OK; ++b) {
        const mode *m = &modes[distinct ? b : 0];
        for (int d = 0; d < s->dim; ++d)
            for (int64_t i = 0; i < s->n[d]; ++i)
                axis[d][i] = fourier_function(m->j[d], i, s->n[d]);
        /* Without distinct, every member the same start whatever its index: a member of a batch starts
         * as it would alone. */
        double norm = 0.0;
        uint64_t rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)(distinct ? b + 1 : 0) * 0xD1B54A32D192ED03ull;
        for (int64_t i = 0; i < s->points; ++i) {
            int64_t rest = i;
            double f = 1.0;
            for (int d = s->dim - 1; d >= 0; --d) {
                f *= axis[d][rest % s->n[d]];
                rest /= s->n[d];
            }
            rng ^= rng >> 12; /* xorshift64* (Vigna 2016): the top 53 bits as a number in [0, 1) */
            rng ^= rng << 25;
            rng ^= rng >> 27;
            const double u = (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
            psi[2 * i] = f + START_NOISE * (2.0 * u - 1.0);
            psi[2 * i + 1] = 0.0;
            norm += psi[2 * i] * psi[2 * i];
        }
        /* Norm 1, as qdml_problem_set_state_uniform gives: the first statistics then do not depend on the
         * number of points (a start of values near 1 would square a deep potential's values sooner). */
        const double scale = 1.0 / sqrt(norm * qdml_grid_dv(&s->grid));
        for (int64_t i = 0; i < s->points; ++i)
            psi[2 * i] *= scale;
        if (qdml_problem_set_state(s->problem, b, psi) != QDML_OK) {
            cli_error(cmd, "setting the starting state of member %lld: %s", (long long)b,
                      qdml_context_last_error(s->ctx));
            rc = CLI_RUN_FAILED;
        }
    }
    for (int d = 0; d < 3; ++d)
        free(axis[d]);
    free(modes);
    free(psi);
    return rc;
}

/* ---- checkpoints ------------------------------------------------------------------------------ */

/* Steps between checkpoints: `requested` (0: ten monitoring intervals), at most `total`, rounded up
 * to a multiple of the monitoring interval M. Checkpoints then fall on monitoring points, where an
 * unbroken run also closes its fused half-steps, so resuming changes no bit. */
int64_t cli_checkpoint_interval(const char *cmd, int64_t requested, int64_t M, int64_t total) {
    int64_t every = requested > 0 ? requested : 10 * M;
    if (every > total) every = total;
    if (every % M != 0) {
        int64_t up = (every / M + 1) * M;
        if (requested > 0)
            fprintf(stderr,
                    "qdml %s: note: --checkpoint-every %lld is not a multiple of the monitoring interval %lld; "
                    "checkpointing every %lld steps\n",
                    cmd, (long long)requested, (long long)M, (long long)up);
        every = up;
    }
    return every;
}

/* Grid and batch from a checkpoint; the problem made on them and the checkpoint loaded into it. */
int cli_setup_resume(cli_setup *s, const char *path, qdml_backend backend, int threads, qdml_precision precision) {
    const char *cmd = s->cmd;
    if (qdml_checkpoint_info(path, &s->grid, &s->batch) != QDML_OK) {
        cli_error(cmd, "--resume: %s", qdml_last_error_message());
        return CLI_USAGE;
    }
    s->dim = s->grid.dim;
    s->points = qdml_grid_points(&s->grid);
    for (int d = 0; d < s->dim; ++d)
        s->n[d] = s->grid.n[d], s->lo[d] = s->grid.lo[d], s->hi[d] = s->grid.hi[d];
    int rc = cli_setup_make_problem(s, backend, threads, precision, 1.0, 1.0);
    if (rc != CLI_OK) return rc;
    qdml_status st = qdml_checkpoint_load(s->problem, path);
    if (st != QDML_OK) {
        cli_error(cmd, "--resume: %s", qdml_context_last_error(s->ctx));
        return cli_exit_for_status(st);
    }
    return CLI_OK;
}

/* ---- --radius ---------------------------------------------------------------------------------- */

void cli_json_success(FILE *f, const cli_setup *s, int64_t b, double radius, const char *in) {
    if (radius < 0 || !s->obj) return;
    double xmin[81 * QDML_MAX_DIM], prob = NAN; /* 81: the most global minimisers a kind has (shubert, 3D) */
    int64_t count = 0;
    const qdml_objective *o = &s->obj[s->same_potential ? 0 : b];
    if (qdml_objective_minimizers(o, s->dim, xmin, 81, &count) != QDML_OK || count < 1 || count > 81 ||
        qdml_problem_success_probability(s->problem, b, xmin, count, radius, &prob) != QDML_OK)
        prob = NAN;
    fprintf(f, ",\n%s\"radius\": ", in);
    cli_json_number(f, radius);
    fprintf(f, ",\n%s\"success_probability\": ", in);
    cli_json_number(f, prob);
}

/* ---- --out ------------------------------------------------------------------------------------ */

/* Writes the states of all members as one complex128 array, streamed a part of a member at a time (on an MPI
 * context no rank holds a whole member: rank 0 writes the parts it gathers). */
int cli_setup_write_states(cli_setup *s, const char *path, int batch_axis) {
    const char *cmd = s->cmd;
    if (cli_path_is_h5(path)) return cli_setup_write_h5(s, path, batch_axis);
    /* 2^20 points a part, or QDML_PART_POINTS (for the tests: small grids in several parts too) */
    const char *pe = getenv("QDML_PART_POINTS");
    const int64_t want = pe && atoll(pe) > 0 ? (int64_t)atoll(pe) : (INT64_C(1) << 20);
    const int64_t part = s->points < want ? s->points : want;
    double *psi = malloc((size_t)part * 2 * sizeof(double));
    if (!psi) {
        cli_error(cmd, "--out %s: out of memory", path);
        return CLI_RUN_FAILED;
    }
    int64_t shape[QDML_MAX_DIM + 1];
    int ndim = 0;
    if (batch_axis) shape[ndim++] = s->batch;
    for (int d = 0; d < s->dim; ++d)
        shape[ndim++] = s->n[d];
    qdml_npy_writer w;
    if (qdml_npy_writer_open(&w, path, QDML_NPY_C128, ndim, shape) != QDML_OK) {
        cli_error(cmd, "--out: %s", qdml_last_error_message());
        free(psi);
        return CLI_RUN_FAILED;
    }
    for (int64_t b = 0; b < s->batch; ++b)
        for (int64_t first = 0; first < s->points; first += part) {
            const int64_t k = s->points - first < part ? s->points - first : part;
            if (qdml_problem_get_state_part(s->problem, b, first, k, psi) != QDML_OK) {
                cli_error(cmd, "--out: reading the state failed: %s", qdml_context_last_error(s->ctx));
                qdml_npy_writer_abort(&w);
                free(psi);
                return CLI_RUN_FAILED;
            }
            (void)qdml_npy_writer_put(&w, psi, (size_t)k * 2);
        }
    free(psi);
    if (qdml_npy_writer_close(&w) != QDML_OK) {
        cli_error(cmd, "--out: %s", qdml_last_error_message());
        return CLI_RUN_FAILED;
    }
    return CLI_OK;
}
