"""The loss sparkline of the live bar (cli/sparkline.py), and the bar's
stats that carry it when stderr is a terminal."""

import math

from nnlab.cli.sparkline import BLOCKS, Sparkline
from nnlab.cli.ui import LMProgress


def test_buckets_are_means_scaled_between_their_extremes():
    s = Sparkline(width=3, every=2)
    assert s.text() == ""
    for v in (4.0, 2.0, 3.0, 3.0, 1.0, 1.0, 9.0):  # means 3, 3, 1; the 9 waits for a pair
        s.add(v)
    assert s.points == [3.0, 3.0, 1.0] and s.text() == BLOCKS[-1] * 2 + BLOCKS[0]
    s.add(float("nan"))  # skipped, not drawn
    s.add(math.inf)
    s.add(1.0)  # (9 + 1) / 2 = 5 pushes the first 3 out
    assert s.points == [3.0, 1.0, 5.0]
    assert s.text() == BLOCKS[round(0.5 * 7)] + BLOCKS[0] + BLOCKS[-1]
    flat = Sparkline(width=4, every=1)
    for _ in range(4):
        flat.add(2.0)
    assert flat.text() == BLOCKS[0] * 4


class FakeBar:
    def __init__(self):
        self.stats = []

    def add_task(self, *args, **kwargs):
        return 1

    def update(self, task, completed, stats):
        self.stats.append(stats)


def test_the_live_bar_shows_the_loss_and_its_sparkline():
    p = LMProgress(unit="tok")
    p.progress = FakeBar()  # as on a terminal
    p("start", {"total": 100, "done": 0})
    for step in range(30):
        p("step", {"done": step + 1, "loss": 3.0 - step / 10, "tokens_per_second": 1000.0})
    last = p.progress.stats[-1]
    assert last.startswith("loss 0.1000 ") and "1,000 tok/s" in last
    assert BLOCKS[-1] + BLOCKS[round(7 / 2)] + BLOCKS[0] in last  # falling: high to low
