"""Rows of tests/test_hostile_inputs.py from the second hostile-input pass:
numbers no option takes, texts and file names that are almost right,
checkpoints that lie at a deeper level, IDX folders with something other
than files in them, and environment variables that point nowhere.

A helper module of rows (CASES), not a test module. What needs a real
process (NUMBA_NUM_THREADS, start-up signals, two runs at once, a terminal
on stdin, a folder removed mid-run) is in tests/test_hostile_processes.py.
"""

import gzip
import io
import json
import os
import struct
import warnings
import zipfile

import numpy as np

from tinydata import MNIST_FILES
from hostile import Case
from hostile_makers import (CNN_RESUME, CNN_TRAIN, LM_RESUME, LM_TRAIN, checkpoint, dataset,
                            images, load_parts, meta_blob, several, symlink, text_file)
from npz_craft import rezip

LM = ("train-charlm", "{base}/poem.txt", *LM_TRAIN)
CNN = ("train-cnn", *CNN_TRAIN)
BADDATA = ("train-cnn", "--data", "{w}/baddata", "--no-download", "--epochs", "1")
EVAL_TEXT = ("eval", "charlm.npz", "{w}/bad.txt")
SAMPLE = ("sample", "{w}/bad.npz", "--len", "5")
GB = 1 << 30
LONG = "a" * 300  # past the 255 bytes a file name may have


# -- makers this pass needs ------------------------------------------------------------------


def deep_metadata(src="lm"):
    """bad.npz: valid metadata with a list nested 100,000 deep appended (json: RecursionError)."""
    def make(w, base):
        m, a = load_parts(getattr(base, src))
        text = json.dumps(m)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
        np.savez(w / "bad.npz", __meta__=np.frombuffer(text.encode(), np.uint8), **a)
    return make


def duplicated_member(member, src="lm"):
    """bad.npz: a valid checkpoint with a second copy of ``member`` appended to the zip."""
    def make(w, base):
        raw = getattr(base, src).read_bytes()
        buf = io.BytesIO(raw)
        with zipfile.ZipFile(buf, "a") as z, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Duplicate name": the point of the row
            z.writestr(member, zipfile.ZipFile(io.BytesIO(raw)).read(member))
        (w / "bad.npz").write_bytes(buf.getvalue())
    return make


def members_in_subfolder(w, base):
    """bad.npz: the weights moved under x/ (x/params/...), the rest where it was."""
    raw = base.lm.read_bytes()
    src = zipfile.ZipFile(io.BytesIO(raw))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in src.namelist():
            z.writestr("x/" + name if name.startswith("params/") else name, src.read(name))
    (w / "bad.npz").write_bytes(buf.getvalue())


def dir_entry(w, base):
    (w / "bad.npz").write_bytes(rezip(base.lm.read_bytes(), lambda n, d: d))
    with zipfile.ZipFile(w / "bad.npz", "a") as z:
        z.writestr("params/", b"")


def retyped(dtype, key="params/out.w"):
    return lambda a: a.update({key: a[key].astype(dtype)})


def idx_bytes(*dims, code=0x08):
    return gzip.compress(struct.pack(f">BBBB{len(dims)}I", 0, 0, code, len(dims), *dims)
                         + bytes(int(np.prod(dims))))


def replaced_by(kind, role):
    """baddata/: the tiny dataset with ``role``'s file replaced by a folder, a FIFO or
    a dangling link (its unpacked name: nnlab looks for both)."""
    def make(w, base):
        dataset(role, lambda raw: raw)(w, base)
        path = w / "baddata" / MNIST_FILES[role]
        path.unlink()
        {"folder": os.mkdir, "fifo": os.mkfifo,
         "link": lambda p: os.symlink("/nonexistent/idx", p)}[kind](path)
    return make


def without(role):
    def make(w, base):
        dataset(role, lambda raw: raw)(w, base)
        (w / "baddata" / MNIST_FILES[role]).unlink()
    return make


def env(name, value):
    """A patch: environment variable ``name`` set to ``value``, where "{w}" is the
    row's folder (the working directory when patches run)."""
    return lambda monkeypatch, base: monkeypatch.setenv(name, value.format(w=os.getcwd()))


def lm_meta(change):
    return checkpoint(meta=change)


def cnn_meta(change):
    return checkpoint("cnn", meta=change)


def config(**values):
    return lambda m: m["config"].update(values)


CASES = [
    # ---- numbers no option takes: hex, empty, -0, 1e309, huge integers
    Case("charlm-lr-hex", (*LM, "--lr", "0x10"), 2, ("--lr", "0x10")),
    Case("charlm-lr-empty", (*LM, "--lr", ""), 2, ("--lr", "not a valid float")),
    Case("charlm-lr-minus-zero", (*LM, "--lr", "-0"), 2, ("--lr", "above 0")),
    Case("charlm-lr-1e309", (*LM, "--lr", "1e309"), 2, ("--lr", "inf")),
    Case("charlm-clip-nan", (*LM, "--clip", "nan"), 2, ("--clip",)),
    Case("charlm-weight-decay-inf", (*LM, "--weight-decay", "inf"), 2, ("--weight-decay",)),
    Case("charlm-val-frac-nan", (*LM, "--val-frac", "nan"), 2, ("--val-frac",)),
    Case("charlm-val-frac-1", (*LM, "--val-frac", "1"), 2, ("--val-frac", "below 1")),
    Case("charlm-epochs-nan", (*LM, "--epochs", "nan"), 2, ("--epochs",)),
    Case("charlm-time-limit-minus-zero", (*LM, "--time-limit", "-0"), 2, ("--time-limit",)),
    Case("charlm-hidden-hex", (*LM, "--hidden", "0x8"), 2, ("--hidden", "not a valid integer")),
    Case("charlm-layers-minus-zero", (*LM, "--layers", "-0"), 2, ("--layers", "at least 1")),
    Case("charlm-embed-10e29", (*LM, "--embed", "9" * 29), 2, ("--embed", "e+", "TB"),
         max_alloc_mb=64, memory=16 * GB),
    Case("charlm-threads-0", (*LM, "--threads", "0"), 2, ("--threads", "at least 1")),
    Case("cnn-lr-minus-zero", (*CNN, "--lr", "-0"), 2, ("--lr",)),
    Case("cnn-label-smoothing-nan", (*CNN, "--label-smoothing", "nan"), 2, ("--label-smoothing",)),
    Case("cnn-sgd-momentum-1", (*CNN, "--optimizer", "sgd", "--momentum", "1"), 2, ("--momentum",)),
    Case("cnn-first-stride-3", (*CNN, "--arch", "resnet", "--first-stride", "3"), 2,
         ("--first-stride",)),
    Case("sample-temp-1e309", ("sample", "--temp", "1e309"), 2, ("--temp", "inf")),
    Case("sample-temp-minus-zero", ("sample", "--temp", "-0"), 2, ("--temp",)),
    Case("sample-argmax-temp-nan", ("sample", "--argmax", "--temp", "nan"), 2, ("--temp",)),
    Case("sample-len-hex", ("sample", "--len", "0x5"), 2, ("--len",)),
    Case("sample-top-k-10e29", ("sample", "--top-k", "9" * 29), 2, ("--top-k", "11 characters")),
    Case("sample-prime-control-char", ("sample", "--prime", "\x01"), 2, ("--prime", "'\\x01'")),

    # ---- commands and arguments
    Case("command-empty", ("",), 2, ("No such command",)),
    Case("command-with-underscore", ("train_cnn",), 2, ("train_cnn",)),
    Case("version-typo", ("--versio",), 2, ("--version",)),
    Case("warmup-extra-argument", ("warmup", "now"), 2, ("unexpected extra argument",)),
    Case("charlm-file-leading-dash", ("train-charlm", "-poem.txt", *LM_TRAIN), 2,
         ("No such option",)),
    Case("eval-charlm-with-data", ("eval", "charlm.npz", "--data", "{data}"), 2,
         ("charlm.npz", "--data", "TEXTFILE")),

    # ---- texts that are almost right
    Case("eval-text-bom", EVAL_TEXT, 1, ("bad.txt", "'\\ufeff'"),
         text_file(b"\xef\xbb\xbfhello\n")),
    Case("eval-text-crlf", EVAL_TEXT, 1, ("bad.txt", "'\\r'"), text_file(b"hello\r\nworld\r\n")),
    Case("eval-text-lone-surrogate", EVAL_TEXT, 1, ("bad.txt", "not UTF-8", "0xed"),
         text_file(b"hello \xed\xa0\x80 world\n")),
    Case("charlm-file-lone-surrogate", ("train-charlm", "{w}/bad.txt", *LM_TRAIN), 1,
         ("bad.txt", "not UTF-8", "0xed"), text_file(b"hello \xed\xa0\x80 world\n" * 10)),
    Case("eval-text-whitespace-only", EVAL_TEXT, 1, ("bad.txt", "'\\t'"), text_file(b"  \n\t \n")),
    Case("charlm-file-spaces-only", ("train-charlm", "{w}/bad.txt", *LM_TRAIN), 1,
         ("bad.txt", "single distinct character", "' '"), text_file(b" " * 40)),
    Case("eval-text-empty-says-evaluate", EVAL_TEXT, 1, ("bad.txt", "empty", "to evaluate on"),
         text_file(b"")),
    Case("eval-stdin-unknown-chars", ("eval", "charlm.npz", "-"), 1, ("stdin", "'Z'"),
         input=b"hello Zebra\n"),
    Case("eval-stdin-one-char", ("eval", "charlm.npz", "-"), 1, ("stdin", "single character"),
         input=b"h"),
    Case("eval-stdin-empty", ("eval", "charlm.npz", "-"), 1, ("stdin", "empty"), input=b""),

    # ---- file names: control characters stay on one line, names past the limit
    Case("charlm-file-name-with-newline", ("train-charlm", "{w}/no\nsuch.txt", *LM_TRAIN), 1,
         ("no\\nsuch.txt", "no such file")),
    Case("sample-ckpt-name-with-escape", ("sample", "{w}/bad\x1b[2J.npz"), 1,
         ("bad\\x1b[2J.npz", "no such")),
    Case("charlm-out-folder-with-newline", (*LM, "--out", "{w}/a\nb/x.npz"), 2,
         ("--out", "a\\nb", "does not exist")),
    Case("charlm-file-name-too-long", ("train-charlm", f"{LONG}.txt", *LM_TRAIN), 1,
         ("File name too long",)),
    Case("charlm-out-name-too-long", (*LM, "--out", f"{LONG}.npz"), 2,
         ("--out", "File name too long")),
    Case("charlm-out-symlink-loop", (*LM, "--out", "{w}/loop1"), 2,
         ("--out", "loop1", "symbolic links"),
         several(symlink("loop1", "{w}/loop2"), symlink("loop2", "{w}/loop1"))),
    Case("cnn-out-link-into-missing-folder", (*CNN, "--out", "{w}/link.npz"), 2,
         ("--out", "does not exist"), symlink("link.npz", "{w}/gone/cnn.npz")),

    # ---- checkpoints that lie at a deeper level
    Case("sample-metadata-nested-100000-deep", SAMPLE, 1, ("bad.npz", "JSON"), deep_metadata()),
    Case("eval-cnn-metadata-nested-100000-deep", ("eval", "{w}/bad.npz", "--data", "{data}"), 1,
         ("bad.npz", "JSON"), deep_metadata("cnn")),
    Case("charlm-resume-rng-state-negative", LM_RESUME, 1, ("bad.npz", "rng"),
         lm_meta(lambda m: m["rng"]["state"].update(state=-1))),
    Case("cnn-resume-rng-counter-huge", CNN_RESUME, 1, ("bad.npz", "rng"),
         cnn_meta(lambda m: m["rng"].update(uinteger=10 ** 30))),
    Case("cnn-resume-config-arch-unknown", CNN_RESUME, 1, ("bad.npz", "config.arch"),
         cnn_meta(config(arch="vgg"))),
    Case("cnn-resume-config-optimizer-unknown", CNN_RESUME, 1, ("bad.npz", "config.optimizer"),
         cnn_meta(config(optimizer="lion"))),
    Case("cnn-resume-config-schedule-unknown", CNN_RESUME, 1, ("bad.npz", "config.schedule"),
         cnn_meta(config(schedule="linear"))),
    Case("cnn-resume-label-smoothing-1.5", CNN_RESUME, 1, ("bad.npz", "config.label_smoothing"),
         cnn_meta(config(label_smoothing=1.5))),
    Case("charlm-resume-lr-negative", LM_RESUME, 1, ("bad.npz", "config.lr", "above 0"),
         lm_meta(config(lr=-1.0))),
    Case("charlm-resume-cell-unknown", LM_RESUME, 1, ("bad.npz", "config.cell"),
         lm_meta(config(cell="gru"))),
    Case("charlm-resume-best-val-nan", LM_RESUME, 1, ("bad.npz", "best_val"),
         checkpoint(meta=lambda m: m.update(best_val=float("nan")))),
    Case("sample-duplicated-weights", SAMPLE, 1, ("bad.npz", "params/out.w.npy", "twice"),
         duplicated_member("params/out.w.npy")),
    Case("eval-duplicated-metadata", ("eval", "{w}/bad.npz"), 1, ("bad.npz", "__meta__", "twice"),
         duplicated_member("__meta__.npy")),
    Case("sample-complex-weights", SAMPLE, 1, ("bad.npz", "complex64"),
         checkpoint(arrays=retyped(np.complex64))),
    Case("eval-cnn-integer-weights", ("eval", "{w}/bad.npz", "--data", "{data}"), 1,
         ("bad.npz", "params/fc3.w", "int32"), checkpoint("cnn", arrays=retyped(np.int32,
                                                                               "params/fc3.w"))),
    Case("charlm-resume-optimizer-state-nan", LM_RESUME, 1, ("bad.npz", "opt/m/", "NaN"),
         checkpoint(arrays=lambda a: a.update({k: np.full_like(v, np.nan) for k, v in a.items()
                                               if k.startswith("opt/m/")}))),
    Case("sample-weights-in-a-subfolder", SAMPLE, 1, ("bad.npz", "missing"), members_in_subfolder),
    Case("eval-zip-folder-entry", ("eval", "{w}/bad.npz"), 1, ("bad.npz", "'params/'"), dir_entry),
    Case("eval-metadata-2d", ("eval", "{w}/bad.npz"), 1, ("bad.npz", "malformed"),
         checkpoint(blob=meta_blob({"kind": "charlm"}).reshape(1, -1))),

    # ---- IDX folders
    Case("idx-colour-images", BADDATA, 1, ("train-images", "3-D uint8", "64x28x28x3"),
         dataset("train_images", array=np.zeros((64, 28, 28, 3), np.uint8))),
    Case("idx-test-label-count-mismatch", BADDATA, 1, ("32 images", "31 labels"),
         dataset("test_labels", array=np.zeros(31, np.uint8))),
    Case("idx-labels-int32", BADDATA, 1, ("train-labels", "int32"),
         dataset("train_labels", array=np.zeros(64, np.int32))),
    Case("idx-label-10", BADDATA, 1, ("train-labels", "label 10"),
         dataset("train_labels", array=np.full(64, 10, np.uint8))),
    Case("idx-no-images", BADDATA, 1, ("train-images", "no items"),
         dataset("train_images", idx_bytes(0, 28, 28))),
    Case("idx-images-0-high", BADDATA, 1, ("train-images", "no items"),
         dataset("train_images", idx_bytes(64, 0, 28))),
    Case("idx-0-dimensions", BADDATA, 1, ("train-labels", "0 dimensions"),
         dataset("train_labels", gzip.compress(b"\x00\x00\x08\x00\x05"))),
    Case("idx-gzip-trailing-garbage", BADDATA, 1, ("train-labels", "gzip"),
         dataset("train_labels", lambda raw: raw + b"garbage!")),
    Case("idx-gzip-second-member", BADDATA, 1, ("train-labels", "trailing"),
         dataset("train_labels", lambda raw: raw + gzip.compress(bytes(10)))),
    Case("idx-file-is-a-folder", BADDATA, 1, ("t10k-labels", "not a dataset file", "a folder"),
         replaced_by("folder", "test_labels")),
    Case("idx-file-is-a-fifo", BADDATA, 1, ("t10k-labels", "named pipe"),
         replaced_by("fifo", "test_labels")),
    Case("idx-file-dangling-link", BADDATA, 1, ("train-images", "/nonexistent/idx"),
         replaced_by("link", "train_images")),
    Case("idx-one-file-missing", BADDATA, 1, ("put t10k-images-idx3-ubyte.gz in",),
         without("test_images")),
    Case("eval-cnn-images-1x1", ("eval", "cnn.npz", "--data", "{w}/baddata", "--no-download"),
         1, ("cnn.npz", "28x28", "1x1", "--data"), images(1, 1)),
    Case("data-is-a-file", ("train-cnn", "--data", "{w}/bad.txt", "--no-download"), 2,
         ("--data", "is a file"), text_file(b"not a folder")),

    # ---- environment variables that point at no folder
    Case("nnlab-data-is-a-file", ("train-cnn", "--no-download", "--epochs", "1"), 1,
         ("NNLAB_DATA=bad.txt", "not a folder", "a file"), text_file(b"x"),
         patch=env("NNLAB_DATA", "bad.txt")),
    Case("nnlab-data-dangling-link", ("train-cnn", "--no-download", "--epochs", "1"), 1,
         ("NNLAB_DATA=gone", "/nonexistent/data"), symlink("gone", "/nonexistent/data"),
         patch=env("NNLAB_DATA", "gone")),
    Case("xdg-cache-home-is-a-file", ("train-cnn", "--no-download", "--epochs", "1"), 1,
         ("mnist not found",), text_file(b"x"), patch=env("XDG_CACHE_HOME", "{w}/bad.txt")),
]
