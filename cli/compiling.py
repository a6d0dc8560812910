"""One line on stderr when a command compiles kernels, so that the first run
after an install does not sit silent: it spent 9-19 s compiling with no
word (the first `nnlab train-charlm data/hello.txt`). On a terminal a
spinner runs while a compilation is in progress.

Numba reports every compilation through its event API ("numba:compile",
start and end, nested for the functions a kernel calls); kernels loaded
from the cache send none, so a run with a warm cache prints nothing.
"""

import os
import sys

LINE = ("nnlab: compiling kernels for this machine, once: later runs load them from {where} "
        "(`nnlab warmup` compiles them all ahead)")
NO_CACHE = ("nnlab: compiling kernels for this machine: no writable kernel cache, so every run "
            "compiles them (set XDG_CACHE_HOME or NUMBA_CACHE_DIR)")


def compile_message(environ=os.environ):
    """The line, naming where the compiled kernels go."""
    if environ.get("NNLAB_NO_CACHE") == "1":
        return NO_CACHE
    where = environ.get("NUMBA_CACHE_DIR") or "the kernel cache"
    home = os.path.expanduser("~")
    if where.startswith(home + os.sep):
        where = "~" + where[len(home):]
    return LINE.format(where=where)


class CompileNotice:
    """Says ``message`` once, at the first compilation, through ``say``; and
    calls ``spin(True)`` when an outermost compilation starts and
    ``spin(False)`` when it ends (a spinner, on a terminal). Nested
    compilations (a kernel's callees) count as one."""

    def __init__(self, message, say, spin=None):
        self.message, self.say, self.spin = message, say, spin
        self.depth, self.said = 0, False

    def start(self):
        self.depth += 1
        if self.depth > 1:
            return
        if not self.said:
            self.said = True
            self.say(self.message)
        if self.spin is not None:
            self.spin(True)

    def end(self):
        self.depth = max(self.depth - 1, 0)
        if self.depth == 0 and self.spin is not None:
            self.spin(False)


def _spinner(console):
    """spin(on) for a rich console: a status spinner while compiling. rich
    refuses a second live display on versions before 14.1 (the progress bar
    is one): then there is no spinner, only the line."""
    state = {"status": None}

    def spin(on):
        if on and state["status"] is None:
            try:
                status = console.status("compiling kernels", spinner="dots")
                status.start()
            except Exception:  # rich.errors.LiveError on old rich: no spinner
                return
            state["status"] = status
        elif not on and state["status"] is not None:
            state["status"].stop()
            state["status"] = None
    return spin


def watch_compiles():
    """From now on, the line (and the spinner) when a kernel compiles. Call
    once numba is loaded (importing nnlab.nn loads it); without numba it
    does nothing, so that the commands that never need it start as fast.
    NNLAB_COMPILE_NOTICE=0 turns it off (the test suite does: its commands
    compile in whichever test runs first)."""
    if (os.environ.get("NNLAB_COMPILE_NOTICE") == "0" or "numba" not in sys.modules
            or getattr(watch_compiles, "notice", None)):
        return
    from numba.core import event

    from .ui import stderr_console

    console = stderr_console()

    def say(text):
        console.print(text, markup=False, soft_wrap=True, highlight=False)

    notice = CompileNotice(compile_message(), say,
                           _spinner(console) if console.is_terminal else None)

    class Listener(event.Listener):
        def on_start(self, ev):
            notice.start()

        def on_end(self, ev):
            notice.end()

    event.register("numba:compile", Listener())
    watch_compiles.notice = notice
