"""conv2d_relu_pool_forward / _backward: gradient checks, agreement with
conv2d, relu and maxpool2d applied in turn, evaluation without a cache,
validation, and the networks that use it."""

import numpy as np
import pytest

from gradcheck import check_grad, grid, numeric_grad_array
from nnlab.kernels import (conv2d_backward, conv2d_forward, conv2d_relu_pool_backward,
                           conv2d_relu_pool_forward, maxpool2d_backward, maxpool2d_forward,
                           relu_backward, relu_forward)

CASES = [  # N, C, H, W, F, kernel, stride, pad, pool
    pytest.param(2, 1, 6, 6, 2, 3, 1, 1, 2, id="3x3-p1-pool2"),
    pytest.param(3, 2, 7, 7, 3, 3, 1, 1, 2, id="odd-7-pool2-drops-a-row"),
    pytest.param(2, 2, 6, 5, 2, 2, 1, 0, 0, id="no-pool"),
    pytest.param(1, 2, 8, 8, 2, 3, 1, 0, 3, id="pool3"),
    pytest.param(3, 1, 9, 8, 2, 5, (2, 1), (2, 1), 2, id="5x5-s(2,1)-p(2,1)"),
]


def unfused(x, w, b, stride, pad, pool):
    """conv2d, relu and maxpool2d in turn, and their backward in turn."""
    z, cz = conv2d_forward(x, w, b, stride, pad)
    a, ca = relu_forward(z)
    out, cp = (maxpool2d_forward(a, pool) if pool else (a, None))

    def backward(dout):
        da = maxpool2d_backward(dout, cp) if pool else dout
        return conv2d_backward(relu_backward(da, ca), cz)
    return out, z, backward


def generic_data(seed, N, C, H, W, F, k, stride, pad, pool):
    """Grid data (exact central differences, see gradcheck.py) on which every
    pre-activation is at least 2**-8 from 0 and from the other values of its
    pooling window, so that no kink of ReLU or of max pooling lies within a
    finite-difference step. Tries seeds in turn: the test stays deterministic."""
    for s in range(seed, seed + 200):
        rng = np.random.default_rng(s)
        x, w, b = grid(rng, (N, C, H, W)), grid(rng, (F, C, k, k)), grid(rng, F)
        z = conv2d_forward(x, w, b, stride, pad)[0]
        if np.min(np.abs(z)) < 2.0 ** -8:
            continue
        if pool:
            q = pool
            QH, QW = z.shape[2] // q, z.shape[3] // q
            win = z[:, :, :QH * q, :QW * q].reshape(N, F, QH, q, QW, q)
            win = np.sort(win.transpose(0, 1, 2, 4, 3, 5).reshape(N, F, QH, QW, q * q), axis=-1)
            if np.min(win[..., -1] - win[..., -2]) < 2.0 ** -8:
                continue
        return rng, x, w, b
    raise AssertionError("no generic data found")


@pytest.mark.parametrize("N,C,H,W,F,k,stride,pad,pool", CASES)
def test_gradcheck(threads, N, C, H, W, F, k, stride, pad, pool):
    rng, x, w, b = generic_data(10, N, C, H, W, F, k, stride, pad, pool)
    out, cache = conv2d_relu_pool_forward(x.copy(), w.copy(), b.copy(), stride, pad, pool)
    R = grid(rng, out.shape)
    dx, dw, db = conv2d_relu_pool_backward(R, cache)

    def f():
        return conv2d_relu_pool_forward(x, w, b, stride, pad, pool)[0]

    check_grad("conv+relu+pool dx", dx, numeric_grad_array(f, x, R))
    check_grad("conv+relu+pool dw", dw, numeric_grad_array(f, w, R))
    check_grad("conv+relu+pool db", db, numeric_grad_array(f, b, R))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [
    (7, 1, 28, 28, 6, 5, 1, 2, 2),     # LeNet-5's first layer
    (5, 6, 14, 14, 16, 5, 1, 0, 2),    # its second
    (4, 8, 7, 7, 40, 3, 1, 1, 2),      # F > 32: the untransposed product; 7 -> 3
    (3, 4, 9, 9, 5, 3, 2, 1, 0),
], ids=["lenet-conv1", "lenet-conv2", "wide-odd", "strided-no-pool"])
def test_same_as_the_separate_ops(threads, dtype, shape):
    """Ties included (integers): the same values as conv2d, relu and
    maxpool2d in turn, to the bit; the same gradients up to rounding (the
    separate conv2d_backward may sum in another order, see conv_lanes)."""
    N, C, H, W, F, k, stride, pad, pool = shape
    rng = np.random.default_rng(3)
    x = rng.integers(-2, 3, (N, C, H, W)).astype(dtype)
    w = rng.integers(-2, 3, (F, C, k, k)).astype(dtype)
    b = rng.integers(-2, 3, F).astype(dtype)
    out, cache = conv2d_relu_pool_forward(x, w, b, stride, pad, pool)
    want, z, backward = unfused(x, w, b, stride, pad, pool)
    np.testing.assert_array_equal(out, want)
    assert (z == 0).any() and (want == 0).any()  # the kinks are exercised
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dw, db = conv2d_relu_pool_backward(dout, cache)
    rdx, rdw, rdb = backward(dout)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for got, want_grad in ((dx, rdx), (dw, rdw), (db, rdb)):
        np.testing.assert_allclose(got, want_grad, rtol=tol, atol=tol * np.abs(want_grad).max())
    _, dw2, db2 = conv2d_relu_pool_backward(dout, cache, need_dx=False)
    np.testing.assert_array_equal(dw2, dw)


def test_evaluation_keeps_nothing():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 8, 8)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    out, cache = conv2d_relu_pool_forward(x, w, b, 1, 1, 2)
    evaluated, none = conv2d_relu_pool_forward(x, w, b, 1, 1, 2, keep=False)
    assert none is None
    np.testing.assert_array_equal(evaluated, out)
    with pytest.raises(ValueError, match="keep=False"):
        conv2d_relu_pool_backward(out, None)


def test_validation():
    x = np.zeros((1, 2, 6, 6), np.float32)
    w = np.zeros((3, 2, 3, 3), np.float32)
    b = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="input channels"):
        conv2d_relu_pool_forward(x, np.zeros((3, 1, 3, 3), np.float32), b)
    with pytest.raises(ValueError, match="pool must be"):
        conv2d_relu_pool_forward(x, w, b, pool=-1)
    with pytest.raises(ValueError, match="does not fit"):
        conv2d_relu_pool_forward(x, w, b, pool=5)
    with pytest.raises(TypeError):
        conv2d_relu_pool_forward(x, w.astype(np.float64), b)
    out, cache = conv2d_relu_pool_forward(x, w, b, pad=1, pool=2)
    with pytest.raises(ValueError, match="dout must have shape"):
        conv2d_relu_pool_backward(np.zeros((1, 3, 6, 6), np.float32), cache)


def test_networks_fuse_conv_relu_and_pool():
    """LeNet-5 and the AlexNet-style network run their convolutions fused;
    ResNet's (no bias, batch norm in between) stay as they are. The fused
    forward equals running the layers one by one: to the bit for LeNet-5,
    to float32 rounding for AlexNet-style, whose conv2 to conv5 take the
    Winograd path (another summation)."""
    from nnlab.nn.cnn_models import alexnet, lenet5, resnet
    from nnlab.nn.fused import ConvReLUPool

    def fused(net):
        return [(u.name, u.pool) for u in net.units if isinstance(u, ConvReLUPool)]

    assert fused(lenet5()) == [("conv1", 2), ("conv2", 2)]
    assert fused(alexnet()) == [("conv1", 2), ("conv2", 2), ("conv3", 0), ("conv4", 0),
                                ("conv5", 2)]
    assert fused(resnet(depth=1, width=4)) == []
    rng = np.random.default_rng(0)
    for net, exact in ((lenet5().init(rng), True), (alexnet().init(rng), False)):
        x = rng.standard_normal((3, 1, 28, 28)).astype(np.float32)
        h = x
        for layer in net.layers:
            h = layer.forward(net, h, False)
        if exact:
            np.testing.assert_array_equal(net.forward(x), h)
        else:
            np.testing.assert_allclose(net.forward(x), h, rtol=0, atol=1e-5 * np.abs(h).max())
