"""QHD's benchmark and qdml's classic functions by `qdml bench-opt`, into perf/RESULTS.md (section bench-opt)
and perf/results/bench-opt-*/:

1. the tables: `--suite qhd` at QHD's size (256^2, T = 10, dt = 1e-3), QHD and annealing; `--suite classic`
   in 2D (256^2) and 3D (64^3) the same way (--no-classic leaves those out);
2. the batch against the functions alone: `--suite qhd --method qhd --one-by-one` at 256^2 for T = 1
   (1000 steps: every step costs the same, the schedule's tables being rebuilt each one), repeated
   --repeats times; each run times the batch, then the 22 one after another (A B A B ...), and the
   medians and the median of the ratios are reported.
"""
import argparse
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile

from results_md import ROOT, put_section

QDML = os.path.join(ROOT, "build", "qdml")


def run(args, out):
    cmd = [QDML, "bench-opt"] + args + ["--out-dir", out]
    print("running:", " ".join(cmd[1:]), file=sys.stderr)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return open(os.path.join(out, "results.md")).read()


def seconds(md):
    q = float(re.search(r"QHD: .*?, ([0-9.]+) s\.", md, re.S).group(1))
    m = re.search(r"one after another: ([0-9.]+) s", md)
    return q, float(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="2")
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-classic", action="store_true")
    ap.add_argument("--no-results-md", action="store_true")
    a = ap.parse_args()
    common = ["--threads", a.threads, "--backend", a.backend]
    res = os.path.join(ROOT, "perf", "results")
    tables = []
    md = run(["--suite", "qhd", "--n", "256", "--time", "10", "--dt", "1e-3"] + common,
             os.path.join(res, "bench-opt-qhd"))
    tables.append(("QHD's 22 functions, 256², T = 10, dt = 1e-3 (QHD's setting)", md))
    if not a.no_classic:
        for dim, n in (("2", "256"), ("3", "64")):
            md = run(["--suite", "classic", "--dim", dim, "--n", n, "--time", "10", "--dt", "1e-3"] + common,
                     os.path.join(res, f"bench-opt-classic-{dim}d"))
            tables.append((f"qdml's classic functions in {dim}D, {n} points per axis, T = 10, dt = 1e-3", md))
    batch, alone, ratio = [], [], []
    scratch = tempfile.mkdtemp(prefix="qdml-bench-opt-")
    for _ in range(a.repeats):
        q, s = seconds(run(["--suite", "qhd", "--n", "256", "--time", "1", "--dt", "1e-3", "--method", "qhd",
                            "--one-by-one"] + common, scratch))
        batch.append(q)
        alone.append(s)
        ratio.append(s / q)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    text = (f"### Optimisation test functions in one batch (`perf/bench-opt`)\n\n"
            f"{datetime.date.today().isoformat()}, commit {commit}, {platform.machine()} with {os.cpu_count()} "
            f"cores, `--threads {a.threads} --backend {a.backend}`.\n\n"
            f"**The batch against the functions alone** (QHD's 22 at 256², 1000 steps of QHD's schedule, "
            f"{a.repeats} runs, each timing the batch and then the 22 one after another): the batch "
            f"{statistics.median(batch):.2f} s (runs: {', '.join(f'{x:.2f}' for x in batch)}), the 22 alone "
            f"{statistics.median(alone):.2f} s (runs: {', '.join(f'{x:.2f}' for x in alone)}); the batch is "
            f"{statistics.median(ratio):.2f}x faster (median of the runs' ratios).\n\n")
    for title, md in tables:
        text += f"**{title}**\n\n{md}\n"
    if not a.no_results_md:
        put_section("bench-opt", text)
    print(text)


if __name__ == "__main__":
    main()
