"""nnlab import: a PyTorch character model's weights as an nnlab checkpoint
(nn/import_lm.py), to sample and evaluate with nnlab."""

import os

import click

CELLS = ("lstm", "rnn")
MODULES = ("embed", "rnn", "out")


def _renames(ctx, param, values):
    pairs = []
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old or new not in MODULES:
            raise click.BadParameter(f"{value!r}: give OLD=NEW with NEW one of "
                                     f"{', '.join(MODULES)}, e.g. --rename lstm=rnn")
        pairs.append((old.rstrip("."), new))
    return pairs


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--arch", "cell", type=click.Choice(CELLS), default=None,
              help="The recurrent layers: lstm (nn.LSTM) or rnn (nn.RNN, tanh).  "
                   "[default: what the weights' shapes are]")
@click.option("--vocab", "vocab_file", type=click.Path(dir_okay=False, allow_dash=True),
              help="The characters, in the model's id order: a JSON string or list in "
                   "FILE.json, or a text whose sorted distinct characters they are.  "
                   "[default: the file's own, from nnlab export]")
@click.option("--rename", multiple=True, metavar="OLD=NEW", callback=_renames,
              help="Read module OLD's tensors as NEW's (embed, rnn or out); repeatable, "
                   "e.g. --rename lstm=rnn --rename fc=out.")
@click.option("--force", is_flag=True, help="Replace OUT even if it is not an nnlab checkpoint.")
def import_weights(file, out, cell, vocab_file, rename, force):
    """Turn FILE.safetensors, the state_dict of a PyTorch character model
    (nn.Embedding or one-hot input, nn.LSTM or nn.RNN, nn.Linear: the
    README's CharLM), into the nnlab checkpoint OUT.npz, for nnlab sample
    and nnlab eval. The bias_ih and bias_hh of each layer are summed into
    nnlab's one bias.
    """
    from nnlab.data.text import read_vocab
    from nnlab.data.weights import Weights
    from nnlab.nn.checkpoint import check_output, save_checkpoint
    from nnlab.nn.import_lm import ImportProblem, checkpoint_of, plan
    from nnlab.nn.restore import check_lm_fits, lm_model
    from nnlab.nn.target import TargetError

    try:
        check_output(out, force)
    except TargetError as e:
        raise click.BadParameter(str(e), param_hint="OUT") from None
    weights = Weights(file)
    names = {}  # name read as -> name in the file
    for name in weights.shapes:
        new = name
        for old, to in rename:
            if name.startswith(old + "."):
                new = to + name[len(old):]
                break
        if new in names:
            raise click.BadParameter(f"{names[new]} and {name} would both be read as {new}",
                                     param_hint="--rename")
        names[new] = name
    arch = plan({new: weights.shapes[old] for new, old in names.items()}, file, cell)
    if vocab_file is not None:
        chars = read_vocab(vocab_file)
    elif "vocab" in weights.metadata:
        chars = _own_vocab(weights.metadata["vocab"], file)
    else:
        raise click.UsageError(f"{file} does not say its vocabulary; give it with --vocab "
                               "FILE (the characters in id order, or the training text)")
    if len(chars) != arch.vocab_size:
        raise ImportProblem(f"the vocabulary has {len(chars)} characters and {file}'s model "
                            f"{arch.vocab_size}; give the vocabulary it was trained with")
    check_lm_fits(file, arch.args(), 3)  # the file's tensors, the model's weights and grads
    tensors = {new: weights.load(old) for new, old in names.items()}
    meta, arrays = checkpoint_of(arch, tensors, chars, os.path.basename(file))
    lm_model(meta, arrays, out)  # read back as sample and eval will
    save_checkpoint(out, meta, arrays, force)
    count = sum(a.size for a in arrays.values())
    click.echo(f"{out}: a {arch.layers} x {arch.hidden} {arch.cell.upper()} with "
               f"{arch.vocab_size} characters, {count:,} weights; try: nnlab sample {out}")


def _own_vocab(text, file):
    """The vocabulary in an export's metadata (nn/export.py writes it as JSON)."""
    from nnlab.data.text import TextError, vocab_from_json
    from nnlab.nn.import_lm import ImportProblem

    try:
        return vocab_from_json(text, file)
    except TextError:
        raise ImportProblem(f"{file}'s metadata hold a damaged vocabulary; give it with "
                            "--vocab") from None
