"""Reading corpora and the character vocabulary."""

import io
import sys

import numpy as np
import pytest

from nnlab.data.text import TextError, Vocab, bundled_path, decode_text, read_text


def test_vocab_is_the_sorted_set_of_code_points():
    v = Vocab.from_text("hello")
    assert v.chars == "ehlo" and len(v) == 4
    ids = v.encode("hello")
    assert ids.tolist() == [1, 0, 2, 2, 3]
    assert v.decode(ids) == "hello"


def test_vocab_handles_non_ascii_text():
    text = "naïve café — 日本語\n"
    v = Vocab.from_text(text)
    assert list(v.chars) == sorted(set(text))
    assert v.decode(v.encode(text)) == text
    # ASCII text through a vocabulary that also holds non-ASCII characters.
    assert v.decode(v.encode("cafe")) == "cafe"


def test_encode_names_unknown_characters():
    v = Vocab.from_text("abc")
    with pytest.raises(TextError) as e:
        v.encode("abxyx\n")
    message = str(e.value)
    assert "'x'" in message and "'y'" in message and "'\\n'" in message
    assert "\n" not in message


def test_read_text_errors_are_one_line(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bin.dat").write_bytes(b"\x00\x01\x02abc")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    cases = {
        tmp_path / "missing.txt": "no such file",
        tmp_path: "folder",
        tmp_path / "empty.txt": "empty",
        tmp_path / "bin.dat": "binary",
        tmp_path / "latin1.txt": "not UTF-8",
    }
    for path, fragment in cases.items():
        with pytest.raises(TextError) as e:
            read_text(str(path))
        assert fragment in str(e.value) and "\n" not in str(e.value)


def test_read_text_from_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("to be\n".encode())))
    assert read_text("-") == "to be\n"


def test_decode_reports_the_offset_of_a_bad_byte():
    with pytest.raises(TextError, match="0xff at offset 3"):
        decode_text(b"abc\xffdef", "x.txt")


def test_hello_is_bundled():
    path = bundled_path("hello.txt")
    assert path is not None and read_text(path) == "hello"
    assert bundled_path("../hello.txt") is None and bundled_path("other.txt") is None


def test_large_vocabularies_use_wide_ids():
    text = "".join(chr(0x10000 + i) for i in range(70000))
    v = Vocab.from_text(text)
    assert len(v) == 70000 and v.dtype == np.int32
    ids = v.encode(text[-100:])
    assert ids.max() == 69999 and v.decode(ids) == text[-100:]
