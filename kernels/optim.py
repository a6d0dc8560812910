"""Fused optimizer updates: one pass over each parameter instead of numpy's
five or six temporaries per step."""

import numpy as np

from ._pool import blocked
from ._split import ELEMENTS_PER_THREAD, block, threads_for


# error_model="numpy": Python's division-by-zero check, a branch per element,
# kept LLVM from vectorising the update (2.6 ns per element).
@blocked(error_model="numpy")
def _adam_kernel(p, g, m, v, lr, b1, b2, eps, bc1, bc2, decay, nt, k0, k1):
    """p, g, m, v: (M,). Adam (Kingma & Ba, 2015) with bias correction, and
    AdamW's decoupled weight decay (p -= lr * decay * p) when decay > 0."""
    t = p.dtype.type
    # 1 - b is formed in float64 first: float32(0.999) is 1.3e-5 off 0.999.
    b1c, b2c = t(1.0 - b1), t(1.0 - b2)
    b1, b2, eps = t(b1), t(b2), t(eps)
    step = t(lr / bc1)
    inv_sqrt_bc2 = t(1.0 / np.sqrt(bc2))
    shrink = t(1.0 - lr * decay)
    for k in range(k0, k1):
        lo, n = block(k, nt, p.shape[0])
        # Views indexed from 0: Numba checks lo + i for negative values,
        # which stops LLVM from vectorising the loop.
        ps, gs, ms, vs = p[lo:lo + n], g[lo:lo + n], m[lo:lo + n], v[lo:lo + n]
        for i in range(n):
            gi = gs[i]
            mi = b1 * ms[i] + b1c * gi
            vi = b2 * vs[i] + b2c * gi * gi
            ms[i] = mi
            vs[i] = vi
            ps[i] = ps[i] * shrink - step * mi / (np.sqrt(vi) * inv_sqrt_bc2 + eps)


@blocked
def _sgd_kernel(p, g, buf, lr, momentum, decay, nesterov, nt, k0, k1):
    """p, g, buf: (M,). SGD with momentum as PyTorch defines it:
    buf = momentum * buf + (g + decay * p); p -= lr * buf (or the Nesterov form)."""
    t = p.dtype.type
    lr, momentum, decay = t(lr), t(momentum), t(decay)
    for k in range(k0, k1):
        lo, n = block(k, nt, p.shape[0])
        ps, gs, bs = p[lo:lo + n], g[lo:lo + n], buf[lo:lo + n]  # views: see _adam_kernel
        for i in range(n):
            gi = gs[i] + decay * ps[i]
            b = momentum * bs[i] + gi
            bs[i] = b
            ps[i] -= lr * (gi + momentum * b if nesterov else b)


@blocked
def _average_kernel(acc, p, d, nt, k0, k1):
    """acc, p: (M,). acc = d * acc + (1 - d) * p, in one pass."""
    t = p.dtype.type
    keep, take = t(d), t(1.0 - d)
    for k in range(k0, k1):
        lo, n = block(k, nt, p.shape[0])
        accs, ps = acc[lo:lo + n], p[lo:lo + n]  # views: see _adam_kernel
        for i in range(n):
            accs[i] = keep * accs[i] + take * ps[i]


def _flat(a, name, like):
    if a.shape != like.shape or a.dtype != like.dtype or not a.flags.c_contiguous:
        raise ValueError(f"{name} must be a C-contiguous {like.dtype} array of shape {like.shape}")
    return a.reshape(-1)


def _params(p):
    # reshape(-1) of a non-contiguous array is a copy: the update would be lost.
    if not p.flags.c_contiguous:
        raise ValueError("parameters must be C-contiguous arrays, updated in place")
    return p.reshape(-1)


def adam_step(p, g, m, v, lr, t, b1=0.9, b2=0.999, eps=1e-8, decay=0.0):
    """Updates p, m and v in place for step t (counting from 1). Any shape."""
    if t < 1:
        raise ValueError("Adam's step count starts at 1")
    _adam_kernel(_params(p), _flat(g, "g", p), _flat(m, "m", p), _flat(v, "v", p), float(lr),
                 float(b1), float(b2), float(eps), 1.0 - b1 ** t, 1.0 - b2 ** t, float(decay),
                 threads_for(p.size, ELEMENTS_PER_THREAD))


def sgd_step(p, g, buf, lr, momentum=0.9, decay=0.0, nesterov=False):
    """Updates p and the momentum buffer in place. Any shape."""
    _sgd_kernel(_params(p), _flat(g, "g", p), _flat(buf, "buf", p), float(lr),
                float(momentum), float(decay), bool(nesterov), threads_for(p.size, ELEMENTS_PER_THREAD))


def average_step(acc, p, d):
    """acc = d * acc + (1 - d) * p in place, for a running average of the
    weights (nn/ema.py). For the 2x256 character model's 875k weights,
    numpy's two passes and a temporary took 555-577 us, and this 300 us.
    Any shape."""
    _average_kernel(_flat(acc, "acc", p), _flat(p, "p", p), float(d),
                    threads_for(p.size, ELEMENTS_PER_THREAD))
