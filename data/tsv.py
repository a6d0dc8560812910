"""The tab-separated files of train-classifier, train-tagger and
train-seq2seq (and of their eval and predict): one pair a line.

- classifier: ``text<TAB>label``;
- tagger: ``text<TAB>tags``, one tag character per character of the text;
- seq2seq: ``source<TAB>target``, of any lengths.

Read bounded and decoded like any corpus (data/text.py); a bad line is
reported as one line naming the file, the line number and the fix.
"""

import numpy as np

from .text import TextError, decode_text, read_bytes


class TsvError(TextError):
    """A TSV file that cannot be used: bad data (exit 1), like a TextError."""


# kind: (the names of the two fields, as the messages spell a line).
FIELDS = {
    "classifier": ("text", "label"),
    "tagger": ("text", "tags"),
    "seq2seq": ("source", "target"),
}


def _empty(field):
    # "the tags are empty": the only plural field name.
    return f"the {field} {'are' if field.endswith('s') else 'is'} empty"


def _plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def read_pairs(path, kind, purpose="to learn from", require_target=True):
    """list of (text, second) str pairs of the TSV file at ``path`` ("-" = stdin).
    kind: "classifier" | "tagger" | "seq2seq". With ``require_target=False``
    (predict) a line without a tab is the text alone: (line, None)."""
    first, second = FIELDS[kind]
    form = f"{first}<TAB>{second}"
    name = "stdin" if path == "-" else path
    data = read_bytes(path)
    # An empty file is reported as holding no lines, below, rather than as
    # decode_text's "empty; give a text file", which does not say the form.
    text = decode_text(data, name, purpose) if data else ""
    if text.startswith("\ufeff"):  # a BOM, as Windows editors write UTF-8
        text = text[1:]
    pairs = []
    # split("\n"), not splitlines(): that would also break lines at \v, \f,
    # \x1c-\x1e, \x85 and \u2028, characters a text may well hold.
    for n, line in enumerate(text.split("\n"), 1):
        if line.endswith("\r"):  # CRLF line ends
            line = line[:-1]
        if not line:
            continue
        tabs = line.count("\t")
        if tabs == 0 and not require_target:
            pairs.append((line, None))
            continue
        where = f"{name}, line {n}"
        if tabs == 0:
            raise TsvError(f"{where}: no tab; each line is {form}")
        if tabs > 1:
            raise TsvError(f"{where}: {tabs} tabs; each line is {form} with exactly one tab")
        a, b = line.split("\t")
        if not a:
            raise TsvError(f"{where}: {_empty(first)}")
        if not b:
            raise TsvError(f"{where}: {_empty(second)}")
        if kind == "tagger" and len(b) != len(a):
            raise TsvError(f"{where}: {_plural(len(b), 'tag')} for "
                           f"{_plural(len(a), 'character')}; give one tag character per "
                           f"character of the text")
        pairs.append((a, b))
    if not pairs:
        raise TsvError(f"{name} holds no lines of {form}; give a file of {form} lines "
                       f"{purpose}")
    return pairs


def split_heldout(pairs, frac, seed):
    """(train, heldout) lists of ``pairs``: a fixed shuffle of ``seed``
    (numpy's Generator(PCG64(seed))), then the last round(len * frac) held
    out. When nothing is held out, or holding out would leave no pair to
    train on, it is (pairs in file order, [])."""
    held = round(len(pairs) * frac) if frac > 0 else 0
    if held <= 0 or len(pairs) - held < 1:
        return list(pairs), []
    order = np.random.Generator(np.random.PCG64(seed)).permutation(len(pairs))
    shuffled = [pairs[i] for i in order]
    return shuffled[:-held], shuffled[-held:]
