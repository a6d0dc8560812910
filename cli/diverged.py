"""What the training commands say when a run diverges, or cannot save: the
trainer's reason (nn/runs.py) and what is on disk, which only the command
knows, since it does the saving.

``--lr 1e6`` once said "the last checkpoint, from before, is kept" when the
only checkpoint on disk was the diverged one; now diverged states are never
saved (the trainers check the losses and the weights first), and this says
which checkpoint holds the last good state, or that there is none.
"""

import os

from nnlab import NnlabError

from .output import dumps


class SaveLog:
    """The last good checkpoint of a run: the --resume file until the run
    saves, then ``out``."""

    def __init__(self, out, resume=None, resume_step=None):
        self.out = out
        self.last = (resume, resume_step) if resume else None
        # A file at --out that this run has not written: an earlier run's.
        self.out_existed = os.path.lexists(out) and not (resume and _same(out, resume))

    def saved(self, step):
        self.last = (self.out, step)

    def on_disk(self):
        if self.last is not None:
            path, step = self.last
            return f"{path} holds the last good state, from step {step:,}"
        if self.out_existed:
            return f"nothing was saved, and {self.out} is as it was before this run"
        return "nothing was saved: no checkpoint was written"


def _same(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


def diverged_error(err, log, as_json, echo):
    """The NnlabError (exit 1) to raise for ``err``, a Diverged; with --json,
    first one strict JSON object on stdout through ``echo``, so that a
    script reads null and a message rather than NaN or nothing."""
    message = f"{err}; {log.on_disk()}"
    if as_json:
        path, step = log.last if log.last is not None else (None, None)
        echo(dumps({"error": message, "diverged": True, "step": err.step, "loss": err.loss,
                    "checkpoint": path, "checkpoint_step": step}))
    return NnlabError(message)


def save_failed(err, log, step):
    """The NnlabError (exit 1) for a checkpoint that could not be written at
    ``step`` (its folder removed, the disk full), an OSError or nn/target.py's
    TargetError: the run stops there, and, as for a divergence, the message
    says what is on disk; it said only "folder ... does not exist"."""
    reason = str(err) if isinstance(err, NnlabError) else \
        f"cannot write {log.out}: {err.strerror or err}"
    return NnlabError(f"training stopped at step {step:,}: {reason}; {log.on_disk()}")
