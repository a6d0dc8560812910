"""A train-classifier, train-tagger or train-seq2seq run made ready from
what the user gave: the config (new, or the resumed checkpoint's with the
options given laid over it), then, once the command has read and encoded
the pairs (data/tsv.py, data/seqtask.py), the trainer."""

import os

from .fits import check_fits
from .runs import UsageProblem
from .seq_config import ClassifierConfig, Seq2SeqConfig, TaggerConfig
from .settings import (check_time_left, check_warmup, new_config, resume_settings,
                       resumed_file)
from .train_seq import SeqTrainer

CONFIGS = {"classifier": ClassifierConfig, "tagger": TaggerConfig, "seq2seq": Seq2SeqConfig}


def seq_settings(kind, file, given, resume=None):
    """(config, file, checkpoint, vocabularies): ``file`` defaults to the
    resumed checkpoint's; ``checkpoint`` is its (meta, arrays) and
    ``vocabularies`` its (source tokens, target tokens), else None."""
    cls = CONFIGS[kind]
    if not resume:
        if file is None:
            raise UsageProblem("missing FILE: the tab-separated pairs to learn from (- for stdin)")
        return new_config(cls, given), file, None, None
    config, m, checkpoint = resume_settings(cls, kind, resume, given)
    tokens = m.get("src_tokens", "list"), m.get("tgt_tokens", "list")
    return config, resumed_file(m, file, "FILE of pairs"), checkpoint, tokens


def build_seq(kind, config, given, file, train, val, src_tokens, tgt_tokens, resume=None,
              checkpoint=None):
    """The trainer, after the checks that must come before anything is built."""
    if not train:
        raise UsageProblem(f"{file} leaves no pairs to train on after the validation split; "
                           "give more lines or a smaller --val-frac")
    if resume:
        meta, arrays = checkpoint
        trainer = SeqTrainer.resume(meta, arrays, train, val, config, resume)
        if trainer.finished():
            raise UsageProblem(f"{resume} already holds {trainer.step:,} steps; pass --steps "
                               "or --epochs with a larger total to train further")
        check_time_left(config, trainer.seconds, resume)
    else:
        check_fits(_footprint, {"src": len(src_tokens), "tgt": len(tgt_tokens),
                                "hidden": config.hidden, "layers": config.layers,
                                "embed": config.embed, "batch": config.batch_size,
                                "length": max(len(s) for s, _ in train)},
                   {"hidden": "--hidden", "layers": "--layers", "batch": "--batch-size"},
                   f"{config.batch_size} sequences", None)
        trainer = SeqTrainer(kind, config, train, val, src_tokens, tgt_tokens)
    check_warmup(given, config.warmup_steps, trainer.total_steps)
    trainer.corpus = {"path": "-" if file == "-" else os.path.abspath(file)}
    return trainer


def _footprint(src, tgt, hidden, layers, embed, batch, length):
    """Weights, gradients and Adam's moments, and one batch's activations
    (two stacks at most), from the sizes alone (nn/fits.py)."""
    from .footprint import Footprint

    G = 4 * hidden
    per_stack = (src * embed + embed * G if embed else src * G) + layers * (2 * hidden * G + G)
    params = 2 * per_stack + hidden * 2 * tgt
    activations = 4 * 2 * layers * length * batch * (G + 2 * hidden) + 4 * length * batch * tgt
    return Footprint(params, 4 * 4 * params, activations)


def seq_results(trainer, final, out, best):
    """The figures a finished run reports (--json's keys)."""
    final = final or {}
    out_ = {k: final.get(k) for k in ("train_loss", "val_loss", "accuracy", "exact_match")
            if k in final}
    out_.update({"best_val_loss": trainer.best_val, "steps": trainer.step,
                 "epochs": round(trainer.epoch, 3), "seconds": round(trainer.seconds, 3),
                 "parameters": trainer.model.num_params(), "checkpoint": out,
                 "best_checkpoint": best if trainer.best_val is not None else None})
    return out_
