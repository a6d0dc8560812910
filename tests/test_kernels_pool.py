"""maxpool2d_forward / maxpool2d_backward: gradient checks (overlapping and
non-square windows), reference agreement, ties and input validation."""

import numpy as np
import pytest

import reference as ref
from gradcheck import RTOL, assert_close, check_grad, grid, numeric_grad_array
from gradcheck import threads  # noqa: F401  (fixture)
from nnlab.kernels import maxpool2d_backward, maxpool2d_forward


def case(id_, N, C, H, W, size, stride):
    return pytest.param(N, C, H, W, size, stride, id=id_)


GRAD_CASES = [
    case("2x2-N1", 1, 1, 4, 4, 2, None),
    case("2x2-s2-N2", 2, 3, 6, 6, 2, 2),
    case("2x2-s1-overlap-N3", 3, 1, 4, 4, 2, 1),
    case("3x3-N2", 2, 2, 6, 6, 3, None),
    case("3x3-s2-overlap-N3", 3, 2, 5, 5, 3, 2),
    case("4x4-s1-overlap-N1", 1, 2, 6, 6, 4, 1),
    case("2x3-s(1,2)-overlap-N5", 5, 1, 5, 6, (2, 3), (1, 2)),
    case("3x2-s(2,1)-N2", 2, 2, 7, 5, (3, 2), (2, 1)),
    case("3x1-s1-N5", 5, 1, 5, 3, (3, 1), 1),
    case("1x1-identity-N2", 2, 2, 5, 5, 1, 1),
    case("2x2-s3-gaps-N2", 2, 1, 7, 7, 2, 3),
    case("global-N3", 3, 2, 4, 6, (4, 6), None),
]


def distinct(rng, shape, sign="mixed"):
    """A random permutation of arange scaled by 2**-6 (about 0.016): distinct
    values at least that far apart, so eps never changes a window's winner,
    and exact on the gradient-check grid."""
    n = int(np.prod(shape))
    p = rng.permutation(n).astype(np.float64)
    if sign == "mixed":
        p -= n // 2
    elif sign == "negative":
        p = -(p + 1)
    return (p * 2.0 ** -6).reshape(shape)


@pytest.mark.parametrize("sign", ["mixed", "negative"])
@pytest.mark.parametrize("N,C,H,W,size,stride", GRAD_CASES)
def test_maxpool_gradcheck(threads, N, C, H, W, size, stride, sign):
    rng = np.random.default_rng(2000 + N * 100 + C * 10 + H)
    x = distinct(rng, (N, C, H, W), sign)
    out, cache = maxpool2d_forward(x.copy(), size, stride)
    R = grid(rng, out.shape)
    dx = maxpool2d_backward(R, cache)
    num = numeric_grad_array(lambda: maxpool2d_forward(x, size, stride)[0], x, R)
    check_grad("maxpool dx", dx, num)


REF_CASES = [
    case("N5-2x2", 5, 3, 6, 6, 2, None),
    case("N6-3x3-s2", 6, 2, 7, 9, 3, 2),
    case("N7-2x2-s1", 7, 2, 5, 5, 2, 1),
    case("N8-3x2-s(1,2)", 8, 1, 6, 7, (3, 2), (1, 2)),
    case("N3-2x3-s(2,1)", 3, 4, 6, 5, (2, 3), (2, 1)),
    case("N5-global", 5, 3, 3, 4, (3, 4), None),
    case("N1-4x4-s3", 1, 2, 10, 10, 4, 3),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("N,C,H,W,size,stride", REF_CASES)
def test_maxpool_matches_reference(threads, dtype, N, C, H, W, size, stride):
    rng = np.random.default_rng(3000 + N * 10 + C)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    out, cache = maxpool2d_forward(x, size, stride)
    want = ref.maxpool2d_forward(x, size, stride)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, want)             # the max is a copy, exactly
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx = maxpool2d_backward(dout, cache)
    assert dx.dtype == dtype and dx.shape == x.shape
    x64, dout64 = x.astype(np.float64), dout.astype(np.float64)
    assert_close(dx, ref.maxpool2d_backward(dout64, x64, size, stride), RTOL[dtype], "dx")


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("N", [1, 2, 3, 5])
def test_maxpool_thread_counts(threads, N):
    rng = np.random.default_rng(N)
    x = rng.standard_normal((N, 3, 5, 6))
    out, cache = maxpool2d_forward(x, (3, 2), (1, 2))
    np.testing.assert_array_equal(out, ref.maxpool2d_forward(x, (3, 2), (1, 2)))
    dout = rng.standard_normal(out.shape)
    assert_close(maxpool2d_backward(dout, cache),
                 ref.maxpool2d_backward(dout, x, (3, 2), (1, 2)), 1e-14, "dx")


@pytest.mark.parametrize("size,stride", [(2, None), (2, 1), (3, 2), ((2, 3), (1, 1))])
def test_maxpool_ties_go_to_first_maximum(size, stride):
    """Documented tie rule: the first maximum in row-major order of the window
    wins, and the gradient is neither lost nor duplicated."""
    rng = np.random.default_rng(11)
    x = rng.integers(0, 3, (3, 2, 6, 6)).astype(np.float64)    # plenty of ties
    out, cache = maxpool2d_forward(x, size, stride)
    np.testing.assert_array_equal(out, ref.maxpool2d_forward(x, size, stride))
    dout = rng.standard_normal(out.shape)
    dx = maxpool2d_backward(dout, cache)
    np.testing.assert_allclose(dx, ref.maxpool2d_backward(dout, x, size, stride),
                               rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(dx.sum(axis=(2, 3)), dout.sum(axis=(2, 3)), rtol=1e-12)


def test_maxpool_constant_input():
    """All-equal input: every window's gradient lands on its top-left corner."""
    x = np.full((1, 1, 4, 4), 7.0)
    out, cache = maxpool2d_forward(x, 2)
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), 7.0))
    dx = maxpool2d_backward(np.ones_like(out), cache)
    want = np.zeros((4, 4))
    want[::2, ::2] = 1
    np.testing.assert_array_equal(dx[0, 0], want)


def test_maxpool_overlapping_windows_accumulate():
    """One input that wins four overlapping windows gets all four gradients."""
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0
    out, cache = maxpool2d_forward(x, 2, 1)
    np.testing.assert_array_equal(out[0, 0], np.ones((2, 2)))
    dx = maxpool2d_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    want = np.zeros((3, 3))
    want[1, 1] = 10.0
    np.testing.assert_array_equal(dx[0, 0], want)


def test_maxpool_does_not_modify_inputs_and_non_contiguous():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 2, 6, 6))
    saved = x.copy()
    out, cache = maxpool2d_forward(x, 3, 2)
    dout = rng.standard_normal(out.shape)
    dout_saved = dout.copy()
    dx = maxpool2d_backward(dout, cache)
    np.testing.assert_array_equal(x, saved)
    np.testing.assert_array_equal(dout, dout_saved)
    xf = np.asfortranarray(x)
    out2, cache2 = maxpool2d_forward(xf, 3, 2)
    np.testing.assert_array_equal(out2, out)
    np.testing.assert_array_equal(maxpool2d_backward(np.asfortranarray(dout), cache2), dx)


def test_maxpool_size_and_stride_spellings():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 2, 7, 7))
    want, _ = maxpool2d_forward(x, (3, 3), (2, 2))
    for size, stride in [(3, 2), ([3, 3], [2, 2]), (np.int64(3), np.int32(2))]:
        got, _ = maxpool2d_forward(x, size, stride)
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(maxpool2d_forward(x, 2)[0], maxpool2d_forward(x, 2, 2)[0])


def test_maxpool_empty_batch():
    x = np.zeros((0, 2, 4, 4))
    out, cache = maxpool2d_forward(x, 2)
    assert out.shape == (0, 2, 2, 2)
    assert maxpool2d_backward(out, cache).shape == x.shape


# ------------------------------------------------------------------ bad input

X = np.zeros((2, 3, 5, 6))

BAD = [
    pytest.param(X[0], 2, None, ValueError, id="x-3d"),
    pytest.param(X[None], 2, None, ValueError, id="x-5d"),
    pytest.param(X.astype(np.int64), 2, None, TypeError, id="x-int64"),
    pytest.param(X.astype(np.int32), 2, None, TypeError, id="x-int32"),
    pytest.param(X.astype(np.float16), 2, None, TypeError, id="x-float16"),
    pytest.param(X.astype(bool), 2, None, TypeError, id="x-bool"),
    pytest.param(X, 6, None, ValueError, id="window-taller-than-input"),
    pytest.param(X, (2, 7), None, ValueError, id="window-wider-than-input"),
    pytest.param(X, 0, None, ValueError, id="size-0"),
    pytest.param(X, -2, None, ValueError, id="size-negative"),
    pytest.param(X, 2, 0, ValueError, id="stride-0"),
    pytest.param(X, 2, (1, 0), ValueError, id="stride-w-0"),
    pytest.param(X, 2, -1, ValueError, id="stride-negative"),
    pytest.param(X, (1, 2, 3), None, ValueError, id="size-triple"),
]


@pytest.mark.parametrize("x,size,stride,exc", BAD)
def test_maxpool_forward_rejects(x, size, stride, exc):
    with pytest.raises(exc):
        maxpool2d_forward(x, size, stride)


def test_maxpool_backward_rejects_bad_dout():
    out, cache = maxpool2d_forward(X, 2)
    with pytest.raises(ValueError):
        maxpool2d_backward(out[:, :, :1], cache)
    with pytest.raises(ValueError):
        maxpool2d_backward(out[:1], cache)
    with pytest.raises(ValueError):
        maxpool2d_backward(out[0], cache)
