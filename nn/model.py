"""A sequential container: layers applied in order, parameters in one dict."""

import numpy as np


class Sequential:
    """Chains layers. ``params`` and ``grads`` map "<layer>.<param>" to arrays.

    in_shape is one example's shape, (C, H, W) for images; shapes are worked
    out layer by layer when the model is built, so a bad architecture fails
    here and not halfway through the first batch.
    """

    def __init__(self, layers, in_shape, dtype=np.float32):
        self.layers = list(layers)
        self.in_shape = tuple(in_shape)
        self.dtype = np.dtype(dtype)
        self.params = {}
        shape = self.in_shape
        for layer in self.layers:
            for key, pshape in layer.param_shapes(shape).items():
                self.params[key] = np.zeros(pshape, self.dtype)
            shape = layer.out_shape(shape)
            if min(shape) < 1:
                raise ValueError(
                    f"input of shape {self.in_shape} is too small: layer {layer.name} gives {shape}")
        self.out_shape = shape
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def init(self, rng):
        for layer in self.layers:
            layer.init(self.params, rng)
        return self

    def num_params(self):
        return sum(int(p.size) for p in self.params.values())

    def forward(self, x, train=False):
        for layer in self.layers:
            x = layer.forward(self.params, x, train)
        return x

    def backward(self, dout):
        """Fills ``grads`` from the gradient of the loss with respect to the output."""
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            # The input image needs no gradient, which saves the first layer's dx.
            dout = self.layers[i].backward(self.params, self.grads, dout, need_dx=i > 0)
        return dout

    def load_params(self, arrays):
        """Copies arrays into ``params``; raises ValueError naming a missing or misshapen key."""
        for key, p in self.params.items():
            if key not in arrays:
                raise ValueError(f"parameter {key} is missing")
            a = arrays[key]
            if a.shape != p.shape:
                raise ValueError(f"parameter {key} has shape {a.shape}, expected {p.shape}")
            p[...] = a
        extra = sorted(set(arrays) - set(self.params))
        if extra:
            raise ValueError(f"unexpected parameter {extra[0]}")
