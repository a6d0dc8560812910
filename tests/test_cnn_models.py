"""The CNN architectures of nn/cnn_models.py: shapes layer by layer on 28x28
digits, exact parameter counts worked out by hand from the docstrings, a
float64 gradient check of a tiny ResNet through Sequential.forward/backward
and softmax cross-entropy (and of single residual blocks, identity and
projection), the zero-initialised last batch norm of each residual block,
batch-norm running statistics across a checkpoint, and dropout only in
training.

float64 networks
----------------
build_cnn takes no dtype: every architecture builds a float32 Sequential.
Sequential itself takes ``dtype``, so a float64 copy is
``Sequential(net.layers, net.in_shape, np.float64)`` loaded with the float32
network's parameters and buffers (``load`` copies, casting). Converting the
dicts in place is not enough on its own: a convolution without bias (all of
ResNet's) makes its zero bias in ``net.dtype``, which must say float64 too.

Numeric gradients of a whole network
------------------------------------
The loss is a smooth function of the parameters except at ReLU kinks.
Richardson-extrapolated central differences (4 D(eps) - D(2 eps)) / 3 with a
small eps = 2**-14 keep the truncation error at O(eps**4) and the rounding
noise of the ~1e-16 * |loss| forward passes near 1e-11, while the
perturbations (<= 2**-13 times a parameter's influence) stay far from
moving any ReLU input across 0 for the seeds below (a crossing would show
as a gross mismatch, not as a silent pass). Relative error < 1e-6 is
asserted above FLOOR = 1e-5, absolute error < ABS_TOL = 1e-9 below it: those
are entries that are exactly 0 analytically (e.g. weights into a channel
whose ReLU is off for the whole batch) or tiny. To keep the test fast, large
weight tensors are checked on a random subset of their entries.
"""

import numpy as np
import pytest

import reference as ref
from gradcheck import check_grad, numba_threads, numeric_grad_array
from nnlab.data.datasets import Dataset
from nnlab.kernels import softmax_cross_entropy
from nnlab.nn.blocks import ResidualBlock
from nnlab.nn.checkpoint import load_checkpoint, save_checkpoint, split_arrays
from nnlab.nn.restore import cnn_model
from nnlab.nn.cnn_models import (ARCHITECTURES, alexnet, build_cnn, lenet5,
                                  resnet)
from nnlab.nn.layers import Dropout
from nnlab.nn.model import Sequential
from nnlab.nn.train_cnn import CNNConfig, CNNTrainer



SMOOTH_EPS = 2.0 ** -14
FLOOR = 1e-5
ABS_TOL = 1e-9
FLOORED = {}


def to_float64(net):
    """A float64 copy of a built (and initialised) network: same layers,
    same parameter and buffer values."""
    net64 = Sequential(net.layers, net.in_shape, dtype=np.float64)
    net64.load(net.params, net.buffers)
    net64.rng = net.rng
    assert all(p.dtype == np.float64 for p in net64.params.values())
    assert all(g.dtype == np.float64 for g in net64.grads.values())
    return net64


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


# ================================================= residual blocks at init

@pytest.mark.parametrize("depth,width", [(1, 4), (2, 3)])
def test_last_batch_norm_of_each_block_starts_at_zero(depth, width):
    net = resnet(depth=depth, width=width, image_size=12).init(np.random.default_rng(0))
    blocks = [layer for layer in net.layers if isinstance(layer, ResidualBlock)]
    assert len(blocks) == 3 * depth
    for key, p in net.params.items():
        if key.endswith(".bn2.gamma"):
            np.testing.assert_array_equal(p, 0, err_msg=key)
        elif key.endswith("gamma"):
            np.testing.assert_array_equal(p, 1, err_msg=key)
        elif key.endswith("beta"):
            np.testing.assert_array_equal(p, 0, err_msg=key)
    assert sum(k.endswith(".bn2.gamma") for k in net.params) == 3 * depth
    for key, b in net.buffers.items():
        np.testing.assert_array_equal(b, 0 if key.endswith("mean") else 1, err_msg=key)


@pytest.mark.parametrize("train", [True, False])
def test_blocks_start_as_the_identity(train):
    """With the last batch norm's gamma and beta at 0, a block's output at
    init is relu(skip(x)): relu(x) for the identity shortcut, and the
    projection (1x1 convolution, batch norm) otherwise, computed here with
    the numpy references."""
    net = resnet(depth=2, width=3, image_size=8).init(np.random.default_rng(0))
    rng = np.random.default_rng(1)
    blocks = [layer for layer in net.layers if isinstance(layer, ResidualBlock)]
    shape = (3, 8, 8)
    for block in blocks:
        x = rng.standard_normal((4,) + shape).astype(np.float32)
        out = block.forward(net, x.copy(), train)
        if not block.skip:
            np.testing.assert_array_equal(out, np.maximum(x, 0), err_msg=block.name)
        else:
            proj, bn = block.skip
            s = ref.conv2d_forward(x.astype(np.float64), net.params[proj.key("w")].astype(
                np.float64), np.zeros(proj.c_out), proj.stride, proj.pad)
            gamma, beta = (net.params[bn.key(k)].astype(np.float64) for k in ("gamma", "beta"))
            if train:
                s, _, _ = ref.batchnorm_forward_train(s, gamma, beta)
            else:
                s = ref.batchnorm_forward_eval(s, gamma, beta, np.zeros(proj.c_out),
                                               np.ones(proj.c_out))
            np.testing.assert_allclose(out, np.maximum(s, 0), rtol=1e-5, atol=1e-5,
                                       err_msg=block.name)
        shape = block.out_shape(shape)
    assert [bool(b.skip) for b in blocks] == [False, False, True, False, True, False]


def test_at_init_the_residual_branches_get_no_gradient_but_the_last_gamma():
    """gamma = 0 blocks the gradient into a block's residual branch: its
    convolutions and first batch norm get exactly 0, while the last batch
    norm's gamma and beta (and everything on the shortcut path) learn."""
    net = resnet(depth=1, width=2, image_size=8, num_classes=3)
    net.init(np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((4, 1, 8, 8)).astype(np.float32)
    loss, dz = softmax_cross_entropy(net.forward(x, train=True), np.array([0, 1, 2, 0]))
    net.backward(dz)
    for b in ("s1b1", "s2b1", "s3b1"):
        for k in ("conv1.w", "bn1.gamma", "bn1.beta", "conv2.w"):
            np.testing.assert_array_equal(net.grads[f"{b}.{k}"], 0, err_msg=f"{b}.{k}")
        assert np.abs(net.grads[f"{b}.bn2.gamma"]).max() > 0
    for k in ("stem.w", "s2b1.proj.w", "s3b1.proj_bn.gamma", "fc.w"):
        assert np.abs(net.grads[k]).max() > 0, k


# =================================================== float64 gradient checks

def numeric_subset(f, p, idx, eps=SMOOTH_EPS):
    """Richardson-extrapolated d f / d p.flat[i] for i in idx (module docstring)."""
    flat = p.reshape(-1)
    out = np.empty(len(idx))

    def central(i, h):
        old = flat[i]
        flat[i] = old + h
        plus = f()
        flat[i] = old - h
        minus = f()
        flat[i] = old
        return (plus - minus) / (2 * h)

    with numba_threads(1):
        for n, i in enumerate(idx):
            out[n] = (4 * central(i, eps) - central(i, 2 * eps)) / 3
    return out


def check_smooth(label, analytic, numeric, abs_tol=ABS_TOL):
    small = np.abs(analytic) + np.abs(numeric) < FLOOR
    check_grad(label, analytic[~small], numeric[~small])
    if small.any():
        FLOORED[label] = FLOORED.get(label, 0) + int(small.sum())
        err = np.max(np.abs(analytic[small] - numeric[small]))
        assert err < abs_tol, f"{label}: absolute error {err:.2e} on entries below {FLOOR}"


def randomise_batch_norms(net, rng):
    """gamma away from 0 (else the residual branches carry no gradient) and
    nonzero beta, so that every parameter matters."""
    for key, p in net.params.items():
        if key.endswith("gamma"):
            p[...] = rng.uniform(0.5, 1.5, p.shape) * rng.choice([-1.0, 1.0], p.shape)
        elif key.endswith("beta"):
            p[...] = 0.3 * rng.standard_normal(p.shape)


@pytest.mark.parametrize("init", ["trained-like", "at-init"])
def test_tiny_resnet_gradcheck(init):
    """resnet(depth=1, width=2) on 8x8 images, batch 3, in float64, through
    Sequential.forward/backward and softmax cross-entropy: stage 1 has the
    identity shortcut, stages 2 and 3 a projection shortcut. "at-init" is the
    network as init leaves it (last gammas 0); "trained-like" has every
    batch norm's gamma and beta moved away from their initial values."""
    net = resnet(depth=1, width=2, image_size=8, num_classes=3)
    net.init(np.random.default_rng(0))
    net = to_float64(net)
    rng = np.random.default_rng(1)
    if init == "trained-like":
        randomise_batch_norms(net, rng)
    x = rng.standard_normal((3, 1, 8, 8))
    y = np.array([0, 2, 1])

    def loss():
        return softmax_cross_entropy(net.forward(x, train=True), y)[0]

    value, dz = softmax_cross_entropy(net.forward(x, train=True), y)
    for g in net.grads.values():
        g[...] = np.nan          # every gradient must be written by backward
    net.backward(dz)
    assert np.isfinite(value)
    # At init the identity block's last ReLU sees relu(stem) + 0 * xhat + 0:
    # exactly 0 wherever the stem's ReLU is off, a kink for its last gamma and
    # beta (any change of either moves those zeros). The loss has no
    # derivative there: backward gives the relu'(0) = 0 subgradient, a central
    # difference the mean of the two one-sided slopes (measured: -0.151 vs
    # -0.157 for one gamma entry). Those two are left to the trained-like case.
    kinked = {"s1b1.bn2.gamma", "s1b1.bn2.beta"} if init == "at-init" else set()
    pick = np.random.default_rng(2)
    for key, p in net.params.items():
        g = net.grads[key]
        assert g.dtype == np.float64 and g.shape == p.shape, key
        assert np.all(np.isfinite(g)), key
        if key in kinked:
            continue
        idx = np.arange(p.size) if p.size <= 40 else pick.choice(p.size, 40, replace=False)
        num = numeric_subset(loss, p, idx)
        check_smooth(f"resnet {key} ({init})", g.reshape(-1)[idx], num)
        if init == "at-init" and ".conv" in key and not key.startswith("stem"):
            np.testing.assert_array_equal(g, 0, err_msg=key)


def block_net(c_in, c_out, stride, size):
    block = ResidualBlock("b", c_in, c_out, stride)
    net = Sequential([block], (c_in, size, size), dtype=np.float64)
    net.init(np.random.default_rng(c_in * 10 + c_out + stride))
    return net, block


@pytest.mark.parametrize("c_in,c_out,stride", [(3, 3, 1), (2, 4, 1), (2, 3, 2), (3, 3, 2)],
                         ids=["identity", "projection-channels", "projection-stride2",
                              "projection-stride-only"])
def test_residual_block_gradcheck(c_in, c_out, stride):
    """One block alone, float64, loss sum(out * R): dx and every parameter.
    Only the (3, 3, 1) block has the identity shortcut."""
    net, block = block_net(c_in, c_out, stride, 5)
    assert bool(block.skip) == (c_in != c_out or stride != 1)
    rng = np.random.default_rng(7)
    randomise_batch_norms(net, rng)
    x = rng.standard_normal((3, c_in, 5, 5))
    out = block.forward(net, x.copy(), True)
    R = rng.standard_normal(out.shape)
    dx = block.backward(net, R)

    def f():
        return block.forward(net, x, True)

    kind = "projection" if block.skip else "identity"

    def numeric(arr):
        d1 = numeric_grad_array(f, arr, R, SMOOTH_EPS)
        d2 = numeric_grad_array(f, arr, R, 2 * SMOOTH_EPS)
        return (4 * d1 - d2) / 3

    check_smooth(f"block dx ({kind})", dx, numeric(x))
    for key, p in net.params.items():
        check_smooth(f"block {key[2:]} ({kind})", net.grads[key], numeric(p))


def test_identity_path_at_init():
    """At init the identity block is relu(x + 0): its input gradient is
    exactly the upstream gradient where x > 0 (the residual branch, whose
    last gamma is 0, adds exactly 0), in float32 and float64."""
    for dtype in (np.float32, np.float64):
        block = ResidualBlock("b", 3, 3, 1)
        net = Sequential([block], (3, 6, 6), dtype=dtype).init(np.random.default_rng(3))
        rng = np.random.default_rng(4)
        x = rng.standard_normal((2, 3, 6, 6)).astype(dtype)
        out = block.forward(net, x.copy(), True)
        np.testing.assert_array_equal(out, np.maximum(x, 0))
        R = rng.standard_normal(out.shape).astype(dtype)
        dx = block.backward(net, R)
        assert dx.dtype == dtype
        np.testing.assert_array_equal(dx, np.where(x > 0, R, 0))


# ===================================== batch-norm statistics through a checkpoint

def toy_dataset(name="mnist", n_train=32, n_test=16, size=8, seed=0):
    rng = np.random.default_rng(seed)
    classes = [str(i) for i in range(10)]

    def split(n):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 80, (n, size, size)).astype(np.uint8)
        for i, k in enumerate(y):
            x[i, k % size, :] = 250
        return x, y

    (tx, ty), (vx, vy) = split(n_train), split(n_test)
    return Dataset(name, classes, tx, ty, vx, vy)


def test_batch_norm_running_stats_survive_a_checkpoint(tmp_path):
    data = toy_dataset()
    config = CNNConfig(arch="resnet", depth=1, width=2, epochs=1, batch_size=8, limit=16,
                       warmup_steps=0, seed=3)
    trainer = CNNTrainer(config, data)
    trainer.run()
    assert trainer.step == 2
    net = trainer.model
    # Training moved the running estimates away from their initial 0 and 1.
    for key, b in net.buffers.items():
        assert not np.allclose(b, 0 if key.endswith("mean") else 1), key
    x = np.random.default_rng(9).standard_normal((5, 1, 8, 8)).astype(np.float32)
    want = net.forward(x, train=False)

    save_checkpoint(tmp_path / "r.npz", *trainer.state())
    meta, arrays = load_checkpoint(tmp_path / "r.npz", kind="cnn")
    assert set(split_arrays(arrays, "buffers")) == set(net.buffers)

    resumed = CNNTrainer.resume(meta, arrays, data, config)
    for key, b in net.buffers.items():
        np.testing.assert_array_equal(resumed.model.buffers[key], b, err_msg=key)
    np.testing.assert_array_equal(resumed.model.forward(x, train=False), want)
    assert resumed.evaluate()["loss"] == trainer.evaluate()["loss"]
    np.testing.assert_array_equal(cnn_model(meta, arrays).forward(x), want)

    # Sequential.load of the same arrays into a fresh network.
    fresh = build_cnn("resnet", meta["arch"]["args"])
    fresh.load(net.params, net.buffers)
    np.testing.assert_array_equal(fresh.forward(x, train=False), want)
    # The buffers matter: the trained weights with the initial statistics differ.
    fresh.init(np.random.default_rng(0))
    fresh.load(net.params, {k: (np.zeros_like(b) if k.endswith("mean") else np.ones_like(b))
                            for k, b in net.buffers.items()})
    assert not np.allclose(fresh.forward(x, train=False), want)
    with pytest.raises(ValueError, match="buffer s1b1.bn1.mean is missing"):
        fresh.load(net.params, {k: b for k, b in net.buffers.items() if k != "s1b1.bn1.mean"})


def test_evaluation_does_not_move_running_stats():
    net = resnet(depth=1, width=2, image_size=8).init(np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((4, 1, 8, 8)).astype(np.float32) + 3
    before = {k: b.copy() for k, b in net.buffers.items()}
    a = net.forward(x, train=False)
    assert all(np.array_equal(before[k], b) for k, b in net.buffers.items())
    net.forward(x, train=True)
    np.testing.assert_allclose(net.buffers["stem_bn.mean"],
                               0.1 * x.mean() * net.params["stem.w"].sum(axis=(1, 2, 3)),
                               rtol=0.2, atol=0.05)   # zero padding: only roughly
    assert not np.allclose(net.forward(x, train=False), a)


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
