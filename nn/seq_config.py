"""The settings of the sequence trainers (train-classifier, train-tagger,
train-seq2seq): each field an option of its command (nn/fields.py), with
its default, help and range written here only. numpy-free: --help reads it."""

from dataclasses import dataclass

from .fields import option, seed_option, time_limit_option
from .recipe_options import (cell_option, clip_option, epochs_option, eval_every_option,
                             lr_option, min_lr_frac_option, steps_option, steps_or_epochs,
                             warmup_option, weight_decay_option)


@dataclass
class SeqConfig:
    """What the three trainers share; each subclass sets its model's defaults."""
    cell: str = cell_option()
    hidden: int = option(128, "Units per recurrent layer.", check="positive", fixed=True)
    layers: int = option(1, "Stacked recurrent layers.", check="positive", fixed=True)
    embed: int = option(32, "Width of the character embedding; 0 feeds one-hot vectors.",
                        check="count", fixed=True)
    dropout: float = option(0.0, "Dropout between recurrent layers, while training.",
                            check="fraction")
    batch_size: int = option(64, "Sequences per step (of one length each).", check="positive",
                             fixed=True)
    lr: float = lr_option(3e-3)
    min_lr_frac: float = min_lr_frac_option(0.05)
    warmup_steps: int = warmup_option()
    weight_decay: float = weight_decay_option()
    clip: float = clip_option()
    val_frac: float = option(0.05, "Fraction of the lines held out for validation (a fixed "
                                   "shuffle of the seed).", check="fraction", fixed=True)
    eval_every: int = eval_every_option()
    patience: int = option(0, "Stop after this many validations without a better validation "
                              "loss (0: never; the best checkpoint is kept either way).",
                           check="count")
    steps: int = steps_option()
    epochs: float = epochs_option("the training lines")
    time_limit: float = time_limit_option(
        "Stop after this many seconds (in total, when resuming), validations included; the "
        "learning rate decays by then.")
    seed: int = seed_option()

    on_resume = steps_or_epochs


@dataclass
class ClassifierConfig(SeqConfig):
    pass


@dataclass
class TaggerConfig(SeqConfig):
    bidirectional: bool = option(True, "Also read each line backwards, so that a tag can "
                                       "depend on what follows.", negatable=True, fixed=True)


@dataclass
class Seq2SeqConfig(SeqConfig):
    hidden: int = option(256, "Units per recurrent layer.", check="positive", fixed=True)
    layers: int = option(2, "Stacked recurrent layers.", check="positive", fixed=True)
    embed: int = option(64, "Width of the token embeddings; 0 feeds one-hot vectors.",
                        check="count", fixed=True)
    target_split: str = option("chars", "Target tokens: characters, or the words between "
                                         "single spaces (phonemes, say).",
                               choices=("chars", "words"), fixed=True, flag="--target-tokens")
