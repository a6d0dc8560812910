"""Decoding a Seq2Seq model (nn/seqnets.py) at inference: greedy, feeding
back its own previous output, or beam search over the K best prefixes.
Target ids 0 and 1 are the start and end markers (data/seqtask.py)."""

import numpy as np


def log_softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


START, END = 0, 1


def greedy(model, src, max_len):
    """src: (S, N) ids -> N lists of target ids (without the end marker)."""
    return greedy_from(model, model.encode(src), src.shape[1], max_len)


def greedy_from(model, state, N, max_len):
    """N lists of target ids, from the decoder's first ``state`` (any
    encoder's: a Seq2Seq's source, nn/reader.py's strip)."""
    tokens = np.full(N, START, np.int32)
    out, done = [[] for _ in range(N)], np.zeros(N, bool)
    for _ in range(max_len):
        logits, state = model.step(tokens, state)
        tokens = logits.argmax(axis=1).astype(np.int32)
        for n in np.flatnonzero(~done):
            if tokens[n] == END:
                done[n] = True
            else:
                out[n].append(int(tokens[n]))
        if done.all():
            break
    return out


def beam(model, src, max_len, k):
    """The most likely target of one source, src: (S, 1), among ``k`` beams:
    its ids and log-probability. Finished hypotheses compete with the live
    ones by their total log-probability, as in Sutskever et al. (2014)."""
    return beam_from(model, model.encode(src), max_len, k)


def beam_from(model, state, max_len, k):
    """``beam`` from the decoder's first ``state``, of one example."""
    beams = [([], 0.0)]
    states = state
    finished = []
    for _ in range(max_len):
        last = np.array([b[0][-1] if b[0] else START for b in beams], np.int32)
        logits, new_states = model.step(last, states)
        logp = log_softmax(logits)
        cands = []
        for i, (seq, score) in enumerate(beams):
            for tok in np.argsort(logp[i])[::-1][:k]:
                cands.append((score + float(logp[i, tok]), i, int(tok)))
        cands.sort(key=lambda c: -c[0])
        keep = []
        for score, i, tok in cands:
            if tok == END:
                finished.append((beams[i][0], score))
            else:
                keep.append((beams[i][0] + [tok], score, i))
            if len(keep) == k:
                break
        best_done = max((s for _, s in finished), default=-np.inf)
        if not keep or keep[0][1] < best_done:
            break
        beams = [(seq, score) for seq, score, _ in keep]
        rows = np.array([i for _, _, i in keep])
        states = [tuple(a[rows] for a in layer) for layer in new_states]
    if not finished:
        finished = beams
    return max(finished, key=lambda f: f[1])


def decode(model, src, max_len, k=1):
    """N lists of target ids for src: (S, N): greedy for k = 1, else beam search."""
    if k <= 1:
        return greedy(model, src, max_len)
    return [beam(model, src[:, n:n + 1], max_len, k)[0] for n in range(src.shape[1])]
