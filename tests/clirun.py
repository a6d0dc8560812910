"""Helpers shared by the CLI tests: run a command in-process, and read
--json output strictly. A helper module, not a test module."""

import json

from click.testing import CliRunner

from nnlab.cli.main import cli


def run(*args):
    """Invokes ``nnlab ARGS`` through Click's CliRunner (each arg str()-ed)."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def strict_json(text):
    """json.loads that refuses NaN and Infinity, which are not JSON."""
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)
