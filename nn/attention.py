"""Attention of a decoder over an encoder's columns (Luong et al. 2015,
"global attention" with the "general" score, on top of the decoder's states;
Xu et al. 2015 did it over image regions for captions).

At each decoder step t, the state h_t scores every column s of the features:
e = h_t . (F_s Wk + pos_s) / sqrt(A); a = softmax over s; the context is
sum_s a_s F_s. ``pos`` (S, A), a learned embedding of where a column is,
lets a state ask for "the third digit from the left" and not only for "a 7".
Plain numpy: the products are small (batch x steps x columns x width).

Shapes: h (T, N, A) the decoder's states (A = its width), F (N, S, D) the
columns. Parameters, in the owner's dicts under ``prefix``: Wk (D, A),
pos (S, A).
"""

import math

import numpy as np


class ColumnAttention:
    def __init__(self, params, prefix, columns, width, query, dtype=np.float32):
        self.params, self.p = params, prefix
        params[prefix + "Wk"] = np.zeros((width, query), dtype)
        params[prefix + "pos"] = np.zeros((columns, query), dtype)
        self.scale = 1.0 / math.sqrt(query)
        self._cache = None

    def init(self, rng):
        Wk = self.params[self.p + "Wk"]
        Wk[...] = rng.uniform(-1, 1, Wk.shape) / math.sqrt(Wk.shape[0])
        pos = self.params[self.p + "pos"]
        pos[...] = rng.standard_normal(pos.shape) * 0.1

    def keys(self, F):
        """F (N, S, D) -> the keys (N, S, A), computed once per strip."""
        N, S, D = F.shape
        keys = (F.reshape(N * S, D) @ self.params[self.p + "Wk"]).reshape(N, S, -1)
        keys += self.params[self.p + "pos"]
        return keys

    def forward(self, h, F, keys=None, keep=True):
        """h (T, N, A), F (N, S, D) -> context (T, N, D), weights (N, T, S)."""
        if keys is None:
            keys = self.keys(F)
        q = np.ascontiguousarray(h.transpose(1, 0, 2))        # (N, T, A)
        e = np.matmul(q, keys.transpose(0, 2, 1)) * self.scale  # (N, T, S)
        e -= e.max(axis=2, keepdims=True)
        a = np.exp(e)
        a /= a.sum(axis=2, keepdims=True)
        ctx = np.matmul(a, F)                                   # (N, T, D)
        if keep:
            self._cache = (q, F, keys, a)
        return ctx.transpose(1, 0, 2), a

    def backward(self, dctx, grads):
        """dctx (T, N, D) -> (dh (T, N, A), dF (N, S, D)); fills the grads."""
        q, F, keys, a = self._cache
        dctx = dctx.transpose(1, 0, 2)                          # (N, T, D)
        da = np.matmul(dctx, F.transpose(0, 2, 1))              # (N, T, S)
        dF = np.matmul(a.transpose(0, 2, 1), dctx)              # (N, S, D)
        de = a * (da - (da * a).sum(axis=2, keepdims=True)) * self.scale
        dq = np.matmul(de, keys)                                # (N, T, A)
        dkeys = np.matmul(de.transpose(0, 2, 1), q)             # (N, S, A)
        N, S, D = F.shape
        grads[self.p + "pos"][...] = dkeys.sum(axis=0)
        grads[self.p + "Wk"][...] = F.reshape(N * S, D).T @ dkeys.reshape(N * S, -1)
        dF += np.matmul(dkeys, self.params[self.p + "Wk"].T)
        self._cache = None
        return dq.transpose(1, 0, 2), dF
