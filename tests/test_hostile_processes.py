"""Hostile conditions that need a real nnlab process: NUMBA_NUM_THREADS and a
missing kernel cache (read when the process starts), Ctrl-C before Click
runs, two runs into the same checkpoint, a terminal on stdin, and the
checkpoint's folder removed while a run trains; and a stderr that must stay
empty, which only a process shows whole. The other cases of the
second hostile-input pass are rows in tests/hostile_rows_pass2.py.

No test waits for a duration: runs that must still be going are given
10**9 steps, which no machine finishes, and are stopped with SIGTERM once
their output says they train; every wait has only a generous hang guard.
"""

import os
import pty
import shutil
import signal
import subprocess
import sys
import time

import pytest

from hostile_makers import LM_TRAIN, POEM, invoke

TINY = ("--hidden", "8", "--layers", "1", "--batch-size", "2", "--seq-len", "8")
ENDLESS = (*TINY, "--steps", str(10 ** 9), "--eval-every", str(10 ** 9))
HANG = 300  # seconds: a hang guard, not a speed test


def nnlab(*args):
    return [sys.executable, "-m", "nnlab.cli.main", *map(str, args)]


def run(args, cwd, env=None, **kwargs):
    proc = subprocess.run(nnlab(*args), cwd=cwd, capture_output=True, timeout=HANG,
                          env=env or dict(os.environ, NUMBA_NUM_THREADS="1"), **kwargs)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def lines(text):
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture
def poem(tmp_path):
    (tmp_path / "poem.txt").write_text(POEM)
    return tmp_path / "poem.txt"


def start(args, cwd):
    """A run in the background; returns once it says it trains (stderr), with the process."""
    proc = subprocess.Popen(nnlab(*args), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, NUMBA_NUM_THREADS="1"),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        line = proc.stderr.readline().decode()
        seen.append(line)
        if line.startswith(("training a", "resuming")) or not line:
            break
    assert seen[-1].startswith("training a"), "".join(seen)
    return proc


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=HANG)
    return proc.returncode, err.decode()


@pytest.mark.parametrize("value", ["0", "-1", "garbage", "99999"])
def test_numba_num_threads_that_numba_cannot_take(poem, value):
    """0 and -1 ended in a traceback, text in a 10-line warning, 99999 in a
    segmentation fault; now the run trains, with one note at the end."""
    env = dict(os.environ, NUMBA_NUM_THREADS=value)
    code, out, err = run(("train-charlm", poem, *LM_TRAIN, "--out", "lm.npz"), poem.parent, env)
    assert code == 0 and "Traceback" not in err, err
    assert lines(err)[-1].startswith("nnlab: NUMBA_NUM_THREADS=") and value in lines(err)[-1], err
    assert sum("NUMBA_NUM_THREADS" in line for line in lines(err)) == 1, err
    assert (poem.parent / "lm.npz").is_file()


def test_no_kernel_cache_does_not_add_a_line_to_an_error(tmp_path):
    """With no writable cache folder its note came first on stderr, so every
    failing command said two lines, and --version one it did not need."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "NNLAB_NO_CACHE")}
    env.update(XDG_CACHE_HOME=str(blocker / "cache"), HOME=str(blocker))
    code, _, err = run(("eval", "nope.npz"), tmp_path, env)
    assert code == 1 and lines(err) == ["Error: nope.npz: no such checkpoint"], err
    code, out, err = run(("--version",), tmp_path, env)
    assert code == 0 and err == "" and "0.1.0" in out


def test_ctrl_c_while_the_command_starts(tmp_path):
    """A KeyboardInterrupt during the first imports (before Click can catch
    it) printed a traceback from inside `import click`. Made deterministic
    here by raising it from the import itself."""
    code = ("import builtins\n"
            "real = builtins.__import__\n"
            "def interrupted(name, *args, **kwargs):\n"
            "    if name == 'click':\n"
            "        raise KeyboardInterrupt\n"
            "    return real(name, *args, **kwargs)\n"
            "builtins.__import__ = interrupted\n"
            "import nnlab.cli.main\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          timeout=HANG)
    err = proc.stderr.decode()
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert lines(err) == ["Aborted; files already on disk are as they were."]


def test_two_runs_into_one_checkpoint(poem):
    """Both ran, took turns replacing lm.npz, and both said "checkpoint
    lm.npz" (lm.best.npz held the other's best); the second is now refused."""
    first = start(("train-charlm", poem, *ENDLESS, "--out", "lm.npz"), poem.parent)
    try:
        assert (poem.parent / ".lm.npz.lock").exists()
        code, out, err = run(("train-charlm", poem, *TINY, "--steps", "2", "--seed", "1",
                              "--out", "lm.npz"), poem.parent)
        assert code == 1 and out == "", err
        assert lines(err) == ["Error: another nnlab run is training into lm.npz now; wait for "
                              "it to end, or give --out another name"], err
        assert not (poem.parent / "lm.npz").exists()
    finally:
        code, err = stop(first)
    assert code == 143, err
    assert not (poem.parent / ".lm.npz.lock").exists()
    result = invoke(["eval", poem.parent / "lm.npz", "--json"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", [("train-charlm", "-"), ("eval", "{ckpt}", "-")])
def test_stdin_a_terminal(poem, command):
    """`nnlab train-charlm -` at a prompt waited without a word for a corpus
    typed by hand; now one line and exit 1."""
    ckpt = poem.parent / "lm.npz"
    trained = invoke(["train-charlm", poem, *LM_TRAIN, "--out", ckpt])
    assert trained.exit_code == 0, trained.output
    controller, terminal = pty.openpty()
    try:
        args = [a.format(ckpt=ckpt) for a in command]
        code, _, err = run(args, poem.parent, stdin=terminal)
    finally:
        os.close(controller)
        os.close(terminal)
    assert code == 1 and len(lines(err)) == 1 and "stdin is a terminal" in err, err


def test_checkpoint_folder_removed_while_training(poem):
    """The folder of --out removed mid-run: the save at the stop fails, and
    the one line says where the run stopped and that nothing was saved (it
    said only "folder ... does not exist")."""
    runs = poem.parent / "runs"
    runs.mkdir()
    proc = start(("train-charlm", poem, *ENDLESS, "--out", "runs/lm.npz"), poem.parent)
    shutil.rmtree(runs)
    code, err = stop(proc)
    assert code == 1 and "Traceback" not in err, err
    last = lines(err)[-1]
    assert last.startswith("Error: training stopped at step "), err
    assert "runs/lm.npz" in last and "does not exist" in last
    assert "nothing was saved" in last


def test_sample_at_the_smallest_temperature(poem):
    """--temp 5e-324 overflowed score / temp and numpy warned in two lines on
    stderr; the text is the greedy one, as the limit of sampling is."""
    trained = invoke(["train-charlm", poem, *LM_TRAIN, "--out", poem.parent / "lm.npz"])
    assert trained.exit_code == 0, trained.output
    code, out, err = run(("sample", "lm.npz", "--len", "40", "--temp", "5e-324"), poem.parent)
    assert code == 0 and err == "", err
    _, greedy, _ = run(("sample", "lm.npz", "--len", "40", "--argmax"), poem.parent)
    assert out == greedy
