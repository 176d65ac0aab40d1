#!/usr/bin/env python3
"""Walker-steps per second of the walkers (qdml_walkers.h) against their floor, for d = 10, 100, 1000 and
W = 10^4 to 10^6 (perf/walkers_steps.c): the floor is what a step cannot avoid per walker, its d normals
(Philox4x32-10 + Box-Muller) and one evaluation of the objective, timed on the same threads.

Runs build/perf/qdml_walkers_steps for each (objective, d, W), which alternates floor and steps `--repeats`
times and reports medians. Writes perf/results/walkers-throughput/runs.csv and the section between
<!-- walkers-throughput:begin --> and <!-- walkers-throughput:end --> of perf/RESULTS.md.
Usage: perf/walkers-throughput [--quick] [--threads N] [--repeats R] [--backend cpu|cuda] [--no-results-md]
"""
import argparse
import csv
import datetime
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROG = os.path.join(ROOT, "build", "perf", "qdml_walkers_steps")
OUT = os.path.join(ROOT, "perf", "results", "walkers-throughput")
sys.path.insert(0, os.path.join(ROOT, "perf"))
from results_md import put_section  # noqa: E402

CASES = [(10, 10**4), (10, 10**5), (10, 10**6), (100, 10**4), (100, 10**5), (100, 10**6), (1000, 10**4),
         (1000, 10**5)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="W = 10^4 only")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--no-results-md", action="store_true")
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for objective in ("harmonic", "rastrigin"):
        for d, w in CASES:
            if a.quick and w > 10**4:
                continue
            steps = max(2, min(50, int(3e6 / (w * max(1, d / 10)))))
            cmd = [PROG, "--objective", objective, "--dim", str(d), "--walkers", str(w), "--steps", str(steps),
                   "--repeats", str(a.repeats), "--threads", str(a.threads), "--backend", a.backend]
            print(" ".join(cmd), file=sys.stderr, flush=True)
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            rows.append(r)
            print(f"  {objective} d={d} W={w}: {r['walker_steps_per_s']:.3g} walker-steps/s, "
                  f"{r['per_core']:.3g} per core, floor {r['floor_walker_steps_per_s']:.3g}, "
                  f"step / floor {r['step_over_floor']:.2f}", file=sys.stderr, flush=True)
    with open(os.path.join(OUT, "runs.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        wr.writeheader()
        wr.writerows(rows)
    if a.no_results_md:
        return
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    lines = [f"## {when}: walkers, walker-steps per second against the floor (perf/walkers_throughput.py)", "",
             f"Machine: {platform.node()}, {a.threads} threads, backend {a.backend}, commit {commit}; medians of "
             f"{a.repeats} runs, floor and steps alternating. A walker-step is one walker's move, evaluation, weight "
             "and branching; the floor is its d normals (Philox4x32-10, Box-Muller) and one evaluation of the "
             "objective at the population's own positions, nothing else. Plain diffusion (no trial function). "
             "Ratios below 1 are this shared machine's noise: the step does the floor's work and more.", "",
             "| objective | d | W | walker-steps/s | per core | floor | step / floor |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['objective']} | {r['dim']} | {r['walkers']:.0e} | {r['walker_steps_per_s']:.3g} | "
                     f"{r['per_core']:.3g} | {r['floor_walker_steps_per_s']:.3g} | {r['step_over_floor']:.2f} |")
    lines += ["", "No GPU figure: the CUDA walkers have not run on a device yet.", ""]
    put_section("walkers-throughput", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
