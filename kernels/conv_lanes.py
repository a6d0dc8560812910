"""Stride-1 convolution over lanes of eight images, for layers with few
taps (both of LeNet-5's, every stride-1 layer of the default ResNet): the
layout, the forward pass and which layers take this path. The backward
pass, over the same layout, is in conv_lanes_backward.py.

im2col + GEMM suits wide layers. With few taps (C * HH * WW) the GEMM is
skinny: LeNet-5's first layer multiplies by a 25 x 6 matrix, and the time
goes into writing and reading the columns. Here eight images are interleaved
in the innermost axis, X: (C, (Hp * Wp + ...) * 8) with rows of Wp = W + pw
(a row's right border is the next row's left one), so each output
position's eight lanes fill one AVX2 register, and each tap of the kernel
is the whole flattened image shifted by (i * Wp + j) * 8 elements. One loop over all
OH * Wp * 8 positions then adds a channel's nine taps of a 3 x 3 kernel (of
other kernels, a row's taps) for two filters, which share each load of X;
the Wp - OW columns past each output row are computed and dropped. dx is
the same convolution of dout with the flipped kernels, and dw sums products
of the same shifted rows.

Measured when this path was chosen, before _kernel3x3 (float32, 2 threads,
best of 25, lanes against im2col + GEMM, 3 x 3 kernels at batch 64, forward
then backward): 16 channels at 28 x 28 3.3 ms against 6.3, 6.7 against 10.1;
32 channels at 14 x 14 3.1 against 4.8, 5.9 against 8.5; 64 channels at 7 x
7 3.7 against 4.3, 7.5 against 8.2; 96 channels at 7 x 7 7.9 against 7.7,
15.8 against 15.6, hence MAX_TAPS. LeNet-5 at batch 1000, forward with ReLU
and pooling: conv1 6 ms against 20, conv2 9 ms against 17.
"""

import numpy as np
from numba import prange

from ._jit import jit, jit_parallel
from ._split import block, threads_for

# Above this many taps per output (C * HH * WW) the GEMM wins.
MAX_TAPS = 576
# contract lets a * b + c become one fused multiply-add; nothing is reordered.
FAST = {"contract"}


def lanes_suit(C, HH, WW, stride):
    """Whether a layer's forward pass should take this path rather than
    im2col + GEMM."""
    return tuple(stride) == (1, 1) and C * HH * WW <= MAX_TAPS


def lanes_suit_backward(C, F, HH, WW, stride, pad):
    """Whether its backward pass should: dx is a convolution with F taps per
    kernel position, so F must be small too, and the padding at most HH - 1."""
    return (lanes_suit(C, HH, WW, stride) and F * HH * WW <= MAX_TAPS
            and pad[0] < HH and pad[1] < WW)


@jit
def load_lanes(x, n0, nb, ph, pw, Wp, X):
    """Images n0 .. n0 + nb - 1 of x: (N, C, H, W) into the lanes of X, whose
    border stays zero from its allocation. Public because the backward pass
    (conv_lanes_backward.py) lays out x and dout the same way; the calling
    kernel owns X and its wrapper has checked the shapes."""
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    for c in range(C):
        Xc = X[c]
        for h in range(H):
            base = ((h + ph) * Wp + pw) * 8
            for lane in range(nb):
                src = x[n0 + lane, c, h]
                for j in range(W):
                    Xc[base + j * 8 + lane] = src[j]


@jit(fastmath=FAST)
def _row2(a0, a1, X, off, wr, vr, L):
    """a0[q] += sum_j wr[j] X[off + 8 j + q] and a1[q] likewise with vr: one
    kernel row of two filters, which share each load of X."""
    WW = wr.shape[0]
    if WW == 5:
        w0, w1, w2, w3, w4 = wr[0], wr[1], wr[2], wr[3], wr[4]
        v0, v1, v2, v3, v4 = vr[0], vr[1], vr[2], vr[3], vr[4]
        x0, x1, x2 = X[off:off + L], X[off + 8:off + 8 + L], X[off + 16:off + 16 + L]
        x3, x4 = X[off + 24:off + 24 + L], X[off + 32:off + 32 + L]
        for q in range(L):
            # Loaded once for both filters: read after the store to a0,
            # LLVM would load them again (it cannot rule out aliasing).
            u0, u1, u2, u3, u4 = x0[q], x1[q], x2[q], x3[q], x4[q]
            a0[q] += w0 * u0 + w1 * u1 + w2 * u2 + w3 * u3 + w4 * u4
            a1[q] += v0 * u0 + v1 * u1 + v2 * u2 + v3 * u3 + v4 * u4
    elif WW == 3:
        w0, w1, w2 = wr[0], wr[1], wr[2]
        v0, v1, v2 = vr[0], vr[1], vr[2]
        x0, x1, x2 = X[off:off + L], X[off + 8:off + 8 + L], X[off + 16:off + 16 + L]
        for q in range(L):
            u0, u1, u2 = x0[q], x1[q], x2[q]
            a0[q] += w0 * u0 + w1 * u1 + w2 * u2
            a1[q] += v0 * u0 + v1 * u1 + v2 * u2
    else:
        for j in range(WW):
            wj, vj = wr[j], vr[j]
            xj = X[off + 8 * j:off + 8 * j + L]
            for q in range(L):
                u = xj[q]
                a0[q] += wj * u
                a1[q] += vj * u


@jit(fastmath=FAST)
def _kernel3x3(a0, a1, X, r, w0, w1, L):
    """a0[q] += sum_ij w0[i, j] X[r i + 8 j + q] and a1[q] likewise with w1,
    r = Wp * 8: all nine taps of two 3 x 3 filters in one pass. Each
    accumulator is read and written once per channel instead of once per
    kernel row, and that traffic (L2, since F accumulators of L floats do
    not fit L1) was the limit: 16 channels at 28 x 28, batch 64, 2 threads,
    forward 1.78 -> 1.33 ms (kernel rows of three filters before; three
    filters here 1.37, 512-bit vectors 1.54)."""
    p0, p1, p2 = w0[0, 0], w0[0, 1], w0[0, 2]
    p3, p4, p5 = w0[1, 0], w0[1, 1], w0[1, 2]
    p6, p7, p8 = w0[2, 0], w0[2, 1], w0[2, 2]
    v0, v1, v2 = w1[0, 0], w1[0, 1], w1[0, 2]
    v3, v4, v5 = w1[1, 0], w1[1, 1], w1[1, 2]
    v6, v7, v8 = w1[2, 0], w1[2, 1], w1[2, 2]
    x0, x1, x2 = X[0:L], X[8:8 + L], X[16:16 + L]
    x3, x4, x5 = X[r:r + L], X[r + 8:r + 8 + L], X[r + 16:r + 16 + L]
    x6, x7, x8 = X[2 * r:2 * r + L], X[2 * r + 8:2 * r + 8 + L], X[2 * r + 16:2 * r + 16 + L]
    for q in range(L):
        u0, u1, u2, u3, u4 = x0[q], x1[q], x2[q], x3[q], x4[q]
        u5, u6, u7, u8 = x5[q], x6[q], x7[q], x8[q]
        a0[q] += (p0 * u0 + p1 * u1 + p2 * u2 + p3 * u3 + p4 * u4 + p5 * u5 + p6 * u6
                  + p7 * u7 + p8 * u8)
        a1[q] += (v0 * u0 + v1 * u1 + v2 * u2 + v3 * u3 + v4 * u4 + v5 * u5 + v6 * u6
                  + v7 * u7 + v8 * u8)


@jit(fastmath=FAST)
def _convolve(X, w, b, Wp, acc):
    """acc: (F, OH * Wp * 8) = b + the convolution of the lanes in X."""
    F, C, HH, WW = w.shape
    L = acc.shape[1]
    for f in range(F):
        a = acc[f]
        bf = b[f]
        for q in range(L):
            a[q] = bf
    # A lone filter's partner sums go here and are dropped, but start from
    # zero: leftover memory may hold NaN or subnormals (slow adds, and
    # RuntimeWarnings under NUMBA_DISABLE_JIT).
    scratch = np.zeros(L, acc.dtype)
    for f in range(0, F, 2):
        # Filters in twos (an odd F's last one pairs with scratch): 3 x 3
        # kernels whole, others a kernel row at a time.
        g = f + 1 if f + 1 < F else f
        a1 = acc[g] if g > f else scratch
        for c in range(C):
            Xc = X[c]
            if HH == 3 and WW == 3:
                _kernel3x3(acc[f], a1, Xc, Wp * 8, w[f, c], w[g, c], L)
                continue
            for i in range(HH):
                _row2(acc[f], a1, Xc, i * Wp * 8, w[f, c, i], w[g, c, i], L)


@jit
def _store(acc, n0, nb, OW, Wp, relu, k, acts, out):
    """Lanes of acc into acts: (N, F, OH * OW) (skipped when acts holds no
    images) and, when k > 0, their k x k max pooling into out: (N, F, QH, QW);
    relu(v) = max(v, 0) is applied to both when asked (pooling commutes with it)."""
    F = acc.shape[0]
    OH = acc.shape[1] // (Wp * 8)
    zero = acc.dtype.type(0)
    if acts.shape[0]:
        for f in range(F):
            a = acc[f]
            for lane in range(nb):
                dst = acts[n0 + lane, f]
                for oh in range(OH):
                    for ow in range(OW):
                        v = a[(oh * Wp + ow) * 8 + lane]
                        dst[oh * OW + ow] = max(v, zero) if relu else v
    if k == 0:
        return
    m = np.empty(8, acc.dtype)
    for f in range(F):
        a = acc[f]
        for qh in range(out.shape[2]):
            for qw in range(out.shape[3]):
                at = (qh * k * Wp + qw * k) * 8
                for lane in range(8):
                    m[lane] = a[at + lane]
                for i in range(k):
                    for j in range(k):
                        s = a[at + (i * Wp + j) * 8:at + (i * Wp + j) * 8 + 8]
                        for lane in range(8):
                            m[lane] = max(m[lane], s[lane])
                for lane in range(nb):
                    out[n0 + lane, f, qh, qw] = max(m[lane], zero) if relu else m[lane]


@jit_parallel
def _forward_kernel(x, w, b, ph, pw, relu, k, nt, acts, out):
    """x: (N, C, H, W), w: (F, C, HH, WW), b: (F,) -> acts: (N or 0, F,
    OH * OW) and, for k > 0, out: (N, F, QH, QW), as _store describes; each
    of nt threads takes a block of the images."""
    N, C, H, W = x.shape
    F, HH, WW = w.shape[0], w.shape[2], w.shape[3]
    # Rows share their padding: a row's right border is the next one's left.
    Hp, Wp = H + 2 * ph, W + pw
    OH, OW = Hp - HH + 1, W + 2 * pw - WW + 1
    blocks = (N + 7) // 8
    for t in prange(nt):
        lo, count = block(t, nt, blocks)
        X = np.zeros((C, (Hp * Wp + WW + pw) * 8), x.dtype)
        acc = np.empty((F, OH * Wp * 8), x.dtype)
        for blk in range(lo, lo + count):
            n0 = blk * 8
            nb = min(8, N - n0)
            load_lanes(x, n0, nb, ph, pw, Wp, X)
            _convolve(X, w, b, Wp, acc)
            _store(acc, n0, nb, OW, Wp, relu, k, acts, out)


def lanes_forward(x, w, b, pad, relu, pool, acts, out):
    """Fill acts: (N or 0, F, OH * OW) with conv(x, w, b) at stride 1 and
    padding pad = (ph, pw), relu applied when asked, and out: (N, F, QH, QW)
    with its pool x pool max pooling when pool > 0. The caller checks the
    arguments and allocates both."""
    N = x.shape[0]
    if N:
        _forward_kernel(x, w, b, pad[0], pad[1], relu, pool, threads_for((N + 7) // 8), acts,
                        out)
