"""The one-to-many reader (nn/reader.py, nn/attention.py): whole-model
float64 gradient checks through the decoder, the attention, the bridge and
the CNN encoder, and agreement with a plain-numpy forward pass."""

import numpy as np
import pytest

from gradcheck import check_smooth, grid, smooth_grad
from nnlab.kernels import softmax_cross_entropy
from nnlab.nn.decode import beam_from, greedy_from
from nnlab.nn.reader import END, START, VOCAB, Reader, teacher_batch
from reference_recurrent import sigmoid


def tiny(batchnorm=False, layers=1):
    m = Reader(height=8, width=12, channels=(2, 3, 2), hidden=3, layers=layers, embed=2,
               batchnorm=batchnorm, dtype=np.float64)
    return m.init(np.random.default_rng(0))


def batch(m, rng, labels):
    x = grid(rng, (len(labels),) + m.in_shape)
    return (x,) + teacher_batch(labels)


@pytest.mark.parametrize("batchnorm, layers", [(False, 1), (True, 2)])
def test_gradients_through_decoder_attention_and_encoder(batchnorm, layers):
    m = tiny(batchnorm, layers)
    rng = np.random.default_rng(1)
    x, dec_in, mask, y = batch(m, rng, [np.array([3, 1]), np.array([7]), np.array([0, 9, 4])])

    def loss():
        return softmax_cross_entropy(m.forward(x, dec_in, mask, train=True), y)[0]

    m.backward(softmax_cross_entropy(m.forward(x, dec_in, mask, train=True), y)[1])
    for key, p in m.params.items():
        check_smooth(f"reader bn={batchnorm} {key}", m.grads[key], smooth_grad(loss, p))


def test_teacher_batch_shifts_the_digits_and_masks_the_padding():
    dec_in, mask, y = teacher_batch([np.array([3, 1]), np.array([7])])
    assert dec_in[:, 0].tolist() == [START, 5, 3] and dec_in[:2, 1].tolist() == [START, 9]
    assert mask.T.tolist() == [[True, True, True], [True, True, False]]
    # time-major: step 0 of both, step 1 of both, step 2 of the first
    assert y.tolist() == [5, 9, 3, END, END]


def reference_logits(m, x, dec_in):
    """Plain numpy: convolutions by loops, the LSTM and the attention by formulas."""
    P = m.params
    a = x
    for i in (1, 2, 3):
        w, b = P[f"conv{i}.w"], P[f"conv{i}.b"]
        N, C, H, W = a.shape
        pad = np.pad(a, ((0, 0), (0, 0), (1, 1), (1, 1)))
        out = np.zeros((N, w.shape[0], H, W))
        for r in range(H):
            for c in range(W):
                out[:, :, r, c] = np.einsum("ncij,fcij->nf", pad[:, :, r:r + 3, c:c + 3], w) + b
        out = np.maximum(out, 0)
        a = out[:, :, :H // 2 * 2, :W // 2 * 2].reshape(N, -1, H // 2, 2, W // 2, 2).max((3, 5))
    N, C, FH, FW = a.shape
    z = a.reshape(N, -1) @ P["bridge.w"] + P["bridge.b"]
    H = m.H
    h, c = np.tanh(z[:, :H]), z[:, H:2 * H]
    cols = a.transpose(0, 3, 1, 2).reshape(N, FW, C * FH)
    keys = cols @ P["att.Wk"] + P["att.pos"]
    out = []
    for t in range(dec_in.shape[0]):
        g = P["dec.emb"][dec_in[t]] @ P["dec.l0.Wx"] + h @ P["dec.l0.Wh"] + P["dec.l0.b"]
        i, f, u, o = (g[:, k * H:(k + 1) * H] for k in range(4))  # PyTorch's order
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(u)
        h = sigmoid(o) * np.tanh(c)
        e = np.einsum("nh,nsh->ns", h, keys) / np.sqrt(H)
        w = np.exp(e - e.max(1, keepdims=True))
        w /= w.sum(1, keepdims=True)
        ctx = np.einsum("ns,nsd->nd", w, cols)
        out.append(np.concatenate([h, ctx], 1) @ P["out.w"] + P["out.b"])
    return np.stack(out)


def test_matches_a_numpy_reference_and_steps_like_it_trains():
    m = tiny()
    rng = np.random.default_rng(2)
    x, dec_in, mask, _ = batch(m, rng, [np.array([3, 1, 4]), np.array([1, 5, 9])])
    ref = reference_logits(m, x, dec_in)
    np.testing.assert_allclose(m.forward(x, dec_in, mask), ref[mask], rtol=1e-10, atol=1e-12)
    state = m.encode(x)
    for t in range(dec_in.shape[0]):
        logits, state = m.step(dec_in[t].astype(np.int32), state)
        np.testing.assert_allclose(logits, ref[t], rtol=1e-10, atol=1e-12)


def test_greedy_and_beam_read_what_the_logits_say():
    m = tiny()
    x = grid(np.random.default_rng(3), (4,) + m.in_shape)
    greedy = greedy_from(m, m.encode(x), 4, 6)
    for n in range(4):
        seq, score = beam_from(m, m.encode(x[n:n + 1]), 6, 1)
        assert seq == greedy[n]
        assert all(2 <= t < VOCAB for t in seq)
        # a wider beam finds a hypothesis at least as likely
        assert beam_from(m, m.encode(x[n:n + 1]), 6, 3)[1] >= score - 1e-12
