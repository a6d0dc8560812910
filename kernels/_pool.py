"""Threads for kernels that split their work into independent blocks,
without Numba's parallel=True.

A ``parallel=True`` compile runs Numba's parfor passes, which took most of
the first run's time: the LSTM's forward and backward kernels took 4.9 and
4.5 s to compile that way and 2.1 and 2.3 s without it (2-core AMD EPYC,
numba 0.68); with the matmul and embedding kernels also moved here, the
first `nnlab train-charlm data/hello.txt` went from 16.3 s to 9.0 s. Their work is a loop over thread blocks that never
touch the same rows, so a serial kernel compiled with nogil=True, called
once per block from a small pool of Python threads, does the same work in
parallel; the GIL is released for the whole kernel call.

``blocked`` makes such a kernel: the decorated function ends with the
arguments (nt, k0, k1) and loops ``for k in range(k0, k1)`` over blocks of
``_split.block(k, nt, rows)``; the returned wrapper ends with nt alone and
runs the nt blocks on nt threads, the calling thread taking block 0.
float64 calls (gradient checks on tiny arrays) run all blocks in one call
on the calling thread. Results never depend on the thread count's timing: each block
writes its own rows only (``_split.block``).
"""

import functools
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._jit import jit

_lock = threading.Lock()
_pool = {}  # workers -> ThreadPoolExecutor, made on first use


def _executor(workers):
    with _lock:
        if workers not in _pool:
            _pool[workers] = ThreadPoolExecutor(workers, thread_name_prefix="nnlab-kernel")
        return _pool[workers]


def run_blocks(kernel, nt, args):
    """kernel(*args, k, k + 1) for k in range(nt), on nt threads at once
    (args ends with nt itself, which the kernel passes to _split.block)."""
    if nt <= 1:
        kernel(*args, 0, nt)
        return
    pool = _executor(nt - 1)
    futures = [pool.submit(kernel, *args, k, k + 1) for k in range(1, nt)]
    try:
        kernel(*args, 0, 1)
    finally:
        for f in futures:
            f.result()


def blocked(fn=None, **options):
    """Decorator: see the module's docstring. The wrapper's signature is
    fn's without (k0, k1), plus nt at the end; the first argument's dtype
    decides between the threads (float32) and one call (float64)."""
    if fn is None:
        return functools.partial(blocked, **options)
    kernel = jit(nogil=True, **options)(fn)

    @functools.wraps(fn)
    def call(*args):
        nt = args[-1]
        if args[0].dtype == np.float64:
            kernel(*args, 0, nt)
        else:
            run_blocks(kernel, nt, args)
    call.kernel = kernel
    return call
