"""The float32 matrix products that bypass BLAS (kernels/_gemm.py): a @ b on
_panels.rows_dot or on _gemm_tn.py's blocks, and a.T @ b on the latter,
against float64 numpy, with partial blocks of rows, columns and sums, and
given outputs."""

import numpy as np
import pytest
from numba import config

from gradcheck import numba_threads
from nnlab.kernels._gemm import matmul, matmul_tn, takes_columns, takes_panels, takes_tn_columns
from nnlab.kernels._gemm_tn import KC, ROWS, WIDTH

TN_SHAPES = [  # K, M, P
    (256, 8, 2 * WIDTH),                    # one chunk, one row block, two column blocks
    (KC + 1, ROWS + 5, 3 * WIDTH),          # a chunk of one row, a part-filled row block
    (3 * KC - 7, 5 * ROWS - 1, 4 * WIDTH),  # three chunks, the last part-filled
]
NN_SHAPES = [  # M, K, P: sums too long for the panels
    (ROWS, 257, 2 * WIDTH),
    (3 * ROWS + 3, 2 * KC + 9, 5 * WIDTH),
]
MM_SHAPES = [  # M, K, P
    (64, 1, 16),     # one term a sum
    (130, 256, 17),  # columns padded to whole panels, rows split unevenly
    (100, 200, 48),
]


def operands(shape_a, shape_b, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape_a).astype(np.float32),
            rng.standard_normal(shape_b).astype(np.float32))


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("K,M,P", TN_SHAPES, ids=str)
def test_tn_blocks(threads, K, M, P):
    a, b = operands((K, M), (K, P), K + M + P)
    assert takes_tn_columns(a, b)
    out = matmul_tn(a, b)
    assert out.shape == (M, P) and out.dtype == np.float32
    want = a.T.astype(np.float64) @ b
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4 * np.sqrt(K))


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("M,K,P", MM_SHAPES, ids=str)
def test_panels(threads, M, K, P):
    a, b = operands((M, K), (K, P), M + K + P)
    assert takes_panels(a, b)
    want = a.astype(np.float64) @ b
    np.testing.assert_allclose(matmul(a, b), want, rtol=1e-4, atol=1e-4 * np.sqrt(K))
    given = np.full((M, 2 * P), np.nan, np.float32)[:, :P]  # not contiguous
    assert matmul(a, b, out=given) is given
    np.testing.assert_allclose(given, want, rtol=1e-4, atol=1e-4 * np.sqrt(K))


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("M,K,P", NN_SHAPES, ids=str)
def test_column_blocks(threads, M, K, P):
    a, b = operands((M, K), (K, P), M + K + P)
    assert takes_columns(a, b) and not takes_panels(a, b)
    want = a.astype(np.float64) @ b
    np.testing.assert_allclose(matmul(a, b), want, rtol=1e-4, atol=1e-4 * np.sqrt(K))
    given = np.full((M, 2 * P), np.nan, np.float32)[:, :P]
    assert matmul(a, b, out=given) is given
    np.testing.assert_allclose(given, want, rtol=1e-4, atol=1e-4 * np.sqrt(K))


def test_blas_keeps_the_rest():
    """float64 (the gradient checks), short products and odd widths stay on
    BLAS."""
    a64, b64 = np.ones((300, 9)), np.ones((300, 64))
    assert not takes_tn_columns(a64, b64) and not takes_panels(a64, np.ones((9, 4)))
    a, b = operands((300, 9), (300, 40), 0)
    assert not takes_tn_columns(a, b)  # 40 columns: not whole blocks
    a, b = operands((100, 300), (300, 48), 1)
    assert not takes_panels(a, b) and not takes_columns(a, b)  # long sums, 48 columns
    np.testing.assert_allclose(matmul(a, b), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)


def test_thread_counts_agree():
    """Each output block is summed by one thread in one order: the result
    does not depend on the thread count (without JIT, numpy's products of
    each thread's share stand in for the kernels, and may round otherwise)."""
    a, b = operands((600, 24), (600, 64), 2)
    c, d = operands((130, 40), (40, 20), 3)
    e, f = operands((40, 300), (300, 96), 4)
    got = []
    for n in (1, 2):
        with numba_threads(n):
            got.append((matmul_tn(a, b), matmul(c, d), matmul(e, f)))
    for x, y in zip(*got):
        if config.DISABLE_JIT:
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-3)
        else:
            np.testing.assert_array_equal(x, y)
