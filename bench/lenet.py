"""LeNet-5 on MNIST: training and evaluation images/s, against PyTorch.

    python bench/lenet.py [--data DIR] [--repeats 3]

Trains one epoch (batch 64, Adam) per repeat with nnlab's own trainer, then
the same network with the same batch and optimizer in PyTorch on 2 threads,
in the same process, and prints the medians and their ratio. Evaluation runs
the 10,000 test images in batches of 1000. PyTorch is optional.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (sets the thread environment before numpy loads)

import numpy as np  # noqa: E402

from nnlab.data.datasets import load_dataset  # noqa: E402
from nnlab.nn.evaluate import evaluate_classifier, normalize_images  # noqa: E402
from nnlab.nn.train_cnn import CNNConfig, CNNTrainer  # noqa: E402

BATCH, EVAL_BATCH = 64, 1000


def nnlab_train(data, seed):
    trainer = CNNTrainer(CNNConfig(epochs=1, batch_size=BATCH, seed=seed), data)
    # run() also evaluates the test set after the epoch; the figure is the
    # training loop's own images/s.
    return trainer.run()["images_per_second"], trainer


def nnlab_eval(trainer, data):
    seconds, _ = common.timed(lambda: evaluate_classifier(
        trainer.model, data.test_x, data.test_y, trainer.mean, trainer.std, 10, EVAL_BATCH))
    return len(data.test_y) / seconds


def torch_lenet(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def torch_train(torch, x, y, seed):
    torch.manual_seed(seed)
    model = torch_lenet(torch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(y)

    def epoch():
        correct = 0
        for idx in torch.randperm(n).split(BATCH):
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            correct += int((logits.argmax(1) == yb).sum())
        return correct

    seconds, _ = common.timed(epoch)
    return n / seconds, model


def torch_eval(torch, model, x):
    def run():
        with torch.no_grad():
            for i in range(0, len(x), EVAL_BATCH):
                model(x[i:i + EVAL_BATCH]).argmax(1)

    seconds, _ = common.timed(run)
    return len(x) / seconds


# Multiply-adds per image: conv1 28*28*6*25, conv2 10*10*16*150, fc 400*120 + 120*84 + 84*10.
LENET_MACS = 28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 400 * 120 + 120 * 84 + 84 * 10
# Training: the forward pass, then dx and dw for every layer but conv1's dx.
TRAIN_FLOPS = 2 * (3 * LENET_MACS - 28 * 28 * 6 * 25)


def measure(data_dir, repeats=3, use_torch=True):
    """Rows for training and evaluation images/s, nnlab and PyTorch interleaved."""
    data = load_dataset("mnist", data_dir)
    # Compile (or load from the cache) every kernel before timing.
    CNNTrainer(CNNConfig(epochs=1, limit=256), data).run()
    torch = common.load_torch() if use_torch else None
    state = {}

    def ours():
        ips, trainer = nnlab_train(data, len(state))
        state["trainer"] = trainer
        return ips, nnlab_eval(trainer, data)

    theirs = None
    if torch is not None:
        t = CNNTrainer(CNNConfig(epochs=1, limit=64), data)
        x = torch.from_numpy(normalize_images(data.train_x, t.mean, t.std))
        y = torch.from_numpy(data.train_y.astype(np.int64))
        xt = torch.from_numpy(normalize_images(data.test_x, t.mean, t.std))

        def theirs():
            ips, model = torch_train(torch, x, y, 0)
            return ips, torch_eval(torch, model, xt)

    a, b = common.interleaved(repeats, ours, theirs)
    return [common.Row("LeNet-5 training, batch 64, Adam", a[0], b[0], "img/s", TRAIN_FLOPS),
            common.Row("LeNet-5 evaluation, batch 1000", a[1], b[1], "img/s", 2 * LENET_MACS)], torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=common.default_data("mnist"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()
    print(common.machine())
    rows, torch = measure(args.data, args.repeats, not args.no_torch)
    common.print_table(rows, torch.__version__ if torch is not None else None)


if __name__ == "__main__":
    main()
