"""2x256 LSTM character model: training tokens/s and sampling characters/s,
against PyTorch.

    python bench/charlm.py [--text FILE] [--steps 60] [--repeats 3]

Training: batch 32, sequence length 64, Adam, gradient clipping at norm 5,
one-hot input, on tiny Shakespeare (or FILE). PyTorch runs the same model
(nn.LSTM(65, 256, 2) on one-hot vectors, then nn.Linear) on 2 threads in
the same process. Sampling: one character at a time at batch 1, nnlab's
compiled loop against a PyTorch per-character loop.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (sets the thread environment before numpy loads)

import numpy as np  # noqa: E402

from nnlab.data.text import Vocab, read_text  # noqa: E402
from nnlab.nn.sample import Sampler  # noqa: E402
from nnlab.nn.train_charlm import CharLMConfig, CharLMTrainer  # noqa: E402

H, LAYERS, BATCH, SEQ = 256, 2, 32, 64


def flops_per_token(V, backward=True):
    """Multiply-adds of the matrix products per token, times 2: the layer-0
    input product is a row gather and costs nothing here."""
    G = 4 * H
    macs = H * G + (LAYERS - 1) * 2 * H * G + H * V
    return 2 * macs * (3 if backward else 1)


def nnlab_train(ids, vocab, steps):
    config = CharLMConfig(hidden=H, layers=LAYERS, batch_size=BATCH, seq_len=SEQ,
                          steps=steps, val_frac=0.0, eval_every=10 ** 9)
    trainer = CharLMTrainer(config, ids, vocab)
    trainer.run()
    return trainer.tokens_per_second, trainer


def nnlab_sample(trainer, n):
    sampler = Sampler(trainer.model)
    sampler.feed(np.array([0]))
    rng = np.random.Generator(np.random.PCG64(0))
    sampler.generate(100, rng)  # compile or load before timing
    seconds, _ = common.timed(lambda: sampler.generate(n, rng, 0.8))
    return n / seconds


def torch_train(torch, ids, V, steps):
    nn = torch.nn
    torch.manual_seed(0)
    lstm, head = nn.LSTM(V, H, LAYERS), nn.Linear(H, V)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=2e-3)
    L = (len(ids) - 1) // BATCH
    data = torch.from_numpy(np.asarray(ids[:BATCH * L + 1], np.int64))
    streams = torch.stack([data[r * L:r * L + L + 1] for r in range(BATCH)])
    state = None
    eye = torch.eye(V)

    def step(k):
        nonlocal state
        lo = (k % (L // SEQ)) * SEQ
        x = eye[streams[:, lo:lo + SEQ].T]
        y = streams[:, lo + 1:lo + SEQ + 1].T.reshape(-1)
        out, state = lstm(x, state)
        state = tuple(s.detach() for s in state)
        loss = nn.functional.cross_entropy(head(out).reshape(-1, V), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()

    for k in range(3):
        step(k)
    seconds, _ = common.timed(lambda: [step(k) for k in range(steps)])
    return BATCH * SEQ * steps / seconds, (lstm, head, eye)


def torch_sample(torch, model, n):
    lstm, head, eye = model
    gen = torch.Generator().manual_seed(0)

    def run():
        x, state = 0, None
        with torch.no_grad():
            for _ in range(n):
                out, state = lstm(eye[x].view(1, 1, -1), state)
                p = torch.softmax(head(out[0, 0]) / 0.8, dim=-1)
                x = int(torch.multinomial(p, 1, generator=gen))

    seconds, _ = common.timed(run)
    return n / seconds


def sample_flops(V):
    """Floating-point operations of one sampled character (forward only)."""
    return flops_per_token(V, backward=False)


def measure(text_path, steps=60, sample_n=5000, repeats=3, use_torch=True):
    """Rows for training tokens/s and sampling characters/s."""
    text = read_text(text_path)
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)
    V = len(vocab)
    nnlab_train(ids, vocab, 3)  # compile or load every kernel before timing
    torch = common.load_torch() if use_torch else None

    def ours():
        tps, trainer = nnlab_train(ids, vocab, steps)
        return tps, nnlab_sample(trainer, sample_n)

    theirs = None
    if torch is not None:
        def theirs():
            tps, model = torch_train(torch, ids, V, steps)
            return tps, torch_sample(torch, model, max(200, sample_n // 10))

    a, b = common.interleaved(repeats, ours, theirs)
    return [common.Row("2x256 LSTM training, batch 32, seq 64, Adam, clip", a[0], b[0], "tok/s",
                       flops_per_token(V)),
            common.Row("LSTM sampling, batch 1, one character at a time", a[1], b[1], "char/s",
                       sample_flops(V))], torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shk = common.default_data("tinyshakespeare")
    ap.add_argument("--text", default=shk and os.path.join(shk, "input.txt"))
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--sample", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()
    if not args.text:
        ap.error("no --text given and ../shared/data/tinyshakespeare is not there")
    print(common.machine())
    rows, torch = measure(args.text, args.steps, args.sample, args.repeats, not args.no_torch)
    common.print_table(rows, torch.__version__ if torch is not None else None)


if __name__ == "__main__":
    main()
