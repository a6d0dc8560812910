#!/usr/bin/env python3
"""Write pictures of numbers for ``nnlab predict reader.npz FILE.png``:

    python examples/reader_pngs.py OUTDIR [--data DIR] [--seed 0]

- OUTDIR/mnist_<number>.png: strips composed, as in training, from MNIST
  *test* digits (white on black, 28 x 128, the reader's own canvas), three
  of them: 2, 4 and 5 digits.
- OUTDIR/drawn_<number>.png: numbers drawn with Pillow as a pen would draw
  them, dark ink on white paper, 480 x 160: each digit a few strokes
  (lines and arcs of our own, with a random slant, wobble and size), at a
  pen width of a tenth of the digit's height. Nothing of MNIST in them.

Each file's name holds the true number. The list goes to stdout, one
``file<TAB>number`` per line, so that

    python examples/reader_pngs.py pngs --data ../shared/data/mnist |
      while IFS=$'\\t' read f n; do echo "$n $(nnlab predict reader.npz $f)"; done

prints the truth beside each reading.
"""

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from nnlab.data.datasets import load_dataset
from nnlab.data.strips import StripMaker


def ellipse(cx, cy, rx, ry, start=0.0, end=360.0, n=24):
    """Points on an ellipse, clockwise on the page from ``start`` degrees (0: right)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, end, n)]


# Each digit as strokes in a unit box (x right, y down), as a hand draws them.
STROKES = {
    0: [ellipse(0.5, 0.5, 0.36, 0.48)],
    1: [[(0.3, 0.22), (0.55, 0.0), (0.55, 1.0)]],
    2: [ellipse(0.5, 0.3, 0.35, 0.3, 180, 360, 12) + [(0.12, 1.0), (0.9, 1.0)]],
    3: [ellipse(0.48, 0.25, 0.32, 0.25, 200, 450, 14) + ellipse(0.48, 0.74, 0.36, 0.26, 270, 520,
                                                                  14)],
    4: [[(0.68, 1.0), (0.68, 0.0), (0.08, 0.68), (0.95, 0.68)]],
    5: [[(0.85, 0.0), (0.22, 0.0), (0.16, 0.45)] + ellipse(0.5, 0.68, 0.36, 0.32, 230, 480, 16)],
    6: [[(0.75, 0.02), (0.42, 0.2), (0.2, 0.55)] + ellipse(0.5, 0.7, 0.32, 0.3, 180, 540, 20)],
    7: [[(0.08, 0.0), (0.92, 0.0), (0.38, 1.0)]],
    8: [ellipse(0.5, 0.25, 0.27, 0.25, 90, 450), ellipse(0.5, 0.74, 0.33, 0.26, -90, 270)],
    9: [ellipse(0.48, 0.28, 0.3, 0.28, 0, 360) + [(0.78, 0.3), (0.7, 1.0)]],
}


def draw_number(number, rng, size=(480, 160)):
    """A picture of ``number`` (a string of digits) drawn stroke by stroke."""
    page = Image.new("L", size, 255)
    pen = ImageDraw.Draw(page)
    height = size[1] * 0.62
    width = height * 0.6
    x = (size[0] - len(number) * width * 1.25) / 2
    for ch in number:
        h = height * rng.uniform(0.9, 1.05)
        top = (size[1] - h) / 2 + rng.uniform(-6, 6)
        slant = rng.uniform(0.05, 0.25)  # a forward slant, as most hands write
        for stroke in STROKES[int(ch)]:
            points = [(x + (px + slant * (1 - py)) * width + rng.normal(0, 1.2),
                       top + py * h + rng.normal(0, 1.2)) for px, py in stroke]
            pen.line(points, fill=int(rng.integers(10, 60)), width=max(2, round(h / 10)),
                     joint="curve")
        x += width * rng.uniform(1.15, 1.4)
    return page


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--data", help="folder of the MNIST IDX files (else nnlab's own lookup)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    data = load_dataset("mnist", args.data, download=False)
    maker = StripMaker(data.test_x, data.test_y, 5)
    for count in (2, 4, 5):
        image, labels = maker.strip(rng, count)
        number = "".join(map(str, labels))
        path = args.outdir / f"mnist_{number}.png"
        Image.fromarray(image).save(path)
        print(f"{path}\t{number}")
    for number in ("2024", "317", "86", "50149"):
        path = args.outdir / f"drawn_{number}.png"
        draw_number(number, rng).save(path)
        print(f"{path}\t{number}")


if __name__ == "__main__":
    main()
