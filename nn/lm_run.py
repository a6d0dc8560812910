"""A train-charlm run made ready from what the user gave: the config (new,
or the resumed checkpoint's with the options given laid over it), then,
once the command has read the text (data/corpus.py), the checks that must
come before anything is built, and the trainer. The command only parses,
calls and prints."""

import os

from .charlm_config import CharLMConfig
from .fits import check_fits
from .footprint import lm_footprint
from .archs import LMArch
from .meta import Meta
from .runs import UsageProblem
from .settings import (check_time_left, check_warmup, new_config, resume_settings,
                       resumed_file)
from .train_charlm import CharLMTrainer, run_shape


def lm_settings(file, given, resume=None):
    """(config, file, checkpoint) of a run on ``file`` ("-": stdin) with the
    ``given`` options ({field: value}, nn/settings.py), resuming ``resume``
    if set: then ``file`` defaults to its corpus, and ``checkpoint`` is its
    (meta, arrays), else None. Raises UsageProblem or another NnlabError."""
    if not resume:
        if file is None:
            raise UsageProblem("missing FILE: the text to learn from (- for stdin)")
        return new_config(CharLMConfig, given), file, None
    config, m, checkpoint = resume_settings(CharLMConfig, "charlm", resume, given)
    return config, resumed_file(m, file, "text FILE"), checkpoint


def build_lm(config, given, file, text, vocab, notes, resume=None, checkpoint=None):
    """The trainer of a run of ``config`` on ``text`` (read from ``file``,
    with ``vocab``), after the checks that must come before anything is
    built; resuming ``checkpoint`` (meta, arrays) of ``resume`` if given."""
    if resume:
        meta, arrays = checkpoint
        m = Meta(meta, resume)
        if vocab.chars != m.get("vocab", "str"):
            raise UsageProblem(
                f"{file} does not have the vocabulary of {resume} ({len(vocab)} characters "
                f"against {len(meta['vocab'])}); resume with the text it was trained on")
    batch, seq, planned = run_shape(config, len(text))
    check_warmup(given, config.warmup_steps, planned)
    # Before the model is built (--hidden 10000000 would take minutes, then all memory).
    arch = (LMArch.read(m) if resume else
            LMArch(len(vocab), config.cell, config.hidden, config.layers, embed=config.embed))
    check_fits(lm_footprint, dict(arch.args(), batch=batch, seq_len=seq),
               {"hidden": "--hidden", "layers": "--layers", "embed": "--embed",
                "batch": "--batch-size", "seq_len": "--seq-len"}, f"{batch} x {seq} characters",
               resume)
    ids = vocab.encode(text)
    trainer = (CharLMTrainer.resume(meta, arrays, ids, vocab, config, notes, resume) if resume
               else CharLMTrainer(config, ids, vocab, notes))
    # Written into every checkpoint: where to resume from, and where sampling starts.
    trainer.corpus = {"path": "-" if file == "-" else os.path.abspath(file), "chars": len(text),
                      "start": text[0]}
    if resume:
        if trainer.finished():
            raise UsageProblem(f"{resume} already holds {trainer.step:,} steps; pass --steps "
                               "or --epochs with a larger total to train further")
        check_time_left(config, trainer.seconds, resume)
    return trainer


def lm_results(trainer, final, out, best):
    """The figures a finished run reports (--json's keys)."""
    return {"train_loss": final["train_loss"], "val_loss": final["val_loss"],
            "val_chars": final.get("val_chars", 0), "best_val_loss": trainer.best_val,
            "steps": trainer.step, "epochs": round(trainer.epoch, 3),
            "seconds": round(trainer.seconds, 3),
            "tokens_per_second": round(trainer.tokens_per_second, 1),
            "parameters": trainer.model.num_params(), "checkpoint": out,
            "best_checkpoint": best if trainer.best_val is not None else None}
