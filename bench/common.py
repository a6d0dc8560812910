"""Helpers shared by the bench scripts: thread set-up, timing, the table."""

import os
import platform
import statistics
import sys
import time

import nnlab  # noqa: E402

# The same thread set-up as the nnlab command (see nnlab.THREAD_ENV); it must
# come before numpy and numba load.
nnlab.prepare_runtime()

THREADS = 2
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared", "data")


def default_data(name):
    """../shared/data/<name> beside the checkout when it exists, else None
    (then nnlab's usual lookup and download apply)."""
    path = os.path.join(SHARED, name)
    return path if os.path.isdir(path) else None


def load_torch(threads=THREADS):
    """torch with ``threads`` threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def median(xs):
    return statistics.median(xs)


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
    import numba
    import numpy

    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"numpy {numpy.__version__}, numba {numba.__version__}")


class Row:
    """One workload: nnlab's median figure, PyTorch's (or None), the unit, and
    the floating-point operations per unit (for GFLOP/s), if known."""

    def __init__(self, name, ours, theirs, unit, flops=None):
        self.name, self.ours, self.theirs, self.unit, self.flops = name, ours, theirs, unit, flops


def print_table(rows, torch_version=None, peak=None):
    """rows: Row objects. peak: the machine's practical GFLOP/s, for the % column."""
    head = ["workload", "nnlab", f"PyTorch {torch_version}" if torch_version else "PyTorch",
            "ratio", "GFLOP/s", "% of peak"]
    lines = [head]
    for r in rows:
        gflops = r.ours * r.flops / 1e9 if r.flops else None
        lines.append([
            r.name, f"{r.ours:,.0f} {r.unit}",
            "-" if r.theirs is None else f"{r.theirs:,.0f} {r.unit}",
            "-" if r.theirs is None else f"{r.ours / r.theirs:.2f}x",
            "-" if gflops is None else f"{gflops:.1f}",
            "-" if gflops is None or not peak else f"{100 * gflops / peak:.0f}%"])
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    for i, r in enumerate(lines):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


def interleaved(repeats, ours, theirs):
    """Medians of ``repeats`` runs of ours() and theirs() (None: no PyTorch),
    alternated so that a machine slowing down mid-run slows both sides."""
    a, b = [], []
    for r in range(repeats):
        a.append(ours())
        if theirs is not None:
            b.append(theirs())
        print(f"  repeat {r + 1}: nnlab {a[-1]}, PyTorch {b[-1] if b else '-'}", file=sys.stderr)
    med = lambda xs, i: median([x[i] for x in xs]) if xs else None  # noqa: E731
    n = len(a[0])
    return [med(a, i) for i in range(n)], [med(b, i) for i in range(n)]
