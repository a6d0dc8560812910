"""The backward pass of the lanes convolution (conv_lanes.py): dw sums
products of the same shifted rows of eight interleaved images that the
forward pass reads, and dx is the forward convolution of dout with the
flipped kernels. conv.conv2d_backward takes this path for the layers that
conv_lanes.lanes_suit_backward accepts.
"""

import numpy as np
from numba import prange

from ._implicit import LANES, lane_sums, weight_sums
from ._lanes_layout import lanes_geometry, load_lanes, tap_offsets
from ._jit import jit_parallel
from ._split import block, threads_for
from .conv_lanes import lanes_forward


@jit_parallel
def _dw_kernel(x, dout, ph, pw, dw_parts):
    """x: (N, C, H, W), dout: (N, F, OH, OW) -> dw_parts: (nt, F, C, HH, WW),
    one partial weight gradient per thread."""
    N, C, H, W = x.shape
    nt, F, HH, WW = dw_parts.shape[0], dw_parts.shape[1], dw_parts.shape[3], dw_parts.shape[4]
    OH, OW, Wp, L, Lx = lanes_geometry(H, W, HH, WW, ph, pw)
    blocks = (N + 7) // 8
    K = C * HH * WW
    offs = tap_offsets(C, HH, WW, Lx, Wp)
    for t in prange(nt):
        lo, count = block(t, nt, blocks)
        part = np.zeros((F, K, LANES), x.dtype)
        X = np.zeros((C, Lx), x.dtype)
        D = np.zeros((F, L), x.dtype)  # zero past each row's OW columns and past OH rows
        for blk in range(lo, lo + count):
            n0 = blk * 8
            nb = min(8, N - n0)
            if nb < 8:  # lanes past the batch must add nothing to dw
                D[:] = 0
            load_lanes(x, n0, nb, ph, pw, Wp, X)
            load_lanes(dout, n0, nb, 0, 0, Wp, D)
            weight_sums(D, X, offs, part)
        lane_sums(part, dw_parts[t].reshape(F, K))


def lanes_backward(x, w, dout, pad, need_dx):
    """(dx: (N, C, H, W) or None, dw: (F, C, HH, WW)) of a stride-1
    convolution of x: (N, C, H, W) with w: (F, C, HH, WW) and padding
    pad = (ph, pw), for dout: (N, F, OH, OW). Needs pad < the kernel size on
    each axis (lanes_suit_backward); the caller checks the arguments.

    dx is the convolution of dout, padded by HH - 1 - ph, with the kernels
    flipped and transposed, so it reuses the forward kernel."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    nt = threads_for((N + 7) // 8)
    dw_parts = np.empty((nt,) + w.shape, x.dtype)
    if N:
        _dw_kernel(x, dout, pad[0], pad[1], dw_parts)
    else:
        dw_parts[:] = 0
    dw = dw_parts[0] if nt == 1 else dw_parts.sum(axis=0)
    if not need_dx:
        return None, dw
    dx = np.empty((N, C, H * W), x.dtype)
    wt = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    lanes_forward(dout, wt, np.zeros(C, x.dtype), (HH - 1 - pad[0], WW - 1 - pad[1]), False,
                  0, dx, dx.reshape(N, C, 1, H * W))
    return dx.reshape(N, C, H, W), dw
