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
def _dw_kernel3x3(d0, d1, X, r, o0, o1):
    """o_k[i, j] += sum_q d_k[q] X[r i + 8 j + q], r = Wp * 8, for two
    filters' output gradients d_k and a 3 x 3 kernel: eighteen sums in
    registers, each d_k read once per channel. 16 channels at 28 x 28,
    batch 64, 2 threads: dw 1.54 -> 1.19 ms (three filters a kernel row at a
    time before; three filters here 1.33)."""
    L = d0.shape[0]
    x0, x1, x2 = X[0:L], X[8:8 + L], X[16:16 + L]
    x3, x4, x5 = X[r:r + L], X[r + 8:r + 8 + L], X[r + 16:r + 16 + L]
    x6, x7, x8 = X[2 * r:2 * r + L], X[2 * r + 8:2 * r + 8 + L], X[2 * r + 16:2 * r + 16 + L]
    z = d0.dtype.type(0)
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = z
    t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = t8 = z
    for q in range(L):
        u0, u1, u2, u3, u4 = x0[q], x1[q], x2[q], x3[q], x4[q]
        u5, u6, u7, u8 = x5[q], x6[q], x7[q], x8[q]
        e, g = d0[q], d1[q]
        s0 += e * u0
        s1 += e * u1
        s2 += e * u2
        s3 += e * u3
        s4 += e * u4
        s5 += e * u5
        s6 += e * u6
        s7 += e * u7
        s8 += e * u8
        t0 += g * u0
        t1 += g * u1
        t2 += g * u2
        t3 += g * u3
        t4 += g * u4
        t5 += g * u5
        t6 += g * u6
        t7 += g * u7
        t8 += g * u8
    for k, (s, t) in enumerate(((s0, t0), (s1, t1), (s2, t2), (s3, t3), (s4, t4),
                                (s5, t5), (s6, t6), (s7, t7), (s8, t8))):
        o0[k // 3, k % 3] += s
        o1[k // 3, k % 3] += t


@jit(fastmath=SUMS)
def _dw_row2(d0, d1, X, off, o0, o1):
    """o_k[j] += sum_q d_k[q] X[off + 8 j + q] for two filters' output
    gradients and one kernel row of any width (kernels other than 3 x 3)."""
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
    scratch = np.zeros((HH, WW), dwt.dtype)
    for f in range(0, F, 2):
        g = f + 1 if f + 1 < F else f
        for c in range(C):
            o1 = dwt[g, c] if g > f else scratch
            if HH == 3 and WW == 3:
                _dw_kernel3x3(D[f], D[g], X[c], Wp * 8, dwt[f, c], o1)
                continue
            for i in range(HH):
                _dw_row2(D[f], D[g], X[c], i * Wp * 8, dwt[f, c, i], o1[i])


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
