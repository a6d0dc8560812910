"""Text as parallel streams for truncated backpropagation through time, and
a language model's loss over a whole split.

A split of n ids becomes N streams (batch rows) of L = (n - 1) // N inputs
each; stream r reads ids[r L : r L + L + 1], its inputs and, shifted by one,
its targets. Chunk k of an epoch is columns [k T, k T + T) of every stream,
so row r of chunk k + 1 continues row r of chunk k, and the hidden state can
be carried across.
"""

import math

import numpy as np

from nnlab.kernels import softmax_cross_entropy


def fit_batch(n_ids, batch_size, seq_len):
    """(batch, seq_len) shrunk so that n_ids ids give at least one chunk."""
    if n_ids < 2:
        raise ValueError("a split needs at least two characters")
    batch = max(1, min(batch_size, (n_ids - 1) // seq_len))
    seq = max(1, min(seq_len, (n_ids - 1) // batch))
    return batch, seq


class Streams:
    def __init__(self, ids, batch, seq_len):
        n = len(ids)
        self.N, self.T = batch, seq_len
        self.L = (n - 1) // batch
        idx = np.arange(batch)[:, None] * self.L + np.arange(self.L + 1)[None, :]
        self.data = np.ascontiguousarray(ids[idx], dtype=np.int64)  # (N, L + 1)
        self.chunks = self.L // seq_len  # a trailing partial chunk is left out

    def chunk(self, k):
        """Inputs and targets of chunk k, both (T, N) time-major."""
        lo = k * self.T
        x = np.ascontiguousarray(self.data[:, lo:lo + self.T].T)
        y = np.ascontiguousarray(self.data[:, lo + 1:lo + self.T + 1].T)
        return x, y


def evaluate_lm(model, ids, batch_size=32, seq_len=64, on_progress=None):
    """Mean cross-entropy in nats per predicted character over all of ``ids``:
    every id but the first is predicted exactly once. The N streams cover all
    but the last (n - 1) mod N predictions, which a last one-row pass covers.
    ``on_progress(done, total)`` is called after every chunk with the
    predictions made so far; an exception it raises stops the evaluation."""
    n = len(ids)
    if n < 2:
        raise ValueError("evaluation needs at least two characters")
    batch, seq = fit_batch(n, batch_size, seq_len)
    L = (n - 1) // batch
    report = None
    if on_progress is not None:
        report = lambda done: on_progress(done, n - 1)  # noqa: E731
    total = 0.0
    total += _stream_loss(model, ids[:batch * L + 1], batch, L, seq, report)
    rest = ids[batch * L:]
    if len(rest) >= 2:
        base = batch * L
        total += _stream_loss(model, rest, 1, len(rest) - 1, seq,
                              report and (lambda done: report(base + done)))
    return total / (n - 1)


def _stream_loss(model, ids, batch, L, seq, report=None):
    """Summed loss over ``batch`` streams of L predictions each, all of them."""
    idx = np.arange(batch)[:, None] * L + np.arange(L + 1)[None, :]
    data = np.asarray(ids, np.int64)[idx]
    state = model.zero_state(batch)
    total = 0.0
    for lo in range(0, L, seq):
        hi = min(L, lo + seq)
        x = np.ascontiguousarray(data[:, lo:hi].T)
        y = np.ascontiguousarray(data[:, lo + 1:hi + 1].T)
        logits, state = model.forward(x, state)
        loss, _ = softmax_cross_entropy(logits, y.reshape(-1))
        total += loss * y.size
        if report is not None:
            report(batch * hi)
    return total


def bits(nats):
    return nats / math.log(2)
