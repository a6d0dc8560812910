"""batchnorm_forward's running statistics (PyTorch's convention) and
evaluation mode, batchnorm_forward / batchnorm_backward's input validation,
and their export from nnlab.kernels."""

import numpy as np
import pytest

import nnlab.kernels
import reference_batchnorm as ref
from batchnorm_data import fresh_stats
from nnlab.kernels.batchnorm import batchnorm_backward, batchnorm_forward


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

# ================================================================ bad input

X = np.zeros((2, 3, 4, 4))
G = np.ones(3)


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
    rm, rv = fresh_stats(3)
    with pytest.raises(exc):
        batchnorm_forward(x, gamma, beta, rm, rv, train=train)
    np.testing.assert_array_equal(rm, 0)
    np.testing.assert_array_equal(rv, 1)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("which", ["mean", "var"])
def test_forward_rejects_misshapen_running_stats(which, train):
    rm, rv = fresh_stats(3)
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
    rm, rv = fresh_stats(3)
    with pytest.raises(ValueError, match="at least 2"):
        batchnorm_forward(np.ones(shape), G, G, rm, rv, train=True)
    np.testing.assert_array_equal(rm, 0)
    np.testing.assert_array_equal(rv, 1)
    out, _ = batchnorm_forward(np.ones(shape), G, G, rm, rv, train=False)
    assert out.shape == shape


def test_backward_rejects_bad_dout():
    out, cache = batchnorm_forward(X, G, G, *fresh_stats(3))
    with pytest.raises(ValueError):
        batchnorm_backward(out[:1], cache)
    with pytest.raises(ValueError):
        batchnorm_backward(out.reshape(2, 3, 16), cache)
    out2, cache2 = batchnorm_forward(X[:, :, 0, 0], G, G, *fresh_stats(3))
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
        batchnorm_forward(np.ones(shape), G, G, *fresh_stats(3), train=True)


@pytest.mark.parametrize("shape", [(0, 3, 2, 2), (0, 3)])
def test_empty_batch_in_evaluation(shape):
    out, _ = batchnorm_forward(np.ones(shape), G, G, *fresh_stats(3), train=False)
    assert out.shape == shape
