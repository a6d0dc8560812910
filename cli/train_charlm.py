"""nnlab train-charlm: train a character-level language model on a text file."""

import os
from shlex import quote

import click

from nnlab import NnlabError

from .options import (best_path, check_warmup, explicit, force_option, fraction, json_option,
                      nonnegative_float, positive_float, positive_int, resumed_config,
                      resumed_out, seed_option, threads_option, writable_output_and_best)
from .output import dumps


@click.command("train-charlm")
@click.argument("file", required=False, type=click.Path(dir_okay=True, allow_dash=True))
@click.option("--cell", type=click.Choice(["lstm", "rnn"]), default="lstm", show_default=True,
              help="LSTM or vanilla RNN cells.")
@click.option("--hidden", type=int, default=256, show_default=True, callback=positive_int,
              help="Units per layer.")
@click.option("--layers", type=int, default=2, show_default=True, callback=positive_int,
              help="Stacked recurrent layers.")
@click.option("--dropout", type=float, default=0.1, show_default=True, callback=fraction,
              help="Dropout after each recurrent layer, while training.")
@click.option("--embed", type=click.IntRange(min=0), default=64, show_default=True,
              help="Width of the character embedding; 0 feeds one-hot vectors, as in the "
                   "lecture.")
@click.option("--ema", type=float, default=0.995, show_default=True, callback=fraction,
              help="Validate and save the exponential moving average of the weights with "
                   "this decay; its window grows with the run, to 1/(1 - decay) steps "
                   "(0: the raw weights).")
@click.option("--seq-len", type=int, default=64, show_default=True, callback=positive_int,
              help="Time steps per chunk of truncated backpropagation through time.")
@click.option("--batch-size", type=int, default=32, show_default=True, callback=positive_int,
              help="Parallel streams of text per step.")
@click.option("--lr", type=float, default=5e-3, show_default=True, callback=positive_float,
              help="Peak learning rate (Adam), decayed along a cosine to a tenth of it.")
@click.option("--warmup", "warmup_steps", type=click.IntRange(min=0), default=0,
              show_default=True, help="Steps of linear learning-rate warm-up.")
@click.option("--weight-decay", type=float, default=0.0, show_default=True,
              callback=nonnegative_float, help="Decoupled (AdamW) decay of the weight matrices.")
@click.option("--clip", type=float, default=5.0, show_default=True, callback=nonnegative_float,
              help="Bound on the gradients' global norm (0: no clipping).")
@click.option("--val-frac", type=float, default=0.1, show_default=True, callback=fraction,
              help="Fraction of the text, from its end, held out for validation.")
@click.option("--val-chars", type=click.IntRange(min=0), default=200_000, show_default=True,
              help="Characters each validation scores: the first N of the validation split, "
                   "the same at every validation (0: all of it). Bounds the time a "
                   "validation takes on a big text.")
@click.option("--eval-every", type=int, default=None, callback=positive_int,
              help="Steps between validations and checkpoints.  [default: a tenth of the "
                   "run, at most 500]")
@click.option("--steps", type=int, default=None, callback=positive_int,
              help="Stop after this many steps (in total, when resuming).")
@click.option("--epochs", type=float, default=None, callback=positive_float,
              help="Stop after this many passes over the text.  [default: 10, and at least "
                   "300 steps]")
@click.option("--time-limit", type=float, default=None, callback=positive_float,
              help="Stop after this many seconds (in total, when resuming), validations "
                   "included: training stops in time for the last validation, and one still "
                   "running at the limit is stopped; the learning rate decays by then even if "
                   "--steps would run longer.")
@seed_option
@click.option("--out", type=click.Path(dir_okay=False), default="charlm.npz", show_default=True,
              callback=writable_output_and_best,
              help="Checkpoint written at every validation; the best one by validation loss "
                   "goes beside it as NAME.best.npz.")
@force_option
@click.option("--resume", type=click.Path(dir_okay=False), default=None,
              help="Continue training from this checkpoint (FILE defaults to its corpus).")
@json_option
@threads_option
@click.pass_context
def train_charlm(ctx, file, cell, hidden, layers, dropout, embed, ema, seq_len, batch_size, lr,
                 warmup_steps, weight_decay, clip, val_frac, val_chars, eval_every, steps,
                 epochs, time_limit, seed, out, force, resume, as_json):
    """Train a character-level language model on FILE ("-" for stdin).

    The vocabulary is the set of characters in FILE (read as UTF-8). Progress
    goes to stderr; the final losses (nats per character) go to stdout. Try
    the lecture's example: nnlab train-charlm hello.txt, then
    nnlab sample --argmax --prime h --len 4.
    """
    from nnlab.data.text import TextError, Vocab, bundled_path, describe, read_text
    from nnlab.nn.checkpoint import load_checkpoint, save_checkpoint
    from nnlab.nn.footprint import lm_footprint
    from nnlab.nn.meta import Meta, arch_args, config_from
    from nnlab.nn.restore import LM_ARGS, check_resumable
    from nnlab.nn.runs import Diverged, check_resume
    from nnlab.nn.train_charlm import FIXED_ON_RESUME, CharLMConfig, CharLMTrainer, run_shape

    from .diverged import SaveLog, diverged_error, save_failed
    from .fits import check_fits
    from .interrupt import graceful_stop
    from .out_lock import exclusive
    from .ui import LMProgress

    options = {"cell": cell, "hidden": hidden, "layers": layers, "dropout": dropout,
               "embed": embed, "ema": ema,
               "seq_len": seq_len, "batch_size": batch_size, "lr": lr,
               "warmup_steps": warmup_steps, "weight_decay": weight_decay, "clip": clip,
               "val_frac": val_frac, "val_chars": val_chars, "eval_every": eval_every or 0,
               "steps": steps or 0,
               "epochs": epochs or 0, "time_limit": time_limit or 0, "seed": seed}
    meta = arrays = None
    if resume:
        meta, arrays = load_checkpoint(resume, kind="charlm")
        check_resumable(meta, arrays, resume)
        m = Meta(meta, resume)
        config = resumed_config(ctx, config_from(CharLMConfig, m), options)
        # Before the sizes are checked: --batch-size 100000 on resume is a conflict first.
        check_resume(config_from(CharLMConfig, m), config, FIXED_ON_RESUME)
        if explicit(ctx, "steps") and not explicit(ctx, "epochs"):
            config.epochs = 0
        if explicit(ctx, "epochs") and not explicit(ctx, "steps"):
            config.steps = 0
        if not explicit(ctx, "out"):
            out = resumed_out(resume)
        file = file or m.section("corpus", {}).get("path", "str?", None)
        if not file or file == "-":
            raise click.UsageError("give the text FILE to resume training on")
    else:
        config = CharLMConfig(**options)
        if file is None:
            raise click.UsageError("missing FILE: the text to learn from (- for stdin)")

    notes = []
    if file != "-" and not os.path.exists(file) and bundled_path(file):
        file = bundled_path(file)
        notes.append(f"using the {os.path.basename(file)} bundled with nnlab")
    if file != "-" and os.path.realpath(file) in (os.path.realpath(out),
                                                   os.path.realpath(best_path(out))):
        # Even with --force: the text would be gone by the first save.
        raise click.BadParameter(f"{file} is the training text; give --out another file name",
                                 param_hint="--out")
    text = read_text(file)
    vocab = Vocab.from_text(text)
    name = "stdin" if file == "-" else file
    if len(text) < 2:
        raise TextError(f"{name} holds a single character; a language model needs at least "
                        "two to learn from")
    if len(vocab) < 2:
        # Else it learns to say that character with certainty: loss 0, and nothing learnt.
        raise TextError(f"{name} holds a single distinct character ({describe(vocab.chars)}, "
                        f"{len(text):,} times); a language model needs at least two different "
                        "characters to learn from")
    if resume and vocab.chars != m.get("vocab", "str"):
        raise click.UsageError(
            f"{file} does not have the vocabulary of {resume} ({len(vocab)} characters "
            f"against {len(meta['vocab'])}); resume with the text it was trained on")
    batch, seq, planned = run_shape(config, len(text))
    check_warmup(ctx, config.warmup_steps, planned)
    # Before the model is built (--hidden 10000000 would take minutes, then all memory).
    sizes = (arch_args(m, LM_ARGS)[1] if resume else
             {"vocab_size": len(vocab), "cell": config.cell, "hidden": config.hidden,
              "layers": config.layers, "embed": config.embed})
    check_fits(lm_footprint, dict(sizes, batch=batch, seq_len=seq),
               {"hidden": "--hidden", "layers": "--layers", "embed": "--embed",
                "batch": "--batch-size", "seq_len": "--seq-len"}, f"{batch} x {seq} characters",
               resume)
    ids = vocab.encode(text)
    trainer = (CharLMTrainer.resume(meta, arrays, ids, vocab, config, notes, resume) if resume
               else CharLMTrainer(config, ids, vocab, notes))
    if trainer.step >= trainer.total_steps:
        raise click.UsageError(f"{resume} already holds {trainer.step:,} steps; pass --steps "
                               "or --epochs with a larger total to train further")
    if config.time_limit and trainer.seconds >= config.time_limit:
        raise click.UsageError(f"{resume} has used its time limit of {config.time_limit:g}s; "
                               "pass a larger --time-limit (in total) to train further")
    corpus = {"path": "-" if file == "-" else os.path.abspath(file), "chars": len(text),
              "start": text[0]}
    best = best_path(out)
    log = SaveLog(out, resume, trainer.step)
    if resume and out != resume:
        notes.append(f"writing to {out} (best: {best}), not over {resume}")

    def save(t, improved):
        meta, arrays = t.state_dict()
        meta["corpus"] = corpus
        try:
            save_checkpoint(out, meta, arrays, force=force)
            log.saved(t.step)
            if improved:
                save_checkpoint(best, meta, arrays, force=force)
        except (NnlabError, OSError) as e:
            raise save_failed(e, log, t.step) from None

    try:
        with exclusive(out), LMProgress(unit="tok") as report, \
                graceful_stop(report.line) as stop:
            for note in notes:
                report.line(note)
            verb = f"resuming at step {trainer.step:,} of" if resume else "training"
            report.line(f"{verb} a {trainer.model.L}-layer {config.cell.upper()} of "
                        f"{trainer.model.H} units ({trainer.model.num_params():,} parameters) "
                        f"on {len(trainer.train_ids):,} characters, vocabulary {len(vocab)}, "
                        f"{trainer.total_steps:,} steps of {trainer.batch}x{trainer.seq_len}")
            final = trainer.run(report, save=save, stop=stop)
    except Diverged as e:
        raise diverged_error(e, log, as_json, click.echo) from None
    if trainer.interrupted:
        # The checkpoint knows its corpus's path; only stdin must be given again.
        again = f"nnlab train-charlm {'- ' if file == '-' else ''}--resume {quote(out)}"
        report.line(f"interrupted at step {trainer.step:,}; {out} holds it. Resume with: {again}")
        ctx.exit(stop.exit_code)

    scored = final.get("val_chars", 0)
    results = {"train_loss": final["train_loss"], "val_loss": final["val_loss"],
               "val_chars": scored, "best_val_loss": trainer.best_val, "steps": trainer.step,
               "epochs": round(trainer.epoch, 3), "seconds": round(trainer.seconds, 3),
               "tokens_per_second": round(trainer.tokens_per_second, 1),
               "parameters": trainer.model.num_params(), "checkpoint": out,
               "best_checkpoint": best if trainer.best_val is not None else None}
    if as_json:
        click.echo(dumps(results))
    else:
        line = f"train loss {results['train_loss']:.4f}"
        if results["val_loss"] is not None:
            line += (f"  val loss {results['val_loss']:.4f} (best {trainer.best_val:.4f}, "
                     f"{scored:,} characters)")
        elif trainer.cut_short:
            line += "  (no val loss: the time limit stopped the validation)"
        click.echo(line + f" nats/char after {trainer.step:,} steps, {trainer.seconds:.1f}s, "
                   f"{trainer.tokens_per_second:,.0f} tokens/s")
        click.echo(f"checkpoint {out}" + (f" (best: {best})" if results["best_checkpoint"] else ""))
