"""The kernels' private helpers: the float32 tanh / sigmoid approximations of
_fastmath (accuracy, special values, float32 results, and that only float32
kernels use them) and the threaded matrix products of _gemm."""

import numpy as np
import pytest
from numba import njit

from gradcheck import numba_threads
from nnlab.kernels import lstm_recurrence_forward, rnn_recurrence_forward
from nnlab.kernels._fastmath import sigmoid32, tanh32
from nnlab.kernels._gemm import matmul, matmul_tn

# An exhaustive scan of every float32 in [0, 20] (run once, 2 minutes) found
# the largest errors at these points: tanh32 4.10e-7 at 5.827876,
# sigmoid32 2.27e-7 at 11.549100.
WORST_TANH_X = np.float32(5.827876091003418)
WORST_SIGMOID_X = np.float32(11.549099922180176)
LIMIT = 5e-7


@njit
def tanh32_array(x):
    out = np.empty(x.size, np.float32)
    for i in range(x.size):
        out[i] = tanh32(x[i])
    return out


@njit
def sigmoid32_array(x):
    out = np.empty(x.size, np.float32)
    for i in range(x.size):
        out[i] = sigmoid32(x[i])
    return out


@njit
def tanh32_scalar(x):
    return tanh32(x)


@njit
def sigmoid32_scalar(x):
    return sigmoid32(x)


F32_MAX = np.finfo(np.float32).max
SPECIAL = np.array([0.0, -0.0, 1e-45, -1e-45, 1e-30, -1e-30, 1e-7, -1e-7,
                    7.90531110763549805, -7.90531110763549805, 8.0, -8.0, 30.0, -30.0,
                    1e10, -1e10, 1e30, -1e30, F32_MAX, -F32_MAX, np.inf, -np.inf,
                    WORST_TANH_X, -WORST_TANH_X, WORST_SIGMOID_X, -WORST_SIGMOID_X],
                   np.float32)


def dense_grid():
    """400,001 evenly spaced float32 values in [-20, 20] plus the special ones."""
    return np.concatenate([np.linspace(-20, 20, 400_001).astype(np.float32), SPECIAL])


def exact_sigmoid(x):
    x = np.asarray(x, np.float64)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def test_tanh32_accuracy():
    x = dense_grid()
    y = tanh32_array(x)
    assert y.dtype == np.float32
    err = np.abs(y.astype(np.float64) - np.tanh(x.astype(np.float64)))
    assert err.max() < LIMIT, f"max error {err.max():.3e} at x = {x[np.argmax(err)]}"
    assert err.max() > 3e-7                      # the grid does reach the bad spots


def test_sigmoid32_accuracy():
    x = dense_grid()
    y = sigmoid32_array(x)
    assert y.dtype == np.float32
    err = np.abs(y.astype(np.float64) - exact_sigmoid(x))
    assert err.max() < LIMIT, f"max error {err.max():.3e} at x = {x[np.argmax(err)]}"


def test_fastmath_special_values():
    y = tanh32_array(SPECIAL)
    s = sigmoid32_array(SPECIAL)
    np.testing.assert_array_equal(tanh32_array(-SPECIAL), -y)        # exactly odd
    np.testing.assert_array_equal(np.signbit(tanh32_array(np.float32([0.0, -0.0]))),
                                  [False, True])                     # tanh(-0) = -0
    assert np.all(np.abs(y) <= 1) and np.all((s >= 0) & (s <= 1))
    np.testing.assert_array_equal(tanh32_array(np.float32([np.inf, -np.inf, 1e30])), [1, -1, 1])
    np.testing.assert_array_equal(sigmoid32_array(np.float32([np.inf, -np.inf, 0.0])),
                                  [1, 0, 0.5])
    assert np.isnan(tanh32_array(np.float32([np.nan]))[0])
    assert np.isnan(sigmoid32_array(np.float32([np.nan]))[0])
    # tiny arguments: tanh(x) = x to float32 precision
    tiny = np.float32([1e-30, -1e-20, 1e-10, 1e-5])
    np.testing.assert_allclose(tanh32_array(tiny), tiny, rtol=2e-7)


@pytest.mark.parametrize("fn", [tanh32_scalar, sigmoid32_scalar], ids=["tanh32", "sigmoid32"])
def test_fastmath_returns_float32(fn):
    y = fn(np.float32(0.3))
    if hasattr(fn, "nopython_signatures"):       # compiled: Numba boxes float32 as float
        (sig,) = fn.nopython_signatures
        assert str(sig.return_type) == "float32"
    else:                                        # NUMBA_DISABLE_JIT: numpy scalars
        assert isinstance(y, np.float32)
    assert abs(float(y) - (np.tanh(0.3) if fn is tanh32_scalar else exact_sigmoid(0.3))) < LIMIT


# ---------------------------------------- the kernels use the approximations
# only in float32: with h0 = 0 (and Wh = 0) the pre-activations are xw exactly.

def sweep(dtype, width):
    return np.linspace(-6, 6, width).reshape(1, 1, width).astype(dtype)


def test_rnn_float64_uses_exact_tanh_float32_the_fast_one(threads):
    xw64 = sweep(np.float64, 4001)
    H = xw64.shape[-1]
    h64, _ = rnn_recurrence_forward(xw64, np.zeros((1, H)), np.zeros((H, H)))
    fast_err = np.abs(tanh32_array(xw64.ravel().astype(np.float32)) - np.tanh(xw64.ravel()))
    assert fast_err.max() > 1e-7                 # the fast tanh would be visible here
    assert np.abs(h64.ravel() - np.tanh(xw64.ravel())).max() < 1e-15
    xw32 = xw64.astype(np.float32)
    h32, _ = rnn_recurrence_forward(xw32, np.zeros((1, H), np.float32),
                                    np.zeros((H, H), np.float32))
    np.testing.assert_array_equal(h32.ravel(), tanh32_array(xw32.ravel()))


def test_lstm_float64_uses_exact_gates_float32_the_fast_ones(threads):
    H = 301
    rng = np.random.default_rng(0)
    xw64 = rng.uniform(-6, 6, (1, 1, 4 * H))
    z = xw64.ravel()
    i, f, g, o = (exact_sigmoid(z[:H]), exact_sigmoid(z[H:2 * H]), np.tanh(z[2 * H:3 * H]),
                  exact_sigmoid(z[3 * H:]))
    c0 = rng.uniform(-2, 2, (1, H))
    c_exact = f * c0[0] + i * g
    h_exact = o * np.tanh(c_exact)
    h64, cache = lstm_recurrence_forward(xw64, np.zeros((1, H)), c0, np.zeros((H, 4 * H)))
    assert np.abs(h64.ravel() - h_exact).max() < 1e-15
    assert np.abs(cache.c_last.ravel() - c_exact).max() < 1e-15
    # float32: the same formulas with the fast functions, in float32, bit for bit
    z32 = z.astype(np.float32)
    c32 = c0.astype(np.float32)
    i, f, o = (sigmoid32_array(z32[k * H:(k + 1) * H]) for k in (0, 1, 3))
    g = tanh32_array(z32[2 * H:3 * H])
    c_fast = f * c32[0] + i * g
    h_fast = o * tanh32_array(c_fast)
    h32, cache32 = lstm_recurrence_forward(xw64.astype(np.float32), np.zeros((1, H), np.float32),
                                           c32, np.zeros((H, 4 * H), np.float32))
    np.testing.assert_array_equal(h32.ravel(), h_fast)
    np.testing.assert_array_equal(cache32.c_last.ravel(), c_fast)
    assert np.abs(h32.ravel() - h_exact).max() < 2e-6


# ==================================================================== _gemm

# (M, K, P) for matmul: M < threads, M = 128..130 (two blocks of 64+ rows
# at 2 threads), zero-sized dims. For matmul_tn the split is along K.
MM_SHAPES = [(1, 5, 3), (2, 1, 1), (0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0), (200, 0, 3),
             (128, 7, 5), (129, 3, 6), (130, 8, 1), (257, 4, 3)]
TN_SHAPES = [(1, 5, 3), (2, 1, 1), (0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0), (3, 200, 0),
             (4, 128, 5), (1, 129, 6), (5, 130, 1), (3, 257, 2), (0, 300, 2)]


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("M,K,P", MM_SHAPES, ids=str)
def test_matmul(threads, dtype, M, K, P):
    rng = np.random.default_rng(M + K + P)
    a = rng.standard_normal((M, K)).astype(dtype)
    b = rng.standard_normal((K, P)).astype(dtype)
    out = matmul(a, b)
    assert out.shape == (M, P) and out.dtype == dtype
    rtol = 1e-13 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out, a @ b, rtol=rtol, atol=rtol * max(1, K))
    given = np.full((M, P), np.nan, dtype)
    assert matmul(a, b, out=given) is given
    np.testing.assert_array_equal(given, out)


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("M,K,P", TN_SHAPES, ids=str)
def test_matmul_tn(threads, dtype, M, K, P):
    rng = np.random.default_rng(M * K + P)
    a = rng.standard_normal((K, M)).astype(dtype)
    b = rng.standard_normal((K, P)).astype(dtype)
    out = matmul_tn(a, b)
    assert out.shape == (M, P) and out.dtype == dtype
    rtol = 1e-13 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out, a.T @ b, rtol=rtol, atol=rtol * max(1, K))


def test_matmul_thread_counts_agree():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((300, 9)), rng.standard_normal((9, 4))
    a2 = rng.standard_normal((300, 5))
    got = []
    for n in (1, 2):
        with numba_threads(n):
            got.append((matmul(a, b), matmul_tn(a, a2)))
    np.testing.assert_array_equal(got[0][0], got[1][0])       # rows never mix
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-13, atol=1e-13)
