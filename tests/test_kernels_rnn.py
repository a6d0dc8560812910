"""rnn_forward / rnn_backward and the recurrence-level pair: float64 gradient
checks over whole sequences, agreement with a step-by-step numpy reference
(BPTT written out), state carried across chunks, thread chunking, and input
validation.

The numeric gradients are Richardson-extrapolated central differences with
a relative-error floor (gradcheck.py's docstring says why, and the
tolerances), on grid data (multiples of 2**-7) so that x +- eps, x +- 2 eps
are exact, with weights scaled by 0.5 so that tanh is not saturated.
"""

import numpy as np
import pytest

import reference_recurrent as ref
from gradcheck import assert_close, check_smooth, grid, numba_threads, smooth_grad_array
from nnlab.kernels import (
    rnn_backward,
    rnn_forward,
    rnn_recurrence_backward,
    rnn_recurrence_forward,
)
from recurrent import DTYPES, GRAD_CASES, REF_CASES, REF_TOL, assert_runs_agree, run_rnn


def rnn_data(rng, T, N, D, H, dtype=np.float64, scale=0.5):
    """x: (T, N, D), h0: (N, H), Wx: (D, H), Wh: (H, H), b: (H,) on the grid."""
    x = grid(rng, (T, N, D))
    h0 = grid(rng, (N, H)) * scale
    Wx, Wh, b = (grid(rng, s) * scale for s in [(D, H), (H, H), (H,)])
    return [a.astype(dtype) for a in (x, h0, Wx, Wh, b)]


# "all": the loss reads every h_t; "last": only h_T (dh zero but for dh[-1]),
# so every gradient flows back through the whole recurrence.
MODES = ["all", "last"]


def upstream(rng, shape, mode):
    R = grid(rng, shape)
    if mode == "last":
        R[:-1] = 0
    return R


# ===================================================== gradient checks (float64)

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("T,N,D,H", GRAD_CASES)
def test_rnn_gradcheck(threads, T, N, D, H, mode):
    rng = np.random.default_rng(100 * T + 10 * N + H)
    x, h0, Wx, Wh, b = rnn_data(rng, T, N, D, H)
    h, cache = rnn_forward(x.copy(), h0.copy(), Wx.copy(), Wh.copy(), b.copy())
    R = upstream(rng, h.shape, mode)
    grads = rnn_backward(R, cache)

    def f():
        return rnn_forward(x, h0, Wx, Wh, b)[0]

    for name, arr, g in zip(["dx", "dh0", "dWx", "dWh", "db"], [x, h0, Wx, Wh, b], grads):
        assert g.shape == arr.shape and g.dtype == np.float64, name
        check_smooth(f"rnn {name} ({mode})", g, smooth_grad_array(f, arr, R))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("T,N,D,H", GRAD_CASES)
def test_rnn_recurrence_gradcheck(threads, T, N, D, H, mode):
    rng = np.random.default_rng(200 + 100 * T + 10 * N + H)
    xw = grid(rng, (T, N, H)) * 0.5
    h0 = grid(rng, (N, H)) * 0.5
    Wh = grid(rng, (H, H)) * 0.5
    h, cache = rnn_recurrence_forward(xw.copy(), h0.copy(), Wh.copy())
    R = upstream(rng, h.shape, mode)
    grads = rnn_recurrence_backward(R, cache)

    def f():
        return rnn_recurrence_forward(xw, h0, Wh)[0]

    for name, arr, g in zip(["dxw", "dh0", "dWh"], [xw, h0, Wh], grads):
        assert g.shape == arr.shape and g.dtype == np.float64, name
        check_smooth(f"rnn_recurrence {name} ({mode})", g, smooth_grad_array(f, arr, R))


def test_rnn_recurrence_dxw_is_db(threads):
    """rnn_backward's db and dx are dxw summed over steps and rows, and dxw @ Wx^T."""
    rng = np.random.default_rng(3)
    x, h0, Wx, Wh, b = rnn_data(rng, 4, 3, 2, 5)
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    dh = rng.standard_normal(h.shape)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
    xw = (x.reshape(-1, 2) @ Wx + b).reshape(4, 3, 5)
    h2, cache2 = rnn_recurrence_forward(xw, h0, Wh)
    dxw, dh0b, dWhb = rnn_recurrence_backward(dh, cache2)
    np.testing.assert_allclose(h2, h, rtol=1e-13, atol=1e-15)
    # The bias given to the recurrence is the bias added to xw beforehand.
    h3, _ = rnn_recurrence_forward(xw - b, h0, Wh, b)
    np.testing.assert_allclose(h3, h2, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(db, dxw.sum(axis=(0, 1)), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dx, dxw @ Wx.T, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dh0, dh0b, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dWh, dWhb, rtol=1e-12, atol=1e-15)


# ========================================== step-by-step reference (forward, BPTT)

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("T,N,D,H", REF_CASES)
def test_rnn_matches_step_by_step_reference(threads, dtype, T, N, D, H):
    rng = np.random.default_rng(T * N * D * H)
    x = rng.standard_normal((T, N, D)).astype(dtype)
    h0 = (0.5 * rng.standard_normal((N, H))).astype(dtype)
    Wx, Wh, b = ((0.5 * rng.standard_normal(s)).astype(dtype) for s in [(D, H), (H, H), (H,)])
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    assert h.dtype == dtype and h.shape == (T, N, H)
    args64 = [a.astype(np.float64) for a in (x, h0, Wx, Wh, b)]
    h_ref = ref.rnn_forward(*args64)
    assert_close(h, h_ref, REF_TOL[dtype], "h")
    assert_close(h[-1], h_ref[-1], REF_TOL[dtype], "final hidden state")
    dh = rng.standard_normal((T, N, H)).astype(dtype)
    got = rnn_backward(dh, cache)
    want = ref.rnn_backward(dh.astype(np.float64), *args64)
    for name, g, r in zip(["dx", "dh0", "dWx", "dWh", "db"], got, want):
        assert g.dtype == dtype, name
        assert_close(g, r, REF_TOL[dtype], name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rnn_recurrence_matches_reference(threads, dtype):
    """The recurrence with xw given is the RNN with Wx = I and b = 0."""
    rng = np.random.default_rng(11)
    T, N, H = 5, 3, 6
    xw = rng.standard_normal((T, N, H)).astype(dtype)
    h0 = (0.5 * rng.standard_normal((N, H))).astype(dtype)
    Wh = (0.5 * rng.standard_normal((H, H))).astype(dtype)
    h, cache = rnn_recurrence_forward(xw, h0, Wh)
    args64 = [xw.astype(np.float64), h0.astype(np.float64), np.eye(H),
              Wh.astype(np.float64), np.zeros(H)]
    assert_close(h, ref.rnn_forward(*args64), REF_TOL[dtype], "h")
    dh = rng.standard_normal((T, N, H)).astype(dtype)
    dxw, dh0, dWh = rnn_recurrence_backward(dh, cache)
    rdx, rdh0, _, rdWh, _ = ref.rnn_backward(dh.astype(np.float64), *args64)
    for name, g, r in [("dxw", dxw, rdx), ("dh0", dh0, rdh0), ("dWh", dWh, rdWh)]:
        assert g.dtype == dtype, name
        assert_close(g, r, REF_TOL[dtype], name)


# ============================================================ state across chunks

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("T,N", [(1, 1), (3, 4), (5, 3)])
def test_rnn_state_carries_across_chunks(threads, dtype, T, N):
    """2T steps in one call = T steps, then T more from h[-1]; and the chunks'
    backward passes, chained through dh0, give the whole sequence's gradients."""
    D, H = 3, 5
    rng = np.random.default_rng(T * 10 + N)
    x = rng.standard_normal((2 * T, N, D)).astype(dtype)
    h0 = (0.5 * rng.standard_normal((N, H))).astype(dtype)
    Wx, Wh, b = ((0.5 * rng.standard_normal(s)).astype(dtype) for s in [(D, H), (H, H), (H,)])
    tol = REF_TOL[dtype]

    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    h1, cache1 = rnn_forward(x[:T], h0, Wx, Wh, b)
    h2, cache2 = rnn_forward(x[T:], h1[-1], Wx, Wh, b)
    assert_close(np.concatenate([h1, h2]), h, tol, "h")
    assert_close(h2[-1], h[-1], tol, "final state")

    dh = rng.standard_normal(h.shape).astype(dtype)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
    dx2, dmid, dWx2, dWh2, db2 = rnn_backward(dh[T:], cache2)
    dh1 = dh[:T].copy()
    dh1[-1] += dmid
    dx1, dh0_1, dWx1, dWh1, db1 = rnn_backward(dh1, cache1)
    assert_close(np.concatenate([dx1, dx2]), dx, tol, "dx")
    assert_close(dh0_1, dh0, tol, "dh0")
    assert_close(dWx1 + dWx2, dWx, tol, "dWx")
    assert_close(dWh1 + dWh2, dWh, tol, "dWh")
    assert_close(db1 + db2, db, tol, "db")


# ===================================================================== threads

@pytest.mark.parametrize("dtype", DTYPES)
def test_rnn_thread_counts_agree(dtype):
    """Batch rows split over 1 or 2 threads give the same results."""
    rng = np.random.default_rng(5)
    T, N, D, H = 4, 7, 3, 6
    x = rng.standard_normal((T, N, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    Wx, Wh, b = ((0.5 * rng.standard_normal(s)).astype(dtype) for s in [(D, H), (H, H), (H,)])
    dh = rng.standard_normal((T, N, H)).astype(dtype)
    results = []
    for n in (1, 2):
        with numba_threads(n):
            results.append(run_rnn((x, h0, Wx, Wh, b), dh))
    assert_runs_agree(*results, 1e-13 if dtype == np.float64 else 1e-6)


# ================================================================== validation

def test_rnn_does_not_mutate_inputs(threads):
    rng = np.random.default_rng(8)
    args = rnn_data(rng, 3, 3, 2, 4)
    saved = [a.copy() for a in args]
    h, cache = rnn_forward(*args)
    dh = rng.standard_normal(h.shape)
    dh_saved = dh.copy()
    h_saved = h.copy()
    rnn_backward(dh, cache)
    rnn_backward(dh, cache)
    for a, s in zip(args, saved):
        np.testing.assert_array_equal(a, s)
    np.testing.assert_array_equal(dh, dh_saved)
    np.testing.assert_array_equal(cache.h, h_saved)


def test_rnn_non_contiguous_inputs():
    rng = np.random.default_rng(9)
    T, N, D, H = 3, 2, 4, 3
    x = rng.standard_normal((N, T, D)).transpose(1, 0, 2)     # not C-contiguous
    h0 = rng.standard_normal((H, N)).T
    Wx = rng.standard_normal((H, D)).T
    Wh = rng.standard_normal((H, H)).T * 0.5
    b = rng.standard_normal(2 * H)[::2]
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    assert_close(h, ref.rnn_forward(x, h0, Wx, Wh, b), 1e-12, "h")
    dh = rng.standard_normal((N, T, H)).transpose(1, 0, 2)
    for g, r in zip(rnn_backward(dh, cache), ref.rnn_backward(dh, x, h0, Wx, Wh, b)):
        assert_close(g, r, 1e-12)


def test_rnn_recurrence_empty_batch():
    T, H = 3, 4
    h, cache = rnn_recurrence_forward(np.zeros((T, 0, H)), np.zeros((0, H)), np.ones((H, H)))
    assert h.shape == (T, 0, H)
    dxw, dh0, dWh = rnn_recurrence_backward(np.zeros((T, 0, H)), cache)
    assert dxw.shape == (T, 0, H) and dh0.shape == (0, H) and dWh.shape == (H, H)
    np.testing.assert_array_equal(dWh, 0)


def test_rnn_empty_batch():
    T, D, H = 3, 2, 4
    h, cache = rnn_forward(np.zeros((T, 0, D)), np.zeros((0, H)), np.ones((D, H)),
                           np.ones((H, H)), np.ones(H))
    assert h.shape == (T, 0, H)
    dx, dh0, dWx, dWh, db = rnn_backward(np.zeros((T, 0, H)), cache)
    assert dx.shape == (T, 0, D) and dh0.shape == (0, H)
    for g, shape in [(dWx, (D, H)), (dWh, (H, H)), (db, (H,))]:
        assert g.shape == shape
        np.testing.assert_array_equal(g, 0)


def test_rnn_rejects_bad_inputs():
    T, N, D, H = 2, 3, 4, 5
    x, h0 = np.zeros((T, N, D)), np.zeros((N, H))
    Wx, Wh, b = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    with pytest.raises(ValueError):
        rnn_forward(np.zeros((0, N, D)), h0, Wx, Wh, b)          # no steps
    with pytest.raises(ValueError):
        rnn_forward(x[0], h0, Wx, Wh, b)                         # 2-D x
    with pytest.raises(ValueError):
        rnn_forward(x, np.zeros((N + 1, H)), Wx, Wh, b)
    with pytest.raises(ValueError):
        rnn_forward(x, h0, np.zeros((D + 1, H)), Wh, b)
    with pytest.raises(ValueError):
        rnn_forward(x, h0, Wx, np.zeros((H, H + 1)), b)
    with pytest.raises(ValueError):
        rnn_forward(x, h0, Wx, Wh, np.zeros(H + 1))
    with pytest.raises(TypeError):
        rnn_forward(x.astype(np.float32), h0, Wx, Wh, b)         # mixed dtypes
    with pytest.raises(TypeError):
        rnn_forward(x.astype(np.int64), h0, Wx, Wh, b)
    with pytest.raises(TypeError):
        rnn_recurrence_forward(np.zeros((T, N, H), np.float16), h0, Wh)
    with pytest.raises(ValueError):
        rnn_recurrence_forward(np.zeros((T, N, H)), h0, Wh, np.zeros(H + 1))
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    with pytest.raises(ValueError):
        rnn_backward(np.zeros((T, N, H + 1)), cache)
    with pytest.raises(ValueError):
        rnn_backward(np.zeros((T + 1, N, H)), cache)
    with pytest.raises(TypeError):
        rnn_backward(np.zeros((T, N, H), np.float32), cache)
