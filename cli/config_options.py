"""Click options made from a config dataclass's fields (nn/fields.py), so
that each option's name, help, type, range and default is written once, in
the dataclass, and the command only parses and prints."""

import click

from nnlab.nn.fields import command_fields, flag_of, meta, problem


def _callback(f):
    def check(ctx, param, value):
        if value is None:
            return None
        wrong = problem(f, value)
        if wrong is not None:
            raise click.BadParameter(f"{wrong}, got {value}")
        return value
    return check


def _option(f):
    """The click.option decorator of one field."""
    shown = meta(f, "shown")
    help_text = meta(f, "help")
    kwargs = {"help": help_text}
    if shown is None:
        kwargs.update(default=f.default, show_default=True)
    else:
        # The run works out the default (it depends on other options, or on
        # the data), so "not given" must be told apart from any value.
        kwargs["default"] = None
        if shown:
            kwargs["help"] = f"{help_text}  [default: {shown}]"
    flag = flag_of(f)
    if f.type is bool:
        decls = (f"{flag}/--no-{flag[2:]}",) if meta(f, "negatable") else (flag,)
        if not meta(f, "negatable"):
            kwargs["is_flag"] = True
        return click.option(*decls, f.name, **kwargs)
    choices = meta(f, "choices")
    if choices is not None:
        kwargs["type"] = click.Choice(list(choices))
    else:
        kwargs["type"] = f.type
        if meta(f, "check") is not None:
            kwargs["callback"] = _callback(f)
    return click.option(flag, f.name, **kwargs)


def config_options(cls):
    """A decorator adding an option for each command field of ``cls``, in the
    dataclass's order (the first field comes first in --help)."""
    def decorate(command):
        for f in reversed(command_fields(cls)):
            command = _option(f)(command)
        return command
    return decorate


def given(ctx, cls):
    """{field: value} of the options of ``cls`` that the user gave on the
    command line (not their defaults): the run resolves the rest."""
    out = {}
    for f in command_fields(cls):
        source = ctx.get_parameter_source(f.name)
        if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
            out[f.name] = ctx.params[f.name]
    return out

