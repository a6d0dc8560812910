"""The transforms of Winograd's F(2x2, 3x3), for conv_winograd.py: kernels
to and from the transformed space, and one image's patches and outputs.
These are @jit building blocks for conv_winograd's per-group loops, not
wrappers; the calling kernel owns the buffers. The matrices (Lavin and Gray):

    B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
    G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
    A^T = [1 1 1 0; 0 1 -1 -1]

Element e = 4 r + k of the transformed space is row r, column k of a 4x4
block. Each loop spells a matrix product out, and its comment names it. The
per-image transforms keep channels last, so that their inner loops run over
channels, contiguous; on AlexNet-style's conv4 (96 channels, 7x7) with
channels first, looping over the 4x4 patches of a row, the transforms took
longer than the products (patches 4.2 ms and their gradient 3.9 ms per
batch of 64, against 2.8 ms of GEMMs).
"""

import numpy as np

from ._jit import jit


@jit(error_model="numpy")
def kernels_to(wt, U):
    """wt: (C, 3, 3, F), the kernels channels last -> U: (16, C, F) =
    G w G^T per channel pair. Every loop runs over F, contiguous: for
    AlexNet-style's 96 x 96 conv4, 0.06 ms with the transpose, against
    0.36 ms going kernel by kernel."""
    C, F = wt.shape[0], wt.shape[3]
    half = wt.dtype.type(0.5)
    for c in range(C):
        g = wt[c]
        # Row r of G g (g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2 over the rows of
        # g), then the same combination of its three columns.
        for r in range(4):
            u0, u1, u2, u3 = U[4 * r, c], U[4 * r + 1, c], U[4 * r + 2, c], U[4 * r + 3, c]
            for f in range(F):
                if r == 0:
                    t0, t1, t2 = g[0, 0, f], g[0, 1, f], g[0, 2, f]
                elif r == 3:
                    t0, t1, t2 = g[2, 0, f], g[2, 1, f], g[2, 2, f]
                elif r == 1:
                    t0 = half * (g[0, 0, f] + g[1, 0, f] + g[2, 0, f])
                    t1 = half * (g[0, 1, f] + g[1, 1, f] + g[2, 1, f])
                    t2 = half * (g[0, 2, f] + g[1, 2, f] + g[2, 2, f])
                else:
                    t0 = half * (g[0, 0, f] - g[1, 0, f] + g[2, 0, f])
                    t1 = half * (g[0, 1, f] - g[1, 1, f] + g[2, 1, f])
                    t2 = half * (g[0, 2, f] - g[1, 2, f] + g[2, 2, f])
                u0[f] = t0
                u1[f] = half * (t0 + t1 + t2)
                u2[f] = half * (t0 - t1 + t2)
                u3[f] = t2


@jit(error_model="numpy")
def kernels_from(dU, dwt):
    """dU: (16, C, F) -> dwt: (C, 3, 3, F) = G^T dU G per channel pair,
    channels last, every loop over F."""
    C, F = dwt.shape[0], dwt.shape[3]
    half = dwt.dtype.type(0.5)
    t = np.empty((4, 3, F), dwt.dtype)
    for c in range(C):
        for r in range(4):  # columns: (dU G)[r, :]
            u0, u1, u2, u3 = dU[4 * r, c], dU[4 * r + 1, c], dU[4 * r + 2, c], dU[4 * r + 3, c]
            for f in range(F):
                t[r, 0, f] = u0[f] + half * (u1[f] + u2[f])
                t[r, 1, f] = half * (u1[f] - u2[f])
                t[r, 2, f] = half * (u1[f] + u2[f]) + u3[f]
        g = dwt[c]
        for j in range(3):  # rows: G^T (dU G)
            for f in range(F):
                g[0, j, f] = t[0, j, f] + half * (t[1, j, f] + t[2, j, f])
                g[1, j, f] = half * (t[1, j, f] - t[2, j, f])
                g[2, j, f] = half * (t[1, j, f] + t[2, j, f]) + t[3, j, f]


@jit(error_model="numpy")
def patches(xn, TH, TW, xt, V, t0):
    """One image xn: (C, H, W) -> its patches B^T d B into V[:, t0 + th * TW
    + tw, :] (channels last, so that every loop runs over channels).
    xt: (2 TH + 2, 2 TW + 2, C) scratch whose border stays zero: the image,
    channels last, padded by one."""
    C, H, W = xn.shape
    for c in range(C):
        for h in range(H):
            src = xn[c, h]
            for q in range(W):
                xt[h + 1, q + 1, c] = src[q]
    for th in range(TH):
        for tw in range(TW):
            t = t0 + th * TW + tw
            h, q = 2 * th, 2 * tw
            for r in range(4):
                # Row r of B^T d, at the patch's four columns: rows h .. h + 3.
                if r == 0:
                    a0, a1 = xt[h, q:q + 4], xt[h + 2, q:q + 4]
                elif r == 1:
                    a0, a1 = xt[h + 1, q:q + 4], xt[h + 2, q:q + 4]
                elif r == 2:
                    a0, a1 = xt[h + 2, q:q + 4], xt[h + 1, q:q + 4]
                else:
                    a0, a1 = xt[h + 1, q:q + 4], xt[h + 3, q:q + 4]
                v0, v1, v2, v3 = V[4 * r, t], V[4 * r + 1, t], V[4 * r + 2, t], V[4 * r + 3, t]
                for c in range(C):
                    # r = 0: d0 - d2, 1: d1 + d2, 2: d2 - d1, 3: d1 - d3
                    if r == 1:
                        e0, e1 = a0[0, c] + a1[0, c], a0[1, c] + a1[1, c]
                        e2, e3 = a0[2, c] + a1[2, c], a0[3, c] + a1[3, c]
                    else:
                        e0, e1 = a0[0, c] - a1[0, c], a0[1, c] - a1[1, c]
                        e2, e3 = a0[2, c] - a1[2, c], a0[3, c] - a1[3, c]
                    v0[c] = e0 - e2  # ... times B: columns the same way
                    v1[c] = e1 + e2
                    v2[c] = e2 - e1
                    v3[c] = e1 - e3


@jit(inline="always")
def _block_rows(rows, th, tw, OH, OW, spare):
    """The four rows of rows: (OH * OW, F) that output block (th, tw) covers,
    in the order (0, 0), (0, 1), (1, 0), (1, 1); spare for those outside the
    image (a block overhangs an odd side)."""
    at = 2 * th * OW + 2 * tw
    right, down = 2 * tw + 1 < OW, 2 * th + 1 < OH
    return (rows[at], rows[at + 1] if right else spare, rows[at + OW] if down else spare,
            rows[at + OW + 1] if right and down else spare)


@jit(error_model="numpy")
def outputs(M, TH, TW, t0, OW, outT, spare):
    """The products M[:, t0 ..., :] of one image -> outT: (OH * OW, F), the
    convolution's sums A^T m A (no bias); outputs of a patch that fall
    outside the image go to spare: (F,)."""
    F = M.shape[2]
    OH = outT.shape[0] // OW
    for th in range(TH):
        for tw in range(TW):
            t = t0 + th * TW + tw
            y00, y01, y10, y11 = _block_rows(outT, th, tw, OH, OW, spare)
            s0, s1, s2, s3 = M[0, t], M[1, t], M[2, t], M[3, t]
            p0, p1, p2, p3 = M[4, t], M[5, t], M[6, t], M[7, t]
            q0, q1, q2, q3 = M[8, t], M[9, t], M[10, t], M[11, t]
            u0, u1, u2, u3 = M[12, t], M[13, t], M[14, t], M[15, t]
            for f in range(F):
                a0 = s0[f] + p0[f] + q0[f]  # row 0 of A^T m: m0 + m1 + m2
                a1 = s1[f] + p1[f] + q1[f]
                a2 = s2[f] + p2[f] + q2[f]
                a3 = s3[f] + p3[f] + q3[f]
                b0 = p0[f] - q0[f] - u0[f]  # row 1: m1 - m2 - m3
                b1 = p1[f] - q1[f] - u1[f]
                b2 = p2[f] - q2[f] - u2[f]
                b3 = p3[f] - q3[f] - u3[f]
                y00[f] = a0 + a1 + a2  # ... times A, on the columns
                y01[f] = a1 - a2 - a3
                y10[f] = b0 + b1 + b2
                y11[f] = b1 - b2 - b3


@jit(error_model="numpy")
def output_grads(dzT, TH, TW, t0, OW, dM):
    """dzT: (OH * OW + 1, F), one image's gradient of the sums channels
    last, with a last row of zeros for the outputs of a patch that fall
    outside the image (_winograd_ends.grad_start builds it) -> its blocks
    A dY A^T into dM[:, t0 + th * TW + tw, :]."""
    P, F = dzT.shape[0] - 1, dzT.shape[1]
    OH = P // OW
    for th in range(TH):
        for tw in range(TW):
            t = t0 + th * TW + tw
            y00, y01, y10, y11 = _block_rows(dzT, th, tw, OH, OW, dzT[P])
            for r in range(4):
                m0, m1, m2, m3 = dM[4 * r, t], dM[4 * r + 1, t], dM[4 * r + 2, t], dM[4 * r + 3, t]
                for f in range(F):
                    # Row r of A dY: y0, y0 + y1, y0 - y1, -y1 (rows of dY) ...
                    if r == 0:
                        p, q = y00[f], y01[f]
                    elif r == 1:
                        p, q = y00[f] + y10[f], y01[f] + y11[f]
                    elif r == 2:
                        p, q = y00[f] - y10[f], y01[f] - y11[f]
                    else:
                        p, q = -y10[f], -y11[f]
                    m0[f] = p  # ... times A^T: p, p + q, p - q, -q
                    m1[f] = p + q
                    m2[f] = p - q
                    m3[f] = -q


@jit(error_model="numpy")
def patch_grads(dV, TH, TW, t0, dxt, dxn):
    """The gradient of one image's patches dV[:, t0 ..., :] -> dxn: (C, H, W),
    the sum of B dV B^T over the overlapping patches, cropped. dxt:
    (2 TH + 2, 2 TW + 2, C) scratch, zeroed here."""
    C, H, W = dxn.shape
    zero = dxn.dtype.type(0)
    for h in range(dxt.shape[0]):
        for q in range(dxt.shape[1]):
            for c in range(C):
                dxt[h, q, c] = zero
    for th in range(TH):
        for tw in range(TW):
            t = t0 + th * TW + tw
            h, q = 2 * th, 2 * tw
            v = dV[:, t]
            for j in range(4):
                # Column j of B dV B^T: first B^T on the columns of each row
                # r of dV (d0, d1 - d2 + d3, d1 + d2 - d0, -d3 for j = 0 .. 3),
                # then B on the rows, the same combination.
                x0, x1, x2, x3 = dxt[h, q + j], dxt[h + 1, q + j], dxt[h + 2, q + j], dxt[h + 3, q + j]
                for c in range(C):
                    if j == 0:
                        g0, g1, g2, g3 = v[0, c], v[4, c], v[8, c], v[12, c]
                    elif j == 1:
                        g0 = v[1, c] - v[2, c] + v[3, c]
                        g1 = v[5, c] - v[6, c] + v[7, c]
                        g2 = v[9, c] - v[10, c] + v[11, c]
                        g3 = v[13, c] - v[14, c] + v[15, c]
                    elif j == 2:
                        g0 = v[1, c] + v[2, c] - v[0, c]
                        g1 = v[5, c] + v[6, c] - v[4, c]
                        g2 = v[9, c] + v[10, c] - v[8, c]
                        g3 = v[13, c] + v[14, c] - v[12, c]
                    else:
                        g0, g1, g2, g3 = -v[3, c], -v[7, c], -v[11, c], -v[15, c]
                    x0[c] += g0
                    x1[c] += g1 - g2 + g3
                    x2[c] += g1 + g2 - g0
                    x3[c] -= g3
    for c in range(C):
        for hh in range(H):
            dst = dxn[c, hh]
            for w in range(W):
                dst[w] = dxt[hh + 1, w + 1, c]
