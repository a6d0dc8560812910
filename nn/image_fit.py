"""Whether a dataset's images fit a CNN architecture, checked before training.

The networks are built for square images of one size (the ``image_size``
argument), and LeNet-5 and AlexNet pool their input down to a few pixels:
on images that are too small or not square they failed with a ValueError
from inside the model (a negative feature map, or shapes that do not
multiply) instead of a line saying what to do.
"""

from nnlab import NnlabError

# The smallest side each architecture can take. LeNet-5: conv1 keeps the
# size s, pool1 gives s // 2, conv2 (5x5, no padding) s // 2 - 4, pool2
# halves that again and must leave one pixel: s >= 12. AlexNet: three
# poolings by 2, s >= 8. ResNet: padded convolutions and a global average,
# any size. tests/test_hostile_inputs.py builds each at its minimum and below.
MIN_SIDE = {"lenet5": 12, "alexnet": 8, "resnet": 1}


class ImagesDoNotFit(NnlabError):
    """Images the chosen architecture (or the resumed checkpoint) cannot take:
    the fix is another --arch, or the data the run was trained on."""

    exit_code = 2


def check_images(arch, images, where="the dataset", trained_side=None, resume=None):
    """Raises NnlabError unless ``images`` ((N, H, W) or (N, C, H, W)) suit
    ``arch``; ``trained_side`` is the image size of a resumed checkpoint."""
    h, w = (int(n) for n in images.shape[-2:])
    if h != w:
        # Not ImagesDoNotFit: no architecture takes them, so no option helps.
        raise NnlabError(f"the images of {where} are {h}x{w}; nnlab's networks need square "
                         "images: crop or pad them to one size")
    if trained_side is not None and h != trained_side:
        raise ImagesDoNotFit(f"--resume: {resume} was trained on {trained_side}x{trained_side} "
                             f"images, but those of {where} are {h}x{w}; resume with the data "
                             "it was trained on")
    need = MIN_SIDE.get(arch, 1)
    if h < need:
        fits = [name for name, side in MIN_SIDE.items() if side <= h]
        raise ImagesDoNotFit(f"--arch {arch} needs images of at least {need}x{need} pixels, and "
                             f"those of {where} are {h}x{w}; use --arch {' or '.join(fits)}")
