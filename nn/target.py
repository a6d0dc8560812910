"""Where a checkpoint may be written: never over something the user owns.

A checkpoint is written to a temporary file and renamed over its path, and
a rename replaces whatever is there. As root, ``--out /dev/null`` turned
/dev/null into a regular file, and ``--out notes.md`` or ``--out`` on the
training text destroyed them without a word. So before writing, and before
training starts, the path must be absent, an empty file, or a file that
``is_ours`` recognises (an nnlab checkpoint); ``force`` allows any other
regular file, never a folder, device, pipe or socket. A symbolic link is
written through: its target is replaced, in the target's folder, and the
link stays as it was.
"""

import os
import stat

from nnlab import NnlabError


class TargetError(NnlabError):
    """A path nnlab refuses to write a checkpoint to, with the reason."""


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISSOCK, "a socket"))


def file_kind(mode):
    """"a folder", "a character device", ... for an ``st_mode`` that is not a regular file."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def output_target(path, is_ours, force=False, what="checkpoint"):
    """The real path to write ``path``'s new contents to (symbolic links
    followed), after checking that doing so destroys nothing; raises
    TargetError naming the problem and the way out."""
    path = os.fspath(path)
    if not path or path.endswith(os.sep):
        # realpath() would make "" the working folder and "runs/" a file "runs".
        raise TargetError(f"{path!r} is not a file name; give one, such as run.npz")
    try:
        st = os.stat(path)  # follows links, as the write will
    except FileNotFoundError:
        st = None  # absent, or a link to something absent: created there
    except OSError as e:
        raise TargetError(f"cannot write {path}: {e.strerror or e}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise TargetError(f"{path} is a folder; give a file name")
        raise TargetError(f"{path} is {file_kind(st.st_mode)}; nnlab writes a {what} only to "
                          "a regular file: give a file name")
    real = os.path.realpath(path)
    folder = os.path.dirname(real)
    if not os.path.isdir(folder):
        raise TargetError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise TargetError(f"cannot write {path}: folder {folder} is not writable")
    # An empty file holds nothing to lose (mktemp makes one for a script to fill).
    if st is not None and st.st_size > 0 and not force and not is_ours(real):
        shown = f"{path} (a link to {real})" if os.path.islink(path) else path
        raise TargetError(f"{shown} exists and is not an nnlab {what}; nnlab only replaces "
                          "its own: choose another name, or pass --force to replace it")
    return real
