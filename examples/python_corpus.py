#!/usr/bin/env python3
"""Build a source-code corpus for character models from Python's own standard
library: the modules at the top of the library folder, in name order, until
the text reaches about the size of tiny Shakespeare.

    python examples/python_corpus.py [OUT] [--chars 1115394]

OUT defaults to python-stdlib.txt; "-" writes to stdout. The text depends
on the Python version that runs this script (its standard library), which
is printed on stderr with the size and the vocabulary, so that figures
measured on it can say what they were measured on. nnlab's defaults were
chosen on this corpus and on tiny Shakespeare (see the README).
"""

import argparse
import os
import platform
import sys
import sysconfig


def build(chars):
    """The corpus: whole modules, then the next one cut at a line end."""
    lib = sysconfig.get_paths()["stdlib"]
    parts, total = [], 0
    for name in sorted(os.listdir(lib)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(lib, name), encoding="utf-8") as f:
            text = f.read()
        if total + len(text) >= chars:
            cut = text.rfind("\n", 0, chars - total)
            parts.append(text[:cut + 1])
            break
        parts.append(text)
        total += len(text)
    return "".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="python-stdlib.txt")
    ap.add_argument("--chars", type=int, default=1_115_394,
                    help="about this many characters (default: tiny Shakespeare's size)")
    args = ap.parse_args()
    text = build(args.chars)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        tmp = args.out + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, args.out)
    print(f"{args.out}: {len(text):,} characters, {len(set(text))} distinct, from the standard "
          f"library of Python {platform.python_version()}", file=sys.stderr)


if __name__ == "__main__":
    main()
