"""A strip of pixels drawn in the terminal: two pixel rows per line, as the
upper-half block with the upper pixel's gray as its colour and the lower's
as its background. Where stdout is not a terminal (a file, a pipe, a CI
log) colours would be stripped, so the lines use an ASCII ramp instead,
at full width (never wrapped: a wrapped strip is unreadable)."""

import math

RAMP = " .:-=+*#%@"  # dark to bright: the ink of a strip is bright


def _pairs(image):
    rows = image.shape[0] - image.shape[0] % 2
    return image[:rows:2].astype(int), image[1:rows:2].astype(int)


def ascii_lines(image):
    """uint8 (H, W) -> H/2 lines of W characters, each the mean of a pixel pair."""
    top, bottom = _pairs(image)
    return ["".join(RAMP[v * len(RAMP) // 256] for v in row).rstrip()
            for row in (top + bottom) // 2]


def narrower(image, columns):
    """``image`` with its columns averaged in groups, to fit ``columns``."""
    k = math.ceil(image.shape[1] / max(1, columns))
    if k <= 1:
        return image
    W = image.shape[1] - image.shape[1] % k
    return image[:, :W].reshape(image.shape[0], W // k, k).mean(axis=2).astype(image.dtype)


def render(image, console):
    """Prints ``image`` on the rich ``console``, in colour on a terminal."""
    if not console.is_terminal:
        for line in ascii_lines(image):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        return
    from rich.style import Style
    from rich.text import Text

    upper, lower = _pairs(narrower(image, console.width))
    for tops, bottoms in zip(upper, lower):
        line = Text()
        for t, b in zip(tops, bottoms):
            line.append("\u2580", Style(color=f"rgb({t},{t},{t})", bgcolor=f"rgb({b},{b},{b})"))
        console.print(line, soft_wrap=True)
