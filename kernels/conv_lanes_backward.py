"""The backward pass of the lanes convolution (conv_lanes.py): dw sums
products of the same shifted rows of eight interleaved images that the
forward pass reads, and dx is the forward convolution of dout with the
flipped kernels. conv.conv2d_backward takes this path for the layers that
conv_lanes.lanes_suit_backward accepts.
"""

import numpy as np
from numba import prange

from ._jit import jit, jit_parallel
from ._split import block, threads_for
from .conv_lanes import lanes_forward, load_lanes

# The weight gradient's sums over positions vectorise only if they may be
# reordered (as BLAS reorders them).
SUMS = {"contract", "reassoc"}


@jit(fastmath=SUMS)
def _dw_row3(d0, d1, d2, X, off, o0, o1, o2):
    """o_k[j] += sum_q d_k[q] X[off + 8 j + q] for three filters' output
    gradients d_k and a 3-wide kernel row: nine sums in registers."""
    L = d0.shape[0]
    x0, x1, x2 = X[off:off + L], X[off + 8:off + 8 + L], X[off + 16:off + 16 + L]
    zero = d0.dtype.type(0)
    s0 = s1 = s2 = t0 = t1 = t2 = r0 = r1 = r2 = zero
    for q in range(L):
        u0, u1, u2 = x0[q], x1[q], x2[q]
        e0, e1, e2 = d0[q], d1[q], d2[q]
        s0 += e0 * u0
        s1 += e0 * u1
        s2 += e0 * u2
        t0 += e1 * u0
        t1 += e1 * u1
        t2 += e1 * u2
        r0 += e2 * u0
        r1 += e2 * u1
        r2 += e2 * u2
    o0[0] += s0
    o0[1] += s1
    o0[2] += s2
    o1[0] += t0
    o1[1] += t1
    o1[2] += t2
    o2[0] += r0
    o2[1] += r1
    o2[2] += r2


@jit(fastmath=SUMS)
def _dw_row2(d0, d1, X, off, o0, o1):
    """_dw_row3 for two filters (d1 is d0 and o1 is ignored for one) and any width."""
    L = d0.shape[0]
    zero = d0.dtype.type(0)
    for j in range(o0.shape[0]):
        xj = X[off + 8 * j:off + 8 * j + L]
        s = t = zero
        for q in range(L):
            u = xj[q]
            s += d0[q] * u
            t += d1[q] * u
        o0[j] += s
        o1[j] += t


@jit
def _dw_sums(X, D, Wp, dwt):
    """dwt: (F, C, HH, WW) += sum_q D[f, q] X[c, (i Wp + j) 8 + q], D: (F, L)
    the output gradient in the lanes layout, zero past each row's OW columns."""
    F, C, HH, WW = dwt.shape
    # A lone filter's dropped partner sums, zeroed as in the forward pass.
    scratch = np.zeros(WW, dwt.dtype)
    f = 0
    while f < F:
        n = 3 if WW == 3 and f + 3 <= F else min(2, F - f)
        for c in range(C):
            for i in range(HH):
                off = i * Wp * 8
                if n == 3:
                    _dw_row3(D[f], D[f + 1], D[f + 2], X[c], off, dwt[f, c, i],
                             dwt[f + 1, c, i], dwt[f + 2, c, i])
                elif n == 2:
                    _dw_row2(D[f], D[f + 1], X[c], off, dwt[f, c, i], dwt[f + 1, c, i])
                else:
                    _dw_row2(D[f], D[f], X[c], off, dwt[f, c, i], scratch)
        f += n


@jit_parallel
def _dw_kernel(x, dout, ph, pw, dw_parts):
    """x: (N, C, H, W), dout: (N, F, OH, OW) -> dw_parts: (nt, F, C, HH, WW),
    one partial weight gradient per thread."""
    N, C, H, W = x.shape
    F, WW = dw_parts.shape[1], dw_parts.shape[4]
    OH = dout.shape[2]
    Wp = W + pw  # shared borders, as in conv_lanes
    nt = dw_parts.shape[0]
    blocks = (N + 7) // 8
    for t in prange(nt):
        lo, count = block(t, nt, blocks)
        dwt = dw_parts[t]
        dwt[:] = 0
        X = np.zeros((C, ((H + 2 * ph) * Wp + WW + pw) * 8), x.dtype)
        D = np.zeros((F, OH * Wp * 8), x.dtype)
        for blk in range(lo, lo + count):
            n0 = blk * 8
            nb = min(8, N - n0)
            if nb < 8:  # lanes past the batch must add nothing to dw
                D[:] = 0
            load_lanes(x, n0, nb, ph, pw, Wp, X)
            load_lanes(dout, n0, nb, 0, 0, Wp, D)
            _dw_sums(X, D, Wp, dwt)


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
