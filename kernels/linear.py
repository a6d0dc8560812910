"""Fully connected (affine) layer: out = x w + b.

Two GEMMs and a sum, which BLAS does well; but BLAS runs single-threaded
inside nnlab (the kernels own the cores), and a network's fully connected
layers see few rows: AlexNet-style's at batch 64 are (64 x 576) @ (576 x
512) and (64 x 512) @ (512 x 512). Where the products are big enough to pay
for a thread handoff (50-90 us, _pool.py), the backward pass runs its two,
dx and dw, at once on two threads: fc6's backward 0.61 -> 0.41 ms, fc7's
0.54 -> 0.39 (batch 64, 2 threads). The forward pass stays one product on
the calling thread: split into two blocks of 32 rows it took 0.37 ms
against 0.28 ms for fc6, each half a less efficient product that still
reads all of w. Where its columns come in whole blocks, float32 forward
takes _gemm_tn.py's blocks instead, each thread a half of the columns and
AVX-512 where OpenBLAS may have only AVX2 (2026-12-06, AMD EPYC, medians
of 6 alternating rounds): fc6 0.33 -> 0.24 ms, fc7 0.30 -> 0.21, fc6 at
evaluation's batch of 1000 5.0 -> 1.8.
"""

import numpy as np

from ._common import as_float_array
from ._gemm import matmul, takes_columns
from ._pool import blocked
from ._split import threads_for

# Multiply-adds in one product below which backward stays on the calling
# thread: ~4M take about 50 us on one core, the handoff's cost.
MIN_WORK = 1 << 22


@blocked
def _backward_kernel(x, w, dout, need_dx, dx, dw, nt, k0, k1):
    """dw: (D, M) = x^T dout as block 0, and dx: (N, D) = dout w^T when
    need_dx, as block 1 (or block 0 too when nt = 1)."""
    for t in range(k0, k1):
        if t == 0:
            np.dot(x.T, dout, dw)
        if need_dx and (t == 1 or nt == 1):
            np.dot(dout, w.T, dx)


def linear_forward(x, w, b):
    """x: (N, D), w: (D, M), b: (M,) -> out: (N, M), cache."""
    x = as_float_array(x, "x", 2)
    w = as_float_array(w, "w", 2, x.dtype)
    b = as_float_array(b, "b", 1, x.dtype)
    if w.shape[0] != x.shape[1] or b.shape != (w.shape[1],):
        raise ValueError(f"shapes x {x.shape}, w {w.shape}, b {b.shape} do not fit")
    out = matmul(x, w) if takes_columns(x, w) else x @ w
    out += b
    return out, (x, w)


def linear_backward(dout, cache, need_dx=True):
    """dout: (N, M) -> dx: (N, D) (None when need_dx is False), dw: (D, M), db: (M,)."""
    x, w = cache
    dout = as_float_array(dout, "dout", 2, x.dtype)
    if dout.shape != (x.shape[0], w.shape[1]):
        raise ValueError(f"dout must have shape {(x.shape[0], w.shape[1])}, got {dout.shape}")
    N, D = x.shape
    if (N * D * w.shape[1] < MIN_WORK
            or not all(a.flags.c_contiguous for a in (x, w, dout))):
        dx = dout @ w.T if need_dx else None
        return dx, x.T @ dout, dout.sum(axis=0)
    dw = np.empty(w.shape, x.dtype)
    dx = np.empty(x.shape, x.dtype) if need_dx else np.empty((0, D), x.dtype)
    _backward_kernel(x, w, dout, bool(need_dx), dx, dw, min(threads_for(2), 1 + bool(need_dx)))
    return (dx if need_dx else None), dw, dout.sum(axis=0)
