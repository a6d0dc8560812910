"""nn/augment.py: random shifts of at most ``shift`` pixels with zero fill,
left-right flips only with flip=True, repeatable from a seed, dtype and shape
kept; and the trainer flips only the datasets whose classes allow it.

The checks find each output's offset by trying all (2 shift + 1)**2 shifts
of the original (images of random values 1..255, so exactly one fits), which
does not depend on how augment draws its random numbers; one image of a
seeded batch is also compared with its shift written out by hand.
"""

import numpy as np
import pytest

import nnlab.nn.train_cnn as train_cnn
from nnlab.data.datasets import Dataset
from nnlab.nn.augment import augment
from nnlab.nn.archs import CNNArch
from nnlab.nn.train_cnn import CNNConfig, CNNTrainer


def shifted(img, oy, ox):
    """out[r, c] = img[r + oy, c + ox], 0 where that falls outside."""
    H, W = img.shape
    out = np.zeros_like(img)
    out[max(0, -oy):min(H, H - oy), max(0, -ox):min(W, W - ox)] = \
        img[max(0, oy):min(H, H + oy), max(0, ox):min(W, W + ox)]
    return out


def offsets_of(orig, out, shift):
    """All (oy, ox) with |oy|, |ox| <= shift such that out is orig shifted so."""
    return [(oy, ox) for oy in range(-shift, shift + 1) for ox in range(-shift, shift + 1)
            if np.array_equal(out, shifted(orig, oy, ox))]


def images(n, h=10, w=9, seed=0, dtype=np.uint8):
    return np.random.default_rng(seed).integers(1, 256, (n, h, w)).astype(dtype)


def test_shifted_helper():
    img = np.arange(1, 13).reshape(3, 4)
    np.testing.assert_array_equal(shifted(img, 1, -1), [[0, 5, 6, 7], [0, 9, 10, 11],
                                                        [0, 0, 0, 0]])
    np.testing.assert_array_equal(shifted(img, 0, 0), img)


def test_one_seeded_image_exactly():
    """Seed 0, a batch of 3: the first image comes out moved 2 rows up and
    1 column right (out[r, c] = in[r + 2, c - 1]), the two bottom rows and
    the left column filled with 0."""
    x = images(3)
    out = augment(x, np.random.default_rng(0), shift=2)
    want = np.zeros((10, 9), np.uint8)
    want[:8, 1:] = x[0, 2:, :8]
    np.testing.assert_array_equal(out[0], want)
    assert offsets_of(x[0], out[0], 2) == [(2, -1)]


@pytest.mark.parametrize("shift", [1, 2, 3])
def test_every_image_is_shifted_by_at_most_shift_with_zero_fill(shift):
    x = images(300, seed=shift)
    out = augment(x, np.random.default_rng(shift), shift=shift)
    seen = set()
    for i in range(len(x)):
        found = offsets_of(x[i], out[i], shift)
        assert len(found) == 1, (i, found)
        seen.add(found[0])
    # Every offset in the square happens, the unshifted one included.
    assert len(seen) == (2 * shift + 1) ** 2


def test_shift_zero_without_flip_is_the_identity():
    x = images(20)
    out = augment(x, np.random.default_rng(0), shift=0, flip=False)
    np.testing.assert_array_equal(out, x)


def test_no_flips_without_flip():
    """Asymmetric images: with flip=False no output is a shift of the mirror
    image (test_every_image... already finds each one a shift of itself)."""
    x = images(200, seed=3)
    out = augment(x, np.random.default_rng(3), shift=2, flip=False)
    for i in range(len(x)):
        assert offsets_of(x[i, :, ::-1], out[i], 2) == [], i


def test_flips_with_flip_alone():
    x = images(400, seed=4)
    out = augment(x, np.random.default_rng(4), shift=0, flip=True)
    same = np.array([np.array_equal(o, i) for o, i in zip(out, x)])
    mirrored = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)])
    assert np.all(same ^ mirrored)
    assert 160 < mirrored.sum() < 240          # about half, at random


def test_flips_and_shifts_together():
    x = images(300, seed=5)
    out = augment(x, np.random.default_rng(5), shift=2, flip=True)
    flips, offsets = 0, set()
    for i in range(len(x)):
        plain = offsets_of(x[i], out[i], 2)
        mirror = offsets_of(x[i, :, ::-1], out[i], 2)
        assert len(plain) + len(mirror) == 1, i
        flips += bool(mirror)
        offsets.update(plain + mirror)
    assert 100 < flips < 200
    assert len(offsets) == 25


@pytest.mark.parametrize("flip", [False, True])
def test_same_seed_same_batch(flip):
    x = images(50, seed=6)
    a = augment(x, np.random.default_rng(7), shift=2, flip=flip)
    b = augment(x, np.random.default_rng(7), shift=2, flip=flip)
    np.testing.assert_array_equal(a, b)
    c = augment(x, np.random.default_rng(8), shift=2, flip=flip)
    assert not np.array_equal(a, c)
    # One generator carried on gives a new draw for the next batch.
    rng = np.random.default_rng(7)
    first = augment(x, rng, shift=2, flip=flip)
    second = augment(x, rng, shift=2, flip=flip)
    np.testing.assert_array_equal(first, a)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("shift,flip", [(2, False), (2, True), (0, True), (1, False)])
def test_dtype_and_shape_kept_input_untouched(dtype, shift, flip):
    x = images(16, h=28, w=28, dtype=dtype)
    saved = x.copy()
    out = augment(x, np.random.default_rng(0), shift=shift, flip=flip)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_array_equal(x, saved)
    assert not np.shares_memory(out, x)
    out[...] = 0
    np.testing.assert_array_equal(x, saved)


def test_shift_zero_returns_a_new_array():
    x = images(4)
    assert augment(x, np.random.default_rng(0), shift=0, flip=False) is not x


def test_empty_and_single_image_batches():
    x = images(0)
    assert augment(x, np.random.default_rng(0), shift=2, flip=True).shape == (0, 10, 9)
    one = images(1)
    out = augment(one, np.random.default_rng(0), shift=2, flip=True)
    assert out.shape == (1, 10, 9)
    assert len(offsets_of(one[0], out[0], 2) + offsets_of(one[0, :, ::-1], out[0], 2)) == 1


# ============================================== the trainer's use of augment

def toy_data(name):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (24, 12, 12)).astype(np.uint8)
    y = rng.integers(0, 10, 24).astype(np.uint8)
    return Dataset(name, [str(i) for i in range(10)], x[:16], y[:16], x[16:], y[16:])


@pytest.mark.parametrize("dataset,augment_on,calls", [
    ("mnist", True, [False, False]), ("fashion-mnist", True, [True, True]),
    ("mnist", False, []), ("fashion-mnist", False, []),
])
def test_trainer_flips_only_fashion(monkeypatch, dataset, augment_on, calls):
    seen = []

    def spy(images, rng, shift=2, flip=False):
        seen.append(flip)
        assert shift == 2 and images.dtype == np.uint8
        return augment(images, rng, shift, flip)

    monkeypatch.setattr(train_cnn, "augment", spy)
    config = CNNConfig(dataset=dataset, arch="lenet5", epochs=1, batch_size=8,
                       augment=augment_on)
    trainer = CNNTrainer(config, toy_data(dataset), arch=CNNArch("lenet5", image_size=12))
    trainer.run()
    assert seen == calls
