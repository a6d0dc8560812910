"""Rows of tests/test_hostile_inputs.py for ``nnlab info``: it reads every
array's header, so a damaged or forged file must fail in one line, bounded,
and never hang. A helper module of rows (CASES), not a test module."""

from hostile import Case
from hostile_makers import checkpoint, checkpoint_bytes, fifo, folder, meta_blob, text_file
from npz_craft import with_declared_size

CASES = [
    Case("info-missing", ("info", "{w}/nope.npz"), 1, ("nope.npz", "no such")),
    Case("info-folder", ("info", "{w}/adir"), 2, ("adir",), folder()),
    Case("info-text-file", ("info", "{w}/notes.txt"), 1, ("notes.txt",),
         text_file(b"not a checkpoint\n", "notes.txt")),
    Case("info-truncated", ("info", "{w}/bad.npz"), 1, ("bad.npz",),
         checkpoint_bytes(lambda raw: raw[:len(raw) // 2])),
    Case("info-declares-4gb", ("info", "{w}/bad.npz"), 1, ("bad.npz", "memory available"),
         checkpoint_bytes(lambda raw: with_declared_size(raw, "params/out.w.npy", 0xF000_0000)),
         memory=1 << 30, max_alloc_mb=64),
    Case("info-meta-not-json", ("info", "{w}/bad.npz"), 1, ("bad.npz",),
         checkpoint(blob=meta_blob({})[:0])),
    Case("info-fifo", ("info", "{w}/fifo"), 1, ("fifo",), fifo()),
    Case("info-unknown-option", ("info", "cnn.npz", "--json", "--bogus"), 2, ("--bogus",)),
]
