"""nnlab export: a checkpoint's weights for other tools (nn/export.py)."""

import importlib

import click


def _is_onnx(path):
    """True for an ONNX model that nnlab wrote: protobuf field 1 (ir_version,
    a varint) and then field 2, producer_name "nnlab" (nn/onnx_export.py)."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    if head[:1] != b"\x08":
        return False
    i = 1
    while i < len(head) and head[i] & 0x80:
        i += 1
    return head[i + 1:i + 8] == b"\x12\x05nnlab"


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
@click.option("--force", is_flag=True, help="Replace OUT even if it is not a file of its format.")
def export(checkpoint, out, force):
    """Write CHECKPOINT, a character model or a CNN, for other tools. The
    format follows OUT's name:

    OUT.safetensors: the weights under PyTorch's own state_dict names and
    layouts (nn.Embedding, nn.LSTM or nn.RNN, nn.Linear; nn.Conv2d,
    nn.BatchNorm2d, nn.Linear), with the architecture and the vocabulary or
    classes in the file's metadata. The README has the PyTorch code that
    loads them.

    OUT.onnx: the whole network as an ONNX graph, for ONNX Runtime (a CNN
    takes uint8 images and does its own input scaling).
    """
    from nnlab import NnlabError
    from nnlab.files import atomic_write
    from nnlab.nn.checkpoint import load_checkpoint
    from nnlab.nn.target import TargetError, output_target

    fmt = next((f for f in FORMATS if out.endswith(f".{f}")), None)
    if fmt is None:
        raise click.BadParameter(f"{out}: give a name ending in .safetensors or .onnx (the "
                                 "formats export writes)", param_hint="OUT")
    is_own, what, package = FORMATS[fmt]
    try:
        real = output_target(out, is_own, force, what=what)
    except TargetError as e:
        raise click.BadParameter(str(e), param_hint="OUT") from None
    try:
        library = importlib.import_module(package)
    except ImportError:
        raise NnlabError(f"export to .{fmt} needs the {package.split('.')[0]} package: "
                         f"pip install 'nnlab[interop]'") from None
    meta, arrays = load_checkpoint(checkpoint)
    kind = meta.get("kind")
    if kind not in ("charlm", "cnn"):
        raise NnlabError(f"{checkpoint} is a {kind} checkpoint; export writes character "
                         "models and CNNs so far")
    if fmt == "safetensors":
        from nnlab.nn.export import charlm_state_dict, cnn_state_dict

        make = charlm_state_dict if kind == "charlm" else cnn_state_dict
        tensors, info = make(meta, arrays, checkpoint)
        data = library.save(tensors, metadata=info)
        summary = (f"{len(tensors)} tensors, "
                   f"{sum(t.size for t in tensors.values()):,} weights")
    else:
        from nnlab.nn.onnx_export import charlm_onnx, cnn_onnx

        make = charlm_onnx if kind == "charlm" else cnn_onnx
        model = make(library, meta, arrays, checkpoint)
        data = model.SerializeToString()
        summary = (f"ONNX opset {model.opset_import[0].version}, {len(model.graph.node)} "
                   f"nodes, {len(data):,} bytes")
    atomic_write(real, lambda f: f.write(data))
    click.echo(f"{out}: {summary}")


# format -> (is nnlab's own such file, what it is called, the module that writes it)
FORMATS = {"safetensors": (_is_safetensors, "safetensors file", "safetensors.numpy"),
           "onnx": (_is_onnx, "ONNX model", "onnx")}
