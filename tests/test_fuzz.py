"""Property-based fuzzing of nnlab's readers: IDX files, text, checkpoints.

The property, for every target: on any input the reader returns a valid value
or raises nnlab's own error type (a subclass of nnlab.NnlabError), never
another exception. Targets:

- data.idx.read_idx on random bytes and on mutated valid IDX files, raw and
  gzipped (the gzip stream itself mutated, or valid gzip around mutated IDX);
- data.text.decode_text on random bytes, and Vocab round trips on random text;
- nn.checkpoint.load_checkpoint on random bytes, on mutated valid .npz files
  (bytes flipped, overwritten, deleted, inserted, the file truncated), and on
  .npz files whose members were mutated and then re-zipped with correct
  CRCs, so that the mutations reach the .npy headers and the JSON metadata.

By default each test runs a few hundred examples (about 3,500 in all, some
20 seconds). For a longer session, set NNLAB_FUZZ_EXAMPLES, the number of
examples for each test, e.g. from the repository's root:

    NNLAB_FUZZ_EXAMPLES=20000 nice -n 19 pytest tests/test_fuzz.py

(some 20 minutes on 2 cores). The tests at the end of this file reproduce
the bugs earlier fuzzing found in the checkpoint loader (all fixed). Add --hypothesis-seed=N to replay a run, --hypothesis-show-statistics to see
where the time goes. Hypothesis keeps the failing examples it finds in
.hypothesis/ (git-ignored) and tries them first the next time.
"""

import functools
import gzip
import io
import json
import os
import tempfile
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from nnlab import NnlabError
from nnlab.data.idx import IdxError, read_idx, write_idx
from nnlab.data.text import TextError, Vocab, decode_text
from nnlab.nn.checkpoint import META_KEY, CheckpointError, load_checkpoint, save_checkpoint
from npz_craft import npy_with_shape, rezip, with_compression_method


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


# -- IDX ----------------------------------------------------------------------------------

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@st.composite
def idx_arrays(draw):
    """A small array that IDX can hold: any of its dtypes, 1 to 4 dimensions."""
    dtype = np.dtype(draw(st.sampled_from(IDX_DTYPES)))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=4)))
    size = int(np.prod(shape)) * dtype.itemsize
    raw = draw(st.binary(min_size=size, max_size=size))
    return np.frombuffer(raw, dtype).reshape(shape)


def idx_bytes(tmp_path, arr, gz=False):
    """The bytes write_idx makes of ``arr``, gzipped or not."""
    path = tmp_path / ("seed.gz" if gz else "seed")
    write_idx(path, arr)
    return path.read_bytes()


def check_idx(path):
    try:
        arr = read_idx(path)
    except NnlabError as e:
        assert isinstance(e, IdxError), type(e)
        assert "\n" not in str(e) and str(path) in str(e)
        return None
    assert isinstance(arr, np.ndarray)
    assert 1 <= arr.ndim <= 4 and 0 not in arr.shape
    assert arr.dtype.isnative and arr.dtype in [np.dtype(d) for d in IDX_DTYPES]
    return arr


@fuzz(300)
@given(data=st.binary(max_size=512))
def test_idx_random_bytes(tmp_path, data):
    check_idx(write(tmp_path, data))
    check_idx(write(tmp_path, gzip.compress(data, mtime=0)))


@fuzz(300)
@given(arr=idx_arrays(), ops=mutations)
def test_idx_mutated_raw(tmp_path, arr, ops):
    good = idx_bytes(tmp_path, arr)
    bad = mutate(good, ops)
    note(f"mutated: {bad!r}")
    out = check_idx(write(tmp_path, bad))
    if bad == good:
        np.testing.assert_array_equal(out, arr)


@fuzz(300)
@given(arr=idx_arrays(), ops=mutations, inside=st.booleans())
def test_idx_mutated_gzip(tmp_path, arr, ops, inside):
    """inside: valid gzip around a mutated IDX file; else the gzip bytes mutated."""
    if inside:
        bad = gzip.compress(mutate(idx_bytes(tmp_path, arr), ops), mtime=0)
    else:
        bad = mutate(idx_bytes(tmp_path, arr, gz=True), ops)
    note(f"file: {bad!r}")
    check_idx(write(tmp_path, bad))


def test_idx_valid_files_read_back(tmp_path):
    """The seeds of the mutations are valid: read_idx gives their arrays back."""
    for dtype in IDX_DTYPES:
        arr = (np.arange(24) * 7 - 50).astype(dtype).reshape(2, 3, 4)
        for gz in (False, True):
            np.testing.assert_array_equal(check_idx(write(tmp_path, idx_bytes(tmp_path, arr, gz))),
                                          arr)


# -- text and vocabulary ------------------------------------------------------------------


@fuzz(500)
@given(data=st.binary(max_size=256))
def test_decode_text_random_bytes(data):
    try:
        text = decode_text(data, "fuzz.txt")
    except NnlabError as e:
        assert isinstance(e, TextError), type(e)
        assert "\n" not in str(e) and "fuzz.txt" in str(e)
        return
    assert isinstance(text, str) and text
    assert text.encode("utf-8") == data


@fuzz(300)
@given(text=st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
                    min_size=1, max_size=200))
def test_decode_text_utf8_round_trip(text):
    assert decode_text(text.encode("utf-8"), "t") == text


@fuzz(300)
@given(text=st.text(max_size=300), other=st.text(max_size=50))
def test_vocab_round_trip(text, other):
    vocab = Vocab.from_text(text)
    assert len(vocab) == len(set(text))
    assert list(vocab.chars) == sorted(set(text))
    ids = vocab.encode(text)
    assert ids.shape == (len(text),) and ids.dtype == vocab.dtype
    assert vocab.decode(ids) == text
    if len(text):
        assert int(ids.min()) >= 0 and int(ids.max()) < len(vocab)
    assert Vocab(vocab.chars) == vocab  # a checkpoint stores chars and rebuilds from them
    unknown = vocab.unknown(other)
    assert unknown == list(dict.fromkeys(ch for ch in other if ch not in set(text)))
    try:
        again = vocab.encode(other)
    except NnlabError as e:
        assert unknown and isinstance(e, TextError) and "\n" not in str(e)
    else:
        assert not unknown and vocab.decode(again) == other


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
