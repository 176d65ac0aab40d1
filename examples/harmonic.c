/* Ground state of a 2D anisotropic harmonic oscillator, then its history.
 * Build against an installed qdml:  cc harmonic.c $(pkg-config --cflags --libs qdml) -o harmonic
 * Exact answer: E0 = hbar (wx + wy) / 2 = 1.25 for wx = 1, wy = 1.5, hbar = m = 1. */
#include <qdml/qdml.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    qdml_context *ctx = NULL;
    if (qdml_context_create(&ctx, QDML_BACKEND_AUTO, 0) != QDML_OK) {
        fprintf(stderr, "qdml: %s\n", qdml_last_error_message());
        return 1;
    }
    const int64_t n[2] = {128, 128};
    const double lo[2] = {-8, -8}, hi[2] = {8, 8};
    qdml_grid grid;
    qdml_problem *p = NULL;
    if (qdml_grid_init(&grid, 2, n, lo, hi) != QDML_OK || qdml_problem_create(ctx, &grid, 1, &p) != QDML_OK) {
        fprintf(stderr, "qdml: %s\n", qdml_context_last_error(ctx));
        qdml_context_destroy(ctx);
        return 1;
    }
    const double wx = 1.0, wy = 1.5;
    double *v = malloc((size_t)qdml_problem_points(p) * sizeof *v);
    for (int64_t i = 0; i < n[0]; ++i)
        for (int64_t j = 0; j < n[1]; ++j) {
            double x = lo[0] + (double)i * (hi[0] - lo[0]) / (double)n[0];
            double y = lo[1] + (double)j * (hi[1] - lo[1]) / (double)n[1];
            v[i * n[1] + j] = 0.5 * (wx * wx * x * x + wy * wy * y * y);
        }
    qdml_problem_set_potential(p, 0, v);
    free(v);
    const double center[2] = {1.0, -0.5}, width[2] = {1.0, 1.0};
    qdml_problem_set_state_gaussian(p, 0, center, width, NULL);

    qdml_ground_options opt;
    qdml_ground_options_default(&opt); /* residual tolerance 1e-6, automatic step */
    qdml_run_result res;
    qdml_status st = qdml_problem_ground(p, &opt, &res);
    if (st != QDML_OK) {
        fprintf(stderr, "qdml: %s: %s\n", qdml_status_string(st), qdml_context_last_error(ctx));
    } else {
        printf("E = %.12f (exact 1.25, error %.1e), residual %.1e, %lld steps, converged %d\n", res.final.energy,
               fabs(res.final.energy - 1.25), res.final.residual, (long long)res.steps, res.converged);
    }
    qdml_problem_destroy(p);
    qdml_context_destroy(ctx);
    return st == QDML_OK && res.converged && fabs(res.final.energy - 1.25) < 1e-8 ? 0 : 1;
}
