"""Rebuilding trained models from checkpoints, every field checked first
(see meta.py): a damaged or forged checkpoint gives a CheckpointError that
names what is wrong, never a traceback or a request for terabytes."""

import numpy as np

from nnlab import memory

from .archs import CNNArch, LMArch
from .charlm import CELLS, CharLM
from .checkpoint import CheckpointError, split_arrays
from .meta import Meta, ids_array


def _build(path, make):
    try:
        return make()
    except MemoryError:
        raise CheckpointError(f"{path} describes a model too large to build here") from None
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: its model cannot be rebuilt ({e})") from None


def check_finite(arrays, path, prefixes=("params/", "buffers/")):
    """Refuses weights that are NaN or infinite: a run saved after it had
    diverged, or a damaged file. Such a model prints nan or one character
    over and over, or fails deep inside sampling. Also weights that are not
    real floating-point numbers: complex ones lost their imaginary part with
    a two-line ComplexWarning, and integers or booleans loaded as weights
    without a word."""
    for key, a in arrays.items():
        if not key.startswith(prefixes):
            continue
        if a.dtype.kind != "f":
            raise CheckpointError(f"{path} is damaged: {key} holds {a.dtype} values, not "
                                  "floating-point weights")
        if not np.isfinite(a).all():
            if not key.startswith(("params/", "buffers/")):
                raise CheckpointError(f"{path} is damaged: {key} holds NaN or infinite values, "
                                      "so it cannot be resumed; sample or evaluate it instead")
            raise CheckpointError(f"{path} holds non-finite weights ({key} has NaN or infinite "
                                  "values): the run had diverged; use an earlier checkpoint")


def check_lm_fits(path, args, copies):
    """Refuses a model that ``copies`` float32 copies of would not fit in the
    memory available, before building it: the sizes come from the file."""
    need = 4 * copies * CharLM.count_params(**args)
    have = memory.available_memory()
    if have is not None and need > have:
        raise CheckpointError(f"{path} describes a model of {memory.size_text(need)}, more than "
                              f"the {memory.size_text(have)} of memory available")


def _check_cnn_fits(path, name, args):
    """The same for a CNN: its weights and gradients (Sequential makes both)
    and an evaluation batch's activations, worked out without building it."""
    from .footprint import F32, cnn_footprint

    try:
        need = cnn_footprint(name, 1, **args)
    except (TypeError, ValueError):
        return  # not a network that builds: _build says why
    total = 2 * F32 * need.params + need.activations
    have = memory.available_memory()
    if have is not None and total > have:
        raise CheckpointError(f"{path} describes a network of {memory.size_text(total)} to "
                              f"evaluate, more than the {memory.size_text(have)} of memory "
                              "available")


def check_resumable(meta, arrays, path="checkpoint"):
    """Refuses a checkpoint that can be sampled or evaluated but not trained
    further: non-finite weights, or optimizer state missing or misshapen
    (training from fresh moments would not be the same run)."""
    m = Meta(meta, path)
    if "imported" in meta:
        source = m.section("imported").get("from", "str", "a weights file")
        raise CheckpointError(f"{path} was made by nnlab import from {source} and holds no "
                              "optimizer state, so it cannot be resumed; sample or evaluate "
                              "it instead")
    # The optimizer's moments and the carried state too: NaN there made the
    # resumed run "diverge" at its first step, blamed on --lr.
    check_finite(arrays, path, ("params/", "buffers/", "opt/", "state/", "raw/", "average/"))
    if meta.get("kind") == "charlm":
        arch = LMArch.read(m)
        if arch.vocab_size is None:
            raise m.bad("arch.args.vocab_size", "is missing")
        check_lm_fits(path, arch.args(), 4)  # weights, gradients, Adam's two moments
    name = m.section("optimizer").get("name", "str", "adam")
    slots = {"adam": ("m", "v"), "sgd": ("buf",)}.get(name)
    if slots is None:
        raise m.bad("optimizer.name", "must be adam or sgd")
    for key, p in split_arrays(arrays, "params").items():
        for slot in slots:
            a = arrays.get(f"opt/{slot}/{key}")
            if a is None:
                raise CheckpointError(f"{path} holds no optimizer state (opt/{slot}/{key}), so "
                                      "it cannot be resumed; sample or evaluate it instead")
            if a.shape != p.shape or a.dtype.kind != "f":
                raise CheckpointError(f"{path} is damaged: its optimizer state opt/{slot}/{key} "
                                      f"does not match its weight, of shape {p.shape}")


def cnn_model(meta, arrays, path="checkpoint"):
    """The trained network of a CNN checkpoint."""
    check_finite(arrays, path)
    arch = CNNArch.read(Meta(meta, path))
    _check_cnn_fits(path, arch.name, arch.args())
    model = _build(path, arch.build)
    _build(path, lambda: model.load(split_arrays(arrays, "params"), split_arrays(arrays, "buffers")))
    return model


def cnn_normalization(meta, path="checkpoint"):
    """(mean, std) that the network's inputs were standardised with."""
    norm = Meta(meta, path).section("normalize")
    mean, std = norm.get("mean", "float"), norm.get("std", "float")
    if std <= 0:
        raise norm.bad("std", "must be above 0")
    return mean, std


def lm_model(meta, arrays, path="checkpoint"):
    """(model, vocabulary characters) of a language-model checkpoint."""
    m = Meta(meta, path)
    arch = LMArch.read(m)
    vocab = m.get("vocab", "str")
    if arch.cell not in CELLS:
        raise m.bad("arch.args.cell", f"must be one of {', '.join(CELLS)}")
    if not 0 <= arch.dropout < 1:
        raise m.bad("arch.args.dropout", "must be in [0, 1)")
    if len(vocab) != arch.vocab_size or len(set(vocab)) != len(vocab):
        raise m.bad("vocab", "does not match the model's vocabulary size")
    check_finite(arrays, path)
    check_lm_fits(path, arch.args(), 2)  # weights and gradients
    model = _build(path, arch.build)
    _build(path, lambda: model.load_params(split_arrays(arrays, "params")))
    return model, vocab


def lm_batching(meta, path="checkpoint"):
    """(batch, sequence length) the model was trained with."""
    m = Meta(meta, path)
    return m.get("batch", "size", 32), m.get("seq_len", "size", 64)


def lm_start(meta, vocab, path="checkpoint"):
    """The corpus's first character, where sampling starts by default."""
    corpus = Meta(meta, path).section("corpus", None)
    start = corpus.get("start", "str?", None)
    return start if start is not None and len(start) == 1 and start in vocab else vocab[0]


def lm_validation_ids(meta, arrays, path="checkpoint"):
    """The checkpoint's validation text as ids, or None if it holds none."""
    ids = arrays.get("data/val")
    if ids is None:
        return None
    return ids_array(ids, len(Meta(meta, path).get("vocab", "str")), "data/val",
                     lambda what: CheckpointError(f"{path} is damaged: {what}"))


def seq_model(meta, arrays, path="checkpoint"):
    """(model, source tokens, target tokens) of a classifier, tagger or
    seq2seq checkpoint (nn/seqnets.py)."""
    from .archs import SeqArch

    m = Meta(meta, path)
    arch = SeqArch.read(m)
    src, tgt = m.get("src_tokens", "list"), m.get("tgt_tokens", "list")
    for key, tokens, size in (("src_tokens", src, arch.src_vocab),
                              ("tgt_tokens", tgt, arch.tgt_vocab)):
        if (len(tokens) != size or not all(isinstance(t, str) and t for t in tokens)
                or len(set(tokens)) != len(tokens)):
            raise m.bad(key, "does not match the model's vocabulary")
    if arch.cell not in CELLS:
        raise m.bad("arch.args.cell", f"must be one of {', '.join(CELLS)}")
    if not 0 <= arch.dropout < 1:
        raise m.bad("arch.args.dropout", "must be in [0, 1)")
    check_finite(arrays, path)
    check_lm_fits(path, {"vocab_size": max(arch.src_vocab, arch.tgt_vocab), "cell": arch.cell,
                          "hidden": arch.hidden, "layers": 2 * arch.layers,
                          "embed": arch.embed}, 2)
    model = _build(path, arch.build)
    _build(path, lambda: model.load_params(split_arrays(arrays, "params")))
    return model, src, tgt


def seq_target_split(meta, path="checkpoint"):
    """How a seq2seq checkpoint's targets split into tokens: chars or words."""
    split = Meta(meta, path).section("config", {}).get("target_split", "str", "chars")
    if split not in ("chars", "words"):
        raise Meta(meta, path).bad("config.target_split", "must be chars or words")
    return split


def reader_normalization(meta, path="checkpoint"):
    """(mean, std) of the pixels a reader's strips were standardised with."""
    return cnn_normalization(meta, path)


def reader_model(meta, arrays, path="checkpoint"):
    """(model, (mean, std), max_digits) of a reader checkpoint (nn/reader.py)."""
    from .archs import ReaderArch

    arch = ReaderArch.read(Meta(meta, path))
    norm = reader_normalization(meta, path)
    check_finite(arrays, path)
    # The sizes come from the file: refuse a forged one before allocating
    # (weights and gradients, and a batch of 250 strips being read).
    need = 4 * (2 * arch.param_count() + arch.activation_floats(250) // 4)
    have = memory.available_memory()
    if have is not None and need > have:
        raise CheckpointError(f"{path} describes a reader of {memory.size_text(need)}, more "
                              f"than the {memory.size_text(have)} of memory available")
    model = _build(path, arch.build)
    _build(path, lambda: model.load(split_arrays(arrays, "params"),
                                    split_arrays(arrays, "buffers")))
    return model, norm, arch.max_digits
