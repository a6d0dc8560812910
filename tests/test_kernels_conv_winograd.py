"""Winograd's F(2x2, 3x3) and F(4x4, 3x3) (kernels/conv_winograd.py, tiles 2
and 4): gradient checks of their
sums, agreement with a plain-numpy convolution and its gradients, odd sizes
and short groups of images, and the fused layers that take it."""

import numpy as np
import pytest

from gradcheck import check_grad, grid, numeric_grad, numeric_grad_array
from nnlab.kernels import (conv2d_backward, conv2d_forward, conv2d_relu_pool_backward,
                           conv2d_relu_pool_forward, maxpool2d_backward, maxpool2d_forward,
                           relu_backward, relu_forward)
from nnlab.kernels.conv_winograd import transformed_kernels, winograd_grads, winograd_sums
from nnlab.kernels.winograd_plan import GROUP, takes_winograd, winograd_suits, winograd_tile

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
    N, C, F = 5, 33, 32
    x = rng.standard_normal((N, C, H, H)).astype(np.float32)
    w = (rng.standard_normal((F, C, 3, 3)) / 17).astype(np.float32)
    b = rng.standard_normal(F).astype(np.float32)
    assert takes_winograd(C, F, 3, 3, (1, 1), (1, 1))
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


def margin_data(N, C, F, H, pool, margin=2.0 ** -6):
    """Grid data for a 3x3, pad-1 layer on which every sum plus bias is at
    least ``margin`` from 0 and from the others of its pooling window, so
    that a step of 2**-10 (which moves a sum by at most 4 * 2**-10, grid's
    bound times the step) crosses no kink of ReLU or max pooling. No zeros
    in x or w: a gradient that is exactly 0 (a tap that only ever meets
    zeros) would read F(4x4)'s rounding noise, ~6e-11 at this step, against
    rel_error's floor of 1e-8; so every channel must also pass some gradient."""
    for seed in range(200):
        rng = np.random.default_rng(seed)
        x, w, b = grid(rng, (N, C, H, H), True), grid(rng, (F, C, 3, 3), True), grid(rng, F)
        z = reference(x, w)[0] + b[:, None, None]
        Q = H // pool if pool else H
        seen = z[:, :, :Q * (pool or 1), :Q * (pool or 1)]  # what pooling reads
        if np.min(np.abs(z)) < margin or not (seen.max(axis=(0, 2, 3)) > 0).all():
            continue  # too near a kink, or a channel with no gradient at all
        if pool:
            win = seen.reshape(N, F, Q, pool, Q, pool)
            win = np.sort(win.transpose(0, 1, 2, 4, 3, 5).reshape(N, F, Q, Q, -1), axis=-1)
            if np.min(win[..., -1] - win[..., -2]) < margin:
                continue
        return rng, x, w, b
    raise AssertionError("no data with that margin")


def check_layer_grads(label, f, R, arrays, grads, eps=2.0 ** -10, sample=256):
    """Central differences of sum(f() * R) for x and b in full, and for 256
    of w's 9,216 entries (each forward pass recomputes F(4x4)'s transformed
    kernels: all of them took 5 s)."""
    x, w, b = arrays
    dx, dw, db = grads
    check_grad(f"{label} dx", dx, numeric_grad_array(f, x, R, eps))
    check_grad(f"{label} db", db, numeric_grad_array(f, b, R, eps))
    idx = np.random.default_rng(0).choice(w.size, sample, replace=False)
    loss = lambda: np.sum(f() * R)  # noqa: E731
    check_grad(f"{label} dw", dw.reshape(-1)[idx], numeric_grad(loss, w, eps, idx=idx))


# The fused layer's and conv2d's bias, ReLU and pooling are done inside the
# Winograd kernels (_winograd_ends.py), so they are checked here, in float64,
# on layers wide enough to take the path. The step 2**-10 sits between
# F(4x4)'s rounding noise (~1e-16 / step) and the kinks (margin_data).
@pytest.mark.parametrize("pool,H", [(2, 7), (0, 7), (2, 6), (0, 5)],
                         ids=["pool2-7x7-tile4", "relu-7x7-tile4", "pool2-6x6-tile2",
                              "relu-5x5-tile2"])
def test_fused_layer_gradcheck(threads, pool, H):
    N, C, F = 1, 33, 32  # the narrowest layer on the path
    assert takes_winograd(C, F, 3, 3, (1, 1), (1, 1))
    rng, x, w, b = margin_data(N, C, F, H, pool)
    out, cache = conv2d_relu_pool_forward(x.copy(), w.copy(), b.copy(), 1, 1, pool)
    R = grid(rng, out.shape)
    dx, dw, db = conv2d_relu_pool_backward(R, cache)

    def f():
        return conv2d_relu_pool_forward(x, w, b, 1, 1, pool)[0]

    check_layer_grads("winograd conv+relu+pool", f, R, (x, w, b), (dx, dw, db))


@pytest.mark.parametrize("H", [7, 6], ids=["tile4", "tile2"])
def test_conv2d_gradcheck(threads, H):
    """conv2d's bias is added inside the Winograd kernel (mode BIAS)."""
    rng = np.random.default_rng(2)
    N, C, F = 1, 33, 32  # the narrowest layer on the path
    assert takes_winograd(C, F, 3, 3, (1, 1), (1, 1))
    x, w, b = grid(rng, (N, C, H, H), True), grid(rng, (F, C, 3, 3), True), grid(rng, F)
    out, cache = conv2d_forward(x.copy(), w.copy(), b.copy(), 1, 1)
    R = grid(rng, out.shape)
    dx, dw, db = conv2d_backward(R, cache)

    def f():
        return conv2d_forward(x, w, b, 1, 1)[0]

    check_layer_grads("winograd conv2d", f, R, (x, w, b), (dx, dw, db))


def test_fused_layer_ties_go_to_the_first_maximum(threads):
    """Integer data in float64 on F(2x2) (whose transforms, 0, +-1 and 1/2,
    are exact here): many sums tie within a pooling window, and the fused
    layer's gradient goes where maxpool2d_backward sends it, the window's
    first maximum, as on the other paths."""
    rng = np.random.default_rng(4)
    N, C, F, H = 3, 33, 32, 6
    x = rng.integers(-1, 2, (N, C, H, H)).astype(np.float64)
    w = rng.integers(-1, 2, (F, C, 3, 3)).astype(np.float64)
    b = rng.integers(-2, 3, F).astype(np.float64)
    assert winograd_tile(H, H) == 2
    out, cache = conv2d_relu_pool_forward(x, w, b, 1, 1, 2)
    z, cz = conv2d_forward(x, w, b, 1, 1)
    a, ca = relu_forward(z)
    want, cp = maxpool2d_forward(a, 2)
    np.testing.assert_array_equal(out, want)
    win = np.sort(a.reshape(N, F, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4), axis=1)
    assert (win[:, -1] == win[:, -2]).sum() > 20  # ties, above zero too
    assert ((win[:, -1] == win[:, -2]) & (win[:, -1] > 0)).any()
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv2d_relu_pool_backward(dout, cache)
    rdx, rdw, rdb = conv2d_backward(relu_backward(maxpool2d_backward(dout, cp), ca), cz)
    for got, ref in ((dx, rdx), (dw, rdw), (db, rdb)):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
