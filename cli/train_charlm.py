"""nnlab train-charlm: train a character-level language model on a text file.

The options come from CharLMConfig's fields (nn/charlm_config.py); the run
is made ready by nn/lm_run.py and data/corpus.py. This module parses, calls
and prints."""

import click

from nnlab.nn.charlm_config import CharLMConfig

from .config_options import config_options, given
from .metrics_log import check_log
from .options import (best_path, explicit, force_option, json_option, log_option, out_option,
                      results_echo,
                      resume_option, resumed_out, threads_option, usage_errors,
                      writable_output_and_best)
from .output import dumps


@click.command("train-charlm")
@click.argument("file", required=False, type=click.Path(dir_okay=True, allow_dash=True))
@config_options(CharLMConfig)
@out_option("charlm.npz", writable_output_and_best, "Checkpoint written at every validation; "
            "the best one by validation loss goes beside it as NAME.best.npz.")
@force_option
@resume_option("Continue training from this checkpoint (FILE defaults to its corpus).")
@json_option
@log_option
@threads_option
@click.pass_context
@usage_errors
def train_charlm(ctx, file, out, force, resume, as_json, log, **_):
    """Train a character-level language model on FILE ("-" for stdin).

    The vocabulary is the set of characters in FILE (read as UTF-8). Progress
    goes to stderr; the final losses (nats per character) go to stdout. Try
    the lecture's example: nnlab train-charlm hello.txt, then
    nnlab sample --argmax --prime h --len 4.
    """
    from nnlab.data.corpus import read_corpus
    from nnlab.nn.lm_run import build_lm, lm_results, lm_settings

    from .training import train
    from .ui import LMProgress

    if resume and not explicit(ctx, "out"):
        out = resumed_out(resume)
    best = best_path(out)
    check_log(log, (out, best), as_json)
    echo = results_echo(log)
    options = given(ctx, CharLMConfig)
    config, file, checkpoint = lm_settings(file, options, resume)
    file, text, vocab, notes = read_corpus(file, (out, best))
    trainer = build_lm(config, options, file, text, vocab, notes, resume, checkpoint)
    if resume and out != resume:
        notes.append(f"writing to {out} (best: {best}), not over {resume}")
    c, model = trainer.config, trainer.model
    verb = f"resuming at step {trainer.step:,} of" if resume else "training"
    headline = (f"{verb} a {model.L}-layer {c.cell.upper()} of {model.H} units "
                f"({model.num_params():,} parameters) on {len(trainer.train_ids):,} characters, "
                f"vocabulary {len(trainer.vocab)}, {trainer.total_steps:,} steps of "
                f"{trainer.batch}x{trainer.seq_len}")
    # The checkpoint knows its corpus's path; only stdin must be given again.
    again = "nnlab train-charlm" + (" -" if file == "-" else "")
    final = train(trainer, LMProgress(unit="tok"), out, best=best, resume=resume, force=force,
                  as_json=as_json, lines=[*notes, headline], resume_command=again, metrics_log=log)

    results = lm_results(trainer, final, out, best)
    if as_json:
        click.echo(dumps(results))
        return
    line = f"train loss {results['train_loss']:.4f}"
    if results["val_loss"] is not None:
        line += (f"  val loss {results['val_loss']:.4f} (best {trainer.best_val:.4f}, "
                 f"{results['val_chars']:,} characters)")
    elif trainer.cut_short:
        line += "  (no val loss: the time limit stopped the validation)"
    echo(line + f" nats/char after {trainer.step:,} steps, {trainer.seconds:.1f}s, "
               f"{trainer.tokens_per_second:,.0f} tokens/s")
    echo(f"checkpoint {out}" + (f" (best: {best})" if results["best_checkpoint"] else ""))
