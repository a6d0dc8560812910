"""nnlab train-cnn: train an image classifier and write a checkpoint.

The options come from CNNConfig's fields (nn/cnn_config.py); the run is
made ready by nn/cnn_run.py. This module parses, calls and prints."""

import click

from nnlab.nn.cnn_config import CNNConfig

from .config_options import config_options, given
from .metrics_log import check_log
from .options import (log_option, results_echo, data_option, download_option, explicit, force_option, json_option,
                      out_option, resume_option, threads_option, usage_errors, writable_output)
from .output import dumps


@click.command("train-cnn")
@data_option
@config_options(CNNConfig)
@out_option("cnn.npz", writable_output, "Checkpoint to write after every epoch (the --resume "
                                         "file by default when resuming).")
@force_option
@resume_option()
@download_option
@json_option
@log_option
@threads_option
@click.pass_context
@usage_errors
def train_cnn(ctx, data_dir, out, force, resume, download, as_json, log, **_):
    """Train a CNN (LeNet-5, AlexNet-style or ResNet) on MNIST or Fashion-MNIST.

    Progress goes to stderr; the test accuracy and the checkpoint's name go to
    stdout. The checkpoint is rewritten atomically after every epoch.
    """
    from nnlab.data.datasets import load_dataset
    from nnlab.nn.cnn_run import cnn_results, prepare_cnn
    from nnlab.nn.settings import plural

    from .training import train
    from .ui import TrainProgress, download_progress

    if resume and not explicit(ctx, "out"):
        out = resume
    check_log(log, (out,), as_json)
    echo = results_echo(log)

    def load_data(name, folder):
        with download_progress() as on_progress:
            return load_dataset(name, folder, download=download, on_progress=on_progress)

    trainer, data, notes = prepare_cnn(given(ctx, CNNConfig), resume, data_dir, load_data)
    c = trainer.config
    verb = f"resuming at epoch {trainer.epochs_completed + 1} of" if resume else "training"
    where = ("" if data.verified is not False else
             f" from {data.folder}, which are not the published {c.dataset} files")
    headline = (f"{verb} {c.arch} ({trainer.model.num_params():,} parameters) on "
                f"{trainer.n_train:,} {c.dataset} images{where}, {plural(c.epochs, 'epoch')}, "
                f"batch {c.batch_size}, {c.optimizer} lr {c.lr:g}")
    final = train(trainer, TrainProgress(), out, resume=resume, force=force, as_json=as_json,
                  lines=[headline, *notes], resume_command="nnlab train-cnn", metrics_log=log)

    results = cnn_results(trainer, final, out)
    if as_json:
        click.echo(dumps(results))
        return
    echo(f"test accuracy {results['test_accuracy']:.2%} (loss {results['test_loss']:.4f}) "
               f"after {plural(round(trainer.epoch, 2), 'epoch')}, "
               f"{trainer.seconds:.1f}s of training")
    echo(f"checkpoint {out}")
