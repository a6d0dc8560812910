"""Sampling text from a character model.

The model's weights are stacked once into the layout of
``nnlab.kernels.generate``, whose compiled loop then feeds the prime and
generates characters without returning to Python between them.
"""

import numpy as np

from nnlab.kernels.generate import feed, generate


class Sampler:
    def __init__(self, model):
        P, L = model.params, model.L
        H, G, dt = model.H, model.G, model.dtype
        rest = [P[f"l{l}.Wx"] for l in range(1, L)]
        self.weights = (
            np.ascontiguousarray(P["l0.Wx"]),
            np.ascontiguousarray(np.stack(rest) if rest else np.zeros((0, H, G), dt)),
            np.ascontiguousarray(np.stack([P[f"l{l}.Wh"] for l in range(L)])),
            np.ascontiguousarray(np.stack([P[f"l{l}.b"] for l in range(L)])),
            np.ascontiguousarray(P["out.w"]), np.ascontiguousarray(P["out.b"]),
        )
        self.lstm = model.cell == "lstm"
        self.h = np.zeros((L, H), dt)
        self.c = np.zeros((L, H), dt)
        self.logits = np.zeros(model.V, dt)

    def feed(self, ids):
        """Runs the model over ``ids``; the next character is drawn after the last of them."""
        if len(ids):
            feed(ids, self.weights, self.h, self.c, self.lstm, self.logits)

    def generate(self, n, rng, temperature=1.0, top_k=0, greedy=False):
        """n ids drawn one after the other; rng is a numpy Generator."""
        u = rng.random(n)
        return generate(n, u, temperature, top_k, greedy, self.weights, self.h, self.c,
                        self.lstm, self.logits)
