"""Options that did nothing or harm, in the cases that succeed or take more
than one command (issue 12, item 9); the refusals are rows of
tests/test_hostile_inputs.py (tests/hostile_rows_limits.py)."""

import os
import shutil

import pytest

from nnlab.nn.checkpoint import load_checkpoint
from clirun import run

S = ("--hidden", "16", "--layers", "1", "--seq-len", "16", "--batch-size", "4", "--steps", "3")
TEXT = "hello world, hello there\n" * 40


def ok(result):
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def trained(tmp_path, monkeypatch, no_user_data):
    """run.npz and run.best.npz, 3 steps of a tiny model."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "poem.txt").write_text(TEXT)
    ok(run("train-charlm", "poem.txt", *S, "--out", "run.npz"))
    return tmp_path


def names(folder):
    return sorted(p for p in os.listdir(folder) if p.endswith(".npz"))


def test_threads_beyond_the_cores_are_capped_with_a_note(trained):
    cores = len(os.sched_getaffinity(0))
    result = ok(run("sample", "run.npz", "--len", "5", "--threads", 1000))
    assert (f"note: --threads 1000 is more than the {cores} cores this process may use; "
            f"using {cores}") in result.stderr
    quiet = ok(run("sample", "run.npz", "--len", "5", "--threads", 1))
    assert "note:" not in quiet.stderr


def test_resume_from_best_goes_on_in_the_runs_own_file(trained):
    """Without --out, NAME.best.npz resumes into NAME.npz (moved away here),
    which keeps NAME.best.npz as the best; no NAME.best.best.npz."""
    shutil.move("run.npz", "elsewhere.chk")
    best_before = (trained / "run.best.npz").read_bytes()
    val_before = load_checkpoint("run.best.npz", kind="charlm")[0]["best_val"]
    result = ok(run("train-charlm", "--resume", "run.best.npz", "--steps", 6))
    assert "writing to run.npz (best: run.best.npz), not over run.best.npz" in result.stderr
    assert names(trained) == ["run.best.npz", "run.npz"]
    meta, _ = load_checkpoint("run.npz", kind="charlm")
    assert meta["step"] == 6
    # The best moves on only to a lower validation loss than the one it held.
    best, _ = load_checkpoint("run.best.npz", kind="charlm")
    replaced = (trained / "run.best.npz").read_bytes() != best_before
    assert best["best_val"] < val_before if replaced else best["best_val"] == val_before


def test_resume_from_best_with_out(trained):
    before = {n: (trained / n).read_bytes() for n in names(trained)}
    ok(run("train-charlm", "--resume", "run.best.npz", "--steps", 6, "--out", "branch.npz"))
    assert names(trained) == ["branch.best.npz", "branch.npz", "run.best.npz", "run.npz"]
    assert {n: (trained / n).read_bytes() for n in before} == before


def test_a_warmup_within_the_run_is_taken(trained):
    ok(run("train-charlm", "poem.txt", *S, "--warmup", 3, "--out", "w.npz"))
    meta, _ = load_checkpoint("w.npz", kind="charlm")
    assert meta["config"]["warmup_steps"] == 3
