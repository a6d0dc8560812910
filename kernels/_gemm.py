"""Large matrix products split over Numba's threads.

BLAS runs single-threaded inside nnlab (the kernels own the cores), so a big
product is cut into one block per thread here: by rows of the output for
A @ B, and along the shared dimension, with one partial sum per thread, for
A^T @ B, whose output is small.
"""

import numpy as np
from numba import prange

from ._jit import jit
from ._split import block, threads_for

# Below a few dozen rows a second thread costs more than it saves.
MIN_ROWS = 64


@jit(parallel=True)
def _matmul_kernel(a, b, nt, out):
    """a: (M, K), b: (K, P) -> out: (M, P)."""
    for t in prange(nt):
        lo, n = block(t, nt, a.shape[0])
        if n:
            np.dot(a[lo:lo + n], b, out[lo:lo + n])


@jit(parallel=True)
def _matmul_tn_kernel(a, b, parts):
    """a: (K, M), b: (K, P) -> parts: (nt, M, P), parts summing to a^T @ b."""
    nt = parts.shape[0]
    for t in prange(nt):
        lo, n = block(t, nt, a.shape[0])
        if n:
            np.dot(a[lo:lo + n].T, b[lo:lo + n], parts[t])
        else:
            parts[t][:] = 0


def matmul(a, b, out=None):
    """a @ b for C-contiguous 2-D a: (M, K), b: (K, P) of one dtype."""
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    if a.shape[0] and a.shape[1]:
        _matmul_kernel(a, b, threads_for(a.shape[0], MIN_ROWS), out)
    else:
        out[...] = 0
    return out


def matmul_tn(a, b):
    """a.T @ b for C-contiguous 2-D a: (K, M), b: (K, P) of one dtype."""
    nt = threads_for(a.shape[0], MIN_ROWS)
    parts = np.empty((nt, a.shape[1], b.shape[1]), a.dtype)
    if a.shape[0] == 0:
        return np.zeros(parts.shape[1:], a.dtype)
    _matmul_tn_kernel(a, b, parts)
    return parts[0] if nt == 1 else parts.sum(axis=0)
