"""Strided convolution on phase planes (kernels/conv_phases.py), through
conv2d_forward and conv2d_backward: against the plain-numpy reference and
the im2col + GEMM path it stands in for, batches that leave a block of
eight part-filled, strides and kernels that leave planes unreached, and
which layers take it. The float64 gradient checks of its strided cases
(1 x 1 to 5 x 5 kernels, strides 2, 3, (2, 1) and (1, 2)) are
test_kernels_conv.py's test_conv_gradcheck, which now runs them here."""

import numpy as np
import pytest

import reference_conv as ref_conv
from nnlab.kernels import conv2d_backward, conv2d_forward, conv_lanes, conv_phases

SHAPES = [  # N, C, H, W, F, HH, WW, stride, pad
    pytest.param(9, 3, 9, 9, 5, 3, 3, 2, 1, id="resnet-3x3-s2-odd-side-9-images"),
    pytest.param(8, 2, 8, 8, 3, 1, 1, 2, 0, id="resnet-1x1-projection"),
    pytest.param(3, 2, 11, 10, 4, 5, 5, 2, 2, id="5x5-s2-p2"),
    pytest.param(5, 2, 7, 9, 3, 3, 3, (2, 1), (1, 0), id="s(2,1)-uneven-pad"),
    pytest.param(2, 3, 6, 8, 2, 2, 3, (1, 2), 0, id="2x3-s(1,2)"),
    pytest.param(17, 2, 10, 10, 9, 3, 3, 3, 1, id="s3-17-images-9-filters"),
    pytest.param(4, 1, 9, 9, 2, 2, 2, 3, 0, id="2x2-s3-planes-unreached"),
]


def data(dtype, N, C, H, W, F, HH, WW, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((N, C, H, W)).astype(dtype),
            rng.standard_normal((F, C, HH, WW)).astype(dtype),
            rng.standard_normal(F).astype(dtype))


def f64(*arrays):
    return [a.astype(np.float64) for a in arrays]


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("N,C,H,W,F,HH,WW,stride,pad", SHAPES)
def test_matches_reference_and_gemm(threads, dtype, rtol, N, C, H, W, F, HH, WW, stride, pad,
                                    monkeypatch):
    x, w, b = data(dtype, N, C, H, W, F, HH, WW)
    s = stride if isinstance(stride, tuple) else (stride, stride)
    assert conv_phases.phases_suit(C, F, HH, WW, s)
    out, cache = conv2d_forward(x, w, b, stride, pad)
    want = ref_conv.conv2d_forward(*f64(x, w, b), stride, pad)
    np.testing.assert_allclose(out, want, rtol=0, atol=rtol * np.abs(want).max())
    dout = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    dx, dw, db = conv2d_backward(dout, cache)
    rdx, rdw, rdb = ref_conv.conv2d_backward(*f64(dout, x, w), stride, pad)
    for got, ref in ((dx, rdx), (dw, rdw), (db, rdb)):
        np.testing.assert_allclose(got, ref, rtol=0, atol=rtol * np.abs(ref).max())
    none, dw2, _ = conv2d_backward(dout, cache, need_dx=False)
    assert none is None
    np.testing.assert_array_equal(dw2, dw)
    monkeypatch.setattr(conv_lanes, "MAX_TAPS", -1)  # both paths read it
    assert not conv_phases.phases_suit(C, F, HH, WW, s)
    gout, gcache = conv2d_forward(x, w, b, stride, pad)
    np.testing.assert_allclose(out, gout, rtol=0, atol=rtol * np.abs(want).max())
    for got, ref in zip(conv2d_backward(dout, gcache), (dx, dw)):
        np.testing.assert_allclose(got, ref, rtol=0, atol=rtol * np.abs(ref).max())


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("N", [1, 7, 8, 9, 16, 23])
def test_every_image_of_every_block(threads, N):
    """Each image's output and dx equal its own one-image pass, and dw the
    sum of theirs, wherever it falls in the blocks of eight."""
    x, w, b = data(np.float64, N, 2, 7, 7, 3, 3, 3, seed=N)
    out, cache = conv2d_forward(x, w, b, 2, 1)
    dout = np.random.default_rng(N).standard_normal(out.shape)
    dx, dw, _ = conv2d_backward(dout, cache)
    dw_sum = np.zeros_like(dw)
    for n in range(N):
        o, c = conv2d_forward(x[n:n + 1], w, b, 2, 1)
        np.testing.assert_allclose(out[n], o[0], rtol=1e-12, atol=1e-12)
        one_dx, one_dw, _ = conv2d_backward(dout[n:n + 1], c)
        np.testing.assert_allclose(dx[n], one_dx[0], rtol=1e-12, atol=1e-12)
        dw_sum += one_dw
    np.testing.assert_allclose(dw, dw_sum, rtol=1e-12, atol=1e-12)


def test_which_layers_take_it():
    assert conv_phases.phases_suit(16, 32, 3, 3, (2, 2))     # the ResNet's stride-2 layers
    assert conv_phases.phases_suit(32, 64, 1, 1, (2, 2))     # and its projections
    assert conv_phases.phases_suit(64, 144, 3, 3, (2, 2))    # dx: 576 taps per plane
    assert not conv_phases.phases_suit(64, 145, 3, 3, (2, 2))
    assert not conv_phases.phases_suit(96, 96, 3, 3, (2, 2))  # 864 taps: GEMM
    assert not conv_phases.phases_suit(16, 16, 3, 3, (1, 1))  # stride 1: the lanes path


def test_empty_batch():
    x, w, b = data(np.float32, 0, 2, 7, 7, 3, 3, 3)
    out, cache = conv2d_forward(x, w, b, 2, 1)
    assert out.shape == (0, 3, 4, 4)
    dx, dw, db = conv2d_backward(out, cache)
    assert dx.shape == x.shape
    np.testing.assert_array_equal(dw, np.zeros_like(w))
