"""Shell completion through Click's own mechanism (_NNLAB_COMPLETE), as
the README documents it: the script for bash, and completions of commands
and options."""

import os
import subprocess
import sys

CLI = "from nnlab.cli.main import cli; cli(prog_name='nnlab')"


def complete(**env):
    out = subprocess.run([sys.executable, "-c", CLI], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_bash_script_and_completions():
    assert "_nnlab_completion()" in complete(_NNLAB_COMPLETE="bash_source")
    commands = complete(_NNLAB_COMPLETE="bash_complete", COMP_WORDS="nnlab train-r",
                        COMP_CWORD="1")
    assert commands.split() == ["plain,train-reader"]
    options = complete(_NNLAB_COMPLETE="bash_complete", COMP_WORDS="nnlab info --j",
                       COMP_CWORD="2")
    assert options.split() == ["plain,--json"]
    assert "compdef" in complete(_NNLAB_COMPLETE="zsh_source")
