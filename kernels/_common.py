"""Checks shared by the public kernel wrappers.

Kernels are compiled once per dtype, so the wrappers insist on one floating
dtype per call (float32 for training, float64 for gradient checks) instead of
letting Numba compile a mixed-type variant that silently promotes.
"""

import numpy as np

FLOAT_TYPES = (np.float32, np.float64)


def pair(value, name):
    """An int or an (h, w) pair, as a tuple of two ints."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    try:
        h, w = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int or an (h, w) pair, not {value!r}") from None
    return int(h), int(w)


def as_float_array(a, name, ndim, dtype=None):
    """``a`` as a C-contiguous float32/float64 array of ``ndim`` dimensions."""
    a = np.asarray(a)
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    if dtype is None:
        if a.dtype.type not in FLOAT_TYPES:
            raise TypeError(f"{name} must be float32 or float64, got {a.dtype}")
    elif a.dtype != dtype:
        raise TypeError(f"{name} is {a.dtype} but the other inputs are {np.dtype(dtype)}")
    return np.ascontiguousarray(a)


def bias_or_zero(b, size, dtype):
    """A recurrence's optional bias: zeros of ``size`` for None, else b
    checked as a 1-D array of ``dtype`` (the caller checks its length)."""
    return np.zeros(size, dtype) if b is None else as_float_array(b, "b", 1, dtype)


def out_size(size, k, stride, pad, what):
    """Output length of a window of ``k`` sliding with ``stride`` over ``size + 2 pad``."""
    if stride < 1:
        raise ValueError(f"{what} stride must be >= 1, got {stride}")
    if pad < 0:
        raise ValueError(f"{what} padding must be >= 0, got {pad}")
    n = (size + 2 * pad - k) // stride + 1
    if k < 1 or n < 1:
        raise ValueError(
            f"{what} window {k} does not fit an input of {size} with padding {pad}"
        )
    return n
