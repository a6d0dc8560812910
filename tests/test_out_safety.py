"""--out never destroys a user's file (issue 12).

In a throwaway folder: --out on the training text, on notes, on an IDX data
file is refused before training, with every file left as it was; --force
replaces a regular file that is not a checkpoint; a symbolic link is written
through to its target. The refusals of devices, FIFOs and folders are rows
of tests/test_hostile_inputs.py and tests of the writer in
tests/test_atomic_write.py.
"""

import hashlib
import os

import pytest

from clirun import run
from tinydata import MNIST_FILES, write_dataset

# The prefix S, and a one-epoch CNN run on a tiny dataset.
S = ("--hidden", "16", "--layers", "1", "--seq-len", "16", "--batch-size", "4", "--steps", "3")
TEXT = "hello world, hello there\n" * 40


def contents(folder):
    """{relative path: sha256} of every file under ``folder``."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return out


@pytest.fixture
def folder(tmp_path, monkeypatch, no_user_data):
    (tmp_path / "a.txt").write_text(TEXT)
    (tmp_path / "notes.md").write_text("# a year of notes\n")
    write_dataset(tmp_path / "data", n_train=64, n_test=32)
    monkeypatch.chdir(tmp_path)
    return tmp_path


CNN = ("train-cnn", "--data", "data", "--no-download", "--epochs", "1", "--batch-size", "32")


@pytest.mark.parametrize("argv", [
    ("train-charlm", "a.txt", *S, "--out", "a.txt"),
    ("train-charlm", "a.txt", *S, "--out", "notes.md"),
    ("train-cnn", *CNN[1:], "--out", "notes.md"),
    ("train-cnn", *CNN[1:], "--out", f"data/{MNIST_FILES['train_images']}"),
], ids=["charlm-out-is-the-text", "charlm-out-is-notes", "cnn-out-is-notes", "cnn-out-is-idx"])
def test_out_over_a_file_that_is_not_a_checkpoint_is_refused(folder, argv):
    before = contents(folder)
    result = run(*argv)
    assert result.exit_code == 2, result.output
    assert "not an nnlab checkpoint" in result.stderr and "--force" in result.stderr
    assert "training" not in result.stderr  # refused before training started
    assert contents(folder) == before  # unchanged, and nothing new


def test_force_replaces_a_regular_file(folder):
    result = run(*CNN, "--out", "notes.md", "--force")
    assert result.exit_code == 0, result.output
    assert (folder / "notes.md").read_bytes()[:4] == b"PK\x03\x04"


def test_force_replaces_a_regular_file_charlm(folder):
    result = run("train-charlm", "a.txt", *S, "--out", "notes.md", "--force")
    assert result.exit_code == 0, result.output
    assert (folder / "notes.md").read_bytes()[:4] == b"PK\x03\x04"


@pytest.mark.parametrize("argv", [CNN, ("train-charlm", "a.txt", *S)], ids=["cnn", "charlm"])
def test_out_through_a_symlink_replaces_its_target(folder, argv):
    (folder / "runs").mkdir()
    os.symlink("runs/model.npz", folder / "model.npz")  # dangling until the first save
    for _ in range(2):  # the first save creates the target, the second replaces it
        result = run(*argv, "--out", "model.npz")
        assert result.exit_code == 0, result.output
    assert os.readlink(folder / "model.npz") == "runs/model.npz"
    assert (folder / "runs" / "model.npz").read_bytes()[:4] == b"PK\x03\x04"
    assert not [n for n in os.listdir(folder / "runs") if n.endswith(".tmp")]


def test_resume_does_not_check_the_unused_default_out(folder):
    """--resume writes to the resumed file: a cnn.npz of someone else's in the
    folder, the --out default, is neither checked nor touched."""
    assert run(*CNN, "--out", "run.npz").exit_code == 0
    (folder / "cnn.npz").write_text("not mine to replace")
    result = run("train-cnn", "--resume", "run.npz", "--data", "data", "--no-download",
                    "--epochs", "2")
    assert result.exit_code == 0, result.output
    assert (folder / "cnn.npz").read_text() == "not mine to replace"
