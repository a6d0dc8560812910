"""How well a reader (nn/reader.py) reads strips: the validation figures
of nn/train_reader.py and the tables of ``nnlab eval``.

- exact_match: numbers read whole and right (Goodfellow et al.'s
  "sequence accuracy"); the figure the issue's 95% is about;
- accuracy: digits right at their position, over the true digits (a
  digit missed or read past the end counts wrong: "123" read as "13" has
  one right of three);
- by_length: exact_match of the strips of each number of digits.
"""

import numpy as np

from nnlab.kernels import softmax_cross_entropy

from .decode import beam_from, greedy_from
from .reader import FIRST_DIGIT, teacher_batch

BATCH = 250  # strips read together: 250 x 128 columns of activations is a few MB


def normalize(images, mean, std, dtype=np.float32):
    """uint8 strips (N, 28, W) -> the network's input (N, 1, 28, W)."""
    x = images.astype(dtype)[:, None]
    x -= np.asarray(mean, dtype)
    x *= np.asarray(1.0 / std, dtype)
    return x


def read(model, images, mean, std, max_digits, beam=1, on_progress=None):
    """uint8 strips (N, 28, W) -> N digit arrays, greedy or among ``beam``
    hypotheses. At most max_digits + 1 steps: the digits, then the end."""
    out = []
    for lo in range(0, len(images), BATCH):
        x = normalize(images[lo:lo + BATCH], mean, std, model.params["out.w"].dtype)
        state = model.encode(x)
        if beam == 1:
            ids = greedy_from(model, state, len(x), max_digits + 1)
        else:
            ids = []
            for n in range(len(x)):
                one = [tuple(a[n:n + 1] for a in pair) for pair in state]
                ids.append(beam_from(model, one, max_digits + 1, beam)[0])
        out += [np.asarray(t, np.int64) - FIRST_DIGIT for t in ids]
        if on_progress is not None:
            on_progress(len(out), len(images))
    return out


def loss(model, images, labels, mean, std):
    """Teacher-forced cross-entropy per token (digits and end), in nats."""
    total, count = 0.0, 0
    for lo in range(0, len(images), BATCH):
        x = normalize(images[lo:lo + BATCH], mean, std, model.params["out.w"].dtype)
        dec_in, mask, y = teacher_batch(labels[lo:lo + BATCH])
        value, _ = softmax_cross_entropy(model.forward(x, dec_in, mask), y)
        total, count = total + float(value) * len(y), count + len(y)
    return total / count


def scores(read_digits, labels):
    """{exact_match, accuracy, by_length: {digits: exact_match}, strips}."""
    exact, right, digits = [], 0, 0
    lengths = np.array([len(t) for t in labels])
    for got, want in zip(read_digits, labels):
        exact.append(len(got) == len(want) and bool(np.all(got == want)))
        k = min(len(got), len(want))
        right += int(np.sum(got[:k] == want[:k]))
        digits += len(want)
    exact = np.array(exact, bool)
    by_length = {int(k): float(exact[lengths == k].mean()) for k in np.unique(lengths)}
    return {"exact_match": float(exact.mean()), "accuracy": right / max(1, digits),
            "by_length": by_length, "strips": len(labels)}


def text(digits):
    """A digit array as the number it reads."""
    return "".join(str(int(d)) for d in digits) or "(nothing)"


def probability(model, images, read_digits, mean, std):
    """The model's probability of each strip's reading (its digits, then
    the end token): how sure it is. images (N, 28, W) uint8."""
    out = np.empty(len(images))
    for lo in range(0, len(images), BATCH):
        part = read_digits[lo:lo + BATCH]
        x = normalize(images[lo:lo + BATCH], mean, std, model.params["out.w"].dtype)
        dec_in, mask, y = teacher_batch(part)
        logits = model.forward(x, dec_in, mask).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits[np.arange(len(y)), y] - np.log(np.exp(logits).sum(axis=1))
        # time-major rows: the strip of each row is its column in the mask
        strip = np.nonzero(mask)[1]
        out[lo:lo + len(part)] = np.exp(np.bincount(strip, logp, len(part)))
    return out
