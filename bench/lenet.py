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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=common.default_data("mnist"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()

    data = load_dataset("mnist", args.data)
    print(common.machine())
    # Compile (or load from the cache) every kernel before timing.
    CNNTrainer(CNNConfig(epochs=1, limit=256), data).run()

    train, evals = [], []
    for r in range(args.repeats):
        ips, trainer = nnlab_train(data, r)
        train.append(ips)
        evals.append(nnlab_eval(trainer, data))
        print(f"nnlab   repeat {r + 1}: train {ips:,.0f} img/s, eval {evals[-1]:,.0f} img/s",
              file=sys.stderr)

    torch = None if args.no_torch else common.load_torch()
    t_train = t_eval = None
    if torch is not None:
        mean, std = trainer.mean, trainer.std
        x = torch.from_numpy(normalize_images(data.train_x, mean, std))
        y = torch.from_numpy(data.train_y.astype(np.int64))
        xt = torch.from_numpy(normalize_images(data.test_x, mean, std))
        t_train, t_evals = [], []
        for r in range(args.repeats):
            ips, model = torch_train(torch, x, y, r)
            t_train.append(ips)
            t_evals.append(torch_eval(torch, model, xt))
            print(f"PyTorch repeat {r + 1}: train {ips:,.0f} img/s, eval {t_evals[-1]:,.0f} img/s",
                  file=sys.stderr)
        t_train, t_eval = common.median(t_train), common.median(t_evals)

    common.print_table([
        ("LeNet-5 training, batch 64, Adam", common.median(train), t_train, "img/s"),
        ("LeNet-5 evaluation, batch 1000", common.median(evals), t_eval, "img/s"),
    ], torch.__version__ if torch is not None else None)


if __name__ == "__main__":
    main()
