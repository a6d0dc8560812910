"""nnlab export CKPT OUT.onnx, run in ONNX Runtime: its outputs against
nnlab's own forward pass, to 1e-4 relative in float32 (the interop extra;
.ci/run installs it and runs this module)."""

import json

import numpy as np
import pytest

from clirun import assert_clean_failure, run
from interop import POEM, run_snippet, train_charlm, train_cnn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def close(theirs, ours):
    """1e-4 relative, judged against the largest output (logits near 0 have
    no relative precision of their own)."""
    np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-4 * np.abs(ours).max())


def session(path):
    onnx.checker.check_model(onnx.load(str(path)))
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("arch", ["lenet5", "alexnet", "resnet"])
def test_cnns_give_nnlabs_logits_from_uint8_images(tmp_path, tiny_mnist, arch):
    from nnlab.nn.checkpoint import load_checkpoint
    from nnlab.nn.evaluate import normalize_images
    from nnlab.nn.restore import cnn_model, cnn_normalization

    ckpt = train_cnn(tmp_path, tiny_mnist, arch)
    out = tmp_path / "cnn.onnx"
    r = run("export", ckpt, out)
    assert r.exit_code == 0, r.output
    assert "ONNX opset 17" in r.stdout
    images = np.random.default_rng(1).integers(0, 256, (5, 1, 28, 28)).astype(np.uint8)
    meta, arrays = load_checkpoint(ckpt)
    ours = cnn_model(meta, arrays).forward(normalize_images(images, *cnn_normalization(meta)))
    s = session(out)
    assert [i.name for i in s.get_inputs()] == ["images"]
    (theirs,) = s.run(["logits"], {"images": images})
    assert theirs.shape == (5, 10)
    close(theirs, ours)
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(props["nnlab_arch"])["name"] == arch
    assert float(props["std"]) == cnn_normalization(meta)[1]


@pytest.mark.parametrize("cell, embed", [("lstm", 16), ("lstm", 0), ("rnn", 16), ("rnn", 0)])
def test_character_models_give_nnlabs_logits_and_carry_their_state(tmp_path, cell, embed):
    from nnlab.nn.checkpoint import load_checkpoint
    from nnlab.nn.restore import lm_model

    ckpt = train_charlm(tmp_path, cell, embed)
    out = tmp_path / "charlm.onnx"
    assert run("export", ckpt, out).exit_code == 0
    model, vocab = lm_model(*load_checkpoint(ckpt))
    ids = np.random.default_rng(2).integers(0, len(vocab), (9, 3))
    ours, final = model.forward(ids.astype(np.int32), model.zero_state(3))
    ours = ours.reshape(9, 3, -1)
    s = session(out)
    names = ["h0", "c0"] if cell == "lstm" else ["h0"]
    assert [i.name for i in s.get_inputs()] == ["ids"] + names
    zero = np.zeros((2, 3, 8), np.float32)
    # The whole run in two calls, the first's final state fed to the second:
    # the same as one call, as nnlab's sampler goes on from its state.
    first = s.run(None, {"ids": ids[:4], **{n: zero for n in names}})
    second = s.run(None, {"ids": ids[4:], **dict(zip(names, first[1:]))})
    close(np.concatenate([first[0], second[0]]), ours)
    for k, layer in enumerate(final):
        for state, theirs in zip(layer, second[1:]):
            close(theirs[k], state)
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(props["vocab"]) == vocab


def test_onnx_output_is_checked_like_any_other(tmp_path):
    ckpt = train_charlm(tmp_path)
    out = tmp_path / "m.onnx"
    assert run("export", ckpt, out).exit_code == 0
    assert run("export", ckpt, out).exit_code == 0  # nnlab's own export: replaced
    notes = tmp_path / "notes.onnx"
    notes.write_bytes(b"\x08\x07\x12\x07pytorch")  # someone else's ONNX model
    assert_clean_failure(run("export", ckpt, notes), 2, "notes.onnx")
    assert notes.read_bytes() == b"\x08\x07\x12\x07pytorch"
    assert run("export", ckpt, notes, "--force").exit_code == 0
    assert session(notes).get_outputs()[0].name == "logits"


def test_the_readme_onnx_runtime_sampler_runs(tmp_path):
    ckpt = train_charlm(tmp_path)
    assert run("export", ckpt, tmp_path / "charlm.onnx").exit_code == 0
    text = run_snippet("onnx-snippet", tmp_path, {})["text"]
    assert text.startswith("hello") and len(text) == 45
    assert set(text) <= set(POEM)
