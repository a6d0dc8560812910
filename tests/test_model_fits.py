"""nn/footprint.py: the memory a training step takes, from the sizes alone,
against what numpy really allocates (tracemalloc), and without building the
network (issue 12, item 2)."""

import tracemalloc

import numpy as np
import pytest

from nnlab.kernels import softmax_cross_entropy
from nnlab.nn.charlm import CharLM
from nnlab.nn.cnn_models import build_cnn, cnn_units
from nnlab.nn.footprint import cnn_footprint, lm_footprint
from nnlab.nn.optim import Adam

CNNS = [("lenet5", {}), ("alexnet", {}), ("resnet", {"depth": 1, "width": 4}),
        ("resnet", {"depth": 3, "width": 4, "first_stride": 2})]


def peak_of(step):
    """Peak bytes allocated by the second call of ``step`` (the first warms up)."""
    step()
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("arch, args", CNNS)
def test_cnn_estimate_against_a_real_step(arch, args):
    rng = np.random.default_rng(0)
    model = build_cnn(arch, dict(args)).init(rng)
    model.rng = rng
    opt = Adam(model.params)
    x = rng.standard_normal((16, 1, 28, 28)).astype(np.float32)
    y = np.arange(16) % 10

    def step():
        _, d = softmax_cross_entropy(model.forward(x, train=True), y)
        model.backward(d)
        opt.step(model.params, model.grads, 1e-3)

    estimate = cnn_footprint(arch, 16, eval_batch=1, **args)
    assert estimate.params == model.num_params()
    assert 1.0 <= estimate.activations / peak_of(step) <= 2.5
    evaluation = cnn_footprint(arch, 1, eval_batch=64, **args)
    xe = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    assert 1.0 <= evaluation.activations / peak_of(lambda: model.forward(xe)) <= 4.0


@pytest.mark.parametrize("cell, hidden, layers, embed, vocab", [
    ("lstm", 32, 2, 8, 40), ("rnn", 32, 2, 0, 40), ("lstm", 16, 1, 4, 2000)])
def test_lm_estimate_against_a_real_step(cell, hidden, layers, embed, vocab):
    rng = np.random.default_rng(0)
    model = CharLM(vocab, cell, hidden, layers, 0.1, embed).init(rng)
    opt = Adam(model.params)
    x = rng.integers(0, vocab, (16, 8))
    state = model.zero_state(8)

    def step():
        logits, _ = model.forward(x, state, train=True, rng=rng)
        _, d = softmax_cross_entropy(logits, x.reshape(-1))
        model.backward(d)
        opt.step(model.params, model.grads, 1e-3)

    estimate = lm_footprint(vocab, cell, hidden, layers, embed, batch=8, seq_len=16)
    assert estimate.params == model.num_params()
    assert 1.0 <= estimate.activations / peak_of(step) <= 2.5


def test_a_deep_resnet_is_sized_from_a_few_blocks():
    """100,000 blocks per stage: two of each stage stand for all of them, so
    the estimate takes no time and builds nothing."""
    units = cnn_units("resnet", {"depth": 100_000, "width": 4})
    assert len(units) <= 12 and sum(n for _, n in units) == 3 * 100_000 + 5
    small = cnn_footprint("resnet", 8, depth=3, width=4)
    assert small.params == build_cnn("resnet", {"depth": 3, "width": 4}).num_params()
    huge = cnn_footprint("resnet", 8, depth=100_000, width=4)
    assert huge.params > 30_000 * small.params
