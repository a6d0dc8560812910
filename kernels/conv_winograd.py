"""3x3 convolutions with stride 1 and padding 1 by Winograd's minimal
filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional
Neural Networks", 2016): forward, and both gradients, with the layer's bias,
ReLU and pooling done per image (winograd_layer; _winograd_ends.py).
transformed_kernels(w, 4) selects F(4x4, 3x3) (_winograd4.py): 36 products
for 16 outputs, which conv.py and conv_fused.py take where it needs fewer
products than F(2x2) (winograd_tile). Its float32 error is about 3e-6 of
the largest output, F(2x2)'s 3e-7; float64 agrees with direct convolution
to 1e-14.

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
into dx over the overlapping patches). Layouts:

    U: (16, C, F) transformed kernels
    V: (16, T, C) transformed patches of a group of images, channels last
    M: (16, T, F) their products; T = images of the group x TH x TW patches
"""

import numpy as np
from numba import prange

from ._jit import jit_parallel
from ._split import block, threads_for
from ._winograd import kernels_from, kernels_to, output_grads, outputs, patch_grads, patches
from ._winograd4 import (_consts, kernels_from4, kernels_to4, output_grads4, outputs4,
                         patch_grads4, patches4)
from ._winograd_ends import POOL, SUMS, finish, grad_start

# Images per group of GEMMs: 4 images make the products (64 x C) @ (C x F)
# on a 7x7 image. Forward / backward ms at batch 64, 2 threads, for 1, 2, 4,
# 8 and 16 images: AlexNet-style's conv2 (32 -> 64, 14x14) 1.51/3.98,
# 1.36/3.67, 1.42/3.61, 2.68/3.65, 1.85/4.86; conv4 (96 -> 96, 7x7)
# 1.83/6.21, 2.25/5.46, 1.99/5.24, 2.46/5.06, 2.28/5.43. Larger groups'
# buffers leave the L2 cache. F(4x4, 3x3) (tile 4) has 4 patches on a 7x7
# image, not 16, so there it takes 16 images (4 against 16 images, same
# units: conv4 1.10/3.79 and 1.02/2.91; conv5 0.81/2.80 and 0.83/2.25; the
# ResNet's 64 -> 64 at 7x7 0.56/1.67 and 0.57/1.59). At 14x14, 4 images
# stay best (conv2 1.17/3.17 against 1.27/3.18).
GROUP = 4


def _group(E, H, W):
    """Images per group for U's E elements (16 or 36) on H x W images."""
    if E == 36 and ((H + 3) // 4) * ((W + 3) // 4) <= 4:
        return 16
    return GROUP


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


def winograd_tile(H, W):
    """The tile the layers use on H x W images: 4 (F(4x4, 3x3)) when its
    products, 36 per 4x4 block of outputs, are fewer than F(2x2)'s, 16 per
    2x2 block, else 2: so 2 on 2x2 images and single rows, and on 5x5 and
    6x6, where the two tie. bench/conv_paths.py, batch 64, 2 threads,
    forward + backward ms of the sums and gradients, tile 2 against 4:
    AlexNet-style's 32 -> 64 at 14x14 4.80 / 4.49; 64 -> 96 at 7x7
    3.71 / 3.29; 96 -> 96 5.13 / 4.52; 96 -> 64 3.81 / 3.57; the ResNet's
    32 -> 32 at 14x14 3.40 / 3.05 and 64 -> 64 at 7x7 2.85 / 2.57."""
    two = 16 * (-(-H // 2)) * (-(-W // 2))
    four = 36 * (-(-H // 4)) * (-(-W // 4))
    return 4 if four < two else 2


def winograd_floats(C, F, H, W, rows):
    """(floats kept from forward to backward, most floats in flight during
    one call) of this path for ``rows`` images of C x H x W into F channels:
    the transformed kernels U, kept for backward; then one gradient of them
    per thread, their sum, and each thread's buffers for a group of images
    and for one image's sums (for nn/footprint.py)."""
    nt = threads_for(rows)
    tile = winograd_tile(H, W)
    E = (tile + 2) ** 2
    kernels = E * C * F
    patches = E * _group(E, H, W) * (-(-H // tile)) * (-(-W // tile))
    return kernels, (nt + 1) * kernels + nt * (patches * 2 * (C + F) + 2 * H * W * F)


@jit_parallel
def _forward_kernel(x, U, kb, ka, group, nt, b, mode, keep, k, sumsT, acts, out):
    """x: (N, C, H, W), U: (E, C, F) -> for mode SUMS, sumsT: (N, H * W, F),
    the convolution without its bias, channels last; for the others, acts
    and out as _winograd_ends.finish writes them (the arrays a mode does not
    write may have one row). E = 16: F(2x2, 3x3); E = 36: F(4x4, 3x3), with
    _winograd4's constants kb and ka."""
    N, C, H, W = x.shape
    E, F = U.shape[0], U.shape[2]
    m = 2 if E == 16 else 4
    TH, TW = (H + m - 1) // m, (W + m - 1) // m
    P = TH * TW
    for part in prange(nt):
        lo, count = block(part, nt, N)
        xt = np.zeros((m * TH + 2, m * TW + 2, C), x.dtype)
        # Zeros, so that a short group's left-over rows hold finite numbers.
        V = np.zeros((E, group * P, C), x.dtype)
        M = np.empty((E, group * P, F), x.dtype)
        spare = np.empty(F, x.dtype)
        tin, tout = np.empty((6, 6, C), x.dtype), np.empty((4, 6, F), x.dtype)
        sT, band = np.empty((H * W, F), x.dtype), np.empty(W * F, x.dtype)
        for n0 in range(lo, lo + count, group):
            g = min(group, lo + count - n0)
            for i in range(g):
                if m == 2:
                    patches(x[n0 + i], TH, TW, xt, V, i * P)
                else:
                    patches4(x[n0 + i], TH, TW, xt, kb, tin, V, i * P)
            for e in range(E):  # a short group's last rows are left over, never read
                np.dot(V[e], U[e], M[e])
            for i in range(g):
                n = n0 + i
                s = sumsT[n] if mode == 0 else sT
                if m == 2:
                    outputs(M, TH, TW, i * P, W, s, spare)
                else:
                    outputs4(M, TH, TW, i * P, W, ka, tout, s, spare)
                if mode != 0:
                    finish(sT, b, mode, keep, k, W, band, acts[n if acts.shape[0] == N else 0],
                           out[n if out.shape[0] == N else 0])


@jit_parallel
def _backward_kernel(x, U, kb, ka, d, acts, mode, k, need_dx, group, dx, dU_parts, db_parts):
    """d: (N, F, 1, H * W), the gradient of the sums (mode SUMS or BIAS),
    or of the layer's output (RELU: the same shape; POOL: (N, F, QH, QW)),
    and acts as the forward pass kept them (one row for SUMS and BIAS) ->
    dx: (N, C, H, W) when need_dx, and per thread dU_parts: (nt, E, C, F)
    and db_parts: (nt, F) float64 (RELU and POOL)."""
    N, C, H, W = x.shape
    E, F = U.shape[0], U.shape[2]
    m = 2 if E == 16 else 4
    TH, TW = (H + m - 1) // m, (W + m - 1) // m
    P = TH * TW
    nt = dU_parts.shape[0]
    zero = x.dtype.type(0)
    for part in prange(nt):
        lo, count = block(part, nt, N)
        dU = dU_parts[part]
        for e in range(E):
            for c in range(C):
                for f in range(F):
                    dU[e, c, f] = zero
        xt = np.zeros((m * TH + 2, m * TW + 2, C), x.dtype)
        dxt = np.empty_like(xt)
        V = np.empty((E, group * P, C), x.dtype)
        dM = np.empty((E, group * P, F), x.dtype)
        dV = np.empty((E, group * P, C), x.dtype)
        dzT = np.empty((H * W + 1, F), x.dtype)
        masked, best, at = np.empty((F, H * W), x.dtype), np.empty(F, x.dtype), np.empty(F, np.int64)
        tmp = np.empty((C, F), x.dtype)
        tin, tout = np.empty((6, 6, C), x.dtype), np.empty((6, 4, F), x.dtype)
        for n0 in range(lo, lo + count, group):
            g = min(group, lo + count - n0)
            if g < group:  # a short group: zeros in the rows it leaves over
                for e in range(E):
                    for t in range(g * P, group * P):
                        for c in range(C):
                            V[e, t, c] = zero
                        for f in range(F):
                            dM[e, t, f] = zero
            for i in range(g):
                n = n0 + i
                grad_start(mode, d[n], acts[n if acts.shape[0] == N else 0], k, W, masked, best,
                           at, dzT, db_parts[part])
                if m == 2:
                    patches(x[n], TH, TW, xt, V, i * P)
                    output_grads(dzT, TH, TW, i * P, W, dM)
                else:
                    patches4(x[n], TH, TW, xt, kb, tin, V, i * P)
                    output_grads4(dzT, TH, TW, i * P, W, ka, tout, dM)
            for e in range(E):
                np.dot(V[e].T, dM[e], tmp)
                dUe = dU[e]
                for c in range(C):
                    for f in range(F):
                        dUe[c, f] += tmp[c, f]
            if need_dx:
                for e in range(E):
                    np.dot(dM[e], U[e].T, dV[e])
                for i in range(g):
                    if m == 2:
                        patch_grads(dV, TH, TW, i * P, dxt, dx[n0 + i])
                    else:
                        patch_grads4(dV, TH, TW, i * P, kb, dxt, tin, dx[n0 + i])


def _check(x, U):
    """The wrappers' callers (conv.py, conv_fused.py) check the layer; this
    catches a mismatched pair."""
    if (x.ndim != 4 or U.ndim != 3 or U.shape[0] not in (16, 36) or U.shape[1] != x.shape[1]
            or U.dtype != x.dtype):
        raise ValueError(f"x {x.dtype} {x.shape} and U {U.dtype} {U.shape} do not match: "
                         "U must be transformed_kernels(w) of shape (16 or 36, C, F)")
    if not x.flags.c_contiguous:
        raise ValueError("x must be C-contiguous")


def transformed_kernels(w, tile=2):
    """w: (F, C, 3, 3) -> U: (16, C, F) for tile 2 (F(2x2, 3x3)), or
    (36, C, F) for tile 4 (F(4x4, 3x3))."""
    if tile == 4:
        return kernels_to4(w)
    if tile != 2:
        raise ValueError(f"tile must be 2 or 4, got {tile!r}")
    U = np.empty((16, w.shape[1], w.shape[0]), w.dtype)
    kernels_to(np.ascontiguousarray(w.transpose(1, 2, 3, 0)), U)
    return U


def winograd_layer(x, U, b, mode, pool=0, keep=True):
    """x: (N, C, H, W) convolved with the kernels U = transformed_kernels(w),
    stride 1 and padding 1, then finished per image as _winograd_ends says
    for ``mode``: returns (sums or acts, out). SUMS: (N, H * W, F), no
    bias (b unused); BIAS and RELU: acts (N, F, H * W); POOL: out (N, F,
    QH, QW) pooled pool x pool, and acts (N, H * W, F) when ``keep``."""
    _check(x, U)
    N, C, H, W = x.shape
    F = U.shape[2]
    one = np.empty((1, 1, 1), x.dtype)  # for the arrays a mode does not write
    sumsT = np.empty((N, H * W, F), x.dtype) if mode == SUMS else one
    out = np.empty((N, F, H // pool, W // pool) if mode == POOL else (1, 1, 1, 1), x.dtype)
    shape = (N, H * W, F) if mode == POOL else (N, F, H * W)
    acts = np.empty(shape, x.dtype) if mode != SUMS and (keep or mode != POOL) else one
    if N:
        _forward_kernel(x, U, *_consts(x.dtype), _group(U.shape[0], H, W), threads_for(N),
                        b, mode, keep, pool, sumsT, acts, out)
    return (sumsT if mode == SUMS else acts), out


def winograd_layer_grads(x, U, d, acts, mode, pool=0, need_dx=True):
    """Gradients of winograd_layer, given d: (N, F, 1, H * W), the gradient
    of the sums (SUMS, BIAS) or of acts (RELU), or (N, F, QH, QW), of the
    pooled output (POOL), and the acts it kept (unused for SUMS and BIAS).
    Returns dx: (N, C, H, W) (None when need_dx is False), dw: (F, C, 3, 3)
    and db_parts: (threads, F) float64, the bias gradient's parts (RELU and
    POOL; zeros otherwise)."""
    _check(x, U)
    N, C, H, W = x.shape
    F = U.shape[2]
    if d.ndim != 4 or d.shape[:2] != (N, F) or d.dtype != x.dtype or not d.flags.c_contiguous:
        raise ValueError(f"d must be a C-contiguous {x.dtype} array of shape {(N, F)} + "
                         f"(1, {H * W}) or pooled, got {d.dtype} {d.shape}")
    nt = threads_for(N)
    E = U.shape[0]
    dU_parts = np.zeros((nt, E, C, F), x.dtype)
    db_parts = np.zeros((nt, F), np.float64)
    dx = np.empty_like(x) if need_dx else np.empty((0, C, H, W), x.dtype)
    if N:
        _backward_kernel(x, U, *_consts(x.dtype), d, acts, mode, pool, need_dx,
                         _group(E, H, W), dx, dU_parts, db_parts)
    if E == 36:
        return (dx if need_dx else None), kernels_from4(dU_parts.sum(axis=0)), db_parts
    dwt = np.empty((C, 3, 3, F), x.dtype)
    kernels_from(dU_parts.sum(axis=0), dwt)
    dw = np.ascontiguousarray(dwt.transpose(3, 0, 1, 2))
    return (dx if need_dx else None), dw, db_parts


def winograd_sums(x, U):
    """The convolution of x: (N, C, H, W) with the kernels U =
    transformed_kernels(w), stride 1 and padding 1, without bias, channels
    last: (N, H * W, F)."""
    return winograd_layer(x, U, np.zeros(U.shape[-1:], x.dtype), SUMS)[0]


def winograd_grads(x, U, dz, need_dx=True):
    """Gradients of winograd_sums: dz: (N, F, H * W) (channels first) ->
    dx: (N, C, H, W) (None when need_dx is False) and dw: (F, C, 3, 3)."""
    _check(x, U)
    N, C, H, W = x.shape
    F = U.shape[2]
    if dz.shape != (N, F, H * W) or dz.dtype != x.dtype or not dz.flags.c_contiguous:
        raise ValueError(f"dz must be a C-contiguous {x.dtype} array of shape {(N, F, H * W)}, "
                         f"got {dz.dtype} {dz.shape}")
    one = np.empty((1, 1, 1), x.dtype)
    dx, dw, _ = winograd_layer_grads(x, U, dz.reshape(N, F, 1, H * W), one, SUMS, 0, need_dx)
    return dx, dw
