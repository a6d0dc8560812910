"""Data-parallel training under mpirun (nn/distributed.py): two ranks take
together the steps one process takes, and a failure on one rank ends the
job with its error said once. Each job is a real ``mpirun -n 2``; skipped
where mpirun or mpi4py is missing (the mpi extra installs both; CI does).

Two ranks sum each step's gradient in another order than one process, so
figures agree to float rounding, not bit for bit: 1e-6 relative here, over
a few dozen steps. The subprocess timeout only catches a hang; no test
here depends on how fast the machine is."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("mpi4py")
MPIRUN = shutil.which("mpirun")
pytestmark = pytest.mark.skipif(MPIRUN is None, reason="no mpirun on PATH")

NNLAB = [sys.executable, "-m", "nnlab.cli.main"]
HANG = 300  # seconds: far beyond these jobs' few; only a hang reaches it


def mpirun(*parts, cwd):
    """mpirun with the given app parts (lists of nnlab arguments), each one
    rank, or one part on two ranks."""
    # Root in CI's containers; and 2 ranks even where there is 1 core (Open MPI 5).
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               PRTE_MCA_rmaps_default_mapping_policy=":oversubscribe")
    cmd = [MPIRUN]
    if len(parts) == 1:
        cmd += ["-n", "2", *NNLAB, *map(str, parts[0])]
    else:
        for i, part in enumerate(parts):
            cmd += ([":"] if i else []) + ["-n", "1", *NNLAB, *map(str, part)]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=HANG)


def alone(args, cwd):
    return subprocess.run([*NNLAB, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=HANG)


def history(path):
    from nnlab.nn.checkpoint import load_checkpoint

    return load_checkpoint(path)[0]["history"]


def same_figures(a, b):
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        for key, value in x.items():
            if isinstance(value, float) and key not in ("seconds", "images_per_second"):
                assert y[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


@pytest.mark.parametrize("arch, limit, optimizer", [("lenet5", 256, "adam"),
                                                    ("alexnet", 97, "sgd")])
def test_two_ranks_train_a_cnn_as_one_process_does(tmp_path, tiny_mnist, arch, limit, optimizer):
    # AlexNet: dropout, whose masks every rank must draw alike; and 97 images
    # end each epoch with a batch of one, which one rank runs for nothing.
    # With SGD: Adam's first steps move each weight by about lr whatever the
    # size of its gradient, so AlexNet's near-zero gradients, whose sign the
    # summation order decides, part the runs by 1e-3 within a few steps.
    args = ["train-cnn", "--data", tiny_mnist, "--arch", arch, "--limit", limit, "--epochs", 2,
            "--batch-size", 32, "--threads", 1, "--augment", "--optimizer", optimizer, "--json"]
    one = alone(args + ["--out", "one.npz"], tmp_path)
    two = mpirun(args + ["--out", "two.npz"], cwd=tmp_path)
    assert one.returncode == 0 and two.returncode == 0, two.stderr
    a, b = json.loads(one.stdout), json.loads(two.stdout)  # one JSON object: rank 0's alone
    assert b["test_accuracy"] == a["test_accuracy"]
    same_figures(history(tmp_path / "one.npz"), history(tmp_path / "two.npz"))
    assert two.stderr.count(f"training {arch}") == 1  # progress from rank 0 only


def test_charlm_streams_split_and_resume_on_another_rank_count(tmp_path):
    (tmp_path / "poem.txt").write_text("the quick brown fox jumps over the lazy dog\n" * 40)
    # --min-lr-frac 1: a flat schedule, so that a run of 6 steps resumed to 12
    # is the run of 12; dropout: every rank must draw the same masks.
    args = ["train-charlm", "poem.txt", "--hidden", 16, "--embed", 8, "--batch-size", 4,
            "--seq-len", 8, "--eval-every", 3, "--dropout", 0.2, "--min-lr-frac", 1,
            "--threads", 1]
    assert alone(args + ["--steps", 12, "--out", "one.npz"], tmp_path).returncode == 0
    two = mpirun(args + ["--steps", 6, "--out", "two.npz"], cwd=tmp_path)
    assert two.returncode == 0, two.stderr
    r = alone(args + ["--steps", 12, "--resume", "two.npz", "--out", "two.npz"], tmp_path)
    assert r.returncode == 0, r.stderr
    same_figures(history(tmp_path / "one.npz"), history(tmp_path / "two.npz"))
    from nnlab.nn.checkpoint import load_checkpoint

    (_, a), (_, b) = load_checkpoint(tmp_path / "one.npz"), load_checkpoint(tmp_path / "two.npz")
    for key in ("state/l0.h", "state/l0.c"):  # every stream's carried state, gathered
        np.testing.assert_allclose(b[key], a[key], rtol=1e-5, atol=1e-6)


def test_a_failure_on_one_rank_ends_the_job_with_its_error_once(tmp_path, tiny_mnist):
    (tmp_path / "poem.txt").write_text("hello there\n" * 40)
    base = ["train-charlm", "--steps", 4, "--threads", 1, "--hidden", 8, "--out", "m.npz"]
    r = mpirun(base + ["poem.txt"], base + ["missing.txt"], cwd=tmp_path)
    assert r.returncode != 0
    assert r.stderr.count("missing.txt: no such file") == 1
    assert "nnlab rank 1: Error: missing.txt" in r.stderr
    # Ranks started with different models: one line from rank 0, before any step.
    cnn = ["train-cnn", "--data", tiny_mnist, "--epochs", 1, "--threads", 1, "--out", "c.npz"]
    r = mpirun(cnn, cnn + ["--arch", "alexnet"], cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.count("rank 1 has a different model or run from rank 0's") == 1
    assert not (tmp_path / "c.npz").exists()
