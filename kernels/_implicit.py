"""The lanes convolution's sums (conv_lanes.py) as a matrix product whose
right operand is never formed: implicit im2col.

In the lanes layout a convolution is acc[f, q] = b[f] + sum_k w[f, k]
X[offs[k] + q], k running over the C * HH * WW taps and offs[k] the flat
offset of tap k's shifted row. That is the product (F, K) @ (K, L) of the
weights with columns that im2col would write, and here they are read in
place: a block of ROWS filters times VECS vectors of 16 positions stays in
ROWS * VECS vector registers for the whole sum over k; per k, VECS loads
of X and ROWS weights broadcast to all lanes, ROWS * VECS fused
multiply-adds.

Numba's own loops (conv_lanes._kernel3x3 before this file: two filters'
nine taps a pass) kept the accumulators in memory and ran on 256-bit
vectors. 16 -> 16 channels at 28 x 28, batch 64, 2 threads, forward: 1.49
ms that way, 0.96 here; 6 -> 16 with 5 x 5 kernels at 14 x 14 0.53 and
0.28. Blocks of ROWS x VECS (forward ms of the same two layers): 8 x 2
0.96 / 0.28, 8 x 3 0.92 / 0.34, 4 x 4 1.11 / 0.32, 16 x 1 1.12 / 0.35,
6 x 2 1.17 / 0.34.

As in _panels.py the block is LLVM IR (an @intrinsic). Under
NUMBA_DISABLE_JIT ``convolve`` is a numpy product over gathered columns.
"""

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import jit

ROWS = 8    # filters of a block
VECS = 2    # vectors of LANES positions of a block: ROWS * VECS = 16 accumulators
LANES = 16  # one AVX-512 register of float32
WIDTH = VECS * LANES  # positions of a block; acc's length must be a multiple of it


@jit
def padded_length(L):
    """acc's length for L positions: whole blocks."""
    return -(-L // WIDTH) * WIDTH


@intrinsic
def _block(typingctx, Wk, X, offs, b, q0, r0, n, acc):
    """acc[r0 + r, q0:q0 + WIDTH] = b[r0 + r] + sum_k Wk[r0 + r, k]
    X.flat[offs[k] + q0:...] for r < n, 1 <= n <= ROWS. Wk: (F, K), X: (C,
    Lx), offs: (K,) intp, b: (F,), acc: (F, L), all C-contiguous. Past n
    the rows repeat row r0 + n - 1 and are not stored."""
    arrays = (Wk, X, offs, b, acc)
    if not all(isinstance(a, types.Array) and a.layout == "C" for a in arrays):
        return None
    dt = Wk.dtype
    if dt not in (types.float32, types.float64) or offs.dtype != types.intp \
            or any(a.dtype != dt for a in (X, b, acc)) \
            or (Wk.ndim, X.ndim, offs.ndim, b.ndim, acc.ndim) != (2, 2, 1, 1, 2):
        return None
    sig = types.void(Wk, X, offs, b, types.intp, types.intp, types.intp, acc)

    def codegen(context, builder, sig, args):
        wa, xa, oa, ba = (context.make_array(sig.args[i])(context, builder, args[i])
                          for i in range(4))
        ca = context.make_array(sig.args[7])(context, builder, args[7])
        q0, r0, n = args[4], args[5], args[6]
        fty = context.get_value_type(sig.args[0].dtype)
        vty = ir.VectorType(fty, LANES)
        name = f"llvm.fma.v{LANES}f{'32' if fty == ir.FloatType() else '64'}"
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty] * 3), name)
        intp = q0.type

        def const(v):
            return ir.Constant(intp, v)
        K = builder.extract_value(wa.shape, 1)
        ldc = builder.extract_value(ca.shape, 1)
        last = builder.sub(n, const(1))
        rows = [builder.add(r0, builder.select(builder.icmp_signed("<", const(r), n),
                                               const(r), last)) for r in range(ROWS)]
        wptr = [builder.gep(wa.data, [builder.mul(r, K)]) for r in rows]
        splat = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
        undef = ir.Constant(vty, ir.Undefined)
        first = ir.Constant(ir.IntType(32), 0)

        def broadcast(value):
            return builder.shuffle_vector(builder.insert_element(undef, value, first), undef, splat)
        # Accumulators as allocas in the entry block: LLVM promotes them to
        # registers. Each starts at its filter's bias.
        accs = [[cgutils.alloca_once(builder, vty) for _ in range(VECS)] for _ in range(ROWS)]
        for r in range(ROWS):
            bias = broadcast(builder.load(builder.gep(ba.data, [rows[r]])))
            for v in range(VECS):
                builder.store(bias, accs[r][v])
        xbase = builder.gep(xa.data, [q0])
        with cgutils.for_range(builder, K) as loop:
            k = loop.index
            at = builder.gep(xbase, [builder.load(builder.gep(oa.data, [k]))])
            xs = [builder.load(builder.bitcast(builder.gep(at, [const(v * LANES)]),
                                               vty.as_pointer()), align=4)
                  for v in range(VECS)]
            for r in range(ROWS):
                a = broadcast(builder.load(builder.gep(wptr[r], [k])))
                for v in range(VECS):
                    builder.store(builder.call(fma, [a, xs[v], builder.load(accs[r][v])]),
                                  accs[r][v])
        for r in range(ROWS):
            with builder.if_then(builder.icmp_signed("<", const(r), n)):
                row = builder.gep(ca.data, [builder.add(builder.mul(rows[r], ldc), q0)])
                for v in range(VECS):
                    dst = builder.bitcast(builder.gep(row, [const(v * LANES)]), vty.as_pointer())
                    builder.store(builder.load(accs[r][v]), dst, align=4)
        return context.get_dummy_value()
    return sig, codegen


@jit(inline="always")
def _convolve_jit(Wk, X, offs, b, acc):
    F = Wk.shape[0]
    for q0 in range(0, acc.shape[1], WIDTH):
        for r0 in range(0, F, ROWS):
            _block(Wk, X, offs, b, q0, r0, min(ROWS, F - r0), acc)


def _convolve_python(Wk, X, offs, b, acc):
    L = acc.shape[1]
    cols = X.reshape(-1)[offs[:, None] + np.arange(L)]
    acc[:] = b[:, None] + Wk @ cols


# Wk: (F, K), X: (rows, Lx) with X.size >= offs.max() + acc's length, offs:
# (K,) flat offsets into X (_lanes_layout.tap_offsets), b: (F,) -> acc: (F,
# L) = b + the convolution, L a multiple of WIDTH. Called from kernels that
# own acc and X and have checked the shapes.
convolve = _convolve_python if config.DISABLE_JIT else _convolve_jit


# The weight gradient's block: 16 -> 16 at 28 x 28, batch 64, 2 threads, dw
# ms (2026-12-05): 4 x 4 taps over chunks of 1,024 positions 1.21, of 2,048
# 1.07, of 8,192 1.35; 4 x 6 1.04, but more code for a 3% gain; 2 x 8 1.33;
# 8 x 2 1.41; 2 x 9 1.34.
DW_ROWS = 4  # filters of a weight-gradient block
DW_TAPS = 4  # taps of a block: DW_ROWS * DW_TAPS vector accumulators


@intrinsic
def _dw_block(typingctx, D, X, offs, q0, nq, r0, n, k0, m, part):
    """part[r0 + r, k0 + j, :] += sum over q0 <= q < q0 + nq, in steps of
    LANES, of D[r0 + r, q:q + LANES] * X.flat[offs[k0 + j] + q:...] for r <
    n <= DW_ROWS and j < m <= DW_TAPS, lane by lane (summed over lanes
    later); nq a multiple of LANES. D: (F, LD), X: (C, Lx), offs: (K,)
    intp, part: (F, K, LANES), all C-contiguous."""
    arrays = (D, X, offs, part)
    if not all(isinstance(a, types.Array) and a.layout == "C" for a in arrays):
        return None
    dt = D.dtype
    if dt not in (types.float32, types.float64) or offs.dtype != types.intp \
            or X.dtype != dt or part.dtype != dt \
            or (D.ndim, X.ndim, offs.ndim, part.ndim) != (2, 2, 1, 3):
        return None
    sig = types.void(D, X, offs, *([types.intp] * 6), part)

    def codegen(context, builder, sig, args):
        da, xa, oa = (context.make_array(sig.args[i])(context, builder, args[i])
                      for i in range(3))
        pa = context.make_array(sig.args[9])(context, builder, args[9])
        q0, nq, r0, n, k0, m = args[3:9]
        fty = context.get_value_type(sig.args[0].dtype)
        vty = ir.VectorType(fty, LANES)
        name = f"llvm.fma.v{LANES}f{'32' if fty == ir.FloatType() else '64'}"
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty] * 3), name)
        intp = q0.type

        def const(v):
            return ir.Constant(intp, v)

        def clamp(start, i, count):
            return builder.add(start, builder.select(builder.icmp_signed("<", const(i), count),
                                                     const(i), builder.sub(count, const(1))))
        K = builder.extract_value(pa.shape, 1)
        ldd = builder.extract_value(da.shape, 1)
        rows = [clamp(r0, r, n) for r in range(DW_ROWS)]
        taps = [clamp(k0, j, m) for j in range(DW_TAPS)]
        dptr = [builder.gep(da.data, [builder.add(builder.mul(r, ldd), q0)]) for r in rows]
        xptr = [builder.gep(xa.data, [builder.add(builder.load(builder.gep(oa.data, [k])), q0)])
                for k in taps]

        def vec(ptr, at):
            return builder.bitcast(builder.gep(ptr, [at]), vty.as_pointer())
        slot = [[vec(pa.data, builder.mul(builder.add(builder.mul(r, K), k), const(LANES)))
                 for k in taps] for r in rows]
        accs = [[cgutils.alloca_once(builder, vty) for _ in taps] for _ in rows]
        for r in range(DW_ROWS):
            for j in range(DW_TAPS):
                builder.store(builder.load(slot[r][j], align=4), accs[r][j])
        count = builder.sdiv(nq, const(LANES))
        with cgutils.for_range(builder, count) as loop:
            q = builder.mul(loop.index, const(LANES))
            ds = [builder.load(vec(p, q), align=4) for p in dptr]
            xs = [builder.load(vec(p, q), align=4) for p in xptr]
            for r in range(DW_ROWS):
                for j in range(DW_TAPS):
                    builder.store(builder.call(fma, [ds[r], xs[j], builder.load(accs[r][j])]),
                                  accs[r][j])
        for r in range(DW_ROWS):
            for j in range(DW_TAPS):
                inside = builder.and_(builder.icmp_signed("<", const(r), n),
                                      builder.icmp_signed("<", const(j), m))
                with builder.if_then(inside):
                    builder.store(builder.load(accs[r][j]), slot[r][j], align=4)
        return context.get_dummy_value()
    return sig, codegen


# Positions of a weight-gradient pass: DW_ROWS rows of D this long stay in
# the L1 cache while the taps' rows of X stream past them.
DW_CHUNK = 2048


@jit(inline="always")
def _weight_sums_jit(D, X, offs, part):
    F, K = part.shape[0], part.shape[1]
    L = D.shape[1]
    for q0 in range(0, L, DW_CHUNK):
        nq = min(DW_CHUNK, L - q0)
        for r0 in range(0, F, DW_ROWS):
            for k0 in range(0, K, DW_TAPS):
                _dw_block(D, X, offs, q0, nq, r0, min(DW_ROWS, F - r0), k0,
                          min(DW_TAPS, K - k0), part)


def _weight_sums_python(D, X, offs, part):
    L = D.shape[1]
    cols = X.reshape(-1)[offs[:, None] + np.arange(L)]
    part[:, :, 0] += D @ cols.T


@jit
def lane_sums(part, out):
    """part: (F, K, LANES), weight_sums' per-lane sums -> out: (F, K), their
    totals over the lanes."""
    F, K = out.shape
    for f in range(F):
        for k in range(K):
            s = part[f, k, 0]
            for lane in range(1, LANES):
                s += part[f, k, lane]
            out[f, k] = s


# D: (F, L) the output gradient in the lanes layout, L a multiple of LANES,
# X and offs as for convolve -> part: (F, K, LANES) += the weight
# gradient's sums lane by lane; part.sum(axis=2) is dw.reshape(F, K).
# Called from kernels that own part and have checked the shapes.
weight_sums = _weight_sums_python if config.DISABLE_JIT else _weight_sums_jit
