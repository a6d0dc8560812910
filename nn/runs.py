"""What the training loops share: refusing to go on from (or save) a diverged
loss or weights, and the usage errors of a run's options."""

import math

import numpy as np

from nnlab import NnlabError, UsageProblem


class Diverged(NnlabError):
    """The loss became NaN, infinite or absurdly large, or the weights did.
    The message says what and where; the command adds what is on disk, which
    only it knows. ``step`` and ``loss`` (None for the weights) are for --json."""

    def __init__(self, message, step, loss=None):
        super().__init__(message)
        self.step, self.loss = step, loss


class ResumeConflict(UsageProblem):
    """An option that contradicts the checkpoint being resumed."""


def loss_bound(classes):
    """A loss no sane run reaches: 20 times that of guessing uniformly among
    ``classes``, i.e. the right class at probability e^-(20 ln K)."""
    return 20.0 * math.log(max(classes, 2))


def check_loss(loss, step, last_good, hint, bound=math.inf, what="loss"):
    """Raises Diverged when ``loss`` is NaN, infinite or above ``bound``;
    step counts from 1. ``what``: "loss" (training) or "validation loss"."""
    if not math.isfinite(loss) or loss > bound:
        shown = f"{loss:.4g}, past the bound of {bound:.4g}" if math.isfinite(loss) else str(loss)
        last = ""
        if last_good is not None:
            last = (f" (last good loss {last_good:.4f})" if what == "loss"
                    else f" (training loss {last_good:.4f})")
        raise Diverged(f"training diverged at step {step:,}: the {what} is {shown}{last}; {hint}",
                       step, loss)


def check_weights(params, step, hint):
    """Raises Diverged when a weight is NaN or infinite: the last update blew
    them up, and such a state must not be saved. ``params``: {name: array}."""
    for name, p in params.items():
        if not np.isfinite(p).all():
            raise Diverged(f"training diverged at step {step:,}: the weights ({name}) hold NaN "
                           f"or infinite values; {hint}", step)
