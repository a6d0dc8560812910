"""The settings of train-reader: each field an option of the command
(nn/fields.py), with its default, help and range written here only.
numpy-free: --help reads it.

The defaults were chosen on prototype runs of 3,000 steps of 64 strips
(about 4 minutes on 2 cores), scored on 200 strips of each length:
  - a flattened-feature "bridge" alone (no attention): 80.0% whole-number
    accuracy, 57.5% on 5 digits;
  - the same with attention over the feature map's columns: 88.9%, 81.0%
    on 5 digits, in the same time;
  - channels 32,64,64 instead of 16,32,64: 88.1%, at 1.9x the time.
"""

from dataclasses import dataclass

from .fields import option, seed_option, time_limit_option
from .recipe_options import (clip_option, eval_every_option, lr_option, min_lr_frac_option,
                             warmup_option, weight_decay_option)


@dataclass
class ReaderConfig:
    max_digits: int = option(5, "Longest number on a strip; the strips are 24 columns per "
                                "digit + 8 wide (128 for 5).", check="positive", fixed=True)
    channels: str = option("16,32,64", "Channels of the encoder's three conv 3x3 + max-pool "
                                       "stages.", fixed=True)
    batchnorm: bool = option(False, "Batch norm after each convolution.", negatable=True,
                             fixed=True)
    hidden: int = option(256, "Units of the LSTM decoder.", check="positive", fixed=True)
    layers: int = option(1, "Stacked LSTM layers of the decoder.", check="positive",
                         fixed=True)
    embed: int = option(32, "Width of the decoder's digit embedding.", check="positive",
                        fixed=True)
    batch_size: int = option(64, "Strips per step, composed afresh every step.",
                             check="positive", fixed=True)
    lr: float = lr_option(2e-3)
    min_lr_frac: float = min_lr_frac_option(0.05)
    warmup_steps: int = warmup_option()
    weight_decay: float = weight_decay_option()
    clip: float = clip_option()
    val_per_length: int = option(200, "Validation strips of each length, made once from the "
                                      "5,000 training digits held out.", check="positive",
                                 fixed=True)
    eval_every: int = eval_every_option()
    steps: int = option(20000, "Stop after this many steps (in total, when resuming).",
                        check="positive")
    time_limit: float = time_limit_option(
        "Stop after this many seconds (in total, when resuming), validations included; the "
        "learning rate decays by then.")
    seed: int = seed_option()

    def channel_list(self):
        """--channels as three positive ints, or a ValueError naming the problem."""
        try:
            out = tuple(int(c) for c in self.channels.split(","))
        except ValueError:
            out = ()
        if len(out) != 3 or min(out) < 1 or max(out) > 1024:
            raise ValueError(f"--channels {self.channels!r}: give three channel counts from 1 "
                             "to 1024, such as 16,32,64")
        return out
