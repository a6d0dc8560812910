"""Training loop for image classifiers.

Read top to bottom: the config, the trainer's state, one epoch, the
checkpoint that holds all of that state. Progress goes out through a
callback, ``report(event, info)``, so this module never prints.
"""

import math
import time
from dataclasses import asdict, dataclass, fields

import numpy as np

from nnlab import NnlabError
from nnlab.kernels import softmax_cross_entropy

from .checkpoint import CheckpointError, split_arrays
from .cnn_models import build_cnn
from .evaluate import evaluate_classifier, normalize_images
from .optim import make_optimizer
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
    seed: int = 0                 # seeds the weights and the shuffling
    limit: int = 0                # train on the first N examples only (0: all)

    @classmethod
    def from_dict(cls, d):
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def pixel_stats(images):
    """Mean and standard deviation of uint8 pixels scaled to [0, 1], exact and
    without a float copy of the data: from the histogram of the 256 values."""
    counts = np.bincount(images.reshape(-1), minlength=256).astype(np.float64)
    values = np.arange(256) / 255.0
    total = max(counts.sum(), 1.0)
    mean = float(counts @ values / total)
    std = float(np.sqrt(max(counts @ (values - mean) ** 2 / total, 0.0)))
    return mean, (std if std > 0 else 1.0)


# Options that define the run; --resume refuses to change them.
FIXED_ON_RESUME = ("dataset", "arch", "batch_size", "optimizer", "seed", "limit")


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
        image_size = data.train_x.shape[-1]
        self.arch_args = arch_args or {"in_channels": 1, "num_classes": len(data.classes),
                                       "image_size": image_size}
        self.model = build_cnn(c.arch, self.arch_args)
        # Scale statistics come from the training images, as any user would compute them.
        self.mean, self.std = pixel_stats(self.train_x)
        self.rng = np.random.Generator(np.random.PCG64(c.seed))
        self.model.init(self.rng)
        self.opt = make_optimizer(c.optimizer, self.model.params, c.weight_decay, c.momentum)
        self.epoch = 0          # completed epochs
        self.step = 0           # optimizer steps taken
        self.pos = 0            # examples of the current epoch already seen
        self.perm = None        # the current epoch's order
        self.history = []       # one summary per epoch
        self.seconds = 0.0      # training time, across resumes

    @property
    def steps_per_epoch(self):
        return math.ceil(self.n_train / self.config.batch_size)

    def schedule(self):
        c = self.config
        return LRSchedule(c.lr, c.epochs * self.steps_per_epoch, c.schedule, c.warmup_steps)

    def run(self, report=lambda event, info: None, save=None):
        """Trains until config.epochs; calls ``save(trainer)`` after each epoch."""
        c = self.config
        lr_at = self.schedule()
        while self.epoch < c.epochs:
            if self.perm is None:
                self.perm = self.rng.permutation(self.n_train)
            report("epoch_start", {"epoch": self.epoch + 1, "epochs": c.epochs,
                                   "batches": self.steps_per_epoch,
                                   "done": self.pos // c.batch_size})
            t0 = time.perf_counter()
            seen, loss_sum, correct = 0, 0.0, 0
            last_good = None
            while self.pos < self.n_train:
                idx = self.perm[self.pos:self.pos + c.batch_size]
                x = normalize_images(self.train_x[idx], self.mean, self.std)
                y = self.train_y[idx].astype(np.int64)
                logits = self.model.forward(x, train=True)
                loss, dlogits = softmax_cross_entropy(logits, y)
                if not math.isfinite(loss):
                    raise NnlabError(
                        f"training diverged at step {self.step + 1}: the loss is {loss}"
                        + (f" (last good loss {last_good:.4f})" if last_good is not None else "")
                        + "; try a lower --lr")
                last_good = loss
                self.model.backward(dlogits)
                self.opt.step(self.model.params, self.model.grads, lr_at(self.step))
                self.step += 1
                self.pos += len(idx)
                seen += len(idx)
                loss_sum += loss * len(idx)
                correct += int((logits.argmax(axis=1) == y).sum())
                elapsed = time.perf_counter() - t0
                report("batch", {"loss": loss_sum / seen, "accuracy": correct / seen,
                                 "images_per_second": seen / max(elapsed, 1e-9),
                                 "done": math.ceil(self.pos / c.batch_size)})
            train_seconds = time.perf_counter() - t0
            self.seconds += train_seconds
            self.epoch += 1
            self.pos, self.perm = 0, None
            test = self.evaluate()
            summary = {"epoch": self.epoch, "train_loss": loss_sum / max(seen, 1),
                       "train_accuracy": correct / max(seen, 1), "test_loss": test["loss"],
                       "test_accuracy": test["accuracy"], "seconds": train_seconds,
                       "images_per_second": seen / max(train_seconds, 1e-9)}
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
            "epoch": self.epoch, "step": self.step, "pos": self.pos,
            "optimizer": opt_meta,
            "rng": self.rng.bit_generator.state,
            "metrics": dict(self.history[-1]) if self.history else {},
            "history": [dict(h) for h in self.history],
            "seconds": self.seconds,
        }
        arrays = {f"params/{k}": v for k, v in self.model.params.items()}
        arrays.update({f"opt/{k}": v for k, v in opt_arrays.items()})
        if self.perm is not None:
            arrays["data/perm"] = self.perm
        return meta, arrays

    @classmethod
    def resume(cls, meta, arrays, data, config):
        """A trainer that continues the checkpointed run with ``config``."""
        saved = CNNConfig.from_dict(meta.get("config", {}))
        for name in FIXED_ON_RESUME:
            if getattr(saved, name) != getattr(config, name):
                raise NnlabError(
                    f"--resume: the checkpoint was trained with {name} = {getattr(saved, name)!r}, "
                    f"not {getattr(config, name)!r}; drop that option or start a new run")
        try:
            trainer = cls(config, data, arch_args=meta["arch"]["args"])
            trainer.model.load_params(split_arrays(arrays, "params"))
            trainer.opt.load_state(meta["optimizer"], split_arrays(arrays, "opt"))
            trainer.mean = float(meta["normalize"]["mean"])
            trainer.std = float(meta["normalize"]["std"])
            trainer.rng.bit_generator.state = meta["rng"]
            trainer.epoch, trainer.step = int(meta["epoch"]), int(meta["step"])
            trainer.pos = int(meta["pos"])
            trainer.perm = arrays.get("data/perm")
            trainer.history = list(meta.get("history", []))
            trainer.seconds = float(meta.get("seconds", 0.0))
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"cannot resume from this checkpoint: {e}") from None
        if trainer.pos and (trainer.perm is None or len(trainer.perm) != trainer.n_train):
            raise CheckpointError("cannot resume: the checkpoint's data order is missing or damaged")
        return trainer
