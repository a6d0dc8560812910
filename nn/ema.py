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

Early on, a window of 200 steps reaches back to much worse weights: step t
uses the decay min(decay, (1 + t) / (10 + t)), as TensorFlow's average does
with num_updates, so the window grows with the run (about t / 9 steps) up
to 1 / (1 - decay). On the same model (validation nats/char; a cosine over
1,300 steps, a 2-minute run here, then over 6,500):

    step (of 1,300)               325     650     975     1,300
    Python, raw weights           1.523   1.371   1.296   1.267
       decay 0.995                1.598   1.363   1.290   1.267
       growing window             1.495   1.346   1.280   1.264
    Shakespeare, raw weights      1.715   1.580   1.516   1.492
       decay 0.995                1.758   1.584   1.520   1.496
       growing window             1.681   1.564   1.510   1.493

    step (of 6,500)               650     1,300   1,950
    Python, raw weights           1.385   1.300   1.277
       decay 0.995                1.355   1.247   1.222
       growing window             1.344   1.246   1.222
    Shakespeare, raw weights      1.593   1.528   1.491
       decay 0.995                1.583   1.493   1.452
       growing window             1.568   1.491   1.452

(Constant decays of 0.98 and 0.99 were as good early and 0.005-0.02
worse from step 1,300 of the longer run.)

The average divides by 1 - (the product of the decays so far), as Adam
corrects its moments, so the first steps are not pulled towards zero.
Checkpoints written before the growing window (their "average" section has
no "warmup" entry) go on with the constant decay they started with.
"""

import math

import numpy as np

from nnlab.kernels.optim import average_step

from .arrays import load_arrays


def step_decay(decay, t, warmup):
    """The decay applied at update t (0-based)."""
    return min(decay, (1.0 + t) / (10.0 + t)) if warmup else decay


def decay_product(decay, t, warmup):
    """The product of the first t decays: what is left of the zero start."""
    if not warmup:
        return decay ** t
    # The first update at the cap, k: the least i with (1 + i) / (10 + i) >=
    # decay, nudged past float rounding with step_decay's own comparison.
    k = max(0, math.ceil((10.0 * decay - 1.0) / (1.0 - decay)))
    while k > 0 and (1.0 + k - 1) / (10.0 + k - 1) >= decay:
        k -= 1
    while (1.0 + k) / (10.0 + k) < decay:
        k += 1
    # Below the cap the product telescopes: prod_{i<n} (1 + i) / (10 + i)
    # = 9! n! / (n + 9)!, so no loop over a long run's steps.
    n = min(t, k)
    below = 362880.0
    for j in range(1, 10):
        below /= n + j
    return below * decay ** (t - n)


class WeightAverage:
    def __init__(self, params, decay, warmup=True):
        """params: {name: array}, the model's weights; decay in (0, 1);
        warmup: grow the window with the run (see above)."""
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the average's decay must be in (0, 1), got {decay}")
        self.decay, self.warmup = float(decay), bool(warmup)
        self.t = 0
        self.acc = {k: np.zeros_like(p) for k, p in params.items()}

    def update(self, params):
        """After an optimizer step: acc = d * acc + (1 - d) * params."""
        d = step_decay(self.decay, self.t, self.warmup)
        self.t += 1
        for k, p in params.items():
            average_step(self.acc[k], p, d)

    def weights(self):
        """{name: array}: the average, corrected for starting at zero."""
        if self.t == 0:
            raise ValueError("no step has been averaged yet")
        scale = 1.0 / (1.0 - decay_product(self.decay, self.t, self.warmup))
        return {k: a * a.dtype.type(scale) for k, a in self.acc.items()}

    def state(self):
        """(JSON-able scalars, {name: array}) holding all it takes to resume."""
        return {"decay": self.decay, "t": self.t, "warmup": self.warmup}, dict(self.acc)

    def load_state(self, meta, arrays):
        """meta: {"decay", "t"} and, from checkpoints that grow the window,
        "warmup"; arrays: {name: array} shaped like the weights."""
        self.t = int(meta["t"])
        self.warmup = bool(meta.get("warmup", False))
        load_arrays(self.acc, arrays, "weight average")


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
