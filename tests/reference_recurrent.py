"""Step-by-step plain-numpy references for the recurrent kernels: the
simple RNN, the LSTM, and one LSTM step in PyTorch's layout.

A python loop over the batch rows and the time steps, each step the
lecture's equations on column vectors, and backpropagation through time
written out step by step. They take the kernels' layout (Wx: (D, G),
Wh: (H, G), so U = Wx^T and W = Wh^T) and compute in the dtype they are
given (pass float64 for a reference). Only for tests on tiny shapes.
"""

import numpy as np


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
