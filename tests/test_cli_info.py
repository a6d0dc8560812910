"""nnlab info: what a checkpoint of each kind holds, in text and strict
JSON, and a damaged or foreign file refused in one line."""

import numpy as np
import pytest

from clirun import assert_clean_failure, run, strict_json
from tinydata import write_dataset, write_stroke_dataset

def ok(result):
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result

@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("info")
    poem = tmp / "poem.txt"
    poem.write_text("hello world, hello there\n" * 20)
    lm, cnn, reader = tmp / "lm.npz", tmp / "cnn.npz", tmp / "reader.npz"
    ok(run("train-charlm", poem, "--hidden", 8, "--layers", 1, "--batch-size", 2, "--seq-len", 8,
           "--steps", 4, "--eval-every", 2, "--out", lm))
    data = write_dataset(tmp / "mnist", n_train=64, n_test=32)
    ok(run("train-cnn", "--data", data, "--no-download", "--epochs", 1, "--batch-size", 32,
           "--out", cnn))
    ok(run("train-reader", "--data", write_stroke_dataset(tmp / "strokes", 100, 20),
           "--no-download", "--max-digits", 2, "--channels", "2,2,2", "--hidden", 4, "--embed", 2,
           "--batch-size", 4, "--val-per-length", 2, "--steps", 2, "--out", reader))
    return tmp, lm, cnn, reader

def test_a_character_model(checkpoints):
    _, lm, _, _ = checkpoints
    s = strict_json(ok(run("info", lm, "--json")).stdout)
    assert s["kind"] == "charlm" and s["arch"]["args"]["hidden"] == 8
    assert s["vocab"] == "\n ,dehlortw" and s["characters"] == 11
    assert s["config"]["seq_len"] == 8 and s["step"] == 4 and s["validations"] == 2
    assert s["nnlab_version"] and s["format_version"] == 1
    i = s["integrity"]
    assert i["headers_checked"] and not i["unpickled"] and i["non_finite"] == []
    assert i["groups"]["params"]["arrays"] >= 4
    with np.load(lm) as f:  # the count is the arrays' own
        params = sum(f[k].size for k in f.files if k.startswith("params/"))
    assert s["parameters"] == params
    text = ok(run("info", lm)).stdout
    assert "charlm checkpoint" in text and f"{params:,} parameters" in text
    assert "vocabulary: 11 characters" in text and "nothing unpickled" in text

def test_a_cnn_and_a_reader(checkpoints):
    _, _, cnn, reader = checkpoints
    s = strict_json(ok(run("info", cnn, "--json")).stdout)
    assert s["kind"] == "cnn" and s["classes"] == [str(d) for d in range(10)]
    assert s["best"]["key"] == "test_loss" and s["best"]["value"] > 0 and s["epoch"] == 1
    r = strict_json(ok(run("info", reader, "--json")).stdout)
    assert r["kind"] == "reader" and r["arch"]["args"]["max_digits"] == 2
    assert r["tokens"][2:] == [str(d) for d in range(10)]
    assert "reader checkpoint" in ok(run("info", reader)).stdout

def test_non_finite_weights_are_named_not_refused(checkpoints):
    tmp, lm, _, _ = checkpoints
    with np.load(lm) as f:
        arrays = {k: f[k] for k in f.files}
    key = next(k for k in arrays if k.startswith("params/"))
    arrays[key] = np.full_like(arrays[key], np.nan)
    np.savez(tmp / "nan.npz", **arrays)
    s = strict_json(ok(run("info", tmp / "nan.npz", "--json")).stdout)
    assert s["integrity"]["non_finite"] == [key]
    assert "NaN or infinite values in " + key in ok(run("info", tmp / "nan.npz")).stdout

def test_refuses_what_is_not_a_checkpoint(checkpoints, tmp_path):
    _, lm, _, _ = checkpoints
    (tmp_path / "notes.txt").write_text("hello\n")
    assert_clean_failure(run("info", tmp_path / "notes.txt"), 1, "notes.txt")
    (tmp_path / "cut.npz").write_bytes(lm.read_bytes()[:2000])
    assert_clean_failure(run("info", tmp_path / "cut.npz"), 1, "cut.npz")
    assert_clean_failure(run("info", tmp_path / "nope.npz"), 1, "nope.npz")
