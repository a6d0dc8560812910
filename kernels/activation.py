"""ReLU, forward and backward."""

import numpy as np
from numba import prange

from ._common import FLOAT_TYPES
from ._jit import jit


@jit(parallel=True)
def _relu_forward_kernel(x, out):
    """x, out: (M,)"""
    zero = x.dtype.type(0)
    for i in prange(x.shape[0]):
        v = x[i]
        out[i] = v if v > zero else zero


@jit(parallel=True)
def _relu_backward_kernel(dout, out, dx):
    """dout, out, dx: (M,); the gradient passes where the output is positive."""
    zero = dout.dtype.type(0)
    for i in prange(dout.shape[0]):
        dx[i] = dout[i] if out[i] > zero else zero


def relu_forward(x):
    """out = max(x, 0), any shape. Returns out and the cache (out itself)."""
    x = np.ascontiguousarray(x)
    if x.dtype.type not in FLOAT_TYPES:
        raise TypeError(f"x must be float32 or float64, got {x.dtype}")
    out = np.empty_like(x)
    _relu_forward_kernel(x.reshape(-1), out.reshape(-1))
    return out, out


def relu_backward(dout, cache):
    """Gradient of relu_forward: dx has the shape of dout."""
    out = cache
    dout = np.ascontiguousarray(dout, dtype=out.dtype)
    if dout.shape != out.shape:
        raise ValueError(f"dout must have shape {out.shape}, got {dout.shape}")
    dx = np.empty_like(dout)
    _relu_backward_kernel(dout.reshape(-1), out.reshape(-1), dx.reshape(-1))
    return dx
