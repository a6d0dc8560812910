"""Pairs of a TSV file (data/tsv.py) turned into id sequences for the
sequence trainers, with the vocabularies that map them back.

- classifier: the text's characters, and one label (a string) per line;
- tagger: the text's characters, and one tag character per character;
- seq2seq: the source's characters, and the target's tokens: characters,
  or with ``target_split="words"`` the words between single spaces (the
  phonemes of "HH AH0 L OW1"). The target vocabulary starts with the start
  and end markers, ids 0 and 1.
"""

import numpy as np

from .text import TextError, describe

START, END = "<s>", "</s>"
SPLITS = ("chars", "words")


class Tokens:
    """Tokens (characters, labels, words) <-> ids, in the given order."""

    def __init__(self, tokens):
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError("tokens must be distinct")

    @classmethod
    def of(cls, sequences, specials=()):
        seen = set()
        for s in sequences:
            seen.update(s)
        return cls([*specials, *sorted(seen - set(specials))])

    def __len__(self):
        return len(self.tokens)

    def unknown(self, seq):
        return list(dict.fromkeys(t for t in seq if t not in self.index))

    def encode(self, seq, where="the input"):
        missing = self.unknown(seq)
        if missing:
            raise TextError(f"{where} has characters the model never saw: {describe(missing)}")
        return np.fromiter((self.index[t] for t in seq), np.int32, len(seq))

    def decode(self, ids):
        return [self.tokens[i] for i in ids]


def split_target(text, target_split):
    return text.split(" ") if target_split == "words" else list(text)


def join_target(tokens, target_split):
    return (" " if target_split == "words" else "").join(tokens)


def vocabularies(kind, pairs, target_split="chars"):
    """(source Tokens, target Tokens) built from ``pairs``."""
    src = Tokens.of(text for text, _ in pairs)
    if kind == "classifier":
        tgt = Tokens(sorted({label for _, label in pairs}))
    elif kind == "tagger":
        tgt = Tokens.of(tags for _, tags in pairs)
    else:
        tgt = Tokens.of((split_target(t, target_split) for _, t in pairs), (START, END))
    return src, tgt


def encode_pairs(kind, pairs, src, tgt, target_split="chars", name="the data"):
    """[(source ids, target)] where the target is a label id (classifier),
    tag ids (tagger) or token ids ending with the end marker (seq2seq)."""
    out = []
    for n, (text, second) in enumerate(pairs, 1):
        where = f"{name}, pair {n}"
        ids = src.encode(text, where)
        if kind == "classifier":
            if second not in tgt.index:
                raise TextError(f"{where}: the label {second!r} is not one the model knows "
                                f"({', '.join(tgt.tokens[:10])})")
            target = tgt.index[second]
        elif kind == "tagger":
            target = tgt.encode(second, where)
        else:
            target = np.append(tgt.encode(split_target(second, target_split), where),
                               np.int32(tgt.index[END]))
        out.append((ids, target))
    return out
