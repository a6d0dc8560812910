"""What a language model's checkpoint holds, and a trainer rebuilt from one
(CharLMTrainer.checkpoint_state and CharLMTrainer.resume, nn/train_charlm.py)."""

from .checkpoint import CheckpointError, split_arrays
from .archs import LMArch
from .meta import Meta, check
from .runs import ResumeConflict


def lm_state(trainer, meta, arrays):
    """Adds to what the core writes (nn/core.py) all else it takes to rebuild
    the model and resume: the vocabulary, the batching, the place in the
    text, the carried state, the weight average and the validation text."""
    meta.update({
        "vocab": trainer.vocab.chars,
        "corpus": dict(trainer.corpus),
        "batch": trainer.batch, "seq_len": trainer.seq_len,
        "chunk": trainer.chunk, "total_steps": trainer.total_steps,
        "window": list(trainer.window),
        "train_chars": int(len(trainer.train_ids)),
        "val_chars": 0 if trainer.val_ids is None else int(len(trainer.val_ids)),
        "val_scored": trainer.validator.chars,  # its first characters, that validations score
    })
    # params/ is the model to use (sample, eval): the weight average when the
    # run keeps one, with the raw weights that training goes on from in raw/.
    arrays.update({f"params/{k}": v for k, v in trainer.weights().items()})
    if trainer.average is not None:
        avg_meta, acc = trainer.average.state()
        meta["average"] = avg_meta
        arrays.update({f"raw/{k}": v for k, v in trainer.model.params.items()})
        arrays.update({f"average/{k}": v for k, v in acc.items()})
    for l, parts in enumerate(trainer.hidden):
        for name, a in zip("hc", parts):
            arrays[f"state/l{l}.{name}"] = a
    if trainer.val_ids is not None:
        arrays["data/val"] = trainer.val_ids


def resume_lm(cls, meta, arrays, ids, vocab, config, notes=None, path="checkpoint"):
    """A ``cls`` trainer that continues the checkpointed run with ``config``,
    whose fixed options the caller has compared with the checkpoint's."""
    m = Meta(meta, path)
    arch = LMArch.read(m)
    try:
        trainer = cls(config, ids, vocab, notes, arch=arch)
        trainer.model.load_params(split_arrays(arrays, "params"))  # checks the model to use
        if trainer.average is not None:
            # The raw weights go on training; the average goes on averaging them.
            trainer.model.load_params(split_arrays(arrays, "raw"))
            avg = m.section("average")
            # No "warmup" entry: written before the window grew, so the
            # constant decay it began with goes on.
            trainer.average.load_state({"t": avg.get("t", "count"),
                                        "warmup": avg.get("warmup", "bool", False)},
                                       split_arrays(arrays, "average"))
    except MemoryError:
        raise CheckpointError(f"{path} describes a model too large to build here") from None
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path} does not fit its own model: {e}") from None
    if (trainer.batch, trainer.seq_len) != (m.get("batch", "size"), m.get("seq_len", "size")):
        raise ResumeConflict("--resume: the corpus no longer splits into the checkpoint's "
                             "batches; resume with the text it was trained on")
    trainer.restore_state(m, arrays)
    trainer.chunk = m.get("chunk", "count")
    if trainer.chunk > trainer.steps_per_epoch:
        raise m.bad("chunk", "is beyond the end of the text")
    saved = split_arrays(arrays, "state")
    state = []
    for l, parts in enumerate(trainer.hidden):
        names = "hc"[:len(parts)]
        layer = tuple(saved.get(f"l{l}.{name}") for name in names)
        for name, a, like in zip(names, layer, parts):
            if a is None or a.shape != like.shape or a.dtype != like.dtype:
                raise CheckpointError(f"{path} is damaged: its state l{l}.{name} is missing "
                                      "or misshapen")
        state.append(layer)
    trainer.hidden = state
    window = m.get("window", "list", [0.0, 0])
    if len(window) != 2:
        raise m.bad("window", "must hold a sum and a count")
    trainer.window = [check(window[0], "float", lambda w: m.bad("window", w)),
                      check(window[1], "count", lambda w: m.bad("window", w))]
    return trainer
