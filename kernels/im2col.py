"""The im2col layout of one image, shared by the im2col + GEMM convolutions
(conv.py, conv_fused.py): zero padding, the image -> columns copy that turns
a convolution into one GEMM, and the columns -> image scatter that turns the
GEMM's transpose back into dx.

A layer with kernels HH x WW, stride sh x sw and padding ph x pw has, for a
C x H x W image, columns cols: (C * HH * WW, OH * OW): row (c * HH + i) * WW
+ j holds input channel c shifted by tap (i, j), one entry per output
position. These are @jit building blocks for other kernels' per-image loops,
not wrappers: the calling kernel owns the buffers, and its public wrapper
has already checked the shapes (conv.check_conv_args).

Loops index views with plain loop variables: Numba checks signed offsets
for wraparound, which stops LLVM from vectorising.
"""

from ._jit import jit


@jit
def pad_image(xn, ph, pw, xp):
    """xn: (C, H, W) -> xp: (C, H + 2 ph, W + 2 pw) with a zero border."""
    C, H, W = xn.shape
    Hp, Wp = xp.shape[1], xp.shape[2]
    for c in range(C):
        for h in range(Hp):
            row = xp[c, h]
            if h < ph or h >= ph + H:
                for w in range(Wp):
                    row[w] = 0
            else:
                src = xn[c, h - ph]
                for w in range(pw):
                    row[w] = 0
                dst = row[pw:pw + W]
                for w in range(W):
                    dst[w] = src[w]
                for w in range(pw + W, Wp):
                    row[w] = 0


@jit
def im2col(xp, HH, WW, sh, sw, OH, OW, cols):
    """xp: (C, Hp, Wp) padded image -> cols: (C * HH * WW, OH * OW)."""
    C = xp.shape[0]
    for c in range(C):
        for i in range(HH):
            for j in range(WW):
                row = cols[(c * HH + i) * WW + j]
                for oh in range(OH):
                    dst = row[oh * OW:(oh + 1) * OW]
                    if sw == 1:
                        src = xp[c, oh * sh + i, j:j + OW]
                        for ow in range(OW):
                            dst[ow] = src[ow]
                    else:
                        src2 = xp[c, oh * sh + i, j:j + (OW - 1) * sw + 1:sw]
                        for ow in range(OW):
                            dst[ow] = src2[ow]


@jit
def _col2im(dcols, HH, WW, sh, sw, OH, OW, dxp):
    """Adds dcols: (C * HH * WW, OH * OW) back into dxp: (C, Hp, Wp)."""
    C = dxp.shape[0]
    for c in range(C):
        for i in range(HH):
            for j in range(WW):
                row = dcols[(c * HH + i) * WW + j]
                for oh in range(OH):
                    src = row[oh * OW:(oh + 1) * OW]
                    if sw == 1:
                        dst = dxp[c, oh * sh + i, j:j + OW]
                        for ow in range(OW):
                            dst[ow] += src[ow]
                    else:
                        dst2 = dxp[c, oh * sh + i, j:j + (OW - 1) * sw + 1:sw]
                        for ow in range(OW):
                            dst2[ow] += src[ow]


@jit
def col2im_image(dcols, HH, WW, sh, sw, ph, pw, OH, OW, dxp, dxn):
    """The inverse layout for dx: dcols: (C * HH * WW, OH * OW), the gradient
    of one image's columns (w2^T @ dz), is summed into the padded image dxp:
    (C, Hp, Wp), zeroed first, and cropped into dxn: (C, H, W). Taps that
    overlap add up, and the padding's share is dropped."""
    C, H, W = dxn.shape
    for c in range(C):
        for h in range(H + 2 * ph):
            for w in range(W + 2 * pw):
                dxp[c, h, w] = 0
    _col2im(dcols, HH, WW, sh, sw, OH, OW, dxp)
    for c in range(C):
        for h in range(H):
            src = dxp[c, h + ph, pw:pw + W]
            dst = dxn[c, h]
            for w in range(W):
                dst[w] = src[w]
