"""Predictions of a sequence model (nn/seqnets.py) for lists of id
sequences, in their order: the batches group sequences of one length."""

import numpy as np

from .decode import decode, log_softmax
from .seq_data import batch_plan

BATCH = 256


def predict(kind, model, seqs, k=1, max_len=None):
    """classifier: (class id, probability) per sequence; tagger: tag ids;
    seq2seq: target ids (greedy, or beam search with k > 1)."""
    examples = [(s, None) for s in seqs]
    out = [None] * len(seqs)
    for idx in batch_plan(examples, BATCH if (kind != "seq2seq" or k <= 1) else 1):
        x = np.stack([seqs[i] for i in idx], axis=1)
        if kind == "classifier":
            logits = model.forward(x)
            p = np.exp(log_softmax(logits))
            results = [(int(j), float(p[n, j])) for n, j in enumerate(p.argmax(axis=1))]
        elif kind == "tagger":
            T, N = x.shape
            tags = model.forward(x).argmax(axis=1).reshape(T, N)
            results = [tags[:, n].tolist() for n in range(N)]
        else:
            results = decode(model, x, max_len or 2 * x.shape[0] + 10, k)
        for i, r in zip(idx, results):
            out[i] = r
    return out
