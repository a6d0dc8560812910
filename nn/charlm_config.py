"""The character language model's settings: each field is an option of
``nnlab train-charlm`` (nn/fields.py), with its default, help and range
written here and nowhere else. Kept free of numpy, since --help reads it."""

from dataclasses import dataclass

from .fields import option, seed_option, time_limit_option
from .recipe_options import (cell_option, clip_option, epochs_option, eval_every_option,
                             lr_option, min_lr_frac_option, steps_option, steps_or_epochs,
                             warmup_option, weight_decay_option)

# The characters a validation scores unless --val-chars says otherwise. All
# of Tiny Shakespeare's split (111,539), so its results stay comparable;
# about 7 s for the default 2x256 LSTM at the 29,000 characters/s measured
# on 2 busy cores, under a tenth of the default 500 steps between
# validations (76 s at 13,400 tokens/s). The standard error of a mean of
# 200,000 per-character losses spread by about 1.5 nats is 0.003 nats if
# they were independent, a few times that as neighbours are not: finer than
# the differences between runs worth acting on.
DEFAULT_VAL_CHARS = 200_000


@dataclass
class CharLMConfig:
    cell: str = cell_option()
    hidden: int = option(256, "Units per layer.", check="positive", fixed=True)
    layers: int = option(2, "Stacked recurrent layers.", check="positive", fixed=True)
    dropout: float = option(0.1, "Dropout after each recurrent layer, while training.",
                            check="fraction")
    # Before embeddings (legacy), input was one-hot.
    embed: int = option(64, "Width of the character embedding; 0 feeds one-hot vectors, as in "
                            "the lecture.", check="count", fixed=True, legacy=0)
    ema: float = option(0.995, "Validate and save the exponential moving average of the weights "
                               "with this decay; its window grows with the run, to "
                               "1/(1 - decay) steps (0: the raw weights).",
                        check="fraction", fixed=True, legacy=0.0)
    seq_len: int = option(64, "Time steps per chunk of truncated backpropagation through time.",
                          check="positive", fixed=True)
    batch_size: int = option(32, "Parallel streams of text per step.", check="positive",
                             fixed=True)
    lr: float = lr_option(5e-3)
    min_lr_frac: float = min_lr_frac_option(0.1)
    warmup_steps: int = warmup_option()
    weight_decay: float = weight_decay_option()
    clip: float = clip_option()
    val_frac: float = option(0.1, "Fraction of the text, from its end, held out for "
                                  "validation.", check="fraction", fixed=True)
    # Fixed: a best validation loss must compare with the next ones. Before
    # this field (legacy), validations scored all of the split.
    val_chars: int = option(DEFAULT_VAL_CHARS, "Characters each validation scores: the first N "
                            "of the validation split, the same at every validation (0: all of "
                            "it). Bounds the time a validation takes on a big text.",
                            check="count", fixed=True, legacy=0)
    eval_every: int = eval_every_option()
    steps: int = steps_option()
    epochs: float = epochs_option("the text")
    time_limit: float = time_limit_option(
        "Stop after this many seconds (in total, when resuming), validations included: "
        "training stops in time for the last validation, and one still running at the limit "
        "is stopped; the learning rate decays by then even if --steps would run longer.")
    seed: int = seed_option()

    on_resume = steps_or_epochs
