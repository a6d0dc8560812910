"""Max and average pooling, forward and backward.

The forward pass records, for each output, the flat position (h * W + w) of
the winning input inside its channel, so the backward pass is a scatter.
Windows may overlap (stride < size): the scatter adds, and each channel is
handled by one thread, so no two threads write the same element.
"""

import numpy as np
from numba import prange

from ._common import as_float_array, out_size, pair
from ._jit import jit


@jit(parallel=True)
def _maxpool_forward_kernel(x, kh, kw, sh, sw, out, arg):
    """x: (M, H, W) -> out, arg: (M, OH, OW); ties go to the first maximum."""
    M, H, W = x.shape
    OH, OW = out.shape[1], out.shape[2]
    for m in prange(M):
        img = x[m]
        for oh in range(OH):
            h0 = oh * sh
            for ow in range(OW):
                w0 = ow * sw
                best = img[h0, w0]
                at = h0 * W + w0
                for i in range(kh):
                    row = img[h0 + i]
                    for j in range(kw):
                        v = row[w0 + j]
                        if v > best:
                            best = v
                            at = (h0 + i) * W + w0 + j
                out[m, oh, ow] = best
                arg[m, oh, ow] = at


@jit(parallel=True)
def _maxpool_backward_kernel(dout, arg, dx):
    """dout, arg: (M, OH, OW) -> dx: (M, H * W), zeroed here."""
    M, OH, OW = dout.shape
    for m in prange(M):
        d = dx[m]
        for p in range(d.shape[0]):
            d[p] = 0
        for oh in range(OH):
            for ow in range(OW):
                d[arg[m, oh, ow]] += dout[m, oh, ow]


def maxpool2d_forward(x, size, stride=None):
    """Max pooling. x: (N, C, H, W); size and stride are an int or an (h, w)
    pair, stride defaulting to size. Returns out: (N, C, OH, OW) and the cache."""
    x = as_float_array(x, "x", 4)
    N, C, H, W = x.shape
    kh, kw = pair(size, "size")
    sh, sw = pair(size if stride is None else stride, "stride")
    OH = out_size(H, kh, sh, 0, "maxpool2d")
    OW = out_size(W, kw, sw, 0, "maxpool2d")
    out = np.empty((N * C, OH, OW), x.dtype)
    arg = np.empty((N * C, OH, OW), np.int32)
    _maxpool_forward_kernel(x.reshape(N * C, H, W), kh, kw, sh, sw, out, arg)
    return out.reshape(N, C, OH, OW), (x.shape, arg)


def maxpool2d_backward(dout, cache):
    """Gradient of maxpool2d_forward. dout: (N, C, OH, OW) -> dx: (N, C, H, W)."""
    (N, C, H, W), arg = cache
    dout = np.ascontiguousarray(dout)
    if dout.shape != (N, C) + arg.shape[1:]:
        raise ValueError(f"dout must have shape {(N, C) + arg.shape[1:]}, got {dout.shape}")
    dx = np.empty((N * C, H * W), dout.dtype)
    _maxpool_backward_kernel(dout.reshape(arg.shape), arg, dx)
    return dx.reshape(N, C, H, W)


@jit(parallel=True)
def _avgpool_forward_kernel(x, kh, kw, sh, sw, out):
    """x: (M, H, W) -> out: (M, OH, OW), the mean of each window."""
    M = x.shape[0]
    OH, OW = out.shape[1], out.shape[2]
    scale = x.dtype.type(1.0 / (kh * kw))
    for m in prange(M):
        img = x[m]
        for oh in range(OH):
            for ow in range(OW):
                s = x.dtype.type(0)
                for i in range(kh):
                    row = img[oh * sh + i]
                    for j in range(kw):
                        s += row[ow * sw + j]
                out[m, oh, ow] = s * scale


@jit(parallel=True)
def _avgpool_backward_kernel(dout, kh, kw, sh, sw, dx):
    """dout: (M, OH, OW) -> dx: (M, H, W), zeroed here; windows may overlap."""
    M, OH, OW = dout.shape
    scale = dout.dtype.type(1.0 / (kh * kw))
    for m in prange(M):
        d = dx[m]
        for h in range(d.shape[0]):
            for w in range(d.shape[1]):
                d[h, w] = 0
        for oh in range(OH):
            for ow in range(OW):
                g = dout[m, oh, ow] * scale
                for i in range(kh):
                    row = d[oh * sh + i]
                    for j in range(kw):
                        row[ow * sw + j] += g


def avgpool2d_forward(x, size, stride=None):
    """Average pooling. x: (N, C, H, W); size and stride are an int or an
    (h, w) pair, stride defaulting to size. Returns out: (N, C, OH, OW), cache."""
    x = as_float_array(x, "x", 4)
    N, C, H, W = x.shape
    kh, kw = pair(size, "size")
    sh, sw = pair(size if stride is None else stride, "stride")
    OH = out_size(H, kh, sh, 0, "avgpool2d")
    OW = out_size(W, kw, sw, 0, "avgpool2d")
    out = np.empty((N * C, OH, OW), x.dtype)
    _avgpool_forward_kernel(x.reshape(N * C, H, W), kh, kw, sh, sw, out)
    return out.reshape(N, C, OH, OW), (x.shape, x.dtype, (kh, kw), (sh, sw))


def avgpool2d_backward(dout, cache):
    """Gradient of avgpool2d_forward. dout: (N, C, OH, OW) -> dx: (N, C, H, W)."""
    (N, C, H, W), dtype, (kh, kw), (sh, sw) = cache
    dout = np.ascontiguousarray(dout, dtype=dtype)
    OH, OW = (H - kh) // sh + 1, (W - kw) // sw + 1
    if dout.shape != (N, C, OH, OW):
        raise ValueError(f"dout must have shape {(N, C, OH, OW)}, got {dout.shape}")
    dx = np.empty((N * C, H, W), dtype)
    _avgpool_backward_kernel(dout.reshape(N * C, OH, OW), kh, kw, sh, sw, dx)
    return dx.reshape(N, C, H, W)


def global_avgpool_forward(x):
    """x: (N, C, H, W) -> out: (N, C), the mean over each channel's H x W."""
    x = as_float_array(x, "x", 4)
    return x.mean(axis=(2, 3)), x.shape


def global_avgpool_backward(dout, cache):
    """dout: (N, C) -> dx: (N, C, H, W), each value spread evenly over H x W."""
    N, C, H, W = cache
    if dout.shape != (N, C):
        raise ValueError(f"dout must have shape {(N, C)}, got {dout.shape}")
    dx = np.empty((N, C, H, W), dout.dtype)
    dx[...] = (dout / (H * W))[:, :, None, None]
    return dx
