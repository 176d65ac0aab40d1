#!/usr/bin/python3
"""qdml ground against SciPy's eigsh (ARPACK's implicitly restarted Lanczos) on the same Hamiltonian.

Both solve H = -(1/2) lap + V on the same periodic grid with the same spectral kinetic term (T = k^2/2
in Fourier space, hbar = m = 1): eigsh through a LinearOperator whose product is two real FFTs
(scipy.fft with as many workers as qdml has threads) and a multiply by V, qdml as a user runs it
(`qdml ground --potential V.npy --box ... --tol 1e-9 --json`, process start, file read and FFT
planning included, after one untimed run that leaves FFTW's wisdom). eigsh's tol is the target
residual over the largest wanted |E|, so that both stop near ||H psi - E psi|| = 1e-9.

Errors are against the exact eigenvalues of the same discrete Hamiltonian: the dense spectrum of the
1D matrix (numpy.linalg.eigvalsh; the kinetic matrix built from its Fourier sum), and for the
separable 2D and 3D potentials the sums of the axes' dense spectra.

Each case runs qdml and eigsh alternately, --repeats times each (A B A B), and reports medians.
Writes perf/results/eigsh_peer.csv and .md, and the table into perf/RESULTS.md between the markers
`<!-- eigsh-peer:begin -->` and `<!-- eigsh-peer:end -->` (added at the top when missing).
"""
import argparse
import datetime
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy
import scipy.fft as sfft
from scipy.sparse.linalg import LinearOperator, eigsh

from results_md import put_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOL = 1e-9


def axis(n, lo, hi):
    L = hi - lo
    return lo + np.arange(n) * (L / n), 2.0 * np.pi * np.fft.fftfreq(n, d=L / n)


def dense_levels_1d(n, lo, hi, v1, count):
    """The lowest `count` eigenvalues of the 1D spectral Hamiltonian with potential v1 (values on the grid)."""
    x, k = axis(n, lo, hi)
    # Column l of T is the transform of the unit vector e_l times k^2 / 2, transformed back (real: even in k).
    t = np.fft.ifft((0.5 * k * k)[:, None] * np.fft.fft(np.eye(n), axis=0), axis=0).real
    h = 0.5 * (t + t.T) + np.diag(v1)
    return np.linalg.eigvalsh(h)[:count]


# A case: its axes (n, lo, hi, 1D potential of x on that axis), separable: V = sum of the axes' terms.
def dw(x):
    return 4.0 * (x * x - 2.0) ** 2


def ho(w):
    return lambda x: 0.5 * w * w * x * x


CASES = [
    # name, axes, K, what the issue asks of it
    ("double well 1D, 1024 points", [(1024, -6.0, 6.0, dw)], 1),
    ("double well 1D, 512 points, --states 3 (E1 - E0 = 1.5e-3)", [(512, -6.0, 6.0, dw)], 3),
    ("harmonic 2D, 256^2", [(256, -10.0, 10.0, ho(1.0))] * 2, 1),
    ("double well 2D, 256^2", [(256, -6.0, 6.0, dw), (256, -6.0, 6.0, ho(1.0))], 1),
    ("anisotropic harmonic 3D, 64^3 (w = 1, 1.5, 2)",
     [(64, -8.0, 8.0, ho(1.0)), (64, -8.0, 8.0, ho(1.5)), (64, -8.0, 8.0, ho(2.0))], 1),
    ("harmonic 2D, 256^2, --states 4 (E = 1, 2, 2, 3)", [(256, -10.0, 10.0, ho(1.0))] * 2, 4),
]


def exact_levels(axes, K):
    per = [dense_levels_1d(n, lo, hi, f(axis(n, lo, hi)[0]), K + 2) for (n, lo, hi, f) in axes]
    sums = sorted(sum(c) for c in itertools.product(*per))
    return np.array(sums[:K])


def potential(axes):
    grids = np.meshgrid(*[axis(n, lo, hi)[0] for (n, lo, hi, f) in axes], indexing="ij")
    return sum(f(g) for g, (n, lo, hi, f) in zip(grids, axes))


def run_eigsh(axes, K, V, threads, exact):
    shape = tuple(n for (n, lo, hi, f) in axes)
    ks = np.meshgrid(*[axis(n, lo, hi)[1] for (n, lo, hi, f) in axes], indexing="ij")
    t_full = 0.5 * sum(k * k for k in ks)
    # The half spectrum of the real transform along the last axis (fftfreq's index n/2 is -n/2: same k^2).
    t_half = t_full[..., : shape[-1] // 2 + 1].copy()
    count = [0]

    def matvec(v):
        count[0] += 1
        psi = np.asarray(v, dtype=np.float64).reshape(shape)
        tp = sfft.irfftn(t_half * sfft.rfftn(psi, workers=threads), s=shape, workers=threads)
        return (tp + V * psi).ravel()

    N = int(np.prod(shape))
    op = LinearOperator((N, N), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(1).standard_normal(N)
    tol = TOL / max(1.0, float(np.max(np.abs(exact))))
    t0 = time.perf_counter()
    w, vec = eigsh(op, k=K, which="SA", tol=tol, v0=v0)
    wall = time.perf_counter() - t0
    order = np.argsort(w)
    w, vec = w[order], vec[:, order]
    res = [float(np.linalg.norm(matvec(vec[:, j]) - w[j] * vec[:, j]) / np.linalg.norm(vec[:, j])) for j in range(K)]
    return {"time": wall, "energies": w.tolist(), "residuals": res, "applications": count[0] - K}


def run_qdml(exe, axes, K, vpath, threads):
    box = ",".join(f"{lo!r}:{hi!r}" for (n, lo, hi, f) in axes)
    cmd = [exe, "ground", "--potential", vpath, "--box", box, "--tol", repr(TOL), "--threads", str(threads), "--json"]
    if K > 1:
        cmd += ["--states", str(K)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"eigsh_peer: {' '.join(cmd)} failed ({p.returncode}): {p.stderr}")
    out = json.loads(p.stdout)
    energies = out["energies"] if K > 1 else [out["energy"]]
    residuals = out["residuals"] if K > 1 else [out["residual"]]
    return {"time": wall, "energies": energies, "residuals": residuals, "applications": out["hamiltonian_applications"],
            "steps": out["steps"], "method": out["method"], "converged": out["converged"]}


def fmt_err(energies, exact):
    return max(abs(a - b) for a, b in zip(energies, exact))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qdml", default=os.path.join(ROOT, "build", "qdml"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="the 1D cases only, one repeat")
    ap.add_argument("--no-results-md", action="store_true", help="do not touch perf/RESULTS.md")
    a = ap.parse_args()
    cases = CASES[:2] if a.quick else CASES
    reps = 1 if a.quick else a.repeats
    rows = []
    with tempfile.TemporaryDirectory(prefix="qdml-eigsh-") as tmp:
        for ci, (name, axes, K) in enumerate(cases):
            exact = exact_levels(axes, K)
            V = potential(axes)
            vpath = os.path.join(tmp, f"v{ci}.npy")
            np.save(vpath, V)
            print(f"[{ci + 1}/{len(cases)}] {name}: exact {', '.join(f'{e:.12g}' for e in exact)}", file=sys.stderr)
            run_qdml(a.qdml, axes, K, vpath, a.threads)  # untimed: FFTW's wisdom
            q, e = [], []
            for r in range(reps):
                q.append(run_qdml(a.qdml, axes, K, vpath, a.threads))
                e.append(run_eigsh(axes, K, V, a.threads, exact))
                print(f"    repeat {r + 1}: qdml {q[-1]['time']:.3f} s ({q[-1]['method']}, {q[-1]['applications']} H), "
                      f"eigsh {e[-1]['time']:.3f} s ({e[-1]['applications']} H)", file=sys.stderr)
            qt = statistics.median(x["time"] for x in q)
            et = statistics.median(x["time"] for x in e)
            rows.append({"case": name, "K": K, "points": int(V.size),
                         "qdml_time": qt, "qdml_method": q[-1]["method"], "qdml_steps": q[-1]["steps"],
                         "qdml_applications": q[-1]["applications"],
                         "qdml_error": fmt_err(q[-1]["energies"], exact), "qdml_residual": max(q[-1]["residuals"]),
                         "qdml_converged": q[-1]["converged"],
                         "eigsh_time": et, "eigsh_applications": e[-1]["applications"],
                         "eigsh_error": fmt_err(e[-1]["energies"], exact), "eigsh_residual": max(e[-1]["residuals"]),
                         "speedup": et / qt})
    os.makedirs(os.path.join(ROOT, "perf", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "perf", "results", "eigsh_peer.csv"), "w") as f:
        keys = list(rows[0].keys())
        f.write(",".join(keys) + "\n")
        for r in rows:
            f.write(",".join(json.dumps(r[k]) if isinstance(r[k], str) else repr(r[k]) for k in keys) + "\n")
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [f"## {stamp}: `qdml ground` against SciPy eigsh (perf/eigsh_peer.py)", "",
             f"Same spectral Hamiltonian and grid, residual target {TOL:g}, {a.threads} threads each, medians of "
             f"{reps} alternating runs; qdml timed as a process (start, file read, planning with wisdom), eigsh as "
             f"the call (SciPy {scipy.__version__}, NumPy {np.__version__}, scipy.fft with {a.threads} workers). "
             "Error: largest |E - E_exact| over the states, E_exact the dense spectrum of the same discrete H. "
             "H: Hamiltonian applications (qdml: LOBPCG's block products and measured residuals; eigsh: its "
             "operator products).", "",
             "| case | qdml | qdml iterations | qdml H | qdml error | qdml residual | eigsh | eigsh H | eigsh error "
             "| eigsh residual | eigsh / qdml |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['qdml_time']:.3f} s ({r['qdml_method']}) | {r['qdml_steps']} | "
                     f"{r['qdml_applications']} | {r['qdml_error']:.1e} | {r['qdml_residual']:.1e} | "
                     f"{r['eigsh_time']:.3f} s | {r['eigsh_applications']} | {r['eigsh_error']:.1e} | "
                     f"{r['eigsh_residual']:.1e} | {r['speedup']:.2f} |")
    table = "\n".join(lines) + "\n"
    with open(os.path.join(ROOT, "perf", "results", "eigsh_peer.md"), "w") as f:
        f.write(table)
    print(table)
    if not a.no_results_md and not a.quick:
        put_section("eigsh-peer", table)


if __name__ == "__main__":
    main()
