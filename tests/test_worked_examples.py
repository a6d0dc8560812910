"""The lecture's worked examples, checked literally, and its output-size rule."""

import numpy as np
import pytest

import reference_conv as ref
from nnlab.kernels import (
    conv2d_backward,
    conv2d_forward,
    maxpool2d_backward,
    maxpool2d_forward,
)

DTYPES = [np.float32, np.float64]


def image(values, dtype):
    """A single-image, single-channel batch (1, 1, H, W)."""
    return np.asarray(values, dtype)[None, None]


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_worked_example(dtype):
    x = image(np.arange(9).reshape(3, 3), dtype)
    w = image([[0, 1], [2, 3]], dtype)
    b = np.zeros(1, dtype)
    out, _ = conv2d_forward(x, w, b)
    assert out.dtype == dtype
    assert out.shape == (1, 1, 2, 2)
    np.testing.assert_array_equal(out[0, 0], [[19, 25], [37, 43]])
    # The reference implementation agrees on the same example.
    np.testing.assert_array_equal(ref.conv2d_forward(x, w, b), out)


def test_conv_worked_example_by_hand():
    """0*0 + 1*1 + 3*2 + 4*3 = 19, and so on, one window at a time."""
    x = np.arange(9.0).reshape(3, 3)
    k = np.array([[0.0, 1.0], [2.0, 3.0]])
    by_hand = [[np.sum(x[i:i + 2, j:j + 2] * k) for j in range(2)] for i in range(2)]
    assert by_hand == [[19, 25], [37, 43]]
    out, _ = conv2d_forward(x[None, None], k[None, None], np.zeros(1))
    np.testing.assert_array_equal(out[0, 0], by_hand)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_worked_example_bias(dtype):
    x = image(np.arange(9).reshape(3, 3), dtype)
    w = image([[0, 1], [2, 3]], dtype)
    out, _ = conv2d_forward(x, w, np.array([1], dtype))
    np.testing.assert_array_equal(out[0, 0], [[20, 26], [38, 44]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_worked_example_multi_input_channels(dtype):
    """Two input channels: per-channel cross-correlations are summed."""
    x = np.array([[[0, 1, 2], [3, 4, 5], [6, 7, 8]],
                  [[1, 2, 3], [4, 5, 6], [7, 8, 9]]], dtype)[None]
    k = np.array([[[0, 1], [2, 3]], [[1, 2], [3, 4]]], dtype)
    out, _ = conv2d_forward(x, k[None], np.zeros(1, dtype))
    np.testing.assert_array_equal(out[0, 0], [[56, 72], [104, 120]])
    # Three output channels: kernels k, k + 1 and k + 2.
    w = np.stack([k, k + 1, k + 2])
    out, _ = conv2d_forward(x, w, np.zeros(3, dtype))
    np.testing.assert_array_equal(out[0], [[[56, 72], [104, 120]],
                                           [[76, 100], [148, 172]],
                                           [[96, 128], [192, 224]]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_worked_example_backward(dtype):
    """With dout all ones each weight's gradient is the sum of the inputs it
    meets, and each input's gradient the sum of the weights that meet it."""
    x = image(np.arange(9).reshape(3, 3), dtype)
    w = image([[0, 1], [2, 3]], dtype)
    out, cache = conv2d_forward(x, w, np.zeros(1, dtype))
    dx, dw, db = conv2d_backward(np.ones_like(out), cache)
    np.testing.assert_array_equal(dw[0, 0], [[0 + 1 + 3 + 4, 1 + 2 + 4 + 5],
                                             [3 + 4 + 6 + 7, 4 + 5 + 7 + 8]])
    np.testing.assert_array_equal(db, [4])
    np.testing.assert_array_equal(dx[0, 0], [[0, 1, 1], [2, 6, 4], [2, 5, 3]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_maxpool_worked_example(dtype):
    x = image(np.arange(9).reshape(3, 3), dtype)
    out, cache = maxpool2d_forward(x, 2, stride=1)
    assert out.dtype == dtype
    assert out.shape == (1, 1, 2, 2)
    np.testing.assert_array_equal(out[0, 0], [[4, 5], [7, 8]])
    np.testing.assert_array_equal(ref.maxpool2d_forward(x, 2, 1), out)
    # Backward: each window's maximum receives its output's gradient.
    dx = maxpool2d_backward(np.ones_like(out), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 0], [0, 1, 1], [0, 1, 1]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_maxpool_worked_example_default_stride(dtype):
    """A 3x3 window on 0..15 as 4x4: stride defaults to the window, one output."""
    x = image(np.arange(16).reshape(4, 4), dtype)
    out, _ = maxpool2d_forward(x, 3)
    np.testing.assert_array_equal(out[0, 0], [[10]])
    out, _ = maxpool2d_forward(x, 2)
    np.testing.assert_array_equal(out[0, 0], [[5, 7], [13, 15]])


# (C, n_h, n_w, c_o, k_h, k_w, s_h, s_w, p_h, p_w, m_h, m_w), m spelled out.
CONV_SHAPES = [
    (1, 3, 3, 1, 2, 2, 1, 1, 0, 0, 2, 2),   # the worked example
    (1, 8, 8, 1, 3, 3, 1, 1, 1, 1, 8, 8),   # padding keeps the size
    (1, 8, 8, 1, 5, 3, 1, 1, 2, 1, 8, 8),   # non-square kernel, matching padding
    (1, 8, 8, 1, 3, 3, 2, 2, 1, 1, 4, 4),   # stride 2 halves it
    (1, 8, 8, 1, 3, 5, 3, 4, 0, 1, 2, 2),   # everything non-square
    (3, 5, 7, 4, 1, 1, 1, 1, 0, 0, 5, 7),   # 1x1 kernel
    (2, 7, 6, 3, 3, 2, 2, 1, 1, 0, 4, 5),
    (2, 6, 6, 5, 5, 5, 3, 3, 2, 2, 2, 2),
    (2, 4, 4, 2, 6, 6, 1, 1, 1, 1, 1, 1),   # kernel as large as the padded input
    (3, 9, 5, 2, 4, 2, 3, 2, 0, 2, 2, 4),   # stride leaves some input unread
    (1, 7, 7, 2, 2, 2, 3, 3, 0, 0, 2, 2),   # floor division drops the rest
]


@pytest.mark.parametrize("C,nh,nw,co,kh,kw,sh,sw,ph,pw,mh,mw", CONV_SHAPES)
@pytest.mark.parametrize("N", [1, 3])
def test_conv_output_size_rule(N, C, nh, nw, co, kh, kw, sh, sw, ph, pw, mh, mw):
    assert ((nh + 2 * ph - kh) // sh + 1, (nw + 2 * pw - kw) // sw + 1) == (mh, mw)
    x = np.ones((N, C, nh, nw))
    w = np.ones((co, C, kh, kw))
    out, cache = conv2d_forward(x, w, np.zeros(co), stride=(sh, sw), pad=(ph, pw))
    assert out.shape == (N, co, mh, mw)
    dx, dw, db = conv2d_backward(np.ones_like(out), cache)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == (co,)
    if sh == sw and ph == pw:
        # A single int means the same value on both axes.
        out2, _ = conv2d_forward(x, w, np.zeros(co), stride=sh, pad=ph)
        np.testing.assert_array_equal(out2, out)


# (n_h, n_w, k_h, k_w, s_h, s_w, m_h, m_w)
POOL_SHAPES = [
    (3, 3, 2, 2, 1, 1, 2, 2),   # the worked example
    (4, 4, 3, 3, 3, 3, 1, 1),
    (6, 6, 2, 2, 2, 2, 3, 3),
    (5, 5, 3, 3, 2, 2, 2, 2),
    (7, 5, 3, 2, 2, 1, 3, 4),
    (4, 6, 4, 6, 1, 1, 1, 1),   # global pooling
    (7, 7, 2, 2, 3, 3, 2, 2),
]


@pytest.mark.parametrize("nh,nw,kh,kw,sh,sw,mh,mw", POOL_SHAPES)
def test_maxpool_output_size_rule(nh, nw, kh, kw, sh, sw, mh, mw):
    assert ((nh - kh) // sh + 1, (nw - kw) // sw + 1) == (mh, mw)
    x = np.ones((2, 3, nh, nw))
    out, cache = maxpool2d_forward(x, (kh, kw), stride=(sh, sw))
    assert out.shape == (2, 3, mh, mw)
    assert maxpool2d_backward(np.ones_like(out), cache).shape == x.shape
