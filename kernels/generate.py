"""Running a character model one character at a time, for sampling.

One compiled call feeds or generates many characters through every layer,
so a character costs a few matrix-vector products and no Python. The
layers' weights come stacked (see ``nnlab.nn.sample``):

    Wx0: (V, G)            layer 0's input projection of each character: its
                           one-hot weights, or the embedding times them
    WxR: (L - 1, H, G)     input weights of layers 1 .. L-1
    Wh:  (L, H, G)         recurrent weights;  b: (L, G) biases
    Wy:  (H, V), by: (V,)  output projection
    h, c: (L, H)           the state, updated in place (c unused by the RNN)
    logits: (V,)           the scores for the next character, updated in place

G = 4H for the LSTM (gates i, f, g, o) and H for the vanilla RNN.
"""

import numpy as np

from ._fastmath import sigmoid_act, tanh_act
from ._jit import jit


@jit(error_model="numpy")
def _step(x, Wx0, WxR, Wh, b, Wy, by, h, c, lstm, logits):
    """Feeds character id x through all layers and the output projection."""
    L, H = h.shape
    for l in range(L):
        if l == 0:
            z = np.dot(h[0], Wh[0])
            xz = Wx0[x]
        else:
            z = np.dot(h[l], Wh[l])
            xz = np.dot(h[l - 1], WxR[l - 1])
        bl = b[l]
        hl = h[l]
        if lstm:
            for j in range(4 * H):
                z[j] += xz[j] + bl[j]
            # Views, so that the loop indexes with j alone and vectorises.
            zi, zf, zg, zo = z[0:H], z[H:2 * H], z[2 * H:3 * H], z[3 * H:4 * H]
            cl = c[l]
            for j in range(H):
                i = sigmoid_act(zi[j])
                f = sigmoid_act(zf[j])
                g = tanh_act(zg[j])
                o = sigmoid_act(zo[j])
                cc = f * cl[j] + i * g
                cl[j] = cc
                hl[j] = o * tanh_act(cc)
        else:
            for j in range(H):
                hl[j] = tanh_act(z[j] + xz[j] + bl[j])
    out = np.dot(h[L - 1], Wy)
    for v in range(logits.shape[0]):
        logits[v] = out[v] + by[v]


@jit(error_model="numpy")
def _pick(logits, temperature, top_k, greedy, u):
    """A character id from the scores: the best one, or a draw (uniform u in
    [0, 1)) from softmax(logits / temperature) over the top_k best (0: all)."""
    V = logits.shape[0]
    best = 0
    for v in range(1, V):
        if logits[v] > logits[best]:
            best = v
    if greedy:
        return best
    floor = -np.inf
    if 0 < top_k < V:
        floor = np.sort(logits)[V - top_k]
    m = float(logits[best])
    p = np.zeros(V)
    total = 0.0
    for v in range(V):
        if logits[v] >= floor:
            p[v] = np.exp((float(logits[v]) - m) / temperature)
            total += p[v]
    target = u * total
    acc = 0.0
    last = best
    for v in range(V):
        if p[v] > 0.0:
            acc += p[v]
            last = v
            if acc > target:
                return v
    return last


@jit
def _feed_kernel(ids, Wx0, WxR, Wh, b, Wy, by, h, c, lstm, logits):
    for k in range(ids.shape[0]):
        _step(ids[k], Wx0, WxR, Wh, b, Wy, by, h, c, lstm, logits)


@jit
def _generate_kernel(u, temperature, top_k, greedy, Wx0, WxR, Wh, b, Wy, by, h, c,
                     lstm, logits, out):
    for k in range(out.shape[0]):
        x = _pick(logits, temperature, top_k, greedy, u[k])
        out[k] = x
        _step(x, Wx0, WxR, Wh, b, Wy, by, h, c, lstm, logits)


def feed(ids, weights, h, c, lstm, logits):
    """Runs the model over ``ids`` (1-D ints), updating h, c and logits in place."""
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    _feed_kernel(ids, *weights, h, c, lstm, logits)


def generate(n, u, temperature, top_k, greedy, weights, h, c, lstm, logits):
    """n character ids, each drawn from ``logits`` and then fed back in.
    u: (n,) uniforms in [0, 1). Updates h, c and logits in place."""
    out = np.empty(n, np.int64)
    _generate_kernel(np.ascontiguousarray(u, dtype=np.float64), float(temperature), int(top_k),
                     bool(greedy), *weights, h, c, lstm, logits, out)
    return out
