"""A stack of recurrent layers over token ids: the part that the character
language model and the sequence models (nn/seqnets.py) share.

Parameters, in the owner's ``params`` dict under ``prefix`` (G = 4H for an
LSTM, H for a vanilla RNN; D the embedding width, V the vocabulary):

    emb   (V, D)   the token embedding, when embed = D > 0
    l0.Wx (D, G)   input weights of layer 0 after an embedding; with one-hot
          (V, G)   input (embed = 0), one row per token, which the product
                   of a one-hot vector with them looks up
    lK.Wx (H, G)   input weights of layer K > 0
    lK.Wh (H, G)   recurrent weights, lK.b (G,) bias

The state is a list with one (h, c) pair per layer for the LSTM and one
(h,) for the RNN, each (N, H).
"""

import math

import numpy as np

from nnlab import kernels as K

CELLS = ("lstm", "rnn")


class RecurrentStack:
    def __init__(self, params, prefix, vocab_size, cell="lstm", hidden=256, layers=2,
                 embed=0, dropout=0.0, dtype=np.float32):
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r} (known: lstm, rnn)")
        if vocab_size < 1 or hidden < 1 or layers < 1:
            raise ValueError("vocab_size, hidden and layers must be at least 1")
        if embed < 0:
            raise ValueError(f"embed must be 0 (one-hot input) or more, got {embed}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.params, self.p = params, prefix
        self.V, self.cell, self.H, self.L = int(vocab_size), cell, int(hidden), int(layers)
        self.D, self.dropout = int(embed), float(dropout)
        self.G = 4 * self.H if cell == "lstm" else self.H
        self.dtype = np.dtype(dtype)
        if self.D:
            params[prefix + "emb"] = np.zeros((self.V, self.D), self.dtype)
        for l in range(self.L):
            rows = (self.D or self.V) if l == 0 else self.H
            params[f"{prefix}l{l}.Wx"] = np.zeros((rows, self.G), self.dtype)
            params[f"{prefix}l{l}.Wh"] = np.zeros((self.H, self.G), self.dtype)
            params[f"{prefix}l{l}.b"] = np.zeros(self.G, self.dtype)
        self._tape = None

    def names(self):
        return [k for k in self.params if k.startswith(self.p) and k[len(self.p):].split(".")[0]
                in ("emb", *(f"l{l}" for l in range(self.L)))]

    def init(self, rng):
        """PyTorch's defaults for nn.Embedding and nn.LSTM (or nn.RNN): the
        embedding standard normal, every other weight uniform in +-1/sqrt(H),
        and each bias the sum of two such draws (bias_ih + bias_hh); see
        CharLM.init for the measurement that chose them."""
        k = 1.0 / math.sqrt(self.H)
        for name in self.names():
            p = self.params[name]
            if name == self.p + "emb":
                p[...] = rng.standard_normal(p.shape).astype(self.dtype)
            elif name.endswith(".b"):
                p[...] = (rng.uniform(-k, k, p.shape) + rng.uniform(-k, k, p.shape)).astype(self.dtype)
            else:
                p[...] = rng.uniform(-k, k, p.shape).astype(self.dtype)

    def input_table(self):
        """(V, G): layer 0's input projection of each token (for stepping)."""
        P, p = self.params, self.p
        return P[p + "emb"] @ P[p + "l0.Wx"] if self.D else P[p + "l0.Wx"]

    def zero_state(self, n):
        parts = 2 if self.cell == "lstm" else 1
        return [tuple(np.zeros((n, self.H), self.dtype) for _ in range(parts))
                for _ in range(self.L)]

    def forward(self, tokens, state, train=False, rng=None):
        """tokens: (T, N) ids; state: the list of per-layer states. Returns
        the top layer's h: (T, N, H) and the state after the last step."""
        T, N = tokens.shape
        P, p = self.params, self.p
        tape, new_state, inp = [], [], None
        for l in range(self.L):
            if l == 0 and self.D:
                xw, emb = K.embed_project_forward(tokens, P[p + "emb"], P[p + "l0.Wx"])
            elif l == 0:
                xw, emb = K.embedding_forward(tokens, P[p + "l0.Wx"])
            else:
                xw = K.matmul(inp.reshape(T * N, self.H), P[f"{p}l{l}.Wx"]).reshape(T, N, self.G)
                emb = None
            b = P[f"{p}l{l}.b"]
            if self.cell == "lstm":
                h, cache = K.lstm_recurrence_forward(xw, state[l][0], state[l][1],
                                                     P[f"{p}l{l}.Wh"], b)
                new_state.append((h[-1].copy(), cache.c_last.copy()))
            else:
                h, cache = K.rnn_recurrence_forward(xw, state[l][0], P[f"{p}l{l}.Wh"], b)
                new_state.append((h[-1].copy(),))
            drop = None
            if train and self.dropout > 0:
                h, drop = K.dropout_forward(h, self.dropout, rng.random(h.shape, dtype=np.float32))
            tape.append((inp, emb, cache, drop))
            inp = h
        self._tape = (T, N, tape)
        return inp, new_state

    def backward(self, dtop, grads, dfinal=None):
        """Fills ``grads`` from dtop: (T, N, H), the loss's gradient at the top
        layer's every h_t, and ``dfinal`` (per layer (dh, dc), or None), its
        gradient at the state after the last step. Returns the gradient of
        the initial state, in the same form."""
        T, N, tape = self._tape
        P, p = self.params, self.p
        dstate0 = [None] * self.L
        dinp = dtop
        for l in range(self.L - 1, -1, -1):
            inp, emb, cache, drop = tape[l]
            if drop is not None:
                dinp = K.dropout_backward(dinp, drop)
            if dfinal is not None:
                # The state's h is h[-1] before dropout (which only the layer
                # above sees): its gradient adds to the last step's.
                dinp = dinp.copy()
                dinp[-1] += dfinal[l][0]
            if self.cell == "lstm":
                dcT = dfinal[l][1] if dfinal is not None else None
                dxw, dh0, dc0, dWh = K.lstm_recurrence_backward(dinp, cache, dcT)
                dstate0[l] = (dh0, dc0)
            else:
                dxw, dh0, dWh = K.rnn_recurrence_backward(dinp, cache)
                dstate0[l] = (dh0,)
            grads[f"{p}l{l}.Wh"][...] = dWh
            dxw2 = dxw.reshape(T * N, self.G)
            grads[f"{p}l{l}.b"][...] = dxw2.sum(axis=0)
            if l == 0 and self.D:
                grads[p + "emb"][...], grads[p + "l0.Wx"][...] = K.embed_project_backward(dxw, emb)
            elif l == 0:
                grads[p + "l0.Wx"][...] = K.embedding_backward(dxw, emb)
            else:
                grads[f"{p}l{l}.Wx"][...] = K.matmul_tn(inp.reshape(T * N, self.H), dxw2)
                dinp = K.matmul(dxw2, np.ascontiguousarray(P[f"{p}l{l}.Wx"].T)).reshape(
                    T, N, self.H)
        self._tape = None
        return dstate0
