"""The exponential moving average of the weights (nn/ema.py): its sums, and
that validation, checkpoints and resume use it as they should."""

import numpy as np
import pytest

from nnlab.data.text import Vocab
from nnlab.nn.ema import WeightAverage, decay_product, step_decay, swapped
from nnlab.nn.lm_data import evaluate_lm
from nnlab.nn.train_charlm import CharLMConfig, CharLMTrainer

TEXT = "the quick brown fox jumps over the lazy dog; " * 40


def test_average_matches_the_definition():
    """After t updates: sum_i (1 - d) d^(t - i) p_i / (1 - d^t), in float64."""
    rng = np.random.default_rng(0)
    params = {"w": np.zeros((3, 4)), "b": np.zeros(5)}
    avg = WeightAverage(params, 0.9, warmup=False)
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


@pytest.mark.parametrize("t", [1, 2, 7, 30])
def test_growing_window_matches_its_definition(t):
    """With the window growing, update i uses d_i = min(d, (1 + i) / (10 + i)):
    the average is sum_i (1 - d_i) prod_{j > i} d_j p_i / (1 - prod_i d_i)."""
    rng = np.random.default_rng(1)
    params = {"w": np.zeros((2, 3))}
    avg = WeightAverage(params, 0.8)
    seen = []
    for _ in range(t):
        params["w"][...] = rng.standard_normal((2, 3))
        seen.append(params["w"].copy())
        avg.update(params)
    d = [min(0.8, (1 + i) / (10 + i)) for i in range(t)]
    want = sum((1 - d[i]) * np.prod(d[i + 1:]) * seen[i] for i in range(t))
    np.testing.assert_allclose(avg.weights()["w"], want / (1 - np.prod(d)), rtol=1e-12)


def test_decay_product_is_the_product_of_the_step_decays():
    for decay in (0.5, 0.9, 0.995):
        for t in (0, 1, 5, 100, 2000, 2500):
            want = np.prod([step_decay(decay, i, True) for i in range(t)])
            assert decay_product(decay, t, True) == pytest.approx(want, rel=1e-9, abs=1e-300)
        assert decay_product(decay, 12, False) == pytest.approx(decay ** 12)


def test_window_grows_to_the_cap():
    assert step_decay(0.995, 0, True) == pytest.approx(0.1)
    assert step_decay(0.995, 650, True) == pytest.approx(651 / 660)
    assert step_decay(0.995, 10 ** 6, True) == 0.995
    assert step_decay(0.995, 0, False) == 0.995


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
    assert meta["average"] == {"decay": 0.9, "t": 12, "warmup": True}
    for k in t.model.params:
        np.testing.assert_array_equal(arrays[f"params/{k}"], use[k])        # the model to use
        np.testing.assert_array_equal(arrays[f"raw/{k}"], t.model.params[k])  # to train on


def test_without_an_average_the_raw_weights_are_used():
    t = tiny(steps=4, ema=0.0)
    t.run()
    assert t.weights() is t.model.params
    meta, arrays = t.state_dict()
    assert "average" not in meta and not any(k.startswith(("raw/", "average/")) for k in arrays)


def test_checkpoint_without_warmup_keeps_its_constant_decay(tmp_path):
    """A checkpoint written before the window grew (no "warmup" entry) goes on
    averaging with the constant decay it started with."""
    from nnlab.nn.checkpoint import load_checkpoint, save_checkpoint

    t = tiny(steps=6, eval_every=6, ema=0.9)
    t.run()
    meta, arrays = t.state_dict()
    del meta["average"]["warmup"]
    path = tmp_path / "old.npz"
    save_checkpoint(str(path), meta, arrays)
    meta, arrays = load_checkpoint(str(path))
    vocab = Vocab.from_text(TEXT)
    back = CharLMTrainer.resume(meta, arrays, vocab.encode(TEXT), vocab,
                                CharLMConfig(hidden=16, layers=1, batch_size=4, seq_len=8,
                                             embed=8, steps=6, ema=0.9))
    assert back.average.warmup is False and back.average.t == 6
