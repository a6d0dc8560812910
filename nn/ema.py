"""An exponential moving average of the weights, for validation, sampling
and evaluation while training goes on with the raw weights.

Adam with a learning rate high enough to learn fast leaves the weights
jittering around where the loss is low; their average over the last few
hundred steps sits nearer the middle. Averaging costs one pass over the
weights per step, and gives most of what decaying the learning rate gives,
at any point of a run instead of only at its end. Measured on the 2x256
LSTM (64-wide embedding, dropout 0.1, Adam 5e-3 on a cosine over 5,300
steps; validation nats/char, raw weights -> averaged with decay 0.995):

    step                  530     1,060   1,590   2,120
    tiny Shakespeare      1.622   1.553   1.512   1.495
       averaged           1.616   1.505   1.478   1.457
    Python source         1.411   1.324   1.274   1.252
       averaged           1.386   1.259   1.220   1.201

(decay 0.99 was better at step 530, 1.589 and 1.361, and a little worse
from 1,060 on; 0.998 worse throughout the first half.)

The accumulator starts at zero and the average divides by 1 - decay^t, as
Adam corrects its moments, so the first steps are averaged evenly instead
of being pulled towards the initial weights.
"""

import numpy as np


class WeightAverage:
    def __init__(self, params, decay):
        """params: {name: array}, the model's weights; decay in (0, 1)."""
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the average's decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        self.t = 0
        self.acc = {k: np.zeros_like(p) for k, p in params.items()}

    def update(self, params):
        """After an optimizer step: acc = decay * acc + (1 - decay) * params."""
        self.t += 1
        for k, p in params.items():
            a = self.acc[k]
            d = p.dtype.type(self.decay)
            a *= d
            a += (p.dtype.type(1) - d) * p

    def weights(self):
        """{name: array}: the average, corrected for starting at zero."""
        if self.t == 0:
            raise ValueError("no step has been averaged yet")
        scale = 1.0 / (1.0 - self.decay ** self.t)
        return {k: a * a.dtype.type(scale) for k, a in self.acc.items()}

    def state(self):
        """(JSON-able scalars, {name: array}) holding all it takes to resume."""
        return {"decay": self.decay, "t": self.t}, dict(self.acc)

    def load_state(self, meta, arrays):
        """meta: {"decay", "t"}; arrays: {name: array} shaped like the weights."""
        self.t = int(meta["t"])
        for k, a in self.acc.items():
            src = arrays.get(k)
            if src is None or src.shape != a.shape:
                raise ValueError(f"the weight average of {k} is missing or misshapen")
            a[...] = src


class swapped:
    """``with swapped(params, weights):`` runs the block with ``weights``
    copied into the model's own arrays, and puts the old values back after."""

    def __init__(self, params, weights):
        self.params, self.weights, self.saved = params, weights, None

    def __enter__(self):
        self.saved = {k: p.copy() for k, p in self.params.items()}
        for k, p in self.params.items():
            p[...] = self.weights[k]
        return self.params

    def __exit__(self, *exc):
        for k, p in self.params.items():
            p[...] = self.saved[k]
        return False
