"""nnlab predict with a reader checkpoint: each IMAGE (a file, or "-" for
stdin) made into a strip as in training (data/images.py), read, and
printed as the number and the model's probability of that reading."""

import sys

import click

from .output import dumps


def predict_reader(checkpoint, meta, arrays, paths, beam, show, as_json):
    from nnlab.data.images import read_strip
    from nnlab.nn import reader_eval
    from nnlab.nn.restore import reader_model

    if not paths:
        raise click.UsageError(f"give the IMAGE files for {checkpoint} to read (- for stdin)")
    if list(paths).count("-") > 1:
        raise click.UsageError("stdin (-) can be read once; give it at most once")
    model, (mean, std), max_digits = reader_model(meta, arrays, checkpoint)
    width = model.in_shape[2]
    if show:
        from .strip_art import render
        from .ui import stderr_console

        console = stderr_console()
    for path in paths:
        strip = read_strip(path, width)[None]
        if show:
            console.print(f"{path}, as the model sees it:", markup=False, soft_wrap=True)
            render(strip[0], console)
        digits = reader_eval.read(model, strip, mean, std, max_digits, beam)
        p = float(reader_eval.probability(model, strip, digits, mean, std)[0])
        number = reader_eval.text(digits[0]) if len(digits[0]) else ""
        if as_json:
            click.echo(dumps({"input": path, "number": number, "probability": p}))
        else:
            click.echo(f"{number or '(nothing)'}\t{p:.4f}")
        sys.stdout.flush()
