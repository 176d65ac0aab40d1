"""The walkers (qdml_walkers.h, docs/walkers.md): the imaginary-time equation without a grid, in any
dimension, by diffusion Monte Carlo.

    import qdml
    w = qdml.Walkers(qdml.Context("cpu"), dim=100, walkers=2000, alpha=1.0)
    w.set_objective("harmonic")                   # or axes=(k, c): one value per axis each
    w.place(box=(-1, 1))
    r = w.run(dt=0.02, steps=2000)[0]             # one WalkersResult per member
    print(r.energy, "+-", r.energy_error)          # 50: d hbar w / 2
"""
from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _qdml


@dataclasses.dataclass(frozen=True)
class WalkersResult:
    """A run's estimates for one member: the growth and mixed energies and <f> with their 1-sigma errors
    (blocking analysis; NaN with fewer than 16 measured steps), the growth energy's correlation in steps,
    the mean acceptance and population, the lowest objective value seen since placing, the measured steps."""
    energy: float
    energy_error: float
    mixed_energy: float
    mixed_error: float
    mean_f: float
    mean_f_error: float
    correlation_steps: float
    acceptance: float
    mean_population: float
    best_f: float
    steps: int


def _member(m: Optional[int]) -> int:
    return -1 if m is None else int(m)


def _f64(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float64)).reshape(-1)


class Walkers:
    """A population of walkers per member for `batch` objectives in `dim` dimensions on ctx's backend.

    walkers: the target population of each member; seed: the random numbers' key (same seed, same backend:
    the same numbers on any number of threads); alpha > 0: the trial function exp(-alpha f / hbar), with its
    drift and a Metropolis test (needs an objective with a gradient), which high dimension needs;
    capacity: room per member as a multiple of `walkers` (0: 4). Runs release the GIL."""

    def __init__(self, ctx, dim: int, walkers: int = 10000, batch: int = 1, seed: int = 1, alpha: float = 0.0,
                 capacity: float = 0.0):
        self.ctx = ctx
        self._w = _qdml.Walkers(ctx._c, int(dim), int(batch), int(walkers), float(capacity), int(seed), float(alpha))

    @property
    def dim(self) -> int:
        return self._w.dim

    @property
    def batch(self) -> int:
        return self._w.batch

    def set_objective(self, spec: str, member: Optional[int] = None, axes=None) -> None:
        """A built-in objective by name ("rastrigin", "harmonic:k=2", ...). axes: its per-axis parameters, one
        value per axis each, in the kind's order (harmonic: k then c), as an array (params, dim)."""
        a = _f64(axes) if axes is not None else np.zeros(0)
        self._w.set_objective(_member(member), str(spec), a)

    def place(self, count: int = 0, x=None, box: Union[None, Tuple[float, float], Sequence[Tuple[float, float]]] = None,
              member: Optional[int] = None) -> None:
        """Walkers at the points x (array (count, dim)), or `count` of them (0: the target) uniform in box:
        (lo, hi) for every axis, one (lo, hi) per axis, or None for the objective's usual domain."""
        xs = _f64(x) if x is not None else np.zeros(0)
        lo = hi = np.zeros(0)
        if box is not None:
            b = np.asarray(box, dtype=np.float64)
            if b.ndim == 1:
                b = np.tile(b, (self.dim, 1))
            lo, hi = _f64(b[:, 0]), _f64(b[:, 1])
        self._w.place(_member(member), int(count), xs, lo, hi)

    def run(self, dt: float, steps: int, hbar: float = 1.0, mass: float = 1.0, equilibration: int = -1,
            feedback: float = 0.0) -> List[WalkersResult]:
        """equilibration (-1: steps / 4) then `steps` measured steps of every member, from where it stands."""
        r = self._w.run(float(dt), float(hbar), float(mass), int(steps), int(equilibration), float(feedback), 0.0, 0)
        return [WalkersResult(**d) for d in r]

    def anneal(self, dt: float, steps: int, hbar: float, hbar_end: float, stages: int, mass: float = 1.0,
               equilibration: int = -1, feedback: float = 0.0) -> List[WalkersResult]:
        """`stages` runs with hbar falling geometrically from hbar to hbar_end; the last stage's estimates."""
        r = self._w.run(float(dt), float(hbar), float(mass), int(steps), int(equilibration), float(feedback),
                        float(hbar_end), int(stages))
        return [WalkersResult(**d) for d in r]

    def best(self, member: int = 0) -> Tuple[np.ndarray, float]:
        """The lowest point any walker reached since placing, and f there."""
        return self._w.best(int(member))

    def positions(self, member: int = 0) -> np.ndarray:
        """The current walkers, array (n, dim)."""
        return self._w.positions(int(member))

    def summary(self, member: int = 0) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The current walkers' mean, width and mode per coordinate."""
        return self._w.summary(int(member))

    def __repr__(self) -> str:
        return f"qdml.Walkers({self.ctx!r}, dim={self.dim}, batch={self.batch})"


def blocking_error(x) -> Tuple[float, float]:
    """The mean of a time series and its standard error counting correlations (blocking analysis)."""
    return _qdml.blocking_error(_f64(x))


def extrapolate(dt: Sequence[float], e: Sequence[float], err: Sequence[float], order: int = 2) -> Tuple[float, float]:
    """Estimates at steps dt extrapolated to dt -> 0 (order 2: plain diffusion, 1: with a trial function)."""
    return _qdml.walkers_extrapolate([float(v) for v in dt], [float(v) for v in e], [float(v) for v in err], int(order))
