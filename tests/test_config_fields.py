"""Each option is defined once, as a config field (nn/fields.py): the Click
options, their checks, the checks of a checkpoint's config, the fields a
resume must keep and the legacy values all come from that one definition."""

from dataclasses import fields

import click
import numpy as np
import pytest

from clirun import assert_clean_failure, run
from nnlab.cli.train_charlm import train_charlm
from nnlab.cli.train_cnn import train_cnn
from nnlab.nn.charlm_config import CharLMConfig
from nnlab.nn.checkpoint import CheckpointError, load_checkpoint
from nnlab.nn.cnn_config import CNNConfig
from nnlab.nn.fields import CHECKS, command_fields, fixed_fields, flag_of, legacy_default, option
from nnlab.nn.meta import Meta, config_from
from nnlab.nn.settings import new_config, resumed_config
from nnlab.nn.runs import ResumeConflict, UsageProblem

COMMANDS = [(train_charlm, CharLMConfig), (train_cnn, CNNConfig)]
TEXT = "the cat sat on the mat; the dog sat on the log.\n" * 30


@pytest.mark.parametrize("command, cls", COMMANDS)
def test_every_command_field_is_an_option_with_its_default(command, cls):
    options = {p.name: p for p in command.params if isinstance(p, click.Option)}
    for f in command_fields(cls):
        p = options[f.name]
        assert flag_of(f) in p.opts and p.help.startswith(f.metadata["help"])
        shown = f.metadata["shown"]
        # A default the run works out is "not given" to Click, and stated in the help.
        assert p.default == (f.default if shown is None else None)
        if shown:
            assert p.help.endswith(f"[default: {shown}]")
    # And nothing else of the config is an option: fields without help are settings only.
    hidden = {f.name for f in fields(cls)} - {f.name for f in command_fields(cls)}
    assert not hidden & set(options)


@pytest.mark.parametrize("cls", [CharLMConfig, CNNConfig])
def test_a_checkpoint_config_is_checked_with_the_options_ranges(cls):
    for f in fields(cls):
        check = f.metadata["check"]
        if check is None or f.type not in (int, float):
            continue
        bad = {"positive": -1, "count": -1, "above0": -1.0, "nonneg": -0.5, "fraction": 1.0,
               "unit": 1.5, "stride": 3}[check]
        assert not CHECKS[check][0](bad)
        config = {g.name: g.default for g in fields(cls)}
        config[f.name] = f.type(bad)
        with pytest.raises(CheckpointError, match=f"config.{f.name} "):
            config_from(cls, Meta({"config": config}, "x.npz"))


def test_legacy_values_fill_fields_an_old_checkpoint_lacks():
    config = {f.name: f.default for f in fields(CharLMConfig)}
    for name in ("embed", "val_chars", "ema"):
        del config[name]
    old = config_from(CharLMConfig, Meta({"config": config}, "old.npz"))
    assert (old.embed, old.val_chars, old.ema) == (0, 0, 0.0)
    by_field = {f.name: f for f in fields(CharLMConfig)}
    assert legacy_default(by_field["hidden"]) == 256  # no legacy: today's default


def test_fixed_fields_and_only_come_from_the_fields():
    assert {"hidden", "cell", "seed", "batch_size"} <= set(fixed_fields(CharLMConfig))
    assert "lr" not in fixed_fields(CharLMConfig) and "epochs" not in fixed_fields(CNNConfig)
    saved = Meta({"config": vars(CharLMConfig())}, "run.npz")
    with pytest.raises(ResumeConflict, match="hidden = 256, not 8"):
        resumed_config(CharLMConfig, saved, {"hidden": 8})
    assert resumed_config(CharLMConfig, saved, {"lr": 1e-3}).lr == 1e-3
    with pytest.raises(UsageProblem, match="applies to --arch resnet only") as e:
        new_config(CNNConfig, {"depth": 3})
    assert e.value.option == "--depth"


def test_defaults_worked_out_from_other_options():
    assert new_config(CNNConfig, {"arch": "alexnet"}).lr == 1e-3
    assert new_config(CNNConfig, {"arch": "alexnet", "lr": 0.3}).lr == 0.3
    assert new_config(CNNConfig, {"optimizer": "sgd"}).weight_decay == 5e-4
    resnet = new_config(CNNConfig, {"arch": "resnet"})
    assert (resnet.augment, resnet.warmup_steps, resnet.label_smoothing) == (True, 300, 0.1)


def test_option_refuses_an_unknown_check():
    with pytest.raises(ValueError, match="unknown check"):
        option(1, "help", check="positve")


def test_min_lr_frac_the_option_added_as_one_field(tmp_path):
    """--min-lr-frac was a setting only (a field without help); giving the
    field its help made it an option, checked, saved and resumed."""
    text = tmp_path / "t.txt"
    text.write_text(TEXT)
    out = tmp_path / "m.npz"
    args = ("train-charlm", text, "--hidden", 8, "--layers", 1, "--embed", 4, "--batch-size", 2,
            "--seq-len", 8, "--steps", 4, "--out", out)
    assert_clean_failure(run(*args, "--min-lr-frac", 1.5), 2, "--min-lr-frac", "from 0 to 1")
    result = run(*args, "--min-lr-frac", 1.0, "--lr", 0.01, "--json")
    assert result.exit_code == 0, result.output
    meta, _ = load_checkpoint(out, kind="charlm")
    assert meta["config"]["min_lr_frac"] == 1.0
    # The floor changes the run: with 1.0 the cosine stays at --lr.
    default = tmp_path / "d.npz"
    assert run(*args[:-1], default, "--lr", 0.01).exit_code == 0
    a, b = load_checkpoint(out)[1], load_checkpoint(default)[1]
    assert not all(np.array_equal(a[k], b[k]) for k in a if k.startswith("params/"))
    from nnlab.data.text import Vocab
    from nnlab.nn.train_charlm import CharLMTrainer

    vocab = Vocab.from_text(TEXT)
    for frac in (1.0, 0.25):
        config = CharLMConfig(hidden=8, layers=1, embed=4, batch_size=2, seq_len=8, steps=50,
                              lr=0.01, min_lr_frac=frac)
        lr_at = CharLMTrainer(config, vocab.encode(TEXT), vocab).schedule()
        assert lr_at(50) == pytest.approx(0.01 * frac)
