"""How kernels share work between Numba's threads: each of nt threads takes
one contiguous block of rows (images, sequences, matrix rows), so that no
two threads write the same element and results do not depend on timing."""

import numba

from ._jit import jit


# Elementwise kernels (ReLU, dropout, optimizer updates) take a second thread
# only from 2 x 2^20 elements: one handoff to the pool costs 50-90 us, and
# vectorised they stream about 6 G elements/s on one thread. Measured per
# call, 1 thread against 2: ReLU backward 147 vs 156 us at 2^20 elements,
# 1,758 vs 1,264 us at 2^22; Adam 300 vs 269 us and 2,391 vs 1,836 us.
ELEMENTS_PER_THREAD = 1 << 20


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
