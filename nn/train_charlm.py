"""Training character-level language models on the shared core (nn/core.py).

Read top to bottom: the corpus split into training and validation text,
the trainer's state, one step of truncated BPTT, and the periodic
validation (nn/lm_validate.py) with its checkpoints (what they hold:
nn/lm_checkpoint.py). The options and their defaults: nn/charlm_config.py.
"""

import math

from nnlab.kernels import softmax_cross_entropy

from .archs import LMArch
from .charlm import clip_grad_norm
from .charlm_config import CharLMConfig
from .core import Trainer, rate
from .distributed import ShardRng, columns
from .ema import WeightAverage, swapped
from .lm_checkpoint import lm_state, resume_lm
from .lm_data import Streams, fit_batch
from .lm_validate import Validator, scored_part
from .optim import Adam
from .recipe_options import total_steps
from .schedule import LRSchedule

__all__ = ["CharLMConfig", "CharLMTrainer", "run_shape", "split_corpus"]

MIN_VAL_CHARS = 16       # below this a validation split says nothing
VAL_MARGIN = 1.25        # time kept for the last validation, as a multiple of its estimate


def _val_size(n, val_frac):
    n_val = int(n * val_frac)
    return 0 if n_val < MIN_VAL_CHARS or n - n_val < 2 else n_val


def split_corpus(ids, val_frac):
    """(train ids, val ids or None). Validation takes the end of the text,
    as nanoGPT does, unless that would leave it too small to mean anything."""
    n_val = _val_size(len(ids), val_frac)
    if not n_val:
        return ids, None
    return ids[:-n_val], ids[-n_val:]


def run_shape(config, n_chars):
    """(batch, sequence length, steps) of a run of ``config`` on a corpus of
    ``n_chars`` characters, as the trainer will find them, without it: the
    commands check memory and --warmup against them before building anything."""
    n_train = n_chars - _val_size(n_chars, config.val_frac)
    batch, seq_len = fit_batch(n_train, config.batch_size, config.seq_len)
    return batch, seq_len, total_steps(config, (n_train - 1) // batch // seq_len)


class CharLMTrainer(Trainer):
    kind = "charlm"
    hint = "try a lower --lr or a smaller --clip"

    def __init__(self, config, ids, vocab, notes=None, arch=None):
        """ids: the whole corpus encoded with ``vocab``. ``notes`` collects
        messages for the user (what was shrunk or skipped)."""
        super().__init__(config, len(vocab))
        c = config
        self.vocab = vocab
        self.notes = notes if notes is not None else []
        self.train_ids, self.val_ids = split_corpus(ids, c.val_frac)
        if self.val_ids is None and c.val_frac > 0:
            self.notes.append(f"the corpus is too small for a validation split ({len(ids):,} "
                              "characters); training on all of it without validation")
        self.batch, self.seq_len = fit_batch(len(self.train_ids), c.batch_size, c.seq_len)
        if (self.batch, self.seq_len) != (c.batch_size, c.seq_len):
            self.notes.append(f"the training text is short ({len(self.train_ids):,} characters): "
                              f"batch {c.batch_size} -> {self.batch}, "
                              f"sequence length {c.seq_len} -> {self.seq_len}")
        self.streams = Streams(self.train_ids, self.batch, self.seq_len)
        self.validator = Validator(scored_part(self.val_ids, c.val_chars))
        self.arch = arch or LMArch(len(vocab), c.cell, c.hidden, c.layers, c.dropout, c.embed)
        self.model = self.arch.build()
        self.model.init(self.rng)
        self.opt = Adam(self.model.params, weight_decay=c.weight_decay)
        self.average = WeightAverage(self.model.params, c.ema) if c.ema else None
        self.chunk = 0           # next chunk of the current epoch
        self.hidden = self.model.zero_state(self.batch)  # carried hidden state
        self.rows = None         # this rank's streams (lo, hi) on several MPI ranks
        self.total_steps = total_steps(c, self.steps_per_epoch)
        self.tokens_per_second = 0.0
        self.val_seconds = 0.0
        self.window = [0.0, 0]   # training loss summed since the last validation, and steps
        self.corpus = {}         # where the text came from (nn/lm_run.py), for the checkpoint

    @property
    def steps_per_epoch(self):
        return self.streams.chunks

    @property
    def epoch(self):
        """Passes over the training text, with the fraction of the current one."""
        return self.step / self.steps_per_epoch

    def eval_every(self):
        return self.config.eval_every or max(1, min(500, self.total_steps // 10))

    def schedule(self):
        c = self.config
        return LRSchedule(c.lr, self.total_steps, "cosine", c.warmup_steps, c.min_lr_frac)

    # -- the core's hooks ------------------------------------------------------

    def begin(self, report):
        """Validations count against the time limit: training stops early
        enough for the last one, and one still running at the limit is
        stopped (``deadline``)."""
        c = self.config
        report("start", {"total": self.total_steps, "done": self.step})
        self.deadline = self._t0[0] + c.time_limit - self.seconds if c.time_limit else None
        self.step0 = self.step
        self.val_seconds = 0.0   # of this run, left out of tokens/s

    def finished(self):
        return self.step >= self.total_steps

    def time_is_up(self, report):
        c = self.config
        if not c.time_limit:
            return False
        if (self.step > self.step0 and self.validator.chars
                and self.validator.seconds_per_char is None):
            # After a step, when the kernels are loaded: how long validating takes.
            self.val_seconds += self.validator.probe(self.model, self.batch, self.seq_len,
                                                     self.deadline)
            self.tick()
        # One more step, and the validation after it, must fit in the time left
        # (with a quarter to spare: the machine's load varies).
        reserve = (self.step_seconds + VAL_MARGIN * self.validator.estimate()
                   if self.validator.chars else 0.0)
        if self.seconds + reserve < c.time_limit:
            return False
        kept = (f", keeping time for the last validation (about "
                f"{self.validator.estimate():.1f}s)" if self.window[1] else "")
        report("message", {"text": f"time limit of {c.time_limit:g}s reached at step "
                                   f"{self.step:,}{kept}"})
        return True

    def next_batch(self, report):
        if self.chunk >= self.steps_per_epoch:
            self.chunk = 0
            self.hidden = self.model.zero_state(self.batch)
        return self.streams.chunk(self.chunk)

    def loss_of(self, batch):
        x, y = batch
        if self.rows is None:
            logits, self.hidden = self.model.forward(x, self.hidden, train=True, rng=self.rng)
        else:  # this rank's streams, and their rows of the carried state
            lo, hi = self.rows
            # Copies: the forward pass keeps its initial state for the backward
            # pass, and the rows are overwritten with the state after it below.
            mine = [tuple(a[lo:hi].copy() for a in layer) for layer in self.hidden]
            logits, new = self.model.forward(x, mine, train=True, rng=self.dropout_rng)
            for layer, parts in zip(self.hidden, new):
                for a, part in zip(layer, parts):
                    a[lo:hi] = part
        loss, self._dlogits = softmax_cross_entropy(logits, y.reshape(-1))
        return loss

    # -- on several MPI ranks (nn/distributed.py): the batch's streams split ---------

    def batch_items(self, batch):
        return batch[0].shape[1]

    def shard(self, batch, lo, hi):
        x, y = batch
        self.rows = (lo, hi)
        self.dropout_rng = ShardRng(self.rng, lo, hi, x.shape[1], axis=1)
        return columns(x, lo, hi), columns(y, lo, hi)

    def loss_count(self, batch):
        return batch[1].size

    def sync(self):
        # The carried state of every stream, for the checkpoint (and a resume
        # on any number of ranks).
        if self.dist is not None:
            for layer in self.hidden:
                for a in layer:
                    self.dist.gather_rows(a)

    def backward(self):
        self.model.backward(self._dlogits)

    def update(self, lr):
        # After the reduction on several ranks: the norm of the global gradient.
        clip_grad_norm(self.model.grads, self.config.clip)
        self.opt.step(self.model.params, self.model.grads, lr)
        if self.average is not None:
            self.average.update(self.model.params)

    def after_step(self, report, batch, loss):
        self.chunk += 1
        self.window[0] += loss
        self.window[1] += 1
        trained = self.seconds - self._t0[1]
        self.tokens_per_second = rate(self.batch * self.seq_len * (self.step - self.step0),
                                      trained - self.val_seconds)
        # The bar follows the schedule: steps, or time when the limit comes first.
        report("step", {"done": self.progress(), "loss": loss,
                        "tokens_per_second": self.tokens_per_second})

    def validation_due(self):
        return self.step % self.eval_every() == 0 or self.step == self.total_steps

    def end(self, report, save):
        if self.window[1] and not self.cut_short:
            self.validation(report, save)

    def validate(self, report):
        train_loss = self.window[0] / self.window[1]
        self.window = [0.0, 0]
        limit = self.config.time_limit
        left = limit - self.seconds if self.deadline is not None else math.inf
        need = self.validator.estimate()
        if need > left:  # it cannot finish: not started
            val, seconds, self.validator.started = None, 0.0, False
        else:
            with swapped(self.model.params, self.weights()):
                val, seconds = self.validator.run(self.model, self.batch, self.seq_len,
                                                  self.deadline, report)
        self.val_seconds += seconds
        if seconds:
            self.tick()
        if val is None and self.validator.chars:
            self.cut_short = True
            how = (f"while validating at step {self.step:,}: the validation was stopped "
                   "unfinished" if self.validator.started else
                   f"at step {self.step:,}, with {left:.1f}s left for a validation of about "
                   f"{need:.1f}s" if need > left >= 0.05 else
                   f"at step {self.step:,}, with no time left for a validation")
            report("message", {"text": f"time limit of {limit:g}s reached {how}, so the "
                                       "checkpoint is saved without a validation loss "
                                       "(--val-chars makes validations shorter)"})
        return {"step": self.step, "epoch": round(self.epoch, 4), "train_loss": train_loss,
                "val_loss": val, "val_chars": self.validator.chars if val is not None else 0,
                "seconds": round(self.seconds, 3)}

    def weights(self):
        """The weights a user gets, that validation scores and checkpoints hold
        as the model: the average when there is one, else the raw weights."""
        if self.average is None or self.average.t == 0:
            return self.model.params
        return self.average.weights()

    # -- checkpoint (nn/lm_checkpoint.py) ----------------------------------------

    def checkpoint_state(self, meta, arrays):
        lm_state(self, meta, arrays)

    @classmethod
    def resume(cls, meta, arrays, ids, vocab, config, notes=None, path="checkpoint"):
        """A trainer that continues the checkpointed run with ``config``, whose
        fixed fields the caller has compared with the checkpoint's
        (nn/settings.py); every field of the checkpoint is checked before it
        is used."""
        return resume_lm(cls, meta, arrays, ids, vocab, config, notes, path)
