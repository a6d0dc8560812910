"""A train-cnn run made ready from what the user gave: the config (new, or
the resumed checkpoint's with the options given laid over it), the data,
the checks that must come before anything is built, and the trainer. The
command only parses, calls and prints."""

from .checkpoint import load_checkpoint
from .cnn_config import CNNConfig
from .fits import check_fits
from .footprint import EVAL_BATCH, cnn_footprint
from .image_fit import check_images
from .archs import CNNArch
from .meta import Meta
from .restore import check_resumable
from .runs import UsageProblem
from .settings import check_time_left, check_warmup, new_config, plural, resumed_config
from .train_cnn import CNNTrainer, default_arch


def plan_warmup(given, config, n_train, notes, cap=True):
    """Refuses a --warmup longer than the run; shortens a default one (resnet:
    300 steps) that is, to a tenth of the run, with a note: a smoke run of 10
    steps would otherwise train at a fraction of its learning rate throughout."""
    steps = config.epochs * -(-n_train // config.batch_size)
    check_warmup(given, config.warmup_steps, steps)
    if cap and config.warmup_steps > steps:
        notes.append(f"the default warm-up of {plural(config.warmup_steps, 'step')} is longer "
                     f"than this run of {plural(steps, 'step')}; warming up for "
                     f"{plural(steps // 10, 'step')} instead (--warmup sets it)")
        config.warmup_steps = steps // 10


def prepare_cnn(given, resume=None, data_dir=None, load_data=None):
    """(trainer, data, notes) for a run with the ``given`` options ({field:
    value}, nn/settings.py), resuming ``resume`` if set. ``load_data(name,
    folder)`` reads the dataset (the command's, with its download progress).
    Raises UsageProblem or another NnlabError."""
    meta = arrays = None
    trained_side = None
    if resume:
        meta, arrays = load_checkpoint(resume, kind="cnn")
        check_resumable(meta, arrays, resume)
        m = Meta(meta, resume)
        trained_side = CNNArch.read(m).image_size
        config = resumed_config(CNNConfig, m, given)
        data_dir = data_dir or m.get("data_dir", "str?", None)
        # Before the data are read: there is nothing left to train.
        if m.get("epoch", "count") >= config.epochs:
            raise UsageProblem(
                f"{resume} already holds {plural(meta['epoch'], 'epoch')}; pass --epochs with a "
                "larger total to train further")
        check_time_left(config, m.get("seconds", "float", 0.0), resume)
    else:
        config = new_config(CNNConfig, given)
    data = load_data(config.dataset, data_dir)
    # Before the network is built: it fails deep inside on images it cannot take.
    check_images(config.arch, data.train_x, data.folder or config.dataset, trained_side, resume)
    n_train = min(config.limit or len(data.train_y), len(data.train_y))
    notes = []
    plan_warmup(given, config, n_train, notes, cap=not resume)  # a resumed run keeps its own
    args = (CNNArch.read(m) if resume else default_arch(config, data)).args()
    shrink = {"batch": "--batch-size"}  # what the user can make smaller, if memory is short
    if config.arch == "resnet":
        shrink = {"depth": "--depth", "width": "--width", **shrink}
    batch = min(config.batch_size, n_train)
    check_fits(cnn_footprint, dict(args, arch=config.arch, batch=batch,
                                   optimizer=config.optimizer,
                                   eval_batch=min(EVAL_BATCH, len(data.test_y))),
               shrink, f"{batch:,} images", resume)
    trainer = (CNNTrainer.resume(meta, arrays, data, config, resume) if resume
               else CNNTrainer(config, data))
    return trainer, data, notes


def cnn_results(trainer, final, out):
    """The figures a finished run reports (--json's keys)."""
    return {"test_accuracy": final["test_accuracy"], "test_loss": final["test_loss"],
            "train_loss": final["train_loss"], "train_accuracy": final["train_accuracy"],
            "epochs": round(trainer.epoch, 4), "parameters": trainer.model.num_params(),
            "seconds": round(trainer.seconds, 3),
            "images_per_second": round(final["images_per_second"], 1), "checkpoint": out}
