"""Winograd's F(2x2, 3x3) and F(4x4, 3x3) (kernels/conv_winograd.py, tiles 2
and 4): gradient checks of their
sums, agreement with a plain-numpy convolution and its gradients, odd sizes
and short groups of images, and the fused layers that take it."""

import numpy as np
import pytest

from gradcheck import check_grad, grid, numeric_grad_array
from nnlab.kernels import (conv2d_backward, conv2d_forward, conv2d_relu_pool_backward,
                           conv2d_relu_pool_forward, maxpool2d_backward, maxpool2d_forward,
                           relu_backward, relu_forward)
from nnlab.kernels.conv_winograd import (GROUP, transformed_kernels, winograd_grads,
                                         winograd_suits, winograd_sums, winograd_tile)

# N, C, F, H, W: N = 5 leaves each of two threads a short group (3 and 2 images
# when GROUP is 4); odd sides leave patches that overhang the image.
SHAPES = [
    pytest.param(5, 3, 2, 7, 7, id="7x7-odd"),
    pytest.param(5, 2, 3, 6, 9, id="6x9"),
    pytest.param(9, 2, 2, 1, 1, id="1x1"),
    pytest.param(4, 3, 2, 2, 3, id="2x3"),
    pytest.param(2, 1, 1, 5, 4, id="5x4-one-channel"),
]


def reference(x, w):
    """Plain numpy: the stride-1, pad-1 correlation (N, F, H, W), and a function
    from its upstream gradient to (dx, dw)."""
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))  # N C H W 3 3
    out = np.einsum("nchwij,fcij->nfhw", win, w)

    def grads(dz):
        dw = np.einsum("nfhw,nchwij->fcij", dz, win)
        dxp = np.zeros_like(xp)
        for i in range(3):
            for j in range(3):
                dxp[:, :, i:i + H, j:j + W] += np.einsum("nfhw,fc->nchw", dz, w[:, :, i, j])
        return dxp[:, :, 1:-1, 1:-1], dw
    return out, grads


def sums(x, w, tile):
    """winograd_sums as (N, F, H, W), channels first."""
    N, _, H, W = x.shape
    U = transformed_kernels(w, tile)
    return winograd_sums(x, U).transpose(0, 2, 1).reshape(N, -1, H, W)


# The step: F(2x2)'s transforms hold only halves, so on grid data every
# forward pass is exact and the usual 2**-20 carries no noise. F(4x4)'s hold
# 1/6, 1/12 and 1/24, which round: each pass carries ~1e-16 of its outputs,
# and a step h turns that into ~1e-16 / h of noise. At 2**-20 one entry of
# 6x9's dx read 1.002e-6; at 2**-6 the exact zeros of a 1x1 image's dw read
# 6.6e-14, a relative 6.6e-6 under rel_error's 1e-8 floor. The sums are
# linear in x and in w, so the central difference has no truncation error at
# any step, and x +- 1 stays on the grid: at h = 1 the worst is 7e-8.
@pytest.mark.parametrize("tile,eps", [(2, 2.0 ** -20), (4, 1.0)])
@pytest.mark.parametrize("N,C,F,H,W", SHAPES)
def test_gradcheck(threads, tile, eps, N, C, F, H, W):
    rng = np.random.default_rng(1)
    x, w = grid(rng, (N, C, H, W)), grid(rng, (F, C, 3, 3))
    R = grid(rng, (N, F, H, W))
    dx, dw = winograd_grads(x, transformed_kernels(w, tile), R.reshape(N, F, -1))
    f = lambda: sums(x, w, tile)  # noqa: E731
    check_grad("winograd dx", dx, numeric_grad_array(f, x, R, eps))
    check_grad("winograd dw", dw, numeric_grad_array(f, w, R, eps))


# F(4x4, 3x3)'s coefficients reach 8 and 1/24, so its float32 error is about
# ten times F(2x2)'s: at most 3.2e-6 of the largest value on these shapes.
@pytest.mark.parametrize("tile,dtype,tol", [(2, np.float64, 1e-13), (2, np.float32, 2e-6),
                                            (4, np.float64, 1e-13), (4, np.float32, 1e-5)])
@pytest.mark.parametrize("N,C,F,H,W", SHAPES)
def test_same_as_numpy(threads, tile, dtype, tol, N, C, F, H, W):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((F, C, 3, 3))
    dz = rng.standard_normal((N, F, H, W))
    want, grads = reference(x, w)
    want_dx, want_dw = grads(dz)
    x, w, dz = x.astype(dtype), w.astype(dtype), dz.astype(dtype)
    U = transformed_kernels(w, tile)
    got = winograd_sums(x, U).transpose(0, 2, 1).reshape(want.shape)
    dx, dw = winograd_grads(x, U, np.ascontiguousarray(dz).reshape(N, F, -1))
    assert got.dtype == dx.dtype == dw.dtype == dtype
    for label, a, b in (("sums", got, want), ("dx", dx, want_dx), ("dw", dw, want_dw)):
        err = np.abs(a - b).max() / np.abs(b).max()
        assert err < tol, f"{label}: {err:.2e}"
    none, dw2 = winograd_grads(x, U, np.ascontiguousarray(dz).reshape(N, F, -1), need_dx=False)
    assert none is None
    np.testing.assert_allclose(dw2, dw, rtol=0, atol=tol * np.abs(dw).max())


def test_tile4_full_and_short_groups(threads):
    """F(4x4, 3x3) on 7x7 images works on groups of 16: 35 images give each
    thread full groups and a short one."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((35, 2, 7, 7))
    w = rng.standard_normal((3, 2, 3, 3))
    dz = rng.standard_normal((35, 3, 7, 7))
    want, grads = reference(x, w)
    U = transformed_kernels(w, 4)
    assert U.shape == (36, 2, 3)
    np.testing.assert_allclose(winograd_sums(x, U).transpose(0, 2, 1).reshape(want.shape),
                               want, rtol=0, atol=1e-12)
    dx, dw = winograd_grads(x, U, dz.reshape(35, 3, -1))
    want_dx, want_dw = grads(dz)
    np.testing.assert_allclose(dx, want_dx, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dw, want_dw, rtol=0, atol=1e-11)


def test_refuses_mismatch():
    w = np.ones((3, 2, 3, 3))
    with pytest.raises(ValueError, match="tile must be 2 or 4"):
        transformed_kernels(w, 3)
    with pytest.raises(ValueError, match="do not match"):
        winograd_sums(np.zeros((1, 2, 5, 5)), np.zeros((25, 2, 3)))
    with pytest.raises(ValueError, match="do not match"):
        winograd_sums(np.zeros((1, 2, 5, 5), np.float32), transformed_kernels(w, 4))


@pytest.mark.parametrize("tile", [2, 4])
def test_empty_batch(tile):
    x = np.zeros((0, 2, 5, 5))
    U = transformed_kernels(np.ones((3, 2, 3, 3)), tile)
    assert winograd_sums(x, U).shape == (0, 25, 3)
    dx, dw = winograd_grads(x, U, np.zeros((0, 3, 25)))
    assert dx.shape == x.shape and np.array_equal(dw, np.zeros((3, 2, 3, 3)))


def test_which_layers_take_it():
    assert winograd_suits(32, 64, 3, 3, (1, 1), (1, 1))   # AlexNet-style's conv2
    assert winograd_suits(96, 96, 3, 3, (1, 1), (1, 1))
    assert not winograd_suits(16, 64, 3, 3, (1, 1), (1, 1))   # few channels: lanes or GEMM
    assert not winograd_suits(32, 64, 3, 3, (2, 2), (1, 1))   # stride 2
    assert not winograd_suits(32, 64, 3, 3, (1, 1), (0, 0))   # no padding
    assert not winograd_suits(32, 64, 5, 5, (1, 1), (2, 2))   # LeNet-5's 5x5
    assert GROUP >= 1


def test_which_tile_layers_take():
    """F(4x4) where its 36 products per 4x4 block are fewer than F(2x2)'s 16
    per 2x2 block: 7x7 (144 against 256), 14x14 and 3x3 (36 against 64),
    not 2x2 (36 against 16) nor a single row, nor 5x5 or 6x6, where they tie."""
    assert winograd_tile(7, 7) == winograd_tile(14, 14) == winograd_tile(28, 28) == 4
    assert winograd_tile(5, 7) == winograd_tile(4, 4) == winograd_tile(3, 3) == 4
    for side in (1, 2, 5, 6):
        assert winograd_tile(side, side) == 2
    assert winograd_tile(1, 100) == 2


@pytest.mark.parametrize("pool,H", [(2, 7), (0, 6)], ids=["pool2-7x7-tile4", "no-pool-6x6-tile2"])
def test_fused_layer_takes_it(threads, pool, H):
    """conv2d_relu_pool and conv2d on a layer wide enough for the Winograd
    path agree with the numpy convolution followed by relu and maxpool2d, to
    float32 rounding both ways (F(4x4)'s is ten times F(2x2)'s: 3.9e-6 of
    the largest value here); evaluation (keep=False) gives the same output."""
    rng = np.random.default_rng(3)
    N, C, F = 5, 32, 32
    x = rng.standard_normal((N, C, H, H)).astype(np.float32)
    w = (rng.standard_normal((F, C, 3, 3)) / 17).astype(np.float32)
    b = rng.standard_normal(F).astype(np.float32)
    assert winograd_suits(C, F, 3, 3, (1, 1), (1, 1))
    tol = {2: 2e-6, 4: 1e-5}[winograd_tile(H, H)]
    z, grads = reference(x.astype(np.float64), w.astype(np.float64))
    z += b[:, None, None]
    a, ca = relu_forward(z)
    want, cp = maxpool2d_forward(a, pool) if pool else (a, None)

    def close(got, ref):
        # A pooling window or ReLU could pick another element where two sums
        # lie within rounding: these random sums are ~1 apart, so none do.
        np.testing.assert_allclose(got, ref, rtol=0, atol=tol * np.abs(ref).max())

    out, cache = conv2d_relu_pool_forward(x, w, b, 1, 1, pool)
    close(out, want)
    evaluated, _ = conv2d_relu_pool_forward(x, w, b, 1, 1, pool, keep=False)
    np.testing.assert_array_equal(evaluated, out)
    plain, cplain = conv2d_forward(x, w, b, 1, 1)
    close(plain, z)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dz = relu_backward(maxpool2d_backward(dout.astype(np.float64), cp) if pool
                       else dout.astype(np.float64), ca)
    rdx, rdw = grads(dz)
    dx, dw, db = conv2d_relu_pool_backward(dout, cache)
    for got, ref in ((dx, rdx), (dw, rdw), (db, dz.sum(axis=(0, 2, 3)))):
        close(got, ref)
    none, dw2, db2 = conv2d_relu_pool_backward(dout, cache, need_dx=False)
    assert none is None
    close(dw2, rdw)
    np.testing.assert_array_equal(db2, db)
    pdx, pdw, pdb = conv2d_backward(dz.astype(np.float32), cplain)
    for got, ref in ((pdx, rdx), (pdw, rdw), (pdb, dz.sum(axis=(0, 2, 3)))):
        close(got, ref)
