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
"""

import json

import numpy as np

from nnlab import __version__

from .restore import lm_model


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
