import gzip
import struct
import tracemalloc

import numpy as np
import pytest

from nnlab import NnlabError
from nnlab.data.idx import IdxError, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def header(code, *dims):
    return struct.pack(f">BBBB{len(dims)}I", 0, 0, code, len(dims), *dims)


def put(path, data: bytes, compress: bool):
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def assert_idx_error(path, *fragments):
    with pytest.raises(IdxError) as info:
        read_idx(path)
    message = str(info.value)
    assert isinstance(info.value, NnlabError)
    assert str(path) in message
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
    return message


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = tmp_path / f"x-idx3{suffix}"
    write_idx(path, arr)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert back.shape == (3, 4, 5)
    np.testing.assert_array_equal(back, arr)
    assert back.flags.writeable


@pytest.mark.parametrize("shape", [(7,), (2, 3), (2, 3, 4), (1, 2, 3, 4)])
def test_round_trip_shapes(tmp_path, shape):
    arr = np.arange(np.prod(shape), dtype=np.int16).reshape(shape) - 5
    write_idx(tmp_path / "a", arr)
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), arr)


def test_layout_is_big_endian_idx(tmp_path):
    write_idx(tmp_path / "a", np.array([1, 258], dtype=np.int32))
    assert (tmp_path / "a").read_bytes() == header(0x0C, 2) + b"\0\0\0\x01\0\0\x01\x02"


def test_gzip_detected_by_content_not_name(tmp_path):
    arr = np.arange(6, dtype=np.uint8).reshape(2, 3)
    write_idx(tmp_path / "a.gz", arr)
    (tmp_path / "a.gz").rename(tmp_path / "plain-name")
    write_idx(tmp_path / "b", arr)
    (tmp_path / "b").rename(tmp_path / "misnamed.gz")
    np.testing.assert_array_equal(read_idx(tmp_path / "plain-name"), arr)
    np.testing.assert_array_equal(read_idx(tmp_path / "misnamed.gz"), arr)


def test_mnist_like_hand_built(tmp_path):
    data = bytes(i % 256 for i in range(2 * 28 * 28))
    path = put(tmp_path / "train-images-idx3-ubyte.gz", header(0x08, 2, 28, 28) + data, True)
    arr = read_idx(path)
    assert arr.shape == (2, 28, 28) and arr.dtype == np.uint8
    assert arr.ravel()[300] == 300 % 256


@pytest.mark.parametrize("gz", [False, True])
def test_wrong_magic(tmp_path, gz):
    path = put(tmp_path / "f", b"\x12\x34\x08\x01\0\0\0\x01\x05", gz)
    assert_idx_error(path, "not an IDX file")


@pytest.mark.parametrize("gz", [False, True])
def test_unknown_type_code(tmp_path, gz):
    path = put(tmp_path / "f", header(0x0A, 1) + b"\x05", gz)
    assert_idx_error(path, "0x0A")


@pytest.mark.parametrize("ndim", [0, 5])
def test_bad_number_of_dims(tmp_path, ndim):
    path = put(tmp_path / "f", bytes([0, 0, 8, ndim]) + b"\0\0\0\x01" * ndim + b"\x05", False)
    assert_idx_error(path, f"{ndim} dimensions")


def test_zero_sized_dimension(tmp_path):
    assert_idx_error(put(tmp_path / "f", header(0x08, 0, 28, 28), False), "has no items")


@pytest.mark.parametrize("content", [b"", b"\0\0", header(0x08, 3, 28, 28)[:9]])
def test_file_ends_in_header(tmp_path, content):
    path = put(tmp_path / "f", content, False)
    assert_idx_error(path)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_data(tmp_path, gz):
    path = put(tmp_path / "f.gz", header(0x08, 10, 4, 4) + bytes(100), gz)
    assert_idx_error(path, "truncated", "160", "100", "re-download")


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_multibyte(tmp_path, gz):
    path = put(tmp_path / "f", header(0x0D, 3) + bytes(11), gz)
    assert_idx_error(path, "truncated", "12")


@pytest.mark.parametrize("gz", [False, True])
def test_trailing_bytes(tmp_path, gz):
    path = put(tmp_path / "f", header(0x08, 2, 2) + bytes(5), gz)
    assert_idx_error(path, "trailing")


def test_truncated_gzip_stream(tmp_path):
    blob = gzip.compress(header(0x08, 100, 10) + np.random.default_rng(0).bytes(1000))
    path = tmp_path / "f.gz"
    path.write_bytes(blob[: len(blob) // 2])
    assert_idx_error(path, "truncated")


def test_corrupt_gzip_body(tmp_path):
    blob = bytearray(gzip.compress(header(0x08, 100, 10) + np.random.default_rng(0).bytes(1000)))
    blob[len(blob) // 2] ^= 0xFF
    path = tmp_path / "f.gz"
    path.write_bytes(bytes(blob))
    assert_idx_error(path, "gzip")


def test_gzip_crc_mismatch(tmp_path):
    blob = bytearray(gzip.compress(header(0x08, 4) + b"abcd"))
    blob[-8] ^= 0xFF  # the CRC32 in the trailer
    path = tmp_path / "f.gz"
    path.write_bytes(bytes(blob))
    assert_idx_error(path, "gzip")


@pytest.fixture
def forbid_big_allocations(monkeypatch):
    real_empty, real_frombuffer = np.empty, np.frombuffer

    def sized(shape):
        return int(np.prod(shape)) if not isinstance(shape, int) else shape

    def empty(shape, *args, **kwargs):
        assert sized(shape) < 1 << 20, f"np.empty({shape}) called"
        return real_empty(shape, *args, **kwargs)

    def frombuffer(buffer, *args, **kwargs):
        assert len(memoryview(buffer).cast("B")) < 1 << 20
        return real_frombuffer(buffer, *args, **kwargs)

    monkeypatch.setattr(np, "empty", empty)
    monkeypatch.setattr(np, "frombuffer", frombuffer)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dims", [(0xFFFFFFFF, 0xFFFFFFFF, 28), (1 << 30, 8), (60000, 28, 28)])
def test_huge_header_rejected_without_allocating(tmp_path, gz, dims, forbid_big_allocations):
    # (60000, 28, 28) is under the absolute cap: only the size of this small
    # file (raw) or its compression ratio (gzip) can reject it.
    path = put(tmp_path / "f", header(0x08, *dims) + bytes(1000), gz)
    tracemalloc.start()
    try:
        assert_idx_error(path, "re-download")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Nothing of the claimed size was allocated or read: a read of it would
    # have gone through more than a megabyte of buffers.
    assert peak < 1 << 20


def test_missing_file(tmp_path):
    assert_idx_error(tmp_path / "nope.gz", "no such file")


def test_missing_parent(tmp_path):
    (tmp_path / "afile").write_bytes(b"")
    assert_idx_error(tmp_path / "afile" / "nope.gz", "no such file")


def test_directory(tmp_path):
    assert_idx_error(tmp_path, "is a folder")


def test_permission_denied(tmp_path, monkeypatch):
    # Faked, because the tests may run as root, who can read mode-000 files.
    import nnlab.data.idx as idx

    def denied(path, mode="r", *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(idx, "open", denied, raising=False)
    assert_idx_error(tmp_path / "f", "permission denied")


@pytest.mark.parametrize(
    "arr",
    [
        np.zeros(3, dtype=np.int64),
        np.zeros(3, dtype=bool),
        np.zeros(()),
        np.zeros((1,) * 5, np.uint8),
        np.zeros(0),
    ],
)
def test_write_rejects_unsupported(tmp_path, arr):
    with pytest.raises(IdxError, match="cannot write"):
        write_idx(tmp_path / "out", arr)


def test_write_is_reproducible(tmp_path):
    arr = np.arange(100, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", arr)
    write_idx(tmp_path / "b.gz", arr)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
