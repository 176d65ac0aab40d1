"""qdml for Python: quantum dynamics on grids (the Schrodinger equation in real and imaginary time) for
batches of potentials, over qdml's C library.

    import numpy as np, qdml
    ctx = qdml.Context()                                   # backend "auto": CUDA where a device is, else CPU
    grid = qdml.Grid(n=(128, 128), box=[(-8, 8), (-8, 8)])
    p = qdml.Problem(ctx, grid)
    p.potential = 0.5 * (grid.x[0] ** 2 + grid.x[1] ** 2)  # or p.set_objective("harmonic") or a callable
    p.set_gaussian(center=(1.0, -0.5), width=(1.0, 1.0))
    r = p.ground(tol=1e-8)[0]                              # one RunResult per member
    print(r.final.energy)                                  # 1.0, hbar = m = 1

Units: energies in the potential's units, lengths in the box's, hbar and mass per member (default 1).
Arrays: C order, the grid's shape (n0, n1, ...); states complex128, potentials and densities float64.
What a getter returns is a copy (the state may live on a GPU); setters read the array given (any
float64 / complex128 array is converted to C order first). Errors raise the classes of qdml._errors.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _qdml
from ._errors import (BackendError, Diverged, Error, FileError, InternalError, InvalidArgument, NotReady,
                      OutOfMemory, Overflow, Unavailable)
from ._walkers import Walkers, WalkersResult, blocking_error, extrapolate

__all__ = ["Context", "Grid", "Problem", "Stats", "RunResult", "MinimizeResult", "LowestStates", "Walkers", "WalkersResult",
           "blocking_error", "extrapolate", "objectives", "objective_minimum",
           "objective_domain", "objective_value", "version", "Error", "InvalidArgument", "OutOfMemory", "Overflow",
           "BackendError", "Unavailable", "Diverged", "NotReady", "InternalError", "FileError"]

__version__ = _qdml.version()
_BACKENDS = {"cpu": 0, "cuda": 1, "auto": 2}
_PRECISIONS = {"float64": 0, "float32": 1}
_MODES = {"real": 0, "imag": 1, "imaginary": 1}
_SPLITTINGS = {"strang": 0, "yoshida4": 1, "suzuki4": 2, "chin4": 3}
_METHODS = {"imaginary-time": 0, "lobpcg": 1, "auto": 2}


def version() -> str:
    """The C library's version."""
    return _qdml.version()


def _choice(name: str, value: str, table: dict) -> int:
    try:
        return table[value]
    except KeyError:
        raise InvalidArgument(f"{name}={value!r}: expected one of {', '.join(table)}") from None


class Context:
    """A backend and its threads: backend "cpu", "cuda" or "auto" (CUDA where a device is present);
    threads 0 for all cores; precision "float64" or "float32" (CUDA only)."""

    def __init__(self, backend: str = "auto", threads: int = 0, precision: str = "float64"):
        self._c = _qdml.Context(_choice("backend", backend, _BACKENDS), int(threads))
        if precision != "float64":
            self._c.set_precision(_choice("precision", precision, _PRECISIONS))

    @property
    def backend(self) -> str:
        """The backend in use ("cpu" or "cuda")."""
        return _qdml.backend_name(self._c.backend)

    @property
    def threads(self) -> int:
        return self._c.threads

    def __repr__(self) -> str:
        return f"qdml.Context(backend={self.backend!r}, threads={self.threads})"


class Grid:
    """A periodic grid: n points per axis (1 to 3 axes) on box [(lo, hi), ...], x_j = lo + j (hi - lo) / n."""

    def __init__(self, n: Union[int, Sequence[int]], box: Sequence[Tuple[float, float]]):
        self.n = (int(n),) if np.isscalar(n) else tuple(int(k) for k in n)
        self.box = tuple((float(a), float(b)) for a, b in box)
        if len(self.box) != len(self.n):
            raise InvalidArgument(f"Grid: {len(self.n)} axes in n but {len(self.box)} in box")

    @property
    def dim(self) -> int:
        return len(self.n)

    @property
    def shape(self) -> Tuple[int, ...]:
        return self.n

    def axis(self, k: int) -> np.ndarray:
        """The coordinates of axis k (n[k] values)."""
        lo, hi = self.box[k]
        return lo + np.arange(self.n[k]) * ((hi - lo) / self.n[k])

    @property
    def x(self) -> Tuple[np.ndarray, ...]:
        """The coordinates at every point, one array of the grid's shape per axis (indexing "ij")."""
        return tuple(np.meshgrid(*(self.axis(k) for k in range(self.dim)), indexing="ij"))

    @property
    def dv(self) -> float:
        """The volume element."""
        return float(np.prod([(b - a) / k for (a, b), k in zip(self.box, self.n)]))

    def __repr__(self) -> str:
        return f"qdml.Grid(n={self.n}, box={list(self.box)})"


@dataclasses.dataclass(frozen=True)
class Stats:
    """What monitoring measures of one member (qdml_stats): energies in the potential's units."""
    step: int
    time: float
    dt: float
    norm: float
    kinetic: float
    potential: float
    energy: float
    residual: float
    mean: Tuple[float, ...]
    width: Tuple[float, ...]
    density_max: float
    argmax: Tuple[float, ...]
    argmax_index: int

    @staticmethod
    def _of(d: dict) -> "Stats":
        return Stats(**{**d, "mean": tuple(d["mean"]), "width": tuple(d["width"]), "argmax": tuple(d["argmax"])})


@dataclasses.dataclass(frozen=True)
class RunResult:
    """The outcome of a run for one member (qdml_run_result)."""
    final: Stats
    steps: int
    converged: bool
    stopped_by_callback: bool
    diverged: bool
    finished: bool
    hamiltonian_applications: int
    method: str

    @staticmethod
    def _of(d: dict, search: bool = True) -> "RunResult":
        method = {0: "imaginary-time", 1: "lobpcg"}.get(d["method"], "") if search else ""
        return RunResult(final=Stats._of(d["final"]), steps=d["steps"], converged=d["converged"],
                         stopped_by_callback=d["stopped_by_callback"], diverged=d["diverged"], finished=d["finished"],
                         hamiltonian_applications=d["hamiltonian_applications"], method=method)


@dataclasses.dataclass(frozen=True)
class MinimizeResult:
    """The outcome of annealing for one member (qdml_minimize_result): the estimate of the global
    minimiser (a grid point) and f there."""
    argmin: Tuple[float, ...]
    f_min: float
    stage: int
    final_argmax: Tuple[float, ...]
    final_f: float
    steps: int
    converged: bool

    @staticmethod
    def _of(d: dict) -> "MinimizeResult":
        return MinimizeResult(**{**d, "argmin": tuple(d["argmin"]), "final_argmax": tuple(d["final_argmax"])})


@dataclasses.dataclass(frozen=True)
class LowestStates:
    """The lowest states of a Hamiltonian: energies and residuals ascending (k values), the states as
    an array (k, *grid shape), and each member's RunResult."""
    energies: np.ndarray
    residuals: np.ndarray
    psi: np.ndarray
    results: List[RunResult]


Monitor = Callable[[List[Stats]], Optional[bool]]


def _monitor(fn: Optional[Monitor]):
    if fn is None:
        return None
    return lambda stats: fn([Stats._of(s) for s in stats])


def _member(m: Optional[int]) -> int:
    return -1 if m is None else int(m)


class Problem:
    """A batch of `batch` members on `grid`, each with its potential, state, hbar and mass.

    Properties without a member act on every member (setting) or on member 0 (getting); the methods
    take `member` (None: every member, where that makes sense). Runs release the GIL; Ctrl-C stops a
    run at its next monitoring point (KeyboardInterrupt), leaving the states as the last monitoring
    point measured them, usable."""

    def __init__(self, ctx: Context, grid: Grid, batch: int = 1):
        self.ctx, self.grid = ctx, grid
        self._p = _qdml.Problem(ctx._c, list(grid.n), [a for a, _ in grid.box], [b for _, b in grid.box], int(batch))

    @property
    def batch(self) -> int:
        return self._p.batch

    # ---- inputs -------------------------------------------------------------------------------
    def set_potential(self, values, member: Optional[int] = None) -> None:
        """V on the grid (float64 array of the grid's shape) for one member or every member."""
        values = np.asarray(values)
        if values.dtype.kind not in "biuf":
            raise InvalidArgument(f"potential: a real array is needed, got dtype {values.dtype}")
        self._p.set_potential(_member(member), np.ascontiguousarray(values, dtype=np.float64))

    def get_potential(self, member: int = 0) -> np.ndarray:
        """A copy of member's potential."""
        return self._p.get_potential(int(member))

    potential = property(lambda self: self.get_potential(0), lambda self, v: self.set_potential(v))

    def set_objective(self, objective: Union[str, Callable[..., np.ndarray]], member: Optional[int] = None) -> None:
        """A built-in objective by spec ("rastrigin", "harmonic:k=1,4", ...; see objectives()), evaluated
        by the backend, or a Python callable f(x0, x1, ...) called once with the coordinate arrays of
        the whole grid (vectorised) and returning V of the grid's shape."""
        if isinstance(objective, str):
            self._p.set_objective(_member(member), objective)
            return
        values = np.asarray(objective(*self.grid.x), dtype=np.float64)
        if values.shape != self.grid.shape:
            values = np.broadcast_to(values, self.grid.shape)
        self.set_potential(values, member)

    def set_psi(self, psi, member: Optional[int] = None) -> None:
        """The state (complex128 array of the grid's shape), used as given (not renormalised)."""
        psi = np.asarray(psi)
        if psi.dtype.kind not in "biufc":
            raise InvalidArgument(f"psi: a numeric array is needed, got dtype {psi.dtype}")
        self._p.set_state(_member(member), np.ascontiguousarray(psi, dtype=np.complex128))

    def get_psi(self, member: int = 0) -> np.ndarray:
        """A copy of member's state."""
        return self._p.get_state(int(member))

    psi = property(lambda self: self.get_psi(0), lambda self, v: self.set_psi(v))

    def density(self, member: int = 0, out: Optional[np.ndarray] = None) -> np.ndarray:
        """|psi|^2 of member; into `out` (float64, C order, the grid's shape) without allocating when given."""
        if out is None:
            out = np.empty(self.grid.shape, dtype=np.float64)
        self._p.density_into(int(member), out)
        return out

    def set_gaussian(self, center: Sequence[float], width: Sequence[float], momentum: Sequence[float] = (),
                     member: Optional[int] = None) -> None:
        """A normalised Gaussian: |psi|^2 of standard deviation `width` per axis around `center`, wavenumber
        `momentum` (hbar k)."""
        self._p.set_gaussian(_member(member), [float(c) for c in center], [float(w) for w in width],
                             [float(k) for k in momentum])

    def set_uniform(self, member: Optional[int] = None) -> None:
        """The uniform state 1 / sqrt(box volume)."""
        self._p.set_uniform(_member(member))

    def set_hbar(self, hbar: float, member: Optional[int] = None) -> None:
        self._p.set_hbar(_member(member), float(hbar))

    def set_mass(self, mass: float, member: Optional[int] = None) -> None:
        self._p.set_mass(_member(member), float(mass))

    hbar = property(lambda self: self._p.get_hbar(0), lambda self, v: self.set_hbar(v))
    mass = property(lambda self: self._p.get_mass(0), lambda self, v: self.set_mass(v))

    # ---- runs ---------------------------------------------------------------------------------
    def evolve(self, dt: float, steps: int, mode: str = "real", splitting: str = "strang", monitor_every: int = 0,
               renormalize: bool = True, monitor: Optional[Monitor] = None, statistics: bool = True) -> List[RunResult]:
        """`steps` split steps of `dt` in real ("real") or imaginary ("imag") time; statistics every
        `monitor_every` steps (0: at the end) passed to `monitor` (return True to stop).

        statistics=False takes the steps only, for loops of a few steps a call: no check of the start, no
        backup, nothing measured (final's energies are NaN; stats() measures when wanted), a state that
        turns non-finite is not noticed, Ctrl-C waits for the call's end; the states are the same, bit for
        bit. Needs monitor_every=0 and no monitor."""
        r = self._p.evolve(_choice("mode", mode, _MODES), float(dt), int(steps), int(monitor_every), int(renormalize),
                           _choice("splitting", splitting, _SPLITTINGS), int(not statistics), _monitor(monitor))
        return [RunResult._of(d, search=False) for d in r]

    def ground(self, tol: float = 1e-6, method: str = "auto", max_steps: int = 0, monitor_every: int = 0,
               guard_states: int = 0, monitor: Optional[Monitor] = None) -> List[RunResult]:
        """Each member's ground state, until the residual ||H psi - E psi|| / ||psi|| <= tol: by LOBPCG
        ("lobpcg"), imaginary time ("imaginary-time") or the faster where it applies ("auto")."""
        r = self._p.ground(float(tol), int(max_steps), _choice("method", method, _METHODS), int(monitor_every),
                           int(guard_states), 0, _monitor(monitor))
        return [RunResult._of(d) for d in r]

    def lowest_states(self, k: Optional[int] = None, tol: float = 1e-6, method: str = "auto", max_steps: int = 0,
                      monitor_every: int = 0, guard_states: int = 0, seed: int = 0,
                      monitor: Optional[Monitor] = None) -> "LowestStates":
        """The k lowest states of member 0's Hamiltonian (its potential, hbar and mass), until each
        residual is <= tol. With k: on a problem of k members made for it, started from seeded random
        states (independent, overlapping every low state); this problem is left as it was. Without k:
        this problem's members, which must share potential, hbar and mass, from their current states
        (linearly independent), member b becoming the b-th state."""
        prob = self
        if k is not None:
            if int(k) < 1:
                raise InvalidArgument(f"lowest_states: k = {k}: at least 1")
            prob = Problem(self.ctx, self.grid, batch=int(k))
            prob.set_potential(self.get_potential(0))
            prob.set_hbar(self._p.get_hbar(0))
            prob.set_mass(self._p.get_mass(0))
            rng = np.random.default_rng(seed)
            for b in range(int(k)):
                prob.set_psi(1.0 + rng.normal(size=self.grid.shape) + 1j * rng.normal(size=self.grid.shape), member=b)
        r = prob._p.ground(float(tol), int(max_steps), _choice("method", method, _METHODS), int(monitor_every),
                           int(guard_states), 1, _monitor(monitor))
        results = [RunResult._of(d) for d in r]
        return LowestStates(energies=np.array([x.final.energy for x in results]),
                            residuals=np.array([x.final.residual for x in results]),
                            psi=np.stack([prob.get_psi(b) for b in range(prob.batch)]), results=results)

    def minimize(self, hbar_start: float = 0.0, hbar_end: float = 0.0, stages: int = 0, tol: float = 0.0,
                 max_steps: int = 0, reseed: float = -1.0, monitor: Optional[Monitor] = None) -> List[MinimizeResult]:
        """Annealing in hbar: ground states at hbar falling geometrically from hbar_start to hbar_end over
        `stages` stages (0s: the library's defaults); the global minimiser's estimate per member."""
        r = self._p.minimize(float(hbar_start), float(hbar_end), int(stages), float(tol), int(max_steps), float(reseed),
                             _monitor(monitor))
        return [MinimizeResult._of(d) for d in r]

    # ---- what the states say ------------------------------------------------------------------
    def stats(self, member: int = 0) -> Stats:
        return Stats._of(self._p.stats(int(member)))

    def history(self, member: int = 0) -> List[Stats]:
        """The statistics recorded at every monitoring point since member's state was set."""
        return [Stats._of(d) for d in self._p.history(int(member))]

    def success_probability(self, centers, radius: float, member: int = 0) -> float:
        """The share of |psi|^2 within `radius` of the nearest of `centers` (array (k, dim))."""
        c = np.ascontiguousarray(np.atleast_2d(np.asarray(centers, dtype=np.float64)))
        return self._p.success_probability(int(member), c, float(radius))

    # ---- checkpoints --------------------------------------------------------------------------
    def save(self, path: str) -> None:
        """The whole problem (states, potentials, clocks, histories) into a checkpoint file, atomically."""
        self._p.save(str(path))

    def load(self, path: str) -> None:
        """A checkpoint saved from a problem of the same grid and batch."""
        self._p.load(str(path))

    def __repr__(self) -> str:
        return f"qdml.Problem({self.ctx!r}, {self.grid!r}, batch={self.batch})"


def objectives() -> List[str]:
    """The names of the built-in objectives (docs/objectives.md)."""
    return list(_qdml.objective_names())


def objective_minimum(spec: str, dim: int) -> Tuple[np.ndarray, float]:
    """Every known global minimiser (array (k, dim)) and the minimum of a built-in objective."""
    return _qdml.objective_minimum(spec, int(dim))


def objective_domain(spec: str, dim: int) -> List[Tuple[float, float]]:
    """The objective's usual box, [(lo, hi), ...]."""
    lo, hi = _qdml.objective_domain(spec, int(dim))
    return list(zip(lo, hi))


def objective_value(spec: str, x: Sequence[float]) -> float:
    """The objective at one point x."""
    return _qdml.objective_eval(spec, [float(v) for v in x])
