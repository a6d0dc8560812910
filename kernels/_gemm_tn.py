"""A^T @ B for the weight gradients of the recurrent layers and the output
layer: the sum over all T x N time steps of one activation row times one
gradient row, (K, M)^T @ (K, P) with K in the thousands and M, P in the
hundreds.

OpenBLAS may run on AVX2 alone (OPENBLAS_CORETYPE=Haswell on the AMD EPYC
machine of 2026-12-06), and split over the threads along K it needs one
partial (M, P) sum per thread, added up afterwards. Here each thread takes
whole columns of the output, so nothing is added up, and a block of 16 x 16
outputs stays in 16 AVX-512 registers while k runs: per k, one vector load
of B's row (contiguous) and 16 of A's row broadcast, as in _panels.py, and
neither operand is packed (A's 16 values and B's 16 share a cache line
each). k runs in chunks of KC rows, so that a chunk of A stays in the L2
cache while every column block passes over it and a block's rows of B
stay in L1 while every row block does.

Under NUMBA_DISABLE_JIT ``columns`` is a numpy product instead.
"""

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import jit

ROWS = 8    # rows of the output (columns of A) of a block
VECS = 2    # vectors of LANES columns of a block: ROWS * VECS = 16 accumulators
LANES = 16  # one AVX-512 register of float32
WIDTH = VECS * LANES  # columns of a block
KC = 256    # rows of A and B of a chunk: 256 x 256 of A is 256 kB


@intrinsic
def _block(typingctx, A, B, C, k0, kn, m0, nm, p0, sr, sk):
    """C[m0 + r, p0:p0 + VECS * LANES] += sum over k0 <= k < k0 + kn of
    a(m0 + r, k) * B[k, p0:p0 + VECS * LANES], for r < nm <= ROWS, where
    a(i, k) = A.flat[i * sr + k * sk]: sr = 1, sk = M for A: (K, M) read as
    A.T, sr = K, sk = 1 for A: (M, K). B: (K, P), C: (M, P); all
    C-contiguous, of one float dtype; p0 + VECS * LANES <= P. Past nm the
    rows repeat row m0 + nm - 1 and are not stored."""
    arrays = (A, B, C)
    if not all(isinstance(a, types.Array) and a.layout == "C" and a.ndim == 2 for a in arrays):
        return None
    if A.dtype not in (types.float32, types.float64) or B.dtype != A.dtype \
            or C.dtype != A.dtype:
        return None
    sig = types.void(A, B, C, *([types.intp] * 7))

    def codegen(context, builder, sig, args):
        aa, ba, ca = (context.make_array(sig.args[i])(context, builder, args[i])
                      for i in range(3))
        k0, kn, m0, nm, p0, sr, sk = args[3:]
        fty = context.get_value_type(sig.args[0].dtype)
        vty = ir.VectorType(fty, LANES)
        name = f"llvm.fma.v{LANES}f{'32' if fty == ir.FloatType() else '64'}"
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty] * 3), name)
        intp = k0.type

        def const(v):
            return ir.Constant(intp, v)
        P = builder.extract_value(ba.shape, 1)
        last = builder.sub(nm, const(1))
        rows = [builder.add(m0, builder.select(builder.icmp_signed("<", const(r), nm), const(r),
                                               last)) for r in range(ROWS)]
        aoff = [builder.mul(r, sr) for r in rows]
        cptr = [[builder.bitcast(builder.gep(ca.data, [builder.add(builder.mul(r, P),
                                                                   builder.add(p0, const(v * LANES)))]),
                                 vty.as_pointer()) for v in range(VECS)] for r in rows]
        # Accumulators as allocas in the entry block: LLVM promotes them to registers.
        accs = [[cgutils.alloca_once(builder, vty) for _ in range(VECS)] for _ in range(ROWS)]
        for r in range(ROWS):
            for v in range(VECS):
                builder.store(builder.load(cptr[r][v], align=4), accs[r][v])
        splat = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
        undef = ir.Constant(vty, ir.Undefined)
        first = ir.Constant(ir.IntType(32), 0)
        with cgutils.for_range(builder, kn) as loop:
            k = builder.add(k0, loop.index)
            brow = builder.add(builder.mul(k, P), p0)
            bvec = [builder.load(builder.bitcast(builder.gep(ba.data, [builder.add(brow, const(v * LANES))]),
                                                 vty.as_pointer()), align=4) for v in range(VECS)]
            acol = builder.mul(k, sk)
            for r in range(ROWS):
                a = builder.load(builder.gep(aa.data, [builder.add(acol, aoff[r])]))
                av = builder.shuffle_vector(builder.insert_element(undef, a, first), undef, splat)
                for v in range(VECS):
                    builder.store(builder.call(fma, [av, bvec[v], builder.load(accs[r][v])]),
                                  accs[r][v])
        for r in range(ROWS):
            with builder.if_then(builder.icmp_signed("<", const(r), nm)):
                for v in range(VECS):
                    builder.store(builder.load(accs[r][v]), cptr[r][v], align=4)
        return context.get_dummy_value()
    return sig, codegen


@jit(inline="always")
def _columns_jit(A, B, C, c0, c1, transposed):
    M = C.shape[0]
    K = B.shape[0]
    sr, sk = (1, M) if transposed else (K, 1)
    for r in range(M):
        for p in range(c0 * WIDTH, c1 * WIDTH):
            C[r, p] = 0
    for k0 in range(0, K, KC):
        kn = min(KC, K - k0)
        for cb in range(c0, c1):
            for m0 in range(0, M, ROWS):
                _block(A, B, C, k0, kn, m0, min(ROWS, M - m0), cb * WIDTH, sr, sk)


def _columns_python(A, B, C, c0, c1, transposed):
    cols = slice(c0 * WIDTH, c1 * WIDTH)
    C[:, cols] = (A.T if transposed else A) @ B[:, cols]


# A: (K, M) when transposed, else (M, K); B: (K, P) with P a multiple of
# WIDTH, C: (M, P) -> C's column blocks c0 .. c1 - 1 (WIDTH columns each) =
# those of A.T @ B, or A @ B. Called from kernels that own C and have
# checked the shapes.
columns = _columns_python if config.DISABLE_JIT else _columns_jit


@jit(inline="always")
def product(A, B, C, transposed):
    """C = A.T @ B when transposed, else A @ B, for the small products inside
    kernels: on the blocks where C's columns come in whole blocks, else
    np.dot (BLAS). The Winograd layers' 36 per-element products of AlexNet-
    style's conv4, (64 x 96) @ (96 x 96), one thread (2026-12-06, AMD
    EPYC): 483 us with np.dot, 192 on the blocks; (96 x 64) @ (64 x 96)
    from (64 x 96).T, 470 and 198."""
    if C.shape[1] % WIDTH == 0:
        columns(A, B, C, 0, C.shape[1] // WIDTH, transposed)
    elif transposed:
        np.dot(A.T, B, C)
    else:
        np.dot(A, B, C)
