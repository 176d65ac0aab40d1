/* Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers:
 * as easy as 1, 2, 3", SC'11), the generator of cuRAND's curand_Philox4x32_10 and of Random123.
 *
 * Compiled as C11 by the host compiler and as CUDA C++ by nvcc, so that the CPU and the GPU draw the
 * same numbers for the same (key, counter): a draw depends on the seed and on what it is for (member,
 * step, walker, block of coordinates), never on which thread or in which order it is made. The known
 * answers of Random123's kat_vectors are checked by tests/test_walkers_stats.c.
 */
#ifndef QDML_PHILOX_H
#define QDML_PHILOX_H

#include <math.h>
#include <stdint.h>

#include "pointwise.h"

typedef struct qdml_u32x4 {
    uint32_t v[4];
} qdml_u32x4;

QDML_HD uint32_t qdml_mulhilo32(uint32_t a, uint32_t b, uint32_t *hi) {
    const uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

/* Ten rounds of Philox4x32 on counter c with key (k0, k1). */
QDML_HD qdml_u32x4 qdml_philox4x32_10(qdml_u32x4 c, uint32_t k0, uint32_t k1) {
    for (int r = 0; r < 10; ++r) {
        uint32_t hi0, hi1;
        const uint32_t lo0 = qdml_mulhilo32(0xD2511F53u, c.v[0], &hi0);
        const uint32_t lo1 = qdml_mulhilo32(0xCD9E8D57u, c.v[2], &hi1);
        qdml_u32x4 n;
        n.v[0] = hi1 ^ c.v[1] ^ k0;
        n.v[1] = lo1;
        n.v[2] = hi0 ^ c.v[3] ^ k1;
        n.v[3] = lo0;
        c = n;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return c;
}

/* A uniform in (0, 1), never 0 or 1: (u + 1/2) 2^-32. */
QDML_HD double qdml_uniform_open(uint32_t u) { return ((double)u + 0.5) * (1.0 / 4294967296.0); }

/* Four standard normals from one Philox output (Box-Muller on two pairs). The 32-bit uniforms bound
 * |z| by sqrt(-2 ln 2^-33) = 6.8, as cuRAND's curand_normal4 does. */
QDML_HD void qdml_normal4(qdml_u32x4 r, double *z) {
    const double two_pi = 6.283185307179586476925286766559;
    for (int k = 0; k < 2; ++k) {
        const double rad = sqrt(-2.0 * log(qdml_uniform_open(r.v[2 * k])));
        const double ang = two_pi * qdml_uniform_open(r.v[2 * k + 1]);
        z[2 * k] = rad * cos(ang);
        z[2 * k + 1] = rad * sin(ang);
    }
}

#endif
