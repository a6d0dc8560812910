"""maxpool2d_forward / _backward and avgpool2d_forward / _backward as one
suite over the kind ("max", "avg"): float64 gradient checks (overlapping,
non-overlapping, gapped and non-square windows), agreement with a
plain-numpy reference, thread counts, gradient mass, and input validation;
then what only one kind has (max: ties; average: values by hand).
global_avgpool_forward / _backward are in test_kernels_global_pool.py.

Both are checked with gradcheck.py's step on data that keep the central
difference exact: max pooling on distinct values at least 2**-6 apart, so
that eps never changes a window's winner; average pooling on grid data,
whose window sums are exact too (only the final scaling by 1 / (kh kw)
rounds when kh kw is not a power of two, a relative 1e-16 of each output,
far below the 1e-6 tolerance).
"""

import numpy as np
import pytest

import reference_conv as ref
from gradcheck import RTOL, assert_close, check_grad, grid, numeric_grad_array
from nnlab.kernels import maxpool2d_backward, maxpool2d_forward
from nnlab.kernels.pool import avgpool2d_backward, avgpool2d_forward

# kind -> (forward, backward, reference backward taking (dout, x, size, stride))
POOLS = {
    "max": (maxpool2d_forward, maxpool2d_backward, ref.maxpool2d_backward),
    "avg": (avgpool2d_forward, avgpool2d_backward,
            lambda dout, x, size, stride: ref.avgpool2d_backward(dout, x.shape, size, stride)),
}
KINDS = list(POOLS)


def assert_out(kind, out, x, size, stride, rtol):
    """Max pooling copies its winners: exactly the reference. Average pooling
    sums in its own order: within rtol of the float64 reference."""
    if kind == "max":
        np.testing.assert_array_equal(out, ref.maxpool2d_forward(x, size, stride))
    else:
        assert_close(out, ref.avgpool2d_forward(x.astype(np.float64), size, stride), rtol, "out")


def case(id_, N, C, H, W, size, stride):
    return pytest.param(N, C, H, W, size, stride, id=id_)


# Every window shape for both kinds (1x1: on 5x5 and 3x3 images).
GRAD_CASES = [
    case("2x2-N1", 1, 1, 4, 4, 2, None),
    case("2x2-s2-N2", 2, 3, 6, 6, 2, 2),
    case("2x2-s1-overlap-N3", 3, 1, 4, 4, 2, 1),
    case("3x3-N2", 2, 2, 6, 6, 3, None),
    case("3x3-s2-overlap-N3", 3, 2, 5, 5, 3, 2),
    case("3x3-s1-overlap-odd-N1", 1, 2, 5, 7, 3, 1),
    case("4x4-s1-overlap-N1", 1, 2, 6, 6, 4, 1),
    case("2x3-s(1,2)-overlap-N5", 5, 1, 5, 6, (2, 3), (1, 2)),
    case("2x3-s(1,2)-overlap-N2", 2, 1, 5, 6, (2, 3), (1, 2)),
    case("3x2-s(2,1)-N2", 2, 2, 7, 5, (3, 2), (2, 1)),
    case("3x1-s1-N5", 5, 1, 5, 3, (3, 1), 1),
    case("1x3-s1-N2", 2, 1, 3, 5, (1, 3), 1),
    case("1x1-identity-5x5-N2", 2, 2, 5, 5, 1, 1),
    case("1x1-identity-3x3-N2", 2, 2, 3, 3, 1, 1),
    case("2x2-s3-gaps-N2", 2, 1, 7, 7, 2, 3),
    case("leftover-rows-N1", 1, 1, 5, 5, 2, None),
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


def gradcheck_input(kind, data, shape):
    """The generator and x of each kind's own seeds: distinct values for max
    pooling (all of one sign, or both), grid values for average pooling."""
    N, C, H, W = shape
    if kind == "max":
        rng = np.random.default_rng(2000 + N * 100 + C * 10 + H)
        return rng, distinct(rng, shape, data)
    rng = np.random.default_rng(4000 + N * 100 + C * 10 + H + W)
    return rng, grid(rng, shape)


@pytest.mark.parametrize("kind,data", [("max", "mixed"), ("max", "negative"), ("avg", "grid")])
@pytest.mark.parametrize("N,C,H,W,size,stride", GRAD_CASES)
def test_pool_gradcheck(threads, kind, data, N, C, H, W, size, stride):
    forward, backward, _ = POOLS[kind]
    rng, x = gradcheck_input(kind, data, (N, C, H, W))
    out, cache = forward(x.copy(), size, stride)
    R = grid(rng, out.shape)
    dx = backward(R, cache)
    assert dx.shape == x.shape and dx.dtype == np.float64
    num = numeric_grad_array(lambda: forward(x, size, stride)[0], x, R)
    check_grad(f"{kind}pool dx", dx, num)


REF_CASES = [
    case("N5-2x2", 5, 3, 6, 6, 2, None), case("N4-2x2", 4, 3, 6, 6, 2, None),
    case("N6-3x3-s2", 6, 2, 7, 9, 3, 2), case("N3-3x3-s2", 3, 2, 7, 9, 3, 2),
    case("N7-2x2-s1", 7, 2, 5, 5, 2, 1), case("N5-2x2-s1", 5, 2, 5, 5, 2, 1),
    case("N8-3x2-s(1,2)", 8, 1, 6, 7, (3, 2), (1, 2)),
    case("N2-3x2-s(1,2)", 2, 1, 6, 7, (3, 2), (1, 2)),
    case("N3-2x3-s(2,1)", 3, 4, 6, 5, (2, 3), (2, 1)),
    case("N5-global", 5, 3, 3, 4, (3, 4), None),
    case("N1-4x4-s3", 1, 2, 10, 10, 4, 3),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("N,C,H,W,size,stride", REF_CASES)
def test_pool_matches_reference(threads, kind, dtype, N, C, H, W, size, stride):
    forward, backward, ref_backward = POOLS[kind]
    rng = np.random.default_rng({"max": 3000, "avg": 6000}[kind] + N * 10 + C)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    out, cache = forward(x, size, stride)
    assert out.dtype == dtype
    assert_out(kind, out, x, size, stride, RTOL[dtype])
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx = backward(dout, cache)
    assert dx.dtype == dtype and dx.shape == x.shape
    x64, dout64 = x.astype(np.float64), dout.astype(np.float64)
    assert_close(dx, ref_backward(dout64, x64, size, stride), RTOL[dtype], "dx")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("N", [1, 2, 3, 5])
def test_pool_thread_counts(threads, kind, N):
    forward, backward, ref_backward = POOLS[kind]
    rng = np.random.default_rng(N)
    x = rng.standard_normal((N, 3, 5, 6))
    out, cache = forward(x, (3, 2), (1, 2))
    assert_out(kind, out, x, (3, 2), (1, 2), 1e-14)
    dout = rng.standard_normal(out.shape)
    assert_close(backward(dout, cache), ref_backward(dout, x, (3, 2), (1, 2)), 1e-14, "dx")


@pytest.mark.parametrize("kind", KINDS)
def test_pool_gradient_mass_is_conserved(kind):
    """Every output spreads exactly its gradient over its window (max
    pooling: all of it onto the winner)."""
    forward, backward, _ = POOLS[kind]
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7, 6))
    for size, stride in [(2, None), (3, 1), ((2, 3), (2, 1)), (2, 3)]:
        out, cache = forward(x, size, stride)
        dout = rng.standard_normal(out.shape)
        dx = backward(dout, cache)
        np.testing.assert_allclose(dx.sum(axis=(2, 3)), dout.sum(axis=(2, 3)), rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_pool_does_not_modify_inputs_and_non_contiguous(kind):
    forward, backward, _ = POOLS[kind]
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 2, 6, 6))
    saved = x.copy()
    out, cache = forward(x, 3, 2)
    dout = rng.standard_normal(out.shape)
    dout_saved = dout.copy()
    dx = backward(dout, cache)
    np.testing.assert_array_equal(x, saved)
    np.testing.assert_array_equal(dout, dout_saved)
    out2, cache2 = forward(np.asfortranarray(x), 3, 2)
    np.testing.assert_array_equal(out2, out)
    np.testing.assert_array_equal(backward(np.asfortranarray(dout), cache2), dx)


@pytest.mark.parametrize("kind", KINDS)
def test_pool_size_and_stride_spellings(kind):
    forward = POOLS[kind][0]
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 2, 7, 7))
    want, _ = forward(x, (3, 3), (2, 2))
    for size, stride in [(3, 2), ([3, 3], [2, 2]), (np.int64(3), np.int32(2))]:
        got, _ = forward(x, size, stride)
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(forward(x, 2)[0], forward(x, 2, 2)[0])


@pytest.mark.parametrize("kind", KINDS)
def test_pool_empty_batch(kind):
    forward, backward, _ = POOLS[kind]
    x = np.zeros((0, 2, 4, 4))
    out, cache = forward(x, 2)
    assert out.shape == (0, 2, 2, 2)
    assert backward(out, cache).shape == x.shape


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
    pytest.param(X, 2, (1, -1), ValueError, id="stride-w-negative"),
    pytest.param(X, (1, 2, 3), None, ValueError, id="size-triple"),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("x,size,stride,exc", BAD)
def test_pool_forward_rejects(kind, x, size, stride, exc):
    with pytest.raises(exc):
        POOLS[kind][0](x, size, stride)


@pytest.mark.parametrize("kind", KINDS)
def test_pool_backward_rejects_bad_dout(kind):
    forward, backward, _ = POOLS[kind]
    out, cache = forward(X, 2)
    with pytest.raises(ValueError):
        backward(out[:, :, :1], cache)
    with pytest.raises(ValueError):
        backward(out[:1], cache)
    with pytest.raises(ValueError):
        backward(out[0], cache)


# ------------------------------------------------- max pooling: ties and winners

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


# ------------------------------------------------------ average pooling by hand

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
