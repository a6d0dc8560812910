"""The sequence models (nn/seqnets.py): whole-model float64 gradient checks,
and agreement with a plain-numpy forward pass."""

import numpy as np
import pytest

from gradcheck import check_smooth, smooth_grad
from nnlab.kernels import softmax_cross_entropy
from nnlab.nn.seqnets import Classifier, Seq2Seq, Tagger
from reference_recurrent import sigmoid


def check_all(label, m, loss, backward):
    backward()
    for key, p in m.params.items():
        check_smooth(f"{label} {key}", m.grads[key], smooth_grad(loss, p))


@pytest.mark.parametrize("cell, embed, layers", [("lstm", 3, 2), ("rnn", 0, 2), ("lstm", 0, 1)])
def test_classifier_gradients(cell, embed, layers):
    m = Classifier(5, 3, cell=cell, hidden=4, layers=layers, embed=embed, dtype=np.float64)
    m.init(np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 5, (4, 3)), rng.integers(0, 3, 3)

    def loss():
        return softmax_cross_entropy(m.forward(x), y)[0]

    def backward():
        m.backward(softmax_cross_entropy(m.forward(x), y)[1])
    check_all(f"classifier {cell}", m, loss, backward)


@pytest.mark.parametrize("cell, bidirectional", [("lstm", True), ("rnn", True), ("lstm", False)])
def test_tagger_gradients(cell, bidirectional):
    m = Tagger(6, 3, cell=cell, hidden=4, layers=2, embed=3, bidirectional=bidirectional,
               dtype=np.float64)
    m.init(np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 6, (5, 2)), rng.integers(0, 3, (5, 2))

    def loss():
        return softmax_cross_entropy(m.forward(x), y.reshape(-1))[0]

    def backward():
        m.backward(softmax_cross_entropy(m.forward(x), y.reshape(-1))[1])
    check_all(f"tagger {cell} bi={bidirectional}", m, loss, backward)


@pytest.mark.parametrize("cell, embed", [("lstm", 3), ("rnn", 3), ("lstm", 0)])
def test_seq2seq_gradients(cell, embed):
    """Through the decoder, its start state and the whole encoder; the padded
    positions (mask False) reach neither the loss nor the gradients."""
    m = Seq2Seq(5, 7, cell=cell, hidden=4, layers=2, embed=embed, dtype=np.float64)
    m.init(np.random.default_rng(0))
    rng = np.random.default_rng(1)
    src, dec_in = rng.integers(0, 5, (3, 2)), rng.integers(0, 7, (4, 2))
    mask = np.array([[1, 1], [1, 1], [1, 0], [0, 0]], bool)
    y = rng.integers(0, 7, int(mask.sum()))

    def loss():
        return softmax_cross_entropy(m.forward(src, dec_in, mask), y)[0]

    def backward():
        m.backward(softmax_cross_entropy(m.forward(src, dec_in, mask), y)[1])
    check_all(f"seq2seq {cell}", m, loss, backward)
    # What the padding holds does not matter.
    other = dec_in.copy()
    other[3] = (other[3] + 1) % 7
    np.testing.assert_array_equal(m.forward(src, dec_in, mask), m.forward(src, other, mask))


def lstm_ref(P, prefix, x_ids, h, c, layers):
    """Plain numpy: embedding (if any), then LSTM layers; returns top hs, final (h, c)s."""
    inp = P[prefix + "emb"][x_ids] if prefix + "emb" in P else None
    finals, T = [], x_ids.shape[0]
    for l in range(layers):
        Wx, Wh, b = P[f"{prefix}l{l}.Wx"], P[f"{prefix}l{l}.Wh"], P[f"{prefix}l{l}.b"]
        H = Wh.shape[0]
        hs, hl, cl = [], h[l], c[l]
        for t in range(T):
            xin = Wx[x_ids[t]] if (l == 0 and inp is None) else (inp[t] @ Wx)
            a = xin + hl @ Wh + b
            i, f, g, o = (sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]),
                          sigmoid(a[:, 3 * H:]))
            cl = f * cl + i * g
            hl = o * np.tanh(cl)
            hs.append(hl)
        inp = np.stack(hs)
        finals.append((hl, cl))
    return inp, finals


def test_seq2seq_matches_a_numpy_reference_and_steps_like_it_trains():
    m = Seq2Seq(5, 6, hidden=3, layers=2, embed=2, dtype=np.float64).init(np.random.default_rng(3))
    P, rng = m.params, np.random.default_rng(4)
    src, dec_in = rng.integers(0, 5, (4, 2)), rng.integers(0, 6, (3, 2))
    zeros = [np.zeros((2, 3))] * 2
    _, enc_final = lstm_ref(P, "enc.", src, zeros, zeros, 2)
    top, _ = lstm_ref(P, "dec.", dec_in, [s[0] for s in enc_final], [s[1] for s in enc_final], 2)
    want = top.reshape(6, 3) @ P["out.w"] + P["out.b"]
    mask = np.ones((3, 2), bool)
    np.testing.assert_allclose(m.forward(src, dec_in, mask), want, rtol=1e-12, atol=1e-12)
    # One step at a time from the encoder's state gives the same logits.
    state = m.encode(src)
    for t in range(3):
        logits, state = m.step(dec_in[t], state)
        np.testing.assert_allclose(logits, want[2 * t:2 * t + 2], rtol=1e-12, atol=1e-12)


def test_classifier_and_tagger_match_numpy_references():
    m = Classifier(5, 3, hidden=3, layers=2, embed=2, dtype=np.float64)
    m.init(np.random.default_rng(5))
    x = np.random.default_rng(6).integers(0, 5, (4, 2))
    zeros = [np.zeros((2, 3))] * 2
    _, finals = lstm_ref(m.params, "enc.", x, zeros, zeros, 2)
    np.testing.assert_allclose(m.forward(x), finals[-1][0] @ m.params["out.w"] + m.params["out.b"],
                               rtol=1e-12, atol=1e-12)
    t = Tagger(5, 2, hidden=3, layers=1, embed=2, dtype=np.float64).init(np.random.default_rng(7))
    fwd, _ = lstm_ref(t.params, "enc.", x, zeros, zeros, 1)
    bwd, _ = lstm_ref(t.params, "bwd.", x[::-1], zeros, zeros, 1)
    top = np.concatenate([fwd, bwd[::-1]], axis=2).reshape(8, 6)
    np.testing.assert_allclose(t.forward(x), top @ t.params["out.w"] + t.params["out.b"],
                               rtol=1e-12, atol=1e-12)
