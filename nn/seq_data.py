"""Batches for the sequence trainers: sequences of one source length each,
so that no step of the recurrence is padding (nn/seqnets.py)."""

from collections import defaultdict

import numpy as np

def batch_plan(examples, batch_size, rng=None):
    """Lists of example indices, each of one source length and at most
    ``batch_size`` long. With ``rng``, shuffled within each length and in
    their order (an epoch of training); without, in a fixed order."""
    by_len = defaultdict(list)
    for i, (src, _) in enumerate(examples):
        by_len[len(src)].append(i)
    plan = []
    for n in sorted(by_len):
        idx = np.array(by_len[n], np.int64)
        if rng is not None:
            idx = idx[rng.permutation(len(idx))]
        plan.extend(idx[k:k + batch_size] for k in range(0, len(idx), batch_size))
    if rng is not None:
        plan = [plan[i] for i in rng.permutation(len(plan))]
    return plan


def epoch_plan(examples, batch_size, seed, epoch):
    """The batches of epoch ``epoch`` (from 0): a function of the seed and
    the epoch alone, so that a resumed run needs only where it was."""
    return batch_plan(examples, batch_size, np.random.Generator(np.random.PCG64([seed, epoch])))


def steps_per_epoch(examples, batch_size):
    counts = defaultdict(int)
    for src, _ in examples:
        counts[len(src)] += 1
    return sum(-(-c // batch_size) for c in counts.values())


def assemble(kind, examples, idx, start=0):
    """The arrays of one batch. classifier: (x (T, N), labels (N,));
    tagger: (x, tags (T, N)); seq2seq: (src (S, N), decoder input (T, N),
    mask (T, N), targets at the mask, time-major), with ``start`` the
    start marker's id."""
    x = np.stack([examples[i][0] for i in idx], axis=1)
    if kind == "classifier":
        return x, np.array([examples[i][1] for i in idx], np.int64)
    if kind == "tagger":
        return x, np.stack([examples[i][1] for i in idx], axis=1).astype(np.int64)
    targets = [examples[i][1] for i in idx]
    T, N = max(len(t) for t in targets), len(targets)
    y = np.zeros((T, N), np.int64)
    dec_in = np.full((T, N), start, np.int32)
    mask = np.zeros((T, N), bool)
    for n, t in enumerate(targets):
        y[:len(t), n] = t
        dec_in[1:len(t), n] = t[:-1]
        mask[:len(t), n] = True
    return x, dec_in, mask, y[mask]
