"""Row lookup: the product of a one-hot input with a weight matrix.

A one-hot row times w is the row of w at the hot index, so the first layer
of a character model gathers rows instead of multiplying by a matrix that
is almost all zeros. The backward pass adds each output gradient back into
its row; threads split the columns, so no two write the same element.
"""

import numpy as np
from numba import prange

from ._common import as_float_array
from ._jit import jit
from ._split import block, threads_for


@jit(parallel=True)
def _gather_kernel(ids, w, out):
    """ids: (M,), w: (V, D) -> out: (M, D)."""
    for m in prange(ids.shape[0]):
        src = w[ids[m]]
        dst = out[m]
        for j in range(w.shape[1]):
            dst[j] = src[j]


@jit(parallel=True)
def _scatter_add_kernel(ids, dout, nt, dw):
    """ids: (M,), dout: (M, D) -> dw: (V, D), zeroed here."""
    V, D = dw.shape
    for k in prange(nt):
        lo, n = block(k, nt, D)
        hi = lo + n
        for v in range(V):
            for j in range(lo, hi):
                dw[v, j] = 0
        for m in range(ids.shape[0]):
            src = dout[m]
            dst = dw[ids[m]]
            for j in range(lo, hi):
                dst[j] += src[j]


def embedding_forward(ids, w):
    """ids: integer array of any shape S, values in [0, V); w: (V, D).
    Returns out: S + (D,), equal to one_hot(ids) @ w, and the cache."""
    w = as_float_array(w, "w", 2)
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"ids must be integers, got {ids.dtype}")
    flat = np.ascontiguousarray(ids.reshape(-1), dtype=np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= w.shape[0]):
        raise ValueError(f"ids must be in [0, {w.shape[0]})")
    out = np.empty((flat.size, w.shape[1]), w.dtype)
    _gather_kernel(flat, w, out)
    return out.reshape(ids.shape + (w.shape[1],)), (flat, w.shape)


def embedding_backward(dout, cache):
    """dout: S + (D,) -> dw: (V, D)."""
    flat, (V, D) = cache
    dout = np.ascontiguousarray(dout).reshape(-1, D)
    if dout.shape[0] != flat.size:
        raise ValueError(f"dout must hold {flat.size} rows of {D}, got {dout.shape}")
    dw = np.empty((V, D), dout.dtype)
    _scatter_add_kernel(flat, dout, threads_for(D, 16), dw)
    return dw
