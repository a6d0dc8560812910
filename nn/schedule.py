"""Learning-rate schedules as pure functions of the step, so that resuming a
run needs nothing but the step count."""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LRSchedule:
    base_lr: float            # the peak learning rate
    total_steps: int          # steps in the whole run; cosine reaches its floor here
    kind: str = "cosine"      # constant | cosine | step
    warmup_steps: int = 0     # linear ramp from base_lr / warmup_steps up to base_lr
    min_frac: float = 0.0     # cosine floor, as a fraction of base_lr
    step_every: int = 0       # "step": multiply by gamma every this many steps
    gamma: float = 0.1        # "step": the factor

    def __post_init__(self):
        if self.kind not in ("constant", "cosine", "step"):
            raise ValueError(f"unknown schedule {self.kind!r} (known: constant, cosine, step)")

    def __call__(self, step):
        """Learning rate for ``step``, counting from 0."""
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return self.base_lr
        if self.kind == "step":
            every = self.step_every or max(1, self.total_steps // 3)
            return self.base_lr * self.gamma ** ((step - self.warmup_steps) // every)
        span = max(1, self.total_steps - self.warmup_steps)
        frac = min(1.0, (step - self.warmup_steps) / span)
        floor = self.base_lr * self.min_frac
        return floor + (self.base_lr - floor) * 0.5 * (1.0 + math.cos(math.pi * frac))
