"""batchnorm_relu_forward / batchnorm_relu_backward: out = relu(bn(x) + skip).

- float64 gradient checks of dx, dgamma, dbeta and dskip (gradcheck's
  Richardson differences and check_smooth, as for batch norm alone). The
  ReLU has a kink at 0: the data are redrawn until every pre-activation is
  at least MARGIN from 0, far beyond the perturbation (2 * 2**-11 in x
  moves a pre-activation by well under MARGIN for these gammas).
- agreement with the plain-numpy reference (reference_batchnorm plus
  np.maximum), with the unfused kernels, and in evaluation mode;
- the checks of the wrapper.
"""

import numpy as np
import pytest

import reference_batchnorm as ref
from batchnorm_data import bn_data, fresh_stats
from gradcheck import assert_close, check_smooth, grid, smooth_grad_array
from nnlab.kernels.activation import relu_backward, relu_forward
from nnlab.kernels.batchnorm import batchnorm_backward, batchnorm_forward
from nnlab.kernels.batchnorm_relu import batchnorm_relu_backward, batchnorm_relu_forward

MARGIN = 0.05


def pre_activation(x, gamma, beta, skip):
    out, _, _ = ref.batchnorm_forward_train(x, gamma, beta)
    return out + (0 if skip is None else skip)


def kink_free(rng, shape, with_skip):
    """bn_data (and a grid skip) whose pre-activations keep MARGIN from 0,
    some on each side."""
    for _ in range(200):
        x, gamma, beta = bn_data(rng, shape)
        skip = grid(rng, shape) if with_skip else None
        pre = pre_activation(x, gamma, beta, skip)
        if np.min(np.abs(pre)) >= MARGIN and (pre < 0).any() and (pre > 0).any():
            return x, gamma, beta, skip
    raise AssertionError("no kink-free data drawn")


@pytest.mark.parametrize("with_skip", [False, True], ids=["no skip", "skip"])
@pytest.mark.parametrize("shape", [(2, 3, 2, 3), (1, 2, 3, 3), (4, 3), (3, 1, 2, 2)],
                         ids=lambda s: "x".join(map(str, s)))
def test_gradcheck(threads, shape, with_skip):
    rng = np.random.default_rng(sum(shape) * 31 + with_skip)
    x, gamma, beta, skip = kink_free(rng, shape, with_skip)
    out, cache = batchnorm_relu_forward(x, gamma, beta, *fresh_stats(shape[1]), skip=skip)
    assert (out == 0).any() and (out > 0).any()  # both sides of the ReLU are exercised
    R = grid(rng, out.shape)
    dx, dgamma, dbeta, dskip = batchnorm_relu_backward(R, cache)

    def f():
        return batchnorm_relu_forward(x, gamma, beta, *fresh_stats(shape[1]), skip=skip)[0]

    for name, arr, g in (("dx", x, dx), ("dgamma", gamma, dgamma), ("dbeta", beta, dbeta)):
        check_smooth(f"batchnorm_relu {name}", g, smooth_grad_array(f, arr, R))
    if with_skip:
        check_smooth("batchnorm_relu dskip", dskip, smooth_grad_array(f, skip, R))
    else:
        assert dskip is None


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-6)])
@pytest.mark.parametrize("with_skip", [False, True], ids=["no skip", "skip"])
def test_matches_reference_and_unfused(threads, dtype, rtol, with_skip):
    rng = np.random.default_rng(5 + with_skip)
    shape = (4, 3, 5, 6)
    x, gamma, beta = bn_data(rng, shape)
    skip = rng.standard_normal(shape) if with_skip else None
    cast = [a if a is None else a.astype(dtype) for a in (x, gamma, beta, skip)]
    rm, rv = fresh_stats(3)
    out, cache = batchnorm_relu_forward(*cast[:3], rm, rv, skip=cast[3])
    pre = pre_activation(x, gamma, beta, skip)
    assert_close(out, np.maximum(pre, 0), rtol, "forward")
    want_m, want_v = ref.batchnorm_running_update(*fresh_stats(3), x)
    assert_close(rm, want_m, rtol, "running mean")
    assert_close(rv, want_v, rtol, "running var")
    R = rng.standard_normal(shape)
    dx, dgamma, dbeta, dskip = batchnorm_relu_backward(R.astype(dtype), cache)
    masked = R * (pre > 0)
    want_dx, want_dg, want_db = ref.batchnorm_backward_train(masked, x, gamma)
    for what, got, want in (("dx", dx, want_dx), ("dgamma", dgamma, want_dg),
                            ("dbeta", dbeta, want_db)):
        assert got.dtype == dtype
        assert_close(got, want, 50 * rtol, what)
    if with_skip:
        assert_close(dskip, masked, rtol, "dskip")
    # The unfused kernels give the same numbers: the fusion changes no maths.
    o1, c1 = batchnorm_forward(*cast[:3], *fresh_stats(3))
    o2, c2 = relu_forward(o1 if skip is None else o1 + cast[3])
    np.testing.assert_allclose(out, o2, rtol=1e-6, atol=1e-6)
    d1 = relu_backward(R.astype(dtype), c2)
    for got, want in zip((dx, dgamma, dbeta), batchnorm_backward(d1, c1)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("with_skip", [False, True], ids=["no skip", "skip"])
def test_evaluation(threads, with_skip):
    rng = np.random.default_rng(9)
    x, gamma, beta = bn_data(rng, (3, 2, 4, 4))
    skip = rng.standard_normal(x.shape) if with_skip else None
    rm, rv = rng.standard_normal(2), rng.random(2) + 0.5
    out, cache = batchnorm_relu_forward(x, gamma, beta, rm.copy(), rv.copy(), skip=skip,
                                        train=False)
    assert cache is None
    want = ref.batchnorm_forward_eval(x, gamma, beta, rm, rv) + (0 if skip is None else skip)
    assert_close(out, np.maximum(want, 0), 1e-12, "evaluation")


def test_dead_units_pass_no_gradient(threads):
    x, gamma, beta = bn_data(np.random.default_rng(2), (3, 2, 2, 2))
    skip = np.full(x.shape, -100.0)  # every pre-activation far below 0
    out, cache = batchnorm_relu_forward(x, gamma, beta, *fresh_stats(2), skip=skip)
    assert not out.any()
    grads = batchnorm_relu_backward(np.ones(x.shape), cache)
    for g in grads:
        assert not np.any(g)


def test_wrapper_checks():
    x, gamma, beta = bn_data(np.random.default_rng(3), (2, 2, 3, 3))
    with pytest.raises(ValueError, match="skip must have"):
        batchnorm_relu_forward(x, gamma, beta, *fresh_stats(2), skip=np.zeros((2, 2, 3, 2)))
    with pytest.raises(TypeError, match="skip"):
        batchnorm_relu_forward(x, gamma, beta, *fresh_stats(2),
                               skip=np.zeros(x.shape, np.float32))
    _, cache = batchnorm_relu_forward(x, gamma, beta, *fresh_stats(2))
    with pytest.raises(ValueError, match="dout must have"):
        batchnorm_relu_backward(np.zeros((2, 2, 3, 2)), cache)
    with pytest.raises(ValueError, match="at least 2 values"):
        batchnorm_relu_forward(x[:1, :, :1, :1], gamma, beta, *fresh_stats(2))
