"""nnlab plot: the curves a checkpoint's history holds, in text (plotext)
and as a PNG (matplotlib, when installed), several runs overlaid."""

import pytest

from clirun import assert_clean_failure, run
from nnlab.cli.plot import series

POEM = "hello world, hello there\n" * 20


def test_series_of_each_kind():
    lm = {"kind": "charlm", "history": [
        {"step": 3, "seconds": 60.0, "train_loss": 2.0, "val_loss": 2.5},
        {"step": 6, "seconds": 120.0, "train_loss": 1.5, "val_loss": None}]}
    assert series(lm, "loss", "steps") == [("train loss", [3, 6], [2.0, 1.5]),
                                           ("val loss", [3], [2.5])]
    assert series(lm, "loss", "minutes")[0][1] == [1.0, 2.0]
    assert series(lm, "accuracy", "steps") == []
    cnn = {"kind": "cnn", "history": [
        {"epoch": 1.0, "seconds": 30.0, "train_loss": 0.5, "test_loss": 0.4,
         "train_accuracy": 0.8, "test_accuracy": 0.9},
        {"epoch": 2.0, "seconds": 30.0, "train_loss": 0.3, "test_loss": 0.2,
         "train_accuracy": 0.9, "test_accuracy": 0.95}]}
    # A CNN's entries hold each epoch's own seconds: the minutes add up.
    assert series(cnn, "loss", "minutes")[1] == ("test loss", [0.5, 1.0], [0.4, 0.2])
    assert series(cnn, "accuracy", "steps")[1] == ("test accuracy", [1.0, 2.0], [0.9, 0.95])


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plot")
    (tmp / "poem.txt").write_text(POEM)
    outs = []
    for hidden in (4, 8):
        out = tmp / f"h{hidden}.npz"
        r = run("train-charlm", tmp / "poem.txt", "--hidden", hidden, "--layers", 1,
                "--batch-size", 2, "--seq-len", 8, "--steps", 6, "--eval-every", 2, "--out", out)
        assert r.exit_code == 0, r.output
        outs.append(out)
    return tmp, outs


def test_text_chart_overlays_runs_without_colour_codes(two_runs):
    _, (a, b) = two_runs
    r = run("plot", a, b, "--x", "minutes")
    assert r.exit_code == 0, r.output
    assert "h4.npz train loss" in r.stdout and "h8.npz val loss" in r.stdout
    assert "training minutes" in r.stdout and "\x1b[" not in r.stdout
    assert len(r.stdout.splitlines()) >= 10
    r = run("plot", a)
    assert r.exit_code == 0 and "step" in r.stdout and "epoch" not in r.stdout


def test_png_is_a_png(two_runs):
    pytest.importorskip("matplotlib")
    tmp, (a, _) = two_runs
    r = run("plot", a, "--png", tmp / "curve.png")
    assert r.exit_code == 0, r.output
    assert (tmp / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    notes = tmp / "notes.png"
    notes.write_text("not a picture")
    assert_clean_failure(run("plot", a, "--png", notes), 2, "--png", "not an nnlab PNG")
    assert notes.read_text() == "not a picture"


def test_nothing_to_draw_is_one_line(two_runs, tmp_path):
    _, (a, _) = two_runs
    assert_clean_failure(run("plot", a, "--y", "accuracy"), 1, "no accuracy figures")
    (tmp_path / "x.txt").write_text("hello")
    assert_clean_failure(run("plot", tmp_path / "x.txt"), 1, "x.txt")
    assert_clean_failure(run("plot"), 2, "CHECKPOINT")
