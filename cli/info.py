"""nnlab info: what a checkpoint holds, without building or training it."""

import click

from .options import json_option
from .output import dumps, require_stdout


@click.command("info")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@json_option
def info(checkpoint, as_json):
    """Describe CHECKPOINT: its kind, network and parameter count, its
    vocabulary or classes, the config it was trained with, its step, epoch
    and best validation figure, the nnlab version that wrote it, and its
    integrity (every array's header checked against the file, every value
    checked finite; nothing is unpickled).
    """
    from nnlab.nn.checkpoint import load_checkpoint
    from nnlab.nn.info import summary

    require_stdout("the description")
    meta, arrays = load_checkpoint(checkpoint)
    s = summary(checkpoint, meta, arrays)
    if as_json:
        click.echo(dumps(s))
        return
    arch = s["arch"] if isinstance(s["arch"], dict) else {}
    args = ", ".join(f"{k}={v}" for k, v in (arch.get("args") or {}).items())
    echo = click.echo
    echo(f"{checkpoint}: {s['kind']} checkpoint, {arch.get('name')}({args}), "
         f"{s['parameters']:,} parameters")
    if "vocab" in s:
        shown = s["vocab"][:60].encode("unicode_escape").decode("ascii")
        echo(f"vocabulary: {s['characters']} characters: {shown}"
             + ("..." if s["characters"] > 60 else ""))
    for key in ("labels", "targets", "classes", "tokens"):
        if key in s:
            items = [str(t) for t in s[key]]
            echo(f"{key}: {len(items)}: {' '.join(items[:30])}" + (" ..." if len(items) > 30 else ""))
    if s.get("dataset"):
        echo(f"dataset: {s['dataset']}")
    config = s["config"] if isinstance(s["config"], dict) else {}
    imported = s["imported"] if isinstance(s["imported"], dict) else None
    if imported is not None:
        echo(f"imported from {imported.get('from')} (nnlab import): no training config or "
             "optimizer state")
    else:
        echo("config: " + ", ".join(f"{k}={v}" for k, v in config.items()))
    e = s["epoch"]
    epoch = "" if not isinstance(e, (int, float)) else f", epoch {e:.2f}".rstrip("0").rstrip(".")
    seconds = f", {s['seconds']:.1f}s of training" if isinstance(s["seconds"], (int, float)) else ""
    echo(f"progress: step {s['step']}{epoch}{seconds}, {s['validations']} validations")
    best = s["best"]
    if best["value"] is not None:
        echo(f"best {best['key'].replace('_', ' ')}: {best['value']:.4f}")
    last = s["last_validation"] or {}
    figures = [f"{k.replace('_', ' ')} {v:.4f}" for k, v in last.items()
               if isinstance(v, float) and k not in ("seconds", "epoch")]
    if figures:
        echo("last validation: " + ", ".join(figures))
    echo(f"written by nnlab {s['nnlab_version'] or '(before versions were recorded)'}, "
         f"checkpoint format {s['format_version']}")
    i = s["integrity"]
    state = ("all finite" if not i["non_finite"] else
             f"NaN or infinite values in {', '.join(i['non_finite'][:5])}")
    groups = ", ".join(f"{g} {v['arrays']}" for g, v in i["groups"].items())
    echo(f"integrity: {i['arrays']} arrays ({groups}), {i['bytes']:,} bytes, every header "
         f"checked, {state}, nothing unpickled")
