"""What the data scripts of examples/ share: writing pairs as a TSV file,
atomically (a half-written file never replaces a good one)."""

import os


def write_tsv(path, pairs):
    """``path``: one ``first<TAB>second`` line per pair, UTF-8, LF line ends."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for first, second in pairs:
            f.write(f"{first}\t{second}\n")
    os.replace(tmp, path)
