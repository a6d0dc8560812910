"""Plain-numpy reference for batch normalization: training and evaluation
forward passes, PyTorch's running-statistics update, and the backward pass.

Ioffe & Szegedy (2015), written on the (N, C, ...) layout: statistics per
channel over every axis but the channel one. The backward pass is the
staged chain rule through the computational graph (mean, centred values,
variance, inverse standard deviation, xhat), not the collapsed formula.
"""

import numpy as np


def _bn_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _bn_bcast(v, x):
    """(C,) -> a shape that broadcasts over x's (N, C, ...)."""
    return np.asarray(v).reshape((1, -1) + (1,) * (x.ndim - 2))


def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    """Training: the batch's own mean and biased variance. Returns out,
    mean: (C,), var: (C,) (biased)."""
    axes = _bn_axes(x)
    M = x.size // x.shape[1]
    mean = x.sum(axis=axes) / M
    xmu = x - _bn_bcast(mean, x)
    var = (xmu ** 2).sum(axis=axes) / M
    xhat = xmu / np.sqrt(_bn_bcast(var, x) + eps)
    return _bn_bcast(gamma, x) * xhat + _bn_bcast(beta, x), mean, var


def batchnorm_forward_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Evaluation: the running estimates instead of the batch's statistics."""
    xhat = (x - _bn_bcast(running_mean, x)) / np.sqrt(_bn_bcast(running_var, x) + eps)
    return _bn_bcast(gamma, x) * xhat + _bn_bcast(beta, x)


def batchnorm_running_update(running_mean, running_var, x, momentum=0.1):
    """PyTorch's rule: r <- (1 - momentum) r + momentum * batch statistic,
    the variance's being the unbiased one (divided by M - 1). Returns new copies."""
    axes = _bn_axes(x)
    M = x.size // x.shape[1]
    mean = x.sum(axis=axes) / M
    var_unbiased = ((x - _bn_bcast(mean, x)) ** 2).sum(axis=axes) / (M - 1)
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var_unbiased)


def batchnorm_backward_train(dout, x, gamma, eps=1e-5):
    """(dx, dgamma, dbeta) of batchnorm_forward_train, stage by stage."""
    axes = _bn_axes(x)
    M = x.size // x.shape[1]
    mean = x.sum(axis=axes) / M
    xmu = x - _bn_bcast(mean, x)                        # stage 1: centre
    var = (xmu ** 2).sum(axis=axes) / M                 # stage 2: variance
    std = np.sqrt(var + eps)                            # stage 3: std
    istd = 1.0 / std                                    # stage 4: inverse
    xhat = xmu * _bn_bcast(istd, x)                     # stage 5: normalise
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * xhat).sum(axis=axes)
    dxhat = dout * _bn_bcast(gamma, x)
    distd = (dxhat * xmu).sum(axis=axes)                # back through stage 5
    dxmu = dxhat * _bn_bcast(istd, x)
    dstd = -distd / std ** 2                            # stage 4
    dvar = dstd * 0.5 / std                             # stage 3
    dxmu = dxmu + 2.0 * xmu * _bn_bcast(dvar, x) / M    # stage 2
    dmean = -dxmu.sum(axis=axes)                        # stage 1
    dx = dxmu + _bn_bcast(dmean, x) / M
    return dx, dgamma, dbeta
