"""Helpers shared by the bench scripts: thread set-up, timing, the table."""

import os
import platform
import statistics
import sys
import time

import nnlab  # noqa: E402

# The same thread set-up as the nnlab command (see nnlab.THREAD_ENV); it must
# come before numpy and numba load.
nnlab.set_thread_env()

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


def print_table(rows, torch_version=None):
    """rows: (workload, nnlab figure, torch figure or None, unit)."""
    head = ("workload", "nnlab", f"PyTorch {torch_version}" if torch_version else "PyTorch",
            "ratio")
    lines = [head]
    for name, ours, theirs, unit in rows:
        lines.append((name, f"{ours:,.0f} {unit}",
                      "-" if theirs is None else f"{theirs:,.0f} {unit}",
                      "-" if theirs is None else f"{ours / theirs:.2f}x"))
    widths = [max(len(r[i]) for r in lines) for i in range(4)]
    for i, r in enumerate(lines):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()
