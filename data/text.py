"""Text corpora for character models: reading, and the vocabulary.

Text is read as UTF-8 and the vocabulary is the sorted set of the Unicode
code points in it, so the same corpus always gives the same ids.
"""

import os
import sys
from importlib import resources

import numpy as np

from nnlab import NnlabError


class TextError(NnlabError):
    """A corpus that cannot be used, with the reason in one line."""


BUNDLED = ("hello.txt",)


def bundled_path(name):
    """Path of a text file shipped with nnlab (such as hello.txt), or None."""
    if os.path.basename(name) != name or name not in BUNDLED:
        return None
    return str(resources.files("nnlab.data") / name)


def read_bytes(path):
    """The bytes of ``path``, or of stdin when path is "-"; errors in one line."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise TextError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TextError(f"{path} is a folder; give a text file") from None
    except PermissionError:
        raise TextError(f"{path}: permission denied") from None
    except OSError as e:
        raise TextError(f"{path}: {e.strerror or e}") from None


def decode_text(data, name):
    """UTF-8 text from bytes, refusing what is clearly not text."""
    if not data:
        raise TextError(f"{name} is empty; give a text file to learn from")
    if b"\x00" in data:
        raise TextError(f"{name} looks binary (it holds NUL bytes); give a UTF-8 text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TextError(f"{name} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset "
                        f"{e.start}); convert it, e.g. with iconv -t UTF-8") from None


def read_text(path):
    """The text of ``path`` ("-" for stdin)."""
    return decode_text(read_bytes(path), "stdin" if path == "-" else path)


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
