"""Checks on a checkpoint's metadata before anything is built from it.

A checkpoint may come from anywhere, so every value read from its JSON is
checked for type and range here, and a bad one becomes a CheckpointError
naming the field, not a TypeError in the middle of training.
"""

import math
from dataclasses import fields

import numpy as np

from .checkpoint import CheckpointError
from .fields import legacy_default, problem
from .fields import meta as field_meta

# Sizes beyond this are not networks that nnlab trains; refusing them keeps a
# forged checkpoint from asking for terabytes before its arrays are compared.
MAX_SIZE = 1 << 16
# A vocabulary is a set of Unicode code points, and there are this many.
MAX_VOCAB = 0x110000
_MISSING = object()
_BOUNDS = {"int": (None, None), "count": (0, None), "positive": (1, None),
           "size": (1, MAX_SIZE), "vocab": (1, MAX_VOCAB)}
_SAYS = {"int": "must be a whole number", "count": "must be a whole number >= 0",
         "positive": "must be a whole number >= 1",
         "size": f"must be a whole number from 1 to {MAX_SIZE}",
         "vocab": f"must be a whole number from 1 to {MAX_VOCAB:,} (the Unicode code points)"}


def check(value, kind, bad):
    """``value`` if it is of ``kind``, else raises bad(description). Kinds:
    int, count (>= 0), positive (>= 1), size (1 .. MAX_SIZE), vocab (1 ..
    MAX_VOCAB), float (finite), str, dict, list, bool; a trailing "?" also
    allows None."""
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    if kind in _BOUNDS:
        low, high = _BOUNDS[kind]
        if (isinstance(value, bool) or not isinstance(value, int)
                or (low is not None and value < low) or (high is not None and value > high)):
            raise bad(_SAYS[kind])
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad("must be a finite number")
        value = float(value)
    else:
        types = {"str": str, "dict": dict, "list": list, "bool": bool}
        if not isinstance(value, types[kind]):
            raise bad({"str": "must be text", "dict": "must be a mapping",
                       "list": "must be a list", "bool": "must be true or false"}[kind])
    return value


class Meta:
    """Typed access to one checkpoint's metadata dict: meta.get("step", "count")."""

    def __init__(self, meta, path, prefix=""):
        self.meta, self.path, self.prefix = meta, path, prefix

    def bad(self, key, what):
        return CheckpointError(f"{self.path} has damaged metadata: {self.prefix}{key} {what}")

    def get(self, key, kind, default=_MISSING):
        if key not in self.meta:
            if default is _MISSING:
                raise self.bad(key, "is missing")
            return default
        return check(self.meta[key], kind, lambda what: self.bad(key, what))

    def section(self, key, default=_MISSING):
        value = self.get(key, "dict", default)
        return Meta(value if value is not None else {}, self.path, f"{self.prefix}{key}.")


def config_from(cls, meta):
    """A config dataclass from the checkpoint's "config" section, each field
    checked for the type of its default and for what its option allows
    (nn/fields.py): a resumed run takes them from the file, where an unknown
    optimizer, a label smoothing of 1.5 or a batch of 0 failed deep inside
    with a traceback, and a negative learning rate trained without a word.
    A field the checkpoint predates takes its legacy value."""
    section = meta.section("config")
    kinds = {bool: "bool", int: "count", float: "float", str: "str"}
    values = {}
    for f in fields(cls):
        kind = "positive" if field_meta(f, "check") in ("positive", "stride") else kinds[f.type]
        if field_meta(f, "shown") is not None and kind == "positive":
            kind = "count"  # 0: "not given", the run works it out
        value = section.get(f.name, kind, legacy_default(f))
        wrong = problem(f, value, stored=True)
        if wrong is not None:
            raise section.bad(f.name, wrong)
        values[f.name] = value
    return cls(**values)


def ids_array(a, vocab_size, what, bad):
    """A 1-D array of character ids, at least two of them, all in the vocabulary."""
    if not isinstance(a, np.ndarray) or a.ndim != 1 or a.dtype.kind not in "iu":
        raise bad(f"{what} must be a 1-D array of integers")
    if len(a) < 2:
        raise bad(f"{what} needs at least two characters")
    if a.min() < 0 or a.max() >= vocab_size:
        raise bad(f"{what} holds ids outside the vocabulary")
    return a


def is_permutation(perm, n):
    """True when ``perm`` is an integer array holding each of 0 .. n-1 once."""
    return (isinstance(perm, np.ndarray) and perm.ndim == 1 and perm.dtype.kind in "iu"
            and len(perm) == n and np.array_equal(np.sort(perm), np.arange(n)))
