/* Walkers (qdml_walkers.h): the ground energy of a 100-dimensional anisotropic harmonic oscillator with
 * its statistical error, then the minimiser of Styblinski-Tang in 20 dimensions by annealing hbar.
 * Checks its own numbers (exit 1 if off): the energy within 4 errors plus 0.1 % of sum hbar w_i / 2, and
 * every coordinate of the walkers' mean within 1e-2 of -2.903534. */
#include <math.h>
#include <qdml/qdml_walkers.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                                                    \
    do {                                                                                                               \
        if ((call) != QDML_OK) {                                                                                       \
            fprintf(stderr, "%s: %s\n", #call, qdml_last_error_message());                                             \
            return 1;                                                                                                  \
        }                                                                                                              \
    } while (0)

enum { D = 100, D2 = 20 };

int main(void) {
    qdml_context *ctx;
    CHECK(qdml_context_create(&ctx, QDML_BACKEND_CPU, 0));

    /* f = sum k_i x_i^2 / 2, k_i from 0.5 to 2; trial function exp(-alpha f / hbar), alpha = 1 / w for k = 1 */
    double axes[2 * D], e0 = 0.0, lo[D], hi[D];
    for (int i = 0; i < D; ++i) {
        axes[i] = 0.5 + 1.5 * i / (D - 1.0); /* k */
        axes[D + i] = 0.0;                   /* centre */
        e0 += 0.5 * sqrt(axes[i]);           /* hbar = m = 1 */
        lo[i] = -1.0, hi[i] = 1.0;
    }
    qdml_walkers_config cfg = {D, 1, 1000, 0.0, 2024, 1.0};
    qdml_walkers *w;
    CHECK(qdml_walkers_create(&w, ctx, &cfg));
    qdml_objective harmonic;
    CHECK(qdml_objective_default(QDML_OBJECTIVE_HARMONIC, 3, &harmonic));
    CHECK(qdml_walkers_set_objective(w, 0, &harmonic, axes));
    CHECK(qdml_walkers_place(w, 0, 0, NULL, lo, hi));
    qdml_walkers_run_options run = {0.02, 1.0, 1.0, 1000, 250, 0.0, NULL, 0, NULL};
    qdml_walkers_result r;
    CHECK(qdml_walkers_run(w, &run, &r, NULL));
    printf("d = %d: E = %.5f +- %.5f (growth), %.5f +- %.5f (mixed); exact %.5f\n", D, r.energy, r.energy_error,
           r.mixed_energy, r.mixed_error, e0);
    const int ok1 = fabs(r.energy - e0) < 4 * r.energy_error + 1e-3 * e0;
    qdml_walkers_destroy(w);

    /* Styblinski-Tang in 20 dimensions: 2^20 local minima */
    qdml_walkers_config cfg2 = {D2, 1, 1000, 0.0, 7, 0.15};
    CHECK(qdml_walkers_create(&w, ctx, &cfg2));
    qdml_objective st;
    CHECK(qdml_objective_parse("styblinski_tang", 3, &st));
    CHECK(qdml_walkers_set_objective(w, 0, &st, NULL));
    CHECK(qdml_walkers_place(w, 0, 0, NULL, NULL, NULL)); /* uniform in its domain [-5, 5]^20 */
    qdml_walkers_run_options anneal = {0.02, 10.0, 1.0, 200, -1, 0.0, NULL, 0, NULL};
    CHECK(qdml_walkers_anneal(w, &anneal, 1e-4, 20, &r));
    double mean[D2], best[D2], fbest, worst = 0.0;
    CHECK(qdml_walkers_summary(w, 0, mean, NULL, NULL));
    CHECK(qdml_walkers_best(w, 0, best, &fbest));
    for (int i = 0; i < D2; ++i)
        worst = fmax(worst, fabs(mean[i] + 2.903534));
    printf("styblinski_tang, d = %d: best f %.6f (minimum %.6f), walkers' mean within %.2e of the minimiser\n", D2,
           fbest, -39.16616570377142 * D2, worst);
    const int ok2 = worst < 1e-2;
    qdml_walkers_destroy(w);
    qdml_context_destroy(ctx);
    return ok1 && ok2 ? 0 : 1;
}
