"""The ``nnlab`` command group.

Commands are imported only when run (or listed by --help), and command
modules import numpy and the Numba kernels inside their functions, so that
``nnlab --help`` starts at once.
"""

import sys

try:
    import importlib

    import click

    from nnlab import NnlabError, __version__
    from nnlab.runtime import RUNTIME_NOTES, prepare_runtime

    # Before any command imports numpy or numba (they do so lazily). Its notes
    # (no kernel cache, a bad NUMBA_NUM_THREADS) wait for the end of the
    # command: on stderr first, they made a failing command's one line two.
    prepare_runtime(say=False)
except KeyboardInterrupt:
    # Ctrl-C in the first tenth of a second, before Click can catch it: the
    # same exit as later on, not a traceback from the middle of an import.
    print("Aborted; files already on disk are as they were.", file=sys.stderr)
    sys.exit(130)


def one_line(text):
    """``text`` with line breaks and other control characters escaped: a file
    name holding a newline split the one line of an error in two."""
    return "".join(c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in text)


def _say_runtime_notes():
    # Only once the kernels (numba) have loaded: --help or a short sample never need them.
    if "numba" in sys.modules:
        while RUNTIME_NOTES:
            click.echo(f"nnlab: {RUNTIME_NOTES.pop(0)}", err=True)


# command name -> (module, function)
COMMANDS = {
    "train-charlm": ("nnlab.cli.train_charlm", "train_charlm"),
    "sample": ("nnlab.cli.sample", "sample"),
    "train-cnn": ("nnlab.cli.train_cnn", "train_cnn"),
    "eval": ("nnlab.cli.eval", "eval_cmd"),
    "train-classifier": ("nnlab.cli.train_classifier", "train_classifier"),
    "train-tagger": ("nnlab.cli.train_tagger", "train_tagger"),
    "train-seq2seq": ("nnlab.cli.train_seq2seq", "train_seq2seq"),
    "train-reader": ("nnlab.cli.train_reader", "train_reader"),
    "predict": ("nnlab.cli.predict", "predict"),
    "warmup": ("nnlab.cli.warmup", "warmup"),
    "info": ("nnlab.cli.info", "info"),
    "export": ("nnlab.cli.export", "export"),
    "import": ("nnlab.cli.import_weights", "import_weights"),
    "plot": ("nnlab.cli.plot", "plot"),
}


class NnlabGroup(click.Group):
    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        from .ranks import finish, quiet_other_ranks, say_error

        quiet_other_ranks()  # under mpirun, rank 0 alone speaks
        try:
            # Without standalone mode Click returns ctx.exit()'s code instead of exiting.
            code = super().main(args, prog_name, complete_var, False, **extra)
            _say_runtime_notes()
            finish(code if isinstance(code, int) else 0)
        except click.exceptions.NoArgsIsHelpError as e:
            say_error(e.format_message())
            finish(e.exit_code)
        except click.UsageError as e:
            # One line, where Click would print the usage and a hint on two more.
            where = e.ctx.command_path if e.ctx is not None else "nnlab"
            say_error(one_line(f"Error: {e.format_message()} (see '{where} --help')"))
            finish(e.exit_code)
        except click.ClickException as e:
            say_error(one_line(f"Error: {e.format_message()}"))
            finish(e.exit_code)
        except click.Abort:
            # A second Ctrl-C (or one outside training): stop now. Checkpoints
            # are written atomically, so the one on disk is the last complete one.
            say_error("Aborted; files already on disk are as they were.")
            finish(130)
        except Exception:
            from .ranks import SIZE, abort_with_traceback

            if SIZE > 1:  # a bug, on one rank: the others must not wait for it
                abort_with_traceback()
            raise

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
