"""Layers: thin objects over the kernels' forward/backward pairs.

A layer owns no arrays. Its parameters live in the network's ``params``
dict under ``"<layer name>.<param>"``, their gradients in ``grads`` under the
same keys, and state that is not trained (batch norm's running statistics)
in ``buffers``; the layer keeps only the cache of its last forward pass.
``net`` below is the network (see model.py): it holds those dicts and the
random generator that dropout draws from.
"""

import math

import numpy as np

from nnlab import kernels as K


class Layer:
    """Base class: a layer without parameters."""

    def __init__(self, name):
        self.name = name
        self.cache = None

    def param_shapes(self, in_shape):
        """{key: shape} of the parameters, for an input of shape (C, H, W) or (D,)."""
        return {}

    def buffer_shapes(self, in_shape):
        """{key: shape} of the untrained state (saved in checkpoints too)."""
        return {}

    def out_shape(self, in_shape):
        return in_shape

    def init(self, net, rng):
        """Fills this layer's entries of net.params and net.buffers."""

    def key(self, param):
        return f"{self.name}.{param}"

    def forward(self, net, x, train):
        raise NotImplementedError

    def backward(self, net, dout, need_dx=True):
        raise NotImplementedError


def _he_normal(shape, fan_in, rng, dtype):
    # He et al. (2015): keeps activations' variance steady through ReLUs.
    return (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(dtype)


class Conv2d(Layer):
    def __init__(self, name, in_channels, out_channels, kernel, stride=1, pad=0, bias=True):
        super().__init__(name)
        self.c_in, self.c_out = in_channels, out_channels
        self.kernel, self.stride, self.pad = kernel, stride, pad
        self.bias = bias  # off before batch norm, whose shift does its job

    def param_shapes(self, in_shape):
        shapes = {self.key("w"): (self.c_out, self.c_in, self.kernel, self.kernel)}
        if self.bias:
            shapes[self.key("b")] = (self.c_out,)
        return shapes

    def out_shape(self, in_shape):
        _, h, w = in_shape
        size = lambda n: (n + 2 * self.pad - self.kernel) // self.stride + 1  # noqa: E731
        return (self.c_out, size(h), size(w))

    def init(self, net, rng):
        w = net.params[self.key("w")]
        w[...] = _he_normal(w.shape, self.c_in * self.kernel * self.kernel, rng, w.dtype)
        if self.bias:
            net.params[self.key("b")][...] = 0

    def _b(self, net):
        if self.bias:
            return net.params[self.key("b")]
        return np.zeros(self.c_out, net.dtype)

    def forward(self, net, x, train):
        out, self.cache = K.conv2d_forward(x, net.params[self.key("w")], self._b(net),
                                           self.stride, self.pad)
        return out

    def backward(self, net, dout, need_dx=True):
        dx, dw, db = K.conv2d_backward(dout, self.cache, need_dx=need_dx, need_db=self.bias)
        net.grads[self.key("w")][...] = dw
        if self.bias:
            net.grads[self.key("b")][...] = db
        return dx


class Linear(Layer):
    def __init__(self, name, in_features, out_features):
        super().__init__(name)
        self.d_in, self.d_out = in_features, out_features

    def param_shapes(self, in_shape):
        return {self.key("w"): (self.d_in, self.d_out), self.key("b"): (self.d_out,)}

    def out_shape(self, in_shape):
        return (self.d_out,)

    def init(self, net, rng):
        w = net.params[self.key("w")]
        w[...] = _he_normal(w.shape, self.d_in, rng, w.dtype)
        net.params[self.key("b")][...] = 0

    def forward(self, net, x, train):
        out, self.cache = K.linear_forward(x, net.params[self.key("w")],
                                           net.params[self.key("b")])
        return out

    def backward(self, net, dout, need_dx=True):
        dx, dw, db = K.linear_backward(dout, self.cache, need_dx=need_dx)
        net.grads[self.key("w")][...] = dw
        net.grads[self.key("b")][...] = db
        return dx


class ReLU(Layer):
    def forward(self, net, x, train):
        out, self.cache = K.relu_forward(x)
        return out

    def backward(self, net, dout, need_dx=True):
        return K.relu_backward(dout, self.cache)


class MaxPool2d(Layer):
    def __init__(self, name, size, stride=None):
        super().__init__(name)
        self.size, self.stride = size, (size if stride is None else stride)

    def out_shape(self, in_shape):
        c, h, w = in_shape
        return (c, (h - self.size) // self.stride + 1, (w - self.size) // self.stride + 1)

    def forward(self, net, x, train):
        out, self.cache = K.maxpool2d_forward(x, self.size, self.stride)
        return out

    def backward(self, net, dout, need_dx=True):
        return K.maxpool2d_backward(dout, self.cache)


class GlobalAvgPool(Layer):
    """(N, C, H, W) -> (N, C): each channel's mean."""

    def out_shape(self, in_shape):
        return (in_shape[0],)

    def forward(self, net, x, train):
        out, self.cache = K.global_avgpool_forward(x)
        return out

    def backward(self, net, dout, need_dx=True):
        return K.global_avgpool_backward(dout, self.cache)


class Flatten(Layer):
    def out_shape(self, in_shape):
        return (int(np.prod(in_shape)),)

    def forward(self, net, x, train):
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, net, dout, need_dx=True):
        return dout.reshape(self.cache)


class Dropout(Layer):
    """Inverted dropout while training; the identity in evaluation."""

    def __init__(self, name, p):
        super().__init__(name)
        self.p = p

    def forward(self, net, x, train):
        if not train or self.p == 0:
            self.cache = None
            return x
        u = net.rng.random(x.shape, dtype=np.float32)
        out, self.cache = K.dropout_forward(x, self.p, u)
        return out

    def backward(self, net, dout, need_dx=True):
        return dout if self.cache is None else K.dropout_backward(dout, self.cache)


class BatchNorm(Layer):
    """Batch normalisation over the channels of (N, C, H, W) or the features of (N, D)."""

    def __init__(self, name, channels, momentum=0.1, eps=1e-5):
        super().__init__(name)
        self.c, self.momentum, self.eps = channels, momentum, eps

    def param_shapes(self, in_shape):
        return {self.key("gamma"): (self.c,), self.key("beta"): (self.c,)}

    def buffer_shapes(self, in_shape):
        return {self.key("mean"): (self.c,), self.key("var"): (self.c,)}

    def init(self, net, rng):
        net.params[self.key("gamma")][...] = 1
        net.params[self.key("beta")][...] = 0
        net.buffers[self.key("mean")][...] = 0
        net.buffers[self.key("var")][...] = 1

    def forward(self, net, x, train):
        P, B = net.params, net.buffers
        out, self.cache = K.batchnorm_forward(
            x, P[self.key("gamma")], P[self.key("beta")], B[self.key("mean")],
            B[self.key("var")], train=train, momentum=self.momentum, eps=self.eps)
        return out

    def backward(self, net, dout, need_dx=True):
        dx, dgamma, dbeta = K.batchnorm_backward(dout, self.cache)
        net.grads[self.key("gamma")][...] = dgamma
        net.grads[self.key("beta")][...] = dbeta
        return dx
