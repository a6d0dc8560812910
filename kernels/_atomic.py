"""A spin barrier for kernels whose threads meet many times in one call.

Sampling steps a character through every layer, and each layer needs the
whole of the layer below: the threads that share a step's matrix-vector
products must meet once a layer, tens of thousands of times a second. A
handoff through the Python thread pool costs 50-90 us (``_split.py``), far
more than a step, so the threads of ``generate`` stay inside one nogil
kernel call and meet here, on counters in a shared int64 array.

A plain load in a spin loop may be hoisted out of the loop by LLVM, so the
counters are read with an acquire load and written with a release store,
which also orders each thread's writes of its results before its arrival.
"""

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import jit

# Each thread's counter sits on a cache line of its own (128 bytes: two
# lines, for the adjacent-line prefetcher), so arriving threads do not
# invalidate each other's counters.
STRIDE = 16


def _pointer(context, builder, aryty, ary, idx):
    a = context.make_array(aryty)(context, builder, ary)
    return cgutils.get_item_pointer(context, builder, aryty, a, [idx])


@intrinsic
def _load_acquire(typingctx, arr, idx):
    """arr[idx] of a 1-D int64 array, read with acquire ordering."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64):
        return None
    sig = types.int64(arr, types.intp)

    def codegen(context, builder, sig, args):
        ptr = _pointer(context, builder, sig.args[0], args[0], args[1])
        return builder.load_atomic(ptr, ordering="acquire", align=8)
    return sig, codegen


@intrinsic
def _store_release(typingctx, arr, idx, value):
    """arr[idx] = value for a 1-D int64 array, with release ordering."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64):
        return None
    sig = types.void(arr, types.intp, types.int64)

    def codegen(context, builder, sig, args):
        ptr = _pointer(context, builder, sig.args[0], args[0], args[1])
        builder.store_atomic(args[2], ptr, ordering="release", align=8)
        return context.get_dummy_value()
    return sig, codegen


@jit(inline="always")
def meet(flags, t, nt, count):
    """Thread t of nt arrives at its ``count``-th meeting (counting from 1)
    and waits for every other thread to arrive there too. ``flags``: int64
    zeros of nt * STRIDE, fresh for each call."""
    _store_release(flags, t * STRIDE, count)
    for s in range(nt):
        if s != t:
            while _load_acquire(flags, s * STRIDE) < count:
                pass
