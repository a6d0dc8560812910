"""batchnorm_forward / batchnorm_backward: float64 gradient checks of dx,
dgamma and dbeta on 4-D (N, C, H, W) and 2-D (N, C) inputs, agreement with
a staged plain-numpy reference, the running statistics (PyTorch's
convention), evaluation mode, float32 against float64, and input validation.

Numeric gradients of batch norm
-------------------------------
Batch norm is smooth but not linear in x (the mean and the variance depend
on every value of the channel), so the exact-arithmetic trick of
gradcheck.py's grid data does not make the forward pass exact: sqrt and the
division round at ~1e-16 * |out|. As in test_kernels_rnn.py the numeric side
is the Richardson extrapolation (4 D(eps) - D(2 eps)) / 3 of two central
differences with eps = 2**-11 (truncation O(eps**4), rounding noise divided
by a step 500 times gradcheck's), on grid data (multiples of 2**-6) so that
x +- eps and x +- 2 eps are exact. The relative error (CS231n, < 1e-6) is
asserted on every entry with |analytic| + |numeric| >= FLOOR = 1e-5; the
entries under the floor (dx of a channel whose upstream gradient nearly
cancels, or of a two-value channel where xhat is +-1 up to eps) must agree
to ABS_TOL = 1e-10 absolute instead. ``FLOORED`` counts them per label.

dgamma and dbeta are checked the same way (out is linear in both, so their
numeric gradients carry rounding noise only).

Evaluation mode has no backward pass (the cache is None): it is the affine
map gamma (x - running_mean) / sqrt(running_var + eps) + beta, whose numeric
gradient is compared with that closed form.
"""

import numpy as np
import pytest

import nnlab.kernels
import reference as ref
from gradcheck import RTOL, assert_close, check_grad, grid, numeric_grad_array
from gradcheck import threads  # noqa: F401  (fixture)
from nnlab.kernels.batchnorm import batchnorm_backward, batchnorm_forward

SMOOTH_EPS = 2.0 ** -11
FLOOR = 1e-5
ABS_TOL = 1e-10
FLOORED = {}


def numeric_smooth(f, x, R):
    """Gradient of sum(f() * R) w.r.t. x, Richardson-extrapolated."""
    d1 = numeric_grad_array(f, x, R, SMOOTH_EPS)
    d2 = numeric_grad_array(f, x, R, 2 * SMOOTH_EPS)
    return (4 * d1 - d2) / 3


def check_smooth(label, analytic, numeric):
    """Relative error < 1e-6 above FLOOR (recorded in gradcheck.WORST),
    absolute error < ABS_TOL below it."""
    assert analytic.shape == numeric.shape, f"{label}: {analytic.shape} vs {numeric.shape}"
    small = np.abs(analytic) + np.abs(numeric) < FLOOR
    check_grad(label, analytic[~small], numeric[~small])
    if small.any():
        FLOORED[label] = FLOORED.get(label, 0) + int(small.sum())
        err = np.max(np.abs(analytic[small] - numeric[small]))
        assert err < ABS_TOL, f"{label}: absolute error {err:.2e} on entries below {FLOOR}"


def bn_data(rng, shape, dtype=np.float64):
    """x on the grid with a different offset and scale per channel (so that
    the normalisation does something), gamma and beta nonzero grid values."""
    C = shape[1]
    bshape = (1, C) + (1,) * (len(shape) - 2)
    x = grid(rng, shape) * 2.0 ** rng.integers(-1, 2, C).reshape(bshape)
    x += np.round(rng.standard_normal(C) * 4).reshape(bshape)
    gamma = grid(rng, (C,), nonzero=True) + 1.0
    gamma[gamma == 0] = 0.5
    beta = grid(rng, (C,), nonzero=True)
    return x.astype(dtype), gamma.astype(dtype), beta.astype(dtype)


def fresh_stats(C, dtype=np.float64):
    return np.zeros(C, dtype), np.ones(C, dtype)


def case(*shape):
    return pytest.param(shape, id="x".join(map(str, shape)))


# 4-D and 2-D; N = 1 (statistics over H x W only), H = W = 1 (over N only),
# M = N H W = 2 (the smallest batch that trains), channels of 1 and several.
GRAD_CASES = [
    case(2, 3, 2, 3),
    case(1, 2, 3, 3),
    case(4, 2, 1, 1),
    case(3, 1, 2, 2),
    case(2, 2, 1, 1),
    case(1, 1, 1, 2),
    case(4, 3),
    case(6, 1),
    case(2, 4),
    case(5, 2),
]


@pytest.mark.parametrize("upstream", ["random", "ones"])
@pytest.mark.parametrize("shape", GRAD_CASES)
def test_batchnorm_gradcheck_training(threads, shape, upstream):
    rng = np.random.default_rng(sum(shape) * 17 + len(shape))
    x, gamma, beta = bn_data(rng, shape)
    out, cache = batchnorm_forward(x.copy(), gamma.copy(), beta.copy(), *fresh_stats(shape[1]))
    # "ones": sum(out) does not depend on x at all (each channel of xhat sums
    # to 0), so dx must vanish: every entry then goes through the floor.
    R = grid(rng, out.shape) if upstream == "random" else np.ones(out.shape)
    dx, dgamma, dbeta = batchnorm_backward(R, cache)
    assert dx.shape == x.shape and dgamma.shape == dbeta.shape == (shape[1],)
    assert dx.dtype == dgamma.dtype == dbeta.dtype == np.float64

    def f():
        return batchnorm_forward(x, gamma, beta, *fresh_stats(shape[1]))[0]

    dims = f"{len(shape)}-D"
    for name, arr, g in (("dx", x, dx), ("dgamma", gamma, dgamma), ("dbeta", beta, dbeta)):
        check_smooth(f"batchnorm {name} ({dims}, train)", g, numeric_smooth(f, arr, R))
    if upstream == "ones":
        assert np.max(np.abs(dx)) < 1e-12


@pytest.mark.parametrize("shape", [case(2, 3, 2, 3), case(1, 2, 1, 1), case(4, 3)])
def test_batchnorm_gradcheck_evaluation(threads, shape):
    """Evaluation is affine in x, gamma and beta: the numeric gradients of
    the kernel's evaluation pass equal the closed form."""
    rng = np.random.default_rng(77 + sum(shape))
    x, gamma, beta = bn_data(rng, shape)
    C = shape[1]
    rmean = grid(rng, (C,))
    rvar = np.abs(grid(rng, (C,), nonzero=True)) + 0.25
    R = grid(rng, x.shape)

    def f():
        out, cache = batchnorm_forward(x, gamma, beta, rmean.copy(), rvar.copy(), train=False)
        assert cache is None
        return out

    b = (1, C) + (1,) * (len(shape) - 2)
    inv = (1.0 / np.sqrt(rvar + 1e-5)).reshape(b)
    xhat = (x - rmean.reshape(b)) * inv
    axes = (0,) + tuple(range(2, len(shape)))
    want = {"dx": R * gamma.reshape(b) * inv, "dgamma": (R * xhat).sum(axis=axes),
            "dbeta": R.sum(axis=axes)}
    for name, arr in (("dx", x), ("dgamma", gamma), ("dbeta", beta)):
        check_smooth(f"batchnorm {name} ({len(shape)}-D, eval)", want[name],
                     numeric_smooth(f, arr, R))


# ======================================================= numpy reference

REF_CASES = [case(2, 3, 4, 5), case(1, 4, 3, 2), case(7, 2, 1, 1), case(3, 5), case(16, 2),
             case(2, 1)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", REF_CASES)
def test_batchnorm_matches_reference(threads, shape, dtype):
    rng = np.random.default_rng(len(shape) * 1000 + sum(shape))
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    C = shape[1]
    gamma = rng.standard_normal(C).astype(dtype)
    beta = rng.standard_normal(C).astype(dtype)
    rm = rng.standard_normal(C).astype(dtype)
    rv = (rng.random(C) + 0.5).astype(dtype)
    rm0, rv0 = rm.copy(), rv.copy()
    out, cache = batchnorm_forward(x, gamma, beta, rm, rv, train=True)
    assert out.dtype == dtype and out.shape == shape
    x64, g64, b64 = (a.astype(np.float64) for a in (x, gamma, beta))
    want, mean, var = ref.batchnorm_forward_train(x64, g64, b64)
    assert_close(out, want, RTOL[dtype], "out")
    want_rm, want_rv = ref.batchnorm_running_update(rm0.astype(np.float64),
                                                    rv0.astype(np.float64), x64)
    assert rm.dtype == rv.dtype == dtype
    assert_close(rm, want_rm, RTOL[dtype], "running mean")
    assert_close(rv, want_rv, RTOL[dtype], "running var")

    dout = rng.standard_normal(shape).astype(dtype)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    assert dx.dtype == dgamma.dtype == dbeta.dtype == dtype
    rdx, rdgamma, rdbeta = ref.batchnorm_backward_train(dout.astype(np.float64), x64, g64)
    # dx = gamma / std * (dout - mean(dout) - xhat mean(dout xhat)) is a
    # difference of terms of the size of gamma / std * dout, which can cancel
    # (with M = 2 almost completely): its error is measured against them.
    axes = (0,) + tuple(range(2, len(shape)))
    scale = np.abs(dout * (g64 / np.sqrt(x64.var(axis=axes) + 1e-5)).reshape(
        (1, C) + (1,) * (len(shape) - 2))).max()
    err = np.abs(dx - rdx).max() / scale
    assert err < RTOL[dtype], f"dx: error {err:.2e} relative to the terms' size"
    assert_close(dgamma, rdgamma, RTOL[dtype], "dgamma")
    assert_close(dbeta, rdbeta, RTOL[dtype], "dbeta")

    ev, none = batchnorm_forward(x, gamma, beta, rm, rv, train=False)
    assert none is None and ev.dtype == dtype
    assert_close(ev, ref.batchnorm_forward_eval(x64, g64, b64, rm.astype(np.float64),
                                                rv.astype(np.float64)), RTOL[dtype], "eval")


def test_batchnorm_training_output_is_normalised():
    """gamma = 1, beta = 0: each channel of the output has mean 0 and
    (biased) variance var / (var + eps), for 4-D and 2-D."""
    rng = np.random.default_rng(5)
    for shape in [(4, 3, 5, 5), (50, 4)]:
        x = rng.standard_normal(shape) * 7 + 3
        C = shape[1]
        out, _ = batchnorm_forward(x, np.ones(C), np.zeros(C), *fresh_stats(C))
        axes = (0,) + tuple(range(2, len(shape)))
        var = x.var(axis=axes)
        np.testing.assert_allclose(out.mean(axis=axes), 0, atol=1e-13)
        np.testing.assert_allclose(out.var(axis=axes), var / (var + 1e-5), rtol=1e-12)


# ==================================================== running statistics

def test_running_stats_follow_pytorch_by_hand():
    """One channel holding 1 and 3: batch mean 2, biased variance 1, unbiased
    variance 2. From PyTorch's initial (0, 1) and momentum 0.1 the running
    estimates become 0.9 * 0 + 0.1 * 2 = 0.2 and 0.9 * 1 + 0.1 * 2 = 1.1; the
    output is normalised with the biased variance: (x - 2) / sqrt(1 + eps)."""
    x = np.array([[1.0], [3.0]])
    rm, rv = fresh_stats(1)
    out, _ = batchnorm_forward(x, np.ones(1), np.zeros(1), rm, rv)
    np.testing.assert_allclose(rm, [0.2], rtol=1e-15)
    np.testing.assert_allclose(rv, [1.1], rtol=1e-15)
    np.testing.assert_allclose(out[:, 0], np.array([-1.0, 1.0]) / np.sqrt(1 + 1e-5), rtol=1e-15)
    # The same values spread over H x W of one image count the same way.
    rm4, rv4 = fresh_stats(1)
    batchnorm_forward(x.reshape(1, 1, 1, 2), np.ones(1), np.zeros(1), rm4, rv4)
    np.testing.assert_array_equal(rm4, rm)
    np.testing.assert_array_equal(rv4, rv)


@pytest.mark.parametrize("momentum", [0.1, 0.5, 0.01])
def test_running_stats_over_several_batches(momentum):
    rng = np.random.default_rng(int(momentum * 1000))
    C = 3
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    rm, rv = fresh_stats(C)
    want_m, want_v = rm.copy(), rv.copy()
    for step in range(5):
        x = rng.standard_normal((4, C, 3, 2)) * (step + 1) + step
        batchnorm_forward(x, gamma, beta, rm, rv, momentum=momentum)
        want_m, want_v = ref.batchnorm_running_update(want_m, want_v, x, momentum)
    np.testing.assert_allclose(rm, want_m, rtol=1e-13)
    np.testing.assert_allclose(rv, want_v, rtol=1e-13)


def test_running_stats_converge_to_the_data_statistics():
    """Many batches of a fixed distribution: the running estimates approach
    its mean and variance (the unbiased rule has no 1 - 1/M shrinkage)."""
    rng = np.random.default_rng(8)
    rm, rv = fresh_stats(2)
    for _ in range(300):
        x = rng.standard_normal((3, 2, 2, 1)) * np.array([2.0, 0.5])[None, :, None, None]
        x += np.array([5.0, -1.0])[None, :, None, None]
        batchnorm_forward(x, np.ones(2), np.zeros(2), rm, rv)
    np.testing.assert_allclose(rm, [5.0, -1.0], atol=0.3)
    np.testing.assert_allclose(rv, [4.0, 0.25], rtol=0.2)


@pytest.mark.parametrize("shape", [(3, 2, 4, 4), (5, 2), (1, 2, 1, 1), (1, 3)])
def test_evaluation_uses_running_stats_and_leaves_them(shape):
    """Evaluation normalises with the running estimates, not the batch's,
    does not move them, and works on a single value per channel."""
    rng = np.random.default_rng(sum(shape))
    C = shape[1]
    x = rng.standard_normal(shape) * 3 + 2
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    rm = np.array([0.5, -1.0, 2.0][:C])
    rv = np.array([4.0, 0.25, 1.0][:C])
    rm0, rv0 = rm.copy(), rv.copy()
    out, cache = batchnorm_forward(x, gamma, beta, rm, rv, train=False)
    assert cache is None
    np.testing.assert_array_equal(rm, rm0)
    np.testing.assert_array_equal(rv, rv0)
    np.testing.assert_allclose(out, ref.batchnorm_forward_eval(x, gamma, beta, rm, rv),
                               rtol=1e-13, atol=1e-13)
    if x.size // C >= 2:
        train_out, _ = batchnorm_forward(x, gamma, beta, rm.copy(), rv.copy(), train=True)
        assert not np.allclose(out, train_out)


def test_eps_and_momentum_are_used():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 2)) * 0.01      # variance ~1e-4: eps matters
    for eps in (1e-5, 1e-3):
        out, _ = batchnorm_forward(x, np.ones(2), np.zeros(2), *fresh_stats(2), eps=eps)
        want, _, _ = ref.batchnorm_forward_train(x, np.ones(2), np.zeros(2), eps=eps)
        np.testing.assert_allclose(out, want, rtol=1e-12)
    rm, rv = fresh_stats(2)
    batchnorm_forward(x, np.ones(2), np.zeros(2), rm, rv, momentum=1.0)
    np.testing.assert_allclose(rm, x.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(rv, x.var(axis=0, ddof=1), rtol=1e-13)


# ======================================================= float32, edge cases

@pytest.mark.parametrize("shape", [(8, 4, 6, 6), (32, 5)])
def test_float32_agrees_with_float64(threads, shape):
    rng = np.random.default_rng(21)
    C = shape[1]
    x = rng.standard_normal(shape) * 2 + 10        # an offset: the two-pass variance copes
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    dout = rng.standard_normal(shape)
    res = {}
    for dtype in (np.float64, np.float32):
        rm, rv = fresh_stats(C, dtype)
        out, cache = batchnorm_forward(x.astype(dtype), gamma.astype(dtype), beta.astype(dtype),
                                       rm, rv)
        res[dtype] = (out, *batchnorm_backward(dout.astype(dtype), cache), rm, rv)
    for name, a, b in zip(["out", "dx", "dgamma", "dbeta", "running mean", "running var"],
                          res[np.float32], res[np.float64]):
        assert a.dtype == np.float32, name
        assert_close(a, b, 1e-5, name)


def test_constant_channel():
    """A channel with zero variance: xhat = 0, out = beta, finite gradients
    (dx = gamma / sqrt(eps) times the centred upstream gradient)."""
    x = np.full((3, 1, 2, 2), 4.0)
    out, cache = batchnorm_forward(x, np.array([2.0]), np.array([0.5]), *fresh_stats(1))
    np.testing.assert_array_equal(out, np.full_like(x, 0.5))
    rng = np.random.default_rng(1)
    dout = rng.standard_normal(x.shape)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    np.testing.assert_allclose(dx, 2.0 / np.sqrt(1e-5) * (dout - dout.mean()), rtol=1e-12)
    assert dgamma[0] == 0.0
    np.testing.assert_allclose(dbeta, [dout.sum()], rtol=1e-14)


def test_does_not_modify_inputs_and_accepts_non_contiguous():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 5))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    saved = [a.copy() for a in (x, gamma, beta)]
    out, cache = batchnorm_forward(x, gamma, beta, *fresh_stats(3))
    dout = rng.standard_normal(x.shape)
    dout_saved = dout.copy()
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    for a, b in zip((x, gamma, beta, dout), saved + [dout_saved]):
        np.testing.assert_array_equal(a, b)
    xt = np.asfortranarray(x)
    out2, cache2 = batchnorm_forward(xt, gamma, beta, *fresh_stats(3))
    np.testing.assert_allclose(out2, out, rtol=1e-14, atol=1e-14)
    dx2, _, _ = batchnorm_backward(np.asfortranarray(dout), cache2)
    np.testing.assert_allclose(dx2, dx, rtol=1e-13, atol=1e-13)
    x2 = rng.standard_normal((6, 3))[::2]         # strided rows
    out3, _ = batchnorm_forward(x2, gamma, beta, *fresh_stats(3))
    np.testing.assert_allclose(out3, ref.batchnorm_forward_train(x2, gamma, beta)[0],
                               rtol=1e-12, atol=1e-12)


# ================================================================ bad input

X = np.zeros((2, 3, 4, 4))
G = np.ones(3)


def _stats():
    return np.zeros(3), np.ones(3)


BAD = [
    pytest.param(X[0, 0, 0], G, G, ValueError, id="x-1d"),
    pytest.param(X[0], G, G, ValueError, id="x-3d"),
    pytest.param(X[None], G, G, ValueError, id="x-5d"),
    pytest.param(X.astype(np.int64), G, G, TypeError, id="x-int64"),
    pytest.param(X.astype(np.float16), G, G, TypeError, id="x-float16"),
    pytest.param(X, G.astype(np.float32), G, TypeError, id="gamma-float32-x-float64"),
    pytest.param(X.astype(np.float32), G.astype(np.float32), G, TypeError,
                 id="beta-float64-x-float32"),
    pytest.param(X, np.ones(2), G, ValueError, id="gamma-too-short"),
    pytest.param(X, G, np.ones(4), ValueError, id="beta-too-long"),
    pytest.param(X, np.ones((3, 1)), G, ValueError, id="gamma-2d"),
    pytest.param(X.transpose(0, 2, 3, 1), G, G, ValueError, id="channels-last"),
]


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("x,gamma,beta,exc", BAD)
def test_forward_rejects(x, gamma, beta, exc, train):
    rm, rv = _stats()
    with pytest.raises(exc):
        batchnorm_forward(x, gamma, beta, rm, rv, train=train)
    np.testing.assert_array_equal(rm, 0)
    np.testing.assert_array_equal(rv, 1)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("which", ["mean", "var"])
def test_forward_rejects_misshapen_running_stats(which, train):
    rm, rv = _stats()
    if which == "mean":
        rm = np.zeros(2)
    else:
        rv = np.ones((3, 1))
    with pytest.raises(ValueError, match=f"running_{which}"):
        batchnorm_forward(X, G, G, rm, rv, train=train)


@pytest.mark.parametrize("shape", [(1, 3, 1, 1), (1, 3), (2, 3, 0, 4), (1, 3, 1, 0)])
def test_training_needs_two_values_per_channel(shape):
    """N * H * W < 2: no variance to take. Training refuses (and leaves the
    running estimates alone); evaluation is fine."""
    rm, rv = _stats()
    with pytest.raises(ValueError, match="at least 2"):
        batchnorm_forward(np.ones(shape), G, G, rm, rv, train=True)
    np.testing.assert_array_equal(rm, 0)
    np.testing.assert_array_equal(rv, 1)
    out, _ = batchnorm_forward(np.ones(shape), G, G, rm, rv, train=False)
    assert out.shape == shape


def test_backward_rejects_bad_dout():
    out, cache = batchnorm_forward(X, G, G, *_stats())
    with pytest.raises(ValueError):
        batchnorm_backward(out[:1], cache)
    with pytest.raises(ValueError):
        batchnorm_backward(out.reshape(2, 3, 16), cache)
    out2, cache2 = batchnorm_forward(X[:, :, 0, 0], G, G, *_stats())
    with pytest.raises(ValueError):
        batchnorm_backward(out2[:, :2], cache2)


# =========================================================== public API

EXPORTS = ("batchnorm_forward", "batchnorm_backward", "avgpool2d_forward", "avgpool2d_backward",
           "global_avgpool_forward", "global_avgpool_backward")


def test_exported_from_nnlab_kernels():
    """nn/layers.py calls K.batchnorm_forward etc. through ``nnlab.kernels``."""
    missing = [name for name in EXPORTS if not hasattr(nnlab.kernels, name)]
    assert not missing, f"nnlab.kernels does not export {missing}"
    from nnlab.kernels import batchnorm, pool
    for name in EXPORTS:
        module = batchnorm if name.startswith("batchnorm") else pool
        assert getattr(nnlab.kernels, name) is getattr(module, name), name


@pytest.mark.parametrize("shape", [(0, 3, 2, 2), (0, 3)])
def test_empty_batch_in_training_is_refused(shape):
    with pytest.raises(ValueError):
        batchnorm_forward(np.ones(shape), G, G, *_stats(), train=True)


@pytest.mark.parametrize("shape", [(0, 3, 2, 2), (0, 3)])
def test_empty_batch_in_evaluation(shape):
    out, _ = batchnorm_forward(np.ones(shape), G, G, *_stats(), train=False)
    assert out.shape == shape
