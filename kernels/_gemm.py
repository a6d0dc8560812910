"""Large matrix products split over Numba's threads.

BLAS runs single-threaded inside nnlab (the kernels own the cores), so a big
product is cut into one block per thread here: by rows of the output for
A @ B, and along the shared dimension, with one partial sum per thread, for
A^T @ B, whose output is small.
"""

import numba
import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def _matmul_kernel(a, b, nt, out):
    """a: (M, K), b: (K, P) -> out: (M, P)."""
    M = a.shape[0]
    per = (M + nt - 1) // nt
    for t in prange(nt):
        lo = t * per
        hi = min(M, lo + per)
        if lo < hi:
            np.dot(a[lo:hi], b, out[lo:hi])


@njit(cache=True, parallel=True)
def _matmul_tn_kernel(a, b, parts):
    """a: (K, M), b: (K, P) -> parts: (nt, M, P), parts summing to a^T @ b."""
    K = a.shape[0]
    nt = parts.shape[0]
    per = (K + nt - 1) // nt
    for t in prange(nt):
        lo = t * per
        hi = min(K, lo + per)
        if lo < hi:
            np.dot(a[lo:hi].T, b[lo:hi], parts[t])
        else:
            parts[t][:] = 0


def _threads(rows, min_rows=64):
    # Below a few dozen rows a second thread costs more than it saves.
    return max(1, min(numba.get_num_threads(), rows // min_rows))


def matmul(a, b, out=None):
    """a @ b for C-contiguous 2-D a: (M, K), b: (K, P) of one dtype."""
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    if a.shape[0] and a.shape[1]:
        _matmul_kernel(a, b, _threads(a.shape[0]), out)
    else:
        out[...] = 0
    return out


def matmul_tn(a, b):
    """a.T @ b for C-contiguous 2-D a: (K, M), b: (K, P) of one dtype."""
    nt = _threads(a.shape[0])
    parts = np.empty((nt, a.shape[1], b.shape[1]), a.dtype)
    if a.shape[0] == 0:
        return np.zeros(parts.shape[1:], a.dtype)
    _matmul_tn_kernel(a, b, parts)
    return parts[0] if nt == 1 else parts.sum(axis=0)
