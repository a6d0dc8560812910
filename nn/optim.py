"""Optimizers over a model's parameter dict.

Weight decay applies to weights only (arrays of two or more dimensions), not
to biases: decaying a bias towards zero regularises nothing. Adam's decay is
decoupled (AdamW); SGD's is the classic L2 term added to the gradient.
"""

import numpy as np

from nnlab.kernels.optim import adam_step, sgd_step

from .arrays import load_arrays


def _decays(params, weight_decay):
    return {k: (weight_decay if p.ndim > 1 else 0.0) for k, p in params.items()}


class Adam:
    name = "adam"

    def __init__(self, params, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.b1, self.b2 = betas
        self.eps = eps
        self.decay = _decays(params, weight_decay)
        self.t = 0
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}

    def step(self, params, grads, lr):
        self.t += 1
        for k, p in params.items():
            adam_step(p, grads[k], self.m[k], self.v[k], lr, self.t,
                      self.b1, self.b2, self.eps, self.decay[k])

    def state(self):
        """(JSON-able scalars, {name: array}) holding all it takes to resume."""
        arrays = {f"m/{k}": a for k, a in self.m.items()}
        arrays.update({f"v/{k}": a for k, a in self.v.items()})
        return {"name": self.name, "t": self.t}, arrays

    def load_state(self, meta, arrays):
        self.t = int(meta["t"])
        _load_buffers(self.m, arrays, "m/")
        _load_buffers(self.v, arrays, "v/")


class SGD:
    name = "sgd"

    def __init__(self, params, momentum=0.9, nesterov=False, weight_decay=0.0):
        self.momentum, self.nesterov = momentum, nesterov
        self.decay = _decays(params, weight_decay)
        self.buf = {k: np.zeros_like(p) for k, p in params.items()}

    def step(self, params, grads, lr):
        for k, p in params.items():
            sgd_step(p, grads[k], self.buf[k], lr, self.momentum, self.decay[k], self.nesterov)

    def state(self):
        return {"name": self.name}, {f"buf/{k}": a for k, a in self.buf.items()}

    def load_state(self, meta, arrays):
        _load_buffers(self.buf, arrays, "buf/")


def _load_buffers(buffers, arrays, prefix):
    """The ``prefix`` ("m/") part of ``arrays`` into ``buffers``, strictly (nn/arrays.py)."""
    load_arrays({prefix + k: b for k, b in buffers.items()},
                {k: a for k, a in arrays.items() if k.startswith(prefix)}, "optimizer state")


def make_optimizer(name, params, weight_decay=0.0, momentum=0.9):
    if name == "adam":
        return Adam(params, weight_decay=weight_decay)
    if name == "sgd":
        return SGD(params, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r} (known: adam, sgd)")
