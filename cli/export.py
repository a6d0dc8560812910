"""nnlab export: a checkpoint's weights for other tools (nn/export.py)."""

import click


def _is_safetensors(path):
    """True for a file that starts as a safetensors file does: an 8-byte
    header length, then a JSON object."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{"


@click.command("export")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace OUT even if it is not a safetensors file.")
def export(checkpoint, out, force):
    """Write CHECKPOINT's weights to OUT.safetensors, under PyTorch's own
    state_dict names and layouts (nn.Embedding, nn.LSTM or nn.RNN, nn.Linear
    for a character model; nn.Conv2d and nn.Linear for LeNet-5 and the
    AlexNet-style CNN), with the architecture (and vocabulary, or input
    scaling) in the file's metadata. The README has the PyTorch code that
    loads them.
    """
    from nnlab import NnlabError
    from nnlab.files import atomic_write
    from nnlab.nn.checkpoint import load_checkpoint
    from nnlab.nn.export import charlm_state_dict, cnn_state_dict
    from nnlab.nn.target import TargetError, output_target

    if not out.endswith(".safetensors"):
        raise click.BadParameter(f"{out}: give a name ending in .safetensors (the one format "
                                 "export writes so far)", param_hint="OUT")
    try:
        real = output_target(out, _is_safetensors, force, what="safetensors file")
    except TargetError as e:
        raise click.BadParameter(str(e), param_hint="OUT") from None
    try:
        from safetensors.numpy import save
    except ImportError:
        raise NnlabError("export needs the safetensors package: pip install 'nnlab[interop]' "
                         "(or pip install safetensors)") from None
    meta, arrays = load_checkpoint(checkpoint)
    make = {"charlm": charlm_state_dict, "cnn": cnn_state_dict}.get(meta.get("kind"))
    if make is None:
        raise NnlabError(f"{checkpoint} is a {meta.get('kind')} checkpoint; export writes "
                         "character models and LeNet-5 or AlexNet-style CNNs so far")
    tensors, info = make(meta, arrays, checkpoint)
    data = save(tensors, metadata=info)
    atomic_write(real, lambda f: f.write(data))
    click.echo(f"{out}: {len(tensors)} tensors, "
               f"{sum(t.size for t in tensors.values()):,} weights")
