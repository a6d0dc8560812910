"""Options shared by several commands, as decorators (pip-tools' style)."""

import functools
import os
import sys

import click

from nnlab import UsageProblem

json_option = click.option(
    "--json", "as_json", is_flag=True,
    help="Print the results as one JSON object on stdout (progress still goes to stderr).")

seed_option = click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True,
    help="Seed for sampling; the same seed gives the same text.")

data_option = click.option(
    "--data", "data_dir", type=click.Path(file_okay=False, path_type=str), default=None,
    help="Folder holding the dataset's IDX files (else $NNLAB_DATA, then ~/.cache/nnlab).")

def _cores():
    """The cores this process may run on (a container or taskset can limit them)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def _set_threads(ctx, param, value):
    if value is None:
        return None
    if value < 1:
        raise click.BadParameter(f"must be at least 1, got {value}")
    cores = _cores()
    if cores and value > cores:
        # More threads than cores only wait for each other: --threads 1000 ran 5x
        # slower. Capped rather than refused, as the same command line may
        # well run on a bigger machine tomorrow.
        click.echo(f"note: --threads {value} is more than the {cores} cores this process may "
                   f"use; using {cores}", err=True)
        value = cores
    if "numba" in sys.modules:  # already loaded (in-process use): resize its pool
        import numba

        numba.set_num_threads(min(value, numba.config.NUMBA_NUM_THREADS))
    else:
        os.environ["NUMBA_NUM_THREADS"] = str(value)
    return value


threads_option = click.option(
    "--threads", type=int, default=None, callback=_set_threads, expose_value=False,
    is_eager=True, help="Threads for the kernels, at most the cores available.  [default: the "
                        "cores available]")


def positive_float(ctx, param, value):
    if value is not None and not 0 < value < float("inf"):  # also rejects NaN
        raise click.BadParameter(f"must be a finite number above 0, got {value}")
    return value


def explicit(ctx, name):
    """True when the user gave option ``name`` on the command line."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def usage_errors(command):
    """Reports the run's usage errors (UsageProblem, raised in nn/ and data/
    where the options are resolved) as Click's own: exit 2, the option named."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except UsageProblem as e:
            if e.option is not None:
                raise click.BadParameter(str(e), param_hint=e.option) from None
            raise click.UsageError(str(e)) from None
    return wrapper


log_option = click.option(
    "--log", "log", type=click.Path(allow_dash=True), default=None, metavar="FILE.jsonl",
    help="Append one JSON object per validation (per epoch for train-cnn) to this JSON Lines "
         "file: step, epoch, losses, accuracy, learning rate, speed, wall seconds. - is "
         "stdout (the results then go to stderr), when --json is off.")


def results_echo(log):
    """click.echo for a command's results: to stderr when --log - holds stdout."""
    if log == "-":
        return lambda text="": click.echo(text, err=True)
    return click.echo


download_option = click.option(
    "--download/--no-download", default=True, show_default=True,
    help="Download the dataset when it is not found.")


def out_option(default, callback, help):
    """--out of a training command: its checkpoint, checked before training."""
    return click.option("--out", type=click.Path(dir_okay=False), default=default,
                        show_default=True, callback=callback, help=help)


def resume_option(help="Continue training from this checkpoint."):
    return click.option("--resume", type=click.Path(dir_okay=False), default=None, help=help)


force_option = click.option(
    "--force", is_flag=True, is_eager=True,  # eager: --out's check below reads it
    help="Replace --out even if it is a file other than an nnlab checkpoint (never a folder, "
         "a device or a pipe).")


def best_path(out):
    """charlm.npz -> charlm.best.npz: where train-charlm puts the best checkpoint."""
    root, ext = os.path.splitext(out)
    return f"{root}.best{ext or '.npz'}"


def run_of_best(path):
    """charlm.best.npz -> charlm.npz, the run's own checkpoint beside a best
    one; None when ``path`` is not named as a best checkpoint."""
    root, ext = os.path.splitext(path)
    return root[:-len(".best")] + (ext or ".npz") if root.endswith(".best") else None


def resumed_out(resume):
    """Where a resumed train-charlm run writes without --out: the --resume
    file itself, except for NAME.best.npz, whose run goes on in NAME.npz
    (with NAME.best.npz still its best), not into NAME.best.best.npz."""
    return run_of_best(resume) or resume


def _check_outputs(ctx, param, value, paths):
    from nnlab.nn.target import TargetError
    from nnlab.nn.checkpoint import check_output

    resume = ctx.params.get("resume")
    targets = paths(value)
    if resume and not explicit(ctx, param.name):
        # The command writes to the --resume file instead, which loading it
        # checks; here, only what goes beside it (NAME.best.npz).
        targets = [p for p in paths(resume) if p != resume]
    force = bool(ctx.params.get("force"))
    for path in targets:
        try:
            check_output(path, force)
        except TargetError as e:
            raise click.BadParameter(str(e)) from None
    return value


def writable_output(ctx, param, value):
    """--out's callback: refuses, before training starts and not after an
    hour of it, a path whose checkpoint would replace a folder, a device, a
    pipe, or a file that is not a checkpoint (unless --force)."""
    return _check_outputs(ctx, param, value, lambda out: (out,))


def writable_output_and_best(ctx, param, value):
    """writable_output for train-charlm, which also writes NAME.best.npz.
    Resuming from NAME.best.npz without --out goes on in NAME.npz; when that
    file exists it holds the run's latest state, which the resumed run would
    replace, so --out must say where to go instead."""
    resume = ctx.params.get("resume")
    run = resume and not explicit(ctx, param.name) and run_of_best(resume)
    if run:
        if os.path.lexists(run):
            raise click.BadParameter(
                f"--resume {resume} is a best checkpoint, and resuming it would replace {run}, "
                f"the run's latest checkpoint; give --out a new file name (or --out {run} to "
                "replace it)")
        return _check_outputs(ctx, param, run, lambda out: (out, best_path(out)))
    return _check_outputs(ctx, param, value, lambda out: (out, best_path(out)))
