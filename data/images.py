"""Pictures of handwritten numbers, from PNG, JPEG or any format Pillow
reads, made to look like the reader's training strips (data/strips.py):
white-on-black, one digit tall, 20 pixels of ink height in 28 rows, as
MNIST's digits are (Pillow is imported here only, by ``nnlab predict``).

The steps, each undoing a way a photo or a drawing differs from a strip:
  1. grayscale, transparency over white (a drawing app's PNG);
  2. dark ink on a light page is inverted, judged by the border's median;
  3. the background level is subtracted and the ink stretched to 255;
  4. the inked box is cropped, then scaled so that a digit is 20 pixels
     tall (the median height of the runs of inked columns: one digit each,
     unless they touch) and the whole fits the canvas;
  5. it is centred on the strip's canvas.
"""

import io
import os
import sys

import numpy as np

from nnlab import NnlabError
from nnlab.files import reading

MAX_BYTES = 64 << 20       # a photo from a phone is 2-10 MB
MAX_PIXELS = 50_000_000    # checked from the header, before the pixels are decoded
DIGIT_HEIGHT = 20          # MNIST's digits fill a 20x20 box of the 28x28 image
ROWS = 28


class ImageError(NnlabError):
    pass


def read_image_bytes(path):
    """The bytes of ``path`` (``-``: stdin), at most MAX_BYTES."""
    name = "stdin" if path == "-" else path
    if path == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise ImageError("stdin is a terminal or closed; pipe an image in "
                             "(nnlab predict reader.npz - < strip.png)")
        data = _read_bounded(sys.stdin.buffer, name)
    else:
        with reading(path, ImageError, "image file", "an image file"), open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size > MAX_BYTES:  # a regular file: refused unread
                raise _too_big(name)
            data = _read_bounded(f, name)
    if not data:
        raise ImageError(f"{name} is empty; give a PNG or JPEG picture of a number")
    return data


def _too_big(name):
    return ImageError(f"{name} is larger than {MAX_BYTES >> 20} MB; give a smaller picture "
                      "of the number")


def _read_bounded(f, name, chunk=1 << 20):
    """At most MAX_BYTES of ``f``, in pieces: read(n) allocates n bytes at
    once, and an endless pipe must fail at the bound, not fill memory."""
    pieces, total = [], 0
    while True:
        piece = f.read(chunk)
        if not piece:
            return b"".join(pieces)
        total += len(piece)
        if total > MAX_BYTES:
            raise _too_big(name)
        pieces.append(piece)


def decode(data, name):
    """Image bytes -> float64 grayscale (H, W) in [0, 255], ink bright."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        w, h = image.size
        if w * h > MAX_PIXELS:
            raise ImageError(f"{name} is {w}x{h} pixels, more than nnlab decodes "
                             f"({MAX_PIXELS:,}); scale it down first")
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            page = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(page, image.convert("RGBA"))
        gray = np.asarray(image.convert("L"), np.float64)
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image Pillow can read; give a PNG or JPEG "
                         "picture of a number") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise ImageError(f"{name} is a damaged image ({e}); save it again as PNG") from None
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 127:
        gray = 255.0 - gray
        border = 255.0 - border
    gray = np.clip(gray - np.median(border), 0, None)
    top = gray.max()
    if top < 32:  # no stroke stands out of the page by an eighth of the range
        raise ImageError(f"{name} shows no ink: a blank picture, or too little contrast")
    return gray * (255.0 / top)


def _digit_height(ink):
    """The median height of the runs of inked columns of the mask ``ink``."""
    cols = ink.any(axis=0)
    heights, x, W = [], 0, len(cols)
    while x < W:
        if not cols[x]:
            x += 1
            continue
        end = x
        while end < W and cols[end]:
            end += 1
        rows = np.flatnonzero(ink[:, x:end].any(axis=1))
        if ink[:, x:end].sum() >= 3:  # a speck of a pixel or two is noise, not a digit
            heights.append(rows[-1] - rows[0] + 1)
        x = end
    return float(np.median(heights)) if heights else float(ink.shape[0])


def to_strip(gray, width, name="the image"):
    """Bright-ink grayscale (H, W) -> a uint8 strip (28, width)."""
    from PIL import Image

    ink = gray > 64
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        raise ImageError(f"{name} shows no ink: a blank picture, or too little contrast")
    box = gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = DIGIT_HEIGHT / _digit_height(ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    scale = min(scale, (ROWS - 2) / box.shape[0], (width - 4) / box.shape[1])
    h = max(1, round(box.shape[0] * scale))
    w = max(1, round(box.shape[1] * scale))
    small = Image.fromarray(box.astype(np.float32)).resize(
        (w, h), Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR)
    piece = np.clip(np.asarray(small), 0, 255)
    strip = np.zeros((ROWS, width), np.uint8)
    y, x = (ROWS - h) // 2, (width - w) // 2
    strip[y:y + h, x:x + w] = np.round(piece).astype(np.uint8)
    return strip


def read_strip(path, width):
    """The picture at ``path`` (``-``: stdin) as a uint8 strip (28, width)."""
    name = "stdin" if path == "-" else path
    return to_strip(decode(read_image_bytes(path), name), width, name)
