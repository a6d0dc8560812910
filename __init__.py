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


# Thread set-up for nnlab's kernels, applied by the command line and the
# benches before numpy and numba load (they read these once, at load time).
# The kernels split each batch over Numba's threads and call BLAS from inside
# them, so BLAS must stay single-threaded: a second pool fighting for the
# same cores made LeNet-5 training 10x slower on 2 cores. And Numba's OpenMP
# threads must sleep rather than spin at the end of a parallel region: when
# another process holds a core, a spinning thread starves the one it waits
# for (100 steps of the "hello" model took 19 s spinning, 1.4 s passive).
THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OMP_WAIT_POLICY": "passive",
}


def set_thread_env():
    """Applies THREAD_ENV where the user has not set the variable already."""
    import os

    for name, value in THREAD_ENV.items():
        os.environ.setdefault(name, value)
