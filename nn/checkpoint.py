"""Checkpoints: one ``.npz`` file of arrays plus a JSON metadata entry.

The metadata says what the file is (format, version, kind) and everything
needed to rebuild and resume a run; the arrays are the weights and the
optimizer and data-order state. Files are written to a temporary file in the
same folder and moved into place with ``os.replace``, so a crash or a full
disk mid-write leaves the previous checkpoint as it was; and only over an
absent path or an earlier checkpoint (nn/target.py), never over a device or
someone's notes. Reading never unpickles anything, and never takes more
memory than the zip directory declares and the machine has.
"""

import json
import os
import stat
import time
import zipfile

import numpy as np

from nnlab import NnlabError, __version__
from nnlab import memory
from nnlab.files import atomic_write, reading, reason

from .target import file_kind, output_target

FORMAT = "nnlab-checkpoint"
VERSION = 1
META_KEY = "__meta__"
# Metadata larger than this is not an nnlab checkpoint's (a 1.1M-character
# vocabulary and thousands of validations take a few MB).
MAX_META = 64 << 20


class CheckpointError(NnlabError):
    """A checkpoint that cannot be read, or is not the kind asked for."""


def save_checkpoint(path, meta, arrays, force=False):
    """Writes ``arrays`` ({name: ndarray}) and ``meta`` (a JSON-able dict) to
    ``path`` atomically, through a symbolic link to its target. Raises
    TargetError rather than replace anything but an empty file or an nnlab
    checkpoint (with ``force``: any regular file, never a folder, a device or
    a pipe); the commands check first, and this is the last line of defence."""
    path = os.fspath(path)
    meta = dict(meta, format=FORMAT, version=VERSION, nnlab_version=__version__)
    blob = np.frombuffer(json.dumps(meta, allow_nan=False).encode("utf-8"), np.uint8)
    real = check_output(path, force)
    folder, name = os.path.split(real)
    _remove_stale_temps(folder, name)
    atomic_write(real, lambda f: np.savez(f, **{META_KEY: blob}, **arrays))
    return path


def check_output(path, force=False):
    """The real path a checkpoint for ``path`` goes to; TargetError when
    writing there would replace a folder, a device or a file not ours."""
    return output_target(path, is_checkpoint, force)


def is_checkpoint(path):
    """True when the regular file ``path`` is an nnlab checkpoint, from its
    zip directory and metadata alone: no array is read."""
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                return False
            f.seek(0)
            with zipfile.ZipFile(f) as archive:
                info = archive.getinfo(META_KEY + ".npy")
                if info.file_size > MAX_META:
                    return False
                with archive.open(info) as member:
                    blob = _read_npy(member, info.file_size)
        meta = json.loads(blob.tobytes().decode("utf-8"))
    except Exception:  # noqa: BLE001 - unreadable or damaged in any way: not one we can vouch for
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def _remove_stale_temps(folder, name, age=600):
    """Deletes the temporary files of writes of ``name`` that were killed
    (SIGKILL, power loss) more than ``age`` seconds ago; a younger one may
    belong to a write still running in another process."""
    prefix = f".{name}."
    now = time.time()
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        if entry.startswith(prefix) and entry.endswith(".tmp"):
            full = os.path.join(folder, entry)
            try:
                if now - os.path.getmtime(full) > age:
                    os.unlink(full)
            except OSError:
                pass


def load_checkpoint(path, kind=None):
    """(meta, arrays) from ``path``. Raises CheckpointError with a one-line
    reason for anything that is not a readable nnlab checkpoint of ``kind``."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise CheckpointError(f"{path} is a folder, not a checkpoint")
    with reading(path, CheckpointError, "checkpoint"):
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            # Before open(): opening a FIFO waits for a writer, and zipfile
            # reads /dev/zero to its (missing) end.
            raise CheckpointError(f"{path} is {file_kind(mode)}, not a checkpoint file")
        with open(path, "rb") as f:
            arrays = _read_npz(path, f)
    if META_KEY not in arrays:
        raise CheckpointError(f"{path} is not an nnlab checkpoint (no metadata)")
    meta = _parse_meta(path, arrays.pop(META_KEY))
    if kind is not None and meta.get("kind") != kind:
        raise CheckpointError(
            f"{path} is a {meta.get('kind')} checkpoint, but this needs a {kind} checkpoint")
    return meta, arrays


def _read_npz(path, f):
    """The arrays of an .npz archive, each .npy header checked against the
    size of its member before anything is allocated, and no object arrays."""
    damaged = f"{path} is damaged or not an nnlab checkpoint"
    try:
        archive = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError):
        # NotImplementedError: a directory claiming a zip version from the future
        raise CheckpointError(f"{path} is not an nnlab checkpoint (not an .npz file)") from None
    arrays = {}
    with archive:
        _check_fits(path, archive.infolist())
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                raise CheckpointError(f"{damaged} (unexpected member {info.filename!r})")
            name = info.filename[:-4]
            # A damaged directory can hold any bytes, a newline too: such a
            # name is shown escaped, so that the message stays one line.
            shown = name if name.isprintable() else repr(name)
            if name in arrays:
                # A zip may hold a name twice, and readers disagree on which copy
                # counts (zipfile: the last): such a file has no one meaning.
                raise CheckpointError(f"{damaged} (member {info.filename!r} appears twice)")
            try:
                with archive.open(info) as member:
                    arrays[name] = _read_npy(member, info.file_size)
            except CheckpointError as e:
                raise CheckpointError(f"{damaged} ({shown}: {e})") from None
            except OSError:
                raise
            except Exception as e:  # noqa: BLE001 - any parse failure means damage
                # zipfile and numpy raise a dozen types for a damaged member
                # (BadZipFile, NotImplementedError, ValueError, tokenize errors...).
                raise CheckpointError(f"{damaged} ({shown}: {reason(e)})") from None
    return arrays


def _check_fits(path, infos):
    """Refuses an archive whose members, as its directory declares them, would
    not fit in the memory available: each array is read, then copied."""
    sizes = [info.file_size for info in infos]
    need = sum(sizes) + max(sizes, default=0)
    have = memory.available_memory()
    if have is not None and need > have:
        raise CheckpointError(
            f"{path} declares {memory.size_text(sum(sizes))} of arrays, more than the "
            f"{memory.size_text(have)} of memory available; free memory or use another machine")


def _read_npy(member, size):
    fmt = np.lib.format
    version = fmt.read_magic(member)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, fortran, dtype = fmt.read_array_header_2_0(member)
    else:
        raise CheckpointError(f"unknown .npy format version {version}")
    if dtype.hasobject:
        raise CheckpointError("holds Python objects, which nnlab never loads")
    count = 1
    for n in shape:
        count *= int(n)  # Python ints: a forged shape cannot overflow
    nbytes = count * dtype.itemsize
    if nbytes > size:
        raise CheckpointError(f"its header claims {nbytes:,} bytes, more than the file holds")
    data = member.read(nbytes)
    if len(data) != nbytes:
        raise CheckpointError("truncated")
    array = np.frombuffer(data, dtype=dtype, count=count).copy()
    return array.reshape(shape, order="F" if fortran else "C")


def _parse_meta(path, blob):
    if blob.dtype != np.uint8 or blob.ndim != 1:
        raise CheckpointError(f"{path} has malformed metadata")
    try:
        meta = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: arrays nested thousands deep ("[[[[..."), which json
        # parses by recursion.
        raise CheckpointError(f"{path} has metadata that is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an nnlab checkpoint")
    version = meta.get("version")
    if version != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {version!r}; this nnlab reads version {VERSION}")
    for key in ("kind", "arch"):
        if key not in meta:
            raise CheckpointError(f"{path} has incomplete metadata (no {key!r})")
    return meta


def split_arrays(arrays, prefix):
    """The entries of ``arrays`` under ``prefix``/, with the prefix removed."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in arrays.items() if k.startswith(prefix + "/")}
