"""qdml through Python against closed forms (the same ones the C tests use), on the backend
QDML_TEST_BACKEND names (cpu by default, as the C tests)."""
import os

import numpy as np
import pytest

import qdml

BACKEND = os.environ.get("QDML_TEST_BACKEND", "cpu")


@pytest.fixture
def ctx():
    return qdml.Context(backend=BACKEND, threads=1)


def test_oscillator_ground_energy_2d_anisotropic(ctx):
    # H = p^2/2 + (x^2 + 4 y^2)/2: E0 = (1 + 2)/2; the spectral grid resolves it to rounding.
    grid = qdml.Grid(n=(64, 64), box=[(-8, 8), (-8, 8)])
    p = qdml.Problem(ctx, grid)
    p.set_objective("harmonic:k=1,4")
    p.set_gaussian(center=(0.5, -0.3), width=(1.2, 0.8))
    r = p.ground(tol=1e-9)[0]
    assert r.converged
    assert abs(r.final.energy - 1.5) < 1e-9
    assert abs(p.stats().energy - 1.5) < 1e-9


def test_batch_of_different_oscillators(ctx):
    # member b: k_b x^2 / 2 with k = 1, 2.25, 4: E0 = sqrt(k_b) / 2, each member its own.
    grid = qdml.Grid(n=128, box=[(-10, 10)])
    ks = [1.0, 2.25, 4.0]
    p = qdml.Problem(ctx, grid, batch=3)
    for b, k in enumerate(ks):
        p.set_potential(0.5 * k * grid.x[0] ** 2, member=b)
    p.set_gaussian(center=(0.7,), width=(1.0,))
    res = p.ground(tol=1e-10)
    for r, k in zip(res, ks):
        assert abs(r.final.energy - np.sqrt(k) / 2) < 1e-9


def test_free_packet_spreads_as_the_closed_form(ctx):
    # V = 0: a Gaussian of width s0 (|psi|^2) has width s0 sqrt(1 + (hbar t / (2 m s0^2))^2), centre x0 + hbar k t / m.
    grid = qdml.Grid(n=1024, box=[(-40, 40)])
    p = qdml.Problem(ctx, grid)
    p.potential = np.zeros(grid.shape)
    s0, k, t = 1.0, 1.5, 4.0
    p.set_gaussian(center=(-5.0,), width=(s0,), momentum=(k,))
    r = p.evolve(dt=0.01, steps=400, mode="real")[0]
    assert abs(r.final.time - t) < 1e-12
    assert abs(r.final.width[0] - s0 * np.sqrt(1 + (t / (2 * s0 ** 2)) ** 2)) < 1e-10
    assert abs(r.final.mean[0] - (-5.0 + k * t)) < 1e-10
    assert abs(r.final.norm - 1.0) < 1e-12


def test_lowest_states_of_the_oscillator(ctx):
    # E_n = n + 1/2 for n = 0, 1, 2: from the batch's own independent starts, and by k from seeded ones
    # (the problem itself left as it was).
    grid = qdml.Grid(n=128, box=[(-10, 10)])
    p = qdml.Problem(ctx, grid, batch=3)
    p.set_objective("harmonic")
    rng = np.random.default_rng(3)
    x = grid.x[0]
    for b in range(3):
        p.set_psi(np.exp(-x ** 2 / 4) * (1 + rng.normal(size=x.shape) * 0.1) * x ** b, member=b)
    res = p.lowest_states(tol=1e-8)
    assert np.max(np.abs(res.energies - [0.5, 1.5, 2.5])) < 1e-8
    q = qdml.Problem(ctx, grid)
    q.set_objective("harmonic")
    q.set_gaussian(center=(0.0,), width=(1.0,))
    before = q.psi
    four = q.lowest_states(4, tol=1e-8)
    assert np.max(np.abs(four.energies - [0.5, 1.5, 2.5, 3.5])) < 1e-8 and four.psi.shape == (4, 128)
    assert np.array_equal(q.psi, before)
    # the states are orthonormal (norm 1 with the volume element)
    gram = four.psi.conj() @ four.psi.T * grid.dv
    assert np.max(np.abs(gram - np.eye(4))) < 1e-8


def test_minimize_finds_the_deeper_well(ctx):
    # the tilted double well's global minimum (qdml_objective_minimum) within a grid spacing
    grid = qdml.Grid(n=256, box=[(-3, 3)])
    p = qdml.Problem(ctx, grid)
    p.set_objective("double_well")
    p.set_uniform()
    r = p.minimize(hbar_start=1.0, hbar_end=0.01)[0]
    xs, fmin = qdml.objective_minimum("double_well", 1)
    assert abs(r.argmin[0] - xs[0, 0]) <= 6 / 256
    assert r.f_min >= fmin - 1e-12


def test_a_python_callable_objective_equals_the_built_in(ctx):
    grid = qdml.Grid(n=(32, 48), box=[(-5.12, 5.12), (-4, 4)])
    p = qdml.Problem(ctx, grid, batch=2)
    p.set_objective("rastrigin", member=0)
    p.set_objective(lambda x, y: 20 + x ** 2 - 10 * np.cos(2 * np.pi * x) + y ** 2 - 10 * np.cos(2 * np.pi * y),
                    member=1)
    a, b = p.get_potential(0), p.get_potential(1)
    assert np.max(np.abs(a - b)) <= 1e-12 * np.max(np.abs(a))


def test_objective_helpers():
    assert "holder" in qdml.objectives() and len(qdml.objectives()) == 28
    xs, f = qdml.objective_minimum("holder", 2)
    assert xs.shape == (4, 2) and abs(f + 19.2085025678867) < 1e-12
    assert qdml.objective_domain("hosaki", 2) == [(0.0, 5.0), (0.0, 6.0)]
    assert abs(qdml.objective_value("sumofsquares", [1, -1, 2]) - 15.0) < 1e-15


def test_checkpoint_round_trip(ctx, tmp_path):
    grid = qdml.Grid(n=64, box=[(-8, 8)])
    p = qdml.Problem(ctx, grid)
    p.set_objective("harmonic")
    p.set_gaussian(center=(1.0,), width=(1.0,))
    p.evolve(dt=0.01, steps=50, mode="imag")
    p.save(tmp_path / "ck.qdml")
    q = qdml.Problem(ctx, grid)
    q.load(tmp_path / "ck.qdml")
    assert np.array_equal(p.psi, q.psi) and np.array_equal(p.potential, q.potential)
    assert q.stats().step == 50
