"""CNN architectures by name, each built from a dict of JSON-able arguments so
that a checkpoint can rebuild the exact network it was trained with."""

from .blocks import ResidualBlock
from .layers import (BatchNorm, Conv2d, Dropout, Flatten, GlobalAvgPool, Linear, MaxPool2d,
                     ReLU)
from .model import Sequential


def lenet5_layers(in_channels=1, num_classes=10, image_size=28):
    """LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, as in the lecture:
    conv 6@5x5 pad 2, pool 2, conv 16@5x5, pool 2, fc 120, fc 84, fc classes.
    On 28x28 digits the second pooling leaves 16 x 5 x 5 = 400 features."""
    s = ((image_size + 4 - 4) // 2 - 4) // 2
    return [
        Conv2d("conv1", in_channels, 6, 5, pad=2), ReLU("relu1"), MaxPool2d("pool1", 2),
        Conv2d("conv2", 6, 16, 5), ReLU("relu2"), MaxPool2d("pool2", 2),
        Flatten("flatten"),
        Linear("fc1", 16 * s * s, 120), ReLU("relu3"),
        Linear("fc2", 120, 84), ReLU("relu4"),
        Linear("fc3", 84, num_classes),
    ]


def alexnet_layers(in_channels=1, num_classes=10, image_size=28, dropout=0.5):
    """The lecture's "deeper, bigger LeNet" (Krizhevsky et al., 2012), scaled
    from 224x224 colour photographs down to 28x28 digits: five 3x3
    convolutions instead of two 5x5 ones, more channels, ReLU, three max
    poolings, and two wide fully connected layers with dropout.

        conv1  32@3x3 pad 1, ReLU, max pool 2     28 -> 14
        conv2  64@3x3 pad 1, ReLU, max pool 2     14 -> 7
        conv3  96@3x3 pad 1, ReLU
        conv4  96@3x3 pad 1, ReLU
        conv5  64@3x3 pad 1, ReLU, max pool 2      7 -> 3
        fc6    576 -> 512, ReLU, dropout
        fc7    512 -> 512, ReLU, dropout
        fc8    512 -> classes
    """
    s = image_size // 2 // 2 // 2
    return [
        Conv2d("conv1", in_channels, 32, 3, pad=1), ReLU("relu1"), MaxPool2d("pool1", 2),
        Conv2d("conv2", 32, 64, 3, pad=1), ReLU("relu2"), MaxPool2d("pool2", 2),
        Conv2d("conv3", 64, 96, 3, pad=1), ReLU("relu3"),
        Conv2d("conv4", 96, 96, 3, pad=1), ReLU("relu4"),
        Conv2d("conv5", 96, 64, 3, pad=1), ReLU("relu5"), MaxPool2d("pool5", 2),
        Flatten("flatten"),
        Linear("fc6", 64 * s * s, 512), ReLU("relu6"), Dropout("drop6", dropout),
        Linear("fc7", 512, 512), ReLU("relu7"), Dropout("drop7", dropout),
        Linear("fc8", 512, num_classes),
    ]


def resnet_units(in_channels=1, num_classes=10, image_size=28, depth=2, width=16,
                 first_stride=1, expand=True):
    """ResNet's layers as (layer, how many times it occurs). expand=True gives
    every block once, in order; expand=False stands each stage's blocks after
    the first for all of them (they are alike: same channels, stride 1), so
    that sizes of a 100,000-block network are worked out from six blocks
    (nn/footprint.py) instead of after minutes of building it."""
    units = [(Conv2d("stem", in_channels, width, 3, pad=1, bias=False), 1),
             (BatchNorm("stem_bn", width), 1), (ReLU("stem_relu"), 1)]
    c = width
    strides = ((width, first_stride), (2 * width, 2), (4 * width, 2))
    for stage, (channels, stride) in enumerate(strides):
        for block in range(depth if expand else min(depth, 2)):
            count = 1 if expand or block == 0 else depth - 1
            units.append((ResidualBlock(f"s{stage + 1}b{block + 1}", c, channels,
                                        stride if block == 0 else 1), count))
            c = channels
    units += [(GlobalAvgPool("pool"), 1), (Linear("fc", c, num_classes), 1)]
    return units


def resnet(in_channels=1, num_classes=10, image_size=28, depth=2, width=16, first_stride=1):
    """A ResNet for small images (He et al., 2016, section 4.2): a 3x3 stem
    convolution with batch norm, three stages of ``depth`` residual blocks
    with width, 2 width and 4 width channels (the second and third halve the
    resolution, 28 -> 14 -> 7; with first_stride=2 the first does too, 28 ->
    14 -> 7 -> 4), global average pooling and a linear classifier."""
    units = resnet_units(in_channels, num_classes, image_size, depth, width, first_stride)
    return Sequential([layer for layer, _ in units], (in_channels, image_size, image_size))


def lenet5(in_channels=1, num_classes=10, image_size=28):
    return Sequential(lenet5_layers(in_channels, num_classes, image_size),
                      (in_channels, image_size, image_size))


def alexnet(in_channels=1, num_classes=10, image_size=28, dropout=0.5):
    return Sequential(alexnet_layers(in_channels, num_classes, image_size, dropout),
                      (in_channels, image_size, image_size))


ARCHITECTURES = {"lenet5": lenet5, "alexnet": alexnet, "resnet": resnet}


def cnn_units(arch, args):
    """(layer, count) pairs of the network ``arch`` with ``args``, without
    building it (no arrays): what nn/footprint.py sizes. ValueError for an
    unknown name."""
    if arch == "resnet":
        return resnet_units(**args, expand=False)
    layers = {"lenet5": lenet5_layers, "alexnet": alexnet_layers}.get(arch)
    if layers is None:
        build_cnn(arch, args)  # the error naming the known architectures
    return [(layer, 1) for layer in layers(**args)]


def build_cnn(arch, args):
    """The network named ``arch`` built with ``args``; ValueError for an unknown name."""
    try:
        make = ARCHITECTURES[arch]
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r} (known: {', '.join(ARCHITECTURES)})") from None
    return make(**args)

