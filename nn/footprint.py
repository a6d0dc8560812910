"""How much memory training a model takes, worked out from its sizes alone,
before anything is built or allocated.

``train-cnn --arch resnet --depth 100000`` built for a minute and reached
16 GB before failing, so the commands compare this estimate with the memory
available first (cli/fits.py). It counts what a training step keeps:

- the weights, their gradients and the optimizer's state: 4 float32
  copies for Adam (moments m and v), 3 for SGD (its momentum buffer);
- the activations of a batch: every layer's cache holds its input or
  output until backward has used it, and backward holds gradients of
  the same size while it goes. For a CNN, the feature maps of every layer
  for the batch (and for the evaluation batch of nn/evaluate.py, a
  forward pass that keeps the same caches); for a language model, per layer
  the gate inputs and activations (T x N x gates) and the hidden and cell
  states (T x N x H), and the logits and their gradient (T x N x vocab);
- for the convolutions on the Winograd path, their transformed kernels and
  working buffers, which do not grow with the batch
  (kernels/winograd_plan.winograd_floats); for those on the lanes path,
  the largest backward pass's buffers.

The factors were measured with tracemalloc against real steps;
tests/test_model_fits.py holds the estimate between 1x and 2.5x of them.
"""

from dataclasses import dataclass
from math import prod

from .blocks import ResidualBlock
from .charlm import CharLM
from .cnn_models import cnn_units
from .layers import Conv2d, MaxPool2d, ReLU

F32 = 4
COPIES = {"adam": 4, "sgd": 3}   # weights, gradients, then the optimizer's buffers
# Bytes of memory per float of the layers' outputs (caches, batch norm's
# normalised copy, backward's gradients in flight), as measured in a
# training step: 2.6-4.3 over LeNet-5, AlexNet and ResNets of depth 1-4
# (the fused convolutions keep less than one float per output); in a
# forward pass alone, 0.4-1.3.
CNN_TRAIN_BYTES = 5
CNN_EVAL_BYTES = 1.5
EVAL_BATCH = 1000                # nn/evaluate.py's batch


@dataclass
class Footprint:
    params: int         # number of parameters
    weights: int        # bytes: weights, gradients and optimizer state
    activations: int    # bytes: what a batch keeps through forward and backward

    @property
    def total(self):
        return self.weights + self.activations


def _sizes(layer, shape):
    """(parameters, floats of activations per example, output shape) of one layer."""
    params = sum(prod(s) for s in layer.param_shapes(shape).values())
    if isinstance(layer, ResidualBlock):
        kept = 0
        for path in (layer.main, layer.skip):
            inner = shape
            for sub in path:
                inner = sub.out_shape(inner)
                kept += prod(inner)
        out = layer.out_shape(shape)
        return params, kept + prod(out), out
    out = layer.out_shape(shape)
    if min(out) < 1:
        raise ValueError(f"input of shape {shape} is too small for layer {layer.name}")
    return params, prod(out), out


def _winograd_floats(layer, shape, rows):
    """(floats kept from forward to backward, floats in flight during the
    call) of a Conv2d that takes kernels/conv_winograd.py, else (0, 0).
    AlexNet-style's at batch 16 came to 10.7 MB of a step's peak against
    9.2 MB estimated without them."""
    from nnlab.kernels.winograd_plan import takes_winograd, winograd_floats  # lazily

    if not isinstance(layer, Conv2d) or not takes_winograd(
            layer.c_in, layer.c_out, layer.kernel, layer.kernel, (layer.stride,) * 2,
            (layer.pad,) * 2):
        return 0, 0
    return winograd_floats(layer.c_in, layer.c_out, shape[1], shape[2], rows)


def _pool_after(units, i):
    """The size of the max pooling that nn/fused.py runs with the Conv2d
    units[i][0] (a ReLU, then non-overlapping windows), else 0."""
    after = [u[0] for u in units[i + 1:i + 3]]
    if len(after) < 2 or type(after[0]) is not ReLU or not isinstance(after[1], MaxPool2d) \
            or not units[i][0].bias:
        return 0
    pool = units[i + 2][0]
    return pool.size if pool.size == pool.stride else 0


def _lanes_floats(layer, shape, batch, pool=0):
    """Floats in flight during the lanes backward pass of a Conv2d that
    takes it (kernels/conv_lanes_backward.py), else 0: the gradient of its
    sums, the lanes layout of that gradient and of the padded input.
    LeNet-5's conv1 at batch 16 took 334 kB more at the step's peak on this
    path than on im2col + GEMM's; this counts 668 kB. Followed by ReLU and
    pooling (``pool``), the layer keeps its windows' maxima instead and
    writes none of these for the batch (kernels/_lanes_pool.py): 0."""
    from nnlab.kernels.conv_lanes import arg_suits, lanes_suit_backward  # Numba: lazily
    from nnlab.kernels.winograd_plan import takes_winograd

    if not isinstance(layer, Conv2d):
        return 0
    geometry = (layer.c_in, layer.c_out, layer.kernel, layer.kernel, (layer.stride,) * 2,
                (layer.pad,) * 2)
    if not lanes_suit_backward(*geometry) or takes_winograd(*geometry) or arg_suits(pool):
        return 0
    C, H, W = shape
    _, OH, OW = layer.out_shape(shape)
    return batch * (2 * layer.c_out * OH * OW + C * (H + 2 * layer.pad) * (W + 2 * layer.pad))


def cnn_footprint(arch, batch, optimizer="adam", eval_batch=EVAL_BATCH, **args):
    """The Footprint of training CNN ``arch`` with ``args`` (its architecture's
    arguments) in batches of ``batch``, evaluating in batches of ``eval_batch``."""
    side = args.get("image_size", 28)
    shape = (args.get("in_channels", 1), side, side)
    params = kept = fixed = in_flight = 0
    units = list(cnn_units(arch, args))
    for i, (layer, count) in enumerate(units):
        paths = [layer.main, layer.skip] if isinstance(layer, ResidualBlock) else [[layer]]
        pool = _pool_after(units, i) if isinstance(layer, Conv2d) else 0
        for path in paths:
            inner = shape
            for sub in path:
                k, f = _winograd_floats(sub, inner, max(batch, eval_batch))
                fixed, in_flight = fixed + count * k, max(in_flight, f)
                in_flight = max(in_flight, _lanes_floats(sub, inner, batch, pool))
                inner = sub.out_shape(inner)
        p, k, shape = _sizes(layer, shape)
        params += count * p
        kept += count * k
    kept += prod((args.get("in_channels", 1), side, side))  # the normalised input batch
    activations = int(kept * max(CNN_TRAIN_BYTES * batch, CNN_EVAL_BYTES * eval_batch))
    activations += F32 * (fixed + in_flight)
    return Footprint(params, F32 * COPIES[optimizer] * params, activations)


def lm_footprint(vocab_size, cell="lstm", hidden=256, layers=2, embed=0, batch=32,
                 seq_len=64, **_):
    """The Footprint of training a CharLM of these sizes on batches of
    ``batch`` streams of ``seq_len`` characters (Adam)."""
    params = CharLM.count_params(vocab_size, cell, hidden, layers, embed)
    gates = 4 * hidden if cell == "lstm" else hidden
    steps = batch * seq_len
    # Per layer: input projections, gate activations and their gradient (3
    # x gates); h, c, the dropout mask and dh (4 x H). Then the logits,
    # softmax's gradient and a temporary of their size, and the gradient of
    # the top layer's output.
    per_layer = steps * (3 * gates + 4 * hidden)
    logits = steps * (3 * vocab_size + hidden)
    first = steps * embed
    return Footprint(params, F32 * COPIES["adam"] * params,
                     F32 * (layers * per_layer + logits + first))
