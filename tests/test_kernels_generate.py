"""nnlab.kernels.generate splits a step's hidden units into blocks, one per
thread, that meet once a layer inside one kernel call: whatever the number
of blocks and of threads running them, the characters, states and scores
come out bit for bit the same, and they match a plain numpy step."""

import numpy as np
import pytest

from nnlab.kernels import generate as g
from nnlab.nn.sample import pick, step

V, H, L = 7, 20, 2


def weights(cell, rng):
    G = 4 * H if cell == "lstm" else H
    f = np.float32

    def w(*shape, scale=0.3):
        return (rng.standard_normal(shape) * scale).astype(f)
    return w(V, G), w(L - 1, H, G), w(L, H, G), w(L, G, scale=0.1), w(H, V), w(V, scale=0.1)


def run(packed, cell, n, u, feed_first=(1, 2, 3), **kw):
    h, c = np.zeros((L, H), np.float32), np.zeros((L, H), np.float32)
    logits = np.zeros(V, np.float32)
    g.feed(np.array(feed_first), packed, h, c, cell == "lstm", logits)
    ids = g.generate(n, u, kw.get("temperature", 1.0), kw.get("top_k", 0),
                     kw.get("greedy", False), packed, h, c, cell == "lstm", logits)
    return ids, h, c, logits


def numpy_run(W, cell, n, u, feed_first=(1, 2, 3)):
    """The same model stepped by nnlab.nn.sample's plain-numpy step and
    draw, in float64 (so with the exact tanh and sigmoid), on the same uniforms."""
    W = tuple(a.astype(np.float64) for a in W)
    h, c, logits = np.zeros((L, H)), np.zeros((L, H)), np.zeros(V)
    for x in feed_first:
        step(x, W, h, c, cell == "lstm", logits)
    ids = []
    for k in range(n):
        ids.append(pick(logits, 1.0, 0, False, u[k]))
        step(ids[-1], W, h, c, cell == "lstm", logits)
    return np.array(ids), h, c, logits


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_any_split_on_any_threads_gives_the_same_bits(cell):
    W = weights(cell, np.random.default_rng(0))
    n = g.THREADS_FROM + 40  # long enough to run on threads of their own
    u = np.random.default_rng(1).random(n)
    prime = tuple(range(V)) * 6  # a feed long enough for threads too
    base = run(g.pack(W, 1), cell, n, u, prime)
    for nt in (2, 3, 6):  # 6: 20 units in blocks of 4, the last of them empty
        threaded = run(g.pack(W, nt), cell, n, u, prime)
        for a, b in zip(base, threaded):
            assert np.array_equal(a, b), nt
    # Short calls run every block on the calling thread: the same bits again.
    few = g.pack(W, 2)
    h, c = np.zeros((L, H), np.float32), np.zeros((L, H), np.float32)
    logits = np.zeros(V, np.float32)
    for x in prime:
        g.feed(np.array([x]), few, h, c, cell == "lstm", logits)
    ids = np.concatenate([g.generate(1, u[k:k + 1], 1.0, 0, False, few, h, c, cell == "lstm",
                                     logits) for k in range(n)])
    for a, b in zip(base, (ids, h, c, logits)):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_matches_a_numpy_reference(cell):
    W = weights(cell, np.random.default_rng(3))
    n = 60
    u = np.random.default_rng(4).random(n)
    ids, h, c, logits = run(g.pack(W, 2), cell, n, u)
    ref_ids, ref_h, ref_c, ref_logits = numpy_run(W, cell, n, u)
    # float32 sums and the float32 tanh approximation (4e-7) against float64.
    assert np.array_equal(ids, ref_ids)
    np.testing.assert_allclose(h, ref_h, atol=2e-5)
    np.testing.assert_allclose(logits, ref_logits, atol=2e-5)
    if cell == "lstm":
        np.testing.assert_allclose(c, ref_c, atol=2e-5)


def test_pack_puts_each_units_gate_columns_in_its_block():
    W = weights("lstm", np.random.default_rng(5))
    Wp, X0p, bp, _, _ = g.pack(W, 3)
    per = 7  # ceil(20 / 3); the last block holds units 14..19
    Wx0, WxR, Wh, b = W[:4]
    for t, (u0, nu) in enumerate([(0, 7), (7, 7), (14, 6)]):
        for gate in range(4):
            cols = slice(gate * H + u0, gate * H + u0 + nu)
            mine = slice(gate * per, gate * per + nu)
            assert np.array_equal(Wp[t, 1, :H, mine], WxR[0, :, cols])
            assert np.array_equal(Wp[t, :, H:, mine], Wh[:, :, cols])
            assert np.array_equal(X0p[t, :, mine], Wx0[:, cols])
            assert np.array_equal(bp[t, :, mine], b[:, cols])
            assert not Wp[t, :, :, gate * per + nu:(gate + 1) * per].any()
    assert not Wp[:, 0, :H].any()  # layer 0's input comes from X0p


def test_pack_refuses_weights_that_do_not_make_one_model():
    W = list(weights("lstm", np.random.default_rng(6)))
    W[1] = W[1][:, :, :H]  # layer 1's input weights for an RNN
    with pytest.raises(ValueError, match="do not make one model"):
        g.pack(tuple(W))
    W = list(weights("rnn", np.random.default_rng(6)))
    W[4] = W[4].astype(np.float64)
    with pytest.raises(TypeError, match="mixed types"):
        g.pack(tuple(W))
