"""Large matrix products split over Numba's threads.

BLAS runs single-threaded inside nnlab (the kernels own the cores), so a big
product is cut into one block per thread here: by rows of the output for
A @ B, and along the shared dimension, with one partial sum per thread, for
A^T @ B, whose output is small.
"""

import numpy as np

from ._pool import blocked
from ._split import block, threads_for

# Below a few dozen rows a second thread costs more than it saves.
MIN_ROWS = 64


@blocked
def _matmul_kernel(a, b, out, nt, k0, k1):
    """a: (M, K), b: (K, P) -> out: (M, P); blocks k0..k1 of nt (_pool.py)."""
    for t in range(k0, k1):
        lo, n = block(t, nt, a.shape[0])
        if n:
            np.dot(a[lo:lo + n], b, out[lo:lo + n])


@blocked
def _matmul_tn_kernel(a, b, parts, nt, k0, k1):
    """a: (K, M), b: (K, P) -> parts: (nt, M, P), parts summing to a^T @ b;
    blocks k0..k1 of nt (_pool.py)."""
    for t in range(k0, k1):
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
        _matmul_kernel(a, b, out, threads_for(a.shape[0], MIN_ROWS))
    else:
        out[...] = 0
    return out


def matmul_tn(a, b):
    """a.T @ b for C-contiguous 2-D a: (K, M), b: (K, P) of one dtype."""
    nt = threads_for(a.shape[0], MIN_ROWS)
    parts = np.empty((nt, a.shape[1], b.shape[1]), a.dtype)
    if a.shape[0] == 0:
        return np.zeros(parts.shape[1:], a.dtype)
    _matmul_tn_kernel(a, b, parts, nt)
    # Added in place: parts.sum(axis=0) took 104 us for (2, 256, 1024), and
    # this 31 us (a second thread for it, 146 us).
    out = parts[0]
    for part in parts[1:]:
        out += part
    return out
