"""The lanes path of stride-1 convolution (kernels/conv_lanes.py) against the
plain-numpy reference and against the im2col + GEMM path it stands in for,
forward and backward: batches that leave a block of eight part-filled,
filter counts that leave a block of filters part-filled, every kernel width it
special-cases, padding, pooling and the kept activations."""

import numpy as np
import pytest

import reference_conv as ref_conv
import reference_dense as ref_dense
from gradcheck import check_grad, grid, numeric_grad_array
from nnlab.kernels import conv2d_backward, conv2d_forward, conv2d_relu_pool_forward, conv_lanes
from nnlab.kernels._common import pair
from nnlab.kernels.winograd_plan import takes_winograd

SHAPES = [  # N, C, H, W, F, HH, WW, pad
    pytest.param(1, 1, 6, 6, 1, 3, 3, 1, id="one-image-one-filter"),
    pytest.param(9, 1, 12, 12, 6, 5, 5, 2, id="lenet-conv1-like-9-images"),
    pytest.param(17, 6, 9, 9, 5, 5, 5, 0, id="lenet-conv2-like-odd-filters"),
    pytest.param(7, 3, 7, 5, 4, 3, 3, 1, id="3x3-non-square"),
    pytest.param(8, 2, 6, 7, 3, 2, 4, (1, 2), id="2x4-uneven-pad"),
    pytest.param(3, 4, 5, 5, 2, 1, 1, 0, id="1x1"),
    pytest.param(10, 3, 6, 6, 7, 3, 3, 1, id="3x3-seven-filters"),
    pytest.param(9, 5, 6, 6, 17, 3, 3, 1, id="3x3-17-filters-three-row-blocks"),
    pytest.param(4, 2, 3, 1, 9, 1, 1, 0, id="1x1-one-column-9-filters"),
    pytest.param(3, 32, 5, 5, 32, 3, 3, 1, id="resnet-stage-2-32-channels"),
]


@pytest.fixture
def gemm_only(monkeypatch):
    """Route every layer to im2col + GEMM."""
    monkeypatch.setattr(conv_lanes, "MAX_TAPS", -1)


def data(dtype, N, C, H, W, F, HH, WW, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((N, C, H, W)).astype(dtype),
            rng.standard_normal((F, C, HH, WW)).astype(dtype),
            rng.standard_normal(F).astype(dtype))


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("N,C,H,W,F,HH,WW,pad", SHAPES)
def test_conv_matches_reference_and_gemm(threads, dtype, rtol, N, C, H, W, F, HH, WW, pad,
                                         monkeypatch):
    x, w, b = data(dtype, N, C, H, W, F, HH, WW)
    assert conv_lanes.lanes_suit(C, HH, WW, (1, 1))
    lanes = conv2d_forward(x, w, b, 1, pad)[0]
    want = ref_conv.conv2d_forward(x.astype(np.float64), w.astype(np.float64),
                                   b.astype(np.float64), 1, pad)
    scale = np.abs(want).max()
    np.testing.assert_allclose(lanes, want, rtol=0, atol=rtol * scale)
    monkeypatch.setattr(conv_lanes, "MAX_TAPS", -1)
    gemm = conv2d_forward(x, w, b, 1, pad)[0]
    np.testing.assert_allclose(lanes, gemm, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("N,C,H,W,F,HH,WW,pad", SHAPES)
def test_backward_matches_reference_and_gemm(threads, dtype, rtol, N, C, H, W, F, HH, WW, pad,
                                             monkeypatch):
    x, w, b = data(dtype, N, C, H, W, F, HH, WW, seed=4)
    assert conv_lanes.lanes_suit_backward(C, F, HH, WW, (1, 1), pair(pad, "pad"))
    out, cache = conv2d_forward(x, w, b, 1, pad)
    dout = np.random.default_rng(5).standard_normal(out.shape).astype(dtype)
    dx, dw, db = conv2d_backward(dout, cache)
    f64 = [a.astype(np.float64) for a in (dout, x, w)]
    rdx, rdw, _ = ref_conv.conv2d_backward(*f64, 1, pad)
    for got, want in ((dx, rdx), (dw, rdw)):
        np.testing.assert_allclose(got, want, rtol=0, atol=rtol * np.abs(want).max())
    assert conv2d_backward(dout, cache, need_dx=False)[0] is None
    np.testing.assert_array_equal(conv2d_backward(dout, cache, need_dx=False)[1], dw)
    monkeypatch.setattr(conv_lanes, "MAX_TAPS", -1)
    gdx, gdw, _ = conv2d_backward(dout, cache)
    np.testing.assert_allclose(dx, gdx, rtol=0, atol=rtol * np.abs(rdx).max())
    np.testing.assert_allclose(dw, gdw, rtol=0, atol=rtol * np.abs(rdw).max())


@pytest.mark.parametrize("F", [1, 2, 4, 5])
def test_gradcheck(threads, F):
    """float64 central differences through both lanes kernels (3 x 3, so
    the filters go in groups of three with one or two left over)."""
    rng = np.random.default_rng(F)
    x, w, b = grid(rng, (9, 2, 5, 4)), grid(rng, (F, 2, 3, 3)), grid(rng, F)
    out, cache = conv2d_forward(x.copy(), w.copy(), b.copy(), 1, 1)
    R = grid(rng, out.shape)
    dx, dw, db = conv2d_backward(R, cache)

    def f():
        return conv2d_forward(x, w, b, 1, 1)[0]

    check_grad("lanes dx", dx, numeric_grad_array(f, x, R))
    check_grad("lanes dw", dw, numeric_grad_array(f, w, R))
    check_grad("lanes db", db, numeric_grad_array(f, b, R))


@pytest.mark.parametrize("pool", [0, 2, 3])
@pytest.mark.parametrize("keep", [True, False])
@pytest.mark.parametrize("N,C,H,W,F,HH,WW,pad", SHAPES[1:4])
def test_fused_matches_the_separate_ops(threads, pool, keep, N, C, H, W, F, HH, WW, pad):
    x, w, b = data(np.float64, N, C, H, W, F, HH, WW, seed=1)
    out, cache = conv2d_relu_pool_forward(x, w, b, 1, pad, pool, keep=keep)
    a = ref_dense.relu_forward(ref_conv.conv2d_forward(x, w, b, 1, pad))
    want = ref_conv.maxpool2d_forward(a, pool) if pool else a
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
    if keep and pool:  # pooled: each window's maximum, what backward reads
        assert cache[2].shape[0] == 0
        np.testing.assert_array_equal(ref_conv.unpack_codes(cache[3], N),
                                      ref_conv.relu_pool_codes(a, pool))
    elif keep or not pool:  # the activations that backward reads
        acts = cache[2]
        np.testing.assert_allclose(acts, a.reshape(acts.shape), rtol=1e-12, atol=1e-12)
    else:
        assert cache is None


def test_fused_backward_after_lanes_forward_equals_gemm(gemm_only):
    """The same gradients whichever path ran the forward pass."""
    from nnlab.kernels import conv2d_relu_pool_backward
    x, w, b = data(np.float64, 10, 2, 8, 8, 3, 3, 3, seed=2)
    out_g, cache_g = conv2d_relu_pool_forward(x, w, b, 1, 1, 2)
    dout = np.random.default_rng(3).standard_normal(out_g.shape)
    grads_g = conv2d_relu_pool_backward(dout, cache_g)
    conv_lanes.MAX_TAPS = 576  # monkeypatch restores it afterwards
    out_l, cache_l = conv2d_relu_pool_forward(x, w, b, 1, 1, 2)
    np.testing.assert_allclose(out_l, out_g, rtol=1e-12)
    for got, want in zip(conv2d_relu_pool_backward(dout, cache_l), grads_g):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("N", [1, 7, 8, 9, 16, 23])
def test_every_image_of_every_block(threads, N):
    """Each image equals its own one-image convolution, wherever it falls in
    the blocks of eight and the threads' shares of them."""
    x, w, b = data(np.float32, N, 2, 6, 6, 3, 3, 3, seed=N)
    out = conv2d_forward(x, w, b, 1, 1)[0]
    for n in range(N):
        np.testing.assert_allclose(out[n], conv2d_forward(x[n:n + 1], w, b, 1, 1)[0][0],
                                   rtol=1e-6, atol=1e-6)


def test_which_layers_take_the_lanes_path():
    assert conv_lanes.lanes_suit(1, 5, 5, (1, 1))        # LeNet-5 conv1
    assert conv_lanes.lanes_suit(6, 5, 5, (1, 1))        # LeNet-5 conv2
    assert conv_lanes.lanes_suit(64, 3, 3, (1, 1))
    assert not conv_lanes.lanes_suit(96, 3, 3, (1, 1))   # wide: GEMM wins
    assert not conv_lanes.lanes_suit(1, 3, 3, (2, 2))    # strided
    assert conv_lanes.lanes_suit_backward(16, 16, 3, 3, (1, 1), (1, 1))
    assert not conv_lanes.lanes_suit_backward(6, 32, 5, 5, (1, 1), (0, 0))  # dx: 800 taps
    assert not conv_lanes.lanes_suit_backward(1, 2, 3, 3, (1, 1), (3, 0))   # pad >= kernel


def test_which_layers_take_lanes_over_winograd():
    """32 channels in or fewer, where the lanes kernels suit both ways."""
    assert not takes_winograd(32, 32, 3, 3, (1, 1), (1, 1))   # the ResNet's stage 2
    assert not takes_winograd(32, 64, 3, 3, (1, 1), (1, 1))   # AlexNet-style's conv2
    assert takes_winograd(32, 65, 3, 3, (1, 1), (1, 1))       # dx would have 585 taps
    assert takes_winograd(64, 64, 3, 3, (1, 1), (1, 1))       # the ResNet's stage 3
    assert takes_winograd(64, 96, 3, 3, (1, 1), (1, 1))       # AlexNet-style's conv3
    assert not takes_winograd(64, 64, 3, 3, (2, 2), (1, 1))


def test_empty_batch():
    x, w, b = data(np.float32, 0, 1, 5, 5, 2, 3, 3)
    assert conv2d_forward(x, w, b, 1, 1)[0].shape == (0, 2, 5, 5)
    assert conv2d_relu_pool_forward(x, w, b, 1, 1, 2)[0].shape == (0, 2, 2, 2)
