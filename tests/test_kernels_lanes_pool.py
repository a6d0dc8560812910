"""The fused layers on the lanes path keep each pooling window's first
maximum (kernels/_lanes_pool.py) instead of their activations: the codes
against the reference, ties and windows that ReLU closes, and the gradients
against those from the activations and from the separate ops."""

import numpy as np
import pytest

import reference_conv as ref_conv
import reference_dense as ref_dense
from nnlab.kernels import (conv2d_backward, conv2d_forward, conv2d_relu_pool_backward,
                           conv2d_relu_pool_forward, conv_fused, maxpool2d_backward,
                           maxpool2d_forward, relu_backward, relu_forward)

SHAPES = [  # N, C, H, W, F, kernel, pad, pool
    pytest.param(11, 1, 8, 8, 5, 3, 1, 2, id="3x3-pool2-partial-block"),
    pytest.param(9, 2, 7, 9, 3, 3, 1, 2, id="odd-sides-drop-a-row-and-a-column"),
    pytest.param(8, 3, 9, 9, 4, 3, 0, 3, id="pool3"),
    pytest.param(17, 1, 12, 12, 6, 5, 2, 2, id="lenet-conv1-like"),
]


def tied_data(dtype, N, C, H, W, F, k, seed):
    """Small integers: the sums are exact in either precision, many windows
    hold their maximum more than once, and many are closed by ReLU (their
    maximum is exactly 0)."""
    rng = np.random.default_rng(seed)
    return (rng.integers(-1, 2, (N, C, H, W)).astype(dtype),
            rng.integers(0, 2, (F, C, k, k)).astype(dtype),
            rng.integers(-1, 1, F).astype(dtype))


def separate(x, w, b, pad, pool, dout):
    """Forward and backward through conv2d, relu and maxpool2d in turn, each
    window's gradient going to its first maximum."""
    z, cz = conv2d_forward(x, w, b, 1, pad)
    a, ca = relu_forward(z)
    out, cp = maxpool2d_forward(a, pool)
    return out, conv2d_backward(relu_backward(maxpool2d_backward(dout, cp), ca), cz), a


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N,C,H,W,F,k,pad,pool", SHAPES)
def test_ties_and_closed_windows(threads, dtype, N, C, H, W, F, k, pad, pool):
    x, w, b = tied_data(dtype, N, C, H, W, F, k, seed=N)
    out, cache = conv2d_relu_pool_forward(x, w, b, 1, pad, pool)
    assert cache[2].shape[0] == 0 and cache[3] is not None  # codes, not activations
    dout = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    want_out, want_grads, a = separate(x, w, b, pad, pool, dout)
    np.testing.assert_array_equal(out, want_out)
    codes = ref_conv.unpack_codes(cache[3], N)
    np.testing.assert_array_equal(codes, ref_conv.relu_pool_codes(a, pool))
    assert (codes == 255).any() and (codes == 0).any() and (codes > 0).any()
    QH, QW = a.shape[2] // pool, a.shape[3] // pool
    win = a[:, :, :QH * pool, :QW * pool].reshape(N, F, QH, pool, QW, pool)
    top = win.max(axis=(3, 5), keepdims=True)
    assert (((win == top) & (top > 0)).sum(axis=(3, 5)) > 1).any()  # ties were there to break
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for got, want in zip(conv2d_relu_pool_backward(dout, cache), want_grads):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    # Without dx (a first layer), from the codes straight into the lanes layout:
    dx, dw, db = conv2d_relu_pool_backward(dout, cache, need_dx=False)
    assert dx is None
    np.testing.assert_allclose(dw, want_grads[1], rtol=tol, atol=tol)
    np.testing.assert_allclose(db, want_grads[2], rtol=tol, atol=tol)


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("N,C,H,W,F,k,pad,pool", SHAPES)
def test_same_gradients_as_from_the_activations(monkeypatch, threads, N, C, H, W, F, k, pad,
                                                pool):
    """The codes give the gradient of the sums that the activations gave,
    value for value, so the rest of backward is unchanged; db alone may
    round otherwise (for 3 x 3 windows the activations' path sums it in
    another order)."""
    rng = np.random.default_rng(N)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = rng.standard_normal((F, C, k, k)).astype(np.float32)
    b = rng.standard_normal(F).astype(np.float32)
    out, cache = conv2d_relu_pool_forward(x, w, b, 1, pad, pool)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    got = conv2d_relu_pool_backward(dout, cache)
    first = conv2d_relu_pool_backward(dout, cache, need_dx=False)
    assert first[0] is None
    np.testing.assert_array_equal(first[1], got[1])
    np.testing.assert_allclose(first[2], got[2], rtol=1e-6, atol=1e-6)
    monkeypatch.setattr(conv_fused, "arg_suits", lambda pool: False)
    out_a, cache_a = conv2d_relu_pool_forward(x, w, b, 1, pad, pool)
    assert cache_a[3] is None and cache_a[2].shape[0] == N
    np.testing.assert_array_equal(out, out_a)
    dx, dw, db = conv2d_relu_pool_backward(dout, cache_a)
    np.testing.assert_array_equal(got[0], dx)
    np.testing.assert_array_equal(got[1], dw)
    np.testing.assert_allclose(got[2], db, rtol=1e-6, atol=1e-6)


def test_codes_take_a_byte_a_window():
    N, F = 20, 6
    x = np.random.default_rng(0).standard_normal((N, 1, 12, 12)).astype(np.float32)
    w = np.ones((F, 1, 3, 3), np.float32)
    out, cache = conv2d_relu_pool_forward(x, w, np.zeros(F, np.float32), 1, 1, 2)
    assert cache[3].dtype == np.uint8 and cache[3].nbytes == 24 * F * 6 * 6
    a = ref_dense.relu_forward(ref_conv.conv2d_forward(x.astype(np.float64), w, np.zeros(F), 1, 1))
    np.testing.assert_array_equal(ref_conv.unpack_codes(cache[3], N),
                                  ref_conv.relu_pool_codes(a.astype(np.float32), 2))
