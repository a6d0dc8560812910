"""pixel_stats (the training images' mean and standard deviation, used to
normalise every input) against numpy in float64, on an image stack larger
than one of its 65,536-pixel chunks and not a multiple of it."""

import numpy as np

from nnlab.nn.evaluate import pixel_stats


def test_pixel_stats_matches_numpy():
    images = np.random.default_rng(0).integers(0, 256, size=(171, 28, 28), dtype=np.uint8)
    mean, std = pixel_stats(images)
    scaled = images.astype(np.float64) / 255.0
    assert abs(mean - scaled.mean()) < 1e-12
    assert abs(std - scaled.std()) < 1e-12


def test_pixel_stats_of_a_constant_image_keeps_std_one():
    # A zero deviation would divide by zero when normalising.
    mean, std = pixel_stats(np.full((3, 4, 4), 51, np.uint8))
    assert abs(mean - 0.2) < 1e-12
    assert std == 1.0
