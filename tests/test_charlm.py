"""The character model, its batching, evaluation, sampling and trainer."""

import json
import math

import numpy as np
import pytest

from gradcheck import check_smooth, smooth_grad
from nnlab.data.text import Vocab
from nnlab.kernels import softmax_cross_entropy
from nnlab.nn.charlm import CharLM, clip_grad_norm
from nnlab.nn.lm_data import Streams, evaluate_lm, fit_batch
from nnlab.nn.sample import Sampler
from nnlab.nn.train_charlm import CharLMConfig, CharLMTrainer, split_corpus


@pytest.mark.parametrize("cell, V, embed", [
    ("lstm", 5, 0), ("rnn", 5, 0),   # one-hot input
    ("lstm", 5, 3), ("rnn", 5, 3),   # an embedding; 6 ids > V: the (V, G) table is gathered
    ("lstm", 9, 3),                  # 6 ids < V: the embedded rows are multiplied
])
def test_model_gradients_match_central_differences(cell, V, embed):
    """The whole model, float64: input, 2 layers, projection, loss."""
    m = CharLM(V, cell=cell, hidden=4, layers=2, embed=embed, dtype=np.float64)
    m.init(np.random.default_rng(0))
    assert ("emb" in m.params) == bool(embed)
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, V, (3, 2)), rng.integers(0, V, (3, 2))
    state = [tuple(rng.standard_normal(a.shape) * 0.5 for a in s) for s in m.zero_state(2)]

    def loss():
        logits, _ = m.forward(x, state)
        return softmax_cross_entropy(logits, y.reshape(-1))[0]

    logits, _ = m.forward(x, state)
    _, dlogits = softmax_cross_entropy(logits, y.reshape(-1))
    m.backward(dlogits)
    for key, p in m.params.items():
        # Richardson-extrapolated, relative error above gradcheck's floor and
        # absolute below it: truncation O(eps**4), rounding ~1e-12.
        check_smooth(f"charlm {cell} V={V} embed={embed} {key}", m.grads[key],
                     smooth_grad(loss, p))


def test_dropout_is_used_in_training_only():
    m = CharLM(6, hidden=8, layers=2, dropout=0.5).init(np.random.default_rng(0))
    x = np.random.default_rng(1).integers(0, 6, (4, 3))
    a, _ = m.forward(x, m.zero_state(3))
    b, _ = m.forward(x, m.zero_state(3))
    c, _ = m.forward(x, m.zero_state(3), train=True, rng=np.random.default_rng(2))
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_state_carries_across_chunks():
    m = CharLM(7, hidden=6, layers=2).init(np.random.default_rng(0))
    x = np.random.default_rng(1).integers(0, 7, (8, 2))
    whole, _ = m.forward(x, m.zero_state(2))
    first, state = m.forward(x[:5], m.zero_state(2))
    second, _ = m.forward(x[5:], state)
    np.testing.assert_allclose(np.concatenate([first, second]), whole, atol=1e-5)


def test_clip_grad_norm_bounds_the_global_norm():
    grads = {"a": np.full(4, 3.0, np.float32), "b": np.full(9, 4.0 / 3.0, np.float32)}
    norm = clip_grad_norm(grads, 1.0)
    assert norm == pytest.approx(math.sqrt(36 + 16), rel=1e-6)
    after = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads.values()))
    assert after == pytest.approx(1.0, rel=1e-5)
    assert clip_grad_norm(grads, 0.0) == pytest.approx(after, rel=1e-5)  # 0: off


def test_streams_are_contiguous_and_chunks_continue():
    ids = np.arange(101)
    s = Streams(ids, batch=4, seq_len=5)
    assert s.L == 25 and s.chunks == 5
    x0, y0 = s.chunk(0)
    x1, _ = s.chunk(1)
    assert x0.shape == (5, 4)
    np.testing.assert_array_equal(x0[:, 1], np.arange(25, 30))   # stream 1 starts at L
    np.testing.assert_array_equal(y0, x0 + 1)                       # targets are the next id
    np.testing.assert_array_equal(x1[0], x0[-1] + 1)                # chunk 1 continues chunk 0


def test_fit_batch_shrinks_for_short_text():
    assert fit_batch(5, 32, 64) == (1, 4)
    assert fit_batch(1000, 32, 64) == (15, 64)
    assert fit_batch(10 ** 6, 32, 64) == (32, 64)


def test_evaluate_lm_counts_every_prediction_once():
    """A model that ignores its input predicts the unigram distribution it was
    given; its loss is then the cross-entropy of that distribution over all
    targets, which catches any target counted twice or left out."""
    V = 3
    m = CharLM(V, hidden=2, layers=1)
    for p in m.params.values():
        p[...] = 0
    m.params["out.b"][...] = np.log(np.array([0.5, 0.3, 0.2], np.float32))
    ids = np.random.default_rng(0).integers(0, V, 103)
    expect = -np.mean(np.log(np.array([0.5, 0.3, 0.2])[ids[1:]]))
    for batch, seq in [(4, 7), (1, 200), (32, 64), (5, 5)]:
        assert evaluate_lm(m, ids, batch, seq) == pytest.approx(expect, rel=1e-5)


def test_split_keeps_the_end_for_validation():
    ids = np.arange(1000)
    train, val = split_corpus(ids, 0.1)
    assert len(train) == 900 and val[0] == 900
    assert split_corpus(np.arange(50), 0.1) == (pytest.approx(np.arange(50)), None)


# Sampler(model, expected=...) steps in numpy below FUSED_FROM characters and
# with the fused kernel from there: the tests below run both.
BACKENDS = pytest.mark.parametrize("expected", [None, 1], ids=["fused", "numpy"])


@BACKENDS
def test_sampler_matches_the_batched_model(expected):
    """The one-character step gives the same scores as the training forward pass."""
    for cell, embed in (("lstm", 0), ("rnn", 0), ("lstm", 5), ("rnn", 7)):
        m = CharLM(9, cell=cell, hidden=16, layers=3, embed=embed).init(np.random.default_rng(0))
        ids = np.random.default_rng(1).integers(0, 9, 12)
        logits, _ = m.forward(ids[:, None], m.zero_state(1))
        s = Sampler(m, expected)
        s.feed(ids)
        np.testing.assert_allclose(s.logits, logits[-1], atol=1e-5)


@BACKENDS
def test_sampler_argmax_top_k_and_seed(expected):
    m = CharLM(9, hidden=16, layers=2).init(np.random.default_rng(0))

    def run(seed, **kw):
        s = Sampler(m, expected)
        s.feed(np.array([0]))
        return s.generate(200, np.random.Generator(np.random.PCG64(seed)), **kw)

    a, b = run(0, temperature=1.5), run(0, temperature=1.5)
    assert np.array_equal(a, b) and not np.array_equal(a, run(1, temperature=1.5))
    greedy = run(0, greedy=True)
    assert np.array_equal(greedy, run(5, greedy=True))
    # With top_k = 1 sampling is greedy whatever the draw.
    assert np.array_equal(run(3, temperature=2.0, top_k=1), greedy)
    # top_k = 2: each character is one of the two best after the previous one.
    s = Sampler(m, expected)
    s.feed(np.array([0]))
    rng = np.random.Generator(np.random.PCG64(4))
    for _ in range(50):
        best2 = set(np.argsort(s.logits)[-2:])
        assert s.generate(1, rng, temperature=5.0, top_k=2)[0] in best2


@BACKENDS
def test_low_temperature_approaches_argmax(expected):
    m = CharLM(9, hidden=16, layers=2).init(np.random.default_rng(0))
    s = Sampler(m, expected)
    s.feed(np.array([0]))
    greedy = s.generate(50, np.random.default_rng(0), greedy=True)
    s = Sampler(m, expected)
    s.feed(np.array([0]))
    cold = s.generate(50, np.random.default_rng(0), temperature=1e-4)
    assert np.array_equal(greedy, cold)


def tiny_trainer(text, **kw):
    vocab = Vocab.from_text(text)
    config = CharLMConfig(hidden=16, layers=2, batch_size=4, seq_len=8, **kw)
    return CharLMTrainer(config, vocab.encode(text), vocab)


def test_trainer_learns_hello():
    t = tiny_trainer("hello", steps=150, lr=1e-2)
    assert t.val_ids is None and (t.batch, t.seq_len) == (1, 4)
    assert any("too small for a validation split" in n for n in t.notes)
    final = t.run()
    assert final["train_loss"] < 0.05
    s = Sampler(t.model)
    s.feed(t.vocab.encode("h"))
    assert t.vocab.decode(s.generate(4, np.random.default_rng(0), greedy=True)) == "ello"


def test_trainer_validates_and_saves(tmp_path):
    text = "the quick brown fox jumps over the lazy dog. " * 20
    t = tiny_trainer(text, steps=12, eval_every=5)
    saved = []
    t.run(save=lambda tr, improved: saved.append((tr.step, improved)))
    assert [s for s, _ in saved] == [5, 10, 12]
    assert saved[0][1] is True  # the first validation is the best so far
    assert all(h["val_loss"] is not None for h in t.history)
    assert t.best_val == min(h["val_loss"] for h in t.history)


def test_time_limit_stops_training(fake_clock):
    """A clock that reads 0.1 s later at every reading (one per step, one per
    chunk validated): the 0.5 s limit stops the run after exactly five steps,
    on any machine."""
    fake_clock(0.1)
    t = tiny_trainer("abcdefgh" * 200, steps=10 ** 6, time_limit=0.5, val_frac=0)
    t.run()
    assert t.step == 5 and t.seconds == pytest.approx(0.5)
    assert t.history[-1]["step"] == t.step  # the final checkpoint at the stop


def test_time_limit_keeps_time_for_the_last_validation(fake_clock):
    """With a validation split, training stops early enough for the last
    validation (timed by a probe after the first step: 7 readings for its 160
    characters) to end within the limit: validating counts against it."""
    fake_clock(0.1)
    t = tiny_trainer("abcdefgh" * 200, steps=10 ** 6, time_limit=3.0)
    t.run()
    assert t.step == 12 and not t.cut_short
    assert t.history[-1]["step"] == 12 and t.history[-1]["val_loss"] is not None
    assert t.history[-1]["val_chars"] == 160
    assert t.seconds <= 3.0 + 1e-9


def test_time_limit_stretches_the_schedule(fake_clock):
    """With the time limit ending the run before --steps would, the learning
    rate decays by the clock: halfway through the time, halfway down."""
    fake_clock(0.1)
    t = tiny_trainer("abcdefgh" * 200, steps=1000, time_limit=1.0, lr=1e-2, min_lr_frac=0.0,
                     val_frac=0)
    t.run(stop=lambda: t.step >= 5)
    assert t.seconds == pytest.approx(0.5)
    assert t.progress() == pytest.approx(500)


def test_resume_continues_exactly():
    text = "to be or not to be, that is the question. " * 30
    whole = tiny_trainer(text, steps=20, eval_every=10, dropout=0.2)
    whole.run()
    part = tiny_trainer(text, steps=20, eval_every=10, dropout=0.2)
    snapshots = []

    def save(tr, improved):
        if tr.step == 10:
            meta, arrays = tr.state_dict()
            snapshots.append((json.loads(json.dumps(meta)), {k: v.copy() for k, v in arrays.items()}))

    part.run(save=save)
    meta, arrays = snapshots[0]
    vocab = Vocab.from_text(text)
    config = CharLMConfig(**meta["config"])
    resumed = CharLMTrainer.resume(meta, arrays, vocab.encode(text), vocab, config)
    assert resumed.step == 10
    resumed.run()
    for k, p in whole.model.params.items():
        assert np.array_equal(p, resumed.model.params[k]), k
    assert [h["val_loss"] for h in resumed.history] == [h["val_loss"] for h in whole.history]
