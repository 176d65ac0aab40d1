/* `qdml demo softmax` and `qdml demo sigmoid`: the paper's limit D -> 0 of the imaginary-time equation
 *     d psi / d tau = D lap psi - V psi / hbar,   D = hbar / 2m,
 * against its closed form (DESIGN.md, "Softmax/Sigmoid"):
 *
 *  softmax    D -> 0 (potential_only) on K cells of constant energy E_k: psi_k ∝ exp(-tau E_k / hbar),
 *             so psi normalised in L1 is softmax(-tau E / hbar), temperature hbar / tau.
 *  sigmoid    the same with K = 2: the second cell's weight is sigmoid(-tau (E1 - E0) / hbar).
 *
 * Each prints its comparison, writes .npy/.csv/.json files, and fails (exit 1) when the comparison
 * misses the bound it states. */
#include "demo.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

/* ---- shared pieces ---------------------------------------------------------------------------- */

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

/* ---- softmax ---------------------------------------------------------------------------------- */

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

/* ---- sigmoid ---------------------------------------------------------------------------------- */

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
