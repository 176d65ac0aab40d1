#!/usr/bin/env python3
"""One grid in slabs over MPI ranks (qdml_mpi.h, QDML_MPI_SLABS): time per step on 1 and 2 ranks, the
exchanges' share of a step, a model of strong and weak scaling of the slab layout against 100 and 400 Gb/s
networks, and the largest grid that fits in N nodes.

Runs build/perf/qdml_mpi_steps (perf/mpi_steps.c) for each grid, alternating, `--repeats` times:
  plain    the CPU backend in one process, --threads 2 (no MPI)
  1 rank   the slab layout on one rank, --threads 2
  2 ranks  the slab layout on two ranks, --threads 1 each (the same two cores)
and takes medians. Writes perf/results/mpi-scaling/runs.csv (every run), summary.json, and the section
between <!-- mpi-scaling:begin --> and <!-- mpi-scaling:end --> of perf/RESULTS.md.

The model (stated with the table): a step is two transforms, each one all-to-all in which every rank
sends (P - 1) / P of its slab, 16 N / P bytes (complex128, N points, P ranks, one rank per node); at a
node's injection bandwidth BW the exchanges of a step take 2 * 16 (N / P) (P - 1) / P / BW (bandwidth
only; no latency, no contention beyond the node's link). The arithmetic of a step is this machine's
measured time per point per step (1 rank, 2 cores) times N / P; a node with C cores would take about
2 / C of that where the transforms scale with cores, which makes the exchanges' share larger. The slab
layout uses at most n0 ranks (one plane each).
"""
import argparse
import csv
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROG = os.path.join(ROOT, "build", "perf", "qdml_mpi_steps")
OUT = os.path.join(ROOT, "perf", "results", "mpi-scaling")
RESULTS = os.path.join(ROOT, "perf", "RESULTS.md")
BEGIN, END = "<!-- mpi-scaling:begin -->", "<!-- mpi-scaling:end -->"


def run(kind, n, steps, extra=()):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="2")
    base = [PROG, "--n", str(n), "--steps", str(steps)] + list(extra)
    if kind == "plain":
        cmd = base + ["--threads", "2", "--plain"]
    elif kind == "1 rank":
        cmd = ["mpirun", "-np", "1", "--bind-to", "none"] + base + ["--threads", "2"]
    else:
        cmd = ["mpirun", "-np", "2", "--oversubscribe", "--bind-to", "none"] + base + ["--threads", "1"]
    print(f"  {kind:8s} n = {n}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    line = [l for l in out.splitlines() if l.startswith("{")][-1]
    r = json.loads(line)
    r["kind"] = kind
    return r


def git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:
        return "unknown"


def fmt_s(t):
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def model_tables(per_point, bytes_per_point):
    """Strong scaling of 1024^3 and 2048^3, weak scaling at 256^3 and 512^3 per node, against 100 and 400 Gb/s."""
    bws = {"100 Gb/s": 100e9 / 8, "400 Gb/s": 400e9 / 8}
    lines = []
    lines.append("**Strong scaling (model)**: one grid, P nodes of one rank each; arithmetic = this machine's "
                 f"{per_point * 1e9:.2f} ns per point per step (1 rank, 2 cores) x N / P; exchange = 2 x 16 (N/P) (P-1)/P bytes "
                 "per node per step at the link's bandwidth.\n")
    lines.append("The last column assumes a node of 64 cores whose transforms go 32x faster than these 2 cores "
                 "(linear in cores: an assumption, not a measurement); there the exchange weighs far more.\n")
    lines.append("| grid | P | bytes sent per node per step | arithmetic per step (this machine) | exchange at 100 Gb/s | exchange at 400 Gb/s | exchange share at 100 / 400 Gb/s | share at 100 / 400 Gb/s, 64-core node |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in (1024, 2048):
        N = n ** 3
        for P in (2, 8, 32, 128, 512, 1024, 2048):
            if P > n:
                continue
            sent = 2 * 16 * (N / P) * (P - 1) / P
            comp = per_point * N / P
            ex = {k: sent / v for k, v in bws.items()}
            share = " / ".join(f"{ex[k] / (ex[k] + comp):.0%}" for k in bws)
            share64 = " / ".join(f"{ex[k] / (ex[k] + comp / 32):.0%}" for k in bws)
            lines.append(f"| {n}³ | {P} | {sent / 2**30:.2f} GiB | {fmt_s(comp)} | {fmt_s(ex['100 Gb/s'])} | "
                         f"{fmt_s(ex['400 Gb/s'])} | {share} | {share64} |")
    lines.append("")
    lines.append("**Weak scaling (model)**: a fixed slab per node; the bytes a node sends per step approach 32 N/P "
                 "as P grows (every rank sends (P-1)/P of its slab twice), so time per step stays flat while the "
                 "network's bisection keeps up, and the slab layout stops at P = n0 (then pencils are needed).\n")
    lines.append("| points per node | P | grid | bytes sent per node per step | arithmetic per step | exchange at 100 Gb/s | exchange at 400 Gb/s |")
    lines.append("|---|---:|---|---:|---:|---:|---:|")
    for m in (256, 512):
        per_node = m ** 3
        for P in (1, 8, 64, 512):
            N = per_node * P
            n0 = round(N ** (1 / 3))
            if P > n0:
                continue
            sent = 2 * 16 * per_node * (P - 1) / P
            comp = per_point * per_node
            lines.append(f"| {m}³ | {P} | ≈{n0}³ | {sent / 2**30:.2f} GiB | {fmt_s(comp)} | "
                         f"{fmt_s(sent / bws['100 Gb/s'])} | {fmt_s(sent / bws['400 Gb/s'])} |")
    lines.append("")
    lines.append(f"**The largest cubic grid that fits** (one member, the slab layout's {bytes_per_point:.0f} bytes per point "
                 "measured as the largest resident set of the ranks over the points, 90 % of the memory used, n a multiple of 64):\n")
    lines.append("| nodes | 256 GiB each | 512 GiB each | 1 TiB each |")
    lines.append("|---:|---|---|---|")
    for nodes in (1, 2, 4, 8, 16, 64, 256, 1024):
        cells = []
        for mem in (256, 512, 1024):
            total = 0.9 * nodes * mem * 2**30
            n = int((total / bytes_per_point) ** (1 / 3)) // 64 * 64
            n = min(n, 64 * 10**6)
            cells.append(f"{n}³ ({n**3 * bytes_per_point / nodes / 2**30:.0f} GiB/node)" if n >= nodes else "—")
        lines.append(f"| {nodes} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="256,512")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", default="5,2", help="steps per run for each size")
    ap.add_argument("--no-results-md", action="store_true")
    ap.add_argument("--batch", default="16:256:2",
                    help="members:points per axis:dim of the batch-layout comparison (FFTW_MEASURE), or 'none'")
    ap.add_argument("--batch-steps", type=int, default=100)
    ap.add_argument("--batch-only", action="store_true",
                    help="run the batch comparison only; the slab tables come from perf/results/mpi-scaling/runs.csv")
    ap.add_argument("--from-runs", action="store_true",
                    help="no runs: rebuild the tables from perf/results/mpi-scaling/runs.csv (the commit is then unknown)")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    steps = [int(s) for s in a.steps.split(",")]
    steps += [steps[-1]] * (len(sizes) - len(steps))
    os.makedirs(OUT, exist_ok=True)
    runs = []
    batch_repeats = a.repeats
    if a.batch_only:
        a.from_runs = True
    if a.from_runs:
        with open(os.path.join(OUT, "runs.csv")) as f:
            for r in csv.DictReader(f):
                for k in ("n", "ranks", "threads", "steps", "max_rss_kib"):
                    r[k] = int(float(r[k]))
                for k in ("step_s", "alltoall_s", "qdml_comm_s", "slab_bytes", "create_s"):
                    r[k] = float(r[k])
                runs.append(r)
        sizes = sorted({r["n"] for r in runs})
        a.repeats = len([r for r in runs if r["n"] == sizes[0] and r["kind"] == "plain"])
    for n, st in zip(sizes, steps if not a.from_runs else []):
        for r in range(a.repeats):
            print(f"{n}^3, round {r + 1} of {a.repeats}", file=sys.stderr, flush=True)
            order = ["plain", "1 rank", "2 ranks"] if r % 2 == 0 else ["2 ranks", "1 rank", "plain"]
            for kind in order:
                runs.append(run(kind, n, st))
    # The batch layout against one process: B members, MEASURE plans (one process then takes its member path
    # and multi-step op; the ranks issue single ops, docs/mpi.md).
    batch_runs = []
    bpath = os.path.join(OUT, "batch_runs.csv")
    if a.batch != "none" and (a.batch_only or not a.from_runs):
        bm, bn, bd = (int(x) for x in a.batch.split(":"))
        extra = ["--batch", str(bm), "--dim", str(bd), "--effort", "measure"]
        for r in range(batch_repeats):
            print(f"batch {bm} x {bn}^{bd}, round {r + 1} of {batch_repeats}", file=sys.stderr, flush=True)
            order = ["plain", "1 rank", "2 ranks"] if r % 2 == 0 else ["2 ranks", "1 rank", "plain"]
            for kind in order:
                batch_runs.append(run(kind, bn, a.batch_steps, extra))
        with open(bpath, "w", newline="") as f:
            keys = ["kind", "n", "dim", "batch", "ranks", "threads", "steps", "step_s", "qdml_comm_s", "max_rss_kib"]
            w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
            w.writeheader()
            w.writerows(batch_runs)
        open(os.path.join(OUT, "batch_commit"), "w").write(git_commit() + "\n")
    elif os.path.exists(bpath):
        with open(bpath) as f:
            for r in csv.DictReader(f):
                for k in ("n", "dim", "batch", "ranks", "threads", "steps", "max_rss_kib"):
                    r[k] = int(float(r[k]))
                for k in ("step_s", "qdml_comm_s"):
                    r[k] = float(r[k])
                batch_runs.append(r)
    commit = git_commit() if not a.from_runs else open(os.path.join(OUT, "commit")).read().strip()
    if not a.from_runs:
        open(os.path.join(OUT, "commit"), "w").write(commit + "\n")
    with open(os.path.join(OUT, "runs.csv"), "w", newline="") as f:
        keys = ["kind", "n", "ranks", "threads", "steps", "step_s", "alltoall_s", "qdml_comm_s", "slab_bytes",
                "create_s", "max_rss_kib"]
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        w.writerows(runs)
    summary = {}
    for n in sizes:
        for kind in ("plain", "1 rank", "2 ranks"):
            rs = [r for r in runs if r["n"] == n and r["kind"] == kind]
            summary[f"{n} {kind}"] = {
                "step_s": statistics.median(r["step_s"] for r in rs),
                "runs": [r["step_s"] for r in rs],
                "alltoall_s": statistics.median(r["alltoall_s"] for r in rs),
                "qdml_comm_s": statistics.median(r["qdml_comm_s"] for r in rs),
                "max_rss_kib": max(r["max_rss_kib"] for r in rs),
                "ranks": rs[0]["ranks"],
            }
    with open(os.path.join(OUT, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    big = max(sizes)
    one = summary[f"{big} 1 rank"]
    per_point = one["step_s"] / big ** 3
    two = summary[f"{big} 2 ranks"]
    bytes_per_point = two["max_rss_kib"] * 1024 * 2 / big ** 3
    date = datetime.date.today().isoformat()
    md = [BEGIN, "### One grid over ranks: the slab layout (`perf/mpi-scaling`)", "",
          f"{date}, commit {commit}, {platform.machine()} with {os.cpu_count()} cores, Open MPI (shared memory), "
          "FFTW's MPI transforms with FFTW_ESTIMATE plans, one member, real-time Strang steps with statistics off, "
          f"medians of {a.repeats} alternating runs (plain, 1 rank, 2 ranks). 2 ranks use the same 2 cores as "
          "1 rank with 2 threads: the comparison is of the layouts on one machine, not of more hardware. The "
          "exchange is one `MPI_Alltoall` of a transform's volume, timed alone; a step makes two.", "",
          "| grid | plain CPU backend (2 threads) | slabs, 1 rank (2 threads) | slabs, 2 ranks (1 thread each) | "
          "2 ranks / 1 rank | one exchange (2 ranks) | exchanges' share of a 2-rank step | largest resident set per rank (2 ranks) |",
          "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        p, o, t = (summary[f"{n} {k}"] for k in ("plain", "1 rank", "2 ranks"))
        share = 2 * t["alltoall_s"] / t["step_s"]
        md.append(f"| {n}³ | {fmt_s(p['step_s'])} | {fmt_s(o['step_s'])} | {fmt_s(t['step_s'])} | "
                  f"{t['step_s'] / o['step_s']:.2f} | {fmt_s(t['alltoall_s'])} | {share:.0%} | "
                  f"{t['max_rss_kib'] / 2**20:.2f} GiB |")
    md.append("")
    md.append("Runs (seconds per step): " + "; ".join(
        f"{k}: " + ", ".join(f"{x:.3g}" for x in v["runs"]) for k, v in summary.items()) + ".")
    md.append("")
    if batch_runs:
        b0 = batch_runs[0]
        bcommit = open(os.path.join(OUT, "batch_commit")).read().strip() if os.path.exists(
            os.path.join(OUT, "batch_commit")) else commit
        med = {k: statistics.median(r["step_s"] for r in batch_runs if r["kind"] == k) for k in ("plain", "1 rank", "2 ranks")}
        runs_txt = "; ".join(k + ": " + ", ".join(f"{r['step_s'] * 1e3:.3g}" for r in batch_runs if r["kind"] == k)
                             for k in ("plain", "1 rank", "2 ranks"))
        md.append(f"**The batch layout** (commit {bcommit}): {b0['batch']} members of {b0['n']}"
                  f"{'²' if b0['dim'] == 2 else '³'}, FFTW_MEASURE, {b0['steps']} real-time steps with statistics off, "
                  f"medians of {len([r for r in batch_runs if r['kind'] == 'plain'])} alternating runs. One process "
                  "takes the CPU backend's member path and its multi-step op; the batch layout's ranks issue the single "
                  "ops (each rank's backend chooses its own path), so the comparison includes that loss.\n")
        md.append("| one process, CPU backend (2 threads) | batch layout, 1 rank (2 threads) | batch layout, 2 ranks (1 thread each) | 2 ranks / one process |")
        md.append("|---:|---:|---:|---:|")
        md.append(f"| {med['plain'] * 1e3:.3f} ms | {med['1 rank'] * 1e3:.3f} ms | {med['2 ranks'] * 1e3:.3f} ms | "
                  f"{med['2 ranks'] / med['plain']:.2f} |")
        md.append("")
        md.append(f"Runs (ms per step): {runs_txt}.")
        md.append("")
    md.append(model_tables(per_point, bytes_per_point))
    md.append(END)
    text = "\n".join(md)
    print(text)
    if not a.no_results_md:
        old = open(RESULTS).read()
        if BEGIN in old:
            new = old[:old.index(BEGIN)] + text + old[old.index(END) + len(END):]
        else:
            marker = "<!-- python-overhead:begin -->"
            new = old.replace(marker, text + "\n\n" + marker, 1)
        open(RESULTS, "w").write(new)


if __name__ == "__main__":
    main()
