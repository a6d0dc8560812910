"""Training image classifiers on the shared core (nn/core.py).

Read top to bottom: the trainer's state, one batch, the end of an epoch
(the test set's evaluation), and the checkpoint that holds all of that.
The options and their defaults: nn/cnn_config.py.
"""

import math

import numpy as np

from nnlab import NnlabError

from .augment import augment
from .checkpoint import CheckpointError, split_arrays
from .cnn_config import CNNConfig
from .core import Trainer, rate
from .distributed import ShardRng
from .evaluate import evaluate_classifier, normalize_images, pixel_stats
from .archs import CNNArch
from .meta import Meta, is_permutation
from .optim import make_optimizer
from .restore import cnn_normalization
from .schedule import LRSchedule

__all__ = ["CNNConfig", "CNNTrainer"]

# Datasets whose classes survive a left-right mirror (see augment.py).
FLIP_OK = ("fashion-mnist",)


def new_acc():
    return {"seen": 0, "loss_sum": 0.0, "correct": 0, "seconds": 0.0}


def default_arch(config, data):
    """The network of a new run on ``data``."""
    return CNNArch.for_run(config, len(data.classes), int(data.train_x.shape[-1]))


class CNNTrainer(Trainer):
    kind = "cnn"
    val_key, val_what = "test_loss", "test loss"
    timed_validation = False  # --time-limit counts training, not the test set's evaluation

    def __init__(self, config, data, arch=None):
        super().__init__(config, len(data.classes))
        c = config
        self.data = data
        n = len(data.train_y) if not c.limit else c.limit
        if c.limit and c.limit > len(data.train_y):
            raise NnlabError(f"--limit {c.limit} is more than the {len(data.train_y)} "
                             f"training examples of {data.name}")
        self.n_train = n
        self.train_x, self.train_y = data.train_x[:n], data.train_y[:n]
        self.arch = arch or default_arch(c, data)
        self.model = self.arch.build()
        # Scale statistics come from the training images, as any user would compute them.
        self.mean, self.std = pixel_stats(self.train_x)
        self.model.init(self.rng)
        self.model.rng = self.rng  # dropout draws from the run's generator
        self.opt = make_optimizer(c.optimizer, self.model.params, c.weight_decay, c.momentum)
        self.epochs_completed = 0  # whole epochs done
        self.pos = 0               # examples of the current epoch already seen
        self.perm = None           # the current epoch's order
        self.acc = new_acc()       # sums over the current epoch so far
        self.flip = c.augment and data.name in FLIP_OK
        self._epoch_open = False   # epoch_start reported for the epoch under way

    @property
    def steps_per_epoch(self):
        return math.ceil(self.n_train / self.config.batch_size)

    @property
    def total_steps(self):
        return self.config.epochs * self.steps_per_epoch

    @property
    def epoch(self):
        """Epochs done, with the fraction of the current one."""
        return self.epochs_completed + self.pos / self.n_train

    def schedule(self):
        c = self.config
        return LRSchedule(c.lr, self.total_steps, c.schedule, c.warmup_steps)

    # -- the core's hooks ------------------------------------------------------

    def finished(self):
        return self.epochs_completed >= self.config.epochs

    def time_is_up(self, report):
        if not self.out_of_time():
            return False
        if self.acc["seen"]:
            report("message", {"text": f"time limit of {self.config.time_limit:g}s reached in "
                                       f"epoch {self.epochs_completed + 1}, at step "
                                       f"{self.step:,}"})
        return True

    def next_batch(self, report):
        c = self.config
        if self.perm is None:
            self.perm = self.rng.permutation(self.n_train)
        if not self._epoch_open:
            self._epoch_open, self._epoch_t0 = True, self.seconds
            report("epoch_start", {"epoch": self.epochs_completed + 1, "epochs": c.epochs,
                                   "batches": self.steps_per_epoch,
                                   "done": math.ceil(self.pos / c.batch_size)})
        idx = self.perm[self.pos:self.pos + c.batch_size]
        images = self.train_x[idx]
        if c.augment:
            images = augment(images, self.rng, shift=2, flip=self.flip)
        return normalize_images(images, self.mean, self.std), self.train_y[idx].astype(np.int64)

    def loss_of(self, batch):
        from nnlab.kernels import softmax_cross_entropy

        x, y = batch
        self._logits = self.model.forward(x, train=True)
        loss, self._dlogits = softmax_cross_entropy(self._logits, y,
                                                    self.config.label_smoothing)
        return loss

    def step_sums(self, batch):
        return [int((self._logits.argmax(axis=1) == batch[1]).sum())]

    # -- on several MPI ranks (nn/distributed.py) --------------------------------

    def batch_items(self, batch):
        return len(batch[1])

    def shard(self, batch, lo, hi):
        x, y = batch
        self.model.rng = ShardRng(self.rng, lo, hi, len(y), axis=0)  # dropout's masks
        return x[lo:hi], y[lo:hi]

    def loss_count(self, batch):
        return len(batch[1])

    def sync(self):
        # Per-rank batch statistics while training, as PyTorch's DDP does; the
        # running statistics that evaluation uses, the mean over the ranks.
        if self.dist is not None:
            self.dist.mean(self.model.buffers)

    def backward(self):
        self.model.backward(self._dlogits)

    def update(self, lr):
        self.opt.step(self.model.params, self.model.grads, lr)

    def after_step(self, report, batch, loss):
        _, y = batch
        acc = self.acc  # this epoch's sums, kept in checkpoints for an exact resume
        self.pos += len(y)
        acc["seen"] += len(y)
        acc["loss_sum"] += loss * len(y)
        acc["correct"] += int(self.sums[0])  # over every rank's rows
        seconds = acc["seconds"] + self.seconds - self._epoch_t0
        report("batch", {"loss": acc["loss_sum"] / acc["seen"],
                         "accuracy": acc["correct"] / acc["seen"],
                         "images_per_second": rate(acc["seen"], seconds),
                         "done": math.ceil(self.pos / self.config.batch_size)})

    def validation_due(self):
        return self.pos >= self.n_train

    def on_interrupt(self):
        if self._epoch_open:
            self.acc["seconds"] += self.seconds - self._epoch_t0
            self._epoch_open = False

    def end(self, report, save):
        if self.acc["seen"]:  # stopped by the time limit in an epoch: evaluate that part
            self.validation(report, save)

    def validate(self, report):
        """Closes the epoch (or the part of it the time allowed) and evaluates
        the test set: the epoch's history entry."""
        acc, seen = self.acc, self.acc["seen"]
        if self._epoch_open:
            acc["seconds"] += self.seconds - self._epoch_t0
            self._epoch_open = False
        if self.pos >= self.n_train:
            self.epochs_completed += 1
            self.pos, self.perm = 0, None
        test = self.evaluate()
        self.acc = new_acc()
        return {"epoch": round(self.epoch, 4), "train_loss": acc["loss_sum"] / seen,
                "train_accuracy": acc["correct"] / seen, "test_loss": test["loss"],
                "test_accuracy": test["accuracy"], "seconds": acc["seconds"],
                "images_per_second": rate(seen, acc["seconds"])}

    def validated(self, report, entry, improved):
        report("epoch_end", entry)

    def evaluate(self):
        d = self.data
        return evaluate_classifier(self.model, d.test_x, d.test_y, self.mean, self.std,
                                   len(d.classes))

    # -- checkpoint ----------------------------------------------------------

    def checkpoint_state(self, meta, arrays):
        meta.update({
            "dataset": self.data.name,
            "data_dir": getattr(self.data, "folder", None),
            "classes": list(self.data.classes),
            "normalize": {"mean": self.mean, "std": self.std},
            "epoch": self.epochs_completed, "pos": self.pos, "acc": dict(self.acc),
        })
        arrays.update({f"params/{k}": v for k, v in self.model.params.items()})
        arrays.update({f"buffers/{k}": v for k, v in self.model.buffers.items()})
        if self.perm is not None:
            arrays["data/perm"] = self.perm

    @classmethod
    def resume(cls, meta, arrays, data, config, path="checkpoint"):
        """A trainer that continues the checkpointed run with ``config``, whose
        fixed fields the caller has compared with the checkpoint's
        (nn/settings.py); every field of the checkpoint is checked before it
        is used."""
        m = Meta(meta, path)
        arch = CNNArch.read(m)
        mean, std = cnn_normalization(meta, path)
        try:
            trainer = cls(config, data, arch=arch)
        except MemoryError:
            raise CheckpointError(f"{path} describes a model too large to build here") from None
        try:
            trainer.model.load(split_arrays(arrays, "params"), split_arrays(arrays, "buffers"))
        except ValueError as e:
            raise CheckpointError(f"{path} does not fit its own network: {e}") from None
        trainer.restore_state(m, arrays)
        trainer.mean, trainer.std = mean, std
        trainer.epochs_completed = m.get("epoch", "count")
        trainer.pos = m.get("pos", "count")
        acc = m.section("acc", {})
        trainer.acc = {"seen": acc.get("seen", "count", 0),
                       "loss_sum": acc.get("loss_sum", "float", 0.0),
                       "correct": acc.get("correct", "count", 0),
                       "seconds": acc.get("seconds", "float", 0.0)}
        perm = arrays.get("data/perm")
        if trainer.pos:
            if trainer.pos > trainer.n_train or not is_permutation(perm, trainer.n_train):
                raise CheckpointError(f"{path} is damaged: its data order does not fit "
                                      f"{trainer.n_train:,} training examples")
            trainer.perm = perm.astype(np.int64)
        return trainer
