/* The objectives of QHD's benchmark that qdml added (ackley2 .. xinsheyang3): their minima and every
 * global minimiser against values computed independently with 40-digit arithmetic (mpmath: findroot
 * on the derivatives; the 2D Hoelder table on its gradient), values at points computed by hand, and
 * the names as the program takes them. The minimisers' stationarity and that no random point of the
 * domain lies below them is test_objectives.c's (every kind).
 *
 * Tolerances: minimisers 1e-12 (1 + |x|) and minima 1e-12 (1 + |f|) (roots to rounding, a few
 * roundings in the formula); hand values 1e-13 relative.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "support.h"

static qdml_objective parse(const char *spec, int dim) {
    qdml_objective o;
    cr_assert_eq(qdml_objective_parse(spec, dim, &o), QDML_OK, "parse '%s' (dim %d): %s", spec, dim,
                 qdml_last_error_message());
    return o;
}

static void near(double got, double want, double tol, const char *what) {
    cr_assert(fabs(got - want) <= tol * (1.0 + fabs(want)), "%s: %.17g, expected %.17g", what, got, want);
}

typedef struct {
    const char *spec;
    int dim;
    double x[3]; /* the first minimiser */
    double f;
    int64_t count; /* global minimisers in the usual domain */
} known;

/* mpmath, 40 digits (test header). */
static const known minima[] = {
    {"ackley2", 2, {0, 0}, -200.0, 1},
    {"ackley2:a=100,b=0.2", 3, {0, 0, 0}, -100.0, 1},
    {"alpine1", 3, {0, 0, 0}, 0.0, 1},
    {"alpine2", 1, {7.917052684666207077}, -2.808131180007004899, 1},
    {"alpine2", 2, {7.917052684666207077, 7.917052684666207077}, -7.885600724127533753, 1},
    {"alpine2", 3, {7.917052684666207077, 7.917052684666207077, 7.917052684666207077}, -22.14380126650834367, 1},
    {"bohachevsky2", 2, {0, 0}, 0.0, 1},
    {"camel3", 2, {0, 0}, 0.0, 1},
    {"csendes", 2, {0, 0}, 0.0, 1},
    {"defl_corr_spring", 2, {5, 5}, -1.0, 1},
    {"defl_corr_spring:alpha=-1,K=2", 3, {-1, -1, -1}, -1.0, 1},
    {"dropwave", 2, {0, 0}, -1.0, 1},
    {"easom", 2, {3.14159265358979324, 3.14159265358979324}, -1.0, 1},
    {"easom:c=0", 2, {0, 0}, -1.0, 1},
    {"holder", 2, {8.055023475736563420, 9.664590019241272890}, -19.20850256788673183, 4},
    {"hosaki", 2, {4, 2}, -2.345811576101286659, 1}, /* -(52/3) e^-2 */
    {"levy13", 2, {1, 1}, 0.0, 1},
    {"michalewicz", 1, {2.202905520172609346}, -0.8013034100985525327, 1},
    {"michalewicz", 2, {2.202905520172609346, 1.570796326794896619}, -1.801303410098552533, 1},
    {"michalewicz", 3, {2.202905520172609346, 1.570796326794896619, 1.284991570552924360}, -2.760394679994558481, 1},
    {"shubert", 1, {-7.708313735499347448}, -12.87088549772568490, 3},
    {"shubert", 2, {-7.708313735499347448, -7.083506407651559602}, -186.7309088310238259, 18},
    {"shubert", 3, {-7.708313735499347448, -7.083506407651559602, -7.083506407651559602}, -2709.093505572826680, 81},
    {"sumofsquares", 3, {0, 0, 0}, 0.0, 1},
    {"xinsheyang3", 2, {0, 0}, -1.0, 1},
    {"xinsheyang3:beta=15,m=3", 3, {0, 0, 0}, -1.0, 1},
};

Test(objectives_qhd, minima_and_every_minimiser) {
    for (size_t i = 0; i < sizeof minima / sizeof minima[0]; ++i) {
        const known *k = &minima[i];
        const qdml_objective o = parse(k->spec, k->dim);
        double x[3], f, xs[81 * 3], lo[3], hi[3];
        char what[160];
        cr_assert_eq(qdml_objective_minimum(&o, k->dim, x, &f), QDML_OK, "%s: %s", k->spec, qdml_last_error_message());
        snprintf(what, sizeof what, "%s %dD minimum", k->spec, k->dim);
        near(f, k->f, 1e-12, what);
        for (int d = 0; d < k->dim; ++d) {
            snprintf(what, sizeof what, "%s %dD minimiser axis %d", k->spec, k->dim, d);
            near(x[d], k->x[d], 1e-12, what);
        }
        int64_t n = -1;
        cr_assert_eq(qdml_objective_minimizers(&o, k->dim, NULL, 0, &n), QDML_OK);
        cr_assert_eq(n, k->count, "%s %dD: %lld minimisers, expected %lld", k->spec, k->dim, (long long)n,
                     (long long)k->count);
        cr_assert_eq(qdml_objective_minimizers(&o, k->dim, xs, 81, &n), QDML_OK);
        cr_assert_eq(qdml_objective_domain(&o, k->dim, lo, hi), QDML_OK);
        cr_assert(memcmp(xs, x, sizeof(double) * (size_t)k->dim) == 0, "%s: the first minimiser is xmin", k->spec);
        for (int64_t a = 0; a < n; ++a) {
            double fa;
            cr_assert_eq(qdml_objective_eval(&o, xs + a * k->dim, k->dim, &fa), QDML_OK);
            snprintf(what, sizeof what, "%s %dD at minimiser %lld", k->spec, k->dim, (long long)a);
            near(fa, k->f, 1e-12, what);
            for (int d = 0; d < k->dim; ++d)
                cr_assert(xs[a * k->dim + d] >= lo[d] && xs[a * k->dim + d] <= hi[d], "%s: outside the domain", what);
            for (int64_t b = 0; b < a; ++b) {
                double dist = 0.0;
                for (int d = 0; d < k->dim; ++d)
                    dist += fabs(xs[a * k->dim + d] - xs[b * k->dim + d]);
                cr_assert(dist > 0.5, "%s: minimisers %lld and %lld coincide", k->spec, (long long)a, (long long)b);
            }
        }
    }
}

Test(objectives_qhd, hand_computed_values) {
    const double pi = QT_PI;
    struct {
        const char *spec;
        int dim;
        double x[3];
        double f;
    } cases[] = {
        {"ackley2", 2, {3, 4}, -180.96748360719193},         /* -200 e^-0.1 */
        {"alpine1", 2, {pi / 2, -pi / 2}, pi},              /* |pi/2 + pi/20| + |pi/2 - pi/20| */
        {"alpine2", 1, {pi / 2}, -1.2533141373155003},       /* -sqrt(pi/2) */
        {"bohachevsky2", 2, {1, 0.5}, 1.5 + 0.3 + 0.3},      /* 1 + 0.5 - 0.3 cos(3pi) cos(2pi) + 0.3 */
        {"camel3", 2, {1, -1}, 2 - 1.05 + 1.0 / 6.0 - 1 + 1}, /* 1.1166... */
        {"csendes", 1, {2.0 / pi}, 3.0 * pow(2.0 / pi, 6)},   /* (2/pi)^6 (2 + sin(pi/2)) */
        {"defl_corr_spring", 2, {5, 5 + pi / 5}, 0.1 * pi * pi / 25 + 1},
        {"dropwave", 2, {0.6, 0.8}, -(1 + cos(12.0)) / 2.5},
        {"easom", 2, {pi, 2 * pi}, 1.0 * exp(-pi * pi)}, /* -cos 0 cos pi e^{-pi^2} */
        {"holder", 2, {pi / 2, 0}, -exp(0.5)},           /* |x| / pi = 1/2 */
        {"hosaki", 2, {1, 1}, (1 - 8 + 7 - 7.0 / 3.0 + 0.25) * exp(-1.0)},
        {"levy13", 2, {0.5, 0.5}, 1.0 + 0.25 * 2 + 0.25 * 1}, /* sin^2(1.5 pi) = 1, sin^2(pi) = 0 */
        {"michalewicz", 1, {sqrt(pi * pi / 2)}, -sin(sqrt(pi * pi / 2))}, /* sin(x^2 / pi) = 1 */
        {"shubert", 1, {0}, cos(1.0) + 2 * cos(2.0) + 3 * cos(3.0) + 4 * cos(4.0) + 5 * cos(5.0)},
        {"sumofsquares", 3, {1, -1, 2}, 1 + 2 + 12},
        {"xinsheyang3", 1, {pi}, exp(-pow(pi / 15, 10)) - 2 * exp(-pi * pi)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        const qdml_objective o = parse(cases[i].spec, cases[i].dim);
        double f;
        cr_assert_eq(qdml_objective_eval(&o, cases[i].x, cases[i].dim, &f), QDML_OK);
        cr_assert(fabs(f - cases[i].f) <= 1e-13 * fmax(1.0, fabs(cases[i].f)), "%s (case %zu): %.17g, expected %.17g",
                  cases[i].spec, i, f, cases[i].f);
    }
}

Test(objectives_qhd, names_dimensions_and_capacity) {
    qdml_objective o;
    cr_assert_eq(qdml_objective_parse("Defl-Corr-Spring:alpha=1", 2, &o), QDML_OK, "%s", qdml_last_error_message());
    cr_assert_eq(o.kind, QDML_OBJECTIVE_DEFL_CORR_SPRING);
    cr_assert_eq(qdml_objective_parse("XinSheYang3", 3, &o), QDML_OK);
    cr_assert_eq(o.kind, QDML_OBJECTIVE_XINSHEYANG3);
    const char *two_d[] = {"bohachevsky2", "camel3", "holder", "hosaki", "levy13"};
    for (size_t i = 0; i < sizeof two_d / sizeof two_d[0]; ++i) {
        cr_assert_eq(qdml_objective_parse(two_d[i], 3, &o), QDML_ERR_INVALID_ARGUMENT, "%s in 3D", two_d[i]);
        cr_assert_not_null(strstr(qdml_last_error_message(), "in 2 dimensions only"), "%s", qdml_last_error_message());
        cr_assert_eq(qdml_objective_parse(two_d[i], 1, &o), QDML_ERR_INVALID_ARGUMENT, "%s in 1D", two_d[i]);
    }
    /* capacity smaller than the count: the first ones, and the count of all */
    o = parse("holder", 2);
    double xs[4] = {0, 0, 0, 0};
    int64_t n = 0;
    cr_assert_eq(qdml_objective_minimizers(&o, 2, xs, 1, &n), QDML_OK);
    cr_assert_eq(n, 4);
    cr_assert(xs[0] > 8 && xs[1] > 9 && xs[2] == 0 && xs[3] == 0, "only one written: %g %g %g %g", xs[0], xs[1], xs[2],
              xs[3]);
    cr_assert_eq(qdml_objective_minimizers(&o, 2, NULL, 1, &n), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_objective_minimizers(&o, 2, xs, 1, NULL), QDML_ERR_INVALID_ARGUMENT);
    cr_assert_eq(qdml_objective_minimizers(&o, 3, xs, 1, &n), QDML_ERR_INVALID_ARGUMENT);
}
