"""Gradient-check helpers for the kernel tests.

Numeric gradients are float64 central differences. A layer with array output
is checked through the scalar loss L = sum(out * R) with a fixed random R,
whose gradient with respect to the output is R itself, so the analytic
gradient is ``backward(R)``.

Step and data: eps is 2**-20 (about 9.5e-7). The linear kernels (conv,
linear, max pooling, relu) are checked on "grid" data, random normals rounded
to multiples of 2**-6: then x +- eps, every product and every sum in a forward
pass is exact in float64, so the central difference carries no rounding error
and any mismatch is the kernel's. With arbitrary floats the difference of two
forward passes carries ~1e-16 * |out| / eps ~ 1e-10 of noise, which the
relative error below turns into > 1e-6 wherever a gradient entry happens to
cancel down to ~1e-5.

The numeric side runs its many tiny forward passes on one Numba thread: the
per-image results do not depend on the thread count, and on a busy machine
each parallel launch on tiny inputs can cost milliseconds. The analytic
forward/backward under test runs with whatever threads the test chose.

Smooth, non-linear functions (tanh recurrences, batch norm, whole networks)
---------------------------------------------------------------------------
Grid data make the perturbations x +- eps exact, but not tanh, sqrt or a
division: every forward pass rounds at ~1e-16 * |out|, and a central
difference at eps = 2**-20 turns that into ~5e-11 of noise per output, summed
over all the outputs of L = sum(out * R). Measured on LSTMs of the sizes in
test_kernels_lstm.py: absolute errors up to 1.5e-9, i.e. relative errors up
to 1.1e-6 on entries of ~1e-4, over the 1e-6 tolerance for a correct kernel.

So ``smooth_grad`` and ``smooth_grad_array`` take the Richardson
extrapolation of two central differences, (4 D(eps) - D(2 eps)) / 3 with
eps = SMOOTH_EPS = 2**-11: the five-point stencil, truncation error
O(eps**4), rounding noise divided by a step 500 times larger. Measured
absolute error on the recurrent cases: <= 5e-12. ``check_smooth`` asserts
the relative error (< 1e-6) on every entry with |analytic| + |numeric| >=
FLOOR = 1e-5; entries under the floor, where 5e-12 of noise alone would be a
relative 1e-6, must instead agree to ABS_TOL = 1e-10 absolute (exact zeros on
both sides, or tiny entries). Data on the grid (multiples of 2**-6 or 2**-7)
keep x +- eps and x +- 2 eps exact.

``WORST`` keeps the largest relative error seen per label, so a session can
report how close each kernel came to the tolerance; ``FLOORED`` counts per
label the entries that ``check_smooth`` judged in absolute terms.
"""

import contextlib

import numba
import numpy as np

EPS = 2.0 ** -20
TOL = 1e-6
SMOOTH_EPS = 2.0 ** -11
FLOOR = 1e-5
ABS_TOL = 1e-10

WORST = {}
FLOORED = {}


@contextlib.contextmanager
def numba_threads(n):
    """Run the block with n Numba threads (capped at the pool size)."""
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield numba.get_num_threads()
    finally:
        numba.set_num_threads(before)


def grid(rng, shape, nonzero=False, bits=6, limit=4.0):
    """float64 standard normals rounded to multiples of 2**-bits, clipped to
    [-limit, limit]; with nonzero=True zeros are replaced by +-2**-bits."""
    step = 2.0 ** -bits
    a = np.clip(np.round(rng.standard_normal(shape) / step) * step, -limit, limit)
    if nonzero:
        zero = a == 0
        a[zero] = step * rng.choice([-1.0, 1.0], size=int(zero.sum()))
    return a


def rel_error(a, n):
    """CS231n relative error: max |a - n| / max(1e-8, |a| + |n|), elementwise."""
    a = np.asarray(a, np.float64)
    n = np.asarray(n, np.float64)
    assert a.shape == n.shape, f"shapes differ: {a.shape} vs {n.shape}"
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n))))


def numeric_grad(f, x, eps=EPS, threads=1, idx=None):
    """Gradient of the scalar f() with respect to the float64 array x.

    f takes no arguments and reads x, which is perturbed in place one element
    at a time and restored afterwards. With ``idx`` (flat indices) only those
    entries are computed, returned as a 1-D array in idx's order: large
    weight tensors are checked on a sample of their entries.
    """
    assert x.dtype == np.float64, "gradient checks run in float64"
    flat = x.reshape(-1)
    assert np.shares_memory(flat, x), "x must be contiguous"
    picked = range(flat.size) if idx is None else idx
    grad = np.zeros(len(picked))
    with numba_threads(threads):
        for n, i in enumerate(picked):
            old = flat[i]
            flat[i] = old + eps
            plus = float(f())
            flat[i] = old - eps
            minus = float(f())
            flat[i] = old
            grad[n] = (plus - minus) / (2 * eps)
    return grad.reshape(x.shape) if idx is None else grad


def numeric_grad_array(f, x, r, eps=EPS, threads=1):
    """Gradient of L = sum(f() * r) with respect to the float64 array x.

    Same central difference as ``numeric_grad`` on that L, but the two
    outputs are subtracted before the weighted sum, so outputs that the
    perturbed element does not touch cancel exactly instead of adding
    rounding noise of the size of L.
    """
    assert x.dtype == np.float64, "gradient checks run in float64"
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    assert np.shares_memory(flat, x), "x must be contiguous"
    with numba_threads(threads):
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            plus = np.array(f(), np.float64, copy=True)
            flat[i] = old - eps
            minus = np.array(f(), np.float64, copy=True)
            flat[i] = old
            gflat[i] = np.sum((plus - minus) * r) / (2 * eps)
    return grad


def check_grad(label, analytic, numeric, tol=TOL):
    """Asserts rel_error(analytic, numeric) < tol and records it under label."""
    assert analytic is not None, f"{label}: no analytic gradient"
    assert analytic.shape == numeric.shape, (
        f"{label}: gradient shape {analytic.shape}, expected {numeric.shape}")
    err = rel_error(analytic, numeric)
    WORST[label] = max(WORST.get(label, 0.0), err)
    assert err < tol, f"{label}: relative error {err:.3e} >= {tol:.0e}"
    return err


# ----------------------------------------- smooth functions (module docstring)

def richardson(central, eps=SMOOTH_EPS):
    """(4 D(eps) - D(2 eps)) / 3 for a central difference D(h) = central(h)."""
    return (4 * central(eps) - central(2 * eps)) / 3


def smooth_grad(f, x, eps=SMOOTH_EPS, idx=None):
    """``numeric_grad`` of the scalar f(), Richardson-extrapolated."""
    return richardson(lambda h: numeric_grad(f, x, h, idx=idx), eps)


def smooth_grad_array(f, x, r, eps=SMOOTH_EPS):
    """``numeric_grad_array`` of L = sum(f() * r), Richardson-extrapolated."""
    return richardson(lambda h: numeric_grad_array(f, x, r, h), eps)


def check_smooth(label, analytic, numeric, abs_tol=ABS_TOL):
    """Relative error < TOL above FLOOR (``check_grad``, recorded in WORST),
    absolute error < abs_tol below it (counted in FLOORED)."""
    assert analytic is not None, f"{label}: no analytic gradient"
    assert analytic.shape == numeric.shape, f"{label}: {analytic.shape} vs {numeric.shape}"
    small = np.abs(analytic) + np.abs(numeric) < FLOOR
    check_grad(label, analytic[~small], numeric[~small])
    if small.any():
        FLOORED[label] = FLOORED.get(label, 0) + int(small.sum())
        err = np.max(np.abs(analytic[small] - numeric[small]))
        assert err < abs_tol, f"{label}: absolute error {err:.2e} on entries below {FLOOR}"


def norm_rel_error(actual, expected):
    """max |actual - expected| / max |expected| (1 when expected is all 0)."""
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"shapes differ: {actual.shape} vs {expected.shape}"
    if expected.size == 0:
        return 0.0
    scale = float(np.max(np.abs(expected))) or 1.0
    return float(np.max(np.abs(actual - expected))) / scale


def assert_close(actual, expected, rtol, what=""):
    """Compare against a reference: error measured relative to the largest entry."""
    assert actual is not None, f"{what}: got None"
    err = norm_rel_error(actual, expected)
    assert err <= rtol, f"{what}: relative error {err:.3e} > {rtol:.0e}"


# Tolerances for agreement with the plain-numpy reference.
RTOL = {np.float64: 1e-10, np.float32: 1e-4}
