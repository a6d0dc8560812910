"""The layout of the lanes convolution (conv_lanes.py), shared by its
forward and backward kernels: eight images interleaved in the innermost
axis, so that every tap of the kernel reads a plain shift of one flattened
row.

X: (C, Lx) holds channel c's padded image in rows of Wp = W + pw (a row's
right border is the next one's left: reading past a row lands in zeros),
position (h * Wp + w) * 8 + lane. Tap (i, j) of output position q reads
X[c, q + (i * Wp + j) * 8].
"""

import numpy as np

from ._implicit import padded_length
from ._jit import jit


@jit
def lanes_geometry(H, W, HH, WW, ph, pw):
    """(OH, OW, Wp, L, Lx) for H x W images, HH x WW kernels, stride 1 and
    padding (ph, pw): the output's size, the width of a row, the positions
    computed (whole blocks of _implicit.WIDTH) and a channel's length, long
    enough for every tap's shifted row of L."""
    OH, OW = H + 2 * ph - HH + 1, W + 2 * pw - WW + 1
    Wp = W + pw
    L = padded_length(OH * Wp * 8)
    return OH, OW, Wp, L, ((HH - 1) * Wp + WW - 1) * 8 + L


@jit
def tap_offsets(C, HH, WW, Lx, Wp):
    """offs: (C * HH * WW,) intp, the flat offset in X: (C, Lx) of each
    tap's row, in the order of w.reshape(F, -1)."""
    offs = np.empty(C * HH * WW, np.intp)
    k = 0
    for c in range(C):
        for i in range(HH):
            for j in range(WW):
                offs[k] = c * Lx + (i * Wp + j) * 8
                k += 1
    return offs


@jit
def load_lanes(x, n0, nb, ph, pw, Wp, X):
    """Images n0 .. n0 + nb - 1 of x: (N, C, H, W) into the lanes of X, whose
    border stays zero from its allocation. The calling kernel owns X and its
    wrapper has checked the shapes."""
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    for c in range(C):
        Xc = X[c]
        for h in range(H):
            base = ((h + ph) * Wp + pw) * 8
            for lane in range(nb):
                src = x[n0 + lane, c, h]
                for j in range(W):
                    Xc[base + j * 8 + lane] = src[j]
