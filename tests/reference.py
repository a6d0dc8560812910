"""Slow plain-numpy reference implementations of the kernels.

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


# ----------------------------------------------------------------------- relu

def relu_forward(x):
    out = x.copy()
    out[out < 0] = 0
    return out


def relu_backward(dout, x):
    dx = np.zeros_like(dout)
    mask = x > 0
    dx[mask] = dout[mask]
    return dx


# --------------------------------------------------------------------- linear

def linear_forward(x, w, b):
    N, D = x.shape
    M = w.shape[1]
    out = np.zeros((N, M), x.dtype)
    for n in range(N):
        for m in range(M):
            acc = b[m]
            for d in range(D):
                acc += x[n, d] * w[d, m]
            out[n, m] = acc
    return out


def linear_backward(dout, x, w):
    N, D = x.shape
    M = w.shape[1]
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    db = np.zeros(M, dout.dtype)
    for n in range(N):
        for m in range(M):
            g = dout[n, m]
            db[m] += g
            for d in range(D):
                dx[n, d] += g * w[d, m]
                dw[d, m] += g * x[n, d]
    return dx, dw, db


# ------------------------------------------------------- softmax cross-entropy

def softmax_cross_entropy(logits, y, smoothing=0.0):
    """Mean over rows of -sum_k target_k log softmax(z)_k with
    target = (1 - smoothing) onehot(y) + smoothing / K. Returns (loss, dz)."""
    z = np.asarray(logits, np.float64)
    N, K = z.shape
    loss = 0.0
    dz = np.zeros((N, K))
    for n in range(N):
        row = z[n]
        shifted = row - row.max()
        logp = shifted - np.log(np.sum(np.exp(shifted)))
        target = np.full(K, smoothing / K)
        target[y[n]] += 1.0 - smoothing
        loss += -np.sum(target * logp)
        dz[n] = (np.exp(logp) - target) / N
    return loss / N, dz


# ============================================================ recurrent nets
#
# Step-by-step references for the recurrent kernels: a python loop over the
# batch rows and the time steps, each step the lecture's equations on column
# vectors, and backpropagation through time written out step by step. They
# take the kernels' layout (Wx: (D, G), Wh: (H, G), so U = Wx^T and W = Wh^T)
# and compute in the dtype they are given (pass float64 for a reference).

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def rnn_forward(x, h0, Wx, Wh, b):
    """a_t = b + W s_{t-1} + U x_t, s_t = tanh(a_t). x: (T, N, D), h0: (N, H)
    -> h: (T, N, H)."""
    T, N, _ = x.shape
    U, W = Wx.T, Wh.T
    h = np.zeros((T, N, h0.shape[1]), x.dtype)
    for n in range(N):
        s = h0[n]
        for t in range(T):
            a = b + W @ s + U @ x[t, n]
            s = np.tanh(a)
            h[t, n] = s
    return h


def rnn_backward(dh, x, h0, Wx, Wh, b):
    """BPTT for rnn_forward, with dh: (T, N, H) the loss's gradient at each s_t.
    Returns dx, dh0, dWx, dWh, db."""
    T, N, _ = x.shape
    U, W = Wx.T, Wh.T
    h = rnn_forward(x, h0, Wx, Wh, b)
    dx = np.zeros_like(x)
    dh0 = np.zeros_like(h0)
    dU, dW, db = np.zeros_like(U), np.zeros_like(W), np.zeros_like(b)
    for n in range(N):
        ds_next = np.zeros(h0.shape[1], dh.dtype)    # dL/ds_t through s_{t+1}
        for t in range(T - 1, -1, -1):
            s_prev = h0[n] if t == 0 else h[t - 1, n]
            ds = dh[t, n] + ds_next
            da = ds * (1.0 - h[t, n] ** 2)           # tanh' = 1 - s_t^2
            db += da
            dU += np.outer(da, x[t, n])
            dW += np.outer(da, s_prev)
            dx[t, n] = U.T @ da
            ds_next = W.T @ da
        dh0[n] = ds_next
    return dx, dh0, dU.T, dW.T, db


def lstm_forward(x, h0, c0, Wx, Wh, b):
    """z = U x_t + W h_{t-1} + b in blocks i, f, g, o (PyTorch's order);
    i, f, o = sigmoid, g = tanh; C_t = f C_{t-1} + i g; h_t = o tanh(C_t).
    Returns h, c: (T, N, H)."""
    T, N, _ = x.shape
    H = h0.shape[1]
    U, W = Wx.T, Wh.T
    h = np.zeros((T, N, H), x.dtype)
    c = np.zeros((T, N, H), x.dtype)
    for n in range(N):
        hp, cp = h0[n], c0[n]
        for t in range(T):
            z = U @ x[t, n] + W @ hp + b
            i = sigmoid(z[0:H])
            f = sigmoid(z[H:2 * H])
            g = np.tanh(z[2 * H:3 * H])
            o = sigmoid(z[3 * H:4 * H])
            cp = f * cp + i * g
            hp = o * np.tanh(cp)
            h[t, n], c[t, n] = hp, cp
    return h, c


def lstm_backward(dh, dcT, x, h0, c0, Wx, Wh, b):
    """BPTT for lstm_forward: dh: (T, N, H) the loss's gradient at each h_t,
    dcT: (N, H) that at the last cell state (or None). Returns dx, dh0, dc0,
    dWx, dWh, db."""
    T, N, _ = x.shape
    H = h0.shape[1]
    U, W = Wx.T, Wh.T
    h, c = lstm_forward(x, h0, c0, Wx, Wh, b)
    dx = np.zeros_like(x)
    dh0, dc0 = np.zeros_like(h0), np.zeros_like(c0)
    dU, dW, db = np.zeros_like(U), np.zeros_like(W), np.zeros_like(b)
    for n in range(N):
        dh_next = np.zeros(H, dh.dtype)                 # dL/dh_t through step t + 1
        dc_next = np.zeros(H, dh.dtype) if dcT is None else dcT[n].copy()
        for t in range(T - 1, -1, -1):
            hp = h0[n] if t == 0 else h[t - 1, n]
            cp = c0[n] if t == 0 else c[t - 1, n]
            z = U @ x[t, n] + W @ hp + b                # recompute the gates
            i = sigmoid(z[0:H])
            f = sigmoid(z[H:2 * H])
            g = np.tanh(z[2 * H:3 * H])
            o = sigmoid(z[3 * H:4 * H])
            tc = np.tanh(c[t, n])
            dht = dh[t, n] + dh_next
            dct = dc_next + dht * o * (1.0 - tc ** 2)
            do, di, df, dg = dht * tc, dct * g, dct * cp, dct * i
            dz = np.concatenate([di * i * (1 - i), df * f * (1 - f),
                                 dg * (1 - g ** 2), do * o * (1 - o)])
            db += dz
            dU += np.outer(dz, x[t, n])
            dW += np.outer(dz, hp)
            dx[t, n] = U.T @ dz
            dh_next = W.T @ dz
            dc_next = dct * f
        dh0[n], dc0[n] = dh_next, dc_next
    return dx, dh0, dc0, dU.T, dW.T, db


def lstm_cell_torch(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """One LSTM step as PyTorch's nn.LSTM documents it, in its layout:
    weight_ih: (4H, D), weight_hh: (4H, H), rows in blocks i, f, g, o.
    x: (D,), h, c: (H,) -> (h', c')."""
    gates = weight_ih @ x + bias_ih + weight_hh @ h + bias_hh
    i, f, g, o = np.split(gates, 4)
    i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
    c = f * c + i * g
    return o * np.tanh(c), c


# ================================================================= embedding

def one_hot(ids, V, dtype=np.float64):
    ids = np.asarray(ids)
    out = np.zeros(ids.shape + (V,), dtype)
    for k, v in np.ndenumerate(ids):
        out[k + (v,)] = 1
    return out


def embedding_forward(ids, w):
    """one_hot(ids) @ w, for ids of any shape."""
    return one_hot(ids, w.shape[0], w.dtype) @ w


def embedding_backward(dout, ids, V):
    """Scatter-add: dw[v] = sum of dout's rows whose id is v."""
    D = dout.shape[-1]
    dw = np.zeros((V, D), dout.dtype)
    for k, v in np.ndenumerate(np.asarray(ids)):
        dw[v] += dout[k]
    return dw


def embed_project_forward(ids, E, W):
    """one_hot(ids) @ E @ W: an embedding, then a linear map without bias."""
    return one_hot(ids, E.shape[0], E.dtype) @ E @ W


def embed_project_backward(dout, ids, E, W):
    """(dE, dW) of embed_project_forward, through the embedded rows x = E[ids]."""
    x = one_hot(ids, E.shape[0]).reshape(-1, E.shape[0]) @ E   # (M, D)
    d = dout.reshape(-1, W.shape[1])                           # (M, G)
    return embedding_backward(d @ W.T, np.asarray(ids).reshape(-1), E.shape[0]), x.T @ d


# =================================================================== dropout

def dropout_forward(x, p, u):
    """Inverted dropout: keep where u >= p, scaled by 1 / (1 - p)."""
    return np.where(u >= p, x / (1 - p), 0).astype(x.dtype)


def dropout_backward(dout, p, u):
    return np.where(u >= p, dout / (1 - p), 0).astype(dout.dtype)


# ================================================================ optimizers
#
# PyTorch's update rules (torch.optim.AdamW and torch.optim.SGD, single-tensor
# code path), written as whole-array numpy on copies.

def adam_step(p, g, m, v, lr, t, b1=0.9, b2=0.999, eps=1e-8, decay=0.0):
    """One AdamW step at step count t >= 1. Returns the new (p, m, v)."""
    p = p * (1 - lr * decay)
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    bias_correction1 = 1 - b1 ** t
    bias_correction2 = 1 - b2 ** t
    step_size = lr / bias_correction1
    denom = np.sqrt(v) / np.sqrt(bias_correction2) + eps
    return p - step_size * m / denom, m, v


def sgd_step(p, g, buf, lr, momentum=0.9, decay=0.0, nesterov=False):
    """One SGD step; buf is None before the first (PyTorch then starts the
    buffer at the gradient itself). Returns the new (p, buf)."""
    d_p = g + decay * p
    if momentum != 0:
        buf = d_p.copy() if buf is None else momentum * buf + d_p
        d_p = d_p + momentum * buf if nesterov else buf
    return p - lr * d_p, buf


# ============================================================ batch norm
#
# Ioffe & Szegedy (2015), written on the (N, C, ...) layout: statistics per
# channel over every axis but the channel one. The backward pass is the
# staged chain rule through the computational graph (mean, centred values,
# variance, inverse standard deviation, xhat), not the collapsed formula.

def _bn_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _bn_bcast(v, x):
    """(C,) -> a shape that broadcasts over x's (N, C, ...)."""
    return np.asarray(v).reshape((1, -1) + (1,) * (x.ndim - 2))


def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    """Training: the batch's own mean and biased variance. Returns out,
    mean: (C,), var: (C,) (biased)."""
    axes = _bn_axes(x)
    M = x.size // x.shape[1]
    mean = x.sum(axis=axes) / M
    xmu = x - _bn_bcast(mean, x)
    var = (xmu ** 2).sum(axis=axes) / M
    xhat = xmu / np.sqrt(_bn_bcast(var, x) + eps)
    return _bn_bcast(gamma, x) * xhat + _bn_bcast(beta, x), mean, var


def batchnorm_forward_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Evaluation: the running estimates instead of the batch's statistics."""
    xhat = (x - _bn_bcast(running_mean, x)) / np.sqrt(_bn_bcast(running_var, x) + eps)
    return _bn_bcast(gamma, x) * xhat + _bn_bcast(beta, x)


def batchnorm_running_update(running_mean, running_var, x, momentum=0.1):
    """PyTorch's rule: r <- (1 - momentum) r + momentum * batch statistic,
    the variance's being the unbiased one (divided by M - 1). Returns new copies."""
    axes = _bn_axes(x)
    M = x.size // x.shape[1]
    mean = x.sum(axis=axes) / M
    var_unbiased = ((x - _bn_bcast(mean, x)) ** 2).sum(axis=axes) / (M - 1)
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var_unbiased)


def batchnorm_backward_train(dout, x, gamma, eps=1e-5):
    """(dx, dgamma, dbeta) of batchnorm_forward_train, stage by stage."""
    axes = _bn_axes(x)
    M = x.size // x.shape[1]
    mean = x.sum(axis=axes) / M
    xmu = x - _bn_bcast(mean, x)                        # stage 1: centre
    var = (xmu ** 2).sum(axis=axes) / M                 # stage 2: variance
    std = np.sqrt(var + eps)                            # stage 3: std
    istd = 1.0 / std                                    # stage 4: inverse
    xhat = xmu * _bn_bcast(istd, x)                     # stage 5: normalise
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * xhat).sum(axis=axes)
    dxhat = dout * _bn_bcast(gamma, x)
    distd = (dxhat * xmu).sum(axis=axes)                # back through stage 5
    dxmu = dxhat * _bn_bcast(istd, x)
    dstd = -distd / std ** 2                            # stage 4
    dvar = dstd * 0.5 / std                             # stage 3
    dxmu = dxmu + 2.0 * xmu * _bn_bcast(dvar, x) / M    # stage 2
    dmean = -dxmu.sum(axis=axes)                        # stage 1
    dx = dxmu + _bn_bcast(dmean, x) / M
    return dx, dgamma, dbeta


# ========================================================= average pooling

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
