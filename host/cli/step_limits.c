/* What a fixed split step resolves (step_limits.h).
 *
 * Real time. A step multiplies each kinetic component by exp(-i hbar k^2 dt / 2m) and each point by
 * exp(-i V dt / hbar): the state sees each phase once per step, as a signal sampled at intervals dt.
 * By the sampling theorem a step resolves frequencies below pi / dt, that is phase differences below
 * pi per step: beyond, a component whose energy differs from another's by Delta E is indistinguishable
 * from one differing by Delta E - 2 pi hbar / dt (it aliases), and the splitting error, which grows
 * with the commutator of the two terms over the energies the step spans, is no longer small. Strang
 * is unitary at any step, so nothing blows up: the result is silently wrong (the oscillator on 64
 * points with dt = 0.5 or 1: 137-158 % L2 error). Each term spans its own range: the kinetic one
 * from 0 to hbar^2 |k_max|^2 / 2m at the corner of the grid's Nyquist box, the potential one from
 * min V to max V. So each must keep (range) dt / hbar below pi, for each substep of a composition (a
 * Strang step of c_j dt). A constant potential commutes with the kinetic term: then the splitting is
 * exact and the kinetic phase needs no limit.
 *
 * Imaginary time. The step damps instead of rotating: any step is stable, and its error shows as the
 * distance between the fixed point of the split operator and the ground state. E_split, the energy S
 * assigns to the final state through its norm decay over one more step, is off the exact energy by
 * O(dt^2) at that fixed point, while <H> there is off by O(dt^4): |E - E_split| estimates E's
 * splitting error from above (for the oscillator at every dt: docs/numerics.md), for the cost of one
 * step. */
#include "step_limits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* pi, the phase per step a split step resolves (see above). */
#define PHASE_LIMIT 3.14159265358979323846

/* The largest |c_j| of the composition's substeps (solver.c has the constants). */
static double largest_substep(qdml_splitting sp) {
    switch (sp) {
    case QDML_SPLIT_YOSHIDA4: return 1.70241438391931526810; /* |1 - 2 w1|, w1 = 1/(2 - 2^(1/3)) */
    case QDML_SPLIT_SUZUKI4: return 0.65796308717750294857;  /* |1 - 4 p|, p = 1/(4 - 4^(1/3)) */
    case QDML_SPLIT_CHIN4: return 2.0 / 3.0; /* its middle potential factor (the kinetic ones are dt/2) */
    default: return 1.0;
    }
}

/* The largest step that keeps rate * c dt below the limit, rounded down to 3 significant digits (so
 * that the number shown passes). */
static double within(double rate, double c) {
    if (!(rate > 0)) return INFINITY;
    const double dt = PHASE_LIMIT / (rate * c), unit = pow(10.0, floor(log10(dt)) - 2.0);
    return floor(dt / unit) * unit;
}

int cli_check_real_time_step(const char *cmd, qdml_problem *p, double dt, qdml_splitting splitting, int strict) {
    const qdml_grid *g = qdml_problem_grid(p);
    const int64_t N = qdml_problem_points(p);
    double hbar = 1.0, mass = 1.0;
    if (qdml_problem_get_hbar(p, 0, &hbar) != QDML_OK || qdml_problem_get_mass(p, 0, &mass) != QDML_OK) {
        cli_error(cmd, "%s", qdml_last_error_message());
        return CLI_RUN_FAILED;
    }
    double *v = malloc((size_t)N * sizeof *v);
    if (!v) {
        cli_error(cmd, "out of memory checking the step");
        return CLI_RUN_FAILED;
    }
    if (qdml_problem_get_potential(p, 0, v) != QDML_OK) {
        cli_error(cmd, "%s", qdml_last_error_message());
        free(v);
        return CLI_RUN_FAILED;
    }
    double vmin = v[0], vmax = v[0];
    for (int64_t i = 1; i < N; ++i) {
        vmin = v[i] < vmin ? v[i] : vmin;
        vmax = v[i] > vmax ? v[i] : vmax;
    }
    free(v);
    /* |k|^2 at the corner of the Nyquist box: the largest wavenumber of each axis, 2 pi floor(n/2) / L. */
    double k2 = 0.0;
    for (int d = 0; d < g->dim; ++d) {
        const double k = 2.0 * PHASE_LIMIT * (double)(g->n[d] / 2) / (g->hi[d] - g->lo[d]);
        k2 += k * k;
    }
    const double c = largest_substep(splitting);
    const double rate_t = vmax > vmin ? hbar * k2 / (2.0 * mass) : 0.0, rate_v = (vmax - vmin) / hbar;
    const double dt_t = within(rate_t, c), dt_v = within(rate_v, c);
    const double dt_max = dt_t < dt_v ? dt_t : dt_v;
    if (!(dt > dt_max)) return CLI_OK;
    const char *sub = splitting == QDML_SPLIT_STRANG ? "step" : "substep (the longest, of";
    char csub[32] = "";
    if (splitting != QDML_SPLIT_STRANG) snprintf(csub, sizeof csub, " %.3g dt)", c);
    const char *what = strict ? "error" : "warning";
    if (dt > dt_t)
        fprintf(stderr,
                "qdml %s: %s: --dt %.6g is larger than the splitting resolves: the phase per %s%s of the kinetic "
                "term at the grid's largest wavenumber, hbar |k|^2 dt / 2m = %.3g, exceeds pi; the largest --dt "
                "within it is %.3g\n",
                cmd, what, dt, sub, csub, rate_t * c * dt, dt_t);
    if (dt > dt_v)
        fprintf(stderr,
                "qdml %s: %s: --dt %.6g is larger than the splitting resolves: the phase per %s%s of the potential "
                "over its range, (max V - min V) dt / hbar = %.3g, exceeds pi; the largest --dt within it is %.3g\n",
                cmd, what, dt, sub, csub, rate_v * c * dt, dt_v);
    fprintf(stderr,
            "qdml %s: %s: phases that alias give wrong results with no other sign; --dt %.3g or less resolves the "
            "step%s\n",
            cmd, strict ? "refused" : "note", dt_max, strict ? "" : " (--strict refuses such a step)");
    return strict ? CLI_USAGE : CLI_OK;
}

int cli_split_error(const char *cmd, qdml_problem *p, double dt, qdml_splitting splitting, const qdml_stats *final,
                    int strict, double *split_energy, double *estimate) {
    *split_energy = NAN;
    *estimate = NAN;
    const qdml_status st = qdml_problem_split_energy(p, 0, dt, splitting, split_energy);
    if (st != QDML_OK) {
        cli_error(cmd, "the splitting error estimate: %s", qdml_last_error_message());
        *split_energy = NAN;
        return CLI_RUN_FAILED;
    }
    *estimate = fabs(final->energy - *split_energy);
    const double scale = fabs(final->kinetic) + fabs(final->potential);
    if (!(*estimate > 0.1 * scale)) return CLI_OK;
    fprintf(stderr,
            "qdml %s: %s: the splitting error estimate %.3g (|E - E_split|, E_split = %.6g) is %.0f %% of the energy "
            "scale |<T>| + |<V>| = %.3g: E = %.6g is not resolved at --dt %.6g (the error falls about as dt^2: a "
            "step ten times smaller makes it about a hundred times smaller)\n",
            cmd, strict ? "error" : "warning", *estimate, *split_energy, 100.0 * *estimate / scale, scale,
            final->energy, dt);
    return strict ? CLI_RUN_FAILED : CLI_OK;
}
