"""nnlab train-classifier: many to one, a label for each line of text."""

from nnlab.nn.seq_config import ClassifierConfig

from .seq_training import train_command

train_classifier = train_command("classifier", ClassifierConfig, """\
Train a classifier of lines of text on FILE.tsv ("-" for stdin).

Each line is text<TAB>label. A recurrent encoder reads the characters, and a
linear layer reads its final state ("output only at the end"). Progress goes
to stderr; the final losses and validation accuracy to stdout. Then:
nnlab predict classifier.npz WORD, or nnlab eval classifier.npz HELDOUT.tsv.""")
