"""What ``nnlab info`` says of a checkpoint, from its metadata and arrays
alone: nothing is built, compiled or unpickled. load_checkpoint has
already checked every array's .npy header against the file; this adds
what the arrays hold (counts, bytes, non-finite values) and the run's
story (kind, network, vocabulary, config, progress, best figure)."""

import numpy as np

# The history field that decides each kind's best checkpoint (nn/core.py's val_key).
BEST_KEY = {"cnn": "test_loss"}


def _vocabulary(meta):
    kind = meta.get("kind")
    if kind == "charlm":
        vocab = meta.get("vocab") or ""
        return {"characters": len(vocab), "vocab": vocab}
    if kind in ("classifier", "tagger", "seq2seq"):
        src, tgt = meta.get("src_tokens") or [], meta.get("tgt_tokens") or []
        return {"source_tokens": len(src), "target_tokens": len(tgt),
                "targets" if kind == "seq2seq" else "labels": list(tgt)}
    if kind == "cnn":
        return {"dataset": meta.get("dataset"), "classes": list(meta.get("classes") or [])}
    if kind == "reader":
        return {"tokens": ["<start>", "<end>", *map(str, range(10))]}
    return {}


def _arrays(arrays):
    parts, bad = {}, []
    for key, a in arrays.items():
        group = key.split("/", 1)[0] if "/" in key else key
        count, size = parts.get(group, (0, 0))
        parts[group] = (count + 1, size + a.nbytes)
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            bad.append(key)
    return ({g: {"arrays": c, "bytes": b} for g, (c, b) in sorted(parts.items())}, bad)


def summary(path, meta, arrays):
    """A JSON-able dict of all ``nnlab info`` shows."""
    kind = meta.get("kind")
    params = {k: a for k, a in arrays.items() if k.startswith("params/")}
    history = meta.get("history") if isinstance(meta.get("history"), list) else []
    key = BEST_KEY.get(kind, "val_loss")
    groups, non_finite = _arrays(arrays)
    last = history[-1] if history and isinstance(history[-1], dict) else {}
    return {
        "checkpoint": str(path), "kind": kind, "arch": meta.get("arch"),
        "parameters": int(sum(a.size for a in params.values())),
        **_vocabulary(meta),
        "config": meta.get("config"),
        "imported": meta.get("imported"),
        "step": meta.get("step"),
        "epoch": last.get("epoch", meta.get("epoch")),
        "seconds": meta.get("seconds"),
        "best": {"key": key, "value": meta.get("best_val")},
        "last_validation": last or None,
        "validations": len(history),
        "nnlab_version": meta.get("nnlab_version"),
        "format_version": meta.get("version"),
        "integrity": {"arrays": len(arrays), "bytes": int(sum(a.nbytes for a in arrays.values())),
                      "headers_checked": True, "unpickled": False, "groups": groups,
                      "non_finite": non_finite},
    }
