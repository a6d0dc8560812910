"""Baseline for the letter-case task of examples/truecase_data.py: capitalise
after a sentence end and the words seen capitalised most of the time.

    python bench/truecase_baseline.py OUTDIR [--json]

OUTDIR holds train.tsv and heldout.tsv (``lower<TAB>tags``, "U" for an
upper-case character, "." otherwise). A word is a run of letters
(str.isalpha), so "dog's" is "dog" and "s", and "'tis" is "tis".

- From train.tsv: for every word, how many of its occurrences had an
  upper-case first letter. A word is "capitalised" if that is more than
  half of them. "i" is no exception: it is capitalised because it was most
  of the time, like "rome" or "god".
- On heldout.tsv, the first letter of a word is tagged "U" if (a) it
  starts a sentence: it is the line's first word (verse lines begin with a
  capital in Shakespeare, so a line start is a sentence start), or what
  comes before it ends with ".", "!" or "?" and one or more spaces; or (b)
  the word is capitalised. Every other character is tagged ".". So
  all-capital words (the speakers' names, "HENRY PERCY:") get their first
  letter right at best; the share of "U" tags that are first letters of
  words is printed, the best recall this rule can reach.

Prints the precision, recall and F1 of the "U" tag, the per-character
accuracy (with that of tagging everything "." for comparison), and the wall
seconds of the run (reading, counting, tagging, scoring); --json prints
{"u_precision", "u_recall", "u_f1", "char_accuracy", "seconds", ...}.
"""

import argparse
import collections
import json
import os
import re
import time

SENTENCE_END = re.compile(r"[.!?] +$")


def read_tsv(path):
    pairs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2 or not all(parts) or len(parts[0]) != len(parts[1]):
                raise SystemExit(f"{path}, line {n}: not text<TAB>tags of the same length")
            pairs.append((parts[0], parts[1]))
    return pairs


def words(text):
    """(start, end) of every run of letters, in order."""
    spans, i, n = [], 0, len(text)
    while i < n:
        if text[i].isalpha():
            j = i + 1
            while j < n and text[j].isalpha():
                j += 1
            spans.append((i, j))
            i = j
        else:
            i += 1
    return spans


def learn(pairs):
    """The set of words whose first letter was upper-case in more than half
    of their training occurrences, and how many distinct words were seen."""
    cap, seen = collections.Counter(), collections.Counter()
    for text, tags in pairs:
        for i, j in words(text):
            w = text[i:j]
            seen[w] += 1
            cap[w] += tags[i] == "U"
    return {w for w, n in seen.items() if 2 * cap[w] > n}, len(seen)


def tag(text, capitalised):
    out = ["."] * len(text)
    for k, (i, j) in enumerate(words(text)):
        if k == 0 or SENTENCE_END.search(text, 0, i) or text[i:j] in capitalised:
            out[i] = "U"
    return "".join(out)


def score(pairs, capitalised):
    tp = fp = fn = correct = chars = first = 0
    for text, gold in pairs:
        pred = tag(text, capitalised)
        for g, p in zip(gold, pred):
            tp += g == "U" and p == "U"
            fp += g != "U" and p == "U"
            fn += g == "U" and p != "U"
            correct += g == p
        chars += len(gold)
        first += sum(gold[i] == "U" for i, _ in words(text))
    p = tp / max(tp + fp, 1)
    r = tp / max(tp + fn, 1)
    return {"u_precision": p, "u_recall": r, "u_f1": 2 * p * r / (p + r) if p + r else 0.0,
            "char_accuracy": correct / max(chars, 1),
            "all_dots_accuracy": 1 - (tp + fn) / max(chars, 1),
            "u_first_letter_share": first / max(tp + fn, 1),
            "u_gold": tp + fn, "u_predicted": tp + fp, "u_correct": tp, "chars": chars}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", help="the folder with train.tsv and heldout.tsv")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    train = read_tsv(os.path.join(args.outdir, "train.tsv"))
    held = read_tsv(os.path.join(args.outdir, "heldout.tsv"))
    capitalised, distinct = learn(train)
    m = score(held, capitalised)
    m["seconds"] = time.perf_counter() - t0
    m.update(capitalised_words=len(capitalised), train_words=distinct,
             train_lines=len(train), heldout_lines=len(held))
    if args.json:
        print(json.dumps(m))
        return
    print(f"{distinct:,} distinct words in {len(train):,} training lines, "
          f"{len(capitalised):,} capitalised most of the time")
    print(f"heldout: {len(held):,} lines, {m['chars']:,} characters, {m['u_gold']:,} tagged U "
          f"({100 * m['u_first_letter_share']:.1f}% of them first letters of words)")
    print(f"U tag: precision {m['u_precision']:.4f}  recall {m['u_recall']:.4f}  "
          f"F1 {m['u_f1']:.4f}  ({m['u_correct']:,} right of {m['u_predicted']:,} predicted)")
    print(f"per-character accuracy {m['char_accuracy']:.4f} "
          f"(all \".\": {m['all_dots_accuracy']:.4f})")
    print(f"{m['seconds']:.2f} s wall")


if __name__ == "__main__":
    main()
