"""Reading and writing IDX files, the format MNIST and Fashion-MNIST ship in.

Every header field is checked against the file before any large buffer is
allocated: a flipped byte in a dimension must cost an error message, not a
MemoryError or a machine that starts swapping.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from math import prod

import numpy as np

from nnlab import NnlabError
from nnlab.files import reading

# IDX type code -> numpy dtype. The format stores multi-byte values big-endian.
_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {(dt.kind, dt.itemsize): code for code, dt in _DTYPES.items()}

MAX_DIMS = 4
# Far above any dataset nnlab trains on, far below what would hurt to allocate.
MAX_DATA_BYTES = 4 * 1024**3
# Deflate cannot do better than about 1032:1, so a gzip file whose header
# promises more than this many times its own size is lying.
MAX_GZIP_RATIO = 1100

_GZIP_MAGIC = b"\x1f\x8b"
_REFETCH = "(re-download it or delete it so nnlab fetches it again)"


class IdxError(NnlabError):
    """An IDX file that cannot be read; the message starts with its path."""


def _error(path, problem: str) -> IdxError:
    return IdxError(f"{path}: {problem}")


def _read_exactly(stream, n: int) -> bytes:
    # Raw and gzip streams may both return short reads before EOF.
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _readinto_full(stream, buf: memoryview) -> int:
    got = 0
    while got < len(buf):
        n = stream.readinto(buf[got:])
        if not n:
            break
        got += n
    return got


def _parse_header(path, stream) -> tuple[np.dtype, tuple[int, ...], int]:
    """Return (dtype, shape, header length) from the start of ``stream``."""
    head = _read_exactly(stream, 4)
    if len(head) < 4:
        if not head:
            raise _error(path, f"empty file {_REFETCH}")
        raise _error(path, f"truncated: file ends inside the IDX header {_REFETCH}")
    if head[0] != 0 or head[1] != 0:
        raise _error(path, f"not an IDX file (starts with bytes {head[:2].hex(' ')}, expected 00 00)")
    code, ndim = head[2], head[3]
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _DTYPES)
        raise _error(path, f"not an IDX file (unknown data type code 0x{code:02X}; known: {known})")
    if not 1 <= ndim <= MAX_DIMS:
        raise _error(path, f"unsupported IDX file: {ndim} dimensions (nnlab reads 1 to {MAX_DIMS})")
    raw_dims = _read_exactly(stream, 4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise _error(path, f"truncated: file ends inside the IDX header {_REFETCH}")
    shape = struct.unpack(f">{ndim}I", raw_dims)
    if 0 in shape:
        raise _error(path, f"has no items (shape {_fmt_shape(shape)})")
    return _DTYPES[code], shape, 4 + 4 * ndim


def _fmt_shape(shape) -> str:
    return "x".join(str(d) for d in shape)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed, into a native-endian array.

    Gzip is recognised by its magic bytes, so a decompressed file that kept
    its ``.gz`` name (or the reverse) still reads. Any problem with the file
    raises :class:`IdxError` with a one-line message naming it.
    """
    # Missing, a folder, unreadable, or an I/O error halfway through: one line each.
    with reading(path, IdxError, want="an IDX file"), open(path, "rb") as raw:
        is_gzip = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        file_size = os.fstat(raw.fileno()).st_size
        if is_gzip:
            return _read_gzip(path, raw, file_size)
        return _read_raw(path, raw, file_size)


def _check_claim(path, dtype, shape) -> int:
    expected = prod(shape) * dtype.itemsize
    if expected > MAX_DATA_BYTES:
        raise _error(
            path,
            f"corrupt header: shape {_fmt_shape(shape)} means {expected} bytes of data, "
            f"more than the {MAX_DATA_BYTES} nnlab accepts {_REFETCH}",
        )
    return expected


def _read_raw(path, stream, file_size: int) -> np.ndarray:
    dtype, shape, header_len = _parse_header(path, stream)
    expected = _check_claim(path, dtype, shape)
    have = file_size - header_len
    if have < expected:
        raise _error(path, f"truncated: header promises {expected} bytes of data, file has {have} {_REFETCH}")
    if have > expected:
        extra = have - expected
        raise _error(
            path,
            f"{extra} trailing byte{'s' if extra > 1 else ''} after the {expected} bytes of data "
            f"the header promises {_REFETCH}",
        )
    buf = np.empty(expected, dtype=np.uint8)
    got = _readinto_full(stream, memoryview(buf))
    if got != expected:  # the file shrank between fstat and read
        raise _error(path, f"truncated: header promises {expected} bytes of data, file has {got} {_REFETCH}")
    return _to_array(buf, dtype, shape)


def _read_gzip(path, stream, file_size: int) -> np.ndarray:
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as gz:
            dtype, shape, _ = _parse_header(path, gz)
            expected = _check_claim(path, dtype, shape)
            if expected > MAX_GZIP_RATIO * file_size:
                raise _error(
                    path,
                    f"corrupt header: it promises {expected} bytes of data, "
                    f"more than a {file_size}-byte gzip file can hold {_REFETCH}",
                )
            # One byte more than promised: getting it means trailing data, and
            # reading up to EOF makes gzip verify the CRC of what we got.
            buf = np.empty(expected + 1, dtype=np.uint8)
            got = _readinto_full(gz, memoryview(buf))
    except EOFError:
        raise _error(path, f"truncated: the gzip stream ends early {_REFETCH}") from None
    except (gzip.BadGzipFile, zlib.error) as err:
        # Before read_idx's OSError handling: BadGzipFile is an OSError.
        raise _error(path, f"corrupt gzip data ({_one_line(err)}) {_REFETCH}") from None
    if got < expected:
        raise _error(path, f"truncated: header promises {expected} bytes of data, file has {got} {_REFETCH}")
    if got > expected:
        raise _error(path, f"trailing bytes after the {expected} bytes of data the header promises "
                           f"{_REFETCH}")
    return _to_array(buf[:expected], dtype, shape)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _to_array(buf: np.ndarray, dtype: np.dtype, shape) -> np.ndarray:
    arr = buf.view(dtype).reshape(shape)
    if not dtype.isnative:
        # Swap in place: the buffer is ours, a copy would double peak memory.
        arr.byteswap(inplace=True)
        arr = arr.view(dtype.newbyteorder("="))
    return arr


def write_idx(path: str | os.PathLike, array) -> None:
    """Write ``array`` as an IDX file, gzip-compressed if ``path`` ends in ``.gz``.

    Supports uint8, int8, int16, int32, float32 and float64 arrays of 1 to 4
    non-empty dimensions, i.e. exactly what :func:`read_idx` accepts.
    """
    arr = np.asarray(array)
    code = _CODES.get((arr.dtype.kind, arr.dtype.itemsize))
    if code is None:
        supported = "uint8, int8, int16, int32, float32, float64"
        raise _error(path, f"cannot write {arr.dtype} as IDX (supported: {supported})")
    if not 1 <= arr.ndim <= MAX_DIMS:
        raise _error(path, f"cannot write a {arr.ndim}-D array as IDX (1 to {MAX_DIMS} dimensions)")
    if 0 in arr.shape or max(arr.shape) > 0xFFFFFFFF:
        raise _error(path, f"cannot write an array of shape {_fmt_shape(arr.shape)} as IDX")
    header = struct.pack(f">BBBB{arr.ndim}I", 0, 0, code, arr.ndim, *arr.shape)
    data = np.ascontiguousarray(arr, dtype=_DTYPES[code]).tobytes()
    if str(path).endswith(".gz"):
        # No mtime or name in the gzip header: same array, same bytes.
        with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
            f.write(header)
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(header)
            f.write(data)
