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


class UsageProblem(NnlabError):
    """Options that cannot go together, or one that does not fit the data: a
    usage error (exit 2), which the command line reports against ``option``
    (its flag, "--warmup") when there is one, as Click reports its own."""

    exit_code = 2

    def __init__(self, message, option=None):
        super().__init__(message)
        self.option = option
