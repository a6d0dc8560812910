"""Row lookup: the product of a one-hot input with a weight matrix, and an
embedding followed by a linear map.

A one-hot row times w is the row of w at the hot index, so the first layer
of a character model gathers rows instead of multiplying by a matrix that
is almost all zeros. The backward pass adds each output gradient back into
its row; threads split the columns, so no two write the same element.

An embedding E followed by the first layer's input weights W is the same
lookup in the table E @ W, which for a small vocabulary is cheaper to form
than the product over every token (``embed_project_*``).
"""

import numpy as np

from ._common import as_float_array
from ._gemm import matmul, matmul_tn
from ._pool import blocked
from ._split import ELEMENTS_PER_THREAD, block, threads_for


@blocked
def _gather_kernel(w, ids, out, nt, k0, k1):
    """w: (V, D), ids: (M,) -> out: (M, D); blocks k0..k1 of nt (_pool.py),
    each a range of rows."""
    for k in range(k0, k1):
        lo, n = block(k, nt, ids.shape[0])
        for m in range(lo, lo + n):
            src = w[ids[m]]
            dst = out[m]
            for j in range(w.shape[1]):
                dst[j] = src[j]


@blocked
def _scatter_add_kernel(dout, ids, dw, nt, k0, k1):
    """ids: (M,), dout: (M, D) -> dw: (V, D), zeroed here; blocks k0..k1 of
    nt (_pool.py), each a range of columns."""
    V, D = dw.shape
    for k in range(k0, k1):
        lo, n = block(k, nt, D)
        hi = lo + n
        for v in range(V):
            for j in range(lo, hi):
                dw[v, j] = 0
        # Views indexed from 0, as in _dropout_kernel, which LLVM vectorises:
        # (2048, 1024) into 65 rows, 905 us with the loop over lo..hi, 445 this way.
        for m in range(ids.shape[0]):
            src = dout[m, lo:hi]
            dst = dw[ids[m], lo:hi]
            for j in range(n):
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
    _gather_kernel(w, flat, out, threads_for(flat.size, ELEMENTS_PER_THREAD // max(1, w.shape[1])))
    return out.reshape(ids.shape + (w.shape[1],)), (flat, w.shape)


def embedding_backward(dout, cache):
    """dout: S + (D,) -> dw: (V, D)."""
    flat, (V, D) = cache
    dout = np.ascontiguousarray(dout).reshape(-1, D)
    if dout.shape[0] != flat.size:
        raise ValueError(f"dout must hold {flat.size} rows of {D}, got {dout.shape}")
    dw = np.empty((V, D), dout.dtype)
    _scatter_add_kernel(dout, flat, dw, threads_for(D, 16))
    return dw


def embed_project_forward(ids, E, W):
    """An embedding followed by a linear map: out = E[ids] @ W.

    ids: integer array of any shape S, values in [0, V); E: (V, D) the
    embedding; W: (D, G) the next layer's input weights. Returns out:
    S + (G,) and the cache.

    When the vocabulary has fewer rows than there are ids (a character
    model: V of about 100 against T x N of 2,048), the (V, G) table E @ W
    is formed once and its rows gathered, V x D x G multiply-adds instead
    of a product over every id; otherwise the embedded rows are gathered
    and multiplied. Both compute the same sums.
    """
    E = as_float_array(E, "E", 2)
    W = as_float_array(W, "W", 2, E.dtype)
    if E.shape[1] != W.shape[0]:
        raise ValueError(f"shapes E {E.shape} and W {W.shape} do not fit")
    ids = np.asarray(ids)
    if ids.size > E.shape[0]:
        out, (flat, _) = embedding_forward(ids, matmul(E, W))
        return out, (flat, E, W, None)
    e, (flat, _) = embedding_forward(ids, E)
    e = e.reshape(flat.size, E.shape[1])
    return matmul(e, W).reshape(ids.shape + (W.shape[1],)), (flat, E, W, e)


def embed_project_backward(dout, cache):
    """dout: S + (G,) -> dE: (V, D), dW: (D, G)."""
    flat, E, W, e = cache
    G = W.shape[1]
    dout = as_float_array(np.ascontiguousarray(dout).reshape(-1, G), "dout", 2, E.dtype)
    if dout.shape[0] != flat.size:
        raise ValueError(f"dout must hold {flat.size} rows of {G}, got {dout.shape}")
    WT = np.ascontiguousarray(W.T)
    if e is None:
        dtable = embedding_backward(dout, (flat, (E.shape[0], G)))  # (V, G)
        return matmul(dtable, WT), matmul_tn(E, dtable)
    de = matmul(dout, WT)
    return embedding_backward(de, (flat, E.shape)), matmul_tn(e, dout)
