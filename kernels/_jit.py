"""The decorator every kernel is compiled with.

``jit`` is Numba's ``njit`` with the on-disk cache on, unless the process
has no writable place for it: ``nnlab.runtime.prepare_runtime`` then sets
NNLAB_NO_CACHE=1 (and says so once), and kernels compile in memory instead
of failing at import with Numba's "cannot cache function".
"""

import functools
import os

import numpy as np
from numba import njit

CACHE = os.environ.get("NNLAB_NO_CACHE") != "1"


def jit(*args, **options):
    """njit(cache=True, ...) where a cache can be written, njit(...) otherwise."""
    options.setdefault("cache", CACHE)
    return njit(*args, **options)


def jit_parallel(fn=None, **options):
    """A kernel with a prange loop, compiled with parallel=True for float32
    (training) and without it for float64 (gradient checks on tiny arrays;
    prange then runs as range, over the same per-thread blocks). The first
    argument's dtype decides. A parallel compile takes 2-4x longer, and the
    tests compile every kernel in both dtypes: for the conv, LSTM and RNN
    kernels this cut a cold test run from 300 s to 268 s (the lanes kernels
    use it too). The two compilations share the function's cache file, each
    under its own signatures."""
    if fn is None:
        return functools.partial(jit_parallel, **options)
    parallel = jit(parallel=True, **options)(fn)
    serial = jit(**options)(fn)

    @functools.wraps(fn)
    def call(first, *args):
        return (serial if first.dtype == np.float64 else parallel)(first, *args)
    call.parallel, call.serial = parallel, serial
    return call
