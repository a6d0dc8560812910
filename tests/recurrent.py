"""Shapes, tolerances and LSTM data shared by the recurrent kernel tests
(test_kernels_rnn.py, test_kernels_lstm.py, test_kernels_lstm_cell.py). A
helper module, not a test module (test modules never import each other)."""

import numpy as np
import pytest

from gradcheck import assert_close, grid
from nnlab.kernels import lstm_backward, lstm_forward, rnn_backward, rnn_forward

DTYPES = [np.float64, np.float32]
REF_TOL = {np.float64: 1e-12, np.float32: 1e-5}   # float32 uses the fast tanh


def case(T, N, D, H):
    return pytest.param(T, N, D, H, id=f"T{T}-N{N}-D{D}-H{H}")


# T = 1, N = 1, N > 2 (split 2 + 1, 2 + 2, 3 + 2 over the threads fixture's
# 2 threads), H never a multiple of 8. N = 9 splits 5 + 4, enough rows a
# thread for the LSTM's panel products (kernels/_panels.py), whose panels
# and columns these H leave partly padding.
GRAD_CASES = [
    case(1, 1, 3, 2),
    case(4, 1, 2, 3),
    case(1, 3, 2, 5),
    case(3, 3, 4, 5),
    case(5, 4, 3, 7),
    case(4, 5, 2, 9),
    case(2, 9, 2, 5),
]

# Step-by-step reference (forward, BPTT written out).
REF_CASES = [case(1, 1, 3, 2), case(4, 3, 2, 3), case(6, 5, 4, 9), case(12, 4, 8, 13),
             case(5, 9, 3, 17)]


def lstm_data(rng, T, N, D, H, dtype=np.float64, scale=0.5):
    """x: (T, N, D), h0, c0: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,) on the grid."""
    x = grid(rng, (T, N, D))
    h0, c0 = grid(rng, (N, H)) * scale, grid(rng, (N, H)) * scale
    Wx, Wh, b = (grid(rng, s) * scale for s in [(D, 4 * H), (H, 4 * H), (4 * H,)])
    return [a.astype(dtype) for a in (x, h0, c0, Wx, Wh, b)]


def rand_data(rng, T, N, D, H, dtype):
    """The same arrays as lstm_data, from unrounded normals."""
    x = rng.standard_normal((T, N, D))
    h0, c0 = 0.5 * rng.standard_normal((N, H)), 0.5 * rng.standard_normal((N, H))
    Wx, Wh, b = (0.5 * rng.standard_normal(s) for s in [(D, 4 * H), (H, 4 * H), (4 * H,)])
    return [a.astype(dtype) for a in (x, h0, c0, Wx, Wh, b)]


def run_lstm(args, dh, dcT):
    """lstm_forward(*args), then lstm_backward: (h, C_T, dx, dh0, dc0, dWx,
    dWh, db), for tests that compare two ways of running the same LSTM."""
    h, cache = lstm_forward(*args)
    return (h, cache.c_last) + lstm_backward(dh, cache, dcT)


def run_rnn(args, dh):
    """rnn_forward(*args), then rnn_backward: (h, dx, dh0, dWx, dWh, db)."""
    h, cache = rnn_forward(*args)
    return (h,) + rnn_backward(dh, cache)


def assert_runs_agree(first, second, tol):
    for a, b in zip(first, second, strict=True):
        assert_close(a, b, tol)
