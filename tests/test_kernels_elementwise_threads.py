"""The elementwise kernels (ReLU, dropout, Adam, SGD, the embedding gather,
softmax cross-entropy) on arrays large enough to be split between threads,
so the pooled float32 path runs, not only the one-call path that the small
arrays of the other kernel tests take. The threshold
(kernels/_split.py: ELEMENTS_PER_THREAD, 2^20, and loss.py's EXPS_PER_THREAD)
is lowered to 4,096 here,
so that the arrays stay small, also without the JIT.

Each block writes its own elements, so 2 threads must give the bits that
1 thread gives, and both must agree with plain numpy.
"""

import numpy as np
import pytest

import reference_optim as ref
from gradcheck import numba_threads
from nnlab.kernels import dropout_backward, dropout_forward, embedding_forward
from nnlab.kernels import relu_backward, relu_forward
from nnlab.kernels import activation, dropout, embedding, loss, optim
from nnlab.kernels._split import threads_for
from nnlab.kernels.optim import adam_step, sgd_step

PER_THREAD = 4096
# Odd, so the two blocks differ in size; over two threads' minimum.
M = 2 * PER_THREAD + 1001


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch):
    for module in (activation, dropout, embedding, optim):
        monkeypatch.setattr(module, "ELEMENTS_PER_THREAD", PER_THREAD)
    monkeypatch.setattr(loss, "EXPS_PER_THREAD", PER_THREAD)


def per_threads(fn):
    """fn() with 1 and with 2 Numba threads."""
    out = []
    for n in (1, 2):
        with numba_threads(n):
            out.append(fn())
    return out


def test_large_arrays_are_split():
    with numba_threads(2) as n:
        if n < 2:
            pytest.skip("Numba has a single thread here")
        assert threads_for(M, PER_THREAD) == 2
        assert threads_for(PER_THREAD, PER_THREAD) == 1


def test_relu_threads():
    x = np.random.default_rng(0).standard_normal(M).astype(np.float32)
    dout = np.random.default_rng(1).standard_normal(M).astype(np.float32)

    def run():
        out, cache = relu_forward(x)
        return out, relu_backward(dout, cache)

    (o1, d1), (o2, d2) = per_threads(run)
    np.testing.assert_array_equal(o1, np.maximum(x, 0))
    np.testing.assert_array_equal(d1, np.where(x > 0, dout, 0))
    np.testing.assert_array_equal(o2, o1)
    np.testing.assert_array_equal(d2, d1)


def test_dropout_threads():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((7, M // 7)).astype(np.float32)
    u = rng.random(x.shape, dtype=np.float32)
    p = 0.3
    scale = np.float32(1.0 / (1.0 - p))

    def run():
        out, cache = dropout_forward(x, p, u)
        return out, dropout_backward(x, cache)

    (o1, d1), (o2, d2) = per_threads(run)
    expected = np.where(u >= np.float32(p), x * scale, np.float32(0))
    np.testing.assert_array_equal(o1, expected)
    np.testing.assert_array_equal(d1, expected)
    np.testing.assert_array_equal(o2, o1)
    np.testing.assert_array_equal(d2, d1)


@pytest.mark.parametrize("decay", [0.0, 0.01])
def test_adam_threads(decay):
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal(M).astype(np.float32)
    gs = [rng.standard_normal(M).astype(np.float32) for _ in range(3)]

    def run():
        p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
        for t, g in enumerate(gs, 1):
            adam_step(p, g, m, v, 1e-2, t, decay=decay)
        return p, m, v

    one, two = per_threads(run)
    p, m, v = p0.astype(np.float64), np.zeros(M), np.zeros(M)
    for t, g in enumerate(gs, 1):
        p, m, v = ref.adam_step(p, g.astype(np.float64), m, v, 1e-2, t, decay=decay)
    np.testing.assert_allclose(one[0], p, rtol=2e-5, atol=2e-5)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_threads(nesterov):
    rng = np.random.default_rng(4)
    p0 = rng.standard_normal(M).astype(np.float32)
    gs = [rng.standard_normal(M).astype(np.float32) for _ in range(3)]

    def run():
        p, buf = p0.copy(), np.zeros_like(p0)
        for g in gs:
            sgd_step(p, g, buf, 0.1, momentum=0.9, decay=1e-3, nesterov=nesterov)
        return p, buf

    one, two = per_threads(run)
    p, buf = p0.astype(np.float64), None
    for g in gs:
        p, buf = ref.sgd_step(p, g.astype(np.float64), buf, 0.1, momentum=0.9, decay=1e-3,
                              nesterov=nesterov)
    np.testing.assert_allclose(one[0], p, rtol=1e-5, atol=1e-5)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(b, a)


def test_gather_threads():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((50, 64)).astype(np.float32)
    ids = rng.integers(0, 50, size=(M // 64, 3))
    one, two = per_threads(lambda: embedding_forward(ids, w)[0])
    np.testing.assert_array_equal(one, w[ids])
    np.testing.assert_array_equal(two, one)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_softmax_cross_entropy_threads(smoothing):
    from nnlab.kernels import softmax_cross_entropy

    rng = np.random.default_rng(6)
    N, K = 3001, 7  # 21,007 exponentials: more than two threads' (lowered) minimum
    logits = rng.standard_normal((N, K)).astype(np.float32) * 3
    y = rng.integers(0, K, N)
    one, two = per_threads(lambda: softmax_cross_entropy(logits, y, smoothing))
    z = logits.astype(np.float64)
    logp = z - z.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    target = np.full((N, K), smoothing / K)
    target[np.arange(N), y] += 1 - smoothing
    assert abs(one[0] - float(-(target * logp).sum(axis=1).mean())) < 1e-5
    np.testing.assert_allclose(one[1], (np.exp(logp) - target) / N, atol=1e-7)
    assert two[0] == one[0]
    np.testing.assert_array_equal(two[1], one[1])
