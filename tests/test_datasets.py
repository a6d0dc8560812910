import dataclasses
import hashlib
import socket

import numpy as np
import pytest

from nnlab import NnlabError
from nnlab.data import datasets
from nnlab.data.datasets import DATASETS, download_dir, find_dataset, load_dataset
from nnlab.data.idx import IdxError, write_idx
from tinydata import MNIST_FILES


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    # Never let a test find (or fill) the real cache or $NNLAB_DATA.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NNLAB_DATA", raising=False)
    for name, info in DATASETS.items():
        monkeypatch.setitem(DATASETS, name, dataclasses.replace(info, extra_dirs=()))


def make_dataset(folder, n_train=5, n_test=3, size=(4, 4), gz=True, skip=(), labels=None):
    """Write a tiny MNIST-shaped dataset; return its arrays by role."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n_train)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, *size), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, *size), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    arrays.update(labels or {})
    for role, arr in arrays.items():
        if role not in skip:
            name = MNIST_FILES[role] if gz else MNIST_FILES[role].removesuffix(".gz")
            write_idx(folder / name, arr)
    return arrays


def cache(tmp_path, name="mnist"):
    return tmp_path / "cache" / "nnlab" / name


def one_line_error(call, *fragments):
    with pytest.raises(NnlabError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_load_from_data_dir(tmp_path):
    arrays = make_dataset(tmp_path / "d")
    ds = load_dataset("mnist", data_dir=tmp_path / "d", download=False)
    assert ds.name == "mnist" and ds.classes == [str(i) for i in range(10)]
    np.testing.assert_array_equal(ds.train_x, arrays["train_images"])
    np.testing.assert_array_equal(ds.train_y, arrays["train_labels"])
    np.testing.assert_array_equal(ds.test_x, arrays["test_images"])
    np.testing.assert_array_equal(ds.test_y, arrays["test_labels"])
    assert ds.train_x.shape == (5, 4, 4) and ds.train_x.dtype == np.uint8


def test_fashion_classes(tmp_path):
    make_dataset(tmp_path / "d")
    ds = load_dataset("fashion-mnist", data_dir=tmp_path / "d", download=False)
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot" and len(ds.classes) == 10


def test_lookup_order(tmp_path, monkeypatch):
    make_dataset(tmp_path / "arg")
    make_dataset(tmp_path / "env")
    make_dataset(cache(tmp_path))
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path / "env"))
    assert find_dataset("mnist", tmp_path / "arg")["train_images"].parent == tmp_path / "arg"
    assert find_dataset("mnist")["train_images"].parent == tmp_path / "env"
    monkeypatch.delenv("NNLAB_DATA")
    assert find_dataset("mnist")["train_images"].parent == cache(tmp_path)
    # A --data folder without the files falls through to the others.
    assert find_dataset("mnist", tmp_path / "empty")["train_images"].parent == cache(tmp_path)


def test_home_cache_without_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME")
    make_dataset(tmp_path / "home" / ".cache" / "nnlab" / "mnist")
    assert find_dataset("mnist")["test_labels"].parent == tmp_path / "home" / ".cache" / "nnlab" / "mnist"


def test_extra_dirs_are_searched_last(tmp_path, monkeypatch):
    info = dataclasses.replace(DATASETS["fashion-mnist"], extra_dirs=(str(tmp_path / "system"),))
    monkeypatch.setitem(DATASETS, "fashion-mnist", info)
    make_dataset(tmp_path / "system")
    assert find_dataset("fashion-mnist")["train_images"].parent == tmp_path / "system"
    make_dataset(cache(tmp_path, "fashion-mnist"))
    assert find_dataset("fashion-mnist")["train_images"].parent == cache(tmp_path, "fashion-mnist")


def test_subfolder_named_after_dataset(tmp_path, monkeypatch):
    make_dataset(tmp_path / "root" / "mnist")
    assert find_dataset("mnist", tmp_path / "root")["train_images"].parent == tmp_path / "root" / "mnist"
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path / "root"))
    assert find_dataset("mnist")["train_images"].parent == tmp_path / "root" / "mnist"


def test_subfolder_wins_over_same_named_files(tmp_path):
    # MNIST files directly in DIR must not be taken for Fashion-MNIST.
    make_dataset(tmp_path / "root")
    make_dataset(tmp_path / "root" / "fashion-mnist")
    found = find_dataset("fashion-mnist", tmp_path / "root")
    assert found["train_images"].parent == tmp_path / "root" / "fashion-mnist"


def test_raw_files(tmp_path):
    arrays = make_dataset(tmp_path / "d", gz=False)
    paths = find_dataset("mnist", tmp_path / "d")
    assert paths["train_images"].name == "train-images-idx3-ubyte"
    ds = load_dataset("mnist", tmp_path / "d", download=False)
    np.testing.assert_array_equal(ds.test_x, arrays["test_images"])


def test_mixed_raw_and_gz_in_one_folder(tmp_path):
    make_dataset(tmp_path / "d", skip=("test_labels",))
    write_idx(tmp_path / "d" / "t10k-labels-idx1-ubyte", np.zeros(3, np.uint8))
    assert find_dataset("mnist", tmp_path / "d")["test_labels"].name == "t10k-labels-idx1-ubyte"


def test_incomplete_folder_is_skipped_not_mixed(tmp_path):
    make_dataset(tmp_path / "d", skip=("test_labels",))
    assert find_dataset("mnist", tmp_path / "d") is None
    make_dataset(cache(tmp_path))
    paths = find_dataset("mnist", tmp_path / "d")
    assert {p.parent for p in paths.values()} == {cache(tmp_path)}


def test_image_label_count_mismatch(tmp_path):
    make_dataset(tmp_path / "d", labels={"train_labels": np.zeros(4, np.uint8)})
    one_line_error(
        lambda: load_dataset("mnist", tmp_path / "d", download=False),
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "5 images", "4 labels",
    )  # fmt: skip


def test_label_out_of_range(tmp_path):
    make_dataset(tmp_path / "d", labels={"test_labels": np.array([1, 10, 3], np.uint8)})
    load = lambda: load_dataset("mnist", tmp_path / "d", download=False)  # noqa: E731
    one_line_error(load, "t10k-labels-idx1-ubyte.gz", "label 10")


def test_images_must_be_3d_uint8(tmp_path):
    make_dataset(tmp_path / "d")
    write_idx(tmp_path / "d" / MNIST_FILES["train_images"], np.zeros((5, 16), np.uint8))
    one_line_error(lambda: load_dataset("mnist", tmp_path / "d", download=False), "train-images", "3-D")
    make_dataset(tmp_path / "d")
    write_idx(tmp_path / "d" / MNIST_FILES["test_labels"], np.zeros(3, np.int16))
    one_line_error(lambda: load_dataset("mnist", tmp_path / "d", download=False), "t10k-labels", "int16")


def test_train_test_image_size_mismatch(tmp_path):
    make_dataset(tmp_path / "d")
    write_idx(tmp_path / "d" / MNIST_FILES["test_images"], np.zeros((3, 5, 5), np.uint8))
    one_line_error(lambda: load_dataset("mnist", tmp_path / "d", download=False), "4x4", "5x5")


def test_corrupt_file_is_reported(tmp_path):
    make_dataset(tmp_path / "d")
    path = tmp_path / "d" / MNIST_FILES["train_labels"]
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(IdxError, match="train-labels-idx1-ubyte.gz"):
        load_dataset("mnist", tmp_path / "d", download=False)


def test_unknown_name():
    for call in (lambda: load_dataset("cifar"), lambda: find_dataset("cifar"), lambda: download_dir("cifar")):
        one_line_error(call, "cifar", "mnist", "fashion-mnist")


def unused_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_offline_message(tmp_path, monkeypatch):
    mirror = f"http://127.0.0.1:{unused_port()}/"
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(DATASETS["mnist"], mirrors=[mirror]))
    message = one_line_error(
        lambda: load_dataset("mnist"),
        "could not be downloaded", "refused", str(cache(tmp_path)), "--data DIR", *MNIST_FILES.values(),
    )  # fmt: skip
    assert message.startswith("mnist not found")
    assert list(cache(tmp_path).iterdir()) == []


def test_download_off_message_creates_nothing(tmp_path, monkeypatch):
    # Must fail without trying the network; this mirror would not answer anyway.
    info = dataclasses.replace(DATASETS["mnist"], mirrors=["http://bad.invalid/"])
    monkeypatch.setitem(DATASETS, "mnist", info)
    one_line_error(lambda: load_dataset("mnist", download=False), str(cache(tmp_path)), *MNIST_FILES.values())
    assert not (tmp_path / "cache").exists()
    one_line_error(lambda: load_dataset("mnist", tmp_path / "d", download=False), str(tmp_path / "d"))


def md5_of(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_download_then_load(tmp_path, monkeypatch):
    src = tmp_path / "mirror"
    arrays = make_dataset(src)
    files = {role: (name, md5_of(src / name)) for role, name in MNIST_FILES.items()}
    info = dataclasses.replace(DATASETS["mnist"], files=files, mirrors=[src.as_uri() + "/"])
    monkeypatch.setitem(DATASETS, "mnist", info)
    seen = set()
    ds = load_dataset("mnist", on_progress=lambda name, done, total: seen.add(name))
    assert seen == set(MNIST_FILES.values())
    np.testing.assert_array_equal(ds.train_x, arrays["train_images"])
    assert sorted(p.name for p in cache(tmp_path).iterdir()) == sorted(MNIST_FILES.values())


def test_download_dir(tmp_path, monkeypatch):
    assert download_dir("mnist") == cache(tmp_path) and cache(tmp_path).is_dir()
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path / "env"))
    # Datasets share file names, so each gets its own folder under $NNLAB_DATA.
    assert download_dir("fashion-mnist") == tmp_path / "env" / "fashion-mnist"
    assert download_dir("mnist", tmp_path / "arg") == tmp_path / "arg" and (tmp_path / "arg").is_dir()


def test_download_dir_cannot_be_created(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    one_line_error(lambda: download_dir("mnist", tmp_path / "file" / "sub"), "cannot create")
    bad = tmp_path / "file" / "sub"
    one_line_error(lambda: load_dataset("mnist", bad), "could not be downloaded", "cannot create")


def test_registry():
    for info in DATASETS.values():
        assert set(info.files) == set(datasets.ROLES)
        assert [f for f, _ in info.files.values()] == list(MNIST_FILES.values())
        assert all(len(m) == 32 for _, m in info.files.values())
        assert len(info.classes) == 10 and info.mirrors
