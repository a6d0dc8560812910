"""A diverged state is never saved nor kept as the best, and the message says
what is on disk (issue 12, item 6).

``--lr 1e6`` saved a step-1 checkpoint with a validation loss of 5,574,440
marked "(best)", then said the checkpoint "from before, is kept". These runs
diverge in their first step's update, so that nothing good comes after.
"""


import numpy as np
import pytest

from nnlab.data.text import Vocab
from nnlab.nn.runs import Diverged, check_weights
from nnlab.nn.train_charlm import CharLMConfig, CharLMTrainer
from clirun import run, strict_json

S = ("--hidden", "16", "--layers", "1", "--seq-len", "16", "--batch-size", "4", "--steps", "3")
TEXT = "hello world, hello there\n" * 40


def failed(result):
    """Exit 1, no traceback; the last line of stderr, the reason."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.stderr.strip().splitlines()[-1]


@pytest.fixture
def folder(tmp_path, monkeypatch, no_user_data):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "poem.txt").write_text(TEXT)
    return tmp_path


def test_nothing_diverged_is_saved_or_called_best(folder):
    result = run("train-charlm", "poem.txt", *S, "--lr", "1e6", "--out", "lm.npz")
    message = failed(result)
    assert "diverged at step 1: the validation loss is" in message
    assert "nothing was saved: no checkpoint was written" in message
    assert "kept" not in message and "(best)" not in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["poem.txt"]


def test_json_is_strict_with_null_and_a_message(folder):
    result = run("train-charlm", "poem.txt", *S, "--lr", "1e6", "--json")
    failed(result)
    report = strict_json(result.stdout)
    assert report["diverged"] is True and report["step"] == 1
    assert report["checkpoint"] is None and "nothing was saved" in report["error"]
    assert report["loss"] is None or report["loss"] > 1000


def test_an_earlier_runs_checkpoint_is_left_and_named(folder):
    assert run("train-charlm", "poem.txt", *S, "--out", "lm.npz").exit_code == 0
    before = {p: (folder / p).read_bytes() for p in ("lm.npz", "lm.best.npz")}
    message = failed(run("train-charlm", "poem.txt", *S, "--lr", "1e6", "--out", "lm.npz"))
    assert "nothing was saved, and lm.npz is as it was before this run" in message
    assert {p: (folder / p).read_bytes() for p in before} == before


def test_resuming_names_the_checkpoint_that_holds_the_last_good_state(folder):
    assert run("train-charlm", "poem.txt", *S, "--out", "lm.npz").exit_code == 0
    before = {p: (folder / p).read_bytes() for p in ("lm.npz", "lm.best.npz")}
    message = failed(run("train-charlm", "--resume", "lm.npz", "--steps", "6", "--lr", "1e6"))
    assert "lm.npz holds the last good state, from step 3" in message
    assert {p: (folder / p).read_bytes() for p in before} == before


def test_cnn_test_loss_past_the_bound_is_not_saved(folder, tiny_mnist):
    """256 images in one batch: one step, whose loss is fine; the update
    blows the weights up, and the epoch's test loss says so."""
    result = run("train-cnn", "--data", tiny_mnist, "--no-download", "--epochs", "2",
                 "--batch-size", "256", "--optimizer", "sgd", "--lr", "1e6", "--out", "c.npz")
    message = failed(result)
    assert "diverged at step 1" in message and "--lr" in message
    assert "nothing was saved" in message
    assert not (folder / "c.npz").exists()


def test_weights_blown_up_by_the_last_update_are_not_saved(monkeypatch):
    """Without a validation split only the weights can tell: the trainer
    checks them before every save."""
    vocab = Vocab.from_text(TEXT)
    config = CharLMConfig(hidden=8, layers=1, batch_size=2, seq_len=8, steps=1, val_frac=0)
    trainer = CharLMTrainer(config, vocab.encode(TEXT), vocab)
    step = trainer.opt.step

    def blow_up(params, grads, lr):
        step(params, grads, lr)
        params["out.w"][0, 0] = np.nan

    monkeypatch.setattr(trainer.opt, "step", blow_up)
    saved = []
    with pytest.raises(Diverged, match="weights"):
        trainer.run(save=lambda t, improved: saved.append(t.step))
    assert saved == []


def test_check_weights():
    check_weights({"w": np.ones(3, np.float32)}, 1, "hint")
    with pytest.raises(Diverged, match=r"step 7: the weights \(w\) hold NaN"):
        check_weights({"w": np.array([1.0, np.inf], np.float32)}, 7, "hint")
