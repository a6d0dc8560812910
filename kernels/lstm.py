"""LSTM over a whole sequence: forward, and backward through time.

With z = x_t Wx + h_{t-1} Wh + b cut into four blocks of H, stacked in
PyTorch's order i, f, g, o:

    i = sigmoid(z_i)   f = sigmoid(z_f)   g = tanh(z_g)   o = sigmoid(z_o)
    C_t = f * C_{t-1} + i * g               h_t = o * tanh(C_t)

Wx: (D, 4H) and Wh: (H, 4H) are PyTorch's weight_ih / weight_hh transposed,
and b is its bias_ih + bias_hh, so weights carry over in both directions.

Speed: the input projections of all time steps are one matrix product,
done before the recurrence (or, for one-hot input, a row gather by the
caller: see the ``*_recurrence_*`` pair). Inside the recurrence each thread
owns a block of batch rows for the whole sequence, since rows never
interact, so the threads run T steps without waiting on each other. Their
per-step product by the recurrent weights is _panels.py's, on weights packed
once a call: a 2x256 training step at batch 32 went from 29,684 to 33,246
tokens/s (bench/train.py --only charlm). The weight gradients are one
product over all steps, after the backward sweep.
"""

from typing import NamedTuple

import numpy as np

from ._common import as_float_array, bias_or_zero
from ._fastmath import sigmoid_act, tanh_act
from ._gemm import matmul, matmul_tn
from ._jit import jit
from ._panels import LANES, rows_dot, step_weights
from ._pool import blocked
from ._split import block, threads_for


@jit(inline="always")
def _activate(a, H):
    """a: (4H,) gate pre-activations -> activations i, f, g, o, in place."""
    s = a[0:2 * H]
    for j in range(2 * H):
        s[j] = sigmoid_act(s[j])
    g = a[2 * H:3 * H]
    for j in range(H):
        g[j] = tanh_act(g[j])
    o = a[3 * H:4 * H]
    for j in range(H):
        o[j] = sigmoid_act(o[j])


@jit(inline="always")
def _cell(a, cp, cr, hr, H):
    """C_t = f C_{t-1} + i g and h_t = o tanh(C_t), one row: a (4H,), the rest (H,)."""
    i, f, g, o = a[0:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:4 * H]
    for j in range(H):
        cr[j] = f[j] * cp[j] + i[j] * g[j]
    for j in range(H):
        hr[j] = o[j] * tanh_act(cr[j])


@jit(inline="always")
def _cell_backward(a, cr, cp, dhr, dhn, dcn, dz, H):
    """One row of one step back: a (4H,) the gates, cr/cp the cell now and
    before, dhr the gradient from above, dhn/dcn those from step t + 1
    (dcn becomes the gradient into C_{t-1}) -> dz (4H,)."""
    one = a.dtype.type(1)
    i, f, g, o = a[0:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:4 * H]
    dzi, dzf, dzg, dzo = dz[0:H], dz[H:2 * H], dz[2 * H:3 * H], dz[3 * H:4 * H]
    # In stages of few arrays each: with too many, LLVM stops vectorising.
    for j in range(H):
        tc = tanh_act(cr[j])
        dht = dhr[j] + dhn[j]
        dzo[j] = dht * tc * o[j] * (one - o[j])
        dcn[j] += dht * o[j] * (one - tc * tc)
    for j in range(H):
        dzi[j] = dcn[j] * g[j] * i[j] * (one - i[j])
        dzg[j] = dcn[j] * i[j] * (one - g[j] * g[j])
    for j in range(H):
        dzf[j] = dcn[j] * cp[j] * f[j] * (one - f[j])
        dcn[j] *= f[j]


@blocked(error_model="numpy")
def _lstm_forward_kernel(xw, b, h0, c0, Wh, P, h, c, act, nt, k0, k1):
    """xw: (T, N, 4H) input projections; b: (4H,) the bias; h0, c0: (N, H);
    the recurrent weights as Wh: (H, 4H) for BLAS or, if P has panels, as
    P = column_panels(Wh) for rows_dot -> h, c: (T, N, H), act: (T, N, 4H)
    the gates i, f, g, o; blocks k0..k1 of nt (kernels/_pool.py)."""
    T, N, G = xw.shape
    H = G // 4
    panels = P.shape[0] > 0
    for k in range(k0, k1):
        lo, n = block(k, nt, N)
        if n == 0:
            continue
        # h_{t-1} Wh for this block's rows, padded to whole panels.
        z = np.empty((n, P.shape[0] * LANES if panels else G), xw.dtype)
        for t in range(T):
            hp = h0 if t == 0 else h[t - 1]
            if panels:
                rows_dot(hp, lo, n, P, z)
            else:
                np.dot(hp[lo:lo + n], Wh, z)
            for r in range(n):
                row = lo + r
                ar = act[t, row]
                xr = xw[t, row]
                zr = z[r]
                for j in range(G):
                    ar[j] = zr[j] + xr[j] + b[j]
                _activate(ar, H)
                cp = c0[row] if t == 0 else c[t - 1, row]
                _cell(ar, cp, c[t, row], h[t, row], H)


# dz rows go through a scratch whose rows are this much longer than 4H: at
# 4H = 1024 the rows lie 4 KB apart, all in one L1 set, and the 16 rows of a
# block evicted each other; (16, 1024) @ (1024, 256) took 66 us a call
# from dz itself and 56 us with rows 64 floats longer.
SCRATCH_PAD = 64


@blocked(error_model="numpy")
def _lstm_backward_kernel(dh, dcT, act, c, c0, WhT, P, dz, dh0, dc0, nt, k0, k1):
    """dh: (T, N, H) gradients reaching each h_t from above; dcT: (N, H) the
    gradient of the final cell state; the recurrent weights as WhT: (4H, H)
    for BLAS or P = column_panels_t(Wh) -> dz: (T, N, 4H) gradients of the
    gate pre-activations; dh0, dc0: (N, H) those of the initial state;
    blocks k0..k1 of nt (kernels/_pool.py)."""
    T, N, H = dh.shape
    G = 4 * H
    panels = P.shape[0] > 0
    for k in range(k0, k1):
        lo, n = block(k, nt, N)
        if n == 0:
            continue
        # Into h_t from step t + 1: dz_{t+1} Wh^T, padded to whole panels.
        dhn = np.zeros((n, P.shape[0] * LANES if panels else H), dh.dtype)
        dcn = np.empty((n, H), dh.dtype)  # into C_t from step t + 1
        for r in range(n):
            for j in range(H):
                dcn[r, j] = dcT[lo + r, j]
        dzs = np.empty((n, G + SCRATCH_PAD), dh.dtype)
        for t in range(T - 1, -1, -1):
            for r in range(n):
                row = lo + r
                cp = c0[row] if t == 0 else c[t - 1, row]
                dzr = dzs[r]
                _cell_backward(act[t, row], c[t, row], cp, dh[t, row], dhn[r], dcn[r], dzr, H)
                out = dz[t, row]
                for j in range(G):
                    out[j] = dzr[j]
            if panels:
                rows_dot(dzs, 0, n, P, dhn)
            else:
                np.dot(dz[t][lo:lo + n], WhT, dhn)
        for r in range(n):
            for j in range(H):
                dh0[lo + r, j] = dhn[r, j]
                dc0[lo + r, j] = dcn[r, j]


class LSTMCache(NamedTuple):
    h0: np.ndarray      # (N, H)
    c0: np.ndarray      # (N, H)
    Wh: np.ndarray      # (H, 4H)
    h: np.ndarray       # (T, N, H)
    c: np.ndarray       # (T, N, H) cell states; c[-1] is the one to carry on
    act: np.ndarray     # (T, N, 4H) gate activations
    x: object = None    # (T, N, D) input, for lstm_backward only
    Wx: object = None   # (D, 4H)
    hs: object = None   # (T + 1, N, H): h0, then h (a view of it), so that
                        # dWh is one product over every step; always set

    @property
    def c_last(self):
        """The final cell state C_T: (N, H)."""
        return self.c[-1]


def lstm_recurrence_forward(xw, h0, c0, Wh, b=None):
    """The recurrence alone, given the input projections.

    xw: (T, N, 4H), x_t Wx; h0, c0: (N, H); Wh: (H, 4H); b: (4H,) or None
    (zero), added as the gates are formed: a separate pass over xw cost
    0.4 ms a layer in a 2x256 training step of 56 ms. Returns h: (T, N, H)
    and the cache (cache.c_last is C_T).
    """
    xw = as_float_array(xw, "xw", 3)
    T, N, G = xw.shape
    if G % 4:
        raise ValueError(f"xw's last axis must be 4H, got {G}")
    H = G // 4
    h0 = as_float_array(h0, "h0", 2, xw.dtype)
    c0 = as_float_array(c0, "c0", 2, xw.dtype)
    Wh = as_float_array(Wh, "Wh", 2, xw.dtype)
    b = bias_or_zero(b, G, xw.dtype)
    if h0.shape != (N, H) or c0.shape != (N, H) or Wh.shape != (H, G) or b.shape != (G,):
        raise ValueError(f"shapes h0 {h0.shape}, c0 {c0.shape}, Wh {Wh.shape}, b {b.shape} do "
                         f"not fit N={N}, H={H}")
    if T < 1:
        raise ValueError("the sequence must have at least one step")
    hs = np.empty((T + 1, N, H), xw.dtype)
    hs[0] = h0
    h = hs[1:]
    c = np.empty((T, N, H), xw.dtype)
    act = np.empty((T, N, G), xw.dtype)
    if N:
        nt = threads_for(N)
        Wb, P = step_weights(Wh, N, nt)
        _lstm_forward_kernel(xw, b, h0, c0, Wb, P, h, c, act, nt)
    return h, LSTMCache(h0, c0, Wh, h, c, act, hs=hs)


def lstm_recurrence_backward(dh, cache, dcT=None):
    """Gradients of lstm_recurrence_forward. dh: (T, N, H); dcT: (N, H) or None.
    Returns dxw: (T, N, 4H) (which is also the gradient of b, summed over T
    and N), dh0, dc0: (N, H) and dWh: (H, 4H)."""
    T, N, H = cache.h.shape
    dh = as_float_array(dh, "dh", 3, cache.h.dtype)
    if dh.shape != (T, N, H):
        raise ValueError(f"dh must have shape {(T, N, H)}, got {dh.shape}")
    dcT = (np.zeros((N, H), dh.dtype) if dcT is None
           else as_float_array(dcT, "dcT", 2, dh.dtype))
    if dcT.shape != (N, H):
        raise ValueError(f"dcT must have shape {(N, H)}, got {dcT.shape}")
    dz = np.empty((T, N, 4 * H), dh.dtype)
    dh0 = np.empty((N, H), dh.dtype)
    dc0 = np.empty((N, H), dh.dtype)
    if N:
        nt = threads_for(N)
        WhT, P = step_weights(cache.Wh, N, nt, transposed=True)
        _lstm_backward_kernel(dh, dcT, cache.act, cache.c, cache.c0, WhT, P, dz, dh0, dc0, nt)
    # dWh = sum_t h_{t-1}^T dz_t as one product over all steps: apart, the
    # first step's cost a call, a sum of parts and an add: 4.0 -> 3.85 ms a layer.
    dWh = matmul_tn(cache.hs[:-1].reshape(-1, H), dz.reshape(-1, 4 * H))
    return dz, dh0, dc0, dWh


def lstm_forward(x, h0, c0, Wx, Wh, b):
    """LSTM over a sequence. x: (T, N, D), h0, c0: (N, H), Wx: (D, 4H),
    Wh: (H, 4H), b: (4H,). Returns h: (T, N, H), whose h[-1] is the last
    hidden state, and the cache, whose cache.c_last is the last cell state."""
    x = as_float_array(x, "x", 3)
    Wx = as_float_array(Wx, "Wx", 2, x.dtype)
    b = as_float_array(b, "b", 1, x.dtype)
    T, N, D = x.shape
    if Wx.shape[0] != D or b.shape != (Wx.shape[1],):
        raise ValueError(f"shapes x {x.shape}, Wx {Wx.shape}, b {b.shape} do not fit")
    xw = matmul(x.reshape(T * N, D), Wx)
    h, cache = lstm_recurrence_forward(xw.reshape(T, N, Wx.shape[1]), h0, c0, Wh, b)
    return h, cache._replace(x=x, Wx=Wx)


def lstm_backward(dh, cache, dcT=None):
    """Gradients of lstm_forward. dh: (T, N, H), the loss's gradient at every
    h_t (zeros where a step feeds nothing); dcT: (N, H) or None. Returns
    dx: (T, N, D), dh0, dc0: (N, H), dWx: (D, 4H), dWh: (H, 4H), db: (4H,)."""
    dz, dh0, dc0, dWh = lstm_recurrence_backward(dh, cache, dcT)
    T, N, D = cache.x.shape
    dz2 = dz.reshape(T * N, dz.shape[2])
    dx = matmul(dz2, np.ascontiguousarray(cache.Wx.T)).reshape(T, N, D)
    dWx = matmul_tn(cache.x.reshape(T * N, D), dz2)
    return dx, dh0, dc0, dWx, dWh, dz2.sum(axis=0)
