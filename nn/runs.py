"""What the training loops share: refusing to go on from a diverged loss,
and refusing to resume a run with options that would change what it is."""

import math

from nnlab import NnlabError


class Diverged(NnlabError):
    """The loss became NaN, infinite or absurdly large."""


class ResumeConflict(NnlabError):
    """An option that contradicts the checkpoint being resumed: a usage error."""

    exit_code = 2


def loss_bound(classes):
    """A loss no sane run reaches: 20 times that of guessing uniformly among
    ``classes``, i.e. the right class at probability e^-(20 ln K)."""
    return 20.0 * math.log(max(classes, 2))


def check_loss(loss, step, last_good, hint, bound=math.inf):
    """Raises Diverged when ``loss`` is NaN, infinite or above ``bound``;
    step counts from 1."""
    if not math.isfinite(loss) or loss > bound:
        what = f"{loss:.4g}, past the bound of {bound:.4g}" if math.isfinite(loss) else str(loss)
        last = f" (last good loss {last_good:.4f})" if last_good is not None else ""
        raise Diverged(f"training diverged at step {step:,}: the loss is {what}{last}; {hint}; "
                       "the last checkpoint, from before, is kept")


def check_resume(saved, config, fixed):
    """Raises NnlabError when ``config`` changes one of the ``fixed`` fields of
    the checkpoint's ``saved`` config."""
    for name in fixed:
        before, now = getattr(saved, name), getattr(config, name)
        if before != now:
            raise ResumeConflict(
                f"--resume: the checkpoint was trained with {name.replace('_', '-')} = "
                f"{before!r}, not {now!r}; drop that option or start a new run")
