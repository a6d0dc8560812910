"""Sampling text from a character model.

The model's weights are stacked once, and for long samples split once more
into the per-thread blocks of ``nnlab.kernels.generate``, whose compiled
loop then feeds the prime and generates characters without returning to
Python between them.

A short sample does not need it: importing Numba and loading its compiled
kernels takes most of a second, while numpy steps the model in about 0.1 ms
per character more than the kernel (2x256 LSTM on the README's Xeon, 2
threads: 150 against 27 us; on a 2-core AMD EPYC 160-230 against 70 us).
So below ``FUSED_FROM`` characters (prime included) the same step runs in
numpy, and ``nnlab sample --len 200`` is done before Numba would have
loaded. Both
draw the same characters: the same uniforms, the same float64 softmax and
the same running sum; only the last bits of the scores can differ (another
summation order, and the kernel's float32 tanh approximation).
"""

import numpy as np

# Characters from which the fused kernel pays for loading Numba: about
# 0.7 s of loading against 0.1-0.15 ms per character saved.
FUSED_FROM = 5_000


class Sampler:
    def __init__(self, model, expected=None):
        """``expected``: the characters the caller will feed and generate,
        if known; it picks numpy or the fused kernel (None: the kernel)."""
        P, L = model.params, model.L
        H, G, dt = model.H, model.G, model.dtype
        rest = [P[f"l{l}.Wx"] for l in range(1, L)]
        self.weights = (
            np.ascontiguousarray(model.input_table()),
            np.ascontiguousarray(np.stack(rest) if rest else np.zeros((0, H, G), dt)),
            np.ascontiguousarray(np.stack([P[f"l{l}.Wh"] for l in range(L)])),
            np.ascontiguousarray(np.stack([P[f"l{l}.b"] for l in range(L)])),
            np.ascontiguousarray(P["out.w"]), np.ascontiguousarray(P["out.b"]),
        )
        self.lstm = model.cell == "lstm"
        self.h = np.zeros((L, H), dt)
        self.c = np.zeros((L, H), dt)
        self.logits = np.zeros(model.V, dt)
        self.fused = expected is None or expected >= FUSED_FROM
        self._packed = None  # the kernel's layout of the weights, made on first use

    def _kernel(self):
        from nnlab.kernels import generate

        if self._packed is None:
            self._packed = generate.pack(self.weights)
        return generate, self._packed

    def feed(self, ids):
        """Runs the model over ``ids``; the next character is drawn after the last of them."""
        if not len(ids):
            return
        if self.fused:
            kernel, packed = self._kernel()
            kernel.feed(ids, packed, self.h, self.c, self.lstm, self.logits)
        else:
            for x in ids:
                step(int(x), self.weights, self.h, self.c, self.lstm, self.logits)

    def generate(self, n, rng, temperature=1.0, top_k=0, greedy=False):
        """n ids drawn one after the other; rng is a numpy Generator."""
        u = rng.random(n)
        if self.fused:
            kernel, packed = self._kernel()
            return kernel.generate(n, u, temperature, top_k, greedy, packed, self.h, self.c,
                                   self.lstm, self.logits)
        out = np.empty(n, np.int64)
        for k in range(n):
            out[k] = pick(self.logits, temperature, top_k, greedy, u[k])
            step(int(out[k]), self.weights, self.h, self.c, self.lstm, self.logits)
        return out


def _sigmoid(z):
    # As the kernel computes it, for each type.
    if z.dtype == np.float32:
        return 0.5 + 0.5 * np.tanh(0.5 * z)
    return 1.0 / (1.0 + np.exp(-z))


def step(x, weights, h, c, lstm, logits):
    """numpy's twin of the kernel's ``_step``: feeds character id x through
    every layer and the output projection, updating h, c and logits in place."""
    Wx0, WxR, Wh, b, Wy, by = weights
    L, H = h.shape
    for l in range(L):
        xz = Wx0[x] if l == 0 else h[l - 1] @ WxR[l - 1]
        z = h[l] @ Wh[l] + xz + b[l]
        if lstm:
            i, f, o = _sigmoid(z[:H]), _sigmoid(z[H:2 * H]), _sigmoid(z[3 * H:])
            c[l] = f * c[l] + i * np.tanh(z[2 * H:3 * H])
            h[l] = o * np.tanh(c[l])
        else:
            h[l] = np.tanh(z)
    logits[...] = h[L - 1] @ Wy + by


def pick(logits, temperature, top_k, greedy, u):
    """numpy's twin of the kernel's ``_pick``: the best id, or a draw (u
    uniform in [0, 1)) from softmax(logits / temperature) over the top_k
    best (0: all), summed in float64 in the same order."""
    best = int(np.argmax(logits))
    if greedy:
        return best
    V = logits.shape[0]
    s = logits.astype(np.float64)
    keep = s >= (np.sort(logits)[V - top_k] if 0 < top_k < V else -np.inf)
    p = np.where(keep, np.exp((s - s[best]) / temperature), 0.0)
    acc = np.cumsum(p)
    v = int(np.searchsorted(acc, u * acc[-1], side="right"))
    if v >= V:  # u * total rounded up to the total: the last candidate
        return int(np.flatnonzero(p)[-1])
    return v
