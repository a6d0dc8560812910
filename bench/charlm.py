"""2x256 LSTM character model: training tokens/s and sampling characters/s,
against PyTorch.

    python bench/charlm.py [--text FILE] [--steps 60] [--repeats 3] [--json]

Training: batch 32, sequence length 64, Adam, gradient clipping at norm 5,
on tiny Shakespeare (or FILE), with nnlab's default character model. PyTorch
runs its standard one: nn.Embedding(V, 64), nn.LSTM(64, 256, 2) and
nn.Linear, the same batch, sequence, optimizer and clipping. Each side runs
in a process of its own (PyTorch's with its default environment and
torch.set_num_threads(N); see common.py). Sampling: one character at a time
at batch 1, nnlab's compiled loop against a PyTorch per-character loop.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only: it sets nothing)

H, LAYERS, BATCH, SEQ, EMBED = 256, 2, 32, 64, 64


def flops_per_token(V, backward=True):
    """Multiply-adds of the matrix products per token, times 2, as nnlab
    counts them: the layer-0 input product is a row gather and costs nothing
    here (PyTorch's embedding adds 64 x 4H more)."""
    G = 4 * H
    macs = H * G + (LAYERS - 1) * 2 * H * G + H * V
    return 2 * macs * (3 if backward else 1)


def read_ids(path):
    from nnlab.data.text import Vocab, read_text  # numpy only

    text = read_text(path)
    vocab = Vocab.from_text(text)
    return vocab.encode(text), vocab


def nnlab_worker(path, steps, sample_n, threads):
    common.nnlab_side(threads)
    import numpy as np

    from nnlab.nn.sample import Sampler
    from nnlab.nn.train_charlm import CharLMConfig, CharLMTrainer

    ids, vocab = read_ids(path)

    def train(n):
        config = CharLMConfig(hidden=H, layers=LAYERS, batch_size=BATCH, seq_len=SEQ,
                              steps=n, val_frac=0.0, eval_every=10 ** 9)
        trainer = CharLMTrainer(config, ids, vocab)
        trainer.run()
        return trainer

    train(3)  # compile or load every kernel before timing
    trainer = train(steps)
    sampler = Sampler(trainer.model)
    sampler.feed(np.array([0]))
    rng = np.random.Generator(np.random.PCG64(0))
    sampler.generate(100, rng)  # compile or load before timing
    seconds, _ = common.timed(lambda: sampler.generate(sample_n, rng, 0.8))
    return [trainer.tokens_per_second, sample_n / seconds]


def torch_model(torch, V):
    """PyTorch's standard character model, default initialisation."""
    nn = torch.nn
    return nn.Embedding(V, EMBED), nn.LSTM(EMBED, H, LAYERS), nn.Linear(H, V)


def torch_worker(path, steps, sample_n, threads):
    torch = common.torch_side(threads)
    import numpy as np

    ids, vocab = read_ids(path)
    V = len(vocab)
    nn = torch.nn
    torch.manual_seed(0)
    emb, lstm, head = torch_model(torch, V)
    params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=2e-3)
    L = (len(ids) - 1) // BATCH
    data = torch.from_numpy(np.asarray(ids[:BATCH * L + 1], np.int64))
    streams = torch.stack([data[r * L:r * L + L + 1] for r in range(BATCH)])
    state = None

    def step(k):
        nonlocal state
        lo = (k % (L // SEQ)) * SEQ
        x = streams[:, lo:lo + SEQ].T
        y = streams[:, lo + 1:lo + SEQ + 1].T.reshape(-1)
        out, state = lstm(emb(x), state)
        state = tuple(s.detach() for s in state)
        loss = nn.functional.cross_entropy(head(out).reshape(-1, V), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()

    for k in range(3):
        step(k)
    train_seconds, _ = common.timed(lambda: [step(k) for k in range(steps)])
    gen = torch.Generator().manual_seed(0)

    def sample():
        x, state = torch.zeros((1, 1), dtype=torch.int64), None
        with torch.no_grad():
            for _ in range(sample_n):
                out, state = lstm(emb(x), state)
                p = torch.softmax(head(out[0, 0]) / 0.8, dim=-1)
                x = torch.multinomial(p, 1, generator=gen).view(1, 1)

    sample_seconds, _ = common.timed(sample)
    return [BATCH * SEQ * steps / train_seconds, sample_n / sample_seconds]


def measure(text_path, steps=60, sample_n=5000, repeats=3, use_torch=True,
            threads=common.THREADS):
    """Rows for training tokens/s and sampling characters/s."""
    def run(side, n):
        return lambda r: common.run_worker("charlm.py", side, threads, "--text", text_path,
                                           "--steps", steps, "--sample", n)

    # PyTorch samples a tenth as many characters: it is 10-20x slower at it.
    a, b = common.interleaved(repeats, run("nnlab", sample_n),
                              run("torch", max(200, sample_n // 10)) if use_torch else None)
    _, vocab = read_ids(text_path)
    V = len(vocab)
    return [common.Row("2x256 LSTM training, batch 32, seq 64, Adam, clip", a[0], b[0], "tok/s",
                       flops_per_token(V), threads),
            common.Row("LSTM sampling, batch 1, one character at a time", a[1], b[1], "char/s",
                       flops_per_token(V, backward=False), threads)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shk = common.default_data("tinyshakespeare")
    ap.add_argument("--text", default=shk and os.path.join(shk, "input.txt"))
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--sample", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true")
    common.worker_args(ap)
    args = ap.parse_args()
    if not args.text:
        ap.error("no --text given and ../shared/data/tinyshakespeare is not there")
    if args.worker == "nnlab":
        return common.emit(nnlab_worker(args.text, args.steps, args.sample, args.threads))
    if args.worker == "torch":
        return common.emit(torch_worker(args.text, args.steps, args.sample, args.threads))
    version = None if args.no_torch else common.torch_available()
    rows = measure(args.text, args.steps, args.sample, args.repeats, version is not None,
                   args.threads)
    common.report(rows, version, args)


if __name__ == "__main__":
    main()
