/* `qdml demo diffusion`: the paper's zero-order Taylor limit of the imaginary-time equation
 *     d psi / d tau = D lap psi - V psi / hbar,   D = hbar / 2m,
 * against its closed form (DESIGN.md, "zero-order Taylor limit"): V = 0 is the heat equation. psi
 * taken as a density evolves into the law of X0 + sqrt(2 D tau) xi, the forward (noising) process of
 * diffusion models.
 *
 * The demo prints its comparison, writes .npy/.csv/.json and .png files, and fails (exit 1) when the
 * comparison misses the bound it states. */
#include "demo.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DF_N 64
#define DF_L 8.0
#define DF_HBAR 1.0
#define DF_MASS 1.0 /* D = hbar / 2m = 1/2: noise variance 2 D tau = tau per axis */
#define DF_DT 0.05
#define DF_SNAPS 3
#define DF_SAMPLES 1000000
#define DF_BIN 4 /* cells per bin and axis: 16 x 16 bins */
static const double df_tau[DF_SNAPS] = {0.25, 1.0, 4.0};

typedef struct df_component {
    double weight, mean[2], sd[2];
} df_component;
/* The "data distribution": three anisotropic Gaussians. */
static const df_component df_mix[3] = {
    {0.5, {-2.5, -1.5}, {0.6, 0.9}}, {0.3, {2.0, 1.0}, {0.8, 0.5}}, {0.2, {-0.5, 3.0}, {0.5, 0.5}}};

const char demo_diffusion_help[] =
    "Usage: qdml demo diffusion [--out DIR] [--threads N] [--backend cpu|cuda|auto]\n"
    "\n"
    "Free imaginary time (V = 0) without renormalisation is the heat equation d psi/d tau = D lap psi,\n"
    "D = hbar/2m = 1/2. Taking psi to be a density p0 (a mixture of three Gaussians on the periodic box\n"
    "[-8, 8)^2, 64 x 64 points), psi(tau) is the law of X0 + sqrt(2 D tau) xi with X0 ~ p0 and xi\n"
    "standard normal: adding Gaussian noise of variance 2 D tau per axis, the forward process of\n"
    "diffusion models. At tau = 0.25, 1 and 4 the density is compared with a histogram of 10^6 seeded\n"
    "samples of X0 + sqrt(2 D tau) xi (wrapped into the box like the kernel), in 16 x 16 bins of\n"
    "4 x 4 cells: chi^2 over bins expecting >= 20 samples (the rest pooled) with dof = bins - 1. The\n"
    "demo passes when chi^2 <= dof + 5 sqrt(2 dof) and every bin is within 5 standard errors; as a\n"
    "check of power it also reports chi^2 against samples with half the noise variance.\n"
    "\n"
    "Writes into DIR (default qdml-demo-out/diffusion):\n"
    "  densities.npy      psi at tau = 0, 0.25, 1, 4, float64 (4, 64, 64)\n"
    "  samples.npy        sample histograms as densities (count / (N dV)), float64 (3, 64, 64)\n"
    "  density_0.png .. density_3.png   psi at tau = 0, 0.25, 1, 4 (viridis, linear, own range)\n"
    "  samples_1.png .. samples_3.png   the histograms, on the range of the matching density\n"
    "  diffusion.csv      tau, noise_variance, mass, chi2, dof, max_abs_z, chi2_half_variance\n"
    "  summary.json       the numbers printed on stdout\n"
    "Axis 0 is x (downwards in the pictures), axis 1 is y; grid points are -8 + 16 j / 64.\n";

static double df_x(int64_t j) { return -DF_L + (double)j * (2.0 * DF_L) / DF_N; }

/* Cell index of coordinate x, the cell of grid point j being [x_j - h/2, x_j + h/2), periodic. */
static int64_t df_cell(double x) {
    const double h = 2.0 * DF_L / DF_N;
    int64_t j = (int64_t)floor((x + DF_L) / h + 0.5) % DF_N;
    return j < 0 ? j + DF_N : j;
}

/* Histogram of DF_SAMPLES samples X0 + noise_sd xi into cells (DF_N x DF_N counts). */
static void df_sample(double noise_sd, uint64_t seed, double *count) {
    demo_rng r;
    demo_rng_seed(&r, seed);
    memset(count, 0, sizeof(double) * DF_N * DF_N);
    for (long s = 0; s < DF_SAMPLES; ++s) {
        const double u = demo_uniform(&r);
        int c = u < df_mix[0].weight ? 0 : u < df_mix[0].weight + df_mix[1].weight ? 1 : 2;
        const double x = df_mix[c].mean[0] + df_mix[c].sd[0] * demo_normal(&r) + noise_sd * demo_normal(&r);
        const double y = df_mix[c].mean[1] + df_mix[c].sd[1] * demo_normal(&r) + noise_sd * demo_normal(&r);
        count[df_cell(x) * DF_N + df_cell(y)] += 1.0;
    }
}

/* Expected samples per cell from the density's point values: the cell average to fourth order,
 * dV (psi_i + sum_axes (psi_{i+1} - 2 psi_i + psi_{i-1}) / 24), times N (the midpoint value alone
 * is off by dx^2 psi'' / 24, a visible bias at 10^6 samples). */
static void df_expected(const double *rho, double *out) {
    const double dv = (2.0 * DF_L / DF_N) * (2.0 * DF_L / DF_N);
    for (int64_t i = 0; i < DF_N; ++i)
        for (int64_t j = 0; j < DF_N; ++j) {
            const int64_t ip = (i + 1) % DF_N, im = (i + DF_N - 1) % DF_N;
            const int64_t jp = (j + 1) % DF_N, jm = (j + DF_N - 1) % DF_N;
            const double v = rho[i * DF_N + j];
            const double corr = (rho[ip * DF_N + j] - 2.0 * v + rho[im * DF_N + j]) / 24.0 +
                                (rho[i * DF_N + jp] - 2.0 * v + rho[i * DF_N + jm]) / 24.0;
            out[i * DF_N + j] = DF_SAMPLES * dv * (v + corr);
        }
}

/* chi^2 of observed against expected cell counts grouped into DF_BIN x DF_BIN bins, over bins
 * expecting >= 20 (the others pooled into one); dof = bins used - 1; largest |z| of a bin. */
static double df_chi2(const double *obs, const double *expct, int64_t *dof, double *zmax) {
    enum { NB = DF_N / DF_BIN };
    double bo[NB * NB] = {0}, be[NB * NB] = {0};
    for (int64_t i = 0; i < DF_N; ++i)
        for (int64_t j = 0; j < DF_N; ++j) {
            bo[(i / DF_BIN) * NB + j / DF_BIN] += obs[i * DF_N + j];
            be[(i / DF_BIN) * NB + j / DF_BIN] += expct[i * DF_N + j];
        }
    double c = 0.0, po = 0.0, pe = 0.0;
    int64_t used = 0;
    *zmax = 0.0;
    for (int b = 0; b < NB * NB; ++b) {
        if (be[b] >= 20.0) {
            const double z = (bo[b] - be[b]) / sqrt(be[b]);
            c += z * z;
            *zmax = fmax(*zmax, fabs(z));
            ++used;
        } else {
            po += bo[b];
            pe += be[b];
        }
    }
    if (pe >= 20.0) {
        const double z = (po - pe) / sqrt(pe);
        c += z * z;
        *zmax = fmax(*zmax, fabs(z));
        ++used;
    }
    *dof = used - 1;
    return c;
}

int demo_diffusion(const demo_env *env) {
    enum { P = DF_N * DF_N };
    const int64_t n[2] = {DF_N, DF_N};
    const double lo[2] = {-DF_L, -DF_L}, hi[2] = {DF_L, DF_L};
    const double D = DF_HBAR / (2.0 * DF_MASS), dv = (2.0 * DF_L / DF_N) * (2.0 * DF_L / DF_N);
    qdml_grid grid;
    qdml_context *ctx = NULL;
    qdml_problem *p = NULL;
    qdml_status st;
    double *psi = malloc(2 * P * sizeof *psi);
    double *dens = malloc((DF_SNAPS + 1) * P * sizeof *dens);
    double *hist = malloc(DF_SNAPS * P * sizeof *hist);
    double *expct = malloc(P * sizeof *expct);
    double chi2[DF_SNAPS], chi2_wrong[DF_SNAPS], zmax[DF_SNAPS], mass[DF_SNAPS + 1];
    int64_t dof[DF_SNAPS];
    int rc = CLI_OK;
    if (!psi || !dens || !hist || !expct) {
        cli_error("demo", "out of memory");
        rc = CLI_RUN_FAILED;
        goto done;
    }
    if ((rc = demo_context(env, &ctx)) != CLI_OK) goto done;
    if ((st = qdml_grid_init(&grid, 2, n, lo, hi)) != QDML_OK) {
        rc = demo_lib_failed("qdml_grid_init", NULL, st);
        goto done;
    }
    /* p0: the mixture's density at the grid points, normalised on the grid (it loses < 1e-12 to the
     * box edges), as the real part of psi. */
    double m0 = 0.0;
    for (int64_t i = 0; i < DF_N; ++i)
        for (int64_t j = 0; j < DF_N; ++j) {
            double v = 0.0;
            for (int c = 0; c < 3; ++c) {
                const double a = (df_x(i) - df_mix[c].mean[0]) / df_mix[c].sd[0];
                const double b = (df_x(j) - df_mix[c].mean[1]) / df_mix[c].sd[1];
                v += df_mix[c].weight * exp(-0.5 * (a * a + b * b)) /
                     (2.0 * 3.14159265358979323846 * df_mix[c].sd[0] * df_mix[c].sd[1]);
            }
            dens[i * DF_N + j] = v;
            m0 += v * dv;
        }
    for (int64_t i = 0; i < P; ++i) {
        dens[i] /= m0;
        psi[2 * i] = dens[i];
        psi[2 * i + 1] = 0.0;
    }
    memset(expct, 0, P * sizeof *expct);
    if ((st = qdml_problem_create(ctx, &grid, 1, &p)) != QDML_OK ||
        (st = qdml_problem_set_potential(p, 0, expct)) != QDML_OK ||
        (st = qdml_problem_set_hbar(p, 0, DF_HBAR)) != QDML_OK ||
        (st = qdml_problem_set_mass(p, 0, DF_MASS)) != QDML_OK || (st = qdml_problem_set_state(p, 0, psi)) != QDML_OK) {
        rc = demo_lib_failed("setting up the density", ctx, st);
        goto done;
    }
    mass[0] = 1.0;
    int ok = 1;
    double done_tau = 0.0;
    for (int k = 0; k < DF_SNAPS; ++k) {
        qdml_evolve_options o;
        qdml_evolve_options_default(&o);
        o.mode = QDML_IMAGINARY_TIME;
        o.renormalize = 0;
        o.dt = DF_DT;
        o.steps = (int64_t)llround((df_tau[k] - done_tau) / DF_DT);
        if ((st = qdml_problem_evolve(p, &o, NULL)) != QDML_OK || (st = qdml_problem_get_state(p, 0, psi)) != QDML_OK) {
            rc = demo_lib_failed("qdml_problem_evolve", ctx, st);
            goto done;
        }
        done_tau = df_tau[k];
        double *rho = dens + (int64_t)(k + 1) * P;
        mass[k + 1] = 0.0;
        for (int64_t i = 0; i < P; ++i) {
            rho[i] = psi[2 * i];
            mass[k + 1] += rho[i] * dv;
        }
        const double noise_sd = sqrt(2.0 * D * df_tau[k]);
        double *h = hist + (int64_t)k * P;
        df_expected(rho, expct);
        df_sample(noise_sd, 1000 + (uint64_t)k, h);
        chi2[k] = df_chi2(h, expct, &dof[k], &zmax[k]);
        ok &= chi2[k] <= (double)dof[k] + 5.0 * sqrt(2.0 * (double)dof[k]) && zmax[k] <= 5.0;
        /* Power: the same comparison with half the noise variance must fail by far. */
        double *wrong = psi; /* reused: its 2P doubles hold one histogram */
        int64_t dof_w;
        double z_w;
        df_sample(noise_sd / sqrt(2.0), 2000 + (uint64_t)k, wrong);
        chi2_wrong[k] = df_chi2(wrong, expct, &dof_w, &z_w);
        for (int64_t i = 0; i < P; ++i)
            h[i] /= DF_SAMPLES * dv;
    }

    const int64_t shape_d[3] = {DF_SNAPS + 1, DF_N, DF_N}, shape_h[3] = {DF_SNAPS, DF_N, DF_N};
    if ((rc = demo_write_npy(env, "densities.npy", QDML_NPY_F64, 3, shape_d, dens)) != CLI_OK ||
        (rc = demo_write_npy(env, "samples.npy", QDML_NPY_F64, 3, shape_h, hist)) != CLI_OK)
        goto done;
    for (int k = 0; k <= DF_SNAPS; ++k) {
        char name[32];
        const double *rho = dens + (int64_t)k * P;
        qdml_png_options po;
        qdml_png_options_default(&po);
        double lo_v, hi_v;
        if (qdml_png_resolve_range(rho, P, &po, &lo_v, &hi_v) != QDML_OK) {
            cli_error("demo", "%s", qdml_last_error_message());
            rc = CLI_RUN_FAILED;
            goto done;
        }
        snprintf(name, sizeof name, "density_%d.png", k);
        if ((rc = demo_write_png(env, name, DF_N, DF_N, rho, &po)) != CLI_OK) goto done;
        if (k == 0) continue;
        po.vmin = lo_v;
        po.vmax = hi_v;
        snprintf(name, sizeof name, "samples_%d.png", k);
        if ((rc = demo_write_png(env, name, DF_N, DF_N, hist + (int64_t)(k - 1) * P, &po)) != CLI_OK) goto done;
    }
    demo_text t;
    if ((rc = demo_text_open(env, "diffusion.csv", &t)) != CLI_OK) goto done;
    fprintf(t.f, "tau,noise_variance,mass,chi2,dof,max_abs_z,chi2_half_variance\n");
    for (int k = 0; k < DF_SNAPS; ++k)
        fprintf(t.f, "%.17g,%.17g,%.17g,%.17g,%lld,%.17g,%.17g\n", df_tau[k], 2.0 * D * df_tau[k], mass[k + 1], chi2[k],
                (long long)dof[k], zmax[k], chi2_wrong[k]);
    if ((rc = demo_text_close(&t, 1)) != CLI_OK) goto done;
    if ((rc = demo_text_open(env, "summary.json", &t)) != CLI_OK) goto done;
    fprintf(t.f, "{\n  \"demo\": \"diffusion\",\n  \"version\": \"%s\",\n", qdml_version_string());
    fprintf(t.f, "  \"grid\": {\"n\": [%d, %d], \"lo\": [%g, %g], \"hi\": [%g, %g]},\n", DF_N, DF_N, lo[0], lo[1],
            hi[0], hi[1]);
    demo_json_number(t.f, "  ", "hbar", DF_HBAR, 1);
    demo_json_number(t.f, "  ", "mass", DF_MASS, 1);
    demo_json_number(t.f, "  ", "D", D, 1);
    fprintf(t.f, "  \"samples\": %d,\n  \"snapshots\": [\n", DF_SAMPLES);
    for (int k = 0; k < DF_SNAPS; ++k) {
        fprintf(t.f, "    {\n");
        demo_json_number(t.f, "      ", "tau", df_tau[k], 1);
        demo_json_number(t.f, "      ", "noise_variance", 2.0 * D * df_tau[k], 1);
        demo_json_number(t.f, "      ", "mass", mass[k + 1], 1);
        demo_json_number(t.f, "      ", "chi2", chi2[k], 1);
        fprintf(t.f, "      \"dof\": %lld,\n", (long long)dof[k]);
        demo_json_number(t.f, "      ", "chi2_bound", (double)dof[k] + 5.0 * sqrt(2.0 * (double)dof[k]), 1);
        demo_json_number(t.f, "      ", "max_abs_z", zmax[k], 1);
        demo_json_number(t.f, "      ", "chi2_half_variance", chi2_wrong[k], 0);
        fprintf(t.f, "    }%s\n", k + 1 < DF_SNAPS ? "," : "");
    }
    fprintf(t.f, "  ],\n  \"agrees\": %s\n}\n", ok ? "true" : "false");
    if ((rc = demo_text_close(&t, 1)) != CLI_OK) goto done;

    printf("qdml demo diffusion: free imaginary time of a 2D density = adding Gaussian noise\n");
    printf("  d psi/d tau = D lap psi, D = hbar/2m = %g, psi(0) = p0 (three Gaussians), box [-8, 8)^2, 64 x 64\n", D);
    printf("  psi(tau) should be the law of X0 + sqrt(2 D tau) xi: compared with %d seeded samples per tau\n",
           DF_SAMPLES);
    printf("  (16 x 16 bins; pass: chi^2 <= dof + 5 sqrt(2 dof) and every |z| <= 5)\n\n");
    printf("    tau   noise var.   mass            chi^2   dof   bound   max|z|   chi^2 with half the variance\n");
    for (int k = 0; k < DF_SNAPS; ++k)
        printf("  %5.2f   %8.3f   %.12f  %7.1f  %4lld  %6.1f   %5.2f    %.0f\n", df_tau[k], 2.0 * D * df_tau[k],
               mass[k + 1], chi2[k], (long long)dof[k], (double)dof[k] + 5.0 * sqrt(2.0 * (double)dof[k]), zmax[k],
               chi2_wrong[k]);
    printf("\n  %s\n\n", ok ? "the densities agree with the samples; the wrong noise variance is rejected by far"
                            : "the densities DISAGREE with the samples");
    printf("Outputs written to %s/:\n  densities.npy samples.npy density_0..3.png samples_1..3.png diffusion.csv "
           "summary.json\n",
           env->dir);
    if (!ok) {
        cli_error("demo", "diffusion: chi^2 or a bin outside the bound (see the table)");
        rc = CLI_RUN_FAILED;
    }
done:
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
    free(psi);
    free(dens);
    free(hist);
    free(expct);
    return rc;
}
