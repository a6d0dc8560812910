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

``WORST`` keeps the largest relative error seen per label, so a session can
report how close each kernel came to the tolerance.
"""

import contextlib

import numba
import numpy as np
import pytest

EPS = 2.0 ** -20
TOL = 1e-6

WORST = {}


@contextlib.contextmanager
def numba_threads(n):
    """Run the block with n Numba threads (capped at the pool size)."""
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield numba.get_num_threads()
    finally:
        numba.set_num_threads(before)


@pytest.fixture
def threads(request):
    """Fixture: run the test with request.param Numba threads (default 2, the
    chunking case; capped at the pool size). Import it into a test module."""
    with numba_threads(getattr(request, "param", 2)) as n:
        yield n


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


def numeric_grad(f, x, eps=EPS, threads=1):
    """Gradient of the scalar f() with respect to the float64 array x.

    f takes no arguments and reads x, which is perturbed in place one element
    at a time and restored afterwards.
    """
    assert x.dtype == np.float64, "gradient checks run in float64"
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    assert np.shares_memory(flat, x), "x must be contiguous"
    with numba_threads(threads):
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            plus = float(f())
            flat[i] = old - eps
            minus = float(f())
            flat[i] = old
            gflat[i] = (plus - minus) / (2 * eps)
    return grad


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
