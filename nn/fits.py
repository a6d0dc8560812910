"""Refusing a model that could not be trained in this machine's memory,
before anything is built: nn/footprint.py estimates the weights, the
optimizer's state and a batch's activations from the sizes alone, so that
``--depth 100000`` or ``--hidden 10000000`` is one line in a fraction of a
second, not minutes of building and gigabytes of memory."""

from nnlab import NnlabError, memory

from .runs import UsageProblem


def _smaller(sizes, name):
    return dict(sizes, **{name: max(1, sizes[name] // 2)})


def check_fits(estimate, sizes, options, batch_text, resume=None):
    """Raises a usage error (exit 2) when ``estimate(**sizes)``, a Footprint,
    is more than the memory available. ``options`` maps the names in
    ``sizes`` that the user can change to their option (``{"hidden":
    "--hidden"}``); the message names the one whose halving saves the most.
    With ``resume`` (its checkpoint's path) nothing can be changed, so the
    error says so instead (exit 1)."""
    have = memory.available_memory()
    if have is None:
        return
    try:
        need = estimate(**sizes)
    except (TypeError, ValueError):
        return  # arguments no network takes (a damaged checkpoint): building says which
    if need.total <= have:
        return
    what = (f"a model of {need.params:,} parameters trained on batches of {batch_text} needs "
            f"about {memory.size_text(need.total)} ({memory.size_text(need.weights)} for the "
            f"weights and optimizer state, {memory.size_text(need.activations)} for the "
            f"activations), more than the {memory.size_text(have)} of memory available")
    if resume is not None:
        raise NnlabError(f"--resume: {resume} holds {what}; resume it on a machine with more "
                         "memory")
    saving = {name: need.total - estimate(**_smaller(sizes, name)).total for name in options}
    best = max(options, key=lambda name: saving[name])  # the first of equals: dict order
    # Also those that save half as much: --depth 100000 is best cut by --depth, though
    # halving --width saves more.
    also = [options[n] for n in options if n != best and 2 * saving[n] >= saving[best] > 0]
    named = [options[best], *also]
    named = ", ".join(named[:-1]) + " or " + named[-1] if len(named) > 1 else named[0]
    raise UsageProblem(f"{what}; use a smaller {named}", options[best])
