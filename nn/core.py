"""The training core that every trainer shares.

``Trainer.run`` is the one loop: check for a stop request, check the time,
take a batch, compute its loss, check it, learn from it, and validate and
save when it is time. A trainer (nn/train_cnn.py, nn/train_charlm.py)
supplies only what is its own:

- ``finished()``: the run has taken all its steps;
- ``next_batch(report)``: the next batch of training data;
- ``loss_of(batch)``: the forward pass, returning the loss;
- ``backward()`` and ``update(lr)``: the backward pass, and the update;
- ``after_step(report, batch, loss)``: its per-step sums and report;
- ``validation_due()`` and ``validate(report)``: when to validate, and the
  history entry of a validation;
- optionally ``time_is_up(report)``, ``begin(report)``, ``end(report, save)``,
  ``on_interrupt()``, ``checkpoint_state(meta, arrays)``;
- to train on several MPI ranks (nn/distributed.py, ``dist``):
  ``batch_items(batch)``, ``shard(batch, lo, hi)`` (this rank's rows, and
  its dropout generator), ``loss_count(batch)``, and optionally
  ``step_sums(batch)`` and ``sync()`` (state that each rank keeps rows of,
  made whole before a validation or a save).

The core keeps the step count, the training time (across resumes), the
time-aware learning-rate schedule, the history of validations and the best
figure, and writes and restores the state they make up. Progress goes out
through ``report(event, info)``; nothing here prints. Checkpoints are the
caller's: ``save(trainer, improved)`` after each validation and at a stop.
"""

from dataclasses import asdict

import numpy as np

from . import clock
from .runs import check_loss, check_weights, loss_bound


class Trainer:
    kind = None               # the checkpoint's "kind": "cnn", "charlm", ...
    hint = "try a lower --lr"  # what a diverged run's message suggests
    val_key = "val_loss"      # the history field that decides the best state (lower is better)
    val_what = "validation loss"
    timed_validation = True   # validations count against --time-limit (else paused)

    def __init__(self, config, classes):
        """``classes``: how many values the loss chooses between, for the
        bound past which a loss counts as diverged."""
        self.config = config
        self.bound = loss_bound(classes)
        self.rng = np.random.Generator(np.random.PCG64(config.seed))
        self.step = 0             # optimizer steps taken
        self.seconds = 0.0        # training time, across resumes
        self.history = []         # one entry per validation
        self.best_val = None      # lowest val_key figure so far
        self.interrupted = False  # stopped by stop() (a signal), saved without validating
        self.cut_short = False    # the time limit stopped a validation
        self.lr = None            # the learning rate of the last step
        self.dist = None          # nn/distributed.py:Distributed on several MPI ranks
        self.sums = []            # step_sums of the last step (over all ranks)
        self._t0 = None           # (a clock reading, ``seconds`` then), set by run()

    # -- the time-aware schedule ---------------------------------------------

    def progress(self):
        """Where the learning-rate schedule stands: the step count, or further
        along when the time limit will end the run first, so that the decay
        finishes when the time does, however fast this machine runs today."""
        limit = self.config.time_limit
        if not limit:
            return self.step
        return max(self.step, self.total_steps * min(1.0, self.seconds / limit))

    def out_of_time(self):
        return bool(self.config.time_limit) and self.seconds >= self.config.time_limit

    def tick(self):
        """Brings ``seconds`` (across resumes) up to now."""
        self.seconds = self._t0[1] + clock.now() - self._t0[0]

    def restart_clock(self):
        """Counts time from now on only: what passed since the last tick (an
        untimed evaluation) is left out of ``seconds``."""
        self._t0 = (clock.now(), self.seconds)

    # -- the loop --------------------------------------------------------------

    def run(self, report=lambda event, info: None, save=None, stop=lambda: False):
        """Trains until ``finished()`` or the time limit, validating when
        ``validation_due()`` and calling ``save(trainer, improved)`` after
        each validation. When ``stop()`` turns true (a signal), it saves at
        once, without validating, sets ``interrupted`` and returns. Returns
        the last history entry (None if there was no validation)."""
        lr_at = self.schedule()
        self.cut_short = False
        self.step_seconds = 0.0
        self.restart_clock()
        self.begin(report)
        if self.dist is not None:
            self.distributed_start()
        last_good = None
        while not self.finished():
            stopping, up = self.decide(stop, report)
            if stopping:
                self.interrupted = True
                self.on_interrupt()
                if save is not None:
                    self.sync()
                    check_weights(self.model.params, self.step, self.hint)
                    save(self, False)
                return self.last()
            if up:
                break
            batch = self.next_batch(report)
            loss = self.loss_of(batch) if self.dist is None else self.distributed_loss(batch)
            # Before the update: a diverged loss must not reach the weights.
            check_loss(loss, self.step + 1, last_good, self.hint, self.bound)
            last_good = loss
            self.lr = lr_at(self.progress())  # the learning rate of the last step (--log)
            if self.dist is None:
                self.sums = self.step_sums(batch)
                self.backward()
            self.update(self.lr)
            self.step += 1
            before = self.seconds
            self.tick()
            self.step_seconds = self.seconds - before  # what one more step will take
            self.after_step(report, batch, loss)
            if self.validation_due():
                self.validation(report, save)
                if self.cut_short:
                    break
        self.end(report, save)
        return self.last()

    def decide(self, stop, report):
        """(stop now, the time is up): this process's, or on several ranks,
        any rank's stop request and rank 0's clock, the same on all."""
        if self.dist is None:
            return (True, False) if stop() else (False, self.time_is_up(report))
        stopping, (up, seconds) = self.dist.agree(stop(), [self.time_is_up(report),
                                                            self.seconds])
        self.seconds = seconds  # the schedule follows rank 0's clock on every rank
        return stopping, bool(up)

    def distributed_start(self):
        """Every rank runs the same model from the same state: checked, then rank 0's weights."""
        d = self.dist
        shapes = {k: list(v.shape) for k, v in self.model.params.items()}
        d.check_same("model or run", {"kind": self.kind, "arch": self.arch.to_meta(),
                                      "config": asdict(self.config), "step": self.step,
                                      "params": shapes})
        d.broadcast(self.model.params)
        d.broadcast(getattr(self.model, "buffers", {}))

    def distributed_loss(self, batch):
        """This rank's rows of the batch forward and backward, then one
        reduction: the global batch's mean loss, with every rank's gradient
        summed into the same global mean gradient."""
        n = self.batch_items(batch)
        lo, hi = self.dist.bounds(n)
        weight = 1
        if hi == lo:
            # Fewer rows than ranks (an epoch's last batch, a short bucket): this
            # rank runs them all, so that its generator draws what the others
            # draw, and adds nothing.
            lo, hi, weight = 0, n, 0
        local = self.shard(batch, lo, hi)
        loss = self.loss_of(local)
        self.backward()
        loss, self.sums = self.dist.reduce_step(
            self.model.grads, loss, weight * self.loss_count(local),
            [weight * s for s in self.step_sums(local)])
        return loss

    def validation(self, report, save):
        """Validates (``validate``), refuses a diverged state, keeps the entry
        and the best figure, and saves."""
        self.sync()
        entry = self.validate(report)
        if self.dist is not None:  # rank 0's clock decided what a validation could do
            entry, self.cut_short = self.dist.bcast_json([entry, self.cut_short])
        figure = entry.get(self.val_key)
        # A diverged state is neither saved nor kept as the best.
        if figure is not None:
            check_loss(figure, self.step, entry.get("train_loss"), self.hint, self.bound,
                       what=self.val_what)
        check_weights(self.model.params, self.step, self.hint)
        improved = figure is not None and (self.best_val is None or figure < self.best_val)
        if improved:
            self.best_val = figure
        self.history.append(entry)
        if save is not None:
            save(self, improved)
        if not self.timed_validation:
            self.restart_clock()
        self.validated(report, entry, improved)

    def last(self):
        return self.history[-1] if self.history else None

    # Hooks with nothing to do by default.
    def begin(self, report):
        pass

    def step_sums(self, batch):
        """Sums over a batch's rows that after_step reads from ``sums``."""
        return []

    def sync(self):
        pass

    def shard(self, batch, lo, hi):
        from nnlab import NnlabError

        raise NnlabError(f"{self.kind} training does not run on several MPI ranks yet; "
                         "start it without mpirun")

    def end(self, report, save):
        pass

    def on_interrupt(self):
        pass

    def time_is_up(self, report):
        return self.out_of_time()

    def validated(self, report, entry, improved):
        report("validation", dict(entry, best=improved, total=self.total_steps))

    # -- the self-describing state ---------------------------------------------

    def state_dict(self):
        """(meta, arrays) holding all it takes to rebuild the model and resume:
        what every run has, then the trainer's own (``checkpoint_state``)."""
        opt_meta, opt_arrays = self.opt.state()
        meta = {
            "kind": self.kind,
            "arch": self.arch.to_meta(),
            "config": asdict(self.config),
            "step": self.step,
            "optimizer": opt_meta,
            "rng": self.rng.bit_generator.state,
            "best_val": self.best_val,
            "metrics": dict(self.history[-1]) if self.history else {},
            "history": [dict(h) for h in self.history],
            "seconds": self.seconds,
        }
        arrays = {f"opt/{k}": v for k, v in opt_arrays.items()}
        self.checkpoint_state(meta, arrays)
        return meta, arrays

    def restore_state(self, m, arrays):
        """Restores from a checkpoint (``m``: its Meta) what ``state_dict``
        wrote for every run, each field checked first."""
        from .checkpoint import split_arrays

        opt = m.section("optimizer")
        self.opt.load_state({"t": opt.get("t", "count", 0)}, split_arrays(arrays, "opt"))
        # OverflowError: a state or counter beyond what the generator holds (2**128).
        try:
            self.rng.bit_generator.state = m.get("rng", "dict")
        except (KeyError, TypeError, ValueError, OverflowError):
            raise m.bad("rng", "is not a generator state") from None
        self.step = m.get("step", "count")
        self.history = [h for h in m.get("history", "list", []) if isinstance(h, dict)]
        self.seconds = m.get("seconds", "float", 0.0)
        self.best_val = m.get("best_val", "float?", None)


def rate(count, seconds):
    """Items per second, without dividing by zero on a clock that did not move."""
    return count / max(seconds, 1e-9)

