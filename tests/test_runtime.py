"""The runtime set-up: the kernel cache folder and its fallback, --threads,
and nnlab warmup."""

import os
import subprocess
import sys

import numba
import pytest

from clirun import assert_clean_failure, run


def python(code, **env):
    """Run ``code`` in a fresh interpreter (the set-up happens once per
    process, before numba loads) with these environment variables."""
    full = {k: v for k, v in os.environ.items()
            if k not in ("NUMBA_CACHE_DIR", "NNLAB_NO_CACHE", "NUMBA_NUM_THREADS")}
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True,
                          text=True, timeout=120)


def test_cache_folder_is_per_user_and_keyed_by_the_kernel_sources(tmp_path):
    out = python("import os; from nnlab.runtime import prepare_runtime; prepare_runtime(); print(os.environ['NUMBA_CACHE_DIR'])",
                 XDG_CACHE_HOME=str(tmp_path))
    assert out.returncode == 0, out.stderr
    folder = out.stdout.strip()
    assert os.path.dirname(folder) == str(tmp_path / "nnlab")
    assert os.path.basename(folder).startswith("kernels-")
    assert os.path.isdir(folder) and out.stderr == ""


def test_no_writable_cache_folder_compiles_in_memory_and_says_so_once(tmp_path):
    """A cache home under a plain file can't be created (even by root): the
    kernels still run, uncached, after one line on stderr."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = ("from nnlab.runtime import prepare_runtime; prepare_runtime(); prepare_runtime()\n"
            "import numpy as np, os\n"
            "from nnlab.kernels import relu_forward\n"
            "from nnlab.kernels._jit import CACHE\n"
            "out, _ = relu_forward(np.array([-1.0, 2.0], dtype=np.float32))\n"
            "print(os.environ['NNLAB_NO_CACHE'], CACHE, out.tolist())")
    out = python(code, XDG_CACHE_HOME=str(blocker / "cache"), HOME=str(blocker))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "False", "[0.0,", "2.0]"]
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and "no writable folder for the kernel cache" in lines[0]


def test_threads_sets_numba_threads_before_it_loads():
    out = python("from nnlab.runtime import prepare_runtime; prepare_runtime(threads=1)\n"
                 "import numba; print(numba.config.NUMBA_NUM_THREADS)")
    assert out.stdout.strip() == "1", out.stderr
    out = python("import os; from nnlab.runtime import prepare_runtime; prepare_runtime()\n"
                 "import numba; print(numba.config.NUMBA_NUM_THREADS)")
    assert out.stdout.strip() == str(len(os.sched_getaffinity(0)))


@pytest.mark.parametrize("value", ["0", "-2", "x"])
def test_bad_thread_counts_are_usage_errors(value):
    assert_clean_failure(run("sample", "x.npz", "--threads", value), 2, "--threads")


def test_threads_option_resizes_a_loaded_pool(tmp_path, tiny_mnist):
    before = numba.get_num_threads()
    try:
        result = run("train-cnn", "--data", tiny_mnist, "--limit", 32, "--epochs", 1,
                     "--out", tmp_path / "cnn.npz", "--threads", 1)
        assert result.exit_code == 0, result.output
        assert numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(before)


def test_warmup_runs_every_model_once():
    from nnlab.nn.warmup import TASKS

    result = run("warmup")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("kernels ready in ")
    for name, _ in TASKS:
        assert f"compiling: {name}" in result.stderr
    assert {name for name, _ in TASKS} >= {"LeNet-5", "ResNet", "LSTM language model"}



def test_short_samples_never_load_numba(tmp_path):
    """`nnlab sample --len 200` steps the model in numpy (see nn/sample.py),
    so it skips Numba's start-up; a long sample uses the fused kernel."""
    text = tmp_path / "t.txt"
    text.write_text("abcabcabd" * 20)
    lm = tmp_path / "lm.npz"
    result = run("train-charlm", text, "--steps", 2, "--hidden", 8, "--out", lm)
    assert result.exit_code == 0, result.output
    code = ("import sys\nfrom nnlab.cli.main import cli\n"
            "try:\n    cli(['sample', sys.argv[1], '--len', sys.argv[2]])\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "print('numba' in sys.modules, file=sys.stderr)")
    for length, loaded in (("200", "False"), ("5000", "True")):
        out = subprocess.run([sys.executable, "-c", code, str(lm), length], capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert len(out.stdout) >= int(length) and out.stderr.strip() == loaded


FAULTS = """
import resource, sys
from nnlab.runtime import prepare_runtime
if sys.argv[1] == "1":
    prepare_runtime()
import numpy as np
def step():  # as a training step does: several big blocks alive at once, then freed
    blocks = [np.ones(8 << 20, np.uint8) for _ in range(4)]
    del blocks
for _ in range(3):
    step()  # warm up: the first blocks are faulted in once
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_freed_blocks_are_reused_without_faulting_pages_in_again():
    # 10 steps of four 8 MiB blocks: 2,048 pages each when malloc returns
    # them to the system between steps (20,280 here), none once it keeps them.
    counts = []
    for prepared in ("0", "1"):
        out = subprocess.run([sys.executable, "-c", FAULTS, prepared], capture_output=True,
                             text=True, timeout=120, check=True)
        counts.append(int(out.stdout))
    without, with_settings = counts
    if without < 5000:
        pytest.skip(f"this C library already reuses the blocks ({without} faults)")
    assert with_settings < 1000, counts
