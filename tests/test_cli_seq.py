"""train-classifier, train-tagger, train-seq2seq, predict and eval on small
generated tasks: they learn, resume exactly, stream predictions and report
strict JSON."""

import json

import numpy as np
import pytest

import seqtasks
from clirun import assert_clean_failure, run, strict_json
from nnlab.nn.checkpoint import load_checkpoint

SMALL = ("--hidden", 32, "--embed", 8, "--batch-size", 16, "--eval-every", 100)


def ok(result):
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


@pytest.fixture(scope="module")
def reversal(tmp_path_factory):
    """A seq2seq model trained to reverse strings of 2 to 4 letters."""
    tmp = tmp_path_factory.mktemp("rev")
    data = seqtasks.write_tsv(tmp / "rev.tsv", seqtasks.reversal(600, seqtasks.rng(0)))
    out = tmp / "rev.npz"
    result = ok(run("train-seq2seq", data, *SMALL, "--layers", 1, "--steps", 600,
                    "--lr", 0.01, "--out", out, "--json"))
    return tmp, data, out, strict_json(result.stdout)


def test_seq2seq_learns_to_reverse(reversal):
    tmp, data, out, results = reversal
    assert results["steps"] == 600 and results["exact_match"] > 0.9
    echoed = ok(run("predict", out, "abcd", "eab")).stdout.split()
    assert echoed == ["dcba", "bae"]
    report = strict_json(ok(run("eval", out, data, "--json")).stdout)
    assert report["exact_match"] > 0.9 and 0 <= report["cer"] <= report["wer"] <= 1
    beam = strict_json(ok(run("eval", out, data, "--json", "--beam", 3)).stdout)
    assert beam["exact_match"] >= report["exact_match"] - 0.02


def test_predict_streams_stdin_and_json_lines(reversal):
    _, _, out, _ = reversal
    result = ok(run("predict", out, input="ab\tignored\n\nabc\r\n"))
    assert result.stdout.split("\n")[:2] == ["ba", "cba"]
    lines = [json.loads(x) for x in ok(run("predict", out, "--json", input="ab\n")).stdout
             .splitlines()]
    assert lines == [{"input": "ab", "output": "ba"}]


def test_predict_refuses_unknown_characters_with_the_line(reversal):
    _, _, out, _ = reversal
    assert_clean_failure(run("predict", out, input="ab\nxyz\n"), 1, "stdin, line 2", "'x'")
    assert_clean_failure(run("predict", out, "--beam", 0, "ab"), 2, "--beam")


def test_classifier_learns_and_evaluates(tmp_path):
    data = seqtasks.write_tsv(tmp_path / "c.tsv", seqtasks.first_letter(800, seqtasks.rng(1)))
    out = tmp_path / "classifier.npz"
    results = strict_json(ok(run("train-classifier", data, *SMALL, "--steps", 300, "--out", out,
                                 "--json")).stdout)
    assert results["accuracy"] > 0.95
    line = ok(run("predict", out, "cab")).stdout.strip().split("\t")
    assert line[0] == "c" and 0.5 < float(line[1]) <= 1
    report = strict_json(ok(run("eval", out, data, "--json")).stdout)
    assert report["accuracy"] > 0.95 and len(report["confusion"]) == 4
    assert {row["tag"] for row in report["classes"]} == set("abcd")
    text = ok(run("eval", out, data)).stdout
    assert "per class" in text and "confusion" in text


def test_tagger_learns_case(tmp_path):
    data = seqtasks.write_tsv(tmp_path / "t.tsv", seqtasks.case_tags(600, seqtasks.rng(2)))
    out = tmp_path / "tagger.npz"
    results = strict_json(ok(run("train-tagger", data, *SMALL, "--steps", 300, "--out", out,
                                 "--json")).stdout)
    assert results["accuracy"] > 0.97
    assert ok(run("predict", out, "ok go . so")).stdout.strip() == "UU......U."
    report = strict_json(ok(run("eval", out, data, "--json")).stdout)
    upper = [row for row in report["tags"] if row["tag"] == "U"][0]
    assert upper["f1"] > 0.9 and report["characters"] > 1000


@pytest.mark.parametrize("kind, task", [("seq2seq", seqtasks.sorting),
                                        ("seq2seq", seqtasks.addition),
                                        ("tagger", seqtasks.case_tags),
                                        ("classifier", seqtasks.first_letter)])
def test_interrupted_run_resumes_to_the_same_weights(tmp_path, kind, task):
    """Stopped at step 25 (a signal), saved, loaded and resumed: the same
    weights, optimizer state and history as the run that never stopped."""
    from nnlab.data.seqtask import encode_pairs, vocabularies
    from nnlab.nn.checkpoint import save_checkpoint
    from nnlab.nn.seq_config import ClassifierConfig, Seq2SeqConfig, TaggerConfig
    from nnlab.nn.train_seq import SeqTrainer

    pairs = task(200, seqtasks.rng(3))
    src, tgt = vocabularies(kind, pairs)
    train, val = encode_pairs(kind, pairs[:180], src, tgt), encode_pairs(kind, pairs[180:], src, tgt)
    cls = {"seq2seq": Seq2SeqConfig, "tagger": TaggerConfig, "classifier": ClassifierConfig}[kind]
    config = cls(hidden=8, layers=2, embed=4, batch_size=8, steps=60, eval_every=20,
                 dropout=0.2)

    def trainer():
        return SeqTrainer(kind, config, train, val, src.tokens, tgt.tokens)

    whole = trainer()
    whole.run()
    part, saved = trainer(), []
    part.run(save=lambda t, improved: saved.append(t.state_dict()), stop=lambda: part.step >= 25)
    assert part.interrupted and part.step == 25
    save_checkpoint(tmp_path / "p.npz", *saved[-1])
    meta, arrays = load_checkpoint(tmp_path / "p.npz")
    resumed = SeqTrainer.resume(meta, arrays, train, val, config)
    resumed.run()
    assert resumed.step == whole.step == 60
    for key, p in whole.model.params.items():
        np.testing.assert_array_equal(p, resumed.model.params[key], err_msg=key)
    def timeless(history):
        return [{k: v for k, v in h.items() if k != "seconds"} for h in history]
    assert timeless(resumed.history) == timeless(whole.history)


def test_a_tsv_with_a_bom_and_crlf_line_ends_trains(tmp_path):
    pairs = seqtasks.first_letter(60, seqtasks.rng(4))
    path = tmp_path / "win.tsv"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(f"{a}\t{b}\r\n" for a, b in pairs).encode())
    out = tmp_path / "w.npz"
    ok(run("train-classifier", path, *SMALL, "--steps", 5, "--out", out))
    meta, _ = load_checkpoint(out)
    # Neither the mark nor the carriage returns became characters or labels.
    assert "\ufeff" not in "".join(meta["src_tokens"]) and meta["tgt_tokens"] == list("abcd")


@pytest.mark.parametrize("body, fragment", [
    (b"abc\n", "line 1: no tab"),
    (b"ab\tx\ncd\t\n", "line 2: the label is empty"),
])
def test_bad_tsv_is_one_line(tmp_path, body, fragment):
    path = tmp_path / "bad.tsv"
    path.write_bytes(body)
    assert_clean_failure(run("train-classifier", path, "--steps", 3, "--out",
                             tmp_path / "o.npz"), 1, "bad.tsv", fragment)


def test_predict_into_a_closed_pipe(reversal):
    """`... | nnlab predict CKPT | head -n 1`: the first result, then a quiet
    exit (141, as for SIGPIPE) once head has gone, with no traceback."""
    import os
    import subprocess
    import sys

    _, _, out, _ = reversal
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    cmd = (f"set -o pipefail; yes abc | head -n 20000 | {sys.executable} -m nnlab.cli.main "
           f"predict {out} | head -n 1")
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, timeout=300, env=env)
    assert proc.stdout == b"cba\n"
    assert proc.returncode == 141 and proc.stderr == b"", proc.stderr.decode()
