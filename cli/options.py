"""Options shared by several commands, as decorators (pip-tools' style)."""

import os
import sys

import click

json_option = click.option(
    "--json", "as_json", is_flag=True,
    help="Print the results as one JSON object on stdout (progress still goes to stderr).")

seed_option = click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True,
    help="Seed for weights, shuffling and sampling; the same seed gives the same run.")

data_option = click.option(
    "--data", "data_dir", type=click.Path(file_okay=False, path_type=str), default=None,
    help="Folder holding the dataset's IDX files (else $NNLAB_DATA, then ~/.cache/nnlab).")

dataset_option = click.option(
    "--dataset", type=click.Choice(["mnist", "fashion-mnist"]), default="mnist",
    show_default=True, help="Which dataset to train on.")


def _set_threads(ctx, param, value):
    if value is None:
        return None
    if value < 1:
        raise click.BadParameter(f"must be at least 1, got {value}")
    if "numba" in sys.modules:  # already loaded (in-process use): resize its pool
        import numba

        numba.set_num_threads(min(value, numba.config.NUMBA_NUM_THREADS))
    else:
        os.environ["NUMBA_NUM_THREADS"] = str(value)
    return value


threads_option = click.option(
    "--threads", type=int, default=None, callback=_set_threads, expose_value=False,
    is_eager=True, help="Threads for the kernels.  [default: the cores available]")


def positive_int(ctx, param, value):
    if value is not None and value < 1:
        raise click.BadParameter(f"must be at least 1, got {value}")
    return value


def positive_float(ctx, param, value):
    if value is not None and not 0 < value < float("inf"):  # also rejects NaN
        raise click.BadParameter(f"must be a finite number above 0, got {value}")
    return value


def nonnegative_float(ctx, param, value):
    if value is not None and not 0 <= value < float("inf"):  # also rejects NaN
        raise click.BadParameter(f"must be a finite number of at least 0, got {value}")
    return value


def fraction(ctx, param, value):
    if value is not None and not 0 <= value < 1:
        raise click.BadParameter(f"must be at least 0 and below 1, got {value}")
    return value


def explicit(ctx, name):
    """True when the user gave option ``name`` on the command line."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def resumed_config(ctx, saved, options):
    """The checkpoint's config ``saved`` with the options the user gave on the
    command line (not their defaults) laid over it."""
    for name, value in options.items():
        if explicit(ctx, name):
            setattr(saved, name, value)
    return saved


def plural(n, word):
    """"1 epoch", "2 epochs", "2.5 epochs", "1,000 steps"."""
    text = f"{int(n):,}" if float(n).is_integer() else f"{n:g}"
    return f"{text} {word}" + ("" if n == 1 else "s")


force_option = click.option(
    "--force", is_flag=True, is_eager=True,  # eager: --out's check below reads it
    help="Replace --out even if it is a file other than an nnlab checkpoint (never a folder, "
         "a device or a pipe).")


def best_path(out):
    """charlm.npz -> charlm.best.npz: where train-charlm puts the best checkpoint."""
    root, ext = os.path.splitext(out)
    return f"{root}.best{ext or '.npz'}"


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
    """writable_output for train-charlm, which also writes NAME.best.npz."""
    return _check_outputs(ctx, param, value, lambda out: (out, best_path(out)))


def check_model_fits(params, option):
    """A usage error when ``params`` float32 weights, with their gradients and
    Adam's two moments, could not fit in this machine's memory at all."""
    need = 16 * params
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if need > have:
        raise click.BadParameter(
            f"a model of {params:,} parameters needs {need / 2**30:,.0f} GiB for its weights and "
            f"optimizer state, more than this machine's {have / 2**30:,.0f} GiB",
            param_hint=option)
