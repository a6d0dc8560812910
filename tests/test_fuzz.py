"""Property-based fuzzing of nnlab's readers of IDX files and text. The
checkpoint loader's fuzzing is in test_fuzz_checkpoints.py; the settings and
the byte mutations both use are in fuzzing.py.

The property, for every target: on any input the reader returns a valid value
or raises nnlab's own error type (a subclass of nnlab.NnlabError), never
another exception. Targets:

- data.idx.read_idx on random bytes and on mutated valid IDX files, raw and
  gzipped (the gzip stream itself mutated, or valid gzip around mutated IDX);
- data.text.decode_text on random bytes, and Vocab round trips on random text;
- in test_fuzz_checkpoints.py, nn.checkpoint.load_checkpoint on random bytes,
  on mutated valid .npz files (bytes flipped, overwritten, deleted, inserted,
  the file truncated), and on .npz files whose members were mutated and then
  re-zipped with correct CRCs, so that the mutations reach the .npy headers
  and the JSON metadata.

By default each test runs a few hundred examples (about 3,500 in all in the
two files, some 20 seconds). For a longer session, set NNLAB_FUZZ_EXAMPLES,
the number of examples for each test, e.g. from the repository's root:

    NNLAB_FUZZ_EXAMPLES=20000 nice -n 19 pytest tests/test_fuzz.py tests/test_fuzz_checkpoints.py

(some 20 minutes on 2 cores). The tests at the end of test_fuzz_checkpoints.py
reproduce the bugs earlier fuzzing found in the checkpoint loader (all
fixed). Add --hypothesis-seed=N to replay a run, --hypothesis-show-statistics
to see where the time goes. Hypothesis keeps the failing examples it finds in
.hypothesis/ (git-ignored) and tries them first the next time.
"""

import gzip

import numpy as np
from hypothesis import given, note
from hypothesis import strategies as st

from fuzzing import fuzz, mutate, mutations, write
from nnlab import NnlabError
from nnlab.data.idx import IdxError, read_idx, write_idx
from nnlab.data.text import TextError, Vocab, decode_text


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
