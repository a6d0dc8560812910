"""batchnorm_forward / batchnorm_backward: float64 gradient checks of dx,
dgamma and dbeta on 4-D (N, C, H, W) and 2-D (N, C) inputs, agreement with
a staged plain-numpy reference, float32 against float64, and edge cases
(the running statistics, evaluation mode and input validation are in
test_kernels_batchnorm_stats.py).

Numeric gradients of batch norm
-------------------------------
Batch norm is smooth but not linear in x (the mean and the variance depend
on every value of the channel), so the exact-arithmetic trick of
gradcheck.py's grid data does not make the forward pass exact: sqrt and the
division round at ~1e-16 * |out|. The numeric side is therefore gradcheck's
Richardson extrapolation with its relative-error floor (its docstring has the
step and the tolerances), on grid data (multiples of 2**-6) so that x +- eps
and x +- 2 eps are exact. The entries under the floor are dx of a channel
whose upstream gradient nearly cancels, or of a two-value channel where xhat
is +-1 up to eps.

dgamma and dbeta are checked the same way (out is linear in both, so their
numeric gradients carry rounding noise only).

Evaluation mode has no backward pass (the cache is None): it is the affine
map gamma (x - running_mean) / sqrt(running_var + eps) + beta, whose numeric
gradient is compared with that closed form.
"""

import numpy as np
import pytest

import reference_batchnorm as ref
from batchnorm_data import bn_data, fresh_stats
from gradcheck import RTOL, assert_close, check_smooth, grid, smooth_grad_array
from nnlab.kernels.batchnorm import batchnorm_backward, batchnorm_forward


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
        check_smooth(f"batchnorm {name} ({dims}, train)", g, smooth_grad_array(f, arr, R))
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
                     smooth_grad_array(f, arr, R))


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

# ======================================================= float32, edge cases

@pytest.mark.parametrize("shape", [(8, 4, 6, 6), (32, 5)])
def test_float32_agrees_with_float64(threads, shape):
    rng = np.random.default_rng(21)
    C = shape[1]
    x = rng.standard_normal(shape) * 2 + 10        # an offset: the shifted sums cope
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


@pytest.mark.parametrize("dtype, offset, rtol", [(np.float64, 1e6, 1e-10),
                                                   (np.float32, 1e3, 1e-5)])
def test_far_offset_channel(threads, dtype, offset, rtol):
    """A mean far from zero against a spread of 1: the one-pass variance is
    taken about one of the channel's own values, so it does not cancel.
    Unshifted, sum(x^2) / M - mean^2 loses offset^2 / var times eps64
    (1e-4 relative at 1e6 in float64): out's variance would miss
    var / (var + eps) by that much."""
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((6, 3, 5, 5)) + offset).astype(dtype)
    out, _ = batchnorm_forward(x, np.ones(3, dtype), np.zeros(3, dtype), *fresh_stats(3, dtype))
    x64, out64 = x.astype(np.float64), out.astype(np.float64)
    var = x64.var(axis=(0, 2, 3))
    np.testing.assert_allclose(out64.var(axis=(0, 2, 3)), var / (var + 1e-5), rtol=rtol)
    np.testing.assert_allclose(out64.mean(axis=(0, 2, 3)), 0, atol=10 * rtol)


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
