"""A checkpoint as an ONNX model, for ``nnlab export CKPT OUT.onnx``: the
graph built node by node with the ``onnx`` package's helpers (no tracing,
no PyTorch), opset 17, so that ONNX Runtime and the tools around it run the
network without nnlab.

A CNN takes ``images``, uint8 (N, C, H, W) as nnlab reads them, and gives
``logits`` (N, classes): the input scaling (x / 255, then (x - mean) / std)
is the graph's first two nodes, so no caller can forget it. Conv, Relu,
MaxPool, BatchNormalization (the running statistics), Add,
GlobalAveragePool, Flatten and Gemm, one node per nnlab layer; dropout is
the identity, as in evaluation.

A character model takes ``ids``, int64 (T, N), and ``h0`` (and ``c0`` for
an LSTM), float32 (layers, N, H), and gives ``logits`` (T, N, V), ``hn``
(and ``cn``): feed hn and cn back to go on from where a call stopped, as
nnlab's sampler does. An embedding is a Gather; one-hot input a OneHot
node. Each layer is one ONNX LSTM (or RNN, tanh) node. ONNX orders an
LSTM's gates input, output, forget, cell; nnlab (and PyTorch) input,
forget, cell, output, so the weights' blocks are reordered here.
"""

import json

import numpy as np

from nnlab import __version__

from .meta import Meta
from .restore import cnn_model, cnn_normalization, lm_model

OPSET = 17  # ONNX Runtime 1.10 and later run it
IR_VERSION = 8  # the IR of opset 17 (onnx's own latest may be newer than a runtime reads)
ONNX_GATES = [0, 3, 1, 2]  # ONNX's i, o, f, c as blocks of nnlab's i, f, g, o


class Graph:
    """Nodes and initializers under names made unique by a counter."""

    def __init__(self, onnx):
        self.onnx, self.h = onnx, onnx.helper
        self.nodes, self.weights, self.count = [], [], 0

    def const(self, name, array):
        self.weights.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op, inputs, outputs=1, **attrs):
        """Appends one node; returns its output name (or names, if several)."""
        self.count += 1
        names = [f"{op.lower()}_{self.count}_{i}" for i in range(outputs)]
        self.nodes.append(self.h.make_node(op, inputs, names, **attrs))
        return names[0] if outputs == 1 else names

    def model(self, inputs, outputs, doc, metadata):
        graph = self.h.make_graph(self.nodes, "nnlab", inputs, outputs, self.weights)
        model = self.h.make_model(graph, opset_imports=[self.h.make_opsetid("", OPSET)],
                                  producer_name="nnlab", producer_version=__version__,
                                  doc_string=doc)
        model.ir_version = IR_VERSION
        self.h.set_model_props(model, metadata)
        self.onnx.checker.check_model(model)
        return model


def _onnx_gates(a, H):
    """An LSTM's rows, in blocks of H, from nnlab's gate order to ONNX's."""
    return a.reshape(4, H, *a.shape[1:])[ONNX_GATES].reshape(a.shape)


def _layers(g, net, layers, x):
    """The nodes of nnlab layers (nn/layers.py, nn/blocks.py) applied to ``x``."""
    P, B = net.params, net.buffers
    for layer in layers:
        kind = type(layer).__name__
        if kind == "Conv2d":
            inputs = [x, g.const(layer.key("w"), P[layer.key("w")])]
            if layer.bias:
                inputs.append(g.const(layer.key("b"), P[layer.key("b")]))
            p, k = layer.pad, layer.kernel
            x = g.op("Conv", inputs, kernel_shape=[k, k], strides=[layer.stride] * 2,
                     pads=[p] * 4)
        elif kind == "BatchNorm":
            x = g.op("BatchNormalization",
                     [x] + [g.const(layer.key(n), d[layer.key(n)])
                            for n, d in (("gamma", P), ("beta", P), ("mean", B), ("var", B))],
                     epsilon=layer.eps)
        elif kind == "ReLU":
            x = g.op("Relu", [x])
        elif kind == "MaxPool2d":
            x = g.op("MaxPool", [x], kernel_shape=[layer.size] * 2, strides=[layer.stride] * 2)
        elif kind == "GlobalAvgPool":
            x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
        elif kind == "Flatten":
            x = g.op("Flatten", [x], axis=1)
        elif kind == "Linear":
            x = g.op("Gemm", [x, g.const(layer.key("w"), P[layer.key("w")]),
                              g.const(layer.key("b"), P[layer.key("b")])])
        elif kind == "Dropout":
            continue  # the identity in evaluation
        elif kind == "ResidualBlock":
            main = _layers(g, net, layer.main, x)
            skip = _layers(g, net, layer.skip, x)
            x = g.op("Relu", [g.op("Add", [main, skip])])
        else:
            raise ValueError(f"no ONNX form for nnlab's {kind} layer")
    return x


def cnn_onnx(onnx, meta, arrays, path="checkpoint"):
    """The ONNX model of a CNN checkpoint."""
    model = cnn_model(meta, arrays, path)
    mean, std = cnn_normalization(meta, path)
    g, h, T = Graph(onnx), onnx.helper, onnx.TensorProto
    x = g.op("Cast", ["images"], to=T.FLOAT)
    # The order nn/evaluate.py:normalize_images computes it in: x * (1 / (255 std)) - mean / std.
    x = g.op("Mul", [x, g.const("scale", np.array(1.0 / (255.0 * std), np.float32))])
    x = g.op("Sub", [x, g.const("shift", np.array(mean / std, np.float32))])
    _layers(g, model, model.layers, x)
    g.nodes[-1].output[0] = "logits"  # the last node's output is the graph's
    c, side = model.in_shape[0], model.in_shape[1]
    inputs = [h.make_tensor_value_info("images", T.UINT8, ["N", c, side, model.in_shape[2]])]
    outputs = [h.make_tensor_value_info("logits", T.FLOAT, ["N", model.out_shape[0]])]
    info = {"nnlab_kind": "cnn", "nnlab_arch": json.dumps(meta["arch"]),
            "classes": json.dumps(Meta(meta, path).get("classes", "list", [])),
            "mean": repr(mean), "std": repr(std)}
    doc = (f"nnlab {meta['arch']['name']}: images uint8 (N, {c}, {side}, {model.in_shape[2]})"
           " -> logits (N, classes); the input scaling is inside the graph")
    return g.model(inputs, outputs, doc, info)


def charlm_onnx(onnx, meta, arrays, path="checkpoint"):
    """The ONNX model of a character-model checkpoint."""
    model, vocab = lm_model(meta, arrays, path)
    p, H, V, L, lstm = model.params, model.H, model.V, model.L, model.cell == "lstm"
    g, h, T = Graph(onnx), onnx.helper, onnx.TensorProto
    if "emb" in p:
        x = g.op("Gather", [g.const("embed", p["emb"]), "ids"], axis=0)
    else:
        x = g.op("OneHot", ["ids", g.const("depth", np.array(V, np.int64)),
                            g.const("off_on", np.array([0, 1], np.float32))], axis=-1)
    finals = {"h": [], "c": []}
    for k in range(L):
        W, R, b = p[f"l{k}.Wx"].T, p[f"l{k}.Wh"].T, p[f"l{k}.b"]
        if lstm:
            W, R, b = (_onnx_gates(a, H) for a in (W, R, b))
        which = g.const(f"layer{k}", np.array([k], np.int64))
        inputs = [x, g.const(f"l{k}.W", W[None]), g.const(f"l{k}.R", R[None]),
                  g.const(f"l{k}.B", np.concatenate([b, np.zeros_like(b)])[None]), "",
                  g.op("Gather", ["h0", which], axis=0)]
        if lstm:
            inputs.append(g.op("Gather", ["c0", which], axis=0))
        outs = g.op("LSTM" if lstm else "RNN", inputs, outputs=3 if lstm else 2,
                    hidden_size=H)
        finals["h"].append(outs[1])
        if lstm:
            finals["c"].append(outs[2])
        x = g.op("Squeeze", [outs[0], g.const(f"axis{k}", np.array([1], np.int64))])
    x = g.op("MatMul", [x, g.const("out.w", p["out.w"])])
    g.op("Add", [x, g.const("out.b", p["out.b"])])
    g.nodes[-1].output[0] = "logits"
    states = ["h"] + (["c"] if lstm else [])
    for s in states:
        g.nodes.append(h.make_node("Concat", finals[s], [f"{s}n"], axis=0))
    f = T.FLOAT
    inputs = [h.make_tensor_value_info("ids", T.INT64, ["T", "N"])]
    inputs += [h.make_tensor_value_info(f"{s}0", f, [L, "N", H]) for s in states]
    outputs = [h.make_tensor_value_info("logits", f, ["T", "N", V])]
    outputs += [h.make_tensor_value_info(f"{s}n", f, [L, "N", H]) for s in states]
    info = {"nnlab_kind": "charlm", "nnlab_arch": json.dumps(meta["arch"]["args"]),
            "vocab": json.dumps(vocab)}
    doc = (f"nnlab character model ({L} x {H} {model.cell}): ids int64 (T, N), "
           f"{' and '.join(s + '0' for s in states)} float32 ({L}, N, {H}) -> logits (T, N, {V})"
           f", {' and '.join(s + 'n' for s in states)}")
    return g.model(inputs, outputs, doc, info)
