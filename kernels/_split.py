"""How kernels share work between Numba's threads: each of nt threads takes
one contiguous block of rows (images, sequences, matrix rows), so that no
two threads write the same element and results do not depend on timing."""

import numba

from ._jit import jit


# Elementwise kernels (ReLU, dropout, optimizer updates) use a thread only
# for each 32,768 elements: one handoff to the pool costs tens of
# microseconds, as long as 2 threads save on about 30k float32 updates, and
# LeNet-5's step made 14 such calls on arrays of 150 to 48,000 elements.
ELEMENTS_PER_THREAD = 32768


def threads_for(rows, min_rows=1):
    """Threads worth using on ``rows`` rows, each getting at least min_rows."""
    return max(1, min(numba.get_num_threads(), rows // max(1, min_rows)))


@jit(inline="always")
def block(k, nt, rows):
    """(first row, row count) of thread k's share of ``rows`` split nt ways;
    the count is 0 for a thread left without rows."""
    per = (rows + nt - 1) // nt
    lo = k * per
    return lo, max(0, min(rows, lo + per) - lo)
