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
from .recurrent_stack import CELLS, RecurrentStack

__all__ = ["CELLS", "CharLM", "clip_grad_norm"]


class CharLM:
    def __init__(self, vocab_size, cell="lstm", hidden=256, layers=2, dropout=0.0,
                 embed=0, dtype=np.float32):
        """embed: the embedding's width D, or 0 for one-hot input (the
        default here, so that checkpoints from before embeddings rebuild)."""
        self.params = {}
        self.stack = RecurrentStack(self.params, "", vocab_size, cell, hidden, layers, embed,
                                    dropout, dtype)
        st = self.stack
        self.V, self.cell, self.H, self.L = st.V, st.cell, st.H, st.L
        self.dropout, self.D, self.G, self.dtype = st.dropout, st.D, st.G, st.dtype
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
        # The stack's weights first, then the projection: the order the
        # draws were always made in, so that a seed gives the same model.
        self.stack.init(rng)
        k = 1.0 / math.sqrt(self.H)
        for name in ("out.w", "out.b"):
            p = self.params[name]
            p[...] = rng.uniform(-k, k, p.shape).astype(self.dtype)
        return self

    def input_table(self):
        """(V, G): layer 0's input projection of each character, the row that
        its one-hot vector or its embedding contributes (for sampling)."""
        return self.stack.input_table()

    def zero_state(self, n):
        return self.stack.zero_state(n)

    def forward(self, tokens, state, train=False, rng=None):
        """tokens: (T, N) ids. Returns logits: (T * N, V), rows in time-major
        order, and the state after the last step."""
        T, N = tokens.shape
        h, new_state = self.stack.forward(tokens, state, train, rng)
        top = h.reshape(T * N, self.H)
        logits = K.matmul(top, self.params["out.w"])
        logits += self.params["out.b"]
        self._tape = (T, N, top)
        return logits, new_state

    def backward(self, dlogits):
        """Fills ``grads`` from dlogits: (T * N, V), the gradient of the loss."""
        T, N, top = self._tape
        P, G = self.params, self.grads
        G["out.w"][...] = K.matmul_tn(top, dlogits)
        G["out.b"][...] = dlogits.sum(axis=0)
        dtop = K.matmul(dlogits, np.ascontiguousarray(P["out.w"].T)).reshape(T, N, self.H)
        self.stack.backward(dtop, G)
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

