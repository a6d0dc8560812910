"""conv2d_forward / conv2d_backward on bad input: wrong ranks, shapes,
channel counts and dtypes, windows larger than the (padded) input, bad
strides and pads, and a dout that does not match the forward pass."""

import numpy as np
import pytest

from nnlab.kernels import conv2d_backward, conv2d_forward


def _xwb(dtype=np.float64, N=2, C=3, H=5, W=5, F=4, HH=3, WW=3):
    return (np.zeros((N, C, H, W), dtype), np.zeros((F, C, HH, WW), dtype), np.zeros(F, dtype))


X, Wt, B = _xwb()
X32, W32, B32 = _xwb(np.float32)

BAD_FORWARD = [
    pytest.param((X[0], Wt, B), {}, ValueError, id="x-3d"),
    pytest.param((X[None], Wt, B), {}, ValueError, id="x-5d"),
    pytest.param((X, Wt[0], B), {}, ValueError, id="w-3d"),
    pytest.param((X, Wt, B[:, None]), {}, ValueError, id="b-2d"),
    pytest.param((X, Wt, B[:3]), {}, ValueError, id="b-wrong-length"),
    pytest.param((X, Wt[:, :2], B), {}, ValueError, id="channels-mismatch"),
    pytest.param((X, np.zeros((4, 4, 3, 3)), B), {}, ValueError, id="channels-mismatch-more"),
    pytest.param((X32, Wt, B), {}, TypeError, id="x32-w64"),
    pytest.param((X, W32, B), {}, TypeError, id="x64-w32"),
    pytest.param((X32, W32, B), {}, TypeError, id="b64-with-32"),
    pytest.param((X.astype(np.int64), Wt, B), {}, TypeError, id="x-int64"),
    pytest.param((X.astype(np.int32), Wt.astype(np.int32), B.astype(np.int32)), {}, TypeError,
                 id="all-int32"),
    pytest.param((X, Wt.astype(np.int64), B), {}, TypeError, id="w-int"),
    pytest.param((X.astype(np.float16), Wt.astype(np.float16), B.astype(np.float16)), {},
                 TypeError, id="float16"),
    pytest.param((X.astype(bool), Wt, B), {}, TypeError, id="x-bool"),
    pytest.param(_xwb(HH=6, WW=6), {}, ValueError, id="window-larger-than-input"),
    pytest.param(_xwb(HH=8, WW=3), {"pad": 1}, ValueError, id="window-larger-than-padded"),
    pytest.param(_xwb(HH=3, WW=8), {"pad": (2, 1)}, ValueError, id="window-larger-than-padded-w"),
    pytest.param(_xwb(HH=0, WW=3), {}, ValueError, id="empty-window"),
    pytest.param((X, Wt, B), {"stride": 0}, ValueError, id="stride-0"),
    pytest.param((X, Wt, B), {"stride": (1, 0)}, ValueError, id="stride-w-0"),
    pytest.param((X, Wt, B), {"stride": (0, 1)}, ValueError, id="stride-h-0"),
    pytest.param((X, Wt, B), {"stride": -1}, ValueError, id="stride-negative"),
    pytest.param((X, Wt, B), {"pad": -1}, ValueError, id="pad-negative"),
    pytest.param((X, Wt, B), {"pad": (0, -1)}, ValueError, id="pad-w-negative"),
    pytest.param((X, Wt, B), {"stride": (1, 2, 3)}, ValueError, id="stride-triple"),
    pytest.param((X, Wt, B), {"pad": "1"}, ValueError, id="pad-string"),
]


@pytest.mark.parametrize("args,kwargs,exc", BAD_FORWARD)
def test_conv_forward_rejects(args, kwargs, exc):
    with pytest.raises(exc):
        conv2d_forward(*args, **kwargs)


def test_conv_backward_rejects_bad_dout():
    x, w, b = _xwb()
    out, cache = conv2d_forward(x, w, b, 1, 1)
    with pytest.raises(ValueError):
        conv2d_backward(out[:, :, :-1], cache)            # wrong spatial shape
    with pytest.raises(ValueError):
        conv2d_backward(out[:1], cache)                    # wrong batch
    with pytest.raises(ValueError):
        conv2d_backward(out[0], cache)                     # wrong ndim
    with pytest.raises(TypeError):
        conv2d_backward(out.astype(np.float32), cache)     # wrong dtype
    with pytest.raises(TypeError):
        conv2d_backward(out.astype(np.int64), cache)
