"""lstm_forward / lstm_backward as a cell: PyTorch's weight layout and gate
order i, f, g, o, saturated gates, and input validation (the gradient checks
and the step-by-step reference are in test_kernels_lstm.py)."""

import itertools

import numpy as np
import pytest

import reference_recurrent as ref
from gradcheck import assert_close
from nnlab.kernels import (
    lstm_backward,
    lstm_forward,
    lstm_recurrence_backward,
    lstm_recurrence_forward,
)
from recurrent import DTYPES, lstm_data, rand_data


# ================================================ PyTorch's layout and gate order

I, F, G, O = range(4)


def torch_weights(rng, D, H, scale=0.5):
    """weight_ih: (4H, D), weight_hh: (4H, H), bias_ih, bias_hh: (4H,) in
    PyTorch's layout; rows in blocks of H."""
    return (scale * rng.standard_normal((4 * H, D)), scale * rng.standard_normal((4 * H, H)),
            scale * rng.standard_normal(4 * H), scale * rng.standard_normal(4 * H))


def from_torch(weight_ih, weight_hh, bias_ih, bias_hh):
    """How the weights carry over: Wx = weight_ih^T, Wh = weight_hh^T, b = the two biases."""
    return weight_ih.T, weight_hh.T, bias_ih + bias_hh


def block(k, H):
    return slice(k * H, (k + 1) * H)


def test_lstm_pytorch_layout_matches_documented_cell(threads):
    """With Wx = weight_ih.T, Wh = weight_hh.T and b = bias_ih + bias_hh, the
    kernel is PyTorch's documented cell (gates chunked i, f, g, o) run step by step."""
    rng = np.random.default_rng(21)
    T, N, D, H = 5, 3, 4, 6
    weights = torch_weights(rng, D, H)
    x = rng.standard_normal((T, N, D))
    h0, c0 = rng.standard_normal((2, N, H))
    h, cache = lstm_forward(x, h0, c0, *from_torch(*weights))
    for n in range(N):
        hn, cn = h0[n], c0[n]
        for t in range(T):
            hn, cn = ref.lstm_cell_torch(x[t, n], hn, cn, *weights)
            np.testing.assert_allclose(h[t, n], hn, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(cache.c_last[n], cn, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_forget_bias_keeps_the_cell(threads, dtype):
    """Forget bias +10 (split over bias_ih and bias_hh as PyTorch holds it),
    all other biases 0, only the g rows of weight_ih nonzero, weight_hh = 0:
    then i = o = 1/2 and f = sigmoid(10) ~ 1 - 4.5e-5, so the cell keeps C_0
    and accumulates i * g: C_T ~ C_0 + sum_t g_t / 2, and h_t = tanh(C_t) / 2.
    Any other gate order gives f = 1/2 and forgets C_0 within a few steps."""
    rng = np.random.default_rng(22)
    T, N, D, H = 8, 3, 3, 5
    weight_ih = np.zeros((4 * H, D))
    weight_ih[block(G, H)] = 0.5 * rng.standard_normal((H, D))
    weight_hh = np.zeros((4 * H, H))
    bias_ih, bias_hh = np.zeros(4 * H), np.zeros(4 * H)
    bias_ih[block(F, H)] = 6.0
    bias_hh[block(F, H)] = 4.0
    x = rng.standard_normal((T, N, D))
    h0 = rng.standard_normal((N, H))                  # ignored: weight_hh = 0
    c0 = 2.0 * rng.standard_normal((N, H))
    Wx, Wh, b = from_torch(weight_ih, weight_hh, bias_ih, bias_hh)
    h, cache = lstm_forward(*(a.astype(dtype) for a in (x, h0, c0, Wx, Wh, b)))

    g = np.tanh(x @ weight_ih[block(G, H)].T)        # (T, N, H)
    f = 1 / (1 + np.exp(-10.0))
    leak = T * (1 - f) * (np.abs(c0).max() + T)      # what f < 1 can take away
    np.testing.assert_allclose(cache.c_last, c0 + 0.5 * g.sum(axis=0), rtol=0, atol=leak)
    assert leak < 0.01
    c = c0.copy()                                     # the exact recursion
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for t in range(T):
        c = f * c + 0.5 * g[t]
        np.testing.assert_allclose(h[t], 0.5 * np.tanh(c), rtol=0, atol=tol)
    np.testing.assert_allclose(cache.c_last, c, rtol=0, atol=tol * 10)


CONST_BIASES = (-0.5, 1.5, 0.8, -1.2)     # i, f, g, o: distinct, so any other order differs


def constant_gate_states(order, T, c0):
    """h_t and C_t when the four gates are the constants of CONST_BIASES
    read in the given block order."""
    z = dict(zip(order, CONST_BIASES))
    i, f, o = (1 / (1 + np.exp(-z[k])) for k in (I, F, O))
    g = np.tanh(z[G])
    hs, c = [], c0
    for _ in range(T):
        c = f * c + i * g
        hs.append(o * np.tanh(c))
    return np.stack(hs), c


def test_lstm_gate_order_with_constant_gates(threads):
    """Zero weights and a bias of a different constant per block make every
    gate a constant, with a closed-form recursion: the kernel matches the
    i, f, g, o reading and none of the other 23 orders."""
    rng = np.random.default_rng(23)
    T, N, D, H = 6, 2, 3, 4
    b = np.repeat(CONST_BIASES, H)
    x = rng.standard_normal((T, N, D))
    h0, c0 = rng.standard_normal((2, N, H))
    h, cache = lstm_forward(x, h0, c0, np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), b)
    for order in itertools.permutations((I, F, G, O)):
        h_exp, c_exp = constant_gate_states(order, T, c0)
        err = max(np.abs(h - h_exp).max(), np.abs(cache.c_last - c_exp).max())
        if order == (I, F, G, O):
            assert err < 1e-13
        else:
            assert err > 1e-2, f"order {order} is indistinguishable"


@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_saturated_gates_stay_finite(threads, dtype):
    """Pre-activations of +-1e3 (exp overflows in float64's sigmoid) give
    finite outputs and gradients, gates at exactly 0 or 1."""
    rng = np.random.default_rng(24)
    T, N, D, H = 3, 3, 1, 4                            # D = 1: no cancellation in x Wx
    x = (1e3 * np.sign(rng.standard_normal((T, N, D)))).astype(dtype)
    Wx = np.sign(rng.standard_normal((D, 4 * H))).astype(dtype)
    Wh = np.zeros((H, 4 * H), dtype)
    h0 = np.zeros((N, H), dtype)
    c0 = rng.standard_normal((N, H)).astype(dtype)
    with np.errstate(over="ignore"):                   # NUMBA_DISABLE_JIT runs np.exp
        h, cache = lstm_forward(x, h0, c0, Wx, Wh, np.zeros(4 * H, dtype))
        grads = lstm_backward(np.ones_like(h), cache, np.ones((N, H), dtype))
    assert np.all(np.isfinite(h)) and np.all(np.abs(h) <= 1)
    assert np.all(np.isfinite(cache.c_last))
    for g in grads:
        assert np.all(np.isfinite(g))
    act = cache.act
    np.testing.assert_array_equal(np.round(act[..., :2 * H]), act[..., :2 * H])  # i, f in {0, 1}


# ================================================================== validation

def test_lstm_does_not_mutate_inputs(threads):
    rng = np.random.default_rng(8)
    args = lstm_data(rng, 3, 3, 2, 4)
    saved = [a.copy() for a in args]
    h, cache = lstm_forward(*args)
    dh, dcT = rng.standard_normal(h.shape), rng.standard_normal((3, 4))
    in_saved = [dh.copy(), dcT.copy(), h.copy(), cache.c.copy(), cache.act.copy()]
    first = lstm_backward(dh, cache, dcT)
    second = lstm_backward(dh, cache, dcT)
    for a, s in zip(args, saved):
        np.testing.assert_array_equal(a, s)
    for a, s in zip([dh, dcT, cache.h, cache.c, cache.act], in_saved):
        np.testing.assert_array_equal(a, s)
    for a, b_ in zip(first, second):
        np.testing.assert_array_equal(a, b_)


def test_lstm_non_contiguous_inputs():
    rng = np.random.default_rng(9)
    T, N, D, H = 3, 2, 4, 3
    x = rng.standard_normal((N, T, D)).transpose(1, 0, 2)     # not C-contiguous
    h0 = rng.standard_normal((H, N)).T
    c0 = rng.standard_normal((H, N)).T
    Wx = 0.5 * rng.standard_normal((4 * H, D)).T
    Wh = 0.5 * rng.standard_normal((4 * H, H)).T
    b = rng.standard_normal(8 * H)[::2]
    h, cache = lstm_forward(x, h0, c0, Wx, Wh, b)
    h_ref, c_ref = ref.lstm_forward(x, h0, c0, Wx, Wh, b)
    assert_close(h, h_ref, 1e-12, "h")
    assert_close(cache.c_last, c_ref[-1], 1e-12, "c_last")
    dh = rng.standard_normal((N, T, H)).transpose(1, 0, 2)
    dcT = rng.standard_normal((H, N)).T
    got = lstm_backward(dh, cache, dcT)
    for g, r in zip(got, ref.lstm_backward(dh, dcT, x, h0, c0, Wx, Wh, b)):
        assert_close(g, r, 1e-12)


def test_lstm_recurrence_empty_batch():
    T, H = 3, 4
    h, cache = lstm_recurrence_forward(np.zeros((T, 0, 4 * H)), np.zeros((0, H)),
                                       np.zeros((0, H)), np.ones((H, 4 * H)))
    assert h.shape == (T, 0, H) and cache.c_last.shape == (0, H)
    dxw, dh0, dc0, dWh = lstm_recurrence_backward(np.zeros((T, 0, H)), cache)
    assert dxw.shape == (T, 0, 4 * H) and dh0.shape == dc0.shape == (0, H)
    assert dWh.shape == (H, 4 * H)
    np.testing.assert_array_equal(dWh, 0)


def test_lstm_empty_batch():
    T, D, H = 3, 2, 4
    h, cache = lstm_forward(np.zeros((T, 0, D)), np.zeros((0, H)), np.zeros((0, H)),
                            np.ones((D, 4 * H)), np.ones((H, 4 * H)), np.ones(4 * H))
    assert h.shape == (T, 0, H)
    grads = lstm_backward(np.zeros((T, 0, H)), cache)
    for g in grads[3:]:
        np.testing.assert_array_equal(g, 0)


def test_lstm_rejects_bad_inputs():
    T, N, D, H = 2, 3, 4, 5
    x, h0, c0 = np.zeros((T, N, D)), np.zeros((N, H)), np.zeros((N, H))
    Wx, Wh, b = np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)
    with pytest.raises(ValueError):
        lstm_forward(np.zeros((0, N, D)), h0, c0, Wx, Wh, b)       # no steps
    with pytest.raises(ValueError):
        lstm_forward(x[0], h0, c0, Wx, Wh, b)                      # 2-D x
    with pytest.raises(ValueError):
        lstm_forward(x, np.zeros((N, H + 1)), c0, Wx, Wh, b)
    with pytest.raises(ValueError):
        lstm_forward(x, h0, np.zeros((N + 1, H)), Wx, Wh, b)
    with pytest.raises(ValueError):
        lstm_forward(x, h0, c0, np.zeros((D + 1, 4 * H)), Wh, b)
    with pytest.raises(ValueError):
        lstm_forward(x, h0, c0, Wx, np.zeros((H, 4 * H + 4)), b)
    with pytest.raises(ValueError):
        lstm_forward(x, h0, c0, Wx, Wh, np.zeros(4 * H + 1))
    with pytest.raises(ValueError):                                # 4H not divisible by 4
        lstm_recurrence_forward(np.zeros((T, N, 4 * H + 2)), h0, c0, Wh)
    with pytest.raises(ValueError):                                # b not (4H,)
        lstm_recurrence_forward(np.zeros((T, N, 4 * H)), h0, c0, Wh, np.zeros((1, 4 * H)))
    with pytest.raises(TypeError):
        lstm_recurrence_forward(np.zeros((T, N, 4 * H)), h0, c0, Wh, np.zeros(4 * H, np.float32))
    with pytest.raises(TypeError):
        lstm_forward(x.astype(np.float32), h0, c0, Wx, Wh, b)      # mixed dtypes
    with pytest.raises(TypeError):
        lstm_forward(x, h0, c0.astype(np.float32), Wx, Wh, b)
    with pytest.raises(TypeError):
        lstm_recurrence_forward(np.zeros((T, N, 4 * H), np.int32), h0, c0, Wh)
    h, cache = lstm_forward(x, h0, c0, Wx, Wh, b)
    with pytest.raises(ValueError):
        lstm_backward(np.zeros((T, N, H + 1)), cache)
    with pytest.raises(ValueError):
        lstm_backward(np.zeros((T, N, H)), cache, np.zeros((N, H, 1)))   # 3-D dcT
    with pytest.raises(TypeError):
        lstm_backward(np.zeros((T, N, H), np.float32), cache)
    with pytest.raises(TypeError):
        lstm_backward(np.zeros((T, N, H)), cache, np.zeros((N, H), np.float32))


@pytest.mark.parametrize("extra", [(0, 1), (1, 0)], ids=["H+1", "N+1"])
def test_lstm_backward_rejects_wrong_dcT_shape(extra):
    # Only shapes larger than (N, H): the kernel reads without bounds checks,
    # so a smaller dcT would read past its end.
    T, N, D, H = 2, 3, 2, 4
    rng = np.random.default_rng(0)
    h, cache = lstm_forward(*rand_data(rng, T, N, D, H, np.float64))
    dcT = rng.standard_normal((N + extra[0], H + extra[1]))
    with pytest.raises(ValueError):
        lstm_backward(np.zeros_like(h), cache, dcT)
