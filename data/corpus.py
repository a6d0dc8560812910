"""The text a character model trains on: found (a file, stdin, or one
bundled with nnlab), read, and checked to be something a model can learn."""

import os

from nnlab import UsageProblem

from .text import TextError, Vocab, bundled_path, describe, read_text


def read_corpus(file, outputs=()):
    """(file, text, vocabulary, notes) of ``file`` ("-": stdin; a bundled
    name such as hello.txt when no such file exists). ``outputs``: the files
    the run will write, which must not be the text."""
    notes = []
    if file != "-" and not os.path.exists(file) and bundled_path(file):
        file = bundled_path(file)
        notes.append(f"using the {os.path.basename(file)} bundled with nnlab")
    if file != "-" and os.path.realpath(file) in {os.path.realpath(p) for p in outputs}:
        # Even with --force: the text would be gone by the first save.
        raise UsageProblem(f"{file} is the training text; give --out another file name",
                           "--out")
    text = read_text(file)
    vocab = Vocab.from_text(text)
    name = "stdin" if file == "-" else file
    if len(text) < 2:
        raise TextError(f"{name} holds a single character; a language model needs at least "
                        "two to learn from")
    if len(vocab) < 2:
        # Else it learns to say that character with certainty: loss 0, and nothing learnt.
        raise TextError(f"{name} holds a single distinct character ({describe(vocab.chars)}, "
                        f"{len(text):,} times); a language model needs at least two different "
                        "characters to learn from")
    return file, text, vocab, notes
