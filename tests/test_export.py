"""nnlab export CKPT OUT.safetensors: PyTorch's names and layouts, checked
against the file's own arrays and, when torch is installed, by running the
README's PyTorch code on a real export (logits to 1e-5 of nnlab's)."""

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from clirun import assert_clean_failure, run

safetensors_numpy = pytest.importorskip("safetensors.numpy")

README = Path(__file__).resolve().parents[1] / "README.md"
POEM = "hello world, hello there\n" * 20


def run_snippet(marker, folder, scope, replace=()):
    """Runs the README's python block after ``marker`` in ``folder``, with
    ``replace`` (old, new) pairs applied; returns its variables."""
    code = re.search(rf"<!-- {marker} -->\n```python\n(.*?)```", README.read_text(),
                     re.S).group(1)
    for old, new in replace:
        assert old in code
        code = code.replace(old, new)
    here = os.getcwd()
    os.chdir(folder)
    try:
        exec(compile(code, "README.md", "exec"), scope)
    finally:
        os.chdir(here)
    return scope


def train(tmp_path, cell="lstm", embed=16):
    (tmp_path / "poem.txt").write_text(POEM)
    out = tmp_path / "charlm.npz"
    r = run("train-charlm", tmp_path / "poem.txt", "--cell", cell, "--hidden", 8, "--layers", 2,
            "--embed", embed, "--batch-size", 2, "--seq-len", 8, "--steps", 4, "--out", out)
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.parametrize("cell, embed", [("lstm", 16), ("rnn", 0)])
def test_names_layouts_and_metadata(tmp_path, cell, embed):
    from nnlab.nn.checkpoint import load_checkpoint

    ckpt = train(tmp_path, cell, embed)
    out = tmp_path / "charlm.safetensors"
    r = run("export", ckpt, out)
    assert r.exit_code == 0, r.output
    t = safetensors_numpy.load_file(out)
    _, arrays = load_checkpoint(ckpt)
    G = 32 if cell == "lstm" else 8
    for k in (0, 1):
        np.testing.assert_array_equal(t[f"rnn.weight_ih_l{k}"], arrays[f"params/l{k}.Wx"].T)
        np.testing.assert_array_equal(t[f"rnn.weight_hh_l{k}"], arrays[f"params/l{k}.Wh"].T)
        assert t[f"rnn.bias_hh_l{k}"].shape == (G,) and not t[f"rnn.bias_hh_l{k}"].any()
    assert t["rnn.weight_ih_l0"].shape == (G, embed or 11)
    assert ("embed.weight" in t) == bool(embed)
    np.testing.assert_array_equal(t["out.weight"], arrays["params/out.w"].T)
    from safetensors import safe_open

    with safe_open(str(out), "np") as f:
        meta = f.metadata()
    assert json.loads(meta["nnlab_arch"])["cell"] == cell
    assert json.loads(meta["vocab"]) == "\n ,dehlortw"


def test_the_readme_pytorch_code_gives_nnlabs_logits(tmp_path):
    torch = pytest.importorskip("torch")
    from nnlab.nn.checkpoint import load_checkpoint
    from nnlab.nn.restore import lm_model

    ckpt = train(tmp_path)
    assert run("export", ckpt, tmp_path / "charlm.safetensors").exit_code == 0
    scope = run_snippet("pytorch-snippet", tmp_path, {})
    model, vocab = lm_model(*load_checkpoint(ckpt))
    ids = np.array([[vocab.index(c)] for c in "hello"], np.int32)
    ours, _ = model.forward(ids, model.zero_state(1))
    theirs = scope["logits"].detach().numpy().reshape(ours.shape)
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-6)
    assert isinstance(scope["model"], torch.nn.Module)


def test_refuses_other_kinds_names_and_files(tmp_path):
    ckpt = train(tmp_path)
    notes = tmp_path / "notes.safetensors"
    notes.write_text("my notes\n")
    assert_clean_failure(run("export", ckpt, notes), 2, "notes.safetensors")
    assert notes.read_text() == "my notes\n"
    assert_clean_failure(run("export", ckpt, tmp_path / "x.onnx"), 2, ".safetensors")
    assert_clean_failure(run("export", tmp_path / "poem.txt", tmp_path / "y.safetensors"), 1,
                         "poem.txt")
    assert not (tmp_path / "y.safetensors").exists()


@pytest.mark.parametrize("arch", ["lenet5", "alexnet"])
def test_the_readme_cnn_code_gives_nnlabs_logits(tmp_path, tiny_mnist, arch):
    pytest.importorskip("torch")
    from nnlab.nn.checkpoint import load_checkpoint
    from nnlab.nn.evaluate import normalize_images
    from nnlab.nn.restore import cnn_model, cnn_normalization

    ckpt = tmp_path / "cnn.npz"
    r = run("train-cnn", "--data", tiny_mnist, "--arch", arch, "--epochs", 1, "--limit", 64,
            "--batch-size", 32, "--out", ckpt)
    assert r.exit_code == 0, r.output
    assert run("export", ckpt, tmp_path / "cnn.safetensors").exit_code == 0
    images = np.random.default_rng(0).integers(0, 256, (3, 1, 28, 28)).astype(np.uint8)
    scope = run_snippet("pytorch-cnn-snippet", tmp_path, {"test_images": images},
                        [("images = np.zeros((2, c, side, side), np.uint8)",
                          "images = test_images")])
    meta, arrays = load_checkpoint(ckpt)
    model = cnn_model(meta, arrays)
    ours = model.forward(normalize_images(images, *cnn_normalization(meta)))
    theirs = scope["logits"].detach().numpy()
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)
