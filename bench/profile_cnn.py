"""Where a CNN's training step spends its time: each unit's forward and
backward pass, and the optimizer, at batch 64 on random 28x28 images.

    python bench/profile_cnn.py [--arch alexnet] [--steps 30] [--threads 2]

Units are what nnlab runs (convolution + ReLU + pooling fused, residual
blocks as one unit); the figure is the median over the steps, in ms, with
the share of the whole step. nnlab only, in its own runtime settings.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="alexnet", choices=["lenet5", "alexnet", "resnet"])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=common.THREADS)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    common.nnlab_side(args.threads)
    import numpy as np

    from nnlab.kernels import softmax_cross_entropy
    from nnlab.nn.cnn_models import build_cnn
    from nnlab.nn.optim import Adam

    args_ = {"depth": 2, "width": 16} if args.arch == "resnet" else {}
    model = build_cnn(args.arch, args_).init(np.random.default_rng(0))
    model.rng = np.random.default_rng(1)
    opt = Adam(model.params)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, args.batch)
    names = [type(u).__name__ + ":" + u.name for u in model.units]
    times = {n: ([], []) for n in names}
    other = []

    def step(record):
        h = x
        for name, unit in zip(names, model.units):
            t = time.perf_counter()
            h = unit.forward(model, h, True)
            if record:
                times[name][0].append(time.perf_counter() - t)
        _, d = softmax_cross_entropy(h, y)
        for i in range(len(model.units) - 1, -1, -1):
            t = time.perf_counter()
            d = model.units[i].backward(model, d, need_dx=i > 0)
            if record:
                times[names[i]][1].append(time.perf_counter() - t)
        t = time.perf_counter()
        opt.step(model.params, model.grads, 1e-3)
        if record:
            other.append(time.perf_counter() - t)

    for _ in range(3):
        step(False)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step(True)
    total = (time.perf_counter() - t0) / args.steps
    print(f"{args.arch}, batch {args.batch}, {args.threads} thread(s): {1e3 * total:.1f} ms "
          f"per step, {args.batch / total:,.0f} img/s")
    print(f"{'unit':28s} {'forward ms':>10s} {'backward ms':>11s} {'share':>6s}")
    for name in names:
        f, b = (statistics.median(v) * 1e3 for v in times[name])
        print(f"{name:28s} {f:10.2f} {b:11.2f} {100 * (f + b) / 1e3 / total:5.1f}%")
    opt_ms = statistics.median(other) * 1e3
    print(f"{'Adam':28s} {opt_ms:10.2f} {'':11s} {100 * opt_ms / 1e3 / total:5.1f}%")


if __name__ == "__main__":
    main()
