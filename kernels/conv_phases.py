"""Strided convolution over lanes of eight images, forward and backward,
on phase planes: the ResNet's stride-2 layers without im2col.

With stride s, output (oh, ow) of tap (i, j) reads the padded image at
(s * oh + i, s * ow + j). Split the padded image into its s x s phase
planes, plane (p, q) holding the pixels (s * a + p, s * b + q): tap
(i, j) then reads plane (i % s, j % s) at (oh + i // s, ow + j // s), a
plain shift again, as in the stride-1 lanes layout (_lanes_layout.py).
So the sums are the same implicit product (_implicit.convolve) with tap
offsets into the planes, and dw the same weight sums. dx is, plane by
plane, a stride-1 convolution of dout with the taps that reach that plane
(4, 2, 2 and 1 of a 3 x 3 kernel at stride 2), flipped.

Only the planes the taps reach are built (one of four for a 1 x 1 kernel
at stride 2). A plane has rows of Wq = OW + ceil(WW / s) - 1 pixels, so
each output row computes Wq - OW positions that are dropped.
"""

import numpy as np
from numba import prange

from ._implicit import LANES, convolve, lane_sums, padded_length, weight_sums
from ._jit import jit, jit_parallel
from ._lanes_layout import load_lanes
from ._split import block, threads_for
from . import conv_lanes
from .conv_lanes import store_lanes


@jit
def phase_geometry(H, W, HH, WW, sh, sw, ph, pw):
    """(OH, OW, Ph, Pw, Hq, Wq, L, Lx): the output's size, the phases per
    axis that taps reach, a plane's rows and row width, the positions
    computed and a plane's length (room for every tap's shifted row)."""
    OH, OW = (H + 2 * ph - HH) // sh + 1, (W + 2 * pw - WW) // sw + 1
    Ah, Aw = -(-HH // sh), -(-WW // sw)
    Hq, Wq = OH + Ah - 1, OW + Aw - 1
    L = padded_length(OH * Wq * 8)
    return OH, OW, min(sh, HH), min(sw, WW), Hq, Wq, L, ((Ah - 1) * Wq + Aw - 1) * 8 + L


@jit
def phase_offsets(C, HH, WW, sh, sw, Ph, Pw, Wq, Lx):
    """offs: (C * HH * WW,), the flat offset of each tap's row among the
    planes X: (C * Ph * Pw, Lx), in the order of w.reshape(F, -1)."""
    offs = np.empty(C * HH * WW, np.intp)
    k = 0
    for c in range(C):
        for i in range(HH):
            for j in range(WW):
                plane = (c * Ph + i % sh) * Pw + j % sw
                offs[k] = plane * Lx + ((i // sh) * Wq + j // sw) * 8
                k += 1
    return offs


@jit
def load_phases(x, n0, nb, sh, sw, ph, pw, Ph, Pw, Hq, Wq, X):
    """Images n0 .. n0 + nb - 1 of x: (N, C, H, W) into the lanes of the
    planes X: (C * Ph * Pw, Lx); pixels of the padding stay zero from X's
    allocation."""
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    for c in range(C):
        for p in range(Ph):
            for q in range(Pw):
                Xp = X[(c * Ph + p) * Pw + q]
                for a in range(Hq):
                    h = a * sh + p - ph
                    if h < 0 or h >= H:
                        continue
                    for lane in range(nb):
                        src = x[n0 + lane, c, h]
                        for b in range(Wq):
                            w = b * sw + q - pw
                            if 0 <= w < W:
                                Xp[(a * Wq + b) * 8 + lane] = src[w]


@jit_parallel
def _forward_kernel(x, w, b, sh, sw, ph, pw, nt, out):
    """x: (N, C, H, W), w: (F, C, HH, WW), b: (F,) -> out: (N, F, OH * OW)."""
    N, C, H, W = x.shape
    F, HH, WW = w.shape[0], w.shape[2], w.shape[3]
    OH, OW, Ph, Pw, Hq, Wq, L, Lx = phase_geometry(H, W, HH, WW, sh, sw, ph, pw)
    Wk = w.reshape(F, -1)
    offs = phase_offsets(C, HH, WW, sh, sw, Ph, Pw, Wq, Lx)
    blocks = (N + 7) // 8
    for t in prange(nt):
        lo, count = block(t, nt, blocks)
        X = np.zeros((C * Ph * Pw, Lx), x.dtype)
        no_arg = np.empty((0, 1, 1, 1, 8), np.uint8)  # store_lanes: no pooling here
        acc = np.empty((F, L), x.dtype)
        for blk in range(lo, lo + count):
            n0 = blk * 8
            nb = min(8, N - n0)
            load_phases(x, n0, nb, sh, sw, ph, pw, Ph, Pw, Hq, Wq, X)
            convolve(Wk, X, offs, b, acc)
            store_lanes(acc, n0, nb, OH, OW, Wq, False, 0, out, out.reshape(N, F, 1, OH * OW), no_arg)


@jit
def _dx_taps(w, sh, sw, Ph, Pw, Ah, Aw, Wq, Ld):
    """dx of plane (p, q), pq = p * Pw + q, sums the taps (f, a, b) with
    a * sh + p < HH and b * sw + q < WW over dout in lanes padded by Ah - 1
    rows and Aw - 1 columns: (Wflat, doffs, starts), plane pq's weights
    Wflat[C * starts[pq]:C * starts[pq + 1]] as a (C, taps) matrix, each
    contiguous for convolve, and their offsets doffs[starts[pq]:starts[pq + 1]]."""
    F, C, HH, WW = w.shape
    planes = Ph * Pw
    starts = np.zeros(planes + 1, np.intp)
    for pq in range(planes):
        p, q = pq // Pw, pq % Pw
        starts[pq + 1] = starts[pq] + F * (-(-(HH - p) // sh)) * (-(-(WW - q) // sw))
    Wflat = np.empty(C * starts[planes], w.dtype)
    doffs = np.empty(starts[planes], np.intp)
    for pq in range(planes):
        p, q = pq // Pw, pq % Pw
        Wp = Wflat[C * starts[pq]:C * starts[pq + 1]].reshape(C, starts[pq + 1] - starts[pq])
        k = 0
        for f in range(F):
            for a in range(Ah):
                for b in range(Aw):
                    i, j = a * sh + p, b * sw + q
                    if i < HH and j < WW:
                        for c in range(C):
                            Wp[c, k] = w[f, c, i, j]
                        doffs[starts[pq] + k] = f * Ld + ((Ah - 1 - a) * Wq + Aw - 1 - b) * 8
                        k += 1
    return Wflat, doffs, starts


@jit_parallel
def _backward_kernel(x, dout, w, sh, sw, ph, pw, need_dx, dx, dw_parts):
    """x: (N, C, H, W), dout: (N, F, OH, OW), w: (F, C, HH, WW) -> dx (zeros
    on entry, filled where taps reach when need_dx) and dw_parts: (nt, F,
    C, HH, WW), one partial weight gradient per thread."""
    N, C, H, W = x.shape
    F, HH, WW = w.shape[0], w.shape[2], w.shape[3]
    nt = dw_parts.shape[0]
    OH, OW, Ph, Pw, Hq, Wq, L, Lx = phase_geometry(H, W, HH, WW, sh, sw, ph, pw)
    Ah, Aw = -(-HH // sh), -(-WW // sw)
    K = C * HH * WW
    offs = phase_offsets(C, HH, WW, sh, sw, Ph, Pw, Wq, Lx)
    Lq = padded_length(Hq * Wq * 8)
    Ld = ((Ah - 1) * Wq + Aw - 1) * 8 + Lq
    planes = Ph * Pw
    Wflat, doffs, starts = _dx_taps(w, sh, sw, Ph, Pw, Ah, Aw, Wq, Ld)
    zero_bias = np.zeros(C, x.dtype)
    blocks = (N + 7) // 8
    for t in prange(nt):
        lo, count = block(t, nt, blocks)
        part = np.zeros((F, K, LANES), x.dtype)
        X = np.zeros((C * planes, Lx), x.dtype)
        D = np.zeros((F, L), x.dtype)  # zero past each row's OW columns and past OH rows
        Dp = np.zeros((F, Ld), x.dtype)
        acc = np.empty((C, Lq), x.dtype)
        for blk in range(lo, lo + count):
            n0 = blk * 8
            nb = min(8, N - n0)
            if nb < 8:  # lanes past the batch must add nothing to dw
                D[:] = 0
            load_phases(x, n0, nb, sh, sw, ph, pw, Ph, Pw, Hq, Wq, X)
            load_lanes(dout, n0, nb, 0, 0, Wq, D)
            weight_sums(D, X, offs, part)
            if not need_dx:
                continue
            load_lanes(dout, n0, nb, Ah - 1, Aw - 1, Wq, Dp)
            for pq in range(planes):
                p, q = pq // Pw, pq % Pw
                k0, k1 = starts[pq], starts[pq + 1]
                convolve(Wflat[C * k0:C * k1].reshape(C, k1 - k0), Dp, doffs[k0:k1], zero_bias,
                         acc)
                for c in range(C):
                    for a in range(Hq):
                        h = a * sh + p - ph
                        if h < 0 or h >= H:
                            continue
                        for bb in range(Wq):
                            col = bb * sw + q - pw
                            if 0 <= col < W:
                                for lane in range(nb):
                                    dx[n0 + lane, c, h, col] = acc[c, (a * Wq + bb) * 8 + lane]
        lane_sums(part, dw_parts[t].reshape(F, K))


def phases_suit(C, F, HH, WW, stride):
    """Whether a strided layer takes this path, forward and backward: few
    taps per output and per plane of dx, as for the lanes path (the
    ResNet's stride-2 layers, 3 x 3 and 1 x 1)."""
    sh, sw = stride
    most = conv_lanes.MAX_TAPS  # read at each call: tests patch it to force GEMM
    return ((sh, sw) != (1, 1) and C * HH * WW <= most
            and F * (-(-HH // sh)) * (-(-WW // sw)) <= most)


def phases_forward(x, w, b, stride, pad, out):
    """Fill out: (N, F, OH * OW) with conv(x, w, b) at stride = (sh, sw) and
    padding pad = (ph, pw). The caller checks the arguments."""
    N = x.shape[0]
    if N:
        _forward_kernel(x, w, b, stride[0], stride[1], pad[0], pad[1],
                        threads_for((N + 7) // 8), out)


def phases_backward(x, w, dout, stride, pad, need_dx):
    """(dx: (N, C, H, W) or None, dw: (F, C, HH, WW)) of phases_forward for
    dout: (N, F, OH, OW). The caller checks the arguments."""
    N = x.shape[0]
    nt = threads_for((N + 7) // 8)
    dw_parts = np.zeros((nt,) + w.shape, x.dtype)
    dx = np.zeros(x.shape if need_dx else (0,) + x.shape[1:], x.dtype)
    if N:
        _backward_kernel(x, np.ascontiguousarray(dout), w, stride[0], stride[1], pad[0], pad[1],
                         need_dx, dx, dw_parts)
    dw = dw_parts[0] if nt == 1 else dw_parts.sum(axis=0)
    return (dx if need_dx else None), dw
