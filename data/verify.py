"""Whether a dataset's files are the ones its name says.

``train-cnn --dataset fashion-mnist --data DIR`` with MNIST in DIR trained
on digits and reported them under Fashion-MNIST's class names: the two use
the same file names and the same format. The known datasets' files have
known checksums: the MD5 of each gzip file as its publisher serves it, and
the MD5 of the IDX content inside, which is the same whatever compressed
it (a re-packed copy such as Debian's, or a file unpacked by hand). A file
whose checksum is that of another dataset's file, or of another file of the
same dataset (test images under the training images' name), is refused; a
file that matches none (the user's own data in the same format) is used,
and the command says so.

Hashing a 47 MB file takes a few tenths of a second, so the verdicts on
large files are cached in the user's cache folder, keyed by the file's
path, size and modification time and by the table of known sums itself.
"""

import gzip
import hashlib
import json
import os
import tempfile
import zlib

from nnlab import NnlabError

CACHE_NAME = "verified.json"
CACHE_MIN_BYTES = 1 << 20  # smaller files are hashed each time: as quick as reading the cache
MAX_CACHE_BYTES = 1 << 20  # a cache file larger than this is not ours to trust
MAX_ENTRIES = 64
CHUNK = 1 << 20
ROLE_TEXT = {"train_images": "training images", "train_labels": "training labels",
             "test_images": "test images", "test_labels": "test labels"}


class WrongDataset(NnlabError):
    """A file that is, by its checksum, another known file than its name says."""


def known_sums(datasets):
    """{MD5: (dataset name, role)} of every known file, compressed or not."""
    sums = {}
    for name, info in datasets.items():
        for role, (_filename, md5) in info.files.items():
            sums[md5] = (name, role)
        for role, md5 in info.content_md5.items():
            sums[md5] = (name, role)
    return sums


def _md5(path, unzip):
    digest = hashlib.md5()
    with (gzip.open if unzip else open)(path, "rb") as f:
        for piece in iter(lambda: f.read(CHUNK), b""):
            digest.update(piece)
    return digest.hexdigest()


def identify(path, sums):
    """(dataset, role) of the known file that ``path`` is, or None."""
    try:
        found = sums.get(_md5(path, False))
        if found is None:
            with open(path, "rb") as f:
                if f.read(2) == b"\x1f\x8b":
                    found = sums.get(_md5(path, True))
    except (OSError, EOFError, zlib.error):
        return None  # read_idx, which read it first, reports what is wrong with it
    return found


def _tag(sums):
    return hashlib.md5(json.dumps(sorted(sums.items())).encode()).hexdigest()[:12]


def _read_cache(path):
    try:
        with open(path, "rb") as f:
            blob = f.read(MAX_CACHE_BYTES + 1)
        cache = json.loads(blob) if len(blob) <= MAX_CACHE_BYTES else {}
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _write_cache(path, cache):
    """Atomically, and silently not at all when the folder cannot be written."""
    folder, tmp = os.path.dirname(path), None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{CACHE_NAME}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "w") as f:
            json.dump(dict(list(cache.items())[-MAX_ENTRIES:]), f)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _verdict(path, sums, cache, tag):
    """(verdict, changed): "name/role" or "" for an unknown file."""
    st = os.stat(path)
    key, stamp = os.path.realpath(path), [st.st_size, st.st_mtime_ns, tag]
    entry = cache.get(key)
    if isinstance(entry, list) and len(entry) == 4 and entry[:3] == stamp:
        return entry[3], False
    found = identify(path, sums)
    verdict = "/".join(found) if found else ""
    if st.st_size < CACHE_MIN_BYTES:
        return verdict, False
    cache.pop(key, None)
    cache[key] = stamp + [verdict]
    return verdict, True


def verify_files(info, paths, datasets, cache_folder):
    """True when every file of ``paths`` (role -> path) is the published one
    of ``info``'s dataset for its role, False when some match no known file;
    raises WrongDataset when one is another known file."""
    sums = known_sums(datasets)
    tag, cache_path = _tag(sums), os.path.join(cache_folder, CACHE_NAME)
    cache, changed, verified = _read_cache(cache_path), False, True
    for role, path in paths.items():
        verdict, new = _verdict(path, sums, cache, tag)
        changed = changed or new
        if not verdict:
            verified = False
            continue
        name, found = verdict.split("/")
        if (name, found) != (info.name, role):
            if changed:
                _write_cache(cache_path, cache)
            fix = (f"give --dataset {name}, or put the {info.name} files in "
                   f"{os.path.join(os.path.dirname(path), info.name)}" if name != info.name
                   else "give each file its own name")
            raise WrongDataset(f"{path} holds {name}'s {ROLE_TEXT.get(found, found)}, not "
                               f"{info.name}'s {ROLE_TEXT[role]} (by its MD5 checksum); {fix}")
    if changed:
        _write_cache(cache_path, cache)
    return verified
