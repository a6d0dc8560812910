"""--log FILE.jsonl on the trainers: one strict JSON object per validation
(per epoch for train-cnn), appended; "-" is stdout with the results moved
to stderr; files that are not logs are refused before training."""

import json

import pytest

from clirun import assert_clean_failure, run, strict_json

POEM = "hello world, hello there\n" * 20
LM = ("--hidden", 8, "--layers", 1, "--batch-size", 2, "--seq-len", 8, "--steps", 6,
      "--eval-every", 3)


@pytest.fixture(autouse=True)
def _isolated(no_user_data):
    pass


def lines(text):
    return [strict_json(line) for line in text.splitlines()]


def test_cnn_epochs_are_appended(tmp_path, tiny_mnist):
    log = tmp_path / "run.jsonl"
    args = ("train-cnn", "--data", tiny_mnist, "--epochs", 2, "--batch-size", 32, "--log", log)
    r = run(*args, "--out", tmp_path / "a.npz")
    assert r.exit_code == 0, r.output
    first = lines(log.read_text())
    assert [e["epoch"] for e in first] == [1.0, 2.0] and [e["step"] for e in first] == [8, 16]
    for e in first:
        assert {"train_loss", "test_loss", "test_accuracy", "images_per_second", "lr",
                "wall_seconds"} <= set(e) and e["lr"] > 0
    assert first[1]["lr"] < first[0]["lr"]  # the cosine decays
    assert run(*args, "--out", tmp_path / "b.npz").exit_code == 0
    assert len(lines(log.read_text())) == 4  # appended, not replaced


def test_log_dash_is_stdout_and_results_go_to_stderr(tmp_path):
    (tmp_path / "poem.txt").write_text(POEM)
    r = run("train-charlm", tmp_path / "poem.txt", *LM, "--out", tmp_path / "lm.npz", "--log", "-")
    assert r.exit_code == 0, r.output
    logged = lines(r.stdout)  # nothing else on stdout
    assert [e["step"] for e in logged] == [3, 6]
    assert all({"train_loss", "val_loss", "lr", "tokens_per_second"} <= set(e) for e in logged)
    assert "checkpoint" in r.stderr and "nats/char" in r.stderr


def test_sequence_and_reader_logs_carry_their_figures(tmp_path):
    from tinydata import write_stroke_dataset

    pairs = tmp_path / "p.tsv"
    pairs.write_text("".join(f"{w}\t{w[0]}\n" for w in ["abc", "bca", "cab", "bba"] * 10))
    r = run("train-classifier", pairs, "--hidden", 4, "--embed", 2, "--batch-size", 4,
            "--steps", 4, "--eval-every", 2, "--out", tmp_path / "c.npz", "--log",
            tmp_path / "c.jsonl")
    assert r.exit_code == 0, r.output
    assert [("accuracy" in e, e["step"]) for e in lines((tmp_path / "c.jsonl").read_text())] \
        == [(True, 2), (True, 4)]
    r = run("train-reader", "--data", write_stroke_dataset(tmp_path / "d", 100, 20),
            "--no-download", "--max-digits", 2, "--channels", "2,2,2", "--hidden", 4,
            "--embed", 2, "--batch-size", 4, "--val-per-length", 2, "--steps", 2, "--eval-every", 2,
            "--out", tmp_path / "r.npz", "--log", tmp_path / "r.jsonl", "--json")
    assert r.exit_code == 0, r.output
    (entry,) = lines((tmp_path / "r.jsonl").read_text())
    assert {"exact_match", "by_length", "items_per_second"} <= set(entry)
    assert json.loads(r.stdout)["steps"] == 2  # --json still prints its object


def test_refuses_what_is_not_a_log(tmp_path):
    (tmp_path / "poem.txt").write_text(POEM)
    base = ("train-charlm", tmp_path / "poem.txt", *LM, "--out", tmp_path / "lm.npz")
    notes = tmp_path / "notes.md"
    notes.write_text("# my notes\n")
    assert_clean_failure(run(*base, "--log", notes), 2, "--log", "not a JSON Lines log")
    assert notes.read_text() == "# my notes\n"
    assert_clean_failure(run(*base, "--log", tmp_path), 2, "--log", "folder")
    assert_clean_failure(run(*base, "--log", tmp_path / "lm.npz"), 2, "--log", "checkpoint")
    assert_clean_failure(run(*base, "--log", "-", "--json"), 2, "--log", "--json")
    assert not (tmp_path / "lm.npz").exists()  # refused before training
