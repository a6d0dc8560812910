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

A step reads every weight once, 3 MiB for a 2x256 LSTM: more than one
core's L2 cache (2 MiB on the Xeon of the README's table), so one thread
streamed them from L3 at 103 us a character. ``pack`` therefore splits the
hidden units into nt blocks, each with its gate columns of every matrix
side by side, and thread t steps block t: its 1.5 MiB stay in its own
core's L2 from one character to the next. The threads stay inside one
kernel call and meet once a layer (``_atomic.meet``); each computes the
output scores and draws the next character itself, from the same numbers,
so all of them agree on it. Every score and state is summed in the same
order whatever nt is and however many threads run the blocks, so the
characters drawn do not depend on either.
"""

import numpy as np
from numba import config

from ._atomic import STRIDE, meet
from ._fastmath import sigmoid_act, tanh_act
from ._jit import jit
from ._pool import run_blocks
from ._split import block, threads_for

# Hidden units a thread must get before a step is split: below 64 units
# each, a 2-layer LSTM's weights (under 1 MiB at H = 128) fit one core's
# L2 whole, and splitting only adds the meetings. Not measured at that
# size; at H = 256 the split step, two meetings included, took 19.9 us
# against 96 us on one thread.
MIN_UNITS = 64
# Characters from which a call runs its blocks on threads of their own:
# starting them costs 50-90 us (_split.py), about one character's step.
THREADS_FROM = 32


def pack(weights, nt=None):
    """The weights split into nt blocks of hidden units (None: as many as
    there are threads, with at least MIN_UNITS units each), for ``feed``
    and ``generate``:

        Wp: (nt, L, 2H, w)  block t's gate columns of [WxR[l-1]; Wh[l]]
                            (layer 0 leaves the first H rows zero)
        X0p: (nt, V, w), bp: (nt, L, w)  its columns of Wx0 and b
        Wy, by              as given

    with w = gates * ceil(H / nt); the last block's unused columns are zero."""
    Wx0, WxR, Wh, b, Wy, by = weights
    L, H, G = Wh.shape
    V = Wx0.shape[0]
    if (G not in (H, 4 * H) or Wx0.shape != (V, G) or WxR.shape != (L - 1, H, G)
            or b.shape != (L, G) or Wy.shape[0] != H or by.shape != Wy.shape[1:]):
        raise ValueError("weights do not make one model: Wx0 (V, G), WxR (L-1, H, G), "
                         f"Wh (L, H, G), b (L, G), Wy (H, V), by (V,) with G = H or 4H; got "
                         f"{[a.shape for a in weights]}")
    if len({a.dtype for a in weights}) != 1:
        raise TypeError(f"weights of mixed types: {[str(a.dtype) for a in weights]}")
    if nt is None:
        nt = threads_for(H, MIN_UNITS)
    gates = G // H
    per = -(-H // nt)
    w = gates * per
    Wp = np.zeros((nt, L, 2 * H, w), Wh.dtype)
    X0p = np.zeros((nt, V, w), Wh.dtype)
    bp = np.zeros((nt, L, w), Wh.dtype)
    for t in range(nt):
        u0, nu = block(t, nt, H)
        for g in range(gates):
            dst = slice(g * per, g * per + nu)
            src = slice(g * H + u0, g * H + u0 + nu)
            X0p[t, :, dst] = Wx0[:, src]
            bp[t, :, dst] = b[:, src]
            Wp[t, :, H:, dst] = Wh[:, :, src]
            Wp[t, 1:, :H, dst] = WxR[:, :, src]
    return Wp, X0p, bp, np.ascontiguousarray(Wy), np.ascontiguousarray(by)


@jit(inline="always")
def _accumulate(z, v, W, r0):
    """z += v @ W[r0 : r0 + len(v)], row by row in order, four at a time."""
    K = v.shape[0]
    w = z.shape[0]
    K4 = K - K % 4
    for k in range(0, K4, 4):
        a0, a1, a2, a3 = v[k], v[k + 1], v[k + 2], v[k + 3]
        w0, w1, w2, w3 = W[r0 + k], W[r0 + k + 1], W[r0 + k + 2], W[r0 + k + 3]
        for j in range(w):
            z[j] += a0 * w0[j] + a1 * w1[j] + a2 * w2[j] + a3 * w3[j]
    for k in range(K4, K):
        a = v[k]
        wk = W[r0 + k]
        for j in range(w):
            z[j] += a * wk[j]


@jit(inline="always")
def _layer(x, l, t, nt, Wp, X0p, bp, hb, p, c, lstm, z):
    """Block t of layer l for character x: reads the layer's old state
    hb[p, l] and the new state below, hb[1 - p, l - 1]; writes its units of
    hb[1 - p, l] and c[l]."""
    H = hb.shape[2]
    u0, nu = block(t, nt, H)
    per = -(-H // nt)
    W = Wp[t, l]
    bl = bp[t, l]
    if l == 0:
        xz = X0p[t, x]
        for j in range(z.shape[0]):
            z[j] = bl[j] + xz[j]
    else:
        for j in range(z.shape[0]):
            z[j] = bl[j]
        _accumulate(z, hb[1 - p, l - 1], W, 0)
    _accumulate(z, hb[p, l], W, H)
    hn = hb[1 - p, l, u0:u0 + nu]
    if lstm:
        cl = c[l, u0:u0 + nu]
        for j in range(nu):
            i = sigmoid_act(z[j])
            f = sigmoid_act(z[per + j])
            g = tanh_act(z[2 * per + j])
            o = sigmoid_act(z[3 * per + j])
            cc = f * cl[j] + i * g
            cl[j] = cc
            hn[j] = o * tanh_act(cc)
    else:
        for j in range(nu):
            hn[j] = tanh_act(z[j])


@jit(nogil=True, error_model="numpy", fastmath={"contract"})
def _run(ids, drawing, u, temperature, top_k, greedy, Wp, X0p, bp, Wy, by, hb, c, lstm,
         logits, out, flags, nt, k0, k1):
    """Blocks k0 .. k1-1 of nt, for every character: ids[k] fed, or (if
    drawing) drawn from the scores with uniform u[k] into out[k]. hb: (2, L,
    H), the state before the call in hb[0]; after n characters it is in
    hb[n % 2]. The thread with block 0 writes out and logits."""
    L = hb.shape[1]
    H = hb.shape[2]
    V = by.shape[0]
    z = np.empty(Wp.shape[3], hb.dtype)
    lg = logits.copy()
    alone = k1 - k0 == nt
    met = 0
    n = out.shape[0] if drawing else ids.shape[0]
    for k in range(n):
        if drawing:
            x = _pick(lg, temperature, top_k, greedy, u[k])
            if k0 == 0:
                out[k] = x
        else:
            x = ids[k]
        p = k % 2
        for l in range(L):
            for t in range(k0, k1):
                _layer(x, l, t, nt, Wp, X0p, bp, hb, p, c, lstm, z)
            if not alone:
                met += 1
                meet(flags, k0, nt, met)
        top = hb[1 - p, L - 1]
        for v in range(V):
            lg[v] = by[v]
        for r in range(H):
            a = top[r]
            wr = Wy[r]
            for v in range(V):
                lg[v] += a * wr[v]
    if k0 == 0:
        logits[:] = lg


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


def _call(n, ids, drawing, u, temperature, top_k, greedy, packed, h, c, lstm, logits, out):
    Wp, X0p, bp, Wy, by = packed
    nt = Wp.shape[0]
    hb = np.empty((2, *h.shape), h.dtype)
    hb[0] = h
    flags = np.zeros(nt * STRIDE, np.int64)
    args = (ids, drawing, u, temperature, top_k, greedy, Wp, X0p, bp, Wy, by, hb, c, lstm,
            logits, out, flags, nt)
    # Without the JIT the blocks run in Python, where threads spinning at a
    # meeting would wait for each other through the GIL.
    if nt > 1 and n >= THREADS_FROM and not config.DISABLE_JIT:
        run_blocks(_run, nt, args)
    else:
        _run(*args, 0, nt)
    h[...] = hb[n % 2]


def feed(ids, packed, h, c, lstm, logits):
    """Runs the model over ``ids`` (1-D ints), updating h, c and logits in
    place; ``packed`` comes from ``pack``."""
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    _call(len(ids), ids, False, np.zeros(0), 1.0, 0, False, packed, h, c, lstm, logits,
          np.empty(0, np.int64))


def generate(n, u, temperature, top_k, greedy, packed, h, c, lstm, logits):
    """n character ids, each drawn from ``logits`` and then fed back in.
    u: (n,) uniforms in [0, 1). Updates h, c and logits in place."""
    out = np.empty(n, np.int64)
    _call(n, np.empty(0, np.int64), True, np.ascontiguousarray(u, dtype=np.float64),
          float(temperature), int(top_k), bool(greedy), packed, h, c, lstm, logits, out)
    return out
