"""nnlab: convolutional networks and character-level language models, trained
from scratch on the CPU with Numba kernels.

The package is kept import-light on purpose: importing ``nnlab`` or running
``nnlab --help`` must not pull in numpy or numba.
"""

__version__ = "0.1.0"


class NnlabError(Exception):
    """A problem with the user's input or environment, reported as one line.

    The CLI prints ``str(err)`` and exits with ``exit_code``, without a
    traceback. Messages name the problem and, where there is one, the fix.
    """

    exit_code = 1


# Thread set-up for nnlab's kernels, applied by the command line and the
# benches before numpy and numba load (they read these once, at load time).
# The kernels split each batch over Numba's threads and call BLAS from inside
# them, so BLAS must stay single-threaded: a second pool fighting for the
# same cores made LeNet-5 training 10x slower on 2 cores. And Numba's OpenMP
# threads must sleep rather than spin at the end of a parallel region: when
# another process holds a core, a spinning thread starves the one it waits
# for (100 steps of the "hello" model took 19 s spinning, 1.4 s passive).
THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OMP_WAIT_POLICY": "passive",
}


def prepare_runtime(threads=None):
    """Thread settings and the kernel cache folder, before numpy and numba
    load. ``threads``: Numba's thread count (default: the cores available).

    Numba keys its cache on each kernel's own source file only, not on the
    files it calls into, so the folder is named after a hash of all the
    kernel sources: any change to them starts a fresh cache. When no folder
    can be written, kernels compile in memory on every run (NNLAB_NO_CACHE)."""
    import os

    for name, value in THREAD_ENV.items():
        os.environ.setdefault(name, value)
    if threads is not None:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
    elif hasattr(os, "sched_getaffinity"):
        # The cores this process may run on, which a container can limit.
        os.environ.setdefault("NUMBA_NUM_THREADS", str(len(os.sched_getaffinity(0))))
    if "NUMBA_CACHE_DIR" not in os.environ and "NNLAB_NO_CACHE" not in os.environ:
        folder = _kernel_cache_dir()
        if folder is None:
            os.environ["NNLAB_NO_CACHE"] = "1"
            import sys

            print("nnlab: no writable folder for the kernel cache (set XDG_CACHE_HOME or "
                  "NUMBA_CACHE_DIR); kernels will be compiled on every run", file=sys.stderr)
        else:
            os.environ["NUMBA_CACHE_DIR"] = folder


def _kernel_cache_dir():
    import hashlib
    import os
    import sys
    import tempfile

    kernels = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels")
    digest = hashlib.sha256(f"{__version__} {sys.version}".encode())
    try:
        for name in sorted(os.listdir(kernels)):
            if name.endswith(".py"):
                with open(os.path.join(kernels, name), "rb") as f:
                    digest.update(name.encode() + f.read())
    except OSError:
        pass
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = xdg if os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "nnlab", f"kernels-{digest.hexdigest()[:16]}")
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return None
    return folder
