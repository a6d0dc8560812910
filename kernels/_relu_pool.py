"""One image's ReLU and max pooling around a convolution's GEMM, for
conv_fused.py: bias + ReLU (+ pooling) from the sums, channels first or
last, and the gradient back through them. @jit building blocks for the
calling kernels' per-image loops; the caller owns the buffers.
"""

import numpy as np

from ._jit import jit

# A window's code in the maxima conv_lanes.store_lanes keeps when ReLU closes it
# (its maximum <= 0): no gradient. Other codes are the maximum's i * k + j.
NO_GRAD = 255


@jit
def bias_relu_pool(outT, transposed, b, k, OW, a, pooled):
    """The image's GEMM result (outT: (P, F) when transposed, else already
    in ``a``) -> a: (F, P) = relu(conv + b), and pooled: (F, QH, QW) its
    k x k max pooling (k = 0: none)."""
    F, P = a.shape
    zero = a.dtype.type(0)
    for f in range(F):
        row = a[f]
        bf = b[f]
        if transposed:
            for p in range(P):
                v = outT[p, f] + bf
                row[p] = v if v > zero else zero
        else:
            for p in range(P):
                v = row[p] + bf
                row[p] = v if v > zero else zero
    if k == 0:
        return
    QH, QW = pooled.shape[1], pooled.shape[2]
    for f in range(F):
        row = a[f]
        for qh in range(QH):
            for qw in range(QW):
                h0, w0 = qh * k, qw * k
                best = row[h0 * OW + w0]
                for i in range(k):
                    for j in range(k):
                        v = row[(h0 + i) * OW + w0 + j]
                        if v > best:
                            best = v
                pooled[f, qh, qw] = best


@jit
def pool_transposed(outT, b, k, OW, band, pooled):
    """k x k max pooling of relu(conv + b) straight from the GEMM result
    outT: (P, F) -> pooled: (F, QH, QW). Pooling the raw sums and then adding
    b and applying ReLU gives the same values (neither reorders two numbers).
    Each band of k output rows is reduced to one row over contiguous memory
    first, so the loop vectorises; band: (OW * F,) scratch."""
    F = outT.shape[1]
    QH, QW = pooled.shape[1], pooled.shape[2]
    L = OW * F
    zero = outT.dtype.type(0)
    for qh in range(QH):
        top = outT[qh * k * OW:(qh * k + 1) * OW].reshape(L)
        for e in range(L):
            band[e] = top[e]
        for i in range(1, k):
            nxt = outT[(qh * k + i) * OW:(qh * k + i + 1) * OW].reshape(L)
            for e in range(L):
                band[e] = max(band[e], nxt[e])
        for qw in range(QW):
            for f in range(F):
                m = band[qw * k * F + f]
                for j in range(1, k):
                    m = max(m, band[(qw * k + j) * F + f])
                v = m + b[f]
                pooled[f, qh, qw] = v if v > zero else zero


@jit
def _pool2_grad(a, d, OW, dz, db):
    """relu_pool_grad for 2 x 2 windows, without a branch: each window's
    first maximum found by comparisons alone. With a branch per value it
    took 1.49 ms of AlexNet-style conv1's 1.79 ms backward (32 channels,
    28x28, batch 64, 2 threads), half the branches going the other way;
    this takes 0.80-0.85 ms there."""
    F, P = a.shape
    QH, QW = d.shape[1], d.shape[2]
    zero = a.dtype.type(0)
    for f in range(F):
        row, out, df = a[f], dz[f], d[f]
        for p in range(P):  # what no window covers (an odd last row or column)
            out[p] = zero
        s = np.float64(0)  # float64 without JIT too (NEP 50)
        for qh in range(QH):
            top, dq = 2 * qh * OW, df[qh]
            r0, r1 = row[top:top + OW], row[top + OW:top + 2 * OW]
            o0, o1 = out[top:top + OW], out[top + OW:top + 2 * OW]
            for qw in range(QW):
                v00, v01, v10, v11 = r0[2 * qw], r0[2 * qw + 1], r1[2 * qw], r1[2 * qw + 1]
                m = max(max(v00, v01), max(v10, v11))
                g = dq[qw] if m > zero else zero
                e00 = v00 == m  # & and |, not and / or, which would branch
                e01 = (v01 == m) & (not e00)
                e10 = (v10 == m) & (not (e00 | e01))
                e11 = not (e00 | e01 | e10)
                o0[2 * qw] = g if e00 else zero
                o0[2 * qw + 1] = g if e01 else zero
                o1[2 * qw] = g if e10 else zero
                o1[2 * qw + 1] = g if e11 else zero
                s += g
        db[f] += s


@jit
def relu_pool_grad(a, d, k, OW, dz, db):
    """The gradient of one image's convolution sums through ReLU and k x k
    max pooling: a: (F, P), the activations relu(conv + b); d: (F, QH, QW),
    or (F, 1, P) when k = 0 -> dz: (F, P); db: (F,) float64 += its sums."""
    F, P = a.shape
    zero = a.dtype.type(0)
    if k == 0:
        for f in range(F):
            for p in range(P):
                dz[f, p] = d[f, 0, p] if a[f, p] > zero else zero
    elif k == 2:
        _pool2_grad(a, d, OW, dz, db)
        return
    else:
        # Max pooling's scatter to each window's first maximum, then ReLU's mask.
        for f in range(F):
            for p in range(P):
                dz[f, p] = 0
            row = a[f]
            for qh in range(d.shape[1]):
                for qw in range(d.shape[2]):
                    h0, w0 = qh * k, qw * k
                    at = h0 * OW + w0
                    best = row[at]
                    for i in range(k):
                        for j in range(k):
                            q = (h0 + i) * OW + w0 + j
                            if row[q] > best:
                                best = row[q]
                                at = q
                    dz[f, at] += d[f, qh, qw]
            for p in range(P):
                if row[p] <= zero:
                    dz[f, p] = 0
    for f in range(F):
        s = np.float64(0)  # float64 without JIT too (NEP 50)
        for p in range(P):
            s += dz[f, p]
        db[f] += s

