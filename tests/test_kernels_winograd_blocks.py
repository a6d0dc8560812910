"""The Winograd layers with channel counts in whole blocks of 32, whose
per-element products run on kernels/_gemm_tn.py's register blocks instead
of np.dot (the other tests' layers have a few channels, and take np.dot):
central-difference gradient checks and agreement with the plain-numpy
convolution in float64, and float32 against float64."""

import numpy as np
import pytest

import reference_conv as ref
from gradcheck import check_grad, grid, numeric_grad
from nnlab.kernels._gemm_tn import WIDTH
from nnlab.kernels.conv_winograd import transformed_kernels, winograd_grads, winograd_sums

SHAPES = [  # N, C, F, H, W: every product on the blocks, or forward and dw only (C = 33)
    pytest.param(3, WIDTH, WIDTH, 5, 7, id="32-32-5x7"),
    pytest.param(1, 2 * WIDTH, 3 * WIDTH, 4, 3, id="64-96-4x3"),
    pytest.param(2, WIDTH + 1, WIDTH, 4, 4, id="33-32-dx-on-np.dot"),
]


def sums(x, w, tile):
    N, _, H, W = x.shape
    return winograd_sums(x, transformed_kernels(w, tile)).transpose(0, 2, 1).reshape(N, -1, H, W)


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("tile", [2, 4])
@pytest.mark.parametrize("N,C,F,H,W", SHAPES)
def test_against_numpy_in_float64(threads, tile, N, C, F, H, W):
    rng = np.random.default_rng(N + C)
    x, w = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, 3, 3))
    dz = rng.standard_normal((N, F, H, W))
    want = ref.conv2d_forward(x, w, np.zeros(F), 1, 1)
    np.testing.assert_allclose(sums(x, w, tile), want, rtol=1e-12, atol=1e-11)
    dx, dw = winograd_grads(x, transformed_kernels(w, tile), dz.reshape(N, F, -1))
    want_dx, want_dw, _ = ref.conv2d_backward(dz, x, w, 1, 1)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-12, atol=1e-11)


@pytest.mark.parametrize("tile,eps", [(2, 2.0 ** -20), (4, 1.0)])  # as test_kernels_conv_winograd
def test_gradcheck(tile, eps):
    rng = np.random.default_rng(3)
    N, C, F, H, W = 1, WIDTH, WIDTH, 2, 3
    x, w = grid(rng, (N, C, H, W)), grid(rng, (F, C, 3, 3))
    R = grid(rng, (N, F, H, W))
    dx, dw = winograd_grads(x, transformed_kernels(w, tile), R.reshape(N, F, -1))
    loss = lambda: float((sums(x, w, tile) * R).sum())  # noqa: E731
    check_grad("winograd blocks dx", dx, numeric_grad(loss, x, eps))
    idx = rng.choice(w.size, 64, replace=False)  # a sample of dw's 9,216 entries
    check_grad("winograd blocks dw", dw.reshape(-1)[idx], numeric_grad(loss, w, eps, idx=idx))


@pytest.mark.parametrize("tile,tol", [(2, 2e-6), (4, 1e-5)])
def test_float32(tile, tol):
    rng = np.random.default_rng(4)
    N, C, F, H, W = 5, 2 * WIDTH, WIDTH, 7, 7
    x, w = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, 3, 3)) / 24
    dz = rng.standard_normal((N, F, H * W))
    got = sums(x.astype(np.float32), w.astype(np.float32), tile)
    want = sums(x, w, tile)
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * np.abs(want).max())
    U32 = transformed_kernels(w.astype(np.float32), tile)
    for g, v in zip(winograd_grads(x.astype(np.float32), U32, dz.astype(np.float32)),
                    winograd_grads(x, transformed_kernels(w, tile), dz)):
        np.testing.assert_allclose(g, v, rtol=0, atol=tol * np.abs(v).max())
