/* The step and energy formulas of the split-step method, written once for every backend and the
 * solver: what a step multiplies the state by (the potential factors in position space, the
 * kinetic factors in Fourier space) and the weight of |psi_hat(k)|^2 in the kinetic energy.
 * Compiled as C11 (CPU backend, solver) and as CUDA C++ (the GPU kernels); plain functions of
 * values, evaluated in the order written, so every backend forms the same bits.
 *
 * Strang step (docs/numerics.md): e^{-i V dt/2hbar} F^-1 e^{-i hbar k^2 dt/2m} F e^{-i V dt/2hbar},
 * with exp(-i theta) in real time and exp(-theta) in imaginary time (qdml_propagator). */
#ifndef QDML_STEP_H
#define QDML_STEP_H

#include "pointwise.h"

/* hbar^2 / 2m: kinetic energy per unit k^2, the weight of k^2 |psi_hat|^2 in <T> (and of T psi). */
QDML_HD double qdml_kinetic_coefficient(double hbar, double mass) { return hbar * hbar / (2.0 * mass); }

/* theta of the kinetic factor over a step dt at squared wavenumber k2: (hbar^2 k^2 / 2m) dt / hbar,
 * formed as hbar k^2 dt / 2m. dt = 1 gives the exponent per unit step. */
QDML_HD double qdml_kinetic_exponent(double k2, double hbar, double mass, double dt) {
    return hbar * k2 * dt / (2.0 * mass);
}

/* One entry of an axis's kinetic table: the propagator of qdml_kinetic_exponent, or 1 where the
 * kinetic step is left out (potential_only: the D -> 0 limit). The factor at a grid point is the
 * product of its axes' entries (exp of a sum is the product of the exps). */
QDML_HD qdml_c64 qdml_kinetic_factor(int imaginary, int potential_only, double k2, double hbar, double mass,
                                     double dt) {
    if (potential_only) return qdml_c64_make(1.0, 0.0);
    return qdml_propagator(imaginary, qdml_kinetic_exponent(k2, hbar, mass, dt));
}

/* theta per unit of potential over a half step: dt / (2 hbar). */
QDML_HD double qdml_half_step_rate(double dt, double hbar) { return dt / (2.0 * hbar); }

/* The half-step potential factor at V, the potential measured from `shift` (renormalised imaginary
 * time shifts by min V, so that no factor exceeds 1): the propagator of (V - shift) * rate, rate
 * from qdml_half_step_rate. The full-step factor is its square. */
QDML_HD qdml_c64 qdml_potential_factor(int imaginary, double v, double shift, double rate) {
    return qdml_propagator(imaginary, (v - shift) * rate);
}

#endif
