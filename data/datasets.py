"""The image datasets nnlab knows by name, where their files are looked for,
and loading them into arrays.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

import numpy as np

from nnlab import NnlabError
from nnlab.data.download import ProgressFn, download_dataset
from nnlab.data.idx import read_idx
from nnlab.data.verify import verify_files
from nnlab.files import write_error
from nnlab.runtime import user_cache_dir

ROLES = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    # role -> (file name, MD5 of the file as its publisher serves it)
    files: Mapping[str, tuple[str, str]]
    mirrors: Sequence[str]
    classes: Sequence[str]
    # System-wide folders (e.g. from a distribution package) to look in last.
    extra_dirs: Sequence[str] = ()
    # role -> MD5 of the uncompressed IDX file, whoever compressed it (data/verify.py)
    content_md5: Mapping[str, str] = ()


@dataclass
class Dataset:
    name: str
    classes: list[str]
    train_x: np.ndarray  # uint8 (N, H, W)
    train_y: np.ndarray  # uint8 (N,)
    test_x: np.ndarray
    test_y: np.ndarray
    folder: Optional[str] = None  # where the files were found, as an absolute path
    # True: the published files (by MD5); False: files that match no known one
    verified: Optional[bool] = None


def _mnist_files(train_images, train_labels, test_images, test_labels):
    return {
        "train_images": ("train-images-idx3-ubyte.gz", train_images),
        "train_labels": ("train-labels-idx1-ubyte.gz", train_labels),
        "test_images": ("t10k-images-idx3-ubyte.gz", test_images),
        "test_labels": ("t10k-labels-idx1-ubyte.gz", test_labels),
    }


def _roles(*values):
    return dict(zip(ROLES, values))


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        name="mnist",
        files=_mnist_files(
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "d53e105ee54ea40749a09fcbcd1e9432",
            "9fb629c4189551a2d022fa330f9573f3",
            "ec29112dd5afa0611ce80d1b7f02629c",
        ),
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        classes=tuple(str(d) for d in range(10)),
        # Of the files the publisher's gzip files hold (../shared/README.md).
        content_md5=_roles("6bbc9ace898e44ae57da46a324031adb", "a25bea736e30d166cdddb491f175f624",
                           "2646ac647ad5339dbf082846283269ea", "27ae3e4e09519cfbb04c329615203637"),
    ),
    "fashion-mnist": DatasetInfo(
        name="fashion-mnist",
        files=_mnist_files(
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "25c81989df183df01b3e8a0aad5dffbe",
            "bef4ecab320f06d8554ea6380940ec79",
            "bb300cfdad3c16e7a12a480ee83cd310",
        ),
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        classes=(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ),  # fmt: skip
        # Where Debian's dataset-fashion-mnist package installs the files.
        extra_dirs=("/usr/share/datasets/fashion-mnist",),
        # Computed from that package (zalandoresearch/fashion-mnist at 55506a9).
        content_md5=_roles("f4a8712d7a061bf5bd6d2ca38dc4d50a", "9018921c3c673c538a1fc5bad174d6f9",
                           "8181f5470baa50b63fa0f6fddb340f0a", "15d484375f8d13e6eb1aabb0c3f46965"),
    ),
}


def get_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise NnlabError(f"unknown dataset {name!r} (known: {known})") from None


def cache_dir(name: str) -> Path:
    """The per-user folder downloads go to when nothing else is configured."""
    return Path(user_cache_dir()) / name


def _env_data() -> Optional[Path]:
    value = os.environ.get("NNLAB_DATA", "")
    if not value:
        return None
    path = Path(value).expanduser()
    if os.path.lexists(path) and not path.is_dir():
        # Else "put the files in $NNLAB_DATA/mnist", which cannot be done.
        raise NnlabError(f"NNLAB_DATA={value} is not a folder ({_kind(path)}); point it at a "
                         "folder, or unset it")
    return path


def _kind(path: Path) -> str:
    """What ``path`` is, when it is not a regular file or a folder."""
    if path.is_symlink() and not path.exists():
        return f"a link to {os.readlink(path)}, which does not exist"
    st = path.stat()
    for test, name in ((stat.S_ISREG, "a file"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(st.st_mode):
            return name
    return "not a regular file"


def _search_bases(info: DatasetInfo, data_dir):
    """The folders to look in, in order; lazily, so that a broken $NNLAB_DATA
    only matters when ``data_dir`` does not hold the dataset."""
    if data_dir is not None:
        yield Path(data_dir).expanduser()
    env = _env_data()
    if env is not None:
        yield env
    yield cache_dir(info.name)
    yield from (Path(d) for d in info.extra_dirs)


def _files_in(info: DatasetInfo, folder: Path) -> Optional[dict[str, Path]]:
    found = {}
    for role, (filename, _md5) in info.files.items():
        raw_name = filename[:-3] if filename.endswith(".gz") else filename
        for candidate in (folder / filename, folder / raw_name):
            if candidate.is_file():
                found.setdefault(role, candidate)
            elif os.path.lexists(candidate):
                # A folder, pipe or dangling link under a dataset file's name: "not found"
                # named none of it, and a download would have replaced it.
                raise NnlabError(f"{candidate} is not a dataset file ({_kind(candidate)}); "
                                 "remove it or put the file there")
    return found if len(found) == len(info.files) else None


def find_dataset(name: str, data_dir=None) -> Optional[dict[str, Path]]:
    """Return role -> path of the first folder holding all of the dataset's
    files, or None.

    Looks in ``data_dir``, ``$NNLAB_DATA``, the user cache folder and the
    dataset's system folders, in that order; in each, first in a subfolder
    named after the dataset, then directly. Files may be gzipped or not.
    """
    info = get_info(name)
    for base in _search_bases(info, data_dir):
        # The subfolder comes first because MNIST and Fashion-MNIST use the
        # same file names: DIR/fashion-mnist/ must win over MNIST files in DIR.
        for folder in (base / info.name, base):
            found = _files_in(info, folder)
            if found is not None:
                return found
    return None


def _download_target(name: str, data_dir=None) -> Path:
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = _env_data()
    if env is not None:
        # $NNLAB_DATA holds every dataset, and they share file names.
        return env / name
    return cache_dir(name)


def download_dir(name: str, data_dir=None) -> Path:
    """The folder a download of ``name`` goes to, created if needed:
    ``data_dir`` if given, else ``$NNLAB_DATA/<name>``, else the cache folder.
    """
    get_info(name)
    target = _download_target(name, data_dir)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise NnlabError(write_error(err, target, "create")) from None
    return target


def _file_list(info: DatasetInfo, folder: Path) -> str:
    """The dataset's files, only those ``folder`` lacks when it holds some."""
    names = [filename for filename, _md5 in info.files.values()]
    missing = [n for n in names
               if not any((folder / m).is_file() for m in (n, n.removesuffix(".gz")))]
    names = missing if 0 < len(missing) < len(names) else names
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def _locate(info: DatasetInfo, data_dir, download: bool, on_progress) -> dict[str, Path]:
    paths = find_dataset(info.name, data_dir)
    if paths is not None:
        return paths
    target = _download_target(info.name, data_dir)
    if not download:
        problem = f"{info.name} not found (downloading is off)"
    else:
        try:
            download_dataset(info, download_dir(info.name, data_dir), on_progress)
        except NnlabError as err:  # DownloadError, or the folder can't be made
            problem = f"{info.name} not found and could not be downloaded ({err})"
        else:
            paths = find_dataset(info.name, data_dir)
            if paths is not None:
                return paths
            problem = f"{info.name} was downloaded to {target} but is still not found there"
    raise NnlabError(f"{problem}; put {_file_list(info, target)} in {target} or pass --data DIR")


def _check(path: Path, arr: np.ndarray, ndim: int, what: str) -> np.ndarray:
    if arr.ndim != ndim or arr.dtype != np.uint8:
        shape = "x".join(str(d) for d in arr.shape)
        raise NnlabError(
            f"{path}: expected {what} as a {ndim}-D uint8 array, file holds {arr.dtype} of shape {shape}"
        )
    return arr


def _load_split(info: DatasetInfo, images_path: Path, labels_path: Path):
    x = _check(images_path, read_idx(images_path), 3, "images")
    y = _check(labels_path, read_idx(labels_path), 1, "labels")
    if len(x) != len(y):
        raise NnlabError(f"{images_path} has {len(x)} images but {labels_path} has {len(y)} labels")
    top = int(y.max())
    if top >= len(info.classes):
        raise NnlabError(
            f"{labels_path}: label {top} is out of range ({info.name} has {len(info.classes)} classes)"
        )
    return x, y


def load_dataset(
    name: str,
    data_dir=None,
    download: bool = True,
    on_progress: ProgressFn | None = None,
) -> Dataset:
    """Find (downloading if allowed and needed), read and validate a dataset.

    ``on_progress(filename, done_bytes, total_bytes_or_None)`` reports download
    progress. Every problem raises a one-line :class:`NnlabError`.
    """
    info = get_info(name)
    paths = _locate(info, data_dir, download, on_progress)
    train_x, train_y = _load_split(info, paths["train_images"], paths["train_labels"])
    test_x, test_y = _load_split(info, paths["test_images"], paths["test_labels"])
    if train_x.shape[1:] != test_x.shape[1:]:
        train_hw = "x".join(map(str, train_x.shape[1:]))
        test_hw = "x".join(map(str, test_x.shape[1:]))
        raise NnlabError(
            f"{paths['train_images']} has {train_hw} images but {paths['test_images']} has {test_hw}"
        )
    # After reading: a file that is not IDX at all gets read_idx's message.
    verified = verify_files(info, paths, DATASETS, user_cache_dir())
    folder = str(paths["train_images"].parent.resolve())
    return Dataset(info.name, list(info.classes), train_x, train_y, test_x, test_y, folder,
                   verified)
