"""Config fields that are also command-line options, each defined once.

A trainer's config dataclass declares every option of its command as a
field made by ``option()``: its default, help, allowed values and whether a
resumed run may change it. From that one definition come the Click option
(cli/config_options.py), the check of a value read back from a checkpoint
(meta.config_from), the fields a resume refuses to change, and what a
checkpoint that predates the field meant by it. Adding an option to a
command is adding one field.

This module imports nothing heavy: the command line reads it for --help.
"""

import math
from dataclasses import MISSING, field, fields

# name -> (test, what the value must be): the one statement of each range,
# on the command line ("--lr: must be ...") and in a checkpoint
# ("config.lr must be ...").
CHECKS = {
    "positive": (lambda v: v >= 1, "must be at least 1"),
    "count": (lambda v: v >= 0, "must be at least 0"),
    "above0": (lambda v: 0 < v < math.inf, "must be a finite number above 0"),
    "nonneg": (lambda v: 0 <= v < math.inf, "must be a finite number of at least 0"),
    "fraction": (lambda v: 0 <= v < 1, "must be at least 0 and below 1"),
    "unit": (lambda v: 0 <= v <= 1, "must be from 0 to 1"),
    "stride": (lambda v: v in (1, 2), "must be 1 or 2"),
}


def option(default, help=None, *, check=None, choices=None, flag=None, shown=None,
           fixed=False, legacy=MISSING, negatable=False, only=None):
    """A config field. ``help`` (None: not a command-line option, as for
    settings that only a checkpoint carries); ``check``: a name in CHECKS;
    ``choices``: the allowed strings; ``flag``: the option's name when not
    --field-name; ``shown``: the default as --help states it, for a default
    that the run works out (the option's own default is then "not given");
    ``fixed``: a resumed run may not change it; ``legacy``: what a checkpoint
    without this field meant (else today's default); ``negatable``: a
    --name/--no-name pair for a bool; ``only``: (field, value) of the runs
    it applies to, refused in others, where it would do nothing without a
    word (``("arch", "resnet")``)."""
    if check is not None and check not in CHECKS:
        raise ValueError(f"unknown check {check!r}")
    return field(default=default, metadata={
        "help": help, "check": check, "choices": choices, "flag": flag, "shown": shown,
        "fixed": fixed, "legacy": legacy, "negatable": negatable,
        "only": only})


def seed_option():
    """The --seed every trainer takes, defined once."""
    return option(0, "Seed for weights, shuffling and sampling; the same seed gives the same "
                     "run.", check="count", fixed=True)


def time_limit_option(help):
    """--time-limit, 0 (none) unless given."""
    return option(0.0, help, check="above0", shown="")


def meta(f, key, default=None):
    return f.metadata.get(key, default) if f.metadata else default


def problem(f, value, stored=False):
    """What is wrong with ``value`` for field ``f`` (a sentence that follows
    the field's name), or None when it is allowed. In a checkpoint's config
    (``stored``), a field whose default the run works out (``shown``) may
    also hold that "not given" default (--steps: 0)."""
    if stored and meta(f, "shown") is not None and value == f.default:
        return None
    choices = meta(f, "choices")
    if choices is not None and value not in choices:
        return f"must be one of {', '.join(choices)}"
    check = meta(f, "check")
    if check is not None and not CHECKS[check][0](value):
        return CHECKS[check][1]
    return None


def command_fields(cls):
    """The fields of ``cls`` that are command-line options, in their order."""
    return [f for f in fields(cls) if meta(f, "help") is not None]


def fixed_fields(cls):
    """The names that a resumed run must keep: it would no longer be the same
    model or data order."""
    return tuple(f.name for f in fields(cls) if meta(f, "fixed"))


def legacy_default(f):
    """What a checkpoint written before field ``f`` existed meant by it."""
    legacy = meta(f, "legacy", MISSING)
    return f.default if legacy is MISSING else legacy


def flag_of(f):
    return meta(f, "flag") or "--" + f.name.replace("_", "-")
