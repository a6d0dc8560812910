"""What ``nnlab eval`` measures, by checkpoint kind: the figures as a dict
of plain numbers, lists and strings (``--json`` prints it as it is). The
command reads the data (data/) and prints; this module builds the model and
scores it."""

import math

from .checkpoint import CheckpointError
from .evaluate import evaluate_classifier, precision_recall
from .lm_data import bits, evaluate_lm
from .meta import Meta
from .restore import cnn_model, cnn_normalization, lm_batching, lm_model, lm_validation_ids


def perplexity(nats):
    """e^loss, infinite (null in JSON) when that is past what a float holds."""
    try:
        return math.exp(nats)
    except OverflowError:  # a model saved after its loss had diverged
        return math.inf


def cnn_for_eval(path, meta, arrays):
    """(the trained network, its input scaling (mean, std), the name of its
    dataset, the folder it was read from or None), all checked before any
    data are read: a damaged checkpoint fails before a download."""
    model = cnn_model(meta, arrays, path)
    m = Meta(meta, path)
    return (model, cnn_normalization(meta, path), m.get("dataset", "str", "mnist"),
            m.get("data_dir", "str?", None))


def evaluate_cnn(path, model, scaling, data, show_errors=0):
    """Accuracy, loss, per-class precision and recall, and the confusion
    matrix of ``model`` (from checkpoint ``path``) on ``data``'s test split;
    with ``show_errors``, that many most confidently wrong test images."""
    mean, std = scaling
    if data.test_x.shape[1:] != model.in_shape[1:] or len(data.classes) != model.out_shape[0]:
        raise CheckpointError(
            f"{path} takes {_side(model.in_shape[1:])} images in {model.out_shape[0]} "
            f"classes, and those of {data.folder or data.name} are "
            f"{_side(data.test_x.shape[1:])} in {len(data.classes)}; evaluate it on the "
            "images it was trained on (--data)")
    m = evaluate_classifier(model, data.test_x, data.test_y, mean, std, len(data.classes),
                            worst=show_errors)
    precision, recall = precision_recall(m["confusion"])
    out = {"kind": "cnn", "dataset": data.name, "examples": int(len(data.test_y)),
           "accuracy": m["accuracy"], "loss": m["loss"], "classes": list(data.classes),
           "precision": precision, "recall": recall, "confusion": m["confusion"].tolist()}
    if show_errors:
        out["errors"] = [{"index": i, "true": data.classes[t], "predicted": data.classes[q],
                          "probability": p} for i, t, q, p in m["errors"]]
        out["_images"] = [data.test_x[i] for i, _, _, _ in m["errors"]]
    return out


def lm_for_eval(path, meta, arrays):
    """(model, vocabulary characters, its validation ids or None)."""
    model, chars = lm_model(meta, arrays, path)
    return model, chars, lm_validation_ids(meta, arrays, path)


def evaluate_charlm(path, meta, model, ids, source, on_progress=None):
    """Loss in nats and bits per character, and perplexity, of ``model`` on
    ``ids`` (from ``source``), in the batches it was trained with."""
    batch, seq_len = lm_batching(meta, path)
    nats = evaluate_lm(model, ids, batch, seq_len, on_progress=on_progress)
    return {"kind": "charlm", "source": source, "characters": int(len(ids)),
            "loss": nats, "bits_per_char": bits(nats), "perplexity": perplexity(nats)}


def _side(shape):
    return "x".join(str(n) for n in shape)
