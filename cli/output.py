"""What commands print on stdout: strict JSON, and a stdout that is there.

json.dumps writes NaN and Infinity, which are not JSON (jq and most
parsers refuse them); a diverged model's loss or perplexity becomes null.
With stdout closed (``nnlab sample CKPT >&-``) Python sets sys.stdout to
None: click.echo then prints nothing, and sys.stdout.buffer fails.
"""

import json
import math
import os
import sys
from contextlib import contextmanager

import click


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def dumps(results):
    """``results`` as strict JSON: NaN and infinities become null."""
    return json.dumps(_finite(results), allow_nan=False)


def require_stdout(what):
    """A one-line error (exit 1) when stdout is closed, before any work:
    ``what`` is what the command would have written there."""
    if sys.stdout is None:
        raise click.ClickException(f"stdout is closed, and {what} goes there; redirect it to a "
                                   "file (> out.txt) or a pipe instead of closing it")


@contextmanager
def reader_may_leave():
    """Ends the command quietly (exit 141, as a shell reports SIGPIPE) when
    the reader of stdout goes away (``| head``), as a pipeline expects."""
    try:
        yield
    except BrokenPipeError:
        # Python flushes stdout again at exit; pointing it at /dev/null
        # keeps that from printing a second error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)
