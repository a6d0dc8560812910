"""The reader's strips (data/strips.py) and the pictures made into strips
(data/images.py): what they hold, against plain reconstructions."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from nnlab.data import images, strips
from tinydata import stroke_digits


@pytest.fixture(scope="module")
def digits():
    return stroke_digits(200, 3)


def test_canvas_and_ink_columns(digits):
    x, y = digits
    assert strips.canvas_width(5) == 128
    lo, hi = strips.ink_columns(x)
    # class k: strokes at columns 4, 6, ..., 4 + 2k
    np.testing.assert_array_equal(lo, 4)
    np.testing.assert_array_equal(hi, 5 + 2 * y.astype(np.int64))
    blank_lo, blank_hi = strips.ink_columns(np.zeros((1, 28, 28), np.uint8))
    assert (blank_lo[0], blank_hi[0]) == (0, 1)


def test_a_strip_holds_its_digits_in_order(digits, monkeypatch):
    x, y = digits
    # Gaps of 3 columns between digits, and strokes 1 apart within one: the
    # runs of inked columns, grouped by the wide gaps, spell the labels.
    monkeypatch.setattr(strips, "GAPS", (3, 3))
    monkeypatch.setattr(strips, "JITTER", 0)
    maker = strips.StripMaker(x, y, 4)
    rng = np.random.default_rng(0)
    for count in (1, 2, 3, 4):
        for _ in range(10):
            image, labels = maker.strip(rng, count)
            assert image.shape == (28, 104) and image.dtype == np.uint8
            ink = np.flatnonzero(image.max(axis=0) > 0)
            groups = np.split(ink, np.flatnonzero(np.diff(ink) > 2) + 1)
            assert [len(g) - 1 for g in groups] == list(labels)
            assert image[:4].max() == 0 and image[24:].max() == 0  # no jitter: rows 4-23


def test_batches_follow_the_generator(digits):
    x, y = digits
    maker = strips.StripMaker(x, y, 3)
    a = maker.batch(np.random.default_rng(5), 10)
    b = maker.batch(np.random.default_rng(5), 10)
    np.testing.assert_array_equal(a[0], b[0])
    assert all((p == q).all() for p, q in zip(a[1], b[1]))
    lengths = [len(t) for t in a[1]]
    assert min(lengths) >= 1 and max(lengths) <= 3


def test_fixed_test_strips_are_always_the_same(digits):
    x, y = digits
    first = strips.test_strips(x, y, 2, per_length=7)
    again = strips.test_strips(x, y, 2, per_length=7)
    np.testing.assert_array_equal(first[0], again[0])
    assert [len(t) for t in first[1]] == [1] * 7 + [2] * 7


def test_refuses_digits_of_another_height():
    with pytest.raises(ValueError, match="28"):
        strips.StripMaker(np.zeros((3, 32, 32), np.uint8), [0, 1, 2], 2)


def png(image, mode="L"):
    buf = io.BytesIO()
    Image.fromarray(image).convert(mode).save(buf, "PNG")
    return buf.getvalue()


def test_dark_ink_on_a_light_page_becomes_a_strip():
    page = Image.new("L", (200, 100), 230)
    ImageDraw.Draw(page).rectangle([50, 20, 69, 79], fill=30)  # 20 wide, 60 tall
    buf = io.BytesIO()
    page.save(buf, "JPEG", quality=95)
    strip = images.to_strip(images.decode(buf.getvalue(), "x.jpg"), 128)
    assert strip.shape == (28, 128) and strip.dtype == np.uint8
    ink = strip > 128
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    # Scaled by 20 / 60: 20 rows by about 7 columns, centred.
    assert rows[-1] - rows[0] + 1 == images.DIGIT_HEIGHT
    assert 5 <= cols[-1] - cols[0] + 1 <= 9
    assert abs((rows[0] + rows[-1]) / 2 - 13.5) <= 1 and abs((cols[0] + cols[-1]) / 2 - 63.5) <= 2
    assert strip[0].max() == 0 and strip[:, :40].max() == 0  # the page is black


def test_a_training_like_strip_keeps_its_scale(digits):
    x, y = digits
    image, _ = strips.StripMaker(x, y, 3).strip(np.random.default_rng(1), 3)
    again = images.to_strip(images.decode(png(image), "s.png"), image.shape[1])
    # Stroke digits are 20 rows tall, as the scaling wants (the jitter makes
    # the strip taller): the strip comes back at its own scale.
    tall = lambda a: np.ptp(np.flatnonzero((a > 64).any(axis=1))) + 1  # noqa: E731
    wide = lambda a: np.ptp(np.flatnonzero((a > 64).any(axis=0))) + 1  # noqa: E731
    assert tall(again) == tall(image) > 20 and wide(again) == wide(image)


def test_transparency_is_drawn_over_white():
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[10:30, 18:22] = (0, 0, 0, 255)  # a black bar on a transparent page
    strip = images.to_strip(images.decode(png(rgba, "RGBA"), "t.png"), 64)
    assert strip.max() == 255 and (strip > 128).sum() >= 20


@pytest.mark.parametrize("data, says", [
    (b"hello, not a picture", "not an image"),
    (png(np.full((30, 30), 7, np.uint8)), "no ink"),
    (png((np.arange(1600).reshape(40, 40) % 251).astype(np.uint8))[:60], "damaged"),
])
def test_refuses_what_is_not_a_number(data, says):
    with pytest.raises(images.ImageError, match=says):
        images.to_strip(images.decode(data, "bad"), 64)


def test_refuses_huge_pictures_from_their_header(monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 100)
    with pytest.raises(images.ImageError, match="pixels"):
        images.decode(png(np.zeros((20, 20), np.uint8)), "big.png")
