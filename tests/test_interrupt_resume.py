"""Interrupted runs: a stop between steps saves a checkpoint, and resuming it
gives bit-identical parameters and the same loss history as a run that was
never interrupted; real Ctrl-C (SIGINT) and SIGTERM end with 130 and 143 and
say how to resume; divergence stops with a clear message."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from nnlab.data.datasets import load_dataset
from nnlab.data.text import Vocab
from nnlab.nn.checkpoint import load_checkpoint
from nnlab.nn.runs import loss_bound
from nnlab.nn.train_charlm import CharLMConfig, CharLMTrainer
from nnlab.nn.train_cnn import CNNConfig, CNNTrainer

from clirun import run

TEXT = "It was the best of times, it was the worst of times, it was the age of wisdom. " * 12


def roundtrip(meta, arrays):
    """What a checkpoint file gives back: JSON metadata and copied arrays."""
    return json.loads(json.dumps(meta)), {k: np.array(v) for k, v in arrays.items()}


def lm_trainer(**kw):
    vocab = Vocab.from_text(TEXT)
    config = CharLMConfig(hidden=12, layers=2, batch_size=3, seq_len=10, dropout=0.2,
                          eval_every=7, steps=30, **kw)
    return CharLMTrainer(config, vocab.encode(TEXT), vocab), vocab, config


@pytest.mark.parametrize("stop_at", [1, 7, 12, 29])
def test_lm_resume_after_a_stop_is_bit_identical(stop_at):
    whole, _, _ = lm_trainer()
    whole.run()
    part, vocab, config = lm_trainer()
    saved = []
    part.run(save=lambda t, improved: saved.append(roundtrip(*t.state_dict())),
             stop=lambda: part.step >= stop_at)
    assert part.interrupted and part.step == stop_at
    resumed = CharLMTrainer.resume(*saved[-1], vocab.encode(TEXT), vocab, config)
    resumed.run()
    for k, p in whole.model.params.items():
        assert np.array_equal(p, resumed.model.params[k]), k
    for k, p in whole.opt.m.items():
        assert np.array_equal(p, resumed.opt.m[k]), k
    losses = lambda t: [(h["step"], h["train_loss"], h["val_loss"]) for h in t.history]  # noqa: E731
    assert losses(resumed) == losses(whole)


def cnn_trainer(data, **kw):
    config = CNNConfig(epochs=2, batch_size=32, limit=96, augment=True, **kw)
    return CNNTrainer(config, data), config


@pytest.mark.parametrize("arch, stop_at", [("lenet5", 2), ("resnet", 4), ("alexnet", 5)])
def test_cnn_resume_after_a_stop_is_bit_identical(tiny_mnist, arch, stop_at):
    data = load_dataset("mnist", tiny_mnist, download=False)
    extra = {"depth": 1, "width": 4} if arch == "resnet" else {}
    whole, _ = cnn_trainer(data, arch=arch, **extra)
    whole.run()
    part, config = cnn_trainer(data, arch=arch, **extra)
    saved = []
    part.run(save=lambda t, improved: saved.append(roundtrip(*t.state_dict())), stop=lambda: part.step >= stop_at)
    assert part.interrupted and part.step == stop_at and part.pos > 0  # mid-epoch
    resumed = CNNTrainer.resume(*saved[-1], data, config)
    resumed.run()
    for d in ("params", "buffers"):
        for k, p in getattr(whole.model, d).items():
            assert np.array_equal(p, getattr(resumed.model, d)[k]), k
    keys = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
    assert [[h[k] for k in keys] for h in resumed.history] == \
           [[h[k] for k in keys] for h in whole.history]


def spawn(args, cwd):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "nnlab.cli.main", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def wait_for(path, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.02)


def start_long_lm_run(tmp_path):
    """A train-charlm process far from its last step, once its first
    checkpoint (lm.npz) is on disk."""
    corpus = tmp_path / "text.txt"
    corpus.write_text(TEXT)
    args = ["train-charlm", corpus, "--hidden", 12, "--batch-size", 3, "--seq-len", 10,
            "--steps", 200000, "--eval-every", 5, "--out", tmp_path / "lm.npz"]
    proc = spawn(args, tmp_path)
    wait_for(tmp_path / "lm.npz", proc)
    return proc


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_and_says_how_to_resume(tmp_path, sig, code):
    proc = start_long_lm_run(tmp_path)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err.decode()
    err = err.decode()
    assert "Traceback" not in err
    assert "Resume with: nnlab train-charlm --resume" in err
    meta, _ = load_checkpoint(tmp_path / "lm.npz", kind="charlm")
    assert 0 < meta["step"] < 200000
    # The printed command works: it continues from the saved step.
    resumed = run("train-charlm", "--resume", tmp_path / "lm.npz", "--steps", meta["step"] + 3,
                  "--json")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["steps"] == meta["step"] + 3


def test_ctrl_c_twice_aborts_and_keeps_the_checkpoint(tmp_path):
    proc = start_long_lm_run(tmp_path)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert b"Traceback" not in err
    load_checkpoint(tmp_path / "lm.npz", kind="charlm")  # still a complete checkpoint
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def diverged(result):
    """Exit 1 after the run's own progress lines, the last line the reason."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    message = result.stderr.strip().splitlines()[-1]
    assert "diverged at step" in message and "--lr" in message, message
    return message


def test_divergence_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    corpus = tmp_path / "text.txt"
    corpus.write_text(TEXT)
    out = tmp_path / "lm.npz"
    first = run("train-charlm", corpus, "--hidden", 12, "--steps", 5, "--out", out)
    assert first.exit_code == 0, first.output
    before = out.read_bytes()
    result = run("train-charlm", corpus, "--resume", out, "--steps", 400, "--lr", 1e4,
                 "--clip", 0, "--eval-every", 1)
    message = diverged(result)
    # Diverged at once (in the step's loss, or in the validation after it): never saved.
    assert "last good loss" in message or "training loss" in message
    assert f"{out} holds the last good state, from step" in message
    meta, _ = load_checkpoint(out, kind="charlm")
    bound = loss_bound(len(meta["vocab"]))
    assert all(np.isfinite(h["train_loss"]) and h["train_loss"] <= bound for h in meta["history"])
    if meta["step"] == 5:  # nothing good came after: the first checkpoint, untouched
        assert out.read_bytes() == before


def test_cnn_divergence(tmp_path, tiny_mnist, no_user_data):
    result = run("train-cnn", "--data", tiny_mnist, "--epochs", 3, "--lr", 1e6,
                 "--optimizer", "sgd", "--out", tmp_path / "c.npz")
    diverged(result)
