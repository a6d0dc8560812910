"""2-D convolution, forward and backward (im2col + GEMM, one image at a time).

A layer with c_o kernels of size k_h x k_w, stride s_h x s_w and zero padding
p_h x p_w maps a C x H x W image to c_o x m_h x m_w with
m = (size + 2 p - k) // s + 1 on each axis.

Each thread takes a contiguous chunk of the batch and lays out one image at a
time as columns in a buffer it owns (kernels/im2col.py), so the columns stay
in cache and the GEMM writes straight into the NCHW output.

Stride-1 layers with few taps per output (conv_lanes.lanes_suit) take the
lanes path instead, forward and backward: no columns, eight images per
AVX2 register (kernels/conv_lanes.py, conv_lanes_backward.py); strided
ones with few taps (the ResNet's stride-2 layers) take the same kernels on
the image's phase planes (kernels/conv_phases.py). 3x3 layers with stride
1, padding 1, at least 32 channels out and more than 32 in
(winograd_plan.takes_winograd: the stride-1 layers of the ResNet's third
stage) take Winograd's F(2x2, 3x3) or F(4x4, 3x3).
"""

import numpy as np
from numba import prange

from ._common import as_float_array, out_size, pair
from ._jit import jit_parallel
from ._split import block, threads_for
from .conv_lanes import lanes_forward, lanes_suit, lanes_suit_backward
from .conv_lanes_backward import lanes_backward
from .conv_phases import phases_backward, phases_forward, phases_suit
from .conv_winograd import transformed_kernels, winograd_grads, winograd_layer
from .winograd_plan import takes_winograd, winograd_tile
from ._winograd_ends import BIAS
from .im2col import col2im_image, im2col, pad_image


@jit_parallel
def _conv_forward_kernel(x, w2, b, HH, WW, sh, sw, ph, pw, OH, OW, nt, transposed, out):
    """x: (N, C, H, W), w2: (F, C * HH * WW), b: (F,) -> out: (N, F, OH * OW).
    With ``transposed`` the product is formed as cols^T @ w2^T, (P, K) @ (K, F),
    which OpenBLAS runs faster when F is a few dozen channels at most."""
    N, C, H, W = x.shape
    F, K = w2.shape
    P = OH * OW
    w2t = np.ascontiguousarray(w2.T)
    for t in prange(nt):
        lo, count = block(t, nt, N)
        xp = np.empty((C, H + 2 * ph, W + 2 * pw), x.dtype)
        cols = np.empty((K, P), x.dtype)
        outT = np.empty((P, F), x.dtype)
        for n in range(lo, lo + count):
            pad_image(x[n], ph, pw, xp)
            im2col(xp, HH, WW, sh, sw, OH, OW, cols)
            o = out[n]
            if transposed:
                np.dot(cols.T, w2t, outT)
                for f in range(F):
                    row = o[f]
                    bf = b[f]
                    for p in range(P):
                        row[p] = outT[p, f] + bf
            else:
                np.dot(w2, cols, o)
                for f in range(F):
                    row = o[f]
                    bf = b[f]
                    for p in range(P):
                        row[p] += bf


@jit_parallel
def _conv_backward_kernel(x, w2, dout, HH, WW, sh, sw, ph, pw, OH, OW, need_dx,
                          dx, dw_parts):
    """dout: (N, F, OH * OW) -> dx: (N, C, H, W) and one dw, transposed, per
    thread: dw_parts: (nt, C * HH * WW, F), summed by the caller. dw^T is
    formed as cols @ dout^T, twice as fast in OpenBLAS as dout @ cols^T."""
    N, C, H, W = x.shape
    F, K = w2.shape
    nt = dw_parts.shape[0]
    w2t = np.ascontiguousarray(w2.T)
    for t in prange(nt):
        lo, count = block(t, nt, N)
        dwt = dw_parts[t]
        for k in range(K):
            for f in range(F):
                dwt[k, f] = 0
        xp = np.empty((C, H + 2 * ph, W + 2 * pw), x.dtype)
        dxp = np.empty((C, H + 2 * ph, W + 2 * pw), x.dtype)
        cols = np.empty((K, OH * OW), x.dtype)
        dcols = np.empty((K, OH * OW), x.dtype)
        tmp = np.empty((K, F), x.dtype)
        for n in range(lo, lo + count):
            pad_image(x[n], ph, pw, xp)
            im2col(xp, HH, WW, sh, sw, OH, OW, cols)
            np.dot(cols, dout[n].T, tmp)
            for k in range(K):
                for f in range(F):
                    dwt[k, f] += tmp[k, f]
            if need_dx:
                np.dot(w2t, dout[n], dcols)
                col2im_image(dcols, HH, WW, sh, sw, ph, pw, OH, OW, dxp, dx[n])


def check_conv_args(x, w, b, stride, pad):
    """The checked arrays, (sh, sw), (ph, pw) and the output size (OH, OW)."""
    x = as_float_array(x, "x", 4)
    w = as_float_array(w, "w", 4, x.dtype)
    b = as_float_array(b, "b", 1, x.dtype)
    C, H, W = x.shape[1:]
    F, Cw, HH, WW = w.shape
    if Cw != C:
        raise ValueError(f"w has {Cw} input channels but x has {C}")
    if b.shape != (F,):
        raise ValueError(f"b must have shape ({F},), got {b.shape}")
    sh, sw = pair(stride, "stride")
    ph, pw = pair(pad, "pad")
    OH = out_size(H, HH, sh, ph, "conv2d")
    OW = out_size(W, WW, sw, pw, "conv2d")
    return x, w, b, (sh, sw), (ph, pw), (OH, OW)


def conv2d_forward(x, w, b, stride=1, pad=0):
    """2-D convolution (cross-correlation, as in every framework).

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,); stride and pad are an int or
    an (h, w) pair. Returns out: (N, F, OH, OW) and the cache for backward.
    """
    x, w, b, (sh, sw), (ph, pw), (OH, OW) = check_conv_args(x, w, b, stride, pad)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    U = None
    if takes_winograd(C, F, HH, WW, (sh, sw), (ph, pw)):
        U = transformed_kernels(w, winograd_tile(H, W))
        out = winograd_layer(x, U, b, BIAS)[0]  # the bias added per image, in cache
    else:
        out = np.empty((N, F, OH * OW), x.dtype)
        if lanes_suit(C, HH, WW, (sh, sw)):
            lanes_forward(x, w, b, (ph, pw), False, 0, out, out.reshape(N, F, 1, OH * OW))
        elif phases_suit(C, F, HH, WW, (sh, sw)):
            phases_forward(x, w, b, (sh, sw), (ph, pw), out)
        elif N:
            _conv_forward_kernel(x, w.reshape(F, -1), b, HH, WW, sh, sw, ph, pw, OH, OW,
                                 threads_for(N), F <= 32, out)
    return out.reshape(N, F, OH, OW), (x, w, (sh, sw), (ph, pw), U)


def conv2d_backward(dout, cache, need_dx=True, need_db=True):
    """Gradients of conv2d_forward.

    dout: (N, F, OH, OW). Returns dx: (N, C, H, W) (None when need_dx is
    False, as for a network's first layer), dw: (F, C, HH, WW) and db: (F,)
    (None when need_db is False, as for a layer without bias before batch
    norm: the sum costs 3% of a ResNet step).
    """
    x, w, (sh, sw), (ph, pw), U = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    dout = as_float_array(dout, "dout", 4, x.dtype)
    OH = (H + 2 * ph - HH) // sh + 1
    OW = (W + 2 * pw - WW) // sw + 1
    if dout.shape != (N, F, OH, OW):
        raise ValueError(f"dout must have shape {(N, F, OH, OW)}, got {dout.shape}")
    db = dout.sum(axis=(0, 2, 3)) if need_db else None
    if U is not None:
        dx, dw = winograd_grads(x, U, dout.reshape(N, F, OH * OW), need_dx)
        return dx, dw, db
    if lanes_suit_backward(C, F, HH, WW, (sh, sw), (ph, pw)):
        dx, dw = lanes_backward(x, w, dout, (ph, pw), need_dx)
        return dx, dw, db
    if phases_suit(C, F, HH, WW, (sh, sw)):
        dx, dw = phases_backward(x, w, dout, (sh, sw), (ph, pw), need_dx)
        return dx, dw, db
    nt = threads_for(N)
    dw_parts = np.zeros((nt, C * HH * WW, F), x.dtype)
    dx = np.empty_like(x) if need_dx else np.empty((0, C, H, W), x.dtype)
    if N:
        _conv_backward_kernel(x, w.reshape(F, -1), dout.reshape(N, F, OH * OW), HH, WW,
                              sh, sw, ph, pw, OH, OW, need_dx, dx, dw_parts)
    dw = np.ascontiguousarray(dw_parts.sum(axis=0).T).reshape(w.shape)
    return (dx if need_dx else None), dw, db
