"""The backward pass of the lanes convolution (conv_lanes.py): dw sums
products of the same shifted rows of eight interleaved images that the
forward pass reads, and dx is the forward convolution of dout with the
flipped kernels. conv.conv2d_backward takes this path for the layers that
conv_lanes.lanes_suit_backward accepts.
"""

import numpy as np
from numba import prange

from ._implicit import LANES, convolve, lane_sums, weight_sums
from ._lanes_layout import lanes_geometry, load_lanes, tap_offsets
from ._jit import jit, jit_parallel
from ._relu_pool import NO_GRAD
from ._split import block, threads_for
from .conv_lanes import store_lanes, lanes_forward


@jit_parallel
def _dw_kernel(x, dout, arg, k, ph, pw, dw_parts, db_parts):
    """x: (N, C, H, W), dout: (N, F, OH, OW) -> dw_parts: (nt, F, C, HH, WW),
    one partial weight gradient per thread. For a layer with ReLU and k x k
    max pooling after it, dout: (N, F, QH, QW) and arg holds the windows'
    codes (_lanes_pool), scattered into the lanes where dout would be
    loaded, and db_parts: (nt, F) float64 gets the bias gradient too;
    otherwise arg holds no block and db_parts is left alone."""
    N, C, H, W = x.shape
    nt, F, HH, WW = dw_parts.shape[0], dw_parts.shape[1], dw_parts.shape[3], dw_parts.shape[4]
    OH, OW, Wp, L, Lx = lanes_geometry(H, W, HH, WW, ph, pw)
    blocks = (N + 7) // 8
    K = C * HH * WW
    offs = tap_offsets(C, HH, WW, Lx, Wp)
    codes = arg.shape[0] > 0
    for t in prange(nt):
        lo, count = block(t, nt, blocks)
        part = np.zeros((F, K, LANES), x.dtype)
        X = np.zeros((C, Lx), x.dtype)
        # Zero past each row's OW columns and past OH rows; with codes, zero
        # but where a block's windows write, which is undone after each block.
        D = np.zeros((F, L), x.dtype)
        if codes:
            for f in range(F):
                db_parts[t, f] = 0.0
        for blk in range(lo, lo + count):
            n0 = blk * 8
            nb = min(8, N - n0)
            load_lanes(x, n0, nb, ph, pw, Wp, X)
            if codes:
                _scatter_codes(dout, arg, n0, nb, k, 0, Wp, D, False, db_parts[t])
            else:
                if nb < 8:  # lanes past the batch must add nothing to dw
                    D[:] = 0
                load_lanes(dout, n0, nb, 0, 0, Wp, D)
            weight_sums(D, X, offs, part)
            if codes:
                _scatter_codes(dout, arg, n0, nb, k, 0, Wp, D, True, db_parts[t])
        lane_sums(part, dw_parts[t].reshape(F, K))


@jit
def _scatter_codes(dout, arg, n0, nb, k, base, Wr, D, clear, db):
    """Writes each open window's gradient dout[n0 + lane, f, qh, qw] at its
    maximum's position in the lanes of D: (F, ...), whose rows are Wr wide
    and whose first row starts at ``base`` (the codes arg[n0 // 8],
    _lanes_pool), and adds them to db: (F,) float64; with ``clear``, zeros
    there instead, undoing that. A closed window writes its zero at its
    first position, which no other window covers."""
    F, QH, QW = arg.shape[1], arg.shape[2], arg.shape[3]
    codes = arg[n0 // 8]
    zero = D.dtype.type(0)
    offs = np.empty(k * k + 1, np.intp)  # code -> offset in D from the window's start
    for c in range(k * k):
        offs[c] = ((c // k) * Wr + c % k) * 8
    offs[k * k] = 0
    for f in range(F):
        Df, s = D[f], np.float64(0)  # float64 without JIT too (NEP 50)
        for qh in range(QH):
            for qw in range(QW):
                at = base + (qh * k * Wr + qw * k) * 8
                for lane in range(nb):
                    c = np.intp(codes[f, qh, qw, lane])
                    open_ = c != NO_GRAD
                    g = dout[n0 + lane, f, qh, qw] if open_ else zero
                    Df[at + offs[c if open_ else k * k] + lane] = zero if clear else g
                    s += g
        if not clear:
            db[f] += s


@jit_parallel
def _dx_codes_kernel(dout, arg, k, wt, OH, OW, ph, pw, nt, dx):
    """dx: (N, C, H * W), the convolution of the gradient of the sums (from
    dout: (N, F, QH, QW) and the codes arg, as in _dw_kernel), padded
    by (ph, pw), with wt: (C, F, HH, WW), the kernels flipped: the lanes
    forward pass with the codes scattered where it loads its input."""
    N, F = dout.shape[0], dout.shape[1]
    C, HH, WW = wt.shape[0], wt.shape[2], wt.shape[3]
    H, W, Wp, L, Lx = lanes_geometry(OH, OW, HH, WW, ph, pw)
    blocks = (N + 7) // 8
    Wk = wt.reshape(C, -1)
    offs = tap_offsets(F, HH, WW, Lx, Wp)
    base = (ph * Wp + pw) * 8
    for t in prange(nt):
        lo, count = block(t, nt, blocks)
        X = np.zeros((F, Lx), dout.dtype)
        acc = np.empty((C, L), dout.dtype)
        bias = np.zeros(C, dout.dtype)
        no_sums = np.zeros(F, np.float64)
        no_arg = np.empty((0, 1, 1, 1, 8), np.uint8)
        for blk in range(lo, lo + count):
            n0 = blk * 8
            nb = min(8, N - n0)
            _scatter_codes(dout, arg, n0, nb, k, base, Wp, X, False, no_sums)
            convolve(Wk, X, offs, bias, acc)
            _scatter_codes(dout, arg, n0, nb, k, base, Wp, X, True, no_sums)
            store_lanes(acc, n0, nb, H, W, Wp, False, 0, dx, dx.reshape(N, C, 1, H * W), no_arg)


def _weight_grads(x, w, dout, arg, pool, pad):
    """(dw, db_parts, nt): _dw_kernel over the batch's blocks of eight, nt
    threads' shares summed for dw; db_parts: (nt, F) float64, the bias
    gradient's shares when arg holds the codes (else zeros)."""
    nt = threads_for((x.shape[0] + 7) // 8)
    dw_parts = np.zeros((nt,) + w.shape, x.dtype)
    db_parts = np.zeros((nt, w.shape[0]), np.float64)
    if x.shape[0]:
        _dw_kernel(x, dout, arg, pool, pad[0], pad[1], dw_parts, db_parts)
    return (dw_parts[0] if nt == 1 else dw_parts.sum(axis=0)), db_parts, nt


def _flipped(w):
    """The kernels of dx's convolution: w: (F, C, HH, WW) flipped and
    transposed, (C, F, HH, WW)."""
    return np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))


def lanes_codes_backward(x, w, dout, arg, pool, pad, need_dx):
    """(dx: (N, C, H, W) or None, dw: (F, C, HH, WW), db: (F,)) of a stride-1
    convolution of x: (N, C, H, W) with w: (F, C, HH, WW) and padding pad,
    followed by ReLU and pool x pool max pooling, for dout: (N, F, QH, QW)
    and the windows' codes arg that lanes_forward kept. The gradient of the
    sums goes straight into the lanes layouts, never to memory of the
    batch's size (AlexNet-style conv1: 6.4 MB at batch 64). Needs
    lanes_suit_backward; the caller checks the arguments."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    dw, db_parts, nt = _weight_grads(x, w, dout, arg, pool, pad)
    db = db_parts.sum(axis=0).astype(x.dtype)
    if not need_dx:
        return None, dw, db
    dx = np.empty((N, C, H * W), x.dtype)
    if N:
        OH, OW = H + 2 * pad[0] - HH + 1, W + 2 * pad[1] - WW + 1
        _dx_codes_kernel(dout, arg, pool, _flipped(w), OH, OW, HH - 1 - pad[0],
                         WW - 1 - pad[1], nt, dx)
    return dx.reshape(N, C, H, W), dw, db


def lanes_backward(x, w, dout, pad, need_dx):
    """(dx: (N, C, H, W) or None, dw: (F, C, HH, WW)) of a stride-1
    convolution of x: (N, C, H, W) with w: (F, C, HH, WW) and padding
    pad = (ph, pw), for dout: (N, F, OH, OW). Needs pad < the kernel size on
    each axis (lanes_suit_backward); the caller checks the arguments.

    dx is the convolution of dout, padded by HH - 1 - ph, with the kernels
    flipped and transposed, so it reuses the forward kernel."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    dw = _weight_grads(x, w, dout, np.empty((0, 1, 1, 1, 8), np.uint8), 0, pad)[0]
    if not need_dx:
        return None, dw
    dx = np.empty((N, C, H * W), x.dtype)
    lanes_forward(dout, _flipped(w), np.zeros(C, x.dtype), (HH - 1 - pad[0], WW - 1 - pad[1]),
                  False, 0, dx, dx.reshape(N, C, 1, H * W))
    return dx.reshape(N, C, H, W), dw
