"""Crafting damaged .npz files byte by byte, for tests of the checkpoint reader.

A helper module, not a test module: test modules import it, never each
other.
"""

import io
import struct
import zipfile

import numpy as np


def rezip(raw, change):
    """The zip ``raw`` with each member's bytes passed through change(name, data),
    written again with correct CRCs."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in src.namelist():
            z.writestr(name, change(name, src.read(name)))
    return buf.getvalue()


def npy_with_shape(data, shape):
    """The .npy bytes ``data`` with a header claiming ``shape`` (the data unchanged)."""
    npy = io.BytesIO(data)
    np.lib.format.read_magic(npy)
    _, fortran, dtype = np.lib.format.read_array_header_1_0(npy)
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": fortran,
               "shape": tuple(shape)})
    return head.getvalue() + data[npy.tell():]


def _central_entries(raw, member):
    """Offsets of ``member``'s entries in the zip's central directory."""
    i = raw.find(b"PK\x01\x02")
    while i != -1:
        name_len = struct.unpack("<H", raw[i + 28:i + 30])[0]
        if raw[i + 46:i + 46 + name_len] == member.encode():
            yield i
        i = raw.find(b"PK\x01\x02", i + 4)


def with_compression_method(raw, member, method):
    """``raw`` with ``member``'s compression method set to ``method`` in both of
    its zip headers (local and central directory)."""
    b = bytearray(raw)
    info = zipfile.ZipFile(io.BytesIO(raw)).getinfo(member)
    b[info.header_offset + 8:info.header_offset + 10] = struct.pack("<H", method)
    for i in _central_entries(raw, member):
        b[i + 10:i + 12] = struct.pack("<H", method)
    return bytes(b)


def with_declared_size(raw, member, size):
    """``raw`` with the central directory declaring ``size`` bytes (below 4 GB:
    0xFFFFFFFF would mean ZIP64) as ``member``'s uncompressed size."""
    b = bytearray(raw)
    for i in _central_entries(raw, member):
        b[i + 24:i + 28] = struct.pack("<I", size)
    return bytes(b)
