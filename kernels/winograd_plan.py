"""Which layers take the Winograd path (kernels/conv_winograd.py), with
which tile and groups of images, and what it holds in memory: the
decisions, each with the measurement behind it, apart from the kernels.
"""

from ._split import threads_for
from .conv_lanes import lanes_suit_backward

# Images per group of GEMMs: 4 images make the products (64 x C) @ (C x F)
# on a 7x7 image. Forward / backward ms at batch 64, 2 threads, for 1, 2, 4,
# 8 and 16 images: AlexNet-style's conv2 (32 -> 64, 14x14) 1.51/3.98,
# 1.36/3.67, 1.42/3.61, 2.68/3.65, 1.85/4.86; conv4 (96 -> 96, 7x7)
# 1.83/6.21, 2.25/5.46, 1.99/5.24, 2.46/5.06, 2.28/5.43. Larger groups'
# buffers leave the L2 cache. F(4x4, 3x3) (tile 4) has 4 patches on a 7x7
# image, not 16, so there it takes 16 images (4 against 16 images, same
# units: conv4 1.10/3.79 and 1.02/2.91; conv5 0.81/2.80 and 0.83/2.25; the
# ResNet's 64 -> 64 at 7x7 0.56/1.67 and 0.57/1.59). At 14x14, 4 images
# stay best (conv2 1.17/3.17 against 1.27/3.18).
GROUP = 4


def group_size(E, H, W):
    """Images per group for U's E elements (16 or 36) on H x W images."""
    if E == 36 and ((H + 3) // 4) * ((W + 3) // 4) <= 4:
        return 16
    return GROUP


def winograd_suits(C, F, HH, WW, stride, pad):
    """Whether a layer takes this path: 3x3, stride 1, padding 1, and enough
    channels for the 16 products to be worth their transforms. Measured
    with bench/conv_paths.py (batch 64, 2 threads, forward + backward ms,
    this path against lanes or im2col + GEMM): AlexNet-style's 32 -> 64 at
    14x14 8.8 against 13.2; 64 -> 96 at 7x7 5.2 / 10.3; 96 -> 96 8.5 / 12.8;
    96 -> 64 6.9 / 12.5. Below 32 the lanes path wins: the ResNet's
    16 -> 16 at 28x28 took 6.0 ms there and 8.4 on this path."""
    return ((HH, WW) == (3, 3) and tuple(stride) == (1, 1) and tuple(pad) == (1, 1)
            and C >= 32 and F >= 32)


def takes_winograd(C, F, HH, WW, stride, pad):
    """Whether a layer (conv2d or the fused layer) takes this path rather
    than the lanes kernels, which both have in both directions: not for 32
    channels in or fewer when lanes take the backward pass too. Forward
    plus backward ms at batch 64, 2 threads: the ResNet's 32 -> 32 at 14x14
    (bench/conv_paths.py, "other" against "now" before this rule) 2.67
    against 4.48 on the AMD EPYC machine of 2026-12-06 and 2.84 against 3.09
    on the Intel one of 2026-12-05, a whole ResNet step 44.95 -> 41.76 ms
    (bench/step_paths.py --off lanes32); AlexNet-style's conv2 (32 -> 64
    at 14x14, with ReLU and pooling) 4.82-4.99 against 5.89-6.36 on the AMD
    machine, a whole AlexNet-style step 24.32 -> 23.39 ms (the same).
    At 64 channels in the two machines split (64 -> 64 at 7x7: 2.69 against
    2.89 on the AMD one, 3.09 against 2.34 on the Intel one), so those keep
    Winograd."""
    return (winograd_suits(C, F, HH, WW, stride, pad)
            and not (C <= 32 and lanes_suit_backward(C, F, HH, WW, stride, pad)))


def winograd_tile(H, W):
    """The tile the layers use on H x W images: 4 (F(4x4, 3x3)) when its
    products, 36 per 4x4 block of outputs, are fewer than F(2x2)'s, 16 per
    2x2 block, else 2: so 2 on 2x2 images and single rows, and on 5x5 and
    6x6, where the two tie. bench/conv_paths.py, batch 64, 2 threads,
    forward + backward ms of the sums and gradients, tile 2 against 4:
    AlexNet-style's 32 -> 64 at 14x14 4.80 / 4.49; 64 -> 96 at 7x7
    3.71 / 3.29; 96 -> 96 5.13 / 4.52; 96 -> 64 3.81 / 3.57; the ResNet's
    32 -> 32 at 14x14 3.40 / 3.05 and 64 -> 64 at 7x7 2.85 / 2.57."""
    two = 16 * (-(-H // 2)) * (-(-W // 2))
    four = 36 * (-(-H // 4)) * (-(-W // 4))
    return 4 if four < two else 2


def winograd_floats(C, F, H, W, rows):
    """(floats kept from forward to backward, most floats in flight during
    one call) of this path for ``rows`` images of C x H x W into F channels:
    the transformed kernels U, kept for backward; then one gradient of them
    per thread (summed into the first), and each thread's buffers for a
    group of images and for one image's sums (for nn/footprint.py)."""
    nt = threads_for(rows)
    tile = winograd_tile(H, W)
    E = (tile + 2) ** 2
    kernels = E * C * F
    patches = E * group_size(E, H, W) * (-(-H // tile)) * (-(-W // tile))
    return kernels, nt * kernels + nt * (patches * 2 * (C + F) + 2 * H * W * F)
