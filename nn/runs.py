"""What the training loops share: refusing to go on from a diverged loss,
and refusing to resume a run with options that would change what it is."""

import math

from nnlab import NnlabError


class Diverged(NnlabError):
    """The loss became NaN or infinite."""


def check_loss(loss, step, last_good, hint):
    """Raises Diverged unless ``loss`` is finite; step counts from 1."""
    if not math.isfinite(loss):
        last = f" (last good loss {last_good:.4f})" if last_good is not None else ""
        raise Diverged(f"training diverged at step {step:,}: the loss is {loss}{last}; {hint}")


def check_resume(saved, config, fixed):
    """Raises NnlabError when ``config`` changes one of the ``fixed`` fields of
    the checkpoint's ``saved`` config."""
    for name in fixed:
        before, now = getattr(saved, name), getattr(config, name)
        if before != now:
            raise NnlabError(
                f"--resume: the checkpoint was trained with {name.replace('_', '-')} = "
                f"{before!r}, not {now!r}; drop that option or start a new run")
