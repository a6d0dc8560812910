"""The CNN architectures of nn/cnn_models.py: shapes layer by layer on 28x28
digits, exact parameter counts worked out by hand from the docstrings, and
dropout only in training. The ResNet's residual blocks and batch norms are in
test_cnn_resnet.py, its float64 gradient checks in test_cnn_gradcheck.py.
"""

import numpy as np
import pytest

from nnlab.nn.cnn_models import (ARCHITECTURES, alexnet, build_cnn, lenet5,
                                  resnet)
from nnlab.nn.layers import Dropout
from nnlab.nn.model import Sequential


def layer_shapes(net):
    """[(layer name, output shape of one example)] for every layer."""
    shapes, shape = [], net.in_shape
    for layer in net.layers:
        shape = layer.out_shape(shape)
        shapes.append((layer.name, shape))
    return shapes


# ================================================================= shapes

def test_alexnet_layer_shapes_on_28x28():
    """The docstring's table, layer by layer (C, H, W) for one 28x28 digit:

        conv1 32@3x3 pad 1  (32, 28, 28)   pool1 2  (32, 14, 14)
        conv2 64@3x3 pad 1  (64, 14, 14)   pool2 2  (64, 7, 7)
        conv3 96@3x3 pad 1  (96, 7, 7)
        conv4 96@3x3 pad 1  (96, 7, 7)
        conv5 64@3x3 pad 1  (64, 7, 7)     pool5 2  (64, 3, 3)   (7 // 2 = 3)
        flatten 64 * 3 * 3 = 576
        fc6 576 -> 512, fc7 512 -> 512, fc8 512 -> 10
    """
    want = [("conv1", (32, 28, 28)), ("relu1", (32, 28, 28)), ("pool1", (32, 14, 14)),
            ("conv2", (64, 14, 14)), ("relu2", (64, 14, 14)), ("pool2", (64, 7, 7)),
            ("conv3", (96, 7, 7)), ("relu3", (96, 7, 7)),
            ("conv4", (96, 7, 7)), ("relu4", (96, 7, 7)),
            ("conv5", (64, 7, 7)), ("relu5", (64, 7, 7)), ("pool5", (64, 3, 3)),
            ("flatten", (576,)),
            ("fc6", (512,)), ("relu6", (512,)), ("drop6", (512,)),
            ("fc7", (512,)), ("relu7", (512,)), ("drop7", (512,)),
            ("fc8", (10,))]
    net = alexnet()
    assert layer_shapes(net) == want
    assert net.in_shape == (1, 28, 28) and net.out_shape == (10,)


def test_lenet5_layer_shapes_on_28x28():
    """conv 6@5x5 pad 2 keeps 28, pool -> 14, conv 16@5x5 -> 10, pool -> 5:
    16 x 5 x 5 = 400 features, then 120, 84, 10."""
    want = [("conv1", (6, 28, 28)), ("relu1", (6, 28, 28)), ("pool1", (6, 14, 14)),
            ("conv2", (16, 10, 10)), ("relu2", (16, 10, 10)), ("pool2", (16, 5, 5)),
            ("flatten", (400,)), ("fc1", (120,)), ("relu3", (120,)), ("fc2", (84,)),
            ("relu4", (84,)), ("fc3", (10,))]
    assert layer_shapes(lenet5()) == want


@pytest.mark.parametrize("depth", [1, 2])
def test_resnet_layer_shapes_on_28x28(depth):
    """Stem at full resolution, stages at width, 2 width, 4 width channels on
    28, 14 and 7 pixels (3x3 stride-2 pad-1 convolutions: (28 + 2 - 3) // 2 + 1
    = 14, (14 + 2 - 3) // 2 + 1 = 7), then global pooling and the classifier."""
    w = 4
    want = [("stem", (w, 28, 28)), ("stem_bn", (w, 28, 28)), ("stem_relu", (w, 28, 28))]
    for stage, (c, s) in enumerate([(w, 28), (2 * w, 14), (4 * w, 7)]):
        want += [(f"s{stage + 1}b{b + 1}", (c, s, s)) for b in range(depth)]
    want += [("pool", (4 * w,)), ("fc", (10,))]
    assert layer_shapes(resnet(depth=depth, width=w)) == want


def test_resnet_first_stride_two_layer_shapes():
    """The first stage halves the resolution too: 28 -> 14 -> 7 -> 4."""
    w = 4
    want = [("stem", (w, 28, 28)), ("stem_bn", (w, 28, 28)), ("stem_relu", (w, 28, 28)),
            ("s1b1", (w, 14, 14)), ("s2b1", (2 * w, 7, 7)), ("s3b1", (4 * w, 4, 4)),
            ("pool", (4 * w,)), ("fc", (10,))]
    assert layer_shapes(resnet(depth=1, width=w, first_stride=2)) == want


@pytest.mark.parametrize("arch,args", [
    ("lenet5", {}), ("alexnet", {}), ("resnet", {}), ("resnet", {"depth": 1, "width": 4}),
    ("lenet5", {"num_classes": 3}), ("alexnet", {"num_classes": 7, "dropout": 0.2}),
])
def test_output_shapes_on_28x28(arch, args):
    net = build_cnn(arch, args)
    classes = args.get("num_classes", 10)
    assert net.in_shape == (1, 28, 28)
    assert net.out_shape == (classes,)
    assert all(p.dtype == np.float32 for p in net.params.values())


@pytest.mark.parametrize("arch,args", [
    ("lenet5", {}), ("alexnet", {}),
    ("resnet", {"depth": 1, "width": 4}),
])
def test_forward_on_28x28(arch, args):
    net = build_cnn(arch, args).init(np.random.default_rng(0))
    net.rng = np.random.default_rng(1)
    x = np.random.default_rng(2).standard_normal((3, 1, 28, 28)).astype(np.float32)
    for train in (True, False):
        out = net.forward(x, train=train)
        assert out.shape == (3, 10) and out.dtype == np.float32
        assert np.all(np.isfinite(out))


def test_other_input_shapes():
    """Channels, image size and classes follow the arguments; an image too
    small for the architecture fails when the network is built."""
    net = lenet5(in_channels=3, num_classes=5, image_size=32)
    assert net.out_shape == (5,) and net.params["fc1.w"].shape == (16 * 6 * 6, 120)
    net.init(np.random.default_rng(0))
    out = net.forward(np.zeros((2, 3, 32, 32), np.float32))
    assert out.shape == (2, 5)
    assert resnet(image_size=8, depth=1, width=2).out_shape == (10,)
    assert layer_shapes(resnet(image_size=8, depth=1, width=2))[-3] == ("s3b1", (8, 2, 2))
    for make in (lenet5, alexnet):
        with pytest.raises(ValueError, match="too small"):
            make(image_size=4)


def test_unknown_architecture():
    with pytest.raises(ValueError, match="vgg"):
        build_cnn("vgg", {})
    assert sorted(ARCHITECTURES) == ["alexnet", "lenet5", "resnet"]


# ======================================================= parameter counts
#
# Worked out from the docstrings (weights + biases; convolutions before a
# batch norm have no bias; a batch norm has gamma and beta per channel).

LENET5_28 = (6 * 1 * 5 * 5 + 6          # conv1:    156
             + 16 * 6 * 5 * 5 + 16      # conv2:  2,416
             + 400 * 120 + 120          # fc1:   48,120
             + 120 * 84 + 84            # fc2:   10,164
             + 84 * 10 + 10)            # fc3:      850
ALEXNET_28 = (32 * 1 * 9 + 32           # conv1:     320
              + 64 * 32 * 9 + 64        # conv2:  18,496
              + 96 * 64 * 9 + 96        # conv3:  55,392
              + 96 * 96 * 9 + 96        # conv4:  83,040
              + 64 * 96 * 9 + 64        # conv5:  55,360
              + 576 * 512 + 512         # fc6:   295,424
              + 512 * 512 + 512         # fc7:   262,656
              + 512 * 10 + 10)          # fc8:     5,130


def resnet_count(depth, width, classes=10, c_in=1):
    """Parameters and buffer values of resnet(depth, width), from the docstring."""
    bn = lambda c: 2 * c  # noqa: E731
    params = width * c_in * 9 + bn(width)                     # stem + stem_bn
    bn_channels = width
    c = width
    for channels in (width, 2 * width, 4 * width):
        for b in range(depth):
            params += channels * c * 9 + bn(channels) + channels * channels * 9 + bn(channels)
            bn_channels += 2 * channels
            if c != channels:                                  # 1x1 projection + its bn
                params += channels * c + bn(channels)
                bn_channels += channels
            c = channels
    params += c * classes + classes                            # fc
    return params, 2 * bn_channels


def test_parameter_counts():
    assert LENET5_28 == 61_706
    assert ALEXNET_28 == 775_818
    assert lenet5().num_params() == 61_706
    assert alexnet().num_params() == 775_818
    # resnet(depth=2, width=16): stem 144 + 32; stage 1: 2 x (2304 + 32 + 2304 + 32)
    # = 9,344; stage 2: 14,528 (with the 512 + 64 projection) + 18,560; stage 3:
    # 57,728 (2,048 + 128 projection) + 73,984; fc 650.
    assert resnet_count(2, 16) == (174_970, 1_120)
    assert resnet().num_params() == 174_970
    assert sum(b.size for b in resnet().buffers.values()) == 1_120
    # resnet(depth=1, width=4), as in the CLI tests: 44 + 304 + 944 + 3,680 + 170.
    assert resnet_count(1, 4) == (5_142, 2 * (4 + 8 + 24 + 48))
    net = resnet(depth=1, width=4)
    assert net.num_params() == 5_142
    assert sum(b.size for b in net.buffers.values()) == 168
    for depth, width in [(1, 2), (3, 8), (2, 5)]:
        params, buffers = resnet_count(depth, width)
        net = resnet(depth=depth, width=width)
        assert net.num_params() == params
        assert sum(b.size for b in net.buffers.values()) == buffers
    assert lenet5().buffers == {} and alexnet().buffers == {}


def test_resnet_keys_and_shapes():
    """Names of a block's arrays, and where the projections are: only in the
    first block of stages 2 and 3."""
    net = resnet(depth=2, width=4)
    assert net.params["s1b1.conv1.w"].shape == (4, 4, 3, 3)
    assert net.params["s2b1.conv1.w"].shape == (8, 4, 3, 3)
    assert net.params["s2b1.proj.w"].shape == (8, 4, 1, 1)
    assert net.params["s3b1.proj.w"].shape == (16, 8, 1, 1)
    assert net.params["fc.w"].shape == (16, 10)
    assert {k for k in net.params if "proj" in k} == {
        "s2b1.proj.w", "s2b1.proj_bn.gamma", "s2b1.proj_bn.beta",
        "s3b1.proj.w", "s3b1.proj_bn.gamma", "s3b1.proj_bn.beta"}
    assert not any(k.endswith(".b") and k != "fc.b" for k in net.params)
    assert set(net.buffers) == {k[:-len("gamma")] + s for k in net.params
                                if k.endswith("gamma") for s in ("mean", "var")}


# ================================================================= dropout

def test_dropout_only_in_training():
    net = alexnet(dropout=0.5).init(np.random.default_rng(0))
    net.rng = np.random.default_rng(5)
    x = np.random.default_rng(1).standard_normal((2, 1, 28, 28)).astype(np.float32)
    state = net.rng.bit_generator.state
    e1 = net.forward(x, train=False)
    e2 = net.forward(x, train=False)
    np.testing.assert_array_equal(e1, e2)
    assert net.rng.bit_generator.state == state       # evaluation draws nothing
    t1 = net.forward(x, train=True)
    assert net.rng.bit_generator.state != state
    t2 = net.forward(x, train=True)
    assert not np.allclose(t1, t2)                     # a new mask each pass
    net.rng.bit_generator.state = state
    np.testing.assert_array_equal(net.forward(x, train=True), t1)   # same draws, same mask
    assert not np.allclose(t1, e1)
    # Without dropout (and without batch norm) AlexNet is the same in both modes.
    plain = alexnet(dropout=0.0)
    plain.load(net.params, net.buffers)
    plain.rng = None                                   # nothing may draw
    np.testing.assert_array_equal(plain.forward(x, train=True), e1)


def test_dropout_layer_masks_and_scales():
    net = Sequential([Dropout("d", 0.25)], (4000,))
    net.rng = np.random.default_rng(0)
    x = np.random.default_rng(1).uniform(1, 2, (2, 4000)).astype(np.float32)
    out = net.forward(x, train=True)
    kept = out != 0
    assert 0.72 < kept.mean() < 0.78
    np.testing.assert_allclose(out[kept], x[kept] / 0.75, rtol=1e-6)
    dout = np.ones_like(x)
    dx = net.layers[0].backward(net, dout)
    np.testing.assert_array_equal(dx != 0, kept)
    np.testing.assert_allclose(dx[kept], 1 / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(net.forward(x, train=False), x)
    np.testing.assert_array_equal(net.layers[0].backward(net, dout), dout)
