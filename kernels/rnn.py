"""Vanilla RNN over a whole sequence: forward, and backward through time.

The lecture's equations, with U the input and W the recurrent weights:

    a_t = b + W s_{t-1} + U x_t          s_t = tanh(a_t)

stored as Wx = U^T: (D, H) and Wh = W^T: (H, H), so that a row of inputs
multiplies from the left (x_t Wx), as in the LSTM kernels and PyTorch's
nn.RNN (weight_ih = Wx^T, weight_hh = Wh^T, bias_ih + bias_hh = b).
The structure is that of ``lstm.py``: one product for all input
projections, threads owning blocks of batch rows for the whole sequence,
and the weight gradients as one product after the backward sweep.
"""

from typing import NamedTuple

import numpy as np
from numba import prange

from ._common import as_float_array, bias_or_zero
from ._fastmath import tanh_act
from ._gemm import matmul, matmul_tn
from ._jit import jit_parallel
from ._split import block, threads_for


@jit_parallel(error_model="numpy")
def _rnn_forward_kernel(xw, b, h0, WhT, nt, h):
    """xw: (T, N, H) input projections; b: (H,) the bias; h0: (N, H); WhT:
    (H, H), Wh transposed -> h: (T, N, H)."""
    T, N, H = xw.shape
    for k in prange(nt):
        lo, n = block(k, nt, N)
        if n == 0:
            continue
        # (H, H) @ (H, n), the fast way round for BLAS (see lstm.py).
        hT = np.empty((H, n), xw.dtype)
        zT = np.empty((H, n), xw.dtype)
        for r in range(n):
            for j in range(H):
                hT[j, r] = h0[lo + r, j]
        for t in range(T):
            np.dot(WhT, hT, zT)
            for r in range(n):
                hr = h[t, lo + r]
                xr = xw[t, lo + r]
                for j in range(H):
                    hr[j] = zT[j, r] + xr[j] + b[j]
                for j in range(H):
                    hr[j] = tanh_act(hr[j])
                for j in range(H):
                    hT[j, r] = hr[j]


@jit_parallel(error_model="numpy")
def _rnn_backward_kernel(dh, h, Wh, nt, da, dh0):
    """dh: (T, N, H) gradients reaching each s_t from above -> da: (T, N, H)
    gradients of the pre-activations a_t; dh0: (N, H) that of s_0."""
    T, N, H = dh.shape
    one = dh.dtype.type(1)
    for k in prange(nt):
        lo, n = block(k, nt, N)
        if n == 0:
            continue
        dhnT = np.zeros((H, n), dh.dtype)  # into s_t from step t + 1
        daT = np.empty((H, n), dh.dtype)
        for t in range(T - 1, -1, -1):
            for r in range(n):
                dar = da[t, lo + r]
                hr = h[t, lo + r]
                dhr = dh[t, lo + r]
                for j in range(H):
                    dar[j] = dhr[j] + dhnT[j, r]
                for j in range(H):
                    dar[j] *= one - hr[j] * hr[j]
                for j in range(H):
                    daT[j, r] = dar[j]
            np.dot(Wh, daT, dhnT)
        for r in range(n):
            for j in range(H):
                dh0[lo + r, j] = dhnT[j, r]


class RNNCache(NamedTuple):
    h0: np.ndarray      # (N, H)
    Wh: np.ndarray      # (H, H)
    h: np.ndarray       # (T, N, H)
    x: object = None    # (T, N, D), for rnn_backward only
    Wx: object = None   # (D, H)


def rnn_recurrence_forward(xw, h0, Wh, b=None):
    """The recurrence alone: xw: (T, N, H), x_t Wx; h0: (N, H); Wh: (H, H);
    b: (H,) or None (zero), added in the recurrence as lstm.py does. Returns
    h: (T, N, H) (h[-1] is the state to carry on) and the cache."""
    xw = as_float_array(xw, "xw", 3)
    T, N, H = xw.shape
    h0 = as_float_array(h0, "h0", 2, xw.dtype)
    Wh = as_float_array(Wh, "Wh", 2, xw.dtype)
    b = bias_or_zero(b, H, xw.dtype)
    if h0.shape != (N, H) or Wh.shape != (H, H) or b.shape != (H,):
        raise ValueError(f"shapes h0 {h0.shape}, Wh {Wh.shape}, b {b.shape} do not fit N={N}, "
                         f"H={H}")
    if T < 1:
        raise ValueError("the sequence must have at least one step")
    h = np.empty((T, N, H), xw.dtype)
    if N:
        _rnn_forward_kernel(xw, b, h0, np.ascontiguousarray(Wh.T),
                            threads_for(N), h)
    return h, RNNCache(h0, Wh, h)


def rnn_recurrence_backward(dh, cache):
    """Gradients of rnn_recurrence_forward. dh: (T, N, H). Returns
    dxw: (T, N, H) (also b's gradient, summed over T and N), dh0: (N, H), dWh: (H, H)."""
    T, N, H = cache.h.shape
    dh = as_float_array(dh, "dh", 3, cache.h.dtype)
    if dh.shape != (T, N, H):
        raise ValueError(f"dh must have shape {(T, N, H)}, got {dh.shape}")
    da = np.empty((T, N, H), dh.dtype)
    dh0 = np.empty((N, H), dh.dtype)
    if N:
        _rnn_backward_kernel(dh, cache.h, cache.Wh,
                             threads_for(N), da, dh0)
    dWh = matmul_tn(cache.h0, da[0])
    if T > 1:
        dWh += matmul_tn(cache.h[:-1].reshape(-1, H), da[1:].reshape(-1, H))
    return da, dh0, dWh


def rnn_forward(x, h0, Wx, Wh, b):
    """Vanilla RNN over a sequence. x: (T, N, D), h0: (N, H), Wx: (D, H),
    Wh: (H, H), b: (H,). Returns h: (T, N, H), h[-1] the last state, and the cache."""
    x = as_float_array(x, "x", 3)
    Wx = as_float_array(Wx, "Wx", 2, x.dtype)
    b = as_float_array(b, "b", 1, x.dtype)
    T, N, D = x.shape
    if Wx.shape[0] != D or b.shape != (Wx.shape[1],):
        raise ValueError(f"shapes x {x.shape}, Wx {Wx.shape}, b {b.shape} do not fit")
    xw = matmul(x.reshape(T * N, D), Wx)
    h, cache = rnn_recurrence_forward(xw.reshape(T, N, Wx.shape[1]), h0, Wh, b)
    return h, cache._replace(x=x, Wx=Wx)


def rnn_backward(dh, cache):
    """Gradients of rnn_forward. dh: (T, N, H). Returns dx: (T, N, D),
    dh0: (N, H), dWx: (D, H), dWh: (H, H), db: (H,)."""
    da, dh0, dWh = rnn_recurrence_backward(dh, cache)
    T, N, D = cache.x.shape
    da2 = da.reshape(T * N, da.shape[2])
    dx = matmul(da2, np.ascontiguousarray(cache.Wx.T)).reshape(T, N, D)
    dWx = matmul_tn(cache.x.reshape(T * N, D), da2)
    return dx, dh0, dWx, dWh, da2.sum(axis=0)
