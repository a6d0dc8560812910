"""The decorator every kernel is compiled with.

``jit`` is Numba's ``njit`` with the on-disk cache on, unless the process
has no writable place for it: ``nnlab.prepare_runtime`` then sets
NNLAB_NO_CACHE=1 (and says so once), and kernels compile in memory instead
of failing at import with Numba's "cannot cache function".
"""

import os

from numba import njit

CACHE = os.environ.get("NNLAB_NO_CACHE") != "1"


def jit(*args, **options):
    """njit(cache=True, ...) where a cache can be written, njit(...) otherwise."""
    options.setdefault("cache", CACHE)
    return njit(*args, **options)
