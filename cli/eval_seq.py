"""nnlab eval of a classifier, tagger or seq2seq checkpoint on FILE.tsv:
the figures (nn/seq_eval.py) and their tables."""

import click


def evaluate(checkpoint, meta, arrays, tsv, beam):
    from nnlab.data.seqtask import Tokens, encode_pairs, join_target, split_target
    from nnlab.data.tsv import read_pairs
    from nnlab.nn.restore import seq_model, seq_target_split
    from nnlab.nn.seq_eval import error_rates, predictions, score, tag_table

    kind = meta["kind"]
    if tsv is None:
        raise click.UsageError(f"give the FILE.tsv of pairs to evaluate {checkpoint} on")
    model, src_tokens, tgt_tokens = seq_model(meta, arrays, checkpoint)
    split = seq_target_split(meta, checkpoint)
    pairs = read_pairs(tsv, kind, purpose="to evaluate on")
    name = "stdin" if tsv == "-" else tsv
    src, tgt = Tokens(src_tokens), Tokens(tgt_tokens)
    if kind == "seq2seq":
        # The references as written: a target token the model never saw is an error of its own.
        examples = [(src.encode(text, f"{name}, pair {n}"), None)
                    for n, (text, _) in enumerate(pairs, 1)]
        hyps = [join_target(tgt.decode(ids), split)
                for ids in predictions(model, examples, 64, beam)]
        refs = [join_target(split_target(t, split), split) for _, t in pairs]
        exact, cer, wer = error_rates(hyps, refs)
        return {"kind": kind, "examples": len(pairs), "exact_match": exact, "cer": cer,
                "wer": wer, "beam": beam}
    examples = encode_pairs(kind, pairs, src, tgt, split, name)
    figures = score(kind, model, examples, 64, tgt_tokens, confusion=True)
    matrix = figures.pop("confusion")
    out = {"kind": kind, "examples": len(pairs), "accuracy": figures["accuracy"],
           "loss": figures["val_loss"]}
    if kind == "tagger":
        out["characters"] = int(matrix.sum())
        out["tags"] = tag_table(matrix, tgt_tokens)
    else:
        out["classes"] = tag_table(matrix, tgt_tokens)
        out["confusion"] = matrix.tolist()
        out["labels"] = list(tgt_tokens)
    return out


def show(r):
    from rich.table import Table

    from .ui import stdout_console

    console = stdout_console()
    if r["kind"] == "seq2seq":
        how = "greedy" if r["beam"] == 1 else f"beam {r['beam']}"
        console.print(f"exact match {r['exact_match']:.2%}  character error rate "
                      f"{r['cer']:.2%}  word error rate {r['wer']:.2%}  ({r['examples']:,} "
                      f"pairs, {how})", markup=False)
        return
    unit = "characters" if r["kind"] == "tagger" else "lines"
    count = r.get("characters", r["examples"])
    console.print(f"accuracy {r['accuracy']:.2%}  loss {r['loss']:.4f}  ({count:,} {unit})",
                  markup=False)
    rows = r.get("tags") or r["classes"]
    table = Table(title="per tag" if r["kind"] == "tagger" else "per class")
    for col in ("tag" if r["kind"] == "tagger" else "class", "precision", "recall", "f1",
                "support"):
        table.add_column(col, justify="left" if col in ("tag", "class") else "right")
    for row in rows:
        table.add_row(row["tag"], f"{row['precision']:.2%}", f"{row['recall']:.2%}",
                      f"{row['f1']:.2%}", f"{row['support']:,}")
    console.print(table)
    if "confusion" in r:
        confusion = Table(title="confusion (rows: true, columns: predicted)")
        confusion.add_column("")
        for name in r["labels"]:
            confusion.add_column(name, justify="right")
        for i, (name, row) in enumerate(zip(r["labels"], r["confusion"])):
            confusion.add_row(name, *[f"[bold]{v}[/bold]" if j == i else str(v)
                                      for j, v in enumerate(row)])
        console.print(confusion)
