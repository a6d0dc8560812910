"""relu_forward / relu_backward and linear_forward / linear_backward:
gradient checks, reference agreement, thread counts, need_dx, non-contiguous
inputs, no mutation and input validation."""

import numpy as np
import pytest

import reference_dense as ref
from nnlab.kernels import linear as linear_module
from gradcheck import (
    RTOL,
    assert_close,
    check_grad,
    grid,
    numeric_grad_array,
)
from nnlab.kernels import (
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
)

DTYPES = [np.float64, np.float32]


# ======================================================================= relu

RELU_SHAPES = [(7,), (3, 4), (5, 6), (1, 2, 3, 4), (2, 3, 4, 5), (5, 2, 3, 3), (3, 2, 3, 2, 2)]


@pytest.mark.parametrize("shape", RELU_SHAPES, ids=str)
def test_relu_gradcheck(threads, shape):
    rng = np.random.default_rng(len(shape) * 10 + shape[0])
    x = grid(rng, shape, nonzero=True)          # |x| >= 2**-6 > 1e-3: no kink in reach
    assert np.min(np.abs(x)) > 1e-3
    out, cache = relu_forward(x.copy())
    R = grid(rng, out.shape)
    dx = relu_backward(R, cache)
    check_grad("relu dx", dx, numeric_grad_array(lambda: relu_forward(x)[0], x, R))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 10), (5, 3, 4, 4), (8, 7), (1, 9), (1000,)], ids=str)
def test_relu_matches_reference(threads, dtype, shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(dtype)
    out, cache = relu_forward(x)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_array_equal(out, ref.relu_forward(x))
    dout = rng.standard_normal(shape).astype(dtype)
    dx = relu_backward(dout, cache)
    assert dx.dtype == dtype
    np.testing.assert_array_equal(dx, ref.relu_backward(dout, x))


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
def test_relu_thread_counts(threads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 7, 7))
    out, cache = relu_forward(x)
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    dout = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(relu_backward(dout, cache), np.where(x > 0, dout, 0))


def test_relu_at_zero():
    """relu(0) = 0 and the gradient at 0 is 0 (the mask is out > 0)."""
    x = np.array([[-1.0, 0.0, 2.0], [0.0, -0.0, 1e-300]])
    out, cache = relu_forward(x)
    np.testing.assert_array_equal(out, [[0, 0, 2], [0, 0, 1e-300]])
    dx = relu_backward(np.full(x.shape, 3.0), cache)
    np.testing.assert_array_equal(dx, [[0, 0, 3], [0, 0, 3]])


def test_relu_non_contiguous_and_no_mutation():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((4, 6))
    saved = base.copy()
    x = base.T                                   # not C-contiguous
    out, cache = relu_forward(x)
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    dout = rng.standard_normal((6, 4))
    np.testing.assert_array_equal(relu_backward(dout.T.copy().T, cache), np.where(x > 0, dout, 0))
    np.testing.assert_array_equal(base, saved)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float16, bool])
def test_relu_rejects_non_float(dtype):
    with pytest.raises(TypeError):
        relu_forward(np.ones((2, 3), dtype))


def test_relu_backward_rejects_wrong_shape():
    _, cache = relu_forward(np.ones((2, 3)))
    with pytest.raises(ValueError):
        relu_backward(np.ones((3, 2)), cache)
    with pytest.raises(ValueError):
        relu_backward(np.ones(6), cache)


# ===================================================================== linear

LINEAR_SHAPES = [(1, 3, 2), (2, 4, 3), (3, 5, 4), (5, 6, 3), (4, 1, 1), (3, 8, 1), (5, 2, 7)]


@pytest.mark.parametrize("kernel", [False, True], ids=["numpy", "kernel"])
@pytest.mark.parametrize("N,D,M", LINEAR_SHAPES)
def test_linear_gradcheck(monkeypatch, kernel, N, D, M):
    """kernel: backward through the two-thread kernel at any size."""
    if kernel:
        monkeypatch.setattr(linear_module, "MIN_WORK", 0)
    rng = np.random.default_rng(N * 100 + D * 10 + M)
    x, w, b = grid(rng, (N, D)), grid(rng, (D, M)), grid(rng, M)
    out, cache = linear_forward(x.copy(), w.copy(), b.copy())
    R = grid(rng, out.shape)
    dx, dw, db = linear_backward(R, cache)

    def f():
        return linear_forward(x, w, b)[0]

    check_grad("linear dx", dx, numeric_grad_array(f, x, R))
    check_grad("linear dw", dw, numeric_grad_array(f, w, R))
    check_grad("linear db", db, numeric_grad_array(f, b, R))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,D,M", [(5, 7, 4), (8, 10, 6), (1, 3, 2), (6, 1, 5), (7, 12, 1)])
def test_linear_matches_reference(dtype, N, D, M):
    rng = np.random.default_rng(N * 100 + D * 10 + M)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in [(N, D), (D, M), (M,)])
    out, cache = linear_forward(x, w, b)
    assert out.dtype == dtype and out.shape == (N, M)
    x64, w64, b64 = x.astype(np.float64), w.astype(np.float64), b.astype(np.float64)
    assert_close(out, ref.linear_forward(x64, w64, b64), RTOL[dtype], "out")
    dout = rng.standard_normal((N, M)).astype(dtype)
    got = linear_backward(dout, cache)
    want = ref.linear_backward(dout.astype(np.float64), x64, w64)
    for name, g, r in zip(["dx", "dw", "db"], got, want):
        assert g.dtype == dtype, name
        assert_close(g, r, RTOL[dtype], name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_need_dx_false(dtype):
    rng = np.random.default_rng(9)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in [(5, 4), (4, 3), (3,)])
    out, cache = linear_forward(x, w, b)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dw, db = linear_backward(dout, cache)
    none, dw2, db2 = linear_backward(dout, cache, need_dx=False)
    assert dx is not None and dx.shape == x.shape
    assert none is None
    np.testing.assert_array_equal(dw2, dw)
    np.testing.assert_array_equal(db2, db)


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_backward_threads_on_big_layers(threads, dtype):
    """Above MIN_WORK multiply-adds, dx and dw run at once on two threads (or
    one after the other on one): the same as plain numpy, with or without dx."""
    N, D, M = 32, 384, 384
    assert N * D * M >= linear_module.MIN_WORK
    rng = np.random.default_rng(11)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in [(N, D), (D, M), (M,)])
    out, cache = linear_forward(x, w, b)
    dout = rng.standard_normal((N, M)).astype(dtype)
    dx, dw, db = linear_backward(dout, cache)
    want = ref.linear_backward(dout.astype(np.float64), x.astype(np.float64),
                               w.astype(np.float64))
    for name, g, r in zip(["dx", "dw", "db"], (dx, dw, db), want):
        assert g.dtype == dtype, name
        assert_close(g, r, RTOL[dtype], name)
    none, dw2, db2 = linear_backward(dout, cache, need_dx=False)
    assert none is None
    np.testing.assert_array_equal(dw2, dw)


def test_linear_non_contiguous_and_no_mutation():
    rng = np.random.default_rng(10)
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    saved = [a.copy() for a in (x, w, b)]
    out, cache = linear_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    grads = linear_backward(dout, cache)
    out2, cache2 = linear_forward(np.asfortranarray(x), np.asfortranarray(w),
                                  np.stack([b, b], 1)[:, 0])
    np.testing.assert_allclose(out2, out, rtol=1e-14, atol=1e-14)
    for g2, g in zip(linear_backward(np.asfortranarray(dout), cache2), grads):
        np.testing.assert_allclose(g2, g, rtol=1e-14, atol=1e-14)
    for a, s in zip((x, w, b), saved):
        np.testing.assert_array_equal(a, s)


_x, _w, _b = np.zeros((3, 4)), np.zeros((4, 5)), np.zeros(5)
_f32 = np.float32

LINEAR_BAD = [
    pytest.param(_x[0], _w, _b, ValueError, id="x-1d"),
    pytest.param(_x[None], _w, _b, ValueError, id="x-3d"),
    pytest.param(_x, _w[0], _b, ValueError, id="w-1d"),
    pytest.param(_x, _w, _b[None], ValueError, id="b-2d"),
    pytest.param(_x, _w[:3], _b, ValueError, id="D-mismatch"),
    pytest.param(_x, _w, _b[:4], ValueError, id="b-length"),
    pytest.param(_x.astype(_f32), _w, _b, TypeError, id="x32-w64"),
    pytest.param(_x, _w.astype(_f32), _b, TypeError, id="x64-w32"),
    pytest.param(_x, _w, _b.astype(_f32), TypeError, id="b32"),
    pytest.param(_x.astype(np.int64), _w.astype(np.int64), _b.astype(np.int64), TypeError,
                 id="all-int"),
    pytest.param(_x.astype(np.int32), _w, _b, TypeError, id="x-int"),
]


@pytest.mark.parametrize("x,w,b,exc", LINEAR_BAD)
def test_linear_forward_rejects(x, w, b, exc):
    with pytest.raises(exc):
        linear_forward(x, w, b)


def test_linear_backward_rejects_bad_dout():
    out, cache = linear_forward(_x, _w, _b)
    with pytest.raises(ValueError):
        linear_backward(out[:, :4], cache)
    with pytest.raises(ValueError):
        linear_backward(out[0], cache)
    with pytest.raises(TypeError):
        linear_backward(out.astype(np.float32), cache)
