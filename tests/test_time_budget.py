"""--time-limit bounds the wall time, validations included, and --val-chars
bounds what a validation scores (issue 12, item 7).

On a 50 MB single-line text, ``--time-limit 3`` still ran at 60 s: every
validation scored 5.2 M characters, for 30 s, with nothing shown. The fake
clock (tests/conftest.py) reads 0.1 s later at every reading: once per
training step and once per chunk scored, so these runs stop at the same
place on any machine.
"""


import numpy as np
import pytest

from nnlab.cli import ui
from nnlab.cli.main import cli
from nnlab.data.text import Vocab
from nnlab.nn.checkpoint import load_checkpoint
from nnlab.nn.lm_data import evaluate_lm
from nnlab.nn.charlm_config import DEFAULT_VAL_CHARS
from nnlab.nn.restore import lm_model
from nnlab.nn.train_charlm import CharLMConfig, CharLMTrainer
from clirun import run, strict_json

SMALL = ("--hidden", "16", "--layers", "1", "--seq-len", "16", "--batch-size", "4")
TICK = 0.1


@pytest.fixture
def corpus(tmp_path, monkeypatch, no_user_data):
    """20,000 characters on one line; with --val-frac 0.5, 10,000 to validate on."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    path = tmp_path / "line.txt"
    path.write_text("".join(rng.choice(list("abcdefgh "), 20_000)))
    return path


def test_a_validation_that_cannot_finish_is_not_started(corpus, fake_clock):
    """All 10,000 characters (--val-chars 0) take 156 chunks, 15.6 s here: in
    a 5 s limit the run stops, saves, and says why there is no val loss."""
    fake_clock(TICK)
    result = run("train-charlm", corpus, *SMALL, "--steps", 10 ** 6, "--val-frac", 0.5,
                 "--val-chars", 0, "--time-limit", 5, "--json")
    assert result.exit_code == 0, result.output
    report = strict_json(result.stdout)
    assert report["val_loss"] is None and report["val_chars"] == 0
    assert report["best_checkpoint"] is None
    assert report["seconds"] <= 5.0
    assert "left for a validation of about" in result.stderr
    meta, _ = load_checkpoint("charlm.npz", kind="charlm")
    assert meta["step"] == report["steps"]
    text = run("train-charlm", corpus, *SMALL, "--steps", 10 ** 6, "--val-frac", 0.5,
               "--val-chars", 0, "--time-limit", 5, "--out", "again.npz")
    assert "(no val loss: the time limit stopped the validation)" in text.stdout


def test_val_chars_bounds_every_validation_and_the_report_says_so(corpus, fake_clock):
    fake_clock(TICK)
    result = run("train-charlm", corpus, *SMALL, "--steps", 10 ** 6, "--val-frac", 0.5,
                 "--val-chars", 300, "--eval-every", 10, "--time-limit", 5, "--json")
    assert result.exit_code == 0, result.output
    report = strict_json(result.stdout)
    assert report["val_chars"] == 300 and report["val_loss"] is not None
    assert report["seconds"] <= 5.0
    meta, arrays = load_checkpoint("charlm.npz", kind="charlm")
    assert meta["val_scored"] == 300 and meta["config"]["val_chars"] == 300
    assert len(meta["history"]) > 1 and all(h["val_chars"] == 300 for h in meta["history"])
    # The same, fixed part every time: the split's first 300 characters.
    model, _ = lm_model(meta, arrays)
    again = evaluate_lm(model, arrays["data/val"][:300], meta["batch"], meta["seq_len"])
    assert again == pytest.approx(report["val_loss"], rel=1e-6)
    text = run("train-charlm", corpus, *SMALL, "--steps", 20, "--val-frac", 0.5,
               "--val-chars", 300, "--out", "text.npz")
    assert "300 characters)" in text.stdout


def test_a_validation_still_running_at_the_limit_is_stopped(fake_clock):
    """When the estimate is wrong (here: made so), the deadline still holds:
    the validation stops at the first chunk past it."""
    fake_clock(TICK)
    text = "abcdefgh" * 2500
    vocab = Vocab.from_text(text)
    config = CharLMConfig(hidden=8, layers=1, batch_size=4, seq_len=8, steps=10 ** 6,
                          time_limit=2.0, val_frac=0.5, val_chars=0)
    trainer = CharLMTrainer(config, vocab.encode(text), vocab)
    trainer.validator.seconds_per_char = 0.3 / 10_000  # "0.3 s", where it takes 125 chunks
    messages, saved = [], []
    trainer.run(report=lambda event, info: messages.append(info.get("text")),
                save=lambda t, improved: saved.append((t.step, improved)))
    assert trainer.cut_short and trainer.history[-1]["val_loss"] is None
    assert any("the validation was stopped unfinished" in (m or "") for m in messages)
    assert trainer.seconds <= 2.0 + 2 * TICK + 1e-9
    assert saved == [(trainer.step, False)]


def test_progress_lines_without_a_terminal(corpus, monkeypatch):
    """Without a terminal a long validation prints a line every LINE_SECONDS
    (0 here: every chunk); short ones print none at the default."""
    quiet = run("train-charlm", corpus, *SMALL, "--steps", 2, "--val-frac", 0.5)
    assert quiet.exit_code == 0 and "validating:" not in quiet.stderr
    monkeypatch.setattr(ui, "LINE_SECONDS", 0.0)
    result = run("train-charlm", corpus, *SMALL, "--steps", 2, "--val-frac", 0.5,
                 "--val-chars", 2000, "--out", "p.npz")
    assert result.exit_code == 0, result.output
    assert "validating: " in result.stderr and "of 1,999 characters" in result.stderr
    scored = run("eval", "p.npz", corpus)
    assert scored.exit_code == 0, scored.output
    assert "scoring: " in scored.stderr and "of 19,999 characters" in scored.stderr


def test_the_option_default_is_the_trainers():
    assert CharLMConfig().val_chars == DEFAULT_VAL_CHARS
    param = next(p for p in cli.get_command(None, "train-charlm").params if p.name == "val_chars")
    assert param.default == DEFAULT_VAL_CHARS
