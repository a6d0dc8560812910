"""Each 3x3 convolution layer of AlexNet-style and the ResNet on the path it
takes against the paths it could take: forward plus backward ms.

    python bench/conv_paths.py [--threads 2] [--batch 64] [--repeats 20]

"now" is the public kernel the layer calls (conv_fused.py's fused layer for
AlexNet-style, conv2d for the ResNet). "other" is, for the fused layers,
the kernels conv_fused.py runs for layers off the Winograd path (the lanes
forward where it suits, im2col + GEMM otherwise, and backward), called with
the same arguments; for the ResNet's, the lanes kernels in both directions
(kernels/conv_lanes.py, conv_lanes_backward.py), and for its stride-2
layers (last, "side" the input's), im2col + GEMM. "F(2x2)" and "F(4x4)"
are Winograd's sums and gradients alone (kernels/conv_winograd.py, tiles 2
and 4, no bias, ReLU or pooling), on every stride-1 layer whether it takes
them or not. nnlab only, best of 5 rounds.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# (name, C in, F out, side, pooling after): AlexNet-style's conv2 to conv5,
# then the ResNet's first-stage convolution.
LAYERS = [("alexnet conv2", 32, 64, 14, 2), ("alexnet conv3", 64, 96, 7, 0),
          ("alexnet conv4", 96, 96, 7, 0), ("alexnet conv5", 96, 64, 7, 2),
          ("resnet s1 conv", 16, 16, 28, None), ("resnet s2 conv", 32, 32, 14, None),
          ("resnet s3 conv", 64, 64, 7, None)]
# (name, C in, F out, side in, kernel): the ResNet's stride-2 layers, on the
# phase planes ("now", kernels/conv_phases.py) against im2col + GEMM ("other").
STRIDED = [("resnet s2b1 c1", 16, 32, 28, 3), ("resnet s2b1 proj", 16, 32, 28, 1),
           ("resnet s3b1 c1", 32, 64, 14, 3), ("resnet s3b1 proj", 32, 64, 14, 1)]


def best_ms(fn, repeats):
    fn()
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - t) / repeats)
    return 1e3 * best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=common.THREADS)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    common.nnlab_side(args.threads)
    import numpy as np

    from nnlab.kernels import conv2d_backward, conv2d_forward
    from nnlab.kernels import conv_fused as cf
    from nnlab.kernels import conv_lanes
    from nnlab.kernels._split import threads_for
    from nnlab.kernels.conv_lanes_backward import lanes_backward
    from nnlab.kernels.conv_winograd import transformed_kernels, winograd_grads, winograd_sums

    rng = np.random.default_rng(0)
    N = args.batch
    print(f"batch {N}, {args.threads} thread(s), forward + backward ms")
    print(f"{'layer':<16} {'C -> F':>9} {'side':>4}  {'now':>7}  {'other':>7}  "
          f"{'F(2x2)':>7}  {'F(4x4)':>7}")
    for name, C, F, S, pool in LAYERS:
        x = rng.standard_normal((N, C, S, S)).astype(np.float32)
        w = (rng.standard_normal((F, C, 3, 3)) / np.sqrt(9 * C)).astype(np.float32)
        b = np.zeros(F, np.float32)
        if pool is None:  # conv2d, as the ResNet calls it
            out, cache = conv2d_forward(x, w, b, 1, 1)
            d = rng.standard_normal(out.shape).astype(np.float32)
            now = best_ms(lambda: conv2d_backward(d, conv2d_forward(x, w, b, 1, 1)[1],
                                                  need_db=False), args.repeats)

            def other():
                lanes = np.empty((N, F, S * S), np.float32)
                cf.lanes_forward(x, w, b, (1, 1), False, 0, lanes, lanes.reshape(N, F, 1, -1))
                lanes_backward(x, w, d, (1, 1), True)
        else:  # the fused layer, against the kernels for layers off the Winograd path
            out, cache = cf.conv2d_relu_pool_forward(x, w, b, 1, 1, pool)
            d = rng.standard_normal(out.shape).astype(np.float32)
            now = best_ms(lambda: cf.conv2d_relu_pool_backward(
                d, cf.conv2d_relu_pool_forward(x, w, b, 1, 1, pool)[1]), args.repeats)
            acts = np.empty((N, F, S * S), np.float32)
            pooled = np.empty(out.shape if pool else (N, F, 1, 1), np.float32)
            dk = d if pool else d.reshape(N, F, 1, S * S)
            nt = threads_for(N)

            def other():
                if cf.lanes_suit(C, 3, 3, (1, 1)):  # conv2, conv3: the lanes forward
                    cf.lanes_forward(x, w, b, (1, 1), True, pool, acts, pooled)
                else:
                    cf._forward_kernel(x, w.reshape(F, -1), b, 3, 3, 1, 1, 1, 1, S, S, pool,
                                       nt, F <= 32, True, acts, pooled)
                cf._backward_kernel(x, w.reshape(F, -1), acts, dk, 3, 3, 1, 1, 1, 1, S, S, pool,
                                    True, np.empty_like(x), np.zeros((nt, C * 9, F), np.float32),
                                    np.zeros((nt, F)))
        dz = rng.standard_normal((N, F, S * S)).astype(np.float32)
        tiles = []
        for tile in (2, 4):
            def winograd(tile=tile):
                U = transformed_kernels(w, tile)
                winograd_sums(x, U)
                winograd_grads(x, U, dz)
            tiles.append(best_ms(winograd, args.repeats))
        other_ms = best_ms(other, args.repeats)
        print(f"{name:<16} {f'{C} -> {F}':>9} {S:>4}  {now:7.2f}  {other_ms:7.2f}  "
              f"{tiles[0]:7.2f}  {tiles[1]:7.2f}")
    for name, C, F, S, k in STRIDED:
        x = rng.standard_normal((N, C, S, S)).astype(np.float32)
        w = (rng.standard_normal((F, C, k, k)) / np.sqrt(k * k * C)).astype(np.float32)
        b = np.zeros(F, np.float32)
        d = rng.standard_normal(conv2d_forward(x, w, b, 2, k // 2)[0].shape).astype(np.float32)

        def both():
            conv2d_backward(d, conv2d_forward(x, w, b, 2, k // 2)[1], need_db=False)
        now = best_ms(both, args.repeats)
        taps, conv_lanes.MAX_TAPS = conv_lanes.MAX_TAPS, -1  # im2col + GEMM
        try:
            gemm = best_ms(both, args.repeats)
        finally:
            conv_lanes.MAX_TAPS = taps
        print(f"{name:<16} {f'{C} -> {F}':>9} {S:>4}  {now:7.2f}  {gemm:7.2f}")


if __name__ == "__main__":
    main()
