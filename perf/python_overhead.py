"""The Python binding's overhead: 1000 calls of Problem.evolve(steps=1) against one call of
evolve(steps=1000), the same real-time steps on the same problem, for a small, a middle and a large
grid (CPU backend, 2 threads), and the same two from C (build/perf/qdml_bench_calls), so that what the
binding adds per call (Python loop minus C loop) is told apart from what every call of
qdml_problem_evolve costs (its start, backup and closing statistics). Python and C alternate
(A B A B ...) --repeats times; medians go to perf/RESULTS.md (section python-overhead). Run by
perf/python-overhead with the package installed (scripts/test-python's environment)."""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import time

import numpy as np

import qdml
from results_md import ROOT, put_section

CASES = [("1D, 256 points", (256,)), ("2D, 128²", (128, 128)), ("2D, 256²", (256, 256))]
BENCH = os.path.join(ROOT, "build", "perf", "qdml_bench_calls")


def c_run(n, threads):
    out = subprocess.run([BENCH, *map(str, n), str(threads), "1"], check=True, capture_output=True, text=True).stdout
    loop, one = map(float, out.split())
    return loop, one


def problem(ctx, n):
    grid = qdml.Grid(n=n, box=[(-8.0, 8.0)] * len(n))
    p = qdml.Problem(ctx, grid)
    p.potential = 0.5 * sum(x ** 2 for x in grid.x)
    p.set_gaussian(center=[0.5] * len(n), width=[1.0] * len(n))
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-results-md", action="store_true")
    a = ap.parse_args()
    ctx = qdml.Context(backend="cpu", threads=a.threads)
    rows = []
    for name, n in CASES:
        p = problem(ctx, n)
        p.evolve(dt=1e-3, steps=50)  # plans, caches
        loop, one, cloop, cone, bare = [], [], [], [], []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            for _ in range(1000):
                p.evolve(dt=1e-3, steps=1)
            loop.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for _ in range(1000):
                p.evolve(dt=1e-3, steps=1, statistics=False)
            bare.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            p.evolve(dt=1e-3, steps=1000)
            one.append(time.perf_counter() - t0)
            cl, co = c_run(n, a.threads)
            cloop.append(cl)
            cone.append(co)
        med = statistics.median
        rows.append((name, med(loop), med(one), med(cloop), med(cone), med([x / y for x, y in zip(loop, one)]),
                     med([x / y for x, y in zip(loop, cloop)]), med([x - y for x, y in zip(loop, cloop)]) / 1000, med(bare),
                     med([x / y for x, y in zip(bare, one)])))
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    text = (f"### The Python binding's overhead (`perf/python-overhead`)\n\n"
            f"{datetime.date.today().isoformat()}, commit {commit}, {platform.machine()} with {os.cpu_count()} cores, "
            f"CPU backend, {a.threads} threads, Python {platform.python_version()}: 1000 calls of "
            f"`evolve(steps=1)` against one `evolve(steps=1000)` (real time, the oscillator), in Python and in C "
            f"(`qdml_bench_calls`), medians of {a.repeats} alternating runs. The binding's own cost per call is "
            f"the median over the runs of (Python loop − C loop) / 1000 (where a call costs far more than the binding, "
            f"as at 256², it is within the machine's run-to-run noise, of either sign); the rest of a loop's excess over one call is what every call of "
            f"`qdml_problem_evolve` does (its backup of the start and its closing statistics, an FFT pair), the "
            f"same from C; `statistics=False` (the steps alone) leaves that out.\n\n"
            f"| grid | Python: 1000 calls | Python: one call | ratio | C: 1000 calls | C: one call | Python loop / C loop "
            f"| binding per call | Python: 1000 calls, statistics=False | ratio |\n"
            f"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for name, l, o, cl, co, r, rc, per, b, rb in rows:
        text += (f"| {name} | {l * 1e3:.1f} ms | {o * 1e3:.1f} ms | {r:.2f} | {cl * 1e3:.1f} ms | {co * 1e3:.1f} ms | "
                 f"{rc:.2f} | {per * 1e6:.1f} µs | {b * 1e3:.1f} ms | {rb:.2f} |\n")
    if not a.no_results_md:
        put_section("python-overhead", text)
    print(text)


if __name__ == "__main__":
    main()
