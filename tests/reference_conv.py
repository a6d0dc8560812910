"""Slow plain-numpy references for the windowed ops on (N, C, H, W):
convolution, max pooling, average pooling and global average pooling.

Written from the definitions, not from the kernels: explicit loops over every
output position, no im2col, no Numba. Only for tests on tiny shapes.
"""

import numpy as np


def _pair(v):
    if np.ndim(v) == 0:
        return int(v), int(v)
    h, w = v
    return int(h), int(w)


def out_len(n, k, s, p):
    """Lecture rule: m = (n + 2p - k) // s + 1."""
    return (n + 2 * p - k) // s + 1


# ---------------------------------------------------------------- convolution

def conv2d_forward(x, w, b, stride=1, pad=0):
    """Cross-correlation: out[n, f, i, j] = b[f] + sum_{c, di, dj}
    w[f, c, di, dj] * xpad[n, c, i * sh + di, j * sw + dj]."""
    sh, sw = _pair(stride)
    ph, pw = _pair(pad)
    N, C, H, W = x.shape
    F, C2, HH, WW = w.shape
    assert C == C2
    OH, OW = out_len(H, HH, sh, ph), out_len(W, WW, sw, pw)
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), x.dtype)
    xp[:, :, ph:ph + H, pw:pw + W] = x
    out = np.zeros((N, F, OH, OW), x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    acc = b[f]
                    for c in range(C):
                        for di in range(HH):
                            for dj in range(WW):
                                acc += w[f, c, di, dj] * xp[n, c, i * sh + di, j * sw + dj]
                    out[n, f, i, j] = acc
    return out


def conv2d_backward(dout, x, w, stride=1, pad=0):
    """(dx, dw, db) of conv2d_forward for the upstream gradient dout."""
    sh, sw = _pair(stride)
    ph, pw = _pair(pad)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    OH, OW = dout.shape[2], dout.shape[3]
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), x.dtype)
    xp[:, :, ph:ph + H, pw:pw + W] = x
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.zeros(F, dout.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    g = dout[n, f, i, j]
                    db[f] += g
                    for c in range(C):
                        for di in range(HH):
                            for dj in range(WW):
                                dw[f, c, di, dj] += g * xp[n, c, i * sh + di, j * sw + dj]
                                dxp[n, c, i * sh + di, j * sw + dj] += g * w[f, c, di, dj]
    dx = dxp[:, :, ph:ph + H, pw:pw + W].copy()
    return dx, dw, db


# ---------------------------------------------------------------- max pooling

def _window_argmax(win):
    """(row, col) of the first maximum of a 2-D window, scanning row by row."""
    best, at = win[0, 0], (0, 0)
    for a in range(win.shape[0]):
        for c in range(win.shape[1]):
            if win[a, c] > best:
                best, at = win[a, c], (a, c)
    return at


def maxpool2d_forward(x, size, stride=None):
    kh, kw = _pair(size)
    sh, sw = _pair(size if stride is None else stride)
    N, C, H, W = x.shape
    OH, OW = out_len(H, kh, sh, 0), out_len(W, kw, sw, 0)
    out = np.zeros((N, C, OH, OW), x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    out[n, c, i, j] = max(
                        x[n, c, i * sh + a, j * sw + d] for a in range(kh) for d in range(kw)
                    )
    return out


def maxpool2d_backward(dout, x, size, stride=None):
    """Each output's gradient goes to the first maximum of its window;
    overlapping windows add up."""
    kh, kw = _pair(size)
    sh, sw = _pair(size if stride is None else stride)
    N, C, OH, OW = dout.shape
    dx = np.zeros(x.shape, dout.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    win = x[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    a, d = _window_argmax(win)
                    dx[n, c, i * sh + a, j * sw + d] += dout[n, c, i, j]
    return dx


def relu_pool_codes(a, k, closed=255):
    """What the fused lanes layers keep for backward instead of the
    activations a = relu(conv + b): (N, F, OH, OW) -> (N, F, OH // k, OW // k),
    each k x k window's first maximum as i * k + j, or ``closed`` where that
    maximum is 0 (ReLU passes no gradient)."""
    N, F, OH, OW = a.shape
    codes = np.empty((N, F, OH // k, OW // k), np.uint8)
    for n in range(N):
        for f in range(F):
            for i in range(OH // k):
                for j in range(OW // k):
                    win = a[n, f, i * k:(i + 1) * k, j * k:(j + 1) * k]
                    r, c = _window_argmax(win)
                    codes[n, f, i, j] = r * k + c if win.max() > 0 else closed
    return codes


def unpack_codes(arg, N):
    """The kernels' layout of those codes, (blocks of 8 images, F, QH, QW, 8),
    as (N, F, QH, QW)."""
    B, F, QH, QW, _ = arg.shape
    return arg.transpose(0, 4, 1, 2, 3).reshape(B * 8, F, QH, QW)[:N]


# ------------------------------------------------------------ average pooling

def avgpool2d_forward(x, size, stride=None):
    """out[n, c, i, j] = mean of the (kh, kw) window at (i * sh, j * sw)."""
    kh, kw = _pair(size)
    sh, sw = _pair(size if stride is None else stride)
    N, C, H, W = x.shape
    OH, OW = out_len(H, kh, sh, 0), out_len(W, kw, sw, 0)
    out = np.zeros((N, C, OH, OW), x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    acc = 0.0
                    for a in range(kh):
                        for d in range(kw):
                            acc += x[n, c, i * sh + a, j * sw + d]
                    out[n, c, i, j] = acc / (kh * kw)
    return out


def avgpool2d_backward(dout, x_shape, size, stride=None):
    """Each output's gradient is shared equally by its window's kh * kw
    inputs; overlapping windows add up."""
    kh, kw = _pair(size)
    sh, sw = _pair(size if stride is None else stride)
    N, C, OH, OW = dout.shape
    dx = np.zeros(x_shape, dout.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    g = dout[n, c, i, j] / (kh * kw)
                    for a in range(kh):
                        for d in range(kw):
                            dx[n, c, i * sh + a, j * sw + d] += g
    return dx


def global_avgpool_forward(x):
    """(N, C, H, W) -> (N, C): each channel's mean."""
    N, C, H, W = x.shape
    out = np.zeros((N, C), x.dtype)
    for n in range(N):
        for c in range(C):
            out[n, c] = np.sum(x[n, c]) / (H * W)
    return out


def global_avgpool_backward(dout, x_shape):
    N, C, H, W = x_shape
    dx = np.zeros(x_shape, dout.dtype)
    for n in range(N):
        for c in range(C):
            dx[n, c] = dout[n, c] / (H * W)
    return dx
