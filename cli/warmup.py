"""nnlab warmup: compile every kernel once, ahead of the first real run."""

import time

import click

from .options import threads_option


@click.command("warmup")
@threads_option
def warmup():
    """Compile every kernel now, so that later commands start at once.

    Kernels are compiled the first time they run and kept in a per-user
    cache (~/.cache/nnlab), so this is needed once per install; without it
    the first training run pays the same time.
    """
    t0 = time.perf_counter()
    from nnlab.nn.warmup import TASKS

    from .ui import stderr_console

    console = stderr_console()
    if console.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress("{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            bar = progress.add_task("compiling", total=len(TASKS))
            for name, task in TASKS:
                progress.update(bar, description=f"compiling: {name}")
                task()
                progress.advance(bar)
    else:
        for name, task in TASKS:
            console.print(f"compiling: {name}", markup=False, soft_wrap=True)
            task()
    click.echo(f"kernels ready in {time.perf_counter() - t0:.1f}s")
