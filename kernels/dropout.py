"""Inverted dropout: zero each unit with probability p and scale the rest by
1 / (1 - p), so that evaluation needs no rescaling.

The uniform draws come from the caller, who owns the random generator (and
saves its state in checkpoints); the kernel only compares and scales.
"""

import numpy as np

from ._common import FLOAT_TYPES
from ._pool import blocked
from ._split import ELEMENTS_PER_THREAD, block, threads_for


@blocked
def _dropout_kernel(x, u, p, scale, out, nt, k0, k1):
    """x, u, out: (M,); out = x * scale where u >= p, else 0; blocks k0..k1
    of nt (_pool.py)."""
    zero = x.dtype.type(0)
    p = u.dtype.type(p)
    scale = x.dtype.type(scale)
    for k in range(k0, k1):
        lo, n = block(k, nt, x.shape[0])
        # Views indexed from 0, which LLVM vectorises (activation.py).
        xs, us, os = x[lo:lo + n], u[lo:lo + n], out[lo:lo + n]
        for i in range(n):
            os[i] = xs[i] * scale if us[i] >= p else zero


def _apply(x, u, p, out):
    _dropout_kernel(x.reshape(-1), u.reshape(-1), float(p), 1.0 / (1.0 - p), out.reshape(-1),
                    threads_for(x.size, ELEMENTS_PER_THREAD))


def dropout_forward(x, p, u):
    """x: any shape; p: drop probability in [0, 1); u: uniforms in [0, 1) of
    x's shape. Returns out and the cache."""
    x = np.ascontiguousarray(x)
    if x.dtype.type not in FLOAT_TYPES:
        raise TypeError(f"x must be float32 or float64, got {x.dtype}")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p must be in [0, 1), got {p}")
    u = np.ascontiguousarray(u)
    if u.shape != x.shape:
        raise ValueError(f"u must have x's shape {x.shape}, got {u.shape}")
    out = np.empty_like(x)
    _apply(x, u, p, out)
    return out, (u, p)


def dropout_backward(dout, cache):
    """dout: the shape of x -> dx, through the same mask and scale."""
    u, p = cache
    dout = np.ascontiguousarray(dout)
    if dout.shape != u.shape:
        raise ValueError(f"dout must have shape {u.shape}, got {dout.shape}")
    dx = np.empty_like(dout)
    _apply(dout, u, p, dx)
    return dx
