"""CNN architectures by name, each built from a dict of JSON-able arguments so
that a checkpoint can rebuild the exact network it was trained with."""

from .layers import Conv2d, Flatten, Linear, MaxPool2d, ReLU
from .model import Sequential


def lenet5(in_channels=1, num_classes=10, image_size=28):
    """LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, as in the lecture:
    conv 6@5x5 pad 2, pool 2, conv 16@5x5, pool 2, fc 120, fc 84, fc classes.
    On 28x28 digits the second pooling leaves 16 x 5 x 5 = 400 features."""
    s = ((image_size + 4 - 4) // 2 - 4) // 2
    layers = [
        Conv2d("conv1", in_channels, 6, 5, pad=2), ReLU("relu1"), MaxPool2d("pool1", 2),
        Conv2d("conv2", 6, 16, 5), ReLU("relu2"), MaxPool2d("pool2", 2),
        Flatten("flatten"),
        Linear("fc1", 16 * s * s, 120), ReLU("relu3"),
        Linear("fc2", 120, 84), ReLU("relu4"),
        Linear("fc3", 84, num_classes),
    ]
    return Sequential(layers, (in_channels, image_size, image_size))


ARCHITECTURES = {"lenet5": lenet5}


def build_cnn(arch, args):
    """The network named ``arch`` built with ``args``; ValueError for an unknown name."""
    try:
        make = ARCHITECTURES[arch]
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r} (known: {', '.join(ARCHITECTURES)})") from None
    return make(**args)


def cnn_from_checkpoint(meta, arrays):
    """The trained network stored in a CNN checkpoint's (meta, arrays)."""
    from .checkpoint import CheckpointError, split_arrays

    try:
        model = build_cnn(meta["arch"]["name"], meta["arch"]["args"])
        model.load_params(split_arrays(arrays, "params"))
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"the checkpoint's network cannot be rebuilt: {e}") from None
    return model
