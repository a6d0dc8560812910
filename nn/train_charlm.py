"""Training loop for character-level language models.

Read top to bottom: the config, the corpus split into training and
validation text, the trainer's state, one step of truncated BPTT, and the
periodic validation (nn/lm_validate.py) with its checkpoints (what they
hold: nn/lm_checkpoint.py).
Progress goes out through ``report(event, info)``; this module never prints.
"""

import math
from dataclasses import dataclass

import numpy as np

from nnlab.kernels import softmax_cross_entropy

from . import clock
from .charlm import CharLM, clip_grad_norm
from .ema import WeightAverage, swapped
from .lm_checkpoint import lm_state, resume_lm
from .lm_data import Streams, fit_batch
from .lm_validate import DEFAULT_VAL_CHARS, Validator, scored_part
from .meta import Meta, config_from
from .optim import Adam
from .runs import check_loss, check_resume, check_weights, loss_bound
from .schedule import LRSchedule

MIN_VAL_CHARS = 16       # below this a validation split says nothing
DEFAULT_EPOCHS = 10      # when neither --steps nor --epochs is given ...
DEFAULT_MIN_STEPS = 300  # ... but at least this many steps, for tiny corpora
VAL_MARGIN = 1.25        # time kept for the last validation, as a multiple of its estimate


@dataclass
class CharLMConfig:
    cell: str = "lstm"            # recurrent cell: lstm or rnn
    hidden: int = 256             # units per layer
    layers: int = 2               # stacked recurrent layers
    dropout: float = 0.1          # dropout after each layer
    embed: int = 64               # character embedding width (0: one-hot input)
    ema: float = 0.995            # decay of the weight average validated and saved (0: none)
    seq_len: int = 64             # time steps per chunk of truncated BPTT
    batch_size: int = 32          # parallel streams of text
    lr: float = 5e-3              # peak learning rate (Adam)
    min_lr_frac: float = 0.1      # the cosine schedule ends at lr * this
    warmup_steps: int = 0         # linear warm-up at the start
    weight_decay: float = 0.0     # decoupled (AdamW) decay of weight matrices
    clip: float = 5.0             # bound on the gradients' global norm (0: off)
    val_frac: float = 0.1         # the end of the corpus held out for validation
    eval_every: int = 0           # steps between validations (0: a tenth of the run, at most 500)
    steps: int = 0                # stop after this many steps (0: by epochs)
    epochs: float = 0             # stop after this many passes (0 and steps 0: the default)
    time_limit: float = 0         # stop after this many seconds (0: none); the schedule ends then
    seed: int = 0                 # seeds the weights and dropout
    val_chars: int = DEFAULT_VAL_CHARS  # characters each validation scores (0: all the split)

    # What a checkpoint that predates a field meant by it, when that differs
    # from today's default: before embeddings, input was one-hot; before
    # --val-chars, validations scored all of the split.
    LEGACY = {"embed": 0, "val_chars": 0, "ema": 0.0}


# What a resumed run may not change: it would no longer be the same model or data order
# (or, for val_chars, its best validation loss would not compare with the next ones).
FIXED_ON_RESUME = ("cell", "hidden", "layers", "embed", "seq_len", "batch_size", "val_frac",
                   "seed", "val_chars", "ema")


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


def total_steps(config, steps_per_epoch):
    c, spe = config, steps_per_epoch
    if c.steps and c.epochs:
        return min(c.steps, math.ceil(c.epochs * spe))
    if c.steps:
        return c.steps
    if c.epochs:
        return math.ceil(c.epochs * spe)
    return max(DEFAULT_EPOCHS * spe, DEFAULT_MIN_STEPS)


class CharLMTrainer:
    def __init__(self, config, ids, vocab, notes=None, arch=None):
        """ids: the whole corpus encoded with ``vocab``. ``notes`` collects
        messages for the user (what was shrunk or skipped)."""
        self.config = c = config
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
        arch = arch or {"vocab_size": len(vocab), "cell": c.cell, "hidden": c.hidden,
                        "layers": c.layers, "dropout": c.dropout, "embed": c.embed}
        self.model = CharLM(**arch)
        self.rng = np.random.Generator(np.random.PCG64(c.seed))
        self.model.init(self.rng)
        self.opt = Adam(self.model.params, weight_decay=c.weight_decay)
        self.average = WeightAverage(self.model.params, c.ema) if c.ema else None
        self.step = 0            # optimizer steps taken
        self.chunk = 0           # next chunk of the current epoch
        self.state = self.model.zero_state(self.batch)  # carried hidden state
        self.best_val = None     # lowest validation loss so far
        self.history = []        # one entry per validation
        self.seconds = 0.0       # training time, across resumes
        self.total_steps = total_steps(c, self.steps_per_epoch)
        self.tokens_per_second = 0.0
        self.val_seconds = 0.0
        self.window = [0.0, 0]   # training loss summed since the last validation, and steps
        self.interrupted = False
        self.cut_short = False   # the time limit stopped a validation

    @property
    def steps_per_epoch(self):
        return self.streams.chunks

    @property
    def epoch(self):
        return self.step / self.steps_per_epoch

    def progress(self):
        """Where the learning-rate schedule stands: the step count, or further
        along when the time limit will end the run first, so that the decay
        finishes when the time does, however fast this machine runs today."""
        c = self.config
        if not c.time_limit:
            return self.step
        return max(self.step, self.total_steps * min(1.0, self.seconds / c.time_limit))

    def eval_every(self):
        return self.config.eval_every or max(1, min(500, self.total_steps // 10))

    def run(self, report=lambda event, info: None, save=None, stop=lambda: False):
        """Trains until the step count or the time limit; validates (and calls
        ``save(trainer, improved)``) every eval_every steps and at the end.
        When ``stop()`` turns true (a signal), it saves at once, without
        validating, sets ``interrupted`` and returns. Validations count
        against the time limit: training stops early enough for the last
        one, and one still running at the limit is stopped."""
        c = self.config
        lr_at = LRSchedule(c.lr, self.total_steps, "cosine", c.warmup_steps, c.min_lr_frac)
        every = self.eval_every()
        tokens = self.batch * self.seq_len
        bound = loss_bound(len(self.vocab))
        hint = "try a lower --lr or a smaller --clip"
        report("start", {"total": self.total_steps, "done": self.step})
        self._t0 = (clock.now(), self.seconds)  # a reading and the run's seconds then
        deadline = self._t0[0] + c.time_limit - self.seconds if c.time_limit else None
        step0 = self.step
        self.val_seconds = 0.0   # of this run, left out of tokens/s
        self.cut_short = False
        last_good, step_seconds = None, 0.0
        while self.step < self.total_steps:
            if stop():
                self.interrupted = True
                if save is not None:
                    check_weights(self.model.params, self.step, hint)
                    save(self, False)
                return self.history[-1] if self.history else None
            if (c.time_limit and self.step > step0 and self.validator.chars
                    and self.validator.seconds_per_char is None):
                # After a step, when the kernels are loaded: how long validating takes.
                self.val_seconds += self.validator.probe(self.model, self.batch, self.seq_len,
                                                         deadline)
                self._tick()
            # One more step, and the validation after it, must fit in the time left
            # (with a quarter to spare: the machine's load varies).
            reserve = (step_seconds + VAL_MARGIN * self.validator.estimate()
                       if self.validator.chars else 0.0)
            if c.time_limit and self.seconds + reserve >= c.time_limit:
                kept = (f", keeping time for the last validation (about "
                        f"{self.validator.estimate():.1f}s)" if self.window[1] else "")
                report("message", {"text": f"time limit of {c.time_limit:g}s reached at step "
                                           f"{self.step:,}{kept}"})
                break
            if self.chunk >= self.steps_per_epoch:
                self.chunk = 0
                self.state = self.model.zero_state(self.batch)
            x, y = self.streams.chunk(self.chunk)
            logits, self.state = self.model.forward(x, self.state, train=True, rng=self.rng)
            loss, dlogits = softmax_cross_entropy(logits, y.reshape(-1))
            check_loss(loss, self.step + 1, last_good, hint, bound)
            last_good = loss
            self.model.backward(dlogits)
            clip_grad_norm(self.model.grads, c.clip)
            self.opt.step(self.model.params, self.model.grads, lr_at(self.progress()))
            if self.average is not None:
                self.average.update(self.model.params)
            self.step += 1
            self.chunk += 1
            self.window[0] += loss
            self.window[1] += 1
            before = self.seconds
            self._tick()
            step_seconds = self.seconds - before
            trained = self.seconds - self._t0[1]
            self.tokens_per_second = (tokens * (self.step - step0)
                                      / max(trained - self.val_seconds, 1e-9))
            # The bar follows the schedule: steps, or time when the limit comes first.
            report("step", {"done": self.progress(), "loss": loss,
                            "tokens_per_second": self.tokens_per_second})
            if self.step % every == 0 or self.step == self.total_steps:
                self._validate(report, save, deadline, bound, hint)
                if self.cut_short:
                    break
        if self.window[1] and not self.cut_short:
            self._validate(report, save, deadline, bound, hint)
        return self.history[-1] if self.history else None

    def _tick(self):
        """Brings ``seconds`` (training and validating, across resumes) up to now."""
        self.seconds = self._t0[1] + clock.now() - self._t0[0]

    def _validate(self, report, save, deadline, bound, hint):
        train_loss = self.window[0] / self.window[1]
        self.window = [0.0, 0]
        left = self.config.time_limit - self.seconds if deadline is not None else math.inf
        need = self.validator.estimate()
        if need > left:  # it cannot finish: not started
            val, seconds, self.validator.started = None, 0.0, False
        else:
            with swapped(self.model.params, self.weights()):
                val, seconds = self.validator.run(self.model, self.batch, self.seq_len,
                                                  deadline, report)
        self.val_seconds += seconds
        if seconds:
            self._tick()
        if val is None and self.validator.chars:
            self.cut_short = True
            how = (f"while validating at step {self.step:,}: the validation was stopped "
                   "unfinished" if self.validator.started else
                   f"at step {self.step:,}, with {left:.1f}s left for a validation of about "
                   f"{need:.1f}s" if need > left >= 0.05 else
                   f"at step {self.step:,}, with no time left for a validation")
            report("message", {"text": f"time limit of {self.config.time_limit:g}s reached "
                                       f"{how}, so the checkpoint is saved without a validation "
                                       "loss (--val-chars makes validations shorter)"})
        # A diverged state is neither saved nor kept as the best.
        if val is not None:
            check_loss(val, self.step, train_loss, hint, bound, what="validation loss")
        check_weights(self.model.params, self.step, hint)
        improved = val is not None and (self.best_val is None or val < self.best_val)
        if improved:
            self.best_val = val
        entry = {"step": self.step, "epoch": round(self.epoch, 4), "train_loss": train_loss,
                 "val_loss": val, "val_chars": self.validator.chars if val is not None else 0,
                 "seconds": round(self.seconds, 3)}
        self.history.append(entry)
        if save is not None:
            save(self, improved)
        report("validation", dict(entry, best=improved, total=self.total_steps))

    def weights(self):
        """The weights a user gets, that validation scores and checkpoints hold
        as the model: the average when there is one, else the raw weights."""
        if self.average is None or self.average.t == 0:
            return self.model.params
        return self.average.weights()

    # -- checkpoint (nn/lm_checkpoint.py) ----------------------------------------

    def state_dict(self):
        """(meta, arrays) holding all it takes to rebuild the model and resume."""
        return lm_state(self)

    @classmethod
    def resume(cls, meta, arrays, ids, vocab, config, notes=None, path="checkpoint"):
        """A trainer that continues the checkpointed run with ``config``;
        every field of the checkpoint is checked before it is used."""
        check_resume(config_from(CharLMConfig, Meta(meta, path)), config, FIXED_ON_RESUME)
        return resume_lm(cls, meta, arrays, ids, vocab, config, notes, path)
