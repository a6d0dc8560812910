"""The exponential moving average of the weights (nn/ema.py): its sums, and
that validation, checkpoints and resume use it as they should."""

import numpy as np
import pytest

from nnlab.data.text import Vocab
from nnlab.nn.ema import WeightAverage, swapped
from nnlab.nn.lm_data import evaluate_lm
from nnlab.nn.train_charlm import CharLMConfig, CharLMTrainer

TEXT = "the quick brown fox jumps over the lazy dog; " * 40


def test_average_matches_the_definition():
    """After t updates: sum_i (1 - d) d^(t - i) p_i / (1 - d^t), in float64."""
    rng = np.random.default_rng(0)
    params = {"w": np.zeros((3, 4)), "b": np.zeros(5)}
    avg = WeightAverage(params, 0.9)
    seen = []
    for _ in range(7):
        for p in params.values():
            p[...] = rng.standard_normal(p.shape)
        seen.append({k: p.copy() for k, p in params.items()})
        avg.update(params)
    t = len(seen)
    for k in params:
        want = sum((1 - 0.9) * 0.9 ** (t - 1 - i) * s[k] for i, s in enumerate(seen))
        np.testing.assert_allclose(avg.weights()[k], want / (1 - 0.9 ** t), rtol=1e-12)


def test_first_average_is_the_weights_themselves():
    params = {"w": np.arange(6.0).reshape(2, 3).astype(np.float32)}
    avg = WeightAverage(params, 0.995)
    avg.update(params)
    np.testing.assert_allclose(avg.weights()["w"], params["w"], rtol=1e-6)
    with pytest.raises(ValueError):
        WeightAverage(params, 1.0)


def test_swapped_puts_the_weights_back():
    params = {"w": np.ones(3)}
    with swapped(params, {"w": np.full(3, 7.0)}) as inside:
        assert inside["w"][0] == 7.0
    np.testing.assert_array_equal(params["w"], np.ones(3))


def tiny(**kw):
    vocab = Vocab.from_text(TEXT)
    config = CharLMConfig(hidden=16, layers=1, batch_size=4, seq_len=8, embed=8, **kw)
    return CharLMTrainer(config, vocab.encode(TEXT), vocab)


def test_validation_scores_the_average_and_checkpoints_hold_both():
    t = tiny(steps=12, eval_every=12, ema=0.9)
    t.run()
    use = t.weights()
    assert not np.array_equal(use["out.w"], t.model.params["out.w"])
    with swapped(t.model.params, use):
        want = evaluate_lm(t.model, t.val_ids, t.batch, t.seq_len)
    assert t.history[-1]["val_loss"] == pytest.approx(want, rel=1e-12)
    meta, arrays = t.state_dict()
    assert meta["average"] == {"decay": 0.9, "t": 12}
    for k in t.model.params:
        np.testing.assert_array_equal(arrays[f"params/{k}"], use[k])        # the model to use
        np.testing.assert_array_equal(arrays[f"raw/{k}"], t.model.params[k])  # to train on


def test_without_an_average_the_raw_weights_are_used():
    t = tiny(steps=4, ema=0.0)
    t.run()
    assert t.weights() is t.model.params
    meta, arrays = t.state_dict()
    assert "average" not in meta and not any(k.startswith(("raw/", "average/")) for k in arrays)
