"""nnlab sample: text from a character-level language model, streamed."""

import sys

import click

from .options import positive_float, seed_option, threads_option
from .output import reader_may_leave, require_stdout


def nonnegative_int(ctx, param, value):
    if value is not None and value < 0:
        raise click.BadParameter(f"must be at least 0, got {value}")
    return value


@click.command("sample")
@click.argument("checkpoint", default="charlm.npz", type=click.Path(dir_okay=False))
@click.option("--temp", "temperature", type=float, default=0.8, show_default=True,
              callback=positive_float,
              help="Temperature: below 1 is more conservative, above 1 more surprising.")
@click.option("--len", "length", type=int, default=500, show_default=True,
              callback=nonnegative_int, help="Characters to generate after the prime.")
@click.option("--prime", default=None,
              help="Text to start from; it is printed, then continued.  [default: a newline "
                   "(not printed) when the vocabulary has one, else the corpus's first "
                   "character]")
@click.option("--top-k", type=int, default=0, show_default=True, callback=nonnegative_int,
              help="Draw only from the K most likely characters (0: from all).")
@click.option("--argmax", is_flag=True,
              help="Always take the most likely character (greedy; ignores --temp).")
@seed_option
@threads_option
def sample(checkpoint, temperature, length, prime, top_k, argmax, seed):
    """Generate text from the language model in CHECKPOINT (default charlm.npz).

    Characters are written to stdout as they are generated, so
    `nnlab sample --len 100000 | head -c 100` stops at once.
    """
    import numpy as np

    from nnlab.data.text import Vocab, describe
    from nnlab.nn.checkpoint import load_checkpoint
    from nnlab.nn.restore import lm_model, lm_start
    from nnlab.nn.sample import Sampler

    require_stdout("the text")
    meta, arrays = load_checkpoint(checkpoint, kind="charlm")
    model, chars = lm_model(meta, arrays, checkpoint)
    vocab = Vocab(chars)
    if top_k > len(vocab):
        raise click.BadParameter(f"{top_k} is more than the {len(vocab)} characters of the "
                                 "model's vocabulary", param_hint="--top-k")
    shown = prime
    if prime is None:
        prime = "\n" if "\n" in vocab.index else lm_start(meta, vocab.chars, checkpoint)
        shown = "" if prime == "\n" else prime
    elif prime == "":
        raise click.BadParameter("must hold at least one character", param_hint="--prime")
    missing = vocab.unknown(prime)
    if missing:
        raise click.BadParameter(f"characters not in the model's vocabulary: {describe(missing)}",
                                 param_hint="--prime")

    ids = vocab.encode(prime)
    sampler = Sampler(model, expected=len(ids) + length)
    if sampler.fused:  # this length runs the compiled loop: say so if it compiles
        import nnlab.kernels.generate  # noqa: F401  (loads numba, for watch_compiles)

        from .compiling import watch_compiles

        watch_compiles()
    sampler.feed(ids)
    rng = np.random.Generator(np.random.PCG64(seed))
    out = sys.stdout.buffer
    # A person watching wants each character at once; a pipe wants fewer writes.
    chunk = 1 if out.isatty() else 256
    last = shown[-1:] or prime[-1:]
    with reader_may_leave():
        out.write(shown.encode("utf-8"))
        done = 0
        while done < length:
            n = min(chunk, length - done)
            # A --temp so small (5e-324) that score / temp overflows to -inf: exp() of it
            # is 0, the limit sampling tends to (the best character); numpy warned in two
            # lines on stderr.
            with np.errstate(over="ignore"):
                text = vocab.decode(sampler.generate(n, rng, temperature, top_k, argmax))
            out.write(text.encode("utf-8"))
            out.flush()
            done += n
            last = text[-1]
        if out.isatty() and last != "\n":
            out.write(b"\n")
        out.flush()
