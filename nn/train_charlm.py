"""Training loop for character-level language models.

Read top to bottom: the config, the corpus split into training and
validation text, the trainer's state, one step of truncated BPTT, the
periodic validation with its checkpoints, and the state a checkpoint holds.
Progress goes out through ``report(event, info)``; this module never prints.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

from nnlab.kernels import softmax_cross_entropy

from . import clock
from .charlm import CharLM, clip_grad_norm
from .checkpoint import CheckpointError, split_arrays
from .meta import Meta, arch_args, check, config_from
from .lm_data import Streams, evaluate_lm, fit_batch
from .optim import Adam
from .restore import LM_ARGS
from .runs import ResumeConflict, check_loss, check_resume, loss_bound
from .schedule import LRSchedule

MIN_VAL_CHARS = 16       # below this a validation split says nothing
DEFAULT_EPOCHS = 10      # when neither --steps nor --epochs is given ...
DEFAULT_MIN_STEPS = 300  # ... but at least this many steps, for tiny corpora


@dataclass
class CharLMConfig:
    cell: str = "lstm"            # recurrent cell: lstm or rnn
    hidden: int = 256             # units per layer
    layers: int = 2               # stacked recurrent layers
    dropout: float = 0.0          # dropout after each layer
    embed: int = 64               # character embedding width (0: one-hot input)
    seq_len: int = 64             # time steps per chunk of truncated BPTT
    batch_size: int = 32          # parallel streams of text
    lr: float = 3e-3              # peak learning rate (Adam)
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

    # What a checkpoint that predates a field meant by it, when that differs
    # from today's default: before embeddings, input was one-hot.
    LEGACY = {"embed": 0}


# What a resumed run may not change: it would no longer be the same model or data order.
FIXED_ON_RESUME = ("cell", "hidden", "layers", "embed", "seq_len", "batch_size", "val_frac",
                   "seed")


def split_corpus(ids, val_frac):
    """(train ids, val ids or None). Validation takes the end of the text,
    as nanoGPT does, unless that would leave it too small to mean anything."""
    n_val = int(len(ids) * val_frac)
    if n_val < MIN_VAL_CHARS or len(ids) - n_val < 2:
        return ids, None
    return ids[:-n_val], ids[-n_val:]


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
        arch = arch or {"vocab_size": len(vocab), "cell": c.cell, "hidden": c.hidden,
                        "layers": c.layers, "dropout": c.dropout, "embed": c.embed}
        self.model = CharLM(**arch)
        self.rng = np.random.Generator(np.random.PCG64(c.seed))
        self.model.init(self.rng)
        self.opt = Adam(self.model.params, weight_decay=c.weight_decay)
        self.step = 0            # optimizer steps taken
        self.chunk = 0           # next chunk of the current epoch
        self.state = self.model.zero_state(self.batch)  # carried hidden state
        self.best_val = None     # lowest validation loss so far
        self.history = []        # one entry per validation
        self.seconds = 0.0       # training time, across resumes
        self.total_steps = self._total_steps()
        self.tokens_per_second = 0.0
        self.val_seconds = 0.0
        self.window = [0.0, 0]   # training loss summed since the last validation, and steps
        self.interrupted = False

    @property
    def steps_per_epoch(self):
        return self.streams.chunks

    @property
    def epoch(self):
        return self.step / self.steps_per_epoch

    def _total_steps(self):
        c, spe = self.config, self.steps_per_epoch
        if c.steps and c.epochs:
            return min(c.steps, math.ceil(c.epochs * spe))
        if c.steps:
            return c.steps
        if c.epochs:
            return math.ceil(c.epochs * spe)
        return max(DEFAULT_EPOCHS * spe, DEFAULT_MIN_STEPS)

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
        validating, sets ``interrupted`` and returns."""
        c = self.config
        lr_at = LRSchedule(c.lr, self.total_steps, "cosine", c.warmup_steps, c.min_lr_frac)
        every = self.eval_every()
        tokens = self.batch * self.seq_len
        bound = loss_bound(len(self.vocab))
        report("start", {"total": self.total_steps, "done": self.step})
        t_start = clock.now()
        seconds0, step0 = self.seconds, self.step
        self.val_seconds = 0.0   # of this run, left out of tokens/s
        last_good = None
        while self.step < self.total_steps:
            if stop():
                self.interrupted = True
                if save is not None:
                    save(self, False)
                return self.history[-1] if self.history else None
            if c.time_limit and self.seconds >= c.time_limit:
                report("message", {"text": f"time limit of {c.time_limit:g}s reached at step "
                                           f"{self.step:,}"})
                break
            if self.chunk >= self.steps_per_epoch:
                self.chunk = 0
                self.state = self.model.zero_state(self.batch)
            x, y = self.streams.chunk(self.chunk)
            logits, self.state = self.model.forward(x, self.state, train=True, rng=self.rng)
            loss, dlogits = softmax_cross_entropy(logits, y.reshape(-1))
            check_loss(loss, self.step + 1, last_good, "try a lower --lr or a smaller --clip",
                       bound)
            last_good = loss
            self.model.backward(dlogits)
            clip_grad_norm(self.model.grads, c.clip)
            self.opt.step(self.model.params, self.model.grads, lr_at(self.progress()))
            self.step += 1
            self.chunk += 1
            self.window[0] += loss
            self.window[1] += 1
            self.seconds = seconds0 + clock.now() - t_start
            trained = self.seconds - seconds0
            self.tokens_per_second = (tokens * (self.step - step0)
                                      / max(trained - self.val_seconds, 1e-9))
            # The bar follows the schedule: steps, or time when the limit comes first.
            report("step", {"done": self.progress(), "loss": loss,
                            "tokens_per_second": self.tokens_per_second})
            if self.step % every == 0 or self.step == self.total_steps:
                self._validate(report, save)
        if self.window[1]:
            self._validate(report, save)
        return self.history[-1] if self.history else None

    def _validate(self, report, save):
        train_loss = self.window[0] / self.window[1]
        self.window = [0.0, 0]
        val = None
        if self.val_ids is not None:
            t0 = clock.now()
            val = evaluate_lm(self.model, self.val_ids, self.batch, self.seq_len)
            self.val_seconds += clock.now() - t0
        improved = val is not None and (self.best_val is None or val < self.best_val)
        if improved:
            self.best_val = val
        entry = {"step": self.step, "epoch": round(self.epoch, 4), "train_loss": train_loss,
                 "val_loss": val, "seconds": round(self.seconds, 3)}
        self.history.append(entry)
        if save is not None:
            save(self, improved)
        report("validation", dict(entry, best=improved, total=self.total_steps))

    # -- checkpoint ----------------------------------------------------------

    def state_dict(self):
        """(meta, arrays) holding all it takes to rebuild the model and resume."""
        opt_meta, opt_arrays = self.opt.state()
        meta = {
            "kind": "charlm",
            "arch": {"name": "charlm", "args": self.model.arch_args()},
            "vocab": self.vocab.chars,
            "config": asdict(self.config),
            "batch": self.batch, "seq_len": self.seq_len,
            "step": self.step, "chunk": self.chunk, "total_steps": self.total_steps,
            "window": list(self.window),
            "optimizer": opt_meta,
            "rng": self.rng.bit_generator.state,
            "best_val": self.best_val,
            "metrics": dict(self.history[-1]) if self.history else {},
            "history": [dict(h) for h in self.history],
            "seconds": self.seconds,
            "train_chars": int(len(self.train_ids)),
            "val_chars": 0 if self.val_ids is None else int(len(self.val_ids)),
        }
        arrays = {f"params/{k}": v for k, v in self.model.params.items()}
        arrays.update({f"opt/{k}": v for k, v in opt_arrays.items()})
        for l, parts in enumerate(self.state):
            for name, a in zip("hc", parts):
                arrays[f"state/l{l}.{name}"] = a
        if self.val_ids is not None:
            arrays["data/val"] = self.val_ids
        return meta, arrays

    @classmethod
    def resume(cls, meta, arrays, ids, vocab, config, notes=None, path="checkpoint"):
        """A trainer that continues the checkpointed run with ``config``;
        every field of the checkpoint is checked before it is used."""
        m = Meta(meta, path)
        check_resume(config_from(CharLMConfig, m), config, FIXED_ON_RESUME)
        _, args = arch_args(m, LM_ARGS)
        try:
            trainer = cls(config, ids, vocab, notes, arch=args)
            trainer.model.load_params(split_arrays(arrays, "params"))
        except MemoryError:
            raise CheckpointError(f"{path} describes a model too large to build here") from None
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{path} does not fit its own model: {e}") from None
        if (trainer.batch, trainer.seq_len) != (m.get("batch", "size"), m.get("seq_len", "size")):
            raise ResumeConflict("--resume: the corpus no longer splits into the checkpoint's "
                             "batches; resume with the text it was trained on")
        opt = m.section("optimizer")
        trainer.opt.load_state({"t": opt.get("t", "count", 0)}, split_arrays(arrays, "opt"))
        try:
            trainer.rng.bit_generator.state = m.get("rng", "dict")
        except (KeyError, TypeError, ValueError):
            raise m.bad("rng", "is not a generator state") from None
        trainer.step, trainer.chunk = m.get("step", "count"), m.get("chunk", "count")
        if trainer.chunk > trainer.steps_per_epoch:
            raise m.bad("chunk", "is beyond the end of the text")
        saved = split_arrays(arrays, "state")
        state = []
        for l, parts in enumerate(trainer.state):
            names = "hc"[:len(parts)]
            layer = tuple(saved.get(f"l{l}.{name}") for name in names)
            for name, a, like in zip(names, layer, parts):
                if a is None or a.shape != like.shape or a.dtype != like.dtype:
                    raise CheckpointError(f"{path} is damaged: its state l{l}.{name} is missing "
                                          "or misshapen")
            state.append(layer)
        trainer.state = state
        trainer.best_val = m.get("best_val", "float?", None)
        window = m.get("window", "list", [0.0, 0])
        if len(window) != 2:
            raise m.bad("window", "must hold a sum and a count")
        trainer.window = [check(window[0], "float", lambda w: m.bad("window", w)),
                          check(window[1], "count", lambda w: m.bad("window", w))]
        trainer.history = [h for h in m.get("history", "list", []) if isinstance(h, dict)]
        trainer.seconds = m.get("seconds", "float", 0.0)
        return trainer
