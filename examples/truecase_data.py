#!/usr/bin/env python3
"""Build a "restore the letter case" data set for ``nnlab train-tagger`` from a
text file, one pair per non-empty line: the line lower-cased, and one tag per
character, "U" where the original character was upper-case, "." elsewhere
(lower-case letters, and everything that is not a letter).

    python examples/truecase_data.py INPUT OUTDIR [--seed 0]
    python examples/truecase_data.py /work/shared/data/tinyshakespeare/input.txt \\
        /work/exp/data/truecase

Writes OUTDIR/train.tsv and OUTDIR/heldout.tsv, lines ``lower<TAB>tags``
with len(tags) == len(lower). Details:

- INPUT is read as UTF-8 and split at "\\n" (a "\\r" before it is removed);
  a TAB inside a line becomes a space, and so does any other character
  that Python's str.splitlines() breaks lines at (\\v, \\f, \\x1c-\\x1e,
  \\x85, U+2028, U+2029), so that a reader that splits lines either way
  sees the same pairs. Lines are otherwise kept as they are (spaces too);
- lines that are empty or only spaces are dropped;
- a line whose lower-case form has another length (str.lower() turns "İ"
  into two characters) has no one-tag-per-character alignment and is
  dropped; how many is printed (none in tiny Shakespeare);
- the split is by a contiguous block, not by random lines, so that held-out
  text is not interleaved with training text (a play's lines are too alike
  for that): the last 10% of the kept lines are heldout.tsv, in text order;
- --seed S shuffles the order of the lines within train.tsv with numpy's
  Generator(PCG64(S)), so that the file's first lines (or a slice taken
  from it) are a sample of the whole training text; --seed -1 keeps text
  order. The split itself does not depend on the seed.

Counts go to stderr, with a warning if heldout.tsv has characters that
train.tsv lacks (nnlab's tagger refuses characters it never saw).
"""

import argparse
import os
import sys

import numpy as np

from tsvfile import write_tsv  # examples/tsvfile.py, beside this script

HELDOUT = 0.1
# The characters besides "\n" and "\r" that str.splitlines() ends a line at.
BREAKS = "\t\v\f\x1c\x1d\x1e\x85\u2028\u2029"


def pairs_of(text):
    """(pairs, counts): a (lower, tags) pair per kept line, in text order."""
    counts = {"lines": 0, "blank": 0, "length": 0, "replaced": 0}
    table = {ord(c): " " for c in BREAKS}
    pairs = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the text ends with a newline: no line after it
    for line in lines:
        counts["lines"] += 1
        if line.endswith("\r"):
            line = line[:-1]
        clean = line.translate(table)
        counts["replaced"] += sum(1 for a, b in zip(line, clean) if a != b)
        if not clean.strip():
            counts["blank"] += 1
            continue
        lower = clean.lower()
        if len(lower) != len(clean):
            counts["length"] += 1
            continue
        pairs.append((lower, "".join("U" if c.isupper() else "." for c in clean)))
    return pairs, counts


def describe(name, pairs):
    chars = sum(len(t) for _, t in pairs)
    upper = sum(t.count("U") for _, t in pairs)
    return (f"{name}: {len(pairs):,} lines, {chars:,} characters, {upper:,} tagged U "
            f"({100 * upper / max(chars, 1):.2f}%)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", help="a UTF-8 text, e.g. tiny Shakespeare's input.txt")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=0,
                    help="shuffle train.tsv's lines with this seed; -1 keeps text order")
    args = ap.parse_args()

    with open(args.input, encoding="utf-8") as f:
        text = f.read()
    pairs, counts = pairs_of(text)
    n_held = round(len(pairs) * HELDOUT)
    if n_held < 1 or len(pairs) - n_held < 1:
        raise SystemExit(f"{args.input}: {len(pairs)} usable lines are too few to split")
    train, held = pairs[:len(pairs) - n_held], pairs[len(pairs) - n_held:]
    if args.seed >= 0:
        rng = np.random.Generator(np.random.PCG64(args.seed))
        train = [train[i] for i in rng.permutation(len(train))]

    os.makedirs(args.outdir, exist_ok=True)
    write_tsv(os.path.join(args.outdir, "train.tsv"), train)
    write_tsv(os.path.join(args.outdir, "heldout.tsv"), held)

    print(f"{args.input}: {counts['lines']:,} lines; dropped {counts['blank']:,} empty or "
          f"blank and {counts['length']:,} whose lower-case form changes length; "
          f"{counts['replaced']:,} TAB or line-break characters made spaces", file=sys.stderr)
    print(describe("train.tsv", train) + (f" (first {len(train):,} kept lines, shuffled with "
          f"seed {args.seed})" if args.seed >= 0 else " (first kept lines, text order)"),
          file=sys.stderr)
    print(describe("heldout.tsv", held) + f" (the last {n_held:,} kept lines, text order)",
          file=sys.stderr)
    unseen = sorted(set("".join(s for s, _ in held)) - set("".join(s for s, _ in train)))
    if unseen:
        print(f"warning: heldout.tsv has characters train.tsv lacks: {unseen!r}",
              file=sys.stderr)
    print(f"wrote {os.path.join(args.outdir, 'train.tsv')} and "
          f"{os.path.join(args.outdir, 'heldout.tsv')}", file=sys.stderr)


if __name__ == "__main__":
    main()
