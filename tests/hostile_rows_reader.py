"""Rows of tests/test_hostile_inputs.py for the reader: train-reader, and
eval and predict of a reader checkpoint. A helper module of rows (CASES),
not a test module."""

import io

import numpy as np

from hostile import Case
from hostile_makers import READER_TRAIN, checkpoint, folder, images, text_file

TRAIN = ("train-reader", *READER_TRAIN)
READER = "{base}/reader.npz"


def png(array):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def huge_png_header(w, base):
    """A PNG whose header claims 100,000 x 100,000 pixels: refused unread."""
    import zlib

    data = bytearray(png(np.zeros((2, 2), np.uint8)))
    data[16:24] = (100_000).to_bytes(4, "big") * 2  # IHDR width and height
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")  # and its checksum
    (w / "huge.png").write_bytes(bytes(data))


CASES = [
    # ---- train-reader
    Case("reader-images-not-28", ("train-reader", "--data", "{w}/baddata", "--no-download",
                                  "--steps", "2"), 1, ("baddata", "28x28"), images(32, 32)),
    Case("reader-channels-two", (*TRAIN, "--channels", "4,8"), 2, ("--channels", "three")),
    Case("reader-channels-words", (*TRAIN, "--channels", "a,b,c"), 2, ("--channels",)),
    Case("reader-max-digits-0", (*TRAIN, "--max-digits", "0"), 2, ("--max-digits",)),
    Case("reader-too-big-for-memory", (*TRAIN, "--hidden", "20000"), 2, ("--hidden", "memory"),
         memory=1 << 30, max_alloc_mb=64),
    Case("reader-no-data", ("train-reader", "--data", "{w}/nowhere", "--no-download"), 1,
         ("nowhere",)),
    Case("reader-resume-a-cnn", ("train-reader", "--resume", "cnn.npz", "--data", "{data}"), 1,
         ("cnn.npz", "cnn checkpoint")),
    Case("reader-resume-changes-hidden", ("train-reader", "--resume", READER, "--hidden", "8",
                                          "--steps", "4", "--out", "{w}/r.npz"), 2,
         ("hidden",)),
    Case("reader-out-is-notes", (*TRAIN, "--out", "notes.md"), 2, ("--out", "notes.md"),
         text_file(b"# my notes\n", "notes.md")),
    # ---- eval
    Case("eval-reader-with-textfile", ("eval", READER, "{w}/a.txt"), 2, ("TEXTFILE",),
         text_file(b"abc\n", "a.txt")),
    Case("eval-reader-images-not-28", ("eval", READER, "--data", "{w}/baddata", "--no-download"),
         1, ("baddata", "28x28"), images(32, 32)),
    Case("eval-charlm-show-errors", ("eval", "charlm.npz", "--show-errors", "3"), 2,
         ("--show-errors", "image models")),
    Case("eval-reader-arch-claims-huge-model", ("eval", "{w}/bad.npz"), 1, ("bad.npz",),
         checkpoint("reader", meta=lambda m: m["arch"]["args"].update(
             conv3=60000, hidden=60000, width=60000)), max_alloc_mb=256),
    Case("eval-reader-std-0", ("eval", "{w}/bad.npz"), 1, ("bad.npz", "std"),
         checkpoint("reader", meta=lambda m: m["normalize"].update(std=0))),
    # ---- predict
    Case("predict-reader-no-image", ("predict", READER), 2, ("IMAGE",)),
    Case("predict-reader-text-file", ("predict", READER, "{w}/a.txt"), 1,
         ("a.txt", "not an image"), text_file(b"12345\n", "a.txt")),
    Case("predict-reader-stdin-garbage", ("predict", READER, "-"), 1, ("stdin", "not an image"),
         input=b"\x89PNG garbage"),
    Case("predict-reader-empty-stdin", ("predict", READER, "-"), 1, ("stdin", "empty"),
         input=b""),
    Case("predict-reader-blank", ("predict", READER, "{w}/blank.png"), 1, ("blank.png", "no ink"),
         lambda w, base: (w / "blank.png").write_bytes(png(np.full((20, 60), 250, np.uint8)))),
    Case("predict-reader-truncated", ("predict", READER, "{w}/cut.png"), 1,
         ("cut.png", "damaged"), lambda w, base: (w / "cut.png").write_bytes(
             png((np.arange(1600).reshape(40, 40) % 251).astype(np.uint8))[:60])),
    Case("predict-reader-huge-header", ("predict", READER, "{w}/huge.png"), 1,
         ("huge.png", "pixels"), huge_png_header, max_alloc_mb=64),
    Case("predict-reader-folder", ("predict", READER, "{w}/adir"), 1, ("adir", "folder"),
         folder()),
    Case("predict-reader-missing", ("predict", READER, "{w}/nope.png"), 1,
         ("nope.png", "no such")),
    Case("predict-show-on-a-classifier", ("predict", "{base}/clf.npz", "--show", "abc"), 2,
         ("--show", "reader")),
    Case("predict-reader-stdin-twice", ("predict", READER, "-", "-"), 2, ("once",), input=b""),
]
