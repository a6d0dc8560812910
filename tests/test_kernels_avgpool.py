"""avgpool2d_forward / avgpool2d_backward (overlapping, non-overlapping,
gapped and non-square windows) and global_avgpool_forward / _backward:
float64 gradient checks, agreement with a plain-numpy reference, and input
validation.

Average pooling is linear, so the gradient checks use gradcheck.py's grid
data and step: x +- eps is exact, and the window sums are exact too; only the
final scaling by 1 / (kh kw) rounds when kh kw is not a power of two (a
relative 1e-16 of each output, far below the 1e-6 tolerance).
"""

import numpy as np
import pytest

import reference as ref
from gradcheck import RTOL, assert_close, check_grad, grid, numeric_grad_array
from gradcheck import threads  # noqa: F401  (fixture)
from nnlab.kernels.pool import (avgpool2d_backward, avgpool2d_forward, global_avgpool_backward,
                                global_avgpool_forward)


def case(id_, N, C, H, W, size, stride):
    return pytest.param(N, C, H, W, size, stride, id=id_)


GRAD_CASES = [
    case("2x2-N1", 1, 1, 4, 4, 2, None),
    case("2x2-s2-N2", 2, 3, 6, 6, 2, 2),
    case("2x2-s1-overlap-N3", 3, 1, 4, 4, 2, 1),
    case("3x3-N2", 2, 2, 6, 6, 3, None),
    case("3x3-s2-overlap-N3", 3, 2, 5, 5, 3, 2),
    case("3x3-s1-overlap-odd-N1", 1, 2, 5, 7, 3, 1),
    case("2x3-s(1,2)-overlap-N2", 2, 1, 5, 6, (2, 3), (1, 2)),
    case("3x2-s(2,1)-N2", 2, 2, 7, 5, (3, 2), (2, 1)),
    case("1x3-s1-N2", 2, 1, 3, 5, (1, 3), 1),
    case("1x1-identity-N2", 2, 2, 3, 3, 1, 1),
    case("2x2-s3-gaps-N2", 2, 1, 7, 7, 2, 3),
    case("leftover-rows-N1", 1, 1, 5, 5, 2, None),
    case("global-window-N3", 3, 2, 4, 6, (4, 6), None),
]


@pytest.mark.parametrize("N,C,H,W,size,stride", GRAD_CASES)
def test_avgpool_gradcheck(threads, N, C, H, W, size, stride):
    rng = np.random.default_rng(4000 + N * 100 + C * 10 + H + W)
    x = grid(rng, (N, C, H, W))
    out, cache = avgpool2d_forward(x.copy(), size, stride)
    R = grid(rng, out.shape)
    dx = avgpool2d_backward(R, cache)
    assert dx.shape == x.shape and dx.dtype == np.float64
    num = numeric_grad_array(lambda: avgpool2d_forward(x, size, stride)[0], x, R)
    check_grad("avgpool dx", dx, num)


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


REF_CASES = [
    case("N4-2x2", 4, 3, 6, 6, 2, None),
    case("N3-3x3-s2", 3, 2, 7, 9, 3, 2),
    case("N5-2x2-s1", 5, 2, 5, 5, 2, 1),
    case("N2-3x2-s(1,2)", 2, 1, 6, 7, (3, 2), (1, 2)),
    case("N3-2x3-s(2,1)", 3, 4, 6, 5, (2, 3), (2, 1)),
    case("N1-4x4-s3", 1, 2, 10, 10, 4, 3),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("N,C,H,W,size,stride", REF_CASES)
def test_avgpool_matches_reference(threads, dtype, N, C, H, W, size, stride):
    rng = np.random.default_rng(6000 + N * 10 + C)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    out, cache = avgpool2d_forward(x, size, stride)
    x64 = x.astype(np.float64)
    assert out.dtype == dtype
    assert_close(out, ref.avgpool2d_forward(x64, size, stride), RTOL[dtype], "out")
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx = avgpool2d_backward(dout, cache)
    assert dx.dtype == dtype and dx.shape == x.shape
    assert_close(dx, ref.avgpool2d_backward(dout.astype(np.float64), x.shape, size, stride),
                 RTOL[dtype], "dx")


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


def test_avgpool_by_hand():
    """A 3x3 image, 2x2 windows with stride 1: the centre belongs to all four
    windows and gets a quarter of each one's gradient; corners get one."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    out, cache = avgpool2d_forward(x, 2, 1)
    np.testing.assert_array_equal(out[0, 0], [[2.0, 3.0], [5.0, 6.0]])
    dx = avgpool2d_backward(np.array([[[[4.0, 8.0], [12.0, 16.0]]]]), cache)
    np.testing.assert_array_equal(dx[0, 0], [[1.0, 3.0, 2.0], [4.0, 10.0, 6.0], [3.0, 7.0, 4.0]])
    # Non-overlapping 2x2 on 5x5: the last row and column are in no window.
    out, cache = avgpool2d_forward(np.ones((1, 1, 5, 5)), 2)
    assert out.shape == (1, 1, 2, 2)
    dx = avgpool2d_backward(np.ones(out.shape), cache)
    np.testing.assert_array_equal(dx[0, 0, 4], 0)
    np.testing.assert_array_equal(dx[0, 0, :, 4], 0)
    np.testing.assert_array_equal(dx[0, 0, :4, :4], 0.25)


def test_avgpool_gradient_mass_is_conserved():
    """Every output spreads exactly its gradient over its window."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7, 6))
    for size, stride in [(2, None), (3, 1), ((2, 3), (2, 1)), (2, 3)]:
        out, cache = avgpool2d_forward(x, size, stride)
        dout = rng.standard_normal(out.shape)
        dx = avgpool2d_backward(dout, cache)
        np.testing.assert_allclose(dx.sum(axis=(2, 3)), dout.sum(axis=(2, 3)), rtol=1e-12)


def test_avgpool_does_not_modify_inputs_and_non_contiguous():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 2, 6, 6))
    saved = x.copy()
    out, cache = avgpool2d_forward(x, 3, 2)
    dout = rng.standard_normal(out.shape)
    dout_saved = dout.copy()
    dx = avgpool2d_backward(dout, cache)
    np.testing.assert_array_equal(x, saved)
    np.testing.assert_array_equal(dout, dout_saved)
    out2, cache2 = avgpool2d_forward(np.asfortranarray(x), 3, 2)
    np.testing.assert_array_equal(out2, out)
    np.testing.assert_array_equal(avgpool2d_backward(np.asfortranarray(dout), cache2), dx)
    g, gcache = global_avgpool_forward(x[:, :, ::2, ::2])
    np.testing.assert_allclose(g, x[:, :, ::2, ::2].mean(axis=(2, 3)), rtol=1e-14)


def test_avgpool_size_and_stride_spellings():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 2, 7, 7))
    want, _ = avgpool2d_forward(x, (3, 3), (2, 2))
    for size, stride in [(3, 2), ([3, 3], [2, 2]), (np.int64(3), np.int32(2))]:
        np.testing.assert_array_equal(avgpool2d_forward(x, size, stride)[0], want)
    np.testing.assert_array_equal(avgpool2d_forward(x, 2)[0], avgpool2d_forward(x, 2, 2)[0])


def test_avgpool_empty_batch():
    x = np.zeros((0, 2, 4, 4))
    out, cache = avgpool2d_forward(x, 2)
    assert out.shape == (0, 2, 2, 2)
    assert avgpool2d_backward(out, cache).shape == x.shape


# ------------------------------------------------------------------ bad input

X = np.zeros((2, 3, 5, 6))

BAD = [
    pytest.param(X[0], 2, None, ValueError, id="x-3d"),
    pytest.param(X[None], 2, None, ValueError, id="x-5d"),
    pytest.param(X.astype(np.int64), 2, None, TypeError, id="x-int64"),
    pytest.param(X.astype(np.float16), 2, None, TypeError, id="x-float16"),
    pytest.param(X, 6, None, ValueError, id="window-taller-than-input"),
    pytest.param(X, (2, 7), None, ValueError, id="window-wider-than-input"),
    pytest.param(X, 0, None, ValueError, id="size-0"),
    pytest.param(X, 2, 0, ValueError, id="stride-0"),
    pytest.param(X, 2, (1, -1), ValueError, id="stride-w-negative"),
    pytest.param(X, (1, 2, 3), None, ValueError, id="size-triple"),
]


@pytest.mark.parametrize("x,size,stride,exc", BAD)
def test_avgpool_forward_rejects(x, size, stride, exc):
    with pytest.raises(exc):
        avgpool2d_forward(x, size, stride)


def test_avgpool_backward_rejects_bad_dout():
    out, cache = avgpool2d_forward(X, 2)
    with pytest.raises(ValueError):
        avgpool2d_backward(out[:, :, :1], cache)
    with pytest.raises(ValueError):
        avgpool2d_backward(out[:1], cache)


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
