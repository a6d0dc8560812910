"""Ctrl-C and SIGTERM during training: the first asks the trainer to stop
after the current step and save; a second aborts at once (the checkpoint on
disk, written atomically, stays as it was)."""

import signal
from contextlib import contextmanager


class StopRequest:
    """Callable flag for the trainers' ``stop`` argument."""

    def __init__(self):
        self.signum = None

    def __call__(self):
        return self.signum is not None

    @property
    def exit_code(self):
        return 128 + self.signum  # 130 for SIGINT, 143 for SIGTERM, as shells report


@contextmanager
def graceful_stop(say):
    """Installs the handlers for the block; ``say(text)`` tells the user."""
    request = StopRequest()

    def handler(signum, frame):
        if request.signum is not None:
            raise KeyboardInterrupt
        request.signum = signum
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        say(f"{name}: stopping after this step and saving; press Ctrl-C again to abort "
            "without saving")

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
