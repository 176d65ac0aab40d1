/* --out FILE.h5: the states, densities and potentials of every member, the grid's axes, and the run's
 * parameters and statistics as attributes, in one HDF5 file (io_hdf5.h). The layout, for h5py and the
 * readers of XMDS2's and GPUE's files (README "HDF5 files"):
 *
 *   /psi        complex128, shape (B, n0[, n1[, n2]]) with a batch axis, else (n0[, n1[, n2]])
 *   /density    float64, |psi|^2, the same shape
 *   /potential  float64, V, the same shape
 *   /x, /y, /z  float64, the grid points of each axis (as many as the grid has)
 *   attributes  program, command, dim, dV, batch, tolerance (scalars); n, box_lo, box_hi (one per axis);
 *               hbar, mass and the statistics at the end (arrays of one value per member, also for one
 *               member): energy, kinetic, potential_energy, residual, norm, step, time, dt; the last
 *               run: run_kind, mode, splitting (strings) */
#include "setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io_hdf5.h"
#include "output.h"

int cli_path_is_h5(const char *path) {
    const size_t n = path ? strlen(path) : 0;
    return (n > 3 && strcmp(path + n - 3, ".h5") == 0) || (n > 5 && strcmp(path + n - 5, ".hdf5") == 0);
}

static const char *run_kind_name(qdml_run_kind k) {
    return k == QDML_RUN_EVOLVE          ? "evolve"
           : k == QDML_RUN_GROUND        ? "ground"
           : k == QDML_RUN_LOWEST_STATES ? "lowest_states"
                                         : "none";
}

static const char *splitting_name(qdml_splitting s) {
    return s == QDML_SPLIT_YOSHIDA4  ? "yoshida4"
           : s == QDML_SPLIT_SUZUKI4 ? "suzuki4"
           : s == QDML_SPLIT_CHIN4   ? "chin4"
                                     : "strang";
}

int cli_setup_write_h5(cli_setup *s, const char *path, int batch_axis) {
    const char *cmd = s->cmd;
    const int64_t B = s->batch, N = s->points;
    double *psi = malloc((size_t)(B * N) * 2 * sizeof(double)), *dens = malloc((size_t)(B * N) * sizeof(double));
    double *pot = malloc((size_t)(B * N) * sizeof(double)), *axis = NULL;
    double *vals = calloc((size_t)B, sizeof(double));
    int64_t *ivals = calloc((size_t)B, sizeof(int64_t));
    qdml_stats *st = calloc((size_t)B, sizeof(qdml_stats));
    qdml_h5 *h = NULL;
    int rc = CLI_RUN_FAILED;
    if (!psi || !dens || !pot || !vals || !ivals || !st) {
        cli_error(cmd, "--out %s: out of memory", path);
        goto out;
    }
    for (int64_t b = 0; b < B; ++b) {
        if (qdml_problem_get_state(s->problem, b, psi + 2 * b * N) != QDML_OK ||
            qdml_problem_get_potential(s->problem, b, pot + b * N) != QDML_OK ||
            qdml_problem_stats(s->problem, b, &st[b]) != QDML_OK) {
            cli_error(cmd, "--out %s: reading member %lld failed: %s", path, (long long)b,
                      qdml_context_last_error(s->ctx));
            goto out;
        }
        for (int64_t i = 0; i < N; ++i) {
            const double re = psi[2 * (b * N + i)], im = psi[2 * (b * N + i) + 1];
            dens[b * N + i] = re * re + im * im;
        }
    }
    int64_t shape[QDML_MAX_DIM + 1];
    int ndim = 0;
    if (batch_axis) shape[ndim++] = B;
    for (int d = 0; d < s->dim; ++d)
        shape[ndim++] = s->n[d];
    qdml_status e = qdml_h5_begin(&h);
    if (e == QDML_OK) e = qdml_h5_dataset(h, "psi", 1, ndim, shape, psi);
    if (e == QDML_OK) e = qdml_h5_dataset(h, "density", 0, ndim, shape, dens);
    if (e == QDML_OK) e = qdml_h5_dataset(h, "potential", 0, ndim, shape, pot);
    static const char *const axis_names[3] = {"x", "y", "z"};
    for (int d = 0; d < s->dim && e == QDML_OK; ++d) {
        free(axis);
        axis = malloc((size_t)s->n[d] * sizeof(double));
        if (!axis) {
            cli_error(cmd, "--out %s: out of memory", path);
            goto out;
        }
        for (int64_t j = 0; j < s->n[d]; ++j)
            axis[j] = s->lo[d] + (double)j * (s->hi[d] - s->lo[d]) / (double)s->n[d];
        e = qdml_h5_dataset(h, axis_names[d], 0, 1, &s->n[d], axis);
    }
    char program[64];
    snprintf(program, sizeof program, "qdml %s", qdml_version_string());
    if (e == QDML_OK) e = qdml_h5_attr_string(h, "program", program);
    if (e == QDML_OK) e = qdml_h5_attr_string(h, "command", cmd);
    const int64_t dim = s->dim;
    if (e == QDML_OK) e = qdml_h5_attr_ints(h, "dim", 0, &dim);
    if (e == QDML_OK) e = qdml_h5_attr_ints(h, "n", s->dim, s->n);
    if (e == QDML_OK) e = qdml_h5_attr_doubles(h, "box_lo", s->dim, s->lo);
    if (e == QDML_OK) e = qdml_h5_attr_doubles(h, "box_hi", s->dim, s->hi);
    const double dv = qdml_grid_dv(&s->grid);
    if (e == QDML_OK) e = qdml_h5_attr_doubles(h, "dV", 0, &dv);
    if (e == QDML_OK) e = qdml_h5_attr_ints(h, "batch", 0, &B);
    /* Per member: hbar, mass and the statistics at the end. */
    for (int q = 0; q < 2 && e == QDML_OK; ++q) {
        for (int64_t b = 0; b < B; ++b)
            (void)(q == 0 ? qdml_problem_get_hbar(s->problem, b, &vals[b])
                          : qdml_problem_get_mass(s->problem, b, &vals[b]));
        e = qdml_h5_attr_doubles(h, q == 0 ? "hbar" : "mass", B, vals);
    }
    static const char *const fields[] = {"energy", "kinetic", "potential_energy", "residual", "norm", "time", "dt"};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0] && e == QDML_OK; ++f) {
        for (int64_t b = 0; b < B; ++b) {
            const qdml_stats *x = &st[b];
            const double v[] = {x->energy, x->kinetic, x->potential, x->residual, x->norm, x->time, x->dt};
            vals[b] = v[f];
        }
        e = qdml_h5_attr_doubles(h, fields[f], B, vals);
    }
    for (int64_t b = 0; b < B; ++b)
        ivals[b] = st[b].step;
    if (e == QDML_OK) e = qdml_h5_attr_ints(h, "step", B, ivals);
    qdml_run_info run;
    if (e == QDML_OK && qdml_problem_last_run(s->problem, &run) == QDML_OK) {
        e = qdml_h5_attr_string(h, "run_kind", run_kind_name(run.kind));
        if (e == QDML_OK) e = qdml_h5_attr_string(h, "mode", run.mode == QDML_IMAGINARY_TIME ? "imag" : "real");
        if (e == QDML_OK) e = qdml_h5_attr_string(h, "splitting", splitting_name(run.splitting));
        if (e == QDML_OK) e = qdml_h5_attr_doubles(h, "tolerance", 0, &run.tolerance);
    }
    if (e == QDML_OK) {
        e = qdml_h5_commit(h, path);
        h = NULL;
    }
    if (e != QDML_OK) {
        cli_error(cmd, "--out %s: %s", path, qdml_last_error_message());
        goto out;
    }
    rc = CLI_OK;
out:
    qdml_h5_abort(h);
    free(psi);
    free(dens);
    free(pot);
    free(axis);
    free(vals);
    free(ivals);
    free(st);
    return rc;
}
