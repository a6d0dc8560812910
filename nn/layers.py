"""Layers: thin objects over the kernels' forward/backward pairs.

A layer owns no arrays. Its parameters live in the model's ``params`` dict
under ``"<layer name>.<param>"`` and their gradients in ``grads`` under the
same keys; the layer keeps only the cache of its last forward pass.
"""

import math

import numpy as np

from nnlab import kernels as K


class Layer:
    """Base class: a layer without parameters that passes gradients through."""

    def __init__(self, name):
        self.name = name
        self.cache = None

    def param_shapes(self, in_shape):
        """{param name: shape} for an input of shape (C, H, W) or (D,)."""
        return {}

    def out_shape(self, in_shape):
        return in_shape

    def init(self, params, rng):
        """Fills this layer's entries of ``params`` with initial values."""

    def key(self, param):
        return f"{self.name}.{param}"

    def forward(self, params, x, train):
        raise NotImplementedError

    def backward(self, params, grads, dout, need_dx=True):
        raise NotImplementedError


def _he_normal(shape, fan_in, rng, dtype):
    # He et al. (2015): keeps activations' variance steady through ReLUs.
    return (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(dtype)


class Conv2d(Layer):
    def __init__(self, name, in_channels, out_channels, kernel, stride=1, pad=0):
        super().__init__(name)
        self.c_in, self.c_out = in_channels, out_channels
        self.kernel, self.stride, self.pad = kernel, stride, pad

    def param_shapes(self, in_shape):
        return {self.key("w"): (self.c_out, self.c_in, self.kernel, self.kernel),
                self.key("b"): (self.c_out,)}

    def out_shape(self, in_shape):
        _, h, w = in_shape
        size = lambda n: (n + 2 * self.pad - self.kernel) // self.stride + 1  # noqa: E731
        return (self.c_out, size(h), size(w))

    def init(self, params, rng):
        w = params[self.key("w")]
        w[...] = _he_normal(w.shape, self.c_in * self.kernel * self.kernel, rng, w.dtype)
        params[self.key("b")][...] = 0

    def forward(self, params, x, train):
        out, self.cache = K.conv2d_forward(x, params[self.key("w")], params[self.key("b")],
                                           self.stride, self.pad)
        return out

    def backward(self, params, grads, dout, need_dx=True):
        dx, dw, db = K.conv2d_backward(dout, self.cache, need_dx=need_dx)
        grads[self.key("w")][...] = dw
        grads[self.key("b")][...] = db
        return dx


class Linear(Layer):
    def __init__(self, name, in_features, out_features):
        super().__init__(name)
        self.d_in, self.d_out = in_features, out_features

    def param_shapes(self, in_shape):
        return {self.key("w"): (self.d_in, self.d_out), self.key("b"): (self.d_out,)}

    def out_shape(self, in_shape):
        return (self.d_out,)

    def init(self, params, rng):
        w = params[self.key("w")]
        w[...] = _he_normal(w.shape, self.d_in, rng, w.dtype)
        params[self.key("b")][...] = 0

    def forward(self, params, x, train):
        out, self.cache = K.linear_forward(x, params[self.key("w")], params[self.key("b")])
        return out

    def backward(self, params, grads, dout, need_dx=True):
        dx, dw, db = K.linear_backward(dout, self.cache, need_dx=need_dx)
        grads[self.key("w")][...] = dw
        grads[self.key("b")][...] = db
        return dx


class ReLU(Layer):
    def forward(self, params, x, train):
        out, self.cache = K.relu_forward(x)
        return out

    def backward(self, params, grads, dout, need_dx=True):
        return K.relu_backward(dout, self.cache)


class MaxPool2d(Layer):
    def __init__(self, name, size, stride=None):
        super().__init__(name)
        self.size, self.stride = size, (size if stride is None else stride)

    def out_shape(self, in_shape):
        c, h, w = in_shape
        return (c, (h - self.size) // self.stride + 1, (w - self.size) // self.stride + 1)

    def forward(self, params, x, train):
        out, self.cache = K.maxpool2d_forward(x, self.size, self.stride)
        return out

    def backward(self, params, grads, dout, need_dx=True):
        return K.maxpool2d_backward(dout, self.cache)


class Flatten(Layer):
    def out_shape(self, in_shape):
        return (int(np.prod(in_shape)),)

    def forward(self, params, x, train):
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, params, grads, dout, need_dx=True):
        return dout.reshape(self.cache)
