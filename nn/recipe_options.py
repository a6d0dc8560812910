"""Options that the recurrent trainers (train-charlm and the sequence
trainers, nn/seq_config.py) share, each defined here once; a config takes
one as a field, with its own default where the recipes differ."""

from .fields import option


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
                  shown="10, and at least 300 steps")


def steps_or_epochs(config, given):
    """On resume: a run told only --steps (or only --epochs) stops by that
    alone, not by the total that the checkpoint also had."""
    if "steps" in given and "epochs" not in given:
        config.epochs = 0
    if "epochs" in given and "steps" not in given:
        config.steps = 0
