"""Helpers shared by the CLI tests: run a command in-process, judge a clean
failure, and read --json output strictly. A helper module, not a test module
(test modules never import each other)."""

import json

from click.testing import CliRunner

from nnlab.cli.main import cli


def run(*args, input=None):
    """Invokes ``nnlab ARGS`` through Click's CliRunner (each arg str()-ed),
    with ``input`` on stdin."""
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def assert_clean_failure(result, code, *fragments):
    """Non-zero exit, one line on stderr naming the problem, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    message = lines[-1]
    for fragment in fragments:
        assert fragment in message, message
    if code == 1:
        assert len(lines) == 1, result.stderr
    return message


def strict_json(text):
    """json.loads that refuses NaN and Infinity, which are not JSON."""
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)
