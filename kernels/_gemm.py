"""Large matrix products split over Numba's threads.

BLAS runs single-threaded inside nnlab (the kernels own the cores), so a big
product is cut into one block per thread here: by rows of the output for
A @ B, and along the shared dimension, with one partial sum per thread, for
A^T @ B, whose output is small. Large float32 products take nnlab's own
register-blocked kernels instead of BLAS (PANEL_DEPTH).
"""

import numpy as np

from ._gemm_tn import ROWS as TN_ROWS
from ._gemm_tn import WIDTH, columns
from ._panels import LANES, ROWS, column_panels, rows_dot
from ._pool import blocked
from ._split import block, threads_for

# Below a few dozen rows a second thread costs more than it saves.
MIN_ROWS = 64

# float32 products of at least PANEL_ROWS rows with at most PANEL_DEPTH
# terms per sum run on _panels.rows_dot, the weights packed once a call:
# its 16 x 16 blocks stay in registers and use AVX-512, where OpenBLAS may
# be confined to AVX2 (OPENBLAS_CORETYPE=Haswell on the AMD EPYC machine of
# 2026-12-06). There, 2 threads, medians of 6 alternating rounds: (2048,
# 256) @ (256, 1024), the LSTM's input projection, 4.80-4.92 ms in OpenBLAS,
# 3.30-3.32 here (packing included), 3.86 on _gemm_tn.py's blocks; (2048,
# 256) @ (256, 80) 0.45 against 0.38. With more terms a block's rows and
# panel no longer fit the L1 cache ((2048, 1024) @ (1024, 256): 5.65 against
# BLAS's 5.05), and _gemm_tn.py's blocks take the product where its columns
# come in whole blocks: 2.83 ms there. a.T @ b summing at least TN_DEPTH
# rows takes them too: (2048, 256).T @ (2048, 1024) 5.06-5.12 -> 3.14-3.71.
PANEL_ROWS = 4 * ROWS
PANEL_DEPTH = 256
TN_DEPTH = 256


@blocked
def _matmul_kernel(a, b, out, nt, k0, k1):
    """a: (M, K), b: (K, P) -> out: (M, P); blocks k0..k1 of nt (_pool.py)."""
    for t in range(k0, k1):
        lo, n = block(t, nt, a.shape[0])
        if n:
            np.dot(a[lo:lo + n], b, out[lo:lo + n])


@blocked
def _matmul_tn_kernel(a, b, parts, nt, k0, k1):
    """a: (K, M), b: (K, P) -> parts: (nt, M, P), parts summing to a^T @ b;
    blocks k0..k1 of nt (_pool.py)."""
    for t in range(k0, k1):
        lo, n = block(t, nt, a.shape[0])
        if n:
            np.dot(a[lo:lo + n].T, b[lo:lo + n], parts[t])
        else:
            parts[t][:] = 0


@blocked
def _panels_kernel(a, P, out, nt, k0, k1):
    """a: (M, K), P: b's column panels (_panels.column_panels) -> out: (M,
    panels * LANES); blocks k0..k1 of nt (_pool.py)."""
    for t in range(k0, k1):
        lo, n = block(t, nt, a.shape[0])
        if n:
            rows_dot(a, lo, n, P, out[lo:lo + n])


def takes_panels(a, b):
    """Whether matmul(a, b) runs on the panels kernel rather than BLAS."""
    return (a.dtype == np.float32 and a.flags.c_contiguous and a.shape[0] >= PANEL_ROWS
            and 0 < a.shape[1] <= PANEL_DEPTH and b.shape[1] > 0)


def _blocks_fit(a, b, rows, long_sums):
    """What both products on _gemm_tn.py's kernel need: float32, contiguous,
    ``rows`` output rows for at least one block, long sums, and whole
    blocks of output columns, two at least."""
    return (a.dtype == np.float32 and a.flags.c_contiguous and b.flags.c_contiguous
            and long_sums and rows >= TN_ROWS
            and b.shape[1] % WIDTH == 0 and b.shape[1] >= 2 * WIDTH)


def takes_columns(a, b):
    """Whether matmul(a, b) runs on _gemm_tn.py's kernel rather than BLAS."""
    return _blocks_fit(a, b, a.shape[0], a.shape[1] > PANEL_DEPTH)


def matmul(a, b, out=None):
    """a @ b for C-contiguous 2-D a: (M, K), b: (K, P) of one dtype."""
    M, P = a.shape[0], b.shape[1]
    if out is None:
        out = np.empty((M, P), a.dtype)
    if takes_columns(a, b):
        whole = out if out.flags.c_contiguous else np.empty((M, P), a.dtype)
        _columns_kernel(a, b, whole, False, threads_for(P // WIDTH))
        if whole is not out:
            out[...] = whole
    elif takes_panels(a, b):
        panels = column_panels(b)
        whole = out if P % LANES == 0 and out.flags.c_contiguous else \
            np.empty((M, panels.shape[0] * LANES), a.dtype)
        _panels_kernel(a, panels, whole, threads_for(M, MIN_ROWS))
        if whole is not out:
            out[...] = whole[:, :P]
    elif M and a.shape[1]:
        _matmul_kernel(a, b, out, threads_for(M, MIN_ROWS))
    else:
        out[...] = 0
    return out


@blocked
def _columns_kernel(a, b, out, transposed, nt, k0, k1):
    """a: (K, M) when transposed, else (M, K); b: (K, P), P a multiple of
    WIDTH -> out: (M, P) = a.T @ b or a @ b, each block of nt a share of
    out's WIDTH-column blocks (_pool.py)."""
    for t in range(k0, k1):
        lo, n = block(t, nt, b.shape[1] // WIDTH)
        if n:
            columns(a, b, out, lo, lo + n, transposed)


def takes_tn_columns(a, b):
    """Whether matmul_tn(a, b) runs on _gemm_tn.py's kernel rather than BLAS."""
    return _blocks_fit(a, b, a.shape[1], a.shape[0] >= TN_DEPTH)


def matmul_tn(a, b):
    """a.T @ b for C-contiguous 2-D a: (K, M), b: (K, P) of one dtype."""
    if takes_tn_columns(a, b):
        out = np.empty((a.shape[1], b.shape[1]), a.dtype)
        _columns_kernel(a, b, out, True, threads_for(b.shape[1] // WIDTH))
        return out
    nt = threads_for(a.shape[0], MIN_ROWS)
    parts = np.empty((nt, a.shape[1], b.shape[1]), a.dtype)
    if a.shape[0] == 0:
        return np.zeros(parts.shape[1:], a.dtype)
    _matmul_tn_kernel(a, b, parts, nt)
    # Added in place: parts.sum(axis=0) took 104 us for (2, 256, 1024), and
    # this 31 us (a second thread for it, 146 us).
    out = parts[0]
    for part in parts[1:]:
        out += part
    return out
