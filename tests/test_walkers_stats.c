/* The walkers' building blocks, each against a closed form or a known answer: the Philox generator
 * (Random123's known-answer vectors), its uniforms and normals (moments), the built-in objectives'
 * gradients and Laplacians (central differences at random points), the blocking analysis (AR(1)
 * series, whose error of the mean is known), and the dt -> 0 extrapolation (exact polynomials). */
#include <criterion/criterion.h>
#include <math.h>
#include <qdml/qdml_walkers.h>
#include <stdlib.h>

#include "../core/objective_grad.h"
#include "../core/philox.h"
#include "support.h"

Test(philox, known_answers) {
    /* Random123 kat_vectors: philox4x32 10, counter[4] key[2] -> output[4] */
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
         0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
         0x24126ea1}};
    for (int k = 0; k < 3; ++k) {
        qdml_u32x4 c = {{kat[k][0], kat[k][1], kat[k][2], kat[k][3]}};
        const qdml_u32x4 r = qdml_philox4x32_10(c, kat[k][4], kat[k][5]);
        for (int j = 0; j < 4; ++j)
            cr_expect_eq(r.v[j], kat[k][6 + j], "vector %d word %d: %08x, expected %08x", k, j, r.v[j], kat[k][6 + j]);
    }
}

/* 2^20 normals from consecutive counters: mean, variance, fourth moment and the share beyond 2 within
 * 5 standard errors of N(0, 1)'s; the uniforms' mean and variance likewise. */
Test(philox, moments_of_normals_and_uniforms) {
    const int64_t n = (int64_t)1 << 20;
    double s1 = 0, s2 = 0, s4 = 0, tail = 0, u1 = 0, u2 = 0;
    for (int64_t i = 0; i < n / 4; ++i) {
        qdml_u32x4 c = {{(uint32_t)i, 7u, 0u, 0u}};
        const qdml_u32x4 r = qdml_philox4x32_10(c, 12345u, 678u);
        double z[4];
        qdml_normal4(r, z);
        for (int j = 0; j < 4; ++j) {
            s1 += z[j], s2 += z[j] * z[j], s4 += z[j] * z[j] * z[j] * z[j], tail += fabs(z[j]) > 2.0;
            const double u = qdml_uniform_open(r.v[j]);
            cr_assert(u > 0.0 && u < 1.0);
            u1 += u, u2 += u * u;
        }
    }
    const double N = (double)n;
    cr_expect(fabs(s1 / N) < 5.0 / sqrt(N), "mean %g", s1 / N);
    cr_expect(fabs(s2 / N - 1.0) < 5.0 * sqrt(2.0 / N), "variance %g", s2 / N);
    cr_expect(fabs(s4 / N - 3.0) < 5.0 * sqrt(96.0 / N), "fourth moment %g", s4 / N);
    const double p = 0.04550026389635842; /* P(|z| > 2) */
    cr_expect(fabs(tail / N - p) < 5.0 * sqrt(p * (1 - p) / N), "P(|z| > 2) = %g", tail / N);
    cr_expect(fabs(u1 / N - 0.5) < 5.0 * sqrt(1.0 / 12.0 / N), "uniform mean %g", u1 / N);
    cr_expect(fabs(u2 / N - 1.0 / 3.0) < 5.0 * sqrt(4.0 / 45.0 / N), "uniform second moment %g", u2 / N);
}

/* Every kind with derivatives: value = qdml_objective_value_axes, gradient and Laplacian against
 * central differences (h = 1e-5: error ~ h^2 f''' and rounding ~ eps f / h^2 for the second
 * differences, both under 1e-4 relative for these scales) at random points, anisotropic axes. */
Test(walker_objectives, gradients_match_differences) {
    qt_rng rng;
    qt_rng_seed(&rng, 99);
    for (int kind = 0; kind < QDML_OBJECTIVE_COUNT; ++kind) {
        if (!qdml_walkers_has_gradient((qdml_objective_kind)kind)) continue;
        for (int dim = 1; dim <= 7; dim += 3) {
            qdml_objective o;
            cr_assert_eq(qdml_objective_default((qdml_objective_kind)kind, dim < 3 ? dim : 3, &o), QDML_OK);
            double ax[2 * 7], x[7], g[7], xp[7], gd[7];
            for (int a = 0; a < dim; ++a) {
                ax[a] = 0.5 + 1.5 * qt_uniform(&rng);              /* k, c, re: positive or any */
                ax[dim + a] = -0.5 + qt_uniform(&rng);
                x[a] = -1.5 + 3.0 * qt_uniform(&rng);
            }
            if (kind == QDML_OBJECTIVE_POSCHL_TELLER || kind == QDML_OBJECTIVE_MORSE)
                for (int a = 0; a < dim; ++a)
                    ax[a] = -0.5 + qt_uniform(&rng); /* centres */
            double lap = 0.0;
            const double f = qdml_objective_grad(&o, ax, x, dim, g, &lap);
            cr_expect_float_eq(f, qdml_objective_value_axes(&o, ax, x, dim), 1e-12 * (1.0 + fabs(f)), "%s dim %d",
                               qdml_objective_name((qdml_objective_kind)kind), dim);
            const double h = 1e-5;
            double lapd = 0.0;
            for (int a = 0; a < dim; ++a) {
                for (int b = 0; b < dim; ++b)
                    xp[b] = x[b];
                xp[a] = x[a] + h;
                const double fp = qdml_objective_value_axes(&o, ax, xp, dim);
                xp[a] = x[a] - h;
                const double fm = qdml_objective_value_axes(&o, ax, xp, dim);
                gd[a] = (fp - fm) / (2 * h);
                lapd += (fp - 2 * f + fm) / (h * h);
                cr_expect(fabs(gd[a] - g[a]) < 1e-6 * (1.0 + fabs(g[a])), "%s dim %d grad[%d] %g vs %g",
                          qdml_objective_name((qdml_objective_kind)kind), dim, a, g[a], gd[a]);
            }
            cr_expect(fabs(lapd - lap) < 1e-4 * (1.0 + fabs(lap)), "%s dim %d laplacian %g vs %g",
                      qdml_objective_name((qdml_objective_kind)kind), dim, lap, lapd);
        }
    }
    cr_expect_eq(qdml_walkers_has_gradient(QDML_OBJECTIVE_ACKLEY), 0);
}

/* AR(1), x_t = phi x_{t-1} + e_t, e ~ N(0, 1): the mean's standard error is
 * sqrt(var / n (1 + phi) / (1 - phi)), var = 1 / (1 - phi^2). Over 200 series of 2^14 the blocking
 * estimate's average is within 10 % of it (the estimate's own scatter, about 10 % per series at the
 * chosen level, averages to under 1 %; its known downward bias from the finite plateau is a few %),
 * and the true mean 0 lies within 2 estimated errors in 88 % to 99 % of the series (95 % expected;
 * the binomial standard deviation over 200 is 1.5 %). A naive error (no blocking) would be 3 times
 * too small for phi = 0.8 and fail both. */
Test(blocking, ar1_error_and_coverage) {
    const int64_t n = (int64_t)1 << 14;
    const double phi = 0.8, truth = sqrt(1.0 / (1 - phi * phi) / (double)n * (1 + phi) / (1 - phi));
    double *x = malloc((size_t)n * sizeof *x);
    qt_rng rng;
    qt_rng_seed(&rng, 2024);
    double ratio = 0.0;
    int covered = 0;
    const int series = 200;
    for (int s = 0; s < series; ++s) {
        double v = qt_normal(&rng) / sqrt(1 - phi * phi);
        for (int64_t t = 0; t < n; ++t) {
            v = phi * v + qt_normal(&rng);
            x[t] = v;
        }
        double mean, err;
        int level;
        cr_assert_eq(qdml_blocking_error(x, n, &mean, &err, &level), QDML_OK);
        ratio += err / truth;
        covered += fabs(mean) < 2.0 * err;
    }
    ratio /= series;
    cr_log_info("AR(1), phi %.1f: blocking error / true error %.3f on average over %d series; 0 within 2 errors in "
                "%d of them",
                phi, ratio, series, covered);
    cr_expect(ratio > 0.9 && ratio < 1.1, "blocking error / true error = %g on average", ratio);
    cr_expect(covered >= 176 && covered <= 198, "0 within 2 errors in %d of %d series", covered, series);
    /* uncorrelated data: the plain standard error (level 0 chosen, mostly) */
    double naive = 0.0;
    for (int s = 0; s < 50; ++s) {
        for (int64_t t = 0; t < n; ++t)
            x[t] = 3.0 + qt_normal(&rng);
        double mean, err;
        cr_assert_eq(qdml_blocking_error(x, n, &mean, &err, NULL), QDML_OK);
        naive += err * sqrt((double)n);
    }
    cr_log_info("uncorrelated: error sqrt(n) = %.4f on average (1 exactly)", naive / 50);
    cr_expect(fabs(naive / 50 - 1.0) < 0.05, "uncorrelated: error sqrt(n) = %g", naive / 50);
    double m, e;
    cr_expect_eq(qdml_blocking_error(x, 8, &m, &e, NULL), QDML_ERR_INVALID_ARGUMENT);
    free(x);
    double bad[16] = {0};
    bad[3] = NAN;
    cr_expect_eq(qdml_blocking_error(bad, 16, &m, &e, NULL), QDML_ERR_INVALID_ARGUMENT);
}

Test(extrapolation, exact_on_polynomials_and_propagated_errors) {
    const double dt[3] = {0.04, 0.02, 0.01};
    double e[3], err[3] = {0.01, 0.02, 0.03}, e0, s0;
    for (int i = 0; i < 3; ++i)
        e[i] = 3.0 + 2.0 * dt[i] * dt[i];
    cr_assert_eq(qdml_walkers_extrapolate(dt, e, err, 2, 2, &e0, &s0), QDML_OK);
    cr_expect(fabs(e0 - 3.0) < 1e-13, "e0 %g", e0);
    /* two points, E0 = (e2 dt1^2 - e1 dt2^2) / (dt1^2 - dt2^2): its variance */
    const double a = dt[0] * dt[0], b = dt[1] * dt[1];
    const double var = (a * a * err[1] * err[1] + b * b * err[0] * err[0]) / ((a - b) * (a - b));
    cr_expect(fabs(s0 - sqrt(var)) < 1e-12 * sqrt(var), "error %g vs %g", s0, sqrt(var));
    for (int i = 0; i < 3; ++i)
        e[i] = -1.0 + 0.7 * dt[i] - 5.0 * dt[i] * dt[i];
    cr_assert_eq(qdml_walkers_extrapolate(dt, e, err, 3, 1, &e0, &s0), QDML_OK);
    cr_expect(fabs(e0 + 1.0) < 1e-12, "e0 %g", e0);
    cr_expect(s0 > err[2], "three points' error %g: more than the smallest dt's", s0);
    const double same[2] = {0.1, 0.1};
    cr_expect_eq(qdml_walkers_extrapolate(same, e, err, 2, 2, &e0, &s0), QDML_ERR_INVALID_ARGUMENT);
    cr_expect_eq(qdml_walkers_extrapolate(dt, e, err, 2, 3, &e0, &s0), QDML_ERR_INVALID_ARGUMENT);
}
