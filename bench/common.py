"""Helpers shared by the bench scripts: workers in processes of their own,
interleaved repeats, the table and its JSON form.

Every figure comes from a worker process that measures one side only:

- an nnlab worker applies nnlab's own runtime settings
  (``nnlab.runtime.prepare_runtime``: single-threaded BLAS inside the kernels,
  passive OpenMP threads) before numpy loads;
- a PyTorch worker starts from the environment the user has, with nnlab's
  settings taken out (``torch_env``), and its only setting is
  ``torch.set_num_threads(N)``, the same N as nnlab's.

Run in one process, nnlab's settings halved PyTorch's LeNet-5 training speed
(12,345 against 6,637 img/s on this machine), so the two never share one.
This module imports nothing but the standard library, so that importing it
decides nothing about threads.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time

THREADS = 2
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared", "data")
HERE = os.path.dirname(os.path.abspath(__file__))

# Variables that nnlab sets for itself (nnlab.runtime.THREAD_ENV, the kernel cache
# and thread count); a PyTorch worker must not inherit them.
NNLAB_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "OMP_NUM_THREADS",
              "NUMBA_NUM_THREADS", "NUMBA_CACHE_DIR", "NNLAB_NO_CACHE")


def default_data(name):
    """../shared/data/<name> beside the checkout when it exists, else None
    (then nnlab's usual lookup and download apply)."""
    path = os.path.join(SHARED, name)
    return path if os.path.isdir(path) else None


def nnlab_side(threads):
    """Call first thing in an nnlab worker: nnlab's thread settings and kernel
    cache, before numpy and numba load."""
    from nnlab.runtime import prepare_runtime

    prepare_runtime(threads)


def torch_side(threads):
    """Call first thing in a PyTorch worker: torch with ``threads`` threads and
    nothing else changed. Refuses to run with nnlab's settings in the
    environment, which would make the comparison unfair."""
    leaked = [v for v in NNLAB_VARS if v in os.environ]
    if leaked:
        raise SystemExit(f"PyTorch worker started with nnlab's settings ({', '.join(leaked)}); "
                         "run it through bench/common.run_worker")
    import torch

    torch.set_num_threads(threads)
    return torch


def torch_env():
    """The environment a PyTorch worker starts with: this process's, without
    nnlab's variables."""
    return {k: v for k, v in os.environ.items() if k not in NNLAB_VARS}


def torch_available():
    """torch's version if it imports in a clean environment, else None."""
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                         env=torch_env(), capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def run_worker(script, side, threads, *args):
    """Runs ``python bench/<script> --worker <side> --threads N ARGS`` and
    returns the JSON object it prints last on stdout. side: nnlab | torch."""
    cmd = [sys.executable, os.path.join(HERE, script), "--worker", side,
           "--threads", str(threads), *map(str, args)]
    env = torch_env() if side == "torch" else dict(os.environ)
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {out.returncode}")
    return json.loads(lines[-1])


def emit(result):
    """A worker's last line: its figures as one JSON object."""
    print(json.dumps(result), flush=True)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    def ver(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "-"

    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"numpy {ver('numpy')}, numba {ver('numba')}")


class Row:
    """One workload: nnlab's median figure, PyTorch's (or None), the unit, the
    floating-point operations per unit (for GFLOP/s, if known) and the threads."""

    def __init__(self, name, ours, theirs, unit, flops=None, threads=THREADS):
        self.name, self.ours, self.theirs, self.unit = name, ours, theirs, unit
        self.flops, self.threads = flops, threads

    def ratio(self):
        return self.ours / self.theirs if self.theirs else None

    def gflops(self):
        return self.ours * self.flops / 1e9 if self.flops else None

    def as_json(self):
        ratio, gflops = self.ratio(), self.gflops()
        return {"workload": self.name, "nnlab": round(self.ours, 1),
                "pytorch": None if self.theirs is None else round(self.theirs, 1),
                "unit": self.unit, "ratio": None if ratio is None else round(ratio, 3),
                "gflops": None if gflops is None else round(gflops, 2), "threads": self.threads}


def print_table(rows, torch_version=None, peak=None, file=sys.stdout):
    """rows: Row objects. peak: the machine's practical GFLOP/s, for the % column."""
    head = ["workload", "threads", "nnlab",
            f"PyTorch {torch_version}" if torch_version else "PyTorch",
            "ratio", "GFLOP/s", "% of peak"]
    lines = [head]
    for r in rows:
        gflops = r.gflops()
        lines.append([
            r.name, str(r.threads), f"{r.ours:,.0f} {r.unit}",
            "-" if r.theirs is None else f"{r.theirs:,.0f} {r.unit}",
            "-" if r.theirs is None else f"{r.ratio():.2f}x",
            "-" if gflops is None else f"{gflops:.1f}",
            "-" if gflops is None or not peak else f"{100 * gflops / peak:.0f}%"])
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    for i, r in enumerate(lines):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                        for j, (c, w) in enumerate(zip(r, widths))), file=file)
        if i == 0:
            print("  ".join("-" * w for w in widths), file=file)
    file.flush()


def interleaved(repeats, ours, theirs):
    """Medians of ``repeats`` runs of ours(r) and theirs(r) (None: no PyTorch)
    for r = 0, 1, ..., each a list of figures, alternated so that a machine
    slowing down mid-run slows both sides."""
    a, b = [], []
    for r in range(repeats):
        a.append(ours(r))
        if theirs is not None:
            b.append(theirs(r))
        print(f"  repeat {r + 1}: nnlab {a[-1]}, PyTorch {b[-1] if b else '-'}", file=sys.stderr)

    def med(xs, i):  # a figure a worker did not measure stays None
        seen = [x[i] for x in xs if x[i] is not None]
        return statistics.median(seen) if seen else None

    n = len(a[0])
    return [med(a, i) for i in range(n)], [med(b, i) for i in range(n)]


def worker_args(ap):
    """The options every bench script takes for its worker mode."""
    ap.add_argument("--worker", choices=["nnlab", "torch"],
                    help="measure one side in this process and print JSON (used by the "
                         "script itself and by bench/run)")
    ap.add_argument("--threads", type=int, default=THREADS,
                    help=f"threads for both nnlab and PyTorch (default {THREADS})")
    ap.add_argument("--json", action="store_true", help="print the table as JSON")


def report(rows, torch_version, args, peak=None):
    """A standalone script's output: the table, or JSON with --json."""
    if args.json:
        print(json.dumps({"machine": machine(), "pytorch_version": torch_version,
                          "rows": [r.as_json() for r in rows]}))
    else:
        print(machine())
        print_table(rows, torch_version, peak)
