"""A stand-in clock for the trainers' time limits (the fake_clock fixture of
conftest.py installs it). A helper module, not a test module."""


class FakeClock:
    """Stands in for nnlab.nn.clock.now: every reading advances it by ``tick``
    seconds, so a --time-limit stops a run at the same step on any machine."""

    def __init__(self, tick):
        self.tick, self.t, self.readings = tick, 0.0, 0

    def __call__(self):
        self.readings += 1
        self.t += self.tick
        return self.t
