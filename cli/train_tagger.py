"""nnlab train-tagger: synchronized many to many, a tag for each character."""

from nnlab.nn.seq_config import TaggerConfig

from .seq_training import train_command

train_tagger = train_command("tagger", TaggerConfig, """\
Train a tagger of characters on FILE.tsv ("-" for stdin).

Each line is text<TAB>tags, with one tag character per character of the text:
a label at every step. By default a second recurrent stack reads each line
backwards, so that a tag can depend on what follows (--no-bidirectional: the
lecture's one-way model). Then: nnlab predict tagger.npz TEXT.""")
