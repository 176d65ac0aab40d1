"""Runs `qdml bench-opt --suite qhd --one-by-one` (QHD's setting by default: 256^2, T = 10, dt = 1e-3)
and writes its table, with the machine, the commit and the date, into perf/RESULTS.md (section
bench-opt) and perf/results/bench-opt-qhd/."""
import argparse
import datetime
import os
import platform
import subprocess
import sys

from results_md import ROOT, put_section


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", default="2")
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--n", default="256")
    ap.add_argument("--time", default="10")
    ap.add_argument("--dt", default="1e-3")
    ap.add_argument("--no-results-md", action="store_true")
    a = ap.parse_args()
    out = os.path.join(ROOT, "perf", "results", "bench-opt-qhd")
    cmd = [os.path.join(ROOT, "build", "qdml"), "bench-opt", "--suite", "qhd", "--n", a.n, "--time", a.time,
           "--dt", a.dt, "--threads", a.threads, "--backend", a.backend, "--one-by-one", "--out-dir", out]
    print("running:", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    table = open(os.path.join(out, "results.md")).read()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    cpus = os.cpu_count()
    head = (f"### QHD's 22-function benchmark in one batch (`perf/bench-opt`)\n\n"
            f"{datetime.date.today().isoformat()}, commit {commit}, {platform.machine()} with {cpus} cores, "
            f"`--threads {a.threads} --backend {a.backend}`; `{' '.join(cmd[1:-2])}`. One run (the batch and "
            f"the 22 alone are timed in the same run, one after the other).\n\n")
    if not a.no_results_md:
        put_section("bench-opt", head + table + "\n")
    print(head + table)


if __name__ == "__main__":
    main()
