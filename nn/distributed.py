"""Data-parallel training over MPI (mpi4py), when mpirun or mpiexec starts
nnlab with K > 1 ranks (nnlab/runtime.py:mpi_launch); nothing here is
imported otherwise.

Every rank holds the whole model and the same random generator, so every
rank draws the same global batch (the same permutation, the same
augmentation, the same dropout masks: ShardRng) and keeps its own rows of
it. Each computes the gradient of its rows' mean loss; one Allreduce per
step sums, in one flat float64 buffer, each rank's gradients and loss
weighted by its row count, with the step's other sums, and every rank
divides by the total and applies the same update. K ranks together thus
take exactly the steps one process would, up to the rounding of sums
made in another order.

Decisions that depend on a clock or a signal (stop, the time limit, a
validation cut short) are rank 0's, or any rank's stop request, shared in
the same reductions, so that no rank leaves a loop that another is still
in; a rank that waited forever in a collective would be a hang.
"""

import hashlib
import json

import numpy as np

from nnlab import NnlabError


class Distributed:
    def __init__(self):
        try:
            from mpi4py import MPI
        except ImportError:
            raise NnlabError("this nnlab was started by mpirun with several ranks, but mpi4py is "
                             "not installed: pip install 'nnlab[mpi]'") from None
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self._buf = None
        self.reduce_seconds = 0.0  # time spent in the per-step Allreduce, for the README's table
        self.steps = 0

    def finalize(self):
        """Ends MPI when every rank has reached the same point of the run
        (its end, an agreed stop, a divergence at the same step)."""
        self.comm.Barrier()
        self.MPI.Finalize()

    def bounds(self, n, rank=None):
        """(lo, hi): this rank's (or ``rank``'s) rows of n, the first n mod K
        ranks taking one more."""
        rank = self.rank if rank is None else rank
        base, extra = divmod(n, self.size)
        lo = rank * base + min(rank, extra)
        return lo, lo + base + (rank < extra)

    # -- the per-step reduction --------------------------------------------------

    def reduce_step(self, grads, loss, count, sums=()):
        """Sums over the ranks, in place in ``grads``, of count x gradient,
        divided by the total count; returns (the global mean loss, the summed
        ``sums``). ``count``: the rows (or tokens) this rank's mean loss is
        over, 0 for a rank that adds nothing."""
        import time

        size = sum(g.size for g in grads.values())
        if self._buf is None or len(self._buf) != size + 2 + len(sums):
            self._buf = np.empty(size + 2 + len(sums), np.float64)
        buf, at = self._buf, 0
        for key in sorted(grads):
            g = grads[key]
            np.multiply(g.reshape(-1), count, out=buf[at:at + g.size])
            at += g.size
        buf[at:at + 2] = (loss * count, count)
        buf[at + 2:] = sums
        t0 = time.perf_counter()
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        self.reduce_seconds += time.perf_counter() - t0
        self.steps += 1
        total = buf[at + 1]
        at = 0
        for key in sorted(grads):
            g = grads[key]
            np.divide(buf[at:at + g.size], total, out=g.reshape(-1), casting="unsafe")
            at += g.size
        return float(buf[at] / total), [float(s) for s in buf[at + 2:]]

    def agree(self, stop, rank0):
        """(any rank asked to stop, rank 0's ``rank0`` values), one Allreduce."""
        buf = np.zeros(1 + len(rank0), np.float64)
        buf[0] = 1.0 if stop else 0.0
        if self.rank == 0:
            buf[1:] = rank0
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        return bool(buf[0] > 0), [float(v) for v in buf[1:]]

    # -- at the start, at validations and at saves ---------------------------------

    def check_same(self, what, description):
        """Every rank's ``description`` (JSON-able) must be rank 0's: else one
        error, raised on every rank alike (so none waits for the others)."""
        text = json.dumps(description, sort_keys=True, default=str)
        mine = np.frombuffer(hashlib.sha256(text.encode()).digest(), np.uint8)
        everyone = np.empty((self.size, len(mine)), np.uint8)
        self.comm.Allgather(mine, everyone)
        differ = [r for r in range(self.size) if not np.array_equal(everyone[r], everyone[0])]
        if differ:
            self.finalize()  # every rank stops here alike: nothing to abort
            raise NnlabError(f"rank {differ[0]} has a different {what} from rank 0's; start "
                             "every rank with the same command, data and nnlab")

    def broadcast(self, arrays):
        """Rank 0's arrays ({name: array}) into every rank's, in place."""
        for key in sorted(arrays):
            self.comm.Bcast(arrays[key], root=0)

    def mean(self, arrays):
        """Each array replaced, in place, by its mean over the ranks (batch
        norm's running statistics, which each rank updates from its rows)."""
        for key in sorted(arrays):
            a = arrays[key]
            total = a.astype(np.float64)
            self.comm.Allreduce(self.MPI.IN_PLACE, total, op=self.MPI.SUM)
            a[...] = total / self.size

    def gather_rows(self, a):
        """``a`` (rows first) with every rank's own rows (``bounds``) filled
        in from that rank, on every rank: the carried state of a character
        model's streams."""
        from mpi4py.util.dtlib import from_numpy_dtype

        spans = [self.bounds(len(a), r) for r in range(self.size)]
        lo, hi = spans[self.rank]
        row = a[0].size
        out = np.empty_like(a)
        self.comm.Allgatherv(np.ascontiguousarray(a[lo:hi]),
                             [out, [(h - l) * row for l, h in spans],
                              [l * row for l, _ in spans], from_numpy_dtype(out.dtype)])
        a[...] = out

    def bcast_json(self, obj):
        """Rank 0's JSON-able ``obj`` on every rank (as JSON, not pickle)."""
        data = json.dumps(obj).encode() if self.rank == 0 else b""
        n = np.array([len(data)], np.int64)
        self.comm.Bcast(n, root=0)
        buf = np.frombuffer(data, np.uint8).copy() if self.rank == 0 else np.empty(n[0], np.uint8)
        self.comm.Bcast(buf, root=0)
        return json.loads(buf.tobytes().decode())


class ShardRng:
    """Stands for the run's generator where dropout draws its masks: draws
    for the whole global batch, as one process would, and hands this rank
    its rows (along ``axis``), so every rank's generator stays in step."""

    def __init__(self, rng, lo, hi, total, axis):
        self.rng, self.lo, self.hi, self.total, self.axis = rng, lo, hi, total, axis

    def random(self, shape, dtype=np.float64):
        shape = list(shape)
        shape[self.axis] = self.total
        u = self.rng.random(tuple(shape), dtype=dtype)
        rows = (slice(None),) * self.axis + (slice(self.lo, self.hi),)
        return np.ascontiguousarray(u[rows])


def columns(a, lo, hi):
    """Columns lo:hi (the batch axis of time-major arrays), contiguous."""
    return np.ascontiguousarray(a[:, lo:hi])


def masked_targets(mask, y, lo, hi):
    """The targets of columns lo:hi, where ``y`` holds a (T, N) mask's
    targets in time-major order (y = full[mask]), as the decoders take them."""
    full = np.zeros(mask.shape, y.dtype)
    full[mask] = y
    return full[:, lo:hi][mask[:, lo:hi]]
