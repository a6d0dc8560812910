"""nnlab train-seq2seq: an encoder/decoder, from a source to a target of any length."""

from nnlab.nn.seq_config import Seq2SeqConfig

from .seq_training import train_command

train_seq2seq = train_command("seq2seq", Seq2SeqConfig, """\
Train an encoder/decoder on FILE.tsv ("-" for stdin).

Each line is source<TAB>target, of any lengths. The encoder reads the source
into its final state; the decoder starts from it and writes the target, fed
the previous target token while training and its own previous output when
predicting (greedy, or --beam K). --target-tokens words makes the target's
tokens the words between single spaces (phonemes, say). Then:
echo hello | nnlab predict seq2seq.npz.""")
