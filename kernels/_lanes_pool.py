"""Max pooling of a lanes block (conv_lanes.py's layout: position
(h * Wp + w) * 8 + lane of eight interleaved images), with each window's
first maximum kept for backward when asked: one byte a window instead of
the k * k activations that backward would otherwise read
(conv_lanes_backward.lanes_codes_backward turns it back into the gradient).

A loop over the eight lanes of one window stays scalar: LLVM vectorises no
loop of 8 iterations, and cannot reorder its loads and stores without
knowing that they do not overlap. Finding the maximum's position that way
took AlexNet-style conv1's forward from 0.72 to 3.8 ms (batch 64, 2
threads). For 2 x 2 windows, the usual case, each pair of rows is reduced
instead in one loop over all its positions, every other one of which
starts a window: twice the comparisons, but 16 at a time.
"""

import numpy as np

from ._jit import jit
from ._relu_pool import NO_GRAD


@jit
def _pool2(acc, n0, nb, Wp, relu, out, arg, M, code):
    """pool_lanes for k = 2; M: (E,) and code: (E,) int32 scratch, with
    E = (2 * QW - 1) * 8."""
    F, QH, QW = acc.shape[0], out.shape[2], out.shape[3]
    E = M.shape[0]
    zero = acc.dtype.type(0)
    track = arg.shape[0] > 0
    for f in range(F):
        a = acc[f]
        for qh in range(QH):
            r0 = 2 * qh * Wp * 8
            top, bottom = a[r0:r0 + E + 8], a[r0 + Wp * 8:r0 + Wp * 8 + E + 8]
            for e in range(E):  # e = w * 8 + lane: the window starting at column w
                x00, x01, x10, x11 = top[e], top[e + 8], bottom[e], bottom[e + 8]
                m0, m1 = max(x00, x01), max(x10, x11)
                c0 = np.int32(1) if x01 > x00 else np.int32(0)  # ties: the first
                c1 = np.int32(3) if x11 > x10 else np.int32(2)
                M[e] = max(m0, m1)
                code[e] = c0 if m0 >= m1 else c1
            for qw in range(QW):
                for lane in range(nb):
                    v = M[qw * 16 + lane]
                    out[n0 + lane, f, qh, qw] = max(v, zero) if relu else v
            if track:
                dst = arg[n0 // 8, f, qh]
                for qw in range(QW):
                    for lane in range(8):
                        e = qw * 16 + lane
                        dst[qw, lane] = code[e] if M[e] > zero else NO_GRAD


@jit
def pool_lanes(acc, n0, nb, Wp, relu, k, out, arg):
    """acc: (F, L), lanes of images n0 .. n0 + nb - 1 with rows of Wp ->
    out: (N, F, QH, QW), their k x k max pooling, relu(v) = max(v, 0) applied
    when asked (pooling commutes with it). When arg: (blocks of 8 images, F,
    QH, QW, 8) uint8 holds any, it gets each window's first maximum in
    row-major order, i * k + j, or NO_GRAD where that maximum is <= 0;
    lanes past the batch get codes too, which nothing reads."""
    F, QH, QW = acc.shape[0], out.shape[2], out.shape[3]
    if k == 2:
        E = (2 * QW - 1) * 8
        _pool2(acc, n0, nb, Wp, relu, out, arg, np.empty(E, acc.dtype),
               np.empty(E, np.int32))
        return
    zero = acc.dtype.type(0)
    track = arg.shape[0] > 0
    m = np.empty(8, acc.dtype)
    for f in range(F):
        a = acc[f]
        for qh in range(QH):
            for qw in range(QW):
                at = (qh * k * Wp + qw * k) * 8
                for lane in range(8):
                    m[lane] = a[at + lane]
                for i in range(k):
                    for j in range(k):
                        s = a[at + (i * Wp + j) * 8:at + (i * Wp + j) * 8 + 8]
                        for lane in range(8):
                            m[lane] = max(m[lane], s[lane])
                for lane in range(nb):
                    out[n0 + lane, f, qh, qw] = max(m[lane], zero) if relu else m[lane]
                if not track:
                    continue
                dst = arg[n0 // 8, f, qh, qw]
                for lane in range(8):  # the first tap equal to the maximum: from the last back
                    code = NO_GRAD
                    if m[lane] > zero:
                        for tap in range(k * k - 1, -1, -1):
                            if a[at + ((tap // k) * Wp + tap % k) * 8 + lane] == m[lane]:
                                code = tap
                    dst[lane] = code
