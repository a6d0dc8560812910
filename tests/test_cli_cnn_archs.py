"""train-cnn with --arch resnet and --arch alexnet, --time-limit, --augment on
Fashion-MNIST, and resume checks, end to end through Click's CliRunner on
the tiny generated datasets (tiny --limit, tiny --width, one epoch)."""

import json
import shutil

import numpy as np
import pytest

from nnlab.nn.checkpoint import load_checkpoint
from clirun import assert_clean_failure, run

RESNET = ["--arch", "resnet", "--depth", 1, "--width", 4]


@pytest.fixture(autouse=True)
def _isolated(no_user_data):
    pass


def ok(result):
    """The result of a run that must succeed; an unexpected exception is
    re-raised as itself, so that its traceback shows."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result


def train(tmp_path, data, *extra, out="cnn.npz"):
    return ok(run("train-cnn", "--data", data, "--epochs", 1, "--batch-size", 32,
                  "--out", tmp_path / out, "--json", *extra))


def check_eval_reproduces(path, data, metrics):
    ev = ok(run("eval", path, "--data", data, "--json"))
    report = json.loads(ev.stdout)
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert report["loss"] == pytest.approx(metrics["test_loss"], rel=1e-5)
    assert report["examples"] == 64
    return report


def test_resnet_end_to_end(tmp_path, tiny_mnist):
    result = train(tmp_path, tiny_mnist, *RESNET, "--limit", 64)
    metrics = json.loads(result.stdout)
    # resnet(depth=1, width=4): 5,142 parameters (see test_cnn_models.py).
    assert metrics["parameters"] == 5_142
    assert "training resnet (5,142 parameters) on 64 mnist images" in result.stderr
    meta, arrays = load_checkpoint(tmp_path / "cnn.npz", kind="cnn")
    assert meta["arch"] == {"name": "resnet", "args": {
        "in_channels": 1, "num_classes": 10, "image_size": 28, "depth": 1, "width": 4,
        "first_stride": 1}}
    assert meta["step"] == 2 and meta["epoch"] == 1
    # ResNet's defaults: augmentation, label smoothing, warm-up.
    config = meta["config"]
    assert config["augment"] is True and config["label_smoothing"] == 0.1
    # Its warm-up of 300 steps is longer than these 2: shortened to a tenth, with a note.
    assert config["warmup_steps"] == 0
    assert "the default warm-up of 300 steps is longer than this run of 2 steps" in result.stderr
    # The running statistics are in the checkpoint, and moved by training.
    assert not np.allclose(arrays["buffers/stem_bn.mean"], 0)
    assert "buffers/s3b1.proj_bn.var" in arrays
    check_eval_reproduces(tmp_path / "cnn.npz", tiny_mnist, metrics)


def test_resnet_first_stride_two(tmp_path, tiny_mnist):
    """--first-stride 2 halves the image in the first stage: the same weights
    plus a 1x1 projection there (4 x 4 + 4 x 2 batch-norm values), rebuilt by
    eval and fixed on resume."""
    result = train(tmp_path, tiny_mnist, *RESNET, "--first-stride", 2, "--limit", 64)
    metrics = json.loads(result.stdout)
    assert metrics["parameters"] == 5_142 + 16 + 8
    meta, arrays = load_checkpoint(tmp_path / "cnn.npz", kind="cnn")
    assert meta["arch"]["args"]["first_stride"] == 2
    assert arrays["params/s1b1.proj.w"].shape == (4, 4, 1, 1)
    check_eval_reproduces(tmp_path / "cnn.npz", tiny_mnist, metrics)
    result = run("train-cnn", "--resume", tmp_path / "cnn.npz", "--epochs", 2,
                 "--first-stride", 1)
    assert_clean_failure(result, 2, "first-stride = 2, not 1")


def test_alexnet_end_to_end(tmp_path, tiny_mnist):
    result = train(tmp_path, tiny_mnist, "--arch", "alexnet", "--limit", 32, "--batch-size", 16,
                   "--dropout", 0.25)
    metrics = json.loads(result.stdout)
    assert metrics["parameters"] == 775_818
    meta, arrays = load_checkpoint(tmp_path / "cnn.npz", kind="cnn")
    assert meta["arch"]["name"] == "alexnet" and meta["arch"]["args"]["dropout"] == 0.25
    assert meta["config"]["augment"] is True and meta["config"]["lr"] == 1e-3
    assert meta["step"] == 2
    assert arrays["params/fc6.w"].shape == (576, 512)
    # Evaluation runs without dropout: it reproduces the reported numbers exactly.
    check_eval_reproduces(tmp_path / "cnn.npz", tiny_mnist, metrics)


TIME_LIMITED = ["--batch-size", 8, "--schedule", "constant", "--epochs", 1]


def time_limited_run(tmp_path, data, limit=0.5):
    """LeNet-5, batch 8 over the 256 images (32 steps an epoch), with a clock
    that reads 0.1 s later at every reading (one per step; see conftest's
    fake_clock): --time-limit 0.5 stops after step 5, on any machine."""
    return ok(run("train-cnn", "--data", data, *TIME_LIMITED, "--time-limit", limit,
                  "--out", tmp_path / "t.npz", "--json"))


def test_time_limit_stops_early_and_resumes(tmp_path, tiny_mnist, fake_clock):
    """--time-limit 0.5 stops inside the first epoch with a message,
    evaluates and saves a resumable checkpoint; resuming it with a limit half
    a second longer (the limit counts all the training, across resumes)
    carries on from where it stopped, with the same data order."""
    fake_clock(0.1)
    result = time_limited_run(tmp_path, tiny_mnist)
    assert "time limit of 0.5s reached in epoch 1, at step 5" in result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["epochs"] == pytest.approx(5 / 32, abs=1e-3)
    assert metrics["seconds"] == pytest.approx(0.5)
    meta, arrays = load_checkpoint(tmp_path / "t.npz", kind="cnn")
    assert meta["epoch"] == 0 and meta["step"] == 5 and meta["pos"] == 40
    assert sorted(arrays["data/perm"]) == list(range(256))
    assert meta["config"]["time_limit"] == 0.5
    assert len(meta["history"]) == 1 and meta["history"][0]["epoch"] < 1

    resumed = ok(run("train-cnn", "--resume", tmp_path / "t.npz", "--time-limit", 1.0,
                     "--json"))
    assert "resuming at epoch 1" in resumed.stderr
    assert "time limit of 1s reached in epoch 1, at step 10" in resumed.stderr
    meta2, arrays2 = load_checkpoint(tmp_path / "t.npz", kind="cnn")
    assert meta2["epoch"] == 0 and meta2["step"] == 10 and meta2["pos"] == 80
    assert meta2["seconds"] == pytest.approx(1.0)
    assert meta2["config"]["time_limit"] == 1.0
    np.testing.assert_array_equal(arrays2["data/perm"], arrays["data/perm"])
    assert len(meta2["history"]) == 2
    assert meta["history"][0]["epoch"] < meta2["history"][1]["epoch"] < 1
    assert not np.array_equal(arrays2["params/fc3.w"], arrays["params/fc3.w"])


def test_resume_with_the_time_limit_used_up(tmp_path, tiny_mnist, fake_clock):
    fake_clock(0.1)
    time_limited_run(tmp_path, tiny_mnist)
    result = run("train-cnn", "--resume", tmp_path / "t.npz", "--json")
    assert_clean_failure(result, 2, "--time-limit")


def fashion_folder(tmp_path, tiny_mnist):
    """DIR/fashion-mnist/ holding MNIST-format files under Fashion-MNIST's names
    (the same names as MNIST's)."""
    folder = tmp_path / "data" / "fashion-mnist"
    folder.mkdir(parents=True)
    for f in tiny_mnist.iterdir():
        shutil.copy(f, folder / f.name)
    return tmp_path / "data"


def test_augment_on_fashion_and_eval_shows_its_classes(tmp_path, tiny_mnist):
    data = fashion_folder(tmp_path, tiny_mnist)
    result = train(tmp_path, data, "--dataset", "fashion-mnist", "--augment", "--limit", 64)
    assert "on 64 fashion-mnist images" in result.stderr
    metrics = json.loads(result.stdout)
    meta, _ = load_checkpoint(tmp_path / "cnn.npz", kind="cnn")
    assert meta["dataset"] == "fashion-mnist" and meta["config"]["augment"] is True
    assert meta["classes"][0] == "T-shirt/top" and meta["classes"][9] == "Ankle boot"
    assert meta["data_dir"].endswith("fashion-mnist")

    ev = ok(run("eval", tmp_path / "cnn.npz", "--data", data))
    assert ev.stdout.startswith("accuracy ")
    assert "64 fashion-mnist test images" in ev.stdout
    for name in ("T-shirt/top", "Trouser", "Sneaker", "Ankle boot"):
        assert name in ev.stdout, name
    assert "9 Ankle boot" in ev.stdout                  # the confusion table's row label
    report = json.loads(ok(run("eval", tmp_path / "cnn.npz", "--json")).stdout)
    assert report["dataset"] == "fashion-mnist" and report["classes"][9] == "Ankle boot"
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"])


def test_resume_refuses_a_different_width(tmp_path, tiny_mnist):
    train(tmp_path, tiny_mnist, *RESNET, "--limit", 32)
    result = run("train-cnn", "--resume", tmp_path / "cnn.npz", "--epochs", 2, "--width", 8)
    assert_clean_failure(result, 2, "--resume", "width = 4, not 8")
    result = run("train-cnn", "--resume", tmp_path / "cnn.npz", "--epochs", 2, "--depth", 2)
    assert_clean_failure(result, 2, "depth = 1, not 2")
    # The same width, given again, is fine.
    again = ok(run("train-cnn", "--resume", tmp_path / "cnn.npz", "--epochs", 2, "--width", 4,
                   "--json"))
    assert json.loads(again.stdout)["epochs"] == 2


def test_resume_refuses_a_different_arch(tmp_path, tiny_mnist):
    train(tmp_path, tiny_mnist, "--arch", "alexnet", "--limit", 16, "--batch-size", 16)
    result = run("train-cnn", "--resume", tmp_path / "cnn.npz", "--epochs", 2, "--arch", "lenet5")
    assert_clean_failure(result, 2, "arch = 'alexnet', not 'lenet5'")


@pytest.mark.parametrize("args, fragment", [
    (["--arch", "vgg"], "--arch"),
    (["--arch", "resnet", "--width", "0"], "--width"),
    (["--arch", "resnet", "--depth", "0"], "--depth"),
    (["--arch", "resnet", "--first-stride", "3"], "--first-stride"),
    (["--arch", "alexnet", "--dropout", "1"], "--dropout"),
    (["--time-limit", "0"], "--time-limit"),
    (["--time-limit", "-1"], "--time-limit"),
])
def test_bad_arch_options_are_usage_errors(tiny_mnist, args, fragment):
    assert_clean_failure(run("train-cnn", "--data", tiny_mnist, *args), 2, fragment)
