"""Fully connected (affine) layer: out = x w + b.

This is two GEMMs and a sum, which BLAS already does at full speed, so there
is no Numba kernel behind it.
"""

from ._common import as_float_array


def linear_forward(x, w, b):
    """x: (N, D), w: (D, M), b: (M,) -> out: (N, M), cache."""
    x = as_float_array(x, "x", 2)
    w = as_float_array(w, "w", 2, x.dtype)
    b = as_float_array(b, "b", 1, x.dtype)
    if w.shape[0] != x.shape[1] or b.shape != (w.shape[1],):
        raise ValueError(f"shapes x {x.shape}, w {w.shape}, b {b.shape} do not fit")
    out = x @ w
    out += b
    return out, (x, w)


def linear_backward(dout, cache, need_dx=True):
    """dout: (N, M) -> dx: (N, D) (None when need_dx is False), dw: (D, M), db: (M,)."""
    x, w = cache
    dout = as_float_array(dout, "dout", 2, x.dtype)
    if dout.shape != (x.shape[0], w.shape[1]):
        raise ValueError(f"dout must have shape {(x.shape[0], w.shape[1])}, got {dout.shape}")
    dx = dout @ w.T if need_dx else None
    return dx, x.T @ dout, dout.sum(axis=0)
