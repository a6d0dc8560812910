"""nnlab train-cnn: train an image classifier and write a checkpoint."""

import json

import click

from .options import (data_option, dataset_option, explicit, fraction, json_option,
                      nonnegative_float, plural, positive_float, positive_int, seed_option,
                      writable_output)


# Per optimizer: Adam's decay is decoupled (p -= lr * decay * p), so its
# scale is not comparable with SGD's L2 term. LeNet-5 on MNIST: 2e-3 and 0.05
# gave 99.20% after 10 epochs where 1e-3 and no decay gave 99.00-99.06%.
DEFAULT_LR = {"adam": 2e-3, "sgd": 0.05}
DEFAULT_DECAY = {"adam": 0.05, "sgd": 5e-4}


@click.command("train-cnn")
@dataset_option
@data_option
@click.option("--arch", type=click.Choice(["lenet5"]), default="lenet5", show_default=True,
              help="Network architecture.")
@click.option("--epochs", type=int, default=10, show_default=True, callback=positive_int,
              help="Passes over the training set (in total, when resuming).")
@click.option("--batch-size", type=int, default=64, show_default=True, callback=positive_int,
              help="Examples per optimizer step.")
@click.option("--lr", type=float, default=None, callback=positive_float,
              help="Peak learning rate.  [default: 0.002 for adam, 0.05 for sgd]")
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default="adam",
              show_default=True, help="Adam (decoupled weight decay) or SGD with momentum.")
@click.option("--momentum", type=float, default=0.9, show_default=True, callback=fraction,
              help="Momentum for --optimizer sgd.")
@click.option("--weight-decay", type=float, default=None, callback=nonnegative_float,
              help="Weight decay on weights, not biases: decoupled (AdamW) for adam, "
                   "L2 for sgd.  [default: 0.05 for adam, 0.0005 for sgd]")
@click.option("--schedule", type=click.Choice(["cosine", "step", "constant"]), default="cosine",
              show_default=True, help="Learning-rate schedule over the whole run.")
@click.option("--warmup", "warmup_steps", type=click.IntRange(min=0), default=0,
              show_default=True, help="Steps of linear learning-rate warm-up.")
@seed_option
@click.option("--out", type=click.Path(dir_okay=False), default="cnn.npz", show_default=True,
              callback=writable_output,
              help="Checkpoint to write after every epoch (the --resume file by default when resuming).")
@click.option("--resume", type=click.Path(dir_okay=False), default=None,
              help="Continue training from this checkpoint.")
@click.option("--limit", type=int, default=None, callback=positive_int,
              help="Train on the first N examples only, for smoke runs.")
@click.option("--download/--no-download", default=True, show_default=True,
              help="Download the dataset when it is not found.")
@json_option
@click.pass_context
def train_cnn(ctx, dataset, data_dir, arch, epochs, batch_size, lr, optimizer, momentum,
              weight_decay, schedule, warmup_steps, seed, out, resume, limit, download, as_json):
    """Train a CNN (LeNet-5) on MNIST or Fashion-MNIST.

    Progress goes to stderr; the test accuracy and the checkpoint's name go to
    stdout. The checkpoint is rewritten atomically after every epoch.
    """
    from nnlab.data.datasets import load_dataset
    from nnlab.nn.checkpoint import load_checkpoint, save_checkpoint
    from nnlab.nn.train_cnn import CNNConfig, CNNTrainer

    from .ui import TrainProgress, download_progress

    if lr is None:
        lr = DEFAULT_LR[optimizer]
    if weight_decay is None:
        weight_decay = DEFAULT_DECAY[optimizer]
    options = {"dataset": dataset, "arch": arch, "epochs": epochs, "batch_size": batch_size,
               "lr": lr, "optimizer": optimizer, "momentum": momentum,
               "weight_decay": weight_decay, "schedule": schedule,
               "warmup_steps": warmup_steps, "seed": seed, "limit": limit or 0}
    meta = arrays = None
    if resume:
        meta, arrays = load_checkpoint(resume, kind="cnn")
        config = CNNConfig.from_dict(meta.get("config", {}))
        for name, value in options.items():
            if explicit(ctx, name):
                setattr(config, name, value)
        if not explicit(ctx, "out"):
            out = resume
        data_dir = data_dir or meta.get("data_dir")
        if meta.get("epoch", 0) >= config.epochs:
            raise click.UsageError(
                f"{resume} already holds {plural(meta.get('epoch'), 'epoch')}; pass --epochs with a "
                "larger total to train further")
    else:
        config = CNNConfig(**options)

    with download_progress() as on_progress:
        data = load_dataset(config.dataset, data_dir, download=download, on_progress=on_progress)
    trainer = (CNNTrainer.resume(meta, arrays, data, config) if resume
               else CNNTrainer(config, data))

    with TrainProgress() as report:
        verb = f"resuming at epoch {trainer.epoch + 1} of" if resume else "training"
        report.line(f"{verb} {config.arch} ({trainer.model.num_params():,} parameters) on "
                    f"{trainer.n_train:,} {config.dataset} images, {plural(config.epochs, 'epoch')}, "
                    f"batch {config.batch_size}, {config.optimizer} lr {config.lr:g}")
        final = trainer.run(report, save=lambda t: save_checkpoint(out, *t.state()))

    results = {
        "test_accuracy": final["test_accuracy"], "test_loss": final["test_loss"],
        "train_loss": final["train_loss"], "train_accuracy": final["train_accuracy"],
        "epochs": trainer.epoch, "parameters": trainer.model.num_params(),
        "seconds": round(trainer.seconds, 3),
        "images_per_second": round(final["images_per_second"], 1), "checkpoint": out,
    }
    if as_json:
        click.echo(json.dumps(results))
    else:
        click.echo(f"test accuracy {results['test_accuracy']:.2%} (loss {results['test_loss']:.4f}) "
                   f"after {plural(trainer.epoch, 'epoch')}, {trainer.seconds:.1f}s of training")
        click.echo(f"checkpoint {out}")
