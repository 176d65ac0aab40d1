/* Gradients and Laplacians of the built-in objectives whose derivatives have a closed form, for the
 * walkers' importance sampling (drift -alpha grad f, local energy with lap f). Compiled as C11 and
 * as CUDA C++, like core/objectives.h, whose parameter layout (o->p and the per-axis array `ax` of
 * qdml_objective_value_axes) it shares. tests/test_walkers_stats.c checks every kind against
 * central differences at random points.
 */
#ifndef QDML_OBJECTIVE_GRAD_H
#define QDML_OBJECTIVE_GRAD_H

#include "objectives.h"

/* 1 where qdml_objective_grad knows the kind's derivatives. */
QDML_HD int qdml_objective_has_grad(qdml_objective_kind kind) {
    switch (kind) {
    case QDML_OBJECTIVE_HARMONIC:
    case QDML_OBJECTIVE_DOUBLE_WELL:
    case QDML_OBJECTIVE_POSCHL_TELLER:
    case QDML_OBJECTIVE_MORSE:
    case QDML_OBJECTIVE_RASTRIGIN:
    case QDML_OBJECTIVE_STYBLINSKI_TANG:
    case QDML_OBJECTIVE_SUMOFSQUARES: return 1;
    default: return 0;
    }
}

/* f(x), with grad f into g (dim values) and the Laplacian into *lap; NaN for a kind without
 * derivatives here (qdml_objective_has_grad). */
QDML_HD double qdml_objective_grad(const qdml_objective *o, const double *ax, const double *x, int dim, double *g,
                                   double *lap) {
    const double *p = o->p;
    double f = 0.0, l = 0.0;
    switch (o->kind) {
    case QDML_OBJECTIVE_HARMONIC:
        for (int d = 0; d < dim; ++d) {
            const double k = ax[d], u = x[d] - ax[dim + d];
            f += 0.5 * k * u * u;
            g[d] = k * u;
            l += k;
        }
        break;
    case QDML_OBJECTIVE_DOUBLE_WELL: {
        const double a = p[0], s2 = p[1] * p[1], c = p[2], k = p[3];
        const double u = (x[0] * x[0] - s2) / s2;
        f = a * u * u + c * x[0];
        g[0] = 4.0 * a * u * x[0] / s2 + c;
        l = 4.0 * a / s2 * (u + 2.0 * x[0] * x[0] / s2);
        for (int d = 1; d < dim; ++d) {
            f += 0.5 * k * x[d] * x[d];
            g[d] = k * x[d];
            l += k;
        }
        break;
    }
    case QDML_OBJECTIVE_POSCHL_TELLER: {
        const double depth = qdml_obj_poschl_teller_depth(p), al = p[1];
        for (int d = 0; d < dim; ++d) {
            const double t = al * (x[d] - ax[d]);
            const double sech = 1.0 / cosh(t), th = tanh(t), s2 = sech * sech;
            f -= depth * s2;
            g[d] = 2.0 * depth * al * s2 * th;
            l += 2.0 * depth * al * al * s2 * (s2 - 2.0 * th * th);
        }
        break;
    }
    case QDML_OBJECTIVE_MORSE: {
        const double D = p[0], a = p[1];
        for (int d = 0; d < dim; ++d) {
            const double e = exp(-a * (x[d] - ax[d])), u = 1.0 - e;
            f += D * u * u;
            g[d] = 2.0 * D * a * u * e;
            l += 2.0 * D * a * a * e * (2.0 * e - 1.0);
        }
        break;
    }
    case QDML_OBJECTIVE_RASTRIGIN: {
        const double A = p[0], w = QDML_OBJ_TWO_PI;
        f = A * (double)dim;
        for (int d = 0; d < dim; ++d) {
            f += x[d] * x[d] - A * cos(w * x[d]);
            g[d] = 2.0 * x[d] + A * w * sin(w * x[d]);
            l += 2.0 + A * w * w * cos(w * x[d]);
        }
        break;
    }
    case QDML_OBJECTIVE_STYBLINSKI_TANG:
        for (int d = 0; d < dim; ++d) {
            const double x2 = x[d] * x[d];
            f += x2 * x2 - 16.0 * x2 + 5.0 * x[d];
            g[d] = 2.0 * x2 * x[d] - 16.0 * x[d] + 2.5;
            l += 6.0 * x2 - 16.0;
        }
        f *= 0.5;
        break;
    case QDML_OBJECTIVE_SUMOFSQUARES:
        for (int d = 0; d < dim; ++d) {
            const double c = (double)(d + 1);
            f += c * x[d] * x[d];
            g[d] = 2.0 * c * x[d];
            l += 2.0 * c;
        }
        break;
    default: f = nan(""); l = nan("");
    }
    *lap = l;
    return f;
}

#endif
