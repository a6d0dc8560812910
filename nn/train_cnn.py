"""Training loop for image classifiers.

Read top to bottom: the config, the trainer's state, one epoch, the
checkpoint that holds all of that state. Progress goes out through a
callback, ``report(event, info)``, so this module never prints.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

from nnlab import NnlabError
from nnlab.kernels import softmax_cross_entropy

from . import clock
from .checkpoint import CheckpointError, split_arrays
from .meta import Meta, arch_args, config_from, is_permutation
from .cnn_models import build_cnn
from .evaluate import evaluate_classifier, normalize_images, pixel_stats
from .augment import augment
from .optim import make_optimizer
from .restore import CNN_ARGS, cnn_normalization
from .runs import check_loss, check_resume, check_weights, loss_bound
from .schedule import LRSchedule


@dataclass
class CNNConfig:
    dataset: str = "mnist"        # dataset name: mnist or fashion-mnist
    arch: str = "lenet5"          # architecture name (see cnn_models.ARCHITECTURES)
    epochs: int = 10              # passes over the training set, counting earlier ones on resume
    batch_size: int = 64          # examples per optimizer step
    lr: float = 2e-3              # peak learning rate
    optimizer: str = "adam"       # adam or sgd
    momentum: float = 0.9         # sgd's momentum
    weight_decay: float = 0.05    # decay of weights (not biases); decoupled for adam
    schedule: str = "cosine"      # learning-rate schedule: constant, cosine or step
    warmup_steps: int = 0         # linear warm-up at the start
    label_smoothing: float = 0.0  # weight of the uniform target mixed into the labels
    augment: bool = False         # random shifts (and flips where the classes allow)
    time_limit: float = 0         # stop after this many seconds (0: none); the schedule ends then
    depth: int = 2                # resnet: residual blocks per stage
    width: int = 16               # resnet: channels of the first stage
    first_stride: int = 1         # resnet: stride of the first stage (2: 28x28 -> 14x14 at once)
    dropout: float = 0.5          # alexnet: dropout in the fully connected layers
    seed: int = 0                 # seeds the weights, the shuffling and the augmentation
    limit: int = 0                # train on the first N examples only (0: all)


def new_acc():
    return {"seen": 0, "loss_sum": 0.0, "correct": 0, "seconds": 0.0}


# Options that define the run; --resume refuses to change them.
FIXED_ON_RESUME = ("dataset", "arch", "batch_size", "optimizer", "seed", "limit", "depth",
                   "width", "first_stride", "dropout")

def arch_defaults(arch, optimizer):
    """Defaults that depend on the architecture and the optimizer, for the
    options the user leaves out. Adam's weight decay is decoupled
    (p -= lr * decay * p), so its scale is not comparable with SGD's L2 term.
    LeNet-5 on MNIST: lr 2e-3 with decay 0.05 gave 99.20% after 10 epochs,
    where 1e-3 without decay gave 99.00-99.06%."""
    d = {"epochs": 10, "lr": {"adam": 2e-3, "sgd": 0.05}[optimizer],
         "weight_decay": {"adam": 0.05, "sgd": 5e-4}[optimizer],
         "augment": False, "label_smoothing": 0.0, "warmup_steps": 0}
    if arch == "alexnet":
        d.update(augment=True, lr={"adam": 1e-3, "sgd": 0.02}[optimizer])
    elif arch == "resnet":
        d.update(augment=True, warmup_steps=300, label_smoothing=0.1)
    return d


# Datasets whose classes survive a left-right mirror (see augment.py).
FLIP_OK = ("fashion-mnist",)


def default_arch_args(config, data):
    """The architecture's arguments: the data's shape, and the options of that architecture."""
    args = {"in_channels": 1, "num_classes": len(data.classes),
            "image_size": int(data.train_x.shape[-1])}
    if config.arch == "resnet":
        args.update(depth=config.depth, width=config.width, first_stride=config.first_stride)
    elif config.arch == "alexnet":
        args.update(dropout=config.dropout)
    return args


class CNNTrainer:
    def __init__(self, config, data, arch_args=None):
        self.config = c = config
        self.data = data
        n = len(data.train_y) if not c.limit else c.limit
        if c.limit and c.limit > len(data.train_y):
            raise NnlabError(f"--limit {c.limit} is more than the {len(data.train_y)} "
                             f"training examples of {data.name}")
        self.n_train = n
        self.train_x, self.train_y = data.train_x[:n], data.train_y[:n]
        self.arch_args = arch_args or default_arch_args(c, data)
        self.model = build_cnn(c.arch, self.arch_args)
        # Scale statistics come from the training images, as any user would compute them.
        self.mean, self.std = pixel_stats(self.train_x)
        self.rng = np.random.Generator(np.random.PCG64(c.seed))
        self.model.init(self.rng)
        self.model.rng = self.rng  # dropout draws from the run's generator
        self.opt = make_optimizer(c.optimizer, self.model.params, c.weight_decay, c.momentum)
        self.epoch = 0          # completed epochs
        self.step = 0           # optimizer steps taken
        self.pos = 0            # examples of the current epoch already seen
        self.perm = None        # the current epoch's order
        self.history = []       # one summary per epoch
        self.seconds = 0.0      # training time, across resumes
        self.acc = new_acc()    # sums over the current epoch so far
        self.interrupted = False

    @property
    def steps_per_epoch(self):
        return math.ceil(self.n_train / self.config.batch_size)

    @property
    def total_steps(self):
        return self.config.epochs * self.steps_per_epoch

    @property
    def epochs_done(self):
        return self.epoch + self.pos / self.n_train

    def schedule(self):
        c = self.config
        return LRSchedule(c.lr, self.total_steps, c.schedule, c.warmup_steps)

    def progress(self):
        """Where the schedule stands: the step count, or further along when the
        time limit will end the run first, so that the decay finishes then."""
        c = self.config
        if not c.time_limit:
            return self.step
        return max(self.step, self.total_steps * min(1.0, self.seconds / c.time_limit))

    def out_of_time(self):
        return bool(self.config.time_limit) and self.seconds >= self.config.time_limit

    def run(self, report=lambda event, info: None, save=None, stop=lambda: False):
        """Trains until config.epochs or the time limit; evaluates on the test
        set and calls ``save(trainer)`` after each epoch and at the stop.
        When ``stop()`` turns true (a signal), it saves at once, without
        evaluating, sets ``interrupted`` and returns."""
        c = self.config
        lr_at = self.schedule()
        flip = c.augment and self.data.name in FLIP_OK
        bound = loss_bound(len(self.data.classes))
        hint = "try a lower --lr"
        while self.epoch < c.epochs and not self.out_of_time():
            if self.perm is None:
                self.perm = self.rng.permutation(self.n_train)
            report("epoch_start", {"epoch": self.epoch + 1, "epochs": c.epochs,
                                   "batches": self.steps_per_epoch,
                                   "done": math.ceil(self.pos / c.batch_size)})
            t0, seconds0 = clock.now(), self.seconds
            acc = self.acc  # this epoch's sums, kept in checkpoints for an exact resume
            last_good = None
            while self.pos < self.n_train and not self.out_of_time():
                if stop():
                    self.interrupted = True
                    acc["seconds"] += clock.now() - t0
                    if save is not None:
                        check_weights(self.model.params, self.step, hint)
                        save(self)
                    return self.history[-1] if self.history else None
                idx = self.perm[self.pos:self.pos + c.batch_size]
                images = self.train_x[idx]
                if c.augment:
                    images = augment(images, self.rng, shift=2, flip=flip)
                x = normalize_images(images, self.mean, self.std)
                y = self.train_y[idx].astype(np.int64)
                logits = self.model.forward(x, train=True)
                loss, dlogits = softmax_cross_entropy(logits, y, c.label_smoothing)
                check_loss(loss, self.step + 1, last_good, hint, bound)
                last_good = loss
                self.model.backward(dlogits)
                self.opt.step(self.model.params, self.model.grads, lr_at(self.progress()))
                self.step += 1
                self.pos += len(idx)
                acc["seen"] += len(idx)
                acc["loss_sum"] += loss * len(idx)
                acc["correct"] += int((logits.argmax(axis=1) == y).sum())
                elapsed = clock.now() - t0
                self.seconds = seconds0 + elapsed
                seconds = acc["seconds"] + elapsed
                report("batch", {"loss": acc["loss_sum"] / acc["seen"],
                                 "accuracy": acc["correct"] / acc["seen"],
                                 "images_per_second": acc["seen"] / max(seconds, 1e-9),
                                 "done": math.ceil(self.pos / c.batch_size)})
            acc["seconds"] += clock.now() - t0
            seen = acc["seen"]
            if self.pos >= self.n_train:
                self.epoch += 1
                self.pos, self.perm = 0, None
            elif seen:
                report("message", {"text": f"time limit of {c.time_limit:g}s reached in epoch "
                                           f"{self.epoch + 1}, at step {self.step:,}"})
            if not seen:
                break
            test = self.evaluate()
            # A diverged state is not saved: not its test loss, nor its weights.
            check_loss(test["loss"], self.step, acc["loss_sum"] / seen, hint, bound,
                       what="test loss")
            check_weights(self.model.params, self.step, hint)
            summary = {"epoch": round(self.epochs_done, 4), "train_loss": acc["loss_sum"] / seen,
                       "train_accuracy": acc["correct"] / seen, "test_loss": test["loss"],
                       "test_accuracy": test["accuracy"], "seconds": acc["seconds"],
                       "images_per_second": seen / max(acc["seconds"], 1e-9)}
            self.acc = new_acc()
            self.history.append(summary)
            if save is not None:
                save(self)
            report("epoch_end", summary)
        return self.history[-1] if self.history else None

    def evaluate(self):
        d = self.data
        return evaluate_classifier(self.model, d.test_x, d.test_y, self.mean, self.std,
                                   len(d.classes))

    # -- checkpoint ----------------------------------------------------------

    def state(self):
        """(meta, arrays) holding all it takes to rebuild the model and resume."""
        opt_meta, opt_arrays = self.opt.state()
        meta = {
            "kind": "cnn",
            "arch": {"name": self.config.arch, "args": self.arch_args},
            "dataset": self.data.name,
            "data_dir": getattr(self.data, "folder", None),
            "classes": list(self.data.classes),
            "normalize": {"mean": self.mean, "std": self.std},
            "config": asdict(self.config),
            "epoch": self.epoch, "step": self.step, "pos": self.pos, "acc": dict(self.acc),
            "optimizer": opt_meta,
            "rng": self.rng.bit_generator.state,
            "metrics": dict(self.history[-1]) if self.history else {},
            "history": [dict(h) for h in self.history],
            "seconds": self.seconds,
        }
        arrays = {f"params/{k}": v for k, v in self.model.params.items()}
        arrays.update({f"buffers/{k}": v for k, v in self.model.buffers.items()})
        arrays.update({f"opt/{k}": v for k, v in opt_arrays.items()})
        if self.perm is not None:
            arrays["data/perm"] = self.perm
        return meta, arrays

    @classmethod
    def resume(cls, meta, arrays, data, config, path="checkpoint"):
        """A trainer that continues the checkpointed run with ``config``;
        every field of the checkpoint is checked before it is used."""
        m = Meta(meta, path)
        check_resume(config_from(CNNConfig, m), config, FIXED_ON_RESUME)
        _, args = arch_args(m, CNN_ARGS)
        mean, std = cnn_normalization(meta, path)
        try:
            trainer = cls(config, data, arch_args=args)
        except MemoryError:
            raise CheckpointError(f"{path} describes a model too large to build here") from None
        try:
            trainer.model.load(split_arrays(arrays, "params"), split_arrays(arrays, "buffers"))
        except ValueError as e:
            raise CheckpointError(f"{path} does not fit its own network: {e}") from None
        opt = m.section("optimizer")
        trainer.opt.load_state({"t": opt.get("t", "count", 0)}, split_arrays(arrays, "opt"))
        trainer.mean, trainer.std = mean, std
        # OverflowError: a state or counter beyond what the generator holds (2**128).
        try:
            trainer.rng.bit_generator.state = m.get("rng", "dict")
        except (KeyError, TypeError, ValueError, OverflowError):
            raise m.bad("rng", "is not a generator state") from None
        trainer.epoch, trainer.step = m.get("epoch", "count"), m.get("step", "count")
        trainer.pos = m.get("pos", "count")
        acc = m.section("acc", {})
        trainer.acc = {"seen": acc.get("seen", "count", 0), "loss_sum": acc.get("loss_sum", "float", 0.0),
                       "correct": acc.get("correct", "count", 0),
                       "seconds": acc.get("seconds", "float", 0.0)}
        trainer.history = [h for h in m.get("history", "list", []) if isinstance(h, dict)]
        trainer.seconds = m.get("seconds", "float", 0.0)
        perm = arrays.get("data/perm")
        if trainer.pos:
            if trainer.pos > trainer.n_train or not is_permutation(perm, trainer.n_train):
                raise CheckpointError(f"{path} is damaged: its data order does not fit "
                                      f"{trainer.n_train:,} training examples")
            trainer.perm = perm.astype(np.int64)
        return trainer

