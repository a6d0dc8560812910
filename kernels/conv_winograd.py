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

from ._gemm_tn import product
from ._jit import jit_parallel
from ._split import block, threads_for
from ._winograd import kernels_from, kernels_to, output_grads, outputs, patch_grads, patches
from ._winograd4 import (_consts, kernels_from4, kernels_to4, output_grads4, outputs4,
                         patch_grads4, patches4)
from ._winograd_ends import POOL, SUMS, finish, grad_start
from .winograd_plan import group_size


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
                product(V[e], U[e], M[e], False)
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
def _backward_kernel(x, U, kb, ka, d, acts, mode, k, need_dx, group, UT, dx, dU_parts,
                     db_parts):
    """d: (N, F, 1, H * W), the gradient of the sums (mode SUMS or BIAS),
    or of the layer's output (RELU: the same shape; POOL: (N, F, QH, QW)),
    and acts as the forward pass kept them (one row for SUMS and BIAS) ->
    dx: (N, C, H, W) when need_dx, dU_parts[0]: (E, C, F), the kernels'
    gradient (dU_parts: (nt, E, C, F), one part per thread, summed at the
    end), and per thread db_parts: (nt, F) float64 (RELU and POOL). UT:
    (E, F, C) scratch when need_dx, for U transposed."""
    N, C, H, W = x.shape
    E, F = U.shape[0], U.shape[2]
    m = 2 if E == 16 else 4
    TH, TW = (H + m - 1) // m, (W + m - 1) // m
    P = TH * TW
    nt = dU_parts.shape[0]
    zero = x.dtype.type(0)
    if need_dx:
        # dV = dM @ U^T from a transposed copy: OpenBLAS's product with a
        # transposed right-hand side ran at 99 GFLOP/s on (64 x 96) @ (96 x 96),
        # against 147 GFLOP/s for the plain one (one core).
        for e in prange(E):
            for c in range(C):
                for f in range(F):
                    UT[e, f, c] = U[e, c, f]
    for part in prange(nt):
        lo, count = block(part, nt, N)
        dU = dU_parts[part]
        if count == 0:
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
        masked = np.empty((F, H * W), x.dtype)
        best, at = np.empty(F, x.dtype), np.empty(F, np.int64)
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
                if n0 == lo:  # the first group's products start the sums
                    product(V[e], dM[e], dU[e], True)
                    continue
                product(V[e], dM[e], tmp, True)
                dUe = dU[e]
                for c in range(C):
                    for f in range(F):
                        dUe[c, f] += tmp[c, f]
            if need_dx:
                for e in range(E):
                    product(dM[e], UT[e], dV[e], False)
                for i in range(g):
                    if m == 2:
                        patch_grads(dV, TH, TW, i * P, dxt, dx[n0 + i])
                    else:
                        patch_grads4(dV, TH, TW, i * P, kb, dxt, tin, dx[n0 + i])
    # The parts' sum, on all threads: with numpy's zeros for the parts and
    # dU_parts.sum after the kernel, conv4's backward (winograd_layer_grads,
    # batch 64, 2 threads) took 3.2 ms, against 3.0 this way.
    for r in prange(E * C):
        e, c = r // C, r % C
        total = dU_parts[0, e, c]
        for t in range(1, nt):
            src = dU_parts[t, e, c]
            for f in range(F):
                total[f] += src[f]


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
        _forward_kernel(x, U, *_consts(x.dtype), group_size(U.shape[0], H, W), threads_for(N),
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
    dU_parts = (np.empty if N else np.zeros)((nt, E, C, F), x.dtype)
    db_parts = np.zeros((nt, F), np.float64)
    dx = np.empty_like(x) if need_dx else np.empty((0, C, H, W), x.dtype)
    UT = np.empty((E, F, C) if need_dx else (E, 0, 0), x.dtype)
    if N:
        _backward_kernel(x, U, *_consts(x.dtype), d, acts, mode, pool, need_dx,
                         group_size(E, H, W), UT, dx, dU_parts, db_parts)
    if E == 36:
        return (dx if need_dx else None), kernels_from4(dU_parts[0]), db_parts
    dwt = np.empty((C, 3, 3, F), x.dtype)
    kernels_from(dU_parts[0], dwt)
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
