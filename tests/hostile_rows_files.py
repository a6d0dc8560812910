"""Rows of tests/test_hostile_inputs.py: bad text files, checkpoint paths, IDX
files, and damaged checkpoints given to every command that reads one.

A helper module of rows (CASES), not a test module; moved here
unchanged from test_hostile_inputs.py, which had grown past 600 lines.
"""

import gzip

import numpy as np

from tinydata import MNIST_FILES
from hostile import Case
from hostile_makers import (CNN_RESUME, CNN_TRAIN, LM_RESUME, LM_TRAIN, POEM, checkpoint,
                            checkpoint_bytes, dataset, drop_param, folder, gunzip_then,
                            idx_header, meta_blob, no_metadata, not_a_zip, pickled_array,
                            text_file, wrong_shape, zip_without_arrays)

TRAIN_LM_BAD = ("train-charlm", "{w}/bad.txt", *LM_TRAIN)
EVAL_LM_BAD = ("eval", "charlm.npz", "{w}/bad.txt")
CNN_BADDATA = ("train-cnn", "--data", "{w}/baddata", "--no-download", "--epochs", "1",
               "--batch-size", "32")

CASES = [
    # ---- text files: train-charlm FILE and eval CKPT TEXTFILE
    Case("charlm-file-missing", ("train-charlm", "{w}/nope.txt", *LM_TRAIN), 1, ("nope.txt", "no such file")),
    Case("charlm-file-is-folder", ("train-charlm", "{w}/adir", *LM_TRAIN), 1, ("adir", "folder"), folder()),
    Case("charlm-file-unreadable", TRAIN_LM_BAD, 1, ("bad.txt", "permission denied"),
         text_file(POEM.encode()), deny="bad.txt"),
    Case("charlm-file-empty", TRAIN_LM_BAD, 1, ("bad.txt", "empty"), text_file(b"")),
    Case("charlm-file-binary", TRAIN_LM_BAD, 1, ("bad.txt", "binary"),
         text_file(bytes(range(256)) * 4)),
    Case("charlm-file-not-utf8", TRAIN_LM_BAD, 1, ("bad.txt", "not UTF-8", "0xe9"),
         text_file("café au lait\n".encode("latin-1") * 20)),
    Case("charlm-file-one-char", TRAIN_LM_BAD, 1, ("bad.txt", "single character"), text_file(b"x")),
    Case("charlm-stdin-empty", ("train-charlm", "-", *LM_TRAIN), 1, ("stdin", "empty"), input=b""),
    Case("charlm-stdin-binary", ("train-charlm", "-", *LM_TRAIN), 1, ("stdin", "binary"),
         input=b"\x00\x01\x02" * 100),
    Case("eval-text-missing", ("eval", "charlm.npz", "{w}/nope.txt"), 1, ("nope.txt", "no such file")),
    Case("eval-text-is-folder", ("eval", "charlm.npz", "{w}/adir"), 1, ("adir", "folder"), folder()),
    Case("eval-text-unreadable", EVAL_LM_BAD, 1, ("bad.txt", "permission denied"),
         text_file(POEM.encode()), deny="bad.txt"),
    Case("eval-text-empty", EVAL_LM_BAD, 1, ("bad.txt", "empty"), text_file(b"")),
    Case("eval-text-binary", EVAL_LM_BAD, 1, ("bad.txt", "binary"), text_file(bytes(range(256)) * 4)),
    Case("eval-text-not-utf8", EVAL_LM_BAD, 1, ("bad.txt", "not UTF-8"),
         text_file(b"hello \xff\xfe world\n")),
    Case("eval-text-one-char", EVAL_LM_BAD, 1, ("bad.txt", "single character"), text_file(b"h")),
    Case("eval-text-unknown-chars", EVAL_LM_BAD, 1, ("bad.txt", "'Z'"), text_file(b"hello Zebra\n")),

    # ---- checkpoint paths: missing, a folder, unreadable
    Case("sample-ckpt-missing", ("sample", "{w}/nope.npz"), 1, ("nope.npz", "no such")),
    Case("eval-ckpt-missing", ("eval", "{w}/nope.npz"), 1, ("nope.npz", "no such")),
    Case("charlm-resume-missing", ("train-charlm", "--resume", "{w}/nope.npz", "--steps", "4"), 1,
         ("nope.npz", "no such")),
    Case("cnn-resume-missing", ("train-cnn", "--resume", "{w}/nope.npz", "--data", "{data}",
                                "--no-download", "--epochs", "2"), 1, ("nope.npz", "no such")),
    Case("sample-ckpt-is-folder", ("sample", "{w}/adir"), 2, ("adir", "directory"), folder()),
    Case("eval-ckpt-is-folder", ("eval", "{w}/adir"), 2, ("adir", "directory"), folder()),
    Case("sample-ckpt-unreadable", ("sample", "{w}/bad.npz", "--len", "5"), 1,
         ("bad.npz", "permission denied"), checkpoint_bytes(lambda raw: raw), deny="bad.npz"),
    Case("eval-ckpt-unreadable", ("eval", "{w}/bad.npz"), 1, ("bad.npz", "permission denied"),
         checkpoint_bytes(lambda raw: raw), deny="bad.npz"),

    # ---- IDX files: train-cnn --data DIR --no-download
    Case("idx-wrong-magic", CNN_BADDATA, 1,
         ("train-images", "not an IDX file"),
         dataset("train_images", gunzip_then(lambda raw: b"\x12\x34" + raw[2:]))),
    Case("idx-unknown-type-code", CNN_BADDATA, 1,
         ("train-images", "unknown data type"),
         dataset("train_images", gunzip_then(lambda raw: raw[:2] + b"\x42" + raw[3:]))),
    Case("idx-truncated-gzip", CNN_BADDATA, 1,
         ("train-images", "truncated"), dataset("train_images", lambda raw: raw[:len(raw) // 2])),
    Case("idx-truncated-raw", CNN_BADDATA, 1,
         ("train-images", "truncated"),
         dataset("train_images", gunzip_then(lambda raw: raw[:len(raw) // 2]))),
    Case("idx-truncated-header", CNN_BADDATA, 1,
         ("t10k-labels", "truncated"), dataset("test_labels", b"\x00\x00\x08\x01\x00")),
    Case("idx-empty", CNN_BADDATA, 1,
         ("train-labels", "empty"), dataset("train_labels", b"")),
    Case("idx-corrupt-gzip", CNN_BADDATA, 1,
         ("train-images", "gzip"),
         dataset("train_images", lambda raw: raw[:40] + bytes(b ^ 0x5A for b in raw[40:200]) + raw[200:])),
    Case("idx-trailing-bytes", CNN_BADDATA, 1,
         ("train-labels", "trailing"), dataset("train_labels", gunzip_then(lambda raw: raw + b"junk"))),
    Case("idx-terabytes-raw", CNN_BADDATA, 1,
         ("train-images", "corrupt header"),
         dataset("train_images", idx_header(0x08, 4_000_000_000, 1000, 1000) + bytes(64)),
         max_alloc_mb=64),
    Case("idx-terabytes-gzip", CNN_BADDATA, 1,
         ("train-images", "corrupt header"),
         dataset("train_images", gzip.compress(idx_header(0x08, 4_000_000_000, 1000, 1000) + bytes(64))),
         max_alloc_mb=64),
    Case("idx-gigabytes-gzip", CNN_BADDATA, 1,
         # 3.9 GB: under the absolute cap, so only the gzip ratio can refuse it
         ("train-images", "corrupt header"),
         dataset("train_images", gzip.compress(idx_header(0x08, 5_000_000, 28, 28) + bytes(64))),
         max_alloc_mb=64),
    Case("idx-gigabytes-raw", CNN_BADDATA, 1,
         ("train-images", "truncated"),
         dataset("train_images", idx_header(0x08, 5_000_000, 28, 28) + bytes(64)), max_alloc_mb=64),
    Case("idx-label-count-mismatch", CNN_BADDATA, 1,
         ("64 images", "63 labels"), dataset("train_labels", array=np.zeros(63, np.uint8))),
    Case("idx-label-out-of-range", CNN_BADDATA, 1,
         ("t10k-labels", "label 200", "out of range"),
         dataset("test_labels", array=np.full(32, 200, np.uint8))),
    Case("idx-images-not-3d", CNN_BADDATA, 1,
         ("train-images", "3-D uint8"), dataset("train_images", array=np.zeros((64, 784), np.uint8))),
    Case("idx-labels-float", CNN_BADDATA, 1,
         ("train-labels", "uint8"), dataset("train_labels", array=np.zeros(64, np.float32))),
    Case("idx-train-test-sizes-differ", CNN_BADDATA, 1,
         ("28x28", "20x20"), dataset("test_images", array=np.zeros((32, 20, 20), np.uint8))),
    Case("idx-unreadable", CNN_BADDATA, 1,
         ("train-images", "permission denied"), dataset("train_images", lambda raw: raw),
         deny="baddata/" + MNIST_FILES["train_images"]),
    Case("eval-cnn-bad-data", ("eval", "cnn.npz", "--data", "{w}/baddata", "--no-download"), 1,
         ("t10k-images", "truncated"), dataset("test_images", lambda raw: raw[:100])),
    Case("data-folder-missing", ("train-cnn", "--data", "{w}/nodata", *CNN_TRAIN[2:]), 1,
         ("not found", "downloading is off")),
]

# ---- damaged checkpoints, each given to every command that reads one
DAMAGE = [
    # (id, maker for a charlm source, maker for a cnn source, fragments)
    ("truncated", checkpoint_bytes(lambda r: r[:len(r) // 2]),
     checkpoint_bytes(lambda r: r[:len(r) // 2], "cnn"), ("bad.npz",)),
    ("truncated-tail", checkpoint_bytes(lambda r: r[:-30]),
     checkpoint_bytes(lambda r: r[:-30], "cnn"), ("bad.npz",)),
    ("empty-file", checkpoint_bytes(lambda r: b""), checkpoint_bytes(lambda r: b"", "cnn"),
     ("bad.npz",)),
    ("not-a-zip", checkpoint_bytes(not_a_zip), checkpoint_bytes(not_a_zip, "cnn"),
     ("bad.npz", "not an nnlab checkpoint")),
    ("zip-not-npz", zip_without_arrays, zip_without_arrays, ("bad.npz", "not an nnlab checkpoint")),
    ("pickled-object-array", checkpoint(arrays=pickled_array),
     checkpoint("cnn", arrays=pickled_array), ("bad.npz",)),
    ("pickled-metadata", checkpoint(blob=np.array([{"kind": "charlm"}], dtype=object)),
     checkpoint("cnn", blob=np.array([{"kind": "cnn"}], dtype=object)), ("bad.npz",)),
    ("metadata-not-json", checkpoint(blob=np.frombuffer(b"{'kind': charlm", np.uint8)),
     checkpoint("cnn", blob=np.frombuffer(b"{'kind': cnn", np.uint8)), ("bad.npz", "JSON")),
    ("metadata-not-utf8", checkpoint(blob=np.frombuffer(b"\xff\xfe{}", np.uint8)),
     checkpoint("cnn", blob=np.frombuffer(b"\xff\xfe{}", np.uint8)), ("bad.npz",)),
    ("metadata-a-list", checkpoint(blob=meta_blob([1, 2, 3])),
     checkpoint("cnn", blob=meta_blob([1, 2, 3])), ("bad.npz", "not an nnlab checkpoint")),
    ("no-metadata", no_metadata("lm"), no_metadata("cnn"), ("bad.npz", "no metadata")),
    ("param-missing", checkpoint(arrays=drop_param), checkpoint("cnn", arrays=drop_param),
     ("missing",)),
    ("arch-missing", checkpoint(meta=lambda m: m.pop("arch")),
     checkpoint("cnn", meta=lambda m: m.pop("arch")), ("bad.npz", "'arch'")),
    ("version-99", checkpoint(meta=lambda m: m.update(version=99)),
     checkpoint("cnn", meta=lambda m: m.update(version=99)), ("bad.npz", "version 99")),
    ("wrong-format", checkpoint(meta=lambda m: m.update(format="pytorch")),
     checkpoint("cnn", meta=lambda m: m.update(format="pytorch")),
     ("bad.npz", "not an nnlab checkpoint")),
    ("wrong-shape", checkpoint(arrays=wrong_shape), checkpoint("cnn", arrays=wrong_shape),
     ("(3, 3)",)),
]


for name, lm_make, cnn_make, says in DAMAGE:
    CASES += [
        Case(f"sample-{name}", ("sample", "{w}/bad.npz", "--len", "5"), 1, says, lm_make),
        Case(f"eval-lm-{name}", ("eval", "{w}/bad.npz"), 1, says, lm_make),
        Case(f"eval-cnn-{name}", ("eval", "{w}/bad.npz", "--data", "{data}", "--no-download"), 1,
             says, cnn_make),
        Case(f"charlm-resume-{name}", LM_RESUME, 1, says, lm_make),
        Case(f"cnn-resume-{name}", CNN_RESUME, 1, says, cnn_make),
    ]
