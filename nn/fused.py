"""Units that run several layers as one kernel: Sequential (model.py) and
ResidualBlock (blocks.py) build them from their layers with ``fuse``. Each
keeps its parameters under its first layer's keys, so checkpoints, exports
and the layers themselves do not change; only what runs does.
"""

from nnlab import kernels as K

from .layers import BatchNorm, Conv2d, Layer, MaxPool2d, ReLU


class ConvReLUPool(Layer):
    """A Conv2d with bias, the ReLU after it and, if given, the MaxPool2d
    after that (non-overlapping windows), run as one kernel. Sequential
    builds these from its layers (see ``fuse``); the parameters stay under
    the convolution's own keys, so checkpoints do not change."""

    def __init__(self, conv, pool=None):
        super().__init__(conv.name)
        self.conv, self.pool = conv, (pool.size if pool is not None else 0)

    def forward(self, net, x, train):
        c = self.conv
        out, self.cache = K.conv2d_relu_pool_forward(
            x, net.params[c.key("w")], net.params[c.key("b")], c.stride, c.pad, self.pool,
            keep=train)
        return out

    def backward(self, net, dout, need_dx=True):
        dx, dw, db = K.conv2d_relu_pool_backward(dout, self.cache, need_dx=need_dx)
        net.grads[self.conv.key("w")][...] = dw
        net.grads[self.conv.key("b")][...] = db
        return dx


def fuse(layers):
    """The layers to run: each Conv2d with bias followed by a ReLU (and a
    MaxPool2d whose stride is its size) becomes one ConvReLUPool, and each
    BatchNorm followed by a ReLU one BatchNormReLU."""
    units, i = [], 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if isinstance(layer, Conv2d) and layer.bias and type(nxt) is ReLU:
            after = layers[i + 2] if i + 2 < len(layers) else None
            pool = after if isinstance(after, MaxPool2d) and after.size == after.stride else None
            units.append(ConvReLUPool(layer, pool))
            i += 3 if pool is not None else 2
        elif type(layer) is BatchNorm and type(nxt) is ReLU:
            units.append(BatchNormReLU(layer))
            i += 2
        else:
            units.append(layer)
            i += 1
    return units


class BatchNormReLU(Layer):
    """A BatchNorm and the ReLU after it, as one kernel
    (kernels/batchnorm_relu.py); in a residual block also the skip
    connection's sum between them (``skip``, and ``backward_sum`` for its
    gradient)."""

    def __init__(self, bn):
        super().__init__(bn.name)
        self.bn = bn

    def forward(self, net, x, train, skip=None):
        bn, P, B = self.bn, net.params, net.buffers
        out, self.cache = K.batchnorm_relu_forward(
            x, P[bn.key("gamma")], P[bn.key("beta")], B[bn.key("mean")], B[bn.key("var")],
            skip=skip, train=train, momentum=bn.momentum, eps=bn.eps)
        return out

    def backward_sum(self, net, dout):
        """(dx, the gradient that reaches the skip connection)."""
        dx, dgamma, dbeta, dskip = K.batchnorm_relu_backward(dout, self.cache)
        net.grads[self.bn.key("gamma")][...] = dgamma
        net.grads[self.bn.key("beta")][...] = dbeta
        return dx, dskip

    def backward(self, net, dout, need_dx=True):
        return self.backward_sum(net, dout)[0]
