"""lstm_forward / lstm_backward and the recurrence-level pair: float64
gradient checks over whole sequences (through every h_t, through h_T alone,
through the final cell state alone), agreement with a step-by-step numpy
reference (BPTT written out), state carried across chunks and thread
chunking. PyTorch's layout, the gate order and input validation are in
test_kernels_lstm_cell.py.

The numeric gradients are Richardson-extrapolated central differences with
a relative-error floor (gradcheck.py's docstring says why, and the
tolerances), on grid data as in test_kernels_rnn.py. Below the floor, in the
cases here: exact zeros on both sides (output-gate entries when the loss
reads only C_T, forget-gate entries where a grid C_{t-1} is exactly 0), and
three entries of 1e-6..3e-6 that agree to 1e-12.
"""

import numpy as np
import pytest

import reference_recurrent as ref
from gradcheck import assert_close, check_smooth, grid, numba_threads, smooth_grad_array
from nnlab.kernels import (
    lstm_backward,
    lstm_forward,
    lstm_recurrence_backward,
    lstm_recurrence_forward,
)
from recurrent import (
    DTYPES,
    GRAD_CASES,
    REF_CASES,
    REF_TOL,
    assert_runs_agree,
    lstm_data,
    rand_data,
    run_lstm,
)


# The loss is L = sum(h * Rh) + sum(C_T * Rc), so the kernel gets dh = Rh, dcT = Rc.
#   all:    every h_t, no cell-state term
#   last_h: h_T only (dh zero but for dh[-1])
#   last_c: the final cell state only (dh = 0, dcT = Rc)
#   h_and_c: every h_t and the final cell state
MODES = ["all", "last_h", "last_c", "h_and_c"]


def upstream(rng, T, N, H, mode):
    Rh = grid(rng, (T, N, H))
    Rc = grid(rng, (N, H))
    if mode == "last_h":
        Rh[:-1] = 0
    if mode in ("all", "last_h"):
        Rc[:] = 0
    if mode == "last_c":
        Rh[:] = 0
    return Rh, Rc


def outputs(h, cache):
    """h and C_T as one vector, weighted by concat(Rh, Rc) in the numeric check."""
    return np.concatenate([h.ravel(), cache.c_last.ravel()])


# ===================================================== gradient checks (float64)

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("T,N,D,H", GRAD_CASES)
def test_lstm_gradcheck(threads, T, N, D, H, mode):
    rng = np.random.default_rng(1000 + 100 * T + 10 * N + H)
    x, h0, c0, Wx, Wh, b = lstm_data(rng, T, N, D, H)
    h, cache = lstm_forward(x.copy(), h0.copy(), c0.copy(), Wx.copy(), Wh.copy(), b.copy())
    Rh, Rc = upstream(rng, T, N, H, mode)
    grads = lstm_backward(Rh, cache, None if mode in ("all", "last_h") else Rc)
    R = np.concatenate([Rh.ravel(), Rc.ravel()])

    def f():
        return outputs(*lstm_forward(x, h0, c0, Wx, Wh, b))

    names = ["dx", "dh0", "dc0", "dWx", "dWh", "db"]
    for name, arr, g in zip(names, [x, h0, c0, Wx, Wh, b], grads):
        assert g.shape == arr.shape and g.dtype == np.float64, name
        check_smooth(f"lstm {name} ({mode})", g, smooth_grad_array(f, arr, R))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("T,N,D,H", GRAD_CASES)
def test_lstm_recurrence_gradcheck(threads, T, N, D, H, mode):
    rng = np.random.default_rng(2000 + 100 * T + 10 * N + H)
    xw = grid(rng, (T, N, 4 * H)) * 0.5
    h0, c0 = grid(rng, (N, H)) * 0.5, grid(rng, (N, H)) * 0.5
    Wh = grid(rng, (H, 4 * H)) * 0.5
    h, cache = lstm_recurrence_forward(xw.copy(), h0.copy(), c0.copy(), Wh.copy())
    Rh, Rc = upstream(rng, T, N, H, mode)
    grads = lstm_recurrence_backward(Rh, cache, None if mode in ("all", "last_h") else Rc)
    R = np.concatenate([Rh.ravel(), Rc.ravel()])

    def f():
        return outputs(*lstm_recurrence_forward(xw, h0, c0, Wh))

    for name, arr, g in zip(["dxw", "dh0", "dc0", "dWh"], [xw, h0, c0, Wh], grads):
        assert g.shape == arr.shape and g.dtype == np.float64, name
        check_smooth(f"lstm_recurrence {name} ({mode})", g, smooth_grad_array(f, arr, R))


def test_lstm_recurrence_consistent_with_full(threads):
    """lstm_backward's db, dx and dWx are dxw summed, dxw @ Wx^T and x^T dxw;
    dcT=None is dcT=0; the bias given to the recurrence is the bias added to
    xw beforehand."""
    rng = np.random.default_rng(4)
    T, N, D, H = 4, 3, 2, 5
    x, h0, c0, Wx, Wh, b = rand_data(rng, T, N, D, H, np.float64)
    h, cache = lstm_forward(x, h0, c0, Wx, Wh, b)
    dh = rng.standard_normal(h.shape)
    dx, dh0, dc0, dWx, dWh, db = lstm_backward(dh, cache)
    xw = (x.reshape(-1, D) @ Wx + b).reshape(T, N, 4 * H)
    h2, cache2 = lstm_recurrence_forward(xw, h0, c0, Wh)
    np.testing.assert_allclose(h2, h, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(cache2.c_last, cache.c_last, rtol=1e-13, atol=1e-15)
    h3, cache3 = lstm_recurrence_forward(xw - b, h0, c0, Wh, b)
    np.testing.assert_allclose(h3, h2, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(cache3.act, cache2.act, rtol=1e-13, atol=1e-15)
    dxw, dh0b, dc0b, dWhb = lstm_recurrence_backward(dh, cache2, np.zeros((N, H)))
    kw = dict(rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(db, dxw.sum(axis=(0, 1)), **kw)
    np.testing.assert_allclose(dx, dxw @ Wx.T, **kw)
    np.testing.assert_allclose(dWx, np.einsum("tnd,tng->dg", x, dxw), **kw)
    for a, b_ in [(dh0, dh0b), (dc0, dc0b), (dWh, dWhb)]:
        np.testing.assert_allclose(a, b_, **kw)


# ========================================== step-by-step reference (forward, BPTT)

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("T,N,D,H", REF_CASES)
def test_lstm_matches_step_by_step_reference(threads, dtype, T, N, D, H):
    rng = np.random.default_rng(T * N * D * H + 1)
    args = rand_data(rng, T, N, D, H, dtype)
    args64 = [a.astype(np.float64) for a in args]
    tol = REF_TOL[dtype]
    h, cache = lstm_forward(*args)
    assert h.dtype == dtype and h.shape == (T, N, H)
    assert cache.c_last.dtype == dtype and cache.c_last.shape == (N, H)
    h_ref, c_ref = ref.lstm_forward(*args64)
    assert_close(h, h_ref, tol, "h")
    assert_close(h[-1], h_ref[-1], tol, "final hidden state")
    assert_close(cache.c_last, c_ref[-1], tol, "final cell state")
    dh = rng.standard_normal((T, N, H)).astype(dtype)
    dcT = rng.standard_normal((N, H)).astype(dtype)
    got = lstm_backward(dh, cache, dcT)
    want = ref.lstm_backward(dh.astype(np.float64), dcT.astype(np.float64), *args64)
    for name, g, r in zip(["dx", "dh0", "dc0", "dWx", "dWh", "db"], got, want):
        assert g.dtype == dtype, name
        assert_close(g, r, tol, name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_recurrence_matches_reference(threads, dtype):
    """The recurrence with xw given is the LSTM with Wx = I and b = 0."""
    rng = np.random.default_rng(12)
    T, N, H = 5, 3, 6
    xw = rng.standard_normal((T, N, 4 * H)).astype(dtype)
    h0, c0 = (0.5 * rng.standard_normal((2, N, H))).astype(dtype)
    Wh = (0.5 * rng.standard_normal((H, 4 * H))).astype(dtype)
    h, cache = lstm_recurrence_forward(xw, h0, c0, Wh)
    args64 = [xw.astype(np.float64), h0.astype(np.float64), c0.astype(np.float64),
              np.eye(4 * H), Wh.astype(np.float64), np.zeros(4 * H)]
    h_ref, c_ref = ref.lstm_forward(*args64)
    assert_close(h, h_ref, REF_TOL[dtype], "h")
    assert_close(cache.c_last, c_ref[-1], REF_TOL[dtype], "c_last")
    dh = rng.standard_normal((T, N, H)).astype(dtype)
    dcT = rng.standard_normal((N, H)).astype(dtype)
    got = lstm_recurrence_backward(dh, cache, dcT)
    rdx, rdh0, rdc0, _, rdWh, _ = ref.lstm_backward(dh.astype(np.float64),
                                                    dcT.astype(np.float64), *args64)
    for name, g, r in zip(["dxw", "dh0", "dc0", "dWh"], got, [rdx, rdh0, rdc0, rdWh]):
        assert g.dtype == dtype, name
        assert_close(g, r, REF_TOL[dtype], name)

# ============================================================ state across chunks

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("T,N", [(1, 1), (3, 4), (5, 3)])
def test_lstm_state_carries_across_chunks(threads, dtype, T, N):
    """2T steps in one call = T steps, then T more from (h[-1], cache.c_last);
    and the chunks' backward passes, chained through dh0 and dc0 (as dcT),
    give the whole sequence's gradients."""
    D, H = 3, 5
    rng = np.random.default_rng(T * 10 + N + 7)
    x, h0, c0, Wx, Wh, b = rand_data(rng, 2 * T, N, D, H, dtype)
    tol = REF_TOL[dtype]

    h, cache = lstm_forward(x, h0, c0, Wx, Wh, b)
    h1, cache1 = lstm_forward(x[:T], h0, c0, Wx, Wh, b)
    h2, cache2 = lstm_forward(x[T:], h1[-1], cache1.c_last, Wx, Wh, b)
    assert_close(np.concatenate([h1, h2]), h, tol, "h")
    assert_close(h2[-1], h[-1], tol, "final hidden state")
    assert_close(cache2.c_last, cache.c_last, tol, "final cell state")

    dh = rng.standard_normal(h.shape).astype(dtype)
    dcT = rng.standard_normal((N, H)).astype(dtype)
    dx, dh0, dc0, dWx, dWh, db = lstm_backward(dh, cache, dcT)
    dx2, dmid_h, dmid_c, dWx2, dWh2, db2 = lstm_backward(dh[T:], cache2, dcT)
    dh1 = dh[:T].copy()
    dh1[-1] += dmid_h
    dx1, dh0_1, dc0_1, dWx1, dWh1, db1 = lstm_backward(dh1, cache1, dmid_c)
    assert_close(np.concatenate([dx1, dx2]), dx, tol, "dx")
    assert_close(dh0_1, dh0, tol, "dh0")
    assert_close(dc0_1, dc0, tol, "dc0")
    assert_close(dWx1 + dWx2, dWx, tol, "dWx")
    assert_close(dWh1 + dWh2, dWh, tol, "dWh")
    assert_close(db1 + db2, db, tol, "db")


# ===================================================================== threads

@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_thread_counts_agree(dtype):
    """Batch rows split over 1 or 2 threads give the same results."""
    rng = np.random.default_rng(6)
    T, N, D, H = 4, 7, 3, 6
    args = rand_data(rng, T, N, D, H, dtype)
    dh = rng.standard_normal((T, N, H)).astype(dtype)
    dcT = rng.standard_normal((N, H)).astype(dtype)
    results = []
    for n in (1, 2):
        with numba_threads(n):
            results.append(run_lstm(args, dh, dcT))
    assert_runs_agree(*results, 1e-13 if dtype == np.float64 else 1e-6)
