"""Strips of handwritten digits, composed from single MNIST-style digits:
the one-to-many reader's data (nn/reader.py).

A strip is a (HEIGHT, width) uint8 canvas holding 1 to ``max_digits``
digits side by side, each cropped to its inked columns, with a random gap
between neighbours (negative: they overlap, and the brighter pixel wins),
a random vertical jitter per digit and a random left margin, so that the
number is not always in the same place. Training strips are drawn afresh
from the run's generator at every batch; the test strips are built once
from FIXED_TEST_SEED, so every run is scored on the same ones.
"""

import numpy as np

from nnlab import NnlabError

HEIGHT = 28          # MNIST's digit height: the strips are one digit tall
GAPS = (-3, 6)       # pixels between neighbours, inclusive: -3 overlaps by 3 columns
JITTER = 3           # each digit moves up or down by up to this many pixels
FIXED_TEST_SEED = 20130612  # the test strips of every run (the day Goodfellow et al. 2013 went up)
TEST_PER_LENGTH = 1000      # fixed test strips of each number of digits
HELD_OUT = 5000      # the last training digits, kept for the validation strips (a tenth
                     # of a set of fewer than 50,000: MNIST's usual 55,000 / 5,000 split)
VAL_SEED = 1         # the validation strips' generator


def canvas_width(max_digits):
    """Room for ``max_digits`` MNIST digits at their usual inked width (up
    to about 20 of 28 columns) and the widest gaps; wider digits overlap more
    or are drawn again (see ``compose``). 5 digits: 128 columns."""
    return 24 * max_digits + 8


def ink_columns(images):
    """(lo, hi) arrays: each image's first inked column and one past its last
    (0 and 1 for a blank image, so that it still takes one column)."""
    inked = images.max(axis=1) > 0                    # (N, W)
    any_ink = inked.any(axis=1)
    lo = np.where(any_ink, inked.argmax(axis=1), 0)
    hi = np.where(any_ink, images.shape[2] - inked[:, ::-1].argmax(axis=1), 1)
    return lo.astype(np.int64), hi.astype(np.int64)


class StripMaker:
    """Draws strips from ``digits`` (N, 28, 28) uint8 with ``labels`` (N,)."""

    def __init__(self, digits, labels, max_digits, width=None):
        if digits.ndim != 3 or digits.shape[1] != HEIGHT:
            raise ValueError(f"digits must be (N, {HEIGHT}, W) images, got {digits.shape}")
        if max_digits < 1:
            raise ValueError(f"max_digits must be at least 1, got {max_digits}")
        self.digits, self.labels = digits, np.asarray(labels, np.int64)
        self.max_digits = int(max_digits)
        self.width = int(width or canvas_width(max_digits))
        self.lo, self.hi = ink_columns(digits)
        if (self.hi - self.lo).max(initial=0) > self.width:
            raise ValueError(f"a digit is wider than the {self.width}-column canvas")

    def strip(self, rng, count):
        """One strip of ``count`` digits: (image (HEIGHT, width) uint8, digit labels)."""
        W = self.width
        for _ in range(100):
            idx = rng.integers(0, len(self.digits), count)
            widths = self.hi[idx] - self.lo[idx]
            gaps = rng.integers(GAPS[0], GAPS[1] + 1, count - 1)
            total = int(widths.sum() + gaps.sum())
            if total > W:  # squeeze the gaps to the most overlap first
                gaps[:] = GAPS[0]
                total = int(widths.sum() + gaps.sum())
            if total <= W:
                break
        else:  # only with digits far wider than MNIST's; one digit always fits
            count, idx = 1, idx[:1]
            widths, gaps, total = widths[:1], gaps[:0], int(widths[0])
        image = np.zeros((HEIGHT, W), np.uint8)
        x = int(rng.integers(0, W - total + 1))
        shifts = rng.integers(-JITTER, JITTER + 1, count)
        for i, n in enumerate(idx):
            piece = self.digits[n, :, self.lo[n]:self.hi[n]]
            dy = int(shifts[i])
            src = piece[max(0, -dy):HEIGHT - max(0, dy)]
            top = max(0, dy)
            region = image[top:top + len(src), x:x + piece.shape[1]]
            np.maximum(region, src, out=region)
            x += piece.shape[1] + (int(gaps[i]) if i < count - 1 else 0)
        return image, self.labels[idx]

    def batch(self, rng, n, counts=None):
        """n strips, each of a uniform number of digits in 1..max_digits (or
        ``counts``): (images (n, HEIGHT, width) uint8, [label arrays])."""
        if counts is None:
            counts = rng.integers(1, self.max_digits + 1, n)
        images = np.empty((n, HEIGHT, self.width), np.uint8)
        labels = []
        for i, k in enumerate(counts):
            images[i], digits = self.strip(rng, int(k))
            labels.append(digits)
        return images, labels


def test_strips(digits, labels, max_digits, per_length=TEST_PER_LENGTH):
    """The fixed test strips: ``per_length`` of each number of digits, from
    the test split's ``digits``, always the same for the same data."""
    maker = StripMaker(digits, labels, max_digits)
    rng = np.random.Generator(np.random.PCG64(FIXED_TEST_SEED))
    counts = np.repeat(np.arange(1, max_digits + 1), per_length)
    return maker.batch(rng, len(counts), counts)


def check_digits(data):
    """Refuses a Dataset whose images are not MNIST-sized digits 0-9."""
    x = data.train_x
    if x.shape[1:] != (HEIGHT, HEIGHT):
        raise NnlabError(f"{data.folder} holds {x.shape[1]}x{x.shape[2]} images; the reader "
                         f"composes strips of {HEIGHT}x{HEIGHT} digits (MNIST's)")
    if list(data.classes) != [str(d) for d in range(10)]:
        raise NnlabError(f"the reader needs the digits 0-9, and {data.name} has other classes")


def reader_sets(data, max_digits, val_per_length):
    """(StripMaker of the training digits, validation strips (images,
    labels)) of a Dataset (data/datasets.py): its training split without the
    last HELD_OUT digits, which make the validation strips, once, from
    VAL_SEED, so a resumed run validates on the same ones."""
    check_digits(data)
    x, y = data.train_x, data.train_y
    held = min(HELD_OUT, len(y) // 10)
    if held < 1:
        raise NnlabError(f"{data.folder}: {len(y):,} training digits are too few to hold a "
                         "tenth out for validation; give at least 10")
    n = len(y) - held
    val_maker = StripMaker(x[n:], y[n:], max_digits)
    rng = np.random.Generator(np.random.PCG64(VAL_SEED))
    counts = np.repeat(np.arange(1, max_digits + 1), val_per_length)
    return StripMaker(x[:n], y[:n], max_digits), val_maker.batch(rng, len(counts), counts)
