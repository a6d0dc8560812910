"""The image classifiers' settings: each field is an option of ``nnlab
train-cnn`` (nn/fields.py), with its default, help and range written here
and nowhere else. Kept free of numpy, since --help reads it."""

from dataclasses import dataclass

from .fields import option, seed_option, time_limit_option

ARCHITECTURES = ("lenet5", "alexnet", "resnet")


@dataclass
class CNNConfig:
    dataset: str = option("mnist", "Which dataset to train on.",
                          choices=("mnist", "fashion-mnist"), fixed=True)
    arch: str = option("lenet5", "Network architecture (see the README for the layers).",
                       choices=ARCHITECTURES, fixed=True)
    depth: int = option(2, "resnet: residual blocks per stage.", check="positive", fixed=True,
                        only=("arch", "resnet"))
    width: int = option(16, "resnet: channels of the first stage (then twice and four times "
                            "that).", check="positive", fixed=True, only=("arch", "resnet"))
    first_stride: int = option(1, "resnet: stride of the first stage; 2 halves the image there "
                                  "(28 -> 14), for about a third of the work per image.",
                               check="stride", fixed=True, only=("arch", "resnet"))
    dropout: float = option(0.5, "alexnet: dropout in the fully connected layers.",
                            check="fraction", fixed=True, only=("arch", "alexnet"))
    epochs: int = option(10, "Passes over the training set (in total, when resuming).",
                         check="positive", shown="10")
    batch_size: int = option(64, "Examples per optimizer step.", check="positive", fixed=True)
    lr: float = option(2e-3, "Peak learning rate.", check="above0",
                       shown="0.002 for adam, 0.05 for sgd; alexnet: 0.001, 0.02")
    optimizer: str = option("adam", "Adam (decoupled weight decay) or SGD with momentum.",
                            choices=("adam", "sgd"), fixed=True)
    momentum: float = option(0.9, "Momentum for --optimizer sgd (refused with adam).",
                             check="fraction", only=("optimizer", "sgd"))
    weight_decay: float = option(0.05, "Weight decay on weights, not biases: decoupled (AdamW) "
                                       "for adam, L2 for sgd.", check="nonneg",
                                 shown="0.05 for adam, 0.0005 for sgd")
    schedule: str = option("cosine", "Learning-rate schedule over the whole run.",
                           choices=("cosine", "step", "constant"))
    warmup_steps: int = option(0, "Steps of linear learning-rate warm-up, at most the whole run.",
                               check="count", flag="--warmup",
                               shown="300 for resnet (a tenth of a run shorter than that), "
                                     "else 0")
    augment: bool = option(False, "Random shifts of up to 2 pixels, and left-right flips on "
                                  "fashion-mnist (never on digits).", negatable=True,
                           shown="on for alexnet and resnet")
    label_smoothing: float = option(0.0, "Mix this much of a uniform target into the labels.",
                                    check="fraction", shown="0.1 for resnet, else 0")
    time_limit: float = time_limit_option(
        "Stop after this many seconds of training (in total, when resuming), evaluate and "
        "save; the learning rate decays by then.")
    seed: int = seed_option()
    limit: int = option(0, "Train on the first N examples only, for smoke runs.",
                        check="positive", shown="", fixed=True)

    def fill_defaults(self, given):
        """Defaults that depend on the architecture and the optimizer, for the
        options the user left out. Adam's weight decay is decoupled
        (p -= lr * decay * p), so its scale is not comparable with SGD's L2
        term. LeNet-5 on MNIST: lr 2e-3 with decay 0.05 gave 99.20% after 10
        epochs, where 1e-3 without decay gave 99.00-99.06%."""
        sgd = self.optimizer == "sgd"
        d = {"lr": 0.05 if sgd else 2e-3, "weight_decay": 5e-4 if sgd else 0.05}
        if self.arch == "alexnet":
            d.update(augment=True, lr=0.02 if sgd else 1e-3)
        elif self.arch == "resnet":
            d.update(augment=True, warmup_steps=300, label_smoothing=0.1)
        for name, value in d.items():
            if name not in given:
                setattr(self, name, value)
