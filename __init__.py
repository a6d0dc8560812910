"""nnlab: convolutional networks and character-level language models, trained
from scratch on the CPU with Numba kernels.

The package is kept import-light on purpose: importing ``nnlab`` or running
``nnlab --help`` must not pull in numpy or numba.
"""

__version__ = "0.1.0"


class NnlabError(Exception):
    """A problem with the user's input or environment, reported as one line.

    The CLI prints ``str(err)`` and exits with ``exit_code``, without a
    traceback. Messages name the problem and, where there is one, the fix.
    """

    exit_code = 1
