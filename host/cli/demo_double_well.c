/* `qdml demo double-well` (the default demo): the two faces of the library on one 2D grid, with no
 * input needed.
 *
 * 1. Imaginary time as an optimiser: the objective is a tilted double well
 *        V(x, y) = a (x^2 - 1)^2 + b y^2 + c x,
 *    whose two minima near x = -1 and x = +1 differ by about 2c. Imaginary-time evolution from the
 *    uniform state (no preference for either well) ends in the ground state, whose density sits on
 *    the global minimum with the semiclassical width (hbar/2)(m K)^(-1/2) of the local Hessian K.
 * 2. Real time: a free Gaussian packet moves and disperses; its width follows the closed form
 *    sigma(t) = sigma0 sqrt(1 + Theta^2), Theta = hbar t / (2 m sigma0^2), and the norm is conserved
 *    to rounding, which the summary shows. */
#include "demo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_N 128
#define DEMO_L 4.0
/* Well parameters: barrier a = 2 is twice the zero-point energy at hbar = 0.5, so the state is
 * really localised and the tilt decides which well wins. */
#define DEMO_A 2.0
#define DEMO_B 1.0
#define DEMO_C 0.3
#define DEMO_HBAR 0.5
#define DEMO_MASS 1.0
/* Free packet: it travels hbar k0 t / m = 1.5 and ends centred, well inside the periodic box. */
#define PACKET_X0 (-1.5)
#define PACKET_SIGMA 0.5
#define PACKET_K0 2.0
#define PACKET_T 1.5
#define PACKET_DT 0.005
#define PACKET_CHUNKS 4

const char demo_double_well_help[] =
    "Usage: qdml demo [double-well] [--out DIR] [--threads N] [--backend cpu|cuda|auto]\n"
    "\n"
    "1. Finds the ground state of the tilted double well V = 2 (x^2-1)^2 + y^2 + 0.3 x on the box\n"
    "   [-4, 4)^2 (128 x 128 points, hbar = 0.5, m = 1) by imaginary time from the uniform state: the\n"
    "   density ends on the global minimum (the left well) with the semiclassical width.\n"
    "2. Evolves a free Gaussian packet in real time and compares its width with the closed form.\n"
    "\n"
    "Writes into DIR (default qdml-demo-out, created if needed):\n"
    "  potential.npy              V, float64 (128, 128)\n"
    "  ground_psi.npy             ground state, complex128 (128, 128)\n"
    "  ground_density.npy         |psi|^2, float64 (128, 128)\n"
    "  ground_history.csv         monitored statistics of the imaginary-time run\n"
    "  real_density_snapshots.npy |psi|^2 at 5 equally spaced times, float64 (5, 128, 128)\n"
    "  real_density_final.npy     |psi|^2 at the end, float64 (128, 128)\n"
    "  real_psi_final.npy         final state, complex128 (128, 128)\n"
    "  real_history.csv           monitored statistics of the real-time run\n"
    "  ground_density.png         the ground-state density (viridis, linear; x downwards, y rightwards)\n"
    "  real_density_final.png     the packet's final density, the same way\n"
    "  summary.json               the numbers printed on stdout\n"
    "Axis 0 of every array is x, axis 1 is y; grid points are -4 + 8 j / 128.\n";

static double well_v(double x, double y) {
    return DEMO_A * (x * x - 1.0) * (x * x - 1.0) + DEMO_B * y * y + DEMO_C * x;
}

/* Values below the printed precision would otherwise show as "-0.000000". */
static double tidy(double v) { return fabs(v) < 5e-7 ? 0.0 : v; }

/* Global minimum of the tilted well along y = 0, by Newton from the left well. */
static double well_minimum_x(void) {
    double x = -1.0;
    for (int i = 0; i < 50; ++i) {
        double g = 4.0 * DEMO_A * x * (x * x - 1.0) + DEMO_C;
        double h = DEMO_A * (12.0 * x * x - 4.0);
        x -= g / h;
    }
    return x;
}

typedef struct packet_point {
    double t, norm, mean[2], width[2], closed_width;
} packet_point;

int demo_double_well(const demo_env *env) {
    const char *cmd = "demo";
    const char *dir = env->dir;
    int rc = CLI_OK;
    const int64_t n[2] = {DEMO_N, DEMO_N};
    const double lo[2] = {-DEMO_L, -DEMO_L}, hi[2] = {DEMO_L, DEMO_L};
    const int64_t points = DEMO_N * DEMO_N;
    const int64_t shape2[2] = {DEMO_N, DEMO_N};
    qdml_grid grid;
    qdml_context *ctx = NULL;
    qdml_problem *well = NULL, *free_p = NULL;
    double *V = malloc(points * sizeof *V);
    double *psi = malloc(2 * points * sizeof *psi);
    double *dens = malloc(points * sizeof *dens);
    double *snaps = malloc((PACKET_CHUNKS + 1) * points * sizeof *snaps);
    qdml_status st = QDML_OK;
    const char *failed = NULL;
    if (!V || !psi || !dens || !snaps) {
        cli_error(cmd, "out of memory");
        rc = CLI_RUN_FAILED;
        goto done;
    }
    if ((st = qdml_grid_init(&grid, 2, n, lo, hi)) != QDML_OK) {
        cli_error(cmd, "qdml_grid_init: %s", qdml_last_error_message());
        rc = CLI_RUN_FAILED;
        goto done;
    }
    if ((rc = demo_context(env, &ctx)) != CLI_OK) goto done;
    for (int64_t i = 0; i < DEMO_N; ++i)
        for (int64_t j = 0; j < DEMO_N; ++j) {
            double x = lo[0] + (double)i * (hi[0] - lo[0]) / DEMO_N;
            double y = lo[1] + (double)j * (hi[1] - lo[1]) / DEMO_N;
            V[i * DEMO_N + j] = well_v(x, y);
        }

    /* ---- 1. ground state of the tilted double well ---- */
    qdml_ground_options go;
    qdml_ground_options_default(&go);
    cli_progress prog;
    cli_progress_init(&prog, "qdml demo: ground state");
    go.monitor = cli_progress_monitor;
    go.monitor_user = &prog;
    qdml_run_result gr;
    memset(&gr, 0, sizeof gr);
    if ((st = qdml_problem_create(ctx, &grid, 1, &well)) != QDML_OK)
        failed = "qdml_problem_create";
    else if ((st = qdml_problem_set_potential(well, 0, V)) != QDML_OK)
        failed = "qdml_problem_set_potential";
    else if ((st = qdml_problem_set_hbar(well, 0, DEMO_HBAR)) != QDML_OK)
        failed = "qdml_problem_set_hbar";
    else if ((st = qdml_problem_set_mass(well, 0, DEMO_MASS)) != QDML_OK)
        failed = "qdml_problem_set_mass";
    else if ((st = qdml_problem_set_state_uniform(well, 0)) != QDML_OK)
        failed = "qdml_problem_set_state_uniform";
    else if ((st = qdml_problem_ground(well, &go, &gr)) != QDML_OK)
        failed = "qdml_problem_ground";
    cli_progress_finish(&prog);
    if (failed) goto lib_failed;
    if ((st = qdml_problem_get_state(well, 0, psi)) != QDML_OK) {
        failed = "qdml_problem_get_state";
        goto lib_failed;
    }
    if ((st = qdml_problem_get_density(well, 0, dens)) != QDML_OK) {
        failed = "qdml_problem_get_density";
        goto lib_failed;
    }
    if ((rc = demo_write_npy(env, "potential.npy", QDML_NPY_F64, 2, shape2, V)) != CLI_OK) goto done;
    if ((rc = demo_write_npy(env, "ground_psi.npy", QDML_NPY_C128, 2, shape2, psi)) != CLI_OK) goto done;
    if ((rc = demo_write_npy(env, "ground_density.npy", QDML_NPY_F64, 2, shape2, dens)) != CLI_OK) goto done;
    if ((rc = demo_write_png(env, "ground_density.png", DEMO_N, DEMO_N, dens, NULL)) != CLI_OK) goto done;
    if ((rc = demo_write_history(env, "ground_history.csv", well)) != CLI_OK) goto done;

    const double xstar = well_minimum_x();
    const double kx = DEMO_A * (12.0 * xstar * xstar - 4.0), ky = 2.0 * DEMO_B;
    const double pred_width[2] = {sqrt(DEMO_HBAR / (2.0 * sqrt(DEMO_MASS * kx))),
                                  sqrt(DEMO_HBAR / (2.0 * sqrt(DEMO_MASS * ky)))};
    const double pred_energy = well_v(xstar, 0.0) + 0.5 * DEMO_HBAR * (sqrt(kx / DEMO_MASS) + sqrt(ky / DEMO_MASS));
    const double xmin[2] = {xstar, 0.0};

    /* ---- 2. free Gaussian packet in real time ---- */
    const int64_t total_steps = (int64_t)llround(PACKET_T / PACKET_DT);
    const int64_t chunk = total_steps / PACKET_CHUNKS;
    const double c0[2] = {PACKET_X0, 0.0}, s0[2] = {PACKET_SIGMA, PACKET_SIGMA}, k0[2] = {PACKET_K0, 0.0};
    packet_point pts[PACKET_CHUNKS + 1];
    qdml_run_result rr;
    memset(&rr, 0, sizeof rr);
    memset(dens, 0, points * sizeof *dens);
    if ((st = qdml_problem_create(ctx, &grid, 1, &free_p)) != QDML_OK)
        failed = "qdml_problem_create";
    else if ((st = qdml_problem_set_potential(free_p, 0, dens)) != QDML_OK)
        failed = "qdml_problem_set_potential";
    else if ((st = qdml_problem_set_hbar(free_p, 0, DEMO_HBAR)) != QDML_OK)
        failed = "qdml_problem_set_hbar";
    else if ((st = qdml_problem_set_mass(free_p, 0, DEMO_MASS)) != QDML_OK)
        failed = "qdml_problem_set_mass";
    else if ((st = qdml_problem_set_state_gaussian(free_p, 0, c0, s0, k0)) != QDML_OK)
        failed = "qdml_problem_set_state_gaussian";
    if (failed) goto lib_failed;
    /* The continuum-normalised packet loses its tail beyond the box edge (~3e-7 of the norm);
     * renormalising on the grid makes the printed norm the conserved quantity itself. */
    {
        qdml_stats s;
        if ((st = qdml_problem_stats(free_p, 0, &s)) != QDML_OK)
            failed = "qdml_problem_stats";
        else if ((st = qdml_problem_get_state(free_p, 0, psi)) != QDML_OK)
            failed = "qdml_problem_get_state";
        else {
            const double scale = 1.0 / sqrt(s.norm);
            for (int64_t i = 0; i < 2 * points; ++i)
                psi[i] *= scale;
            if ((st = qdml_problem_set_state(free_p, 0, psi)) != QDML_OK) failed = "qdml_problem_set_state";
        }
        if (failed) goto lib_failed;
    }
    cli_progress_init(&prog, "qdml demo: wave packet");
    for (int k = 0; k <= PACKET_CHUNKS; ++k) {
        if (k > 0) {
            qdml_evolve_options eo;
            qdml_evolve_options_default(&eo);
            eo.mode = QDML_REAL_TIME;
            eo.dt = PACKET_DT;
            eo.steps = chunk;
            eo.monitor_every = chunk / 5 > 0 ? chunk / 5 : 1;
            eo.monitor = cli_progress_monitor;
            eo.monitor_user = &prog;
            if ((st = qdml_problem_evolve(free_p, &eo, &rr)) != QDML_OK) {
                failed = "qdml_problem_evolve";
                break;
            }
        }
        qdml_stats s;
        if ((st = qdml_problem_stats(free_p, 0, &s)) != QDML_OK) {
            failed = "qdml_problem_stats";
            break;
        }
        if ((st = qdml_problem_get_density(free_p, 0, snaps + (int64_t)k * points)) != QDML_OK) {
            failed = "qdml_problem_get_density";
            break;
        }
        const double t = (double)(k * chunk) * PACKET_DT;
        const double theta = DEMO_HBAR * t / (2.0 * DEMO_MASS * PACKET_SIGMA * PACKET_SIGMA);
        pts[k].t = t;
        pts[k].norm = s.norm;
        pts[k].mean[0] = s.mean[0], pts[k].mean[1] = s.mean[1];
        pts[k].width[0] = s.width[0], pts[k].width[1] = s.width[1];
        pts[k].closed_width = PACKET_SIGMA * sqrt(1.0 + theta * theta);
    }
    cli_progress_finish(&prog);
    if (failed) goto lib_failed;
    if ((st = qdml_problem_get_state(free_p, 0, psi)) != QDML_OK) {
        failed = "qdml_problem_get_state";
        goto lib_failed;
    }
    const int64_t shape3[3] = {PACKET_CHUNKS + 1, DEMO_N, DEMO_N};
    const double *final_density = snaps + PACKET_CHUNKS * points;
    if ((rc = demo_write_npy(env, "real_density_snapshots.npy", QDML_NPY_F64, 3, shape3, snaps)) != CLI_OK) goto done;
    if ((rc = demo_write_npy(env, "real_density_final.npy", QDML_NPY_F64, 2, shape2, final_density)) != CLI_OK)
        goto done;
    if ((rc = demo_write_png(env, "real_density_final.png", DEMO_N, DEMO_N, final_density, NULL)) != CLI_OK) goto done;
    if ((rc = demo_write_npy(env, "real_psi_final.npy", QDML_NPY_C128, 2, shape2, psi)) != CLI_OK) goto done;
    if ((rc = demo_write_history(env, "real_history.csv", free_p)) != CLI_OK) goto done;

    double drift = 0.0;
    for (int k = 0; k <= PACKET_CHUNKS; ++k)
        if (fabs(pts[k].norm - pts[0].norm) > drift) drift = fabs(pts[k].norm - pts[0].norm);
    const qdml_stats *g = &gr.final;
    const packet_point *pe = &pts[PACKET_CHUNKS];

    /* ---- summary.json ---- */
    {
        demo_text t;
        if ((rc = demo_text_open(env, "summary.json", &t)) != CLI_OK) goto done;
        FILE *f = t.f;
        fprintf(f, "{\n  \"version\": \"%s\",\n", qdml_version_string());
        fprintf(f, "  \"grid\": {\"n\": [%d, %d], \"lo\": [%g, %g], \"hi\": [%g, %g]},\n", DEMO_N, DEMO_N, lo[0], lo[1],
                hi[0], hi[1]);
        fprintf(f, "  \"potential\": {\"formula\": \"a*(x^2-1)^2 + b*y^2 + c*x\", \"a\": %g, \"b\": %g, \"c\": %g},\n",
                DEMO_A, DEMO_B, DEMO_C);
        fprintf(f, "  \"hbar\": %g,\n  \"mass\": %g,\n", DEMO_HBAR, DEMO_MASS);
        fprintf(f, "  \"ground\": {\n");
        fprintf(f, "    \"steps\": %lld,\n    \"converged\": %s,\n", (long long)gr.steps,
                gr.converged ? "true" : "false");
        demo_json_number(f, "    ", "tolerance", go.tolerance, 1);
        cli_json_stats_fields(f, g, 2, "    ");
        fputs(",\n", f);
        demo_json_array(f, "    ", "global_minimum", xmin, 2, 1);
        demo_json_number(f, "    ", "harmonic_energy_estimate", pred_energy, 1);
        demo_json_array(f, "    ", "semiclassical_width", pred_width, 2, 0);
        fprintf(f, "  },\n  \"real_time\": {\n");
        fprintf(f, "    \"potential\": \"free (V = 0)\",\n");
        demo_json_array(f, "    ", "center0", c0, 2, 1);
        demo_json_array(f, "    ", "width0", s0, 2, 1);
        demo_json_array(f, "    ", "wavenumber0", k0, 2, 1);
        demo_json_number(f, "    ", "dt", PACKET_DT, 1);
        fprintf(f, "    \"steps\": %lld,\n", (long long)(PACKET_CHUNKS * chunk));
        demo_json_number(f, "    ", "norm_drift", drift, 1);
        fprintf(f, "    \"snapshots\": [\n");
        for (int k = 0; k <= PACKET_CHUNKS; ++k) {
            fprintf(f, "      {\"t\": ");
            cli_json_number(f, pts[k].t);
            fprintf(f, ", \"norm\": ");
            cli_json_number(f, pts[k].norm);
            fprintf(f, ", \"mean\": ");
            cli_json_axes(f, pts[k].mean, 2);
            fprintf(f, ", \"width\": ");
            cli_json_axes(f, pts[k].width, 2);
            fprintf(f, ", \"closed_form_width\": ");
            cli_json_number(f, pts[k].closed_width);
            fprintf(f, "}%s\n", k < PACKET_CHUNKS ? "," : "");
        }
        fprintf(f, "    ]\n  }\n}\n");
        if ((rc = demo_text_close(&t, 1)) != CLI_OK) goto done;
    }

    /* ---- readable summary ---- */
    printf("qdml demo: tilted 2D double well V = %g (x^2 - 1)^2 + %g y^2 + %g x\n", DEMO_A, DEMO_B, DEMO_C);
    printf("  box [%g, %g)^2, %d x %d points, hbar = %g, m = %g\n\n", lo[0], hi[0], DEMO_N, DEMO_N, DEMO_HBAR,
           DEMO_MASS);
    printf("Ground state by imaginary time (automatic step, from the uniform state):\n");
    printf("  energy        %.12g   (harmonic estimate at the global minimum: %.4g)\n", g->energy, pred_energy);
    printf("  residual      %.3e after %lld steps: %s (tolerance %.1e)\n", g->residual, (long long)gr.steps,
           gr.converged ? "converged" : "NOT converged", go.tolerance);
    printf("  <x>, <y>      (%.6f, %.6f)   global minimum of V at (%.6f, 0): the lower, left well\n", tidy(g->mean[0]),
           tidy(g->mean[1]), xstar);
    printf("  width         (%.6f, %.6f)   semiclassical (hbar/2)(mK)^(-1/2): (%.6f, %.6f)\n", g->width[0], g->width[1],
           pred_width[0], pred_width[1]);
    printf("  density max   %.6g at (%.4f, %.4f)\n\n", g->density_max, tidy(g->argmax[0]), tidy(g->argmax[1]));
    printf("Free Gaussian packet in real time (V = 0): from (%g, 0), width %g, wavenumber (%g, 0), dt = %g\n",
           PACKET_X0, PACKET_SIGMA, PACKET_K0, PACKET_DT);
    printf("      t       <x>     width_x   closed form   norm\n");
    for (int k = 0; k <= PACKET_CHUNKS; ++k)
        printf("  %6.3f  %8.4f  %9.6f  %9.6f   %.15f\n", pts[k].t, tidy(pts[k].mean[0]), pts[k].width[0],
               pts[k].closed_width, pts[k].norm);
    printf("  norm conserved to %.1e; width grew %.4f -> %.4f (closed form %.4f)\n\n", drift, pts[0].width[0],
           pe->width[0], pe->closed_width);
    printf("Outputs written to %s/:\n", dir);
    printf("  potential.npy ground_psi.npy ground_density.npy ground_history.csv\n");
    printf("  real_density_snapshots.npy real_density_final.npy real_psi_final.npy real_history.csv\n");
    printf("  ground_density.png real_density_final.png summary.json\n");
    rc = CLI_OK;
    goto done;

lib_failed:
    cli_error(cmd, "%s failed: %s", failed, ctx ? qdml_context_last_error(ctx) : qdml_status_string(st));
    rc = cli_exit_for_status(st) == CLI_USAGE ? CLI_RUN_FAILED : cli_exit_for_status(st);
done:
    qdml_problem_destroy(free_p);
    qdml_problem_destroy(well);
    qdml_context_destroy(ctx);
    free(V);
    free(psi);
    free(dens);
    free(snaps);
    return rc;
}
