"""train-reader, eval and predict of a reader, on strips of stroke digits
(tests/tinydata.py): it learns, resumes exactly, reads PNG files and
stdin, and reports strict JSON."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from clirun import assert_clean_failure, run, strict_json
from nnlab.nn.checkpoint import load_checkpoint
from tinydata import write_stroke_dataset

SMALL = ("--channels", "8,16,16", "--hidden", 32, "--embed", 8, "--batch-size", 16,
         "--val-per-length", 20, "--no-download")


def ok(result):
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A reader of 1-digit strips of stroke digits, trained for 1,000 steps
    (3 s; it reached 98.8% when written)."""
    tmp = tmp_path_factory.mktemp("reader")
    data = write_stroke_dataset(tmp / "data")
    out = tmp / "reader.npz"
    result = ok(run("train-reader", "--data", data, *SMALL, "--max-digits", 1, "--steps", 1000,
                    "--lr", 0.005, "--eval-every", 500, "--out", out, "--json"))
    return tmp, data, out, strict_json(result.stdout)


def png_bytes(array):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def test_reader_learns_and_reports(trained):
    _, _, out, results = trained
    # Chance is 10%; strips of one digit among ten stroke counts are easy.
    assert results["steps"] == 1000 and results["test_exact_match"] > 0.8
    assert set(results["test_by_length"]) == {"1"}
    assert 0 <= results["exact_match"] <= results["accuracy"] <= 1
    assert results["best_checkpoint"].endswith("reader.best.npz")
    meta, arrays = load_checkpoint(out, kind="reader")
    assert meta["arch"]["args"]["max_digits"] == 1 and len(meta["history"]) == 2
    assert "params/out.w" in arrays and "opt/m/out.w" in arrays


def test_eval_matches_training_and_shows_errors(trained):
    _, data, out, results = trained
    report = strict_json(ok(run("eval", out, "--json", "--show-errors", 2)).stdout)
    assert report["exact_match"] == results["test_exact_match"]
    assert report["strips"] == 1000 and report["by_length"] == results["test_by_length"]
    wrong = report["errors"]
    assert len(wrong) == min(2, round(1000 * (1 - report["exact_match"])))
    assert all(e["true"] != e["read"] and 0 <= e["probability"] <= 1 for e in wrong)
    shown = ok(run("eval", out, "--data", data, "--show-errors", 1)).stdout
    assert "whole numbers" in shown and "1 digit" in shown
    if wrong:  # the strip drawn in ASCII (stdout is not a terminal here): 14 lines of it
        assert "read as" in shown and any(c in shown for c in "#%@")
    beam = strict_json(ok(run("eval", out, "--json", "--beam", 3)).stdout)
    assert beam["beam"] == 3 and abs(beam["exact_match"] - report["exact_match"]) <= 0.02


def test_predict_reads_png_files_and_stdin(trained):
    tmp, _, out, _ = trained
    # Dark strokes on a white page, drawn with Pillow: four strokes are a 3.
    page = Image.new("L", (90, 60), 255)
    draw = ImageDraw.Draw(page)
    for s in range(4):
        draw.line([(30 + 6 * s, 10), (30 + 6 * s, 50)], fill=0, width=3)
    path = tmp / "three.png"
    page.save(path)
    files = ok(run("predict", out, path, path)).stdout.splitlines()
    assert len(files) == 2 and files[0] == files[1]
    number, p = files[0].split("\t")
    assert number.isdigit() and 0 <= float(p) <= 1
    piped = strict_json(ok(run("predict", out, "-", "--json", input=path.read_bytes())).stdout)
    assert piped["input"] == "-" and piped["number"] == number
    shown = ok(run("predict", out, "--show", path))
    assert shown.stdout == files[0] + "\n"  # the picture goes to stderr only
    art = shown.stderr.splitlines()
    assert "as the model sees it" in art[0] and len(art) == 1 + 14
    assert all(len(line) <= 128 for line in art[1:]) and "@" in shown.stderr


def test_predict_refuses_what_is_not_a_picture(trained):
    tmp, _, out, _ = trained
    (tmp / "notes.txt").write_text("not a picture\n")
    assert_clean_failure(run("predict", out, tmp / "notes.txt"), 1, "notes.txt",
                         "not an image")
    assert_clean_failure(run("predict", out, "-", input=b"GIF8garbage"), 1, "stdin")
    blank = tmp / "blank.png"
    blank.write_bytes(png_bytes(np.full((28, 40), 255, np.uint8)))
    assert_clean_failure(run("predict", out, blank), 1, "blank.png", "no ink")
    assert_clean_failure(run("predict", out), 2, "IMAGE")
    assert_clean_failure(run("predict", out, "-", "-", input=b""), 2, "once")


def test_interrupted_run_resumes_to_the_same_weights(tmp_path):
    """Stopped at step 5 (as by a signal), saved, loaded and resumed: the
    same weights, optimizer state, generator and history as the run that
    never stopped."""
    from nnlab.data.datasets import load_dataset
    from nnlab.data.strips import reader_sets
    from nnlab.nn.checkpoint import save_checkpoint
    from nnlab.nn.reader_config import ReaderConfig
    from nnlab.nn.train_reader import ReaderTrainer

    data = load_dataset("mnist", write_stroke_dataset(tmp_path / "d", 200, 20), download=False)
    config = ReaderConfig(max_digits=2, channels="2,3,4", batchnorm=True, hidden=8, embed=4,
                          batch_size=4, val_per_length=3, steps=12, eval_every=4)
    maker, val = reader_sets(data, config.max_digits, config.val_per_length)
    whole = ReaderTrainer(config, maker, val)
    whole.run()
    part, saved = ReaderTrainer(config, maker, val), []
    part.run(save=lambda t, improved: saved.append(t.state_dict()), stop=lambda: part.step >= 5)
    assert part.interrupted and part.step == 5
    save_checkpoint(tmp_path / "p.npz", *saved[-1])
    meta, arrays = load_checkpoint(tmp_path / "p.npz")
    resumed = ReaderTrainer.resume(meta, arrays, maker, val, config)
    resumed.run()
    assert resumed.step == whole.step == 12
    for key, p in whole.model.params.items():
        np.testing.assert_array_equal(p, resumed.model.params[key], err_msg=key)
    for key, b in whole.model.buffers.items():
        np.testing.assert_array_equal(b, resumed.model.buffers[key], err_msg=key)
    assert whole.rng.bit_generator.state == resumed.rng.bit_generator.state
    timeless = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h]  # noqa: E731
    assert timeless(resumed.history) == timeless(whole.history) and len(whole.history) == 3


def test_cli_resume_goes_on_and_refuses_a_finished_run(tmp_path):
    data = write_stroke_dataset(tmp_path / "data", n_train=200, n_test=20)
    args = ("train-reader", "--data", data, *SMALL, "--max-digits", 2, "--eval-every", 3)
    out = tmp_path / "r.npz"
    ok(run(*args, "--steps", 3, "--out", out))
    more = strict_json(ok(run("train-reader", "--resume", out, "--steps", 6, "--json")).stdout)
    assert more["steps"] == 6 and more["checkpoint"] == str(out)
    meta, _ = load_checkpoint(out)
    assert meta["step"] == 6 and [h["step"] for h in meta["history"]] == [3, 6]
    assert_clean_failure(run("train-reader", "--resume", out, "--steps", 6), 2, "already holds")
