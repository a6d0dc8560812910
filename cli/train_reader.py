"""nnlab train-reader: a CNN encoder and an LSTM decoder that read strips of
handwritten digits (the lecture's one-to-many shape, nn/reader.py).

The options come from ReaderConfig's fields (nn/reader_config.py); the run
is made ready by nn/reader_run.py. This module parses, calls and prints."""

import click

from nnlab.nn.reader_config import ReaderConfig

from .config_options import config_options, given
from .metrics_log import check_log
from .options import (log_option, results_echo, best_path, data_option, download_option, explicit, force_option,
                      json_option, out_option, resume_option, resumed_out, threads_option,
                      usage_errors, writable_output_and_best)
from .output import dumps


@click.command("train-reader")
@data_option
@config_options(ReaderConfig)
@out_option("reader.npz", writable_output_and_best,
            "Checkpoint written at every validation; the best one by validation loss goes "
            "beside it as NAME.best.npz.")
@force_option
@resume_option("Continue training from this checkpoint (--data defaults to its digits).")
@download_option
@json_option
@log_option
@threads_option
@click.pass_context
@usage_errors
def train_reader(ctx, data_dir, out, force, resume, download, as_json, log, **_):
    """Train a reader of handwritten numbers on strips composed from MNIST.

    Every step draws new strips of 1 to --max-digits training digits, with
    random gaps, overlaps and vertical jitter. A CNN encoder sees the strip;
    an LSTM decoder, attending over its columns, writes the digits and an end
    token. Progress goes to stderr; at the end, the whole-number accuracy on
    the fixed test strips (made from the MNIST test digits, the same for
    every run) goes to stdout. Then: nnlab predict reader.npz strip.png.
    """
    from nnlab.data.datasets import load_dataset
    from nnlab.data.strips import reader_sets, test_strips
    from nnlab.nn import reader_eval
    from nnlab.nn.reader_run import build_reader, reader_results, reader_settings
    from nnlab.nn.settings import plural

    from .training import train
    from .ui import SeqProgress, count_progress, download_progress

    if resume and not explicit(ctx, "out"):
        out = resumed_out(resume)
    best = best_path(out)
    check_log(log, (out, best), as_json)
    echo = results_echo(log)
    options = given(ctx, ReaderConfig)
    config, saved_dir, checkpoint = reader_settings(options, resume)
    with download_progress() as on_progress:
        data = load_dataset("mnist", data_dir or saved_dir, download=download,
                            on_progress=on_progress)
    maker, val = reader_sets(data, config.max_digits, config.val_per_length)
    trainer = build_reader(config, options, maker, val, data.folder, resume, checkpoint)
    c = trainer.config
    verb = f"resuming at step {trainer.step:,} of" if resume else "training"
    headline = (f"{verb} a reader (CNN {c.channels} + {c.layers}-layer LSTM of {c.hidden}, "
                f"{trainer.model.num_params():,} parameters) on strips of 1-{c.max_digits} "
                f"digits from {trainer.n_digits:,} MNIST training digits, "
                f"{plural(trainer.total_steps, 'step')} of {c.batch_size}"
                + (f", at most {c.time_limit:g}s" if c.time_limit else ""))
    final = train(trainer, SeqProgress(unit="strips"), out, best=best, resume=resume,
                  force=force, as_json=as_json, lines=[headline],
                  resume_command="nnlab train-reader", metrics_log=log)
    test = None
    if final is not None:
        images, labels = test_strips(data.test_x, data.test_y, c.max_digits)
        with count_progress("reading the test strips", "strips") as on_progress:
            got = reader_eval.read(trainer.model, images, trainer.mean, trainer.std,
                                   c.max_digits, on_progress=on_progress)
        test = reader_eval.scores(got, labels)
    results = reader_results(trainer, final, out, best, test)
    if as_json:
        click.echo(dumps(results))
        return
    if test is None:  # the time limit came before the first step
        echo(f"no step taken in {trainer.seconds:.1f}s; checkpoint {out} not written")
        return
    lengths = "  ".join(f"{k}: {v:.1%}" for k, v in test["by_length"].items())
    echo(f"test: {test['exact_match']:.2%} of {test['strips']:,} numbers read right "
               f"({test['accuracy']:.2%} of digits; by digits {lengths}) after "
               f"{plural(trainer.step, 'step')}, {trainer.seconds:.1f}s")
    echo(f"checkpoint {out}" + (f" (best: {best})" if results["best_checkpoint"] else ""))
