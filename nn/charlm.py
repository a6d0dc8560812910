"""Character-level language model: characters in (embedded, or one-hot), a
stack of LSTM or vanilla-RNN layers, and a softmax over the vocabulary at
every time step.

Parameters, in the model's ``params`` dict (G = 4H for an LSTM, H for an RNN):

    emb   (V, D)   the character embedding, when embed = D > 0
    l0.Wx (D, G)   input weights of layer 0 after an embedding; with one-hot
          (V, G)   input (embed = 0), one row per character: the product
                   of a one-hot input with them is a row lookup
    lK.Wx (H, G)   input weights of layer K > 0
    lK.Wh (H, G)   recurrent weights, lK.b (G,) bias
    out.w (H, V)   output projection, out.b (V,)

The recurrent state is a list with one (h, c) pair per layer for the LSTM
and one (h,) for the RNN, each (N, H); training carries it from one chunk of
text to the next (truncated backpropagation through time).
"""

import math

import numpy as np

from nnlab import kernels as K

from .arrays import load_arrays

CELLS = ("lstm", "rnn")


class CharLM:
    def __init__(self, vocab_size, cell="lstm", hidden=256, layers=2, dropout=0.0,
                 embed=0, dtype=np.float32):
        """embed: the embedding's width D, or 0 for one-hot input (the
        default here, so that checkpoints from before embeddings rebuild)."""
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r} (known: lstm, rnn)")
        if vocab_size < 1 or hidden < 1 or layers < 1:
            raise ValueError("vocab_size, hidden and layers must be at least 1")
        if embed < 0:
            raise ValueError(f"embed must be 0 (one-hot input) or more, got {embed}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.V, self.cell, self.H, self.L = int(vocab_size), cell, int(hidden), int(layers)
        self.dropout, self.D = float(dropout), int(embed)
        self.G = 4 * self.H if cell == "lstm" else self.H
        self.dtype = np.dtype(dtype)
        self.params = {}
        if self.D:
            self.params["emb"] = np.zeros((self.V, self.D), self.dtype)
        for l in range(self.L):
            rows = (self.D or self.V) if l == 0 else self.H
            self.params[f"l{l}.Wx"] = np.zeros((rows, self.G), self.dtype)
            self.params[f"l{l}.Wh"] = np.zeros((self.H, self.G), self.dtype)
            self.params[f"l{l}.b"] = np.zeros(self.G, self.dtype)
        self.params["out.w"] = np.zeros((self.H, self.V), self.dtype)
        self.params["out.b"] = np.zeros(self.V, self.dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._tape = None

    @staticmethod
    def count_params(vocab_size, cell="lstm", hidden=256, layers=2, embed=0, **_):
        """The number of parameters of such a model, without building it."""
        G = 4 * hidden if cell == "lstm" else hidden
        first = vocab_size * embed + embed * G if embed else vocab_size * G
        return (first + (layers - 1) * hidden * G + layers * (hidden * G + G)
                + hidden * vocab_size + vocab_size)

    def arch_args(self):
        return {"vocab_size": self.V, "cell": self.cell, "hidden": self.H,
                "layers": self.L, "dropout": self.dropout, "embed": self.D}

    def num_params(self):
        return sum(int(p.size) for p in self.params.values())

    def init(self, rng):
        """PyTorch's defaults for nn.Embedding, nn.LSTM (or nn.RNN) and
        nn.Linear: the embedding standard normal, every other weight and bias
        uniform in +-1/sqrt(H), and each recurrent bias the sum of two such
        draws (PyTorch's bias_ih + bias_hh).

        Measured against the char-rnn habit of zero biases with the forget
        gate's at 1 (2x256 LSTM with a 64-wide embedding, 1,200 steps of
        32 x 64, Adam 3e-3 cosine; validation nats/char): tiny Shakespeare
        1.581 against 1.646, Python source (examples/python_corpus.py) 1.290
        against 1.383; these with the forget biases then set to 1, 1.641 and
        1.356. The forget bias of 1 is the one habit that hurt here."""
        k = 1.0 / math.sqrt(self.H)
        for name, p in self.params.items():
            if name == "emb":
                p[...] = rng.standard_normal(p.shape).astype(self.dtype)
            elif name.endswith(".b") and name != "out.b":
                p[...] = (rng.uniform(-k, k, p.shape) + rng.uniform(-k, k, p.shape)).astype(self.dtype)
            else:
                p[...] = rng.uniform(-k, k, p.shape).astype(self.dtype)
        return self

    def input_table(self):
        """(V, G): layer 0's input projection of each character, the row that
        its one-hot vector or its embedding contributes (for sampling)."""
        P = self.params
        return P["emb"] @ P["l0.Wx"] if self.D else P["l0.Wx"]

    def zero_state(self, n):
        parts = 2 if self.cell == "lstm" else 1
        return [tuple(np.zeros((n, self.H), self.dtype) for _ in range(parts))
                for _ in range(self.L)]

    def forward(self, tokens, state, train=False, rng=None):
        """tokens: (T, N) ids. Returns logits: (T * N, V), rows in time-major
        order, and the state after the last step."""
        T, N = tokens.shape
        P = self.params
        tape = []
        new_state = []
        inp = None
        for l in range(self.L):
            if l == 0 and self.D:
                xw, emb = K.embed_project_forward(tokens, P["emb"], P["l0.Wx"])
            elif l == 0:
                xw, emb = K.embedding_forward(tokens, P["l0.Wx"])
            else:
                xw = K.matmul(inp.reshape(T * N, self.H), P[f"l{l}.Wx"]).reshape(T, N, self.G)
                emb = None
            xw += P[f"l{l}.b"]
            if self.cell == "lstm":
                h, cache = K.lstm_recurrence_forward(xw, state[l][0], state[l][1], P[f"l{l}.Wh"])
                new_state.append((h[-1].copy(), cache.c_last.copy()))
            else:
                h, cache = K.rnn_recurrence_forward(xw, state[l][0], P[f"l{l}.Wh"])
                new_state.append((h[-1].copy(),))
            drop = None
            if train and self.dropout > 0:
                h, drop = K.dropout_forward(h, self.dropout, rng.random(h.shape, dtype=np.float32))
            tape.append((inp, emb, cache, drop))
            inp = h
        top = inp.reshape(T * N, self.H)
        logits = K.matmul(top, P["out.w"])
        logits += P["out.b"]
        self._tape = (T, N, tape, top)
        return logits, new_state

    def backward(self, dlogits):
        """Fills ``grads`` from dlogits: (T * N, V), the gradient of the loss."""
        T, N, tape, top = self._tape
        P, G = self.params, self.grads
        G["out.w"][...] = K.matmul_tn(top, dlogits)
        G["out.b"][...] = dlogits.sum(axis=0)
        dinp = K.matmul(dlogits, np.ascontiguousarray(P["out.w"].T)).reshape(T, N, self.H)
        for l in range(self.L - 1, -1, -1):
            inp, emb, cache, drop = tape[l]
            if drop is not None:
                dinp = K.dropout_backward(dinp, drop)
            if self.cell == "lstm":
                dxw, _, _, dWh = K.lstm_recurrence_backward(dinp, cache)
            else:
                dxw, _, dWh = K.rnn_recurrence_backward(dinp, cache)
            G[f"l{l}.Wh"][...] = dWh
            dxw2 = dxw.reshape(T * N, self.G)
            G[f"l{l}.b"][...] = dxw2.sum(axis=0)
            if l == 0 and self.D:
                G["emb"][...], G["l0.Wx"][...] = K.embed_project_backward(dxw, emb)
            elif l == 0:
                G["l0.Wx"][...] = K.embedding_backward(dxw, emb)
            else:
                G[f"l{l}.Wx"][...] = K.matmul_tn(inp.reshape(T * N, self.H), dxw2)
                dinp = K.matmul(dxw2, np.ascontiguousarray(P[f"l{l}.Wx"].T)).reshape(T, N, self.H)
        self._tape = None

    def load_params(self, arrays):
        """Copies arrays into ``params``; raises ValueError naming the first
        array that does not fit (see load_arrays)."""
        load_arrays(self.params, arrays, "parameter")


def clip_grad_norm(grads, max_norm):
    """Scales all gradients together so their global L2 norm is at most
    max_norm (0 turns clipping off). Returns the norm before clipping."""
    total = math.sqrt(sum(float(np.dot(g.reshape(-1), g.reshape(-1))) for g in grads.values()))
    if max_norm > 0 and total > max_norm:
        scale = max_norm / (total + 1e-6)
        for g in grads.values():
            g *= g.dtype.type(scale)
    return total

