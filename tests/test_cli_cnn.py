"""train-cnn and eval end to end, on tiny generated data, through Click's CliRunner."""

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from nnlab.nn.checkpoint import load_checkpoint, save_checkpoint
from clirun import assert_clean_failure, run


@pytest.fixture(autouse=True)
def _isolated(no_user_data):
    pass


def train(tmp_path, data, *extra, out="cnn.npz"):
    return run("train-cnn", "--data", data, "--epochs", 1, "--batch-size", 32,
               "--out", tmp_path / out, "--json", *extra)


def test_train_then_eval_json(tmp_path, tiny_mnist):
    result = train(tmp_path, tiny_mnist)
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert set(metrics) >= {"test_accuracy", "seconds", "checkpoint", "test_loss", "train_loss"}
    assert metrics["checkpoint"] == str(tmp_path / "cnn.npz")
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert "epoch 1" in result.stderr  # the per-epoch summary line

    meta, arrays = load_checkpoint(tmp_path / "cnn.npz", kind="cnn")
    assert meta["arch"]["name"] == "lenet5" and meta["epoch"] == 1
    assert {"mean", "std"} <= set(meta["normalize"])
    assert "params/conv1.w" in arrays and "opt/m/conv1.w" in arrays

    ev = run("eval", tmp_path / "cnn.npz", "--data", tiny_mnist, "--json")
    assert ev.exit_code == 0, ev.output
    report = json.loads(ev.stdout)
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert report["loss"] == pytest.approx(metrics["test_loss"], rel=1e-5)
    confusion = np.array(report["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 64
    assert np.trace(confusion) / 64 == pytest.approx(report["accuracy"])


def test_eval_tables_and_remembered_data_folder(tmp_path, tiny_mnist):
    assert train(tmp_path, tiny_mnist).exit_code == 0
    # No --data: the checkpoint remembers where the training data was found.
    ev = run("eval", tmp_path / "cnn.npz")
    assert ev.exit_code == 0, ev.output
    assert ev.stdout.startswith("accuracy ")
    assert "precision" in ev.stdout and "recall" in ev.stdout and "confusion" in ev.stdout


def test_eval_shows_the_most_confident_mistakes(tmp_path, tiny_mnist):
    assert train(tmp_path, tiny_mnist).exit_code == 0
    ev = run("eval", tmp_path / "cnn.npz", "--json", "--show-errors", 3)
    assert ev.exit_code == 0, ev.output
    report = json.loads(ev.stdout)
    confusion = np.array(report["confusion"])
    wrong = int(confusion.sum() - np.trace(confusion))
    errors = report["errors"]
    assert len(errors) == min(3, wrong) and "_images" not in report
    probabilities = [e["probability"] for e in errors]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(e["true"] != e["predicted"] and 0.1 <= e["probability"] <= 1 for e in errors)
    # Every shown mistake is one the confusion matrix counts.
    for e in errors:
        assert confusion[int(e["true"]), int(e["predicted"])] >= 1
    text = run("eval", tmp_path / "cnn.npz", "--show-errors", 1).stdout
    if wrong:  # one 28x28 image, 14 lines of ASCII under its line
        lines = text.splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith("test image "))
        assert "taken for" in lines[at] and len(lines) - at - 1 == 14


def test_learns_the_toy_digits(tmp_path, tiny_mnist):
    result = run("train-cnn", "--data", tiny_mnist, "--epochs", 6, "--batch-size", 16,
                 "--out", tmp_path / "cnn.npz", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["test_accuracy"] >= 0.9


def test_human_output_goes_to_stdout_progress_to_stderr(tmp_path, tiny_mnist):
    result = run("train-cnn", "--data", tiny_mnist, "--epochs", 1, "--out", tmp_path / "c.npz")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("test accuracy ")
    assert "checkpoint" in result.stdout
    assert "epoch 1" in result.stderr and "epoch 1" not in result.stdout


def test_seed_makes_runs_repeatable(tmp_path, tiny_mnist):
    for out in ("a.npz", "b.npz"):
        assert train(tmp_path, tiny_mnist, "--seed", 7, out=out).exit_code == 0
    _, a = load_checkpoint(tmp_path / "a.npz")
    _, b = load_checkpoint(tmp_path / "b.npz")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert train(tmp_path, tiny_mnist, "--seed", 8, out="c.npz").exit_code == 0
    _, c = load_checkpoint(tmp_path / "c.npz")
    assert not np.array_equal(a["params/conv1.w"], c["params/conv1.w"])


def test_limit_trains_on_the_first_examples(tmp_path, tiny_mnist):
    result = train(tmp_path, tiny_mnist, "--limit", 40)
    assert result.exit_code == 0, result.output
    assert "on 40 mnist images" in result.stderr
    meta, _ = load_checkpoint(tmp_path / "cnn.npz")
    assert meta["step"] == 2  # 40 examples in batches of 32


def test_resume_matches_an_uninterrupted_run(tmp_path, tiny_mnist):
    # With a constant learning rate the schedule does not depend on the total
    # number of epochs, so 1 epoch + 1 resumed epoch must equal 2 epochs exactly.
    common = ["--data", tiny_mnist, "--batch-size", 32, "--schedule", "constant", "--json"]
    whole = run("train-cnn", *common, "--epochs", 2, "--out", tmp_path / "whole.npz")
    assert whole.exit_code == 0, whole.output
    assert run("train-cnn", *common, "--epochs", 1, "--out", tmp_path / "part.npz").exit_code == 0
    resumed = run("train-cnn", "--resume", tmp_path / "part.npz", "--epochs", 2, "--json")
    assert resumed.exit_code == 0, resumed.output
    assert "resuming at epoch 2" in resumed.stderr
    # Without --out, resuming writes back to the checkpoint it started from.
    assert json.loads(resumed.stdout)["checkpoint"] == str(tmp_path / "part.npz")
    meta_w, whole_arrays = load_checkpoint(tmp_path / "whole.npz")
    meta_r, resumed_arrays = load_checkpoint(tmp_path / "part.npz")
    assert meta_r["epoch"] == 2 and meta_r["step"] == meta_w["step"]
    assert sorted(whole_arrays) == sorted(resumed_arrays)
    for k in whole_arrays:
        assert np.array_equal(whole_arrays[k], resumed_arrays[k]), k
    assert [h["train_loss"] for h in meta_r["history"]] == [
        h["train_loss"] for h in meta_w["history"]]
    assert json.loads(resumed.stdout)["test_accuracy"] == json.loads(whole.stdout)["test_accuracy"]


def test_resume_refuses_contradicting_options(tmp_path, tiny_mnist):
    assert train(tmp_path, tiny_mnist).exit_code == 0
    result = run("train-cnn", "--resume", tmp_path / "cnn.npz", "--epochs", 2,
                 "--batch-size", 8)
    assert_clean_failure(result, 2, "batch-size", "32")
    done = run("train-cnn", "--resume", tmp_path / "cnn.npz")
    assert_clean_failure(done, 2, "already holds 1 epoch;", "--epochs")


@pytest.mark.parametrize("args, fragment", [
    (["--epochs", "0"], "--epochs"),
    (["--batch-size", "0"], "--batch-size"),
    (["--lr", "-1"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--lr", "abc"], "--lr"),
    (["--optimizer", "rmsprop"], "--optimizer"),
    (["--out", "/nonexistent-folder/cnn.npz"], "does not exist"),
])
def test_bad_options_are_usage_errors(tmp_path, tiny_mnist, args, fragment):
    result = run("train-cnn", "--data", tiny_mnist, *args)
    assert_clean_failure(result, 2, fragment)


def test_missing_dataset_says_which_files_to_put_where(tmp_path):
    result = run("train-cnn", "--data", tmp_path / "empty", "--no-download")
    message = assert_clean_failure(result, 1, "train-images-idx3-ubyte.gz",
                                   "t10k-labels-idx1-ubyte.gz", str(tmp_path / "empty"))
    assert "--data" in message


@pytest.mark.parametrize("damage", ["truncate", "garbage", "bad_magic"])
def test_corrupt_idx_file_is_named(tmp_path, tiny_mnist, damage):
    folder = tmp_path / "data"
    folder.mkdir()
    for f in tiny_mnist.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    target = folder / "train-images-idx3-ubyte.gz"
    blob = target.read_bytes()
    if damage == "truncate":
        target.write_bytes(blob[:len(blob) // 2])
    elif damage == "garbage":
        target.write_bytes(b"\x1f\x8b" + os.urandom(200))
    else:
        import gzip
        target.write_bytes(gzip.compress(b"\x00\x00\x08\x07" + bytes(100)))
    result = run("train-cnn", "--data", folder, "--no-download")
    assert_clean_failure(result, 1, "train-images-idx3-ubyte.gz")


def test_limit_beyond_the_dataset(tmp_path, tiny_mnist):
    result = train(tmp_path, tiny_mnist, "--limit", 100000)
    assert_clean_failure(result, 1, "--limit", "256")


def test_eval_bad_checkpoints(tmp_path, tiny_mnist):
    assert_clean_failure(run("eval", tmp_path / "missing.npz"), 1, "missing.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    assert_clean_failure(run("eval", tmp_path / "text.npz"), 1, "text.npz")
    assert train(tmp_path, tiny_mnist).exit_code == 0
    blob = (tmp_path / "cnn.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(blob[: len(blob) // 2])
    assert_clean_failure(run("eval", tmp_path / "cut.npz"), 1, "cut.npz")
    with zipfile.ZipFile(tmp_path / "plain.npz", "w") as z:
        z.writestr("a.npy", b"junk")
    assert_clean_failure(run("eval", tmp_path / "plain.npz"), 1, "plain.npz")


def test_checkpoint_of_the_wrong_kind(tmp_path, tiny_mnist):
    save_checkpoint(tmp_path / "lm.npz", {"kind": "mystery", "arch": {}}, {"x": np.zeros(3)})
    assert_clean_failure(run("eval", tmp_path / "lm.npz"), 1, "mystery")
    result = run("train-cnn", "--resume", tmp_path / "lm.npz", "--data", tiny_mnist)
    assert_clean_failure(result, 1, "cnn")


def test_help_starts_without_numpy_or_numba():
    code = ("import sys; from click.testing import CliRunner; from nnlab.cli.main import cli; "
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0, r.output; "
            "assert 'train-cnn' in r.output; "
            "print(sorted(m for m in ('numpy', 'numba', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
