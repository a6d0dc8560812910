"""Options that the recurrent trainers (train-charlm and the sequence
trainers, nn/seq_config.py) share, each defined here once; a config takes
one as a field, with its own default where the recipes differ."""

import math

from .fields import option

DEFAULT_EPOCHS = 10      # when neither --steps nor --epochs is given ...
DEFAULT_MIN_STEPS = 300  # ... but at least this many steps, for tiny data


def cell_option():
    return option("lstm", "LSTM or vanilla RNN cells.", choices=("lstm", "rnn"), fixed=True)


def lr_option(default):
    return option(default, "Peak learning rate (Adam), decayed along a cosine to "
                           "--min-lr-frac of it.", check="above0")


def min_lr_frac_option(default):
    return option(default, "Where the cosine decay ends, as a fraction of --lr.", check="unit")


def warmup_option():
    return option(0, "Steps of linear learning-rate warm-up.", check="count", flag="--warmup")


def weight_decay_option():
    return option(0.0, "Decoupled (AdamW) decay of the weight matrices.", check="nonneg")


def clip_option():
    return option(5.0, "Bound on the gradients' global norm (0: no clipping).", check="nonneg")


def eval_every_option():
    return option(0, "Steps between validations and checkpoints.", check="positive",
                  shown="a tenth of the run, at most 500")


def steps_option():
    return option(0, "Stop after this many steps (in total, when resuming).", check="positive",
                  shown="")


def epochs_option(what):
    return option(0.0, f"Stop after this many passes over {what}.", check="above0",
                  shown=f"{DEFAULT_EPOCHS}, and at least {DEFAULT_MIN_STEPS} steps")


def total_steps(config, steps_per_epoch):
    """The steps of a run of ``config`` (its steps and epochs options) with
    ``steps_per_epoch``: the sooner of the two given, else the default."""
    c, spe = config, steps_per_epoch
    by_epochs = math.ceil(c.epochs * spe) if c.epochs else 0
    if c.steps and by_epochs:
        return min(c.steps, by_epochs)
    return c.steps or by_epochs or max(DEFAULT_EPOCHS * spe, DEFAULT_MIN_STEPS)


def steps_or_epochs(config, given):
    """On resume: a run told only --steps (or only --epochs) stops by that
    alone, not by the total that the checkpoint also had."""
    if "steps" in given and "epochs" not in given:
        config.epochs = 0
    if "epochs" in given and "steps" not in given:
        config.steps = 0
