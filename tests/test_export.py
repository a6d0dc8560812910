"""nnlab export CKPT OUT.safetensors: PyTorch's names and layouts, checked
against the file's own arrays and, when torch is installed, by running the
README's PyTorch code on a real export (logits to 1e-5 of nnlab's)."""

import json

import numpy as np
import pytest

from clirun import assert_clean_failure, run
from interop import run_snippet, train_charlm, train_cnn

safetensors_numpy = pytest.importorskip("safetensors.numpy")


@pytest.mark.parametrize("cell, embed", [("lstm", 16), ("rnn", 0)])
def test_names_layouts_and_metadata(tmp_path, cell, embed):
    from nnlab.nn.checkpoint import load_checkpoint

    ckpt = train_charlm(tmp_path, cell, embed)
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

    ckpt = train_charlm(tmp_path)
    assert run("export", ckpt, tmp_path / "charlm.safetensors").exit_code == 0
    scope = run_snippet("pytorch-snippet", tmp_path, {})
    model, vocab = lm_model(*load_checkpoint(ckpt))
    ids = np.array([[vocab.index(c)] for c in "hello"], np.int32)
    ours, _ = model.forward(ids, model.zero_state(1))
    theirs = scope["logits"].detach().numpy().reshape(ours.shape)
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-6)
    assert isinstance(scope["model"], torch.nn.Module)


def test_refuses_other_kinds_names_and_files(tmp_path):
    ckpt = train_charlm(tmp_path)
    notes = tmp_path / "notes.safetensors"
    notes.write_text("my notes\n")
    assert_clean_failure(run("export", ckpt, notes), 2, "notes.safetensors")
    assert notes.read_text() == "my notes\n"
    assert_clean_failure(run("export", ckpt, tmp_path / "x.pt"), 2, ".safetensors or .onnx")
    assert_clean_failure(run("export", tmp_path / "poem.txt", tmp_path / "y.safetensors"), 1,
                         "poem.txt")
    assert not (tmp_path / "y.safetensors").exists()


@pytest.mark.parametrize("arch", ["lenet5", "alexnet", "resnet"])
def test_the_readme_cnn_code_gives_nnlabs_logits(tmp_path, tiny_mnist, arch):
    pytest.importorskip("torch")
    from nnlab.nn.checkpoint import load_checkpoint
    from nnlab.nn.evaluate import normalize_images
    from nnlab.nn.restore import cnn_model, cnn_normalization

    ckpt = train_cnn(tmp_path, tiny_mnist, arch)
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


def test_resnet_batch_norms_go_out_with_their_running_statistics(tmp_path, tiny_mnist):
    from nnlab.nn.checkpoint import load_checkpoint

    ckpt = train_cnn(tmp_path, tiny_mnist, "resnet")
    assert run("export", ckpt, tmp_path / "r.safetensors").exit_code == 0
    t = safetensors_numpy.load_file(tmp_path / "r.safetensors")
    meta, arrays = load_checkpoint(ckpt)
    for bn in ("stem_bn", "s1b1.bn2", "s2b1.proj_bn"):
        np.testing.assert_array_equal(t[f"{bn}.weight"], arrays[f"params/{bn}.gamma"])
        np.testing.assert_array_equal(t[f"{bn}.bias"], arrays[f"params/{bn}.beta"])
        np.testing.assert_array_equal(t[f"{bn}.running_mean"], arrays[f"buffers/{bn}.mean"])
        np.testing.assert_array_equal(t[f"{bn}.running_var"], arrays[f"buffers/{bn}.var"])
        assert t[f"{bn}.num_batches_tracked"].dtype == np.int64
        assert int(t[f"{bn}.num_batches_tracked"]) == meta["step"] == 2
    assert not np.allclose(t["stem_bn.running_mean"], 0)  # the statistics did move
    assert t["s2b1.proj.weight"].shape == (8, 4, 1, 1) and "s1b1.proj.weight" not in t
    assert t["fc.weight"].shape == (10, 16)
