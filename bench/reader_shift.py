#!/usr/bin/env python3
"""How much a reader's reading depends on where the number sits:

    python bench/reader_shift.py reader.npz [--data DIR] [--strips 500]

Takes the first STRIPS fixed test strips (data/strips.py, every length in
turn), moves each one's ink left and right to every position that keeps it
on the canvas, and reads it at each (greedy). Prints the whole-number
accuracy over all positions, by the shift modulo 8 (three max-pools make
the feature map's columns 8 pixels apart), and the share of strips whose
reading is right at some positions and wrong at others.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only: it sets nothing)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--data", default=common.default_data("mnist"))
    ap.add_argument("--strips", type=int, default=500)
    ap.add_argument("--threads", type=int, default=common.THREADS)
    args = ap.parse_args()
    common.nnlab_side(args.threads)
    import numpy as np

    from nnlab.data.datasets import load_dataset
    from nnlab.data.strips import test_strips
    from nnlab.nn import reader_eval
    from nnlab.nn.checkpoint import load_checkpoint
    from nnlab.nn.restore import reader_model

    meta, arrays = load_checkpoint(args.checkpoint, kind="reader")
    model, (mean, std), max_digits = reader_model(meta, arrays, args.checkpoint)
    data = load_dataset("mnist", args.data, download=False)
    images, labels = test_strips(data.test_x, data.test_y, max_digits)
    # Every length in turn: strips 0, 1000, 2000, ... then 1, 1001, ...
    per = len(labels) // max_digits
    order = [k * per + i for i in range(per) for k in range(max_digits)][:args.strips]
    by_phase = np.zeros((8, 2), np.int64)  # (right, tried) by shift modulo 8
    unstable = 0
    for n in order:
        image, want = images[n], labels[n]
        ink = np.flatnonzero(image.max(axis=0) > 0)
        shifts = np.arange(-ink[0], image.shape[1] - ink[-1])
        batch = np.stack([np.roll(image, s, axis=1) for s in shifts])
        got = reader_eval.read(model, batch, mean, std, max_digits)
        right = np.array([len(g) == len(want) and bool((g == want).all()) for g in got])
        np.add.at(by_phase, (shifts % 8, 0), right)
        np.add.at(by_phase, (shifts % 8, 1), 1)
        unstable += bool(right.any() and not right.all())
    total = by_phase.sum(axis=0)
    print(f"{args.checkpoint}: {len(order)} fixed test strips at every position, "
          f"{total[1]:,} readings")
    print(f"whole numbers right over all positions: {total[0] / total[1]:.2%}")
    print("by shift modulo 8: " + "  ".join(f"{p}: {r / t:.2%}" for p, (r, t)
                                            in enumerate(by_phase)))
    print(f"strips right at some positions and wrong at others: {unstable / len(order):.1%}")


if __name__ == "__main__":
    main()
