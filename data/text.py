"""Text corpora for character models: reading, and the vocabulary.

Text is read as UTF-8 and the vocabulary is the sorted set of the Unicode
code points in it, so the same corpus always gives the same ids.
"""

import os
import sys
from importlib import resources

import numpy as np

from nnlab import NnlabError
from nnlab import memory
from nnlab.files import reading


class TextError(NnlabError):
    """A corpus that cannot be used, with the reason in one line."""


BUNDLED = ("hello.txt",)


def bundled_path(name):
    """Path of a text file shipped with nnlab (such as hello.txt), or None."""
    if os.path.basename(name) != name or name not in BUNDLED:
        return None
    return str(resources.files("nnlab.data") / name)


# Training holds about this many bytes of memory per byte of text (measured:
# 19 for 20 MB of ASCII): the text, its ids, and the int64 streams and indices.
BYTES_PER_CHAR = 24
# Beyond this nnlab does not read a text at all: days per epoch on a CPU.
MAX_TEXT = 2 << 30
CHUNK = 1 << 20  # pieces of a stream without a size (a pipe, a device)


def text_limit():
    """(bytes of text nnlab reads at most here, why)."""
    have = memory.available_memory()
    if have is not None and have // BYTES_PER_CHAR < MAX_TEXT:
        return max(have // BYTES_PER_CHAR, CHUNK), (
            f"too much for the {memory.size_text(have)} of memory available (nnlab needs "
            f"about {BYTES_PER_CHAR} bytes per character)")
    return MAX_TEXT, "the most nnlab reads"


def _too_big(name, limit, why):
    return TextError(f"{name} holds more than {memory.size_text(limit)} of text, {why}; "
                     f"train on a part of it, e.g. head -n 100000 {name} > part.txt")


def read_bytes(path, limit=None):
    """The bytes of ``path``, or of stdin when path is "-"; errors in one line.
    Reads at most ``limit`` bytes (default: text_limit()), in pieces, so that
    /dev/zero or an endless pipe fails at once instead of filling memory."""
    why = "the limit given"
    if limit is None:
        limit, why = text_limit()
    name = "stdin" if path == "-" else path
    if path == "-":
        if sys.stdin is None:  # started with stdin closed (<&-)
            raise TextError("stdin is closed; give a FILE, or pipe the text in")
        if sys.stdin.isatty():
            # Else nnlab waited, without a word, for a corpus typed in by hand.
            raise TextError("stdin is a terminal; pipe the text in (cat FILE | nnlab ...) or "
                            "give a FILE")
        return _read_bounded(sys.stdin.buffer, name, limit, why)
    with reading(path, TextError, want="a text file"), open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size > limit:  # a regular file: refused unread
            raise _too_big(name, limit, why)
        return _read_bounded(f, name, limit, why)


def _read_bounded(f, name, limit, why):
    pieces, total = [], 0
    while True:
        piece = f.read(min(CHUNK, limit + 1 - total))
        if not piece:
            return b"".join(pieces)
        total += len(piece)
        if total > limit:
            raise _too_big(name, limit, why)
        pieces.append(piece)


def decode_text(data, name, purpose="to learn from"):
    """UTF-8 text from bytes, refusing what is clearly not text. ``purpose``
    ends the message for an empty text (eval: "to evaluate on")."""
    if not data:
        raise TextError(f"{name} is empty; give a text file {purpose}")
    if b"\x00" in data:
        raise TextError(f"{name} looks binary (it holds NUL bytes); give a UTF-8 text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TextError(f"{name} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset "
                        f"{e.start}); convert it, e.g. with iconv -t UTF-8") from None


def read_text(path, purpose="to learn from"):
    """The text of ``path`` ("-" for stdin)."""
    return decode_text(read_bytes(path), "stdin" if path == "-" else path, purpose)


class Vocab:
    """Characters <-> ids. ids are positions in the sorted character list."""

    def __init__(self, chars):
        self.chars = "".join(sorted(set(chars)))
        self.index = {ch: i for i, ch in enumerate(self.chars)}
        self.dtype = np.uint16 if len(self.chars) <= 1 << 16 else np.int32

    @classmethod
    def from_text(cls, text):
        return cls(text)

    def __len__(self):
        return len(self.chars)

    def __eq__(self, other):
        return isinstance(other, Vocab) and self.chars == other.chars

    def unknown(self, text):
        """The characters of ``text`` missing from the vocabulary, in order of appearance."""
        seen = dict.fromkeys(ch for ch in text if ch not in self.index)
        return list(seen)

    def encode(self, text):
        missing = self.unknown(text)
        if missing:
            raise TextError(f"characters not in the model's vocabulary: {describe(missing)}")
        if text.isascii():
            # Fast path for the common case: one table lookup over the bytes.
            table = np.zeros(128, np.int64)
            for ch, i in self.index.items():
                if ord(ch) < 128:
                    table[ord(ch)] = i
            return table[np.frombuffer(text.encode("ascii"), np.uint8)].astype(self.dtype)
        return np.fromiter((self.index[ch] for ch in text), self.dtype, len(text))

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)


def describe(chars, limit=10):
    """A readable list of characters: repr() shows newlines, tabs and the like."""
    shown = ", ".join(repr(ch) for ch in chars[:limit])
    more = len(chars) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def read_vocab(path):
    """The characters of a vocabulary file, in id order: FILE.json holds them
    as one JSON string or a list of one-character strings, in the order the
    model numbers them; any other file is a text, whose distinct characters
    in sorted order are the vocabulary (the way nnlab and nanoGPT's
    shakespeare_char number them)."""
    text = read_text(path, purpose="as the vocabulary")
    if not str(path).endswith(".json"):
        return Vocab(text).chars
    return vocab_from_json(text, path, ", or a text file not named .json")


def vocab_from_json(text, where, hint=""):
    """The characters, in id order, of a JSON string or list of
    one-character strings (a --vocab FILE.json, or an export's metadata)."""
    import json
    from collections import Counter

    try:
        chars = json.loads(text)
    except ValueError as e:
        raise TextError(f"{where} is not JSON ({e}); give a JSON string or list of "
                        f"characters{hint}") from None
    if isinstance(chars, list) and all(isinstance(c, str) and len(c) == 1 for c in chars):
        chars = "".join(chars)
    if not isinstance(chars, str) or not chars:
        raise TextError(f"{where} must hold a JSON string, or a list of one-character strings")
    twice = sorted(c for c, n in Counter(chars).items() if n > 1)
    if twice:
        raise TextError(f"{where} lists {describe(twice)} more than once; each character needs "
                        "one id")
    return chars
