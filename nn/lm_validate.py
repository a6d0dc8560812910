"""Validation of a language model within a budget: a fixed part of the
validation split, progress while it runs, and a stop at the time limit.

On a 50 MB text the validation split is 5.2 M characters, and scoring all
of it took 30 s each time, with nothing shown and ``--time-limit 3`` still
running at 60 s. So each validation scores the same first ``val_chars``
characters of the split (every validation the same text, so that losses
compare), reports its progress, and stops when the clock passes the run's
deadline; the trainer keeps the time one validation takes in reserve, so
that the last one fits inside the limit.
"""

from . import clock
from .lm_data import evaluate_lm

# Before any validation has been timed, a probe times this many chunks of
# the part. The training speed says little: scoring a character ran 2.7x
# faster than training on one for the default model, 30x for a 1x16 LSTM,
# whose steps are mostly the optimizer's and Python's overhead.
PROBE_CHUNKS = 16


class _OutOfTime(Exception):
    """Raised from the progress callback to stop evaluate_lm at the deadline."""


def scored_part(val_ids, val_chars):
    """The part of the validation split that every validation scores: its
    first ``val_chars`` characters (0: all of it); None without a split."""
    if val_ids is None:
        return None
    if val_chars and len(val_ids) > val_chars:
        return val_ids[:val_chars]
    return val_ids


class Validator:
    """Scores ``ids`` (or does nothing when they are None) and keeps how long
    it took per character, for the estimate of the next validation."""

    def __init__(self, ids):
        self.ids = ids
        self.seconds_per_char = None
        self.started = False  # whether the last run() started before the deadline

    @property
    def chars(self):
        return 0 if self.ids is None else int(len(self.ids))

    def estimate(self):
        """Seconds one validation will take, at the speed of the last one
        (or of the probe); 0 when nothing is known yet."""
        if self.ids is None or self.seconds_per_char is None:
            return 0.0
        return self.chars * self.seconds_per_char

    def probe(self, model, batch, seq_len, deadline=None):
        """Times the scoring of the first PROBE_CHUNKS chunks, for estimate()
        before the first validation; the loss is not used. Returns the
        seconds it took. Evaluation changes no state of the run (no random
        numbers, no carried state), so resuming stays exact."""
        if self.ids is None:
            return 0.0
        part = self.ids[:PROBE_CHUNKS * batch * seq_len + 1]
        loss, seconds, _ = _score(model, part, batch, seq_len, deadline)
        if loss is not None:  # else the time is up anyway
            self.seconds_per_char = seconds / len(part)
        return seconds

    def run(self, model, batch, seq_len, deadline=None, report=None):
        """(loss, seconds taken). The loss is None when the clock (clock.now)
        reaches ``deadline`` before the end: a validation cut short says
        nothing, as it did not score the same text as the others.
        ``report("val_progress", {"done", "total"})`` follows it."""
        if self.ids is None:
            return None, 0.0
        loss, seconds, self.started = _score(model, self.ids, batch, seq_len, deadline, report)
        if loss is not None:
            self.seconds_per_char = seconds / max(self.chars, 1)
        return loss, seconds


def _score(model, ids, batch, seq_len, deadline=None, report=None):
    """(loss or None if stopped at ``deadline``, seconds, whether it started
    at all). Reads the clock after every chunk, the probe as well, so that
    both are timed alike."""
    t0 = clock.now()
    if deadline is not None and t0 >= deadline:
        return None, 0.0, False

    def progress(done, total):
        if report is not None:
            report("val_progress", {"done": done, "total": total})
        now = clock.now()
        if deadline is not None and now >= deadline:
            raise _OutOfTime

    try:
        loss = evaluate_lm(model, ids, batch, seq_len, on_progress=progress)
    except _OutOfTime:
        if report is not None:
            report("val_progress", {"done": None, "total": len(ids)})  # ends the bar
        loss = None
    return loss, clock.now() - t0, True
