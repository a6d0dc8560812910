"""A train-reader run made ready from what the user gave: the config (new,
or the resumed checkpoint's with the options given laid over it), the
digits, the checks that must come before anything is built, and the
trainer. The command only parses, calls and prints."""

from .archs import ReaderArch
from .fits import check_fits
from .meta import Meta
from .reader_config import ReaderConfig
from .runs import UsageProblem
from .settings import check_time_left, check_warmup, new_config, resume_settings
from .train_reader import ReaderTrainer


def reader_settings(given, resume=None):
    """(config, data folder the checkpoint names or None, (meta, arrays) or None)."""
    if not resume:
        config = new_config(ReaderConfig, given)
        _channels(config)
        return config, None, None
    config, m, checkpoint = resume_settings(ReaderConfig, "reader", resume, given)
    if m.get("step", "count") >= config.steps:
        raise UsageProblem(f"{resume} already holds {m.get('step', 'count'):,} steps; pass "
                           "--steps with a larger total to train further")
    check_time_left(config, m.get("seconds", "float", 0.0), resume)
    return config, m.get("data_dir", "str?", None), checkpoint


def _channels(config):
    try:
        return config.channel_list()
    except ValueError as e:
        raise UsageProblem(str(e), "--channels") from None


def build_reader(config, given, maker, val, folder, resume=None, checkpoint=None):
    """The trainer, on the strips of ``maker`` and ``val`` (data/strips.py's
    reader_sets) of the digits in ``folder``."""
    arch = ReaderArch.read(Meta(checkpoint[0], resume)) if resume else \
        ReaderArch.for_run(config, maker.width)
    check_fits(_footprint, {"arch": arch, "batch": config.batch_size, "hidden": arch.hidden,
                            "channels": arch.conv3},
               {"batch": "--batch-size", "hidden": "--hidden", "channels": "--channels"},
               f"{config.batch_size} strips", resume)
    if resume:
        meta, arrays = checkpoint
        trainer = ReaderTrainer.resume(meta, arrays, maker, val, config, resume)
    else:
        trainer = ReaderTrainer(config, maker, val)
    check_warmup(given, config.warmup_steps, trainer.total_steps)
    trainer.data_dir = folder
    return trainer


def _footprint(arch, batch, hidden, channels):
    """Weights, gradients and Adam's two moments, and a batch's activations."""
    from dataclasses import replace

    from .footprint import Footprint

    scale = channels / arch.conv3  # --channels halves all three stages
    a = replace(arch, hidden=hidden, conv1=max(1, round(arch.conv1 * scale)),
                conv2=max(1, round(arch.conv2 * scale)), conv3=channels)
    params = a.param_count()
    return Footprint(params, 4 * 4 * params, 4 * int(a.activation_floats(batch)))


def reader_results(trainer, final, out, best, test=None):
    """The figures a finished run reports (--json's keys); ``test``: the
    fixed test strips' scores (nn/reader_eval.scores), when measured."""
    final = final or {}
    out_ = {k: final.get(k) for k in ("train_loss", "val_loss", "exact_match", "accuracy")}
    if test is not None:
        out_.update({"test_exact_match": test["exact_match"], "test_accuracy": test["accuracy"],
                     "test_by_length": {str(k): v for k, v in test["by_length"].items()}})
    out_.update({"best_val_loss": trainer.best_val, "steps": trainer.step,
                 "seconds": round(trainer.seconds, 3),
                 "strips_per_second": round(trainer.items_per_second, 1),
                 "parameters": trainer.model.num_params(), "checkpoint": out,
                 "best_checkpoint": best if trainer.best_val is not None else None})
    return out_
