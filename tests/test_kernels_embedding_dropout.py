"""embedding_forward / embedding_backward and dropout_forward /
dropout_backward: agreement with numpy, float64 gradient checks, thread
chunking, statistics, and input validation.

Both ops are linear in the checked argument, so the gradient checks use
gradcheck.py's grid data and plain central differences: exact in float64.
"""

import numpy as np
import pytest

import reference_dense as ref_dense
import reference_embedding as ref_embed
from gradcheck import check_grad, grid, numba_threads, numeric_grad_array
from nnlab.kernels import (
    dropout_backward,
    dropout_forward,
    embedding_backward,
    embedding_forward,
)

DTYPES = [np.float64, np.float32]


# ================================================================== embedding

# ids shapes of every rank; D = 33 and 40 split the columns over 2 threads
# (the kernel uses D // 16 threads at most): 17 + 16 and 20 + 20.
EMB_CASES = [
    pytest.param((), 5, 3, id="scalar-V5-D3"),
    pytest.param((7,), 4, 2, id="7-V4-D2"),
    pytest.param((3, 4), 6, 5, id="3x4-V6-D5"),
    pytest.param((2, 3, 2), 3, 33, id="2x3x2-V3-D33"),
    pytest.param((4, 5), 50, 40, id="4x5-V50-D40"),
    pytest.param((1,), 1, 1, id="1-V1-D1"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("id_dtype", [np.int64, np.int32, np.uint8])
@pytest.mark.parametrize("shape,V,D", EMB_CASES)
def test_embedding_matches_one_hot_and_scatter_add(threads, shape, V, D, dtype, id_dtype):
    rng = np.random.default_rng(V * 100 + D + len(shape))
    ids = rng.integers(0, V, shape).astype(id_dtype)
    w = rng.standard_normal((V, D)).astype(dtype)
    out, cache = embedding_forward(ids, w)
    assert out.shape == shape + (D,) and out.dtype == dtype
    np.testing.assert_array_equal(out, ref_embed.embedding_forward(ids, w))  # one_hot(ids) @ w
    np.testing.assert_array_equal(out, w[ids])
    dout = rng.standard_normal(shape + (D,)).astype(dtype)
    dw = embedding_backward(dout, cache)
    assert dw.shape == (V, D) and dw.dtype == dtype
    want = ref_embed.embedding_backward(dout.astype(np.float64), ids, V)
    np.testing.assert_allclose(dw, want, rtol=1e-12 if dtype == np.float64 else 1e-6,
                               atol=1e-12 if dtype == np.float64 else 1e-6)
    np.testing.assert_allclose(dw, ref_embed.one_hot(ids, V).reshape(-1, V).T @ dout.reshape(-1, D),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,V,D", EMB_CASES)
def test_embedding_gradcheck(threads, shape, V, D):
    rng = np.random.default_rng(V + D)
    ids = rng.integers(0, V, shape)
    w = grid(rng, (V, D))
    out, cache = embedding_forward(ids, w.copy())
    R = grid(rng, out.shape)
    dw = embedding_backward(R, cache)
    check_grad("embedding dw", dw, numeric_grad_array(lambda: embedding_forward(ids, w)[0], w, R))


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
def test_embedding_repeated_ids_accumulate(threads):
    w = np.arange(12.0).reshape(4, 3)
    ids = np.array([[2, 2, 0], [2, 3, 0]])
    out, cache = embedding_forward(ids, w)
    np.testing.assert_array_equal(out[0, 0], w[2])
    dout = np.arange(18.0).reshape(2, 3, 3) + 1
    dw = embedding_backward(dout, cache)
    np.testing.assert_array_equal(dw[2], dout[0, 0] + dout[0, 1] + dout[1, 0])
    np.testing.assert_array_equal(dw[0], dout[0, 2] + dout[1, 2])
    np.testing.assert_array_equal(dw[3], dout[1, 1])
    np.testing.assert_array_equal(dw[1], 0)                  # never looked up: exactly 0


def test_embedding_backward_threads_agree():
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 9, (6, 7))
    w = rng.standard_normal((9, 70))
    dout = rng.standard_normal((6, 7, 70))
    results = []
    for n in (1, 2):
        with numba_threads(n):
            out, cache = embedding_forward(ids, w)
            results.append(embedding_backward(dout, cache))
    np.testing.assert_array_equal(results[0], results[1])


def test_embedding_output_is_a_copy():
    w = np.ones((3, 2))
    out, cache = embedding_forward(np.array([1, 1]), w)
    out[0, 0] = 5.0
    assert w[1, 0] == 1.0 and out[1, 0] == 1.0


def test_embedding_empty_ids():
    w = np.ones((3, 2))
    out, cache = embedding_forward(np.zeros((0, 4), np.int64), w)
    assert out.shape == (0, 4, 2)
    dw = embedding_backward(np.zeros((0, 4, 2)), cache)
    assert dw.shape == (3, 2)
    np.testing.assert_array_equal(dw, 0)


@pytest.mark.parametrize("bad", [[0, 3], [-1, 0], [5], [2 ** 40], np.array([2 ** 63], np.uint64)],
                         ids=["V", "-1", "V+2", "2**40", "2**63-uint64"])
def test_embedding_rejects_out_of_range_ids(bad):
    with pytest.raises(ValueError):
        embedding_forward(np.asarray(bad), np.ones((3, 2)))


@pytest.mark.parametrize("bad", [np.array([0.0, 1.0]), np.array([True, False]),
                                 np.array(["a"]), np.array([1.0 + 0j])],
                         ids=["float", "bool", "str", "complex"])
def test_embedding_rejects_non_integer_ids(bad):
    with pytest.raises(TypeError):
        embedding_forward(bad, np.ones((3, 2)))


def test_embedding_rejects_bad_weights_and_gradients():
    with pytest.raises(ValueError):
        embedding_forward(np.array([0]), np.ones(3))              # 1-D w
    with pytest.raises(TypeError):
        embedding_forward(np.array([0]), np.ones((3, 2), np.int64))
    _, cache = embedding_forward(np.array([[0, 1], [2, 0]]), np.ones((3, 2)))
    with pytest.raises(ValueError):
        embedding_backward(np.ones((3, 2)), cache)                # 3 rows for 4 ids
    with pytest.raises(ValueError):
        embedding_backward(np.ones((2, 2, 3)), cache)             # wrong D


# ==================================================================== dropout

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 4), (3, 1, 2, 5)], ids=str)
def test_dropout_matches_numpy(threads, shape, p, dtype):
    rng = np.random.default_rng(len(shape) * 10 + int(p * 10))
    x = rng.standard_normal(shape).astype(dtype)
    u = rng.random(shape)
    out, cache = dropout_forward(x, p, u)
    assert out.shape == shape and out.dtype == dtype
    # x * (1 / (1 - p)) vs x / (1 - p): two roundings, up to 2 ulp apart
    rtol = 2.5e-16 * 2 if dtype == np.float64 else 1.2e-7 * 2
    np.testing.assert_allclose(out, ref_dense.dropout_forward(x, p, u), rtol=rtol, atol=0)
    np.testing.assert_array_equal(out == 0, (u < p) | (x == 0))
    dout = rng.standard_normal(shape).astype(dtype)
    dx = dropout_backward(dout, cache)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, ref_dense.dropout_backward(dout, p, u), rtol=rtol, atol=0)


@pytest.mark.parametrize("u_dtype", [np.float64, np.float32])
def test_dropout_boundary_u_equal_p_is_kept(u_dtype):
    p = 0.25                                   # exact in both float types
    t = u_dtype
    u = np.array([p, np.nextafter(t(p), t(0)), 0.0, np.nextafter(t(1), t(0))], u_dtype)
    out, cache = dropout_forward(np.ones(4), p, u)
    np.testing.assert_array_equal(out, [4 / 3, 0, 0, 4 / 3])


@pytest.mark.parametrize("p", [0.2, 0.7])
@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 2, 3)], ids=str)
def test_dropout_gradcheck(threads, shape, p):
    rng = np.random.default_rng(int(p * 10) + len(shape))
    x = grid(rng, shape)
    u = rng.random(shape)
    out, cache = dropout_forward(x.copy(), p, u)
    R = grid(rng, shape)
    dx = dropout_backward(R, cache)
    check_grad("dropout dx", dx, numeric_grad_array(lambda: dropout_forward(x, p, u)[0], x, R))


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_p0_is_identity(dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 5)).astype(dtype)
    u = rng.random((3, 5))
    u[0, 0] = 0.0                                   # u = 0 >= p = 0 as well
    out, cache = dropout_forward(x, 0.0, u)
    np.testing.assert_array_equal(out, x)
    dout = rng.standard_normal((3, 5)).astype(dtype)
    np.testing.assert_array_equal(dropout_backward(dout, cache), dout)


@pytest.mark.parametrize("p", [0.3, 0.8])
def test_dropout_preserves_the_expected_value(p):
    """Over K = 40,000 draws of u the mean of out is x (6 sigma: the standard
    error of the mean is |x| sqrt(p / (1 - p) / K)), and about 1 - p is kept."""
    rng = np.random.default_rng(2024)
    K = 40_000
    x = np.array([1.0, -2.0, 0.5, 3.0, -0.25])
    xs = np.broadcast_to(x, (K, x.size)).copy()
    out, _ = dropout_forward(xs, p, rng.random(xs.shape))
    sigma = np.abs(x) * np.sqrt(p / (1 - p) / K)
    assert np.all(np.abs(out.mean(axis=0) - x) < 6 * sigma)
    kept = np.mean(out != 0)
    assert abs(kept - (1 - p)) < 6 * np.sqrt(p * (1 - p) / out.size)


def test_dropout_does_not_mutate_inputs():
    rng = np.random.default_rng(5)
    x, u = rng.standard_normal((4, 3)), rng.random((4, 3))
    xs, us = x.copy(), u.copy()
    out, cache = dropout_forward(x, 0.5, u)
    dout = rng.standard_normal((4, 3))
    ds = dout.copy()
    dropout_backward(dout, cache)
    for a, s in [(x, xs), (u, us), (dout, ds)]:
        np.testing.assert_array_equal(a, s)


def test_dropout_non_contiguous():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 4)).T
    u = rng.random((5, 4)).T
    out, cache = dropout_forward(x, 0.4, u)
    np.testing.assert_allclose(out, ref_dense.dropout_forward(x, 0.4, u), rtol=1e-15)
    dout = rng.standard_normal((5, 4)).T
    np.testing.assert_allclose(dropout_backward(dout, cache),
                               ref_dense.dropout_backward(dout, 0.4, u), rtol=1e-15)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan"), float("inf")])
def test_dropout_rejects_invalid_p(p):
    with pytest.raises(ValueError):
        dropout_forward(np.ones(3), p, np.full(3, 0.5))


def test_dropout_rejects_bad_inputs():
    with pytest.raises(TypeError):
        dropout_forward(np.ones(3, np.int64), 0.5, np.full(3, 0.5))
    with pytest.raises(ValueError):
        dropout_forward(np.ones(3), 0.5, np.full(4, 0.5))
    with pytest.raises(ValueError):
        dropout_forward(np.ones((3, 2)), 0.5, np.full((2, 3), 0.5))
    _, cache = dropout_forward(np.ones((3, 2)), 0.5, np.full((3, 2), 0.5))
    with pytest.raises(ValueError):
        dropout_backward(np.ones((2, 3)), cache)
