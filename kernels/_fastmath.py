"""Activation functions for the recurrent kernels, chosen by dtype.

``np.tanh`` and ``np.exp`` inside a Numba loop stay scalar calls (pip's
llvmlite has no vector math library), which made the LSTM's gates cost more
than its matrix products. For float32 the kernels therefore use a rational
approximation of tanh, built from multiplies, adds and one division, that
LLVM vectorises: Eigen's ``generic_fast_tanh_float``, with a measured
maximum absolute error of 4.1e-7 against float64 tanh (at x = 5.83), below float32's own
rounding of values near 1.

``tanh_act`` and ``sigmoid_act`` pick the implementation from the argument's
type when a kernel is compiled: the approximation for float32, the exact
functions for float64, so gradient checks (float64) never see it.
"""

import numpy as np
from numba import types
from numba.extending import overload

from ._jit import jit


@jit(inline="always")
def tanh32(x):
    """tanh of a float32, to within 4.1e-7."""
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


@jit(inline="always")
def sigmoid32(x):
    """The logistic function of a float32, as 1/2 + tanh(x/2)/2."""
    half = np.float32(0.5)
    return half + half * tanh32(half * x)


def tanh_act(x):
    """tanh: approximate for float32, exact otherwise (also without the JIT)."""
    return tanh32(x) if isinstance(x, np.float32) else np.tanh(x)


def sigmoid_act(x):
    """The logistic function: approximate for float32, exact otherwise."""
    return sigmoid32(x) if isinstance(x, np.float32) else 1.0 / (1.0 + np.exp(-x))


@overload(tanh_act, inline="always")
def _tanh_act(x):
    if x == types.float32:
        return lambda x: tanh32(x)
    return lambda x: np.tanh(x)


@overload(sigmoid_act, inline="always")
def _sigmoid_act(x):
    if x == types.float32:
        return lambda x: sigmoid32(x)
    return lambda x: 1.0 / (1.0 + np.exp(-x))
