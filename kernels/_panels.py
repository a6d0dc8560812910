"""A matrix product for the recurrences' per-step shape: a weight matrix
that stays fixed for T steps, times a few dozen columns of state.

BLAS packs both operands into its own layout on every call. The recurrent
product (4H, H) @ (H, n) repacks a 1 MB weight matrix for only n = 16
columns, so OpenBLAS ran (1024, 256) @ (256, 16) at 94 GFLOP/s on one core
of this Xeon against 168 for a large product (89 us a call). Here the
weights are packed once per call of the recurrence, into panels of ROWS
rows laid out (MB, K, ROWS), and each block of ROWS x 16 outputs stays in
registers for the whole sum: 16 vector accumulators, one load of the state
row and 16 fused multiply-adds with broadcast weights per k. The same
product took 53 us (158 GFLOP/s), and (256, 1024) @ (1024, 16) 51 us
against 93.

The block is written in LLVM IR (an @intrinsic, as in _atomic.py):
Numba's loops cannot keep 16 vector accumulators in registers. Under
NUMBA_DISABLE_JIT ``panel_dot`` is a numpy product instead.
"""

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import jit

ROWS = 16   # rows of a panel: 16 accumulators of 16 lanes fill half the registers
LANES = 16  # columns per block: one AVX-512 register of float32


# Below 4 columns BLAS's matrix-vector code wins: (1024, 256) @ (256, n)
# took 12 us for n = 1 against 53 us for a panel product padded to 16
# columns, 63 against 55 at n = 4, 67 against 54 at n = 8.
PANEL_FROM = 4


def use_panels(rows, nt):
    """Whether a recurrence over ``rows`` state rows, split nt ways
    (_split.block), should take panel_dot rather than BLAS."""
    return -(-rows // nt) >= PANEL_FROM


def panels_rows(M):
    """Rows of a product's output once padded to whole panels."""
    return -(-M // ROWS) * ROWS


def pack_panels(a):
    """a: (M, K), C-contiguous -> (ceil(M / ROWS), K, ROWS) panels, the rows
    past M zero: the layout ``panel_dot`` reads."""
    M, K = a.shape
    if M % ROWS:  # padded first: one more copy, 155 us against 90 for (256, 1024)
        padded = np.zeros((panels_rows(M), K), a.dtype)
        padded[:M] = a
        a = padded
    return np.ascontiguousarray(a.reshape(-1, ROWS, K).transpose(0, 2, 1))


def pack_panels_t(a):
    """a: (K, M) -> the panels of a.T, without forming a.T first."""
    K, M = a.shape
    if M % ROWS:
        padded = np.zeros((K, panels_rows(M)), a.dtype)
        padded[:, :M] = a
        a = padded
    return np.ascontiguousarray(a.reshape(K, -1, ROWS).transpose(1, 0, 2))


@intrinsic
def _block(typingctx, P, B, C, mb, c0):
    """C[mb*ROWS:(mb+1)*ROWS, c0:c0+LANES] = panel mb of P @ B[:, c0:c0+LANES].
    P: (MB, K, ROWS), B: (K, n), C: (MB * ROWS, n), all C-contiguous, of
    one float dtype; the caller keeps c0 + LANES <= n."""
    arrays = (P, B, C)
    if not all(isinstance(a, types.Array) and a.layout == "C" for a in arrays):
        return None
    if P.dtype not in (types.float32, types.float64) or B.dtype != P.dtype \
            or C.dtype != P.dtype or (P.ndim, B.ndim, C.ndim) != (3, 2, 2):
        return None
    sig = types.void(P, B, C, types.intp, types.intp)

    def codegen(context, builder, sig, args):
        pa, ba, ca = (context.make_array(t)(context, builder, a)
                      for t, a in zip(sig.args[:3], args[:3]))
        mb, c0 = args[3], args[4]
        fty = context.get_value_type(sig.args[0].dtype)
        vty = ir.VectorType(fty, LANES)
        name = f"llvm.fma.v{LANES}f{'32' if fty == ir.FloatType() else '64'}"
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty] * 3), name)
        intp = mb.type

        def const(v):
            return ir.Constant(intp, v)
        K = builder.extract_value(pa.shape, 1)
        ldb = builder.extract_value(ba.shape, 1)
        ldc = builder.extract_value(ca.shape, 1)
        # Accumulators as allocas in the entry block: LLVM promotes them to registers.
        accs = [cgutils.alloca_once_value(builder, ir.Constant(vty, None)) for _ in range(ROWS)]
        splat = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
        undef = ir.Constant(vty, ir.Undefined)
        first = ir.Constant(ir.IntType(32), 0)
        base = builder.mul(builder.mul(mb, K), const(ROWS))
        with cgutils.for_range(builder, K) as loop:
            k = loop.index
            bptr = builder.gep(ba.data, [builder.add(builder.mul(k, ldb), c0)])
            bvec = builder.load(builder.bitcast(bptr, vty.as_pointer()), align=4)
            row = builder.add(base, builder.mul(k, const(ROWS)))
            for r in range(ROWS):
                a = builder.load(builder.gep(pa.data, [builder.add(row, const(r))]))
                av = builder.shuffle_vector(builder.insert_element(undef, a, first), undef, splat)
                builder.store(builder.call(fma, [av, bvec, builder.load(accs[r])]), accs[r])
        for r in range(ROWS):
            out_row = builder.add(builder.mul(mb, const(ROWS)), const(r))
            cptr = builder.gep(ca.data, [builder.add(builder.mul(out_row, ldc), c0)])
            builder.store(builder.load(accs[r]), builder.bitcast(cptr, vty.as_pointer()), align=4)
        return context.get_dummy_value()
    return sig, codegen


@jit(inline="always")
def _panel_dot_jit(P, B, C):
    for mb in range(P.shape[0]):
        for c0 in range(0, B.shape[1], LANES):
            _block(P, B, C, mb, c0)


def _panel_dot_python(P, B, C):
    MB, K, R = P.shape
    C[:] = P.transpose(0, 2, 1).reshape(MB * R, K) @ B


# P: (MB, K, ROWS) from pack_panels, B: (K, n) with n a multiple of LANES
# (callers pad their state buffers with zero columns), C: (MB * ROWS, n) ->
# C = A @ B, with A's padding rows giving zero rows. Called from kernels that
# own all three buffers and have checked their shapes.
panel_dot = _panel_dot_python if config.DISABLE_JIT else _panel_dot_jit
