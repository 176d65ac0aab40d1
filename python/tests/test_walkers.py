"""qdml.Walkers against closed forms (the same ones tests/test_walkers.c uses), on the CPU."""
import numpy as np
import pytest

import qdml


@pytest.fixture
def ctx():
    return qdml.Context(backend="cpu", threads=1)


def test_exact_trial_function_gives_the_energy_with_no_variance(ctx):
    # f = |x|^2 / 2 in 30D, hbar = m = 1: alpha = 1 is psi_0 itself, E_L = 15 everywhere
    w = qdml.Walkers(ctx, dim=30, walkers=300, alpha=1.0, seed=3)
    w.set_objective("harmonic")
    w.place(box=(-1, 1))
    r = w.run(dt=0.05, steps=100)[0]
    assert abs(r.energy - 15.0) < 1e-9 and abs(r.mixed_energy - 15.0) < 1e-9
    x = w.positions()
    assert x.shape[1] == 30 and 150 < x.shape[0] < 600
    mean, width, mode = w.summary()
    assert np.all(np.abs(width - np.sqrt(0.5)) < 0.15 * np.sqrt(0.5))  # psi_T psi_0 = exp(-|x|^2)


def test_plain_anisotropic_oscillator_and_same_seed(ctx):
    # d = 3, k = (0.5, 1, 2), per-axis values: growth energy within 4 errors + 0.2 % of the exact finite-dt one
    k = np.array([0.5, 1.0, 2.0])
    dt = 0.1
    exact = 0.0
    for ki in k:
        c = ki * dt / 2
        r_ = np.sqrt(c * c + 2 * c / dt)
        exact += np.log(1 + (c + r_) * dt) / (2 * dt)
    results = []
    for _ in range(2):
        w = qdml.Walkers(ctx, dim=3, walkers=2000, seed=7)
        w.set_objective("harmonic", axes=np.stack([k, np.zeros(3)]))
        w.place(box=(-1, 1))
        results.append((w.run(dt=dt, steps=3000)[0], w.positions(), w.best()))
    r = results[0][0]
    assert abs(r.energy - exact) < 4 * r.energy_error + 2e-3 * exact, (r, exact)
    assert results[0][0] == results[1][0]
    assert np.array_equal(results[0][1], results[1][1])


def test_annealing_finds_the_minimiser(ctx):
    w = qdml.Walkers(ctx, dim=8, walkers=500, alpha=0.15, seed=2)
    w.set_objective("styblinski_tang")
    w.place()
    w.anneal(dt=0.02, steps=150, hbar=10.0, hbar_end=1e-3, stages=15)
    mean, _, _ = w.summary()
    assert np.all(np.abs(mean + 2.903534) < 1e-2), mean
    x, f = w.best()
    assert f < -39.16 * 8


def test_statistics_helpers_and_errors(ctx):
    rng = np.random.default_rng(1)
    m, e = qdml.blocking_error(3.0 + rng.standard_normal(4096))
    assert abs(m - 3.0) < 5 * e and 0.8 / 64 < e < 1.2 / 64
    e0, s0 = qdml.extrapolate([0.04, 0.02], [3 + 2 * 0.04 ** 2, 3 + 2 * 0.02 ** 2], [0.01, 0.01], order=2)
    assert abs(e0 - 3.0) < 1e-12 and s0 > 0
    with pytest.raises(qdml.InvalidArgument, match="dim"):
        qdml.Walkers(ctx, dim=0)
    w = qdml.Walkers(ctx, dim=4, alpha=0.5)
    with pytest.raises(qdml.InvalidArgument, match="gradient"):
        w.set_objective("ackley")
    with pytest.raises(qdml.NotReady):
        w.run(dt=0.01, steps=10)
    with pytest.raises(qdml.InvalidArgument, match="axes"):
        w.set_objective("harmonic", axes=np.ones(3))
