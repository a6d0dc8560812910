"""Resident memory over several epochs of LeNet-5 and of the 2x256 LSTM.

    python bench/memory.py [--epochs 4]

Prints the process's resident set size (RSS) at the end of each epoch.
After the first epoch (which loads the kernels and grows the allocator's
pools) it must stay flat: a leak in a kernel wrapper, a cache kept alive or
a history that grows per step would show here. LeNet-5 trains on the first
10,000 MNIST images per epoch, the LSTM on 150 steps of tiny Shakespeare.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

common.nnlab_side(common.THREADS)  # nnlab's own settings, before numpy loads

from nnlab.data.datasets import load_dataset  # noqa: E402
from nnlab.data.text import Vocab, read_text  # noqa: E402
from nnlab.nn.train_charlm import CharLMConfig, CharLMTrainer  # noqa: E402
from nnlab.nn.train_cnn import CNNConfig, CNNTrainer  # noqa: E402


def rss_mb():
    """Current resident set size, from /proc (MB)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def lenet(epochs):
    data = load_dataset("mnist", common.default_data("mnist"), download=False)
    trainer = CNNTrainer(CNNConfig(epochs=epochs, limit=10_000), data)
    seen = []
    trainer.run(report=lambda event, info: seen.append(rss_mb()) if event == "epoch_end" else None)
    return seen


def lstm(epochs, steps=150):
    shk = common.default_data("tinyshakespeare")
    if shk is None:
        return None
    text = read_text(os.path.join(shk, "input.txt"))
    vocab = Vocab.from_text(text)
    seen = []
    trainer = CharLMTrainer(CharLMConfig(steps=steps * epochs, eval_every=steps),
                            vocab.encode(text), vocab)
    trainer.run(report=lambda event, info: seen.append(rss_mb()) if event == "validation" else None)
    return seen


def growth(seen):
    """MB gained from the end of the first epoch to the end of the last."""
    return seen[-1] - seen[0]


def measure(epochs=4):
    """[(workload, RSS per epoch in MB)]."""
    rows = [("LeNet-5 training, 10,000 images per epoch", lenet(epochs))]
    seen = lstm(epochs)
    if seen is not None:
        rows.append(("2x256 LSTM training, 150 steps per epoch", seen))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--json", action="store_true", help="{workload: [MB per epoch]} on stdout")
    args = ap.parse_args()
    rows = measure(args.epochs)
    if args.json:
        return print(json.dumps({name: [round(m, 1) for m in seen] for name, seen in rows}))
    for name, seen in rows:
        print(f"{name}: RSS after each epoch " + ", ".join(f"{m:.0f}" for m in seen)
              + f" MB; growth after the first {growth(seen):+.1f} MB")


if __name__ == "__main__":
    main()
