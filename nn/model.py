"""A sequential network: layers applied in order, with one dict each for the
parameters, their gradients and the untrained buffers."""

import numpy as np

from .arrays import load_arrays
from .fused import fuse


class Sequential:
    """Chains layers. ``params``, ``grads`` and ``buffers`` map "<layer>.<name>"
    to arrays; ``rng`` is the generator dropout draws from (the trainer sets it).

    in_shape is one example's shape, (C, H, W) for images; shapes are worked
    out layer by layer when the network is built, so a bad architecture fails
    here and not halfway through the first batch.
    """

    def __init__(self, layers, in_shape, dtype=np.float32):
        self.layers = list(layers)
        self.in_shape = tuple(in_shape)
        self.dtype = np.dtype(dtype)
        self.params, self.buffers = {}, {}
        self.rng = None
        shape = self.in_shape
        for layer in self.layers:
            for key, pshape in layer.param_shapes(shape).items():
                self.params[key] = np.zeros(pshape, self.dtype)
            for key, bshape in layer.buffer_shapes(shape).items():
                self.buffers[key] = np.zeros(bshape, self.dtype)
            shape = layer.out_shape(shape)
            if min(shape) < 1:
                raise ValueError(
                    f"input of shape {self.in_shape} is too small: layer {layer.name} gives {shape}")
        self.out_shape = shape
        # What forward and backward run: the layers, with conv + ReLU (+ pool) fused.
        self.units = fuse(self.layers)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def init(self, rng):
        for layer in self.layers:
            layer.init(self, rng)
        return self

    def num_params(self):
        return sum(int(p.size) for p in self.params.values())

    def forward(self, x, train=False):
        for unit in self.units:
            x = unit.forward(self, x, train)
        return x

    def backward(self, dout):
        """Fills ``grads`` from the gradient of the loss with respect to the output."""
        for i in range(len(self.units) - 1, -1, -1):
            # The input image needs no gradient, which saves the first layer's dx.
            dout = self.units[i].backward(self, dout, need_dx=i > 0)
        return dout

    def load(self, params, buffers):
        """Copies arrays into ``params`` and ``buffers``; raises ValueError
        naming the first array that does not fit (see load_arrays)."""
        load_arrays(self.params, params, "parameter")
        load_arrays(self.buffers, buffers, "buffer")
