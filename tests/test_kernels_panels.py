"""kernels/_panels.py, the recurrences' register-blocked product: against
numpy's product over shapes that leave partial blocks (fewer than ROWS rows,
more than ROWS, columns not a multiple of LANES) at offsets into the state,
in both dtypes, and the packing helpers' layout; and the LSTM and RNN
kernels giving the same results by it as by BLAS. Their gradient checks and
references cover the panel path too (tests/recurrent.py's N = 9 cases)."""

import numpy as np
import pytest

from gradcheck import numba_threads
from nnlab.kernels import _panels as panels_module
from nnlab.kernels._panels import (
    LANES,
    PANEL_FROM,
    ROWS,
    column_panels,
    column_panels_t,
    panels_width,
    rows_dot,
    use_panels,
)
from recurrent import DTYPES, assert_runs_agree, rand_data, run_lstm, run_rnn

TOL = {np.float64: 1e-13, np.float32: 1e-5}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lo,n,K,M", [(0, 1, 1, LANES), (2, 5, 5, 17), (1, ROWS, 33, 2 * LANES),
                                      (3, ROWS + 3, 64, 40), (0, 2 * ROWS, 7, LANES)])
def test_rows_dot_matches_numpy(dtype, lo, n, K, M):
    rng = np.random.default_rng(lo * 1000 + n * 100 + K * 10 + M)
    state = rng.standard_normal((lo + n + 2, K + 3)).astype(dtype)  # rows longer than K
    w = rng.standard_normal((K, M)).astype(dtype)
    out = np.full((n + 1, panels_width(M)), np.nan, dtype)
    rows_dot(state, lo, n, column_panels(w), out)
    want = state[lo:lo + n, :K].astype(np.float64) @ w.astype(np.float64)
    assert np.abs(out[:n, :M] - want).max() <= TOL[dtype] * np.abs(want).max() * K
    # The panels' padding columns are zeros, so their outputs are too; the
    # row past n is never written.
    assert (out[:n, M:] == 0).all()
    assert np.isnan(out[n]).all()


@pytest.mark.parametrize("K,M", [(3, 16), (4, 21)])
def test_packing_layout(K, M):
    b = np.arange(K * M, dtype=np.float64).reshape(K, M)
    P = column_panels(b)
    assert P.shape == (panels_width(M) // LANES, K, LANES) and P.flags.c_contiguous
    for k in range(K):
        for m in range(panels_width(M)):
            assert P[m // LANES, k, m % LANES] == (b[k, m] if m < M else 0)
    np.testing.assert_array_equal(column_panels_t(np.ascontiguousarray(b.T)), P)


def test_use_panels_by_the_rows_each_thread_gets():
    assert use_panels(PANEL_FROM, 1) and use_panels(2 * PANEL_FROM, 2)
    assert use_panels(2 * PANEL_FROM - 1, 2)       # blocks of PANEL_FROM and one fewer
    assert not use_panels(PANEL_FROM - 1, 1)
    assert not use_panels(2 * PANEL_FROM - 2, 2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_panels_and_blas_agree(dtype, monkeypatch):
    """The recurrent products by rows_dot (9 rows: 5 + 4 a thread) and, with
    the panels' threshold out of reach, by BLAS give the same results."""
    rng = np.random.default_rng(16)
    T, N, D, H = 5, 9, 3, 17
    args = rand_data(rng, T, N, D, H, dtype)
    dh = rng.standard_normal((T, N, H)).astype(dtype)
    dcT = rng.standard_normal((N, H)).astype(dtype)
    results = []
    for panel_from in (PANEL_FROM, N + 1):
        monkeypatch.setattr(panels_module, "PANEL_FROM", panel_from)
        with numba_threads(2):
            results.append(run_lstm(args, dh, dcT))
    assert_runs_agree(*results, 1e-13 if dtype == np.float64 else 1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rnn_panels_and_blas_agree(dtype, monkeypatch):
    """The recurrent products by rows_dot (9 rows: 5 + 4 a thread) and, with
    the panels' threshold out of reach, by BLAS give the same results."""
    rng = np.random.default_rng(17)
    T, N, D, H = 5, 9, 3, 21
    x = rng.standard_normal((T, N, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    Wx, Wh, b = ((0.3 * rng.standard_normal(s)).astype(dtype) for s in [(D, H), (H, H), (H,)])
    dh = rng.standard_normal((T, N, H)).astype(dtype)
    results = []
    for panel_from in (PANEL_FROM, N + 1):
        monkeypatch.setattr(panels_module, "PANEL_FROM", panel_from)
        with numba_threads(2):
            results.append(run_rnn((x, h0, Wx, Wh, b), dh))
    assert_runs_agree(*results, 1e-13 if dtype == np.float64 else 1e-5)
