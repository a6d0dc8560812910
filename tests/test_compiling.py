"""The "compiling kernels" line (cli/compiling.py): once, at the first
compilation of a run, and never when the kernels come from the cache."""

import os
import subprocess
import sys

from nnlab.cli.compiling import NO_CACHE, CompileNotice, compile_message


def test_one_line_and_one_spinner_per_outermost_compilation():
    said, spins = [], []
    notice = CompileNotice("compiling", said.append, spins.append)
    notice.start()
    notice.start()  # a callee compiled inside the kernel
    notice.end()
    notice.end()
    notice.start()  # the next kernel, later in the run
    notice.end()
    assert said == ["compiling"]
    assert spins == [True, False, True, False]


def test_no_spinner_off_a_terminal():
    said = []
    notice = CompileNotice("compiling", said.append)
    notice.start()
    notice.end()
    notice.end()  # an unmatched end leaves it at rest
    notice.start()
    assert said == ["compiling"] and notice.depth == 1


def test_message_names_the_cache_or_its_absence():
    home = os.path.expanduser("~")
    line = compile_message({"NUMBA_CACHE_DIR": os.path.join(home, ".cache", "nnlab", "k")})
    assert line.startswith("nnlab: compiling kernels for this machine, once: ")
    assert os.path.join("~", ".cache", "nnlab", "k") in line
    assert compile_message({"NNLAB_NO_CACHE": "1"}) == NO_CACHE


def _train(folder, cache):
    env = {k: v for k, v in os.environ.items() if k != "NNLAB_COMPILE_NOTICE"}
    env["NUMBA_CACHE_DIR"] = str(cache)
    return subprocess.run(
        [sys.executable, "-m", "nnlab.cli.main", "train-charlm", "hello.txt", "--steps", "1",
         "--hidden", "8", "--out", "lm.npz", "--force"],
        cwd=folder, env=env, capture_output=True, text=True, check=True)


def test_first_run_says_it_compiles_and_the_next_does_not(tmp_path):
    # A cold kernel cache of its own: this run compiles the LSTM's kernels.
    (tmp_path / "hello.txt").write_text("hello")
    cache = tmp_path / "kernels"
    first = _train(tmp_path, cache)
    lines = [line for line in first.stderr.splitlines() if "compiling kernels" in line]
    assert lines == [compile_message({"NUMBA_CACHE_DIR": str(cache)})]
    assert "compiling" not in first.stdout
    second = _train(tmp_path, cache)
    assert "compiling" not in second.stderr
