/* The MPI checks, run under mpirun by tests/test_mpi.c (a Criterion test cannot itself be an MPI rank:
 * Criterion runs each test in a forked worker). Every rank computes the problem spread over the ranks and
 * the same problem in one process (a plain context: no MPI), and rank 0 prints one line per comparison:
 *
 *   CHECK <name> <measured> <bound> ok|FAIL
 *
 * exiting 0 when every check holds, 1 otherwise. Cases (argv[1]):
 *   batch       7 members (different potentials, hbar and m) on the batch layout: ground states, then real
 *               time; every state, potential and result equal to the one-process batch's and to each member
 *               run alone, bit for bit (memcmp), and a monitor callback that stops on one rank stops every
 *               rank. With --cuda last: on the CUDA backend (see the_backend)
 *   slabs       a 3D (25 x 20 x 16) and a 2D (21 x 18) grid cut in slabs (25 planes: 13 + 12 on 2 ranks,
 *               9 + 9 + 7 on 3): ground states and real time, and in 2D the lowest 3 states, against one
 *               process: states, energies and widths to 1e-12 relative, the same step counts and
 *               density maxima; an objective filled on the slabs equal to one process's bit for bit
 *   checkpoint  (argv[2]: batch or slabs, argv[3]: a file) a checkpoint written on the ranks, read back on
 *               the ranks, resumes the run bit for bit; read by one process it holds the same states
 *   refusals    what the layouts cannot do fails on every rank with the same status, and the problem
 *               goes on working
 * With QDML_MPI_DEBUG set (mpirun -x QDML_MPI_DEBUG), rank 0 also prints each member's steps, widths and
 * means, and the first point where two objectives differ. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qdml/qdml_mpi.h>

static int rank = 0, failures = 0;
/* The backend of every context: CPU, or CUDA with --cuda (ranks sharing the node's devices). On the CPU the
 * batch case compares bit for bit; on CUDA to 1e-12 relative, since cuFFT's batched plans for 3, 4 and 7
 * members need not be the same kernels (never run on a device yet). */
static qdml_backend the_backend = QDML_BACKEND_CPU;

static int same_arrays(const double *a, const double *b, int64_t n) {
    if (the_backend == QDML_BACKEND_CPU) return memcmp(a, b, (size_t)n * sizeof(double)) == 0;
    double d = 0.0, m = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        d = fmax(d, fabs(a[i] - b[i]));
        m = fmax(m, fabs(b[i]));
        if (a[i] != a[i] || b[i] != b[i]) return 0;
    }
    return d <= 1e-12 * m;
}

static void check(const char *name, double measured, double bound) {
    const int ok = measured <= bound; /* a NaN fails */
    if (!ok) ++failures;
    if (rank == 0) printf("CHECK %s %.6g %.6g %s\n", name, measured, bound, ok ? "ok" : "FAIL");
}

static void must(qdml_status st, const char *what, const qdml_context *ctx) {
    if (st == QDML_OK) return;
    fprintf(stderr, "rank %d: %s: %s: %s\n", rank, what, qdml_status_string(st),
            ctx ? qdml_context_last_error(ctx) : qdml_last_error_message());
    MPI_Abort(MPI_COMM_WORLD, 2);
}

static void *xcalloc(size_t n, size_t e) {
    void *p = calloc(n ? n : 1, e);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    return p;
}

/* A member's potential: anisotropic oscillator, a coupling of the first two axes and a Gaussian bump
 * whose place depends on the member (no symmetry for a wrong layout to hide behind). */
static void make_potential(const qdml_grid *g, int member, double *v) {
    const int64_t N = qdml_grid_points(g);
    for (int64_t i = 0; i < N; ++i) {
        double x[3] = {0, 0, 0};
        int64_t r = i;
        for (int d = g->dim - 1; d >= 0; --d) {
            x[d] = g->lo[d] + (double)(r % g->n[d]) * (g->hi[d] - g->lo[d]) / (double)g->n[d];
            r /= g->n[d];
        }
        double f = 0.0;
        for (int d = 0; d < g->dim; ++d) f += 0.5 * (1.0 + 0.3 * d + 0.1 * member) * x[d] * x[d];
        f += 0.15 * x[0] * x[1];
        const double c = -0.7 + 0.2 * member;
        f += 0.8 * exp(-((x[0] - c) * (x[0] - c) + x[1] * x[1]));
        v[i] = f;
    }
}

/* Member b set up the same on both problems. */
static void setup_member(qdml_problem *p, const qdml_grid *g, int b, int pm, double *buf) {
    make_potential(g, b, buf);
    must(qdml_problem_set_potential(p, pm, buf), "set_potential", NULL);
    must(qdml_problem_set_hbar(p, pm, 1.0 + 0.05 * b), "set_hbar", NULL);
    must(qdml_problem_set_mass(p, pm, 1.0 + 0.1 * b), "set_mass", NULL);
    double c[3] = {0.3, -0.2, 0.1}, s[3] = {1.0, 0.8, 0.9}, k[3] = {0.5 * b, 0.0, -0.3};
    must(qdml_problem_set_state_gaussian(p, pm, c, s, k), "set_state_gaussian", NULL);
}

/* The same B members on a problem of each context: *pm on the MPI one, *pp in one process. */
static void make_pair(qdml_context *cm, qdml_context *cp, const qdml_grid *g, int B, qdml_problem **pm,
                      qdml_problem **pp, double *buf) {
    must(qdml_problem_create(cm, g, B, pm), "create (MPI)", cm);
    must(qdml_problem_create(cp, g, B, pp), "create (one process)", cp);
    for (int b = 0; b < B; ++b) {
        setup_member(*pm, g, b, b, buf);
        setup_member(*pp, g, b, b, buf);
    }
}

static double max_abs_diff(const double *a, const double *b, int64_t n, double *scale) {
    double d = 0.0, m = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double e = fabs(a[i] - b[i]);
        if (e > d || e != e) d = e;
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    if (scale) *scale = m;
    return d;
}

static int stats_same(const qdml_stats *a, const qdml_stats *b) {
    if (the_backend == QDML_BACKEND_CPU) return memcmp(a, b, sizeof *a) == 0;
    return a->step == b->step && fabs(a->energy - b->energy) <= 1e-12 * fabs(b->energy);
}

static qdml_context *mpi_ctx(qdml_mpi_layout layout) {
    qdml_context *ctx = NULL;
    must(qdml_context_create_mpi(&ctx, MPI_COMM_WORLD, the_backend, 1), "qdml_context_create_mpi", NULL);
    must(qdml_context_set_fft_effort(ctx, QDML_FFT_ESTIMATE), "set_fft_effort", ctx);
    must(qdml_mpi_set_layout(ctx, layout), "qdml_mpi_set_layout", ctx);
    return ctx;
}

static qdml_context *plain_ctx(void) {
    qdml_context *ctx = NULL;
    must(qdml_context_create(&ctx, the_backend, 1), "qdml_context_create", NULL);
    must(qdml_context_set_fft_effort(ctx, QDML_FFT_ESTIMATE), "set_fft_effort", ctx);
    return ctx;
}

static int stop_calls = 0;
/* Stops the run at its second monitoring point, on the last rank alone. */
static int stop_on_last_rank(const qdml_stats *s, int64_t batch, void *user) {
    (void)s;
    (void)batch;
    const int last = *(const int *)user;
    return ++stop_calls == 2 && rank == last;
}

/* ---- batch ------------------------------------------------------------------------------------- */

static void case_batch(void) {
    enum { B = 7 };
    qdml_grid g;
    const int64_t n[2] = {32, 24};
    const double lo[2] = {-6, -5}, hi[2] = {6, 5};
    must(qdml_grid_init(&g, 2, n, lo, hi), "grid", NULL);
    const int64_t N = qdml_grid_points(&g);
    qdml_context *cm = mpi_ctx(QDML_MPI_BATCH), *cp = plain_ctx();
    qdml_problem *pm = NULL, *pp = NULL;
    double *buf = xcalloc((size_t)N, 2 * sizeof(double)), *a = xcalloc((size_t)N, 2 * sizeof(double));
    make_pair(cm, cp, &g, B, &pm, &pp, buf);
    qdml_mpi_layout lay;
    int64_t first, count;
    must(qdml_mpi_problem_part(pm, &lay, &first, &count), "part", cm);
    check("batch_layout_is_batch", lay == QDML_MPI_BATCH ? 0 : 1, 0);
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = 1e-8;
    qdml_run_result rm[B], rp[B];
    must(qdml_problem_ground(pm, &go, rm), "ground (MPI)", cm);
    must(qdml_problem_ground(pp, &go, rp), "ground (one process)", cp);
    int differ = 0, conv = 0;
    for (int b = 0; b < B; ++b) {
        must(qdml_problem_get_state(pm, b, buf), "get_state", cm);
        must(qdml_problem_get_state(pp, b, a), "get_state", cp);
        differ += !same_arrays(buf, a, 2 * N);
        differ += !stats_same(&rm[b].final, &rp[b].final) || rm[b].steps != rp[b].steps;
        conv += rm[b].converged;
    }
    check("batch_ground_members_not_bit_identical", differ, 0);
    check("batch_ground_members_not_converged", B - conv, 0);
    /* the members are different problems */
    check("batch_ground_energies_distinct", fabs(rm[0].final.energy - rm[6].final.energy) > 0.05 ? 0 : 1, 0);
    qdml_evolve_options eo;
    qdml_evolve_options_default(&eo);
    eo.dt = 0.01;
    eo.steps = 300;
    eo.monitor_every = 50;
    for (int b = 0; b < B; ++b) { /* kick every member into motion */
        double c[2] = {0.5, -0.4}, s[2] = {0.9, 1.1}, k[2] = {1.0 + 0.1 * b, -0.5};
        must(qdml_problem_set_state_gaussian(pm, b, c, s, k), "gaussian", cm);
        must(qdml_problem_set_state_gaussian(pp, b, c, s, k), "gaussian", cp);
    }
    must(qdml_problem_evolve(pm, &eo, rm), "evolve (MPI)", cm);
    must(qdml_problem_evolve(pp, &eo, rp), "evolve (one process)", cp);
    differ = 0;
    for (int b = 0; b < B; ++b) {
        must(qdml_problem_get_state(pm, b, buf), "get_state", cm);
        must(qdml_problem_get_state(pp, b, a), "get_state", cp);
        differ += !same_arrays(buf, a, 2 * N);
        differ += !stats_same(&rm[b].final, &rp[b].final);
        size_t hm = 0, hp = 0;
        must(qdml_problem_history(pm, b, NULL, 0, &hm), "history", cm);
        must(qdml_problem_history(pp, b, NULL, 0, &hp), "history", cp);
        differ += hm != hp;
        must(qdml_problem_get_potential(pm, b, buf), "get_potential", cm);
        must(qdml_problem_get_potential(pp, b, a), "get_potential", cp);
        differ += !same_arrays(buf, a, N);
    }
    check("batch_evolve_members_not_bit_identical", differ, 0);
    /* The singles: each member alone in one process. */
    differ = 0;
    for (int b = 0; b < B; ++b) {
        qdml_problem *ps = NULL;
        must(qdml_problem_create(cp, &g, 1, &ps), "create single", cp);
        setup_member(ps, &g, b, 0, buf);
        double c[2] = {0.5, -0.4}, s[2] = {0.9, 1.1}, k[2] = {1.0 + 0.1 * b, -0.5};
        must(qdml_problem_set_state_gaussian(ps, 0, c, s, k), "gaussian", cp);
        qdml_run_result r1;
        must(qdml_problem_evolve(ps, &eo, &r1), "evolve single", cp);
        must(qdml_problem_get_state(ps, 0, a), "get_state single", cp);
        must(qdml_problem_get_state(pm, b, buf), "get_state", cm);
        differ += !same_arrays(buf, a, 2 * N) || !stats_same(&rm[b].final, &r1.final);
        qdml_problem_destroy(ps);
    }
    check("batch_members_not_bit_identical_to_singles", differ, 0);
    /* A callback that asks to stop on the last rank only stops every rank at the same point. */
    int last = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &last);
    last -= 1;
    eo.monitor = stop_on_last_rank;
    eo.monitor_user = &last;
    stop_calls = 0;
    must(qdml_problem_evolve(pm, &eo, rm), "evolve with a callback", cm);
    int stopped = 1;
    for (int b = 0; b < B; ++b) stopped &= rm[b].stopped_by_callback && rm[b].steps == 2 * eo.monitor_every;
    int all = 0;
    MPI_Allreduce(&stopped, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    check("batch_callback_stop_not_on_every_rank", all ? 0 : 1, 0);
    free(buf);
    free(a);
    qdml_problem_destroy(pm);
    qdml_problem_destroy(pp);
    qdml_context_destroy(cm);
    qdml_context_destroy(cp);
}

/* ---- slabs ------------------------------------------------------------------------------------- */

/* The largest relative difference of the two problems' states and of their results. */
static void compare_slab_runs(const char *tag, qdml_problem *pm, qdml_problem *pp, const qdml_run_result *rm,
                              const qdml_run_result *rp, int64_t B, int64_t N) {
    double *x = xcalloc((size_t)N, 2 * sizeof(double)), *y = xcalloc((size_t)N, 2 * sizeof(double));
    double ds = 0.0, de = 0.0, dw = 0.0, dr = 0.0;
    int64_t dsteps = 0;
    for (int64_t b = 0; b < B; ++b) {
        must(qdml_problem_get_state(pm, b, x), "get_state", NULL);
        must(qdml_problem_get_state(pp, b, y), "get_state", NULL);
        double scale;
        const double d = max_abs_diff(x, y, 2 * N, &scale) / scale;
        if (d > ds || d != d) ds = d;
        const double e = fabs(rm[b].final.energy - rp[b].final.energy) / fabs(rp[b].final.energy);
        if (e > de || e != e) de = e;
        for (int k = 0; k < 3; ++k) {
            const double w = fabs(rm[b].final.width[k] - rp[b].final.width[k]) / (fabs(rp[b].final.width[k]) + 1e-300);
            if (w > dw && rp[b].final.width[k] > 0) dw = w;
        }
        if (getenv("QDML_MPI_DEBUG") && rank == 0)
            printf("DEBUG %s b%lld steps %lld %lld argmax %lld %lld width %.6g %.6g %.6g / %.6g %.6g %.6g mean %.6g %.6g / %.6g %.6g\n", tag, (long long)b,
                   (long long)rm[b].steps, (long long)rp[b].steps, (long long)rm[b].final.argmax_index,
                   (long long)rp[b].final.argmax_index, rm[b].final.width[0], rm[b].final.width[1], rm[b].final.width[2],
                   rp[b].final.width[0], rp[b].final.width[1], rp[b].final.width[2], rm[b].final.mean[0], rm[b].final.mean[1], rp[b].final.mean[0], rp[b].final.mean[1]);
        const double rr = fabs(rm[b].final.residual - rp[b].final.residual) / fabs(rp[b].final.energy);
        if (rr > dr || rr != rr) dr = rr;
        dsteps += llabs((long long)(rm[b].steps - rp[b].steps));
        dsteps += rm[b].final.argmax_index != rp[b].final.argmax_index;
    }
    char name[128];
    snprintf(name, sizeof name, "%s_state_rel_diff", tag);
    check(name, ds, 1e-12);
    snprintf(name, sizeof name, "%s_energy_rel_diff", tag);
    check(name, de, 1e-12);
    snprintf(name, sizeof name, "%s_width_rel_diff", tag);
    check(name, dw, 1e-12);
    /* The residual ||H psi - E psi|| / ||psi|| (energy units): near an eigenstate it is a small difference of
     * terms of the size of E, so the states' differences of ~1e-14 move it by ~1e-14 |E|, which relative to a
     * residual of 1e-7 is 1e-7 (measured: up to 4e-7 for the 2D ground state). Compared to |E|. */
    snprintf(name, sizeof name, "%s_residual_diff_over_energy", tag);
    check(name, dr, 1e-12);
    snprintf(name, sizeof name, "%s_steps_or_argmax_differ", tag);
    check(name, (double)dsteps, 0);
    free(x);
    free(y);
}

static void slab_grid(qdml_grid *g, int dim, int64_t n0) {
    const int64_t n3[3] = {n0, 20, 16}, n2[2] = {n0, 18};
    const double lo[3] = {-6, -5.5, -5}, hi[3] = {6, 5.5, 5};
    must(qdml_grid_init(g, dim, dim == 3 ? n3 : n2, lo, hi), "grid", NULL);
}

static void case_slabs_dim(int dim, int64_t n0) {
    const int B = 2;
    qdml_grid g;
    slab_grid(&g, dim, n0);
    const int64_t N = qdml_grid_points(&g);
    qdml_context *cm = mpi_ctx(QDML_MPI_SLABS), *cp = plain_ctx();
    qdml_problem *pm = NULL, *pp = NULL;
    double *buf = xcalloc((size_t)N, 2 * sizeof(double));
    make_pair(cm, cp, &g, B, &pm, &pp, buf);
    qdml_mpi_layout lay;
    int64_t first, count, total = 0;
    must(qdml_mpi_problem_part(pm, &lay, &first, &count), "part", cm);
    MPI_Allreduce(&count, &total, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    char tag[64];
    snprintf(tag, sizeof tag, "slabs%dd_n0_%lld", dim, (long long)n0);
    char name[128];
    snprintf(name, sizeof name, "%s_planes_missing", tag);
    check(name, lay == QDML_MPI_SLABS && total == n0 ? 0 : 1, 0);
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = 1e-7;
    qdml_run_result rm[2], rp[2];
    must(qdml_problem_ground(pm, &go, rm), "ground (MPI)", cm);
    must(qdml_problem_ground(pp, &go, rp), "ground (one process)", cp);
    snprintf(name, sizeof name, "%s_ground", tag);
    compare_slab_runs(name, pm, pp, rm, rp, B, N);
    snprintf(name, sizeof name, "%s_ground_not_converged", tag);
    check(name, (double)(!rm[0].converged + !rm[1].converged), 0);
    qdml_evolve_options eo;
    qdml_evolve_options_default(&eo);
    eo.dt = 0.005;
    eo.steps = 200;
    eo.monitor_every = 40;
    for (int b = 0; b < B; ++b) {
        double c[3] = {0.5, -0.4, 0.2}, s[3] = {0.9, 1.1, 1.0}, k[3] = {1.5, -0.5, 0.7};
        must(qdml_problem_set_state_gaussian(pm, b, c, s, k), "gaussian", cm);
        must(qdml_problem_set_state_gaussian(pp, b, c, s, k), "gaussian", cp);
    }
    must(qdml_problem_evolve(pm, &eo, rm), "evolve (MPI)", cm);
    must(qdml_problem_evolve(pp, &eo, rp), "evolve (one process)", cp);
    snprintf(name, sizeof name, "%s_evolve", tag);
    compare_slab_runs(name, pm, pp, rm, rp, B, N);
    /* An objective filled on the slabs: the same formula at the same points, bit for bit. */
    qdml_objective o;
    must(qdml_objective_parse("rastrigin", dim, &o), "objective", NULL);
    must(qdml_problem_set_objective(pm, 1, &o), "set_objective (MPI)", cm);
    must(qdml_problem_set_objective(pp, 1, &o), "set_objective", cp);
    double *v2 = xcalloc((size_t)N, sizeof(double));
    must(qdml_problem_get_potential(pm, 1, buf), "get_potential", cm);
    must(qdml_problem_get_potential(pp, 1, v2), "get_potential", cp);
    for (int64_t i = 0; getenv("QDML_MPI_DEBUG") && rank == 0 && i < N; ++i)
        if (buf[i] != v2[i]) {
            printf("DEBUG objective differs at %lld: %.17g %.17g\n", (long long)i, buf[i], v2[i]);
            break;
        }
    snprintf(name, sizeof name, "%s_objective_not_bit_identical", tag);
    check(name, memcmp(buf, v2, (size_t)N * sizeof(double)) != 0, 0);
    free(v2);
    free(buf);
    qdml_problem_destroy(pm);
    qdml_problem_destroy(pp);
    if (dim == 3) { /* the lowest states once, in 2D (the 3D search takes the suite's time for nothing new) */
        qdml_context_destroy(cm);
        qdml_context_destroy(cp);
        return;
    }
    /* The lowest 3 states (Gram matrices and combinations over the slabs). */
    qdml_problem *lm = NULL, *lp = NULL;
    must(qdml_problem_create(cm, &g, 3, &lm), "create (MPI)", cm);
    must(qdml_problem_create(cp, &g, 3, &lp), "create", cp);
    double *v = xcalloc((size_t)N, 2 * sizeof(double));
    make_potential(&g, 0, v);
    for (int b = 0; b < 3; ++b) {
        double c[3] = {0.3 * b, -0.2, 0.1 * b}, s[3] = {1.0, 0.8 + 0.1 * b, 0.9}, k[3] = {0.2 * b, 0.1, 0};
        for (qdml_problem *p = lm; p; p = p == lm ? lp : NULL) {
            must(qdml_problem_set_potential(p, b, v), "set_potential", NULL);
            must(qdml_problem_set_state_gaussian(p, b, c, s, k), "gaussian", NULL);
        }
    }
    go.tolerance = 1e-5;
    qdml_run_result lr[3], lq[3];
    must(qdml_problem_lowest_states(lm, &go, lr), "lowest_states (MPI)", cm);
    must(qdml_problem_lowest_states(lp, &go, lq), "lowest_states", cp);
    snprintf(name, sizeof name, "%s_lowest3", tag);
    compare_slab_runs(name, lm, lp, lr, lq, 3, N);
    free(v);
    qdml_problem_destroy(lm);
    qdml_problem_destroy(lp);
    qdml_context_destroy(cm);
    qdml_context_destroy(cp);
}

/* ---- checkpoint -------------------------------------------------------------------------------- */

static void case_checkpoint(const char *layout, const char *path) {
    const int slabs = strcmp(layout, "slabs") == 0;
    /* Members of 8000 points streamed in parts of 1000 (host/checkpoint.c), which cross the ranks' slabs (320
     * points a plane): the file is written and read without any rank holding a whole member (SLABS). */
    setenv("QDML_PART_POINTS", "1000", 1);
    const int B = slabs ? 2 : 5;
    qdml_grid g;
    slab_grid(&g, slabs ? 3 : 2, 25);
    const int64_t N = qdml_grid_points(&g);
    qdml_context *cm = mpi_ctx(slabs ? QDML_MPI_SLABS : QDML_MPI_BATCH);
    qdml_problem *p = NULL, *q = NULL;
    must(qdml_problem_create(cm, &g, B, &p), "create", cm);
    must(qdml_problem_create(cm, &g, B, &q), "create", cm);
    double *buf = xcalloc((size_t)N, 2 * sizeof(double)), *a = xcalloc((size_t)N, 2 * sizeof(double));
    for (int b = 0; b < B; ++b) setup_member(p, &g, b, b, buf);
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    go.tolerance = 1e-10;
    go.max_steps = 400;
    go.monitor_every = 50;
    qdml_run_result r[5], s[5];
    must(qdml_problem_ground(p, &go, r), "ground (first part)", cm);
    must(qdml_checkpoint_save(p, path), "checkpoint_save", cm);
    go.resume = 1;
    must(qdml_problem_ground(p, &go, r), "ground (goes on)", cm);
    must(qdml_checkpoint_load(q, path), "checkpoint_load", cm);
    must(qdml_problem_ground(q, &go, s), "ground (resumed)", cm);
    int differ = 0;
    for (int b = 0; b < B; ++b) {
        must(qdml_problem_get_state(p, b, buf), "get_state", cm);
        must(qdml_problem_get_state(q, b, a), "get_state", cm);
        differ += memcmp(buf, a, (size_t)N * 2 * sizeof(double)) != 0 || !stats_same(&r[b].final, &s[b].final);
    }
    char name[96];
    snprintf(name, sizeof name, "checkpoint_%s_resume_not_bit_identical", layout);
    check(name, differ, 0);
    /* One process reads the file the ranks wrote: the same states as the ranks' restored problem. */
    qdml_context *cp = plain_ctx();
    qdml_problem *one = NULL;
    must(qdml_problem_create(cp, &g, B, &one), "create", cp);
    must(qdml_checkpoint_load(one, path), "checkpoint_load (one process)", cp);
    qdml_problem *fresh = NULL;
    must(qdml_problem_create(cm, &g, B, &fresh), "create", cm);
    must(qdml_checkpoint_load(fresh, path), "checkpoint_load", cm);
    differ = 0;
    for (int b = 0; b < B; ++b) {
        must(qdml_problem_get_state(fresh, b, buf), "get_state", cm);
        must(qdml_problem_get_state(one, b, a), "get_state", cp);
        differ += memcmp(buf, a, (size_t)N * 2 * sizeof(double)) != 0;
    }
    snprintf(name, sizeof name, "checkpoint_%s_one_process_reads_other_states", layout);
    check(name, differ, 0);
    free(buf);
    free(a);
    qdml_problem_destroy(p);
    qdml_problem_destroy(q);
    qdml_problem_destroy(fresh);
    qdml_problem_destroy(one);
    qdml_context_destroy(cm);
    qdml_context_destroy(cp);
}

/* ---- refusals ---------------------------------------------------------------------------------- */

static void case_refusals(void) {
    qdml_grid g;
    slab_grid(&g, 2, 21);
    const int64_t N = qdml_grid_points(&g);
    double *buf = xcalloc((size_t)N, 2 * sizeof(double));
    /* Chin's splitting on slabs */
    qdml_context *cm = mpi_ctx(QDML_MPI_SLABS);
    qdml_problem *p = NULL;
    must(qdml_problem_create(cm, &g, 1, &p), "create", cm);
    setup_member(p, &g, 0, 0, buf);
    qdml_evolve_options eo;
    qdml_evolve_options_default(&eo);
    eo.dt = 0.01;
    eo.steps = 10;
    eo.splitting = QDML_SPLIT_CHIN4;
    const qdml_status st = qdml_problem_evolve(p, &eo, NULL);
    int code = (int)st, lo = 0, hi = 0;
    MPI_Allreduce(&code, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&code, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    check("refusal_chin_on_slabs_not_unavailable_everywhere", lo == QDML_ERR_UNAVAILABLE && hi == lo ? 0 : 1, 0);
    if (rank == 0) printf("message: %s\n", qdml_context_last_error(cm));
    eo.splitting = QDML_SPLIT_STRANG;
    check("refusal_problem_unusable_after", qdml_problem_evolve(p, &eo, NULL) == QDML_OK ? 0 : 1, 0);
    qdml_problem_destroy(p);
    qdml_context_destroy(cm);
    /* the lowest states on the batch layout */
    cm = mpi_ctx(QDML_MPI_BATCH);
    must(qdml_problem_create(cm, &g, 3, &p), "create", cm);
    for (int b = 0; b < 3; ++b) {
        setup_member(p, &g, 0, b, buf);
        double c[2] = {0.3 * b, -0.2}, s[2] = {1.0, 0.8 + 0.1 * b}, k[2] = {0.2 * b, 0.1};
        must(qdml_problem_set_state_gaussian(p, b, c, s, k), "gaussian", cm);
    }
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    code = (int)qdml_problem_lowest_states(p, &go, NULL);
    MPI_Allreduce(&code, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&code, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    check("refusal_lowest_on_batch_not_unavailable_everywhere", lo == QDML_ERR_UNAVAILABLE && hi == lo ? 0 : 1, 0);
    if (rank == 0) printf("message: %s\n", qdml_context_last_error(cm));
    qdml_run_result r[3];
    check("refusal_batch_unusable_after", qdml_problem_ground(p, &go, r) == QDML_OK ? 0 : 1, 0);
    qdml_problem_destroy(p);
    qdml_context_destroy(cm);
    /* float32 on slabs */
    cm = mpi_ctx(QDML_MPI_SLABS);
    must(qdml_context_set_precision(cm, QDML_FLOAT32), "precision", cm);
    code = (int)qdml_problem_create(cm, &g, 1, &p);
    MPI_Allreduce(&code, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&code, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    check("refusal_float32_slabs_not_unavailable_everywhere", lo == QDML_ERR_UNAVAILABLE && hi == lo ? 0 : 1, 0);
    qdml_context_destroy(cm);
    free(buf);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const char *c = argc > 1 ? argv[1] : "";
    if (argc > 2 && strcmp(argv[argc - 1], "--cuda") == 0) {
        the_backend = QDML_BACKEND_CUDA;
        --argc;
    }
    if (strcmp(c, "batch") == 0) {
        case_batch();
    } else if (strcmp(c, "slabs") == 0) {
        case_slabs_dim(3, 25);
        case_slabs_dim(2, 21);
    } else if (strcmp(c, "checkpoint") == 0 && argc > 3) {
        case_checkpoint(argv[2], argv[3]);
    } else if (strcmp(c, "refusals") == 0) {
        case_refusals();
    } else {
        if (rank == 0) fprintf(stderr, "usage: mpi_cases batch|slabs|refusals|checkpoint batch|slabs FILE\n");
        MPI_Finalize();
        return 2;
    }
    if (rank == 0) printf("%s: %d check(s) failed\n", c, failures);
    MPI_Finalize();
    return failures ? 1 : 0;
}
