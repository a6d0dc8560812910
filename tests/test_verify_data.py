"""data/verify.py: dataset files checked against the known checksums, the
verdict on large files cached (issue 12, item 8). The tiny datasets stand
for the real ones by patching the table of known sums."""

import dataclasses
import gzip
import hashlib
import json
import os

import pytest

from click.testing import CliRunner

from nnlab.cli.main import cli
from nnlab.data import verify
from nnlab.data.datasets import DATASETS, load_dataset

from tinydata import MNIST_FILES, write_dataset


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NNLAB_DATA", raising=False)
    for name, info in DATASETS.items():
        monkeypatch.setitem(DATASETS, name, dataclasses.replace(info, extra_dirs=()))
    return write_dataset(tmp_path / "data", n_train=32, n_test=16)


def known_as(monkeypatch, folder, name):
    sums = {role: hashlib.md5(gzip.decompress((folder / f).read_bytes())).hexdigest()
            for role, f in MNIST_FILES.items()}
    monkeypatch.setitem(DATASETS, name, dataclasses.replace(DATASETS[name], content_md5=sums))


def cache_file(tmp_path):
    return tmp_path / "cache" / "nnlab" / verify.CACHE_NAME


def test_the_known_sums_are_all_different():
    sums = verify.known_sums(DATASETS)
    assert len(sums) == 16  # 2 datasets x 4 files x (gzip file, content)


def test_unknown_files_are_used_and_said_to_be(tiny, tmp_path):
    data = load_dataset("mnist", tiny, download=False)
    assert data.verified is False
    result = CliRunner().invoke(cli, ["train-cnn", "--data", str(tiny), "--no-download",
                                      "--epochs", "1", "--out", str(tmp_path / "c.npz")])
    assert result.exit_code == 0, result.output
    assert f"from {tiny}, which are not the published mnist files" in result.stderr


def test_the_right_files_verify_gzipped_or_not(tiny, tmp_path, monkeypatch):
    known_as(monkeypatch, tiny, "mnist")
    assert load_dataset("mnist", tiny, download=False).verified is True
    raw = tmp_path / "raw"
    raw.mkdir()
    for f in MNIST_FILES.values():
        (raw / f[:-3]).write_bytes(gzip.decompress((tiny / f).read_bytes()))
    assert load_dataset("mnist", raw, download=False).verified is True
    with pytest.raises(verify.WrongDataset, match="mnist's training images, not fashion-mnist's"):
        load_dataset("fashion-mnist", raw, download=False)


def test_large_files_verdicts_are_cached_by_size_and_time(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(verify, "CACHE_MIN_BYTES", 0)
    known_as(monkeypatch, tiny, "mnist")
    assert load_dataset("mnist", tiny, download=False).verified is True
    entries = json.loads(cache_file(tmp_path).read_text())
    assert len(entries) == 4 and all(e[3].startswith("mnist/") for e in entries.values())

    def no_hashing(path, sums):
        raise AssertionError(f"{path} hashed again")

    monkeypatch.setattr(verify, "identify", no_hashing)
    assert load_dataset("mnist", tiny, download=False).verified is True
    # Another file under the same name (a new modification time): hashed again.
    labels = tiny / MNIST_FILES["train_labels"]
    os.utime(labels, ns=(0, labels.stat().st_mtime_ns + 10 ** 9))
    with pytest.raises(AssertionError, match="hashed again"):
        load_dataset("mnist", tiny, download=False)


def test_a_changed_table_of_sums_is_not_answered_from_the_cache(tiny, monkeypatch):
    monkeypatch.setattr(verify, "CACHE_MIN_BYTES", 0)
    assert load_dataset("mnist", tiny, download=False).verified is False  # cached: unknown
    known_as(monkeypatch, tiny, "fashion-mnist")
    with pytest.raises(verify.WrongDataset, match="fashion-mnist's"):
        load_dataset("mnist", tiny, download=False)


def test_a_damaged_cache_is_ignored(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(verify, "CACHE_MIN_BYTES", 0)
    cache_file(tmp_path).parent.mkdir(parents=True)
    cache_file(tmp_path).write_text("[not a mapping")
    assert load_dataset("mnist", tiny, download=False).verified is False
    assert isinstance(json.loads(cache_file(tmp_path).read_text()), dict)


def test_the_published_gzip_sums_are_recognised(tiny, monkeypatch):
    """A file whose own MD5 is a published gzip file's needs no unpacking."""
    path = tiny / MNIST_FILES["train_images"]
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    info = DATASETS["fashion-mnist"]
    files = dict(info.files, train_images=(info.files["train_images"][0], digest))
    monkeypatch.setitem(DATASETS, "fashion-mnist", dataclasses.replace(info, files=files))
    assert verify.identify(path, verify.known_sums(DATASETS)) == ("fashion-mnist", "train_images")
