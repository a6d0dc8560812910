"""Helpers shared by the export and import tests: tiny trained checkpoints
(a helper module, not a test module)."""

import os
import re
from pathlib import Path

from clirun import run

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


def train_charlm(tmp_path, cell="lstm", embed=16, name="charlm.npz"):
    """A 2 x 8 character model trained 4 steps on a short poem; its path."""
    (tmp_path / "poem.txt").write_text(POEM)
    out = tmp_path / name
    r = run("train-charlm", tmp_path / "poem.txt", "--cell", cell, "--hidden", 8, "--layers", 2,
            "--embed", embed, "--batch-size", 2, "--seq-len", 8, "--steps", 4, "--out", out)
    assert r.exit_code == 0, r.output
    return out


def train_cnn(tmp_path, data, arch):
    """A CNN of ``arch`` trained one epoch on 64 images of ``data``; its path.
    The ResNet is small (depth 2, width 4) but has projections and batch
    norms whose running statistics have moved."""
    out = tmp_path / f"{arch}.npz"
    extra = ("--depth", 2, "--width", 4) if arch == "resnet" else ()
    r = run("train-cnn", "--data", data, "--arch", arch, "--epochs", 1, "--limit", 64,
            "--batch-size", 32, "--out", out, *extra)
    assert r.exit_code == 0, r.output
    return out
