"""Property-based fuzzing of the checkpoint loader, nn.checkpoint.load_checkpoint:
on any input it returns a valid (meta, arrays) pair or raises CheckpointError,
never another exception.

Inputs: random bytes; valid zips whose members hold random bytes; mutated
valid .npz files (bytes flipped, overwritten, deleted, inserted, the file
truncated); .npz files whose members were mutated and then re-zipped with
correct CRCs, so that the mutations reach the .npy headers and the JSON
metadata; and valid JSON metadata with random values under nnlab's keys. The
tests at the end reproduce the bugs earlier fuzzing found in the loader (all
fixed), one each. Longer sessions, replaying a run: see test_fuzz.py's
docstring; the settings and the mutations are in fuzzing.py.
"""

import functools
import io
import json
import os
import tempfile
import zipfile

import numpy as np
import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st

from fuzzing import fuzz, mutate, mutations, write
from nnlab import NnlabError
from nnlab.nn.checkpoint import META_KEY, CheckpointError, load_checkpoint, save_checkpoint
from npz_craft import npy_with_shape, rezip, with_compression_method


# -- checkpoints --------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def seed(which):
    """The bytes of a valid checkpoint: "lm" (language-model-like) or "cnn"."""
    rng = np.random.default_rng(0)
    if which == "lm":
        meta = {"kind": "charlm", "arch": {"name": "charlm", "args": {"vocab_size": 5, "hidden": 3}},
                "vocab": "\nehlo", "config": {"lr": 0.003, "seed": 0}, "step": 7, "best_val": None,
                "history": [{"step": 7, "val_loss": 1.5}]}
        arrays = {"params/l0.Wx": rng.standard_normal((5, 12)).astype(np.float32),
                  "params/out.b": np.zeros(5, np.float32),
                  "data/val": rng.integers(0, 5, 40).astype(np.uint16),
                  "state/l0.h": np.zeros((2, 3), np.float32)}
    else:
        meta = {"kind": "cnn", "arch": {"name": "lenet5", "args": {"num_classes": 10}},
                "normalize": {"mean": 0.13, "std": 0.31}, "epoch": 1}
        arrays = {"params/conv1.w": rng.standard_normal((2, 1, 3, 3)).astype(np.float32),
                  "data/perm": rng.permutation(16),
                  "opt/m/conv1.w": np.zeros((2, 1, 3, 3), np.float64)}
    with tempfile.TemporaryDirectory() as folder:
        path = save_checkpoint(os.path.join(folder, "seed.npz"), meta, arrays)
        with open(path, "rb") as f:
            return f.read()


def check_checkpoint(path):
    """load_checkpoint(path) is a (meta, arrays) pair or a CheckpointError."""
    for kind in (None, "charlm"):
        try:
            meta, arrays = load_checkpoint(path, kind=kind)
        except NnlabError as e:
            assert isinstance(e, CheckpointError), type(e)
            assert "\n" not in str(e), str(e)
            continue
        assert isinstance(meta, dict) and meta["format"] == "nnlab-checkpoint"
        assert "kind" in meta and "arch" in meta
        assert kind is None or meta["kind"] == kind
        assert META_KEY not in arrays
        for name, a in arrays.items():
            assert isinstance(a, np.ndarray) and a.dtype != object, (name, type(a))


@fuzz(300)
@given(data=st.binary(max_size=1024))
def test_checkpoint_random_bytes(tmp_path, data):
    check_checkpoint(write(tmp_path, data, "f.npz"))


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
@fuzz(300)
@given(meta=st.binary(max_size=300), array=st.binary(max_size=300))
def test_checkpoint_random_zip_members(tmp_path, meta, array):
    """A valid zip whose members (the metadata and an array) hold random bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(META_KEY + ".npy", meta)
        z.writestr("params/w.npy", array)
    check_checkpoint(write(tmp_path, buf.getvalue(), "f.npz"))


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
@fuzz(400)
@given(which=st.sampled_from(["lm", "cnn"]), ops=mutations)
# Found on 2026-12-06: a newline written into a member's name in the central
# directory reached the message, which then ran over two lines.
@example(which="cnn", ops=[("set", -41, b"\x00\x00\n")])
@example(which="cnn", ops=[("set", -42, b"\x00\x00\x00\n")])
def test_checkpoint_mutated_bytes(tmp_path, which, ops):
    check_checkpoint(write(tmp_path, mutate(seed(which), ops), "f.npz"))


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
@fuzz(400)
@given(which=st.sampled_from(["lm", "cnn"]), member=st.integers(0, 100), ops=mutations)
def test_checkpoint_mutated_members(tmp_path, which, member, ops):
    """One member (an array, or the metadata) mutated, then re-zipped with a
    correct CRC: the mutation reaches the .npy header and the JSON."""
    names = zipfile.ZipFile(io.BytesIO(seed(which))).namelist()
    target = names[member % len(names)]
    bad = rezip(seed(which), lambda name, data: mutate(data, ops) if name == target else data)
    note(f"mutated member: {target}")
    check_checkpoint(write(tmp_path, bad, "f.npz"))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)


@fuzz(200)
@given(extra=st.dictionaries(st.sampled_from(["kind", "arch", "format", "version", "vocab",
                                              "config", "corpus", "x"]), json_values, max_size=5),
       drop=st.sets(st.sampled_from(["kind", "arch", "format", "version"])))
def test_checkpoint_random_metadata(tmp_path, extra, drop):
    """Valid JSON metadata with random values under nnlab's keys."""
    def change(name, data):
        if name != META_KEY + ".npy":
            return data
        meta = json.loads(np.load(io.BytesIO(data)).tobytes())
        meta.update(extra)
        for key in drop:
            meta.pop(key, None)
        out = io.BytesIO()
        np.save(out, np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8))
        return out.getvalue()

    check_checkpoint(write(tmp_path, rezip(seed("lm"), change), "f.npz"))


def test_checkpoint_seeds_load(tmp_path):
    for which in ("lm", "cnn"):
        meta, arrays = load_checkpoint(write(tmp_path, seed(which), "f.npz"))
        assert meta["kind"] == ("charlm" if which == "lm" else "cnn")
        check_checkpoint(write(tmp_path, seed(which), "f.npz"))


# -- the known bugs, one reproduction each ------------------------------------------------


@pytest.mark.parametrize("member", [META_KEY + ".npy", "params/out.b.npy"])
def test_npz_member_that_is_not_npy(tmp_path, member):
    bad = rezip(seed("lm"), lambda name, data: b"not an npy file" if name == member else data)
    with pytest.raises(CheckpointError):
        load_checkpoint(write(tmp_path, bad, "f.npz"))


def test_npy_header_with_unbalanced_brackets(tmp_path):
    bad = rezip(seed("lm"), lambda name, data: data.replace(b"'shape': (5,)", b"'shape': ((5,)")
                if name == "params/out.b.npy" else data)
    with pytest.raises(CheckpointError):
        load_checkpoint(write(tmp_path, bad, "f.npz"))


def test_zip_unsupported_compression_method(tmp_path):
    bad = with_compression_method(seed("lm"), "params/out.b.npy", 99)
    with pytest.raises(CheckpointError):
        load_checkpoint(write(tmp_path, bad, "f.npz"))


def test_npy_header_claiming_terabytes(tmp_path):
    bad = rezip(seed("lm"), lambda name, data: npy_with_shape(data, (10 ** 13,))
                if name == "params/out.b.npy" else data)
    with pytest.raises(CheckpointError):
        load_checkpoint(write(tmp_path, bad, "f.npz"))
