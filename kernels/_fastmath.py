"""Activation functions for the recurrent kernels.

``np.tanh`` and ``np.exp`` inside a Numba loop stay scalar calls (pip's
llvmlite has no vector math library), which made the LSTM's gates cost more
than its matrix products. The float32 paths therefore use a rational
approximation of tanh, built from multiplies, adds and one division, that
LLVM vectorises: Eigen's ``generic_fast_tanh_float``, with a measured
maximum absolute error of 3.4e-7 against float64 tanh, below float32's own
rounding of values near 1. float64 code (the gradient checks) always takes
the exact functions.
"""

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def tanh32(x):
    """tanh of a float32, to within 3.4e-7."""
    lim = np.float32(7.90531110763549805)
    x = min(max(x, -lim), lim)
    x2 = x * x
    p = np.float32(-2.76076847742355e-16)
    p = p * x2 + np.float32(2.00018790482477e-13)
    p = p * x2 + np.float32(-8.60467152213735e-11)
    p = p * x2 + np.float32(5.12229709037114e-08)
    p = p * x2 + np.float32(1.48572235717979e-05)
    p = p * x2 + np.float32(6.37261928875436e-04)
    p = p * x2 + np.float32(4.89352455891786e-03)
    q = np.float32(1.19825839466702e-06)
    q = q * x2 + np.float32(1.18534705686654e-04)
    q = q * x2 + np.float32(2.26843463243900e-03)
    q = q * x2 + np.float32(4.89352518554385e-03)
    return x * p / q


@njit(cache=True, inline="always")
def sigmoid32(x):
    """The logistic function of a float32, as 1/2 + tanh(x/2)/2."""
    half = np.float32(0.5)
    return half + half * tanh32(half * x)


@njit(cache=True, inline="always")
def tanh_(x, fast):
    return tanh32(x) if fast else np.tanh(x)


@njit(cache=True, inline="always")
def sigmoid_(x, fast):
    # A float32 one keeps float32 maths float32 and is exact in float64.
    one = np.float32(1)
    return sigmoid32(x) if fast else one / (one + np.exp(-x))
