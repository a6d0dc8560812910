"""Checkpoints written by earlier versions keep loading, resuming and sampling.

tests/data holds files made by nnlab 0.1.0 before character models had an
embedding (commit 30588cf), with the commands below; they must never be
regenerated, only added to:

- lm-v0.1.npz: ``nnlab train-charlm poem.txt --hidden 8 --layers 2
  --batch-size 4 --seq-len 16 --steps 6 --eval-every 3 --dropout 0.1``,
  poem.txt being POEM below (one-hot input, no ``embed`` anywhere);
- cnn-v0.1.npz: ``nnlab train-cnn --data tiny --arch resnet --depth 1
  --width 4 --epochs 1 --batch-size 16`` on tinydata's
  ``write_dataset(tiny, n_train=64, n_test=32)``.
"""

import json
import os
import shutil

import numpy as np
import pytest

from tinydata import write_dataset
from nnlab.nn.checkpoint import load_checkpoint
from clirun import run

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
POEM = ("to be or not to be, that is the question:\n"
        "whether tis nobler in the mind to suffer\n") * 20


def ok(result):
    assert result.exit_code == 0, result.output + str(result.exception)
    return result


@pytest.fixture
def old_lm(tmp_path):
    path = tmp_path / "lm.npz"
    shutil.copy(os.path.join(DATA, "lm-v0.1.npz"), path)
    (tmp_path / "poem.txt").write_text(POEM)
    return path


def test_old_lm_is_one_hot(old_lm):
    meta, arrays = load_checkpoint(old_lm, kind="charlm")
    assert "embed" not in meta["arch"]["args"] and "embed" not in meta["config"]
    assert "params/emb" not in arrays and arrays["params/l0.Wx"].shape == (len(set(POEM)), 32)


def test_old_lm_samples_and_evaluates(old_lm):
    a = ok(run("sample", old_lm, "--len", 40, "--seed", 3)).stdout
    assert a == ok(run("sample", old_lm, "--len", 40, "--seed", 3)).stdout
    assert len(a.rstrip("\n")) >= 40 and set(a) <= set(POEM) | {"\n"}
    metrics = json.loads(ok(run("eval", old_lm, "--json")).stdout)
    meta, _ = load_checkpoint(old_lm, kind="charlm")
    # The checkpoint's own validation figure, reproduced by today's code.
    assert metrics["loss"] == pytest.approx(meta["best_val"], rel=1e-5)


def test_old_lm_resumes_one_hot(old_lm, tmp_path):
    ok(run("train-charlm", tmp_path / "poem.txt", "--resume", old_lm, "--steps", 9))
    meta, arrays = load_checkpoint(old_lm, kind="charlm")
    assert meta["step"] == 9 and meta["config"]["embed"] == 0
    assert meta["arch"]["args"]["embed"] == 0 and "params/emb" not in arrays
    # Asking for an embedding would change the model: refused.
    result = run("train-charlm", tmp_path / "poem.txt", "--resume", old_lm, "--steps", 12,
                 "--embed", 16)
    assert result.exit_code == 2 and "embed" in result.output


def test_old_cnn_evaluates_and_resumes(tmp_path):
    data = write_dataset(tmp_path / "tiny", n_train=64, n_test=32)
    path = tmp_path / "cnn.npz"
    shutil.copy(os.path.join(DATA, "cnn-v0.1.npz"), path)
    before, _ = load_checkpoint(path, kind="cnn")
    metrics = json.loads(ok(run("eval", path, "--data", data, "--json")).stdout)
    assert metrics["accuracy"] == pytest.approx(before["metrics"]["test_accuracy"])
    ok(run("train-cnn", "--resume", path, "--data", data, "--epochs", 2))
    after, arrays = load_checkpoint(path, kind="cnn")
    assert after["epoch"] == 2 and after["step"] == 2 * before["step"]
    assert all(np.isfinite(a).all() for a in arrays.values() if a.dtype.kind == "f")


# Files written by commit ce941ad, the last one before the shared training
# core (issue 13), with an embedding and the weight average (raw/, average/):
#   lm-ce941ad.npz: nnlab train-charlm poem.txt --hidden 8 --layers 2 --embed 4
#       --batch-size 4 --seq-len 16 --steps 6 --eval-every 3
#   cnn-ce941ad.npz: nnlab train-cnn --data tiny --arch lenet5 --epochs 1 --batch-size 16
#       on write_dataset(tiny, n_train=64, n_test=32)
# and the figures that ce941ad's code reached when it resumed them (to step 9;
# to epoch 2): today's code must continue the same runs, not merely load them.
CE941AD_LM_AT_9 = {"train_loss": 3.0696029659164132, "val_loss": 3.072995690127302}
CE941AD_CNN_AT_2 = {"train_loss": 0.7507507315731183, "test_loss": 1.0079494232089348,
                    "test_accuracy": 0.75}


def test_pre_core_lm_resumes_the_same_run_and_samples(tmp_path):
    path = tmp_path / "lm.npz"
    shutil.copy(os.path.join(DATA, "lm-ce941ad.npz"), path)
    (tmp_path / "poem.txt").write_text(POEM)
    sample = ok(run("sample", path, "--len", 40, "--seed", 3)).stdout
    assert len(sample.rstrip("\n")) >= 40 and set(sample) <= set(POEM) | {"\n"}
    out = json.loads(ok(run("train-charlm", tmp_path / "poem.txt", "--resume", path,
                            "--steps", 9, "--json")).stdout)
    assert out["steps"] == 9
    for key, value in CE941AD_LM_AT_9.items():
        assert out[key] == pytest.approx(value, rel=1e-6), key


def test_pre_core_cnn_resumes_the_same_run(tmp_path):
    data = write_dataset(tmp_path / "tiny", n_train=64, n_test=32)
    path = tmp_path / "cnn.npz"
    shutil.copy(os.path.join(DATA, "cnn-ce941ad.npz"), path)
    out = json.loads(ok(run("train-cnn", "--resume", path, "--data", data, "--epochs", 2,
                            "--json")).stdout)
    assert out["epochs"] == 2
    for key, value in CE941AD_CNN_AT_2.items():
        assert out[key] == pytest.approx(value, rel=1e-6), key
