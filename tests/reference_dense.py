"""Slow plain-numpy references for the flat layers, which see no image
windows and no time steps: relu, linear, softmax cross-entropy and inverted
dropout.

Written from the definitions, not from the kernels: explicit loops where a
sum is taken, no Numba. Only for tests on tiny shapes.
"""

import numpy as np


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


# -------------------------------------------------------------------- dropout

def dropout_forward(x, p, u):
    """Inverted dropout: keep where u >= p, scaled by 1 / (1 - p)."""
    return np.where(u >= p, x / (1 - p), 0).astype(x.dtype)


def dropout_backward(dout, p, u):
    return np.where(u >= p, dout / (1 - p), 0).astype(dout.dtype)
