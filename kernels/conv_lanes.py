"""Stride-1 convolution over lanes of eight images, for layers with few
input channels (both of LeNet-5's, a small ResNet's first stage).

im2col + GEMM suits wide layers. With few taps (C * HH * WW) the GEMM is
skinny: LeNet-5's first layer multiplies by a 25 x 6 matrix, and the time
goes into writing and reading the columns. Here eight images are interleaved
in the innermost axis, X: (C, (Hp * Wp + WW) * 8), so each output position's
eight lanes fill one AVX2 register, and each tap of the kernel is the whole
flattened image shifted by (i * Wp + j) * 8 elements. One loop over all
OH * Wp * 8 positions then does a kernel row's taps for two filters at once;
the Wp - OW columns past each output row are computed and dropped.

Measured here (float32, 2 threads, forward with ReLU and 2 x 2 pooling):
LeNet-5 at batch 1000, conv1 7 ms against 20 ms for im2col + GEMM and
conv2 9 ms against 17 ms; 3 x 3 at batch 64, 16 channels at 28 x 28
4.4 ms against 6.5 ms, 32 channels at 14 x 14 3.9 against 5.4, but 64
channels at 8 x 8 5.8 against 5.1. Hence the MAX_TAPS limit.
"""

import numpy as np
from numba import prange

from ._jit import jit
from ._split import block, threads_for

LANES = 8
# Above this many taps per output (C * HH * WW) the GEMM wins.
MAX_TAPS = 288
# contract lets a * b + c become one fused multiply-add; nothing is reordered.
FAST = {"contract"}


def lanes_suit(C, HH, WW, stride):
    """Whether a layer should take this path rather than im2col + GEMM."""
    return tuple(stride) == (1, 1) and C * HH * WW <= MAX_TAPS


@jit(fastmath=FAST)
def _row(acc, X, off, wr, L):
    """acc[q] += sum_j wr[j] * X[off + 8 j + q]: one kernel row of one filter."""
    WW = wr.shape[0]
    if WW == 3:
        w0, w1, w2 = wr[0], wr[1], wr[2]
        x0, x1, x2 = X[off:off + L], X[off + 8:off + 8 + L], X[off + 16:off + 16 + L]
        for q in range(L):
            acc[q] += w0 * x0[q] + w1 * x1[q] + w2 * x2[q]
    else:
        for j in range(WW):
            wj = wr[j]
            xj = X[off + 8 * j:off + 8 * j + L]
            for q in range(L):
                acc[q] += wj * xj[q]


@jit(fastmath=FAST)
def _row2(a0, a1, X, off, wr, vr, L):
    """_row for two filters (weights wr and vr) sharing each load of X."""
    WW = wr.shape[0]
    if WW == 5:
        w0, w1, w2, w3, w4 = wr[0], wr[1], wr[2], wr[3], wr[4]
        v0, v1, v2, v3, v4 = vr[0], vr[1], vr[2], vr[3], vr[4]
        x0, x1, x2 = X[off:off + L], X[off + 8:off + 8 + L], X[off + 16:off + 16 + L]
        x3, x4 = X[off + 24:off + 24 + L], X[off + 32:off + 32 + L]
        for q in range(L):
            a0[q] += w0 * x0[q] + w1 * x1[q] + w2 * x2[q] + w3 * x3[q] + w4 * x4[q]
            a1[q] += v0 * x0[q] + v1 * x1[q] + v2 * x2[q] + v3 * x3[q] + v4 * x4[q]
    elif WW == 3:
        w0, w1, w2 = wr[0], wr[1], wr[2]
        v0, v1, v2 = vr[0], vr[1], vr[2]
        x0, x1, x2 = X[off:off + L], X[off + 8:off + 8 + L], X[off + 16:off + 16 + L]
        for q in range(L):
            a0[q] += w0 * x0[q] + w1 * x1[q] + w2 * x2[q]
            a1[q] += v0 * x0[q] + v1 * x1[q] + v2 * x2[q]
    else:
        _row(a0, X, off, wr, L)
        _row(a1, X, off, vr, L)


@jit
def _load(x, n0, nb, ph, pw, Wp, X):
    """Images n0 .. n0 + nb - 1 of x: (N, C, H, W) into the lanes of X, whose
    border stays zero from its allocation."""
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
def _convolve(X, w, b, Wp, acc):
    """acc: (F, OH * Wp * 8) = b + the convolution of the lanes in X."""
    F, C, HH = w.shape[0], w.shape[1], w.shape[2]
    L = acc.shape[1]
    for f in range(0, F, 2):
        two = f + 1 < F
        a0 = acc[f]
        a1 = acc[f + 1] if two else acc[f]
        for q in range(L):
            a0[q] = b[f]
        if two:
            for q in range(L):
                a1[q] = b[f + 1]
        for c in range(C):
            for i in range(HH):
                if two:
                    _row2(a0, a1, X[c], i * Wp * 8, w[f, c, i], w[f + 1, c, i], L)
                else:
                    _row(a0, X[c], i * Wp * 8, w[f, c, i], L)


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


@jit(parallel=True)
def _forward_kernel(x, w, b, ph, pw, relu, k, nt, acts, out):
    """x: (N, C, H, W), w: (F, C, HH, WW), b: (F,) -> acts: (N or 0, F,
    OH * OW) and, for k > 0, out: (N, F, QH, QW), as _store describes."""
    N, C, H, W = x.shape
    F, HH, WW = w.shape[0], w.shape[2], w.shape[3]
    Hp, Wp = H + 2 * ph, W + 2 * pw
    OH, OW = Hp - HH + 1, Wp - WW + 1
    blocks = (N + 7) // 8
    for t in prange(nt):
        lo, count = block(t, nt, blocks)
        X = np.zeros((C, (Hp * Wp + WW) * 8), x.dtype)
        acc = np.empty((F, OH * Wp * 8), x.dtype)
        for blk in range(lo, lo + count):
            n0 = blk * 8
            nb = min(8, N - n0)
            _load(x, n0, nb, ph, pw, Wp, X)
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
