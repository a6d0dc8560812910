"""Learning curves: nnlab's default character model against PyTorch's standard
one, for the same wall-clock budget on the same text.

    python bench/lmcurve.py [--text FILE] [--minutes 2] [--threads 2] [--json]
                            [--set FIELD=VALUE ...] [--steps N]

Both train on the first 90% of the text and are scored on the last 10%
(nnlab's --val-frac split), with batch 32, sequence length 64 and hidden
size 256 in 2 layers:

- nnlab: ``nnlab train-charlm FILE --time-limit SECONDS`` with its defaults
  (``--set`` changes one, e.g. ``--set dropout=0.1``), so the learning-rate
  schedule ends with the budget, as it does on the command line;
- PyTorch: nn.Embedding(V, 64), nn.LSTM(64, 256, 2), nn.Linear(256, V),
  default initialisation, Adam at 2e-3, gradient clipping at 5, the hidden
  state carried from chunk to chunk of the same contiguous streams.

Each trains in a process of its own (PyTorch's with its default environment
and torch.set_num_threads(N) only; see common.py), one after the other, and
saves its weights at every minute of training time. The clock runs only
while a side trains (its first step included), not while it saves. Then
one nnlab process scores every snapshot of both with the same code
(nnlab.nn.lm_data.evaluate_lm: all of the validation text, in 32 streams
whose state carries across chunks), so both are measured the same way.

``--steps N`` replaces the clock by a budget of N steps, with snapshots
every N/10 steps: learning per token, whatever the speed.
"""

import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only: it sets nothing)

BATCH, SEQ, HIDDEN, LAYERS, EMBED, VAL_FRAC = 32, 64, 256, 2, 64, 0.1
TORCH_LR, TORCH_CLIP = 2e-3, 5.0


def marks(budget, every):
    """Snapshot points: every ``every`` up to ``budget``, and the budget itself."""
    out, m = [], every
    while m < budget - 1e-9:
        out.append(m)
        m += every
    return out + [budget]


def split(path):
    """(train ids, validation ids, vocabulary size), as nnlab splits the text."""
    import numpy as np

    from nnlab.data.text import Vocab, read_text

    text = read_text(path)
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)
    n_val = int(len(ids) * VAL_FRAC)
    return np.asarray(ids[:-n_val]), np.asarray(ids[-n_val:]), len(vocab)


def save(folder, side, k, arrays, info):
    import numpy as np

    np.savez(os.path.join(folder, f"{side}-{k:03d}.npz"), **arrays)
    with open(os.path.join(folder, f"{side}-{k:03d}.json"), "w") as f:
        json.dump(info, f)


def nnlab_worker(args):
    common.nnlab_side(args.threads)
    from dataclasses import replace

    from nnlab.data.text import Vocab, read_text
    from nnlab.nn.lm_validate import Validator
    from nnlab.nn.train_charlm import CharLMConfig, CharLMTrainer

    text = read_text(args.text)
    vocab = Vocab.from_text(text)
    overrides = {}
    for item in args.set or []:
        name, _, value = item.partition("=")
        kind = type(getattr(CharLMConfig, name))
        overrides[name] = kind(float(value)) if kind is int else kind(value)
    config = replace(CharLMConfig(), batch_size=BATCH, seq_len=SEQ, hidden=HIDDEN,
                     layers=LAYERS, val_frac=VAL_FRAC, eval_every=10 ** 9, **overrides)
    if args.steps:
        config = replace(config, steps=args.steps, epochs=0)
        points = marks(args.steps, max(1, args.steps // 10))
    else:
        # Training for the time limit however fast it runs: as
        # `nnlab train-charlm --time-limit S --epochs <many>`.
        config = replace(config, time_limit=args.seconds, epochs=10 ** 6)
        points = marks(args.seconds, 60)
    trainer = CharLMTrainer(config, vocab.encode(text), vocab)
    # No validation inside the run (the snapshots are scored afterwards, as
    # PyTorch's are): no probe of its speed, no time kept back for it.
    trainer.validator = Validator(None)
    where = (lambda: trainer.step) if args.steps else (lambda: trainer.seconds)
    for k, point in enumerate(points):
        trainer.run(stop=lambda: where() >= point)
        save(args.snapshots, "nnlab", k, dict(trainer.weights()),
             {"seconds": trainer.seconds, "steps": trainer.step,
              "arch": trainer.model.arch_args(), "config": vars(config)})
    common.emit({"snapshots": len(points), "tokens_per_second": trainer.tokens_per_second})


def torch_worker(args):
    torch = common.torch_side(args.threads)
    import time

    import numpy as np

    train, _, V = split(args.text)
    nn = torch.nn
    torch.manual_seed(0)
    emb, lstm, head = nn.Embedding(V, EMBED), nn.LSTM(EMBED, HIDDEN, LAYERS), nn.Linear(HIDDEN, V)
    params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=TORCH_LR)
    L = (len(train) - 1) // BATCH
    data = torch.from_numpy(train[:BATCH * L + 1].astype(np.int64))
    streams = torch.stack([data[r * L:r * L + L + 1] for r in range(BATCH)])
    chunks = L // SEQ
    state, step, seconds = None, 0, 0.0

    def one_step():
        nonlocal state
        k = step % chunks
        if k == 0:
            state = None  # a new pass over the text starts from zero, as nnlab's does
        x = streams[:, k * SEQ:(k + 1) * SEQ].T
        y = streams[:, k * SEQ + 1:(k + 1) * SEQ + 1].T.reshape(-1)
        out, state = lstm(emb(x), state)
        state = tuple(s.detach() for s in state)
        loss = nn.functional.cross_entropy(head(out).reshape(-1, V), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, TORCH_CLIP)
        opt.step()

    points = (marks(args.steps, max(1, args.steps // 10)) if args.steps
              else marks(args.seconds, 60))
    for k, point in enumerate(points):
        t0 = time.perf_counter()
        while (step if args.steps else seconds + time.perf_counter() - t0) < point:
            one_step()
            step += 1
        seconds += time.perf_counter() - t0
        with torch.no_grad():
            arrays = {"emb": emb.weight.numpy().copy(), "out.w": head.weight.numpy().T.copy(),
                      "out.b": head.bias.numpy().copy()}
            for l in range(LAYERS):
                get = lambda name: getattr(lstm, f"{name}_l{l}").numpy()  # noqa: E731
                arrays[f"l{l}.Wx"] = get("weight_ih").T.copy()
                arrays[f"l{l}.Wh"] = get("weight_hh").T.copy()
                arrays[f"l{l}.b"] = get("bias_ih") + get("bias_hh")
        save(args.snapshots, "torch", k, arrays,
             {"seconds": seconds, "steps": step,
              "arch": {"vocab_size": V, "cell": "lstm", "hidden": HIDDEN, "layers": LAYERS,
                       "dropout": 0.0, "embed": EMBED}})
    common.emit({"snapshots": len(points), "tokens_per_second": BATCH * SEQ * step / seconds})


def score_worker(args):
    """Scores every snapshot in the folder on the validation split; prints
    {side: [{seconds, steps, val_loss}, ...]}."""
    common.nnlab_side(args.threads)
    import numpy as np

    from nnlab.nn.charlm import CharLM
    from nnlab.nn.lm_data import evaluate_lm

    _, val, _ = split(args.text)
    curves = {}
    for name in sorted(os.listdir(args.snapshots)):
        if not name.endswith(".json"):
            continue
        side = name.split("-")[0]
        with open(os.path.join(args.snapshots, name)) as f:
            info = json.load(f)
        model = CharLM(**info["arch"])
        with np.load(os.path.join(args.snapshots, name[:-5] + ".npz")) as z:
            model.load_params({k: z[k] for k in z.files})
        loss = evaluate_lm(model, val, BATCH, SEQ)
        curves.setdefault(side, []).append(
            {"seconds": round(info["seconds"], 1), "steps": info["steps"],
             "val_loss": round(float(loss), 4)})
    common.emit(curves)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shk = common.default_data("tinyshakespeare")
    ap.add_argument("--text", default=shk and os.path.join(shk, "input.txt"))
    ap.add_argument("--minutes", type=float, default=2)
    ap.add_argument("--steps", type=int, default=0, help="a budget of steps instead of minutes")
    ap.add_argument("--set", action="append", metavar="FIELD=VALUE",
                    help="change one of nnlab's defaults (a CharLMConfig field)")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--snapshots", help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--worker", choices=["nnlab", "torch", "score"], help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=common.THREADS)
    ap.add_argument("--json", action="store_true", help="print the curves as JSON")
    args = ap.parse_args()
    if args.worker:
        return {"nnlab": nnlab_worker, "torch": torch_worker, "score": score_worker}[args.worker](args)
    if not args.text:
        ap.error("no --text given and ../shared/data/tinyshakespeare is not there")
    version = None if args.no_torch else common.torch_available()
    extra = ["--text", args.text]
    extra += ["--steps", args.steps] if args.steps else ["--seconds", 60 * args.minutes]
    with tempfile.TemporaryDirectory() as folder:
        extra += ["--snapshots", folder]
        sets = [x for s in args.set or [] for x in ("--set", s)]
        print("training nnlab ...", file=sys.stderr)
        common.run_worker("lmcurve.py", "nnlab", args.threads, *extra, *sets)
        if version:
            print("training PyTorch ...", file=sys.stderr)
            common.run_worker("lmcurve.py", "torch", args.threads, *extra)
        print("scoring ...", file=sys.stderr)
        curves = common.run_worker("lmcurve.py", "score", args.threads, *extra)
    result = {"machine": common.machine(), "pytorch_version": version, "text": args.text,
              "threads": args.threads, "budget": {"steps": args.steps} if args.steps
              else {"minutes": args.minutes}, "nnlab_settings": args.set or [], **curves}
    if args.json:
        return print(json.dumps(result))
    print(common.machine())
    print(f"{os.path.basename(args.text)}, validation loss (nats/char), {args.threads} threads")
    ours, theirs = curves["nnlab"], curves.get("torch", [])
    by = "steps" if args.steps else "minute"
    print(f"{by:>8}  {'nnlab':>8} {'(steps)':>8}  {'PyTorch':>8} {'(steps)':>8}  difference")
    for i, a in enumerate(ours):
        b = theirs[i] if i < len(theirs) else None
        at = a["steps"] if args.steps else f"{a['seconds'] / 60:.2g}"
        print(f"{at:>8}  {a['val_loss']:8.4f} {a['steps']:8,}  "
              + (f"{b['val_loss']:8.4f} {b['steps']:8,}  {a['val_loss'] - b['val_loss']:+.4f}"
                 if b else f"{'-':>8}"))


if __name__ == "__main__":
    main()
