"""nnlab eval: measure a checkpoint on its test data."""

import math

import click

from .options import data_option, download_option, json_option, threads_option
from .output import dumps, require_stdout


@click.command("eval")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.argument("textfile", required=False, type=click.Path(dir_okay=True, allow_dash=True))
@data_option
@download_option
@click.option("--beam", type=click.IntRange(min=1), default=1, show_default=True,
              help="seq2seq and reader: beam search over this many hypotheses (1: greedy).")
@click.option("--show-errors", type=click.IntRange(min=0), default=0, metavar="N",
              help="cnn and reader: draw the N most confidently wrong test images or strips, "
                   "with the truth and the prediction.")
@json_option
@threads_option
def eval_cmd(checkpoint, textfile, data_dir, download, beam, show_errors, as_json):
    """Evaluate CHECKPOINT on its test data.

    For a CNN: test accuracy and loss, per-class precision and recall, and
    the confusion matrix (rows: true class, columns: predicted class).

    For a character model: the loss in nats and bits per character and the
    perplexity, on the checkpoint's own validation text or on TEXTFILE.

    For a classifier, tagger or seq2seq model, on TEXTFILE, a FILE.tsv of
    pairs: accuracy with per-class (per-tag) precision and recall, or
    exact-match accuracy with character and word error rates.

    For a reader: whole-number and per-digit accuracy, and accuracy by the
    number of digits, on the fixed test strips made from the MNIST test
    digits (the same strips for every run).
    """
    from nnlab.nn.checkpoint import CheckpointError, load_checkpoint

    from .compiling import watch_compiles

    require_stdout("the evaluation")
    watch_compiles()
    meta, arrays = load_checkpoint(checkpoint)
    if show_errors and meta["kind"] not in ("reader", "cnn"):
        raise click.BadParameter(f"applies to image models (cnn, reader) only, and {checkpoint} "
                                 f"is a {meta['kind']}", param_hint="--show-errors")
    if beam > 1 and meta["kind"] not in ("seq2seq", "reader"):
        raise click.BadParameter(f"applies to seq2seq and reader checkpoints only, and "
                                 f"{checkpoint} is a {meta['kind']}", param_hint="--beam")
    if meta["kind"] == "reader":
        from .eval_reader import evaluate, show

        if textfile is not None:
            raise click.UsageError(f"{checkpoint} is a reader; TEXTFILE is for character "
                                   "models (--data gives the MNIST folder)")
        results = evaluate(checkpoint, meta, arrays, data_dir, download, beam, show_errors)
        printer = show
    elif meta["kind"] == "cnn":
        if textfile is not None:
            raise click.UsageError(f"{checkpoint} is an image classifier; TEXTFILE is for "
                                   "character models")
        results = _eval_cnn(checkpoint, meta, arrays, data_dir, download, show_errors)
        printer = _print_cnn
    elif meta["kind"] == "charlm":
        if data_dir is not None:
            # It was ignored without a word: the result looked like one on that data.
            raise click.UsageError(f"{checkpoint} is a character model; --data is for image "
                                   "classifiers: give a TEXTFILE to evaluate it on")
        results = _eval_charlm(checkpoint, meta, arrays, textfile)
        printer = _print_charlm
    elif meta["kind"] in ("classifier", "tagger", "seq2seq"):
        from .eval_seq import evaluate, show

        if data_dir is not None:
            raise click.UsageError(f"{checkpoint} is a {meta['kind']}; --data is for image "
                                   "classifiers: give the FILE.tsv to evaluate it on")
        results, printer = evaluate(checkpoint, meta, arrays, textfile, beam), show
    else:
        raise CheckpointError(f"{checkpoint} holds a {meta['kind']!r} model, which eval does not know")
    if as_json:
        # "_" keys hold what only the printer draws (the images of --show-errors).
        click.echo(dumps({k: v for k, v in results.items() if not k.startswith("_")}))
    else:
        printer(results)


def _eval_charlm(checkpoint, meta, arrays, textfile):
    from nnlab.data.text import TextError, Vocab, describe, read_text
    from nnlab.nn.eval_run import evaluate_charlm, lm_for_eval

    from .ui import count_progress

    model, chars, ids = lm_for_eval(checkpoint, meta, arrays)
    if textfile is None:
        if ids is None:
            raise click.UsageError(f"{checkpoint} has no validation text (its corpus was too "
                                   "small to hold one out); pass a TEXTFILE to evaluate on")
        source = "the validation split"
    else:
        text = read_text(textfile, purpose="to evaluate on")
        source = "stdin" if textfile == "-" else textfile  # as read_text names it
        vocab = Vocab(chars)
        missing = vocab.unknown(text)
        if missing:
            raise TextError(f"{source} has characters the model never saw: {describe(missing)}")
        if len(text) < 2:
            raise TextError(f"{source} holds a single character; evaluation needs two")
        ids = vocab.encode(text)
    # A big text takes a while (5.2 M characters: 30 s): show it moving.
    with count_progress("scoring", "characters") as on_progress:
        return evaluate_charlm(checkpoint, meta, model, ids, source, on_progress)


def _print_charlm(r):
    note = "" if math.isfinite(r["perplexity"]) else " (the loss is too large: the model diverged)"
    click.echo(f"{r['loss']:.4f} nats/char  {r['bits_per_char']:.4f} bits/char  "
               f"perplexity {r['perplexity']:.3f}{note}  ({r['characters']:,} characters of "
               f"{r['source']})")


def _eval_cnn(checkpoint, meta, arrays, data_dir, download, show_errors=0):
    from nnlab.data.datasets import load_dataset
    from nnlab.nn.eval_run import cnn_for_eval, evaluate_cnn

    from .ui import download_progress

    model, scaling, dataset, hint = cnn_for_eval(checkpoint, meta, arrays)
    with download_progress() as on_progress:
        data = load_dataset(dataset, data_dir or hint, download=download, on_progress=on_progress)
    return evaluate_cnn(checkpoint, model, scaling, data, show_errors)


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
    if r.get("errors"):
        from .strip_art import render

        for e, image in zip(r["errors"], r["_images"]):
            console.print(f"test image {e['index']}: {e['true']} taken for {e['predicted']} "
                          f"(probability {e['probability']:.3f})", markup=False, soft_wrap=True)
            render(image, console)
