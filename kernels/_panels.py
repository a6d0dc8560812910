"""A matrix product for the recurrences' per-step shape: a few dozen rows
of state times a weight matrix that stays fixed for T steps.

BLAS packs both operands into its own layout on every call, and the
recurrent product repacks a 1 MB weight matrix for 16 rows of state:
OpenBLAS ran (1024, 256) @ (256, 16) at 94 GFLOP/s on one core of this Xeon
against 168 for a large product (89 us a call). Here the weights are packed
once per call of the recurrence, into panels of LANES columns laid out
(panels, K, LANES), and each block of ROWS x LANES outputs stays in
registers for the whole sum: per k, one load of the panel's row and ROWS
fused multiply-adds, each with a state value broadcast to all lanes.

The state rows are read where they lie, so the output comes out in the
rows' own order and the recurrences need no transposes. (16, 256) @ (256,
1024) took 55-58 us a call (146-152 GFLOP/s). A first version broadcast
the weights and took 53 us, but the state went in and out transposed each
step: the LSTM's forward kernel took 5.96-6.18 ms a layer that way and
5.29-5.95 ms this way, its backward kernel 5.39-5.75 and 5.18-5.67 ms
(2x256, batch 32, 2 threads, interleaved runs).

The block is written in LLVM IR (an @intrinsic, as in _atomic.py):
Numba's loops cannot keep 16 vector accumulators in registers. Under
NUMBA_DISABLE_JIT ``rows_dot`` is a numpy product instead.
"""

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import jit

ROWS = 16   # state rows of a block: 16 accumulators, half the vector registers
LANES = 16  # output columns of a block: one AVX-512 register of float32

# Below 4 rows a thread BLAS's matrix-vector code wins: (1024, 256) @ (256,
# n) took 12 us for n = 1 against 53 us for the first version's padded
# product, 63 against 55 at n = 4, 67 against 54 at n = 8; rows_dot itself
# took 58 us at 5 rows and 53-58 at 12 to 16 (16 rows cost as much as 1).
PANEL_FROM = 4


def use_panels(rows, nt):
    """Whether a recurrence over ``rows`` state rows, split nt ways
    (_split.block), should take rows_dot rather than BLAS."""
    return -(-rows // nt) >= PANEL_FROM


def panels_width(M):
    """Columns of a product's output once padded to whole panels."""
    return -(-M // LANES) * LANES


def column_panels(b):
    """b: (K, M) -> (ceil(M / LANES), K, LANES): its columns in panels of
    LANES, the columns past M zero; the layout ``rows_dot`` reads."""
    K, M = b.shape
    if M % LANES:  # padded first: one more copy, 155 us against 90 for (256, 1024)
        padded = np.zeros((K, panels_width(M)), b.dtype)
        padded[:, :M] = b
        b = padded
    return np.ascontiguousarray(b.reshape(K, -1, LANES).transpose(1, 0, 2))


def column_panels_t(a):
    """a: (M, K) -> the column panels of a.T, without forming a.T first."""
    M, K = a.shape
    if M % LANES:
        padded = np.zeros((panels_width(M), K), a.dtype)
        padded[:M] = a
        a = padded
    return np.ascontiguousarray(a.reshape(-1, LANES, K).transpose(0, 2, 1))


def step_weights(w, rows, nt, transposed=False):
    """The weights of a recurrence's per-step product state @ B, with B = w
    or, if transposed, w.T, for ``rows`` state rows split nt ways: (B for
    BLAS, B's column panels for rows_dot), the one not to be used empty."""
    K = w.shape[1] if transposed else w.shape[0]
    if use_panels(rows, nt):
        return np.empty((0, K), w.dtype), column_panels_t(w) if transposed else column_panels(w)
    return (np.ascontiguousarray(w.T) if transposed else w), np.empty((0, K, LANES), w.dtype)


@intrinsic
def _block(typingctx, A, lo, n, P, C, cb):
    """C[0:n, cb*LANES:(cb+1)*LANES] = A[lo:lo+n, :K] @ panel cb of P, for
    1 <= n <= ROWS. A: (rows, >= K), P: (panels, K, LANES), C: (>= n,
    panels * LANES), all C-contiguous, of one float dtype. Past n the rows
    repeat A's row lo + n - 1 and are not stored."""
    arrays = (A, P, C)
    if not all(isinstance(a, types.Array) and a.layout == "C" for a in arrays):
        return None
    if A.dtype not in (types.float32, types.float64) or P.dtype != A.dtype \
            or C.dtype != A.dtype or (A.ndim, P.ndim, C.ndim) != (2, 3, 2):
        return None
    sig = types.void(A, types.intp, types.intp, P, C, types.intp)

    def codegen(context, builder, sig, args):
        aa, pa, ca = (context.make_array(sig.args[i])(context, builder, args[i])
                      for i in (0, 3, 4))
        lo, n, cb = args[1], args[2], args[5]
        fty = context.get_value_type(sig.args[0].dtype)
        vty = ir.VectorType(fty, LANES)
        name = f"llvm.fma.v{LANES}f{'32' if fty == ir.FloatType() else '64'}"
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty] * 3), name)
        intp = lo.type

        def const(v):
            return ir.Constant(intp, v)
        K = builder.extract_value(pa.shape, 1)
        lda = builder.extract_value(aa.shape, 1)
        ldc = builder.extract_value(ca.shape, 1)
        last = builder.sub(n, const(1))
        rows = [builder.select(builder.icmp_signed("<", const(r), n), const(r), last)
                for r in range(ROWS)]
        aptr = [builder.gep(aa.data, [builder.mul(builder.add(lo, r), lda)]) for r in rows]
        # Accumulators as allocas in the entry block: LLVM promotes them to registers.
        accs = [cgutils.alloca_once_value(builder, ir.Constant(vty, None)) for _ in range(ROWS)]
        splat = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
        undef = ir.Constant(vty, ir.Undefined)
        first = ir.Constant(ir.IntType(32), 0)
        base = builder.mul(builder.mul(cb, K), const(LANES))
        with cgutils.for_range(builder, K) as loop:
            k = loop.index
            bptr = builder.gep(pa.data, [builder.add(base, builder.mul(k, const(LANES)))])
            bvec = builder.load(builder.bitcast(bptr, vty.as_pointer()), align=4)
            for r in range(ROWS):
                a = builder.load(builder.gep(aptr[r], [k]))
                av = builder.shuffle_vector(builder.insert_element(undef, a, first), undef, splat)
                builder.store(builder.call(fma, [av, bvec, builder.load(accs[r])]), accs[r])
        col = builder.mul(cb, const(LANES))
        for r in range(ROWS):
            with builder.if_then(builder.icmp_signed("<", const(r), n)):
                cptr = builder.gep(ca.data, [builder.add(builder.mul(const(r), ldc), col)])
                builder.store(builder.load(accs[r]), builder.bitcast(cptr, vty.as_pointer()),
                              align=4)
        return context.get_dummy_value()
    return sig, codegen


@jit(inline="always")
def _rows_dot_jit(A, lo, n, P, C):
    for r0 in range(0, n, ROWS):
        Cr = C[r0:]
        for cb in range(P.shape[0]):
            _block(A, lo + r0, min(ROWS, n - r0), P, Cr, cb)


def _rows_dot_python(A, lo, n, P, C):
    panels, K, width = P.shape
    C[:n, :panels * width] = A[lo:lo + n, :K] @ P.transpose(1, 0, 2).reshape(K, -1)


# A: (rows, >= K), P: (panels, K, LANES) from column_panels, C: (>= n, panels
# * LANES) -> C[:n] = A[lo:lo + n, :K] @ B, B's padding columns giving zero
# columns. Called from kernels that own C and have checked the shapes.
rows_dot = _rows_dot_python if config.DISABLE_JIT else _rows_dot_jit
