"""What a command does differently as one of K ranks under mpirun
(nnlab/nn/distributed.py): only rank 0 writes to stdout and stderr; an
error is shown once and ends every rank.

Ranks other than 0 write into /dev/null, so that --json, the results and
the progress come from rank 0 alone. An error that every rank meets alike
(a missing file, a usage error, a diverged run) is said by rank 0, whose
exit makes mpirun end the others; another rank says its own error only
after a second, so a rank-0 error is not said twice, and then prefixed by
its rank (a file missing on one machine only). Once MPI is running, a
failing rank aborts the communicator: a rank that only exited would leave
the others waiting in their next collective.
"""

import os
import sys
import time

from nnlab.runtime import mpi_launch

RANK, SIZE = mpi_launch()
_stderr = sys.stderr  # the real one, for this rank's own error


def quiet_other_ranks():
    if RANK > 0:
        sys.stdout = open(os.devnull, "w")
        sys.stderr = open(os.devnull, "w")


def say_error(text):
    if RANK == 0:
        print(text, file=sys.stderr, flush=True)
        return
    time.sleep(1.0)  # rank 0's own error, if it has one, ends this rank first
    print(f"nnlab rank {RANK}: {text}", file=_stderr, flush=True)


def finish(code):
    """Exits with ``code``; a failing rank with MPI running aborts them all."""
    if code and SIZE > 1 and "mpi4py.MPI" in sys.modules:
        MPI = sys.modules["mpi4py.MPI"]
        if MPI.Is_initialized() and not MPI.Is_finalized():
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            MPI.COMM_WORLD.Abort(code)
    sys.exit(code)


def abort_with_traceback():
    import traceback

    traceback.print_exc(file=_stderr)
    finish(1)
