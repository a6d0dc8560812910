"""--log FILE.jsonl: one JSON object per validation (or CNN epoch), appended
as JSON Lines, so that jq, pandas or a notebook can follow a run.

Each line holds the history entry the trainer made (step, epoch, losses,
accuracies) and what the entry lacks: the step, the learning rate of the
last step, the tokens, images, sequences or strips per second, and the
wall seconds since training began (reading the data not counted).
Strict JSON: a NaN is null.

Appending loses nothing, but a log must not land in someone's notes or in
a checkpoint, so an existing file must be empty or JSON Lines already (its
first line an object), a regular file, and not the run's own checkpoint.
"-" is stdout, when --json does not use it.
"""

import json
import os
import stat
import sys
import time

import click

from .output import dumps

EVENTS = ("validation", "epoch_end")
RATES = ("items_per_second", "tokens_per_second")  # the trainers' own names for their speed


def check_log(path, outputs, as_json):
    """Refuses a --log that would harm a file or collide with --json, as a
    usage error, before training starts."""
    if path is None:
        return
    if path == "-":
        if as_json:
            raise click.BadParameter("- is stdout, where --json writes; give --log a file",
                                     param_hint="--log")
        return
    real = os.path.realpath(path)
    if any(real == os.path.realpath(o) for o in outputs if o):
        raise click.BadParameter(f"{path} is the run's checkpoint; give the log a file of its "
                                 "own, such as run.jsonl", param_hint="--log")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise click.BadParameter(f"cannot write {path}: {e.strerror or e}", param_hint="--log")
    if not stat.S_ISREG(st.st_mode):
        from nnlab.nn.target import file_kind

        raise click.BadParameter(f"{path} is {file_kind(st.st_mode)}; give a file for the log",
                                 param_hint="--log")
    if st.st_size and not _is_jsonl(path):
        raise click.BadParameter(f"{path} is not a JSON Lines log, and the log would be added "
                                 "to its end; give a new file, such as run.jsonl",
                                 param_hint="--log")


def _is_jsonl(path):
    try:
        with open(path, "rb") as f:
            first = f.readline(1 << 20)
        return isinstance(json.loads(first.decode("utf-8")), dict)
    except (OSError, ValueError):
        return False


class MetricsLog:
    """The ``report(event, info)`` wrapper that appends the log's lines."""

    def __init__(self, path, trainer, report):
        self.path, self.trainer, self.report = path, trainer, report
        self.t0 = time.monotonic()
        self.file = None

    def __enter__(self):
        if self.path == "-":
            self.file = sys.stdout
        else:
            from nnlab import NnlabError
            from nnlab.files import write_error

            try:
                self.file = open(self.path, "a", encoding="utf-8")
            except OSError as e:
                raise NnlabError(write_error(e, self.path)) from None
        return self

    def __exit__(self, *exc):
        if self.file is not None and self.file is not sys.stdout:
            self.file.close()

    def __call__(self, event, info):
        self.report(event, info)
        if event in EVENTS:
            self.write(info)

    def line(self, text):
        self.report.line(text)

    def write(self, info):
        t = self.trainer
        entry = {"step": t.step, **{k: v for k, v in info.items() if k != "total"}}
        entry["lr"] = getattr(t, "lr", None)
        for name in RATES:
            if name not in entry and getattr(t, name, None) is not None:
                entry[name] = getattr(t, name)
        entry["wall_seconds"] = round(time.monotonic() - self.t0, 3)
        self.file.write(dumps(entry) + "\n")
        self.file.flush()
