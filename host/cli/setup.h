/* The inputs of a run of the qdml program (setup.c): the potential (.npy) or built-in objectives,
 * the box and grid, the context and problem made from them (or from a checkpoint), the initial
 * states, and the states written back out. Each function prints its own message and returns an
 * exit status. */
#ifndef QDML_CLI_SETUP_H
#define QDML_CLI_SETUP_H

#include "args.h"
#include "cli.h"
#include "io_npy.h"

#include <qdml/qdml.h>
#include <stdint.h>
#include <stdio.h>

typedef struct cli_setup {
    const char *cmd;
    qdml_npy_array V;
    int dim;
    int64_t n[QDML_MAX_DIM];
    int64_t batch;
    int64_t points;
    double lo[QDML_MAX_DIM], hi[QDML_MAX_DIM];
    qdml_grid grid;
    qdml_context *ctx;
    qdml_problem *problem;
    const char *ckpt_in;  /* --resume FILE, or NULL */
    const char *ckpt_out; /* --checkpoint FILE, or NULL: with ckpt_in, how the FFTs are planned (setup.c) */
    const char *wisdom;  /* --wisdom FILE, or NULL: the default file (wisdom_path in setup.c) */
    int no_wisdom;       /* --no-wisdom: plans timed in this run only */
    qdml_objective *obj; /* --objective: one per member (batch of them), instead of V */
    int same_potential;  /* every member gets the potential (or objective) of member 0 (--states) */
} cli_setup;

/* The same command line with --resume added: the problem options given (--potential, or --objective
 * with --dim and --n; --box; --hbar; --mass) must describe the problem the checkpoint holds (loaded in
 * s): the grid exactly, every member's potential value for value, hbar and mass; otherwise exit 2
 * naming the first difference. same_potential: every member has the inputs' one potential (--states). */
int cli_setup_match_resumed(cli_setup *s, const cli_shared *sh, int same_potential);

/* --radius R: member b's success probability (qdml_problem_success_probability around the nearest of
 * its built-in objective's known global minimisers) as JSON fields after the ones written before: `,\n<in>"radius": R,\n<in>
 * "success_probability": p` (null where it cannot be computed). Nothing where radius < 0 or there is no
 * objective. */
void cli_json_success(FILE *f, const cli_setup *s, int64_t b, double radius, const char *in);

/* --out FILE.h5 (or .hdf5): every member's state, density and potential, the grid's axes and the run's
 * parameters and statistics in one HDF5 file (output_h5.c); cli_path_is_h5 says which paths that is. */
int cli_path_is_h5(const char *path);
int cli_setup_write_h5(cli_setup *s, const char *path, int batch_axis);

/* Frees the problem, the context, the potential and the objectives. */
void cli_setup_free(cli_setup *s);

/* --potential PATH: reads V and takes the grid's shape (and with batch_mode the batch, its first
 * axis) from it; checks its type, shape and values. */
int cli_setup_load_potential(cli_setup *s, const char *path, int batch_mode);
/* --objective SPEC --dim D --n N[,N...] [--box SPEC] (box NULL: the objectives' usual domains). */
int cli_setup_load_objectives(cli_setup *s, const char *spec, const char *dim_txt, const char *n_txt, const char *box,
                              int batch_mode);
/* Grid, context and problem, with the potential and hbar/mass set on every member. */
int cli_setup_make_problem(cli_setup *s, qdml_backend backend, int threads, qdml_precision precision, double hbar,
                           double mass);

/* --psi0 PATH of qdml evolve: reads the initial state into *psi0 (freed by the caller) and checks it
 * against the grid (shape, finite values, not zero everywhere). */
int cli_setup_read_state(const cli_setup *s, const char *path, qdml_npy_array *psi0);
/* --psi0 in real time: refuses (CLI_USAGE, printed) a state whose norm would make the monitored sums
 * overflow during the run (setup.c says how that is bounded). */
int cli_setup_check_state_scale(cli_setup *s, const char *path, double hbar, double mass);
/* Member 0 starts as *psi0 (complex128, or float64 with a zero imaginary part). */
int cli_setup_set_state(cli_setup *s, const qdml_npy_array *psi0);
/* The starting state of every member (setup.c says why it is so): the uniform state plus a small
 * seeded random part, the same for every member; with `distinct` (--states K), member b the b-th real
 * Fourier function of lowest wavenumber plus its own random part: independent for any K <= points.
 * CLI_USAGE when K exceeds the points. */
int cli_setup_start_states(cli_setup *s, int distinct);

/* --checkpoint-every of qdml ground and evolve: steps between checkpoints (see setup.c). */
int64_t cli_checkpoint_interval(const char *cmd, int64_t requested, int64_t M, int64_t total);
/* --resume PATH: grid and batch from a checkpoint; the problem made on them and the checkpoint
 * loaded into it. */
int cli_setup_resume(cli_setup *s, const char *path, qdml_backend backend, int threads, qdml_precision precision);

/* --out PATH: the states of all members as one complex128 array (batch axis first with batch_axis). */
int cli_setup_write_states(cli_setup *s, const char *path, int batch_axis);

#endif
