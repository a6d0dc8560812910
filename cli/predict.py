"""nnlab predict: run a classifier, tagger or seq2seq checkpoint on text,
or a reader on pictures of numbers (cli/predict_reader.py)."""

import sys

import click

from .options import json_option, threads_option
from .output import dumps, reader_may_leave, require_stdout

KINDS = ("classifier", "tagger", "seq2seq", "reader")
CHUNK = 256  # lines predicted together from a pipe: batches for speed, still streaming


@click.command("predict")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.argument("texts", nargs=-1, metavar="[TEXT|IMAGE]...")
@click.option("--beam", type=click.IntRange(min=1), default=1, show_default=True,
              help="seq2seq and reader: beam search over this many hypotheses (1: greedy).")
@click.option("--show", is_flag=True,
              help="reader: draw each picture on stderr as the model sees it (cropped, scaled "
                   "and centred on its strip).")
@json_option
@threads_option
def predict(checkpoint, texts, beam, show, as_json):
    """Predict for each TEXT, or for each line of stdin when no TEXT is given.

    One result per line, streamed: the label (and its probability) for a
    classifier, the tags for a tagger, the output for a seq2seq model. A line
    holding a tab is taken up to it, so `cut -f1` is optional. --json prints
    one JSON object per line.

    For a reader, each IMAGE is a PNG or JPEG file ("-" for stdin) of a
    handwritten number, dark on light or light on dark; it prints the number
    read and the model's probability of that reading.
    """
    from nnlab.data.seqtask import Tokens, join_target
    from nnlab.nn.checkpoint import CheckpointError, load_checkpoint
    from nnlab.nn.restore import seq_model, seq_target_split
    from nnlab.nn.seq_predict import predict as run

    from .compiling import watch_compiles

    require_stdout("the predictions")
    watch_compiles()
    meta, arrays = load_checkpoint(checkpoint)
    kind = meta.get("kind")
    if kind not in KINDS:
        raise CheckpointError(f"{checkpoint} is a {kind} checkpoint; predict takes a "
                              f"{', '.join(KINDS[:-1])} or {KINDS[-1]} model")
    if kind == "reader":
        from .predict_reader import predict_reader

        with reader_may_leave():
            predict_reader(checkpoint, meta, arrays, texts, beam, show, as_json)
        return
    if show:
        raise click.BadParameter(f"applies to reader models only, and {checkpoint} is a {kind}",
                                 param_hint="--show")
    if beam > 1 and kind != "seq2seq":
        raise click.BadParameter(f"applies to seq2seq and reader models only, and "
                                 f"{checkpoint} is a {kind}", param_hint="--beam")
    model, src_tokens, tgt_tokens = seq_model(meta, arrays, checkpoint)
    src, tgt = Tokens(src_tokens), Tokens(tgt_tokens)
    split = seq_target_split(meta, checkpoint)

    def show(text, result):
        if kind == "classifier":
            label, p = tgt.tokens[result[0]], result[1]
            return ({"input": text, "label": label, "probability": p} if as_json
                    else f"{label}\t{p:.4f}")
        if kind == "tagger":
            tags = "".join(tgt.decode(result))
            return {"input": text, "tags": tags} if as_json else tags
        output = join_target(tgt.decode(result), split)
        return {"input": text, "output": output} if as_json else output

    def emit(numbered):
        seqs = []
        for n, text in numbered:
            where = f"TEXT {n}" if texts else f"stdin, line {n}"
            if not text:
                raise click.UsageError(f"{where} is empty; give some text to predict for")
            seqs.append(src.encode(text, where))
        for (_, text), result in zip(numbered, run(kind, model, seqs, beam)):
            shown = show(text, result)
            click.echo(dumps(shown) if as_json else shown)
        sys.stdout.flush()

    with reader_may_leave():
        if texts:
            emit(list(enumerate(texts, 1)))
        else:
            stream(emit)


def stream(emit):
    """Predicts for the lines of stdin: a line at a time from a terminal,
    CHUNK at a time from a pipe."""
    batch = []
    interactive = sys.stdin.isatty()
    for number, line in enumerate(sys.stdin, 1):
        line = line.rstrip("\r\n").split("\t", 1)[0]
        if number == 1:
            line = line.lstrip("\ufeff")  # a byte-order mark, as Windows editors write
        if not line:
            continue  # blank lines give no result
        batch.append((number, line))
        if interactive or len(batch) >= CHUNK:
            emit(batch)
            batch = []
    if batch:
        emit(batch)
