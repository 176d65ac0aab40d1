#!/usr/bin/python3
"""qdml ground against XMDS2 on the 2D harmonic oscillator's ground state, 256^2, |E - E0| <= 1e-8.

XMDS2 runs perf/peers/ho2d_ground.xmds (imaginary time, RK4 in the interaction picture, the cheapest
setting tried that reaches the accuracy), compiled once with `xmds2` (timed apart); qdml runs
`qdml ground --objective harmonic --dim 2 --n 256 --box -10:10 --tol 1e-4` (LOBPCG; a residual of
1e-4 leaves |E - E0| ~ 1e-11). Both with 2 threads, timed as whole processes. Each keeps its FFTW
wisdom in a fresh folder of its own (XMDS2 in $HOME/.xmds, qdml with --wisdom): the first run of each
plans (timed and reported apart), the next runs alternate, A B A B, and the medians are compared.
Writes perf/results/xmds2_peer.md and the table into perf/RESULTS.md between the markers
`<!-- xmds2-peer:begin -->` and `<!-- xmds2-peer:end -->`.
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
from results_md import put_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd, cwd, env=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"xmds2_peer: {' '.join(cmd)} failed ({p.returncode}): {p.stderr[-2000:]}")
    return wall, p.stdout


def xmds_energy(folder):
    with h5py.File(os.path.join(folder, "ho2d_ground.h5"), "r") as f:
        return float((f["1/Ekin"][()] + f["2/Epot"][()]) / f["2/Nrm"][()])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qdml", default=os.path.join(ROOT, "build", "qdml"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-results-md", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qdml-xmds2-") as tmp:
        xdir, home = os.path.join(tmp, "xmds"), os.path.join(tmp, "home")
        os.makedirs(xdir)
        os.makedirs(home)
        shutil.copy(os.path.join(ROOT, "perf", "peers", "ho2d_ground.xmds"), xdir)
        env = dict(os.environ, HOME=home)
        build, _ = timed(["xmds2", "ho2d_ground.xmds"], xdir, env)
        print(f"xmds2 compiled the script in {build:.1f} s", file=sys.stderr)
        wisdom = os.path.join(tmp, "qdml.wisdom")
        qcmd = [a.qdml, "ground", "--objective", "harmonic", "--dim", "2", "--n", "256", "--box", "-10:10", "--tol",
                "1e-4", "--threads", "2", "--wisdom", wisdom, "--json"]
        xfirst, _ = timed(["./ho2d_ground"], xdir, env)
        qfirst, out = timed(qcmd, tmp)
        print(f"first runs (planning): xmds2 {xfirst:.3f} s, qdml {qfirst:.3f} s", file=sys.stderr)
        xs, qs, xe, qe = [], [], None, None
        for r in range(a.repeats):
            t, _ = timed(["./ho2d_ground"], xdir, env)
            xs.append(t)
            xe = xmds_energy(xdir)
            t, out = timed(qcmd, tmp)
            qs.append(t)
            res = json.loads(out)
            qe = res["energy"]
            print(f"  repeat {r + 1}: xmds2 {xs[-1]:.3f} s, qdml {qs[-1]:.3f} s", file=sys.stderr)
        xm, qm = statistics.median(xs), statistics.median(qs)
        version = subprocess.run(["xmds2", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [f"## {stamp}: `qdml ground` against XMDS2 (perf/xmds2_peer.py)", "",
             "2D harmonic oscillator, 256², box [-10, 10)², to |E − E0| ≤ 1e-8, whole processes, 2 threads each, "
             f"medians of {a.repeats} alternating runs after one first run each (their planning, with an empty "
             f"wisdom file of their own). {version}; perf/peers/ho2d_ground.xmds (compiled once, in {build:.1f} s). "
             "qdml: `qdml ground --objective harmonic --dim 2 --n 256 --box -10:10 --tol 1e-4` (LOBPCG).", "",
             "| program | first run | later runs (median, min–max) | error abs(E − 1) | XMDS2 / qdml |",
             "|---|---|---|---|---|",
             f"| XMDS2 | {xfirst:.3f} s | {xm:.3f} s ({min(xs):.3f}–{max(xs):.3f}) | {abs(xe - 1):.1e} | |",
             f"| qdml | {qfirst:.3f} s | {qm:.3f} s ({min(qs):.3f}–{max(qs):.3f}) | {abs(qe - 1):.1e} | {xm / qm:.1f} |"]
    table = "\n".join(lines) + "\n"
    os.makedirs(os.path.join(ROOT, "perf", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "perf", "results", "xmds2_peer.md"), "w") as f:
        f.write(table)
    print(table)
    if not a.no_results_md:
        put_section("xmds2-peer", table)


if __name__ == "__main__":
    main()
