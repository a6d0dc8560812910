"""Progress on stderr with rich: a live bar only when stderr is a terminal,
plain summary lines always (they are what a CI log keeps)."""

import time
from contextlib import contextmanager

# Without a terminal, a long count (characters scored) prints a line this
# often, so that a log shows a 30 s validation moving; shorter ones, none.
LINE_SECONDS = 10.0


class Counter:
    """Progress through one long count: a bar in ``progress`` (a rich
    Progress, when stderr is a terminal), else a line through ``line`` every
    LINE_SECONDS. update(done, total); done None or total ends it."""

    def __init__(self, line, progress, what, unit):
        self.line, self.progress, self.what, self.unit = line, progress, what, unit
        self.task = None
        self.last = None  # when the count started or last printed a line

    def update(self, done, total):
        if done is None or done >= total:
            self.close()
        elif self.progress is not None:
            if self.task is None:
                self.task = self.progress.add_task(self.what, total=total, completed=done,
                                                   stats=self.unit)
            self.progress.update(self.task, completed=done)
        elif self.last is None:
            self.last = time.monotonic()
        elif time.monotonic() - self.last >= LINE_SECONDS:
            self.last = time.monotonic()
            self.line(f"{self.what}: {done:,} of {total:,} {self.unit} ({done / total:.0%})")

    def close(self):
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        self.last = None


def stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def stdout_console():
    from rich.console import Console

    return Console(highlight=False)


class TrainProgress:
    """The ``report(event, info)`` callback of the trainers, drawn with rich."""

    def __init__(self, unit="img"):
        self.console = stderr_console()
        self.unit = unit
        self.progress = None
        self.task = None
        from .sparkline import Sparkline

        self.sparkline = Sparkline()  # the recent loss, on the live bar only

    def __enter__(self):
        if self.console.is_terminal:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TextColumn("eta"),
                TimeRemainingColumn(), console=self.console, transient=True)
            self.progress.__enter__()
        self.validating = Counter(self.line, self.progress, "validating", "characters")
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.__exit__(*exc)
            self.progress = None

    def line(self, text):
        self.console.print(text, markup=False, soft_wrap=True)

    def __call__(self, event, info):
        if event == "message":
            self.line(info["text"])
        elif event == "epoch_start" and self.progress is not None:
            if self.task is not None:
                self.progress.remove_task(self.task)
            self.task = self.progress.add_task(
                f"epoch {info['epoch']}/{info['epochs']}", total=info["batches"],
                completed=info["done"], stats="")
        elif event == "batch" and self.task is not None:
            self.sparkline.add(info["loss"])
            stats = (f"loss {info['loss']:.4f} {self.sparkline.text()}  "
                     f"acc {info['accuracy']:6.2%}  {info['images_per_second']:,.0f} {self.unit}/s")
            self.progress.update(self.task, completed=info["done"], stats=stats)
        elif event == "epoch_end":
            if self.task is not None:
                self.progress.remove_task(self.task)
                self.task = None
            self.line(f"epoch {info['epoch']:g}  loss {info['train_loss']:.4f}  "
                      f"acc {info['train_accuracy']:.2%}  test loss {info['test_loss']:.4f}  "
                      f"test acc {info['test_accuracy']:.2%}  {info['seconds']:.1f}s  "
                      f"{info['images_per_second']:,.0f} {self.unit}/s")


class LMProgress(TrainProgress):
    """The ``report(event, info)`` callback of the language-model trainer."""

    def __call__(self, event, info):
        if event == "message":
            self.line(info["text"])
        elif event == "start" and self.progress is not None:
            self.task = self.progress.add_task("training", total=info["total"],
                                               completed=info["done"], stats="")
        elif event == "step" and self.task is not None:
            self.sparkline.add(info["loss"])
            stats = (f"loss {info['loss']:.4f} {self.sparkline.text()}  "
                     f"{info['tokens_per_second']:,.0f} {self.unit}/s")
            self.progress.update(self.task, completed=info["done"], stats=stats)
        elif event == "val_progress":
            self.validating.update(info["done"], info["total"])
        elif event == "validation":
            val = info["val_loss"]
            text = (f"step {info['step']:,}/{info['total']:,}  epoch {info['epoch']:.2f}  "
                    f"train loss {info['train_loss']:.4f}")
            if val is not None:
                text += f"  val loss {val:.4f}" + ("  (best)" if info["best"] else "")
            self.line(text + f"  {info['seconds']:.0f}s")


@contextmanager
def count_progress(what, unit):
    """Yields an ``on_progress(done, total)`` callback for one long count,
    such as the characters ``nnlab eval`` scores (see Counter)."""
    console = stderr_console()
    if not console.is_terminal:
        yield Counter(lambda text: console.print(text, markup=False, soft_wrap=True), None,
                      what, unit).update
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TextColumn("eta"),
                  TimeRemainingColumn(), console=console, transient=True) as progress:
        yield Counter(None, progress, what, unit).update


@contextmanager
def download_progress():
    """Yields an ``on_progress(filename, done, total)`` callback drawing a bar per file."""
    console = stderr_console()
    if not console.is_terminal:
        seen = set()

        def plain(name, done, total):
            if name not in seen:
                seen.add(name)
                console.print(f"downloading {name}", markup=False, soft_wrap=True)

        yield plain
        return
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    tasks = {}
    with Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
                  console=console, transient=True) as progress:
        def update(name, done, total):
            if name not in tasks:
                tasks[name] = progress.add_task(f"downloading {name}", total=total)
            progress.update(tasks[name], completed=done, total=total)

        yield update


class SeqProgress(LMProgress):
    """LMProgress, with the sequence trainers' validation figure (accuracy
    or exact match) on each validation line."""

    def __call__(self, event, info):
        if event != "validation":
            return super().__call__(event, info)
        text = (f"step {info['step']:,}/{info['total']:,}  epoch {info['epoch']:.2f}  "
                f"train loss {info['train_loss']:.4f}")
        if info["val_loss"] is not None:
            text += f"  val loss {info['val_loss']:.4f}"
            for key, name in (("accuracy", "acc"), ("exact_match", "exact")):
                if info.get(key) is not None:
                    text += f"  val {name} {info[key]:.2%}"
            text += "  (best)" if info["best"] else ""
        self.line(text + f"  {info['seconds']:.0f}s")
