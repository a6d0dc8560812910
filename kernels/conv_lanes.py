"""Stride-1 convolution over lanes of eight images, for layers with few
taps (both of LeNet-5's, every stride-1 layer of the default ResNet): the
layout, the forward pass and which layers take this path. The backward
pass, over the same layout, is in conv_lanes_backward.py.

im2col + GEMM suits wide layers. With few taps (C * HH * WW) the GEMM is
skinny: LeNet-5's first layer multiplies by a 25 x 6 matrix, and the time
goes into writing and reading the columns. Here eight images are interleaved
in the innermost axis, X: (C, (Hp * Wp + ...) * 8) with rows of Wp = W + pw
(a row's right border is the next row's left one), so each output
position's eight lanes are contiguous, and each tap of the kernel is the
whole flattened image shifted by (i * Wp + j) * 8 elements. The sums over
all OH * Wp * 8 positions are then a matrix product of the weights with
those shifted rows, read in place (kernels/_implicit.py); the Wp - OW
columns past each output row are computed and dropped. dx is the same
convolution of dout with the flipped kernels, and dw sums products of the
same shifted rows.

Measured when this path was chosen, before kernels/_implicit.py (float32, 2 threads,
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
from ._implicit import convolve
from ._lanes_layout import lanes_geometry, load_lanes, tap_offsets
from ._lanes_pool import pool_lanes
from ._relu_pool import NO_GRAD
from ._split import block, threads_for

# Above this many taps per output (C * HH * WW) the GEMM wins.
MAX_TAPS = 576


def lanes_suit(C, HH, WW, stride):
    """Whether a layer's forward pass should take this path rather than
    im2col + GEMM."""
    return tuple(stride) == (1, 1) and C * HH * WW <= MAX_TAPS


def lanes_suit_backward(C, F, HH, WW, stride, pad):
    """Whether its backward pass should: dx is a convolution with F taps per
    kernel position, so F must be small too, and the padding at most HH - 1."""
    return (lanes_suit(C, HH, WW, stride) and F * HH * WW <= MAX_TAPS
            and pad[0] < HH and pad[1] < WW)


def arg_suits(pool):
    """Whether a pool x pool window's position fits arg's uint8 beside NO_GRAD."""
    return 0 < pool and pool * pool < NO_GRAD


@jit
def store_lanes(acc, n0, nb, OH, OW, Wp, relu, k, acts, out, arg):
    """Lanes of acc into acts: (N, F, OH * OW) (skipped when acts holds no
    images) and, when k > 0, their k x k max pooling into out: (N, F, QH, QW);
    relu(v) = max(v, 0) is applied to both when asked (pooling commutes with it).
    arg: the windows' maxima when it holds any (_lanes_pool.pool_lanes)."""
    F = acc.shape[0]
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
    if k:
        pool_lanes(acc, n0, nb, Wp, relu, k, out, arg)


@jit_parallel
def _forward_kernel(x, w, b, ph, pw, relu, k, nt, acts, out, arg):
    """x: (N, C, H, W), w: (F, C, HH, WW), b: (F,) -> acts: (N or 0, F,
    OH * OW) and, for k > 0, out: (N, F, QH, QW) and arg: (blocks or 0, F,
    QH, QW, 8), as store_lanes describes; each of nt threads takes a block of the images."""
    N, C, H, W = x.shape
    F, HH, WW = w.shape[0], w.shape[2], w.shape[3]
    OH, OW, Wp, L, Lx = lanes_geometry(H, W, HH, WW, ph, pw)
    blocks = (N + 7) // 8
    Wk = w.reshape(F, -1)
    offs = tap_offsets(C, HH, WW, Lx, Wp)
    for t in prange(nt):
        lo, count = block(t, nt, blocks)
        X = np.zeros((C, Lx), x.dtype)
        acc = np.empty((F, L), x.dtype)
        for blk in range(lo, lo + count):
            n0 = blk * 8
            nb = min(8, N - n0)
            load_lanes(x, n0, nb, ph, pw, Wp, X)
            convolve(Wk, X, offs, b, acc)
            store_lanes(acc, n0, nb, OH, OW, Wp, relu, k, acts, out, arg)


def lanes_forward(x, w, b, pad, relu, pool, acts, out, arg=None):
    """Fill acts: (N or 0, F, OH * OW) with conv(x, w, b) at stride 1 and
    padding pad = (ph, pw), relu applied when asked, and out: (N, F, QH, QW)
    with its pool x pool max pooling when pool > 0, and arg: ((N + 7) // 8,
    F, QH, QW, 8) uint8 with each window's maximum (store_lanes) when given. The caller checks
    the arguments and allocates them."""
    N = x.shape[0]
    if arg is None:
        arg = np.empty((0, 1, 1, 1, 8), np.uint8)
    if N:
        _forward_kernel(x, w, b, pad[0], pad[1], relu, pool, threads_for((N + 7) // 8), acts,
                        out, arg)
