"""Data-parallel training under mpirun against one process: ranks x threads
on the same cores, the time spent in the all-reduce, and a model of how a
step would scale to more ranks over a network.

    python bench/mpi_scaling.py [--only lenet5,resnet,charlm] [--repeats 3] [--json]

Each layout trains with nnlab's CLI as a user runs it, twice, small and
large (CNNs: one epoch over the first ``small`` or ``large`` training
images; the LSTM: ``small`` or ``large`` steps), and the figure is the
difference in work over the difference in wall time, so that start-up
(mpirun's own, about 1 s) and evaluation cancel out. Layouts, on this
machine's cores: 1 process x 1 thread, 1 process x 2 threads, 2 ranks x 1
thread (mpirun binds each rank to a core). The all-reduce time per step is
what the large 2-rank run reports ("mpi: ..." on stderr), waiting for the
slower rank included. The layouts take turns, ``--repeats`` times, and each
figure is the median of its repeats (this machine's speed drifts by tens
of percent over minutes).

The model for K ranks of 1 core each, on a network of ``--gbits`` Gb/s
with ``--latency`` per message: a step is the 1 x 1 compute time over K
(each rank has B / K rows; the model ignores that small batches run less
efficiently) plus a ring all-reduce of the step's float64 buffer, 2 (K - 1)
/ K x its bytes over the bandwidth and 2 (K - 1) latencies.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

SIZES = {"lenet5": (8192, 57344), "resnet": (2048, 8192), "charlm": (30, 150)}
NAMES = {"lenet5": "LeNet-5, batch 64", "resnet": "ResNet d2 w16, batch 64",
         "charlm": "2x256 LSTM, batch 32 x 64"}
LAYOUTS = (("1 x 1", 1, 1), ("1 x 2", 1, 2), ("2 x 1", 2, 1))


def command(workload, size, threads, data, text, out):
    if workload == "charlm":
        cmd = ["train-charlm", text, "--steps", str(size), "--eval-every", "100000"]
    else:
        cmd = ["train-cnn", "--arch", workload, "--epochs", "1", "--limit", str(size),
               "--no-download"] + (["--data", data] if data else [])
    return [sys.executable, "-m", "nnlab.cli.main", *cmd, "--threads", str(threads),
            "--out", out, "--force"]


def timed_run(ranks, cmd):
    """(wall seconds, all-reduce ms per step or None) of one run."""
    if ranks > 1:
        cmd = [shutil.which("mpirun"), "--allow-run-as-root", "-n", str(ranks), *cmd]
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       check=True)
    seconds = time.perf_counter() - t
    found = re.search(r"all-reduce ([0-9.]+) ms per step", r.stderr)
    return seconds, float(found.group(1)) if found else None


def measure(workload, ranks, threads, data, text, folder):
    small, large = SIZES[workload]
    out = os.path.join(folder, f"{workload}.npz")
    t_small, _ = timed_run(ranks, command(workload, small, threads, data, text, out))
    t_large, reduce_ms = timed_run(ranks, command(workload, large, threads, data, text, out))
    work = (large - small) * (32 * 64 if workload == "charlm" else 1)
    steps = (large - small) / (1 if workload == "charlm" else 64)
    dt = max(t_large - t_small, 1e-9)
    info = subprocess.run([sys.executable, "-m", "nnlab.cli.main", "info", out, "--json"],
                          capture_output=True, text=True, check=True)
    return {"per_second": work / dt, "step_ms": 1000 * dt / steps, "reduce_ms": reduce_ms,
            "weights": json.loads(info.stdout)["parameters"]}


def median(values):
    values = sorted(v for v in values if v is not None)
    return values[len(values) // 2] if values else None


def ring_ms(weights, ranks, gbits, latency_us):
    if ranks == 1:
        return 0.0
    bytes_ = 8 * weights
    return 1000 * (2 * (ranks - 1) / ranks * bytes_ / (gbits * 1e9 / 8)
                   + 2 * (ranks - 1) * latency_us * 1e-6)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(SIZES))
    ap.add_argument("--gbits", type=float, default=10.0)
    ap.add_argument("--latency", type=float, default=50.0, help="microseconds per message")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if shutil.which("mpirun") is None:
        raise SystemExit("no mpirun on PATH: pip install '.[mpi]'")
    data, text = common.default_data("mnist"), os.path.join(common.SHARED, "tinyshakespeare",
                                                            "input.txt")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for workload in args.only.split(","):
            # A first run loads (or compiles) the kernels, out of the timing.
            timed_run(1, command(workload, SIZES[workload][0], 1, data, text,
                                 os.path.join(folder, "warm.npz")))
            runs = {name: [] for name, _, _ in LAYOUTS}
            for _ in range(args.repeats):  # in turns, one run at a time
                for name, ranks, threads in LAYOUTS:
                    runs[name].append(measure(workload, ranks, threads, data, text, folder))
            row = {"workload": workload}
            for name, found in runs.items():
                row[name] = {key: median([f[key] for f in found]) for key in found[0]}
            one = row["1 x 1"]["step_ms"]
            weights = row["1 x 1"]["weights"]  # what each step's buffer carries
            row["model"] = {k: one / k + ring_ms(weights, k, args.gbits, args.latency)
                            for k in (1, 2, 8, 64)}
            rows.append(row)
    if args.json:
        print(json.dumps({"machine": common.machine(), "rows": rows}, indent=1))
        return
    unit = {"charlm": "tok/s"}
    print(f"{'workload':26} {'1 x 1':>12} {'1 x 2':>12} {'2 x 1':>12} {'2x1/1x2':>8} "
          f"{'all-reduce':>11}   model step ms at 1 / 2 / 8 / 64 ranks ({args.gbits:g} Gb/s)")
    for r in rows:
        w = r["workload"]
        figures = [f"{r[n]['per_second']:>8,.0f} {unit.get(w, 'img/s'):>3}" for n, _, _ in LAYOUTS]
        ratio = r["2 x 1"]["per_second"] / r["1 x 2"]["per_second"]
        reduce_ms = r["2 x 1"]["reduce_ms"]
        share = f"{reduce_ms:.2f} ms ({100 * reduce_ms / r['2 x 1']['step_ms']:.0f}%)"
        model = " / ".join(f"{v:.2f}" for v in r["model"].values())
        print(f"{NAMES[w]:26} {' '.join(figures)} {ratio:>7.2f}x {share:>14}   {model}")


if __name__ == "__main__":
    main()
