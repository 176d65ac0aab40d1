/* The CPU backend's phases kernel (backend_cpu_simd.c): exp(-i theta) by a reduction modulo pi/2 and
 * polynomial kernels, for the step tables that time-dependent Hamiltonians rebuild every step.
 *  - against libm's cos and sin: within 2^-52 absolute (the fdlibm kernels are under 1 ulp on
 *    [-pi/4, pi/4], the three-part reduction exact to about 2^-53 |r| for |k| < 2^20), at 200000 seeded
 *    random theta spread over magnitudes 1e-9 .. 1e6, both signs, and next to multiples of pi/2, where
 *    the reduction cancels most;
 *  - the kernel this processor runs (AVX2 where it has it) equal bit for bit to the one-point code,
 *    the square as qdml_cmul forms it; beyond |theta| = 1e6 and NaN, libm's values.
 * Backend: the CPU backend's own kernels, whatever QDML_TEST_BACKEND says.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_private.h"
#include "support.h"

enum { N = 200000 };

static double random_theta(qt_rng *r, int j) {
    const double mag = pow(10.0, -9.0 + 15.0 * qt_uniform(r)), sgn = qt_uniform(r) < 0.5 ? -1.0 : 1.0;
    if (j % 5 == 0) { /* next to k pi/2 */
        const double k = floor(qt_uniform(r) * 1e5);
        return sgn * (k * (QT_PI / 2) + (qt_uniform(r) - 0.5) * 1e-6);
    }
    return sgn * mag;
}

Test(cpu_phases, within_2_to_the_minus_52_of_libm) {
    qt_rng rng;
    qt_rng_seed(&rng, 52);
    double worst = 0.0, at = 0.0;
    for (int j = 0; j < N; ++j) {
        const double th = random_theta(&rng, j);
        double co, si;
        qdml_cpu_phase_point(th, &co, &si);
        const double e = fmax(fabs(co - cos(th)), fabs(si - sin(th)));
        if (e > worst) worst = e, at = th;
    }
    cr_log_info("phases: largest difference from libm %.3g (at theta = %.17g)", worst, at);
    cr_assert(worst <= 0x1p-52, "phase differs from libm by %.3g at theta = %.17g", worst, at);
}

Test(cpu_phases, the_kernel_equals_the_one_point_code) {
    const kernel_set *k = qdml_cpu_choose_kernels();
    double *v = qt_calloc(N + 3, sizeof(double));
    qdml_c64 *h = qt_calloc(N + 3, sizeof(qdml_c64)), *f = qt_calloc(N + 3, sizeof(qdml_c64));
    qt_rng rng;
    qt_rng_seed(&rng, 7);
    for (int j = 0; j < N + 3; ++j) v[j] = random_theta(&rng, j);
    v[10] = 3e6;  /* beyond the reduction's range: libm */
    v[11] = -2e7;
    v[12] = NAN;
    const double shift = 0.25, rate = 0.75;
    k->phases(v, N + 3, shift, rate, h, f); /* N + 3: a tail after the vectors of four */
    for (int j = 0; j < N + 3; ++j) {
        const double th = (v[j] - shift) * rate;
        double co, si;
        qdml_cpu_phase_point(th, &co, &si);
        if (isnan(th)) {
            cr_assert(isnan(h[j].re) && isnan(f[j].re), "NaN in, NaN out at %d", j);
            continue;
        }
        const qdml_c64 want = {co, -si};
        cr_assert(memcmp(&h[j], &want, sizeof want) == 0, "point %d (theta %.17g): (%.17g, %.17g) against (%.17g, %.17g)",
                  j, th, h[j].re, h[j].im, want.re, want.im);
        const qdml_c64 sq = {want.re * want.re - want.im * want.im, want.re * want.im + want.im * want.re};
        cr_assert(memcmp(&f[j], &sq, sizeof sq) == 0, "square at point %d", j);
        if (fabs(th) > 1e6) cr_assert(co == cos(th) && si == sin(th), "libm beyond 1e6 at %d", j);
    }
    free(v);
    free(h);
    free(f);
}
