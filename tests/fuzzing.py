"""Shared pieces of the fuzz tests (test_fuzz.py, test_fuzz_checkpoints.py):
the Hypothesis settings, with $NNLAB_FUZZ_EXAMPLES for longer sessions, the
byte-level mutations of a valid file, and writing bytes to a file."""

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def examples(default):
    """max_examples: ``default``, or $NNLAB_FUZZ_EXAMPLES for a longer session."""
    return int(os.environ.get("NNLAB_FUZZ_EXAMPLES", default))


def fuzz(default):
    return settings(max_examples=examples(default), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


# -- mutations ----------------------------------------------------------------------------

# Offsets: near the start (headers), near the end (zip's central directory), anywhere.
offsets = st.one_of(st.integers(0, 63), st.integers(-64, -1), st.integers(0, 1 << 20))
mutations = st.lists(st.one_of(
    st.tuples(st.just("flip"), offsets, st.integers(1, 255)),
    st.tuples(st.just("set"), offsets, st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("insert"), offsets, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), offsets, st.integers(1, 16)),
    st.tuples(st.just("truncate"), offsets),
), min_size=1, max_size=4)


def _at(offset, n):
    if n == 0:
        return 0
    return offset % n if offset >= 0 else max(0, n + offset)


def mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for op in ops:
        i = _at(op[1], len(b))
        if op[0] == "flip" and b:
            b[i] ^= op[2]
        elif op[0] == "set":
            b[i:i + len(op[2])] = op[2]
        elif op[0] == "insert":
            b[i:i] = op[2]
        elif op[0] == "delete":
            del b[i:i + op[2]]
        elif op[0] == "truncate":
            del b[i:]
    return bytes(b)


def write(tmp_path, data: bytes, name="f"):
    path = tmp_path / name
    path.write_bytes(data)
    return path
