"""nnlab import FILE.safetensors OUT.npz: a PyTorch character model's
state_dict as an nnlab checkpoint. Checked against a plain-numpy model in
PyTorch's own conventions (two biases, its names, a vocabulary in any
order), against real torch modules when torch is installed, and through
export -> import, which must give back the same model."""

import json

import numpy as np
import pytest

from clirun import assert_clean_failure, run
from interop import POEM, train_charlm
from reference_recurrent import lstm_cell_torch

st = pytest.importorskip("safetensors.numpy")

CHARS = "tlhe wor,d\n"  # the poem's characters in an order of someone else's choosing


def torch_layout(rng, V=len(CHARS), E=6, H=5, layers=2, names=("encoder", "lstm", "fc")):
    """Random weights of an embedding + LSTM + linear model under PyTorch's
    names and layouts, with modules named as a user might."""
    emb, rnn, out = names
    t = {f"{emb}.weight": rng.standard_normal((V, E))}
    for k in range(layers):
        t[f"{rnn}.weight_ih_l{k}"] = rng.standard_normal((4 * H, E if k == 0 else H)) * 0.5
        t[f"{rnn}.weight_hh_l{k}"] = rng.standard_normal((4 * H, H)) * 0.5
        t[f"{rnn}.bias_ih_l{k}"] = rng.standard_normal(4 * H) * 0.5
        t[f"{rnn}.bias_hh_l{k}"] = rng.standard_normal(4 * H) * 0.5
    t[f"{out}.weight"] = rng.standard_normal((V, H))
    t[f"{out}.bias"] = rng.standard_normal(V)
    return {k: v.astype(np.float32) for k, v in t.items()}


def torch_logits(t, ids, layers=2, names=("encoder", "lstm", "fc")):
    """(T, V) logits of one stream, as PyTorch computes them (float64)."""
    emb, rnn, out = names
    H = t[f"{rnn}.weight_hh_l0"].shape[1]
    h = [np.zeros(H)] * layers
    c = [np.zeros(H)] * layers
    rows = []
    for i in ids:
        x = t[f"{emb}.weight"][i].astype(np.float64)
        for k in range(layers):
            h[k], c[k] = lstm_cell_torch(x, h[k], c[k], *(t[f"{rnn}.{w}_l{k}"] for w in (
                "weight_ih", "weight_hh", "bias_ih", "bias_hh")))
            x = h[k]
        rows.append(t[f"{out}.weight"] @ x + t[f"{out}.bias"])
    return np.array(rows)


def nnlab_logits(ckpt, text):
    from nnlab.nn.checkpoint import load_checkpoint
    from nnlab.nn.restore import lm_model

    model, vocab = lm_model(*load_checkpoint(ckpt))
    ids = np.array([[vocab.index(ch)] for ch in text], np.int32)
    logits, _ = model.forward(ids, model.zero_state(1))
    return logits.reshape(len(text), -1), vocab


def test_a_pytorch_model_with_its_own_names_and_vocabulary_order(tmp_path):
    t = torch_layout(np.random.default_rng(0))
    st.save_file(t, tmp_path / "mine.safetensors")
    (tmp_path / "vocab.json").write_text(json.dumps(list(CHARS)))
    out = tmp_path / "mine.npz"
    r = run("import", tmp_path / "mine.safetensors", out, "--vocab", tmp_path / "vocab.json",
            "--rename", "encoder=embed", "--rename", "lstm=rnn", "--rename", "fc=out")
    assert r.exit_code == 0, r.output
    assert "2 x 5 LSTM with 11 characters" in r.stdout
    text = "hello world"
    ours, vocab = nnlab_logits(out, text)
    assert vocab == "".join(sorted(CHARS))
    theirs = torch_logits(t, [CHARS.index(ch) for ch in text])
    # Column j of nnlab's logits is character vocab[j]; theirs, CHARS[j].
    theirs = theirs[:, [CHARS.index(ch) for ch in vocab]]
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    # and it samples and evaluates like any other character model
    r = run("sample", out, "--len", 20, "--seed", 3)
    assert r.exit_code == 0 and len(r.stdout) == 20 and set(r.stdout) <= set(CHARS)
    (tmp_path / "poem.txt").write_text(POEM)
    r = run("eval", out, tmp_path / "poem.txt", "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert result["characters"] == len(POEM) and 0 < result["bits_per_char"] < 20


@pytest.mark.parametrize("cell, embed", [("lstm", 16), ("rnn", 0)])
def test_export_then_import_gives_back_the_same_model(tmp_path, cell, embed):
    from nnlab.nn.checkpoint import load_checkpoint

    ckpt = train_charlm(tmp_path, cell, embed)
    assert run("export", ckpt, tmp_path / "m.safetensors").exit_code == 0
    back = tmp_path / "back.npz"
    r = run("import", tmp_path / "m.safetensors", back)  # architecture and vocabulary from the file
    assert r.exit_code == 0, r.output
    (meta, arrays), (meta2, arrays2) = load_checkpoint(ckpt), load_checkpoint(back)
    assert meta2["vocab"] == meta["vocab"] and meta2["arch"] == dict(meta["arch"], args=dict(
        meta["arch"]["args"], dropout=0.0))
    for key, a in arrays2.items():
        np.testing.assert_array_equal(a, arrays[key])
    same = [run("sample", c, "--len", 40, "--seed", 5).stdout for c in (ckpt, back)]
    assert same[0] == same[1]
    r = run("train-charlm", tmp_path / "poem.txt", "--resume", back, "--steps", 8)
    assert_clean_failure(r, 1, "nnlab import", "cannot be resumed")
    r = run("info", back)
    assert "imported from m.safetensors" in r.stdout


def test_a_torch_lstm_trained_in_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    torch.manual_seed(0)
    chars = sorted(set(POEM))
    ids = torch.tensor([chars.index(ch) for ch in POEM])
    embed, lstm = torch.nn.Embedding(len(chars), 8), torch.nn.LSTM(8, 16, 2)
    out = torch.nn.Linear(16, len(chars))
    params = [*embed.parameters(), *lstm.parameters(), *out.parameters()]
    opt = torch.optim.Adam(params, 1e-2)
    for _ in range(30):
        h, _ = lstm(embed(ids[:-1, None]))
        loss = torch.nn.functional.cross_entropy(out(h)[:, 0], ids[1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    sd = {f"embed.{k}": v for k, v in embed.state_dict().items()}
    sd |= {f"rnn.{k}": v for k, v in lstm.state_dict().items()}
    sd |= {f"out.{k}": v for k, v in out.state_dict().items()}
    save_file(sd, tmp_path / "torch.safetensors")
    (tmp_path / "poem.txt").write_text(POEM)
    r = run("import", tmp_path / "torch.safetensors", tmp_path / "t.npz", "--arch", "lstm",
            "--vocab", tmp_path / "poem.txt")
    assert r.exit_code == 0, r.output
    with torch.no_grad():
        theirs = out(lstm(embed(ids[:50, None]))[0])[:, 0].numpy()
    ours, _ = nnlab_logits(tmp_path / "t.npz", POEM[:50])
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def _save(tmp_path, t, name="w.safetensors"):
    st.save_file(t, tmp_path / name)
    return tmp_path / name


RENAMES = ("--rename", "encoder=embed", "--rename", "lstm=rnn", "--rename", "fc=out")
VOCAB = ("--vocab", "{p}/v.json")
OK = RENAMES + VOCAB


def _with(**changes):
    """Makes w.safetensors: torch_layout's weights with ``changes`` (a name's
    dots written as __; None deletes it)."""
    def make(tmp_path):
        t = torch_layout(np.random.default_rng(1))
        for k, v in changes.items():
            k = k.replace("__", ".")
            if v is None:
                del t[k]
            else:
                t[k] = v
        st.save_file(t, tmp_path / "w.safetensors")
        return tmp_path / "w.safetensors"
    return make


def _text(tmp_path):
    (tmp_path / "n.safetensors").write_text("hello")
    return tmp_path / "n.safetensors"


ROWS = [  # (id, makes FILE, OUT, more args, exit code, fragments of the one line)
    ("not-safetensors", _text, "out.npz", VOCAB, 1, ("not a readable safetensors file",)),
    ("missing", lambda p: p / "nope.safetensors", "out.npz", VOCAB, 1, ("nope.safetensors",
                                                                         "no such")),
    ("stdin", lambda p: "-", "out.npz", VOCAB, 1, ("not stdin",)),
    ("no-vocabulary", _with(), "out.npz", RENAMES, 2, ("--vocab",)),
    ("vocabulary-too-short", _with(), "out.npz", RENAMES + ("--vocab", "{p}/short.txt"), 1,
     ("8 characters", "11")),
    ("names-unknown", _with(), "out.npz", VOCAB, 1, ("encoder.weight", "--rename")),
    ("bad-rename", _with(), "out.npz", ("--rename", "lstm") + VOCAB, 2, ("OLD=NEW",)),
    ("rename-to-unknown", _with(), "out.npz", ("--rename", "lstm=gru") + VOCAB, 2,
     ("embed, rnn, out",)),
    ("gru", _with(lstm__weight_hh_l0=np.zeros((15, 5), np.float32)), "out.npz", OK, 1,
     ("GRU",)),
    ("bidirectional", _with(lstm__weight_ih_l0_reverse=np.zeros((20, 6), np.float32)),
     "out.npz", OK, 1, ("bidirectional",)),
    ("no-output", _with(fc__weight=None), "out.npz", OK, 1, ("out.weight",)),
    ("layer-numbers-forged", _with(lstm__bias_ih_l999999999=np.zeros(20, np.float32)),
     "out.npz", OK, 1, ("no weights for layer 2 of 3",)),
    ("misshapen", _with(lstm__weight_hh_l1=np.zeros((20, 4), np.float32)), "out.npz", OK, 1,
     ("rnn.weight_hh_l1", "20 x 5")),
    ("wrong-arch", _with(), "out.npz", OK + ("--arch", "rnn"), 1, ("LSTM", "--arch lstm")),
    ("not-finite", _with(fc__bias=np.full(11, np.nan, np.float32)), "out.npz", OK, 1,
     ("out.b", "finite")),
    ("integer-weights", _with(fc__bias=np.zeros(11, np.int32)), "out.npz", OK, 1,
     ("I32", "float")),
    ("out-over-notes", _with(), "notes.npz", OK, 2, ("notes.npz",)),
    ("out-a-folder", _with(), "", OK, 2, ("directory",)),
]


@pytest.mark.parametrize("make, out, extra, code, fragments", [r[1:] for r in ROWS],
                         ids=[r[0] for r in ROWS])
def test_bad_input_is_one_line(tmp_path, make, out, extra, code, fragments):
    (tmp_path / "v.json").write_text(json.dumps(CHARS))
    (tmp_path / "short.txt").write_text("hello wor,")
    (tmp_path / "notes.npz").write_text("my notes\n")
    args = [str(a).replace("{p}", str(tmp_path)) for a in extra]
    r = run("import", make(tmp_path), tmp_path / out, *args)
    assert_clean_failure(r, code, *fragments)
    assert not (tmp_path / "out.npz").exists()
    assert (tmp_path / "notes.npz").read_text() == "my notes\n"
