/* The known global minimisers and minima of the built-in objectives (qdml_objective_minimum,
 * qdml_objective_minimizers): closed forms where there are, else roots found to rounding (bracketed
 * Newton, bisection), and for the kinds with several global minimisers (holder, shubert) every one of
 * them within the usual domain. */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "objectives.h"

/* The leftmost root of y^3 + p y + q = 0 for q > 0 (it lies below -sqrt(-p/3) when p < 0, and is
 * the only real root below 0 in any case). Left of it the cubic is negative, increasing and concave,
 * so Newton's method from a point there climbs monotonically to the root: iterate until a step makes
 * no progress (the root to rounding). */
static double cubic_leftmost_root(double p, double q) {
    double y = -2.0;
    for (int i = 0; i < 2100 && y * y * y + p * y + q >= 0.0; ++i)
        y *= 2.0;
    for (int i = 0; i < 500; ++i) {
        const double h = y * y * y + p * y + q, dh = 3.0 * y * y + p;
        const double next = y - h / dh;
        if (!(next > y)) break;
        y = next;
    }
    return y;
}

/* A root of g in [a, b] where g(a) and g(b) have opposite signs (or one is 0): Newton's method
 * kept inside the shrinking bracket, bisecting when a Newton step would leave it or converge slowly
 * (Numerical Recipes, rtsafe); runs until the bracket or the step reaches rounding. */
typedef void (*fdf_fn)(double t, const void *ctx, double *f, double *df);

static double bracketed_newton(fdf_fn g, const void *ctx, double a, double b) {
    double fa, fb, df;
    g(a, ctx, &fa, &df);
    g(b, ctx, &fb, &df);
    if (fa == 0.0) return a;
    if (fb == 0.0) return b;
    double xl = fa < 0.0 ? a : b, xh = fa < 0.0 ? b : a; /* g(xl) < 0 < g(xh) */
    double x = 0.5 * (a + b), dxold = fabs(b - a), dx = dxold, f;
    g(x, ctx, &f, &df);
    for (int it = 0; it < 400 && f != 0.0; ++it) {
        if (((x - xh) * df - f) * ((x - xl) * df - f) > 0.0 || fabs(2.0 * f) > fabs(dxold * df)) {
            dxold = dx;
            dx = 0.5 * (xh - xl);
            const double prev = x;
            x = xl + dx;
            if (x == prev || x == xl || x == xh) break;
        } else {
            dxold = dx;
            dx = f / df;
            const double prev = x;
            x -= dx;
            if (x == prev) break;
        }
        g(x, ctx, &f, &df);
        if (f < 0.0)
            xl = x;
        else
            xh = x;
    }
    return x;
}

/* Schwefel, one axis: x sin(sqrt(x)) is largest on [0, 500] where sin u + (u/2) cos u = 0, u = sqrt(x);
 * on [20, 21] that function falls from +5 to -4.9, its derivative staying below -7: one root. */
static void schwefel_fdf(double u, const void *ctx, double *f, double *df) {
    (void)ctx;
    *f = sin(u) + 0.5 * u * cos(u);
    *df = 1.5 * cos(u) - 0.5 * u * sin(u);
}

/* Gaussian wells along the segment x(t) = c1 + t (c2 - c1): the derivative of the potential in t,
 * divided by |c2 - c1|^2 > 0, and its derivative. */
typedef struct gw_line {
    double d1, w1, d2, w2, D2; /* D2 = |c2 - c1|^2 */
} gw_line;

static void gw_fdf(double t, const void *ctx, double *f, double *df) {
    const gw_line *l = ctx;
    const double a1 = l->D2 / (l->w1 * l->w1), a2 = l->D2 / (l->w2 * l->w2);
    const double e1 = exp(-0.5 * t * t * a1), e2 = exp(-0.5 * (1.0 - t) * (1.0 - t) * a2);
    *f = l->d1 * t * e1 / (l->w1 * l->w1) - l->d2 * (1.0 - t) * e2 / (l->w2 * l->w2);
    *df = l->d1 * e1 / (l->w1 * l->w1) * (1.0 - t * t * a1) +
          l->d2 * e2 / (l->w2 * l->w2) * (1.0 - (1.0 - t) * (1.0 - t) * a2);
}

/* Gaussian wells: every critical point x solves (x - c1) a + (x - c2) b = 0 with a, b > 0, so it lies
 * on the segment from c1 to c2 and the global minimum is the least of the minima along it. The
 * derivative along the segment is sampled finely enough to separate the wells (50 samples per
 * smaller width), every sign change refined by bracketed Newton; the ends (where the far well's
 * tail has underflowed) are candidates too. */
static void gaussian_wells_minimum(const qdml_objective *o, int dim, double *x) {
    const double *p = o->p;
    double D2 = 0.0;
    for (int d = 0; d < dim; ++d)
        D2 += (p[7 + d] - p[2 + d]) * (p[7 + d] - p[2 + d]);
    double best_t = 0.0, best_f = INFINITY;
    double xt[QDML_MAX_DIM] = {0.0, 0.0, 0.0};
#define GW_TRY(tt)                                                                                                     \
    do {                                                                                                               \
        const double t_ = (tt);                                                                                        \
        for (int d = 0; d < dim; ++d)                                                                                  \
            xt[d] = p[2 + d] + t_ * (p[7 + d] - p[2 + d]);                                                             \
        const double f_ = qdml_objective_value(o, xt, dim);                                                            \
        if (f_ < best_f) best_f = f_, best_t = t_;                                                                     \
    } while (0)
    GW_TRY(0.0);
    if (D2 > 0.0) {
        GW_TRY(1.0);
        const gw_line line = {p[0], p[1], p[5], p[6], D2};
        const double ratio = sqrt(D2) / fmin(p[1], p[6]);
        const double msamples = fmin(100.0 + 50.0 * ratio, 2e6);
        const int64_t M = (int64_t)msamples;
        double tprev = 0.0, fprev, df;
        gw_fdf(0.0, &line, &fprev, &df);
        for (int64_t j = 1; j <= M; ++j) {
            const double t = (double)j / (double)M;
            double f;
            gw_fdf(t, &line, &f, &df);
            if (f == 0.0)
                GW_TRY(t);
            else if ((fprev < 0.0 && f > 0.0) || (fprev > 0.0 && f < 0.0))
                GW_TRY(bracketed_newton(gw_fdf, &line, tprev, t));
            tprev = t;
            fprev = f;
        }
    }
#undef GW_TRY
    for (int d = 0; d < dim; ++d)
        x[d] = p[2 + d] + best_t * (p[7 + d] - p[2 + d]);
}


/* A root of g in [a, b] where g(a) and g(b) have opposite signs: bisection until the bracket cannot
 * shrink (the root to rounding); for functions whose derivative is awkward to write. */
typedef double (*f_fn)(double t, const void *ctx);

static double bisect(f_fn g, const void *ctx, double a, double b) {
    double ga = g(a, ctx);
    for (int it = 0; it < 200; ++it) {
        const double m = 0.5 * (a + b);
        if (m == a || m == b) break;
        const double gm = g(m, ctx);
        if (gm == 0.0) return m;
        if ((gm < 0.0) == (ga < 0.0)) {
            a = m;
            ga = gm;
        } else {
            b = m;
        }
    }
    return 0.5 * (a + b);
}

/* The largest (sign +1) or least (-1) of h on [a, b]: h sampled at n + 1 points, the best sample's
 * neighbourhood refined by bisection on the derivative dh (a sign change within a sample either side,
 * as at a smooth interior extremum; else the sample itself). */
static double extremum(f_fn h, f_fn dh, const void *ctx, double a, double b, int n, double sign) {
    const double step = (b - a) / n;
    int best = 0;
    double hb = sign * h(a, ctx);
    for (int j = 1; j <= n; ++j) {
        const double v = sign * h(a + j * step, ctx);
        if (v > hb) hb = v, best = j;
    }
    const double x = a + best * step;
    if (best == 0 || best == n) return x;
    const double l = x - step, r = x + step, dl = dh(l, ctx), dr = dh(r, ctx);
    if ((dl < 0.0) == (dr < 0.0)) return x;
    return bisect(dh, ctx, l, r);
}

/* Alpine 2, one axis: sqrt(x) sin x is largest on [0, 10] where sin x + 2 x cos x = 0 (tan x = -2x),
 * at 7.917: the bracket [7.5, 8.2] holds that root alone. */
static double alpine2_g(double x, const void *ctx) {
    (void)ctx;
    return sin(x) + 2.0 * x * cos(x);
}

/* Michalewicz, axis d (ctx: {d + 1, m}): h = sin x sin^(2m)((d + 1) x^2 / pi) and its derivative. */
static double michalewicz_h(double x, const void *ctx) {
    const double *c = ctx, s = sin(c[0] * x * x / QDML_OBJ_PI);
    return sin(x) * pow(s * s, c[1]);
}

static double michalewicz_dh(double x, const void *ctx) {
    const double *c = ctx, a = c[0] / QDML_OBJ_PI, m = c[1];
    const double s = sin(a * x * x), co = cos(a * x * x);
    /* d/dx [sin x s^(2m)] = s^(2m - 1) (cos x s + 4 m a x sin x cos(a x^2)) */
    return pow(fabs(s), 2.0 * m - 1.0) * (s < 0 ? -1.0 : 1.0) * (cos(x) * s + 4.0 * m * a * x * sin(x) * co);
}

/* Shubert, one axis: g(x) = sum_{j=1}^5 j cos((j + 1) x + j), 2 pi periodic, and g'. */
static double shubert_g(double x, const void *ctx) {
    (void)ctx;
    double g = 0.0;
    for (int j = 1; j <= 5; ++j)
        g += (double)j * cos((double)(j + 1) * x + (double)j);
    return g;
}

static double shubert_dg(double x, const void *ctx) {
    (void)ctx;
    double g = 0.0;
    for (int j = 1; j <= 5; ++j)
        g -= (double)(j * (j + 1)) * sin((double)(j + 1) * x + (double)j);
    return g;
}

/* The copies x0 + 2 pi k within [-10, 10], ascending, into out (at most 4); their count. */
static int periodic_copies(double x0, double *out) {
    int n = 0;
    for (int k = -2; k <= 2; ++k) {
        const double x = x0 + QDML_OBJ_TWO_PI * k;
        if (x >= -10.0 && x <= 10.0 && n < 4) out[n++] = x;
    }
    return n;
}

/* Hoelder table near (8.055, 9.665), where sin x0 > 0 > cos x1 and |x| / pi > 1: f = -g with
 * ln g = ln sin x0 + ln(-cos x1) + |x| / pi - 1, smooth; Newton on its gradient with the exact Hessian,
 * to rounding. The other three minimisers are its mirror images (f is even in each coordinate). */
static void holder_minimizer(double *x) {
    double a = 8.055, b = 9.665;
    for (int it = 0; it < 50; ++it) {
        const double r = sqrt(a * a + b * b), pr = QDML_OBJ_PI * r, pr3 = pr * r * r;
        const double g0 = cos(a) / sin(a) + a / pr, g1 = -tan(b) + b / pr;
        const double h00 = -1.0 / (sin(a) * sin(a)) + 1.0 / pr - a * a / pr3;
        const double h11 = -1.0 / (cos(b) * cos(b)) + 1.0 / pr - b * b / pr3;
        const double h01 = -a * b / pr3, det = h00 * h11 - h01 * h01;
        const double da = (h11 * g0 - h01 * g1) / det, db = (h00 * g1 - h01 * g0) / det;
        a -= da;
        b -= db;
        if (fabs(da) <= 1e-16 * fabs(a) && fabs(db) <= 1e-16 * fabs(b)) break;
    }
    x[0] = a;
    x[1] = b;
}

/* Most minimisers any kind has: shubert in 3D, 3 axes x 3^3. */
enum { MAX_MINIMIZERS = 81 };

/* Every global minimiser of o (xs: MAX_MINIMIZERS x dim) and their count; *exact_zero where the
 * minimum is 0 exactly (the formula may round to a few ulps off there). */
static qdml_status minimizers(const qdml_objective *o, int dim, double *xs, int64_t *count, int *exact_zero,
                              const char *fn) {
    const double *p = o->p;
    double *x = xs;
    memset(xs, 0, sizeof(double) * MAX_MINIMIZERS * (size_t)dim);
    *count = 1;
    *exact_zero = 0;
    switch (o->kind) {
    case QDML_OBJECTIVE_HARMONIC:
        for (int d = 0; d < dim; ++d)
            x[d] = p[3 + d];
        *exact_zero = 1;
        break;
    case QDML_OBJECTIVE_DOUBLE_WELL: {
        /* In y = x0 / s: y^3 - y + c s / (4 a) = 0; c > 0 puts the global minimum on the left. */
        const double a = p[0], s = p[1], c = p[2];
        if (c == 0.0)
            x[0] = -s;
        else if (c > 0.0)
            x[0] = s * cubic_leftmost_root(-1.0, c * s / (4.0 * a));
        else
            x[0] = -s * cubic_leftmost_root(-1.0, -c * s / (4.0 * a));
        break;
    }
    case QDML_OBJECTIVE_GAUSSIAN_WELLS: gaussian_wells_minimum(o, dim, x); break;
    case QDML_OBJECTIVE_POSCHL_TELLER:
        for (int d = 0; d < dim; ++d)
            x[d] = p[4 + d];
        break;
    case QDML_OBJECTIVE_MORSE:
        for (int d = 0; d < dim; ++d)
            x[d] = p[2 + d];
        *exact_zero = 1;
        break;
    case QDML_OBJECTIVE_RASTRIGIN:
    case QDML_OBJECTIVE_ACKLEY:
    case QDML_OBJECTIVE_GRIEWANK: *exact_zero = 1; break;
    case QDML_OBJECTIVE_ROSENBROCK:
    case QDML_OBJECTIVE_LEVY:
        for (int d = 0; d < dim; ++d)
            x[d] = 1.0;
        *exact_zero = 1;
        break;
    case QDML_OBJECTIVE_STYBLINSKI_TANG: {
        /* d/dx (x^4 - 16 x^2 + 5 x) / 2 = 2 (x^3 - 8 x + 5/4): the left root is the lower minimum. */
        const double r = cubic_leftmost_root(-8.0, 1.25);
        for (int d = 0; d < dim; ++d)
            x[d] = r;
        break;
    }
    case QDML_OBJECTIVE_SCHWEFEL: {
        const double u = bracketed_newton(schwefel_fdf, NULL, 20.0, 21.0);
        for (int d = 0; d < dim; ++d)
            x[d] = u * u;
        break;
    }
    case QDML_OBJECTIVE_ACKLEY2:
    case QDML_OBJECTIVE_DROPWAVE:
    case QDML_OBJECTIVE_XINSHEYANG3: break;
    case QDML_OBJECTIVE_ALPINE1:
    case QDML_OBJECTIVE_BOHACHEVSKY2:
    case QDML_OBJECTIVE_CAMEL3:
    case QDML_OBJECTIVE_CSENDES:
    case QDML_OBJECTIVE_SUMOFSQUARES: *exact_zero = 1; break;
    case QDML_OBJECTIVE_ALPINE2: {
        /* every factor at the largest sqrt(x) sin x (2.808): any choice with factors of both signs, or
         * at the largest negative one (-2.18 at 4.81), gives a smaller product */
        const double u = bisect(alpine2_g, NULL, 7.5, 8.2);
        for (int d = 0; d < dim; ++d) x[d] = u;
        break;
    }
    case QDML_OBJECTIVE_DEFL_CORR_SPRING:
        for (int d = 0; d < dim; ++d) x[d] = p[0];
        break;
    case QDML_OBJECTIVE_EASOM:
        for (int d = 0; d < dim; ++d) x[d] = p[d];
        break;
    case QDML_OBJECTIVE_HOLDER: {
        double m[2];
        holder_minimizer(m);
        for (int k = 0; k < 4; ++k) {
            xs[2 * k] = k & 1 ? -m[0] : m[0];
            xs[2 * k + 1] = k & 2 ? -m[1] : m[1];
        }
        *count = 4;
        break;
    }
    case QDML_OBJECTIVE_HOSAKI: /* the quartic's derivative is (x - 1)(x - 2)(x - 4); x^2 e^-x peaks at 2 */
        x[0] = 4.0;
        x[1] = 2.0;
        break;
    case QDML_OBJECTIVE_LEVY13:
        x[0] = x[1] = 1.0;
        *exact_zero = 1;
        break;
    case QDML_OBJECTIVE_MICHALEWICZ:
        /* each term on its own axis: the largest of sin x sin^(2m)((d + 1) x^2 / pi) on [0, pi], sampled
         * finely enough for the peaks' width (about 1 / (2 sqrt(m) (d + 1)) in x) */
        for (int d = 0; d < dim; ++d) {
            const double c[2] = {(double)(d + 1), p[0]};
            const int n = (int)fmin(2e6, 2e4 * (1.0 + sqrt(p[0])));
            x[d] = extremum(michalewicz_h, michalewicz_dh, c, 0.0, QDML_OBJ_PI, n, 1.0);
        }
        break;
    case QDML_OBJECTIVE_SHUBERT: {
        /* The product is least with one factor at g's least value (-12.87) and the others at its largest
         * (14.51): g_max > |g_min|, so more factors at g_min (an odd number) give less. Each extreme is
         * taken once per period, at 3 points of [-10, 10]: dim 3^dim minimisers. */
        double lo[4], hi[4];
        const int nlo = periodic_copies(extremum(shubert_g, shubert_dg, NULL, -QDML_OBJ_PI, QDML_OBJ_PI, 20000, -1.0), lo);
        const int nhi = periodic_copies(extremum(shubert_g, shubert_dg, NULL, -QDML_OBJ_PI, QDML_OBJ_PI, 20000, 1.0), hi);
        int64_t k = 0;
        for (int at = 0; at < dim; ++at) { /* the axis at g_min */
            int64_t combos = nlo;
            for (int d = 1; d < dim; ++d) combos *= nhi;
            for (int64_t c = 0; c < combos && k < MAX_MINIMIZERS; ++c, ++k) {
                int64_t rest = c / nlo;
                for (int d = 0; d < dim; ++d) {
                    if (d == at) {
                        xs[k * dim + d] = lo[c % nlo];
                    } else {
                        xs[k * dim + d] = hi[rest % nhi];
                        rest /= nhi;
                    }
                }
            }
        }
        *count = k;
        break;
    }
    default: return qdml_fail(NULL, QDML_ERR_INTERNAL, "%s: kind %d has no minimum", fn, (int)o->kind);
    }
    return QDML_OK;
}

/* The minimisers and the minimum (the value at the first), refused where parameters so extreme put
 * them beyond double (double_well with c = 1e308: the value is inf - inf) rather than answered with
 * an infinity or a NaN. */
static qdml_status known_minimum(const qdml_objective *o, int dim, double *xs, int64_t *count, double *f,
                                 const char *fn) {
    qdml_status st = qdml_objective_check(NULL, o, dim, fn);
    if (st != QDML_OK) return st;
    int exact_zero = 0;
    if ((st = minimizers(o, dim, xs, count, &exact_zero, fn)) != QDML_OK) return st;
    const char *name = qdml_objective_name(o->kind);
    for (int64_t k = 0; k < *count; ++k)
        for (int d = 0; d < dim; ++d)
            if (!isfinite(xs[k * dim + d]))
                return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                                 "%s: the minimiser of this %s overflows on axis %d; scale its parameters down", fn,
                                 name, d);
    *f = exact_zero ? 0.0 : qdml_objective_value(o, xs, dim);
    if (!isfinite(*f))
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "%s: the minimum of this %s overflows (the value at its minimiser is %g); scale its "
                         "parameters down",
                         fn, name, *f);
    return QDML_OK;
}

qdml_status qdml_objective_minimum(const qdml_objective *o, int dim, double *xmin, double *fmin) {
    double xs[MAX_MINIMIZERS * QDML_MAX_DIM], f;
    int64_t count;
    const qdml_status st = known_minimum(o, dim, xs, &count, &f, "qdml_objective_minimum");
    if (st != QDML_OK) return st;
    if (xmin) memcpy(xmin, xs, sizeof(double) * (size_t)dim);
    if (fmin) *fmin = f;
    return QDML_OK;
}

qdml_status qdml_objective_minimizers(const qdml_objective *o, int dim, double *xs, int64_t capacity, int64_t *count) {
    static const char fn[] = "qdml_objective_minimizers";
    if (!count) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: count is NULL", fn);
    if (capacity < 0 || (capacity > 0 && !xs))
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: capacity = %lld with xs %s: expected capacity >= 0 and xs "
                         "not NULL when capacity > 0", fn, (long long)capacity, xs ? "given" : "NULL");
    double all[MAX_MINIMIZERS * QDML_MAX_DIM], f;
    int64_t n;
    const qdml_status st = known_minimum(o, dim, all, &n, &f, fn);
    if (st != QDML_OK) return st;
    const int64_t copy = n < capacity ? n : capacity;
    if (copy > 0) memcpy(xs, all, sizeof(double) * (size_t)(copy * dim));
    *count = n;
    return QDML_OK;
}
