"""Data augmentation for image batches: random shifts (a random crop of the
zero-padded image) and, where the classes allow it, horizontal flips.

Digits must not be flipped (a flipped 2 is no longer a 2, and 7 and 9 lose
their shape); clothes may be (a mirrored shoe is still a shoe).
"""

import numpy as np


def augment(images, rng, shift=2, flip=False):
    """images: uint8 (N, H, W) -> a new uint8 (N, H, W). Each image moves by
    up to ``shift`` pixels in each direction (the border filled with 0), and
    with flip=True half of them, at random, are mirrored left to right."""
    N, H, W = images.shape
    out = images.copy() if not shift else images
    if shift:
        padded = np.zeros((N, H + 2 * shift, W + 2 * shift), images.dtype)
        padded[:, shift:shift + H, shift:shift + W] = images
        dy = rng.integers(0, 2 * shift + 1, N)
        dx = rng.integers(0, 2 * shift + 1, N)
        rows = dy[:, None, None] + np.arange(H)[None, :, None]
        cols = dx[:, None, None] + np.arange(W)[None, None, :]
        out = padded[np.arange(N)[:, None, None], rows, cols]
    if flip:
        mirror = rng.random(N) < 0.5
        out[mirror] = out[mirror, :, ::-1]
    return out
