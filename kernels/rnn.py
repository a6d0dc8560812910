"""Vanilla RNN over a whole sequence: forward, and backward through time.

The lecture's equations, with U the input and W the recurrent weights:

    a_t = b + W s_{t-1} + U x_t          s_t = tanh(a_t)

stored as Wx = U^T: (D, H) and Wh = W^T: (H, H), so that a row of inputs
multiplies from the left (x_t Wx), as in the LSTM kernels and PyTorch's
nn.RNN (weight_ih = Wx^T, weight_hh = Wh^T, bias_ih + bias_hh = b).
The structure is that of ``lstm.py``: one product for all input
projections, threads owning blocks of batch rows for the whole sequence,
the per-step products by _panels.py's rows_dot, and the weight gradients
as one product after the backward sweep. rows_dot against BLAS, H = 512,
T = 64, batch 32, 2 threads: forward 7.9-8.1 -> 4.4-4.5 ms, backward with
dWh 12.2-12.4 -> 8.5-8.7 ms.
"""

from typing import NamedTuple

import numpy as np
from numba import prange

from ._common import as_float_array, bias_or_zero
from ._fastmath import tanh_act
from ._gemm import matmul, matmul_tn
from ._jit import jit_parallel
from ._panels import LANES, rows_dot, step_weights
from ._split import block, threads_for


@jit_parallel(error_model="numpy")
def _rnn_forward_kernel(xw, b, h0, Wh, P, nt, h):
    """xw: (T, N, H) input projections; b: (H,) the bias; h0: (N, H); the
    recurrent weights as Wh: (H, H) for BLAS or, if P has panels, P =
    column_panels(Wh) for rows_dot (see lstm.py) -> h: (T, N, H)."""
    T, N, H = xw.shape
    panels = P.shape[0] > 0
    for k in prange(nt):
        lo, n = block(k, nt, N)
        if n == 0:
            continue
        z = np.empty((n, P.shape[0] * LANES if panels else H), xw.dtype)
        for t in range(T):
            hp = h0 if t == 0 else h[t - 1]
            if panels:
                rows_dot(hp, lo, n, P, z)
            else:
                np.dot(hp[lo:lo + n], Wh, z)
            for r in range(n):
                hr = h[t, lo + r]
                xr = xw[t, lo + r]
                zr = z[r]
                for j in range(H):
                    hr[j] = zr[j] + xr[j] + b[j]
                for j in range(H):
                    hr[j] = tanh_act(hr[j])


@jit_parallel(error_model="numpy")
def _rnn_backward_kernel(dh, h, WhT, P, nt, da, dh0):
    """dh: (T, N, H) gradients reaching each s_t from above; the recurrent
    weights as WhT: (H, H) or P = column_panels_t(Wh) -> da: (T, N, H)
    gradients of the pre-activations a_t; dh0: (N, H) that of s_0."""
    T, N, H = dh.shape
    one = dh.dtype.type(1)
    panels = P.shape[0] > 0
    for k in prange(nt):
        lo, n = block(k, nt, N)
        if n == 0:
            continue
        # Into s_t from step t + 1: da_{t+1} Wh^T, padded to whole panels.
        dhn = np.zeros((n, P.shape[0] * LANES if panels else H), dh.dtype)
        for t in range(T - 1, -1, -1):
            for r in range(n):
                dar = da[t, lo + r]
                hr = h[t, lo + r]
                dhr = dh[t, lo + r]
                dnr = dhn[r]
                for j in range(H):
                    dar[j] = (dhr[j] + dnr[j]) * (one - hr[j] * hr[j])
            if panels:
                rows_dot(da[t], lo, n, P, dhn)
            else:
                np.dot(da[t][lo:lo + n], WhT, dhn)
        for r in range(n):
            for j in range(H):
                dh0[lo + r, j] = dhn[r, j]


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
        nt = threads_for(N)
        Wb, P = step_weights(Wh, N, nt)
        _rnn_forward_kernel(xw, b, h0, Wb, P, nt, h)
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
        nt = threads_for(N)
        WhT, P = step_weights(cache.Wh, N, nt, transposed=True)
        _rnn_backward_kernel(dh, cache.h, WhT, P, nt, da, dh0)
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
