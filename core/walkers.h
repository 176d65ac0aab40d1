/* One walker's imaginary-time step (diffusion Monte Carlo), shared by the CPU backend
 * (host/walkers_cpu.c) and the CUDA kernels (kernels/walkers_cuda.cu), so that the formulas exist
 * once and the two backends draw the same random numbers for the same walker.
 *
 * The equation, with s^2 = hbar dt / m and psi_T = exp(-alpha f) (alpha = 0: no trial function):
 *   propose   x' = x - s^2 alpha grad f(x) + s z,   z ~ N(0, 1) per coordinate
 *   accept    (alpha > 0 only) with probability min(1, psi_T(x')^2 G(x <- x') / (psi_T(x)^2 G(x' <- x)))
 *   weight    w = exp(-((E_L(x) + E_L(x')) / 2 - E_ref) dt / hbar),
 *             E_L = f - (hbar^2 / 2m)(grad^2 psi_T / psi_T) = f + k alpha lap f - k alpha^2 |grad f|^2
 *   branch    floor(w + u) copies, u ~ U(0, 1)
 * docs/walkers.md derives it and lists the estimators built from the weights.
 *
 * Random numbers: Philox4x32-10 keyed by the seed, counter (block, walker, step, member): block b < 2^32
 * - 1 gives the normals of coordinates 4b .. 4b + 3, block 2^32 - 1 the two uniforms (acceptance,
 * branching). A walker's index is its place in the member's population after the last branching,
 * which both backends fix the same way (by a prefix sum over the parents in order).
 */
#ifndef QDML_WALKERS_H
#define QDML_WALKERS_H

#include <stdint.h>

#include <qdml/qdml_walkers.h>

#include "philox.h"

/* What one step of one member needs, the same for all its walkers. */
typedef struct qdml_walk_step {
    double s, s2;       /* sqrt(hbar dt / m) and its square */
    double tau;         /* dt / hbar: the weight's exponent per unit of energy */
    double eref;        /* E_ref */
    double alpha;       /* trial function exp(-alpha f); 0: none */
    double kin;         /* hbar^2 / 2m */
    uint32_t key0, key1; /* the seed */
    uint32_t step, member;
} qdml_walk_step;

#define QDML_WALK_UNIFORM_BLOCK 0xFFFFFFFFu

QDML_HD qdml_u32x4 qdml_walk_draw(const qdml_walk_step *c, uint32_t block, uint32_t walker) {
    qdml_u32x4 k;
    k.v[0] = block;
    k.v[1] = walker;
    k.v[2] = c->step;
    k.v[3] = c->member;
    return qdml_philox4x32_10(k, c->key0, c->key1);
}

/* xn = x + drift + s z. g: grad f at x (alpha > 0), else unused. */
QDML_HD void qdml_walk_propose(const qdml_walk_step *c, uint32_t walker, int dim, const double *x, const double *g,
                               double *xn) {
    const double drift = c->s2 * c->alpha;
    for (int b = 0; 4 * b < dim; ++b) {
        double z[4];
        qdml_normal4(qdml_walk_draw(c, (uint32_t)b, walker), z);
        const int n = dim - 4 * b < 4 ? dim - 4 * b : 4;
        for (int j = 0; j < n; ++j) {
            const int i = 4 * b + j;
            xn[i] = c->alpha > 0.0 ? x[i] - drift * g[i] + c->s * z[j] : x[i] + c->s * z[j];
        }
    }
}

/* The walker's two uniforms of this step: u[0] for acceptance, u[1] for branching. */
QDML_HD void qdml_walk_uniforms(const qdml_walk_step *c, uint32_t walker, double *u) {
    const qdml_u32x4 r = qdml_walk_draw(c, QDML_WALK_UNIFORM_BLOCK, walker);
    u[0] = qdml_uniform_open(r.v[0]);
    u[1] = qdml_uniform_open(r.v[1]);
}

/* E_L at a point with value f, |grad f|^2 = gg and Laplacian lap (alpha = 0: f). */
QDML_HD double qdml_walk_local_energy(const qdml_walk_step *c, double f, double gg, double lap) {
    if (c->alpha == 0.0) return f;
    return f + c->kin * c->alpha * lap - c->kin * c->alpha * c->alpha * gg;
}

/* log of the Metropolis ratio psi_T(xn)^2 G(x <- xn) / (psi_T(x)^2 G(xn <- x)). */
QDML_HD double qdml_walk_log_accept(const qdml_walk_step *c, int dim, const double *x, const double *xn,
                                    const double *g, const double *gn, double f, double fn) {
    const double drift = c->s2 * c->alpha;
    double fwd = 0.0, rev = 0.0;
    for (int i = 0; i < dim; ++i) {
        const double a = xn[i] - x[i] + drift * g[i], b = x[i] - xn[i] + drift * gn[i];
        fwd += a * a;
        rev += b * b;
    }
    return -2.0 * c->alpha * (fn - f) + (fwd - rev) / (2.0 * c->s2);
}

/* The branching weight of a move from local energy el to eln. */
QDML_HD double qdml_walk_weight(const qdml_walk_step *c, double el, double eln) {
    return exp(-(0.5 * (el + eln) - c->eref) * c->tau);
}

/* floor(w + u) copies, at most `cap` (a larger number means the population has run away; the caller
 * reports it), 0 for a weight that is not a number. */
QDML_HD int64_t qdml_walk_copies(double w, double u, int64_t cap) {
    const double n = floor(w + u);
    if (!(n >= 0.0)) return 0;
    return n > (double)cap ? cap : (int64_t)n;
}

/* The factor of every weight in the copies: 1, unless the expected new population sum_w leaves
 * [target / 2, min(2 target, 0.8 capacity)], then target / sum_w (as if E_ref had been moved for this
 * step by (hbar / dt) ln lambda: a start far from equilibrium cannot overflow or empty the population;
 * the estimators use the weights themselves). */
QDML_HD double qdml_walk_lambda(double sum_w, int64_t target, int64_t capacity) {
    const double t = (double)target, hi = 2.0 * t < 0.8 * (double)capacity ? 2.0 * t : 0.8 * (double)capacity;
    if (sum_w > hi || sum_w < 0.5 * t) return sum_w > 0.0 ? t / sum_w : 1.0;
    return 1.0;
}

/* A step's record from its sums: weights sw (of n walkers before), weighted E_L swel and f swf,
 * acceptances acc; total walkers after. */
QDML_HD void qdml_walk_record(qdml_walkers_step *rec, double eref, double hbar, double dt, double sw, double swel,
                              double swf, double acc, int64_t n, int64_t total) {
    rec->eref = eref;
    rec->growth = eref - (hbar / dt) * log(sw / (double)n);
    rec->mixed = swel / sw;
    rec->mean_f = swf / sw;
    rec->acceptance = acc / (double)n;
    rec->population = total;
}

/* Population control after a step: the energy estimate follows the mixed energy over `feedback` steps,
 * and E_ref = estimate - (hbar / (feedback dt)) ln(population / target). Where the step's copies needed
 * a factor lambda != 1 (the population was running away, as after a start or a change of hbar), the
 * estimate jumps to the step's growth energy, the E_ref that would have kept the population: the next
 * steps then start near balance instead of swinging between W and 2W while the average catches up. */
QDML_HD void qdml_walk_feedback(double *est, double *eref, const qdml_walkers_step *rec, int rescaled, double hbar,
                                double dt, double feedback, int64_t target) {
    if (rescaled && rec->growth == rec->growth)
        *est = rec->growth;
    else
        *est += (rec->mixed - *est) / feedback;
    *eref = *est - hbar / (feedback * dt) * log((double)rec->population / (double)target);
}

#endif
