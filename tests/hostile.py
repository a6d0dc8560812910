"""The rows of tests/test_hostile_inputs.py and how one is run and judged.

A helper module, not a test module (test modules never import each other).
See the docstring of tests/test_hostile_inputs.py for what every row must
hold to.
"""

import builtins
import hashlib
import os
import shutil
import signal
import stat
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest

from hostile_makers import invoke



@dataclass
class Case:
    id: str
    argv: tuple            # "{w}" is the row's folder (also the working directory), "{data}" good data
    code: int              # expected exit status
    says: tuple = ()       # fragments the one line on stderr must hold
    make: Optional[Callable] = None    # make(w, base) writes the bad input
    deny: Optional[str] = None         # a file in w that open() refuses (PermissionError)
    input: Optional[bytes] = None      # stdin
    max_alloc_mb: Optional[int] = None  # peak memory the command may allocate
    keep: tuple = ()                   # paths outside w ({w} allowed) that must stay as they were
    memory: Optional[int] = None       # bytes of memory the machine claims to have available
    patch: Optional[Callable] = None   # patch(monkeypatch, base): what nnlab knows (checksums)


TEMP_PATTERNS = (".*.tmp", "*.tmp", "*.part", ".*.part")
# Hang guard, not a speed test: every row ends in well under a second when
# right; a row that blocks (a FIFO opened for reading) fails instead of
# stopping the whole run.
HANG_SECONDS = 600


def describe_path(path):
    """What a path is, for before/after comparison: a regular file's sha256,
    a link's target, another kind's type; never opens a FIFO or a device."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    if stat.S_ISREG(st.st_mode):
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if stat.S_ISLNK(st.st_mode):
        return f"link to {os.readlink(path)}"
    return f"{stat.S_IFMT(st.st_mode):o} {getattr(st, 'st_rdev', 0)}"


def snapshot(folder):
    """{relative path: describe_path} of everything under ``folder``."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = Path(root) / name
            out[str(path.relative_to(folder))] = describe_path(path)
    return out


@contextmanager
def open_refused(path):
    """open() of ``path`` raises PermissionError, as chmod 000 would for a
    non-root user (the tests may run as root, whom chmod does not stop)."""
    if path is None:
        yield
        return
    denied = os.path.realpath(path)
    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and \
                os.path.realpath(os.fsdecode(file)) == denied:
            raise PermissionError(13, "Permission denied", os.fsdecode(file))
        return real_open(file, *args, **kwargs)

    builtins.open = guarded
    try:
        yield
    finally:
        builtins.open = real_open


@contextmanager
def peak_memory(on):
    """Yields a list that receives the peak of traced allocations (bytes)."""
    peak = []
    if not on:
        yield peak
        return
    tracemalloc.start()
    try:
        yield peak
        peak.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


@contextmanager
def hang_guard(seconds=HANG_SECONDS):
    def expire(signum, frame):
        raise TimeoutError(f"the command still ran after {seconds} s: it hangs")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def params(cases):
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return [pytest.param(c, id=c.id) for c in cases]


def run_case(case, base, tmp_path, monkeypatch):
    """Runs one row in a fresh folder and checks everything it must hold to."""
    w = tmp_path / "work"
    w.mkdir()
    # Valid checkpoints under the default names: a failed run must not touch them.
    shutil.copy(base.lm, w / "charlm.npz")
    shutil.copy(base.cnn, w / "cnn.npz")
    if case.make is not None:
        case.make(w, base)
    monkeypatch.chdir(w)
    if case.memory is not None:
        from nnlab import memory

        monkeypatch.setattr(memory, "available_memory", lambda: case.memory)
    if case.patch is not None:
        case.patch(monkeypatch, base)
    args = [a.format(w=w, data=base.data, base=base.folder) for a in case.argv]
    keep = [k.format(w=w) for k in case.keep]
    before, kept = snapshot(w), {k: describe_path(k) for k in keep}
    with hang_guard(), open_refused(case.deny and w / case.deny), \
            peak_memory(case.max_alloc_mb) as peak:
        result = invoke(args, input=case.input)

    # No traceback: CliRunner keeps an uncaught exception instead of printing it.
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {type(result.exception).__name__}: {result.exception}")
    assert "Traceback" not in result.output
    assert result.exit_code == case.code, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got: {result.stderr!r}"
    message = lines[0]
    for fragment in case.says:
        assert fragment in message, message
    if case.max_alloc_mb:
        assert peak[0] < case.max_alloc_mb << 20, f"allocated {peak[0] >> 20} MB before refusing"

    after = snapshot(w)
    new = sorted(set(after) - set(before))
    leftovers = [n for n in new if any(Path(n).match(p) for p in TEMP_PATTERNS)]
    assert not leftovers, f"temporary files left behind: {leftovers}"
    assert not new, f"new files written by a failed command: {new}"
    changed = sorted(n for n in before if after.get(n) != before[n])
    assert not changed, f"files changed or removed by a failed command: {changed}"
    changed = [k for k in keep if describe_path(k) != kept[k]]
    assert not changed, f"changed or created by a failed command: {changed}"
