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

CNNs go under their layers' names, as an nn.Sequential of named modules
holds them: conv1.weight (O, I, kH, kW) and conv1.bias as they are,
fc1.weight = fc1.w.T (nn.Linear's (out, in)), fc1.bias. nnlab flattens
(C, H, W) in C order, as torch.flatten does. A ResNet's batch norms are
nn.BatchNorm2d: stem_bn.weight = gamma, .bias = beta, .running_mean,
.running_var (nnlab keeps the unbiased variance, as PyTorch does, with the
same momentum 0.1 and eps 1e-5) and .num_batches_tracked (the steps
trained); a block's layers are s1b1.conv1, s1b1.bn1, ..., s1b1.proj and
s1b1.proj_bn. The metadata add the input scaling: x / 255, then
(x - mean) / std.
"""

import json

import numpy as np

from nnlab import __version__

from .meta import Meta
from .restore import cnn_model, cnn_normalization, lm_model

# nnlab's name of each array -> PyTorch's (nn.Conv2d, nn.Linear, nn.BatchNorm2d)
CNN_NAMES = {"params": {"w": "weight", "b": "bias", "gamma": "weight", "beta": "bias"},
             "buffers": {"mean": "running_mean", "var": "running_var"}}


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
    """({name: array}, {key: str}) of a CNN checkpoint (float32 arrays, and
    int64 num_batches_tracked for each batch norm)."""
    model = cnn_model(meta, arrays, path)  # every field and array checked, as eval would
    mean, std = cnn_normalization(meta, path)
    steps = Meta(meta, path).get("step", "count", 0)
    tensors = {}
    for part, found in (("params", model.params), ("buffers", model.buffers)):
        for key, a in found.items():
            layer, kind = key.rsplit(".", 1)
            tensors[f"{layer}.{CNN_NAMES[part][kind]}"] = np.ascontiguousarray(
                a.T if a.ndim == 2 else a, np.float32)
            if kind == "mean":
                tensors[f"{layer}.num_batches_tracked"] = np.array(steps, np.int64)
    info = {"format": "pt", "nnlab_kind": "cnn", "nnlab_version": __version__,
            "nnlab_arch": json.dumps(meta["arch"]), "mean": repr(mean), "std": repr(std),
            "classes": json.dumps(meta.get("classes") or [])}
    return tensors, info
