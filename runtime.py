"""The process set-up that must happen before numpy and numba load: thread
settings and the kernel cache folder; and the per-user cache folder that the
kernel cache and the datasets share.

Standard library only, at the root of the package, so that the command line
and the benches can call ``prepare_runtime`` first thing and stay import-light.
"""

import ctypes
import hashlib
import os
import sys
import tempfile

from nnlab import __version__

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


# glibc's malloc gives each block over 128 KiB its own fresh mapping and
# hands it back when freed (its dynamic threshold rises with the block sizes
# it sees, but trimming still returns memory). A training step allocates and
# frees tens of megabytes (an LSTM step: gates, cell states, gradients of
# 8 MB each), so every step faulted its pages in again and the kernel zeroed
# them: 243,624 minor page faults in 60 steps of train-charlm, 32,240 with
# the two settings below, and 100 steps ran at 21,356 against 23,495 tok/s
# (means of 3 interleaved pairs). Memory use does not grow: the same blocks are
# reused every step (peak RSS 253 MB both ways). 32 MiB is the largest
# threshold glibc accepts; mallopt's value is a C int.
MALLOC_SETTINGS = ((-3, 32 << 20),     # M_MMAP_THRESHOLD
                   (-1, 2 ** 31 - 1))  # M_TRIM_THRESHOLD


# What prepare_runtime(say=False) had to tell the user, for the caller to
# print when it suits (the command line: after the command, not before its
# one line of error).
RUNTIME_NOTES = []


def user_cache_dir():
    """nnlab's per-user cache folder (not created): $XDG_CACHE_HOME/nnlab,
    else ~/.cache/nnlab. Kernels and downloaded datasets go in subfolders."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative value.
    base = xdg if os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "nnlab")


def prepare_runtime(threads=None, say=True):
    """Thread settings and the kernel cache folder, before numpy and numba
    load. ``threads``: Numba's thread count (default: the cores available).

    When no folder can be written, kernels compile in memory on every run
    (NNLAB_NO_CACHE). Notes go to stderr, or with ``say=False`` to
    RUNTIME_NOTES."""
    notes = []
    for name, value in THREAD_ENV.items():
        os.environ.setdefault(name, value)
    _keep_freed_memory()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    if threads is not None:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
    elif "NUMBA_NUM_THREADS" in os.environ and cores:
        _check_thread_env(cores, notes)
    elif cores:
        # The cores this process may run on, which a container can limit.
        os.environ["NUMBA_NUM_THREADS"] = str(cores)
    if "NUMBA_CACHE_DIR" not in os.environ and "NNLAB_NO_CACHE" not in os.environ:
        folder = _kernel_cache_dir()
        if folder is None:
            os.environ["NNLAB_NO_CACHE"] = "1"
            notes.append("no writable folder for the kernel cache (set XDG_CACHE_HOME or "
                         "NUMBA_CACHE_DIR); kernels will be compiled on every run")
        else:
            os.environ["NUMBA_CACHE_DIR"] = folder
    if say:
        for note in notes:
            print(f"nnlab: {note}", file=sys.stderr)
    else:
        RUNTIME_NOTES.extend(notes)


def _keep_freed_memory():
    """MALLOC_SETTINGS, where the C library is glibc (elsewhere nothing)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # no such C library call (TypeError: Windows)
        return
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    for param, value in MALLOC_SETTINGS:
        mallopt(param, value)


def _check_thread_env(cores, notes):
    """NUMBA_NUM_THREADS as the user set it, made safe: 0 or -1 ended in a
    traceback when the kernels loaded, text in a 10-line warning, and 99999
    in a segmentation fault (8192 threads took 5 s to start on 2 cores).
    Like --threads, at most the cores; anything else, the cores."""
    value = os.environ["NUMBA_NUM_THREADS"]
    try:
        n = int(value.strip())
    except ValueError:
        n = 0
    if n < 1:
        notes.append(f"NUMBA_NUM_THREADS={value!r} is not a whole number of at least 1; "
                     f"ignored it (the default: the {cores} cores)")
        n = cores
    elif n > cores:
        notes.append(f"NUMBA_NUM_THREADS={value} is more than the {cores} cores this process "
                     f"may use; capped it at {cores}")
        n = cores
    os.environ["NUMBA_NUM_THREADS"] = str(n)


def _kernel_sources_hash():
    """A hash of nnlab's version, Python's and every kernel source file.
    Numba keys its cache on each kernel's own source file only, not on the
    files it calls into, so the cache folder is named after this: any change
    to the kernels starts a fresh cache."""
    kernels = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels")
    digest = hashlib.sha256(f"{__version__} {sys.version}".encode())
    try:
        for name in sorted(os.listdir(kernels)):
            if name.endswith(".py"):
                with open(os.path.join(kernels, name), "rb") as f:
                    digest.update(name.encode() + f.read())
    except OSError:
        pass
    return digest.hexdigest()[:16]


def _kernel_cache_dir():
    """The kernel cache folder, created and checked writable, or None."""
    folder = os.path.join(user_cache_dir(), f"kernels-{_kernel_sources_hash()}")
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return None
    return folder


# What MPI launchers put in each process's environment: Open MPI's mpirun,
# then MPICH's and Intel MPI's Hydra (PMI_), then MVAPICH2.
_MPI_VARS = (("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE"),
             ("MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE"))


def mpi_launch():
    """(rank, size) of this process when mpirun or mpiexec started it with
    more than one rank, read from the launcher's environment without
    importing MPI; (0, 1) otherwise, and then nothing MPI is ever loaded."""
    for rank, size in _MPI_VARS:
        try:
            r, n = int(os.environ[rank]), int(os.environ[size])
        except (KeyError, ValueError):
            continue
        if n > 1 and 0 <= r < n:
            return r, n
    return 0, 1
