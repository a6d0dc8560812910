"""nnlab plot: training curves from the history checkpoints already hold,
in the terminal (plotext) or as a PNG (matplotlib, the optional ``plot``
extra). Several checkpoints overlay, to compare runs."""

import os
import sys

import click

# (train figure, validation figure) of each kind, for --y loss and --y accuracy
FIGURES = {
    "loss": {"cnn": ("train_loss", "test_loss")},
    "accuracy": {"cnn": ("train_accuracy", "test_accuracy"), "reader": (None, "exact_match"),
                 "seq2seq": (None, "exact_match"), "classifier": (None, "accuracy"),
                 "tagger": (None, "accuracy")},
}
DEFAULT = {"loss": ("train_loss", "val_loss"), "accuracy": (None, None)}


def step_key(kind):
    """The history field a run's progress is counted in."""
    return "epoch" if kind == "cnn" else "step"


def series(meta, y, x):
    """[(label, xs, ys)] of one checkpoint's history: its train and
    validation figures against steps (epochs for a CNN) or minutes."""
    kind = meta.get("kind")
    history = [h for h in meta.get("history") or [] if isinstance(h, dict)]
    if kind == "cnn":  # its entries hold each epoch's own seconds: add them up
        total, xs_min = 0.0, []
        for h in history:
            total += h.get("seconds") or 0.0
            xs_min.append(total / 60)
    else:
        xs_min = [(h.get("seconds") or 0.0) / 60 for h in history]
    xs = xs_min if x == "minutes" else [h.get(step_key(kind)) for h in history]
    out = []
    for key in FIGURES[y].get(kind, DEFAULT[y]):
        if key is None:
            continue
        points = [(a, h.get(key)) for a, h in zip(xs, history)
                  if isinstance(h.get(key), (int, float)) and a is not None]
        if points:
            out.append((key.replace("_", " "), *map(list, zip(*points))))
    return out


@click.command("plot")
@click.argument("checkpoints", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--y", "y", type=click.Choice(["loss", "accuracy"]), default="loss",
              show_default=True, help="What to draw: the losses, or the accuracy figures.")
@click.option("--x", "x", type=click.Choice(["steps", "minutes"]), default="steps",
              show_default=True, help="Against steps (epochs for a CNN) or training minutes.")
@click.option("--png", type=click.Path(dir_okay=False), default=None,
              help="Write the plot to this PNG file (matplotlib) instead of the terminal.")
def plot(checkpoints, y, x, png):
    """Draw the training curves of CHECKPOINT(S) from the history they hold."""
    from nnlab import NnlabError
    from nnlab.nn.checkpoint import load_checkpoint

    runs, kinds = [], set()
    for path in checkpoints:
        meta, _ = load_checkpoint(path)
        kinds.add(step_key(meta.get("kind")))
        lines = series(meta, y, x)
        if not lines:
            raise NnlabError(f"{path} holds no {y} figures to draw (no validation yet, or a "
                             f"{meta.get('kind')} has none: try --y loss)")
        name = os.path.basename(path)
        runs += [(f"{name} {label}" if len(checkpoints) > 1 else label, xs, ys)
                 for label, xs, ys in lines]
    xlabel = ("training minutes" if x == "minutes" else
              kinds.pop() if len(kinds) == 1 else "step (epoch for a CNN)")
    title = ", ".join(os.path.basename(p) for p in checkpoints)
    if png:
        _png(png, runs, xlabel, y, title)
        click.echo(png)
        return
    import plotext as plt

    plt.clear_figure()
    terminal = sys.stdout.isatty()
    if not terminal:
        plt.plot_size(100, 30)  # plotext would ask a pipe for its size
    for label, xs, ys in runs:
        plt.plot(xs, ys, label=label, marker="braille")
    plt.title(title)
    plt.xlabel(xlabel)
    plt.ylabel(y)
    chart = plt.build()
    # No colour codes in a file or a pipe.
    click.echo(chart if terminal else plt.uncolorize(chart))


def _is_png(path):
    try:
        with open(path, "rb") as f:
            return f.read(8) == b"\x89PNG\r\n\x1a\n"
    except OSError:
        return False


def _png(path, runs, xlabel, y, title):
    from nnlab import NnlabError
    from nnlab.files import atomic_write
    from nnlab.nn.target import TargetError, output_target

    try:
        import matplotlib
    except ImportError:
        raise NnlabError("--png needs matplotlib: pip install 'nnlab[plot]'") from None
    try:  # the checkpoints' own check: never over a folder, a device or someone's file
        real = output_target(path, _is_png, what="PNG")
    except TargetError as e:
        raise click.BadParameter(str(e), param_hint="--png") from None
    matplotlib.use("Agg")
    from matplotlib import pyplot

    fig, ax = pyplot.subplots(figsize=(8, 4.5), dpi=100)
    for label, xs, ys in runs:
        ax.plot(xs, ys, label=label)
    ax.set(xlabel=xlabel, ylabel=y, title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    try:
        atomic_write(real, lambda f: fig.savefig(f, format="png"))
    finally:
        pyplot.close(fig)
