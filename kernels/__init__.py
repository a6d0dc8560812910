"""Numba kernels: each op is a forward/backward pair, arrays in, arrays out.

``*_forward`` returns ``(out, cache)`` and ``*_backward`` takes the upstream
gradient and that cache. Shapes are in each function's docstring. float32 is
the training type; float64 works everywhere, for gradient checks.
"""

from .activation import relu_backward, relu_forward
from .batchnorm import batchnorm_backward, batchnorm_forward
from .conv import conv2d_backward, conv2d_forward
from .dropout import dropout_backward, dropout_forward
from .embedding import embedding_backward, embedding_forward
from .linear import linear_backward, linear_forward
from .loss import softmax_cross_entropy
from .lstm import (lstm_backward, lstm_forward, lstm_recurrence_backward,
                   lstm_recurrence_forward)
from .pool import (avgpool2d_backward, avgpool2d_forward, global_avgpool_backward,
                   global_avgpool_forward, maxpool2d_backward, maxpool2d_forward)
from .rnn import rnn_backward, rnn_forward, rnn_recurrence_backward, rnn_recurrence_forward

__all__ = [
    "conv2d_forward", "conv2d_backward",
    "maxpool2d_forward", "maxpool2d_backward",
    "avgpool2d_forward", "avgpool2d_backward",
    "global_avgpool_forward", "global_avgpool_backward",
    "batchnorm_forward", "batchnorm_backward",
    "relu_forward", "relu_backward",
    "linear_forward", "linear_backward",
    "softmax_cross_entropy",
    "embedding_forward", "embedding_backward",
    "dropout_forward", "dropout_backward",
    "rnn_forward", "rnn_backward", "rnn_recurrence_forward", "rnn_recurrence_backward",
    "lstm_forward", "lstm_backward", "lstm_recurrence_forward", "lstm_recurrence_backward",
]
