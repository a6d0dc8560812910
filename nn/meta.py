"""Checks on a checkpoint's metadata before anything is built from it.

A checkpoint may come from anywhere, so every value read from its JSON is
checked for type and range here, and a bad one becomes a CheckpointError
naming the field, not a TypeError in the middle of training.
"""

import math
from dataclasses import fields

import numpy as np

from .checkpoint import CheckpointError

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


# Config fields that size or divide something (a batch, a chunk, a layer): a
# zero from a damaged checkpoint would be a ZeroDivisionError mid-resume. No
# int field of a config is ever negative.
POSITIVE_FIELDS = ("seq_len", "batch_size", "hidden", "layers", "depth", "width",
                   "first_stride")


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


# What the other fields may hold, as the commands' options allow: a resumed
# run takes them from the file, where an unknown optimizer or schedule, or
# a label smoothing of 1.5, failed deep inside with a traceback, and a
# negative learning rate trained without a word.
CHOICES = {"cell": ("lstm", "rnn"), "arch": ("lenet5", "alexnet", "resnet"),
           "optimizer": ("adam", "sgd"), "schedule": ("constant", "cosine", "step")}
_FRACTION = (lambda v: 0 <= v < 1, "must be at least 0 and below 1")
_AT_LEAST_0 = (lambda v: v >= 0, "must be at least 0")
RANGES = {"lr": (lambda v: v > 0, "must be above 0"), "dropout": _FRACTION,
          "val_frac": _FRACTION, "label_smoothing": _FRACTION, "momentum": _FRACTION,
          "min_lr_frac": (lambda v: 0 <= v <= 1, "must be from 0 to 1"),
          "weight_decay": _AT_LEAST_0, "clip": _AT_LEAST_0, "time_limit": _AT_LEAST_0,
          "epochs": _AT_LEAST_0}


def _check_field(section, name, value):
    """Raises section.bad() when config field ``name`` holds a value that
    its option would refuse (CHOICES, RANGES)."""
    if name in CHOICES and value not in CHOICES[name]:
        raise section.bad(name, f"must be one of {', '.join(CHOICES[name])}")
    if name in RANGES and not RANGES[name][0](value):
        raise section.bad(name, RANGES[name][1])


def config_from(cls, meta):
    """A config dataclass from the checkpoint's "config" section, each field
    checked against the type of its default. A field the checkpoint predates
    takes its value from ``cls.LEGACY`` if there, else today's default."""
    section = meta.section("config")
    kinds = {bool: "bool", int: "count", float: "float", str: "str"}
    legacy = getattr(cls, "LEGACY", {})
    values = {f.name: section.get(f.name, "positive" if f.name in POSITIVE_FIELDS
                                  else kinds[f.type], legacy.get(f.name, f.default))
              for f in fields(cls)}
    for name, value in values.items():
        _check_field(section, name, value)
    return cls(**values)


def arch_args(meta, limits):
    """The architecture's name and arguments, each checked with its kind from
    ``limits`` ({argument: kind}); unknown arguments are refused."""
    arch = meta.section("arch")
    name = arch.get("name", "str")
    args = arch.section("args")
    for key in args.meta:
        if key not in limits:
            raise args.bad(key, "is not an argument of this network")
        args.get(key, limits[key])
    return name, dict(args.meta)


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
