"""How well a sequence model does on held-out pairs: the validation figures
of nn/train_seq.py and the tables of ``nnlab eval``.

classifier: accuracy and a confusion matrix; tagger: per-character
accuracy and per-tag precision and recall; seq2seq: exact-match accuracy,
and character and word error rates (edit distances through rapidfuzz),
all fractions in [0, 1] (an error rate can exceed 1 when the outputs are
longer than the references; it is reported as it is).
"""

import numpy as np

from nnlab.kernels import softmax_cross_entropy

from .decode import decode
from .evaluate import precision_recall
from .seq_data import assemble, batch_plan

# Validations of a seq2seq model decode this many pairs for their exact-match
# figure (greedy; 1,000 words of the G2P split take about a second).
VAL_DECODE = 1000


def _forward(kind, model, batch):
    if kind == "seq2seq":
        src, dec_in, mask, y = batch
        return model.forward(src, dec_in, mask), y
    x, y = batch
    return model.forward(x), y.reshape(-1)


def score(kind, model, examples, batch_size, tgt_tokens, confusion=False):
    """{val_loss, accuracy or exact_match, ...} over ``examples``."""
    K = len(tgt_tokens)
    matrix = np.zeros((K, K), np.int64)
    total, count = 0.0, 0
    for idx in batch_plan(examples, batch_size):
        logits, y = _forward(kind, model, assemble(kind, examples, idx))
        loss, _ = softmax_cross_entropy(logits, y)
        total, count = total + loss * len(y), count + len(y)
        if kind != "seq2seq":
            np.add.at(matrix, (y, logits.argmax(axis=1)), 1)
    out = {"val_loss": total / max(count, 1)}
    if kind != "seq2seq":
        out["accuracy"] = float(np.trace(matrix)) / max(int(matrix.sum()), 1)
        if confusion:
            out["confusion"] = matrix
        return out
    out["exact_match"] = exact_match(model, examples[:VAL_DECODE], batch_size)
    return out


def predictions(model, examples, batch_size, k=1, max_len=None):
    """Decoded target ids of every example, in their order."""
    out = [None] * len(examples)
    for idx in batch_plan(examples, batch_size if k <= 1 else 1):
        src = np.stack([examples[i][0] for i in idx], axis=1)
        limit = max_len or 2 * src.shape[0] + 10
        for i, ids in zip(idx, decode(model, src, limit, k)):
            out[i] = ids
    return out


def exact_match(model, examples, batch_size):
    if not examples:
        return None
    got = predictions(model, examples, batch_size)
    return sum(list(g) == list(t[:-1]) for g, t in zip(got, (e[1] for e in examples))) / len(got)


def error_rates(hyps, refs):
    """(exact match, character error rate, word error rate) of hypothesis
    strings against references: edit distances summed over the pairs,
    divided by the references' total length."""
    from rapidfuzz.distance import Levenshtein

    exact = sum(h == r for h, r in zip(hyps, refs)) / max(len(refs), 1)
    chars = sum(Levenshtein.distance(h, r) for h, r in zip(hyps, refs))
    words = sum(Levenshtein.distance(h.split(), r.split()) for h, r in zip(hyps, refs))
    return (exact, chars / max(sum(len(r) for r in refs), 1),
            words / max(sum(len(r.split()) for r in refs), 1))


def tag_table(matrix, tokens):
    """Per-tag rows {tag, precision, recall, f1, support} of a confusion matrix."""
    precision, recall = precision_recall(matrix)
    rows = []
    for tag, p, r, s in zip(tokens, precision, recall, matrix.sum(axis=1)):
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        rows.append({"tag": tag, "precision": p, "recall": r, "f1": f1, "support": int(s)})
    return rows
