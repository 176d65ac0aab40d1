/* `qdml demo taylor`: the imaginary-time equation
 *     d psi / d tau = D lap psi - V psi / hbar,   D = hbar / 2m,
 * with V = g.x, the first-order Taylor expansion of an objective: a Gaussian packet
 * psi = exp(-|x - x0|^2 / 2 s^2) stays Gaussian, its centre sliding downhill, as the closed form says.
 *
 * The demo prints its comparison, writes .npy/.csv/.json and .png files, and fails (exit 1) when the
 * comparison misses the bound it states. */
#include "demo.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define TY_N 128
#define TY_L 14.0
#define TY_HBAR 1.0
#define TY_MASS 1.0
#define TY_S 1.0
#define TY_DT 0.02
#define TY_SNAPS 5
#define TY_CHUNK 25 /* steps between snapshots: tau = 0, 0.5, 1, 1.5, 2 */
/* The path runs from (1, 0.4) to (-1, -0.4), symmetric about the box's centre: >= 7.5 final widths
 * from every edge. */
static const double ty_x0[2] = {1.0, 0.4};
static const double ty_g[2] = {0.5, 0.2};
#define TY_BOUND 1e-6
#define TY_WIN 64         /* cells of the path picture's window: [-7, 7)^2 */
#define TY_OUTSIDE (-0.5) /* its background value, drawn in the first colour */

const char demo_taylor_help[] =
    "Usage: qdml demo taylor [--out DIR] [--threads N] [--backend cpu|cuda|auto]\n"
    "\n"
    "Near a point an objective is its first-order Taylor expansion, a linear potential V = g.x (the\n"
    "constant only scales psi). Imaginary time d psi/d tau = D lap psi - (g.x) psi / hbar keeps a\n"
    "Gaussian psi = exp(-|x - c|^2 / 2v) Gaussian (psi itself the distribution, the paper's L1\n"
    "picture): matching powers of (x - c) gives\n"
    "    dv/d tau = 2 D,   dc/d tau = -v g / hbar,\n"
    "so   v(tau) = s^2 + 2 D tau,   c(tau) = x0 - (s^2 tau + D tau^2) g / hbar:\n"
    "the packet slides downhill like gradient descent whose step, v / hbar, grows with its spread.\n"
    "Strang splitting is exact here (each half kick moves c by -v g dt / 2 hbar, the drift adds 2 D dt\n"
    "to v), so the only errors are the tails cut by the box and rounding.\n"
    "Run: hbar = m = 1 (D = 1/2), g = (0.5, 0.2), s = 1, x0 = (1, 0.4), box [-14, 14)^2 of 128 x 128\n"
    "points, no renormalisation, tau = 0 to 2 in steps of 0.02: the centre moves by -4 g. The periodic\n"
    "box makes V jump at its edges; psi stays 7.5 widths or more away from them (its tails there are\n"
    "below 1e-12 of its peak). What limits the run is the edge where V is lowest: rounding there\n"
    "(~1e-16 of the peak) grows by exp(tau (V(centre) - min V) / hbar) relative to the packet, and\n"
    "after tau = 2 begins to show (errors ~1e-9). Pass: centre and variance of psi (its L1 moments)\n"
    "within 1e-6 of the closed form (variance: relative).\n"
    "\n"
    "Writes into DIR (default qdml-demo-out/taylor):\n"
    "  potential.npy      V = g.x, float64 (128, 128)\n"
    "  psi_snapshots.npy  psi (real) at tau = 0, 0.5, 1, 1.5, 2, float64 (5, 128, 128)\n"
    "  trajectory.csv     tau, centre, closed-form centre, variance, closed-form variance per axis\n"
    "  path.png           the window [-7, 7)^2: where psi is above half its peak at tau = 0, 0.5, .., 2,\n"
    "                     coloured by tau (the earliest on top): the packet slides downhill and spreads\n"
    "  final.png          psi at tau = 2\n"
    "  summary.json       the numbers printed on stdout\n"
    "Axis 0 is x (downwards in the pictures), axis 1 is y; grid points are -14 + 28 j / 128.\n";

static double ty_xj(int64_t j) { return -TY_L + (double)j * (2.0 * TY_L) / TY_N; }

/* Centre and variance per axis of psi as a distribution: sum x psi / sum psi, etc. */
static void ty_moments(const double *psi, double *centre, double *var) {
    double m0 = 0.0, m1[2] = {0.0, 0.0}, m2[2] = {0.0, 0.0};
    for (int64_t i = 0; i < TY_N; ++i)
        for (int64_t j = 0; j < TY_N; ++j) {
            const double w = psi[2 * (i * TY_N + j)], x = ty_xj(i), y = ty_xj(j);
            m0 += w;
            m1[0] += w * x;
            m1[1] += w * y;
            m2[0] += w * x * x;
            m2[1] += w * y * y;
        }
    for (int d = 0; d < 2; ++d) {
        centre[d] = m1[d] / m0;
        var[d] = m2[d] / m0 - centre[d] * centre[d];
    }
}

int demo_taylor(const demo_env *env) {
    enum { P = TY_N * TY_N };
    const int64_t n[2] = {TY_N, TY_N};
    const double lo[2] = {-TY_L, -TY_L}, hi[2] = {TY_L, TY_L};
    const double D = TY_HBAR / (2.0 * TY_MASS);
    qdml_grid grid;
    qdml_context *ctx = NULL;
    qdml_problem *p = NULL;
    qdml_status st;
    double *V = malloc(P * sizeof *V);
    double *psi = malloc(2 * P * sizeof *psi);
    double *snaps = malloc(TY_SNAPS * P * sizeof *snaps);
    double *path = malloc(P * sizeof *path);
    double tau[TY_SNAPS], centre[TY_SNAPS][2], var[TY_SNAPS][2], c_form[TY_SNAPS][2], v_form[TY_SNAPS];
    int rc = CLI_OK;
    if (!V || !psi || !snaps || !path) {
        cli_error("demo", "out of memory");
        rc = CLI_RUN_FAILED;
        goto done;
    }
    if ((rc = demo_context(env, &ctx)) != CLI_OK) goto done;
    if ((st = qdml_grid_init(&grid, 2, n, lo, hi)) != QDML_OK) {
        rc = demo_lib_failed("qdml_grid_init", NULL, st);
        goto done;
    }
    for (int64_t i = 0; i < TY_N; ++i)
        for (int64_t j = 0; j < TY_N; ++j) {
            const double x = ty_xj(i), y = ty_xj(j);
            V[i * TY_N + j] = ty_g[0] * x + ty_g[1] * y;
            const double r2 = (x - ty_x0[0]) * (x - ty_x0[0]) + (y - ty_x0[1]) * (y - ty_x0[1]);
            psi[2 * (i * TY_N + j)] = exp(-r2 / (2.0 * TY_S * TY_S));
            psi[2 * (i * TY_N + j) + 1] = 0.0;
        }
    if ((st = qdml_problem_create(ctx, &grid, 1, &p)) != QDML_OK ||
        (st = qdml_problem_set_potential(p, 0, V)) != QDML_OK ||
        (st = qdml_problem_set_hbar(p, 0, TY_HBAR)) != QDML_OK ||
        (st = qdml_problem_set_mass(p, 0, TY_MASS)) != QDML_OK || (st = qdml_problem_set_state(p, 0, psi)) != QDML_OK) {
        rc = demo_lib_failed("setting up the packet", ctx, st);
        goto done;
    }
    double err_c = 0.0, err_v = 0.0;
    for (int k = 0; k < TY_SNAPS; ++k) {
        if (k > 0) {
            qdml_evolve_options o;
            qdml_evolve_options_default(&o);
            o.mode = QDML_IMAGINARY_TIME;
            o.renormalize = 0;
            o.dt = TY_DT;
            o.steps = TY_CHUNK;
            if ((st = qdml_problem_evolve(p, &o, NULL)) != QDML_OK) {
                rc = demo_lib_failed("qdml_problem_evolve", ctx, st);
                goto done;
            }
        }
        if ((st = qdml_problem_get_state(p, 0, psi)) != QDML_OK) {
            rc = demo_lib_failed("qdml_problem_get_state", ctx, st);
            goto done;
        }
        tau[k] = (double)(k * TY_CHUNK) * TY_DT;
        ty_moments(psi, centre[k], var[k]);
        v_form[k] = TY_S * TY_S + 2.0 * D * tau[k];
        for (int d = 0; d < 2; ++d) {
            c_form[k][d] = ty_x0[d] - (TY_S * TY_S * tau[k] + D * tau[k] * tau[k]) * ty_g[d] / TY_HBAR;
            err_c = fmax(err_c, fabs(centre[k][d] - c_form[k][d]));
            err_v = fmax(err_v, fabs(var[k][d] - v_form[k]) / v_form[k]);
        }
        for (int64_t i = 0; i < P; ++i)
            snaps[(int64_t)k * P + i] = psi[2 * i];
    }
    const double bound = TY_BOUND;
    const int ok = err_c <= bound && err_v <= bound;
    /* The path picture, on the central TY_WIN x TY_WIN cells: each point takes the tau of the first
     * snapshot whose psi is above half its peak there (TY_OUTSIDE where none is): nested discs, the
     * earliest on top, shifting downhill and growing. */
    double peak[TY_SNAPS];
    for (int k = 0; k < TY_SNAPS; ++k) {
        peak[k] = 0.0;
        for (int64_t i = 0; i < P; ++i)
            peak[k] = fmax(peak[k], snaps[(int64_t)k * P + i]);
    }
    const int64_t off = (TY_N - TY_WIN) / 2;
    for (int64_t i = 0; i < TY_WIN; ++i)
        for (int64_t j = 0; j < TY_WIN; ++j) {
            double v = TY_OUTSIDE;
            for (int k = TY_SNAPS - 1; k >= 0; --k)
                if (snaps[(int64_t)k * P + (i + off) * TY_N + (j + off)] >= 0.5 * peak[k]) v = tau[k];
            path[i * TY_WIN + j] = v;
        }
    qdml_png_options path_png;
    qdml_png_options_default(&path_png);
    path_png.vmin = TY_OUTSIDE;
    path_png.vmax = tau[TY_SNAPS - 1];
    const int64_t shape2[2] = {TY_N, TY_N}, shape3[3] = {TY_SNAPS, TY_N, TY_N};
    if ((rc = demo_write_npy(env, "potential.npy", QDML_NPY_F64, 2, shape2, V)) != CLI_OK ||
        (rc = demo_write_npy(env, "psi_snapshots.npy", QDML_NPY_F64, 3, shape3, snaps)) != CLI_OK ||
        (rc = demo_write_png(env, "path.png", TY_WIN, TY_WIN, path, &path_png)) != CLI_OK ||
        (rc = demo_write_png(env, "final.png", TY_N, TY_N, snaps + (int64_t)(TY_SNAPS - 1) * P, NULL)) != CLI_OK)
        goto done;
    demo_text t;
    if ((rc = demo_text_open(env, "trajectory.csv", &t)) != CLI_OK) goto done;
    fprintf(t.f, "tau,centre_0,centre_1,closed_centre_0,closed_centre_1,variance_0,variance_1,closed_variance\n");
    for (int k = 0; k < TY_SNAPS; ++k)
        fprintf(t.f, "%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", tau[k], centre[k][0], centre[k][1],
                c_form[k][0], c_form[k][1], var[k][0], var[k][1], v_form[k]);
    if ((rc = demo_text_close(&t, 1)) != CLI_OK) goto done;
    if ((rc = demo_text_open(env, "summary.json", &t)) != CLI_OK) goto done;
    fprintf(t.f, "{\n  \"demo\": \"taylor\",\n  \"version\": \"%s\",\n", qdml_version_string());
    fprintf(t.f, "  \"formula\": \"centre = x0 - (s^2 tau + D tau^2) g / hbar, variance = s^2 + 2 D tau\",\n");
    fprintf(t.f, "  \"grid\": {\"n\": [%d, %d], \"lo\": [%g, %g], \"hi\": [%g, %g]},\n", TY_N, TY_N, lo[0], lo[1],
            hi[0], hi[1]);
    demo_json_number(t.f, "  ", "hbar", TY_HBAR, 1);
    demo_json_number(t.f, "  ", "mass", TY_MASS, 1);
    demo_json_number(t.f, "  ", "D", D, 1);
    demo_json_array(t.f, "  ", "g", ty_g, 2, 1);
    demo_json_array(t.f, "  ", "x0", ty_x0, 2, 1);
    demo_json_number(t.f, "  ", "s", TY_S, 1);
    demo_json_number(t.f, "  ", "dt", TY_DT, 1);
    fprintf(t.f, "  \"snapshots\": [\n");
    for (int k = 0; k < TY_SNAPS; ++k) {
        fprintf(t.f, "    {\"tau\": ");
        cli_json_number(t.f, tau[k]);
        fprintf(t.f, ", \"centre\": ");
        cli_json_axes(t.f, centre[k], 2);
        fprintf(t.f, ", \"closed_centre\": ");
        cli_json_axes(t.f, c_form[k], 2);
        fprintf(t.f, ", \"variance\": ");
        cli_json_axes(t.f, var[k], 2);
        fprintf(t.f, ", \"closed_variance\": ");
        cli_json_number(t.f, v_form[k]);
        fprintf(t.f, "}%s\n", k + 1 < TY_SNAPS ? "," : "");
    }
    fprintf(t.f, "  ],\n");
    demo_json_number(t.f, "  ", "max_centre_error", err_c, 1);
    demo_json_number(t.f, "  ", "max_variance_rel_error", err_v, 1);
    demo_json_number(t.f, "  ", "bound", bound, 1);
    fprintf(t.f, "  \"agrees\": %s\n}\n", ok ? "true" : "false");
    if ((rc = demo_text_close(&t, 1)) != CLI_OK) goto done;

    printf("qdml demo taylor: a linear objective V = g.x (first-order Taylor), imaginary time\n");
    printf("  hbar = m = 1 (D = %g), g = (%g, %g); psi(0) = exp(-|x - x0|^2 / 2 s^2), s = %g, x0 = (%g, %g)\n", D,
           ty_g[0], ty_g[1], TY_S, ty_x0[0], ty_x0[1]);
    printf("  closed form: centre x0 - (s^2 tau + D tau^2) g / hbar, variance s^2 + 2 D tau (psi stays Gaussian)\n\n");
    printf("    tau   centre (qdml)            closed form              variance (qdml)        closed form\n");
    for (int k = 0; k < TY_SNAPS; ++k)
        printf("  %5.2f   (%9.6f, %9.6f)   (%9.6f, %9.6f)   (%9.6f, %9.6f)   %9.6f\n", tau[k], centre[k][0],
               centre[k][1], c_form[k][0], c_form[k][1], var[k][0], var[k][1], v_form[k]);
    printf("\n  the packet slid %.4f downhill, against g: gradient descent with a step v / hbar that grows with v\n",
           hypot(centre[TY_SNAPS - 1][0] - ty_x0[0], centre[TY_SNAPS - 1][1] - ty_x0[1]));
    printf("  %s: largest centre error %.2e, variance error %.2e (relative); bound %.0e\n\n",
           ok ? "agrees with the closed form" : "DISAGREES with the closed form", err_c, err_v, bound);
    printf(
        "Outputs written to %s/:\n  potential.npy psi_snapshots.npy trajectory.csv path.png final.png summary.json\n",
        env->dir);
    if (!ok) {
        cli_error("demo", "taylor: centre error %.3g or variance error %.3g above %.0e", err_c, err_v, bound);
        rc = CLI_RUN_FAILED;
    }
done:
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
    free(V);
    free(psi);
    free(snaps);
    free(path);
    return rc;
}
