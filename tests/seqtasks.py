"""Small generated sequence tasks for the tests of the sequence commands:
reversal, sorting digits, adding two numbers written as text (the Keras
addition_rnn example), the parity of a bit string, and letter case. A
helper module, not a test module."""

import numpy as np


def reversal(n, rng, alphabet="abcde", lengths=(2, 5)):
    out = []
    for _ in range(n):
        s = "".join(rng.choice(list(alphabet), int(rng.integers(*lengths))))
        out.append((s, s[::-1]))
    return out


def sorting(n, rng, lengths=(2, 6)):
    out = []
    for _ in range(n):
        s = "".join(rng.choice(list("0123456789"), int(rng.integers(*lengths))))
        out.append((s, "".join(sorted(s))))
    return out


def addition(n, rng, digits=3):
    out = []
    for _ in range(n):
        a, b = (int(rng.integers(0, 10 ** digits)) for _ in range(2))
        out.append((f"{a}+{b}", str(a + b)))
    return out


def first_letter(n, rng, lengths=(2, 6)):
    """Which letter a word starts with: a class that only the first step
    decides, so the encoder must carry it to the end."""
    out = []
    for _ in range(n):
        s = "".join(rng.choice(list("abcd"), int(rng.integers(*lengths))))
        out.append((s, s[0]))
    return out


def case_tags(n, rng):
    """Lower-cased words with 'U' where the original had a capital: the first
    letter after a '.' and every letter of 'ok'."""
    out = []
    for _ in range(n):
        words = rng.choice(["ok", "go", "no", "so", "."], int(rng.integers(2, 6)))
        text, tags, start = [], [], True
        for w in words:
            for i, ch in enumerate(w):
                up = ch != "." and (w == "ok" or (start and i == 0))
                text.append(ch)
                tags.append("U" if up else ".")
            start = w == "."
            text.append(" ")
            tags.append(".")
        out.append(("".join(text).strip(), "".join(tags[:len("".join(text).strip())])))
    return out


def write_tsv(path, pairs):
    path.write_text("".join(f"{a}\t{b}\n" for a, b in pairs), encoding="utf-8")
    return path


def rng(seed=0):
    return np.random.default_rng(seed)
