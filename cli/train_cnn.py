"""nnlab train-cnn: train an image classifier and write a checkpoint."""

from shlex import quote

import click

from nnlab import NnlabError

from .options import (check_warmup, data_option, dataset_option, explicit, force_option,
                      fraction, json_option, nonnegative_float, plural, positive_float,
                      positive_int, resumed_config, seed_option, threads_option, writable_output)
from .output import dumps

# Options that only one architecture or optimizer reads: given with another,
# they did nothing without a word, so they are refused.
ONLY_FOR = {"depth": ("--depth", "--arch resnet"), "width": ("--width", "--arch resnet"),
            "first_stride": ("--first-stride", "--arch resnet"),
            "dropout": ("--dropout", "--arch alexnet"),
            "momentum": ("--momentum", "--optimizer sgd")}


def check_options_apply(ctx, config):
    """A usage error for an option the run's architecture or optimizer ignores."""
    for name, (option, applies) in ONLY_FOR.items():
        key, value = applies.split()
        have = getattr(config, key[2:])
        if explicit(ctx, name) and have != value:
            raise click.BadParameter(f"applies to {applies} only, and this run is {key} {have}; "
                                     f"drop {option} or use {applies}", param_hint=option)


def plan_warmup(ctx, config, n_train, notes, cap=True):
    """Refuses a --warmup longer than the run; shortens a default one (resnet:
    300 steps) that is, to a tenth of the run, with a note: a smoke run of 10
    steps would otherwise train at a fraction of its learning rate throughout."""
    steps = config.epochs * -(-n_train // config.batch_size)
    check_warmup(ctx, config.warmup_steps, steps)
    if cap and config.warmup_steps > steps:
        notes.append(f"the default warm-up of {plural(config.warmup_steps, 'step')} is longer "
                     f"than this run of {plural(steps, 'step')}; warming up for "
                     f"{plural(steps // 10, 'step')} instead (--warmup sets it)")
        config.warmup_steps = steps // 10


@click.command("train-cnn")
@dataset_option
@data_option
@click.option("--arch", type=click.Choice(["lenet5", "alexnet", "resnet"]), default="lenet5",
              show_default=True, help="Network architecture (see the README for the layers).")
@click.option("--depth", type=int, default=2, show_default=True, callback=positive_int,
              help="resnet: residual blocks per stage.")
@click.option("--width", type=int, default=16, show_default=True, callback=positive_int,
              help="resnet: channels of the first stage (then twice and four times that).")
@click.option("--first-stride", type=click.IntRange(1, 2), default=1, show_default=True,
              help="resnet: stride of the first stage; 2 halves the image there (28 -> 14), "
                   "for about a third of the work per image.")
@click.option("--dropout", type=float, default=0.5, show_default=True, callback=fraction,
              help="alexnet: dropout in the fully connected layers.")
@click.option("--epochs", type=int, default=None, callback=positive_int,
              help="Passes over the training set (in total, when resuming).  [default: 10]")
@click.option("--batch-size", type=int, default=64, show_default=True, callback=positive_int,
              help="Examples per optimizer step.")
@click.option("--lr", type=float, default=None, callback=positive_float,
              help="Peak learning rate.  [default: 0.002 for adam, 0.05 for sgd; alexnet: "
                   "0.001, 0.02]")
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default="adam",
              show_default=True, help="Adam (decoupled weight decay) or SGD with momentum.")
@click.option("--momentum", type=float, default=0.9, show_default=True, callback=fraction,
              help="Momentum for --optimizer sgd (refused with adam).")
@click.option("--weight-decay", type=float, default=None, callback=nonnegative_float,
              help="Weight decay on weights, not biases: decoupled (AdamW) for adam, "
                   "L2 for sgd.  [default: 0.05 for adam, 0.0005 for sgd]")
@click.option("--schedule", type=click.Choice(["cosine", "step", "constant"]), default="cosine",
              show_default=True, help="Learning-rate schedule over the whole run.")
@click.option("--warmup", "warmup_steps", type=click.IntRange(min=0), default=None,
              help="Steps of linear learning-rate warm-up, at most the whole run.  [default: "
                   "300 for resnet (a tenth of a run shorter than that), else 0]")
@click.option("--augment/--no-augment", default=None,
              help="Random shifts of up to 2 pixels, and left-right flips on fashion-mnist "
                   "(never on digits).  [default: on for alexnet and resnet]")
@click.option("--label-smoothing", type=float, default=None, callback=fraction,
              help="Mix this much of a uniform target into the labels.  [default: 0.1 for "
                   "resnet, else 0]")
@click.option("--time-limit", type=float, default=None, callback=positive_float,
              help="Stop after this many seconds of training (in total, when resuming), "
                   "evaluate and save; the learning rate decays by then.")
@seed_option
@click.option("--out", type=click.Path(dir_okay=False), default="cnn.npz", show_default=True,
              callback=writable_output,
              help="Checkpoint to write after every epoch (the --resume file by default when resuming).")
@force_option
@click.option("--resume", type=click.Path(dir_okay=False), default=None,
              help="Continue training from this checkpoint.")
@click.option("--limit", type=int, default=None, callback=positive_int,
              help="Train on the first N examples only, for smoke runs.")
@click.option("--download/--no-download", default=True, show_default=True,
              help="Download the dataset when it is not found.")
@json_option
@threads_option
@click.pass_context
def train_cnn(ctx, dataset, data_dir, arch, depth, width, first_stride, dropout, epochs, batch_size, lr, optimizer,
              momentum, weight_decay, schedule, warmup_steps, augment, label_smoothing,
              time_limit, seed, out, force, resume, limit, download, as_json):
    """Train a CNN (LeNet-5, AlexNet-style or ResNet) on MNIST or Fashion-MNIST.

    Progress goes to stderr; the test accuracy and the checkpoint's name go to
    stdout. The checkpoint is rewritten atomically after every epoch.
    """
    from nnlab.data.datasets import load_dataset
    from nnlab.nn.checkpoint import load_checkpoint, save_checkpoint
    from nnlab.nn.footprint import EVAL_BATCH, cnn_footprint
    from nnlab.nn.image_fit import check_images
    from nnlab.nn.meta import Meta, arch_args, config_from
    from nnlab.nn.restore import CNN_ARGS, check_resumable
    from nnlab.nn.runs import Diverged, check_resume
    from nnlab.nn.train_cnn import (FIXED_ON_RESUME, CNNConfig, CNNTrainer, arch_defaults,
                                    default_arch_args)

    from .diverged import SaveLog, diverged_error, save_failed
    from .fits import check_fits
    from .interrupt import graceful_stop
    from .out_lock import exclusive
    from .ui import TrainProgress, download_progress

    options = {"dataset": dataset, "arch": arch, "depth": depth, "width": width,
               "first_stride": first_stride, "dropout": dropout,
               "epochs": epochs, "batch_size": batch_size, "lr": lr, "optimizer": optimizer,
               "momentum": momentum, "weight_decay": weight_decay, "schedule": schedule,
               "warmup_steps": warmup_steps, "augment": augment,
               "label_smoothing": label_smoothing, "time_limit": time_limit or 0,
               "seed": seed, "limit": limit or 0}
    for name, value in arch_defaults(arch, optimizer).items():
        if options[name] is None:
            options[name] = value
    meta = arrays = None
    trained_side = None
    if resume:
        meta, arrays = load_checkpoint(resume, kind="cnn")
        check_resumable(meta, arrays, resume)
        m = Meta(meta, resume)
        trained_side = arch_args(m, CNN_ARGS)[1].get("image_size")
        config = resumed_config(ctx, config_from(CNNConfig, m), options)
        # Before the checks below, which read the run's architecture and optimizer.
        check_resume(config_from(CNNConfig, m), config, FIXED_ON_RESUME)
        if not explicit(ctx, "out"):
            out = resume
        data_dir = data_dir or m.get("data_dir", "str?", None)
        if m.get("epoch", "count") >= config.epochs:
            raise click.UsageError(
                f"{resume} already holds {plural(meta['epoch'], 'epoch')}; pass --epochs with a "
                "larger total to train further")
        if config.time_limit and m.get("seconds", "float", 0.0) >= config.time_limit:
            raise click.UsageError(
                f"{resume} has used its time limit of {config.time_limit:g}s; pass a larger "
                "--time-limit (in total) to train further")
    else:
        config = CNNConfig(**options)
    check_options_apply(ctx, config)

    with download_progress() as on_progress:
        data = load_dataset(config.dataset, data_dir, download=download, on_progress=on_progress)
    # Before the network is built: it fails deep inside on images it cannot take.
    check_images(config.arch, data.train_x, data.folder or config.dataset, trained_side, resume)
    n_train = min(config.limit or len(data.train_y), len(data.train_y))
    notes = []
    plan_warmup(ctx, config, n_train, notes, cap=not resume)  # a resumed run keeps its own
    args = arch_args(m, CNN_ARGS)[1] if resume else default_arch_args(config, data)
    shrink = {"batch": "--batch-size"}  # what the user can make smaller, if memory is short
    if config.arch == "resnet":
        shrink = {"depth": "--depth", "width": "--width", **shrink}
    check_fits(cnn_footprint, dict(args, arch=config.arch, batch=min(config.batch_size, n_train),
                                   optimizer=config.optimizer,
                                   eval_batch=min(EVAL_BATCH, len(data.test_y))),
               shrink, f"{min(config.batch_size, n_train):,} images", resume)
    trainer = (CNNTrainer.resume(meta, arrays, data, config, resume) if resume
               else CNNTrainer(config, data))
    log = SaveLog(out, resume, trainer.step)

    def save(t):
        try:
            save_checkpoint(out, *t.state(), force=force)
        except (NnlabError, OSError) as e:
            raise save_failed(e, log, t.step) from None
        log.saved(t.step)

    try:
        with exclusive(out), TrainProgress() as report, graceful_stop(report.line) as stop:
            verb = f"resuming at epoch {trainer.epoch + 1} of" if resume else "training"
            where = ("" if data.verified is not False else
                     f" from {data.folder}, which are not the published {config.dataset} files")
            report.line(f"{verb} {config.arch} ({trainer.model.num_params():,} parameters) on "
                        f"{trainer.n_train:,} {config.dataset} images{where}, "
                        f"{plural(config.epochs, 'epoch')}, batch {config.batch_size}, "
                        f"{config.optimizer} lr {config.lr:g}")
            for note in notes:
                report.line(note)
            final = trainer.run(report, save=save, stop=stop)
    except Diverged as e:
        raise diverged_error(e, log, as_json, click.echo) from None
    if trainer.interrupted:
        report.line(f"interrupted at step {trainer.step:,} (epoch {trainer.epochs_done:.2f}); "
                    f"{out} holds it. Resume with: nnlab train-cnn --resume {quote(out)}")
        ctx.exit(stop.exit_code)

    results = {
        "test_accuracy": final["test_accuracy"], "test_loss": final["test_loss"],
        "train_loss": final["train_loss"], "train_accuracy": final["train_accuracy"],
        "epochs": round(trainer.epochs_done, 4), "parameters": trainer.model.num_params(),
        "seconds": round(trainer.seconds, 3),
        "images_per_second": round(final["images_per_second"], 1), "checkpoint": out,
    }
    if as_json:
        click.echo(dumps(results))
    else:
        click.echo(f"test accuracy {results['test_accuracy']:.2%} (loss {results['test_loss']:.4f}) "
                   f"after {plural(round(trainer.epochs_done, 2), 'epoch')}, "
                   f"{trainer.seconds:.1f}s of training")
        click.echo(f"checkpoint {out}")
