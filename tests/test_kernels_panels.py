"""kernels/_panels.py, the recurrences' register-blocked product: against
numpy's product over shapes that leave partial panels (M not a multiple of
ROWS) and one or several blocks of columns, in both dtypes, and the packing
helpers' layout. The LSTM's use of it is in test_kernels_lstm.py."""

import numpy as np
import pytest

from nnlab.kernels._panels import (
    LANES,
    PANEL_FROM,
    ROWS,
    pack_panels,
    pack_panels_t,
    panel_dot,
    panels_rows,
    use_panels,
)

TOL = {np.float64: 1e-13, np.float32: 1e-5}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("M,K,n", [(1, 1, LANES), (16, 5, LANES), (17, 33, 2 * LANES),
                                   (40, 64, 3 * LANES), (64, 7, LANES)])
def test_panel_dot_matches_numpy(dtype, M, K, n):
    rng = np.random.default_rng(M * 1000 + K * 10 + n)
    a = rng.standard_normal((M, K)).astype(dtype)
    b = rng.standard_normal((K, n)).astype(dtype)
    out = np.full((panels_rows(M), n), np.nan, dtype)
    panel_dot(pack_panels(a), b, out)
    want = a.astype(np.float64) @ b.astype(np.float64)
    scale = np.abs(want).max()
    assert np.abs(out[:M] - want).max() <= TOL[dtype] * scale * K
    # The padding rows of the panels are zeros, so their outputs are too.
    assert (out[M:] == 0).all()


@pytest.mark.parametrize("M,K", [(16, 3), (21, 4)])
def test_packing_layout(M, K):
    a = np.arange(M * K, dtype=np.float64).reshape(M, K)
    P = pack_panels(a)
    assert P.shape == (panels_rows(M) // ROWS, K, ROWS) and P.flags.c_contiguous
    for m in range(panels_rows(M)):
        for k in range(K):
            assert P[m // ROWS, k, m % ROWS] == (a[m, k] if m < M else 0)
    np.testing.assert_array_equal(pack_panels_t(np.ascontiguousarray(a.T)), P)


def test_use_panels_by_the_rows_each_thread_gets():
    assert use_panels(PANEL_FROM, 1) and use_panels(2 * PANEL_FROM, 2)
    assert use_panels(2 * PANEL_FROM - 1, 2)       # blocks of PANEL_FROM and one fewer
    assert not use_panels(PANEL_FROM - 1, 1)
    assert not use_panels(2 * PANEL_FROM - 2, 2)
