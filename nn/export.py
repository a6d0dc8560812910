"""A character model's weights under PyTorch's own ``state_dict`` names
and layouts, for ``nnlab export CKPT OUT.safetensors``:

    nn.Embedding(V, E)      embed.weight (V, E)            = emb
    nn.LSTM / nn.RNN        rnn.weight_ih_l{k} (G, in)     = l{k}.Wx.T
                            rnn.weight_hh_l{k} (G, H)      = l{k}.Wh.T
                            rnn.bias_ih_l{k} (G,)          = l{k}.b
                            rnn.bias_hh_l{k} (G,)          = 0 (nnlab keeps one bias)
    nn.Linear(H, V)         out.weight (V, H)              = out.w.T, out.bias = out.b

G is 4H for an LSTM, in PyTorch's gate order (input, forget, cell, output),
which is nnlab's own; H for a vanilla RNN (tanh). A model without an
embedding (embed 0) reads one-hot vectors: then there is no embed.weight
and weight_ih_l0 is (G, V). The metadata (strings only, as safetensors
holds) say how to rebuild it: nnlab_arch (JSON), vocab (JSON), and the
nnlab version.

LeNet-5 and the AlexNet-style CNN go under their layers' names, as an
nn.Sequential of named modules holds them: conv1.weight (O, I, kH, kW) and
conv1.bias as they are, fc1.weight = fc1.w.T (nn.Linear's (out, in)),
fc1.bias. nnlab flattens (C, H, W) in C order, as torch.flatten does. The
metadata add the input scaling: x / 255, then (x - mean) / std.
"""

import json

import numpy as np

from nnlab import __version__

from .restore import cnn_model, cnn_normalization, lm_model

CNN_EXPORTS = ("lenet5", "alexnet")  # ResNet (batch norm, residual blocks): not yet


def charlm_state_dict(meta, arrays, path="checkpoint"):
    """({name: float32 array}, {key: str}) of a charlm checkpoint."""
    model, vocab = lm_model(meta, arrays, path)
    p = model.params
    out = {}
    if "emb" in p:
        out["embed.weight"] = p["emb"]
    layers = meta["arch"]["args"]["layers"]
    for k in range(layers):
        out[f"rnn.weight_ih_l{k}"] = p[f"l{k}.Wx"].T
        out[f"rnn.weight_hh_l{k}"] = p[f"l{k}.Wh"].T
        out[f"rnn.bias_ih_l{k}"] = p[f"l{k}.b"]
        out[f"rnn.bias_hh_l{k}"] = np.zeros_like(p[f"l{k}.b"])
    out["out.weight"] = p["out.w"].T
    out["out.bias"] = p["out.b"]
    tensors = {k: np.ascontiguousarray(v, np.float32) for k, v in out.items()}
    info = {"format": "pt", "nnlab_kind": "charlm", "nnlab_version": __version__,
            "nnlab_arch": json.dumps(meta["arch"]["args"]), "vocab": json.dumps(vocab)}
    return tensors, info


def cnn_state_dict(meta, arrays, path="checkpoint"):
    """({name: float32 array}, {key: str}) of a LeNet-5 or AlexNet-style checkpoint."""
    from .checkpoint import CheckpointError

    name = meta["arch"]["name"]
    if name not in CNN_EXPORTS:
        raise CheckpointError(f"{path} is a {name}; export writes lenet5 and alexnet CNNs "
                              "(and character models) so far")
    cnn_model(meta, arrays, path)  # every field and array checked, as eval would
    mean, std = cnn_normalization(meta, path)
    out = {}
    for key, a in arrays.items():
        if not key.startswith("params/"):
            continue
        layer, kind = key[len("params/"):].rsplit(".", 1)
        if kind == "w":
            out[f"{layer}.weight"] = a.T if a.ndim == 2 else a
        elif kind == "b":
            out[f"{layer}.bias"] = a
    tensors = {k: np.ascontiguousarray(v, np.float32) for k, v in out.items()}
    info = {"format": "pt", "nnlab_kind": "cnn", "nnlab_version": __version__,
            "nnlab_arch": json.dumps(meta["arch"]), "mean": repr(mean), "std": repr(std),
            "classes": json.dumps(meta.get("classes") or [])}
    return tensors, info
