"""3x3 convolutions with stride 1 and padding 1 by Winograd's minimal
filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional
Neural Networks", 2016): forward, and both gradients.

Each 2x2 block of outputs comes from a 4x4 patch of the input d, overlapping
its neighbours by two, and one transformed 4x4 kernel per (output, input)
channel pair:

    Y = A^T [ sum over c of (G w G^T) * (B^T d B) ] A      (* elementwise)

So per patch the 16 elements of the transformed space each make one GEMM
over channels, (patches x C) @ (C x F), with 16 multiplications for 4
outputs where im2col + GEMM has 36: 2.25x fewer, or 1.7x on a 7x7 image,
whose 4x4 patches cover 8x8. On AlexNet-style's conv4 (96 -> 96 channels,
7x7, batch 64, one thread) the products took 3.5 ms against im2col's 6.8.

The gradients are the same algebra transposed: dM = A dY A^T per block,
dU = V^T @ dM (then dw = G^T dU G) and dV = dM @ U^T (then B dV B^T is added
into dx over the overlapping patches). The transforms have coefficients 0,
+-1 and +-1/2, so in float64 the results agree with direct convolution to
about 1e-15, and the gradient checks hold; in float32 the largest error
relative to the largest output is about 3e-7. Layouts:

    U: (16, C, F) transformed kernels
    V: (16, T, C) transformed patches of a group of images, channels last
    M: (16, T, F) their products; T = images of the group x TH x TW patches
"""

import numpy as np
from numba import prange

from ._jit import jit_parallel
from ._split import block, threads_for
from ._winograd import kernels_from, kernels_to, output_grads, outputs, patch_grads, patches

# Images per group of GEMMs: 4 images make the products (64 x C) @ (C x F)
# on a 7x7 image. Forward / backward ms at batch 64, 2 threads, for 1, 2, 4,
# 8 and 16 images: AlexNet-style's conv2 (32 -> 64, 14x14) 1.51/3.98,
# 1.36/3.67, 1.42/3.61, 2.68/3.65, 1.85/4.86; conv4 (96 -> 96, 7x7)
# 1.83/6.21, 2.25/5.46, 1.99/5.24, 2.46/5.06, 2.28/5.43. Larger groups'
# buffers leave the L2 cache.
GROUP = 4


def winograd_suits(C, F, HH, WW, stride, pad):
    """Whether a layer takes this path: 3x3, stride 1, padding 1, and enough
    channels for the 16 products to be worth their transforms. Measured
    with bench/conv_paths.py (batch 64, 2 threads, forward + backward ms,
    this path against lanes or im2col + GEMM): AlexNet-style's 32 -> 64 at
    14x14 8.8 against 13.2; 64 -> 96 at 7x7 5.2 / 10.3; 96 -> 96 8.5 / 12.8;
    96 -> 64 6.9 / 12.5. Below 32 the lanes path wins: the ResNet's
    16 -> 16 at 28x28 took 6.0 ms there and 8.4 on this path."""
    return ((HH, WW) == (3, 3) and tuple(stride) == (1, 1) and tuple(pad) == (1, 1)
            and C >= 32 and F >= 32)


def winograd_floats(C, F, H, W, rows):
    """(floats kept from forward to backward, most floats in flight during
    one call) of this path for ``rows`` images of C x H x W into F channels:
    the transformed kernels U, kept for backward; then one gradient of them
    per thread, their sum, and each thread's buffers for a group of images
    (for nn/footprint.py)."""
    nt = threads_for(rows)
    kernels = 16 * C * F
    patches = 16 * GROUP * ((H + 1) // 2) * ((W + 1) // 2)
    return kernels, (nt + 1) * kernels + nt * patches * 2 * (C + F)


@jit_parallel
def _forward_kernel(x, U, group, nt, sumsT):
    """x: (N, C, H, W), U: (16, C, F) -> sumsT: (N, H * W, F), the
    convolution without its bias, channels last."""
    N, C, H, W = x.shape
    F = U.shape[2]
    TH, TW = (H + 1) // 2, (W + 1) // 2
    P = TH * TW
    for k in prange(nt):
        lo, count = block(k, nt, N)
        xt = np.zeros((2 * TH + 2, 2 * TW + 2, C), x.dtype)
        # Zeros, so that a short group's left-over rows hold finite numbers.
        V = np.zeros((16, group * P, C), x.dtype)
        M = np.empty((16, group * P, F), x.dtype)
        spare = np.empty(F, x.dtype)
        for n0 in range(lo, lo + count, group):
            g = min(group, lo + count - n0)
            for i in range(g):
                patches(x[n0 + i], TH, TW, xt, V, i * P)
            for e in range(16):  # a short group's last rows are left over, never read
                np.dot(V[e], U[e], M[e])
            for i in range(g):
                outputs(M, TH, TW, i * P, W, sumsT[n0 + i], spare)


@jit_parallel
def _backward_kernel(x, U, dz, need_dx, group, dx, dU_parts):
    """dz: (N, F, H * W), the gradient of the sums -> dx: (N, C, H, W) when
    need_dx, and per thread dU_parts: (nt, 16, C, F)."""
    N, C, H, W = x.shape
    F = U.shape[2]
    TH, TW = (H + 1) // 2, (W + 1) // 2
    P = TH * TW
    nt = dU_parts.shape[0]
    zero = x.dtype.type(0)
    for k in prange(nt):
        lo, count = block(k, nt, N)
        dU = dU_parts[k]
        for e in range(16):
            for c in range(C):
                for f in range(F):
                    dU[e, c, f] = zero
        xt = np.zeros((2 * TH + 2, 2 * TW + 2, C), x.dtype)
        dxt = np.empty_like(xt)
        V = np.empty((16, group * P, C), x.dtype)
        dM = np.empty((16, group * P, F), x.dtype)
        dV = np.empty((16, group * P, C), x.dtype)
        dzT = np.empty((H * W + 1, F), x.dtype)
        tmp = np.empty((C, F), x.dtype)
        for n0 in range(lo, lo + count, group):
            g = min(group, lo + count - n0)
            if g < group:  # a short group: zeros in the rows it leaves over
                for e in range(16):
                    for t in range(g * P, group * P):
                        for c in range(C):
                            V[e, t, c] = zero
                        for f in range(F):
                            dM[e, t, f] = zero
            for i in range(g):
                patches(x[n0 + i], TH, TW, xt, V, i * P)
                output_grads(dz[n0 + i], TH, TW, i * P, W, dzT, dM)
            for e in range(16):
                np.dot(V[e].T, dM[e], tmp)
                dUe = dU[e]
                for c in range(C):
                    for f in range(F):
                        dUe[c, f] += tmp[c, f]
            if need_dx:
                for e in range(16):
                    np.dot(dM[e], U[e].T, dV[e])
                for i in range(g):
                    patch_grads(dV, TH, TW, i * P, dxt, dx[n0 + i])


def _check(x, U):
    """The wrappers' callers (conv.py, conv_fused.py) check the layer; this
    catches a mismatched pair."""
    if x.ndim != 4 or U.ndim != 3 or U.shape[:2] != (16, x.shape[1]) or U.dtype != x.dtype:
        raise ValueError(f"x {x.dtype} {x.shape} and U {U.dtype} {U.shape} do not match: "
                         "U must be transformed_kernels(w) of shape (16, C, F)")
    if not x.flags.c_contiguous:
        raise ValueError("x must be C-contiguous")


def transformed_kernels(w):
    """w: (F, C, 3, 3) -> U: (16, C, F)."""
    U = np.empty((16, w.shape[1], w.shape[0]), w.dtype)
    kernels_to(np.ascontiguousarray(w.transpose(1, 2, 3, 0)), U)
    return U


def winograd_sums(x, U):
    """The convolution of x: (N, C, H, W) with the kernels U =
    transformed_kernels(w), stride 1 and padding 1, without bias, channels
    last: (N, H * W, F)."""
    _check(x, U)
    N, C, H, W = x.shape
    sumsT = np.empty((N, H * W, U.shape[2]), x.dtype)
    if N:
        _forward_kernel(x, U, GROUP, threads_for(N), sumsT)
    return sumsT


def winograd_grads(x, U, dz, need_dx=True):
    """Gradients of winograd_sums: dz: (N, F, H * W) (channels first) ->
    dx: (N, C, H, W) (None when need_dx is False) and dw: (F, C, 3, 3)."""
    _check(x, U)
    N, C, H, W = x.shape
    F = U.shape[2]
    if dz.shape != (N, F, H * W) or dz.dtype != x.dtype or not dz.flags.c_contiguous:
        raise ValueError(f"dz must be a C-contiguous {x.dtype} array of shape {(N, F, H * W)}, "
                         f"got {dz.dtype} {dz.shape}")
    nt = threads_for(N)
    dU_parts = np.zeros((nt, 16, C, F), x.dtype)
    dx = np.empty_like(x) if need_dx else np.empty((0, C, H, W), x.dtype)
    if N:
        _backward_kernel(x, U, dz, need_dx, GROUP, dx, dU_parts)
    dwt = np.empty((C, 3, 3, F), x.dtype)
    kernels_from(dU_parts.sum(axis=0), dwt)
    return (dx if need_dx else None), np.ascontiguousarray(dwt.transpose(3, 0, 1, 2))
