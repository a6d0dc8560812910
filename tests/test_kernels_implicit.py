"""The lanes convolution's register-blocked products (kernels/_implicit.py)
against plain numpy: filter counts that leave a block of ROWS (or DW_ROWS)
part-filled, tap counts that leave a block of DW_TAPS short, both float
types, and weight sums longer than one DW_CHUNK."""

import numpy as np
import pytest

from nnlab.kernels import _implicit


def gathered(X, offs, L):
    """The columns the product reads in place: (K, L)."""
    return X.reshape(-1)[offs[:, None] + np.arange(L)]


def case(dtype, F, K, L, rows=3, seed=0):
    rng = np.random.default_rng(seed)
    Lx = 40 + L
    X = rng.standard_normal((rows, Lx)).astype(dtype)
    offs = rng.integers(0, rows * Lx - L + 1, size=K).astype(np.intp)
    return rng, X, offs


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("F", [1, 7, 8, 9, 17])
@pytest.mark.parametrize("K", [1, 5, 25])
def test_convolve_matches_numpy(dtype, rtol, F, K):
    L = 2 * _implicit.WIDTH
    rng, X, offs = case(dtype, F, K, L)
    Wk = rng.standard_normal((F, K)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    acc = np.full((F, L), np.nan, dtype)
    _implicit.convolve(Wk, X, offs, b, acc)
    want = b[:, None] + Wk.astype(np.float64) @ gathered(X, offs, L)
    np.testing.assert_allclose(acc, want, rtol=rtol, atol=rtol * np.abs(want).max())


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-4)])
@pytest.mark.parametrize("F", [1, 3, 4, 9])
@pytest.mark.parametrize("K", [1, 6, 9])
@pytest.mark.parametrize("L", [_implicit.LANES, _implicit.DW_CHUNK + 3 * _implicit.LANES])
def test_weight_sums_add_to_what_was_there(dtype, rtol, F, K, L):
    rng, X, offs = case(dtype, F, K, L)
    D = rng.standard_normal((F, L)).astype(dtype)
    part = rng.standard_normal((F, K, _implicit.LANES)).astype(dtype)
    before = part.sum(axis=2)
    _implicit.weight_sums(D, X, offs, part)
    want = before + D.astype(np.float64) @ gathered(X, offs, L).T
    np.testing.assert_allclose(part.sum(axis=2), want, rtol=rtol,
                               atol=rtol * np.abs(want).max())


def test_padded_length_is_whole_blocks():
    W = _implicit.WIDTH
    assert [_implicit.padded_length(n) for n in (1, W, W + 1, 3 * W - 8)] == [W, W, 2 * W, 3 * W]
