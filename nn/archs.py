"""Typed descriptions of the networks a checkpoint holds.

A checkpoint stores an architecture as ``{"name": ..., "args": {...}}``;
these dataclasses are that description in the code: each argument a field
with the kind that a checkpoint's value is checked against (nn/meta.py),
so that a forged file cannot ask for terabytes, and the keyword arguments
of the builders (nn/cnn_models.py, CharLM) come from one place.
"""

from dataclasses import asdict, dataclass, field, fields

from .meta import check


def arg(default, kind):
    return field(default=default, metadata={"kind": kind})


class _Arch:
    def args(self):
        """The builder's keyword arguments: the fields that are set."""
        return {k: v for k, v in asdict(self).items() if v is not None and k != "name"}

    def to_meta(self):
        return {"name": self.name, "args": self.args()}

    @classmethod
    def read(cls, meta):
        """The description in checkpoint metadata ``meta`` (a Meta), every
        argument checked with its kind; unknown arguments are refused. A
        missing one takes the field's default (for an LM's embed: 0, the
        one-hot input of checkpoints made before embeddings)."""
        arch = meta.section("arch")
        name = arch.get("name", "str")
        args = arch.section("args")
        kinds = {f.name: f.metadata["kind"] for f in fields(cls) if f.name != "name"}
        values = {}
        for key, value in args.meta.items():
            if key not in kinds:
                raise args.bad(key, "is not an argument of this network")
            values[key] = check(value, kinds[key], lambda what, key=key: args.bad(key, what))
        if "name" in {f.name for f in fields(cls)}:
            values["name"] = name
        return cls(**values)


@dataclass(frozen=True)
class CNNArch(_Arch):
    name: str = "lenet5"                       # lenet5, alexnet or resnet
    in_channels: int = arg(1, "size")          # channels of the input images
    num_classes: int = arg(10, "size")
    image_size: int = arg(28, "size")          # side of the square input images
    depth: int | None = arg(None, "size")      # resnet: residual blocks per stage
    width: int | None = arg(None, "size")      # resnet: channels of the first stage
    first_stride: int | None = arg(None, "size")  # resnet: 2 halves the image at once
    dropout: float | None = arg(None, "float")  # alexnet: in the fully connected layers

    @classmethod
    def for_run(cls, config, num_classes, image_size):
        """The network of a new train-cnn run: the data's shape, and the
        options of its architecture (those of others stay unset)."""
        extra = {}
        if config.arch == "resnet":
            extra = {"depth": config.depth, "width": config.width,
                     "first_stride": config.first_stride}
        elif config.arch == "alexnet":
            extra = {"dropout": config.dropout}
        return cls(config.arch, 1, num_classes, image_size, **extra)

    def build(self):
        from .cnn_models import build_cnn

        return build_cnn(self.name, self.args())


@dataclass(frozen=True)
class LMArch(_Arch):
    name = "charlm"  # not a field: one kind of network
    # The vocabulary is Unicode code points, so it may exceed the other sizes' bound.
    vocab_size: int = arg(None, "vocab")
    cell: str = arg("lstm", "str")       # lstm or rnn
    hidden: int = arg(256, "size")
    layers: int = arg(2, "size")
    dropout: float = arg(0.0, "float")
    embed: int = arg(0, "count")         # 0: one-hot input (and checkpoints before embeddings)

    def build(self):
        from .charlm import CharLM

        return CharLM(**self.args())


@dataclass(frozen=True)
class SeqArch(_Arch):
    """The networks of nn/seqnets.py: name is classifier, tagger or seq2seq."""
    name: str = "classifier"
    src_vocab: int = arg(None, "vocab")   # source characters
    tgt_vocab: int = arg(None, "vocab")   # classes, tags, or target tokens with the markers
    cell: str = arg("lstm", "str")
    hidden: int = arg(128, "size")
    layers: int = arg(1, "size")
    embed: int = arg(32, "count")
    dropout: float = arg(0.0, "float")
    bidirectional: bool | None = arg(None, "bool")  # tagger only

    def build(self):
        from .seqnets import Classifier, Seq2Seq, Tagger

        common = dict(cell=self.cell, hidden=self.hidden, layers=self.layers,
                      embed=self.embed, dropout=self.dropout)
        if self.name == "tagger":
            return Tagger(self.src_vocab, self.tgt_vocab, bidirectional=bool(self.bidirectional),
                          **common)
        make = {"classifier": Classifier, "seq2seq": Seq2Seq}.get(self.name)
        if make is None:
            raise ValueError(f"unknown network {self.name!r} (known: classifier, tagger, seq2seq)")
        return make(self.src_vocab, self.tgt_vocab, **common)


@dataclass(frozen=True)
class ReaderArch(_Arch):
    """The one-to-many reader of nn/reader.py."""
    name = "reader"  # not a field: one kind of network
    max_digits: int = arg(5, "size")    # longest number it was trained to read
    width: int = arg(128, "size")       # the strips' columns (their height is 28)
    conv1: int = arg(16, "size")        # channels of the encoder's three stages
    conv2: int = arg(32, "size")
    conv3: int = arg(64, "size")
    batchnorm: bool = arg(False, "bool")
    hidden: int = arg(256, "size")
    layers: int = arg(1, "size")
    embed: int = arg(32, "size")

    @classmethod
    def for_run(cls, config, width):
        c1, c2, c3 = config.channel_list()
        return cls(config.max_digits, width, c1, c2, c3, config.batchnorm, config.hidden,
                   config.layers, config.embed)

    def param_count(self):
        """The parameters of the network, from the sizes alone (nn/reader.py's
        layout; batch norm's scale and shift count as the bias they replace)."""
        c1, c2, c3, H, L, E = (self.conv1, self.conv2, self.conv3, self.hidden, self.layers,
                               self.embed)
        cols, depth = self.width // 8, 3 * c3          # the map: 3 rows, width / 8 columns
        conv = 9 * (c1 + c1 * c2 + c2 * c3) + (c1 + c2 + c3) * (2 if self.batchnorm else 1)
        bridge = (depth * cols + 1) * 2 * L * H
        decoder = 12 * E + (E + H + 1) * 4 * H + (L - 1) * (2 * H + 1) * 4 * H
        attention = depth * H + cols * H
        return conv + bridge + decoder + attention + (H + depth + 1) * 12

    def activation_floats(self, batch):
        """Floats a training batch keeps for the backward pass: about four
        arrays the size of each stage's output (convolution, norm, ReLU, pool)."""
        w = self.width
        return 4 * batch * 28 * w * (self.conv1 + self.conv2 / 4 + self.conv3 / 16)

    def build(self):
        from .reader import Reader

        if self.width < 8:
            raise ValueError(f"a strip of {self.width} columns is too narrow for three poolings")
        return Reader(28, self.width, (self.conv1, self.conv2, self.conv3), self.hidden,
                      self.layers, self.embed, self.batchnorm)
