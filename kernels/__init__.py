"""Numba kernels: each op is a forward/backward pair, arrays in, arrays out.

``*_forward`` returns ``(out, cache)`` and ``*_backward`` takes the upstream
gradient and that cache. Shapes are in each function's docstring. float32 is
the training type; float64 works everywhere, for gradient checks.

Submodules load on first use (PEP 562), so that code which only builds a
model or reads a checkpoint, such as ``nnlab sample`` of a few hundred
characters, never pays for importing Numba.
"""

import importlib

# public name -> submodule that defines it
_WHERE = {
    "conv2d_forward": "conv", "conv2d_backward": "conv",
    "conv2d_relu_pool_forward": "conv_fused", "conv2d_relu_pool_backward": "conv_fused",
    "maxpool2d_forward": "pool", "maxpool2d_backward": "pool",
    "avgpool2d_forward": "pool", "avgpool2d_backward": "pool",
    "global_avgpool_forward": "pool", "global_avgpool_backward": "pool",
    "batchnorm_forward": "batchnorm", "batchnorm_backward": "batchnorm",
    "batchnorm_relu_forward": "batchnorm_relu", "batchnorm_relu_backward": "batchnorm_relu",
    "relu_forward": "activation", "relu_backward": "activation",
    "linear_forward": "linear", "linear_backward": "linear",
    "softmax_cross_entropy": "loss",
    "embedding_forward": "embedding", "embedding_backward": "embedding",
    "embed_project_forward": "embedding", "embed_project_backward": "embedding",
    "dropout_forward": "dropout", "dropout_backward": "dropout",
    "rnn_forward": "rnn", "rnn_backward": "rnn",
    "rnn_recurrence_forward": "rnn", "rnn_recurrence_backward": "rnn",
    "lstm_forward": "lstm", "lstm_backward": "lstm",
    "lstm_recurrence_forward": "lstm", "lstm_recurrence_backward": "lstm",
    "matmul": "_gemm", "matmul_tn": "_gemm",
}

__all__ = [name for name, module in _WHERE.items() if not module.startswith("_")]


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
