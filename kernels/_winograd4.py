"""The transforms of Winograd's F(4x4, 3x3), for conv_winograd.py: the same
five building blocks as _winograd.py (F(2x2, 3x3)), on 6x6 patches that
give 4x4 outputs each. The matrices (Lavin and Gray, points 0, +-1, +-2):

    B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
           0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
    G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
           1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
    A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]

They come in as arrays (winograd4_matrices). The kernel transforms, run
once a step, are matrix products in numpy; the patch and output transforms are
written out by hand (_bt, _b, _at, _a), in two stages through small
scratch arrays, with the channels innermost and contiguous as in
_winograd.py. Element e = 6 r + k of the transformed
space is row r, column k of a 6x6 block.
"""

import numpy as np

from ._jit import jit


def winograd4_matrices(dtype):
    """(B^T (6, 6), G (6, 3), A^T (4, 6)) in dtype."""
    BT = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
          [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
    G = [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
         [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]
    AT = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
    return tuple(np.array(m, dtype) for m in (BT, G, AT))


def _kron(dtype):
    """(36, 9): row 6 r + k, column 3 i + j holds G[r, i] G[k, j], so that
    G w G^T is this matrix times w's nine taps."""
    G = winograd4_matrices(np.float64)[1]
    return np.kron(G, G).astype(dtype)


# The kernel transforms are one matrix product each over all channel pairs,
# (36 x 9) @ (9 x C F). As loops over G's entries, channel pair by channel
# pair, they took 0.33 ms a call for AlexNet-style's 96 x 96 conv4, 5% of
# the layer's forward and backward.
def kernels_to4(w):
    """w: (F, C, 3, 3) -> U: (36, C, F) = G w G^T per channel pair."""
    F, C = w.shape[:2]
    w9 = np.ascontiguousarray(w.transpose(2, 3, 1, 0)).reshape(9, C * F)
    return (_kron(w.dtype) @ w9).reshape(36, C, F)


def kernels_from4(dU):
    """dU: (36, C, F) -> dw: (F, C, 3, 3) = G^T dU G per channel pair."""
    _, C, F = dU.shape
    dw9 = _kron(dU.dtype).T @ dU.reshape(36, C * F)
    return np.ascontiguousarray(dw9.reshape(3, 3, C, F).transpose(3, 2, 0, 1))


@jit(inline="always")
def _bt(d0, d1, d2, d3, d4, d5, k):
    """B^T d for one column d of six; k = (2, 4, 5) in the data's dtype."""
    two, four, five = k
    return (four * d0 - five * d2 + d4, d3 + d4 - four * (d1 + d2), four * (d1 - d2) - d3 + d4,
            two * (d3 - d1) - d2 + d4, two * (d1 - d3) - d2 + d4, four * d1 - five * d3 + d5)


@jit(inline="always")
def _b(v0, v1, v2, v3, v4, v5, k):
    """B v, the transpose of _bt."""
    two, four, five = k
    return (four * v0, four * (v2 - v1 + v5) + two * (v4 - v3), -five * v0 - four * (v1 + v2) - v3 - v4,
            v1 - v2 + two * (v3 - v4) - five * v5, v0 + v1 + v2 + v3 + v4, v5)


@jit(inline="always")
def _at(m0, m1, m2, m3, m4, m5, k):
    """A^T m for one column m of six; k = (2, 4, 8)."""
    two, four, eight = k
    p, q, r, s = m1 + m2, m1 - m2, m3 + m4, m3 - m4
    return p + r + m0, q + two * s, p + four * r, q + eight * s + m5


@jit(inline="always")
def _a(y0, y1, y2, y3, k):
    """A y, the transpose of _at: six from four."""
    two, four, eight = k
    p, q = y0 + y2, y1 + y3
    r, s = y0 + four * y2, two * y1 + eight * y3
    return y0, p + q, p - q, r + s, r - s, y3


def _consts(dtype):
    """The constants of _bt/_b and of _at/_a in dtype, so that float32
    stays float32 (a Python literal would promote it)."""
    two, four, five, eight = (dtype.type(v) for v in (2, 4, 5, 8))
    return (two, four, five), (two, four, eight)


@jit(error_model="numpy")
def patches4(xn, TH, TW, xt, kb, tmp, V, t0):
    """One image xn: (C, H, W) -> its patches B^T d B into V[:, t0 + th * TW
    + tw, :], channels last. xt: (4 TH + 2, 4 TW + 2, C) scratch whose
    border stays zero (the image padded by one); tmp: (6, 6, C) scratch."""
    C, H, W = xn.shape
    for c in range(C):
        for h in range(H):
            src = xn[c, h]
            for q in range(W):
                xt[h + 1, q + 1, c] = src[q]
    for th in range(TH):
        for tw in range(TW):
            t = t0 + th * TW + tw
            h, q = 4 * th, 4 * tw
            for j in range(6):  # tmp[r, j] = (B^T d)[r, j], column by column
                a0, a1, a2 = xt[h, q + j], xt[h + 1, q + j], xt[h + 2, q + j]
                a3, a4, a5 = xt[h + 3, q + j], xt[h + 4, q + j], xt[h + 5, q + j]
                for c in range(C):
                    e = _bt(a0[c], a1[c], a2[c], a3[c], a4[c], a5[c], kb)
                    tmp[0, j, c], tmp[1, j, c], tmp[2, j, c] = e[0], e[1], e[2]
                    tmp[3, j, c], tmp[4, j, c], tmp[5, j, c] = e[3], e[4], e[5]
            for r in range(6):  # ... times B, row by row
                s = tmp[r]
                v0, v1, v2 = V[6 * r, t], V[6 * r + 1, t], V[6 * r + 2, t]
                v3, v4, v5 = V[6 * r + 3, t], V[6 * r + 4, t], V[6 * r + 5, t]
                for c in range(C):
                    e = _bt(s[0, c], s[1, c], s[2, c], s[3, c], s[4, c], s[5, c], kb)
                    v0[c], v1[c], v2[c], v3[c], v4[c], v5[c] = e


@jit(inline="always")
def _rows4(rows, th, tw, a, OH, OW, spare):
    """The four rows of rows: (OH * OW, F) in row a of output block
    (th, tw), spare for those outside the image."""
    y = 4 * th + a
    at = y * OW + 4 * tw
    inside = y < OH
    return (rows[at] if inside and 4 * tw < OW else spare,
            rows[at + 1] if inside and 4 * tw + 1 < OW else spare,
            rows[at + 2] if inside and 4 * tw + 2 < OW else spare,
            rows[at + 3] if inside and 4 * tw + 3 < OW else spare)


@jit(error_model="numpy")
def outputs4(M, TH, TW, t0, OW, ka, tmp, outT, spare):
    """The products M[:, t0 ..., :] of one image -> outT: (OH * OW, F), the
    sums A^T m A (no bias); outputs of a patch outside the image go to
    spare: (F,). tmp: (4, 6, F) scratch."""
    F = M.shape[2]
    OH = outT.shape[0] // OW
    for th in range(TH):
        for tw in range(TW):
            t = t0 + th * TW + tw
            for k in range(6):  # tmp[a, k] = (A^T m)[a, k], column by column
                m0, m1, m2 = M[k, t], M[6 + k, t], M[12 + k, t]
                m3, m4, m5 = M[18 + k, t], M[24 + k, t], M[30 + k, t]
                for f in range(F):
                    e = _at(m0[f], m1[f], m2[f], m3[f], m4[f], m5[f], ka)
                    tmp[0, k, f], tmp[1, k, f], tmp[2, k, f], tmp[3, k, f] = e
            for a in range(4):  # ... times A, row by row
                s = tmp[a]
                y0, y1, y2, y3 = _rows4(outT, th, tw, a, OH, OW, spare)
                for f in range(F):
                    y0[f], y1[f], y2[f], y3[f] = _at(s[0, f], s[1, f], s[2, f], s[3, f],
                                                     s[4, f], s[5, f], ka)


@jit(error_model="numpy")
def output_grads4(dzT, TH, TW, t0, OW, ka, tmp, dM):
    """dzT: (OH * OW + 1, F), one image's gradient of the sums channels
    last and a last row of zeros, for outputs outside the image
    (_winograd_ends.grad_start) -> A dY A^T per block into
    dM[:, t0 + th * TW + tw, :]; tmp: (6, 4, F) scratch."""
    P, F = dzT.shape[0] - 1, dzT.shape[1]
    OH = P // OW
    for th in range(TH):
        for tw in range(TW):
            t = t0 + th * TW + tw
            for b in range(4):  # tmp[r, b] = (A dY)[r, b], column by column
                y0 = _rows4(dzT, th, tw, 0, OH, OW, dzT[P])[b]
                y1 = _rows4(dzT, th, tw, 1, OH, OW, dzT[P])[b]
                y2 = _rows4(dzT, th, tw, 2, OH, OW, dzT[P])[b]
                y3 = _rows4(dzT, th, tw, 3, OH, OW, dzT[P])[b]
                for f in range(F):
                    e = _a(y0[f], y1[f], y2[f], y3[f], ka)
                    tmp[0, b, f], tmp[1, b, f], tmp[2, b, f] = e[0], e[1], e[2]
                    tmp[3, b, f], tmp[4, b, f], tmp[5, b, f] = e[3], e[4], e[5]
            for r in range(6):  # ... times A^T, row by row
                s = tmp[r]
                d0, d1, d2 = dM[6 * r, t], dM[6 * r + 1, t], dM[6 * r + 2, t]
                d3, d4, d5 = dM[6 * r + 3, t], dM[6 * r + 4, t], dM[6 * r + 5, t]
                for f in range(F):
                    d0[f], d1[f], d2[f], d3[f], d4[f], d5[f] = _a(s[0, f], s[1, f], s[2, f],
                                                                   s[3, f], ka)


@jit(error_model="numpy")
def patch_grads4(dV, TH, TW, t0, kb, dxt, tmp, dxn):
    """The gradient of one image's patches dV[:, t0 ..., :] -> dxn: (C, H, W),
    the sum of B dV B^T over the overlapping patches, cropped. dxt:
    (4 TH + 2, 4 TW + 2, C) scratch, zeroed here; tmp: (6, 6, C) scratch."""
    C, H, W = dxn.shape
    zero = dxn.dtype.type(0)
    for h in range(dxt.shape[0]):
        for q in range(dxt.shape[1]):
            for c in range(C):
                dxt[h, q, c] = zero
    for th in range(TH):
        for tw in range(TW):
            t = t0 + th * TW + tw
            h, q = 4 * th, 4 * tw
            for r in range(6):  # tmp[r, j] = (dV B^T)[r, j], row by row
                v0, v1, v2 = dV[6 * r, t], dV[6 * r + 1, t], dV[6 * r + 2, t]
                v3, v4, v5 = dV[6 * r + 3, t], dV[6 * r + 4, t], dV[6 * r + 5, t]
                s = tmp[r]
                for c in range(C):
                    e = _b(v0[c], v1[c], v2[c], v3[c], v4[c], v5[c], kb)
                    s[0, c], s[1, c], s[2, c], s[3, c], s[4, c], s[5, c] = e
            for j in range(6):  # B tmp, added in at column q + j
                x0, x1, x2 = dxt[h, q + j], dxt[h + 1, q + j], dxt[h + 2, q + j]
                x3, x4, x5 = dxt[h + 3, q + j], dxt[h + 4, q + j], dxt[h + 5, q + j]
                for c in range(C):
                    e = _b(tmp[0, j, c], tmp[1, j, c], tmp[2, j, c], tmp[3, j, c],
                           tmp[4, j, c], tmp[5, j, c], kb)
                    x0[c] += e[0]
                    x1[c] += e[1]
                    x2[c] += e[2]
                    x3[c] += e[3]
                    x4[c] += e[4]
                    x5[c] += e[5]
    for c in range(C):
        for hh in range(H):
            dst = dxn[c, hh]
            for w in range(W):
                dst[w] = dxt[hh + 1, w + 1, c]
