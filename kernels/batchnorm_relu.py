"""Batch normalisation, an optional residual sum and the ReLU after them, in
one pass over the data each way:

    out = max(gamma xhat + beta + skip, 0)        xhat as in batchnorm.py

ResNet runs batch norm then ReLU (bn1, relu1 of every block; the stem) and
batch norm, the skip connection's sum, then ReLU (the end of every block).
As separate kernels each step writes its result and the next reads it back:
on the default ResNet at batch 64 those ReLU and sum passes took 7 ms of an
83 ms training step (2 threads). Here the ReLU is applied where the
normalised value is written, and the backward pass masks the upstream
gradient where it reads it. The running statistics and their checks are
batchnorm.py's.
"""

import numpy as np
from numba import prange

from ._common import as_float_array
from ._jit import jit
from .batchnorm import SUMS, channel_moments, checked_inputs, training_stats, update_running


@jit(parallel=True, fastmath=SUMS)
def _train_kernel(x, skip, gamma, beta, eps, out, mean, var, invstd):
    """x: (N, C, P), skip: x's shape or (0, C, P) for none -> out:
    (N, C, P); mean, var, invstd: (C,) float64. As in batchnorm.py, the
    normalised values are recomputed by the backward pass, not stored."""
    N, C, P = x.shape
    t = x.dtype.type
    zero = t(0)
    for c in prange(C):
        mu, v_ = channel_moments(x, c)
        inv = 1.0 / np.sqrt(v_ + eps)
        mean[c] = mu
        var[c] = v_
        invstd[c] = inv
        mu_t, ginv, b = t(mu), t(gamma[c] * inv), beta[c]
        for n in range(N):
            src, dst = x[n, c], out[n, c]
            if skip.shape[0]:
                s = skip[n, c]
                for p in range(P):
                    dst[p] = max((src[p] - mu_t) * ginv + b + s[p], zero)
            else:
                for p in range(P):
                    dst[p] = max((src[p] - mu_t) * ginv + b, zero)


@jit(parallel=True)
def _eval_kernel(x, skip, gamma, beta, mean, var, eps, out):
    """x: (N, C, P) normalised with fixed mean, var: (C,), plus skip, ReLU."""
    N, C, P = x.shape
    t = x.dtype.type
    zero = t(0)
    for c in prange(C):
        inv = 1.0 / np.sqrt(var[c] + eps)
        scale = t(gamma[c] * inv)
        shift = t(beta[c] - mean[c] * gamma[c] * inv)
        for n in range(N):
            src, dst = x[n, c], out[n, c]
            if skip.shape[0]:
                s = skip[n, c]
                for p in range(P):
                    dst[p] = max(src[p] * scale + shift + s[p], zero)
            else:
                for p in range(P):
                    dst[p] = max(src[p] * scale + shift, zero)


@jit(parallel=True, fastmath=SUMS)
def _backward_kernel(dout, out, x, mean, gamma, invstd, dx, dgamma, dbeta, dsum):
    """dout, out, x: (N, C, P) -> dx: (N, C, P), dgamma, dbeta: (C,) and,
    unless it holds no images, dsum: (N, C, P), the gradient of the sum
    before the ReLU (what the skip connection receives). With the masked
    gradient d = dout [out > 0] and xhat = (x - mean) invstd:
    dx = gamma invstd / M (M d - sum(d) - xhat sum(d xhat)), as in
    batchnorm.py."""
    N, C, P = dout.shape
    M = N * P
    t = dout.dtype.type
    zero = t(0)
    for c in prange(C):
        mu_t, inv_t = t(mean[c]), t(invstd[c])
        sd = 0.0
        sdx = 0.0
        for n in range(N):
            d, o, src = dout[n, c], out[n, c], x[n, c]
            if dsum.shape[0]:
                ds = dsum[n, c]
                for p in range(P):
                    g = d[p] if o[p] > zero else zero
                    ds[p] = g
                    sd += g
                    sdx += g * ((src[p] - mu_t) * inv_t)
            else:
                for p in range(P):
                    g = d[p] if o[p] > zero else zero
                    sd += g
                    sdx += g * ((src[p] - mu_t) * inv_t)
        dgamma[c] = sdx
        dbeta[c] = sd
        k = gamma[c] * invstd[c] / M
        a, b, e = t(k * M), t(k * sd), t(k * sdx)
        for n in range(N):
            d, o, src, dst = dout[n, c], out[n, c], x[n, c], dx[n, c]
            for p in range(P):
                g = d[p] if o[p] > zero else zero
                dst[p] = a * g - b - e * ((src[p] - mu_t) * inv_t)


def batchnorm_relu_forward(x, gamma, beta, running_mean, running_var, skip=None, train=True,
                           momentum=0.1, eps=1e-5):
    """out = relu(batchnorm(x) + skip): x and skip (None: no sum): (N, C, H,
    W) or (N, C); gamma, beta: (C,); running_mean, running_var: (C,) float
    arrays, updated in place when training (as batchnorm_forward does).
    Returns out (x's shape) and the cache (None in evaluation), which
    holds x itself: x must not change before the backward pass."""
    x3, gamma, beta = checked_inputs(x, gamma, beta, running_mean, running_var)
    if skip is None:
        skip3 = np.empty((0,) + x3.shape[1:], x3.dtype)
    else:
        if np.shape(skip) != np.shape(x):
            raise ValueError(f"skip must have x's shape {np.shape(x)}, got {np.shape(skip)}")
        skip3 = as_float_array(np.asarray(skip).reshape(x3.shape), "skip", 3, x3.dtype)
    out = np.empty_like(x3)
    if not train:
        _eval_kernel(x3, skip3, gamma, beta, running_mean.astype(np.float64),
                     running_var.astype(np.float64), float(eps), out)
        return out.reshape(np.shape(x)), None
    mean, var, invstd = training_stats(x3)
    _train_kernel(x3, skip3, gamma, beta, float(eps), out, mean, var, invstd)
    update_running(running_mean, running_var, mean, var, x3.shape[0] * x3.shape[2], momentum)
    return out.reshape(np.shape(x)), (out, x3, mean, gamma, invstd, skip is not None, np.shape(x))


def batchnorm_relu_backward(dout, cache):
    """Gradients of batchnorm_relu_forward in training: dout has x's shape.
    Returns dx, dgamma: (C,), dbeta: (C,) and dskip (x's shape; None when
    the forward pass had no skip)."""
    out, x3, mean, gamma, invstd, has_skip, shape = cache
    dout = np.ascontiguousarray(dout, dtype=x3.dtype)
    if dout.shape != shape:
        raise ValueError(f"dout must have shape {shape}, got {dout.shape}")
    dx = np.empty_like(x3)
    dsum = np.empty(x3.shape if has_skip else (0,) + x3.shape[1:], x3.dtype)
    C = x3.shape[1]
    dgamma = np.empty(C, np.float64)
    dbeta = np.empty(C, np.float64)
    _backward_kernel(dout.reshape(x3.shape), out, x3, mean, gamma, invstd, dx, dgamma, dbeta,
                     dsum)
    return (dx.reshape(shape), dgamma.astype(x3.dtype), dbeta.astype(x3.dtype),
            dsum.reshape(shape) if has_skip else None)

