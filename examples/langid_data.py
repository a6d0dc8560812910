#!/usr/bin/env python3
"""Build a "which language is this word?" data set for ``nnlab train-classifier``
from the Debian word lists (apt-get install wamerican wngerman wfrench
wspanish witalian), labels en, de, fr, es, it.

    python examples/langid_data.py OUTDIR [--per-class N] [--seed 0]
                                   [--dict-dir /usr/share/dict]

Writes OUTDIR/train.tsv (90% of every class) and OUTDIR/heldout.tsv (10%),
one ``word<TAB>lang`` a line, shuffled. The words:

- lower-cased (str.lower) and stripped, then NFC-normalised so that the same
  accented word spelt with a combining accent and with a precomposed letter
  counts as one word (the 2020-2023 Debian lists are all NFC already);
- letters only (str.isalpha(): accents and umlauts are letters; anything with
  an apostrophe, as in the possessives "dog's", a digit, a hyphen or a dot
  is dropped);
- deduplicated within a language, and dropped altogether if they occur in
  more than one language's list, so that every word has exactly one answer;
- balanced: the same number per language, the smallest class's size (or
  --per-class N if smaller), sampled with numpy's Generator(PCG64(seed)).

The held-out 10% is taken per class, so it is balanced too. nnlab's
trainers refuse characters the model never saw, so a held-out word with a
character that no training word has (a rare letter such as "å") is
swapped with a training word of the same language; the number of such
swaps is printed. Counts per class and split go to stderr. The output
depends only on the word lists, --per-class and --seed.
"""

import argparse
import collections
import os
import sys
import unicodedata

import numpy as np

from tsvfile import write_tsv  # examples/tsvfile.py, beside this script

LISTS = {"en": "american-english", "de": "ngerman", "fr": "french",
         "es": "spanish", "it": "italian"}
HELDOUT = 0.1


def read_list(path):
    """The lines of one word list, and the encoding they were decoded with.
    Debian lists used to be ISO-8859-1 (some still are on older releases):
    strict UTF-8 first, which latin-1 bytes almost never pass, then latin-1,
    which decodes any byte string."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text, enc = raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, enc = raw.decode("iso-8859-1"), "iso-8859-1"
    return text.lstrip("\ufeff").splitlines(), enc


def clean(lines):
    """The distinct acceptable words of one list (lower-case, letters only)."""
    words = set()
    for line in lines:
        w = unicodedata.normalize("NFC", line.strip().lower())
        if w and w.isalpha():
            words.add(w)
    return words


def fix_unseen(train, held):
    """Swap held-out words whose characters are not all in training for
    training words of the same class, in their shuffled order, taking only
    a training word whose every character some other training word also
    has (so that moving it out loses no character). Returns the swaps."""
    df = collections.Counter(ch for w, _ in train for ch in set(w))
    swaps = 0
    for i, (w, lang) in enumerate(held):
        if all(ch in df for ch in w):
            continue
        for j, (v, vl) in enumerate(train):
            if vl == lang and all(df[ch] >= 2 for ch in set(v)):
                break
        else:
            raise SystemExit(f"no training word of {lang} can replace {w!r}")
        train[j], held[i] = (w, lang), (v, vl)
        df.update(set(w))
        df.subtract(set(v))
        swaps += 1
    return swaps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--per-class", type=int, default=None,
                    help="at most N words per language (default: the smallest class)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dict-dir", default="/usr/share/dict")
    args = ap.parse_args()

    words = {}
    for lang, name in LISTS.items():
        path = os.path.join(args.dict_dir, name)
        if not os.path.exists(path):
            raise SystemExit(f"{path} is missing: apt-get install -y wamerican wngerman "
                             "wfrench wspanish witalian")
        lines, enc = read_list(path)
        words[lang] = clean(lines)
        print(f"{lang}: {name} ({enc}), {len(lines):,} lines, {len(words[lang]):,} distinct "
              "letter-only words", file=sys.stderr)

    count = collections.Counter(w for ws in words.values() for w in ws)
    shared = sum(1 for c in count.values() if c > 1)
    # Sorted, because a set's order changes from run to run (string hashing).
    words = {lang: sorted(w for w in ws if count[w] == 1) for lang, ws in words.items()}
    print(f"{shared:,} words are in more than one list and are dropped; left: "
          + ", ".join(f"{lang} {len(ws):,}" for lang, ws in words.items()), file=sys.stderr)

    n = min(len(ws) for ws in words.values())
    if args.per_class is not None:
        n = min(n, args.per_class)
    n_held = round(n * HELDOUT)
    if n_held < 1 or n - n_held < 1:
        raise SystemExit(f"{n} words per class is too few for a 90/10 split")
    rng = np.random.Generator(np.random.PCG64(args.seed))
    train, held = [], []
    for lang in LISTS:  # a fixed order, so that the draws do not depend on dict order
        ws = words[lang]
        pick = rng.permutation(len(ws))[:n]
        held += [(ws[i], lang) for i in pick[:n_held]]
        train += [(ws[i], lang) for i in pick[n_held:]]
    train = [train[i] for i in rng.permutation(len(train))]
    held = [held[i] for i in rng.permutation(len(held))]
    swaps = fix_unseen(train, held)

    os.makedirs(args.outdir, exist_ok=True)
    write_tsv(os.path.join(args.outdir, "train.tsv"), train)
    write_tsv(os.path.join(args.outdir, "heldout.tsv"), held)

    tc = collections.Counter(lang for _, lang in train)
    hc = collections.Counter(lang for _, lang in held)
    print(f"{n:,} words per class (seed {args.seed}); {swaps} held-out word(s) swapped for "
          "characters unseen in training", file=sys.stderr)
    print(f"{'class':<6}{'train':>9}{'heldout':>9}", file=sys.stderr)
    for lang in LISTS:
        print(f"{lang:<6}{tc[lang]:>9,}{hc[lang]:>9,}", file=sys.stderr)
    print(f"{'total':<6}{len(train):>9,}{len(held):>9,}", file=sys.stderr)
    print(f"wrote {os.path.join(args.outdir, 'train.tsv')} and "
          f"{os.path.join(args.outdir, 'heldout.tsv')}", file=sys.stderr)


if __name__ == "__main__":
    main()
