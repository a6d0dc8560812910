"""The two ends of a Winograd layer, done per image inside conv_winograd's
kernels while the image's sums (or their gradient) are in cache: how the
sums are finished (bias, ReLU, max pooling) and how the gradient of the
sums is built from the layer's output gradient.

Done as separate passes over the batch, these cost AlexNet-style's conv2
(32 -> 64, 14x14, pooled, batch 64, 2 threads) 0.39 ms forward and
0.67 ms backward, next to 1.34 ms and 3.20 ms for the sums and their
gradients.

The modes, one per kind of layer:

    0 SUMS  sums: (N, P, F), channels last, no bias (winograd_sums)
    1 BIAS  acts: (N, F, P) = sums + b (conv2d)
    2 RELU  acts: (N, F, P) = relu(sums + b) (conv2d_relu_pool, no pooling)
    3 POOL  out: (N, F, QH, QW) = maxpool(relu(sums + b)) and, when kept
            for backward, acts: (N, P, F) = relu(sums + b), channels last,
            so that both ends run over contiguous channels

@jit building blocks; the calling kernel owns the buffers.
"""

from ._jit import jit
from ._relu_pool import pool_transposed

SUMS, BIAS, RELU, POOL = 0, 1, 2, 3


@jit(error_model="numpy")
def finish(sT, b, mode, keep, k, OW, band, acts, out):
    """One image's sums sT: (P, F), channels last -> acts (and out) as
    ``mode`` says (BIAS, RELU or POOL; for SUMS the kernel writes the sums
    in place). POOL writes acts only when ``keep``; band: (OW * F,)
    scratch for the pooling."""
    P, F = sT.shape
    zero = sT.dtype.type(0)
    if mode == 3:  # POOL
        pool_transposed(sT, b, k, OW, band, out)
        if not keep:
            return
        for p in range(P):
            src, dst = sT[p], acts[p]
            for f in range(F):
                v = src[f] + b[f]
                dst[f] = v if v > zero else zero
        return
    for f in range(F):  # BIAS or RELU: transposed to channels first
        row = acts[f]
        bf = b[f]
        for p in range(P):
            v = sT[p, f] + bf
            row[p] = v if (mode == 1 or v > zero) else zero


@jit(error_model="numpy")
def grad_start(mode, d, acts, k, OW, masked, best, at, dzT, db):
    """One image's gradient of the sums, channels last, for the output
    transform: dzT: (P + 1, F), with a last row of zeros that stands for
    the outputs of a patch that fall outside the image. d is the gradient
    of the layer's output: (F, 1, P) for SUMS, BIAS and RELU, (F, QH, QW)
    for POOL; acts is what finish kept. db: (F,) float64 += the sums'
    gradient per channel (RELU and POOL only); masked: (F, P), best: (F,)
    and at: (F,) int scratch.

    RELU masks the gradient channels first and then transposes it: masking
    in the transposing loop, whose stores cannot be vectorised, put a
    mispredicted branch on every other value and cost AlexNet-style's conv4
    0.45 ms of its 3.6 ms backward (batch 64, 2 threads). The sums for db
    run over dzT's contiguous rows: one running sum per channel waits on a
    float64 add per value.

    Max pooling sends each window's gradient to its first maximum, and
    ReLU's mask then keeps it only where the activation is positive, as
    _relu_pool.relu_pool_grad does channels first."""
    P, F = dzT.shape[0] - 1, dzT.shape[1]
    zero = dzT.dtype.type(0)
    for f in range(F):
        dzT[P, f] = zero
    if mode != 3:
        if mode == 2:  # RELU: masked first, over contiguous rows
            for f in range(F):
                a, g, dst = acts[f], d[f, 0], masked[f]
                for p in range(P):
                    dst[p] = g[p] if a[p] > zero else zero
            for f in range(F):
                g = masked[f]
                for p in range(P):
                    dzT[p, f] = g[p]
            for p in range(P):
                row = dzT[p]
                for f in range(F):
                    db[f] += row[f]
        else:
            for f in range(F):
                g = d[f, 0]
                for p in range(P):
                    dzT[p, f] = g[p]
        return
    # POOL: rows and columns that no window covers get no gradient.
    for p in range(P):
        row = dzT[p]
        for f in range(F):
            row[f] = zero
    for qh in range(d.shape[1]):
        for qw in range(d.shape[2]):
            first = qh * k * OW + qw * k
            a0 = acts[first]
            for f in range(F):
                best[f] = a0[f]
                at[f] = first
            for i in range(k):
                for j in range(k):
                    q = first + i * OW + j
                    a = acts[q]
                    for f in range(F):
                        if a[f] > best[f]:
                            best[f] = a[f]
                            at[f] = q
            for f in range(F):
                if best[f] > zero:
                    g = d[f, qh, qw]
                    dzT[at[f], f] = g
                    db[f] += g
