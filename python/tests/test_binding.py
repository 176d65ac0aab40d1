"""What the binding itself promises: every error class with the library's message, bad input refused
(never a crash), the monitor callback and its stop, exceptions from it, Ctrl-C, the GIL released
during runs, density into the caller's array, copies from the getters."""
import os
import signal
import threading
import time

import numpy as np
import pytest

import qdml
from qdml import _errors

BACKEND = os.environ.get("QDML_TEST_BACKEND", "cpu")


def problem(n=64, batch=1):
    ctx = qdml.Context(backend=BACKEND, threads=1)
    grid = qdml.Grid(n=n, box=[(-8, 8)])
    return qdml.Problem(ctx, grid, batch=batch), grid


def test_error_classes_map_every_status():
    names = {1: "InvalidArgument", 2: "OutOfMemory", 3: "Overflow", 4: "BackendError", 5: "Unavailable",
             6: "Diverged", 7: "NotReady", 8: "InternalError", 9: "FileError"}
    for status, name in names.items():
        cls = _errors.from_status(status)
        assert cls is getattr(qdml, name) and issubclass(cls, qdml.Error)


def test_invalid_argument_for_bad_input():
    p, grid = problem()
    with pytest.raises(qdml.InvalidArgument, match=r"shape \(3,\)"):
        p.set_potential(np.zeros(3))
    with pytest.raises(qdml.InvalidArgument, match="member 5"):
        p.set_potential(np.zeros(grid.shape), member=5)
    bad = np.zeros(grid.shape)
    bad[7] = np.nan
    with pytest.raises(qdml.InvalidArgument, match="not finite|NaN|nan"):
        p.set_potential(bad)
    with pytest.raises(qdml.InvalidArgument, match="unknown objective 'rastrign'.*rastrigin"):
        p.set_objective("rastrign")
    with pytest.raises(qdml.InvalidArgument, match="real"):
        p.set_potential(np.zeros(grid.shape, dtype=complex))
    with pytest.raises(qdml.InvalidArgument, match="mode"):
        p.evolve(dt=0.1, steps=1, mode="sideways")
    with pytest.raises(qdml.InvalidArgument, match="hbar"):
        p.set_hbar(-1.0)
    # non-contiguous input is converted, not refused
    p.set_potential((0.5 * np.linspace(-8, 8, 128) ** 2)[::2])


def test_not_ready_diverged_unavailable_file_and_memory():
    p, grid = problem()
    p.set_gaussian(center=(0.0,), width=(1.0,))
    with pytest.raises(qdml.NotReady, match="no potential"):
        p.ground()
    p.set_objective("harmonic")
    p.set_psi(np.zeros(grid.shape, dtype=complex))
    with pytest.raises(qdml.Diverged):
        p.evolve(dt=0.01, steps=10, mode="imag")
    with pytest.raises(qdml.FileError):
        p.load("/nonexistent/qdml.ckpt")
    if not qdml._qdml.backend_available(1):
        with pytest.raises(qdml.Unavailable):
            qdml.Context(backend="cuda")
    with pytest.raises((qdml.OutOfMemory, qdml.Overflow)):
        qdml.Problem(qdml.Context(backend="cpu", threads=1), qdml.Grid(n=(4096, 4096), box=[(0, 1), (0, 1)]),
                     batch=1 << 20)


def test_getters_copy_and_density_fills_the_callers_array():
    p, grid = problem()
    p.set_objective("harmonic")
    p.set_gaussian(center=(1.0,), width=(0.7,))
    a = p.psi
    a[:] = 0
    assert np.abs(p.psi).max() > 0  # the getter gave a copy
    out = np.full(grid.shape, -1.0)
    got = p.density(out=out)
    assert got is out and np.allclose(out, np.abs(p.psi) ** 2) and out.min() >= 0
    with pytest.raises(TypeError):
        p.density(out=np.zeros(grid.shape, dtype=np.float32))


def test_monitor_sees_statistics_and_can_stop():
    p, _ = problem()
    p.set_objective("harmonic")
    p.set_gaussian(center=(1.0,), width=(1.0,))
    seen = []

    def monitor(stats):
        seen.append(stats[0])
        return len(seen) == 3

    n0 = p.stats().norm
    r = p.evolve(dt=0.01, steps=1000, mode="real", monitor_every=10, monitor=monitor)[0]
    assert r.stopped_by_callback and r.steps == 30 and [s.step for s in seen] == [10, 20, 30]
    assert isinstance(seen[0], qdml.Stats) and abs(seen[0].norm - n0) < 1e-13


def test_an_exception_in_the_monitor_propagates_and_the_problem_stays_usable():
    p, _ = problem()
    p.set_objective("harmonic")
    p.set_gaussian(center=(1.0,), width=(1.0,))

    def monitor(stats):
        raise ValueError("from the monitor")

    n0 = p.stats().norm
    with pytest.raises(ValueError, match="from the monitor"):
        p.evolve(dt=0.01, steps=100, monitor_every=10, monitor=monitor)
    r = p.evolve(dt=0.01, steps=10)[0]
    assert r.final.step == 20 and abs(r.final.norm - n0) < 1e-13  # stopped at the first monitoring point


def test_ctrl_c_stops_a_run_at_a_monitoring_point():
    p, _ = problem(n=4096)
    p.set_objective("harmonic")
    p.set_gaussian(center=(1.0,), width=(1.0,))
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        p.evolve(dt=1e-3, steps=10_000_000, monitor_every=100)
    timer.cancel()
    assert time.monotonic() - t0 < 30
    s = p.stats()
    assert s.step % 100 == 0 and s.step > 0 and abs(s.norm - 1) < 1e-9
    p.evolve(dt=1e-3, steps=5)


def test_the_gil_is_released_during_a_run():
    p, _ = problem(n=4096)
    p.set_objective("harmonic")
    p.set_gaussian(center=(1.0,), width=(1.0,))
    done = threading.Event()

    def run():
        p.evolve(dt=1e-3, steps=3000)
        done.set()

    th = threading.Thread(target=run)
    th.start()
    count = 0
    while not done.is_set():
        count += 1
    th.join()
    assert count > 10_000, f"the main thread ran {count} iterations during the run"


def test_steps_without_statistics():
    p, _ = problem()
    q, _ = problem()
    for r in (p, q):
        r.set_objective("harmonic")
        r.set_gaussian(center=(1.0,), width=(1.0,), momentum=(0.5,))
    for _ in range(20):
        p.evolve(dt=0.01, steps=1)
        last = q.evolve(dt=0.01, steps=1, statistics=False)[0]
    assert np.array_equal(p.psi, q.psi)
    assert np.isnan(last.final.energy) and last.final.step == 20
    with pytest.raises(qdml.InvalidArgument, match="no monitoring"):
        q.evolve(dt=0.01, steps=5, monitor_every=1, statistics=False)
