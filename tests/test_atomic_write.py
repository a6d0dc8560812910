"""A checkpoint write killed with SIGKILL never damages the previous checkpoint.

save_checkpoint writes to a temporary file in the same folder (.NAME.XXXX.tmp)
and moves it into place with os.replace. Here a child process writes a large
checkpoint (200 MB) to the same path over and over, and is killed at
different moments of a write: as soon as the temporary file appears, a little
way in, half-way, once all the bytes are written (fsync, replace), and during
its second write, after one has landed. Each time the checkpoint on disk must
load, and be either the old one or a complete new one; the temporary files a
SIGKILL leaves behind must not get in the way of later saves and loads.

And the rename replaces whatever is at the path, so the writer first refuses
(TargetError) anything but an absent path, an empty file or an nnlab
checkpoint: devices, FIFOs, folders, other files (those only with force);
a symbolic link is written through, its target replaced in its own folder.
"""

import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

from nnlab.nn.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from nnlab.nn.target import TargetError

from devices import is_char_device, null_like_device

N = 50_000_000  # float32 elements: 200 MB
BIG_BYTES = 4 * N

CHILD = f"""
import sys
import numpy as np
from nnlab.nn.checkpoint import save_checkpoint

path = sys.argv[1]
big = np.arange({N}, dtype=np.float32)
i = 0
while True:
    save_checkpoint(path, {{"kind": "charlm", "arch": {{"name": "test"}}, "tag": f"new-{{i}}"}},
                    {{"params/big": big, "params/small": np.full(7, i, np.int64)}})
    print(f"saved new-{{i}}", flush=True)
    i += 1
"""


def temp_files(folder, name):
    return [e for e in os.scandir(folder)
            if e.name.startswith(f".{name}.") and e.name.endswith(".tmp")]


def save_old(path):
    save_checkpoint(path, {"kind": "charlm", "arch": {"name": "test"}, "tag": "old"},
                    {"params/small": np.arange(7, dtype=np.int64)})


def assert_old_or_complete_new(path):
    meta, arrays = load_checkpoint(path)  # must not raise: never a damaged file
    if meta["tag"] == "old":
        assert set(arrays) == {"params/small"}
        np.testing.assert_array_equal(arrays["params/small"], np.arange(7))
        return "old"
    assert meta["tag"].startswith("new-")
    i = int(meta["tag"][4:])
    big = arrays["params/big"]
    assert big.shape == (N,) and big.dtype == np.float32
    # Spot checks over the whole array, then all of it.
    idx = np.linspace(0, N - 1, 1001).astype(np.int64)
    np.testing.assert_array_equal(big[idx], idx.astype(np.float32))
    assert np.array_equal(big, np.arange(N, dtype=np.float32))
    np.testing.assert_array_equal(arrays["params/small"], np.full(7, i))
    return meta["tag"]


def kill_while_writing(path, when, timeout=30.0):
    """Starts the writer, waits until ``when(tmp_size, saves)`` holds while a
    temporary file is there, SIGKILLs it. Returns the number of completed saves."""
    folder, name = os.path.dirname(path), os.path.basename(path)
    child = subprocess.Popen([sys.executable, "-c", CHILD, path], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    os.set_blocking(child.stdout.fileno(), False)
    saves, out = 0, b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            assert child.poll() is None, f"writer died: {child.stderr.read().decode()}"
            assert time.monotonic() < deadline, "the writer never reached the kill point"
            chunk = child.stdout.read()  # non-blocking: None when there is nothing
            if chunk:
                out += chunk
                saves = out.count(b"saved ")
            tmps = temp_files(folder, name)
            if tmps:
                try:
                    size = tmps[0].stat().st_size
                except FileNotFoundError:  # moved into place meanwhile
                    continue
                if when(size, saves):
                    break
            time.sleep(0.001)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return saves


KILL_POINTS = {
    "temp-file-appears": lambda size, saves: True,
    "1MB-written": lambda size, saves: size > 1 << 20,
    "half-written": lambda size, saves: size > BIG_BYTES // 2,
    "all-bytes-written": lambda size, saves: size >= BIG_BYTES,
    "second-write": lambda size, saves: saves >= 1 and size > 1 << 20,
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_mid_write_keeps_a_loadable_checkpoint(tmp_path, point):
    path = str(tmp_path / "ckpt.npz")
    save_old(path)
    saves = kill_while_writing(path, KILL_POINTS[point])
    tag = assert_old_or_complete_new(path)
    if point == "second-write":
        assert tag.startswith("new-")  # the first write landed whole
    elif saves == 0:
        assert tag == "old"
    # SIGKILL leaves the temporary file behind (nothing can remove it) ...
    leftovers = temp_files(str(tmp_path), "ckpt.npz")
    assert leftovers, "expected the killed write's temporary file"
    # ... and it must not get in the way: later saves and loads work.
    save_checkpoint(path, {"kind": "charlm", "arch": {"name": "test"}, "tag": "after"},
                    {"params/small": np.zeros(3)})
    meta, arrays = load_checkpoint(path)
    assert meta["tag"] == "after" and arrays["params/small"].shape == (3,)
    # The successful save cleaned up after itself: only the killed one's file is left.
    assert {e.name for e in temp_files(str(tmp_path), "ckpt.npz")} == {e.name for e in leftovers}


def test_temp_files_from_killed_writes_are_not_checkpoints(tmp_path):
    """A leftover .NAME.XXXX.tmp is never mistaken for the checkpoint: loading
    the path reads the real file, and a damaged leftover loads as an error."""
    path = str(tmp_path / "ckpt.npz")
    save_old(path)
    stale = tmp_path / ".ckpt.npz.abcd1234.tmp"
    stale.write_bytes(b"PK\x03\x04" + os.urandom(1000))  # a killed write's first bytes
    assert assert_old_or_complete_new(path) == "old"
    save_checkpoint(path, {"kind": "charlm", "arch": {"name": "test"}, "tag": "later"},
                    {"params/small": np.ones(2)})
    assert load_checkpoint(path)[0]["tag"] == "later"
    assert stale.exists()


# -- what the writer must never replace ------------------------------------------------------


def save_small(path, force=False, tag="new"):
    return save_checkpoint(path, {"kind": "charlm", "arch": {"name": "test"}, "tag": tag},
                           {"params/small": np.arange(3)}, force=force)


def test_writer_refuses_a_fifo_a_folder_and_a_device(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "adir"
    folder.mkdir()
    device = null_like_device(tmp_path / "null")
    for target, says in ((fifo, "named pipe"), (folder, "folder"), (device, "character device")):
        for force in (False, True):  # --force is for regular files only
            with pytest.raises(TargetError, match=says):
                save_small(target, force)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.listdir(folder) == []
    assert is_char_device(device)  # still a device: refused before anything was written
    # Nothing was written beside them either: no temporary file, no checkpoint.
    assert sorted(os.listdir(tmp_path)) == sorted(["fifo", "adir"] + (
        ["null"] if device != "/dev/null" else []))


def test_writer_refuses_a_file_that_is_not_a_checkpoint(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_bytes(b"# a year of notes\n")
    fake = tmp_path / "other.npz"
    np.savez(fake, weights=np.ones(3))  # an .npz, but not an nnlab checkpoint
    for path in (notes, fake):
        before = path.read_bytes()
        with pytest.raises(TargetError, match="not an nnlab checkpoint"):
            save_small(path)
        assert path.read_bytes() == before
    save_small(notes, force=True)  # the user said so
    assert load_checkpoint(notes)[0]["tag"] == "new"
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_writer_replaces_its_own_checkpoints_and_empty_files(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_small(path, tag="first")
    save_small(path, tag="second")
    assert load_checkpoint(path)[0]["tag"] == "second"
    empty = tmp_path / "made-by-mktemp.npz"
    empty.write_bytes(b"")  # holds nothing to lose
    save_small(empty)
    assert load_checkpoint(empty)[0]["tag"] == "new"


def test_writer_writes_through_a_symlink(tmp_path):
    (tmp_path / "far").mkdir()
    target = tmp_path / "far" / "run.npz"
    link = tmp_path / "run.npz"
    os.symlink(target, link)  # dangling: the target is created
    save_small(link, tag="first")
    save_small(link, tag="second")  # the target is now a checkpoint: replaced
    assert os.path.islink(link) and os.readlink(link) == str(target)
    assert load_checkpoint(target)[0]["tag"] == "second"
    # The temporary file went to the target's folder, and nothing is left of it.
    assert os.listdir(tmp_path / "far") == ["run.npz"]
    notes = tmp_path / "notes.md"
    notes.write_text("mine")
    os.symlink(notes, tmp_path / "to-notes.npz")
    with pytest.raises(TargetError, match="a link to"):
        save_small(tmp_path / "to-notes.npz")
    assert notes.read_text() == "mine" and os.path.islink(tmp_path / "to-notes.npz")


def test_reader_refuses_a_fifo_and_a_device_without_reading(tmp_path):
    """Opening a FIFO waits for a writer, and zipfile read /dev/zero until
    memory ran out: both are refused from their type, before opening."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero", null_like_device(tmp_path / "null")):
        with pytest.raises(CheckpointError, match="not a checkpoint file"):
            load_checkpoint(path)
