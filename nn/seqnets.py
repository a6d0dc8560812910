"""The lecture's other sequence shapes, built on nn/recurrent_stack.py:

- ``Classifier``, many to one: a recurrent encoder reads the characters and
  a linear layer reads its final top state ("output only at the end").
- ``Tagger``, synchronized many to many: a label at every step, from the top
  states of a forward stack and, when ``bidirectional``, of a second stack
  that reads the line backwards (the case of a word's first letter depends
  on the letters after it).
- ``Seq2Seq``, encoder/decoder: the decoder starts from the encoder's final
  state and is fed the previous target token (teacher forcing); at
  inference its own previous output (nn/decode.py).

Batches hold sequences of one length (nn/seq_data.py buckets them), so no
step is padding and every final state is the sequence's own; the decoder's
targets are padded, and only their real positions reach the loss.
Parameters (besides the stacks' "enc."/"dec."/"bwd." ones): out.w (H', K),
out.b (K,).
"""

import math

import numpy as np

from nnlab import kernels as K

from .arrays import load_arrays
from .recurrent_stack import RecurrentStack


class _Net:
    def _finish(self, width, classes, dtype):
        self.params["out.w"] = np.zeros((width, classes), dtype)
        self.params["out.b"] = np.zeros(classes, dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def init(self, rng):
        for stack in self.stacks:
            stack.init(rng)
        k = 1.0 / math.sqrt(self.params["out.w"].shape[0])
        for name in ("out.w", "out.b"):
            p = self.params[name]
            p[...] = rng.uniform(-k, k, p.shape).astype(p.dtype)
        return self

    def num_params(self):
        return sum(int(p.size) for p in self.params.values())

    def load_params(self, arrays):
        load_arrays(self.params, arrays, "parameter")

    def _project(self, top):
        logits = K.matmul(top, self.params["out.w"])
        logits += self.params["out.b"]
        return logits

    def _project_backward(self, top, dlogits):
        G = self.grads
        G["out.w"][...] = K.matmul_tn(top, dlogits)
        G["out.b"][...] = dlogits.sum(axis=0)
        return K.matmul(dlogits, np.ascontiguousarray(self.params["out.w"].T))


class Classifier(_Net):
    def __init__(self, vocab_size, classes, cell="lstm", hidden=128, layers=1, embed=32,
                 dropout=0.0, dtype=np.float32):
        self.params = {}
        self.enc = RecurrentStack(self.params, "enc.", vocab_size, cell, hidden, layers, embed,
                                  dropout, dtype)
        self.stacks = [self.enc]
        self._finish(hidden, classes, dtype)

    def forward(self, tokens, train=False, rng=None):
        """tokens: (T, N) ids of N sequences of length T -> logits: (N, classes)."""
        h, state = self.enc.forward(tokens, self.enc.zero_state(tokens.shape[1]), train, rng)
        self._top = state[-1][0]  # the top layer's last h, before dropout
        self._shape = h.shape
        return self._project(self._top)

    def backward(self, dlogits):
        dtop = self._project_backward(self._top, dlogits)
        dfinal = [tuple(np.zeros_like(a) for a in s) for s in self.enc.zero_state(dtop.shape[0])]
        dfinal[-1] = (dtop,) + dfinal[-1][1:]
        self.enc.backward(np.zeros(self._shape, dtop.dtype), self.grads, dfinal)


class Tagger(_Net):
    def __init__(self, vocab_size, tags, cell="lstm", hidden=128, layers=1, embed=32,
                 dropout=0.0, bidirectional=True, dtype=np.float32):
        self.params = {}
        args = (vocab_size, cell, hidden, layers, embed, dropout, dtype)
        self.fwd = RecurrentStack(self.params, "enc.", *args)
        self.stacks = [self.fwd]
        if bidirectional:
            self.bwd = RecurrentStack(self.params, "bwd.", *args)
            self.stacks.append(self.bwd)
        self.H = hidden
        self._finish(hidden * len(self.stacks), tags, dtype)

    def forward(self, tokens, train=False, rng=None):
        """tokens: (T, N) -> logits: (T * N, tags), rows in time-major order."""
        T, N = tokens.shape
        tops = []
        for stack, order in zip(self.stacks, (slice(None), slice(None, None, -1))):
            h, _ = stack.forward(np.ascontiguousarray(tokens[order]), stack.zero_state(N),
                                 train, rng)
            tops.append(h[order])
        top = np.concatenate(tops, axis=2).reshape(T * N, -1) if len(tops) > 1 else \
            tops[0].reshape(T * N, -1)
        self._top, self._TN = top, (T, N)
        return self._project(top)

    def backward(self, dlogits):
        T, N = self._TN
        dtop = self._project_backward(self._top, dlogits).reshape(T, N, -1)
        for i, (stack, order) in enumerate(zip(self.stacks, (slice(None), slice(None, None, -1)))):
            part = dtop[:, :, i * self.H:(i + 1) * self.H]
            stack.backward(np.ascontiguousarray(part[order]), self.grads)


class Seq2Seq(_Net):
    """Source and target vocabularies of their own; the target's ids 0 and 1
    are the start and the end of a sequence (nn/seq_data.py)."""

    def __init__(self, src_vocab, tgt_vocab, cell="lstm", hidden=256, layers=2, embed=64,
                 dropout=0.0, dtype=np.float32):
        self.params = {}
        self.enc = RecurrentStack(self.params, "enc.", src_vocab, cell, hidden, layers, embed,
                                  dropout, dtype)
        self.dec = RecurrentStack(self.params, "dec.", tgt_vocab, cell, hidden, layers, embed,
                                  dropout, dtype)
        self.stacks = [self.enc, self.dec]
        self._finish(hidden, tgt_vocab, dtype)

    def encode(self, src):
        """src: (S, N) -> the state the decoder starts from."""
        _, state = self.enc.forward(src, self.enc.zero_state(src.shape[1]))
        return state

    def forward(self, src, dec_in, mask, train=False, rng=None):
        """src: (S, N) source ids; dec_in: (T, N) the decoder's inputs (start,
        then the target shifted); mask: (T, N) bool, the real target
        positions -> logits: (mask.sum(), V) of those positions, time-major."""
        self._src_shape = src.shape + (self.enc.H,)
        _, state = self.enc.forward(src, self.enc.zero_state(src.shape[1]), train, rng)
        h, _ = self.dec.forward(dec_in, state, train, rng)
        self._shape, self._mask = h.shape, mask
        self._top = np.ascontiguousarray(h[mask])
        return self._project(self._top)

    def backward(self, dlogits):
        dsel = self._project_backward(self._top, dlogits)
        dtop = np.zeros(self._shape, dsel.dtype)
        dtop[self._mask] = dsel
        dstate0 = self.dec.backward(dtop, self.grads)
        self.enc.backward(np.zeros(self._src_shape, dsel.dtype), self.grads, dstate0)

    def step(self, tokens, state):
        """One decoder step at inference: tokens: (N,) -> (logits (N, V), state)."""
        h, state = self.dec.forward(tokens[None, :], state)
        return self._project(h[0]), state
