"""The ``nnlab`` command group.

Commands are imported only when run (or listed by --help), and command
modules import numpy and the Numba kernels inside their functions, so that
``nnlab --help`` starts at once.
"""

import importlib
import os
import sys

import click

# The kernels parallelise over the batch themselves and call BLAS from inside
# their threads; a second, multi-threaded BLAS pool on top of that fights
# them for the cores (a 10x slowdown measured on 2 cores). This must be set
# before numpy is first imported, which the commands do lazily.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from nnlab import NnlabError, __version__

# command name -> (module, function)
COMMANDS = {
    "train-cnn": ("nnlab.cli.train_cnn", "train_cnn"),
    "eval": ("nnlab.cli.eval", "eval_cmd"),
}


class NnlabGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NnlabError as e:
            # One line naming the problem and the fix, never a traceback.
            err = click.ClickException(str(e))
            err.exit_code = e.exit_code
            raise err from None
        except MemoryError:
            raise click.ClickException("out of memory; try a smaller --batch-size") from None
        except OSError as e:
            if isinstance(e, BrokenPipeError):
                raise
            where = f": {e.filename}" if getattr(e, "filename", None) else ""
            raise click.ClickException(f"{e.strerror or e}{where}") from None


@click.group(cls=NnlabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nnlab")
def cli():
    """Train CNNs and character-level language models from scratch on the CPU.

    \b
    Typical use:
      nnlab train-cnn                 train LeNet-5 on MNIST (downloads it if missing)
      nnlab eval cnn.npz              accuracy, per-class table and confusion matrix
    """


def main():  # pragma: no cover - the console script calls cli() directly
    sys.exit(cli())
