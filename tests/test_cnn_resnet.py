"""The residual blocks and batch norms of the ResNet of nn/cnn_models.py:
the zero-initialised last batch norm of each block and what it does at init,
and batch-norm running statistics across a checkpoint and in evaluation."""

import numpy as np
import pytest

import reference_batchnorm as ref_bn
import reference_conv as ref_conv
from nnlab.data.datasets import Dataset
from nnlab.kernels import softmax_cross_entropy
from nnlab.nn.blocks import ResidualBlock
from nnlab.nn.checkpoint import load_checkpoint, save_checkpoint, split_arrays
from nnlab.nn.cnn_models import build_cnn, resnet
from nnlab.nn.restore import cnn_model
from nnlab.nn.train_cnn import CNNConfig, CNNTrainer


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
            s = ref_conv.conv2d_forward(x.astype(np.float64), net.params[proj.key("w")].astype(
                np.float64), np.zeros(proj.c_out), proj.stride, proj.pad)
            gamma, beta = (net.params[bn.key(k)].astype(np.float64) for k in ("gamma", "beta"))
            if train:
                s, _, _ = ref_bn.batchnorm_forward_train(s, gamma, beta)
            else:
                s = ref_bn.batchnorm_forward_eval(s, gamma, beta, np.zeros(proj.c_out),
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

    save_checkpoint(tmp_path / "r.npz", *trainer.state_dict())
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
