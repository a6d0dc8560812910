"""train-charlm, sample and eval of language models, end to end through CliRunner."""

import json
import os

import numpy as np
import pytest

from clirun import assert_clean_failure, run
from nnlab.nn.checkpoint import load_checkpoint

POEM = ("The rain in Spain stays mainly in the plain.\n"
        "In Hartford, Hereford and Hampshire hurricanes hardly ever happen.\n") * 8


@pytest.fixture
def poem(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text(POEM)
    return path


def small(*extra):
    return ["--hidden", 16, "--batch-size", 4, "--seq-len", 16, *extra]


def test_hello_the_lecture_example(tmp_path, monkeypatch):
    """The README's main job: train on hello, then greedy sampling from h gives hello."""
    monkeypatch.chdir(tmp_path)
    trained = run("train-charlm", "hello.txt")  # not here: the bundled file is used
    assert trained.exit_code == 0, trained.output
    assert "bundled" in trained.stderr
    assert "too small for a validation split" in trained.stderr
    assert "batch 32 -> 1, sequence length 64 -> 4" in trained.stderr
    assert (tmp_path / "charlm.npz").exists()
    sampled = run("sample", "--argmax", "--prime", "h", "--len", 4)
    assert sampled.exit_code == 0, sampled.output
    assert sampled.stdout == "hello"
    warm = run("sample", "--temp", 0.8, "--len", 30)
    assert warm.exit_code == 0 and len(warm.stdout) == 31  # the default prime "h" + 30
    assert set(warm.stdout) <= set("helo")


def test_train_json_eval_and_best_checkpoint(tmp_path, poem):
    out = tmp_path / "lm.npz"
    result = run("train-charlm", poem, *small("--steps", 30, "--eval-every", 10),
                 "--out", out, "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert set(metrics) >= {"train_loss", "val_loss", "seconds", "tokens_per_second",
                            "checkpoint"}
    assert metrics["checkpoint"] == str(out) and metrics["val_loss"] > 0
    assert metrics["best_checkpoint"] == str(tmp_path / "lm.best.npz")
    assert "val loss" in result.stderr and "step 30/30" in result.stderr
    meta, arrays = load_checkpoint(out, kind="charlm")
    assert meta["vocab"] == "".join(sorted(set(POEM))) and meta["step"] == 30
    assert "data/val" in arrays and "state/l0.h" in arrays and "opt/m/l0.Wx" in arrays
    best_meta, _ = load_checkpoint(tmp_path / "lm.best.npz", kind="charlm")
    assert best_meta["best_val"] == min(h["val_loss"] for h in meta["history"])

    ev = run("eval", out, "--json")
    assert ev.exit_code == 0, ev.output
    report = json.loads(ev.stdout)
    assert report["loss"] == pytest.approx(metrics["val_loss"], rel=1e-5)
    assert report["bits_per_char"] == pytest.approx(report["loss"] / np.log(2))
    assert report["perplexity"] == pytest.approx(np.exp(report["loss"]))
    on_file = run("eval", out, poem)
    assert on_file.exit_code == 0 and "nats/char" in on_file.stdout
    assert "perplexity" in on_file.stdout


def test_stdin_corpus(tmp_path):
    result = run("train-charlm", "-", *small("--steps", 5), "--out", tmp_path / "s.npz",
                 "--json", input=POEM)
    assert result.exit_code == 0, result.output
    meta, _ = load_checkpoint(tmp_path / "s.npz")
    assert meta["corpus"]["path"] == "-"


def test_rnn_cell(tmp_path, poem):
    result = run("train-charlm", poem, "--cell", "rnn", *small("--steps", 5),
                 "--out", tmp_path / "r.npz")
    assert result.exit_code == 0, result.output
    sampled = run("sample", tmp_path / "r.npz", "--len", 20, "--prime", "The")
    assert sampled.exit_code == 0 and sampled.stdout.startswith("The")
    assert len(sampled.stdout) == 23


def test_sample_is_repeatable_by_seed(tmp_path, poem):
    out = tmp_path / "lm.npz"
    assert run("train-charlm", poem, *small("--steps", 5), "--out", out).exit_code == 0
    a = run("sample", out, "--len", 50, "--seed", 3, "--temp", 1.5).stdout
    b = run("sample", out, "--len", 50, "--seed", 3, "--temp", 1.5).stdout
    c = run("sample", out, "--len", 50, "--seed", 4, "--temp", 1.5).stdout
    assert a == b and a != c
    # No prime: the text starts after an unprinted newline.
    assert len(a) == 50


def test_resume_continues_and_refuses_contradictions(tmp_path, poem):
    out = tmp_path / "lm.npz"
    args = small("--steps", 8, "--eval-every", 4)
    assert run("train-charlm", poem, *args, "--out", out).exit_code == 0
    resumed = run("train-charlm", "--resume", out, "--steps", 12, "--json")
    assert resumed.exit_code == 0, resumed.output  # FILE comes from the checkpoint
    assert json.loads(resumed.stdout)["steps"] == 12
    assert "resuming at step 8" in resumed.stderr
    bad = run("train-charlm", poem, "--resume", out, "--hidden", 32, "--steps", 20)
    assert_clean_failure(bad, 2, "hidden", "16")
    other = tmp_path / "other.txt"
    other.write_text("completely different characters: XYZ 123\n" * 10)
    assert_clean_failure(run("train-charlm", other, "--resume", out, "--steps", 20), 2,
                         "vocabulary")
    done = run("train-charlm", "--resume", out)
    assert_clean_failure(done, 2, "already holds 12 steps")


def test_time_limit(tmp_path, poem, fake_clock):
    """A clock that reads 0.25 s later at every reading: --time-limit 1 stops
    after the fourth step (the run's first reading starts the count). No
    validation split: validating takes time too (tests/test_time_budget.py)."""
    fake_clock(0.25)
    result = run("train-charlm", poem, *small("--steps", 10 ** 6, "--time-limit", 1,
                                              "--val-frac", 0),
                 "--out", tmp_path / "t.npz", "--json")
    assert result.exit_code == 0, result.output
    assert "time limit of 1s reached at step 4" in result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["steps"] == 4 and metrics["seconds"] == pytest.approx(1.0)


@pytest.mark.parametrize("content, fragment", [
    (b"", "empty"),
    (b"\xff\xfe\x00a", "binary"),
    (b"caf\xe9 au lait", "not UTF-8"),
    (b"x", "single character"),
])
def test_bad_corpora(tmp_path, content, fragment):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    result = run("train-charlm", path, "--out", tmp_path / "lm.npz")
    assert_clean_failure(result, 1, fragment)
    assert not (tmp_path / "lm.npz").exists()


def test_missing_corpus_and_folder(tmp_path):
    assert_clean_failure(run("train-charlm", tmp_path / "nope.txt"), 1, "no such file")
    assert_clean_failure(run("train-charlm", tmp_path), 1, "folder")
    assert_clean_failure(run("train-charlm"), 2, "FILE")


@pytest.mark.parametrize("args, fragment", [
    (["--temp", "0"], "--temp"),
    (["--temp", "-1"], "--temp"),
    (["--temp", "nan"], "--temp"),
    (["--temp", "warm"], "--temp"),
    (["--len", "-5"], "--len"),
    (["--top-k", "500"], "--top-k"),
    (["--prime", "hé€"], "'é', '€'"),
])
def test_sample_usage_errors(tmp_path, args, fragment):
    run("train-charlm", "hello.txt", "--steps", 2, "--out", tmp_path / "h.npz")
    result = run("sample", tmp_path / "h.npz", *args)
    assert_clean_failure(result, 2, fragment)


def test_sample_needs_a_language_model(tmp_path, tiny_mnist, no_user_data):
    assert_clean_failure(run("sample", tmp_path / "missing.npz"), 1, "missing.npz")
    trained = run("train-cnn", "--data", tiny_mnist, "--epochs", 1, "--out", tmp_path / "c.npz")
    assert trained.exit_code == 0
    assert_clean_failure(run("sample", tmp_path / "c.npz"), 1, "cnn checkpoint", "charlm")
    (tmp_path / "junk.npz").write_bytes(os.urandom(100))
    assert_clean_failure(run("sample", tmp_path / "junk.npz"), 1, "junk.npz")


def test_eval_text_with_unknown_characters(tmp_path):
    run("train-charlm", "hello.txt", "--steps", 2, "--out", tmp_path / "h.npz")
    assert_clean_failure(run("eval", tmp_path / "h.npz"), 2, "no validation text")
    (tmp_path / "t.txt").write_text("hello world")
    assert_clean_failure(run("eval", tmp_path / "h.npz", tmp_path / "t.txt"), 1, "' '", "'w'")
