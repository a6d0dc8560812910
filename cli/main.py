"""The ``nnlab`` command group.

Commands are imported only when run (or listed by --help), and command
modules import numpy and the Numba kernels inside their functions, so that
``nnlab --help`` starts at once.
"""

import importlib
import sys

import click

from nnlab import NnlabError, __version__, prepare_runtime

# Before any command imports numpy or numba (they do so lazily).
prepare_runtime()

# command name -> (module, function)
COMMANDS = {
    "train-charlm": ("nnlab.cli.train_charlm", "train_charlm"),
    "sample": ("nnlab.cli.sample", "sample"),
    "train-cnn": ("nnlab.cli.train_cnn", "train_cnn"),
    "eval": ("nnlab.cli.eval", "eval_cmd"),
    "warmup": ("nnlab.cli.warmup", "warmup"),
}


class NnlabGroup(click.Group):
    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            # Without standalone mode Click returns ctx.exit()'s code instead of exiting.
            code = super().main(args, prog_name, complete_var, False, **extra)
            sys.exit(code if isinstance(code, int) else 0)
        except click.exceptions.NoArgsIsHelpError as e:
            click.echo(e.format_message(), err=True)
            sys.exit(e.exit_code)
        except click.UsageError as e:
            # One line, where Click would print the usage and a hint on two more.
            where = e.ctx.command_path if e.ctx is not None else "nnlab"
            click.echo(f"Error: {e.format_message()} (see '{where} --help')", err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        except click.Abort:
            # A second Ctrl-C (or one outside training): stop now. Checkpoints
            # are written atomically, so the one on disk is the last complete one.
            click.echo("Aborted; files already on disk are as they were.", err=True)
            sys.exit(130)

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
            raise click.ClickException(
                "out of memory: the model or the batch is too large for this machine; "
                "try smaller sizes (--batch-size, --hidden, --width)") from None
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
      nnlab train-charlm hello.txt    the lecture's "hello" character model, in seconds
      nnlab sample --temp 0.8         text from the model in charlm.npz
      nnlab train-cnn                 train LeNet-5 on MNIST (downloads it if missing)
      nnlab eval cnn.npz              accuracy, per-class table and confusion matrix
      nnlab warmup                    compile every kernel once, after installing
    """


if __name__ == "__main__":  # python -m nnlab.cli.main, as the tests run it
    cli()
