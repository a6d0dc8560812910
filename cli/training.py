"""What every training command does around its trainer: hold the lock of
its checkpoint, draw progress, turn the first Ctrl-C or SIGTERM into a
stop-and-save, write checkpoints atomically, and say what is on disk when
the run diverges, cannot save or is interrupted."""

import contextlib
import signal
from shlex import quote

import click

from nnlab import NnlabError

from .diverged import SaveLog, diverged_error, save_failed
from .interrupt import graceful_stop
from .out_lock import exclusive


def train(trainer, progress, out, *, resume_command, best=None, resume=None, force=False, as_json=False,
          lines=(), metrics_log=None):
    """Runs ``trainer`` (nn/core.py) with ``progress`` (cli/ui.py) as its
    report, saving to ``out`` after each validation and to ``best`` (if
    given) when the validation figure improved. ``lines``: said on stderr
    first. ``metrics_log``: the --log file (cli/metrics_log.py), or None. Returns
    the final history entry; exits with the signal's code after an
    interrupt, telling how to resume (``resume_command``)."""
    from nnlab.nn.checkpoint import save_checkpoint
    from nnlab.nn.runs import Diverged

    from .compiling import watch_compiles

    watch_compiles()
    ctx = click.get_current_context()
    log = SaveLog(out, resume, trainer.step)
    lead = _distribute(trainer)  # this process writes files: one process, or rank 0 of K

    def save(t, improved):
        if not lead:
            return
        meta, arrays = t.state_dict()
        try:
            save_checkpoint(out, meta, arrays, force=force)
            log.saved(t.step)
            if improved and best is not None:
                save_checkpoint(best, meta, arrays, force=force)
        except (NnlabError, OSError) as e:
            raise save_failed(e, log, t.step) from None

    try:
        with exclusive(out) if lead else contextlib.nullcontext(), progress as report, \
                graceful_stop(report.line) as stop, \
                _logging(metrics_log if lead else None, trainer, report) as report:
            for line in lines:
                report.line(line)
            final = trainer.run(report, save=save, stop=stop)
    except Diverged as e:
        if trainer.dist is not None:
            trainer.dist.finalize()  # every rank diverged at the same step: none is left waiting
        raise diverged_error(e, log, as_json, click.echo) from None
    if trainer.dist is not None:
        d = trainer.dist
        if d.steps:
            click.echo(f"mpi: {d.size} ranks; all-reduce {1000 * d.reduce_seconds / d.steps:.2f} "
                       f"ms per step over {d.steps:,} steps (waiting for the slowest rank "
                       "included)", err=True)
        d.finalize()
    if trainer.interrupted:
        report.line(f"interrupted at step {trainer.step:,} (epoch {trainer.epoch:.2f}); {out} "
                    f"holds it. Resume with: {resume_command} --resume {quote(out)}")
        # A stop another MPI rank was asked for: its signal is not known
        # here, so SIGTERM's code, the signal mpirun passes on.
        ctx.exit(stop.exit_code if stop() else 128 + signal.SIGTERM)
    return final



def _logging(log, trainer, report):
    """The report, appending to the --log file when there is one."""
    from .metrics_log import MetricsLog

    return MetricsLog(log, trainer, report) if log else contextlib.nullcontext(report)


def _distribute(trainer):
    """Under mpirun with K > 1 ranks, the trainer's share of the work
    (nn/distributed.py); True for the process that writes checkpoints and
    logs: the only one, or rank 0."""
    from nnlab.runtime import mpi_launch

    rank, size = mpi_launch()
    if size > 1:
        from nnlab.nn.distributed import Distributed

        trainer.dist = Distributed()
    return rank == 0
