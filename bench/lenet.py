"""LeNet-5 on MNIST: training and evaluation images/s, against PyTorch.

    python bench/lenet.py [--data DIR] [--repeats 3] [--threads 2] [--no-torch] [--json]

Each repeat trains one epoch (batch 64, Adam) with nnlab's own trainer in a
process of its own, then the same network with the same batch and
optimizer in PyTorch, in another process with PyTorch's default
environment and torch.set_num_threads(N) (see common.py). Evaluation runs
the 10,000 test images in batches of 1000. PyTorch is optional. With
--eval-only (what bench/run uses, whose training rows come from train.py)
each side trains on the first 2,048 images only, so that the weights it
evaluates are trained ones, and reports evaluation alone.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only: it sets nothing)

BATCH, EVAL_BATCH = 64, 1000
EVAL_ONLY_LIMIT = 2048


def nnlab_worker(data_dir, threads, seed, eval_only=False):
    common.nnlab_side(threads)
    from nnlab.data.datasets import load_dataset
    from nnlab.nn.evaluate import evaluate_classifier
    from nnlab.nn.train_cnn import CNNConfig, CNNTrainer

    data = load_dataset("mnist", data_dir)
    # Compile (or load from the cache) every kernel before timing.
    CNNTrainer(CNNConfig(epochs=1, limit=256), data).run()
    limit = EVAL_ONLY_LIMIT if eval_only else 0
    trainer = CNNTrainer(CNNConfig(epochs=1, batch_size=BATCH, seed=seed, limit=limit), data)
    # run() also evaluates the test set after the epoch; the figure is the
    # training loop's own images/s.
    train = trainer.run()["images_per_second"]
    seconds, _ = common.timed(lambda: evaluate_classifier(
        trainer.model, data.test_x, data.test_y, trainer.mean, trainer.std, 10, EVAL_BATCH))
    return [None if eval_only else train, len(data.test_y) / seconds]


def torch_lenet(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def torch_worker(data_dir, threads, seed, eval_only=False):
    torch = common.torch_side(threads)
    import numpy as np

    from nnlab.data.datasets import load_dataset  # numpy only: no Numba in this process

    data = load_dataset("mnist", data_dir)
    scale = data.train_x.astype(np.float32) / 255
    mean, std = float(scale.mean()), float(scale.std())

    def tensor(images):
        return torch.from_numpy(((images.astype(np.float32) / 255 - mean) / std)[:, None])

    x, xt = tensor(data.train_x), tensor(data.test_x)
    y = torch.from_numpy(data.train_y.astype(np.int64))
    torch.manual_seed(seed)
    model = torch_lenet(torch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = EVAL_ONLY_LIMIT if eval_only else len(y)

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

    train_seconds, _ = common.timed(epoch)

    def evaluate():
        with torch.no_grad():
            for i in range(0, len(xt), EVAL_BATCH):
                model(xt[i:i + EVAL_BATCH]).argmax(1)

    eval_seconds, _ = common.timed(evaluate)
    return [None if eval_only else n / train_seconds, len(xt) / eval_seconds]


# Multiply-adds per image: conv1 28*28*6*25, conv2 10*10*16*150, fc 400*120 + 120*84 + 84*10.
LENET_MACS = 28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 400 * 120 + 120 * 84 + 84 * 10
# Training: the forward pass, then dx and dw for every layer but conv1's dx.
TRAIN_FLOPS = 2 * (3 * LENET_MACS - 28 * 28 * 6 * 25)


def measure(data_dir, repeats=3, use_torch=True, threads=common.THREADS, eval_only=False):
    """Rows for training and evaluation images/s, nnlab and PyTorch
    interleaved; with eval_only, the evaluation row alone."""
    extra = (["--data", data_dir] if data_dir else []) + (["--eval-only"] if eval_only else [])

    def run(side):
        return lambda r: common.run_worker("lenet.py", side, threads, *extra, "--seed", r)

    ours, theirs = run("nnlab"), run("torch") if use_torch else None
    a, b = common.interleaved(repeats, ours, theirs)
    rows = [common.Row("LeNet-5 evaluation, batch 1000", a[1], b[1], "img/s", 2 * LENET_MACS,
                       threads)]
    if not eval_only:
        rows.insert(0, common.Row("LeNet-5 training, batch 64, Adam", a[0], b[0], "img/s",
                                  TRAIN_FLOPS, threads))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=common.default_data("mnist"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--eval-only", action="store_true",
                    help="train on 2,048 images, then time the evaluation only")
    common.worker_args(ap)
    args = ap.parse_args()
    if args.worker == "nnlab":
        return common.emit(nnlab_worker(args.data, args.threads, args.seed, args.eval_only))
    if args.worker == "torch":
        return common.emit(torch_worker(args.data, args.threads, args.seed, args.eval_only))
    version = None if args.no_torch else common.torch_available()
    rows = measure(args.data, args.repeats, version is not None, args.threads, args.eval_only)
    common.report(rows, version, args)


if __name__ == "__main__":
    main()
