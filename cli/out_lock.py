"""One training run at a time per checkpoint.

Two runs given the same --out took turns replacing it, and both ended with
"checkpoint X": X held one run's last state and X.best.npz the other's best,
so one of the two lines was false and resuming X mixed the runs. A run now
holds an advisory lock (flock) on a hidden file beside its checkpoint,
.NAME.lock, for as long as it trains; a second run is refused at once. The
file goes when the run ends; one left by a killed run locks nothing.
"""

import os
from contextlib import contextmanager

from nnlab import NnlabError


class Busy(NnlabError):
    """Another process is training into the same checkpoint."""


@contextmanager
def exclusive(out):
    """Holds the lock of checkpoint ``out`` (through symbolic links) for the block."""
    try:
        import fcntl
    except ImportError:  # no flock here (Windows): as before, unguarded
        yield
        return
    folder, name = os.path.split(os.path.realpath(out))
    lock = os.path.join(folder, f".{name}.lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise Busy(f"another nnlab run is training into {out} now; wait for it to end, or "
                       "give --out another name") from None
        try:
            # The last holder removes the file as it ends: if it did so between our
            # open and our flock, ours is a lock on a file nobody else will open.
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        try:
            os.unlink(lock)  # before the lock goes, so that no one takes a file about to vanish
        except OSError:
            pass
        os.close(fd)
