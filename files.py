"""File-system errors as one line each, the same words wherever nnlab meets
them: the text, IDX and checkpoint readers and the dataset downloads.

An OSError's own ``str()`` reads "[Errno 2] No such file or directory:
'x'"; users get "x: no such file" instead. Standard library only, at the
root of the package, so that data/ and nn/ can both use it.
"""

import contextlib


def reason(err):
    """The system's one-line reason for ``err`` ("No space left on device"),
    else the first line of its text, else its type's name."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def file_error(err, path, what="file", want=None):
    """The message for OSError ``err`` met opening or reading ``path``.
    ``what`` names the thing looked for ("no such checkpoint"); ``want`` what
    the path should have been instead of a folder (default "a <what>")."""
    # NotADirectoryError: a file where the path needs a folder (x.txt/y).
    if isinstance(err, (FileNotFoundError, NotADirectoryError)):
        return f"{path}: no such {what}"
    if isinstance(err, IsADirectoryError):
        return f"{path} is a folder, not {want or 'a ' + what}"
    if isinstance(err, PermissionError):
        return f"{path}: permission denied"
    return f"{path}: {reason(err)}"


def write_error(err, path, doing="write"):
    """The message for OSError ``err`` met writing (or with ``doing``,
    say "create", making) ``path``: a full disk, a read-only folder..."""
    return f"cannot {doing} {path}: {reason(err)}"


@contextlib.contextmanager
def reading(path, error, what="file", want=None):
    """Turns an OSError raised in the block into ``error`` (an NnlabError
    class) with file_error's message, and no traceback chain."""
    try:
        yield
    except OSError as err:
        raise error(file_error(err, path, what, want)) from None


def atomic_write(real, write, tmp_prefix=None):
    """Writes a file at the real path ``real`` (links already followed, the
    target already checked: nn/target.py) through ``write(f)``, ``f`` a
    binary file: into a temporary file in the same folder, synced, then
    moved into place, so that a crash or a full disk mid-write leaves what
    was there as it was. The temporary file is ``.NAME.XXXX.tmp`` (or
    ``tmp_prefix`` + XXXX + ".tmp") and gone if the write fails."""
    import os
    import tempfile

    folder, name = os.path.split(real)
    fd, tmp = tempfile.mkstemp(prefix=tmp_prefix or f".{name}.", suffix=".tmp", dir=folder)
    try:
        # mkstemp makes the file private; give it the mode any new file gets.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
