"""Special files for tests of what nnlab refuses to write over or read from.

A helper module, not a test module (test modules never import each other).
"""

import os
import stat


def null_like_device(path):
    """A character device like /dev/null (major 1, minor 3) at ``path``, and
    that path; or, without the right to make one (not root, or no
    CAP_MKNOD), "/dev/null" itself. Tests given /dev/null must check that it
    is still a character device afterwards: the writer has to refuse it
    before touching it."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        return str(path)
    except OSError:
        return "/dev/null"


def is_char_device(path):
    return stat.S_ISCHR(os.lstat(path).st_mode)
