"""The bad inputs of tests/test_hostile_inputs.py: the valid run each row
starts from, and makers that write a row's bad input into its folder.

A helper module, not a test module (test modules never import each other).
Each maker is called as make(w, base): w is the row's folder, base the Base.
"""

import gzip
import json
import os
import shutil
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from clirun import run
from devices import null_like_device
from npz_craft import rezip, with_compression_method
from tinydata import MNIST_FILES, write_dataset

POEM = "hello world, hello there\n" * 20  # 11 characters, 500 of them

# Small models and runs, so that a row which wrongly starts training ends fast.
LM_TRAIN = ("--hidden", "8", "--layers", "1", "--batch-size", "2", "--seq-len", "8",
            "--steps", "2")
SEQ_TRAIN = ("--hidden", "4", "--layers", "1", "--embed", "2", "--batch-size", "4", "--steps", "2")
CNN_TRAIN = ("--data", "{data}", "--no-download", "--epochs", "1", "--batch-size", "32")
READER_TRAIN = ("--data", "{data}", "--no-download", "--max-digits", "2", "--channels", "2,2,2",
                "--hidden", "4", "--embed", "2", "--batch-size", "4", "--val-per-length", "2",
                "--steps", "2")
LM_RESUME = ("train-charlm", "--resume", "{w}/bad.npz", "--steps", "4")
CNN_RESUME = ("train-cnn", "--resume", "{w}/bad.npz", "--data", "{data}", "--no-download",
              "--epochs", "2")


def invoke(args, input=None):
    """clirun.run with the arguments as one list, as the rows hold them."""
    return run(*args, input=input)


# -- the valid run every row starts from ------------------------------------------------


@dataclass
class Base:
    folder: Path
    data: Path   # a tiny MNIST look-alike, 64 training and 32 test images
    poem: Path   # the language model's corpus
    lm: Path     # a valid charlm checkpoint trained on the poem
    cnn: Path    # a valid cnn checkpoint trained on data
    pairs: Path = None   # word<TAB>label lines
    clf: Path = None     # a classifier trained on them
    s2s: Path = None     # a seq2seq model trained on word<TAB>reversed word
    reader: Path = None  # a reader of strips of 1-2 of data's digits


def make_base(folder):
    data = write_dataset(folder / "data", n_train=64, n_test=32)
    poem = folder / "poem.txt"
    poem.write_text(POEM)
    lm, cnn = folder / "lm.npz", folder / "cnn.npz"
    trained = invoke(["train-charlm", poem, *LM_TRAIN, "--out", lm])
    assert trained.exit_code == 0, trained.output
    trained = invoke(["train-cnn", *[a.format(data=data) for a in CNN_TRAIN], "--out", cnn])
    assert trained.exit_code == 0, trained.output
    words = ["abc", "bca", "cab", "aab", "bba", "ccb"] * 5
    pairs, rev = folder / "pairs.tsv", folder / "rev.tsv"
    pairs.write_text("".join(f"{w}\t{w[0]}\n" for w in words))
    rev.write_text("".join(f"{w}\t{w[::-1]}\n" for w in words))
    clf, s2s = folder / "clf.npz", folder / "s2s.npz"
    for command, tsv, out in (("train-classifier", pairs, clf), ("train-seq2seq", rev, s2s)):
        trained = invoke([command, tsv, *SEQ_TRAIN, "--out", out])
        assert trained.exit_code == 0, trained.output
    reader = folder / "reader.npz"
    trained = invoke(["train-reader", *[a.format(data=data) for a in READER_TRAIN], "--out",
                      reader])
    assert trained.exit_code == 0, trained.output
    return Base(folder, data, poem, lm, cnn, pairs, clf, s2s, reader)



# -- makers of bad inputs: each writes into the row's folder ------------------------------


def text_file(content: bytes, name="bad.txt"):
    def make(w, base):
        (w / name).write_bytes(content)
    return make


def folder(name="adir"):
    def make(w, base):
        (w / name).mkdir()
    return make


def checkpoint_bytes(change, src="lm"):
    """bad.npz: the bytes of a valid checkpoint, passed through change(bytes)."""
    def make(w, base):
        (w / "bad.npz").write_bytes(change(getattr(base, src).read_bytes()))
    return make


def load_parts(path):
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return json.loads(arrays.pop("__meta__").tobytes()), arrays


def meta_blob(meta):
    return np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)


def checkpoint(src="lm", meta=None, arrays=None, blob=None):
    """bad.npz: a valid checkpoint rewritten with np.savez after meta(dict) and
    arrays(dict) edit it in place; blob replaces the __meta__ entry outright."""
    def make(w, base):
        m, a = load_parts(getattr(base, src))
        if meta is not None:
            meta(m)
        if arrays is not None:
            arrays(a)
        np.savez(w / "bad.npz", __meta__=meta_blob(m) if blob is None else blob, **a)
    return make


def pickled_array(a):
    a["params/out.w" if "params/out.w" in a else "params/fc3.w"] = np.array(
        [{"evil": "pickle"}, None], dtype=object)


def drop_param(a):
    del a["params/out.w" if "params/out.w" in a else "params/fc3.w"]


def wrong_shape(a):
    a["params/out.w" if "params/out.w" in a else "params/fc3.w"] = np.zeros((3, 3), np.float32)


def not_a_zip(raw):
    return b"PK but not really a zip file\n" * 8


def no_metadata(src):
    """bad.npz: the arrays of a valid checkpoint, without its __meta__ entry."""
    def make(w, base):
        _, a = load_parts(getattr(base, src))
        np.savez(w / "bad.npz", **a)
    return make


def zip_without_arrays(w, base):
    with zipfile.ZipFile(w / "bad.npz", "w") as z:
        z.writestr("readme.txt", "a zip file, but not an npz")


def zip_member(member, change, src="lm"):
    """bad.npz: a valid checkpoint with one zip member's bytes passed through change(bytes)."""
    def make(w, base):
        raw = getattr(base, src).read_bytes()
        (w / "bad.npz").write_bytes(rezip(raw, lambda n, d: change(d) if n == member else d))
    return make


def unknown_compression(w, base):
    (w / "bad.npz").write_bytes(with_compression_method(base.lm.read_bytes(), "params/out.b.npy", 99))


def idx_header(code, *dims):
    return struct.pack(f">BBBB{len(dims)}I", 0, 0, code, len(dims), *dims)


def dataset(role, content=None, array=None):
    """baddata/: a copy of the tiny dataset with the file of ``role`` replaced by
    ``content`` (bytes, written as they are) or by ``array`` (written as IDX)."""
    def make(w, base):
        shutil.copytree(base.data, w / "baddata")
        path = w / "baddata" / MNIST_FILES[role]
        if array is not None:
            from nnlab.data.idx import write_idx
            write_idx(path, array)
        else:
            path.write_bytes(content(path.read_bytes()) if callable(content) else content)
    return make


def gunzip_then(change):
    return lambda raw: change(gzip.decompress(raw))


def several(*makers):
    def make(w, base):
        for m in makers:
            m(w, base)
    return make


def copy_of(what, name):
    """w/name: a copy of one of the base's files ("poem", "lm", "cnn")."""
    def make(w, base):
        shutil.copy(getattr(base, what), w / name)
    return make


def fifo(name="fifo"):
    def make(w, base):
        os.mkfifo(w / name)
    return make


def char_device(name="null"):
    """w/name: a character device like /dev/null (major 1, minor 3). Without
    the right to make one, a link to /dev/null, but only when not root: then
    nothing can replace /dev/null itself, whatever nnlab does."""
    def make(w, base):
        made = null_like_device(w / name)
        if made == "/dev/null":
            if os.geteuid() == 0:
                pytest.skip("root without the right to make a device node")
            os.symlink(made, w / name)
    return make


def symlink(name, target):
    """w/name: a symbolic link to ``target`` ({w} is the row's folder)."""
    def make(w, base):
        os.symlink(target.format(w=w), w / name)
    return make


def images(height, width, folder="baddata"):
    """w/folder: a dataset of 64 training and 32 test images of height x width."""
    def make(w, base):
        from nnlab.data.idx import write_idx

        rng = np.random.default_rng(0)
        (w / folder).mkdir()
        for role, n in (("train", 64), ("test", 32)):
            write_idx(w / folder / MNIST_FILES[f"{role}_images"],
                      rng.integers(0, 256, (n, height, width)).astype(np.uint8))
            write_idx(w / folder / MNIST_FILES[f"{role}_labels"],
                      rng.integers(0, 10, n).astype(np.uint8))
    return make


def filled_weights(value, key="params/out.w"):
    """An arrays edit for checkpoint(): every value of ``key`` set to ``value`` (inf, nan)."""
    def change(a):
        a[key] = np.full_like(a[key], value)
    return change


def drop_optimizer(a):
    for key in [k for k in a if k.startswith("opt/")]:
        del a[key]
