"""Convolution + bias + ReLU (+ k x k max pooling), forward and backward, in
one pass over each image.

The separate ops each stream the whole batch's activations through memory:
for LeNet-5's first layer at batch 1000 that is 19 MB written by the
convolution, read and written again by ReLU and read again by pooling,
which cost as much as the convolution itself. Here each thread finishes one
image at a time while its activations are still in cache: the ReLU is
applied as the bias is added, and the pooled output is taken from the
image's own GEMM result. Evaluation keeps no activations at all.

Stride-1 layers with few taps (conv_lanes.lanes_suit: both of LeNet-5's)
run the forward pass on eight images at a time instead, with the ReLU and
pooling applied as each block of images is stored (conv_lanes.store_lanes),
and, where the lanes backward pass suits them too (lanes_suit_backward:
LeNet-5's and AlexNet-style's conv1 and conv2), the backward pass: the
gradient through pooling and ReLU for the whole batch, then the lanes
kernels' (kernels/conv_lanes_backward.py). Pooled, these layers keep one
byte a window for backward, its maximum's position (_lanes_pool.py),
instead of the activations, and backward scatters the gradient from
those straight into the lanes layouts that dw's and dx's passes read.
AlexNet-style's conv1 (batch 64, 2 threads, interleaved runs): forward
0.74-0.76 -> 0.38-0.39 ms, backward (no dx) 1.08-1.13 -> 0.57-0.61; a
training step 26.6-34.7 -> 23.8-24.7 ms, LeNet-5's 1.9-2.0 -> 1.6-1.8
(bench/profile_cnn.py). With dx, against the gradient written out for
the batch first (medians of 8 alternating rounds in one process):
AlexNet-style conv2 3.18-3.21 -> 3.10-3.16 ms, LeNet-5 conv2 0.42 -> 0.36. Forward plus backward ms
against im2col + GEMM's backward, batch 64, 2 threads, on the AMD EPYC
machine of 2026-12-06: LeNet-5's conv1 0.52-0.54 against 0.72, conv2
0.70 against 0.95 (a LeNet-5 step 2.18 -> 1.70 ms, bench/step_paths.py
--off fused-lanes), AlexNet-style's conv1 1.82-1.88 against 1.84-1.88.
3x3 layers with stride 1, padding 1 and more than 32 channels in
(winograd_plan.takes_winograd: AlexNet-style's conv3 to conv5) take
Winograd's F(2x2, 3x3) or F(4x4, 3x3) both ways, bias, ReLU and pooling
done per image inside its kernels (_winograd_ends.py).

The results are those of conv2d, relu and maxpool2d applied in turn (the
same arithmetic but on the Winograd path, and ties in a window go to the
first maximum); the gradients agree up to rounding, db being summed per
image in float64.
"""

import numpy as np
from numba import prange

from ._common import as_float_array, out_size
from ._jit import jit_parallel
from ._split import block, threads_for
from .conv import check_conv_args
from .conv_lanes import arg_suits, lanes_forward, lanes_suit, lanes_suit_backward
from .conv_lanes_backward import lanes_backward, lanes_codes_backward
from .conv_winograd import transformed_kernels, winograd_layer, winograd_layer_grads
from .winograd_plan import takes_winograd, winograd_tile
from .im2col import col2im_image, im2col, pad_image
from ._relu_pool import bias_relu_pool, pool_transposed, relu_pool_grad
from ._winograd_ends import POOL, RELU


@jit_parallel
def _forward_kernel(x, w2, b, HH, WW, sh, sw, ph, pw, OH, OW, k, nt, transposed, keep,
                    acts, out):
    """x: (N, C, H, W), w2: (F, C * HH * WW) -> acts: (N, F, OH * OW) =
    relu(conv + b) when ``keep`` (else scratch), out: (N, F, QH, QW) pooled
    (k = 0: out is unused and acts is the result)."""
    N, C, H, W = x.shape
    F, K = w2.shape
    P = OH * OW
    w2t = np.ascontiguousarray(w2.T)
    for t in prange(nt):
        lo, count = block(t, nt, N)
        xp = np.empty((C, H + 2 * ph, W + 2 * pw), x.dtype)
        cols = np.empty((K, P), x.dtype)
        outT = np.empty((P, F), x.dtype)
        scratch = np.empty((F, P), x.dtype)
        band = np.empty(OW * F, x.dtype)
        for n in range(lo, lo + count):
            pad_image(x[n], ph, pw, xp)
            im2col(xp, HH, WW, sh, sw, OH, OW, cols)
            a = acts[n] if keep else scratch
            if transposed:
                np.dot(cols.T, w2t, outT)
                if k > 0:
                    pool_transposed(outT, b, k, OW, band, out[n])
                    if keep:  # the activations, for backward
                        bias_relu_pool(outT, True, b, 0, OW, a, out[n])
                    continue
            else:
                np.dot(w2, cols, a)
            bias_relu_pool(outT, transposed, b, k, OW, a, out[n])


@jit_parallel
def _backward_kernel(x, w2, acts, dout, HH, WW, sh, sw, ph, pw, OH, OW, k, need_dx,
                     dx, dw_parts, db_parts):
    """acts: (N, F, OH * OW) from the forward pass; dout: (N, F, QH, QW), or
    (N, F, 1, OH * OW) when k = 0 -> dx: (N, C, H, W), and per thread
    dw_parts: (nt, C * HH * WW, F) (dw transposed) and db_parts: (nt, F)."""
    N, C, H, W = x.shape
    F, K = w2.shape
    P = OH * OW
    nt = dw_parts.shape[0]
    w2t = np.ascontiguousarray(w2.T)
    for t in prange(nt):
        lo, count = block(t, nt, N)
        dwt = dw_parts[t]
        for kk in range(K):
            for f in range(F):
                dwt[kk, f] = 0
        for f in range(F):
            db_parts[t, f] = 0.0
        xp = np.empty((C, H + 2 * ph, W + 2 * pw), x.dtype)
        dxp = np.empty((C, H + 2 * ph, W + 2 * pw), x.dtype)
        cols = np.empty((K, P), x.dtype)
        dcols = np.empty((K, P), x.dtype)
        dz = np.empty((F, P), x.dtype)
        tmp = np.empty((K, F), x.dtype)
        for n in range(lo, lo + count):
            relu_pool_grad(acts[n], dout[n], k, OW, dz, db_parts[t])
            pad_image(x[n], ph, pw, xp)
            im2col(xp, HH, WW, sh, sw, OH, OW, cols)
            np.dot(cols, dz.T, tmp)
            for kk in range(K):
                for f in range(F):
                    dwt[kk, f] += tmp[kk, f]
            if need_dx:
                np.dot(w2t, dz, dcols)
                col2im_image(dcols, HH, WW, sh, sw, ph, pw, OH, OW, dxp, dx[n])


@jit_parallel
def _relu_pool_grad_kernel(acts, dout, k, OW, dz, db_parts):
    """acts: (N, F, OH * OW), dout: (N, F, QH, QW) (k > 0) or (N, F, 1, P)
    -> dz: (N, F, OH * OW), the gradient of the sums; db_parts: (nt, F)
    float64, each thread's share of its sums over the batch."""
    N = acts.shape[0]
    nt = db_parts.shape[0]
    for t in prange(nt):
        lo, count = block(t, nt, N)
        for n in range(lo, lo + count):
            relu_pool_grad(acts[n], dout[n], k, OW, dz[n], db_parts[t])


def conv2d_relu_pool_forward(x, w, b, stride=1, pad=0, pool=0, keep=True):
    """relu(conv2d(x, w, b, stride, pad)), then max pooling of pool x pool
    windows with stride pool when pool > 0.

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,). Returns out: (N, F, QH, QW)
    with QH = OH // pool (or (N, F, OH, OW) without pooling) and the cache
    for backward; with keep=False (evaluation) the cache is None and no
    activations are kept.
    """
    x, w, b, (sh, sw), (ph, pw), (OH, OW) = check_conv_args(x, w, b, stride, pad)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    pool = int(pool)
    if pool < 0:
        raise ValueError(f"pool must be >= 0, got {pool}")
    if pool:
        out_size(OH, pool, pool, 0, "maxpool2d")
        out_size(OW, pool, pool, 0, "maxpool2d")
    keep = keep or not pool  # without pooling the activations are the output
    U = arg = None
    if takes_winograd(C, F, HH, WW, (sh, sw), (ph, pw)):
        # Finished per image in the Winograd kernel; pooled layers keep acts
        # channels last there (_winograd_ends.POOL), as their backward reads them.
        U = transformed_kernels(w, winograd_tile(H, W))
        acts, out = winograd_layer(x, U, b, POOL if pool else RELU, pool, keep)
    else:
        shape = (N, F, OH // pool, OW // pool) if pool else (N, F, 1, 1)  # (unused without)
        out = np.empty(shape, x.dtype)
        lanes = lanes_suit(C, HH, WW, (sh, sw))
        if keep and lanes and arg_suits(pool) and lanes_suit_backward(C, F, HH, WW, (sh, sw),
                                                                       (ph, pw)):
            # The windows' maxima instead of the activations, 8 images a block.
            arg = np.empty(((N + 7) // 8,) + shape[1:] + (8,), np.uint8)
        acts = np.empty((N if keep and arg is None else 0, F, OH * OW), x.dtype)
        if lanes:
            lanes_forward(x, w, b, (ph, pw), True, pool, acts, out, arg)
        elif N:
            _forward_kernel(x, w.reshape(F, -1), b, HH, WW, sh, sw, ph, pw, OH, OW, pool,
                            threads_for(N), F <= 32, keep, acts, out)
    if not pool:
        out = acts.reshape(N, F, OH, OW)
    cache = (x, w, acts, arg, (sh, sw), (ph, pw), pool, (OH, OW), U) if keep else None
    return out, cache


def conv2d_relu_pool_backward(dout, cache, need_dx=True):
    """Gradients of conv2d_relu_pool_forward (which must have kept its cache).

    dout: the output's shape. Returns dx: (N, C, H, W) (None when need_dx is
    False), dw: (F, C, HH, WW) and db: (F,).
    """
    if cache is None:
        raise ValueError("the forward pass ran with keep=False: there is nothing to differentiate")
    x, w, acts, arg, (sh, sw), (ph, pw), pool, (OH, OW), U = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    dout = as_float_array(dout, "dout", 4, x.dtype)
    want = (N, F, OH // pool, OW // pool) if pool else (N, F, OH, OW)
    if dout.shape != want:
        raise ValueError(f"dout must have shape {want}, got {dout.shape}")
    if not pool:
        dout = dout.reshape(N, F, 1, OH * OW)
    if U is not None:
        dx, dw, db_parts = winograd_layer_grads(x, U, np.ascontiguousarray(dout), acts,
                                                POOL if pool else RELU, pool, need_dx)
        return dx, dw, db_parts.sum(axis=0).astype(x.dtype)
    if arg is not None:
        return lanes_codes_backward(x, w, np.ascontiguousarray(dout), arg, pool, (ph, pw),
                                    need_dx)
    nt = threads_for(N)
    db_parts = np.zeros((nt, F), np.float64)
    if lanes_suit_backward(C, F, HH, WW, (sh, sw), (ph, pw)):  # acts: (N, F, OH * OW)
        dz = np.empty((N, F, OH * OW), x.dtype)
        if N:
            _relu_pool_grad_kernel(acts, dout, pool, OW, dz, db_parts)
        dx, dw = lanes_backward(x, w, dz.reshape(N, F, OH, OW), (ph, pw), need_dx)
        return dx, dw, db_parts.sum(axis=0).astype(x.dtype)
    dw_parts = np.zeros((nt, C * HH * WW, F), x.dtype)
    dx = np.empty_like(x) if need_dx else np.empty((0, C, H, W), x.dtype)
    if N:
        _backward_kernel(x, w.reshape(F, -1), acts, dout, HH, WW, sh, sw, ph, pw, OH, OW,
                         pool, need_dx, dx, dw_parts, db_parts)
    dw = np.ascontiguousarray(dw_parts.sum(axis=0).T).reshape(w.shape)
    db = db_parts.sum(axis=0).astype(x.dtype)
    return (dx if need_dx else None), dw, db
