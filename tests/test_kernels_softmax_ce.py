"""softmax_cross_entropy (with label smoothing): gradient checks, reference
agreement, thread counts, stability on huge logits, the loss as a mean over
rows, label dtypes, no mutation and input validation."""

import math

import numpy as np
import pytest

import reference_dense as ref
from gradcheck import RTOL, assert_close, check_grad, numeric_grad
from nnlab.kernels import softmax_cross_entropy

DTYPES = [np.float64, np.float32]


CE_CASES = [
    (1, 2, 0.0), (2, 3, 0.0), (3, 5, 0.0), (5, 4, 0.0), (3, 10, 0.0),
    (3, 10, 0.1), (5, 6, 0.1), (2, 3, 0.3), (1, 7, 0.5), (4, 5, 0.05), (3, 4, 0.9),
]


def well_conditioned_logits(rng, N, K, smoothing, floor=2e-3):
    """Random logits and labels whose gradient has no entry below floor.

    The loss is not linear, so its central difference carries ~1e-16 |L| / eps
    ~ 5e-10 of rounding noise; the relative error would cross 1e-6 on any
    entry that cancels below ~2.5e-4 (with smoothing, p_k ~ smoothing / K makes
    that common). Such draws are skipped, judged by the reference gradient."""
    for _ in range(1000):
        logits = rng.standard_normal((N, K))
        y = rng.integers(0, K, N)
        _, d = ref.softmax_cross_entropy(logits, y, smoothing)
        if np.min(np.abs(d)) > floor:
            return logits, y
    raise AssertionError("no well-conditioned draw found")


@pytest.mark.parametrize("N,K,smoothing", CE_CASES)
def test_softmax_ce_gradcheck(threads, N, K, smoothing):
    rng = np.random.default_rng(N * 100 + K)
    logits, y = well_conditioned_logits(rng, N, K, smoothing)
    loss, dlogits = softmax_cross_entropy(logits.copy(), y, smoothing)
    num = numeric_grad(lambda: softmax_cross_entropy(logits, y, smoothing)[0], logits)
    label = "softmax-CE dlogits" + (" (smoothing)" if smoothing else "")
    check_grad(label, dlogits, num)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,K,smoothing", [
    (6, 5, 0.0), (8, 10, 0.0), (7, 3, 0.1), (5, 4, 0.25), (1, 2, 0.0), (12, 26, 0.1),
])
def test_softmax_ce_matches_reference(threads, dtype, N, K, smoothing):
    rng = np.random.default_rng(N * 100 + K)
    logits = (3 * rng.standard_normal((N, K))).astype(dtype)
    y = rng.integers(0, K, N)
    loss, dlogits = softmax_cross_entropy(logits, y, smoothing)
    assert isinstance(loss, float)
    assert dlogits.dtype == dtype and dlogits.shape == (N, K)
    want_loss, want_d = ref.softmax_cross_entropy(logits.astype(np.float64), y, smoothing)
    assert abs(loss - want_loss) <= RTOL[dtype] * abs(want_loss)
    assert_close(dlogits, want_d, RTOL[dtype], "dlogits")


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("N", [1, 2, 3, 5])
def test_softmax_ce_thread_counts(threads, N):
    rng = np.random.default_rng(N)
    logits = rng.standard_normal((N, 7))
    y = rng.integers(0, 7, N)
    loss, d = softmax_cross_entropy(logits, y, 0.1)
    want_loss, want_d = ref.softmax_cross_entropy(logits, y, 0.1)
    assert loss == pytest.approx(want_loss, rel=1e-12)
    assert_close(d, want_d, 1e-12, "dlogits")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_softmax_ce_huge_logits_are_stable(dtype, smoothing):
    logits = np.array([[1e4, 0.0, -1e4],
                       [-1e4, 1e4, 1e4],
                       [1e4, 1e4, 1e4],
                       [-1e4, -1e4, -1e4]], dtype)
    y = np.array([0, 2, 1, 0])
    loss, d = softmax_cross_entropy(logits, y, smoothing)
    assert math.isfinite(loss)
    assert np.all(np.isfinite(d))
    want_loss, want_d = ref.softmax_cross_entropy(logits.astype(np.float64), y, smoothing)
    assert loss == pytest.approx(want_loss, rel=RTOL[dtype])
    assert_close(d, want_d, RTOL[dtype], "dlogits")
    if smoothing == 0.0:
        # Rows: ~0 (confident and right), log 2, log 3, log 3; mean over 4 rows.
        assert loss == pytest.approx((math.log(2) + 2 * math.log(3)) / 4, rel=1e-6)
        np.testing.assert_allclose(d[0], [0, 0, 0], atol=1e-7)

    # A confident wrong answer costs the logit gap, with no overflow.
    loss, d = softmax_cross_entropy(np.array([[1e4, -1e4]], dtype), np.array([1]), smoothing)
    assert math.isfinite(loss) and np.all(np.isfinite(d))
    assert loss == pytest.approx(2e4 * (1 - smoothing / 2), rel=1e-6)
    np.testing.assert_allclose(d[0], [1 - smoothing / 2, -(1 - smoothing / 2)], rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_ce_huge_random_logits(dtype):
    rng = np.random.default_rng(21)
    logits = (1e4 * rng.standard_normal((6, 5))).astype(dtype)
    y = rng.integers(0, 5, 6)
    loss, d = softmax_cross_entropy(logits, y)
    assert math.isfinite(loss) and np.all(np.isfinite(d))
    want_loss, want_d = ref.softmax_cross_entropy(logits.astype(np.float64), y)
    assert loss == pytest.approx(want_loss, rel=RTOL[dtype])
    assert_close(d, want_d, RTOL[dtype], "dlogits")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("K", [2, 3, 10, 100])
@pytest.mark.parametrize("value", [0.0, -7.5, 1e4])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_softmax_ce_equal_logits_give_log_k(dtype, K, value, smoothing):
    N = 3
    logits = np.full((N, K), value, dtype)
    y = np.arange(N) % K
    loss, d = softmax_cross_entropy(logits, y, smoothing)
    assert loss == pytest.approx(math.log(K), rel=1e-6 if dtype == np.float32 else 1e-12)
    target = np.full((N, K), smoothing / K)
    target[np.arange(N), y] += 1 - smoothing
    np.testing.assert_allclose(d, (1.0 / K - target) / N, rtol=1e-5, atol=1e-7)


def test_softmax_ce_is_a_mean_over_rows():
    rng = np.random.default_rng(22)
    logits = rng.standard_normal((5, 4))
    y = rng.integers(0, 4, 5)
    loss, d = softmax_cross_entropy(logits, y, 0.1)
    rows = [softmax_cross_entropy(logits[i:i + 1], y[i:i + 1], 0.1) for i in range(5)]
    assert loss == pytest.approx(np.mean([r[0] for r in rows]), rel=1e-13)
    np.testing.assert_allclose(d, np.concatenate([r[1] for r in rows]) / 5, rtol=1e-13)
    # Each row of the gradient sums to zero (the target sums to one).
    np.testing.assert_allclose(d.sum(axis=1), 0, atol=1e-15)
    # Doubling the batch leaves the loss alone and halves the gradient.
    loss2, d2 = softmax_cross_entropy(np.concatenate([logits, logits]), np.concatenate([y, y]), 0.1)
    assert loss2 == pytest.approx(loss, rel=1e-13)
    np.testing.assert_allclose(d2[:5], d / 2, rtol=1e-13)


@pytest.mark.parametrize("ydtype", [np.int64, np.int32, np.uint8, np.int8])
def test_softmax_ce_label_dtypes(ydtype):
    logits = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    want, dwant = softmax_cross_entropy(logits, np.array([2, 0]))
    got, dgot = softmax_cross_entropy(logits, np.array([2, 0], ydtype))
    assert got == want
    np.testing.assert_array_equal(dgot, dwant)


def test_softmax_ce_does_not_modify_inputs():
    logits = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    y = np.array([2, 0])
    saved = logits.copy(), y.copy()
    softmax_cross_entropy(logits, y, 0.1)
    np.testing.assert_array_equal(logits, saved[0])
    np.testing.assert_array_equal(y, saved[1])


_logits = np.zeros((3, 4))

CE_BAD = [
    pytest.param(_logits, np.array([0, 1, 4]), 0.0, ValueError, id="label-equals-K"),
    pytest.param(_logits, np.array([0, -1, 2]), 0.0, ValueError, id="label-negative"),
    pytest.param(_logits, np.array([0, 1, 100]), 0.0, ValueError, id="label-way-out"),
    pytest.param(_logits, np.array([0.0, 1.0, 2.0]), 0.0, ValueError, id="labels-float"),
    pytest.param(_logits, np.array([True, False, True]), 0.0, ValueError, id="labels-bool"),
    pytest.param(_logits, np.array([0, 1]), 0.0, ValueError, id="labels-too-few"),
    pytest.param(_logits, np.array([[0, 1, 2]]), 0.0, ValueError, id="labels-2d"),
    pytest.param(_logits[0], np.array([0]), 0.0, ValueError, id="logits-1d"),
    pytest.param(_logits[None], np.array([0, 1, 2]), 0.0, ValueError, id="logits-3d"),
    pytest.param(_logits.astype(np.int64), np.array([0, 1, 2]), 0.0, TypeError, id="logits-int"),
    pytest.param(_logits, np.array([0, 1, 2]), 1.0, ValueError, id="smoothing-1"),
    pytest.param(_logits, np.array([0, 1, 2]), -0.1, ValueError, id="smoothing-negative"),
    pytest.param(np.zeros((0, 4)), np.zeros(0, np.int64), 0.0, ValueError, id="empty-batch"),
]


@pytest.mark.parametrize("logits,y,smoothing,exc", CE_BAD)
def test_softmax_ce_rejects(logits, y, smoothing, exc):
    with pytest.raises(exc):
        softmax_cross_entropy(logits, y, smoothing)
