"""Spatial batch normalisation (Ioffe & Szegedy, 2015), forward and backward.

For each channel c, over the N x H x W values of the batch:

    xhat = (x - mean_c) / sqrt(var_c + eps)        out = gamma_c xhat + beta_c

In training the batch's own mean and (biased) variance are used and the
running estimates move towards them (PyTorch's convention: the running
variance takes the unbiased batch variance); in evaluation the running
estimates are used instead. Each thread owns whole channels; sums are
accumulated in float64, since a channel holds tens of thousands of values.
"""

import numpy as np
from numba import prange

from ._common import as_float_array
from ._jit import jit


# Lets the per-channel sums vectorise (several partial sums, as BLAS keeps);
# nothing is approximated. A channel's sums took 3x longer without it.
SUMS = {"reassoc", "contract"}


@jit(fastmath=SUMS)
def channel_moments(x, c):
    """(mean, biased variance) of channel c of x: (N, C, P), in float64, in
    one pass of shifted sums: with K = x[0, c, 0], s = sum(x - K) and
    q = sum((x - K)^2), var = q / M - (s / M)^2. The shift keeps the
    cancellation small: the variance's relative error is about
    eps64 (1 + (mean - K)^2 / var), and K is one of the channel's own
    values. The differences are taken in x's dtype: for float32 data that
    costs the variance about eps32 relative, below what its float32 output
    resolves. One pass instead of two (the mean, then the centred squares)
    took the ResNet's batch norm forward from 0.62 to 0.34 ms at 16 x 28 x 28
    and from 0.25 to 0.15 ms at 64 x 7 x 7 (batch 64, 2 threads), with the
    normalised values no longer written either. Shared with
    batchnorm_relu.py."""
    N, P = x.shape[0], x.shape[2]
    M = N * P
    k = x[0, c, 0]
    s = 0.0
    q = 0.0
    for n in range(N):
        row = x[n, c]
        for p in range(P):
            d = np.float64(row[p] - k)  # x's precision, the sums float64's
            s += d
            q += d * d
    m1 = s / M
    return k + m1, max(q / M - m1 * m1, 0.0)


@jit(parallel=True, fastmath=SUMS)
def _bn_train_kernel(x, gamma, beta, eps, out, mean, var, invstd):
    """x: (N, C, P) -> out: (N, C, P); mean, var, invstd: (C,) float64.
    The normalised values are not stored: the backward pass recomputes
    them from x, which costs less than writing and reading them back."""
    N, C, P = x.shape
    t = x.dtype.type
    for c in prange(C):
        mu, v_ = channel_moments(x, c)
        inv = 1.0 / np.sqrt(v_ + eps)
        mean[c] = mu
        var[c] = v_
        invstd[c] = inv
        # Centred first, as xhat is: x * scale + shift would cancel when
        # the mean is large against the spread.
        mu_t, ginv, b = t(mu), t(gamma[c] * inv), beta[c]
        for n in range(N):
            src = x[n, c]
            dst = out[n, c]
            for p in range(P):
                dst[p] = (src[p] - mu_t) * ginv + b


@jit(parallel=True)
def _bn_eval_kernel(x, gamma, beta, mean, var, eps, out):
    """x: (N, C, P) normalised with fixed mean, var: (C,)."""
    N, C, P = x.shape
    t = x.dtype.type
    for c in prange(C):
        inv = 1.0 / np.sqrt(var[c] + eps)
        scale = t(gamma[c] * inv)
        shift = t(beta[c] - mean[c] * gamma[c] * inv)
        for n in range(N):
            src = x[n, c]
            dst = out[n, c]
            for p in range(P):
                dst[p] = src[p] * scale + shift


@jit(parallel=True, fastmath=SUMS)
def _bn_backward_kernel(dout, x, mean, gamma, invstd, dx, dgamma, dbeta):
    """dout, x: (N, C, P) -> dx: (N, C, P), dgamma, dbeta: (C,). With
    xhat = (x - mean) invstd, recomputed as it is read:
    dx = gamma invstd / M (M dout - sum(dout) - xhat sum(dout xhat))."""
    N, C, P = dout.shape
    M = N * P
    t = dout.dtype.type
    for c in prange(C):
        mu_t, inv_t = t(mean[c]), t(invstd[c])
        sd = 0.0
        sdx = 0.0
        for n in range(N):
            d = dout[n, c]
            src = x[n, c]
            for p in range(P):
                sd += d[p]
                sdx += d[p] * ((src[p] - mu_t) * inv_t)
        dgamma[c] = sdx
        dbeta[c] = sd
        k = gamma[c] * invstd[c] / M
        a = t(k * M)
        b = t(k * sd)
        e = t(k * sdx)
        for n in range(N):
            d = dout[n, c]
            src = x[n, c]
            dst = dx[n, c]
            for p in range(P):
                dst[p] = a * d[p] - b - e * ((src[p] - mu_t) * inv_t)


def checked_inputs(x, gamma, beta, running_mean, running_var):
    """x as (N, C, P) (P = H * W, or 1 for (N, C)), gamma and beta in its
    dtype, all checked; shared with batchnorm_relu.py."""
    x = np.asarray(x)
    if x.ndim not in (2, 4):
        raise ValueError(f"x must be (N, C) or (N, C, H, W), got shape {x.shape}")
    N, C = x.shape[:2]
    x3 = as_float_array(x.reshape(N, C, int(np.prod(x.shape[2:]))), "x", 3)
    gamma = as_float_array(gamma, "gamma", 1, x3.dtype)
    beta = as_float_array(beta, "beta", 1, x3.dtype)
    for name, a in (("gamma", gamma), ("beta", beta), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if a.shape != (C,):
            raise ValueError(f"{name} must have shape ({C},), got {a.shape}")
    return x3, gamma, beta


def training_stats(x3):
    """Empty (mean, var, invstd): (C,) float64 for a training pass over x3,
    which must hold at least 2 values per channel."""
    if x3.shape[0] * x3.shape[2] < 2:
        raise ValueError("batch normalisation in training needs at least 2 values per channel")
    return tuple(np.empty(x3.shape[1], np.float64) for _ in range(3))


def update_running(running_mean, running_var, mean, var, M, momentum):
    """PyTorch's rule, in place: r <- (1 - momentum) r + momentum * the
    batch's statistic, the variance's unbiased (M values per channel)."""
    running_mean *= 1 - momentum
    running_mean += momentum * mean
    running_var *= 1 - momentum
    running_var += momentum * var * M / (M - 1)


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train=True,
                      momentum=0.1, eps=1e-5):
    """x: (N, C, H, W) or (N, C); gamma, beta: (C,); running_mean,
    running_var: (C,) float arrays, updated in place when training.
    Returns out (x's shape) and the cache (None in evaluation), which
    holds x itself: x must not change before the backward pass."""
    x3, gamma, beta = checked_inputs(x, gamma, beta, running_mean, running_var)
    out = np.empty_like(x3)
    if not train:
        _bn_eval_kernel(x3, gamma, beta, running_mean.astype(np.float64),
                        running_var.astype(np.float64), float(eps), out)
        return out.reshape(np.shape(x)), None
    mean, var, invstd = training_stats(x3)
    _bn_train_kernel(x3, gamma, beta, float(eps), out, mean, var, invstd)
    update_running(running_mean, running_var, mean, var, x3.shape[0] * x3.shape[2], momentum)
    return out.reshape(np.shape(x)), (x3, mean, gamma, invstd, np.shape(x))


def batchnorm_backward(dout, cache):
    """Gradients of batchnorm_forward in training: dout has x's shape.
    Returns dx, dgamma: (C,), dbeta: (C,)."""
    x3, mean, gamma, invstd, shape = cache
    dout = np.ascontiguousarray(dout, dtype=x3.dtype)
    if dout.shape != shape:
        raise ValueError(f"dout must have shape {shape}, got {dout.shape}")
    dx = np.empty_like(x3)
    C = x3.shape[1]
    dgamma = np.empty(C, np.float64)
    dbeta = np.empty(C, np.float64)
    _bn_backward_kernel(dout.reshape(x3.shape), x3, mean, gamma, invstd, dx, dgamma, dbeta)
    return dx.reshape(shape), dgamma.astype(x3.dtype), dbeta.astype(x3.dtype)
