"""Tiny MNIST look-alikes written on the spot (tests never read ../shared).

A helper module, not a test module (test modules never import each other);
conftest.py builds its fixtures from it.
"""

import numpy as np

from nnlab.data.idx import write_idx

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def toy_digits(n, seed, size=28):
    """Learnable 28x28 images: class k lights a 6x6 patch at a spot of its own."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n).astype(np.uint8)
    x = rng.integers(0, 60, (n, size, size)).astype(np.uint8)
    for i, k in enumerate(y):
        r, c = 2 + (k // 5) * 12, 2 + (k % 5) * 5
        x[i, r:r + 6, c:c + 6] = 200 + rng.integers(0, 56)
    return x, y


def write_dataset(folder, n_train=256, n_test=64, seed=0, digits=None):
    """An MNIST-named folder of ``digits(n, seed)`` (toy_digits by default)."""
    digits = digits or toy_digits
    folder.mkdir(parents=True, exist_ok=True)
    tx, ty = digits(n_train, seed)
    vx, vy = digits(n_test, seed + 1)
    for role, arr in (("train_images", tx), ("train_labels", ty),
                      ("test_images", vx), ("test_labels", vy)):
        write_idx(folder / MNIST_FILES[role], arr)
    return folder


def stroke_digits(n, seed):
    """Digits on a black page that a reader can tell apart after cropping
    to their inked columns: class k is k + 1 bright vertical strokes, one
    pixel wide and one apart, 20 rows tall (so 2k + 1 columns wide)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n).astype(np.uint8)
    x = np.zeros((n, 28, 28), np.uint8)
    for i, k in enumerate(y):
        for s in range(k + 1):
            x[i, 4:24, 4 + 2 * s] = 160 + rng.integers(0, 96)
    return x, y


def write_stroke_dataset(folder, n_train=600, n_test=100, seed=0):
    """An MNIST-named folder of stroke_digits, for the reader's tests."""
    return write_dataset(folder, n_train, n_test, seed, stroke_digits)
