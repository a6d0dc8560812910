#!/usr/bin/env python3
"""The reader against the same network in PyTorch, for the same minutes on
the same strips:

    python bench/reader_curve.py [--data DIR] [--minutes 20] [--threads 2] [--json]
                                 [--no-torch]

- nnlab: ``nnlab train-reader --data DIR --time-limit SECONDS --json``, as
  a user runs it (its defaults; its validations count against the limit);
- PyTorch: the same network written with torch.nn: three Conv2d 3x3 +
  ReLU + MaxPool2d(2) stages of 16, 32 and 64 channels, a Linear bridge to
  the LSTM's first (h, c), nn.Embedding(12, 32), nn.LSTM(32, 256), the same
  attention over the 16 columns (a bias-free Linear to the keys plus a
  learned position per column, scaled dot products) and a Linear(256 + 192,
  12) output; PyTorch's default initialisation, Adam at 2e-3 decayed along a
  cosine to 5% by the end of the time, gradient clipping at 5, batch 64.
  It trains on strips drawn by nnlab's own StripMaker from the same 55,000
  training digits (its generator seeded 0), and no validation interrupts it.

Both are scored on the same 5,000 fixed test strips with greedy decoding:
nnlab by the command itself, PyTorch by the worker after its clock stops.
Each side runs in a process of its own (PyTorch's with its default
environment and torch.set_num_threads(N) only; see common.py), one after
the other.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only: it sets nothing)

LR, MIN_FRAC, CLIP, BATCH = 2e-3, 0.05, 5.0, 64


def torch_worker(args):
    torch = common.torch_side(args.threads)
    import numpy as np

    from nnlab.data.datasets import load_dataset
    from nnlab.data.strips import reader_sets, test_strips

    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(0)
    data = load_dataset("mnist", args.data, download=False)
    maker, val = reader_sets(data, 5, 200)
    mean, std = float(val[0].mean()), float(val[0].std())

    class Reader(nn.Module):
        def __init__(self, H=256, D=192, S=16):
            super().__init__()
            layers, c_in = [], 1
            for c in (16, 32, 64):
                layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
                c_in = c
            self.cnn = nn.Sequential(*layers)
            self.bridge = nn.Linear(D * S, 2 * H)
            self.embed = nn.Embedding(12, 32)
            self.lstm = nn.LSTM(32, H)
            self.keys = nn.Linear(D, H, bias=False)
            self.pos = nn.Parameter(torch.randn(S, H) * 0.1)
            self.out = nn.Linear(H + D, 12)
            self.H = H

        def encode(self, x):
            f = self.cnn(x)                                   # (N, 64, 3, 16)
            N = f.shape[0]
            h0, c0 = self.bridge(f.reshape(N, -1)).chunk(2, dim=1)
            cols = f.permute(0, 3, 1, 2).reshape(N, f.shape[3], -1)   # (N, 16, 192)
            return (torch.tanh(h0)[None], c0[None].contiguous()), cols, self.keys(cols) + self.pos

        def read(self, h, cols, keys):
            q = h.transpose(0, 1)                             # (N, T, H)
            a = torch.softmax(q @ keys.transpose(1, 2) / math.sqrt(self.H), dim=2)
            return self.out(torch.cat([h, (a @ cols).transpose(0, 1)], dim=2))

        def forward(self, x, dec_in):
            state, cols, keys = self.encode(x)
            h, _ = self.lstm(self.embed(dec_in), state)
            return self.read(h, cols, keys)

        @torch.no_grad()
        def greedy(self, x, steps=6):
            state, cols, keys = self.encode(x)
            tok = torch.zeros(1, x.shape[0], dtype=torch.long)
            out = []
            for _ in range(steps):
                h, state = self.lstm(self.embed(tok), state)
                tok = self.read(h, cols, keys).argmax(dim=2)
                out.append(tok[0])
            return torch.stack(out, 1).numpy()

    def tensors(images, labels):
        x = torch.from_numpy((images.astype(np.float32)[:, None] - mean) / std)
        T = max(len(t) for t in labels) + 1
        dec_in = np.full((T, len(labels)), 1, np.int64)
        target = np.full((T, len(labels)), -100, np.int64)  # -100: no loss (padding)
        dec_in[0] = 0
        for n, t in enumerate(labels):
            dec_in[1:len(t) + 1, n] = t + 2
            target[:len(t), n] = t + 2
            target[len(t), n] = 1
        return x, torch.from_numpy(dec_in), torch.from_numpy(target)

    model = Reader()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    rng = np.random.Generator(np.random.PCG64(0))
    limit, steps, t0 = args.minutes * 60, 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < limit:
        frac = elapsed / limit
        for g in opt.param_groups:
            g["lr"] = LR * (MIN_FRAC + (1 - MIN_FRAC) * 0.5 * (1 + math.cos(math.pi * frac)))
        x, dec_in, target = tensors(*maker.batch(rng, BATCH))
        loss = F.cross_entropy(model(x, dec_in).reshape(-1, 12), target.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        steps += 1
    seconds = time.perf_counter() - t0
    images, labels = test_strips(data.test_x, data.test_y, 5)
    right = np.zeros(len(labels), bool)
    for lo in range(0, len(labels), 250):
        x, _, _ = tensors(images[lo:lo + 250], labels[lo:lo + 250])
        for i, row in enumerate(model.greedy(x)):
            ends = np.flatnonzero(row == 1)
            got = row[:ends[0]] - 2 if len(ends) else row - 2
            want = labels[lo + i]
            right[lo + i] = len(got) == len(want) and bool((got == want).all())
    lengths = np.array([len(t) for t in labels])
    common.emit({"steps": steps, "seconds": seconds, "test_exact_match": float(right.mean()),
                 "test_by_length": {str(k): float(right[lengths == k].mean())
                                    for k in range(1, 6)},
                 "parameters": sum(p.numel() for p in model.parameters())})


def nnlab_run(args):
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["nnlab", "train-reader", "--time-limit", str(args.minutes * 60), "--json",
               "--threads", str(args.threads), "--out", os.path.join(tmp, "reader.npz")]
        if args.data:
            cmd += ["--data", args.data]
        t = time.perf_counter()
        out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
        result = json.loads(out.stdout)
        result["wall_seconds"] = time.perf_counter() - t
        return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=common.default_data("mnist"))
    ap.add_argument("--minutes", type=float, default=20)
    ap.add_argument("--threads", type=int, default=common.THREADS)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-nnlab", action="store_true")
    ap.add_argument("--worker", choices=["torch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return torch_worker(args)
    result = {"machine": common.machine(), "minutes": args.minutes, "threads": args.threads}
    if not args.no_nnlab:
        result["nnlab"] = nnlab_run(args)
    version = None if args.no_torch else common.torch_available()
    if version:
        extra = ["--minutes", args.minutes] + (["--data", args.data] if args.data else [])
        result["torch"] = common.run_worker("reader_curve.py", "torch", args.threads, *extra)
        result["pytorch_version"] = version
    if args.json:
        print(json.dumps(result))
        return
    print(result["machine"])
    for side in ("nnlab", "torch"):
        r = result.get(side)
        if r:
            by = "  ".join(f"{k}: {v:.1%}" for k, v in r["test_by_length"].items())
            print(f"{side:6s} {r['steps']:7,} steps in {r['seconds'] / 60:5.1f} min  test "
                  f"whole numbers {r['test_exact_match']:.2%}  ({by})")


if __name__ == "__main__":
    main()
