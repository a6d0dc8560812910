"""Baseline for the word-language task of examples/langid_data.py: a
multinomial naive Bayes classifier on character n-grams, in plain numpy.

    python bench/langid_nb.py OUTDIR [--alpha A] [--json]

OUTDIR holds train.tsv and heldout.tsv (``word<TAB>lang``). Every word is
read as "^word$", so that the markers make prefixes and suffixes features
of their own ("^un", "ing$"), and its features are all of its substrings of
1 to 4 characters, counted. Each class's n-gram distribution gets add-alpha
(Lidstone) smoothing over the n-grams seen in training; n-grams never seen
in training are skipped when scoring, as a count vectoriser would. The
class prior is the training share (equal for balanced data).

alpha: unless --alpha is given, it is chosen from 0.001, 0.003, 0.01, 0.03,
0.1, 0.3 and 1 by accuracy on the last 10% of train.tsv with the counts taken
from the rest (held-out data plays no part; a tie goes to the smaller alpha),
and the model is then refitted on all of train.tsv.

Prints the accuracy on heldout.tsv, a per-class precision/recall table with
the confusion matrix (rows: the true class), and the wall seconds of the
whole run (reading, fitting, choosing alpha, scoring); --json prints
{"accuracy", "per_class": {lang: {"precision", "recall", "f1", "support"}},
"seconds", "alpha", ...} instead.
"""

import argparse
import json
import os
import time

import numpy as np

NMAX = 4
ALPHAS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def read_tsv(path):
    words, labels = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2 or not all(parts):
                raise SystemExit(f"{path}, line {n}: not text<TAB>label")
            words.append(parts[0])
            labels.append(parts[1])
    return words, labels


def grams(word):
    s = f"^{word}$"
    return [s[i:i + n] for n in range(1, NMAX + 1) for i in range(len(s) - n + 1)]


class NaiveBayes:
    def __init__(self, classes):
        self.classes = list(classes)

    def fit(self, words, y):
        """y: class ids. Counts every n-gram per class (one row per class)."""
        self.index = {}
        flat, owner = [], []
        for w, c in zip(words, y):
            g = grams(w)
            flat.extend(self.index.setdefault(t, len(self.index)) for t in g)
            owner.extend([c] * len(g))
        V, C = len(self.index), len(self.classes)
        self.counts = np.bincount(np.asarray(owner, np.int64) * V + np.asarray(flat, np.int64),
                                  minlength=C * V).reshape(C, V).astype(np.float64)
        prior = np.bincount(y, minlength=C).astype(np.float64)
        self.logprior = np.log(prior / prior.sum())
        return self

    def smooth(self, alpha):
        """The add-alpha log-probabilities, plus a column of zeros (id V)
        that every word gets, so that no word has an empty list of
        features: one with no known n-gram is scored by the prior alone."""
        V = self.counts.shape[1]
        logp = (np.log(self.counts + alpha)
                - np.log(self.counts.sum(1, keepdims=True) + alpha * V))
        self.logp = np.hstack([logp, np.zeros((len(self.classes), 1))])
        return self

    def features(self, words):
        """The known n-grams of all words in one flat list, and where each
        word's start; n-grams never seen in training are skipped."""
        V = len(self.index)
        ids, starts = [], []
        for w in words:
            starts.append(len(ids))
            ids.append(V)
            ids.extend(i for i in (self.index.get(t) for t in grams(w)) if i is not None)
        return np.asarray(ids, np.int64), np.asarray(starts, np.int64)

    def predict(self, feats):
        ids, starts = feats
        if not len(starts):
            return np.zeros(0, np.int64)
        scores = np.add.reduceat(self.logp[:, ids], starts, axis=1)
        return np.argmax(scores + self.logprior[:, None], axis=0)


def choose_alpha(classes, words, y):
    """Fit the counts on the first 90% of train once, then score the last
    10% with every alpha (only the smoothing depends on alpha)."""
    cut = len(words) - len(words) // 10
    nb = NaiveBayes(classes).fit(words[:cut], y[:cut])
    feats = nb.features(words[cut:])
    accs = {a: float(np.mean(nb.smooth(a).predict(feats) == y[cut:])) for a in ALPHAS}
    return max(ALPHAS, key=lambda a: (accs[a], -a)), accs


def report(classes, y, pred):
    C = len(classes)
    confusion = np.bincount(y * C + pred, minlength=C * C).reshape(C, C)
    per = {}
    for i, c in enumerate(classes):
        tp = int(confusion[i, i])
        p = tp / max(int(confusion[:, i].sum()), 1)
        r = tp / max(int(confusion[i].sum()), 1)
        per[c] = {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
                  "support": int(confusion[i].sum())}
    return per, confusion


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", help="the folder with train.tsv and heldout.tsv")
    ap.add_argument("--alpha", type=float, default=None,
                    help="fixed add-alpha smoothing (default: chosen on a slice of train)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    tr_words, tr_labels = read_tsv(os.path.join(args.outdir, "train.tsv"))
    he_words, he_labels = read_tsv(os.path.join(args.outdir, "heldout.tsv"))
    classes = sorted(set(tr_labels))
    cid = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(he_labels) - set(classes))
    if unknown:
        raise SystemExit(f"heldout.tsv has labels train.tsv lacks: {', '.join(unknown)}")
    y_tr = np.array([cid[c] for c in tr_labels], np.int64)
    y_he = np.array([cid[c] for c in he_labels], np.int64)

    if args.alpha is None:
        alpha, val_accs = choose_alpha(classes, tr_words, y_tr)
    else:
        alpha, val_accs = args.alpha, {}
    nb = NaiveBayes(classes).fit(tr_words, y_tr).smooth(alpha)
    pred = nb.predict(nb.features(he_words))
    seconds = time.perf_counter() - t0

    acc = float(np.mean(pred == y_he))
    per, confusion = report(classes, y_he, pred)
    if args.json:
        print(json.dumps({"accuracy": acc, "per_class": per, "seconds": seconds,
                          "alpha": alpha, "alpha_validation": {str(a): v for a, v in
                                                               val_accs.items()},
                          "ngrams": len(nb.index), "train": len(tr_words),
                          "heldout": len(he_words), "classes": classes,
                          "confusion": confusion.tolist()}))
        return
    if val_accs:
        print("alpha on the last 10% of train: "
              + ", ".join(f"{a:g} {v:.4f}" for a, v in val_accs.items()) + f" -> {alpha:g}")
    print(f"character 1-{NMAX}-gram multinomial naive Bayes, alpha {alpha:g}, "
          f"{len(nb.index):,} n-grams, {len(tr_words):,} training words")
    print(f"heldout accuracy {acc:.4f} ({int(np.sum(pred == y_he)):,} / {len(he_words):,})")
    print(f"{'class':<7}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}   predicted: "
          + " ".join(f"{c:>6}" for c in classes))
    for i, c in enumerate(classes):
        m = per[c]
        print(f"{c:<7}{m['precision']:>10.4f}{m['recall']:>8.4f}{m['f1']:>8.4f}"
              f"{m['support']:>9,}              " + " ".join(f"{v:>6}" for v in confusion[i]))
    print(f"{seconds:.1f} s wall")


if __name__ == "__main__":
    main()
