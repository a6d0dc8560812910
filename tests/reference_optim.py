"""Plain-numpy references for the optimizers' update rules: PyTorch's
torch.optim.AdamW and torch.optim.SGD (single-tensor code path), written as
whole-array numpy on copies.
"""

import numpy as np


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
