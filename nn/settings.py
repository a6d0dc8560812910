"""A run's config from what the user gave: today's defaults for a new run,
the checkpoint's own settings for a resumed one. ``given`` is always
{field: value} of the options given on the command line only, so that a
default never overrides what a checkpoint holds."""

from dataclasses import fields, replace

from .fields import fixed_fields, flag_of, meta
from .meta import Meta, config_from
from .runs import ResumeConflict, UsageProblem


def new_config(cls, given):
    """``cls`` with the ``given`` fields and, for the rest, the defaults
    (including those the config works out from others: ``fill_defaults``)."""
    config = cls(**given)
    if hasattr(config, "fill_defaults"):
        config.fill_defaults(set(given))
    check_applies(config, given)
    return config


def resumed_config(cls, m, given):
    """The config of the checkpoint (a Meta) with the ``given`` fields laid
    over it; refuses a change to a field that makes the run what it is."""
    saved = config_from(cls, m)
    config = replace(saved, **given)
    for name in fixed_fields(cls):
        before, now = getattr(saved, name), getattr(config, name)
        if before != now:
            raise ResumeConflict(
                f"--resume: the checkpoint was trained with {name.replace('_', '-')} = "
                f"{before!r}, not {now!r}; drop that option or start a new run")
    if hasattr(config, "on_resume"):
        config.on_resume(set(given))
    check_applies(config, given)
    return config


def resume_settings(cls, kind, resume, given):
    """(config, Meta, (meta, arrays)) of a run resuming checkpoint
    ``resume`` of ``kind``, refused if it cannot be trained further."""
    from .checkpoint import load_checkpoint
    from .restore import check_resumable

    meta, arrays = load_checkpoint(resume, kind=kind)
    check_resumable(meta, arrays, resume)
    m = Meta(meta, resume)
    return resumed_config(cls, m, given), m, (meta, arrays)


def resumed_file(m, file, what):
    """The data a resumed run trains on: ``file``, else the checkpoint's own
    (stdin cannot be read again, so it must be given)."""
    file = file or m.section("corpus", {}).get("path", "str?", None)
    if not file or file == "-":
        raise UsageProblem(f"give the {what} to resume training on")
    return file


def check_applies(config, given):
    """A usage error for a given option that this run's architecture or
    optimizer ignores (a field's ``only``): it did nothing without a word."""
    for f in fields(config):
        only = meta(f, "only")
        if only is None or f.name not in given:
            continue
        key, value = only
        have = getattr(config, key)
        if have != value:
            option, applies = flag_of(f), f"--{key.replace('_', '-')} {value}"
            raise UsageProblem(f"applies to {applies} only, and this run is --{key} {have}; "
                               f"drop {option} or use {applies}", option)


def plural(n, word):
    """"1 epoch", "2 epochs", "2.5 epochs", "1,000 steps"."""
    text = f"{int(n):,}" if float(n).is_integer() else f"{n:g}"
    return f"{text} {word}" + ("" if n == 1 else "s")


def check_warmup(given, warmup, total_steps):
    """A usage error when a --warmup the user gave is longer than the whole
    run: the learning rate would stay below --lr all run long. Refused
    rather than capped, because any cap would be a schedule the user did not
    ask for; a default that is too long is the trainer's to shorten."""
    if "warmup_steps" in given and warmup > total_steps:
        raise UsageProblem(
            f"{plural(warmup, 'step')} of warm-up are more than the whole run "
            f"({plural(total_steps, 'step')}), so the learning rate would never reach --lr; give "
            f"a --warmup of at most {total_steps:,}, or a longer run", "--warmup")


def check_time_left(config, seconds, resume):
    """A usage error for a resumed run that has used all its --time-limit."""
    if config.time_limit and seconds >= config.time_limit:
        raise UsageProblem(f"{resume} has used its time limit of {config.time_limit:g}s; pass "
                           "a larger --time-limit (in total) to train further")
