/* The demos of `qdml demo` that show the paper's limits of the imaginary-time equation
 *     d psi / d tau = D lap psi - V psi / hbar,   D = hbar / 2m,
 * each against its closed form (DESIGN.md, "zero-order Taylor limit", "Softmax/Sigmoid"):
 *
 *  softmax    D -> 0 (potential_only) on K cells of constant energy E_k: psi_k ∝ exp(-tau E_k / hbar),
 *             so psi normalised in L1 is softmax(-tau E / hbar), temperature hbar / tau.
 *  sigmoid    the same with K = 2: the second cell's weight is sigmoid(-tau (E1 - E0) / hbar).
 *  diffusion  V = 0: the heat equation. psi taken as a density evolves into the law of
 *             X0 + sqrt(2 D tau) xi, the forward (noising) process of diffusion models.
 *  taylor     V = g.x, the first-order Taylor expansion of an objective: a Gaussian packet
 *             psi = exp(-|x - x0|^2 / 2 s^2) stays Gaussian, its centre sliding downhill.
 *
 * Every demo prints its comparison, writes .npy/.csv/.json (and .png for 2D) files, and fails
 * (exit 1) when the comparison misses the bound it states. */
#include "demo.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared pieces ------------------------------------------------------------------------------- */

/* softmax(beta z) into out (K values), shifted by the largest exponent for stability. */
static void softmax(const double *z, int64_t K, double beta, double *out) {
    double top = -INFINITY, sum = 0.0;
    for (int64_t k = 0; k < K; ++k)
        top = fmax(top, beta * z[k]);
    for (int64_t k = 0; k < K; ++k)
        sum += (out[k] = exp(beta * z[k] - top));
    for (int64_t k = 0; k < K; ++k)
        out[k] /= sum;
}

/* Imaginary time with no kinetic step and no renormalisation: psi is multiplied pointwise by
 * exp(-V dt / hbar) per step and nothing else, starting from the uniform state. */
static qdml_status evolve_potential_only(qdml_problem *p, double dt, int64_t steps) {
    qdml_status st = qdml_problem_set_state_uniform(p, QDML_ALL_MEMBERS);
    if (st != QDML_OK) return st;
    qdml_evolve_options o;
    qdml_evolve_options_default(&o);
    o.mode = QDML_IMAGINARY_TIME;
    o.potential_only = 1;
    o.renormalize = 0;
    o.dt = dt;
    o.steps = steps;
    return qdml_problem_evolve(p, &o, NULL);
}

/* Rounding bound on the relative error of a normalised weight after `steps` potential-only steps
 * (tests/test_softmax.c derives it): each of <= 2 steps + 2 multiplications costs <= 2 ulp and the
 * exponent E dt / 2 hbar carries ~2 ulp of itself, summing to 2 eps |tau E / hbar|; normalising at
 * most doubles it. */
static double softmax_bound(int64_t steps, double max_exponent) {
    return 2.0 * (4.0 * (double)steps + 4.0) * DBL_EPSILON * (1.0 + max_exponent);
}

static void print_row(const char *label, const double *v, int64_t n, const char *fmt) {
    printf("%s", label);
    for (int64_t i = 0; i < n; ++i)
        printf(fmt, v[i]);
    printf("\n");
}

/* ---- softmax ------------------------------------------------------------------------------------- */

#define SM_K 8
#define SM_B 5
static const double sm_energy[SM_K] = {0.8, -0.3, 1.5, 0.1, -1.2, 0.6, 2.0, -0.5};
static const double sm_hbar[SM_B] = {4.0, 2.0, 1.0, 0.5, 0.25};
#define SM_DT 0.125
#define SM_STEPS 8 /* tau = 1, exact in binary */

const char demo_softmax_help[] =
    "Usage: qdml demo softmax [--out DIR] [--threads N] [--backend cpu|cuda|auto]\n"
    "\n"
    "Imaginary time with no diffusion (potential_only, the D = hbar/2m -> 0 limit) and no\n"
    "renormalisation on K = 8 cells of constant energies E_k, from the uniform state:\n"
    "    d psi_k / d tau = -E_k psi_k / hbar,   psi_k = exp(-tau E_k / hbar) / sqrt(8),\n"
    "so psi / sum(psi) is softmax(-tau E / hbar) at temperature hbar / tau, and the Born-rule\n"
    "weights |psi|^2 / sum |psi|^2 are softmax(-2 tau E / hbar). One batch member per hbar\n"
    "(4, 2, 1, 0.5, 0.25) at tau = 1 (8 steps of 0.125): five temperatures in one run. Each weight\n"
    "is compared with the formula; the bound is rounding, 2 (4N + 4) eps (1 + max |tau E / hbar|).\n"
    "\n"
    "Writes into DIR (default qdml-demo-out/softmax):\n"
    "  energies.npy       E, float64 (8,)\n"
    "  probabilities.npy  psi / sum(psi) per member, float64 (5, 8)\n"
    "  softmax.npy        softmax(-tau E / hbar) per member, float64 (5, 8)\n"
    "  born.npy           |psi|^2 / sum |psi|^2 per member, float64 (5, 8)\n"
    "  softmax.csv        member, hbar, temperature, cell, energy, p, softmax, rel_error, born, born_softmax\n"
    "  summary.json       the numbers printed on stdout\n";

int demo_softmax(const demo_env *env) {
    const int64_t n[1] = {SM_K};
    const double lo[1] = {0.0}, hi[1] = {(double)SM_K};
    const double tau = SM_DT * SM_STEPS;
    qdml_grid grid;
    qdml_context *ctx = NULL;
    qdml_problem *p = NULL;
    qdml_status st;
    double psi[2 * SM_K], rho[SM_K];
    double prob[SM_B][SM_K], form[SM_B][SM_K], born[SM_B][SM_K], born_form[SM_B][SM_K], err[SM_B], bound[SM_B];
    int rc = demo_context(env, &ctx);
    if (rc != CLI_OK) return rc;
    if ((st = qdml_grid_init(&grid, 1, n, lo, hi)) != QDML_OK) {
        rc = demo_lib_failed("qdml_grid_init", NULL, st);
        goto done;
    }
    if ((st = qdml_problem_create(ctx, &grid, SM_B, &p)) != QDML_OK ||
        (st = qdml_problem_set_potential(p, QDML_ALL_MEMBERS, sm_energy)) != QDML_OK) {
        rc = demo_lib_failed("setting up the cells", ctx, st);
        goto done;
    }
    for (int b = 0; b < SM_B; ++b)
        if ((st = qdml_problem_set_hbar(p, b, sm_hbar[b])) != QDML_OK) {
            rc = demo_lib_failed("qdml_problem_set_hbar", ctx, st);
            goto done;
        }
    if ((st = evolve_potential_only(p, SM_DT, SM_STEPS)) != QDML_OK) {
        rc = demo_lib_failed("qdml_problem_evolve", ctx, st);
        goto done;
    }
    double worst = 0.0;
    int ok = 1;
    for (int b = 0; b < SM_B; ++b) {
        if ((st = qdml_problem_get_state(p, b, psi)) != QDML_OK ||
            (st = qdml_problem_get_density(p, b, rho)) != QDML_OK) {
            rc = demo_lib_failed("reading the state", ctx, st);
            goto done;
        }
        double l1 = 0.0, l2 = 0.0, ymax = 0.0;
        for (int k = 0; k < SM_K; ++k) {
            l1 += psi[2 * k];
            l2 += rho[k];
            ymax = fmax(ymax, fabs(tau * sm_energy[k] / sm_hbar[b]));
        }
        softmax(sm_energy, SM_K, -tau / sm_hbar[b], form[b]);
        softmax(sm_energy, SM_K, -2.0 * tau / sm_hbar[b], born_form[b]);
        bound[b] = softmax_bound(SM_STEPS, ymax);
        err[b] = 0.0;
        for (int k = 0; k < SM_K; ++k) {
            prob[b][k] = psi[2 * k] / l1;
            born[b][k] = rho[k] / l2;
            err[b] = fmax(err[b], fabs(prob[b][k] - form[b][k]) / form[b][k]);
            err[b] = fmax(err[b], fabs(born[b][k] - born_form[b][k]) / born_form[b][k]);
            /* psi stays real: the factors exp(-E dt / hbar) have no imaginary part. */
            err[b] = fmax(err[b], fabs(psi[2 * k + 1]) / psi[2 * k]);
        }
        worst = fmax(worst, err[b]);
        ok &= err[b] <= bound[b];
    }

    const int64_t shape1[1] = {SM_K}, shape2[2] = {SM_B, SM_K};
    if ((rc = demo_write_npy(env, "energies.npy", QDML_NPY_F64, 1, shape1, sm_energy)) != CLI_OK ||
        (rc = demo_write_npy(env, "probabilities.npy", QDML_NPY_F64, 2, shape2, &prob[0][0])) != CLI_OK ||
        (rc = demo_write_npy(env, "softmax.npy", QDML_NPY_F64, 2, shape2, &form[0][0])) != CLI_OK ||
        (rc = demo_write_npy(env, "born.npy", QDML_NPY_F64, 2, shape2, &born[0][0])) != CLI_OK)
        goto done;
    demo_text t;
    if ((rc = demo_text_open(env, "softmax.csv", &t)) != CLI_OK) goto done;
    fprintf(t.f, "member,hbar,temperature,cell,energy,p,softmax,rel_error,born,born_softmax\n");
    for (int b = 0; b < SM_B; ++b)
        for (int k = 0; k < SM_K; ++k)
            fprintf(t.f, "%d,%.17g,%.17g,%d,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", b, sm_hbar[b], sm_hbar[b] / tau, k,
                    sm_energy[k], prob[b][k], form[b][k], fabs(prob[b][k] - form[b][k]) / form[b][k], born[b][k],
                    born_form[b][k]);
    if ((rc = demo_text_close(&t, 1)) != CLI_OK) goto done;
    if ((rc = demo_text_open(env, "summary.json", &t)) != CLI_OK) goto done;
    fprintf(t.f, "{\n  \"demo\": \"softmax\",\n  \"version\": \"%s\",\n", qdml_version_string());
    fprintf(t.f,
            "  \"formula\": \"psi / sum(psi) = softmax(-tau E / hbar); |psi|^2 / sum = softmax(-2 tau E / hbar)\",\n");
    demo_json_array(t.f, "  ", "energies", sm_energy, SM_K, 1);
    demo_json_number(t.f, "  ", "tau", tau, 1);
    demo_json_number(t.f, "  ", "dt", SM_DT, 1);
    fprintf(t.f, "  \"steps\": %d,\n  \"members\": [\n", SM_STEPS);
    for (int b = 0; b < SM_B; ++b) {
        fprintf(t.f, "    {\n");
        demo_json_number(t.f, "      ", "hbar", sm_hbar[b], 1);
        demo_json_number(t.f, "      ", "temperature", sm_hbar[b] / tau, 1);
        demo_json_array(t.f, "      ", "probabilities", prob[b], SM_K, 1);
        demo_json_array(t.f, "      ", "softmax", form[b], SM_K, 1);
        demo_json_number(t.f, "      ", "max_rel_error", err[b], 1);
        demo_json_number(t.f, "      ", "bound", bound[b], 0);
        fprintf(t.f, "    }%s\n", b + 1 < SM_B ? "," : "");
    }
    fprintf(t.f, "  ],\n");
    demo_json_number(t.f, "  ", "max_rel_error", worst, 1);
    fprintf(t.f, "  \"agrees\": %s\n}\n", ok ? "true" : "false");
    if ((rc = demo_text_close(&t, 1)) != CLI_OK) goto done;

    printf("qdml demo softmax: imaginary time with no diffusion on %d cells of constant energy\n", SM_K);
    printf("  d psi_k/d tau = -E_k psi_k / hbar from the uniform state, tau = %g (%d steps of %g):\n", tau, SM_STEPS,
           SM_DT);
    printf("  psi / sum(psi) = softmax(-tau E / hbar), temperature T = hbar / tau (one batch member per hbar)\n\n");
    print_row("  energy E        ", sm_energy, SM_K, " %7.3f");
    for (int b = 0; b < SM_B; ++b) {
        char label[64];
        snprintf(label, sizeof label, "  T = %-5g  qdml ", sm_hbar[b] / tau);
        print_row(label, prob[b], SM_K, " %7.4f");
        printf("            formula");
        for (int k = 0; k < SM_K; ++k)
            printf(" %7.4f", form[b][k]);
        printf("   max rel. error %.1e (rounding bound %.1e)\n", err[b], bound[b]);
    }
    printf("\n  Born-rule weights |psi|^2 / sum |psi|^2 match softmax(-2 tau E / hbar) within the same bounds.\n");
    printf("  As T falls the weight gathers on the lowest energy (cell 4, E = -1.2): %.4f at T = %g.\n",
           prob[SM_B - 1][4], sm_hbar[SM_B - 1] / tau);
    printf("  %s: largest relative error %.2e\n\n", ok ? "agrees with the formula" : "DISAGREES with the formula",
           worst);
    printf("Outputs written to %s/:\n  energies.npy probabilities.npy softmax.npy born.npy softmax.csv summary.json\n",
           env->dir);
    if (!ok) {
        cli_error("demo", "softmax: the weights miss the formula by %.3g (bound %.3g)", worst, bound[SM_B - 1]);
        rc = CLI_RUN_FAILED;
    }
done:
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
    return rc;
}

/* ---- sigmoid ------------------------------------------------------------------------------------- */

#define SG_B 17
#define SG_HBAR 1.0
#define SG_DT 0.25
#define SG_STEPS 4 /* tau = 1 */

const char demo_sigmoid_help[] =
    "Usage: qdml demo sigmoid [--out DIR] [--threads N] [--backend cpu|cuda|auto]\n"
    "\n"
    "Two cells (K = 2) of energies E0, E1, imaginary time with no diffusion and no renormalisation\n"
    "from the uniform state, hbar = 1, tau = 1 (4 steps of 0.25). The second cell's weight\n"
    "    psi_1 / (psi_0 + psi_1) = 1 / (1 + exp(tau (E1 - E0) / hbar)) = sigmoid(-tau (E1 - E0) / hbar)\n"
    "depends on the difference only: 17 batch members with E1 - E0 = -4, -3.5, ..., 4 and a common\n"
    "offset E0 that varies between members. Born-rule weights give sigmoid(-2 tau (E1 - E0) / hbar).\n"
    "The bound is rounding, 2 (4N + 4) eps (1 + max |tau E / hbar|), relative.\n"
    "\n"
    "Writes into DIR (default qdml-demo-out/sigmoid):\n"
    "  energies.npy   (E0, E1) per member, float64 (17, 2)\n"
    "  p1.npy         psi_1 / (psi_0 + psi_1) per member, float64 (17,)\n"
    "  sigmoid.npy    sigmoid(-tau (E1 - E0) / hbar) per member, float64 (17,)\n"
    "  sigmoid.csv    member, E0, E1, dE, p1, sigmoid, rel_error, born_p1, born_sigmoid\n"
    "  summary.json   the numbers printed on stdout\n";

int demo_sigmoid(const demo_env *env) {
    const int64_t n[1] = {2};
    const double lo[1] = {0.0}, hi[1] = {1.0};
    const double tau = SG_DT * SG_STEPS;
    double E[SG_B][2], p1[SG_B], s1[SG_B], q1[SG_B], s2[SG_B], err[SG_B], bound[SG_B];
    for (int b = 0; b < SG_B; ++b) {
        E[b][0] = 0.25 * (double)(b % 3 - 1); /* a common offset: it must not matter */
        E[b][1] = E[b][0] + (-4.0 + 0.5 * b);
    }
    qdml_grid grid;
    qdml_context *ctx = NULL;
    qdml_problem *p = NULL;
    qdml_status st;
    int rc = demo_context(env, &ctx);
    if (rc != CLI_OK) return rc;
    if ((st = qdml_grid_init(&grid, 1, n, lo, hi)) != QDML_OK) {
        rc = demo_lib_failed("qdml_grid_init", NULL, st);
        goto done;
    }
    if ((st = qdml_problem_create(ctx, &grid, SG_B, &p)) != QDML_OK ||
        (st = qdml_problem_set_hbar(p, QDML_ALL_MEMBERS, SG_HBAR)) != QDML_OK) {
        rc = demo_lib_failed("setting up the cells", ctx, st);
        goto done;
    }
    for (int b = 0; b < SG_B; ++b)
        if ((st = qdml_problem_set_potential(p, b, E[b])) != QDML_OK) {
            rc = demo_lib_failed("qdml_problem_set_potential", ctx, st);
            goto done;
        }
    if ((st = evolve_potential_only(p, SG_DT, SG_STEPS)) != QDML_OK) {
        rc = demo_lib_failed("qdml_problem_evolve", ctx, st);
        goto done;
    }
    double worst = 0.0;
    int ok = 1;
    for (int b = 0; b < SG_B; ++b) {
        double psi[4], rho[2];
        if ((st = qdml_problem_get_state(p, b, psi)) != QDML_OK ||
            (st = qdml_problem_get_density(p, b, rho)) != QDML_OK) {
            rc = demo_lib_failed("reading the state", ctx, st);
            goto done;
        }
        const double dE = E[b][1] - E[b][0];
        p1[b] = psi[2] / (psi[0] + psi[2]);
        q1[b] = rho[1] / (rho[0] + rho[1]);
        s1[b] = 1.0 / (1.0 + exp(tau * dE / SG_HBAR));
        s2[b] = 1.0 / (1.0 + exp(2.0 * tau * dE / SG_HBAR));
        bound[b] = softmax_bound(SG_STEPS, fmax(fabs(tau * E[b][0]), fabs(tau * E[b][1])) / SG_HBAR);
        err[b] = fmax(fabs(p1[b] - s1[b]) / s1[b], fabs(q1[b] - s2[b]) / s2[b]);
        worst = fmax(worst, err[b]);
        ok &= err[b] <= bound[b];
    }
    const int64_t shapeE[2] = {SG_B, 2}, shape1[1] = {SG_B};
    if ((rc = demo_write_npy(env, "energies.npy", QDML_NPY_F64, 2, shapeE, &E[0][0])) != CLI_OK ||
        (rc = demo_write_npy(env, "p1.npy", QDML_NPY_F64, 1, shape1, p1)) != CLI_OK ||
        (rc = demo_write_npy(env, "sigmoid.npy", QDML_NPY_F64, 1, shape1, s1)) != CLI_OK)
        goto done;
    demo_text t;
    if ((rc = demo_text_open(env, "sigmoid.csv", &t)) != CLI_OK) goto done;
    fprintf(t.f, "member,E0,E1,dE,p1,sigmoid,rel_error,born_p1,born_sigmoid\n");
    for (int b = 0; b < SG_B; ++b)
        fprintf(t.f, "%d,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", b, E[b][0], E[b][1], E[b][1] - E[b][0],
                p1[b], s1[b], fabs(p1[b] - s1[b]) / s1[b], q1[b], s2[b]);
    if ((rc = demo_text_close(&t, 1)) != CLI_OK) goto done;
    if ((rc = demo_text_open(env, "summary.json", &t)) != CLI_OK) goto done;
    fprintf(t.f, "{\n  \"demo\": \"sigmoid\",\n  \"version\": \"%s\",\n", qdml_version_string());
    fprintf(t.f, "  \"formula\": \"psi_1 / (psi_0 + psi_1) = sigmoid(-tau (E1 - E0) / hbar)\",\n");
    demo_json_number(t.f, "  ", "hbar", SG_HBAR, 1);
    demo_json_number(t.f, "  ", "tau", tau, 1);
    fprintf(t.f, "  \"steps\": %d,\n", SG_STEPS);
    double dEs[SG_B];
    for (int b = 0; b < SG_B; ++b)
        dEs[b] = E[b][1] - E[b][0];
    demo_json_array(t.f, "  ", "dE", dEs, SG_B, 1);
    demo_json_array(t.f, "  ", "p1", p1, SG_B, 1);
    demo_json_array(t.f, "  ", "sigmoid", s1, SG_B, 1);
    demo_json_array(t.f, "  ", "rel_error", err, SG_B, 1);
    demo_json_number(t.f, "  ", "max_rel_error", worst, 1);
    fprintf(t.f, "  \"agrees\": %s\n}\n", ok ? "true" : "false");
    if ((rc = demo_text_close(&t, 1)) != CLI_OK) goto done;

    printf("qdml demo sigmoid: two cells, imaginary time with no diffusion, hbar = %g, tau = %g (%d steps)\n", SG_HBAR,
           tau, SG_STEPS);
    printf("  weight of cell 1 = psi_1 / (psi_0 + psi_1) = sigmoid(-tau (E1 - E0) / hbar); E0 varies, only E1 - E0 "
           "counts\n\n");
    printf("     E0      E1   E1-E0     qdml p1      sigmoid    rel. error   (Born: qdml / sigmoid(2x))\n");
    for (int b = 0; b < SG_B; ++b)
        printf("  %5.2f  %6.2f  %6.2f  %.9f  %.9f  %.1e      %.6f / %.6f\n", E[b][0], E[b][1], E[b][1] - E[b][0], p1[b],
               s1[b], err[b], q1[b], s2[b]);
    printf("\n  %s: largest relative error %.2e (rounding bound %.1e at the widest energies)\n\n",
           ok ? "agrees with the formula" : "DISAGREES with the formula", worst, bound[0]);
    printf("Outputs written to %s/:\n  energies.npy p1.npy sigmoid.npy sigmoid.csv summary.json\n", env->dir);
    if (!ok) {
        cli_error("demo", "sigmoid: the weights miss the formula by %.3g", worst);
        rc = CLI_RUN_FAILED;
    }
done:
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
    return rc;
}

/* ---- diffusion ----------------------------------------------------------------------------------- */

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
        char err[256];
        if (qdml_png_resolve_range(rho, P, &po, &lo_v, &hi_v, err, sizeof err) != 0) {
            cli_error("demo", "%s", err);
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

/* ---- taylor -------------------------------------------------------------------------------------- */

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
