"""The residual block of ResNet (He et al., 2016).

    out = relu(bn2(conv2(relu(bn1(conv1(x))))) + skip(x))

skip is x itself, or a 1x1 convolution with batch norm where the block
changes the number of channels or the resolution. The block learns a
correction f(x) to the identity, and f(x) = 0 is easy to learn (all
weights of the last batch norm at 0), which is what lets depth help instead
of hurt. The last batch norm's scale starts at 0 (Goyal et al., 2017), so
each block starts as the identity.

What runs is fused (nn/fused.py): bn1 with relu1, and bn2 with the sum and
relu2, each one kernel (kernels/batchnorm_relu.py). main, skip and relu
stay the block's layers as written above, which exports read.
"""

from .fused import BatchNormReLU, fuse
from .layers import BatchNorm, Conv2d, Layer, ReLU


class ResidualBlock(Layer):
    def __init__(self, name, c_in, c_out, stride=1):
        super().__init__(name)
        self.main = [Conv2d(f"{name}.conv1", c_in, c_out, 3, stride, 1, bias=False),
                     BatchNorm(f"{name}.bn1", c_out), ReLU(f"{name}.relu1"),
                     Conv2d(f"{name}.conv2", c_out, c_out, 3, 1, 1, bias=False),
                     BatchNorm(f"{name}.bn2", c_out)]
        self.skip = []
        if stride != 1 or c_in != c_out:
            self.skip = [Conv2d(f"{name}.proj", c_in, c_out, 1, stride, 0, bias=False),
                         BatchNorm(f"{name}.proj_bn", c_out)]
        self.relu = ReLU(f"{name}.relu2")
        self.units = fuse(self.main[:-1])
        self.end = BatchNormReLU(self.main[-1])

    def _walk(self, in_shape, what):
        found = {}
        for path in (self.main, self.skip):
            shape = in_shape
            for layer in path:
                found.update(getattr(layer, what)(shape))
                shape = layer.out_shape(shape)
        return found

    def param_shapes(self, in_shape):
        return self._walk(in_shape, "param_shapes")

    def buffer_shapes(self, in_shape):
        return self._walk(in_shape, "buffer_shapes")

    def out_shape(self, in_shape):
        for layer in self.main:
            in_shape = layer.out_shape(in_shape)
        return in_shape

    def init(self, net, rng):
        for layer in self.main + self.skip:
            layer.init(net, rng)
        net.params[self.main[-1].key("gamma")][...] = 0

    def forward(self, net, x, train):
        m = x
        for unit in self.units:
            m = unit.forward(net, m, train)
        s = x
        for layer in self.skip:
            s = layer.forward(net, s, train)
        return self.end.forward(net, m, train, skip=s)

    def backward(self, net, dout, need_dx=True):
        dm, ds = self.end.backward_sum(net, dout)
        for unit in reversed(self.units):
            dm = unit.backward(net, dm)
        for layer in reversed(self.skip):
            ds = layer.backward(net, ds)
        return dm + ds
