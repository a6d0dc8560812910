"""Plain-numpy references for the embedding lookups, written as products
with one-hot rows: one_hot, embedding (forward, scatter-add backward) and
embed-then-project (an embedding followed by a linear map without bias).
Only for tests on tiny shapes.
"""

import numpy as np


def one_hot(ids, V, dtype=np.float64):
    ids = np.asarray(ids)
    out = np.zeros(ids.shape + (V,), dtype)
    for k, v in np.ndenumerate(ids):
        out[k + (v,)] = 1
    return out


def embedding_forward(ids, w):
    """one_hot(ids) @ w, for ids of any shape."""
    return one_hot(ids, w.shape[0], w.dtype) @ w


def embedding_backward(dout, ids, V):
    """Scatter-add: dw[v] = sum of dout's rows whose id is v."""
    D = dout.shape[-1]
    dw = np.zeros((V, D), dout.dtype)
    for k, v in np.ndenumerate(np.asarray(ids)):
        dw[v] += dout[k]
    return dw


def embed_project_forward(ids, E, W):
    """one_hot(ids) @ E @ W: an embedding, then a linear map without bias."""
    return one_hot(ids, E.shape[0], E.dtype) @ E @ W


def embed_project_backward(dout, ids, E, W):
    """(dE, dW) of embed_project_forward, through the embedded rows x = E[ids]."""
    x = one_hot(ids, E.shape[0]).reshape(-1, E.shape[0]) @ E   # (M, D)
    d = dout.reshape(-1, W.shape[1])                           # (M, G)
    return embedding_backward(d @ W.T, np.asarray(ids).reshape(-1), E.shape[0]), x.T @ d
