"""One ResNet training step (batch 64, 28x28, Adam), against PyTorch.

    python bench/resnet.py [--depth 2] [--width 16] [--steps 20] [--repeats 3] [--json]

The network is nnlab's ``resnet`` (a 3x3 stem with batch norm, three stages
of residual blocks, global average pooling, a linear classifier); PyTorch
runs the same layers with the same number of threads, each side in a
process of its own (PyTorch's with its default environment; common.py).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only: it sets nothing)

BATCH = 64


def batch(seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return (rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32),
            rng.integers(0, 10, BATCH))


def nnlab_steps(depth, width, steps, threads):
    common.nnlab_side(threads)
    import numpy as np

    from nnlab.kernels import softmax_cross_entropy
    from nnlab.nn.cnn_models import build_cnn
    from nnlab.nn.optim import Adam

    model = build_cnn("resnet", {"depth": depth, "width": width}).init(np.random.default_rng(0))
    opt = Adam(model.params)
    x, y = batch()

    def step():
        logits = model.forward(x, train=True)
        _, dlogits = softmax_cross_entropy(logits, y)
        model.backward(dlogits)
        opt.step(model.params, model.grads, 1e-3)

    step()  # compile or load every kernel before timing
    seconds, _ = common.timed(lambda: [step() for _ in range(steps)])
    return [BATCH * steps / seconds]


def torch_resnet(torch, depth, width):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.c1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(c_out)
            self.c2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(c_out)
            self.skip = nn.Sequential()
            if stride != 1 or c_in != c_out:
                self.skip = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                          nn.BatchNorm2d(c_out))

        def forward(self, x):
            h = torch.relu(self.b1(self.c1(x)))
            return torch.relu(self.b2(self.c2(h)) + self.skip(x))

    layers = [nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    c = width
    for channels, stride in ((width, 1), (2 * width, 2), (4 * width, 2)):
        for b in range(depth):
            layers.append(Block(c, channels, stride if b == 0 else 1))
            c = channels
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10)]
    return nn.Sequential(*layers)


def torch_steps(depth, width, steps, threads):
    torch = common.torch_side(threads)
    torch.manual_seed(0)
    model = torch_resnet(torch, depth, width)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = (torch.from_numpy(a) for a in batch())

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    step()
    seconds, _ = common.timed(lambda: [step() for _ in range(steps)])
    return [BATCH * steps / seconds]


def train_flops(model):
    """Floating-point operations of one training image: 3 times the forward
    pass's multiply-adds (forward, dx, dw), times 2."""
    macs, shape = 0, model.in_shape
    for layer in model.layers:
        macs += layer_macs(layer, shape)
        shape = layer.out_shape(shape)
    return 6 * macs


def layer_macs(layer, shape):
    """Multiply-adds of the convolutions and linear layers in ``layer``."""
    if hasattr(layer, "main"):
        total, s = 0, shape
        for sub in layer.main:
            total += layer_macs(sub, s)
            s = sub.out_shape(s)
        s = shape
        for sub in layer.skip:
            total += layer_macs(sub, s)
            s = sub.out_shape(s)
        return total
    if hasattr(layer, "kernel"):
        c, h, w = layer.out_shape(shape)
        return c * h * w * layer.c_in * layer.kernel ** 2
    if hasattr(layer, "d_in"):
        return layer.d_in * layer.d_out
    return 0


def measure(depth=2, width=16, steps=20, repeats=3, use_torch=True, threads=common.THREADS):
    args = ("--depth", depth, "--width", width, "--steps", steps)

    def run(side):
        return lambda r: common.run_worker("resnet.py", side, threads, *args)

    a, b = common.interleaved(repeats, run("nnlab"), run("torch") if use_torch else None)
    # Counting the work needs the model's shapes only, no kernel.
    from nnlab.nn.cnn_models import build_cnn

    model = build_cnn("resnet", {"depth": depth, "width": width})
    name = (f"ResNet depth {depth} width {width} ({model.num_params():,} parameters) "
            "training, batch 64, Adam")
    return [common.Row(name, a[0], b[0], "img/s", train_flops(model), threads)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true")
    common.worker_args(ap)
    args = ap.parse_args()
    if args.worker == "nnlab":
        return common.emit(nnlab_steps(args.depth, args.width, args.steps, args.threads))
    if args.worker == "torch":
        return common.emit(torch_steps(args.depth, args.width, args.steps, args.threads))
    version = None if args.no_torch else common.torch_available()
    rows = measure(args.depth, args.width, args.steps, args.repeats, version is not None,
                   args.threads)
    common.report(rows, version, args)


if __name__ == "__main__":
    main()
