/* The built-in objectives (potentials) as per-point formulas shared by every backend.
 *
 * Compiled as C11 by the host compiler (host/objectives.c evaluates them for qdml_objective_eval,
 * the CPU backend fills grids with them) and as CUDA C++ by nvcc (the GPU fills a member's
 * potential where it lives), so each formula exists once. The kinds, the parameter slots, their
 * defaults and the known minima are documented in include/qdml/qdml.h ("Objectives"); the
 * parameters are validated there before any of these functions runs.
 *
 * x holds dim (1..3) coordinates in the order of the grid's axes. Every function is a plain
 * expression of doubles, evaluated in the order written (the library is compiled without
 * floating-point contraction on the host), so the host and the CPU backend get the same bits.
 */
#ifndef QDML_OBJECTIVES_H
#define QDML_OBJECTIVES_H

#include <math.h>

#include <qdml/qdml.h>

#include "pointwise.h"

#define QDML_OBJ_PI 3.14159265358979323846
#define QDML_OBJ_TWO_PI 6.283185307179586476925286766559
#define QDML_OBJ_E 2.718281828459045235360287471352

/* sum_d (k_d / 2) (x_d - c_d)^2; p = k[3], c[3] (k and c: one value per axis, dim each). */
QDML_HD double qdml_obj_harmonic(const double *k, const double *c, const double *x, int dim) {
    double f = 0.0;
    for (int d = 0; d < dim; ++d) {
        const double u = x[d] - c[d];
        f += 0.5 * k[d] * u * u;
    }
    return f;
}

/* a ((x0^2 - s^2) / s^2)^2 + c x0 + sum_{d >= 1} (k / 2) x_d^2; p = a, s, c, k. */
QDML_HD double qdml_obj_double_well(const double *p, const double *x, int dim) {
    const double a = p[0], s2 = p[1] * p[1], c = p[2], k = p[3];
    const double u = (x[0] * x[0] - s2) / s2;
    double f = a * u * u + c * x[0];
    for (int d = 1; d < dim; ++d)
        f += 0.5 * k * x[d] * x[d];
    return f;
}

/* -d1 exp(-|x - c1|^2 / (2 w1^2)) - d2 exp(-|x - c2|^2 / (2 w2^2)); p = d1, w1, c1[3], d2, w2, c2[3]
 * (c1 and c2: dim values each). */
QDML_HD double qdml_obj_gaussian_wells(const double *p, const double *c1, const double *c2, const double *x,
                                       int dim) {
    double r1 = 0.0, r2 = 0.0;
    for (int d = 0; d < dim; ++d) {
        const double u1 = x[d] - c1[d], u2 = x[d] - c2[d];
        r1 += u1 * u1;
        r2 += u2 * u2;
    }
    return -p[0] * exp(-r1 / (2.0 * p[1] * p[1])) - p[5] * exp(-r2 / (2.0 * p[6] * p[6]));
}

/* Depth (hbar^2 alpha^2 / 2m) lambda (lambda - 1) of the Poschl-Teller well; p = lambda, alpha, hbar, mass. */
QDML_HD double qdml_obj_poschl_teller_depth(const double *p) {
    return p[2] * p[2] * p[1] * p[1] / (2.0 * p[3]) * p[0] * (p[0] - 1.0);
}

/* -depth sum_d sech^2(alpha (x_d - c_d)); p = lambda, alpha, hbar, mass, c[3] (c: dim values). */
QDML_HD double qdml_obj_poschl_teller(const double *p, const double *c, const double *x, int dim) {
    const double depth = qdml_obj_poschl_teller_depth(p);
    double f = 0.0;
    for (int d = 0; d < dim; ++d) {
        const double sech = 1.0 / cosh(p[1] * (x[d] - c[d]));
        f -= depth * sech * sech;
    }
    return f;
}

/* sum_d D (1 - exp(-a (x_d - re_d)))^2; p = D, a, re[3] (re: dim values). */
QDML_HD double qdml_obj_morse(const double *p, const double *re, const double *x, int dim) {
    double f = 0.0;
    for (int d = 0; d < dim; ++d) {
        const double u = 1.0 - exp(-p[1] * (x[d] - re[d]));
        f += p[0] * u * u;
    }
    return f;
}

/* A dim + sum_d (x_d^2 - A cos(2 pi x_d)); p = A. */
QDML_HD double qdml_obj_rastrigin(const double *p, const double *x, int dim) {
    const double A = p[0];
    double f = A * (double)dim;
    for (int d = 0; d < dim; ++d)
        f += x[d] * x[d] - A * cos(QDML_OBJ_TWO_PI * x[d]);
    return f;
}

/* -a exp(-b sqrt(|x|^2 / dim)) - exp(sum_d cos(c x_d) / dim) + a + e; p = a, b, c. */
QDML_HD double qdml_obj_ackley(const double *p, const double *x, int dim) {
    double r2 = 0.0, sc = 0.0;
    for (int d = 0; d < dim; ++d) {
        r2 += x[d] * x[d];
        sc += cos(p[2] * x[d]);
    }
    return -p[0] * exp(-p[1] * sqrt(r2 / (double)dim)) - exp(sc / (double)dim) + p[0] + QDML_OBJ_E;
}

/* 1 + sum_d x_d^2 / s - prod_d cos(x_d / sqrt(d + 1)); p = s (4000). */
QDML_HD double qdml_obj_griewank(const double *p, const double *x, int dim) {
    double sum = 0.0, prod = 1.0;
    for (int d = 0; d < dim; ++d) {
        sum += x[d] * x[d] / p[0];
        prod *= cos(x[d] / sqrt((double)(d + 1)));
    }
    return 1.0 + sum - prod;
}

/* sum_{d < dim - 1} b (x_{d+1} - x_d^2)^2 + (1 - x_d)^2 (dim >= 2); p = b. */
QDML_HD double qdml_obj_rosenbrock(const double *p, const double *x, int dim) {
    double f = 0.0;
    for (int d = 0; d + 1 < dim; ++d) {
        const double u = x[d + 1] - x[d] * x[d], v = 1.0 - x[d];
        f += p[0] * u * u + v * v;
    }
    return f;
}

/* (1/2) sum_d (x_d^4 - 16 x_d^2 + 5 x_d); no parameters. */
QDML_HD double qdml_obj_styblinski_tang(const double *p, const double *x, int dim) {
    (void)p;
    double f = 0.0;
    for (int d = 0; d < dim; ++d) {
        const double x2 = x[d] * x[d];
        f += x2 * x2 - 16.0 * x2 + 5.0 * x[d];
    }
    return 0.5 * f;
}

/* With w_d = 1 + (x_d - 1) / 4:
 *   sin^2(pi w_0) + sum_{d < dim - 1} (w_d - 1)^2 (1 + 10 sin^2(pi w_d + 1))
 *                 + (w_{dim-1} - 1)^2 (1 + sin^2(2 pi w_{dim-1})); no parameters. */
QDML_HD double qdml_obj_levy(const double *p, const double *x, int dim) {
    (void)p;
    const double w0 = 1.0 + (x[0] - 1.0) / 4.0;
    const double s0 = sin(QDML_OBJ_PI * w0);
    double f = s0 * s0;
    for (int d = 0; d + 1 < dim; ++d) {
        const double w = 1.0 + (x[d] - 1.0) / 4.0;
        const double s = sin(QDML_OBJ_PI * w + 1.0);
        f += (w - 1.0) * (w - 1.0) * (1.0 + 10.0 * s * s);
    }
    const double wl = 1.0 + (x[dim - 1] - 1.0) / 4.0;
    const double sl = sin(QDML_OBJ_TWO_PI * wl);
    return f + (wl - 1.0) * (wl - 1.0) * (1.0 + sl * sl);
}

/* c dim - sum_d x_d sin(sqrt(|x_d|)); p = c (418.9829). */
QDML_HD double qdml_obj_schwefel(const double *p, const double *x, int dim) {
    double f = p[0] * (double)dim;
    for (int d = 0; d < dim; ++d)
        f -= x[d] * sin(sqrt(fabs(x[d])));
    return f;
}

/* ---- the functions of QHD's benchmark (Leng et al. 2023) that the ones above do not cover; formulas
 * as in Jamil & Yang, "A literature survey of benchmark functions for global optimization problems",
 * Int. J. Math. Model. Numer. Optim. 4, 150 (2013), and the Virtual Library of Simulation Experiments
 * (Surjanovic & Bingham), with the parameters QHD varies (docs/objectives.md) ---- */

/* -a exp(-b |x|); p = a (200), b (0.02). */
QDML_HD double qdml_obj_ackley2(const double *p, const double *x, int dim) {
    double r2 = 0.0;
    for (int d = 0; d < dim; ++d)
        r2 += x[d] * x[d];
    return -p[0] * exp(-p[1] * sqrt(r2));
}

/* sum_d |x_d sin x_d + 0.1 x_d|. */
QDML_HD double qdml_obj_alpine1(const double *p, const double *x, int dim) {
    (void)p;
    double f = 0.0;
    for (int d = 0; d < dim; ++d)
        f += fabs(x[d] * sin(x[d]) + 0.1 * x[d]);
    return f;
}

/* -prod_d sqrt(|x_d|) sin x_d (Alpine 2 made a minimisation; |x| under the root keeps it defined off
 * its domain [0, 10]). */
QDML_HD double qdml_obj_alpine2(const double *p, const double *x, int dim) {
    (void)p;
    double f = -1.0;
    for (int d = 0; d < dim; ++d)
        f *= sqrt(fabs(x[d])) * sin(x[d]);
    return f;
}

/* x0^2 + 2 x1^2 - 0.3 cos(3 pi x0) cos(4 pi x1) + 0.3 (2D). */
QDML_HD double qdml_obj_bohachevsky2(const double *p, const double *x, int dim) {
    (void)p, (void)dim;
    return x[0] * x[0] + 2.0 * x[1] * x[1] - 0.3 * cos(3.0 * QDML_OBJ_PI * x[0]) * cos(4.0 * QDML_OBJ_PI * x[1]) +
           0.3;
}

/* Three-hump camel: 2 x0^2 - 1.05 x0^4 + x0^6 / 6 + x0 x1 + x1^2 (2D). */
QDML_HD double qdml_obj_camel3(const double *p, const double *x, int dim) {
    (void)p, (void)dim;
    const double a = x[0] * x[0];
    return 2.0 * a - 1.05 * a * a + a * a * a / 6.0 + x[0] * x[1] + x[1] * x[1];
}

/* sum_d x_d^6 (2 + sin(1 / x_d)), each term 0 at x_d = 0 (its limit). */
QDML_HD double qdml_obj_csendes(const double *p, const double *x, int dim) {
    (void)p;
    double f = 0.0;
    for (int d = 0; d < dim; ++d) {
        if (x[d] == 0.0) continue;
        const double a = x[d] * x[d];
        f += a * a * a * (2.0 + sin(1.0 / x[d]));
    }
    return f;
}

/* Deflected corrugated spring: 0.1 r^2 - cos(K r), r = |x - alpha|; p = alpha (5), K (5). */
QDML_HD double qdml_obj_defl_corr_spring(const double *p, const double *x, int dim) {
    double r2 = 0.0;
    for (int d = 0; d < dim; ++d)
        r2 += (x[d] - p[0]) * (x[d] - p[0]);
    return 0.1 * r2 - cos(p[1] * sqrt(r2));
}

/* Drop-wave: -(1 + cos(12 |x|)) / (|x|^2 / 2 + 2). */
QDML_HD double qdml_obj_dropwave(const double *p, const double *x, int dim) {
    (void)p;
    double r2 = 0.0;
    for (int d = 0; d < dim; ++d)
        r2 += x[d] * x[d];
    return -(1.0 + cos(12.0 * sqrt(r2))) / (0.5 * r2 + 2.0);
}

/* Easom: -prod_d cos(x_d - c_d) exp(-|x - c|^2); p = c[3] (pi: in 2D the literature's
 * -cos x0 cos x1 exp(-(x0 - pi)^2 - (x1 - pi)^2)). */
QDML_HD double qdml_obj_easom(const double *c, const double *x, int dim) {
    double prod = -1.0, r2 = 0.0;
    for (int d = 0; d < dim; ++d) {
        const double u = x[d] - c[d];
        prod *= cos(u);
        r2 += u * u;
    }
    return prod * exp(-r2);
}

/* Hoelder table: -|sin x0 cos x1 exp(|1 - |x| / pi|)| (2D). */
QDML_HD double qdml_obj_holder(const double *p, const double *x, int dim) {
    (void)p, (void)dim;
    const double r = sqrt(x[0] * x[0] + x[1] * x[1]);
    return -fabs(sin(x[0]) * cos(x[1]) * exp(fabs(1.0 - r / QDML_OBJ_PI)));
}

/* Hosaki: (1 - 8 x0 + 7 x0^2 - 7 x0^3 / 3 + x0^4 / 4) x1^2 exp(-x1) (2D). */
QDML_HD double qdml_obj_hosaki(const double *p, const double *x, int dim) {
    (void)p, (void)dim;
    const double a = x[0];
    const double poly = 1.0 - 8.0 * a + 7.0 * a * a - 7.0 / 3.0 * a * a * a + 0.25 * a * a * a * a;
    return poly * x[1] * x[1] * exp(-x[1]);
}

/* Levy N. 13: sin^2(3 pi x0) + (x0 - 1)^2 (1 + sin^2(3 pi x1)) + (x1 - 1)^2 (1 + sin^2(2 pi x1)) (2D). */
QDML_HD double qdml_obj_levy13(const double *p, const double *x, int dim) {
    (void)p, (void)dim;
    const double s0 = sin(3.0 * QDML_OBJ_PI * x[0]), s1 = sin(3.0 * QDML_OBJ_PI * x[1]);
    const double s2 = sin(QDML_OBJ_TWO_PI * x[1]);
    return s0 * s0 + (x[0] - 1.0) * (x[0] - 1.0) * (1.0 + s1 * s1) + (x[1] - 1.0) * (x[1] - 1.0) * (1.0 + s2 * s2);
}

/* Michalewicz: -sum_d sin x_d sin^(2m)((d + 1) x_d^2 / pi); p = m (10). */
QDML_HD double qdml_obj_michalewicz(const double *p, const double *x, int dim) {
    double f = 0.0;
    for (int d = 0; d < dim; ++d) {
        const double s = sin((double)(d + 1) * x[d] * x[d] / QDML_OBJ_PI);
        f -= sin(x[d]) * pow(s * s, p[0]);
    }
    return f;
}

/* Shubert: prod_d sum_{j=1}^{5} j cos((j + 1) x_d + j). */
QDML_HD double qdml_obj_shubert(const double *p, const double *x, int dim) {
    (void)p;
    double f = 1.0;
    for (int d = 0; d < dim; ++d) {
        double g = 0.0;
        for (int j = 1; j <= 5; ++j)
            g += (double)j * cos((double)(j + 1) * x[d] + (double)j);
        f *= g;
    }
    return f;
}

/* Sum of squares: sum_d (d + 1) x_d^2. */
QDML_HD double qdml_obj_sumofsquares(const double *p, const double *x, int dim) {
    (void)p;
    double f = 0.0;
    for (int d = 0; d < dim; ++d)
        f += (double)(d + 1) * x[d] * x[d];
    return f;
}

/* Xin-She Yang N. 3: exp(-sum_d (x_d / beta)^(2m)) - 2 exp(-|x|^2) prod_d cos^2 x_d; p = beta (15), m (5). */
QDML_HD double qdml_obj_xinsheyang3(const double *p, const double *x, int dim) {
    double s = 0.0, r2 = 0.0, prod = 2.0;
    for (int d = 0; d < dim; ++d) {
        const double u = x[d] / p[0], c = cos(x[d]);
        s += pow(u * u, p[1]);
        r2 += x[d] * x[d];
        prod *= c * c;
    }
    return exp(-s) - prod * exp(-r2);
}

/* The objective at x. `o` must have passed qdml_objective_validate for this dim; an unknown kind
 * gives NaN (which the fills report as a non-finite value). */
QDML_HD double qdml_objective_value(const qdml_objective *o, const double *x, int dim) {
    const double *p = o->p;
    switch (o->kind) {
    case QDML_OBJECTIVE_HARMONIC: return qdml_obj_harmonic(p, p + 3, x, dim);
    case QDML_OBJECTIVE_DOUBLE_WELL: return qdml_obj_double_well(p, x, dim);
    case QDML_OBJECTIVE_GAUSSIAN_WELLS: return qdml_obj_gaussian_wells(p, p + 2, p + 7, x, dim);
    case QDML_OBJECTIVE_POSCHL_TELLER: return qdml_obj_poschl_teller(p, p + 4, x, dim);
    case QDML_OBJECTIVE_MORSE: return qdml_obj_morse(p, p + 2, x, dim);
    case QDML_OBJECTIVE_RASTRIGIN: return qdml_obj_rastrigin(p, x, dim);
    case QDML_OBJECTIVE_ACKLEY: return qdml_obj_ackley(p, x, dim);
    case QDML_OBJECTIVE_GRIEWANK: return qdml_obj_griewank(p, x, dim);
    case QDML_OBJECTIVE_ROSENBROCK: return qdml_obj_rosenbrock(p, x, dim);
    case QDML_OBJECTIVE_STYBLINSKI_TANG: return qdml_obj_styblinski_tang(p, x, dim);
    case QDML_OBJECTIVE_LEVY: return qdml_obj_levy(p, x, dim);
    case QDML_OBJECTIVE_SCHWEFEL: return qdml_obj_schwefel(p, x, dim);
    case QDML_OBJECTIVE_ACKLEY2: return qdml_obj_ackley2(p, x, dim);
    case QDML_OBJECTIVE_ALPINE1: return qdml_obj_alpine1(p, x, dim);
    case QDML_OBJECTIVE_ALPINE2: return qdml_obj_alpine2(p, x, dim);
    case QDML_OBJECTIVE_BOHACHEVSKY2: return qdml_obj_bohachevsky2(p, x, dim);
    case QDML_OBJECTIVE_CAMEL3: return qdml_obj_camel3(p, x, dim);
    case QDML_OBJECTIVE_CSENDES: return qdml_obj_csendes(p, x, dim);
    case QDML_OBJECTIVE_DEFL_CORR_SPRING: return qdml_obj_defl_corr_spring(p, x, dim);
    case QDML_OBJECTIVE_DROPWAVE: return qdml_obj_dropwave(p, x, dim);
    case QDML_OBJECTIVE_EASOM: return qdml_obj_easom(p, x, dim);
    case QDML_OBJECTIVE_HOLDER: return qdml_obj_holder(p, x, dim);
    case QDML_OBJECTIVE_HOSAKI: return qdml_obj_hosaki(p, x, dim);
    case QDML_OBJECTIVE_LEVY13: return qdml_obj_levy13(p, x, dim);
    case QDML_OBJECTIVE_MICHALEWICZ: return qdml_obj_michalewicz(p, x, dim);
    case QDML_OBJECTIVE_SHUBERT: return qdml_obj_shubert(p, x, dim);
    case QDML_OBJECTIVE_SUMOFSQUARES: return qdml_obj_sumofsquares(p, x, dim);
    case QDML_OBJECTIVE_XINSHEYANG3: return qdml_obj_xinsheyang3(p, x, dim);
    default: return nan("");
    }
}

/* The objective at x in any dimension, for the walkers: the per-axis parameters come from `ax`
 * (param j's dim values at ax + j dim, in the order of the kind's per-axis parameters: harmonic k, c;
 * gaussian_wells c1, c2; poschl_teller c; morse re; easom c), the rest from o->p. */
QDML_HD double qdml_objective_value_axes(const qdml_objective *o, const double *ax, const double *x, int dim) {
    const double *p = o->p;
    switch (o->kind) {
    case QDML_OBJECTIVE_HARMONIC: return qdml_obj_harmonic(ax, ax + dim, x, dim);
    case QDML_OBJECTIVE_GAUSSIAN_WELLS: return qdml_obj_gaussian_wells(p, ax, ax + dim, x, dim);
    case QDML_OBJECTIVE_POSCHL_TELLER: return qdml_obj_poschl_teller(p, ax, x, dim);
    case QDML_OBJECTIVE_MORSE: return qdml_obj_morse(p, ax, x, dim);
    case QDML_OBJECTIVE_EASOM: return qdml_obj_easom(ax, x, dim);
    default: return qdml_objective_value(o, x, dim);
    }
}

#endif
