"""A sparkline of the recent training loss, for the live bar on a terminal:
the mean of every ``every`` steps, the last ``width`` of those, drawn with
the eight block heights between their own lowest and highest."""

import math

BLOCKS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"


class Sparkline:
    def __init__(self, width=24, every=10):
        self.width, self.every = width, every
        self.points, self._sum, self._count = [], 0.0, 0

    def add(self, value):
        if not math.isfinite(value):
            return  # a diverged step is reported by the trainer, not drawn
        self._sum += value
        self._count += 1
        if self._count == self.every:
            self.points = (self.points + [self._sum / self.every])[-self.width:]
            self._sum, self._count = 0.0, 0

    def text(self):
        if not self.points:
            return ""
        lo, hi = min(self.points), max(self.points)
        span = hi - lo
        top = len(BLOCKS) - 1
        return "".join(BLOCKS[0 if span == 0 else round((p - lo) / span * top)]
                       for p in self.points)
