"""The settings of the sequence trainers (train-classifier, train-tagger,
train-seq2seq): each field an option of its command (nn/fields.py), with
its default, help and range written here only. numpy-free: --help reads it."""

from dataclasses import dataclass

from .fields import option, seed_option, time_limit_option


@dataclass
class SeqConfig:
    """What the three trainers share; each subclass sets its model's defaults."""
    cell: str = option("lstm", "LSTM or vanilla RNN cells.", choices=("lstm", "rnn"),
                       fixed=True)
    hidden: int = option(128, "Units per recurrent layer.", check="positive", fixed=True)
    layers: int = option(1, "Stacked recurrent layers.", check="positive", fixed=True)
    embed: int = option(32, "Width of the character embedding; 0 feeds one-hot vectors.",
                        check="count", fixed=True)
    dropout: float = option(0.0, "Dropout between recurrent layers, while training.",
                            check="fraction")
    batch_size: int = option(64, "Sequences per step (of one length each).", check="positive",
                             fixed=True)
    lr: float = option(3e-3, "Peak learning rate (Adam), decayed along a cosine to "
                             "--min-lr-frac of it.", check="above0")
    min_lr_frac: float = option(0.05, "Where the cosine decay ends, as a fraction of --lr.",
                                check="unit")
    warmup_steps: int = option(0, "Steps of linear learning-rate warm-up.", check="count",
                               flag="--warmup")
    weight_decay: float = option(0.0, "Decoupled (AdamW) decay of the weight matrices.",
                                 check="nonneg")
    clip: float = option(5.0, "Bound on the gradients' global norm (0: no clipping).",
                         check="nonneg")
    val_frac: float = option(0.05, "Fraction of the lines held out for validation (a fixed "
                                   "shuffle of the seed).", check="fraction", fixed=True)
    eval_every: int = option(0, "Steps between validations and checkpoints.", check="positive",
                             shown="a tenth of the run, at most 500")
    patience: int = option(0, "Stop after this many validations without a better validation "
                              "loss (0: never; the best checkpoint is kept either way).",
                           check="count")
    steps: int = option(0, "Stop after this many steps (in total, when resuming).",
                        check="positive", shown="")
    epochs: float = option(0.0, "Stop after this many passes over the training lines.",
                           check="above0", shown="10, and at least 300 steps")
    time_limit: float = time_limit_option(
        "Stop after this many seconds (in total, when resuming), validations included; the "
        "learning rate decays by then.")
    seed: int = seed_option()

    def on_resume(self, given):
        if "steps" in given and "epochs" not in given:
            self.epochs = 0
        if "epochs" in given and "steps" not in given:
            self.steps = 0


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
