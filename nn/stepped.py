"""What the trainers counted in steps share (the sequence tasks,
nn/train_seq.py, and the reader, nn/train_reader.py): a cosine schedule
over ``total_steps``, a validation every ``eval_every`` steps and at the
end, and the training loss summed in a window between validations, which
a checkpoint carries so that a resumed run reports the same figures."""

from .core import Trainer, rate
from .meta import check
from .schedule import LRSchedule


class SteppedTrainer(Trainer):
    """A Trainer whose subclass sets ``total_steps``, ``window = [0.0, 0]``
    (the training loss summed since the last validation, and its steps) and
    ``items_per_second``, and defines ``batch_items(batch)``: the sequences
    or strips a batch holds."""

    def schedule(self):
        c = self.config
        return LRSchedule(c.lr, self.total_steps, "cosine", c.warmup_steps, c.min_lr_frac)

    def eval_every(self):
        return self.config.eval_every or max(1, min(500, self.total_steps // 10))

    def begin(self, report):
        report("start", {"total": self.total_steps, "done": self.step})
        self.seen = 0

    def after_step(self, report, batch, loss):
        self.window[0] += loss
        self.window[1] += 1
        self.seen += self.batch_items(batch)
        self.items_per_second = rate(self.seen, self.seconds - self._t0[1])
        report("step", {"done": self.progress(), "loss": loss,
                        "tokens_per_second": self.items_per_second})

    def validation_due(self):
        return self.step % self.eval_every() == 0 or self.step == self.total_steps

    def end(self, report, save):
        if self.window[1]:
            self.validation(report, save)

    def take_window(self):
        """The mean training loss since the last validation; starts a new window."""
        total, steps = self.window
        self.window = [0.0, 0]
        return total / steps

    def restore_window(self, m):
        """The window of checkpoint ``m`` (a Meta), checked."""
        window = m.get("window", "list", [0.0, 0])
        if len(window) != 2:
            raise m.bad("window", "must hold a sum and a count")
        self.window = [check(window[0], "float", lambda w: m.bad("window", w)),
                       check(window[1], "count", lambda w: m.bad("window", w))]
