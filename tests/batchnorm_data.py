"""Batch-norm inputs shared by test_kernels_batchnorm.py and
test_kernels_batchnorm_stats.py. A helper module, not a test module (test
modules never import each other)."""

import numpy as np

from gradcheck import grid


def bn_data(rng, shape, dtype=np.float64):
    """x on the grid with a different offset and scale per channel (so that
    the normalisation does something), gamma and beta nonzero grid values."""
    C = shape[1]
    bshape = (1, C) + (1,) * (len(shape) - 2)
    x = grid(rng, shape) * 2.0 ** rng.integers(-1, 2, C).reshape(bshape)
    x += np.round(rng.standard_normal(C) * 4).reshape(bshape)
    gamma = grid(rng, (C,), nonzero=True) + 1.0
    gamma[gamma == 0] = 0.5
    beta = grid(rng, (C,), nonzero=True)
    return x.astype(dtype), gamma.astype(dtype), beta.astype(dtype)


def fresh_stats(C, dtype=np.float64):
    """PyTorch's initial running estimates: mean 0, variance 1."""
    return np.zeros(C, dtype), np.ones(C, dtype)
