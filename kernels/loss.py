"""Softmax cross-entropy with a stable log-sum-exp, and optional label smoothing."""

import numpy as np

from ._common import as_float_array
from ._jit import jit
from ._pool import blocked
from ._split import block, threads_for

# A second thread only from 2 x 16,384 exponentials: each is a scalar call
# of about 4 ns, and a handoff to the pool costs 50-90 us. Measured, 1 thread
# against 2: 34 vs 113 us for 8,320 exponentials, 133 vs 125 us for 33,280,
# 522 vs 335 us for 133,120 (the character model's 2,048 x 65).
EXPS_PER_THREAD = 16384


@blocked
def _softmax_ce_kernel(logits, y, smoothing, dlogits, losses, nt, k0, k1):
    """logits: (N, K), y: (N,) -> dlogits: (N, K) = softmax - target,
    losses: (N,) in float64. Target: 1 - smoothing on the label, plus
    smoothing / K spread over every class. Blocks k0..k1 of nt (_pool.py).
    A serial kernel: parallel=True made this the slowest kernel of the
    first train-charlm run to compile (1.07 s)."""
    N, K = logits.shape
    off = smoothing / K
    for b in range(k0, k1):
        lo, count = block(b, nt, N)
        for n in range(lo, lo + count):
            _row(logits[n], y[n], smoothing, off, dlogits[n], losses, n)


@jit(inline="always")
def _row(row, label, smoothing, off, d, losses, n):
    """One row: logits row: (K,), its label -> d: (K,), losses[n]."""
    K = row.shape[0]
    m = row[0]
    for k in range(1, K):
        if row[k] > m:
            m = row[k]
    s = 0.0
    for k in range(K):
        e = np.exp(row[k] - m)
        d[k] = e
        s += float(e)  # float64 even without the JIT (NumPy 2 keeps float32 + float in float32)
    inv = 1.0 / s
    # loss = log-sum-exp - sum_k target_k * logit_k, with the row's maximum
    # taken out of both terms so that huge logits do not cancel.
    dot = (1.0 - smoothing) * float(row[label] - m)
    if smoothing != 0.0:
        tot = 0.0
        for k in range(K):
            tot += float(row[k] - m)
        dot += off * tot
    losses[n] = np.log(s) - dot
    for k in range(K):
        d[k] = d[k] * inv - off
    d[label] -= 1.0 - smoothing


def softmax_cross_entropy(logits, y, smoothing=0.0):
    """Mean cross-entropy of softmax(logits) against integer labels.

    logits: (N, K), y: (N,) ints in [0, K). Returns (loss, dlogits), loss a
    Python float in nats and dlogits: (N, K) its gradient.
    """
    logits = as_float_array(logits, "logits", 2)
    N, K = logits.shape
    y = np.ascontiguousarray(y)
    if y.shape != (N,):
        raise ValueError(f"y must have shape ({N},), got {y.shape}")
    if N == 0:
        raise ValueError("softmax_cross_entropy needs at least one row")
    if y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= K:
        raise ValueError(f"labels must be integers in [0, {K})")
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    dlogits = np.empty_like(logits)
    losses = np.empty(N, np.float64)
    _softmax_ce_kernel(logits, y.astype(np.int64, copy=False), float(smoothing), dlogits, losses,
                       threads_for(N, max(1, EXPS_PER_THREAD // K)))
    dlogits /= N
    return float(losses.mean()), dlogits
