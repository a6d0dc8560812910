"""nnlab eval: measure a checkpoint on its test data."""

import json

import click

from .options import data_option, json_option


@click.command("eval")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@data_option
@click.option("--download/--no-download", default=True, show_default=True,
              help="Download the dataset when it is not found.")
@json_option
def eval_cmd(checkpoint, data_dir, download, as_json):
    """Evaluate CHECKPOINT on its test data.

    For a CNN: test accuracy and loss, per-class precision and recall, and
    the confusion matrix (rows: true class, columns: predicted class).
    """
    from nnlab.nn.checkpoint import CheckpointError, load_checkpoint

    meta, arrays = load_checkpoint(checkpoint)
    if meta["kind"] == "cnn":
        results = _eval_cnn(meta, arrays, data_dir, download)
    else:
        raise CheckpointError(f"{checkpoint} holds a {meta['kind']!r} model, which eval does not know")
    if as_json:
        click.echo(json.dumps(results))
    else:
        _print_cnn(results)


def _eval_cnn(meta, arrays, data_dir, download):
    from nnlab.data.datasets import load_dataset
    from nnlab.nn.checkpoint import CheckpointError
    from nnlab.nn.cnn_models import cnn_from_checkpoint
    from nnlab.nn.evaluate import evaluate_classifier, precision_recall

    from .ui import download_progress

    model = cnn_from_checkpoint(meta, arrays)
    with download_progress() as on_progress:
        data = load_dataset(meta.get("dataset", "mnist"), data_dir or meta.get("data_dir"),
                            download=download, on_progress=on_progress)
    if data.test_x.shape[1:] != model.in_shape[1:] or len(data.classes) != model.out_shape[0]:
        raise CheckpointError(f"the checkpoint's network does not fit the {data.name} images")
    norm = meta.get("normalize", {})
    m = evaluate_classifier(model, data.test_x, data.test_y, float(norm.get("mean", 0.0)),
                            float(norm.get("std", 1.0)), len(data.classes))
    precision, recall = precision_recall(m["confusion"])
    return {"kind": "cnn", "dataset": data.name, "examples": int(len(data.test_y)),
            "accuracy": m["accuracy"], "loss": m["loss"], "classes": list(data.classes),
            "precision": precision, "recall": recall, "confusion": m["confusion"].tolist()}


def _print_cnn(r):
    from rich.table import Table

    from .ui import stdout_console

    console = stdout_console()
    console.print(f"accuracy {r['accuracy']:.2%}  loss {r['loss']:.4f}  "
                  f"({r['examples']:,} {r['dataset']} test images)", markup=False)
    per_class = Table(title="per class")
    for col in ("class", "precision", "recall", "support"):
        per_class.add_column(col, justify="left" if col == "class" else "right")
    support = [sum(row) for row in r["confusion"]]
    for name, p, rc, s in zip(r["classes"], r["precision"], r["recall"], support):
        per_class.add_row(name, f"{p:.2%}", f"{rc:.2%}", f"{s:,}")
    console.print(per_class)
    confusion = Table(title="confusion (rows: true, columns: predicted)")
    confusion.add_column("")
    for i in range(len(r["classes"])):
        confusion.add_column(str(i), justify="right")
    for i, (name, row) in enumerate(zip(r["classes"], r["confusion"])):
        confusion.add_row(f"{i} {name}" if name != str(i) else name,
                          *[f"[bold]{v}[/bold]" if j == i else str(v) for j, v in enumerate(row)])
    console.print(confusion)
