"""global_avgpool_forward / global_avgpool_backward: float64 gradient checks
(exact on gradcheck.py's grid data, as average pooling in
test_kernels_pool.py), agreement with a plain-numpy reference, agreement
with avgpool2d over the whole image, and input validation."""

import numpy as np
import pytest

import reference_conv as ref
from gradcheck import RTOL, assert_close, check_grad, grid, numeric_grad_array
from nnlab.kernels.pool import (avgpool2d_backward, avgpool2d_forward, global_avgpool_backward,
                                global_avgpool_forward)


@pytest.mark.parametrize("N,C,H,W", [(1, 1, 1, 1), (2, 3, 4, 4), (3, 2, 3, 5), (1, 4, 7, 2)])
def test_global_avgpool_gradcheck(threads, N, C, H, W):
    rng = np.random.default_rng(5000 + N * 100 + C * 10 + H + W)
    x = grid(rng, (N, C, H, W))
    out, cache = global_avgpool_forward(x.copy())
    assert out.shape == (N, C)
    R = grid(rng, out.shape)
    dx = global_avgpool_backward(R, cache)
    assert dx.shape == x.shape and dx.dtype == np.float64
    num = numeric_grad_array(lambda: global_avgpool_forward(x)[0], x, R)
    check_grad("global_avgpool dx", dx, num)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 1, 7, 7), (5, 2, 1, 3)])
def test_global_avgpool_matches_reference(dtype, shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(dtype)
    out, cache = global_avgpool_forward(x)
    assert out.dtype == dtype
    assert_close(out, ref.global_avgpool_forward(x.astype(np.float64)), RTOL[dtype], "out")
    dout = rng.standard_normal(shape[:2]).astype(dtype)
    dx = global_avgpool_backward(dout, cache)
    assert dx.dtype == dtype
    assert_close(dx, ref.global_avgpool_backward(dout.astype(np.float64), shape), RTOL[dtype],
                 "dx")


def test_global_avgpool_is_avgpool_over_the_whole_image():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 5, 4))
    g, gcache = global_avgpool_forward(x)
    a, acache = avgpool2d_forward(x, (5, 4))
    np.testing.assert_allclose(a[:, :, 0, 0], g, rtol=1e-14)
    dout = rng.standard_normal((3, 2))
    np.testing.assert_allclose(avgpool2d_backward(dout[:, :, None, None], acache),
                               global_avgpool_backward(dout, gcache), rtol=1e-14)


def test_global_avgpool_non_contiguous():
    x = np.random.default_rng(12).standard_normal((3, 2, 6, 6))
    g, gcache = global_avgpool_forward(x[:, :, ::2, ::2])
    np.testing.assert_allclose(g, x[:, :, ::2, ::2].mean(axis=(2, 3)), rtol=1e-14)


X = np.zeros((2, 3, 5, 6))


@pytest.mark.parametrize("x,exc", [(X[0], ValueError), (X[:, :, 0], ValueError),
                                   (X.astype(np.int32), TypeError)])
def test_global_avgpool_rejects(x, exc):
    with pytest.raises(exc):
        global_avgpool_forward(x)


def test_global_avgpool_backward_rejects_bad_dout():
    out, cache = global_avgpool_forward(X)
    with pytest.raises(ValueError):
        global_avgpool_backward(out[:1], cache)
    with pytest.raises(ValueError):
        global_avgpool_backward(out[:, :, None], cache)
