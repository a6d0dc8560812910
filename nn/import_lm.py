"""A PyTorch character model's state_dict as an nnlab checkpoint, for
``nnlab import FILE.safetensors OUT.npz``: the reverse of nn/export.py.

Read under PyTorch's names (after the caller's renames):

    embed.weight (V, E)                    -> emb, when present; else one-hot input
    rnn.weight_ih_l{k} (G, in)             -> l{k}.Wx = its transpose
    rnn.weight_hh_l{k} (G, H)              -> l{k}.Wh = its transpose
    rnn.bias_ih_l{k} + rnn.bias_hh_l{k}    -> l{k}.b (nnlab keeps one bias; either may be absent)
    out.weight (V, H), out.bias (V,)       -> out.w = its transpose, out.b

G = 4H is an LSTM (nn.LSTM's gate order is nnlab's), G = H a tanh RNN. The
vocabulary is given in id order; nnlab numbers characters in sorted order
(data/text.py:Vocab), so the rows and columns that belong to characters
are permuted into it here. What the checkpoint holds is a model to sample
and evaluate: no optimizer state, so no --resume.
"""

import re

import numpy as np

from .archs import LMArch
from .charlm import CharLM
from .checkpoint import CheckpointError

LAYER = re.compile(r"rnn\.(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)")


class ImportProblem(CheckpointError):
    """A weights file that is not a character model nnlab can hold."""


def plan(shapes, where, cell=None):
    """The LMArch that tensors of these shapes ({name: shape}) make, worked
    out before any is read, with every name accounted for and every shape
    checked. ``cell`` (lstm or rnn), when given, must be what they are."""
    unknown = [n for n in shapes if n not in ("embed.weight", "out.weight", "out.bias")
               and not LAYER.fullmatch(n)]
    if unknown:
        hint = ("those of a bidirectional or projected LSTM, which nnlab has not"
                if any("reverse" in n or "weight_hr" in n for n in unknown) else
                "rename modules to embed, rnn and out with --rename OLD=NEW")
        raise ImportProblem(f"{where} has tensors a character model does not: "
                            f"{', '.join(unknown[:3])}{' ...' if len(unknown) > 3 else ''}; "
                            f"{hint}")
    for name in ("rnn.weight_ih_l0", "rnn.weight_hh_l0", "out.weight", "out.bias"):
        if name not in shapes:
            raise ImportProblem(f"{where} has no {name}; a character model needs embed.weight "
                                "(optional), rnn.* and out.* (rename with --rename OLD=NEW)")
    found_layers = {int(LAYER.fullmatch(n).group(2)) for n in shapes if LAYER.fullmatch(n)}
    layers = len(found_layers)
    for k in range(layers):  # numbered 0 .. layers - 1, each with both weights
        if f"rnn.weight_ih_l{k}" not in shapes or f"rnn.weight_hh_l{k}" not in shapes:
            raise ImportProblem(f"{where} has no weights for layer {k} of {layers} "
                                f"(rnn.weight_ih_l{k} and rnn.weight_hh_l{k})")
    G, H = _shape(shapes, "rnn.weight_hh_l0", 2, where)
    found = {4 * H: "lstm", H: "rnn"}.get(G)
    if found is None:
        what = "a GRU's" if G == 3 * H else "no LSTM's or RNN's"
        raise ImportProblem(f"{where}: rnn.weight_hh_l0 is {G} x {H}, {what} shape; import "
                            "reads nn.LSTM (4H x H) and nn.RNN (H x H)")
    if cell is not None and cell != found:
        raise ImportProblem(f"{where} holds an {found.upper()} ({G} x {H} recurrent weights), "
                            f"not an {cell.upper()}; pass --arch {found}")
    V = _shape(shapes, "out.weight", 2, where)[0]
    embed = _shape(shapes, "embed.weight", 2, where)[1] if "embed.weight" in shapes else 0
    if embed and _shape(shapes, "embed.weight", 2, where)[0] != V:
        raise ImportProblem(f"{where}: embed.weight has {shapes['embed.weight'][0]} rows and "
                            f"out.weight {V}; they must both be the vocabulary's size")
    want = {"embed.weight": (V, embed), "out.weight": (V, H), "out.bias": (V,)}
    for k in range(layers):
        want[f"rnn.weight_ih_l{k}"] = (G, (embed or V) if k == 0 else H)
        want[f"rnn.weight_hh_l{k}"] = (G, H)
        want[f"rnn.bias_ih_l{k}"] = want[f"rnn.bias_hh_l{k}"] = (G,)
    for name, shape in shapes.items():
        if shape != want[name]:
            raise ImportProblem(f"{where}: {name} is {' x '.join(map(str, shape)) or 'a scalar'}"
                                f", where a {layers}-layer {found.upper()} of {H} with "
                                f"{V} characters has {' x '.join(map(str, want[name]))}")
    return LMArch(vocab_size=V, cell=found, hidden=H, layers=layers, embed=embed)


def _shape(shapes, name, ndim, where):
    shape = shapes[name]
    if len(shape) != ndim or min(shape, default=0) < 1:
        raise ImportProblem(f"{where}: {name} has shape {shape}, not {ndim} sizes above 0")
    return shape


def sorted_order(chars):
    """The permutation taking ids in the given order to nnlab's sorted ones:
    new id i is the character that had id order[i]."""
    return np.array(sorted(range(len(chars)), key=lambda i: chars[i]), np.intp)


def checkpoint_of(arch, tensors, chars, source):
    """(meta, arrays) of an nnlab charlm checkpoint from ``tensors`` {name:
    float32 array} of the shapes ``plan`` accepted and the vocabulary
    ``chars`` in the file's id order."""
    order = sorted_order(chars)
    p = {}
    if arch.embed:
        p["emb"] = tensors["embed.weight"][order]
    for k in range(arch.layers):
        wx = tensors[f"rnn.weight_ih_l{k}"].T
        p[f"l{k}.Wx"] = wx[order] if k == 0 and not arch.embed else wx
        p[f"l{k}.Wh"] = tensors[f"rnn.weight_hh_l{k}"].T
        # Summed in float64, then rounded once to the model's float32.
        p[f"l{k}.b"] = sum((tensors[n].astype(np.float64)
                            for n in (f"rnn.bias_ih_l{k}", f"rnn.bias_hh_l{k}") if n in tensors),
                           np.zeros(4 * arch.hidden if arch.cell == "lstm" else arch.hidden))
    p["out.w"] = tensors["out.weight"].T[:, order]
    p["out.b"] = tensors["out.bias"][order]
    model = CharLM(**arch.args())
    for name, a in p.items():  # into the model's own float32 contiguous arrays
        model.params[name][...] = a
    for name, a in model.params.items():
        if not np.isfinite(a).all():
            raise ImportProblem(f"{source}: the weights of {name} are not all finite numbers")
    meta = {"kind": "charlm", "arch": arch.to_meta(), "vocab": "".join(chars[i] for i in order),
            "imported": {"from": source}, "step": 0, "history": []}
    return meta, {f"params/{k}": v for k, v in model.params.items()}
