"""Training the one-to-many reader (nn/reader.py) on the shared core
(nn/core.py).

Every step composes new strips from the training digits with the run's
generator (a StripMaker of data/strips.py, which the command builds), so
the generator's state, saved in each checkpoint, is all it takes to resume
exactly. Validation reads a fixed set of strips made from training digits
that no training strip uses (data/strips.py's reader_sets); the test strips
are left for the end of the run and ``nnlab eval``, so the best checkpoint
is not chosen on them.
"""

import numpy as np

from nnlab.kernels import softmax_cross_entropy

from . import reader_eval
from .archs import ReaderArch
from .charlm import clip_grad_norm
from .checkpoint import CheckpointError, split_arrays
from .distributed import columns, masked_targets
from .meta import Meta
from .optim import Adam
from .reader import VOCAB, teacher_batch
from .stepped import SteppedTrainer


class ReaderTrainer(SteppedTrainer):
    kind = "reader"
    hint = "try a lower --lr or a smaller --clip"

    def __init__(self, config, maker, val, arch=None, norm=None):
        """maker: draws the training strips (data/strips.py's StripMaker, or
        anything with its ``batch(rng, n)``, ``labels`` and ``width``); val:
        the validation strips, (uint8 images (N, 28, W), [digit arrays])."""
        super().__init__(config, VOCAB)
        c = config
        self.maker, self.val = maker, val
        self.n_digits = len(maker.labels)
        # The strips' pixel statistics, from the validation strips: a fixed
        # set, so a resumed run's are the same without saving anything more.
        pixels = self.val[0].astype(np.float64)
        self.mean, self.std = norm or (float(pixels.mean()), float(pixels.std()) or 1.0)
        self.arch = arch or ReaderArch.for_run(c, maker.width)
        self.model = self.arch.build()
        self.model.init(self.rng)
        self.model.rng = self.rng
        self.opt = Adam(self.model.params, weight_decay=c.weight_decay)
        self.total_steps = c.steps
        self.window = [0.0, 0]     # training loss summed since the last validation, and steps
        self.items_per_second = 0.0
        self.data_dir = None       # where the digits came from (nn/reader_run.py)

    @property
    def epoch(self):
        """Digits drawn, on average, over the training digits: a strip holds
        (1 + max_digits) / 2 of them."""
        per_strip = (1 + self.config.max_digits) / 2
        return self.step * self.config.batch_size * per_strip / self.n_digits

    # -- the core's hooks ------------------------------------------------------

    def finished(self):
        return self.step >= self.total_steps

    def next_batch(self, report):
        images, labels = self.maker.batch(self.rng, self.config.batch_size)
        x = reader_eval.normalize(images, self.mean, self.std)
        return (x, *teacher_batch(labels))

    def loss_of(self, batch):
        x, dec_in, mask, y = batch
        logits = self.model.forward(x, dec_in, mask, train=True)
        loss, self._dlogits = softmax_cross_entropy(logits, y)
        return loss

    # -- on several MPI ranks (nn/distributed.py): the batch's strips split ----------

    def shard(self, batch, lo, hi):
        x, dec_in, mask, y = batch
        return (x[lo:hi], columns(dec_in, lo, hi), columns(mask, lo, hi),
                masked_targets(mask, y, lo, hi))

    def loss_count(self, batch):
        return int(batch[2].sum())

    def sync(self):
        if self.dist is not None:  # batch norm's running statistics, as for a CNN
            self.dist.mean(self.model.buffers)

    def backward(self):
        self.model.backward(self._dlogits)

    def update(self, lr):
        clip_grad_norm(self.model.grads, self.config.clip)
        self.opt.step(self.model.params, self.model.grads, lr)

    def batch_items(self, batch):
        return len(batch[0])

    def validate(self, report):
        train_loss = self.take_window()
        images, labels = self.val
        m = self.model
        got = reader_eval.read(m, images, self.mean, self.std, self.config.max_digits)
        entry = {"step": self.step, "epoch": round(self.epoch, 4), "train_loss": train_loss,
                 "val_loss": reader_eval.loss(m, images, labels, self.mean, self.std),
                 "seconds": round(self.seconds, 3)}
        figures = reader_eval.scores(got, labels)
        entry.update(exact_match=figures["exact_match"], accuracy=figures["accuracy"],
                     by_length={str(k): v for k, v in figures["by_length"].items()})
        return entry

    # -- checkpoint ----------------------------------------------------------

    def checkpoint_state(self, meta, arrays):
        meta.update({"normalize": {"mean": self.mean, "std": self.std},
                     "window": list(self.window), "data_dir": self.data_dir})
        arrays.update({f"params/{k}": v for k, v in self.model.params.items()})
        arrays.update({f"buffers/{k}": v for k, v in self.model.buffers.items()})

    @classmethod
    def resume(cls, meta, arrays, maker, val, config, path="checkpoint"):
        """A trainer that continues the checkpointed run, on the same strips."""
        from .restore import reader_normalization

        m = Meta(meta, path)
        arch = ReaderArch.read(m)
        try:
            t = cls(config, maker, val, arch=arch, norm=reader_normalization(meta, path))
            t.model.load(split_arrays(arrays, "params"), split_arrays(arrays, "buffers"))
        except MemoryError:
            raise CheckpointError(f"{path} describes a model too large to build here") from None
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{path} does not fit its own model: {e}") from None
        t.restore_state(m, arrays)
        t.restore_window(m)
        t.data_dir = m.get("data_dir", "str?", None)
        return t

