"""batchnorm_relu_forward / batchnorm_relu_backward, out = max(gamma xhat +
beta + skip, 0): float64 gradient checks of dx, dgamma, dbeta and dskip on
4-D (N, C, H, W) and 2-D (N, C) inputs with and without skip, agreement with
the plain-numpy reference (reference_batchnorm.py plus the sum and the ReLU)
and with batchnorm, numpy's add and relu run in turn, evaluation mode, the
running statistics and input validation.

The ReLU's kink
---------------
The loss is smooth only away from the kink at z = gamma xhat + beta + skip =
0, so every test that compares gradients runs on data whose pre-activations
all lie at least a margin from 0 (``kinkless``; MARGIN = 2**-3 for the
gradient checks, 2**-6 where it only has to keep float32's mask equal to
float64's): without skip, beta is put in the middle of the widest gap
between a channel's values of gamma xhat; with skip, skip entries closer
than the margin are shifted by twice the margin, away from 0. Both signs
occur in every channel, so the mask does something. For the gradient checks
the data are also such that no finite-difference step can cross the kink:
one x entry moved by h moves each xhat of its channel by at most 2 h / sigma
(d xhat_j / d x_i = (delta_ij - 1/M - xhat_i xhat_j / M) / sigma), and
``kinkless`` demands 4 |gamma| / sigma times the largest step (2 SMOOTH_EPS)
below half the margin; the function being differentiated asserts that its
mask never changes.

The numeric side is gradcheck's Richardson extrapolation with its floor
(test_kernels_batchnorm.py's docstring says why batch norm needs it), on grid
data (x, beta, skip multiples of 2**-6) so that the perturbations are exact.
The entries under the floor are dskip's exact zeros where the ReLU is off.
"""

import numpy as np
import pytest

import reference_batchnorm as ref
from batchnorm_data import bn_data, fresh_stats
from gradcheck import RTOL, SMOOTH_EPS, assert_close, check_smooth, grid, smooth_grad_array
from nnlab.kernels.activation import relu_backward, relu_forward
from nnlab.kernels.batchnorm import batchnorm_backward, batchnorm_forward
from nnlab.kernels.batchnorm_relu import batchnorm_relu_backward, batchnorm_relu_forward

MARGIN = 2.0 ** -3


def case(*shape):
    return pytest.param(shape, id="x".join(map(str, shape)))


SKIP = pytest.mark.parametrize("with_skip", [False, True], ids=["no-skip", "skip"])
DTYPE = pytest.mark.parametrize("dtype", [np.float64, np.float32])


def bcast(v, shape):
    return np.asarray(v).reshape((1, shape[1]) + (1,) * (len(shape) - 2))


def by_channel(a):
    return np.moveaxis(a, 1, 0).reshape(a.shape[1], -1)


def kinkless(seed, shape, with_skip, margin=MARGIN, step=None, dtype=np.float64):
    """(rng, x, gamma, beta, skip or None): bn_data on which every
    pre-activation is >= margin from 0, with both signs in every channel;
    with ``step``, no single entry moved by step can reach the kink (module
    docstring); then cast to dtype. Tries seeds in turn: the tests stay
    deterministic."""
    C = shape[1]
    for s in range(seed, seed + 200):
        rng = np.random.default_rng(s)
        x, gamma, beta = bn_data(rng, shape)
        y = ref.batchnorm_forward_train(x, gamma, np.zeros(C))[0]     # gamma xhat
        skip = grid(rng, shape) if with_skip else None
        if with_skip:
            z = y + bcast(beta, shape) + skip
            near = np.abs(z) < margin
            skip[near] += np.where(z[near] < 0, -2 * margin, 2 * margin)
            z = y + bcast(beta, shape) + skip
        else:
            v = np.sort(by_channel(y), axis=1)
            k = np.argmax(np.diff(v, axis=1), axis=1)
            mid = (v[np.arange(C), k] + v[np.arange(C), k + 1]) / 2
            beta = -np.round(mid * 64) / 64
            z = y + bcast(beta, shape)
        zc = by_channel(z)
        if np.min(np.abs(z)) < margin or not ((zc > 0).any(1) & (zc < 0).any(1)).all():
            continue
        if step is not None:
            invstd = 1.0 / np.sqrt(by_channel(x).var(axis=1) + 1e-5)
            if 4 * step * np.max(np.abs(gamma) * invstd) >= margin / 2:
                continue
        return rng, *(None if a is None else a.astype(dtype) for a in (x, gamma, beta, skip))
    raise AssertionError("no kinkless data found")


# ======================================================== gradient checks

GRAD_CASES = [case(2, 3, 2, 3), case(1, 2, 3, 3), case(4, 2, 1, 1), case(3, 1, 2, 2),
              case(4, 3), case(6, 1), case(5, 2)]


@SKIP
@pytest.mark.parametrize("shape", GRAD_CASES)
def test_gradcheck_training(threads, shape, with_skip):
    rng, x, gamma, beta, skip = kinkless(sum(shape) * 13 + len(shape), shape, with_skip,
                                         step=2 * SMOOTH_EPS)
    C = shape[1]
    out, cache = batchnorm_relu_forward(x.copy(), gamma.copy(), beta.copy(), *fresh_stats(C),
                                        skip=None if skip is None else skip.copy())
    mask = out > 0
    R = grid(rng, out.shape)
    dx, dgamma, dbeta, dskip = batchnorm_relu_backward(R, cache)
    assert dx.shape == x.shape and dgamma.shape == dbeta.shape == (C,)
    assert dx.dtype == dgamma.dtype == dbeta.dtype == np.float64
    assert (dskip is None) == (skip is None)

    def f():
        o = batchnorm_relu_forward(x, gamma, beta, *fresh_stats(C), skip=skip)[0]
        assert np.array_equal(o > 0, mask), "a finite-difference step crossed the kink"
        return o

    label = f"{len(shape)}-D, {'skip' if with_skip else 'no skip'}"
    params = [("dx", x, dx), ("dgamma", gamma, dgamma), ("dbeta", beta, dbeta)]
    if with_skip:
        params.append(("dskip", skip, dskip))
        np.testing.assert_array_equal(dskip, np.where(mask, R, 0))
    for name, arr, g in params:
        check_smooth(f"batchnorm+relu {name} ({label})", g, smooth_grad_array(f, arr, R))


# ========================================================== numpy reference

def compare(got, want, dtype, close):
    """close(name, g, w) on each pair of (out, dx, dgamma, dbeta, dskip) or
    a prefix of it, after checking None-ness, dtype and shape."""
    for name, g, w in zip(("out", "dx", "dgamma", "dbeta", "dskip"), got, want):
        assert (g is None) == (w is None), name
        if w is not None:
            assert g.dtype == dtype and g.shape == w.shape, name
            close(name, g, w)


def reference(x, gamma, beta, skip, dout):
    """out, dx, dgamma, dbeta, dskip in float64: reference_batchnorm's
    staged pass, the sum, np.maximum, and the ReLU's mask on the way back."""
    x, gamma, beta, dout = (np.asarray(a, np.float64) for a in (x, gamma, beta, dout))
    z = ref.batchnorm_forward_train(x, gamma, beta)[0] + (0 if skip is None else skip)
    d = np.where(z > 0, dout, 0.0)
    return (np.maximum(z, 0), *ref.batchnorm_backward_train(d, x, gamma),
            None if skip is None else d)


@SKIP
@DTYPE
@pytest.mark.parametrize("shape", [case(2, 3, 4, 5), case(1, 4, 3, 2), case(7, 2, 1, 1),
                                   case(3, 5), case(16, 2)])
def test_matches_reference(threads, shape, dtype, with_skip):
    rng, x, gamma, beta, skip = kinkless(len(shape) * 1000 + sum(shape), shape, with_skip,
                                         margin=2.0 ** -6, dtype=dtype)
    C = shape[1]
    rm, rv = rng.standard_normal(C).astype(dtype), (rng.random(C) + 0.5).astype(dtype)
    want_rm, want_rv = ref.batchnorm_running_update(rm.astype(np.float64),
                                                    rv.astype(np.float64), x.astype(np.float64))
    out, cache = batchnorm_relu_forward(x, gamma, beta, rm, rv, skip=skip)
    dout = rng.standard_normal(shape).astype(dtype)
    tol = 1e-12 if dtype == np.float64 else RTOL[np.float32]
    # dx is a difference of terms of the size of gamma / sigma * dout, which can cancel: its
    # error is measured against them (test_kernels_batchnorm.py), the rest's against max |w|.
    sigma = np.sqrt(by_channel(x.astype(np.float64)).var(axis=1) + 1e-5)
    dx_scale = np.abs(dout * bcast(gamma / sigma, shape)).max()

    def close(name, g, w):
        if name == "dx":
            err = np.abs(g - w).max() / dx_scale
            assert err < tol, f"dx: error {err:.2e} relative to the terms' size"
        else:
            assert_close(g, w, tol, name)
    compare((out, *batchnorm_relu_backward(dout, cache)), reference(x, gamma, beta, skip, dout),
            dtype, close)
    assert rm.dtype == rv.dtype == dtype
    assert_close(rm, want_rm, tol, "running mean")
    assert_close(rv, want_rv, tol, "running var")


@SKIP
@DTYPE
@pytest.mark.parametrize("shape", [case(3, 2, 4, 4), case(5, 2), case(1, 3, 1, 1), case(1, 3)])
def test_evaluation_matches_reference(threads, shape, dtype, with_skip):
    """Evaluation normalises with the running estimates, keeps no cache,
    leaves the estimates alone and takes one value per channel."""
    rng = np.random.default_rng(sum(shape) + 100 * with_skip)
    C = shape[1]
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    gamma, beta = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
    skip = rng.standard_normal(shape).astype(dtype) if with_skip else None
    rm0, rv0 = np.array([0.5, -1.0, 2.0][:C], dtype), np.array([4.0, 0.25, 1.0][:C], dtype)
    rm, rv = rm0.copy(), rv0.copy()
    out, cache = batchnorm_relu_forward(x, gamma, beta, rm, rv, skip=skip, train=False)
    assert cache is None and out.dtype == dtype and out.shape == shape
    np.testing.assert_array_equal(np.r_[rm, rv], np.r_[rm0, rv0])
    f64 = [a.astype(np.float64) for a in (x, gamma, beta, rm, rv)]
    z = ref.batchnorm_forward_eval(*f64) + (0 if skip is None else skip.astype(np.float64))
    assert_close(out, np.maximum(z, 0), 1e-13 if dtype == np.float64 else RTOL[dtype], "eval")


# ===================================================== the unfused kernels

def unfused(x, gamma, beta, rm, rv, skip, train, dout):
    """batchnorm_forward, numpy's add, relu_forward; their backward in turn."""
    y, bn_cache = batchnorm_forward(x, gamma, beta, rm, rv, train=train)
    out, relu_cache = relu_forward(y if skip is None else y + skip)
    if not train:
        return (out,)
    dz = relu_backward(dout, relu_cache)
    return (out, *batchnorm_backward(dz, bn_cache), None if skip is None else dz)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@SKIP
@DTYPE
@pytest.mark.parametrize("shape", [case(4, 3, 5, 5), case(2, 4, 1, 3), case(12, 3)])
def test_same_as_the_separate_kernels(threads, shape, dtype, with_skip, train):
    """The same ReLU mask as batchnorm, + skip and relu in turn, and the same
    values up to rounding (bit-identical when measured; the kernels'
    fastmath "reassoc" lets the compiler order sums its own way)."""
    rng, x, gamma, beta, skip = kinkless(7 + sum(shape), shape, with_skip, margin=2.0 ** -6,
                                         dtype=dtype)
    (rm, rv), (rm2, rv2) = fresh_stats(shape[1], dtype), fresh_stats(shape[1], dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    out, cache = batchnorm_relu_forward(x, gamma, beta, rm, rv, skip=skip, train=train)
    got = (out,) + (batchnorm_relu_backward(dout, cache) if train else ())
    want = unfused(x, gamma, beta, rm2, rv2, skip, train, dout)
    np.testing.assert_array_equal(got[0] > 0, want[0] > 0)
    if train:
        assert (got[0] == 0).any() and (got[0] > 0).any()    # the kink is exercised
    tol = 1e-12 if dtype == np.float64 else 1e-6
    compare(got, want, dtype, lambda name, g, w: np.testing.assert_allclose(
        g, w, rtol=tol, atol=tol * np.abs(w).max(), err_msg=name))
    np.testing.assert_allclose(rm, rm2, rtol=tol)
    np.testing.assert_allclose(rv, rv2, rtol=tol)


# ============================================================== edge cases

X = np.arange(96.0).reshape(2, 3, 4, 4) % 7
G = np.ones(3)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("x,skip,exc", [
    pytest.param(X, X[:, :, :, :3], ValueError, id="skip-narrower"),
    pytest.param(X, X.reshape(2, 3, 16), ValueError, id="skip-3d-same-size"),
    pytest.param(X[:, :, 0, 0], X[:, :, :1, 0], ValueError, id="skip-3d-for-2d-x"),
    pytest.param(X, X.astype(np.float32), TypeError, id="skip-float32-x-float64"),
    pytest.param(X.astype(np.float32), X, TypeError, id="skip-float64-x-float32"),
    pytest.param(X, X.astype(np.int64), TypeError, id="skip-int64"),
])
def test_forward_rejects_bad_skip(x, skip, exc, train):
    rm, rv = fresh_stats(3)
    with pytest.raises(exc, match="skip"):
        batchnorm_relu_forward(x, G.astype(x.dtype), G.astype(x.dtype), rm, rv, skip=skip,
                               train=train)
    np.testing.assert_array_equal(np.r_[rm, rv], [0, 0, 0, 1, 1, 1])      # left alone


@SKIP
def test_backward_rejects_bad_dout(with_skip):
    for x in (X, X[:, :, 0, 0]):
        out, cache = batchnorm_relu_forward(x, G, G, *fresh_stats(3),
                                            skip=x.copy() if with_skip else None)
        for bad in (out[:1], out[:, :2], out.reshape(out.shape[0], -1, 1)):
            with pytest.raises(ValueError, match="dout"):
                batchnorm_relu_backward(bad, cache)


@pytest.mark.parametrize("shape", [(1, 3, 1, 1), (1, 3)])
def test_training_needs_two_values_per_channel(shape):
    """No variance to take: training refuses and leaves the running
    estimates alone (evaluation is test_evaluation_matches_reference's)."""
    rm, rv = fresh_stats(3)
    with pytest.raises(ValueError, match="at least 2"):
        batchnorm_relu_forward(np.ones(shape), G, G, rm, rv, skip=np.ones(shape))
    np.testing.assert_array_equal(np.r_[rm, rv], [0, 0, 0, 1, 1, 1])      # left alone


@SKIP
@pytest.mark.parametrize("shape", [(3, 2, 2, 3), (6, 2)])
def test_all_negative_pre_activation_has_zero_gradients(threads, shape, with_skip):
    """beta = -100 puts every pre-activation below 0: out is 0 and nothing
    flows back, although the running estimates still move."""
    rng = np.random.default_rng(4)
    x, skip = rng.standard_normal(shape), rng.standard_normal(shape) if with_skip else None
    rm, rv = fresh_stats(2)
    out, cache = batchnorm_relu_forward(x, np.ones(2), np.full(2, -100.0), rm, rv, skip=skip)
    np.testing.assert_array_equal(out, 0)
    assert not np.array_equal(rm, 0)
    dx, dgamma, dbeta, dskip = batchnorm_relu_backward(rng.standard_normal(shape), cache)
    for g in (dx, dgamma, dbeta) + ((dskip,) if with_skip else ()):
        np.testing.assert_array_equal(g, 0)
    assert (dskip is None) == (not with_skip)

