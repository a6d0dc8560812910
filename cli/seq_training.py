"""What train-classifier, train-tagger and train-seq2seq share: the command
made from a kind and its config dataclass (nn/seq_config.py). Each command
module names its kind; this parses, calls nn/ and data/, and prints."""

import click

from .config_options import config_options, given
from .metrics_log import check_log
from .options import (log_option, results_echo, best_path, explicit, force_option, json_option, out_option,
                      resume_option, resumed_out, threads_option, usage_errors,
                      writable_output_and_best)
from .output import dumps

SHAPES = {"classifier": "text<TAB>label", "tagger": "text<TAB>tags",
          "seq2seq": "source<TAB>target"}


def train_command(kind, config_cls, doc):
    """The Click command ``train-<kind>``."""

    @click.command(f"train-{kind}", help=doc)
    @click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
    @config_options(config_cls)
    @out_option(f"{kind}.npz", writable_output_and_best,
                "Checkpoint written at every validation; the best one by validation loss goes "
                "beside it as NAME.best.npz.")
    @force_option
    @resume_option("Continue training from this checkpoint (FILE defaults to its data).")
    @json_option
    @log_option
    @threads_option
    @click.pass_context
    @usage_errors
    def command(ctx, file, out, force, resume, as_json, log, **_):
        run(ctx, kind, config_cls, file, out, force, resume, as_json, log)

    return command


def run(ctx, kind, config_cls, file, out, force, resume, as_json, log=None):
    from nnlab.data.seqtask import Tokens, encode_pairs, vocabularies
    from nnlab.data.tsv import read_pairs, split_heldout
    from nnlab.nn.seq_run import build_seq, seq_results, seq_settings
    from nnlab.nn.settings import plural

    from .training import train
    from .ui import SeqProgress

    if resume and not explicit(ctx, "out"):
        out = resumed_out(resume)
    best = best_path(out)
    check_log(log, (out, best), as_json)
    echo = results_echo(log)
    options = given(ctx, config_cls)
    config, file, checkpoint, tokens = seq_settings(kind, file, options, resume)
    pairs = read_pairs(file, kind)
    split = getattr(config, "target_split", "chars")
    src, tgt = (Tokens(tokens[0]), Tokens(tokens[1])) if tokens else \
        vocabularies(kind, pairs, split)
    train_pairs, val_pairs = split_heldout(pairs, config.val_frac, config.seed)
    name = "stdin" if file == "-" else file
    examples = [encode_pairs(kind, part, src, tgt, split, name)
                for part in (train_pairs, val_pairs)]
    trainer = build_seq(kind, config, options, file, *examples, src.tokens, tgt.tokens, resume,
                        checkpoint)
    c = trainer.config
    verb = f"resuming at step {trainer.step:,} of" if resume else "training"
    headline = (f"{verb} a {kind} ({c.layers}-layer {c.cell.upper()} of {c.hidden} units, "
                f"{trainer.model.num_params():,} parameters) on {len(examples[0]):,} pairs "
                f"({len(examples[1]):,} held out), {len(src)} source characters, "
                f"{len(tgt)} {'classes' if kind == 'classifier' else 'target tokens'}, "
                f"{trainer.total_steps:,} steps of {c.batch_size}")
    again = f"nnlab train-{kind}" + (" -" if file == "-" else "")
    final = train(trainer, SeqProgress(unit="seq"), out, best=best, resume=resume, force=force,
                  as_json=as_json, lines=[headline], resume_command=again, metrics_log=log)
    results = seq_results(trainer, final, out, best)
    if as_json:
        click.echo(dumps(results))
        return
    if results.get("train_loss") is None:  # the time limit came before the first step
        echo(f"no step taken in {trainer.seconds:.1f}s; checkpoint {out} not written")
        return
    line = f"train loss {results['train_loss']:.4f}"
    if results.get("val_loss") is not None:
        line += f"  val loss {results['val_loss']:.4f} (best {trainer.best_val:.4f})"
        for key in ("accuracy", "exact_match"):
            if results.get(key) is not None:
                line += f"  val {key.replace('_', ' ')} {results[key]:.2%}"
    echo(line + f" after {plural(trainer.step, 'step')}, {trainer.seconds:.1f}s")
    echo(f"checkpoint {out}" + (f" (best: {best})" if results["best_checkpoint"] else ""))
