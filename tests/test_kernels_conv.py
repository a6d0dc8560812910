"""conv2d_forward / conv2d_backward: gradient checks, reference agreement,
need_dx, thread chunking, non-contiguous inputs, stride and pad spellings,
the empty batch, and the gradient check's own sharpness. Bad input:
test_kernels_conv_validation.py."""

import zlib

import numpy as np
import pytest

import reference_conv as ref
from gradcheck import (
    RTOL,
    assert_close,
    check_grad,
    grid,
    numeric_grad,
    numeric_grad_array,
    rel_error,
)
from nnlab.kernels import conv2d_backward, conv2d_forward


def case(id_, N, C, H, W, F, HH, WW, stride, pad):
    return pytest.param(N, C, H, W, F, HH, WW, stride, pad, id=id_)


# Tiny shapes: every element of x and w costs two forward passes.
GRAD_CASES = [
    case("1x1-s1-p0-N3", 3, 4, 4, 4, 3, 1, 1, 1, 0),
    case("1x1-s2-p1-N2", 2, 3, 5, 5, 2, 1, 1, 2, 1),        # border outputs are pure padding
    case("2x2-s2-p0-N5", 5, 1, 6, 5, 2, 2, 2, 2, 0),
    case("2x2-s1-p1-N2", 2, 2, 4, 5, 3, 2, 2, 1, 1),
    case("3x3-s1-p0-N1", 1, 1, 5, 5, 1, 3, 3, 1, 0),
    case("3x3-s1-p1-N2", 2, 3, 5, 5, 2, 3, 3, 1, 1),
    case("3x3-s2-p1-N3", 3, 2, 6, 6, 3, 3, 3, 2, 1),
    case("3x3-s3-p2-N2", 2, 2, 7, 6, 2, 3, 3, 3, 2),
    case("5x5-s1-p2-N2", 2, 1, 6, 6, 2, 5, 5, 1, 2),
    case("5x5-s3-p2-N3", 3, 2, 6, 7, 2, 5, 5, 3, 2),
    case("3x2-s(2,1)-p(1,0)-N3", 3, 2, 7, 6, 2, 3, 2, (2, 1), (1, 0)),
    case("2x3-s(1,2)-p(2,1)-N5", 5, 2, 4, 5, 2, 2, 3, (1, 2), (2, 1)),
    case("5x3-s3-p(0,2)-N1", 1, 1, 9, 7, 2, 5, 3, 3, (0, 2)),
    case("3x3-s(3,2)-p(2,1)-N4", 4, 1, 5, 6, 2, 3, 3, (3, 2), (2, 1)),
    case("2x2-s3-gaps-N3", 3, 1, 8, 8, 2, 2, 2, 3, 0),      # some pixels are never read
    case("full-window-N2", 2, 2, 4, 3, 3, 4, 3, 1, 0),      # 1x1 output
]


def grid_conv(rng, N, C, H, W, F, HH, WW):
    """Gradient-check data on the exact grid (see gradcheck.py)."""
    return grid(rng, (N, C, H, W)), grid(rng, (F, C, HH, WW)), grid(rng, F)


def rand_conv(rng, N, C, H, W, F, HH, WW, dtype=np.float64):
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((F, C, HH, WW)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    return x, w, b


@pytest.mark.parametrize("N,C,H,W,F,HH,WW,stride,pad", GRAD_CASES)
def test_conv_gradcheck(threads, N, C, H, W, F, HH, WW, stride, pad):
    rng = np.random.default_rng(1000 + N * 100 + C * 10 + HH)
    x, w, b = grid_conv(rng, N, C, H, W, F, HH, WW)
    out, cache = conv2d_forward(x.copy(), w.copy(), b.copy(), stride, pad)
    R = grid(rng, out.shape)
    dx, dw, db = conv2d_backward(R, cache)

    def f():
        return conv2d_forward(x, w, b, stride, pad)[0]

    check_grad("conv dx", dx, numeric_grad_array(f, x, R))
    check_grad("conv dw", dw, numeric_grad_array(f, w, R))
    check_grad("conv db", db, numeric_grad_array(f, b, R))


def test_conv_gradcheck_scalar_loss(threads):
    """The same check with L = sum(out * R) differenced as a scalar."""
    rng = np.random.default_rng(7)
    x, w, b = grid_conv(rng, 3, 2, 5, 4, 2, 3, 2)
    stride, pad = (2, 1), 1
    out, cache = conv2d_forward(x.copy(), w.copy(), b.copy(), stride, pad)
    R = grid(rng, out.shape)
    dx, dw, db = conv2d_backward(R, cache)

    def loss():
        return np.sum(conv2d_forward(x, w, b, stride, pad)[0] * R)

    check_grad("conv dx", dx, numeric_grad(loss, x))
    check_grad("conv dw", dw, numeric_grad(loss, w))
    check_grad("conv db", db, numeric_grad(loss, b))


# Larger than the gradient checks (the reference is cheap enough), N up to 8.
REF_CASES = [
    case("N5-3x3-s1-p1", 5, 3, 7, 7, 4, 3, 3, 1, 1),
    case("N6-5x5-s2-p2", 6, 2, 9, 8, 3, 5, 5, 2, 2),
    case("N7-1x1", 7, 4, 5, 5, 3, 1, 1, 1, 0),
    case("N3-3x2-s(2,1)-p(1,0)", 3, 3, 8, 7, 2, 3, 2, (2, 1), (1, 0)),
    case("N1-2x2-s2", 1, 2, 6, 6, 5, 2, 2, 2, 0),
    case("N8-3x3-s3-p(0,2)", 8, 1, 10, 9, 2, 3, 3, 3, (0, 2)),
    case("N2-4x4-s1-p3", 2, 2, 5, 5, 2, 4, 4, 1, 3),
    case("N5-7x7-full", 5, 2, 7, 7, 3, 7, 7, 1, 0),
]

_REF_CACHE = {}


def reference_case(N, C, H, W, F, HH, WW, stride, pad):
    """float64 inputs that are exactly representable in float32, so one
    reference result serves both dtypes, with the reference's outputs."""
    key = (N, C, H, W, F, HH, WW, str(stride), str(pad))
    if key not in _REF_CACHE:
        rng = np.random.default_rng(zlib.crc32(repr(key).encode()))
        x, w, b = rand_conv(rng, N, C, H, W, F, HH, WW, np.float32)
        x, w, b = x.astype(np.float64), w.astype(np.float64), b.astype(np.float64)
        out = ref.conv2d_forward(x, w, b, stride, pad)
        dout = rng.standard_normal(out.shape).astype(np.float32).astype(np.float64)
        grads = ref.conv2d_backward(dout, x, w, stride, pad)
        _REF_CACHE[key] = (x, w, b, dout, out, grads)
    return _REF_CACHE[key]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("N,C,H,W,F,HH,WW,stride,pad", REF_CASES)
def test_conv_matches_reference(threads, dtype, N, C, H, W, F, HH, WW, stride, pad):
    x, w, b, dout, out_ref, (dx_ref, dw_ref, db_ref) = reference_case(
        N, C, H, W, F, HH, WW, stride, pad)
    rtol = RTOL[dtype]
    out, cache = conv2d_forward(x.astype(dtype), w.astype(dtype), b.astype(dtype), stride, pad)
    assert out.dtype == dtype and out.shape == out_ref.shape
    assert_close(out, out_ref, rtol, "out")
    dx, dw, db = conv2d_backward(dout.astype(dtype), cache)
    for name, got, want in [("dx", dx, dx_ref), ("dw", dw, dw_ref), ("db", db, db_ref)]:
        assert got.dtype == dtype, name
        assert_close(got, want, rtol, name)


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("N", [1, 2, 3, 4, 5, 7])
def test_conv_thread_chunking(threads, N):
    """Every batch size gives the reference answer whatever the thread count,
    including batches that do not split evenly across threads."""
    rng = np.random.default_rng(N)
    x, w, b = rand_conv(rng, N, 2, 5, 4, 3, 3, 2)
    stride, pad = (1, 2), (1, 0)
    out, cache = conv2d_forward(x, w, b, stride, pad)
    assert_close(out, ref.conv2d_forward(x, w, b, stride, pad), 1e-12, "out")
    dout = rng.standard_normal(out.shape)
    got = conv2d_backward(dout, cache)
    want = ref.conv2d_backward(dout, x, w, stride, pad)
    for name, g, r in zip(["dx", "dw", "db"], got, want):
        assert_close(g, r, 1e-12, name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("N,C,H,W,F,HH,WW,stride,pad", [
    (1, 1, 5, 5, 2, 3, 3, 1, 1),
    (3, 2, 6, 5, 3, 2, 3, (2, 1), (0, 1)),
    (5, 3, 7, 7, 2, 5, 5, 2, 2),
])
def test_conv_need_dx_false(dtype, N, C, H, W, F, HH, WW, stride, pad):
    rng = np.random.default_rng(3)
    x, w, b = rand_conv(rng, N, C, H, W, F, HH, WW, dtype)
    out, cache = conv2d_forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dw, db = conv2d_backward(dout, cache, need_dx=True)
    none, dw2, db2 = conv2d_backward(dout, cache, need_dx=False)
    assert dx is not None and dx.shape == x.shape
    assert none is None
    np.testing.assert_array_equal(dw2, dw)
    np.testing.assert_array_equal(db2, db)
    assert dw2.dtype == dtype and db2.dtype == dtype
    dx3, dw3, no_db = conv2d_backward(dout, cache, need_db=False)
    assert no_db is None
    np.testing.assert_array_equal(dx3, dx)
    np.testing.assert_array_equal(dw3, dw)


def test_conv_does_not_modify_inputs():
    rng = np.random.default_rng(4)
    x, w, b = rand_conv(rng, 3, 2, 5, 5, 2, 3, 3)
    saved = [a.copy() for a in (x, w, b)]
    out, cache = conv2d_forward(x, w, b, 1, 1)
    dout = rng.standard_normal(out.shape)
    dout_saved = dout.copy()
    conv2d_backward(dout, cache)
    conv2d_backward(dout, cache, need_dx=False)
    for a, s in zip((x, w, b, dout), saved + [dout_saved]):
        np.testing.assert_array_equal(a, s)


def test_conv_backward_is_repeatable():
    rng = np.random.default_rng(5)
    x, w, b = rand_conv(rng, 3, 2, 5, 5, 2, 3, 3)
    out, cache = conv2d_forward(x, w, b, 2, 1)
    dout = rng.standard_normal(out.shape)
    first = conv2d_backward(dout, cache)
    second = conv2d_backward(dout, cache)
    for a, c in zip(first, second):
        np.testing.assert_array_equal(a, c)


def test_conv_non_contiguous_inputs():
    """Strided views and Fortran-ordered arrays give the same answer."""
    rng = np.random.default_rng(6)
    x, w, b = rand_conv(rng, 3, 2, 5, 6, 2, 3, 3)
    out, cache = conv2d_forward(x, w, b, 1, 1)
    dout = rng.standard_normal(out.shape)
    grads = conv2d_backward(dout, cache)
    xv = np.asfortranarray(x)
    wv = np.stack([w, w], axis=1)[:, 0]                # strided view of w
    bv = np.stack([b, b], axis=1)[:, 0]                # strided view of b
    assert not xv.flags.c_contiguous and not wv.flags.c_contiguous
    assert not bv.flags.c_contiguous
    out2, cache2 = conv2d_forward(xv, wv, bv, 1, 1)
    np.testing.assert_allclose(out2, out, rtol=1e-13, atol=1e-13)
    for g2, g in zip(conv2d_backward(np.asfortranarray(dout), cache2), grads):
        np.testing.assert_allclose(g2, g, rtol=1e-13, atol=1e-13)


def test_conv_stride_and_pad_spellings():
    """An int, a tuple, a list and numpy ints all mean the same."""
    rng = np.random.default_rng(8)
    x, w, b = rand_conv(rng, 2, 1, 7, 7, 2, 3, 3)
    want, _ = conv2d_forward(x, w, b, (2, 2), (1, 1))
    for stride, pad in [(2, 1), ([2, 2], [1, 1]), (np.int64(2), np.int32(1)),
                        (np.array([2, 2]), (1, 1))]:
        got, _ = conv2d_forward(x, w, b, stride, pad)
        np.testing.assert_array_equal(got, want)


def test_conv_empty_batch():
    x = np.zeros((0, 2, 5, 5))
    w = np.ones((3, 2, 3, 3))
    out, cache = conv2d_forward(x, w, np.zeros(3), 1, 1)
    assert out.shape == (0, 3, 5, 5)
    dx, dw, db = conv2d_backward(out, cache)
    assert dx.shape == x.shape
    np.testing.assert_array_equal(dw, np.zeros_like(w))
    np.testing.assert_array_equal(db, np.zeros(3))


def test_gradcheck_catches_a_small_error():
    """The check is sharp: one entry of dw off by 1e-5 relative fails it,
    and so does a gradient taken with respect to the wrong stride."""
    rng = np.random.default_rng(14)
    x, w, b = grid_conv(rng, 2, 2, 5, 5, 2, 3, 3)
    out, cache = conv2d_forward(x.copy(), w.copy(), b.copy(), 1, 1)
    R = grid(rng, out.shape)
    _, dw, _ = conv2d_backward(R, cache)
    num = numeric_grad_array(lambda: conv2d_forward(x, w, b, 1, 1)[0], w, R)
    assert rel_error(dw, num) < 1e-6
    bad = dw.copy()
    bad.flat[7] *= 1 + 1e-5
    assert rel_error(bad, num) > 1e-6
    # Same shapes, different arithmetic: stride (1, 1) vs a padded stride-2 map.
    out2, cache2 = conv2d_forward(x, w, b, 2, 1)
    _, dw2, _ = conv2d_backward(grid(rng, out2.shape), cache2)
    assert rel_error(dw2, num) > 1e-2
